package telemetry_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/citylink/citylink/internal/telemetry"
	"github.com/citylink/citylink/internal/telemetry/telemetrytest"
)

// sensorBlockingWriter decorates the real client: requests for one sensor
// are always handed back unprocessed; the rest go to dynalite.
type sensorBlockingWriter struct {
	*dynamodb.Client
	sensor string
}

func (w sensorBlockingWriter) BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
	send := map[string][]types.WriteRequest{}
	out := &dynamodb.BatchWriteItemOutput{UnprocessedItems: map[string][]types.WriteRequest{}}
	for table, reqs := range in.RequestItems {
		for _, r := range reqs {
			if r.PutRequest.Item["sensor_id"].(*types.AttributeValueMemberS).Value == w.sensor {
				out.UnprocessedItems[table] = append(out.UnprocessedItems[table], r)
			} else {
				send[table] = append(send[table], r)
			}
		}
	}
	if len(send) > 0 {
		if _, err := w.Client.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: send}, opts...); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func TestStoreHandlerMixedBatchLosesNothing(t *testing.T) {
	t.Parallel()
	s := telemetrytest.StandIns(t)
	table := telemetrytest.NewTable(t, s)
	// The first BatchWriteItem hands two items back unprocessed.
	w := &telemetrytest.UnprocessingWriter{Client: s.DynamoDB, Hold: func(call int, _ []types.WriteRequest) int {
		if call == 0 {
			return 2
		}
		return 0
	}}
	var metrics bytes.Buffer
	h := telemetry.NewStoreHandler(telemetrytest.Decoder(),
		telemetry.NewStore(w, telemetry.StoreConfig{Table: table, Backoff: telemetrytest.QuickBackoff}),
		telemetry.NewMetrics(&metrics, "telemetry-store", nil), telemetrytest.Logger(t))

	ev := telemetrytest.LoadKinesisEvent(t, "testdata/kinesis-batch.json")
	var resp events.KinesisEventResponse
	telemetrytest.Invoke(t, h.Handle, ev, &resp)
	if resp.BatchItemFailures == nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("batch item failures = %#v, want an empty list", resp.BatchItemFailures)
	}

	got := telemetrytest.ScanTable(t, s.DynamoDB, table)
	want := map[telemetry.Key]string{
		{SensorID: "SL-000001", Millis: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC).UnixMilli()}:           "12.5",
		{SensorID: "SL-000002", Millis: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC).UnixMilli()}:           "42",
		{SensorID: "sensor7", Millis: time.Date(2026, 11, 23, 9, 59, 59, 0, time.UTC).UnixMilli()}:            "3.75",
		{SensorID: "Brücke-9", Millis: time.Date(2026, 11, 23, 9, 59, 59, 500_000_000, time.UTC).UnixMilli()}: "-0.5",
	}
	if len(got) != len(want) {
		t.Errorf("table has %d items, want %d: %v", len(got), len(want), got)
	}
	for k, v := range want {
		if telemetrytest.NumAttr(got[k], "value") != v {
			t.Errorf("%v value = %q, want %s", k, telemetrytest.NumAttr(got[k], "value"), v)
		}
	}
	if w.Calls() < 2 {
		t.Errorf("BatchWriteItem calls = %d, want a retry of the unprocessed items", w.Calls())
	}

	lines := telemetrytest.JSONLines(t, &metrics)
	if len(lines) != 1 {
		t.Fatalf("metric lines = %d, want 1", len(lines))
	}
	m := lines[0]
	for name, want := range map[string]float64{
		"RecordsReceived": 8, "RecordsProcessed": 5, "RecordsRejected": 3,
		"RecordsDuplicate": 1, "RecordsFailed": 0, "WriteRetries": 1,
	} {
		if m[name] != want {
			t.Errorf("metric %s = %v, want %v", name, m[name], want)
		}
	}
}

func TestStoreHandlerReportsFailedRecordsOnly(t *testing.T) {
	t.Parallel()
	s := telemetrytest.StandIns(t)
	table := telemetrytest.NewTable(t, s)
	h := telemetry.NewStoreHandler(telemetrytest.Decoder(),
		telemetry.NewStore(sensorBlockingWriter{Client: s.DynamoDB, sensor: "SL-000001"},
			telemetry.StoreConfig{Table: table, MaxAttempts: 2, Backoff: telemetrytest.QuickBackoff}),
		telemetry.NewMetrics(&bytes.Buffer{}, "telemetry-store", nil), telemetrytest.Logger(t))

	ev := telemetrytest.LoadKinesisEvent(t, "testdata/kinesis-batch.json")
	var resp events.KinesisEventResponse
	telemetrytest.Invoke(t, h.Handle, ev, &resp)

	// Both records of SL-000001's key failed; Lambda restarts from the lowest.
	var ids []string
	for _, f := range resp.BatchItemFailures {
		ids = append(ids, f.ItemIdentifier)
	}
	want := []string{ev.Records[0].Kinesis.SequenceNumber, ev.Records[2].Kinesis.SequenceNumber}
	if !slices.Equal(ids, want) {
		t.Fatalf("failures = %v, want %v", ids, want)
	}
	if got := telemetrytest.ScanTable(t, s.DynamoDB, table); len(got) != 3 {
		t.Fatalf("table has %d items, want the other 3 readings", len(got))
	}
}

func TestKinesisTestdataRoundTrips(t *testing.T) {
	t.Parallel()
	ev := telemetrytest.LoadKinesisEvent(t, "testdata/kinesis-batch.json")
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	var again events.KinesisEvent
	if err := json.Unmarshal(b, &again); err != nil {
		t.Fatal(err)
	}
	if len(again.Records) != 8 || !bytes.Equal(again.Records[5].Kinesis.Data, ev.Records[5].Kinesis.Data) ||
		!again.Records[0].Kinesis.ApproximateArrivalTimestamp.Equal(ev.Records[0].Kinesis.ApproximateArrivalTimestamp.Time) {
		t.Fatalf("round trip changed the event")
	}
}

// deadlineWriter decorates the real client: a call that includes the slow
// sensor waits for the context to end, as a hung connection would; other
// calls go to dynalite regardless of the deadline.
type deadlineWriter struct {
	*dynamodb.Client
	slow string
}

func (w deadlineWriter) BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
	for _, reqs := range in.RequestItems {
		for _, r := range reqs {
			if r.PutRequest.Item["sensor_id"].(*types.AttributeValueMemberS).Value == w.slow {
				<-ctx.Done()
				return nil, ctx.Err()
			}
		}
	}
	return w.Client.BatchWriteItem(context.WithoutCancel(ctx), in, opts...)
}

func TestStoreHandlerReportsRecordsCutOffByDeadline(t *testing.T) {
	t.Parallel()
	s := telemetrytest.StandIns(t)
	table := telemetrytest.NewTable(t, s)
	// One sensor per group of 25: the slow one's group cannot finish.
	var rs []telemetry.Reading
	for i := range 75 {
		rs = append(rs, telemetry.Reading{SensorID: fmt.Sprintf("SL-%d", i/25), Time: telemetrytest.FixedNow.Add(-time.Duration(i) * time.Second), Value: float64(i)})
	}
	var ev events.KinesisEvent
	for i, r := range rs {
		data, _ := r.MarshalJSON()
		seq := fmt.Sprintf("%d", 1000+i)
		ev.Records = append(ev.Records, events.KinesisEventRecord{EventID: "shardId-000000000000:" + seq,
			Kinesis: events.KinesisRecord{Data: data, SequenceNumber: seq, PartitionKey: r.SensorID}})
	}
	h := telemetry.NewStoreHandler(telemetrytest.Decoder(),
		telemetry.NewStore(deadlineWriter{Client: s.DynamoDB, slow: "SL-1"}, telemetry.StoreConfig{Table: table, Backoff: telemetrytest.QuickBackoff}),
		telemetry.NewMetrics(io.Discard, "telemetry-store", nil), telemetrytest.Logger(t))

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	resp, err := h.Handle(ctx, ev)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.BatchItemFailures) != 25 || resp.BatchItemFailures[0].ItemIdentifier != "1025" {
		t.Fatalf("failures = %v, want the 25 records of SL-1 from 1025", resp.BatchItemFailures)
	}
	if got := telemetrytest.ScanTable(t, s.DynamoDB, table); len(got) != 50 {
		t.Fatalf("table has %d items, want the 50 of the other sensors", len(got))
	}
}

// corruptingWriter decorates the real client: it blanks the key of one
// sensor's items before sending them on, so dynalite itself refuses the
// call as invalid, as DynamoDB would an item it cannot store.
type corruptingWriter struct {
	*dynamodb.Client
	sensor string
}

func (w corruptingWriter) BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
	sent := map[string][]types.WriteRequest{}
	for table, reqs := range in.RequestItems {
		for _, r := range reqs {
			it := maps.Clone(r.PutRequest.Item) // the caller's request stays as it was
			if it["sensor_id"].(*types.AttributeValueMemberS).Value == w.sensor {
				it["sensor_id"] = &types.AttributeValueMemberS{Value: ""}
			}
			sent[table] = append(sent[table], types.WriteRequest{PutRequest: &types.PutRequest{Item: it}})
		}
	}
	return w.Client.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: sent}, opts...)
}

func TestStoreHandlerDropsWhatTheTableRefuses(t *testing.T) {
	t.Parallel()
	s := telemetrytest.StandIns(t)
	table := telemetrytest.NewTable(t, s)
	var metrics bytes.Buffer
	h := telemetry.NewStoreHandler(telemetrytest.Decoder(),
		telemetry.NewStore(corruptingWriter{Client: s.DynamoDB, sensor: "SL-000002"}, telemetry.StoreConfig{Table: table, Backoff: telemetrytest.QuickBackoff}),
		telemetry.NewMetrics(&metrics, "telemetry-store", nil), telemetrytest.Logger(t))

	var resp events.KinesisEventResponse
	telemetrytest.Invoke(t, h.Handle, telemetrytest.LoadKinesisEvent(t, "testdata/kinesis-batch.json"), &resp)
	if len(resp.BatchItemFailures) != 0 {
		t.Fatalf("failures = %v; a write that can never succeed must not hold the shard", resp.BatchItemFailures)
	}
	if got := telemetrytest.ScanTable(t, s.DynamoDB, table); len(got) != 3 {
		t.Fatalf("table has %d items, want the 3 other readings", len(got))
	}
	if m := telemetrytest.JSONLines(t, &metrics); len(m) != 1 || m[0]["RecordsUnwritable"] != 1.0 || m[0]["RecordsProcessed"] != 4.0 {
		t.Fatalf("metrics = %v, want 1 unwritable and 4 processed", m)
	}
}

// TestStoreHandlerFailsWhenTheTableRefusesEverything points the store at a
// table whose key schema is not SensorData's, as a misconfigured deploy
// would. Every write is refused; dropping them all as bad items would lose
// the whole stream quietly, so the batch must fail and be retried instead.
func TestStoreHandlerFailsWhenTheTableRefusesEverything(t *testing.T) {
	t.Parallel()
	s := telemetrytest.StandIns(t)
	table := telemetrytest.UniqueName("wrongkeys")
	if _, err := s.DynamoDB.CreateTable(context.Background(), &dynamodb.CreateTableInput{
		TableName:            aws.String(table),
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: types.KeyTypeHash}},
		BillingMode:          types.BillingModePayPerRequest,
	}); err != nil {
		t.Fatal(err)
	}
	h := telemetry.NewStoreHandler(telemetrytest.Decoder(),
		telemetry.NewStore(s.DynamoDB, telemetry.StoreConfig{Table: table, Backoff: telemetrytest.QuickBackoff}),
		telemetry.NewMetrics(io.Discard, "telemetry-store", nil), telemetrytest.Logger(t))
	_, err := h.Handle(context.Background(), telemetrytest.LoadKinesisEvent(t, "testdata/kinesis-batch.json"))
	if err == nil {
		t.Fatal("every reading was refused by the table, and the batch succeeded: the stream would be dropped")
	}
}
