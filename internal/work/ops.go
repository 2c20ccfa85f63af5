package work

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Run is a run as operators see it, for `citylink status` and the console.
type Run struct {
	ID        int64      `json:"id"`
	Workflow  string     `json:"workflow"`
	State     string     `json:"state"`
	Started   time.Time  `json:"started"`
	Finished  *time.Time `json:"finished,omitempty"`
	Batches   int        `json:"batches"`
	Items     int        `json:"items"`
	Carried   int        `json:"carried"`
	Succeeded int        `json:"succeeded"`
	Skipped   int        `json:"skipped"`
	Failed    int        `json:"failed"`
	Dead      int        `json:"dead"`
	// PlanFailures, PlanError and PlanErrorAt say why a run is stuck
	// planning, as in Progress.
	PlanFailures int        `json:"plan_failures,omitempty"`
	PlanError    string     `json:"plan_error,omitempty"`
	PlanErrorAt  *time.Time `json:"plan_error_at,omitempty"`
}

const runsSQL = `
SELECT id, workflow, state, started_at, finished_at, batch_count, item_count, carried_count,
       succeeded, skipped, failed, dead, plan_failures, coalesce(plan_error, ''), plan_error_at
FROM runs
WHERE $1 = '' OR workflow = $1
ORDER BY started_at DESC, id DESC
LIMIT $2`

// Runs returns the latest runs of a workflow (of every workflow when
// workflow is empty), newest first.
func Runs(ctx context.Context, db DB, workflow string, limit int) ([]Run, error) {
	rows, err := db.Query(ctx, runsSQL, workflow, limit)
	if err != nil {
		return nil, fmt.Errorf("listing runs: %w", err)
	}
	runs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Run, error) {
		var x Run
		err := r.Scan(&x.ID, &x.Workflow, &x.State, &x.Started, &x.Finished, &x.Batches, &x.Items,
			&x.Carried, &x.Succeeded, &x.Skipped, &x.Failed, &x.Dead, &x.PlanFailures, &x.PlanError, &x.PlanErrorAt)
		return x, err
	})
	if err != nil {
		return nil, fmt.Errorf("listing runs: %w", err)
	}
	return runs, nil
}

// ItemRecord is one planned item with what happened to it.
type ItemRecord struct {
	ID        int64           `json:"id"`
	Workflow  string          `json:"workflow"`
	Run       int64           `json:"run"`
	Key       string          `json:"source_key"`
	State     Status          `json:"state"`
	Attempts  int             `json:"attempts"`
	TargetRef string          `json:"target_ref,omitempty"`
	Error     string          `json:"error,omitempty"`
	Reason    string          `json:"skip_reason,omitempty"`
	Payload   json.RawMessage `json:"payload"`
	Finished  *time.Time      `json:"finished,omitempty"`
	// CarriedInto is the item that carries this one into a later run.
	CarriedInto *int64 `json:"carried_into,omitempty"`
}

const historySQL = `
SELECT id, workflow, run_id, source_key, state, attempts, coalesce(target_ref, ''), coalesce(error, ''),
       coalesce(skip_reason, ''), payload, finished_at, carried_into
FROM items
WHERE workflow = $1 AND source_key = $2
ORDER BY id`

// History answers "what happened to pole X": every item of the workflow
// with that source key, oldest first.
func History(ctx context.Context, db DB, workflow, key string) ([]ItemRecord, error) {
	rows, err := db.Query(ctx, historySQL, workflow, key)
	if err != nil {
		return nil, fmt.Errorf("reading history of %s: %w", key, err)
	}
	return collectItems(rows)
}

const replaySQL = `
UPDATE items SET state = 'failed', attempts = 0
WHERE workflow = $1 AND id = ANY($2) AND state IN ('dead', 'failed') AND carried_into IS NULL`

// Replay gives dead (or failed) items a fresh set of attempts: the next plan
// of the workflow carries them into its run. Items already carried or not
// failed are left alone. It returns how many items it queued.
func Replay(ctx context.Context, db DB, workflow string, ids []int64) (int, error) {
	tag, err := db.Exec(ctx, replaySQL, workflow, ids)
	if err != nil {
		return 0, fmt.Errorf("replaying items: %w", err)
	}
	return int(tag.RowsAffected()), nil
}
