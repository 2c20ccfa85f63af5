package telemetry_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/citylink/citylink/internal/telemetry"
	"github.com/citylink/citylink/internal/telemetry/telemetrytest"
)

// kinesisEvent wraps readings as the records of one Kinesis batch.
func kinesisEvent(t *testing.T, rs []telemetry.Reading) events.KinesisEvent {
	t.Helper()
	var ev events.KinesisEvent
	for i, r := range rs {
		data, err := r.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		ev.Records = append(ev.Records, events.KinesisEventRecord{
			EventID: fmt.Sprintf("shardId-000000000000:%d", 100+i),
			Kinesis: events.KinesisRecord{Data: data, PartitionKey: r.SensorID, SequenceNumber: fmt.Sprint(100 + i)},
		})
	}
	return ev
}

// TestEveryMetricOfAnInstantIsKept sends what a streetlight node reports at
// one instant (power, voltage, current, light level, temperature) through
// the store Lambda, and finds all five in the table and in the API, which
// filters by metric on request and pages across metrics of one instant.
func TestEveryMetricOfAnInstantIsKept(t *testing.T) {
	t.Parallel()
	s := telemetrytest.StandIns(t)
	table := telemetrytest.NewTable(t, s)
	at := telemetrytest.FixedNow.Add(-time.Hour)
	node := []telemetry.Reading{
		{SensorID: "SL-0000042", Time: at, Value: 42.7, Unit: "W", Metric: "power"},
		{SensorID: "SL-0000042", Time: at, Value: 231.5, Unit: "V", Metric: "voltage"},
		{SensorID: "SL-0000042", Time: at, Value: 0.18, Unit: "A", Metric: "current"},
		{SensorID: "SL-0000042", Time: at, Value: 999, Unit: "lx", Metric: "illuminance"},
		{SensorID: "SL-0000042", Time: at, Value: 4.5, Unit: "°C", Metric: "temperature"},
		// A minute earlier, power alone: the filter must find it past the others.
		{SensorID: "SL-0000042", Time: at.Add(-time.Minute), Value: 41.9, Unit: "W", Metric: "power"},
	}
	h := telemetry.NewStoreHandler(telemetrytest.Decoder(),
		telemetry.NewStore(s.DynamoDB, telemetry.StoreConfig{Table: table, Backoff: telemetrytest.QuickBackoff}),
		telemetry.NewMetrics(&strings.Builder{}, "telemetry-store", nil), telemetrytest.Logger(t))
	var resp events.KinesisEventResponse
	telemetrytest.Invoke(t, h.Handle, kinesisEvent(t, node), &resp)
	if len(resp.BatchItemFailures) != 0 {
		t.Fatalf("failures = %+v", resp.BatchItemFailures)
	}
	if got := telemetrytest.ScanTable(t, s.DynamoDB, table); len(got) != len(node) {
		t.Fatalf("table has %d items, want %d: one reading overwrote another", len(got), len(node))
	}

	f := apiFixture{h: telemetry.NewAPIHandler(telemetry.NewReader(s.DynamoDB, table), telemetrytest.Logger(t))}
	type body struct {
		Readings []struct {
			Value  float64 `json:"value"`
			Metric string  `json:"metric"`
		} `json:"readings"`
		NextCursor string `json:"next_cursor"`
	}
	all := decodeBody[body](t, f.get(t, "/sensors/SL-0000042/readings", ""), 200, "application/json")
	if len(all.Readings) != len(node) {
		t.Fatalf("readings = %+v, want all %d", all.Readings, len(node))
	}

	power := decodeBody[body](t, f.get(t, "/sensors/SL-0000042/readings", "metric=power"), 200, "application/json")
	if len(power.Readings) != 2 || power.Readings[0].Value != 42.7 || power.Readings[1].Value != 41.9 || power.NextCursor != "" {
		t.Fatalf("power readings = %+v, want 42.7 then 41.9 and no cursor", power)
	}

	// Two at a time, oldest first: every reading once, across the instant.
	seen := map[string]int{}
	query := "limit=2&order=asc"
	for page := 0; ; page++ {
		b := decodeBody[body](t, f.get(t, "/sensors/SL-0000042/readings", query), 200, "application/json")
		for _, r := range b.Readings {
			seen[fmt.Sprint(r.Metric, r.Value)]++
		}
		if b.NextCursor == "" {
			break
		}
		if page > len(node) {
			t.Fatal("paging does not end")
		}
		query = "limit=2&order=asc&cursor=" + b.NextCursor
	}
	if len(seen) != len(node) {
		t.Fatalf("paging saw %v, want each of %d readings once", seen, len(node))
	}
	for k, n := range seen {
		if n != 1 {
			t.Errorf("%s seen %d times", k, n)
		}
	}

	// A cursor issued for one metric is not valid for another.
	first := decodeBody[body](t, f.get(t, "/sensors/SL-0000042/readings", "metric=power&limit=1"), 200, "application/json")
	if first.NextCursor == "" {
		t.Fatal("no cursor after the first of two power readings")
	}
	decodeBody[problemBody](t, f.get(t, "/sensors/SL-0000042/readings", "metric=voltage&limit=1&cursor="+first.NextCursor), 400, "application/problem+json")
	decodeBody[problemBody](t, f.get(t, "/sensors/SL-0000042/readings", "metric=%01"), 400, "application/problem+json")
}

// TestUnknownSensorIsNotFoundWhateverTheRange: a sensor with no readings at
// all is 404 for every range, including an empty one (to=0) and one far in
// the future; a known sensor with nothing in the range is 200 and empty.
func TestUnknownSensorIsNotFoundWhateverTheRange(t *testing.T) {
	t.Parallel()
	f := newAPIFixture(t)
	for _, q := range []string{"", "to=0", "to=1", "from=2026-11-22T00:00:00.0001Z&to=2026-11-22T00:00:00.0005Z", "from=9999999999999999", "from=2100-01-01T00:00:00Z"} {
		decodeBody[problemBody](t, f.get(t, "/sensors/SL-999999/readings", q), 404, "application/problem+json")
		known := decodeBody[pageBody](t, f.get(t, "/sensors/SL-000001/readings", q), 200, "application/json")
		if q != "" && len(known.Readings) != 0 {
			t.Errorf("%s: known sensor has %d readings, want none", q, len(known.Readings))
		}
	}
}
