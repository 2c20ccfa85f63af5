package telemetry_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/citylink/citylink/internal/telemetry"
	"github.com/citylink/citylink/internal/telemetry/telemetrytest"
)

func TestStorePutDedupesAndWritesEveryKey(t *testing.T) {
	t.Parallel()
	s := telemetrytest.StandIns(t)
	table := telemetrytest.NewTable(t, s)
	store := telemetry.NewStore(s.DynamoDB, telemetry.StoreConfig{Table: table, TTL: 30 * 24 * time.Hour, Backoff: telemetrytest.QuickBackoff})

	rs := telemetrytest.Readings(7, 10, telemetrytest.FixedNow.Add(-time.Hour)) // 70 readings: 3 groups of 25
	dup := rs[5]
	dup.Value = -1 // same key, later in the batch: must win
	rs = append(rs, dup)

	res, err := store.Put(context.Background(), rs)
	if err != nil {
		t.Fatal(err)
	}
	if res.Written != 70 || res.Duplicates != 1 || len(res.Failed) != 0 {
		t.Fatalf("result = %+v, want 70 written, 1 duplicate", res)
	}
	got := telemetrytest.ScanTable(t, s.DynamoDB, table)
	if len(got) != 70 {
		t.Fatalf("table has %d items, want 70", len(got))
	}
	it := got[dup.Key()]
	if telemetrytest.NumAttr(it, "value") != "-1" {
		t.Errorf("duplicate key value = %s, want the later reading's -1", telemetrytest.NumAttr(it, "value"))
	}
	wantTTL := fmt.Sprint(dup.Time.Add(30 * 24 * time.Hour).Unix())
	if telemetrytest.NumAttr(it, "expires_at") != wantTTL {
		t.Errorf("expires_at = %s, want %s", telemetrytest.NumAttr(it, "expires_at"), wantTTL)
	}
}

func TestStoreRetriesUnprocessedItems(t *testing.T) {
	t.Parallel()
	s := telemetrytest.StandIns(t)
	table := telemetrytest.NewTable(t, s)
	w := &telemetrytest.UnprocessingWriter{Client: s.DynamoDB, Hold: func(call int, reqs []types.WriteRequest) int {
		if call < 3 {
			return 7 // the first calls each leave 7 behind
		}
		return 0
	}}
	store := telemetry.NewStore(w, telemetry.StoreConfig{Table: table, Concurrency: 1, Backoff: telemetrytest.QuickBackoff})

	rs := telemetrytest.Readings(5, 10, telemetrytest.FixedNow.Add(-2*time.Hour))
	res, err := store.Put(context.Background(), rs)
	if err != nil {
		t.Fatal(err)
	}
	if res.Written != 50 || len(res.Failed) != 0 {
		t.Fatalf("result = %+v, want all 50 written", res)
	}
	if res.Retries < 1 {
		t.Errorf("retries = %d, want at least 1", res.Retries)
	}
	if got := telemetrytest.ScanTable(t, s.DynamoDB, table); len(got) != 50 {
		t.Fatalf("table has %d items, want 50", len(got))
	}
}

func TestStoreReportsKeysStillUnprocessed(t *testing.T) {
	t.Parallel()
	s := telemetrytest.StandIns(t)
	table := telemetrytest.NewTable(t, s)
	w := &telemetrytest.UnprocessingWriter{Client: s.DynamoDB, Hold: func(int, []types.WriteRequest) int { return 1 }}
	store := telemetry.NewStore(w, telemetry.StoreConfig{Table: table, MaxAttempts: 3, Backoff: telemetrytest.QuickBackoff})

	rs := telemetrytest.Readings(3, 10, telemetrytest.FixedNow.Add(-3*time.Hour)) // 30: groups of 25 and 5
	res, err := store.Put(context.Background(), rs)
	if err != nil {
		t.Fatal(err)
	}
	// Each group's last request is held back on all 3 attempts.
	if len(res.Failed) != 2 || res.Written != 28 || res.Retries != 4 {
		t.Fatalf("result = %+v, want 2 failed, 28 written, 4 retries", res)
	}
	for k, ferr := range res.Failed {
		if !errors.Is(ferr, telemetry.ErrUnprocessed) {
			t.Errorf("key %v failed with %v, want ErrUnprocessed", k, ferr)
		}
	}
	got := telemetrytest.ScanTable(t, s.DynamoDB, table)
	if len(got) != 28 {
		t.Fatalf("table has %d items, want 28", len(got))
	}
	for k := range res.Failed {
		if _, ok := got[k]; ok {
			t.Errorf("failed key %v is in the table", k)
		}
	}
}

func TestStoreReportsCallErrorsPerGroup(t *testing.T) {
	t.Parallel()
	s := telemetrytest.StandIns(t)
	store := telemetry.NewStore(s.DynamoDB, telemetry.StoreConfig{Table: "no-such-table", Backoff: telemetrytest.QuickBackoff})
	res, err := store.Put(context.Background(), telemetrytest.Readings(2, 3, telemetrytest.FixedNow.Add(-time.Hour)))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Failed) != 6 || res.Written != 0 {
		t.Fatalf("result = %+v, want all 6 failed", res)
	}
	var rnf *types.ResourceNotFoundException
	for _, ferr := range res.Failed {
		if !errors.As(ferr, &rnf) {
			t.Fatalf("failure = %v, want ResourceNotFoundException", ferr)
		}
	}
}

func TestStoreWritesTheDecodersExtremeValues(t *testing.T) {
	t.Parallel()
	s := telemetrytest.StandIns(t)
	table := telemetrytest.NewTable(t, s)
	store := telemetry.NewStore(s.DynamoDB, telemetry.StoreConfig{Table: table, Backoff: telemetrytest.QuickBackoff})
	var rs []telemetry.Reading
	for i, v := range []float64{9.99e124, -9.99e124, 1.5e-125, 0, 123456789.123456789} {
		rs = append(rs, telemetry.Reading{SensorID: "SL-X", Time: telemetrytest.FixedNow.Add(time.Duration(-i) * time.Second), Value: v})
	}
	res, err := store.Put(context.Background(), rs)
	if err != nil || len(res.Failed) != 0 {
		t.Fatalf("Put = %+v, %v; want every value the telemetrytest.Decoder accepts stored", res, err)
	}
	page, err := telemetry.NewReader(s.DynamoDB, table).Readings(context.Background(), "SL-X", telemetry.Range{})
	if err != nil || len(page.Readings) != len(rs) {
		t.Fatalf("Readings = %d, %v", len(page.Readings), err)
	}
	for i, r := range page.Readings {
		if r.Value != rs[i].Value {
			t.Errorf("value %d read back as %v, want %v", i, r.Value, rs[i].Value)
		}
	}
}

func TestStoreIsolatesAnItemTheTableRefuses(t *testing.T) {
	t.Parallel()
	s := telemetrytest.StandIns(t)
	table := telemetrytest.NewTable(t, s)
	store := telemetry.NewStore(s.DynamoDB, telemetry.StoreConfig{Table: table, Backoff: telemetrytest.QuickBackoff})
	rs := telemetrytest.Readings(3, 10, telemetrytest.FixedNow.Add(-time.Hour))
	// Bypassing the decoder: an empty key, which DynamoDB refuses.
	bad := telemetry.Reading{SensorID: "", Time: telemetrytest.FixedNow.Add(-time.Minute), Value: 1}
	rs = append(rs[:7], append([]telemetry.Reading{bad}, rs[7:]...)...)

	res, err := store.Put(context.Background(), rs)
	if err != nil {
		t.Fatal(err)
	}
	if res.Written != 30 || len(res.Failed) != 1 || !errors.Is(res.Failed[bad.Key()], telemetry.ErrRejectedByTable) {
		t.Fatalf("result = %+v, want 30 written and the empty key rejected by the table", res)
	}
	if got := telemetrytest.ScanTable(t, s.DynamoDB, table); len(got) != 30 {
		t.Fatalf("table has %d items, want 30", len(got))
	}
}
