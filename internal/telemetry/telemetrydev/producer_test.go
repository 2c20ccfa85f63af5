package telemetrydev_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/citylink/citylink/internal/telemetry"
	"github.com/citylink/citylink/internal/telemetry/telemetrydev"
	"github.com/citylink/citylink/internal/telemetry/telemetrytest"
)

// throttlingPutter decorates the real Kinesis client: on its first call it
// forwards only the even-numbered records and reports the odd ones
// throttled, as a hot shard does; later calls go through whole.
type throttlingPutter struct {
	*kinesis.Client
	mu    sync.Mutex
	calls []int // records per call
}

func (p *throttlingPutter) PutRecords(ctx context.Context, in *kinesis.PutRecordsInput, opts ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error) {
	p.mu.Lock()
	first := len(p.calls) == 0
	p.calls = append(p.calls, len(in.Records))
	p.mu.Unlock()
	if !first {
		return p.Client.PutRecords(ctx, in, opts...)
	}
	var even []types.PutRecordsRequestEntry
	for i := 0; i < len(in.Records); i += 2 {
		even = append(even, in.Records[i])
	}
	real, err := p.Client.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: in.StreamName, Records: even}, opts...)
	if err != nil {
		return nil, err
	}
	out := &kinesis.PutRecordsOutput{Records: make([]types.PutRecordsResultEntry, len(in.Records))}
	for i := range in.Records {
		if i%2 == 0 {
			out.Records[i] = real.Records[i/2]
			continue
		}
		out.FailedRecordCount = aws.Int32(aws.ToInt32(out.FailedRecordCount) + 1)
		out.Records[i] = types.PutRecordsResultEntry{
			ErrorCode:    aws.String("ProvisionedThroughputExceededException"),
			ErrorMessage: aws.String("Rate exceeded for shard shardId-000000000000"),
		}
	}
	return out, nil
}

// collector is a Kinesis handler that keeps every reading it is given.
type collector struct {
	mu       sync.Mutex
	readings map[telemetry.Key]telemetry.Reading
	records  int
}

func (c *collector) handle(_ context.Context, ev events.KinesisEvent) (events.KinesisEventResponse, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.readings == nil {
		c.readings = map[telemetry.Key]telemetry.Reading{}
	}
	for _, rec := range ev.Records {
		c.records++
		if r, err := telemetrytest.Decoder().Decode(rec.Kinesis.Data); err == nil {
			c.readings[r.Key()] = r
		}
	}
	return events.KinesisEventResponse{}, nil
}

func TestProducerPutsInChunksAndRetriesFailedRecords(t *testing.T) {
	t.Parallel()
	s := telemetrytest.StandIns(t)
	stream := telemetrytest.NewStream(t, s, 2)
	putter := &throttlingPutter{Client: s.Kinesis}
	p := telemetrydev.NewProducer(putter, telemetrydev.ProducerConfig{Stream: stream, Concurrency: 1, Backoff: telemetrytest.QuickBackoff})

	rs := telemetrytest.Readings(13, 95, telemetrytest.FixedNow.Add(-2*time.Hour)) // 1,235 readings
	retries, err := p.Put(context.Background(), rs)
	if err != nil {
		t.Fatal(err)
	}
	// 500 (250 throttled), retry of the 250, then 500 and 235.
	if want := []int{500, 250, 500, 235}; len(putter.calls) != len(want) || putter.calls[0] != 500 || putter.calls[1] != 250 || putter.calls[2] != 500 || putter.calls[3] != 235 {
		t.Fatalf("calls = %v, want %v", putter.calls, want)
	}
	if retries != 1 {
		t.Errorf("retries = %d, want 1", retries)
	}

	var c collector
	poller := telemetrydev.NewPoller(s.Kinesis, c.handle, telemetrydev.PollerConfig{Stream: stream, BatchSize: 500}, telemetrytest.Logger(t))
	n, err := poller.Poll(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if n != len(rs) || c.records != len(rs) || len(c.readings) != len(rs) {
		t.Fatalf("stream holds %d records (%d handled, %d distinct), want %d", c.records, n, len(c.readings), len(rs))
	}
	for _, r := range rs {
		if c.readings[r.Key()] != r {
			t.Fatalf("reading %v came back as %v", r, c.readings[r.Key()])
		}
	}
}

func TestProducerReportsRecordsNeverPut(t *testing.T) {
	t.Parallel()
	s := telemetrytest.StandIns(t)
	p := telemetrydev.NewProducer(s.Kinesis, telemetrydev.ProducerConfig{Stream: "no-such-stream", MaxAttempts: 2, Backoff: telemetrytest.QuickBackoff})
	_, err := p.Put(context.Background(), telemetrytest.Readings(3, 1, telemetrytest.FixedNow.Add(-time.Hour)))
	var perr *telemetrydev.PutError
	if !errors.As(err, &perr) || len(perr.Failed) != 3 {
		t.Fatalf("err = %v, want a PutError naming 3 readings", err)
	}
	var rnf *types.ResourceNotFoundException
	if !errors.As(err, &rnf) {
		t.Errorf("err = %v, want it to wrap ResourceNotFoundException", err)
	}
}
