package work

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/citylink/citylink/internal/work/fault"
)

// checkExactlyOnce asserts that the run succeeded, that every item succeeded
// with the sink's reference and that the sink made each effect exactly once.
func checkExactlyOnce(t *testing.T, h *harness, run int64, items []Item) {
	t.Helper()
	if s := runState(t, h.pool, run); s != "succeeded" {
		t.Fatalf("run %d is %s, want succeeded", run, s)
	}
	for _, it := range items {
		if _, effects := h.sink.counts(it.Key); effects != 1 {
			t.Fatalf("item %s had %d effects, want 1", it.Key, effects)
		}
	}
	if n := intQuery(t, h.pool, `SELECT count(*) FROM items WHERE run_id = $1 AND state = 'succeeded' AND target_ref = 'T-' || source_key`, run); n != len(items) {
		t.Fatalf("%d items succeeded with the sink's reference, want %d", n, len(items))
	}
	if n := intQuery(t, h.pool, `SELECT succeeded FROM runs WHERE id = $1`, run); n != len(items) {
		t.Fatalf("run counts %d succeeded, want %d", n, len(items))
	}
	if n := intQuery(t, h.pool, `SELECT count(*) FROM batches WHERE run_id = $1 AND state <> 'done'`, run); n != 0 {
		t.Fatalf("%d batches not done", n)
	}
}

func TestTenChainsOverThousandBatches(t *testing.T) {
	t.Parallel()
	items := makeItems("pole", 10_000)
	h := newHarness(t, &pageSource{items: items, pageSize: 2_000}, func(c *Config) { c.BatchSize = 10 })

	res, err := h.engine.Plan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Batches != 1_000 || res.Chains != 10 || res.Items != 10_000 {
		t.Fatalf("plan = %+v, want 10000 items in 1000 batches on 10 chains", res)
	}
	h.wait(t)

	checkExactlyOnce(t, h, res.Run, items)
	for _, it := range items {
		if applies, _ := h.sink.counts(it.Key); applies != 1 {
			t.Fatalf("item %s applied %d times, want 1", it.Key, applies)
		}
	}
	if h.sink.maxLive > 10 {
		t.Fatalf("%d sink calls at once, want at most 10", h.sink.maxLive)
	}
	if n := intQuery(t, h.pool, `SELECT count(DISTINCT chain) FROM batches WHERE run_id = $1`, res.Run); n != 10 {
		t.Fatalf("batches were worked by %d chains, want 10", n)
	}
	if n := h.logs.count("run closed"); n != 1 {
		t.Fatalf("run closed %d times, want once", n)
	}
}

func TestEveryLinkDeliveredTwice(t *testing.T) {
	t.Parallel()
	items := makeItems("pole", 2_000)
	h := newHarness(t, &pageSource{items: items, pageSize: 500}, func(c *Config) { c.BatchSize = 10 })
	h.twice = func(Link) bool { return true }
	deliveries := h.countDeliveries()

	res, err := h.engine.Plan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	h.wait(t)

	checkExactlyOnce(t, h, res.Run, items)
	for _, it := range items {
		if applies, _ := h.sink.counts(it.Key); applies != 1 {
			t.Fatalf("item %s applied %d times, want 1", it.Key, applies)
		}
	}
	if n := h.logs.count("run closed"); n != 1 {
		t.Fatalf("run closed %d times, want once", n)
	}
	if n := h.logs.count("stale link"); n == 0 {
		t.Fatal("no delivery was recognised as a repeat")
	}
	// Each chain step is one link, delivered twice; a forked chain would
	// deliver more. 200 batches take at least 200 steps, plus one per chain
	// whose last link finds nothing left.
	steps := intQuery(t, h.pool, `SELECT sum(seq)::int FROM chains WHERE run_id = $1`, res.Run)
	if steps < 200 {
		t.Fatalf("chains stepped %d times for 200 batches", steps)
	}
	if got := deliveries.Load(); got != int64(2*steps) {
		t.Fatalf("%d deliveries for %d chain steps, want 2 per step: chains forked", got, steps)
	}
	if h.sink.maxLive > 10 {
		t.Fatalf("%d sink calls at once, want at most 10", h.sink.maxLive)
	}
}

func TestWorkerDiesMidBatch(t *testing.T) {
	t.Parallel()
	items := makeItems("pole", 500)
	h := newHarness(t, &pageSource{items: items, pageSize: 100}, func(c *Config) {
		c.BatchSize = 10
		c.LeaseTTL = time.Minute
	})
	// Every worker can be killed, and the first batch any of them applies
	// is where one dies: whichever chain gets there first, there always is
	// a first batch, so the test does not hang on scheduling luck.
	h.lose = func(Link) bool { return true }
	var killed atomic.Bool
	h.sink.midBatch = func(ctx context.Context) error {
		if killed.CompareAndSwap(false, true) && fault.Crash(ctx) {
			return ctx.Err()
		}
		return nil
	}

	res, err := h.engine.Plan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	h.wait(t)

	if s := runState(t, h.pool, res.Run); s != "running" {
		t.Fatalf("run is %s with a dead worker's batch, want running", s)
	}
	var seq int
	if err := h.pool.QueryRow(context.Background(),
		`SELECT seq FROM batches WHERE run_id = $1 AND state = 'running' AND lease_owner IS NOT NULL`, res.Run).Scan(&seq); err != nil {
		t.Fatalf("the dead worker's batch should still be leased: %v", err)
	}

	// Before the lease expires the rescuer leaves the batch alone.
	if r, err := h.engine.Rescue(context.Background()); err != nil || r.Released != 0 || r.Relinked != 0 {
		t.Fatalf("rescue before expiry = %+v, %v; want nothing done", r, err)
	}
	h.clock.Advance(time.Minute + time.Second)
	r, err := h.engine.Rescue(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if r.Released != 1 || r.Relinked == 0 {
		t.Fatalf("rescue = %+v, want 1 batch released and chains relinked", r)
	}
	h.wait(t)

	checkExactlyOnce(t, h, res.Run, items)
	reapplied := 0
	for i := seq * 10; i < seq*10+10; i++ {
		if applies, _ := h.sink.counts(items[i].Key); applies == 2 {
			reapplied++
		}
	}
	if reapplied != 5 {
		t.Fatalf("%d items of the dead worker's batch were applied twice, want the 5 it did before dying", reapplied)
	}
	if n := intQuery(t, h.pool, `SELECT attempt FROM batches WHERE run_id = $1 AND seq = $2`, res.Run, seq); n != 2 {
		t.Fatalf("dead worker's batch claimed %d times, want 2", n)
	}
}

func TestDeadlineHandsWorkOn(t *testing.T) {
	t.Parallel()
	items := makeItems("pole", 10)
	rec := &linkRecorder{}
	h := newHarness(t, &pageSource{items: items, pageSize: 10}, func(c *Config) {
		c.Publisher = rec
		c.Margin = 10 * time.Minute
	})
	ctx := context.Background()
	res, err := h.engine.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	link := rec.links[0]

	// Less time left than the margin: the worker claims nothing and hands
	// its link on unchanged.
	short, cancel := context.WithDeadline(ctx, h.clock.Now().Add(5*time.Minute))
	defer cancel()
	if err := h.engine.Work(short, link); err != nil {
		t.Fatal(err)
	}
	if got := rec.links[len(rec.links)-1]; got != link {
		t.Fatalf("handed on %v, want the same link %v", got, link)
	}
	if n := intQuery(t, h.pool, `SELECT attempt FROM batches WHERE run_id = $1`, res.Run); n != 0 {
		t.Fatalf("batch claimed %d times with no time left, want 0", n)
	}

	// The deadline comes near mid-batch: what was done is recorded, the
	// rest goes back to pending and the chain goes on.
	h.sink.decide = func(_ context.Context, key string, call int) *Outcome {
		if call == 1 && key >= "pole-5" {
			h.clock.Advance(11 * time.Minute)
			o := Retry(fmt.Errorf("503 from %s", key), 0)
			return &o
		}
		return nil
	}
	hour, cancel := context.WithDeadline(ctx, h.clock.Now().Add(20*time.Minute))
	defer cancel()
	if err := h.engine.Work(hour, link); err != nil {
		t.Fatal(err)
	}
	if n := intQuery(t, h.pool, `SELECT count(*) FROM items WHERE run_id = $1 AND state = 'succeeded'`, res.Run); n != 5 {
		t.Fatalf("%d items recorded succeeded, want the 5 done before the deadline", n)
	}
	if n := intQuery(t, h.pool, `SELECT count(*) FROM batches WHERE run_id = $1 AND state = 'pending' AND lease_owner IS NULL`, res.Run); n != 1 {
		t.Fatal("batch not released to pending")
	}
	next := rec.links[len(rec.links)-1]
	if next.Seq != link.Seq+1 {
		t.Fatalf("next link %v, want seq %d", next, link.Seq+1)
	}

	fresh, cancel := context.WithDeadline(ctx, h.clock.Now().Add(time.Hour))
	defer cancel()
	if err := h.engine.Work(fresh, next); err != nil {
		t.Fatal(err)
	}
	checkExactlyOnce(t, h, res.Run, items)
}

func TestBatchesPerLink(t *testing.T) {
	t.Parallel()
	items := makeItems("pole", 1_000)
	h := newHarness(t, &pageSource{items: items, pageSize: 300}, func(c *Config) {
		c.BatchSize = 10
		c.BatchesPerLink = 5
	})
	deliveries := h.countDeliveries()
	res, err := h.engine.Plan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	h.wait(t)
	checkExactlyOnce(t, h, res.Run, items)
	// 100 batches, five per link, on ten chains: 20 full links, and a short
	// last link per chain. One link per batch would mean the setting is lost.
	if n := deliveries.Load(); n < 20 || n >= 100 {
		t.Fatalf("%d links for 100 batches at 5 per link", n)
	}
	if n := intQuery(t, h.pool, `SELECT sum(seq)::int FROM chains WHERE run_id = $1`, res.Run); n < 100 {
		t.Fatalf("chains stepped %d times for 100 batches", n)
	}
}

// TestUndoneBatchIsHandedOnNotReclaimed has the target ask for a wait that
// does not fit before the deadline, on a link that works several batches:
// the batch goes back undone, and the link must hand the chain on, so that
// the next link retries with a fresh deadline. Claiming the batch again in
// the same link, with the same deadline, re-applies the item at once,
// ignoring the Retry-After, and burns the batch's claims until the item
// fails in this run.
func TestUndoneBatchIsHandedOnNotReclaimed(t *testing.T) {
	t.Parallel()
	items := makeItems("pole", 10)
	rec := &linkRecorder{}
	h := newHarness(t, &pageSource{items: items, pageSize: 10}, func(c *Config) {
		c.Publisher = rec
		c.Margin = 10 * time.Minute
		c.BatchesPerLink = 5
	})
	h.sink.decide = func(_ context.Context, key string, _ int) *Outcome {
		if key == "pole-3" {
			o := Retry(fmt.Errorf("429 from %s", key), 5*time.Minute)
			return &o
		}
		return nil
	}
	ctx := context.Background()
	res, err := h.engine.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	link := rec.links[0]
	lambdaCtx, cancel := context.WithDeadline(ctx, h.clock.Now().Add(12*time.Minute))
	defer cancel()
	if err := h.engine.Work(lambdaCtx, link); err != nil {
		t.Fatal(err)
	}
	if applies, _ := h.sink.counts("pole-3"); applies != 1 {
		t.Fatalf("pole-3 applied %d times in one link, want 1: its 5m Retry-After does not fit", applies)
	}
	var state string
	if err := h.pool.QueryRow(ctx, `SELECT state FROM items WHERE run_id = $1 AND source_key = 'pole-3'`, res.Run).Scan(&state); err != nil {
		t.Fatal(err)
	}
	if state != "pending" {
		t.Fatalf("pole-3 is %s, want pending for the next link", state)
	}
	if n := intQuery(t, h.pool, `SELECT attempt FROM batches WHERE run_id = $1 AND state = 'pending'`, res.Run); n != 1 {
		t.Fatalf("batch claimed %d times, want once", n)
	}
	if next := rec.links[len(rec.links)-1]; len(rec.links) != 2 || next.Seq != link.Seq+1 {
		t.Fatalf("links %v, want the chain handed on with seq %d", rec.links, link.Seq+1)
	}
}

// failOncePublisher fails the first publish of a link past a chain's first
// and passes the rest on, as SNS does when one publish times out.
type failOncePublisher struct {
	next   Publisher
	failed atomic.Bool
}

func (p *failOncePublisher) Publish(ctx context.Context, link Link) error {
	if link.Seq > 0 && p.failed.CompareAndSwap(false, true) {
		return errors.New("sns: publish timed out")
	}
	return p.next.Publish(ctx, link)
}

// TestFailedPublishResumesOnRedelivery loses the publish of a chain's next
// link. The worker returns the error, so Lambda delivers the same link
// again; that redelivery must carry the chain on rather than be taken for a
// stale duplicate, or the run would wait for the next schedule tick.
func TestFailedPublishResumesOnRedelivery(t *testing.T) {
	t.Parallel()
	items := makeItems("pole", 200)
	pub := &failOncePublisher{}
	h := newHarness(t, &pageSource{items: items, pageSize: 200}, func(c *Config) {
		c.BatchSize = 10
		c.Chains = 1
		c.BatchesPerLink = 2
		c.Publisher = pub
	})
	pub.next = h.local
	var redelivered atomic.Int32
	h.local.OnError = func(l Link, err error) {
		// Lambda retries a failed asynchronous invocation with the same event.
		if redelivered.Add(1) == 1 {
			_ = h.local.Publish(context.Background(), l)
		}
	}
	res, err := h.engine.Plan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	h.wait(t)
	if !pub.failed.Load() || redelivered.Load() != 1 {
		t.Fatalf("publish failed: %v, redeliveries: %d; want one of each", pub.failed.Load(), redelivered.Load())
	}
	checkExactlyOnce(t, h, res.Run, items)
}
