package work

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"time"

	"github.com/citylink/citylink/internal/backoff"
)

// applied is the result of applying a batch: a final outcome for each item
// that has one. Items without one were not done before the deadline and go
// back to pending with the batch.
type applied struct {
	final map[int]Outcome // by index into the batch's items
	panic *sinkPanic
}

// sinkPanic is a sink that panicked, with its stack for the error log.
type sinkPanic struct {
	value any
	stack string
}

func (p *sinkPanic) Error() string { return fmt.Sprintf("sink panicked: %v", p.value) }

// apply applies items through the sink, retrying retryable failures with
// jittered exponential backoff (or the target's Retry-After, if longer) up to
// the configured tries, never past the context's deadline less the margin.
// It returns ctx's error when ctx ends, since nothing can then be recorded.
// attempt is the batch's claim count: items whose retry does not fit before
// the deadline are handed on undone to the chain's next link while it is
// below Config.MaxClaims, and get their outcome on the MaxClaims-th claim.
func (e *Engine) apply(ctx context.Context, items []Item, attempt int) (applied, error) {
	res := applied{final: make(map[int]Outcome, len(items))}
	todo := make([]int, len(items))
	for i := range todo {
		todo[i] = i
	}
	for try := 1; len(todo) > 0; try++ {
		if e.short(ctx) {
			break
		}
		batch := make([]Item, len(todo))
		for j, i := range todo {
			batch[j] = items[i]
		}
		outs, err := e.applyOnce(ctx, batch)
		var p *sinkPanic
		if errors.As(err, &p) {
			// A sink that panics would panic again: the items fail this run.
			res.panic = p
			for _, i := range todo {
				res.final[i] = Retry(p, 0)
			}
			break
		}
		if err == nil && len(outs) != len(batch) {
			err = fmt.Errorf("sink returned %d outcomes for %d items", len(outs), len(batch))
		}
		if err != nil {
			if ctx.Err() != nil {
				return applied{}, ctx.Err()
			}
			outs = make([]Outcome, len(batch))
			for j := range outs {
				outs[j] = Retry(err, 0)
			}
		}
		var (
			again []int
			wait  time.Duration
		)
		for j, i := range todo {
			o := outs[j]
			if o.status == "" {
				// A sink that forgot an item fails that item, not its batch.
				o = Retry(fmt.Errorf("sink returned no outcome for item %s", items[i].Key), 0)
			}
			if o.retryable() && try < e.cfg.Tries {
				again = append(again, i)
				wait = max(wait, o.retryAfter)
				continue
			}
			res.final[i] = o
		}
		if len(again) == 0 {
			break
		}
		delay := max(e.backoff(try), wait)
		if !e.fits(ctx, delay) {
			if delay < e.cfg.LeaseTTL && attempt < e.cfg.MaxClaims {
				// Our deadline is near: leave the items undone, and the
				// chain's next link, with a fresh deadline, retries them.
				// A slow target may need several invocations for one
				// batch; MaxClaims, not Tries, bounds how many.
				break
			}
			// The target asks for a longer wait than a worker has, or the
			// batch has been claimed MaxClaims times: these items have had
			// their chance in this run.
			for _, i := range again {
				res.final[i] = outs[slices.Index(todo, i)]
			}
			break
		}
		if err := backoff.Sleep(ctx, delay); err != nil {
			return applied{}, err
		}
		todo = again
	}
	if err := ctx.Err(); err != nil {
		return applied{}, err
	}
	return res, nil
}

// applyOnce calls the sink with a deadline that leaves half the margin to
// record the outcomes, and turns a panic into a *sinkPanic.
func (e *Engine) applyOnce(ctx context.Context, items []Item) (outs []Outcome, err error) {
	if deadline, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline.Add(-e.cfg.Margin/2))
		defer cancel()
	}
	defer func() {
		if v := recover(); v != nil {
			err = &sinkPanic{value: v, stack: string(debug.Stack())}
		}
	}()
	return e.cfg.Sink.Apply(ctx, items)
}

// backoff returns the delay before try+1: Backoff doubled per try, capped at
// MaxBackoff, with equal jitter (half fixed, half random) so that ten chains
// hitting one 503 do not come back in step, yet each waits at least half.
func (e *Engine) backoff(try int) time.Duration {
	return backoff.Policy{Base: e.cfg.Backoff, Max: e.cfg.MaxBackoff, Jitter: backoff.Equal}.Delay(try)
}

// fits reports whether waiting d still leaves the margin before ctx's deadline.
func (e *Engine) fits(ctx context.Context, d time.Duration) bool {
	deadline, ok := ctx.Deadline()
	return !ok || deadline.Sub(e.clock.Now())-d >= e.cfg.Margin
}
