package work

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestOutcomes(t *testing.T) {
	t.Parallel()
	items := makeItems("pole", 40)
	var alerts alertRecorder
	h := newHarness(t, &pageSource{items: items, pageSize: 40}, func(c *Config) {
		c.BatchSize = 20
		c.Alerter = &alerts
	})
	// pole-1x: 503 once, then fine on the run's second (and last, by the
	// default Tries) try; pole-2x: rejected; pole-3x: skipped; the rest:
	// fine at once.
	h.sink.decide = func(_ context.Context, key string, call int) *Outcome {
		var o Outcome
		switch {
		case strings.HasPrefix(key, "pole-1") && len(key) == 7 && call <= 1:
			o = Retry(errors.New("503 service unavailable"), time.Millisecond)
		case strings.HasPrefix(key, "pole-2") && len(key) == 7:
			o = Permanent(errors.New("400 invalid wattage"))
		case strings.HasPrefix(key, "pole-3") && len(key) == 7:
			o = Skip("decommissioned")
		default:
			return nil
		}
		return &o
	}
	res, err := h.engine.Plan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	h.wait(t)

	type row struct {
		state, ref, err, reason string
		attempts                int
	}
	got := map[string]row{}
	rows, err := h.pool.Query(context.Background(), `
SELECT source_key, state, coalesce(target_ref, ''), coalesce(error, ''), coalesce(skip_reason, ''), attempts
FROM items WHERE run_id = $1`, res.Run)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var k string
		var r row
		if err := rows.Scan(&k, &r.state, &r.ref, &r.err, &r.reason, &r.attempts); err != nil {
			t.Fatal(err)
		}
		got[k] = r
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		r := got[it.Key]
		applies, _ := h.sink.counts(it.Key)
		var want row
		wantApplies := 1
		switch {
		case len(it.Key) == 7 && it.Key[5] == '1':
			want, wantApplies = row{state: "succeeded", ref: "T-" + it.Key, attempts: 1}, 2
		case len(it.Key) == 7 && it.Key[5] == '2':
			want = row{state: "dead", err: "400 invalid wattage", attempts: 1}
		case len(it.Key) == 7 && it.Key[5] == '3':
			want = row{state: "skipped", reason: "decommissioned", attempts: 1}
		default:
			want = row{state: "succeeded", ref: "T-" + it.Key, attempts: 1}
		}
		if r != want || applies != wantApplies {
			t.Errorf("%s: %+v applied %d times, want %+v applied %d times", it.Key, r, applies, want, wantApplies)
		}
	}
	if s := runState(t, h.pool, res.Run); s != "partial" {
		t.Fatalf("run is %s, want partial", s)
	}
	if n := intQuery(t, h.pool, `SELECT count(*) FROM critical_errors WHERE run_id = $1 AND error = '400 invalid wattage' AND item_id IS NOT NULL`, res.Run); n != 10 {
		t.Fatalf("%d permanent failures in the critical error log, want 10", n)
	}
	if len(alerts.dead) != 10 {
		t.Fatalf("alert hook told of %d dead items, want 10", len(alerts.dead))
	}
}

func TestCarryOverUntilDead(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src := &pageSource{items: makeItems("pole", 30), pageSize: 10}
	var alerts alertRecorder
	h := newHarness(t, src, func(c *Config) {
		c.BatchSize = 10
		c.Tries = 2
		c.MaxAttempts = 2
		c.Alerter = &alerts
	})
	// pole-7 always fails; pole-8 fails in the first run only, and the
	// source sends it again in the second; pole-9 fails in the first run
	// only and is carried.
	run := 1
	h.sink.decide = func(_ context.Context, key string, _ int) *Outcome {
		if key == "pole-7" || (run == 1 && (key == "pole-8" || key == "pole-9")) {
			o := Retry(errors.New("timeout"), 0)
			return &o
		}
		return nil
	}
	first, err := h.engine.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	h.wait(t)
	if s := runState(t, h.pool, first.Run); s != "partial" {
		t.Fatalf("first run is %s, want partial", s)
	}
	if n := intQuery(t, h.pool, `SELECT failed FROM runs WHERE id = $1`, first.Run); n != 3 {
		t.Fatalf("first run counts %d failed, want 3", n)
	}

	run = 2
	src.items = append(src.items, Item{Key: "pole-8", Payload: []byte(`{"asset":"pole-8","watts":99}`)})
	second, err := h.engine.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if second.Items != 3 || second.Carried != 2 {
		t.Fatalf("second plan = %+v, want pole-8 from the source and pole-7, pole-9 carried", second)
	}
	h.wait(t)

	state := func(run int64, key string) (s string, attempts int) {
		t.Helper()
		if err := h.pool.QueryRow(ctx, `SELECT state, attempts FROM items WHERE run_id = $1 AND source_key = $2`, run, key).
			Scan(&s, &attempts); err != nil {
			t.Fatalf("%s in run %d: %v", key, run, err)
		}
		return s, attempts
	}
	for key, want := range map[string]string{"pole-7": "dead", "pole-8": "succeeded", "pole-9": "succeeded"} {
		if s, _ := state(second.Run, key); s != want {
			t.Errorf("%s is %s in the second run, want %s", key, s, want)
		}
	}
	if _, attempts := state(second.Run, "pole-7"); attempts != 2 {
		t.Errorf("pole-7 tried in %d runs, want 2", attempts)
	}
	if _, attempts := state(second.Run, "pole-8"); attempts != 1 {
		t.Errorf("pole-8 from the source counts %d attempts, want a fresh 1", attempts)
	}
	if n := intQuery(t, h.pool, `SELECT count(*) FROM items WHERE run_id = $1 AND carried_into = $2`, first.Run, second.Run); n != 3 {
		t.Errorf("%d first-run failures settled by the second run, want 3", n)
	}
	if n := intQuery(t, h.pool, `SELECT count(*) FROM critical_errors WHERE source_key = 'pole-7' AND error = 'timeout'`); n != 1 {
		t.Errorf("pole-7 in the critical error log %d times, want once", n)
	}
	if len(alerts.dead) != 1 || alerts.dead[0].Key != "pole-7" || alerts.dead[0].Attempts != 2 {
		t.Errorf("alerts = %+v, want pole-7 after 2 attempts", alerts.dead)
	}

	third, err := h.engine.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if third.Carried != 0 || third.Items != 0 {
		t.Fatalf("third plan = %+v, want nothing: dead items are not carried", third)
	}
	if s := runState(t, h.pool, third.Run); s != "succeeded" {
		t.Fatalf("empty run is %s, want succeeded", s)
	}
}

func TestSinkPanicIsLoggedWithStack(t *testing.T) {
	t.Parallel()
	h := newHarness(t, &pageSource{items: makeItems("pole", 5), pageSize: 5}, nil)
	h.sink.decide = func(context.Context, string, int) *Outcome { panic("nil map in sink") }
	res, err := h.engine.Plan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	h.wait(t)
	var msg, stack string
	if err := h.pool.QueryRow(context.Background(),
		`SELECT error, stack FROM critical_errors WHERE run_id = $1 AND item_id IS NULL`, res.Run).Scan(&msg, &stack); err != nil {
		t.Fatal(err)
	}
	if msg != "sink panicked: nil map in sink" || !strings.Contains(stack, "countingSink") {
		t.Fatalf("critical error %q with stack %q", msg, stack)
	}
	if n := intQuery(t, h.pool, `SELECT count(*) FROM items WHERE run_id = $1 AND state = 'failed'`, res.Run); n != 5 {
		t.Fatalf("%d items failed, want all 5, to be carried into the next run", n)
	}
}

func TestBackoffGrowsWithJitterAndCap(t *testing.T) {
	t.Parallel()
	e := &Engine{cfg: Config{Backoff: 100 * time.Millisecond, MaxBackoff: time.Second}}
	for try, full := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond,
		4: 800 * time.Millisecond, 5: time.Second, 60: time.Second} {
		seen := map[time.Duration]bool{}
		for range 200 {
			d := e.backoff(try)
			if d < full/2 || d > full {
				t.Fatalf("backoff before try %d = %v, want within [%v, %v]", try+1, d, full/2, full)
			}
			seen[d] = true
		}
		if len(seen) < 2 {
			t.Fatalf("backoff before try %d has no jitter: %v", try+1, seen)
		}
	}
}

// TestRetryAfterBeyondDeadlineIsNotWaited has the target ask for a wait
// longer than the worker has: the engine does not sleep past its deadline,
// it records the item failed, to be carried into the next run.
func TestRetryAfterBeyondDeadlineIsNotWaited(t *testing.T) {
	t.Parallel()
	h := newHarness(t, &pageSource{items: makeItems("pole", 3), pageSize: 3}, func(c *Config) {
		c.Publisher = &linkRecorder{}
	})
	h.sink.decide = func(_ context.Context, key string, _ int) *Outcome {
		if key == "pole-1" {
			o := Retry(errors.New("429 too many requests"), 2*time.Hour)
			return &o
		}
		return nil
	}
	ctx := context.Background()
	res, err := h.engine.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	lambdaCtx, cancel := context.WithDeadline(ctx, h.clock.Now().Add(15*time.Minute))
	defer cancel()
	if err := h.engine.Work(lambdaCtx, Link{Workflow: h.engine.Workflow(), Run: res.Run}); err != nil {
		t.Fatal(err)
	}
	if applies, _ := h.sink.counts("pole-1"); applies != 1 {
		t.Fatalf("pole-1 applied %d times, want 1: a 2h Retry-After cannot be waited for", applies)
	}
	var state, msg string
	if err := h.pool.QueryRow(ctx, `SELECT state, error FROM items WHERE run_id = $1 AND source_key = 'pole-1'`, res.Run).
		Scan(&state, &msg); err != nil {
		t.Fatal(err)
	}
	if state != "failed" || msg != "429 too many requests" {
		t.Fatalf("pole-1 is %s with %q, want failed with the 429", state, msg)
	}
	if s := runState(t, h.pool, res.Run); s != "partial" {
		t.Fatalf("run is %s, want partial", s)
	}
}

// TestEmptyOutcomeIsARetryableFailure has the sink answer one item with the
// zero Outcome, as a sink with a forgotten branch would. The other items of
// the batch must still be recorded as they went, and the empty one must
// fail with an error that names the sink, not the worker.
func TestEmptyOutcomeIsARetryableFailure(t *testing.T) {
	t.Parallel()
	items := makeItems("pole", 10)
	h := newHarness(t, &pageSource{items: items, pageSize: 10}, func(c *Config) {
		c.BatchSize = 10
		c.Tries = 1
	})
	h.sink.decide = func(_ context.Context, key string, _ int) *Outcome {
		if key == "pole-3" {
			return &Outcome{}
		}
		return nil
	}
	res, err := h.engine.Plan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	h.wait(t)
	if n := intQuery(t, h.pool, `SELECT count(*) FROM items WHERE run_id = $1 AND state = 'succeeded'`, res.Run); n != 9 {
		t.Fatalf("%d items succeeded, want the 9 the sink answered", n)
	}
	var state, msg string
	if err := h.pool.QueryRow(context.Background(),
		`SELECT state, coalesce(error, '') FROM items WHERE run_id = $1 AND source_key = 'pole-3'`, res.Run).Scan(&state, &msg); err != nil {
		t.Fatal(err)
	}
	if state != "failed" || !strings.Contains(msg, "no outcome") {
		t.Fatalf("pole-3 is %s with error %q, want failed for the sink's missing outcome", state, msg)
	}
}
