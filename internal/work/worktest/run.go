package worktest

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/citylink/citylink/internal/work"
)

// Run is a closed run as the harness found it.
type Run struct {
	// Plan is what the plan reported; State the run's final state
	// (succeeded, partial or failed).
	Plan  work.PlanResult
	State string
	// Items are the run's items in planning order, with their outcomes.
	Items []work.ItemRecord
	// Rescues is how many rescue rounds the run needed.
	Rescues int
}

const runItemsSQL = `
SELECT id, run_id, source_key, state, attempts, coalesce(target_ref, ''), coalesce(error, ''),
       coalesce(skip_reason, ''), payload, finished_at
FROM items
WHERE run_id = $1
ORDER BY id`

func (h *Harness) loadRun(ctx context.Context, plan work.PlanResult) (*Run, error) {
	state, err := runState(ctx, h.Pool, plan.Run)
	if err != nil {
		return nil, err
	}
	rows, err := h.Pool.Query(ctx, runItemsSQL, plan.Run)
	if err != nil {
		return nil, fmt.Errorf("reading items of run %d: %w", plan.Run, err)
	}
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (work.ItemRecord, error) {
		var x work.ItemRecord
		err := r.Scan(&x.ID, &x.Run, &x.Key, &x.State, &x.Attempts, &x.TargetRef, &x.Error, &x.Reason,
			&x.Payload, &x.Finished)
		return x, err
	})
	if err != nil {
		return nil, fmt.Errorf("reading items of run %d: %w", plan.Run, err)
	}
	return &Run{Plan: plan, State: state, Items: items, Rescues: h.rescues}, nil
}

// Item returns the run's item of key, and whether there is one.
func (r *Run) Item(key string) (work.ItemRecord, bool) {
	for _, it := range r.Items {
		if it.Key == key {
			return it, true
		}
	}
	return work.ItemRecord{}, false
}

// Count returns how many of the run's items ended in state.
func (r *Run) Count(state work.Status) int {
	n := 0
	for _, it := range r.Items {
		if it.State == state {
			n++
		}
	}
	return n
}

// EveryItemHasOutcome fails the test unless every item of the run was
// settled (none left pending), each key was planned once, every succeeded
// item has its target reference, every skipped item its reason and every
// failed or dead item its error.
func (r *Run) EveryItemHasOutcome(tb testing.TB) {
	tb.Helper()
	seen := make(map[string]bool, len(r.Items))
	var bad []string
	for _, it := range r.Items {
		if seen[it.Key] {
			bad = append(bad, it.Key+": planned twice")
		}
		seen[it.Key] = true
		switch {
		case it.State == work.Pending:
			bad = append(bad, it.Key+": no outcome")
		case it.State == work.Succeeded && it.TargetRef == "":
			bad = append(bad, it.Key+": succeeded without a target reference")
		case it.State == work.Skipped && it.Reason == "":
			bad = append(bad, it.Key+": skipped without a reason")
		case (it.State == work.Failed || it.State == work.Dead) && it.Error == "":
			bad = append(bad, it.Key+": "+string(it.State)+" without an error")
		}
	}
	if len(bad) > 0 {
		tb.Errorf("worktest: run %d: %d items without a proper outcome: %s", r.Plan.Run, len(bad),
			strings.Join(bad[:min(len(bad), 10)], "; "))
	}
}

// Keys fails the test unless the run planned exactly the keys want, in any
// order.
func (r *Run) Keys(tb testing.TB, want []string) {
	tb.Helper()
	got := make(map[string]int, len(r.Items))
	for _, it := range r.Items {
		got[it.Key]++
	}
	var missing []string
	for _, k := range want {
		if got[k] == 0 {
			missing = append(missing, k)
		}
		delete(got, k)
	}
	if len(missing) > 0 || len(got) > 0 {
		extra := make([]string, 0, len(got))
		for k := range got {
			extra = append(extra, k)
		}
		tb.Errorf("worktest: run %d: %d keys missing (%s), %d unexpected (%s)", r.Plan.Run,
			len(missing), strings.Join(missing[:min(len(missing), 10)], ", "), len(extra), strings.Join(extra[:min(len(extra), 10)], ", "))
	}
}
