package telemetry

import (
	"context"
	"math/rand/v2"
	"time"
)

// Backoff is exponential backoff with full jitter: the nth wait is drawn
// uniformly from [0, min(Max, Base·2ⁿ)), so many Lambdas retrying at once
// spread out instead of hitting DynamoDB or Kinesis together again.
type Backoff struct {
	Base time.Duration
	// Max caps a wait; zero means no cap.
	Max time.Duration
}

// DefaultBackoff returns the backoff used when a config leaves it zero: it
// suits DynamoDB and Kinesis throttling inside a Lambda deadline.
func DefaultBackoff() Backoff {
	return Backoff{Base: 50 * time.Millisecond, Max: 5 * time.Second}
}

// Delay returns the jittered wait before retry attempt n (from 0).
func (b Backoff) Delay(n int) time.Duration {
	if b.Base <= 0 {
		return 0
	}
	ceil := b.Base << min(max(n, 0), 30)
	if b.Max > 0 && (ceil > b.Max || ceil <= 0) {
		ceil = b.Max
	}
	if ceil <= 0 {
		ceil = b.Base
	}
	return rand.N(ceil)
}

// Wait sleeps for Delay(n) or until ctx is done, returning ctx's error then.
func (b Backoff) Wait(ctx context.Context, n int) error {
	d := b.Delay(n)
	if d == 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
