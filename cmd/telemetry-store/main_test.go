package main_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/citylink/citylink/internal/awstest"
	"github.com/citylink/citylink/internal/runtimeapi"
	"github.com/citylink/citylink/internal/telemetry"
	"github.com/citylink/citylink/internal/telemetry/telemetrydev"
)

func kinesisEvent(data ...string) events.KinesisEvent {
	var ev events.KinesisEvent
	for i, d := range data {
		seq := "4959033827149025660855969253836157109592157598913658880" + string(rune('1'+i))
		ev.Records = append(ev.Records, events.KinesisEventRecord{
			AwsRegion: "us-east-1", EventID: "shardId-000000000000:" + seq, EventName: "aws:kinesis:record",
			EventSource: "aws:kinesis", EventVersion: "1.0",
			EventSourceArn: "arn:aws:kinesis:us-east-1:123456789012:stream/citylink-telemetry",
			Kinesis: events.KinesisRecord{
				ApproximateArrivalTimestamp: events.SecondsEpochTime{Time: time.Now()},
				Data:                        []byte(d), PartitionKey: "SL-1", SequenceNumber: seq, KinesisSchemaVersion: "1.0",
			},
		})
	}
	return ev
}

// TestBootstrapStoresReadings builds the Lambda binary and runs it against
// a Runtime API harness and dynalite.
func TestBootstrapStoresReadings(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := awstest.New(t)
	if err := telemetrydev.CreateTable(ctx, s.DynamoDB, "SensorData"); err != nil {
		t.Fatal(err)
	}
	fn := runtimeapi.Test(t, "github.com/citylink/citylink/cmd/telemetry-store",
		"SENSOR_TABLE=SensorData", "READING_TTL=24h", "AWS_ENDPOINT_URL="+s.DynamoDBEndpoint)

	now := time.Now().UTC().Format(time.RFC3339)
	ev := kinesisEvent(
		`{"sensor_id":"SL-1","timestamp":"`+now+`","value":5}`,
		`garbage`,
		`{"sensorid":"SL-2","timestamp":"`+now+`","value":"6"}`,
	)
	payload, _ := json.Marshal(ev)
	out, err := fn.Invoke(ctx, payload, 30*time.Second)
	if err != nil {
		t.Fatalf("invoke: %v\n%s", err, fn.Logs())
	}
	var resp events.KinesisEventResponse
	if err := json.Unmarshal(out, &resp); err != nil || resp.BatchItemFailures == nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("response = %s (%v), want no failures", out, err)
	}
	scan, err := s.DynamoDB.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String("SensorData")})
	if err != nil {
		t.Fatal(err)
	}
	if len(scan.Items) != 2 || scan.Items[0]["expires_at"] == nil {
		t.Fatalf("table = %v, want 2 readings with expires_at", scan.Items)
	}

	var sawEMF, sawReject bool
	for _, line := range strings.Split(fn.Logs(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) != nil {
			continue
		}
		if _, ok := m["_aws"]; ok && m["RecordsProcessed"] == 2.0 && m["RecordsRejected"] == 1.0 {
			sawEMF = true
		}
		if m["message"] == "rejected record" && m["reason"] == "not_json" && m["requestId"] != nil {
			sawReject = true
		}
	}
	if !sawEMF || !sawReject {
		t.Fatalf("output lacks the EMF line (%v) or the JSON rejection log with requestId (%v):\n%s", sawEMF, sawReject, fn.Logs())
	}
}

// TestBootstrapBehindLocalMapping runs the built function behind the local
// event source mapping: readings put to kinesalite reach dynalite through
// the real binary, poison records included, with nothing failed.
func TestBootstrapBehindLocalMapping(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := awstest.New(t)
	if err := telemetrydev.CreateTable(ctx, s.DynamoDB, "SensorData"); err != nil {
		t.Fatal(err)
	}
	if err := awstest.CreateStream(ctx, s.Kinesis, "telemetry", 2); err != nil {
		t.Fatal(err)
	}
	fn := runtimeapi.Test(t, "github.com/citylink/citylink/cmd/telemetry-store",
		"SENSOR_TABLE=SensorData", "AWS_ENDPOINT_URL="+s.DynamoDBEndpoint)

	start := time.Now().UTC().Add(-time.Hour).Truncate(time.Minute)
	var rs []telemetry.Reading
	for i := range 600 {
		rs = append(rs, telemetry.Reading{SensorID: "SL-" + strconv.Itoa(i%20), Time: start.Add(time.Duration(i/20) * time.Minute), Value: float64(i)})
	}
	if _, err := telemetrydev.NewProducer(s.Kinesis, telemetrydev.ProducerConfig{Stream: "telemetry"}).Put(ctx, rs); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Kinesis.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("telemetry"), PartitionKey: aws.String("x"), Data: []byte("{oops")}); err != nil {
		t.Fatal(err)
	}

	var failed atomic.Int64
	// The poller calls this for both shards at once; the Runtime API queues
	// the invocations and the function, like one Lambda instance, serves
	// them one after another.
	invoke := func(ctx context.Context, ev events.KinesisEvent) (events.KinesisEventResponse, error) {
		payload, err := json.Marshal(ev)
		if err != nil {
			return events.KinesisEventResponse{}, err
		}
		out, err := fn.Invoke(ctx, payload, 30*time.Second)
		if err != nil {
			return events.KinesisEventResponse{}, err
		}
		var resp events.KinesisEventResponse
		err = json.Unmarshal(out, &resp)
		failed.Add(int64(len(resp.BatchItemFailures)))
		return resp, err
	}
	p := telemetrydev.NewPoller(s.Kinesis, invoke, telemetrydev.PollerConfig{Stream: "telemetry", BatchSize: 250}, slog.New(slog.DiscardHandler))
	n, err := p.Poll(ctx)
	if err != nil {
		t.Fatalf("poll: %v\n%s", err, fn.Logs())
	}
	if n != len(rs)+1 || failed.Load() != 0 {
		t.Fatalf("handled %d records with %d failures, want %d and none", n, failed.Load(), len(rs)+1)
	}
	scan := dynamodb.NewScanPaginator(s.DynamoDB, &dynamodb.ScanInput{TableName: aws.String("SensorData")})
	items := 0
	for scan.HasMorePages() {
		page, err := scan.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		items += len(page.Items)
	}
	if items != len(rs) {
		t.Fatalf("table has %d items, want %d", items, len(rs))
	}
}
