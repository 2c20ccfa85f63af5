package work

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/citylink/citylink/internal/work/fault"
)

// TestLeaseLostRecordsNothing has a worker outlive its lease: while it
// applies, the lease expires, the rescuer hands the batch to a second worker
// that finishes it, and the first worker's outcomes are discarded.
func TestLeaseLostRecordsNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	items := makeItems("pole", 10)
	rec := &linkRecorder{}
	h := newHarness(t, &pageSource{items: items, pageSize: 10}, func(c *Config) {
		c.Publisher = rec
		c.LeaseTTL = time.Minute
	})
	res, err := h.engine.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	slow := true
	h.sink.midBatch = func(ctx context.Context) error {
		if !slow {
			return nil
		}
		slow = false
		h.clock.Advance(2 * time.Minute)
		r, err := h.engine.Rescue(ctx)
		if err != nil || r.Released != 1 || r.Relinked != 1 {
			t.Errorf("rescue = %+v, %v; want the batch released and its chain relinked", r, err)
			return err
		}
		// The second worker takes the relinked chain and finishes the batch.
		return h.engine.Work(ctx, rec.links[len(rec.links)-1])
	}
	if err := h.engine.Work(ctx, rec.links[0]); err != nil {
		t.Fatal(err)
	}
	if n := h.logs.count("batch lease lost"); n != 1 {
		t.Fatalf("lease lost %d times, want once", n)
	}
	checkExactlyOnce(t, h, res.Run, items)
	if n := intQuery(t, h.pool, `SELECT count(*) FROM items WHERE run_id = $1 AND attempts = 1`, res.Run); n != 10 {
		t.Fatalf("%d items recorded once, want 10", n)
	}
	for _, it := range items[:5] {
		if applies, _ := h.sink.counts(it.Key); applies != 2 {
			t.Fatalf("%s applied %d times, want 2 (before and after the lease passed)", it.Key, applies)
		}
	}
}

// TestRepeatedKeysMakeOneItem checks that a key the source sends twice in
// one plan, on two pages, becomes one item with the later value, so two
// chains never apply one key at once and the newer change is the one
// applied.
func TestRepeatedKeysMakeOneItem(t *testing.T) {
	t.Parallel()
	items := makeItems("pole", 20)
	items = append(items, Item{Key: "pole-3", Payload: json.RawMessage(`{"again":true}`)})
	h := newHarness(t, &pageSource{items: items, pageSize: 7}, func(c *Config) { c.BatchSize = 5 })
	res, err := h.engine.Plan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	h.wait(t)
	if res.Items != 20 || res.Repeated != 1 || res.Batches != 4 {
		t.Fatalf("plan = %+v, want 20 items, 1 repeated, 4 batches", res)
	}
	checkExactlyOnce(t, h, res.Run, items[:20])
	if n := intQuery(t, h.pool, `SELECT count(*) FROM items WHERE run_id = $1 AND source_key = 'pole-3' AND payload = '{"again":true}'`, res.Run); n != 1 {
		t.Fatalf("pole-3 has %d items with the later value, want 1", n)
	}
}

// TestPoisonBatchIsAbandoned has every worker that takes a batch die on it:
// after MaxClaims claims the rescuer gives the batch up, its items die with
// an alert and the DeadItems metric, and the run closes.
func TestPoisonBatchIsAbandoned(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	items := makeItems("pole", 10)
	var alerts alertRecorder
	var metrics bytes.Buffer
	h := newHarness(t, &pageSource{items: items, pageSize: 10}, func(c *Config) {
		c.LeaseTTL = time.Minute
		c.MaxClaims = 2
		c.MaxAttempts = 1
		c.Alerter = &alerts
		c.Metrics = &metrics
	})
	h.lose = func(Link) bool { return true }
	h.sink.midBatch = func(ctx context.Context) error {
		fault.Crash(ctx)
		return ctx.Err()
	}
	res, err := h.engine.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	h.wait(t)
	h.clock.Advance(2 * time.Minute)
	if r, err := h.engine.Rescue(ctx); err != nil || r.Released != 1 || r.Abandoned != 0 {
		t.Fatalf("first rescue = %+v, %v; want the batch released for a second claim", r, err)
	}
	h.wait(t)
	h.clock.Advance(2 * time.Minute)
	r, err := h.engine.Rescue(ctx)
	if err != nil || r.Abandoned != 1 || r.Released != 0 || r.Closed != 1 {
		t.Fatalf("second rescue = %+v, %v; want the batch abandoned and the run closed", r, err)
	}
	if s := runState(t, h.pool, res.Run); s != "failed" {
		t.Fatalf("run is %s, want failed", s)
	}
	if n := intQuery(t, h.pool, `SELECT count(*) FROM critical_errors WHERE run_id = $1 AND error = 'worker lost 2 times on this batch'`, res.Run); n != 10 {
		t.Fatalf("%d items in the critical error log, want 10", n)
	}
	if len(alerts.dead) != 10 || alerts.dead[0].Run != res.Run || alerts.dead[0].Attempts != 1 || alerts.dead[0].Key == "" {
		t.Fatalf("alerts = %+v, want the 10 items", alerts.dead)
	}
	var line struct {
		Workflow string
		Dead     int `json:"DeadItems"`
	}
	if err := json.Unmarshal(metrics.Bytes(), &line); err != nil || line.Dead != 10 || line.Workflow != h.engine.Workflow() {
		t.Fatalf("dead-item metric %q (%v), want one line of 10 for %s", metrics.String(), err, h.engine.Workflow())
	}
}

// dropLinks loses the links it chooses, as SNS does when a delivery to
// Lambda fails for good, and hands the rest to a Publisher.
type dropLinks struct {
	to   Publisher
	drop func(Link) bool
}

func (d *dropLinks) Publish(ctx context.Context, l Link) error {
	if d.drop(l) {
		return nil
	}
	return d.to.Publish(ctx, l)
}

// TestRescuerRestartsLostChains loses every chain's fourth link, so the run
// stalls with pending batches and no worker; the rescuer publishes the
// chains' links again and the run completes.
func TestRescuerRestartsLostChains(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	items := makeItems("pole", 1_000)
	var (
		mu      sync.Mutex
		dropped = map[int]bool{}
	)
	drops := &dropLinks{drop: func(l Link) bool {
		mu.Lock()
		defer mu.Unlock()
		if l.Seq != 3 || dropped[l.Chain] {
			return false
		}
		dropped[l.Chain] = true
		return true
	}}
	h := newHarness(t, &pageSource{items: items, pageSize: 250}, func(c *Config) {
		c.BatchSize = 10
		c.Publisher = drops
	})
	drops.to = h.local
	res, err := h.engine.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	h.wait(t)
	if n := intQuery(t, h.pool, `SELECT count(*) FROM batches WHERE run_id = $1 AND state = 'done'`, res.Run); n != 30 {
		t.Fatalf("%d batches done before the links were lost, want 30", n)
	}
	r, err := h.engine.Rescue(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if r.Relinked != 10 || r.Released != 0 {
		t.Fatalf("rescue = %+v, want 10 chains relinked", r)
	}
	h.wait(t)
	checkExactlyOnce(t, h, res.Run, items)
}

// TestHandedOnBatchIsNotCountedAsLost hands a batch on undone at a
// deadline, then loses the worker of its second claim: one worker was lost,
// fewer than MaxClaims, so the rescuer must return the batch, not abandon it
// with its items failed as if every claim had died.
func TestHandedOnBatchIsNotCountedAsLost(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	items := makeItems("pole", 10)
	rec := &linkRecorder{}
	h := newHarness(t, &pageSource{items: items, pageSize: 10}, func(c *Config) {
		c.Publisher = rec
		c.LeaseTTL = time.Minute
		c.Margin = 10 * time.Minute
		c.MaxClaims = 2
	})
	h.sink.decide = func(_ context.Context, key string, call int) *Outcome {
		if key == "pole-3" && call == 1 {
			o := Retry(errors.New("429 too many requests"), 30*time.Second)
			return &o
		}
		return nil
	}
	res, err := h.engine.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The first claim hands pole-3 on: its Retry-After does not fit.
	short, cancel := context.WithDeadline(ctx, h.clock.Now().Add(10*time.Minute+20*time.Second))
	defer cancel()
	if err := h.engine.Work(short, rec.links[0]); err != nil {
		t.Fatal(err)
	}
	if n := intQuery(t, h.pool, `SELECT count(*) FROM items WHERE run_id = $1 AND state = 'pending'`, res.Run); n != 1 {
		t.Fatalf("%d items handed on, want pole-3", n)
	}
	// The second claim's worker dies mid-batch.
	dying, kill := context.WithCancel(ctx)
	h.sink.midBatch = func(context.Context) error { kill(); return dying.Err() }
	if err := h.engine.Work(dying, rec.links[len(rec.links)-1]); !errors.Is(err, context.Canceled) {
		t.Fatalf("dying worker = %v, want context.Canceled", err)
	}
	h.sink.midBatch = nil
	h.clock.Advance(2 * time.Minute)
	r, err := h.engine.Rescue(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if r.Abandoned != 0 || r.Released != 1 {
		t.Fatalf("rescue = %+v after one lost worker, want the batch released, not abandoned", r)
	}
}
