package telemetrydev

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/citylink/citylink/internal/backoff"
	"github.com/citylink/citylink/internal/telemetry"
)

// recordsPutter is the one Kinesis call the producer makes.
type recordsPutter interface {
	PutRecords(ctx context.Context, in *kinesis.PutRecordsInput, optFns ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error)
}

// Kinesis PutRecords limits: 500 records and 5 MiB a call.
const (
	maxPutRecords     = 500
	maxPutRecordsSize = 5 << 20
)

// ProducerConfig configures a Producer. Zero fields take the defaults noted.
type ProducerConfig struct {
	// Stream is the Kinesis stream's name.
	Stream string
	// MaxAttempts bounds PutRecords calls for one chunk while some of its
	// records fail (default 8).
	MaxAttempts int
	// Backoff spaces those attempts (default telemetry.DefaultBackoff()).
	Backoff backoff.Policy
	// Concurrency bounds PutRecords calls in flight (default 4). Readings
	// carry their own timestamps, so no order across calls is needed.
	Concurrency int
}

// Producer is the device-side writer: it puts readings to the stream, the
// partition key being the sensor id so that a sensor's readings stay in order
// on one shard. It is for gateways, `citylink dev` and tests.
type Producer struct {
	client recordsPutter
	cfg    ProducerConfig
}

// NewProducer returns a Producer writing through client, a *kinesis.Client.
func NewProducer(client recordsPutter, cfg ProducerConfig) *Producer {
	cfg.MaxAttempts = cmp.Or(cfg.MaxAttempts, 8)
	cfg.Concurrency = cmp.Or(cfg.Concurrency, 4)
	if cfg.Backoff == (backoff.Policy{}) {
		cfg.Backoff = telemetry.DefaultBackoff()
	}
	return &Producer{client: client, cfg: cfg}
}

// PutError reports readings that were not put after every attempt.
type PutError struct {
	// Failed are the indexes, into the slice given to Put, of readings not put.
	Failed []int
	// Last is the last error code Kinesis gave, or the call's error.
	Last error
}

func (e *PutError) Error() string {
	return fmt.Sprintf("%d readings not put: %v", len(e.Failed), e.Last)
}

func (e *PutError) Unwrap() error { return e.Last }

// Put sends readings in PutRecords calls of at most 500 records and 5 MiB,
// retrying with backoff the records Kinesis reports failed (throttled shards
// fail records one by one while the call succeeds). It returns the number
// of retry calls made, and a *PutError naming any readings never put.
func (p *Producer) Put(ctx context.Context, readings []telemetry.Reading) (retries int, err error) {
	all := make([]types.PutRecordsRequestEntry, len(readings))
	for i, r := range readings {
		data, err := r.MarshalJSON()
		if err != nil {
			return 0, err
		}
		all[i] = types.PutRecordsRequestEntry{Data: data, PartitionKey: aws.String(r.SensorID)}
	}
	var (
		mu     sync.Mutex
		wg     sync.WaitGroup
		failed []int
		last   error
		sem    = make(chan struct{}, p.cfg.Concurrency)
	)
	for start := 0; start < len(all); {
		// Kinesis counts the data and the partition key against 5 MiB.
		end, size := start, 0
		for end < len(all) && end-start < maxPutRecords {
			n := len(all[end].Data) + len(*all[end].PartitionKey)
			if end > start && size+n > maxPutRecordsSize {
				break
			}
			size += n
			end++
		}
		idx := make([]int, end-start)
		for j := range idx {
			idx[j] = start + j
		}
		chunk := all[start:end]
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			r, f, l := p.putChunk(ctx, chunk, idx)
			mu.Lock()
			defer mu.Unlock()
			retries += r
			failed = append(failed, f...)
			if l != nil {
				last = l
			}
		})
		start = end
	}
	wg.Wait()
	if len(failed) > 0 {
		slices.Sort(failed)
		return retries, &PutError{Failed: failed, Last: last}
	}
	return retries, nil
}

func (p *Producer) putChunk(ctx context.Context, entries []types.PutRecordsRequestEntry, idx []int) (retries int, failed []int, last error) {
	for attempt := 0; ; attempt++ {
		out, err := p.client.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String(p.cfg.Stream), Records: entries})
		var nextEntries []types.PutRecordsRequestEntry
		var nextIdx []int
		switch {
		case err != nil:
			last = fmt.Errorf("put records: %w", err)
			nextEntries, nextIdx = entries, idx
		case len(out.Records) != len(entries):
			return retries, idx, fmt.Errorf("put records: %d results for %d records", len(out.Records), len(entries))
		default:
			for j, res := range out.Records {
				if res.ErrorCode != nil {
					last = errors.New(aws.ToString(res.ErrorCode) + ": " + aws.ToString(res.ErrorMessage))
					nextEntries = append(nextEntries, entries[j])
					nextIdx = append(nextIdx, idx[j])
				}
			}
		}
		if len(nextEntries) == 0 {
			return retries, nil, nil
		}
		entries, idx = nextEntries, nextIdx
		if attempt+1 >= p.cfg.MaxAttempts {
			return retries, idx, last
		}
		if werr := p.cfg.Backoff.Wait(ctx, attempt+1); werr != nil {
			return retries, idx, fmt.Errorf("waiting to retry: %w", werr)
		}
		retries++
	}
}
