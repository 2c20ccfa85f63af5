package telemetrydev

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/citylink/citylink/internal/backoff"
	"github.com/citylink/citylink/internal/telemetry"
)

// streamReader is the part of Kinesis the poller reads with.
type streamReader interface {
	ListShards(ctx context.Context, in *kinesis.ListShardsInput, optFns ...func(*kinesis.Options)) (*kinesis.ListShardsOutput, error)
	GetShardIterator(ctx context.Context, in *kinesis.GetShardIteratorInput, optFns ...func(*kinesis.Options)) (*kinesis.GetShardIteratorOutput, error)
	GetRecords(ctx context.Context, in *kinesis.GetRecordsInput, optFns ...func(*kinesis.Options)) (*kinesis.GetRecordsOutput, error)
}

// KinesisHandler is a Lambda handler for Kinesis events that reports
// partial batch failures, such as StoreHandler.Handle.
type KinesisHandler func(ctx context.Context, ev events.KinesisEvent) (events.KinesisEventResponse, error)

// PollerConfig configures a Poller. Zero fields take the defaults noted.
type PollerConfig struct {
	// Stream is the Kinesis stream's name.
	Stream string
	// Region and Account fill the events' awsRegion and eventSourceARN
	// (defaults us-east-1 and 000000000000).
	Region, Account string
	// BatchSize is the most records per event (default 100, like Lambda).
	BatchSize int32
	// MaxRetries is how often a failing batch is delivered again before it
	// is discarded, like the mapping's MaximumRetryAttempts (default 10).
	MaxRetries int
	// Backoff spaces those deliveries (default telemetry.DefaultBackoff()).
	Backoff backoff.Policy
	// Interval is how long Run waits after finding every shard caught up
	// (default 250ms).
	Interval time.Duration
}

// Poller stands in for Lambda's Kinesis event source mapping in `citylink
// dev` and end-to-end tests: it reads each shard from its start with
// GetShardIterator and GetRecords, hands batches to a handler as
// events.KinesisEvent, and honours batchItemFailures as Lambda does by
// checkpointing before the lowest failed sequence number and delivering
// again from it. The handler is called concurrently for different shards, as
// Lambda does. Poll and Run must not be called concurrently.
type Poller struct {
	client  streamReader
	handler KinesisHandler
	cfg     PollerConfig
	logger  *slog.Logger
	shards  map[string]*shardState
}

type shardState struct {
	// checkpoint is the last sequence number the handler finished; empty
	// means none yet, so reading starts at TRIM_HORIZON.
	checkpoint string
	iterator   *string
	closed     bool
	// failing counts consecutive deliveries that failed at failedSeq.
	failing   int
	failedSeq string
}

// NewPoller returns a Poller feeding handler from the stream in cfg.
func NewPoller(client streamReader, handler KinesisHandler, cfg PollerConfig, logger *slog.Logger) *Poller {
	cfg.Region = cmp.Or(cfg.Region, "us-east-1")
	cfg.Account = cmp.Or(cfg.Account, "000000000000")
	cfg.BatchSize = cmp.Or(cfg.BatchSize, 100)
	cfg.MaxRetries = cmp.Or(cfg.MaxRetries, 10)
	cfg.Interval = cmp.Or(cfg.Interval, 250*time.Millisecond)
	if cfg.Backoff == (backoff.Policy{}) {
		cfg.Backoff = telemetry.DefaultBackoff()
	}
	return &Poller{client: client, handler: handler, cfg: cfg, logger: logger, shards: map[string]*shardState{}}
}

// Run polls until ctx is done, then returns nil; it returns early only on
// an error from Kinesis.
func (p *Poller) Run(ctx context.Context) error {
	for {
		if _, err := p.Poll(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if backoff.Sleep(ctx, p.cfg.Interval) != nil {
			return nil
		}
	}
}

// Poll delivers every record now in the stream that has not been handled
// yet, and returns when every shard is caught up, with how many records
// were handled for good (delivered and not failed, or discarded).
func (p *Poller) Poll(ctx context.Context) (int, error) {
	var shardIDs []string
	in := &kinesis.ListShardsInput{StreamName: aws.String(p.cfg.Stream)}
	for {
		out, err := p.client.ListShards(ctx, in)
		if err != nil {
			return 0, fmt.Errorf("listing shards: %w", err)
		}
		for _, s := range out.Shards {
			shardIDs = append(shardIDs, aws.ToString(s.ShardId))
		}
		if out.NextToken == nil {
			break
		}
		in = &kinesis.ListShardsInput{NextToken: out.NextToken}
	}
	for _, id := range shardIDs {
		if _, ok := p.shards[id]; !ok {
			p.shards[id] = &shardState{}
		}
	}
	// Like Lambda, one batch per shard is in flight at a time, and shards
	// are handled concurrently.
	var wg sync.WaitGroup
	counts := make([]int, len(shardIDs))
	errs := make([]error, len(shardIDs))
	for i, id := range shardIDs {
		st := p.shards[id]
		wg.Go(func() {
			counts[i], errs[i] = p.pollShard(ctx, id, st)
			if errs[i] != nil {
				errs[i] = fmt.Errorf("shard %s: %w", id, errs[i])
			}
		})
	}
	wg.Wait()
	total := 0
	for _, n := range counts {
		total += n
	}
	return total, errors.Join(errs...)
}

// maxEmptyReads bounds empty GetRecords answers read through in one Poll.
const maxEmptyReads = 10

func (p *Poller) pollShard(ctx context.Context, shardID string, st *shardState) (int, error) {
	handled, empties := 0, 0
	for !st.closed {
		if st.iterator == nil {
			if err := p.resetIterator(ctx, shardID, st); err != nil {
				return handled, err
			}
		}
		out, err := p.client.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: st.iterator, Limit: aws.Int32(p.cfg.BatchSize)})
		var expired *types.ExpiredIteratorException
		if errors.As(err, &expired) {
			st.iterator = nil
			continue
		}
		if err != nil {
			return handled, fmt.Errorf("getting records: %w", err)
		}
		st.iterator = out.NextShardIterator
		if st.iterator == nil {
			st.closed = true
		}
		if len(out.Records) == 0 {
			// Kinesis may answer empty while still behind (a gap in an old
			// shard); read on a little, and leave the rest to the next Poll.
			if aws.ToInt64(out.MillisBehindLatest) > 0 && empties < maxEmptyReads {
				empties++
				continue
			}
			return handled, nil
		}
		empties = 0
		n, err := p.deliver(ctx, shardID, st, out.Records)
		handled += n
		if err != nil {
			return handled, err
		}
	}
	return handled, nil
}

// resetIterator points the shard's iterator just after its checkpoint.
func (p *Poller) resetIterator(ctx context.Context, shardID string, st *shardState) error {
	in := &kinesis.GetShardIteratorInput{StreamName: aws.String(p.cfg.Stream), ShardId: aws.String(shardID), ShardIteratorType: types.ShardIteratorTypeTrimHorizon}
	if st.checkpoint != "" {
		in.ShardIteratorType = types.ShardIteratorTypeAfterSequenceNumber
		in.StartingSequenceNumber = aws.String(st.checkpoint)
	}
	out, err := p.client.GetShardIterator(ctx, in)
	if err != nil {
		return fmt.Errorf("getting shard iterator: %w", err)
	}
	st.iterator = out.ShardIterator
	return nil
}

// deliver hands one batch to the handler and moves the checkpoint past what
// it finished. On a failure it rewinds the iterator so the next read starts
// at the lowest failed record, after a backoff; once MaxRetries deliveries
// have failed at the same record the batch is discarded, as Lambda does.
func (p *Poller) deliver(ctx context.Context, shardID string, st *shardState, recs []types.Record) (int, error) {
	ev := p.event(shardID, recs)
	resp, err := p.handler(ctx, ev)
	lowest := ""
	if err != nil {
		lowest = aws.ToString(recs[0].SequenceNumber)
		p.logger.WarnContext(ctx, "handler failed the batch", "shard", shardID, "error", err)
	} else {
		lowest = lowestFailure(resp, recs)
	}
	if lowest == "" {
		st.checkpoint = aws.ToString(recs[len(recs)-1].SequenceNumber)
		st.failing, st.failedSeq = 0, ""
		return len(recs), nil
	}

	done := 0
	for _, r := range recs {
		if aws.ToString(r.SequenceNumber) == lowest {
			break
		}
		st.checkpoint = aws.ToString(r.SequenceNumber)
		done++
	}
	if lowest == st.failedSeq {
		st.failing++
	} else {
		st.failing, st.failedSeq = 1, lowest
	}
	if st.failing > p.cfg.MaxRetries {
		p.logger.ErrorContext(ctx, "discarding batch after retries", "shard", shardID,
			"sequence_number", lowest, "attempts", st.failing)
		st.checkpoint = aws.ToString(recs[len(recs)-1].SequenceNumber)
		st.failing, st.failedSeq = 0, ""
		return len(recs), nil
	}
	// Read again from the checkpoint; a shard that closed with this read
	// still has the failed records to give.
	st.iterator, st.closed = nil, false
	if err := p.cfg.Backoff.Wait(ctx, st.failing); err != nil {
		return done, err
	}
	return done, nil
}

// lowestFailure returns the lowest failed sequence number in resp, or the
// batch's first one if resp names a record not in the batch (Lambda then
// treats the whole batch as failed), or "" if nothing failed.
func lowestFailure(resp events.KinesisEventResponse, recs []types.Record) string {
	in := make(map[string]bool, len(recs))
	for _, r := range recs {
		in[aws.ToString(r.SequenceNumber)] = true
	}
	lowest := ""
	for _, f := range resp.BatchItemFailures {
		if !in[f.ItemIdentifier] {
			return aws.ToString(recs[0].SequenceNumber)
		}
		if lowest == "" || telemetry.SeqLess(f.ItemIdentifier, lowest) {
			lowest = f.ItemIdentifier
		}
	}
	return lowest
}

func (p *Poller) event(shardID string, recs []types.Record) events.KinesisEvent {
	arn := fmt.Sprintf("arn:aws:kinesis:%s:%s:stream/%s", p.cfg.Region, p.cfg.Account, p.cfg.Stream)
	ev := events.KinesisEvent{Records: make([]events.KinesisEventRecord, len(recs))}
	for i, r := range recs {
		seq := aws.ToString(r.SequenceNumber)
		ev.Records[i] = events.KinesisEventRecord{
			AwsRegion:         p.cfg.Region,
			EventID:           shardID + ":" + seq,
			EventName:         "aws:kinesis:record",
			EventSource:       "aws:kinesis",
			EventSourceArn:    arn,
			EventVersion:      "1.0",
			InvokeIdentityArn: fmt.Sprintf("arn:aws:iam::%s:role/citylink-dev", p.cfg.Account),
			Kinesis: events.KinesisRecord{
				ApproximateArrivalTimestamp: events.SecondsEpochTime{Time: aws.ToTime(r.ApproximateArrivalTimestamp)},
				Data:                        r.Data,
				EncryptionType:              string(r.EncryptionType),
				PartitionKey:                aws.ToString(r.PartitionKey),
				SequenceNumber:              seq,
				KinesisSchemaVersion:        "1.0",
			},
		}
	}
	return ev
}
