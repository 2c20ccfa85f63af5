package telemetry_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/citylink/citylink/internal/telemetry"
	"github.com/citylink/citylink/internal/telemetry/telemetrytest"
)

// TestDecodeRefusesReadingsOlderThanTheRetention: a reading the table's TTL
// would delete at once is refused with its own reason; one a millisecond
// younger is kept, and a decoder for a table without TTL keeps any age.
func TestDecodeRefusesReadingsOlderThanTheRetention(t *testing.T) {
	t.Parallel()
	at := func(d time.Duration) []byte {
		return fmt.Appendf(nil, `{"sensor_id":"a","value":1,"timestamp":%d}`, telemetrytest.FixedNow.Add(-d).UnixMilli())
	}
	_, err := telemetrytest.Decoder().Decode(at(telemetry.DefaultRetention))
	var rej *telemetry.RejectError
	if !errors.As(err, &rej) || rej.Reason != telemetry.ReasonOlderThanRetention {
		t.Fatalf("a reading as old as the retention: %v, want %s", err, telemetry.ReasonOlderThanRetention)
	}
	if _, err := telemetrytest.Decoder().Decode(at(telemetry.DefaultRetention - time.Millisecond)); err != nil {
		t.Fatalf("a reading just inside the retention: %v", err)
	}
	d := telemetry.Decoder{Retention: time.Hour, Now: telemetrytest.Clock}
	if _, err := d.Decode(at(2 * time.Hour)); !errors.As(err, &rej) || rej.Reason != telemetry.ReasonOlderThanRetention {
		t.Fatalf("two hours old with a one-hour retention: %v", err)
	}
	forever := telemetry.NewDecoder(0)
	forever.Now = telemetrytest.Clock
	if _, err := forever.Decode(at(5 * 365 * 24 * time.Hour)); err != nil {
		t.Fatalf("a table without TTL refused an old reading: %v", err)
	}
}

// TestStoreNeverWritesAnExpiredReading: should a reading past the TTL reach
// the store (a decoder with a longer retention), it is reported expired,
// not written with an expires_at in the past, and not retried.
func TestStoreNeverWritesAnExpiredReading(t *testing.T) {
	t.Parallel()
	s := telemetrytest.StandIns(t)
	table := telemetrytest.NewTable(t, s)
	store := telemetry.NewStore(s.DynamoDB, telemetry.StoreConfig{
		Table: table, TTL: 24 * time.Hour, Now: telemetrytest.Clock, Backoff: telemetrytest.QuickBackoff,
	})
	old := telemetry.Reading{SensorID: "SL-1", Time: telemetrytest.FixedNow.Add(-25 * time.Hour), Value: 1, Metric: "power"}
	fresh := telemetry.Reading{SensorID: "SL-1", Time: telemetrytest.FixedNow.Add(-time.Hour), Value: 2, Metric: "power"}
	res, err := store.Put(context.Background(), []telemetry.Reading{old, fresh})
	if err != nil {
		t.Fatal(err)
	}
	if res.Written != 1 || len(res.Expired) != 1 || res.Expired[0] != old.Key() || len(res.Failed) != 0 {
		t.Fatalf("result = %+v, want fresh written and old expired", res)
	}
	got := telemetrytest.ScanTable(t, s.DynamoDB, table)
	if _, ok := got[old.Key()]; ok || len(got) != 1 {
		t.Fatalf("table = %v, want only the fresh reading", got)
	}

	// Through the Lambda with a decoder that allows a week: no failure to
	// retry, and the expired reading is counted as such.
	metrics := &bytes.Buffer{}
	h := telemetry.NewStoreHandler(telemetry.Decoder{Retention: 7 * 24 * time.Hour, Now: telemetrytest.Clock}, store,
		telemetry.NewMetrics(metrics, "telemetry-store", nil), telemetrytest.Logger(t))
	var resp events.KinesisEventResponse
	telemetrytest.Invoke(t, h.Handle, kinesisEvent(t, []telemetry.Reading{old}), &resp)
	if len(resp.BatchItemFailures) != 0 {
		t.Fatalf("failures = %+v, want none: an expired reading cannot succeed later", resp.BatchItemFailures)
	}
	lines := telemetrytest.JSONLines(t, metrics)
	if len(lines) != 1 || lines[0]["RecordsExpired"] != 1.0 || lines[0]["RecordsProcessed"] != 0.0 {
		t.Fatalf("metrics = %v, want one expired record", lines)
	}
}

// TestStoreHandlerRejectsReadingsOlderThanTheRetention: the Lambda's
// default decoder refuses them as bad records, so nothing is retried and
// nothing is written.
func TestStoreHandlerRejectsReadingsOlderThanTheRetention(t *testing.T) {
	t.Parallel()
	s := telemetrytest.StandIns(t)
	table := telemetrytest.NewTable(t, s)
	h := telemetry.NewStoreHandler(telemetrytest.Decoder(),
		telemetry.NewStore(s.DynamoDB, telemetry.StoreConfig{Table: table, TTL: telemetry.DefaultRetention, Now: telemetrytest.Clock}),
		telemetry.NewMetrics(io.Discard, "telemetry-store", nil), telemetrytest.Logger(t))
	old := telemetry.Reading{SensorID: "SL-1", Time: telemetrytest.FixedNow.Add(-telemetry.DefaultRetention - time.Minute), Value: 1}
	var resp events.KinesisEventResponse
	telemetrytest.Invoke(t, h.Handle, kinesisEvent(t, []telemetry.Reading{old}), &resp)
	if len(resp.BatchItemFailures) != 0 {
		t.Fatalf("failures = %+v", resp.BatchItemFailures)
	}
	if got := telemetrytest.ScanTable(t, s.DynamoDB, table); len(got) != 0 {
		t.Fatalf("table = %v, want nothing: the reading was already expired", got)
	}
}
