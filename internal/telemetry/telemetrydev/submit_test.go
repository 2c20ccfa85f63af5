package telemetrydev_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/citylink/citylink/internal/telemetry"
	"github.com/citylink/citylink/internal/telemetry/telemetrydev"
	"github.com/citylink/citylink/internal/telemetry/telemetrytest"
)

type submitAnswer struct {
	telemetrydev.SubmitResult
	Status int    `json:"status"`
	Detail string `json:"detail"`
}

func submit(t *testing.T, h http.Handler, method, body string) (int, string, submitAnswer) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, "/readings", strings.NewReader(body)))
	var a submitAnswer
	if rec.Body.Len() > 0 {
		if err := json.Unmarshal(rec.Body.Bytes(), &a); err != nil {
			t.Fatalf("%s %s: answer %s is not JSON: %v", method, body, rec.Body, err)
		}
	}
	return rec.Code, rec.Header().Get("Content-Type"), a
}

func TestSubmitHandler(t *testing.T) {
	t.Parallel()
	s := telemetrytest.StandIns(t)
	stream, table := telemetrytest.NewStream(t, s, 1), telemetrytest.NewTable(t, s)
	reader := telemetry.NewReader(s.DynamoDB, table)
	ok := telemetrydev.NewSubmitHandler(telemetrytest.Decoder(), telemetrydev.NewProducer(s.Kinesis, telemetrydev.ProducerConfig{Stream: stream}), reader, telemetrytest.Logger(t))
	broken := telemetrydev.NewSubmitHandler(telemetrytest.Decoder(), telemetrydev.NewProducer(s.Kinesis, telemetrydev.ProducerConfig{Stream: "no-such-stream", MaxAttempts: 1}), reader, telemetrytest.Logger(t))
	reading := `{"sensor_id":"SL-1","timestamp":"2026-11-23T11:00:00Z","value":1}`
	many := "[" + strings.TrimSuffix(strings.Repeat(reading+",", 501), ",") + "]"

	tests := []struct {
		name        string
		h           http.Handler
		method      string
		body        string
		status      int
		contentType string
	}{
		{"one reading", ok, "POST", reading, 202, "application/json"},
		{"seed format in an array", ok, "POST", `[{"sensorid":"s1","value":"2","timestamp":"1795435170123"}]`, 202, "application/json"},
		{"nothing valid", ok, "POST", `{"value":1}`, 400, "application/problem+json"},
		{"not JSON", ok, "POST", `hello`, 400, "application/problem+json"},
		{"too many", ok, "POST", many, 413, "application/problem+json"},
		{"GET", ok, "GET", "", 405, "application/problem+json"},
		{"stream down", broken, "POST", `{"sensor_id":"SL-2","timestamp":"2026-11-23T11:00:00Z","value":1}`, 503, "application/problem+json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, ct, a := submit(t, tt.h, tt.method, tt.body)
			if status != tt.status || ct != tt.contentType {
				t.Fatalf("%s = %d %s: %+v", tt.name, status, ct, a)
			}
		})
	}

	// What was accepted is on the stream.
	var c collector
	p := telemetrydev.NewPoller(s.Kinesis, c.handle, telemetrydev.PollerConfig{Stream: stream}, telemetrytest.Logger(t))
	if _, err := p.Poll(t.Context()); err != nil {
		t.Fatal(err)
	}
	if c.records != 2 {
		t.Fatalf("stream has %d records, want the 2 accepted", c.records)
	}
}

// TestSubmitCountsNewDuplicateAndRejected: five copies of one reading are
// one new reading and four duplicates, put once; a copy with another value
// in the same body is rejected; once stored, sending the body again puts
// nothing; a corrected value is put as a change; null and [] are refused
// with a reason.
func TestSubmitCountsNewDuplicateAndRejected(t *testing.T) {
	t.Parallel()
	s := telemetrytest.StandIns(t)
	stream, table := telemetrytest.NewStream(t, s, 1), telemetrytest.NewTable(t, s)
	h := telemetrydev.NewSubmitHandler(telemetrytest.Decoder(), telemetrydev.NewProducer(s.Kinesis, telemetrydev.ProducerConfig{Stream: stream}),
		telemetry.NewReader(s.DynamoDB, table), telemetrytest.Logger(t))
	r := func(v float64) string {
		return fmt.Sprintf(`{"sensor_id":"SL-0000001","metric":"power","unit":"W","timestamp":"2026-11-23T11:00:00.123Z","value":%v}`, v)
	}
	five := "[" + strings.TrimSuffix(strings.Repeat(r(42.7)+",", 5), ",") + "]"

	status, _, a := submit(t, h, "POST", five)
	if status != 202 || a.Received != 5 || a.New != 1 || a.Duplicates != 4 || a.Changed != 0 || len(a.Rejected) != 0 {
		t.Fatalf("five copies = %d %+v, want 1 new and 4 duplicates", status, a)
	}
	status, _, a = submit(t, h, "POST", "["+r(42.7)+","+r(43)+"]")
	if status != 202 || a.Duplicates != 0 || len(a.Rejected) != 1 || a.Rejected[0].Index != 1 || a.Rejected[0].Reason != telemetrydev.ReasonConflictingDuplicate {
		t.Fatalf("a conflicting copy = %d %+v, want index 1 rejected", status, a)
	}

	// Store what is on the stream, as the store Lambda would.
	store := telemetry.NewStoreHandler(telemetrytest.Decoder(), telemetry.NewStore(s.DynamoDB, telemetry.StoreConfig{Table: table}),
		telemetry.NewMetrics(io.Discard, "telemetry-store", nil), telemetrytest.Logger(t))
	poller := telemetrydev.NewPoller(s.Kinesis, store.Handle, telemetrydev.PollerConfig{Stream: stream}, telemetrytest.Logger(t))
	if n, err := poller.Poll(t.Context()); err != nil || n != 2 {
		t.Fatalf("stream held %d records (%v), want the two new ones put", n, err)
	}
	status, _, a = submit(t, h, "POST", five)
	if status != 202 || a.New != 0 || a.Duplicates != 5 {
		t.Fatalf("the same body again = %d %+v, want 5 duplicates", status, a)
	}
	status, _, a = submit(t, h, "POST", r(44))
	if status != 202 || a.New != 0 || a.Changed != 1 {
		t.Fatalf("a corrected value = %d %+v, want 1 changed", status, a)
	}
	if n, err := poller.Poll(t.Context()); err != nil || n != 1 {
		t.Fatalf("stream held %d more records (%v), want only the correction", n, err)
	}

	for _, body := range []string{"null", " [ ] ", "[null]"} {
		status, ct, a := submit(t, h, "POST", body)
		if status != 400 || ct != "application/problem+json" || len(a.Rejected) != 1 || a.Rejected[0].Reason == "" || a.Rejected[0].Detail == "" {
			t.Errorf("%q = %d %s %+v, want 400 with a reason", body, status, ct, a)
		}
	}
	old := fmt.Sprintf(`{"sensor_id":"SL-0000001","timestamp":%d,"value":1}`, telemetrytest.FixedNow.Add(-telemetry.DefaultRetention-time.Hour).UnixMilli())
	if status, _, a := submit(t, h, "POST", old); status != 400 || len(a.Rejected) != 1 || a.Rejected[0].Reason != telemetry.ReasonOlderThanRetention {
		t.Errorf("a reading older than the retention = %d %+v", status, a)
	}
}
