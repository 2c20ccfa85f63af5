package telemetrydev_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	kintypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/citylink/citylink/internal/telemetry"
	"github.com/citylink/citylink/internal/telemetry/archive"
	"github.com/citylink/citylink/internal/telemetry/telemetrydev"
	"github.com/citylink/citylink/internal/telemetry/telemetrytest"
)

// TestEndToEnd puts readings, duplicates and poison records to a two-shard
// kinesalite stream, runs the store and archive handlers behind the local
// event source mapping, and finds every good reading in dynalite and in the
// gofakes3 archive, every poison record in quarantine, and the history API
// answering from the table.
func TestEndToEnd(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := telemetrytest.StandIns(t)
	stream, table, bucket := telemetrytest.NewStream(t, s, 2), telemetrytest.NewTable(t, s), telemetrytest.NewBucket(t, s)

	rs := telemetrytest.Readings(40, 30, telemetrytest.FixedNow.Add(-time.Hour)) // 1,200 readings
	producer := telemetrydev.NewProducer(s.Kinesis, telemetrydev.ProducerConfig{Stream: stream, Backoff: telemetrytest.QuickBackoff})
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
	writer := &telemetrytest.UnprocessingWriter{Client: s.DynamoDB, Hold: func(call int, reqs []types.WriteRequest) int {
		if call%5 == 0 {
			return len(reqs) / 3
		}
		return 0
	}}
	var storeMetrics bytes.Buffer
	store := telemetry.NewStoreHandler(telemetrytest.Decoder(),
		telemetry.NewStore(writer, telemetry.StoreConfig{Table: table, TTL: 90 * 24 * time.Hour, Backoff: telemetrytest.QuickBackoff}),
		telemetry.NewMetrics(&storeMetrics, "telemetry-store", nil), telemetrytest.Logger(t))
	arch := archive.NewHandler(telemetrytest.Decoder(), s.S3, bucket, telemetry.NewMetrics(io.Discard, "telemetry-archive", nil), telemetrytest.Logger(t))

	total := len(rs) + len(resent) + len(poison)
	for name, h := range map[string]telemetrydev.KinesisHandler{"store": store.Handle, "archive": arch.Handle} {
		p := telemetrydev.NewPoller(s.Kinesis, h, telemetrydev.PollerConfig{Stream: stream, BatchSize: 100, Backoff: telemetrytest.QuickBackoff}, telemetrytest.Logger(t))
		n, err := p.Poll(ctx)
		if err != nil {
			t.Fatalf("%s poller: %v", name, err)
		}
		if n != total {
			t.Fatalf("%s handled %d records, want %d", name, n, total)
		}
	}

	// The table holds every distinct reading, with the resent value.
	got := telemetrytest.ScanTable(t, s.DynamoDB, table)
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
		if telemetrytest.NumAttr(got[k], "value") != fmt.Sprint(v) {
			t.Fatalf("%v = %s, want %v", k, telemetrytest.NumAttr(got[k], "value"), v)
		}
	}
	retries := 0.0
	for _, m := range telemetrytest.JSONLines(t, &storeMetrics) {
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
	for _, key := range telemetrytest.ListKeys(t, s, bucket) {
		lines := len(telemetrytest.GetNDJSON(t, s, bucket, key))
		switch {
		case strings.HasPrefix(key, archive.ReadingsPrefix+"/dt="):
			readingLines += lines
		case strings.HasPrefix(key, archive.QuarantinePrefix+"/dt="):
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
	rec := httptest.NewRecorder()
	telemetry.NewAPIHandler(telemetry.NewReader(s.DynamoDB, table), telemetrytest.Logger(t)).
		ServeHTTP(rec, httptest.NewRequest("GET", "/sensors/SL-000000/latest", nil))
	var latest struct {
		Timestamp string `json:"timestamp"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &latest); rec.Code != 200 || err != nil {
		t.Fatalf("latest = %d %s", rec.Code, rec.Body)
	}
	if latest.Timestamp != rs[len(rs)-40].Time.Format(telemetry.TimeLayout) {
		t.Errorf("latest = %+v, want the last minute's reading", latest)
	}
}
