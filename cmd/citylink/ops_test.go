package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/citylink/citylink/internal/pgtest"
	"github.com/citylink/citylink/internal/work"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// poleSource serves a fixed list of poles, once: its watermark says it was
// read.
type poleSource struct{ keys []string }

func (s poleSource) Changes(_ context.Context, after work.Watermark) (work.Page, error) {
	if after != nil {
		return work.Page{Next: after}, nil
	}
	p := work.Page{Next: work.Watermark(`{"read":true}`)}
	for _, k := range s.keys {
		p.Items = append(p.Items, work.Item{Key: k, Payload: json.RawMessage(`{"asset":"` + k + `"}`)})
	}
	return p, nil
}

// poleSink succeeds except for the keys it is told are broken, which die.
type poleSink struct {
	mu     sync.Mutex
	broken map[string]bool
}

func (s *poleSink) Apply(_ context.Context, items []work.Item) ([]work.Outcome, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	outs := make([]work.Outcome, len(items))
	for i, it := range items {
		if s.broken[it.Key] {
			outs[i] = work.Permanent(fmt.Errorf("CMS rejected %s: unknown pole type", it.Key))
			continue
		}
		outs[i] = work.Success("cms-" + it.Key)
	}
	return outs, nil
}

func (s *poleSink) fix() {
	s.mu.Lock()
	s.broken = nil
	s.mu.Unlock()
}

// testWorkflow is a small workflow on a real database, worked in process.
type testWorkflow struct {
	pool   *pgxpool.Pool
	engine *work.Engine
	local  *work.Local
	sink   *poleSink
}

func newTestWorkflow(t *testing.T, pool *pgxpool.Pool, name string, keys []string, broken ...string) *testWorkflow {
	t.Helper()
	w := &testWorkflow{pool: pool, sink: &poleSink{broken: map[string]bool{}}, local: work.NewLocal(context.Background(), nil)}
	for _, k := range broken {
		w.sink.broken[k] = true
	}
	e, err := work.New(work.Config{Workflow: name, DB: pool, Publisher: w.local, Source: poleSource{keys},
		Sink: w.sink, Logger: slog.New(slog.DiscardHandler), BatchSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	w.engine, w.local.Deliver = e, e.Work
	return w
}

// runOnce plans a run and works it to the end.
func (w *testWorkflow) runOnce(t *testing.T) int64 {
	t.Helper()
	res, err := w.engine.Plan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := w.local.Wait(); err != nil {
		t.Fatal(err)
	}
	return res.Run
}

func poles(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("SL-%06d", i+1)
	}
	return keys
}

// citylink runs the CLI in process and returns its output and exit code.
func citylink(t *testing.T, args ...string) (string, int) {
	t.Helper()
	var out, stderr bytes.Buffer
	err := run(context.Background(), args, &out, slog.New(slog.DiscardHandler))
	code := exitCode(err, &stderr)
	return out.String() + stderr.String(), code
}

// TestStatusItemsAndReplay runs two small workflows on a real database,
// one of which has dead items, and asks the CLI about them as an operator
// would, in tables and in JSON, then replays the dead items and watches the
// run that carries them.
func TestStatusItemsAndReplay(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	imp := newTestWorkflow(t, pool, "test-import", poles(25), "SL-000003", "SL-000017")
	gis := newTestWorkflow(t, pool, "test-gis", []string{"SL-000003", "SL-000004"})
	first := imp.runOnce(t)
	gisRun := gis.runOnce(t)

	out, code := citylink(t, "status", "--database-url", url)
	if code != exitAttention {
		t.Fatalf("status exited %d, want %d (the import's latest run has dead items):\n%s", code, exitAttention, out)
	}
	for _, want := range []string{"RUN", "test-import", "partial", "test-gis", "succeeded"} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
	if out, code := citylink(t, "status", "--database-url", url, "--workflow", "test-gis"); code != exitOK || strings.Contains(out, "test-import") {
		t.Errorf("status of test-gis exited %d:\n%s", code, out)
	}
	if out, code := citylink(t, "status", "--database-url", url, "--workflow", "nope"); code != exitNotFound {
		t.Errorf("status of an unknown workflow exited %d:\n%s", code, out)
	}

	out, code = citylink(t, "status", "--database-url", url, "--run", fmt.Sprint(first), "--json")
	if code != exitAttention {
		t.Fatalf("status --run exited %d:\n%s", code, out)
	}
	var d runDetail
	if err := json.Unmarshal([]byte(out[:strings.LastIndex(out, "}")+1]), &d); err != nil {
		t.Fatalf("status --run --json: %v\n%s", err, out)
	}
	if d.Total != 25 || d.Succeeded != 23 || d.Dead != 2 || len(d.BatchList) != 3 || len(d.Problems) != 2 ||
		d.Problems[0].Key != "SL-000003" || !strings.Contains(d.Problems[0].Error, "unknown pole type") {
		t.Fatalf("status --run --json = %+v", d)
	}
	out, _ = citylink(t, "status", "--database-url", url, "--run", fmt.Sprint(first))
	for _, want := range []string{"25: 23 succeeded, 0 skipped, 0 failed, 2 dead", "BATCH", "SL-000017", "CMS rejected SL-000017", "citylink replay --run"} {
		if !strings.Contains(out, want) {
			t.Errorf("status --run lacks %q:\n%s", want, out)
		}
	}
	if _, code := citylink(t, "status", "--database-url", url, "--run", "999999"); code != exitNotFound {
		t.Errorf("status of a missing run exited %d", code)
	}

	out, code = citylink(t, "items", "--database-url", url, "--asset", "SL-000003", "--json")
	var hist []work.ItemRecord
	if err := json.Unmarshal([]byte(out), &hist); err != nil || code != exitOK {
		t.Fatalf("items --json exited %d: %v\n%s", code, err, out)
	}
	if len(hist) != 2 || hist[0].Workflow != "test-import" || hist[0].State != work.Dead || hist[1].Workflow != "test-gis" || hist[1].Run != gisRun {
		t.Fatalf("history of SL-000003 = %+v", hist)
	}
	if out, code := citylink(t, "items", "--database-url", url, "--asset", "SL-999999"); code != exitNotFound {
		t.Errorf("items of an unknown asset exited %d:\n%s", code, out)
	}

	// The CMS is fixed; the operator replays the dead items and watches the
	// import's next run carry them.
	imp.sink.fix()
	type result struct {
		out  string
		code int
	}
	done := make(chan result, 1)
	go func() {
		out, code := citylink(t, "replay", "--database-url", url, "--run", fmt.Sprint(first), "--dead")
		done <- result{out, code}
	}()
	waitFor(t, pool, `SELECT count(*) FROM items WHERE run_id = $1 AND state = 'failed' AND attempts = 0`, first, 2)
	second := imp.runOnce(t)
	r := <-done
	if r.code != exitOK {
		t.Fatalf("replay exited %d:\n%s", r.code, r.out)
	}
	for _, want := range []string{"queued 2 dead items of run", fmt.Sprintf("run %d test-import succeeded: 2/2 items (100%%)", second)} {
		if !strings.Contains(r.out, want) {
			t.Errorf("replay's output lacks %q:\n%s", want, r.out)
		}
	}
	out, _ = citylink(t, "items", "--database-url", url, "--asset", "SL-000017")
	if !strings.Contains(out, "unknown pole type") || !strings.Contains(out, "cms-SL-000017") {
		t.Errorf("items after the replay:\n%s", out)
	}
	out, code = citylink(t, "replay", "--database-url", url, "--run", fmt.Sprint(first), "--json")
	if code != exitOK || !strings.Contains(out, `"queued_items": []`) {
		t.Errorf("a second replay exited %d:\n%s", code, out)
	}
	if _, code := citylink(t, "replay", "--database-url", url, "--run", "999999"); code != exitNotFound {
		t.Errorf("replay of a missing run exited %d", code)
	}
}

// waitFor polls a count query until it reaches want; the replay runs
// concurrently and the test must not plan before it has queued its items.
func waitFor(t *testing.T, pool *pgxpool.Pool, sql string, arg any, want int) {
	t.Helper()
	for range 2000 {
		var n int
		if err := pool.QueryRow(context.Background(), sql, arg).Scan(&n); err != nil && !errors.Is(err, context.Canceled) {
			t.Fatal(err)
		}
		if n == want {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s never reached %d", sql, want)
}
