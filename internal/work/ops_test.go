package work

import (
	"context"
	"errors"
	"testing"
)

func TestHistoryRunsAndReplay(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHarness(t, &pageSource{items: makeItems("pole", 20), pageSize: 20}, nil)
	broken := true
	h.sink.decide = func(_ context.Context, key string, _ int) *Outcome {
		if key == "pole-4" && broken {
			o := Permanent(errors.New("CMS rejected pole type"))
			return &o
		}
		return nil
	}
	first, err := h.engine.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	h.wait(t)
	hist, err := History(ctx, h.pool, h.engine.Workflow(), "pole-4")
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 1 || hist[0].State != Dead || hist[0].Error != "CMS rejected pole type" || hist[0].Run != first.Run {
		t.Fatalf("history of pole-4 = %+v", hist)
	}

	// The CMS is fixed; the operator replays the dead item.
	broken = false
	if n, err := Replay(ctx, h.pool, h.engine.Workflow(), []int64{hist[0].ID, hist[0].ID + 1}); err != nil || n != 1 {
		t.Fatalf("replay = %d, %v; want only the dead item queued", n, err)
	}
	second, err := h.engine.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if second.Carried != 1 {
		t.Fatalf("second plan = %+v, want the replayed item carried", second)
	}
	h.wait(t)
	hist, err = History(ctx, h.pool, h.engine.Workflow(), "pole-4")
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 2 || hist[1].State != Succeeded || hist[1].TargetRef != "T-pole-4" || hist[1].Run != second.Run {
		t.Fatalf("history of pole-4 after replay = %+v", hist)
	}

	runs, err := Runs(ctx, h.pool, h.engine.Workflow(), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 2 || runs[0].ID != second.Run || runs[0].State != "succeeded" || runs[0].Succeeded != 1 ||
		runs[1].State != "partial" || runs[1].Dead != 1 || runs[1].Succeeded != 19 || runs[1].Finished == nil {
		t.Fatalf("runs = %+v", runs)
	}
}

// TestReplayOfAnOlderFailureCarriesOneItem replays a key's old dead item
// while a newer failure of the same key waits to be carried: the next run
// gets one item of the key, the newest.
func TestReplayOfAnOlderFailureCarriesOneItem(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src := &pageSource{items: makeItems("pole", 5), pageSize: 5}
	h := newHarness(t, src, func(c *Config) { c.Tries = 1 })
	run := 1
	h.sink.decide = func(_ context.Context, key string, _ int) *Outcome {
		switch {
		case key == "pole-4" && run == 1:
			o := Permanent(errors.New("rejected"))
			return &o
		case key == "pole-4" && run == 2:
			o := Retry(errors.New("timeout"), 0)
			return &o
		}
		return nil
	}
	if _, err := h.engine.Plan(ctx); err != nil {
		t.Fatal(err)
	}
	h.wait(t)
	run = 2
	src.items = append(src.items, Item{Key: "pole-4", Payload: []byte(`{"v":2}`)})
	if _, err := h.engine.Plan(ctx); err != nil {
		t.Fatal(err)
	}
	h.wait(t)
	hist, err := History(ctx, h.pool, h.engine.Workflow(), "pole-4")
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 2 || hist[0].State != Dead || hist[1].State != Failed {
		t.Fatalf("history = %+v, want dead then failed", hist)
	}
	if n, err := Replay(ctx, h.pool, h.engine.Workflow(), []int64{hist[0].ID}); err != nil || n != 1 {
		t.Fatalf("replay = %d, %v", n, err)
	}
	run = 3
	third, err := h.engine.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	h.wait(t)
	if third.Items != 1 || third.Carried != 1 {
		t.Fatalf("third plan = %+v, want one carried item", third)
	}
	hist, err = History(ctx, h.pool, h.engine.Workflow(), "pole-4")
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 3 || string(hist[2].Payload) != `{"v": 2}` || hist[2].State != Succeeded {
		t.Fatalf("history = %+v, want the newest payload carried and succeeded", hist)
	}
}
