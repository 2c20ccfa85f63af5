package archive_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/citylink/citylink/internal/telemetry"
	"github.com/citylink/citylink/internal/telemetry/archive"
	"github.com/citylink/citylink/internal/telemetry/telemetrytest"
)

func TestArchiveKey(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 23, 4, 59, 59, 0, time.FixedZone("CST", -6*3600)) // 10:59:59 UTC
	got := archive.Key("readings", at, "shardId-000000000003", "101", "205")
	want := "readings/dt=2026-11-23/hour=10/shard=shardId-000000000003/101-205.ndjson.gz"
	if got != want {
		t.Fatalf("key = %q, want %q", got, want)
	}
}

func TestArchiveHandlerWritesReadingsAndQuarantine(t *testing.T) {
	t.Parallel()
	s := telemetrytest.StandIns(t)
	bucket := telemetrytest.NewBucket(t, s)
	var metrics bytes.Buffer
	h := archive.NewHandler(telemetrytest.Decoder(), s.S3, bucket, telemetry.NewMetrics(&metrics, "telemetry-archive", nil), telemetrytest.Logger(t))
	ev := telemetrytest.LoadKinesisEvent(t, "../testdata/kinesis-batch.json")

	var resp events.KinesisEventResponse
	telemetrytest.Invoke(t, h.Handle, ev, &resp)
	if len(resp.BatchItemFailures) != 0 {
		t.Fatalf("failures = %v, want none", resp.BatchItemFailures)
	}
	// A retry of the same batch must overwrite, not add.
	telemetrytest.Invoke(t, h.Handle, ev, &resp)

	first, last := ev.Records[0].Kinesis.SequenceNumber, ev.Records[7].Kinesis.SequenceNumber
	suffix := "/dt=2026-11-23/hour=10/shard=shardId-000000000003/" + first + "-" + last + ".ndjson.gz"
	keys := telemetrytest.ListKeys(t, s, bucket)
	if strings.Join(keys, " ") != "quarantine"+suffix+" readings"+suffix {
		t.Fatalf("keys = %v, want one readings and one quarantine object", keys)
	}

	good := telemetrytest.GetNDJSON(t, s, bucket, "readings"+suffix)
	if len(good) != 5 {
		t.Fatalf("readings lines = %d, want 5 (duplicates are archived as received)", len(good))
	}
	if good[4]["sensor_id"] != "Brücke-9" || good[4]["unit"] != "°C" || good[4]["value"] != -0.5 ||
		good[4]["timestamp"] != "2026-11-23T09:59:59.500Z" || good[4]["sequence_number"] != last ||
		good[4]["arrival"] != "2026-11-23T10:00:01.000Z" {
		t.Errorf("last reading line = %v", good[4])
	}

	bad := telemetrytest.GetNDJSON(t, s, bucket, "quarantine"+suffix)
	var reasons []string
	for _, q := range bad {
		reasons = append(reasons, q["reason"].(string))
	}
	if strings.Join(reasons, ",") != "not_json,not_utf8,missing_value" {
		t.Fatalf("quarantine reasons = %v", reasons)
	}
	var q archive.QuarantinedRecord
	b, _ := json.Marshal(bad[1])
	if err := json.Unmarshal(b, &q); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(q.Data, ev.Records[5].Kinesis.Data) || q.SequenceNumber != ev.Records[5].Kinesis.SequenceNumber || q.PartitionKey != "SL-000004" {
		t.Errorf("quarantined record = %+v, want record 6's raw bytes", q)
	}

	lines := telemetrytest.JSONLines(t, &metrics)
	if len(lines) != 2 || lines[0]["RecordsArchived"] != 5.0 || lines[0]["RecordsQuarantined"] != 3.0 {
		t.Errorf("metrics = %v", lines)
	}
}

func TestArchiveHandlerFailsBatchFromFirstRecordWhenS3Fails(t *testing.T) {
	t.Parallel()
	s := telemetrytest.StandIns(t)
	h := archive.NewHandler(telemetrytest.Decoder(), s.S3, "no-such-bucket", telemetry.NewMetrics(io.Discard, "telemetry-archive", nil), telemetrytest.Logger(t))
	ev := telemetrytest.LoadKinesisEvent(t, "../testdata/kinesis-batch.json")
	var resp events.KinesisEventResponse
	telemetrytest.Invoke(t, h.Handle, ev, &resp)
	if len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != ev.Records[0].Kinesis.SequenceNumber {
		t.Fatalf("failures = %v, want the first record", resp.BatchItemFailures)
	}
}

func TestArchiveHandlerEmptyBatch(t *testing.T) {
	t.Parallel()
	h := archive.NewHandler(telemetrytest.Decoder(), nil, "unused", telemetry.NewMetrics(io.Discard, "telemetry-archive", nil), telemetrytest.Logger(t))
	resp, err := h.Handle(context.Background(), events.KinesisEvent{})
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("Handle(empty) = %v, %v", resp, err)
	}
}
