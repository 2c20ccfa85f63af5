package telemetrydev

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go"

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
// Give it a client whose SDK retries are off (aws.NopRetryer): the producer
// retries by itself, and it must see every attempt to tell readings that
// were not put from readings that may have been (see PutError).
func NewProducer(client recordsPutter, cfg ProducerConfig) *Producer {
	cfg.MaxAttempts = cmp.Or(cfg.MaxAttempts, 8)
	cfg.Concurrency = cmp.Or(cfg.Concurrency, 4)
	if cfg.Backoff == (backoff.Policy{}) {
		cfg.Backoff = telemetry.DefaultBackoff()
	}
	return &Producer{client: client, cfg: cfg}
}

// PutError reports readings that were not known to be put after every
// attempt.
type PutError struct {
	// Failed are the indexes, into the slice given to Put, of readings not
	// known to be put, in ascending order.
	Failed []int
	// Unknown are those of Failed that some attempt may have put: a call
	// that failed after it was sent (a timeout, a broken connection) may
	// have reached Kinesis. The rest of Failed were certainly not put:
	// Kinesis refused them, or no call carrying them got a connection.
	Unknown []int
	// Last is the last error code Kinesis gave, or the call's error.
	Last error
}

func (e *PutError) Error() string {
	if len(e.Unknown) > 0 {
		return fmt.Sprintf("%d readings not known to be put (%d maybe put): %v", len(e.Failed), len(e.Unknown), e.Last)
	}
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
		maybe  []int
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
			r, f, m, l := p.putChunk(ctx, chunk, idx)
			mu.Lock()
			defer mu.Unlock()
			retries += r
			failed = append(failed, f...)
			maybe = append(maybe, m...)
			if l != nil {
				last = l
			}
		})
		start = end
	}
	wg.Wait()
	if len(failed) > 0 {
		slices.Sort(failed)
		slices.Sort(maybe)
		return retries, &PutError{Failed: failed, Unknown: maybe, Last: last}
	}
	return retries, nil
}

// putChunk puts one chunk, retrying failed records, and returns the
// indexes never known to be put and those of them some attempt may have put.
func (p *Producer) putChunk(ctx context.Context, entries []types.PutRecordsRequestEntry, idx []int) (retries int, failed, maybe []int, last error) {
	sent := map[int]bool{}
	unknown := func(failed []int) []int {
		var m []int
		for _, i := range failed {
			if sent[i] {
				m = append(m, i)
			}
		}
		return m
	}
	for attempt := 0; ; attempt++ {
		out, err := p.client.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String(p.cfg.Stream), Records: entries})
		var nextEntries []types.PutRecordsRequestEntry
		var nextIdx []int
		switch {
		case err != nil:
			last = fmt.Errorf("put records: %w", err)
			nextEntries, nextIdx = entries, idx
			if !refused(err) {
				for _, i := range idx {
					sent[i] = true
				}
			}
		case len(out.Records) != len(entries):
			for _, i := range idx {
				sent[i] = true
			}
			return retries, idx, unknown(idx), fmt.Errorf("put records: %d results for %d records", len(out.Records), len(entries))
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
			return retries, nil, nil, nil
		}
		entries, idx = nextEntries, nextIdx
		if attempt+1 >= p.cfg.MaxAttempts {
			return retries, idx, unknown(idx), last
		}
		if werr := p.cfg.Backoff.Wait(ctx, attempt+1); werr != nil {
			return retries, idx, unknown(idx), fmt.Errorf("waiting to retry: %w", werr)
		}
		retries++
	}
}

// refused reports whether a failed call certainly put nothing: no
// connection was made, or Kinesis answered with an error. Anything else (a
// timeout while waiting for the answer, a broken connection) may have put
// its records.
func refused(err error) bool {
	var op *net.OpError
	var api smithy.APIError
	return (errors.As(err, &op) && op.Op == "dial") || errors.As(err, &api)
}
