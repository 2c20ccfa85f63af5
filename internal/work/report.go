package work

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrRunNotFound is returned for a run id that names no run.
var ErrRunNotFound = errors.New("no such run")

// Progress is where a run stands now: its items by state, read from the
// items themselves, so it is live while the run works (a run's own counters
// are written only when it closes).
type Progress struct {
	Run       int64      `json:"run"`
	Workflow  string     `json:"workflow"`
	State     string     `json:"state"`
	Started   time.Time  `json:"started"`
	Finished  *time.Time `json:"finished,omitempty"`
	Total     int        `json:"total"`
	Pending   int        `json:"pending"`
	Succeeded int        `json:"succeeded"`
	Skipped   int        `json:"skipped"`
	Failed    int        `json:"failed"`
	Dead      int        `json:"dead"`
	// PlanFailures counts the plan attempts of a planning run that failed
	// in a row (the source erred), PlanError and PlanErrorAt the last one:
	// why a run is stuck planning. A recorded page clears them.
	PlanFailures int        `json:"plan_failures,omitempty"`
	PlanError    string     `json:"plan_error,omitempty"`
	PlanErrorAt  *time.Time `json:"plan_error_at,omitempty"`
}

// Done counts the items that have an outcome.
func (p Progress) Done() int { return p.Total - p.Pending }

// Closed reports whether the run has ended: it is neither still being
// planned (its items so far are counted) nor running.
func (p Progress) Closed() bool { return p.State != "running" && p.State != "planning" }

const progressSQL = `
SELECT r.id, r.workflow, r.state, r.started_at, r.finished_at,
       count(i.id),
       count(i.id) FILTER (WHERE i.state = 'pending'),
       count(i.id) FILTER (WHERE i.state = 'succeeded'),
       count(i.id) FILTER (WHERE i.state = 'skipped'),
       count(i.id) FILTER (WHERE i.state = 'failed'),
       count(i.id) FILTER (WHERE i.state = 'dead'),
       r.plan_failures, coalesce(r.plan_error, ''), r.plan_error_at
FROM runs r LEFT JOIN items i ON i.run_id = r.id
WHERE r.id = $1
GROUP BY r.id`

// RunProgress returns where run stands now, or ErrRunNotFound.
func RunProgress(ctx context.Context, db DB, run int64) (Progress, error) {
	var p Progress
	err := db.QueryRow(ctx, progressSQL, run).Scan(&p.Run, &p.Workflow, &p.State, &p.Started, &p.Finished,
		&p.Total, &p.Pending, &p.Succeeded, &p.Skipped, &p.Failed, &p.Dead,
		&p.PlanFailures, &p.PlanError, &p.PlanErrorAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return p, fmt.Errorf("run %d: %w", run, ErrRunNotFound)
	}
	if err != nil {
		return p, fmt.Errorf("reading progress of run %d: %w", run, err)
	}
	return p, nil
}

// BatchRecord is one batch of a run as operators see it.
type BatchRecord struct {
	Seq      int        `json:"seq"`
	State    string     `json:"state"`
	Items    int        `json:"items"`
	Attempt  int        `json:"attempt"`
	Chain    *int       `json:"chain,omitempty"`
	Claimed  *time.Time `json:"claimed,omitempty"`
	Finished *time.Time `json:"finished,omitempty"`
}

const batchesSQL = `
SELECT seq, state, item_count, attempt, chain, claimed_at, finished_at
FROM batches WHERE run_id = $1 ORDER BY seq`

// Batches returns a run's batches in order.
func Batches(ctx context.Context, db DB, run int64) ([]BatchRecord, error) {
	rows, err := db.Query(ctx, batchesSQL, run)
	if err != nil {
		return nil, fmt.Errorf("listing batches of run %d: %w", run, err)
	}
	bs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (BatchRecord, error) {
		var b BatchRecord
		err := r.Scan(&b.Seq, &b.State, &b.Items, &b.Attempt, &b.Chain, &b.Claimed, &b.Finished)
		return b, err
	})
	if err != nil {
		return nil, fmt.Errorf("listing batches of run %d: %w", run, err)
	}
	return bs, nil
}

const runItemsSQL = `
SELECT id, workflow, run_id, source_key, state, attempts, coalesce(target_ref, ''), coalesce(error, ''),
       coalesce(skip_reason, ''), payload, finished_at, carried_into
FROM items
WHERE run_id = $1 AND state = ANY($2)
ORDER BY id
LIMIT $3`

// RunItems returns up to limit items of run in the given states, such as
// its failed and dead items with their errors.
func RunItems(ctx context.Context, db DB, run int64, states []Status, limit int) ([]ItemRecord, error) {
	rows, err := db.Query(ctx, runItemsSQL, run, statusStrings(states), limit)
	if err != nil {
		return nil, fmt.Errorf("listing items of run %d: %w", run, err)
	}
	return collectItems(rows)
}

// assetHistorySQL finds an asset's items in every workflow: by its key, and
// by keys that name the asset and something of it, such as "SL-1:lamp_out"
// for an alarm of the asset (items_source_key_pattern, migration 0007,
// serves both). Items are in the order their runs started.
const assetHistorySQL = `
SELECT i.id, i.workflow, i.run_id, i.source_key, i.state, i.attempts, coalesce(i.target_ref, ''),
       coalesce(i.error, ''), coalesce(i.skip_reason, ''), i.payload, i.finished_at, i.carried_into
FROM items i JOIN runs r ON r.id = i.run_id
WHERE i.source_key = $1 OR i.source_key LIKE replace(replace(replace($1, '\', '\\'), '%', '\%'), '_', '\_') || ':%'
ORDER BY r.started_at, i.id
LIMIT $2`

// AssetHistory answers "what happened to pole X" across every workflow:
// its items in time order, newest last, at most limit of them.
func AssetHistory(ctx context.Context, db DB, asset string, limit int) ([]ItemRecord, error) {
	rows, err := db.Query(ctx, assetHistorySQL, asset, limit)
	if err != nil {
		return nil, fmt.Errorf("reading history of %s: %w", asset, err)
	}
	return collectItems(rows)
}

func collectItems(rows pgx.Rows) ([]ItemRecord, error) {
	recs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ItemRecord, error) {
		var x ItemRecord
		err := r.Scan(&x.ID, &x.Workflow, &x.Run, &x.Key, &x.State, &x.Attempts, &x.TargetRef, &x.Error,
			&x.Reason, &x.Payload, &x.Finished, &x.CarriedInto)
		return x, err
	})
	if err != nil {
		return nil, fmt.Errorf("reading items: %w", err)
	}
	return recs, nil
}

func statusStrings(ss []Status) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = string(s)
	}
	return out
}

// Rate is how many items finished in one interval of a run.
type Rate struct {
	At    time.Time `json:"at"`
	Items int       `json:"items"`
}

const throughputSQL = `
SELECT to_timestamp(floor(extract(epoch FROM finished_at) / $2) * $2) AS at, count(*)
FROM items
WHERE run_id = $1 AND finished_at IS NOT NULL
GROUP BY 1 ORDER BY 1`

// Throughput returns the items of run finished per interval of step, for
// the console's picture of a run. Intervals in which nothing finished are
// left out.
func Throughput(ctx context.Context, db DB, run int64, step time.Duration) ([]Rate, error) {
	if step < time.Second {
		step = time.Second
	}
	rows, err := db.Query(ctx, throughputSQL, run, step.Seconds())
	if err != nil {
		return nil, fmt.Errorf("reading throughput of run %d: %w", run, err)
	}
	rs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Rate, error) {
		var x Rate
		err := r.Scan(&x.At, &x.Items)
		return x, err
	})
	if err != nil {
		return nil, fmt.Errorf("reading throughput of run %d: %w", run, err)
	}
	return rs, nil
}

const replayableSQL = `
SELECT id FROM items
WHERE run_id = $1 AND state = ANY($2) AND carried_into IS NULL
ORDER BY id`

// ReplayRun queues a run's items in the given states (failed, dead or
// both) for the workflow's next run, as Replay does for single items. It
// returns the workflow and the ids it queued.
func ReplayRun(ctx context.Context, db DB, run int64, states []Status) (string, []int64, error) {
	for _, s := range states {
		if s != Failed && s != Dead {
			return "", nil, fmt.Errorf("replaying run %d: only failed and dead items can be replayed, not %s", run, s)
		}
	}
	p, err := RunProgress(ctx, db, run)
	if err != nil {
		return "", nil, err
	}
	rows, err := db.Query(ctx, replayableSQL, run, statusStrings(states))
	if err != nil {
		return "", nil, fmt.Errorf("replaying run %d: %w", run, err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return "", nil, fmt.Errorf("replaying run %d: %w", run, err)
	}
	if len(ids) == 0 {
		return p.Workflow, nil, nil
	}
	if _, err := Replay(ctx, db, p.Workflow, ids); err != nil {
		return "", nil, err
	}
	return p.Workflow, ids, nil
}

const carriedIntoSQL = `
SELECT DISTINCT run_id FROM items WHERE carried_from = ANY($1) ORDER BY run_id DESC LIMIT 1`

// CarriedInto returns the run that carries any of the items ids (the
// newest one), or 0 while no run has planned them yet.
func CarriedInto(ctx context.Context, db DB, ids []int64) (int64, error) {
	var run int64
	err := db.QueryRow(ctx, carriedIntoSQL, ids).Scan(&run)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("finding the run of replayed items: %w", err)
	}
	return run, nil
}
