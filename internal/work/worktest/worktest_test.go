package worktest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/citylink/citylink/internal/pgtest"
	"github.com/citylink/citylink/internal/work"
	"github.com/citylink/citylink/internal/work/worktest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

type pole struct {
	Asset string `json:"asset"`
	Watts int    `json:"watts"`
}

// poleSource serves n poles, pageSize per page, from an offset watermark.
type poleSource struct{ n, pageSize int }

func (s poleSource) Changes(_ context.Context, after work.Watermark) (work.Page, error) {
	var at int
	if len(after) > 0 {
		if err := json.Unmarshal(after, &at); err != nil {
			return work.Page{}, err
		}
	}
	end := min(at+s.pageSize, s.n)
	var p work.Page
	for i := at; i < end; i++ {
		it, err := work.NewItem(fmt.Sprintf("P-%04d", i), pole{Asset: fmt.Sprintf("P-%04d", i), Watts: 30 + i%90})
		if err != nil {
			return work.Page{}, err
		}
		p.Items = append(p.Items, it)
	}
	p.Next, _ = json.Marshal(end)
	p.More = end < s.n
	return p, nil
}

// target is a system a sink writes to: records per asset, counted.
type target struct {
	mu      sync.Mutex
	records map[string][]pole
}

func newTarget() *target { return &target{records: map[string][]pole{}} }

func (t *target) find(asset string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.records[asset]) > 0
}

func (t *target) create(p pole) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.records[p.Asset] = append(t.records[p.Asset], p)
}

func (t *target) counts(context.Context) (map[string]int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make(map[string]int, len(t.records))
	for k, v := range t.records {
		out[k] = len(v)
	}
	return out, nil
}

// upsertSink is idempotent: it looks for the asset before creating it.
func upsertSink(tg *target) work.Sink {
	return work.PerItem(4, func(_ context.Context, key string, p pole) work.Outcome {
		if !tg.find(key) {
			tg.create(p)
		}
		return work.Success("rec-" + key)
	})
}

// createSink is not: every apply creates a record.
func createSink(tg *target) work.Sink {
	return work.PerItem(4, func(_ context.Context, key string, p pole) work.Outcome {
		tg.create(p)
		return work.Success("rec-" + key)
	})
}

func keys(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("P-%04d", i)
	}
	return out
}

func TestIdempotentSinkSurvivesDuplicatesAndLostWorkers(t *testing.T) {
	t.Parallel()
	tg := newTarget()
	h := worktest.New(t, worktest.Config{
		Source:  poleSource{n: 300, pageSize: 70},
		Sink:    upsertSink(tg),
		Engine:  func(c *work.Config) { c.BatchSize = 10 },
		Twice:   func(work.Link) bool { return true },
		Lose:    worktest.Every(4),
		Effects: tg.counts,
	})
	run := h.Run(t)
	if run.State != "succeeded" {
		t.Fatalf("run %s, want succeeded", run.State)
	}
	run.Keys(t, keys(300))
	run.EveryItemHasOutcome(t)
	h.NoEffectTwice(t)
	if run.Count(work.Succeeded) != 300 {
		t.Errorf("%d items succeeded, want 300", run.Count(work.Succeeded))
	}
	if h.Lost() == 0 || run.Rescues == 0 {
		t.Errorf("%d workers lost, %d rescues: the faults were not injected", h.Lost(), run.Rescues)
	}
	if it, ok := run.Item("P-0042"); !ok || it.TargetRef != "rec-P-0042" {
		t.Errorf("item P-0042 = %+v, want its target reference", it)
	}
}

// recorder is a testing.TB that keeps the failures of the assertion under
// test instead of failing the test.
type recorder struct {
	testing.TB
	mu     sync.Mutex
	errors []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func (r *recorder) failed(substr string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range r.errors {
		if strings.Contains(e, substr) {
			return true
		}
	}
	return false
}

func TestNoEffectTwiceCatchesASinkThatRepeatsItself(t *testing.T) {
	t.Parallel()
	tg := newTarget()
	h := worktest.New(t, worktest.Config{
		Source:  poleSource{n: 40, pageSize: 40},
		Sink:    createSink(tg),
		Engine:  func(c *work.Config) { c.BatchSize = 10 },
		Lose:    worktest.Every(2),
		Effects: tg.counts,
	})
	run := h.Run(t)
	run.EveryItemHasOutcome(t) // the outcomes are all there: only the target knows
	rec := &recorder{TB: t}
	h.NoEffectTwice(rec)
	if !rec.failed("more than once") {
		t.Fatalf("a sink that creates on every apply passed NoEffectTwice after %d lost workers", h.Lost())
	}
}

func TestEffectHookCountsWhatTheSinkReports(t *testing.T) {
	t.Parallel()
	var h *worktest.Harness
	sink := work.PerItem(2, func(_ context.Context, key string, _ pole) work.Outcome {
		h.Effect(key)
		return work.Success("rec-" + key)
	})
	h = worktest.New(t, worktest.Config{Source: poleSource{n: 20, pageSize: 20}, Sink: sink, Twice: func(work.Link) bool { return true }})
	h.Run(t)
	h.NoEffectTwice(t) // the engine applies each item once, duplicate links or not

	h.Effect("P-0003")
	rec := &recorder{TB: t}
	h.NoEffectTwice(rec)
	if !rec.failed("P-0003 (2)") {
		t.Fatalf("a key recorded twice passed: %v", rec.errors)
	}
}

func TestEveryItemHasOutcomeCatchesMissingReferences(t *testing.T) {
	t.Parallel()
	sink := work.PerItem(2, func(_ context.Context, key string, p pole) work.Outcome {
		if p.Watts%2 == 0 {
			return work.Success("")
		}
		return work.Success("rec-" + key)
	})
	h := worktest.New(t, worktest.Config{Source: poleSource{n: 10, pageSize: 10}, Sink: sink})
	run := h.Run(t)
	rec := &recorder{TB: t}
	run.EveryItemHasOutcome(rec)
	if !rec.failed("without a target reference") {
		t.Fatalf("items without references passed: %v", rec.errors)
	}
}
