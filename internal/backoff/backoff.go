// Package backoff is the one jittered exponential backoff every retry in
// citylink uses: the HTTP transport, the clients' own retries, the engine,
// the SFTP deliverer and the telemetry Lambdas. Waits grow as Base·2ⁿ up to
// Max and are drawn at random below that ceiling ("full jitter", per the AWS
// Architecture Blog's "Exponential Backoff And Jitter"), so that many callers
// failing together do not come back together.
package backoff

import (
	"context"
	"math"
	"math/rand/v2"
	"time"
)

// Jitter says how a delay is drawn below its ceiling.
type Jitter int

const (
	// Full draws the delay uniformly from [0, ceiling]: the fewest
	// collisions and the least total waiting.
	Full Jitter = iota
	// Equal draws it from [ceiling/2, ceiling]: half fixed, half random,
	// for callers that must wait at least half the ceiling.
	Equal
)

// Policy is an exponential backoff: the ceiling before retry attempt n is
// min(Max, Base·2ⁿ⁻¹), and the delay is drawn below it as Jitter says.
type Policy struct {
	// Base is the ceiling of the first delay; no delay at all when zero.
	Base time.Duration
	// Max caps the ceiling; zero means no cap.
	Max time.Duration
	// Jitter is Full when zero.
	Jitter Jitter
}

// Delay returns the jittered wait before retry attempt (counted from 1, as
// the attempt that just failed). It never overflows, however large attempt.
func (p Policy) Delay(attempt int) time.Duration {
	c := p.ceiling(attempt)
	if c <= 0 {
		return 0
	}
	if p.Jitter == Equal {
		return c/2 + randUpTo(c-c/2)
	}
	return randUpTo(c)
}

// Wait sleeps for Delay(attempt) or until ctx is done, returning ctx's error
// then.
func (p Policy) Wait(ctx context.Context, attempt int) error {
	return Sleep(ctx, p.Delay(attempt))
}

// ceiling is min(Max, Base·2^(attempt-1)), without overflow.
func (p Policy) ceiling(attempt int) time.Duration {
	if p.Base <= 0 {
		return 0
	}
	c := time.Duration(math.MaxInt64)
	if shift := max(attempt-1, 0); shift < 63 && p.Base <= math.MaxInt64>>shift {
		c = p.Base << shift
	}
	if p.Max > 0 {
		c = min(c, p.Max)
	}
	return c
}

// randUpTo is uniform in [0, d], d ≥ 0.
func randUpTo(d time.Duration) time.Duration {
	return time.Duration(rand.Uint64N(uint64(d) + 1))
}

// Sleep waits for d or until ctx is done, whichever comes first, and returns
// ctx's error if ctx ended first (or had already ended).
func Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil || d <= 0 {
		return err
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
