package telemetry

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/citylink/citylink/internal/backoff"
)

// batchWriter is the one DynamoDB call the store makes.
type batchWriter interface {
	BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error)
}

// maxBatchWrite is DynamoDB's BatchWriteItem limit of items per call.
const maxBatchWrite = 25

// ErrRejectedByTable is why a reading failed when DynamoDB refused its item
// as invalid. Writing it again cannot succeed, so the store handler drops
// it with a log line instead of having Lambda retry its batch.
var ErrRejectedByTable = errors.New("item rejected by the table")

// ErrUnprocessed is why a reading failed when DynamoDB kept returning it in
// UnprocessedItems until the store's attempts ran out.
var ErrUnprocessed = errors.New("still unprocessed after retries")

// StoreConfig configures a Store. Zero fields take the defaults noted.
type StoreConfig struct {
	// Table is the SensorData table's name.
	Table string
	// TTL is how long a reading is kept after it was taken; zero writes no
	// expires_at attribute.
	TTL time.Duration
	// Concurrency bounds BatchWriteItem calls in flight (default 4).
	Concurrency int
	// MaxAttempts bounds calls for one group of 25 while DynamoDB returns
	// UnprocessedItems (default 8).
	MaxAttempts int
	// Backoff spaces those attempts (default DefaultBackoff()).
	Backoff backoff.Policy
	// Now returns the current time, against which TTL is measured (default
	// time.Now).
	Now func() time.Time
}

// Store writes readings to the SensorData table.
type Store struct {
	client batchWriter
	cfg    StoreConfig
}

// NewStore returns a Store writing through client, a *dynamodb.Client.
func NewStore(client batchWriter, cfg StoreConfig) *Store {
	cfg.Concurrency = cmp.Or(cfg.Concurrency, 4)
	cfg.MaxAttempts = cmp.Or(cfg.MaxAttempts, 8)
	if cfg.Backoff == (backoff.Policy{}) {
		cfg.Backoff = DefaultBackoff()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Store{client: client, cfg: cfg}
}

// PutResult says what became of the readings given to Put.
type PutResult struct {
	// Written counts distinct keys DynamoDB accepted.
	Written int
	// Duplicates counts readings dropped because a later one in the same
	// call had the same key.
	Duplicates int
	// Expired are the keys of readings not written because they were
	// already past the TTL: DynamoDB would delete them at once, so the
	// store never claims to keep them.
	Expired []Key
	// Retries counts BatchWriteItem calls made again for UnprocessedItems.
	Retries int
	// Failed maps each key that was not written to why.
	Failed map[Key]error
}

// Put writes readings in groups of 25 with bounded concurrency. Readings
// sharing a key are written once, the last one winning (DynamoDB rejects a
// whole BatchWriteItem that names a key twice). UnprocessedItems are retried
// with jittered backoff. A key's failure never fails the others: Put reports
// it in Failed and returns an error only for a caller mistake.
func (s *Store) Put(ctx context.Context, readings []Reading) (PutResult, error) {
	if s.cfg.Table == "" {
		return PutResult{}, errors.New("store has no table name")
	}
	res := PutResult{Failed: map[Key]error{}}
	index := make(map[Key]int, len(readings))
	var unique []Reading
	now := s.cfg.Now()
	for _, r := range readings {
		k := r.Key()
		if s.cfg.TTL > 0 && !r.Time.Add(s.cfg.TTL).After(now) {
			res.Expired = append(res.Expired, k)
			continue
		}
		if i, ok := index[k]; ok {
			unique[i] = r
			res.Duplicates++
			continue
		}
		index[k] = len(unique)
		unique = append(unique, r)
	}

	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, s.cfg.Concurrency)
	for start := 0; start < len(unique); start += maxBatchWrite {
		group := unique[start:min(start+maxBatchWrite, len(unique))]
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			retries, failed := s.writeGroup(ctx, group)
			mu.Lock()
			defer mu.Unlock()
			res.Retries += retries
			for k, err := range failed {
				res.Failed[k] = err
			}
		})
	}
	wg.Wait()
	res.Written = len(unique) - len(res.Failed)
	return res, nil
}

// writeGroup writes at most 25 readings with distinct keys, retrying what
// DynamoDB leaves unprocessed, and returns the keys it could not write.
func (s *Store) writeGroup(ctx context.Context, group []Reading) (retries int, failed map[Key]error) {
	var expiresAt time.Time
	reqs := make([]types.WriteRequest, len(group))
	for i, r := range group {
		if s.cfg.TTL > 0 {
			expiresAt = r.Time.Add(s.cfg.TTL)
		}
		reqs[i] = types.WriteRequest{PutRequest: &types.PutRequest{Item: item(r, expiresAt)}}
	}
	return s.writeRequests(ctx, group, reqs)
}

// writeRequests sends reqs, retrying what DynamoDB leaves unprocessed. When
// DynamoDB rejects the call as invalid it halves the requests until the
// item at fault is alone, so one bad item costs only itself.
func (s *Store) writeRequests(ctx context.Context, group []Reading, reqs []types.WriteRequest) (retries int, failed map[Key]error) {
	for attempt := 0; ; attempt++ {
		out, err := s.client.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{
			RequestItems: map[string][]types.WriteRequest{s.cfg.Table: reqs},
		})
		var apiErr smithy.APIError
		if errors.As(err, &apiErr) && apiErr.ErrorCode() == "ValidationException" {
			if len(reqs) == 1 {
				return retries, failAll(group, reqs, fmt.Errorf("%w: %w", ErrRejectedByTable, err))
			}
			half := len(reqs) / 2
			r1, f1 := s.writeRequests(ctx, group, reqs[:half])
			r2, f2 := s.writeRequests(ctx, group, reqs[half:])
			maps.Copy(f1, f2)
			return retries + r1 + r2, f1
		}
		if err != nil {
			// The SDK's retryer has already retried throttling and 5xx.
			return retries, failAll(group, reqs, fmt.Errorf("batch write: %w", err))
		}
		reqs = out.UnprocessedItems[s.cfg.Table]
		if len(reqs) == 0 {
			return retries, map[Key]error{}
		}
		if attempt+1 >= s.cfg.MaxAttempts {
			return retries, failAll(group, reqs, fmt.Errorf("%d attempts: %w", attempt+1, ErrUnprocessed))
		}
		if err := s.cfg.Backoff.Wait(ctx, attempt+1); err != nil {
			return retries, failAll(group, reqs, fmt.Errorf("waiting to retry unprocessed items: %w", err))
		}
		retries++
	}
}

// failAll marks the keys of reqs failed with err. Should DynamoDB hand back
// a request the store cannot read a key from, every key of the group is
// marked failed: a reading is never reported written without proof.
func failAll(group []Reading, reqs []types.WriteRequest, err error) map[Key]error {
	failed := make(map[Key]error, len(reqs))
	for _, r := range reqs {
		var k Key
		var kerr error
		if r.PutRequest == nil {
			kerr = errors.New("unprocessed request is not a put")
		} else {
			k, kerr = keyFromItem(r.PutRequest.Item)
		}
		if kerr != nil {
			for _, g := range group {
				failed[g.Key()] = err
			}
			return failed
		}
		failed[k] = err
	}
	return failed
}
