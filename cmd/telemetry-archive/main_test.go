package main_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/citylink/citylink/internal/awstest"
	"github.com/citylink/citylink/internal/runtimeapi"
)

// TestBootstrapArchivesBatch builds the Lambda binary and runs it against a
// Runtime API harness and gofakes3.
func TestBootstrapArchivesBatch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := awstest.New(t)
	if err := awstest.CreateBucket(ctx, s.S3, "archive"); err != nil {
		t.Fatal(err)
	}
	fn := runtimeapi.Test(t, "github.com/citylink/citylink/cmd/telemetry-archive",
		"ARCHIVE_BUCKET=archive", "S3_USE_PATH_STYLE=true", "AWS_ENDPOINT_URL="+s.S3Endpoint)

	arrival := time.Date(2026, 11, 23, 10, 15, 0, 0, time.UTC)
	now := time.Now().UTC().Format(time.RFC3339)
	var ev events.KinesisEvent
	for i, d := range []string{`{"sensor_id":"SL-1","timestamp":"` + now + `","value":5}`, `{"sensor_id":""}`} {
		seq := []string{"100", "101"}[i]
		ev.Records = append(ev.Records, events.KinesisEventRecord{
			EventID: "shardId-000000000001:" + seq, EventSource: "aws:kinesis", EventName: "aws:kinesis:record",
			Kinesis: events.KinesisRecord{
				ApproximateArrivalTimestamp: events.SecondsEpochTime{Time: arrival},
				Data:                        []byte(d), PartitionKey: "SL-1", SequenceNumber: seq, KinesisSchemaVersion: "1.0",
			},
		})
	}
	payload, _ := json.Marshal(ev)
	out, err := fn.Invoke(ctx, payload, 30*time.Second)
	if err != nil {
		t.Fatalf("invoke: %v\n%s", err, fn.Logs())
	}
	var resp events.KinesisEventResponse
	if err := json.Unmarshal(out, &resp); err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("response = %s (%v), want no failures", out, err)
	}
	list, err := s.S3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("archive")})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, o := range list.Contents {
		keys = append(keys, aws.ToString(o.Key))
	}
	want := "quarantine/dt=2026-11-23/hour=10/shard=shardId-000000000001/100-101.ndjson.gz " +
		"readings/dt=2026-11-23/hour=10/shard=shardId-000000000001/100-101.ndjson.gz"
	if strings.Join(keys, " ") != want {
		t.Fatalf("keys = %v, want %s", keys, want)
	}
}
