package work

import (
	"context"
	"errors"
	"testing"
	"time"
)

// slowTarget makes the harness's sink apply one item per minute of the
// engine's clock and leave the items it cannot reach before deadline −
// Margin/2 unapplied (a Retry, as PerItem reports them), as a slow target
// does in a Lambda near its timeout. A stuck key hangs until the sink's
// deadline and is never applied.
func slowTarget(h *harness, deadline func() time.Time, margin time.Duration, stuck func(key string) bool) {
	h.sink.decide = func(_ context.Context, key string, _ int) *Outcome {
		if stuck(key) {
			h.clock.Set(deadline().Add(-margin / 2))
		}
		if stuck(key) || !h.clock.Now().Add(time.Minute).Before(deadline().Add(-margin/2)) {
			o := Retry(errors.New("not applied: context deadline exceeded"), 0)
			return &o
		}
		h.clock.Advance(time.Minute)
		return nil
	}
}

// workLinks works the chain's links one invocation each, every invocation
// with 12 minutes on the engine's clock, until a link publishes no next
// one; it returns how many invocations that took.
func workLinks(t *testing.T, h *harness, rec *linkRecorder, deadline *time.Time) int {
	t.Helper()
	for n := 1; n <= 50; n++ {
		links := len(rec.links)
		*deadline = h.clock.Now().Add(12 * time.Minute)
		ctx, cancel := context.WithDeadline(context.Background(), *deadline)
		err := h.engine.Work(ctx, rec.links[links-1])
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if len(rec.links) == links {
			return n
		}
	}
	t.Fatal("the chain still goes on after 50 invocations")
	return 0
}

// TestSlowTargetTakesSeveralInvocationsPerBatch has a target so slow that
// one batch needs three invocations: each applies what it can before its
// deadline and hands the rest on. With hand-ons bound by Tries (2) the
// third claim's items would fail for the run though they were never
// applied; MaxClaims bounds them, so the run succeeds.
func TestSlowTargetTakesSeveralInvocationsPerBatch(t *testing.T) {
	t.Parallel()
	items := makeItems("pole", 30)
	rec := &linkRecorder{}
	const margin = 2 * time.Minute
	h := newHarness(t, &pageSource{items: items, pageSize: 30}, func(c *Config) {
		c.Publisher = rec
		c.BatchSize = 30
		c.Margin = margin
	})
	var deadline time.Time
	slowTarget(h, func() time.Time { return deadline }, margin, func(string) bool { return false })
	res, err := h.engine.Plan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	n := workLinks(t, h, rec, &deadline)
	if n < 3 {
		t.Fatalf("%d invocations, want the batch to need 3 or more", n)
	}
	if claims := intQuery(t, h.pool, `SELECT attempt FROM batches WHERE run_id = $1`, res.Run); claims != n {
		t.Fatalf("batch claimed %d times in %d invocations", claims, n)
	}
	checkExactlyOnce(t, h, res.Run, items)
}

// TestBatchThatNeverFinishesEndsAtMaxClaims has one item the target never
// reaches: it is handed on with its batch until the batch's MaxClaims-th
// claim, which fails it for the run, and the run ends.
func TestBatchThatNeverFinishesEndsAtMaxClaims(t *testing.T) {
	t.Parallel()
	items := makeItems("pole", 10)
	rec := &linkRecorder{}
	const margin = 2 * time.Minute
	h := newHarness(t, &pageSource{items: items, pageSize: 10}, func(c *Config) {
		c.Publisher = rec
		c.Margin = margin
		c.MaxClaims = 4
	})
	var deadline time.Time
	slowTarget(h, func() time.Time { return deadline }, margin, func(key string) bool { return key == "pole-9" })
	res, err := h.engine.Plan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	n := workLinks(t, h, rec, &deadline)
	if n != 4 {
		t.Fatalf("%d invocations, want MaxClaims = 4", n)
	}
	if claims := intQuery(t, h.pool, `SELECT attempt FROM batches WHERE run_id = $1`, res.Run); claims != 4 {
		t.Fatalf("batch claimed %d times, want MaxClaims = 4", claims)
	}
	var state string
	if err := h.pool.QueryRow(context.Background(), `SELECT state FROM items WHERE run_id = $1 AND source_key = 'pole-9'`, res.Run).Scan(&state); err != nil {
		t.Fatal(err)
	}
	if state != "failed" {
		t.Fatalf("pole-9 is %s, want failed for the run", state)
	}
	if s := runState(t, h.pool, res.Run); s != "partial" {
		t.Fatalf("run is %s, want partial", s)
	}
	if ok := intQuery(t, h.pool, `SELECT count(*) FROM items WHERE run_id = $1 AND state = 'succeeded'`, res.Run); ok != 9 {
		t.Fatalf("%d items succeeded, want the other 9", ok)
	}
}
