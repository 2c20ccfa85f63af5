package work

import (
	"context"
	"errors"
	"testing"
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

func TestPlanFailingHalfwayChangesNothing(t *testing.T) {
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
	// pages' items have gone down the COPY stream.
	src.items = append(src.items, makeItems("lamp", 100)...)
	src.calls = 0
	src.failAt = 4
	_, err := h.engine.Plan(ctx)
	if !errors.Is(err, errSourceBroken) {
		t.Fatalf("plan = %v, want the source's error", err)
	}
	if src.calls != 4 {
		t.Fatalf("source called %d times, want 4: the failure should come half-way", src.calls)
	}
	if after := readTables(t, h); after != before {
		t.Fatalf("failed plan changed the tables:\nbefore %+v\nafter  %+v", before, after)
	}

	// Once the source works again the plan picks up where the watermark
	// says, with the carried item.
	src.failAt = 0
	res, err := h.engine.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Items != 101 || res.Carried != 1 || string(res.Watermark) != `{"offset":200}` {
		t.Fatalf("plan after repair = %+v, want 100 new items and pole-42", res)
	}
	h.wait(t)
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
