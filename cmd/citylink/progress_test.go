package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/citylink/citylink/internal/pgtest"
	"github.com/citylink/citylink/internal/work"
)

// TestWatcherDrawsABarOrPrintsLines watches a finished run both ways: as a
// progress bar, as on a terminal, and as plain lines, as in a pipe.
func TestWatcherDrawsABarOrPrintsLines(t *testing.T) {
	t.Parallel()
	pool, err := pgxpool.New(context.Background(), pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	wf := newTestWorkflow(t, pool, "test-watch", poles(40), "SL-000005")
	id := wf.runOnce(t)

	var bar bytes.Buffer
	w := newWatcher(pool, &bar)
	w.bar = true
	p, err := w.watch(context.Background(), id)
	if err != nil || p.Done() != 40 || p.Dead != 1 {
		t.Fatalf("watch = %+v, %v", p, err)
	}
	if !strings.Contains(bar.String(), "100%") || !strings.Contains(bar.String(), "40/40") || !strings.Contains(bar.String(), "1 dead") {
		t.Errorf("the bar shows %q", bar.String())
	}

	var lines bytes.Buffer
	if isTerminal(&lines) {
		t.Fatal("a buffer is taken for a terminal")
	}
	if _, err := newWatcher(pool, &lines).watch(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	if want := "test-watch partial: 40/40 items (100%); 39 succeeded, 0 skipped, 0 failed, 1 dead"; !strings.Contains(lines.String(), want) {
		t.Errorf("plain output %q lacks %q", lines.String(), want)
	}
}

// TestProgressLineRateAndETA checks the arithmetic of a plain line.
func TestProgressLineRateAndETA(t *testing.T) {
	t.Parallel()
	p := work.Progress{Run: 7, Workflow: "arcgis-import", State: "running", Total: 1000, Pending: 600, Succeeded: 400}
	got := progressLine(p, 400, 20*time.Second)
	want := "run 7 arcgis-import running: 400/1000 items (40%), 20.0 items/s, ETA 30s; 400 succeeded, 0 skipped, 0 failed, 0 dead"
	if got != want {
		t.Errorf("progressLine = %q, want %q", got, want)
	}
}
