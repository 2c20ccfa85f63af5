package work

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"
)

// tableState is what a failed plan must leave as it was.
type tableState struct {
	watermark                       string
	runs, batches, items, chains    int
	uncarried, itemsSum, batchesSum int
}

func readTables(t *testing.T, h *harness) tableState {
	t.Helper()
	var s tableState
	err := h.pool.QueryRow(context.Background(), `
SELECT coalesce((SELECT value::text FROM watermarks WHERE workflow = $1), ''),
       (SELECT count(*) FROM runs), (SELECT count(*) FROM batches), (SELECT count(*) FROM items),
       (SELECT count(*) FROM chains),
       (SELECT count(*) FROM items WHERE state = 'failed' AND carried_into IS NULL),
       (SELECT coalesce(sum(id), 0) FROM items), (SELECT coalesce(sum(item_count), 0) FROM batches)`,
		h.engine.Workflow()).Scan(&s.watermark, &s.runs, &s.batches, &s.items, &s.chains, &s.uncarried, &s.itemsSum, &s.batchesSum)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestSourceErrorMidPlanKeepsItsPages has the source break half-way
// through a plan: the pages read so far stay recorded in the run, which
// stays in planning with its cursor, the watermark stays where it was, and
// the next plan continues from the cursor instead of reading it all again.
func TestSourceErrorMidPlanKeepsItsPages(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src := &pageSource{items: makeItems("pole", 100), pageSize: 10}
	h := newHarness(t, src, func(c *Config) { c.BatchSize = 10; c.Tries = 1 })
	h.sink.decide = func(_ context.Context, key string, _ int) *Outcome {
		if key == "pole-42" {
			o := Retry(errors.New("timeout"), 0)
			return &o
		}
		return nil
	}
	if _, err := h.engine.Plan(ctx); err != nil {
		t.Fatal(err)
	}
	h.wait(t)
	before := readTables(t, h)
	if before.watermark != `{"offset": 100}` || before.uncarried != 1 {
		t.Fatalf("after the first run: %+v, want watermark at 100 and pole-42 waiting to be carried", before)
	}

	// New changes arrive; the source breaks on the fourth page, after three
	// pages were recorded.
	src.items = append(src.items, makeItems("lamp", 100)...)
	src.calls = 0
	src.failAt = 4
	res, err := h.engine.Plan(ctx)
	if !errors.Is(err, errSourceBroken) {
		t.Fatalf("plan = %v, want the source's error", err)
	}
	if src.calls != 4 {
		t.Fatalf("source called %d times, want 4: the failure should come half-way", src.calls)
	}
	if !res.Planning || res.Items != 30 || res.Pages != 3 {
		t.Fatalf("failed plan = %+v, want the run planning with its 3 pages and 30 items", res)
	}
	after := readTables(t, h)
	if after.watermark != before.watermark || after.batches != before.batches || after.chains != before.chains ||
		after.uncarried != 1 || after.items != before.items+30 {
		t.Fatalf("failed plan:\nbefore %+v\nafter  %+v\nwant 30 more items and nothing else changed", before, after)
	}
	var (
		state, cursor string
		owner         *string
	)
	if err := h.pool.QueryRow(ctx, `SELECT state, plan_cursor::text, plan_owner FROM runs WHERE id = $1`, res.Run).
		Scan(&state, &cursor, &owner); err != nil {
		t.Fatal(err)
	}
	if state != "planning" || cursor != `{"offset": 130}` || owner != nil {
		t.Fatalf("run after the failure: %s at %s held by %v; want planning at offset 130, released", state, cursor, owner)
	}

	// Once the source works again the plan continues from the cursor, and
	// carries pole-42 over when the source is exhausted.
	src.failAt = 0
	src.calls = 0
	h.sink.decide = nil
	var asked []string
	src.onCall = func(_ context.Context, _ int, after Watermark) error {
		asked = append(asked, string(after))
		return nil
	}
	res2, err := h.engine.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res2.Run != res.Run || res2.Planning || res2.Items != 101 || res2.Carried != 1 || string(res2.Watermark) != `{"offset":200}` {
		t.Fatalf("plan after repair = %+v, want run %d done with 100 new items and pole-42", res2, res.Run)
	}
	if len(asked) != 7 || asked[0] != `{"offset": 130}` {
		t.Fatalf("the continued plan asked the source for %v; want the 7 pages from offset 130", asked)
	}
	h.wait(t)
	if s := runState(t, h.pool, res.Run); s != "succeeded" {
		t.Fatalf("run is %s, want succeeded", s)
	}
	keysOnce(t, h, res.Run, append(makeItems("lamp", 100), Item{Key: "pole-42"}))
}

// keysOnce asserts that the run has exactly one item of each of the keys
// and no other, each with an outcome.
func keysOnce(t *testing.T, h *harness, run int64, items []Item) {
	t.Helper()
	rows, err := h.pool.Query(context.Background(),
		`SELECT source_key, count(*), count(*) FILTER (WHERE state <> 'pending') FROM items WHERE run_id = $1 GROUP BY source_key`, run)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for rows.Next() {
		var (
			key          string
			n, withState int
		)
		if err := rows.Scan(&key, &n, &withState); err != nil {
			t.Fatal(err)
		}
		if n != 1 || withState != 1 {
			t.Errorf("key %s has %d items, %d with an outcome; want 1 and 1", key, n, withState)
		}
		got[key] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		if got[it.Key] == 0 {
			t.Errorf("key %s has no item", it.Key)
		}
		delete(got, it.Key)
	}
	if len(got) > 0 {
		t.Errorf("run %d has %d unexpected keys", run, len(got))
	}
}

// openTransactionsSQL counts the client sessions of the test's database,
// other than the one asking, that are inside a transaction.
const openTransactionsSQL = `
SELECT count(*) FROM pg_stat_activity
WHERE datname = current_database() AND pid <> pg_backend_pid()
  AND backend_type = 'client backend' AND xact_start IS NOT NULL`

// watchTransactions makes the source count, on every call, the
// transactions open in the database: a plan must hold none while it waits
// on the source. It returns the number of calls that found one.
func watchTransactions(h *harness, src *pageSource, next func(ctx context.Context, call int, after Watermark) error) *atomic.Int64 {
	var bad atomic.Int64
	src.onCall = func(ctx context.Context, call int, after Watermark) error {
		var n int
		if err := h.pool.QueryRow(ctx, openTransactionsSQL).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			bad.Add(1)
		}
		if next != nil {
			return next(ctx, call, after)
		}
		return nil
	}
	return &bad
}

// deadlineIn returns a context whose deadline is d after the engine's
// clock, as a Lambda invocation's is.
func deadlineIn(t *testing.T, h *harness, d time.Duration) context.Context {
	ctx, cancel := context.WithDeadline(context.Background(), h.clock.Now().Add(d))
	t.Cleanup(cancel)
	return ctx
}

// TestPlanCutByDeadlineResumes plans a source of many pages in invocations
// whose deadline comes after a few pages: each page takes a minute on the
// engine's clock. Every invocation stops before its deadline and leaves the
// run in planning; the next plan and, alternately, the rescuer continue it,
// and in the end every key has exactly one item and one outcome. The source
// repeats keys of earlier pages (and so of earlier invocations), which must
// update their items, not add any. No transaction is open while the source
// is called, and the watermark moves only when the source is exhausted.
func TestPlanCutByDeadlineResumes(t *testing.T) {
	t.Parallel()
	items := makeItems("pole", 500)
	// Keys of earlier pages come again, with newer values, later on.
	for i := 0; i < 500; i += 25 {
		items = append(items, Item{Key: fmt.Sprintf("pole-%d", i), Payload: json.RawMessage(`{"again":true}`)})
	}
	src := &pageSource{items: items, pageSize: 20}
	h := newHarness(t, src, func(c *Config) { c.BatchSize = 30; c.Margin = 30 * time.Second })
	delivered := h.countDeliveries()
	bad := watchTransactions(h, src, func(context.Context, int, Watermark) error {
		h.clock.Advance(time.Minute)
		return nil
	})
	pages := (len(items) + 19) / 20

	var (
		res     PlanResult
		err     error
		rounds  int
		resumed int
	)
	for rounds = 1; ; rounds++ {
		// Room for about five pages an invocation.
		ctx := deadlineIn(t, h, 6*time.Minute)
		if rounds%2 == 0 {
			var r RescueResult
			r, err = h.engine.Rescue(ctx)
			if r.Resumed != 1 {
				t.Fatalf("rescue %d = %+v, %v; want the planning run continued", rounds, r, err)
			}
			resumed++
			var p Progress
			p, err = RunProgress(context.Background(), h.pool, res.Run)
			res.Planning = !r.ResumedDone
			if p.Total != r.ResumedItems {
				t.Fatalf("rescue reports %d items, the run has %d", r.ResumedItems, p.Total)
			}
		} else {
			res, err = h.engine.Plan(ctx)
		}
		if err != nil {
			t.Fatalf("invocation %d: %v", rounds, err)
		}
		if !res.Planning {
			break
		}
		if rounds > pages {
			t.Fatalf("still planning after %d invocations", rounds)
		}
		p, err := RunProgress(context.Background(), h.pool, res.Run)
		if err != nil {
			t.Fatal(err)
		}
		if p.State != "planning" || p.Closed() || p.Total == 0 {
			t.Fatalf("run after invocation %d is %s with %d items, want planning with its items so far", rounds, p.State, p.Total)
		}
		if runs, err := Runs(context.Background(), h.pool, h.engine.Workflow(), 1); err != nil || len(runs) != 1 ||
			runs[0].State != "planning" || runs[0].Items != p.Total {
			t.Fatalf("Runs after invocation %d = %+v, %v; want the run planning with its %d items so far", rounds, runs, err, p.Total)
		}
		if n := intQuery(t, h.pool, `SELECT count(*) FROM watermarks`); n != 0 {
			t.Fatalf("watermark saved after invocation %d, before the source was exhausted", rounds)
		}
		if n := intQuery(t, h.pool, `SELECT count(*) FROM batches`); n != 0 {
			t.Fatalf("%d batches cut before the source was exhausted", n)
		}
		if n := delivered.Load(); n != 0 {
			t.Fatalf("%d links published while planning", n)
		}
	}
	if rounds < 4 || resumed == 0 {
		t.Fatalf("planned in %d invocations (%d by the rescuer); want the deadline to cut it several times", rounds, resumed)
	}
	if src.calls != pages {
		t.Fatalf("source called %d times for %d pages: a page was read twice or never", src.calls, pages)
	}
	if n := bad.Load(); n > 0 {
		t.Fatalf("%d source calls found a transaction open", n)
	}
	run := res.Run
	if n := intQuery(t, h.pool, `SELECT count(*) FROM watermarks WHERE value = $1 AND run_id = $2`, fmt.Sprintf(`{"offset": %d}`, len(items)), run); n != 1 {
		t.Fatal("watermark not advanced to the end of the source by the run")
	}
	if n := intQuery(t, h.pool, `SELECT item_count FROM runs WHERE id = $1`, run); n != 500 {
		t.Fatalf("run has %d items, want 500", n)
	}
	if n := intQuery(t, h.pool, `SELECT count(*) FROM items WHERE run_id = $1 AND payload = '{"again":true}'`, run); n != 20 {
		t.Fatalf("%d items have the later value of their key, want 20", n)
	}
	// Batches are full and in the order the keys first came.
	if n := intQuery(t, h.pool, `SELECT count(*) FROM (SELECT batch_seq FROM items WHERE run_id = $1 GROUP BY batch_seq HAVING count(*) <> 30) b`, run); n != 1 {
		t.Fatalf("%d batches are not full, want only the last", n)
	}

	// The run is worked: every key ends with one outcome.
	h.wait(t)
	checkExactlyOnce(t, h, run, items[:500])
	keysOnce(t, h, run, items[:500])
}

func TestTwoPlansAtOnceOpenOneRun(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src := &pageSource{items: makeItems("pole", 50), pageSize: 10, started: make(chan struct{}), release: make(chan struct{})}
	h := newHarness(t, src, nil)
	h.local.Deliver = func(context.Context, Link) error { return nil } // keep the run open

	type result struct {
		res PlanResult
		err error
	}
	results := make(chan result, 2)
	plan := func() {
		res, err := h.engine.Plan(ctx)
		results <- result{res, err}
	}
	go plan()
	go plan()
	// Exactly one plan reaches the source, which holds it there; the other
	// must give up without waiting for it.
	<-src.started
	loser := <-results
	if !errors.Is(loser.err, ErrRunOpen) {
		t.Fatalf("second plan = %+v, %v; want ErrRunOpen", loser.res, loser.err)
	}
	close(src.release)
	winner := <-results
	if winner.err != nil {
		t.Fatal(winner.err)
	}
	// With the run still open, a later plan is refused too.
	if _, err := h.engine.Plan(ctx); !errors.Is(err, ErrRunOpen) {
		t.Fatalf("plan while a run is open = %v, want ErrRunOpen", err)
	}
	if _, planned, err := h.engine.Tick(ctx); err != nil || planned {
		t.Fatalf("tick while a run is open: planned %v, %v; want a quiet no-op", planned, err)
	}
	h.wait(t)
	if n := intQuery(t, h.pool, `SELECT count(*) FROM runs WHERE workflow = $1`, h.engine.Workflow()); n != 1 {
		t.Fatalf("%d runs, want 1", n)
	}
	if n := intQuery(t, h.pool, `SELECT count(*) FROM items`); n != 50 {
		t.Fatalf("%d items, want 50", n)
	}
}

// TestDeadPlannerHoldsTheRunUntilItsLeaseExpires has the invocation that
// was planning a run die holding its lease (no release, as a Lambda killed
// at its timeout): until the lease expires neither a plan nor the rescuer
// touches the run; then the rescuer continues it from its cursor.
func TestDeadPlannerHoldsTheRunUntilItsLeaseExpires(t *testing.T) {
	t.Parallel()
	items := makeItems("pole", 100)
	src := &pageSource{items: items, pageSize: 10}
	h := newHarness(t, src, func(c *Config) { c.BatchSize = 10; c.Margin = 30 * time.Second })
	src.onCall = func(context.Context, int, Watermark) error {
		h.clock.Advance(time.Minute)
		return nil
	}
	res, err := h.engine.Plan(deadlineIn(t, h, 4*time.Minute))
	if err != nil || !res.Planning || res.Pages == 0 {
		t.Fatalf("first plan = %+v, %v; want it paused after some pages", res, err)
	}
	// The next invocation takes the run and dies in it.
	ctx := context.Background()
	if _, err := h.pool.Exec(ctx, `UPDATE runs SET plan_owner = 'dead', plan_expires_at = $2 WHERE id = $1`,
		res.Run, h.clock.Now().Add(h.engine.LeaseTTL())); err != nil {
		t.Fatal(err)
	}
	calls := src.calls
	if _, err := h.engine.Plan(ctx); !errors.Is(err, ErrRunOpen) {
		t.Fatalf("plan while the dead planner's lease lasts = %v, want ErrRunOpen", err)
	}
	if r, err := h.engine.Rescue(ctx); err != nil || r.Resumed != 0 {
		t.Fatalf("rescue while the lease lasts = %+v, %v; want the run left alone", r, err)
	}
	if src.calls != calls {
		t.Fatal("the source was read while another invocation held the run")
	}
	h.clock.Advance(h.engine.LeaseTTL() + time.Second)
	r, err := h.engine.Rescue(ctx)
	if err != nil || r.Resumed != 1 || !r.ResumedDone || r.ResumedItems != 100 {
		t.Fatalf("rescue after the lease expired = %+v, %v; want the plan finished with 100 items", r, err)
	}
	if src.calls != 10 {
		t.Fatalf("source called %d times for 10 pages", src.calls)
	}
	h.wait(t)
	checkExactlyOnce(t, h, res.Run, items)
	keysOnce(t, h, res.Run, items)
}

// TestOvertakenPlannerWritesNothing has a planner wait on the source past
// its lease: another invocation takes the run over and finishes it, and
// the page the first one then brings back is not recorded.
func TestOvertakenPlannerWritesNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	items := makeItems("pole", 60)
	src := &pageSource{items: items, pageSize: 10}
	h := newHarness(t, src, func(c *Config) { c.BatchSize = 10 })
	blocked, release := make(chan struct{}), make(chan struct{})
	src.onCall = func(_ context.Context, call int, _ Watermark) error {
		if call == 3 {
			close(blocked)
			<-release
		}
		return nil
	}
	first := make(chan error, 1)
	go func() {
		_, err := h.engine.Plan(ctx)
		first <- err
	}()
	<-blocked
	h.clock.Advance(h.engine.LeaseTTL() + time.Second)
	r, err := h.engine.Rescue(ctx)
	if err != nil || r.Resumed != 1 || !r.ResumedDone || r.ResumedItems != 60 {
		t.Fatalf("rescue = %+v, %v; want the plan taken over and finished with 60 items", r, err)
	}
	close(release)
	if err := <-first; !errors.Is(err, ErrRunOpen) {
		t.Fatalf("overtaken plan = %v, want ErrRunOpen", err)
	}
	h.wait(t)
	run := int64(intQuery(t, h.pool, `SELECT id FROM runs`))
	if n := intQuery(t, h.pool, `SELECT plan_pages FROM runs WHERE id = $1`, run); n != 6 {
		t.Fatalf("run recorded %d pages, want 6", n)
	}
	checkExactlyOnce(t, h, run, items)
	keysOnce(t, h, run, items)
}

// TestConcurrentPlannersShareOneRun has four invocations plan at once, over
// and over, each with room for a few pages: they take turns on one run,
// each page is read and recorded once, and every key gets one item.
func TestConcurrentPlannersShareOneRun(t *testing.T) {
	t.Parallel()
	items := makeItems("pole", 400)
	src := &pageSource{items: items, pageSize: 10}
	h := newHarness(t, src, func(c *Config) { c.BatchSize = 25; c.Margin = 30 * time.Second })
	src.onCall = func(context.Context, int, Watermark) error {
		h.clock.Advance(time.Minute)
		return nil
	}
	ctx := context.Background()
	var g errgroup.Group
	var planned atomic.Int64
	for range 4 {
		g.Go(func() error {
			for {
				pctx, cancel := context.WithDeadline(ctx, h.clock.Now().Add(4*time.Minute))
				res, err := h.engine.Plan(pctx)
				cancel()
				switch {
				case errors.Is(err, ErrRunOpen):
					var open bool
					if err := h.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM runs WHERE state = 'planning')`).Scan(&open); err != nil {
						return err
					}
					if !open {
						return nil
					}
					runtime.Gosched()
				case err != nil:
					return err
				case !res.Planning:
					planned.Add(1)
					return nil
				}
			}
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	if n := planned.Load(); n != 1 {
		t.Fatalf("%d plans finished a run, want 1", n)
	}
	if src.calls != 40 {
		t.Fatalf("source called %d times for 40 pages (lost %d)", src.calls, h.logs.count("planning lease lost; another invocation continues the plan"))
	}
	h.wait(t)
	if n := intQuery(t, h.pool, `SELECT count(*) FROM runs`); n != 1 {
		t.Fatalf("%d runs, want 1", n)
	}
	run := int64(intQuery(t, h.pool, `SELECT id FROM runs`))
	checkExactlyOnce(t, h, run, items)
	keysOnce(t, h, run, items)
}
