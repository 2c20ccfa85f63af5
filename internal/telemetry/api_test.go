package telemetry_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/citylink/citylink/internal/awstest"
	"github.com/citylink/citylink/internal/telemetry"
	"github.com/citylink/citylink/internal/telemetry/telemetrytest"
)

// dayStart is the first minute of the seeded day of readings.
var dayStart = time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)

// seedDay writes a day of minute readings (1,440) for sensor, value = minute.
func seedDay(tb testing.TB, s *awstest.Stack, table, sensor string) {
	tb.Helper()
	rs := make([]telemetry.Reading, 24*60)
	for i := range rs {
		rs[i] = telemetry.Reading{SensorID: sensor, Time: dayStart.Add(time.Duration(i) * time.Minute), Value: float64(i), Unit: "lx"}
	}
	store := telemetry.NewStore(s.DynamoDB, telemetry.StoreConfig{Table: table, Concurrency: 8, Backoff: telemetrytest.QuickBackoff})
	res, err := store.Put(context.Background(), rs)
	if err != nil || len(res.Failed) != 0 {
		tb.Fatalf("seeding: %+v, %v", res, err)
	}
}

type apiFixture struct {
	h *telemetry.APIHandler
}

func newAPIFixture(t *testing.T) apiFixture {
	t.Helper()
	s := telemetrytest.StandIns(t)
	table := telemetrytest.NewTable(t, s)
	seedDay(t, s, table, "SL-000001")
	seedDay(t, s, table, "SL-000002") // a neighbour the queries must not see
	return apiFixture{h: telemetry.NewAPIHandler(telemetry.NewReader(s.DynamoDB, table), telemetrytest.Logger(t))}
}

// get sends the testdata request for path with query, as API Gateway would.
func (f apiFixture) get(t *testing.T, path, query string) events.APIGatewayV2HTTPResponse {
	t.Helper()
	file := "apigw-v2-readings.json"
	if strings.HasSuffix(path, "/latest") {
		file = "apigw-v2-latest.json"
	}
	var req events.APIGatewayV2HTTPRequest
	telemetrytest.LoadJSON(t, "testdata/"+file, &req)
	req.RawPath, req.RequestContext.HTTP.Path = path, path
	segs := strings.Split(strings.Trim(path, "/"), "/")
	if len(segs) == 3 {
		id, _ := url.PathUnescape(segs[1])
		req.PathParameters = map[string]string{"id": id}
	} else {
		req.PathParameters = nil
	}
	req.RawQueryString = query
	req.QueryStringParameters = nil
	var resp events.APIGatewayV2HTTPResponse
	telemetrytest.Invoke(t, f.h.Handle, req, &resp)
	return resp
}

type pageBody struct {
	SensorID string `json:"sensor_id"`
	Readings []struct {
		Timestamp string  `json:"timestamp"`
		Value     float64 `json:"value"`
		Unit      string  `json:"unit"`
	} `json:"readings"`
	NextCursor string `json:"next_cursor"`
}

func decodeBody[T any](t *testing.T, resp events.APIGatewayV2HTTPResponse, status int, contentType string) T {
	t.Helper()
	var v T
	if resp.StatusCode != status || resp.Headers["Content-Type"] != contentType {
		t.Fatalf("status %d %s, want %d %s: %s", resp.StatusCode, resp.Headers["Content-Type"], status, contentType, resp.Body)
	}
	if err := json.Unmarshal([]byte(resp.Body), &v); err != nil {
		t.Fatalf("body %s: %v", resp.Body, err)
	}
	return v
}

func minuteTS(i int) string {
	return dayStart.Add(time.Duration(i) * time.Minute).Format("2006-01-02T15:04:05.000Z")
}

func TestAPIReadings(t *testing.T) {
	t.Parallel()
	f := newAPIFixture(t)

	t.Run("newest first by default", func(t *testing.T) {
		p := decodeBody[pageBody](t, f.get(t, "/sensors/SL-000001/readings", ""), 200, "application/json")
		if p.SensorID != "SL-000001" || len(p.Readings) != telemetry.DefaultLimit || p.NextCursor == "" {
			t.Fatalf("page = %d readings, cursor %q", len(p.Readings), p.NextCursor)
		}
		if p.Readings[0].Timestamp != minuteTS(1439) || p.Readings[0].Value != 1439 || p.Readings[0].Unit != "lx" {
			t.Errorf("first = %+v, want minute 1439", p.Readings[0])
		}
	})

	t.Run("range is from inclusive to exclusive", func(t *testing.T) {
		q := "order=asc&from=" + minuteTS(60) + "&to=" + minuteTS(70)
		p := decodeBody[pageBody](t, f.get(t, "/sensors/SL-000001/readings", q), 200, "application/json")
		if len(p.Readings) != 10 || p.Readings[0].Value != 60 || p.Readings[9].Value != 69 || p.NextCursor != "" {
			t.Fatalf("range page = %+v", p)
		}
	})

	t.Run("bounds between two milliseconds", func(t *testing.T) {
		// [01:00:00.0005, 01:10:00.0005) holds minutes 61 to 70: minute 60
		// is before from, and minute 70 is before to.
		half := func(i int) string {
			return dayStart.Add(time.Duration(i)*time.Minute + 500*time.Microsecond).Format(time.RFC3339Nano)
		}
		q := "order=asc&from=" + half(60) + "&to=" + half(70)
		p := decodeBody[pageBody](t, f.get(t, "/sensors/SL-000001/readings", q), 200, "application/json")
		if len(p.Readings) != 10 || p.Readings[0].Value != 61 || p.Readings[9].Value != 70 || p.NextCursor != "" {
			t.Fatalf("range page = %+v, want minutes 61 to 70", p)
		}
		// Within one millisecond there is no reading to find.
		q = "from=" + half(60) + "&to=" + dayStart.Add(60*time.Minute+900*time.Microsecond).Format(time.RFC3339Nano)
		p = decodeBody[pageBody](t, f.get(t, "/sensors/SL-000001/readings", q), 200, "application/json")
		if len(p.Readings) != 0 {
			t.Fatalf("range page = %+v, want no reading", p)
		}
	})

	t.Run("to at the least epoch millisecond", func(t *testing.T) {
		p := decodeBody[pageBody](t, f.get(t, "/sensors/SL-000001/readings", "to=-9223372036854775808"), 200, "application/json")
		if len(p.Readings) != 0 {
			t.Fatalf("page = %d readings, want none before the least time", len(p.Readings))
		}
	})

	t.Run("epoch millisecond bounds", func(t *testing.T) {
		q := fmt.Sprintf("from=%d&to=%d", dayStart.Add(time.Hour).UnixMilli(), dayStart.Add(time.Hour+3*time.Minute).UnixMilli())
		p := decodeBody[pageBody](t, f.get(t, "/sensors/SL-000001/readings", q), 200, "application/json")
		if len(p.Readings) != 3 || p.Readings[0].Value != 62 {
			t.Fatalf("range page = %+v", p)
		}
	})

	t.Run("empty range of a known sensor", func(t *testing.T) {
		p := decodeBody[pageBody](t, f.get(t, "/sensors/SL-000001/readings", "from=2026-11-24T00:00:00Z"), 200, "application/json")
		if p.Readings == nil || len(p.Readings) != 0 || p.NextCursor != "" {
			t.Fatalf("page = %+v, want an empty list", p)
		}
	})

	for _, order := range []string{"asc", "desc"} {
		t.Run("paging to the end "+order, func(t *testing.T) {
			seen := map[string]bool{}
			var prev string
			cursor := ""
			pages := 0
			for {
				q := "limit=333&order=" + order
				if cursor != "" {
					q += "&cursor=" + url.QueryEscape(cursor)
				}
				p := decodeBody[pageBody](t, f.get(t, "/sensors/SL-000001/readings", q), 200, "application/json")
				pages++
				for _, r := range p.Readings {
					if seen[r.Timestamp] {
						t.Fatalf("reading %s returned twice", r.Timestamp)
					}
					if prev != "" && (order == "asc") != (r.Timestamp > prev) {
						t.Fatalf("%s after %s is out of %s order", r.Timestamp, prev, order)
					}
					seen[r.Timestamp], prev = true, r.Timestamp
				}
				if p.NextCursor == "" {
					break
				}
				if pages > 10 {
					t.Fatal("paging does not end")
				}
				cursor = p.NextCursor
			}
			if len(seen) != 1440 || pages != 5 {
				t.Fatalf("saw %d readings in %d pages, want 1440 in 5", len(seen), pages)
			}
		})
	}

	t.Run("limit 1000 is the most", func(t *testing.T) {
		p := decodeBody[pageBody](t, f.get(t, "/sensors/SL-000001/readings", "limit=1000"), 200, "application/json")
		if len(p.Readings) != 1000 || p.NextCursor == "" {
			t.Fatalf("page = %d readings", len(p.Readings))
		}
	})

	t.Run("latest", func(t *testing.T) {
		r := decodeBody[latestBody](t, f.get(t, "/sensors/SL-000002/latest", ""), 200, "application/json")
		if r.SensorID != "SL-000002" || r.Timestamp != minuteTS(1439) || r.Value != 1439 {
			t.Fatalf("latest = %+v", r)
		}
	})

	t.Run("named stage path without path parameters", func(t *testing.T) {
		r := decodeBody[latestBody](t, f.get(t, "/prod/sensors/SL-000001/latest", ""), 200, "application/json")
		if r.SensorID != "SL-000001" || r.Timestamp != minuteTS(1439) {
			t.Fatalf("latest = %+v", r)
		}
	})
}

type latestBody struct {
	SensorID  string  `json:"sensor_id"`
	Timestamp string  `json:"timestamp"`
	Value     float64 `json:"value"`
}

type problemBody struct {
	Type          string `json:"type"`
	Title         string `json:"title"`
	Status        int    `json:"status"`
	Detail        string `json:"detail"`
	Instance      string `json:"instance"`
	InvalidParams []struct {
		Name   string `json:"name"`
		Reason string `json:"reason"`
	} `json:"invalid_params"`
}

func TestAPIErrorsAreProblems(t *testing.T) {
	t.Parallel()
	f := newAPIFixture(t)
	other := decodeBody[pageBody](t, f.get(t, "/sensors/SL-000002/readings", "limit=1"), 200, "application/json")

	tests := []struct {
		name, path, query string
		status            int
		param             string
	}{
		{"unknown sensor readings", "/sensors/SL-999999/readings", "", 404, ""},
		{"unknown sensor latest", "/sensors/SL-999999/latest", "", 404, ""},
		{"unknown route", "/sensors/SL-000001/history", "", 404, ""},
		{"limit zero", "/sensors/SL-000001/readings", "limit=0", 400, "limit"},
		{"limit too big", "/sensors/SL-000001/readings", "limit=1001", 400, "limit"},
		{"limit not a number", "/sensors/SL-000001/readings", "limit=ten", 400, "limit"},
		{"bad from", "/sensors/SL-000001/readings", "from=yesterday", 400, "from"},
		{"to before from", "/sensors/SL-000001/readings", "from=2026-11-22T10:00:00Z&to=2026-11-22T09:00:00Z", 400, "to"},
		{"bad order", "/sensors/SL-000001/readings", "order=random", 400, "order"},
		{"repeated limit", "/sensors/SL-000001/readings", "limit=5&limit=6", 400, "limit"},
		{"garbage cursor", "/sensors/SL-000001/readings", "cursor=%%%", 400, "query"},
		{"undecodable cursor", "/sensors/SL-000001/readings", "cursor=bm90IGpzb24", 400, "cursor"},
		{"another sensor's cursor", "/sensors/SL-000001/readings", "limit=1&cursor=" + other.NextCursor, 400, "cursor"},
		{"cursor with another order", "/sensors/SL-000002/readings", "limit=1&order=asc&cursor=" + other.NextCursor, 400, "cursor"},
		{"control character id", "/sensors/SL%01/readings", "", 400, "id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := decodeBody[problemBody](t, f.get(t, tt.path, tt.query), tt.status, "application/problem+json")
			if p.Status != tt.status || p.Title == "" || p.Type != "about:blank" || p.Instance != tt.path {
				t.Errorf("problem = %+v", p)
			}
			if tt.param != "" && (len(p.InvalidParams) == 0 || p.InvalidParams[0].Name != tt.param) {
				t.Errorf("invalid params = %+v, want %s", p.InvalidParams, tt.param)
			}
		})
	}

	t.Run("POST is not allowed", func(t *testing.T) {
		var req events.APIGatewayV2HTTPRequest
		telemetrytest.LoadJSON(t, "testdata/"+"apigw-v2-readings.json", &req)
		req.RequestContext.HTTP.Method = "POST"
		var resp events.APIGatewayV2HTTPResponse
		telemetrytest.Invoke(t, f.h.Handle, req, &resp)
		if resp.StatusCode != 405 || resp.Headers["Allow"] != "GET" {
			t.Fatalf("POST = %d %v", resp.StatusCode, resp.Headers)
		}
	})
}

func TestAPITestdataRoundTrips(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"apigw-v2-readings.json", "apigw-v2-latest.json"} {
		var req events.APIGatewayV2HTTPRequest
		telemetrytest.LoadJSON(t, "testdata/"+name, &req)
		if req.Version != "2.0" || req.RequestContext.HTTP.Method != "GET" || req.PathParameters["id"] != "SL-000001" {
			t.Errorf("%s: request = %+v", name, req)
		}
	}
}

func TestAPIServerErrorsAreProblems(t *testing.T) {
	t.Parallel()
	s := telemetrytest.StandIns(t)
	h := telemetry.NewAPIHandler(telemetry.NewReader(s.DynamoDB, "no-such-table"), telemetrytest.Logger(t))
	req := events.APIGatewayV2HTTPRequest{Version: "2.0", RawPath: "/sensors/SL-1/readings"}
	req.RequestContext.HTTP.Method = "GET"

	resp, err := h.Handle(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	p := decodeBody[problemBody](t, resp, 500, "application/problem+json")
	if strings.Contains(p.Detail, "no-such-table") {
		t.Errorf("detail %q leaks the table name", p.Detail)
	}

	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	resp, err = h.Handle(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	decodeBody[problemBody](t, resp, 504, "application/problem+json")
}
