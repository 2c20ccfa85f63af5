package telemetrydev_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/citylink/citylink/internal/telemetry/telemetrydev"
	"github.com/citylink/citylink/internal/telemetry/telemetrytest"
)

// putNumbered puts n records "0".."n-1" to a one-shard stream and returns
// their sequence numbers.
func putNumbered(t *testing.T, c *kinesis.Client, stream string, n int) []string {
	t.Helper()
	seqs := make([]string, n)
	for i := range n {
		out, err := c.PutRecord(context.Background(), &kinesis.PutRecordInput{
			StreamName: aws.String(stream), PartitionKey: aws.String("k"), Data: []byte(fmt.Sprint(i)),
		})
		if err != nil {
			t.Fatal(err)
		}
		seqs[i] = aws.ToString(out.SequenceNumber)
	}
	return seqs
}

// deliveryLog records each batch a handler was given as record numbers.
type deliveryLog struct {
	batches [][]int
	respond func(call int, nums []int, ev events.KinesisEvent) (events.KinesisEventResponse, error)
}

func (d *deliveryLog) handle(_ context.Context, ev events.KinesisEvent) (events.KinesisEventResponse, error) {
	var nums []int
	for _, r := range ev.Records {
		var n int
		fmt.Sscan(string(r.Kinesis.Data), &n)
		nums = append(nums, n)
	}
	d.batches = append(d.batches, nums)
	return d.respond(len(d.batches)-1, nums, ev)
}

func fail(ev events.KinesisEvent, idx ...int) events.KinesisEventResponse {
	var resp events.KinesisEventResponse
	for _, i := range idx {
		resp.BatchItemFailures = append(resp.BatchItemFailures, events.KinesisBatchItemFailure{ItemIdentifier: ev.Records[i].Kinesis.SequenceNumber})
	}
	return resp
}

func seqRange(from, to int) []int {
	var r []int
	for i := from; i < to; i++ {
		r = append(r, i)
	}
	return r
}

func TestPollerHonoursBatchItemFailures(t *testing.T) {
	t.Parallel()
	s := telemetrytest.StandIns(t)
	tests := []struct {
		name    string
		respond func(call int, nums []int, ev events.KinesisEvent) (events.KinesisEventResponse, error)
		want    [][]int
	}{
		{
			name: "redeliver from the lowest failure",
			respond: func(call int, nums []int, ev events.KinesisEvent) (events.KinesisEventResponse, error) {
				if call == 0 {
					return fail(ev, 7, 4), nil // unordered on purpose
				}
				return events.KinesisEventResponse{}, nil
			},
			want: [][]int{seqRange(0, 10), seqRange(4, 14), seqRange(14, 24), seqRange(24, 25)},
		},
		{
			name: "handler error redelivers the whole batch",
			respond: func(call int, nums []int, ev events.KinesisEvent) (events.KinesisEventResponse, error) {
				if call == 1 {
					return events.KinesisEventResponse{}, errors.New("boom")
				}
				return events.KinesisEventResponse{}, nil
			},
			want: [][]int{seqRange(0, 10), seqRange(10, 20), seqRange(10, 20), seqRange(20, 25)},
		},
		{
			name: "unknown item identifier fails the whole batch",
			respond: func(call int, nums []int, ev events.KinesisEvent) (events.KinesisEventResponse, error) {
				if call == 0 {
					return events.KinesisEventResponse{BatchItemFailures: []events.KinesisBatchItemFailure{{ItemIdentifier: "1"}}}, nil
				}
				return events.KinesisEventResponse{}, nil
			},
			want: [][]int{seqRange(0, 10), seqRange(0, 10), seqRange(10, 20), seqRange(20, 25)},
		},
		{
			name: "poison batch discarded after max retries",
			respond: func(call int, nums []int, ev events.KinesisEvent) (events.KinesisEventResponse, error) {
				if i := slices.Index(nums, 12); i >= 0 {
					return fail(ev, i), nil
				}
				return events.KinesisEventResponse{}, nil
			},
			// First delivery plus MaxRetries (2) more fail at 12, then the batch goes.
			want: [][]int{seqRange(0, 10), seqRange(10, 20), seqRange(12, 22), seqRange(12, 22), seqRange(22, 25)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			stream := telemetrytest.NewStream(t, s, 1)
			putNumbered(t, s.Kinesis, stream, 25)
			d := &deliveryLog{respond: tt.respond}
			p := telemetrydev.NewPoller(s.Kinesis, d.handle, telemetrydev.PollerConfig{Stream: stream, BatchSize: 10, MaxRetries: 2, Backoff: telemetrytest.QuickBackoff}, telemetrytest.Logger(t))
			n, err := p.Poll(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if n != 25 {
				t.Errorf("handled = %d, want 25", n)
			}
			if fmt.Sprint(d.batches) != fmt.Sprint(tt.want) {
				t.Fatalf("deliveries = %v\nwant         %v", d.batches, tt.want)
			}
			// Caught up: a second poll delivers nothing.
			if n, err := p.Poll(context.Background()); err != nil || n != 0 || len(d.batches) != len(tt.want) {
				t.Fatalf("second poll handled %d (%v), want nothing", n, err)
			}
		})
	}
}

func TestPollerEventsAreLambdaShaped(t *testing.T) {
	t.Parallel()
	s := telemetrytest.StandIns(t)
	stream := telemetrytest.NewStream(t, s, 1)
	seqs := putNumbered(t, s.Kinesis, stream, 3)
	var got events.KinesisEvent
	p := telemetrydev.NewPoller(s.Kinesis, func(_ context.Context, ev events.KinesisEvent) (events.KinesisEventResponse, error) {
		got = ev
		return events.KinesisEventResponse{}, nil
	}, telemetrydev.PollerConfig{Stream: stream, Region: "us-east-2", Account: "123456789012"}, telemetrytest.Logger(t))
	if _, err := p.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(got.Records) != 3 {
		t.Fatalf("records = %d, want 3", len(got.Records))
	}
	r := got.Records[1]
	if r.EventID != "shardId-000000000000:"+seqs[1] || r.EventSource != "aws:kinesis" || r.EventName != "aws:kinesis:record" ||
		r.EventSourceArn != "arn:aws:kinesis:us-east-2:123456789012:stream/"+stream || r.AwsRegion != "us-east-2" ||
		r.Kinesis.SequenceNumber != seqs[1] || r.Kinesis.PartitionKey != "k" || string(r.Kinesis.Data) != "1" ||
		r.Kinesis.KinesisSchemaVersion != "1.0" || r.Kinesis.ApproximateArrivalTimestamp.IsZero() {
		t.Fatalf("record = %+v", r)
	}
}

func TestPollerRunDeliversUntilCancelled(t *testing.T) {
	t.Parallel()
	s := telemetrytest.StandIns(t)
	stream := telemetrytest.NewStream(t, s, 2)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	var c collector
	done := make(chan struct{})
	want := 30
	handler := func(ctx context.Context, ev events.KinesisEvent) (events.KinesisEventResponse, error) {
		resp, err := c.handle(ctx, ev)
		c.mu.Lock()
		if c.records >= want {
			select {
			case <-done:
			default:
				close(done)
			}
		}
		c.mu.Unlock()
		return resp, err
	}
	p := telemetrydev.NewPoller(s.Kinesis, handler, telemetrydev.PollerConfig{Stream: stream, Interval: 5 * time.Millisecond}, telemetrytest.Logger(t))
	runErr := make(chan error, 1)
	go func() { runErr <- p.Run(ctx) }()

	// Records put while Run is already polling are picked up.
	producer := telemetrydev.NewProducer(s.Kinesis, telemetrydev.ProducerConfig{Stream: stream})
	if _, err := producer.Put(ctx, telemetrytest.Readings(3, 10, telemetrytest.FixedNow.Add(-time.Hour))); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not deliver the records within 30s")
	}
	cancel()
	if err := <-runErr; err != nil {
		t.Fatalf("Run = %v, want nil after cancel", err)
	}
	if len(c.readings) != want {
		t.Fatalf("delivered %d readings, want %d", len(c.readings), want)
	}
}

// lastReadReader answers like the last read of a closed shard: records,
// and no next iterator. It decorates the real client.
type lastReadReader struct{ *kinesis.Client }

func (r lastReadReader) GetRecords(ctx context.Context, in *kinesis.GetRecordsInput, opts ...func(*kinesis.Options)) (*kinesis.GetRecordsOutput, error) {
	out, err := r.Client.GetRecords(ctx, in, opts...)
	if err == nil && len(out.Records) > 0 {
		out.NextShardIterator = nil
	}
	return out, err
}

// TestPollerRedeliversAClosedShardsLastBatch fails the batch that came with
// a closed shard's last read: it must be delivered again from the failed
// record, not forgotten because the shard has no next iterator.
func TestPollerRedeliversAClosedShardsLastBatch(t *testing.T) {
	t.Parallel()
	s := telemetrytest.StandIns(t)
	stream := telemetrytest.NewStream(t, s, 1)
	putNumbered(t, s.Kinesis, stream, 5)
	d := &deliveryLog{respond: func(call int, nums []int, ev events.KinesisEvent) (events.KinesisEventResponse, error) {
		if call == 0 {
			return fail(ev, 2), nil
		}
		return events.KinesisEventResponse{}, nil
	}}
	p := telemetrydev.NewPoller(lastReadReader{s.Kinesis}, d.handle, telemetrydev.PollerConfig{Stream: stream, BatchSize: 10, MaxRetries: 2, Backoff: telemetrytest.QuickBackoff}, telemetrytest.Logger(t))
	if _, err := p.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	if want := [][]int{seqRange(0, 5), seqRange(2, 5)}; fmt.Sprint(d.batches) != fmt.Sprint(want) {
		t.Fatalf("deliveries = %v, want %v", d.batches, want)
	}
}
