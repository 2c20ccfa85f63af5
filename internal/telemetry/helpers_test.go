package telemetry_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/citylink/citylink/internal/awstest"
	"github.com/citylink/citylink/internal/backoff"
	"github.com/citylink/citylink/internal/telemetry"
)

// The stand-ins are started once per test binary, on first use, and every
// test makes its own table, stream and bucket in them.
var (
	stackOnce sync.Once
	stackVal  *awstest.Stack
	stackErr  error
	nameSeq   atomic.Int64
)

func TestMain(m *testing.M) {
	code := m.Run()
	if stackVal != nil {
		stackVal.Close()
	}
	os.Exit(code)
}

func standIns(tb testing.TB) *awstest.Stack {
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

func uniqueName(prefix string) string {
	return fmt.Sprintf("%s-%d-%d", prefix, os.Getpid(), nameSeq.Add(1))
}

func newTable(tb testing.TB, s *awstest.Stack) string {
	tb.Helper()
	name := uniqueName("sensordata")
	if err := telemetry.CreateTable(context.Background(), s.DynamoDB, name); err != nil {
		tb.Fatal(err)
	}
	return name
}

func newBucket(tb testing.TB, s *awstest.Stack) string {
	tb.Helper()
	name := strings.ToLower(uniqueName("archive"))
	if err := awstest.CreateBucket(context.Background(), s.S3, name); err != nil {
		tb.Fatal(err)
	}
	return name
}

func newStream(tb testing.TB, s *awstest.Stack, shards int32) string {
	tb.Helper()
	name := uniqueName("telemetry")
	if err := awstest.CreateStream(context.Background(), s.Kinesis, name, shards); err != nil {
		tb.Fatal(err)
	}
	return name
}

// testLogger writes to the test's log, so a failing test shows what the
// code under test logged.
func testLogger(tb testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tbWriter{tb}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tbWriter struct{ tb testing.TB }

func (w tbWriter) Write(p []byte) (int, error) {
	w.tb.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// quickBackoff keeps retries in tests short; tests never depend on its timing.
var quickBackoff = backoff.Policy{Base: time.Millisecond, Max: 5 * time.Millisecond}

func loadKinesisEvent(tb testing.TB, name string) events.KinesisEvent {
	tb.Helper()
	var ev events.KinesisEvent
	loadJSON(tb, name, &ev)
	return ev
}

func loadJSON(tb testing.TB, name string, v any) {
	tb.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		tb.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		tb.Fatalf("decoding %s: %v", name, err)
	}
}

// scanTable returns every reading in the table keyed by sensor and time.
func scanTable(tb testing.TB, c *dynamodb.Client, table string) map[telemetry.Key]map[string]types.AttributeValue {
	tb.Helper()
	got := map[telemetry.Key]map[string]types.AttributeValue{}
	p := dynamodb.NewScanPaginator(c, &dynamodb.ScanInput{TableName: &table})
	for p.HasMorePages() {
		out, err := p.NextPage(context.Background())
		if err != nil {
			tb.Fatalf("scanning %s: %v", table, err)
		}
		for _, it := range out.Items {
			id := it["sensor_id"].(*types.AttributeValueMemberS).Value
			var ms int64
			fmt.Sscan(it["ts"].(*types.AttributeValueMemberN).Value, &ms)
			got[telemetry.Key{SensorID: id, Millis: ms}] = it
		}
	}
	return got
}

func numAttr(it map[string]types.AttributeValue, name string) string {
	if n, ok := it[name].(*types.AttributeValueMemberN); ok {
		return n.Value
	}
	return ""
}

// emfLines decodes the EMF lines a Metrics wrote.
func emfLines(tb testing.TB, r io.Reader) []map[string]any {
	tb.Helper()
	var lines []map[string]any
	dec := json.NewDecoder(r)
	for {
		var m map[string]any
		if err := dec.Decode(&m); err == io.EOF {
			return lines
		} else if err != nil {
			tb.Fatalf("metrics output is not JSON lines: %v", err)
		}
		lines = append(lines, m)
	}
}
