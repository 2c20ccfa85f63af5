package work

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type light struct {
	Asset string `json:"asset"`
	Watts int    `json:"watts"`
}

func TestNewItemAndDecodeRoundTrip(t *testing.T) {
	t.Parallel()
	it, err := NewItem("SL-1", light{Asset: "SL-1", Watts: 42})
	if err != nil {
		t.Fatal(err)
	}
	if it.Key != "SL-1" || string(it.Payload) != `{"asset":"SL-1","watts":42}` {
		t.Fatalf("item = %s %s", it.Key, it.Payload)
	}
	got, err := Decode[light](it)
	if err != nil || got != (light{Asset: "SL-1", Watts: 42}) {
		t.Fatalf("decoded %+v, %v", got, err)
	}
	if _, err := NewItem("", light{}); err == nil {
		t.Error("an item without a key was built")
	}
	if _, err := NewItem("SL-2", make(chan int)); err == nil {
		t.Error("a value JSON cannot encode was built into an item")
	}
	if _, err := Decode[light](Item{Key: "SL-3", Payload: []byte(`{"watts":"many"}`)}); err == nil || !strings.Contains(err.Error(), "SL-3") {
		t.Errorf("bad payload: %v, want an error naming the item", err)
	}
}

// rawItems builds n items whose payloads are lights, keyed k0 … k(n-1).
func rawItems(t *testing.T, n int) []Item {
	items := make([]Item, n)
	for i := range items {
		it, err := NewItem(fmt.Sprintf("k%d", i), light{Asset: fmt.Sprintf("k%d", i), Watts: i})
		if err != nil {
			t.Fatal(err)
		}
		items[i] = it
	}
	return items
}

func TestPerItemKeepsOutcomesInPlace(t *testing.T) {
	t.Parallel()
	const n, limit = 40, 4
	items := rawItems(t, n)
	items[7].Payload = []byte(`not json`)
	var inFlight, most atomic.Int32
	// The first limit calls wait for each other, so the sink must run them
	// at once; later calls finish in reverse order of their start.
	var barrier sync.WaitGroup
	barrier.Add(limit)
	var started atomic.Int32
	sink := PerItem(limit, func(ctx context.Context, key string, v light) Outcome {
		now := inFlight.Add(1)
		defer inFlight.Add(-1)
		for m := most.Load(); now > m && !most.CompareAndSwap(m, now); m = most.Load() {
		}
		if started.Add(1) <= limit {
			barrier.Done()
			barrier.Wait()
		}
		if v.Asset != key {
			return Permanent(fmt.Errorf("item %s carried %s", key, v.Asset))
		}
		if v.Watts%5 == 0 {
			return Skip("multiple of five")
		}
		return Success("ref-" + key)
	})
	outs, err := sink.Apply(context.Background(), items)
	if err != nil {
		t.Fatal(err)
	}
	if len(outs) != n {
		t.Fatalf("%d outcomes for %d items", len(outs), n)
	}
	for i, o := range outs {
		switch {
		case i == 7:
			if o.Status() != Dead || !strings.Contains(o.Err().Error(), "decoding item k7") {
				t.Errorf("undecodable item: %s %v, want dead with the decoding error", o.Status(), o.Err())
			}
		case i%5 == 0:
			if o.Status() != Skipped {
				t.Errorf("item %d: %s, want skipped", i, o.Status())
			}
		default:
			if o.Status() != Succeeded || o.targetRef != fmt.Sprintf("ref-k%d", i) {
				t.Errorf("item %d: %s %q, want its own reference", i, o.Status(), o.targetRef)
			}
		}
	}
	if m := most.Load(); m != limit {
		t.Errorf("at most %d calls at once, want %d", m, limit)
	}
}

func TestPerItemStopsWithItsContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	var calls atomic.Int32
	sink := PerItem(1, func(ctx context.Context, key string, _ light) Outcome {
		if calls.Add(1) == 2 {
			cancel()
		}
		return Success(key)
	})
	outs, err := sink.Apply(ctx, rawItems(t, 5))
	if err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 2 {
		t.Errorf("%d calls, want 2: the sink went on after its context ended", calls.Load())
	}
	for i, o := range outs[2:] {
		if o.Status() != Failed || !errors.Is(o.Err(), context.Canceled) {
			t.Errorf("item %d: %s %v, want a retry for the cancellation", i+2, o.Status(), o.Err())
		}
	}
}

func TestPerItemReportsAPanicAsTheSinks(t *testing.T) {
	t.Parallel()
	sink := PerItem(3, func(ctx context.Context, key string, _ light) Outcome {
		if key == "k2" {
			panic("nil map")
		}
		return Success(key)
	})
	_, err := sink.Apply(context.Background(), rawItems(t, 5))
	if p, ok := errors.AsType[*sinkPanic](err); !ok || p.value != "nil map" || p.stack == "" {
		t.Fatalf("err = %v, want the sink's panic with its stack", err)
	}
}

// contractError is a client error of the shared contract.
type contractError struct {
	retryable bool
	after     time.Duration
}

func (e *contractError) Error() string             { return "contract error" }
func (e *contractError) Retryable() bool           { return e.retryable }
func (e *contractError) RetryAfter() time.Duration { return e.after }

func TestFromError(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		err    error
		status Status
		after  time.Duration
	}{
		{"nil", nil, Succeeded, 0},
		{"deadline", fmt.Errorf("calling: %w", context.DeadlineExceeded), Failed, 0},
		{"cancelled", context.Canceled, Failed, 0},
		{"throttled", fmt.Errorf("upserting: %w", &contractError{retryable: true, after: 9 * time.Second}), Failed, 9 * time.Second},
		{"refused", fmt.Errorf("upserting: %w", &contractError{}), Dead, 0},
		{"unknown", errors.New("connection reset by peer"), Failed, 0},
		{"transport", fmt.Errorf("get: %w", http.ErrHandlerTimeout), Failed, 0},
	} {
		o := FromError(tc.err)
		if o.Status() != tc.status || o.retryAfter != tc.after || !errors.Is(o.Err(), tc.err) {
			t.Errorf("%s: %s after %v (%v), want %s after %v", tc.name, o.Status(), o.retryAfter, o.Err(), tc.status, tc.after)
		}
	}
	if o := Result("CMS-1", nil); o.Status() != Succeeded || o.targetRef != "CMS-1" {
		t.Errorf("Result of a success: %s %q", o.Status(), o.targetRef)
	}
	if o := Result("", fmt.Errorf("get: %w", &contractError{})); o.Status() != Dead {
		t.Errorf("Result of a permanent error: %s", o.Status())
	}
}
