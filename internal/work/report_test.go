package work

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestReportsOfARun plans and works a run in which two items die and one
// fails, then reads it back as `citylink status --run` and the console do:
// live progress, batches, the failed and dead items with their errors, the
// throughput, and a replay of its failures into the next run.
func TestReportsOfARun(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHarness(t, &pageSource{items: makeItems("pole", 250), pageSize: 100}, func(c *Config) { c.Tries = 1 })
	broken := true
	h.sink.decide = func(_ context.Context, key string, _ int) *Outcome {
		if !broken {
			return nil
		}
		switch key {
		case "pole-7", "pole-107":
			o := Permanent(errors.New("CMS rejected pole type"))
			return &o
		case "pole-200":
			o := Retry(errors.New("CMS timed out"), 0)
			return &o
		}
		return nil
	}
	first, err := h.engine.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	h.wait(t)

	p, err := RunProgress(ctx, h.pool, first.Run)
	if err != nil {
		t.Fatal(err)
	}
	if p.Total != 250 || p.Done() != 250 || p.Succeeded != 247 || p.Dead != 2 || p.Failed != 1 || !p.Closed() || p.State != "partial" {
		t.Fatalf("progress = %+v", p)
	}
	if _, err := RunProgress(ctx, h.pool, first.Run+1000); !errors.Is(err, ErrRunNotFound) {
		t.Fatalf("progress of a run that is not there: %v", err)
	}

	bs, err := Batches(ctx, h.pool, first.Run)
	if err != nil {
		t.Fatal(err)
	}
	if len(bs) != 3 || bs[0].Items != 100 || bs[2].Items != 50 || bs[2].State != "done" || bs[0].Finished == nil {
		t.Fatalf("batches = %+v", bs)
	}

	bad, err := RunItems(ctx, h.pool, first.Run, []Status{Failed, Dead}, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(bad) != 3 || bad[0].Key != "pole-7" || bad[0].State != Dead || bad[0].Error != "CMS rejected pole type" ||
		bad[2].Key != "pole-200" || bad[2].Error != "CMS timed out" || bad[2].Workflow != h.engine.Workflow() {
		t.Fatalf("failed and dead items = %+v", bad)
	}

	rates, err := Throughput(ctx, h.pool, first.Run, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	sum := 0
	for _, r := range rates {
		sum += r.Items
	}
	if sum != 250 {
		t.Fatalf("throughput %+v adds up to %d items, want 250", rates, sum)
	}

	// The CMS is fixed: replaying only the dead leaves the failed item to
	// the carry-over it would get anyway.
	broken = false
	wf, ids, err := ReplayRun(ctx, h.pool, first.Run, []Status{Dead})
	if err != nil || wf != h.engine.Workflow() || len(ids) != 2 || ids[0] != bad[0].ID {
		t.Fatalf("replay = %s %v %v", wf, ids, err)
	}
	if into, err := CarriedInto(ctx, h.pool, ids); err != nil || into != 0 {
		t.Fatalf("before the next plan the replayed items are in run %d (%v)", into, err)
	}
	if _, _, err := ReplayRun(ctx, h.pool, first.Run, []Status{Succeeded}); err == nil {
		t.Fatal("replaying succeeded items was accepted")
	}
	second, err := h.engine.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	h.wait(t)
	if into, err := CarriedInto(ctx, h.pool, ids); err != nil || into != second.Run {
		t.Fatalf("replayed items went into run %d (%v), want %d", into, err, second.Run)
	}
	p, err = RunProgress(ctx, h.pool, second.Run)
	if err != nil || p.Total != 3 || p.Succeeded != 3 || p.State != "succeeded" {
		t.Fatalf("the replay's run: %+v %v", p, err)
	}
	_, again, err := ReplayRun(ctx, h.pool, first.Run, []Status{Failed, Dead})
	if err != nil || len(again) != 0 {
		t.Fatalf("replaying a run twice queued %v (%v)", again, err)
	}
}

// TestAssetHistoryAcrossWorkflows gives one asset items in two workflows,
// one keyed by the asset and one by the asset and an alarm, and reads them
// back in the order of their runs; a key that merely starts the same, or
// that holds LIKE's wildcards, is not mixed in.
func TestAssetHistoryAcrossWorkflows(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	imp := newHarness(t, &pageSource{items: []Item{
		{Key: "SL-1", Payload: []byte(`{}`)}, {Key: "SL-10", Payload: []byte(`{}`)}, {Key: "SL_1", Payload: []byte(`{}`)},
	}, pageSize: 10}, nil)
	alarm := &harness{pool: imp.pool, local: NewLocal(ctx, nil), sink: newCountingSink()}
	e, err := New(Config{Workflow: "alarm-test", DB: imp.pool, Publisher: alarm.local, Clock: imp.clock,
		Source: &pageSource{items: []Item{{Key: "SL-1:lamp_out", Payload: []byte(`{}`)}}, pageSize: 10}, Sink: alarm.sink})
	if err != nil {
		t.Fatal(err)
	}
	alarm.engine, alarm.local.Deliver = e, e.Work
	if _, err := imp.engine.Plan(ctx); err != nil {
		t.Fatal(err)
	}
	imp.wait(t)
	imp.clock.Advance(time.Minute)
	if _, err := alarm.engine.Plan(ctx); err != nil {
		t.Fatal(err)
	}
	alarm.wait(t)

	hist, err := AssetHistory(ctx, imp.pool, "SL-1", 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 2 || hist[0].Workflow != imp.engine.Workflow() || hist[0].Key != "SL-1" ||
		hist[1].Workflow != "alarm-test" || hist[1].Key != "SL-1:lamp_out" || hist[1].State != Succeeded {
		t.Fatalf("history of SL-1 = %+v", hist)
	}
	if hist, err := AssetHistory(ctx, imp.pool, "SL-%", 100); err != nil || len(hist) != 0 {
		t.Fatalf("a wildcard found %+v (%v)", hist, err)
	}
}
