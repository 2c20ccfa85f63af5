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
