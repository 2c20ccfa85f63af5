package work

import (
	"context"
	"errors"
	"time"
)

// RetryableError is the error contract every citylink client meets (arcgis,
// cms, open311, utility): the client, which knows its protocol, says whether
// sending the same request later may succeed. The engine defines it because
// the engine is what acts on it.
type RetryableError interface {
	error
	Retryable() bool
}

// RetryAfterError is met by errors that carry the delay the target asked
// for (an HTTP Retry-After); zero means it asked for none.
type RetryAfterError interface {
	error
	RetryAfter() time.Duration
}

// Result is the outcome of one applied item from what the client call
// returned: Success(ref) when err is nil, and FromError(err) otherwise. A
// per-item sink usually ends with it:
//
//	dev, err := client.Upsert(ctx, d)
//	return work.Result(dev.ID, err)
func Result(ref string, err error) Outcome {
	if err == nil {
		return Success(ref)
	}
	return FromError(err)
}

// FromError turns a failed call into an item's outcome, in this order:
//
//   - nil is a success with no target reference (use Result to give one);
//   - the end of the context (deadline or cancellation) is retryable: the
//     item was cut short, not refused;
//   - an error in the chain that meets RetryableError decides: Retryable()
//     true is a retry after its RetryAfterError delay, if any; false is
//     permanent, and the item is dead at once;
//   - any other error is retryable: network errors (a reset connection, an
//     unexpected EOF) and errors FromError does not know.
//
// The last rule is a choice: an unknown error is more often a transport or
// target hiccup than a verdict on the item, and a retryable item is bounded
// anyway (Config.Tries within a run, Config.MaxAttempts runs in all) before
// it is dead. A workflow that knows better says so before calling FromError:
// a validation or mapping error is Permanent(err) or Skip(reason), and
// not-found and similar conditions are matched with errors.Is against the
// client's sentinels (cms.ErrNotFound, open311.ErrMaybeCreated, ...).
func FromError(err error) Outcome {
	if err == nil {
		return Success("")
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return Retry(err, 0)
	}
	if r, ok := errors.AsType[RetryableError](err); ok {
		if !r.Retryable() {
			return Permanent(err)
		}
		var after time.Duration
		if ra, ok := errors.AsType[RetryAfterError](err); ok {
			after = max(ra.RetryAfter(), 0)
		}
		return Retry(err, after)
	}
	return Retry(err, 0)
}
