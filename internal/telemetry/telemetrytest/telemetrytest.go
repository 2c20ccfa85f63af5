// Package telemetrytest is the test kit of the telemetry packages: one set
// of AWS stand-ins per test binary, a fresh stream, table or bucket in it
// per test, a fixed clock, generated readings, a DynamoDB decorator that
// plays throttling, and readers of what the handlers wrote. Only tests
// import it.
package telemetrytest

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/citylink/citylink/internal/awstest"
	"github.com/citylink/citylink/internal/backoff"
	"github.com/citylink/citylink/internal/telemetry"
	"github.com/citylink/citylink/internal/telemetry/telemetrydev"
)

// The stand-ins are started once per test binary, on first use, and every
// test makes its own table, stream and bucket in them.
var (
	stackOnce sync.Once
	stackVal  *awstest.Stack
	stackErr  error
	nameSeq   atomic.Int64
)

// Main runs the tests of m and then stops the shared stand-ins; a
// package's TestMain calls os.Exit(telemetrytest.Main(m)).
func Main(m *testing.M) int {
	code := m.Run()
	if stackVal != nil {
		stackVal.Close()
	}
	return code
}

// StandIns returns the test binary's stand-ins, starting them on first use.
// A missing node or node_modules fails the test with the command that fixes it.
func StandIns(tb testing.TB) *awstest.Stack {
	tb.Helper()
	stackOnce.Do(func() {
		stackVal, stackErr = awstest.Start(context.Background(), awstest.ModuleDir())
	})
	if stackErr != nil {
		tb.Fatalf("starting aws stand-ins: %v", stackErr)
	}
	tb.Cleanup(func() {
		if tb.Failed() {
			if err := stackVal.Health(); err != nil {
				tb.Log(err)
			}
		}
	})
	return stackVal
}

// UniqueName returns prefix with a suffix unique in this machine's tests.
func UniqueName(prefix string) string {
	return fmt.Sprintf("%s-%d-%d", prefix, os.Getpid(), nameSeq.Add(1))
}

// NewTable creates a SensorData table and returns once it is ACTIVE.
func NewTable(tb testing.TB, s *awstest.Stack) string {
	tb.Helper()
	name := UniqueName("sensordata")
	if err := telemetrydev.CreateTable(context.Background(), s.DynamoDB, name); err != nil {
		tb.Fatal(err)
	}
	return name
}

// NewBucket creates an empty bucket.
func NewBucket(tb testing.TB, s *awstest.Stack) string {
	tb.Helper()
	name := strings.ToLower(UniqueName("archive"))
	if err := awstest.CreateBucket(context.Background(), s.S3, name); err != nil {
		tb.Fatal(err)
	}
	return name
}

// NewStream creates a stream of shards shards and returns once it is ACTIVE.
func NewStream(tb testing.TB, s *awstest.Stack, shards int32) string {
	tb.Helper()
	name := UniqueName("telemetry")
	if err := awstest.CreateStream(context.Background(), s.Kinesis, name, shards); err != nil {
		tb.Fatal(err)
	}
	return name
}

// Logger writes to the test's log, so a failing test shows what the code
// under test logged.
func Logger(tb testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tbWriter{tb}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tbWriter struct{ tb testing.TB }

func (w tbWriter) Write(p []byte) (int, error) {
	w.tb.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// QuickBackoff keeps retries in tests short; tests never depend on its timing.
var QuickBackoff = backoff.Policy{Base: time.Millisecond, Max: 5 * time.Millisecond}

// FixedNow is the tests' present.
var FixedNow = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

// Decoder returns a decoder whose clock stands at FixedNow.
func Decoder() telemetry.Decoder {
	return telemetry.Decoder{Now: func() time.Time { return FixedNow }}
}

// Readings returns perSensor readings a minute apart from start for each of
// sensors sensors SL-000000, SL-000001, …, minute by minute.
func Readings(sensors, perSensor int, start time.Time) []telemetry.Reading {
	var rs []telemetry.Reading
	for i := range perSensor {
		for s := range sensors {
			rs = append(rs, telemetry.Reading{
				SensorID: fmt.Sprintf("SL-%06d", s), Time: start.Add(time.Duration(i) * time.Minute),
				Value: float64(s*1000 + i), Unit: "lx", Metric: "illuminance",
			})
		}
	}
	return rs
}

// LoadKinesisEvent reads a Kinesis event from a JSON file, refusing fields
// the event type does not have.
func LoadKinesisEvent(tb testing.TB, path string) events.KinesisEvent {
	tb.Helper()
	var ev events.KinesisEvent
	LoadJSON(tb, path, &ev)
	return ev
}

// LoadJSON decodes the JSON file at path into v, refusing unknown fields.
func LoadJSON(tb testing.TB, path string, v any) {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		tb.Fatalf("decoding %s: %v", path, err)
	}
}

// Item is a raw SensorData item.
type Item = map[string]types.AttributeValue

// ScanTable returns every item in the table by its reading's key.
func ScanTable(tb testing.TB, c *dynamodb.Client, table string) map[telemetry.Key]Item {
	tb.Helper()
	got := map[telemetry.Key]Item{}
	p := dynamodb.NewScanPaginator(c, &dynamodb.ScanInput{TableName: &table})
	for p.HasMorePages() {
		out, err := p.NextPage(context.Background())
		if err != nil {
			tb.Fatalf("scanning %s: %v", table, err)
		}
		for _, it := range out.Items {
			ms, err := strconv.ParseInt(NumAttr(it, "ts"), 10, 64)
			if err != nil {
				tb.Fatalf("item without ts: %v", it)
			}
			got[telemetry.Key{SensorID: StrAttr(it, "sensor_id"), Millis: ms}] = it
		}
	}
	return got
}

// NumAttr returns the number attribute name of it, or "" if it has none.
func NumAttr(it Item, name string) string {
	if n, ok := it[name].(*types.AttributeValueMemberN); ok {
		return n.Value
	}
	return ""
}

// StrAttr returns the string attribute name of it, or "" if it has none.
func StrAttr(it Item, name string) string {
	if s, ok := it[name].(*types.AttributeValueMemberS); ok {
		return s.Value
	}
	return ""
}

// JSONLines decodes a stream of JSON objects, such as the EMF lines a
// telemetry.Metrics wrote or an archive object's lines.
func JSONLines(tb testing.TB, r io.Reader) []map[string]any {
	tb.Helper()
	var lines []map[string]any
	dec := json.NewDecoder(r)
	for {
		var m map[string]any
		if err := dec.Decode(&m); err == io.EOF {
			return lines
		} else if err != nil {
			tb.Fatalf("not JSON lines: %v", err)
		}
		lines = append(lines, m)
	}
}

// GetNDJSON reads a gzip'd NDJSON object into one map per line.
func GetNDJSON(tb testing.TB, s *awstest.Stack, bucket, key string) []map[string]any {
	tb.Helper()
	obj, err := s.S3.GetObject(context.Background(), &s3.GetObjectInput{Bucket: &bucket, Key: &key})
	if err != nil {
		tb.Fatalf("get %s: %v", key, err)
	}
	defer obj.Body.Close()
	raw, err := io.ReadAll(obj.Body)
	if err != nil {
		tb.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		tb.Fatalf("%s is not gzip: %v", key, err)
	}
	return JSONLines(tb, zr)
}

// ListKeys returns every key in bucket.
func ListKeys(tb testing.TB, s *awstest.Stack, bucket string) []string {
	tb.Helper()
	var keys []string
	p := s3.NewListObjectsV2Paginator(s.S3, &s3.ListObjectsV2Input{Bucket: &bucket})
	for p.HasMorePages() {
		out, err := p.NextPage(context.Background())
		if err != nil {
			tb.Fatalf("listing %s: %v", bucket, err)
		}
		for _, o := range out.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
	}
	return keys
}

// UnprocessingWriter decorates the real DynamoDB client: for the calls it
// is told to, it sends only part of the request on and hands the rest back
// as UnprocessedItems, as DynamoDB does under throttling. Everything it
// sends is really written by dynalite.
type UnprocessingWriter struct {
	*dynamodb.Client
	// Hold decides how many requests of call n (from 0) to hand back.
	Hold func(call int, reqs []types.WriteRequest) int

	mu    sync.Mutex
	calls int
}

// Calls returns how many BatchWriteItem calls were made.
func (w *UnprocessingWriter) Calls() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.calls
}

// BatchWriteItem writes part of in and hands the rest back.
func (w *UnprocessingWriter) BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
	w.mu.Lock()
	call := w.calls
	w.calls++
	w.mu.Unlock()
	send := map[string][]types.WriteRequest{}
	held := map[string][]types.WriteRequest{}
	for table, reqs := range in.RequestItems {
		n := min(w.Hold(call, reqs), len(reqs))
		send[table] = reqs[:len(reqs)-n]
		if n > 0 {
			held[table] = reqs[len(reqs)-n:]
		}
		if len(send[table]) == 0 {
			delete(send, table)
		}
	}
	out := &dynamodb.BatchWriteItemOutput{UnprocessedItems: held}
	if len(send) > 0 {
		real, err := w.Client.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: send}, opts...)
		if err != nil {
			return nil, err
		}
		for table, reqs := range real.UnprocessedItems {
			out.UnprocessedItems[table] = append(out.UnprocessedItems[table], reqs...)
		}
	}
	return out, nil
}

// Invoke runs handler the way the Lambda runtime does: the event as JSON
// bytes in, the response as JSON bytes out into resp.
func Invoke(tb testing.TB, handler any, ev any, resp any) {
	tb.Helper()
	payload, err := json.Marshal(ev)
	if err != nil {
		tb.Fatal(err)
	}
	out, err := lambda.NewHandler(handler).Invoke(context.Background(), payload)
	if err != nil {
		tb.Fatalf("invoke: %v", err)
	}
	if err := json.Unmarshal(out, resp); err != nil {
		tb.Fatalf("response %s: %v", out, err)
	}
}
