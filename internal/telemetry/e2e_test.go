package telemetry_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	kintypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/citylink/citylink/internal/telemetry"
)

// TestEndToEnd puts readings, duplicates and poison records to a two-shard
// kinesalite stream, runs the store and archive handlers behind the local
// event source mapping, and finds every good reading in dynalite and in the
// gofakes3 archive, every poison record in quarantine, and the history API
// answering from the table.
func TestEndToEnd(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := standIns(t)
	stream, table, bucket := newStream(t, s, 2), newTable(t, s), newBucket(t, s)

	rs := readingsFor(40, 30, fixedNow.Add(-time.Hour)) // 1,200 readings
	producer := telemetry.NewProducer(s.Kinesis, telemetry.ProducerConfig{Stream: stream, Backoff: quickBackoff})
	if _, err := producer.Put(ctx, rs); err != nil {
		t.Fatal(err)
	}
	// A device resends 50 readings with new values, and three devices send junk.
	resent := make([]telemetry.Reading, 50)
	for i := range resent {
		resent[i] = rs[i*7]
		resent[i].Value += 0.5
	}
	if _, err := producer.Put(ctx, resent); err != nil {
		t.Fatal(err)
	}
	poison := [][]byte{[]byte("not json"), []byte(`{"sensorid":"SL-000001","value":"dim"}`), {0xff, 0xfe, 0x00}}
	var entries []kintypes.PutRecordsRequestEntry
	for i, p := range poison {
		entries = append(entries, kintypes.PutRecordsRequestEntry{Data: p, PartitionKey: aws.String(fmt.Sprint("junk", i))})
	}
	if _, err := s.Kinesis.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String(stream), Records: entries}); err != nil {
		t.Fatal(err)
	}

	// DynamoDB leaves part of every fifth call unprocessed.
	writer := &unprocessingWriter{Client: s.DynamoDB, hold: func(call int, reqs []types.WriteRequest) int {
		if call%5 == 0 {
			return len(reqs) / 3
		}
		return 0
	}}
	var storeMetrics bytes.Buffer
	store := telemetry.NewStoreHandler(decoder(),
		telemetry.NewStore(writer, telemetry.StoreConfig{Table: table, TTL: 90 * 24 * time.Hour, Backoff: quickBackoff}),
		telemetry.NewMetrics(&storeMetrics, "telemetry-store", nil), testLogger(t))
	archive := telemetry.NewArchiveHandler(decoder(), s.S3, bucket, telemetry.NewMetrics(io.Discard, "telemetry-archive", nil), testLogger(t))

	total := len(rs) + len(resent) + len(poison)
	for name, h := range map[string]telemetry.KinesisHandler{"store": store.Handle, "archive": archive.Handle} {
		p := telemetry.NewPoller(s.Kinesis, h, telemetry.PollerConfig{Stream: stream, BatchSize: 100, Backoff: quickBackoff}, testLogger(t))
		n, err := p.Poll(ctx)
		if err != nil {
			t.Fatalf("%s poller: %v", name, err)
		}
		if n != total {
			t.Fatalf("%s handled %d records, want %d", name, n, total)
		}
	}

	// The table holds every distinct reading, with the resent value.
	got := scanTable(t, s.DynamoDB, table)
	if len(got) != len(rs) {
		t.Fatalf("table has %d items, want %d", len(got), len(rs))
	}
	want := map[telemetry.Key]float64{}
	for _, r := range rs {
		want[r.Key()] = r.Value
	}
	for _, r := range resent {
		want[r.Key()] = r.Value
	}
	for k, v := range want {
		if numAttr(got[k], "value") != fmt.Sprint(v) {
			t.Fatalf("%v = %s, want %v", k, numAttr(got[k], "value"), v)
		}
	}
	retries := 0.0
	for _, m := range emfLines(t, &storeMetrics) {
		retries += m["WriteRetries"].(float64)
		if m["RecordsFailed"] != 0.0 {
			t.Errorf("metrics line with failures: %v", m)
		}
	}
	if retries == 0 {
		t.Error("no write retries reported, yet DynamoDB left items unprocessed")
	}

	// The archive holds every record once: readings as received, junk in quarantine.
	var readingLines, quarantineLines int
	for _, key := range listKeys(t, s, bucket) {
		lines := len(getNDJSON(t, s, bucket, key))
		switch {
		case strings.HasPrefix(key, telemetry.ReadingsPrefix+"/dt="):
			readingLines += lines
		case strings.HasPrefix(key, telemetry.QuarantinePrefix+"/dt="):
			quarantineLines += lines
		default:
			t.Errorf("unexpected key %s", key)
		}
	}
	if readingLines != len(rs)+len(resent) || quarantineLines != len(poison) {
		t.Fatalf("archive has %d reading and %d quarantine lines, want %d and %d",
			readingLines, quarantineLines, len(rs)+len(resent), len(poison))
	}

	// And the API answers from what the store wrote.
	api := apiFixture{h: telemetry.NewAPIHandler(telemetry.NewReader(s.DynamoDB, table), testLogger(t))}
	latest := decodeBody[latestBody](t, api.get(t, "/sensors/SL-000000/latest", ""), 200, "application/json")
	if latest.Timestamp != rs[len(rs)-40].Time.Format("2006-01-02T15:04:05.000Z") {
		t.Errorf("latest = %+v, want the last minute's reading", latest)
	}
}
