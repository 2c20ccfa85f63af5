package gissync_test

import (
	"context"
	"testing"
)

// TestRetriesOfOneFailingItemAreBounded pulls a DOT edit into a CMS that
// answers 503 for that light's device every time, and counts the calls:
// the transport's 4 attempts per call times the engine's 2 tries per run
// times 3 runs, 24 in all, after which the item is dead and no later run
// calls again. This is the bound internal/work's package doc documents.
func TestRetriesOfOneFailingItemAreBounded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := newCity(t, cityOptions{lights: 300})
	assets := c.devices()
	c.run(c.push)
	c.run(c.pull)
	asset := assets[25]
	c.editDOT(asset, "ADDRESS", "11 Outage Rd")
	c.cmsDown.Store("/api/v1/devices/" + c.device(asset).ID)

	const transport, tries, runs = 4, 2, 3
	for run := 1; run <= runs; run++ {
		n := c.run(c.pull)
		if n.items != 1 || n.failed != 1 {
			t.Fatalf("run %d: %+v, want the one item failed", run, n)
		}
		if got := c.cmsDownCalls.Load(); got != int64(transport*tries*run) {
			t.Fatalf("after run %d the failing device was called %d times, want %d", run, got, transport*tries*run)
		}
	}
	var state string
	if err := c.pool.QueryRow(ctx, `SELECT state FROM items WHERE source_key = $1 ORDER BY id DESC LIMIT 1`, asset).Scan(&state); err != nil || state != "dead" {
		t.Fatalf("the item after %d runs is %q (%v), want dead", runs, state, err)
	}
	c.run(c.pull)
	if got := c.cmsDownCalls.Load(); got != transport*tries*runs {
		t.Errorf("a run after the item died called the device again: %d calls", got)
	}
}
