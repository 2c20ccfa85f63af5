package work

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime/debug"
	"sync"

	"golang.org/x/sync/errgroup"
)

// NewItem builds the Item for one change from its source key and a typed
// value, which becomes the item's JSON payload. A workflow's Source builds its
// page with it, and its Sink reads the value back with Decode, so neither
// handles raw JSON.
func NewItem[T any](key string, value T) (Item, error) {
	if key == "" {
		return Item{}, fmt.Errorf("work: item of %T has no key", value)
	}
	payload, err := json.Marshal(value)
	if err != nil {
		return Item{}, fmt.Errorf("encoding item %s: %w", key, err)
	}
	return Item{Key: key, Payload: payload}, nil
}

// Decode reads an item's payload into a T: the inverse of NewItem. It
// follows encoding/json: fields T does not have are ignored, so a sink may
// decode into a narrower view of what its source planned.
func Decode[T any](it Item) (T, error) {
	var v T
	if err := json.Unmarshal(it.Payload, &v); err != nil {
		return v, fmt.Errorf("decoding item %s as %T: %w", it.Key, v, err)
	}
	return v, nil
}

// ApplyFunc applies one item's typed value to the target and says what
// happened to it. It must be idempotent, as Sink.Apply must.
type ApplyFunc[T any] func(ctx context.Context, key string, value T) Outcome

// PerItem adapts a function that handles one item at a time into a Sink. It
// calls fn for the items of a batch with at most limit calls at once (1 when
// limit < 1) and puts each outcome in its item's place, so a sink cannot
// misalign outcomes. A payload that does not decode as a T makes its item
// dead at once: trying it again cannot change its bytes. Items not started
// when ctx ends get a retryable outcome. A panic in fn is reported to the
// engine as the panic of a batch sink is: the batch's items fail this run
// and the crash goes to the critical error log.
//
// Sinks with a bulk API (an ArcGIS applyEdits, the CMS's bulk upsert)
// implement Sink themselves and use Decode.
func PerItem[T any](limit int, fn ApplyFunc[T]) Sink {
	return perItem[T]{limit: max(limit, 1), fn: fn}
}

type perItem[T any] struct {
	limit int
	fn    ApplyFunc[T]
}

func (p perItem[T]) Apply(ctx context.Context, items []Item) ([]Outcome, error) {
	outs := make([]Outcome, len(items))
	var (
		g        errgroup.Group
		panicked sync.Once
		crash    *sinkPanic
	)
	g.SetLimit(p.limit)
	for i, it := range items {
		v, err := Decode[T](it)
		if err != nil {
			outs[i] = Permanent(err)
			continue
		}
		g.Go(func() error {
			if err := ctx.Err(); err != nil {
				outs[i] = Retry(fmt.Errorf("not applied: %w", err), 0)
				return nil
			}
			defer func() {
				if r := recover(); r != nil {
					panicked.Do(func() { crash = &sinkPanic{value: r, stack: string(debug.Stack())} })
				}
			}()
			outs[i] = p.fn(ctx, it.Key, v)
			return nil
		})
	}
	_ = g.Wait() // the calls return no errors: their outcomes say it all
	if crash != nil {
		return nil, crash
	}
	return outs, nil
}
