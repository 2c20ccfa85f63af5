package work

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// PlanResult describes the run a plan opened.
type PlanResult struct {
	Run       int64
	Items     int
	Carried   int // items carried over from earlier runs
	Dropped   int // repeated keys the source sent
	Batches   int
	Chains    int
	Watermark Watermark
}

const (
	planLockSQL = `SELECT pg_try_advisory_xact_lock(hashtextextended('citylink.work.plan:' || $1, 0))`

	readWatermarkSQL = `SELECT value FROM watermarks WHERE workflow = $1`

	openRunSQL = `
INSERT INTO runs (workflow, started_at, watermark_from)
VALUES ($1, $2, $3)
ON CONFLICT (workflow) WHERE state = 'running' DO NOTHING
RETURNING id`

	carriedItemsSQL = `
SELECT id, source_key, payload, attempts
FROM items
WHERE workflow = $1 AND state = 'failed' AND carried_into IS NULL
ORDER BY id
FOR UPDATE`

	markCarriedSQL = `UPDATE items SET carried_into = $1 WHERE id = ANY($2)`

	createBatchesSQL = `
INSERT INTO batches (run_id, seq, item_count)
SELECT $1, s, least($2, $3 - s * $2)
FROM generate_series(0, $4 - 1) AS s`

	createChainsSQL = `
INSERT INTO chains (run_id, chain)
SELECT $1, c FROM generate_series(0, $2 - 1) AS c`

	saveWatermarkSQL = `
INSERT INTO watermarks (workflow, value, run_id, updated_at)
VALUES ($1, $2, $3, $4)
ON CONFLICT (workflow) DO UPDATE
SET value = excluded.value, run_id = excluded.run_id, updated_at = excluded.updated_at`

	finishPlanSQL = `
UPDATE runs
SET watermark_to = $2, batch_count = $3, item_count = $4, carried_count = $5, chain_count = $6,
    state = CASE WHEN $3::integer = 0 THEN 'succeeded' ELSE state END,
    finished_at = CASE WHEN $3::integer = 0 THEN $7::timestamptz END
WHERE id = $1`
)

// Plan opens a run of the workflow: it streams the source's changes since the
// stored watermark into items and batches, carries over items that failed in
// earlier runs with attempts left, and advances the watermark, all in one
// transaction, so a plan that fails changes nothing. Then it publishes the
// run's chain links. It returns ErrRunOpen when a run of the workflow is
// still open or another plan holds the workflow.
func (e *Engine) Plan(ctx context.Context) (PlanResult, error) {
	if e.cfg.Source == nil {
		return PlanResult{}, errors.New("work: planning needs a source")
	}
	var res PlanResult
	err := pgx.BeginFunc(ctx, e.db, func(tx pgx.Tx) error {
		var err error
		res, err = e.plan(ctx, tx)
		return err
	})
	if err != nil {
		return PlanResult{}, err
	}
	e.log.InfoContext(ctx, "run planned", "run", res.Run, "items", res.Items, "carried", res.Carried,
		"dropped", res.Dropped, "batches", res.Batches, "chains", res.Chains)
	for c := range res.Chains {
		if err := e.cfg.Publisher.Publish(ctx, Link{Workflow: e.cfg.Workflow, Run: res.Run, Chain: c}); err != nil {
			// The run is committed; the rescuer publishes its links again.
			return res, fmt.Errorf("publishing link of chain %d: %w", c, err)
		}
	}
	return res, nil
}

func (e *Engine) plan(ctx context.Context, tx pgx.Tx) (PlanResult, error) {
	var locked bool
	if err := tx.QueryRow(ctx, planLockSQL, e.cfg.Workflow).Scan(&locked); err != nil {
		return PlanResult{}, fmt.Errorf("locking workflow for planning: %w", err)
	}
	if !locked {
		return PlanResult{}, ErrRunOpen
	}
	var since []byte
	if err := tx.QueryRow(ctx, readWatermarkSQL, e.cfg.Workflow).Scan(&since); err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return PlanResult{}, fmt.Errorf("reading watermark: %w", err)
	}
	now := e.clock.Now()
	var run int64
	err := tx.QueryRow(ctx, openRunSQL, e.cfg.Workflow, now, nullJSON(since)).Scan(&run)
	if errors.Is(err, pgx.ErrNoRows) {
		return PlanResult{}, ErrRunOpen
	}
	if err != nil {
		return PlanResult{}, fmt.Errorf("opening run: %w", err)
	}

	carried, err := e.carried(ctx, tx)
	if err != nil {
		return PlanResult{}, err
	}
	stream := newItemStream(ctx, e.cfg.Source, e.cfg.Workflow, run, e.cfg.BatchSize, Watermark(since), carried)
	n, err := e.writer(ctx, tx, stream)
	if err != nil {
		return PlanResult{}, err
	}
	if len(carried) > 0 {
		if _, err := tx.Exec(ctx, markCarriedSQL, run, stream.carriedIDs()); err != nil {
			return PlanResult{}, fmt.Errorf("marking carried items: %w", err)
		}
	}
	items := int(n)
	batches := (items + e.cfg.BatchSize - 1) / e.cfg.BatchSize
	chains := min(e.cfg.Chains, batches)
	if _, err := tx.Exec(ctx, createBatchesSQL, run, e.cfg.BatchSize, items, batches); err != nil {
		return PlanResult{}, fmt.Errorf("creating batches: %w", err)
	}
	if _, err := tx.Exec(ctx, createChainsSQL, run, chains); err != nil {
		return PlanResult{}, fmt.Errorf("creating chains: %w", err)
	}
	wm := stream.after
	if len(wm) > 0 {
		if _, err := tx.Exec(ctx, saveWatermarkSQL, e.cfg.Workflow, []byte(wm), run, now); err != nil {
			return PlanResult{}, fmt.Errorf("saving watermark: %w", err)
		}
	}
	if _, err := tx.Exec(ctx, finishPlanSQL, run, nullJSON(wm), batches, items, stream.nCarry, chains, now); err != nil {
		return PlanResult{}, fmt.Errorf("recording plan: %w", err)
	}
	return PlanResult{
		Run: run, Items: items, Carried: stream.nCarry, Dropped: stream.dropped,
		Batches: batches, Chains: chains, Watermark: wm,
	}, nil
}

// carried loads the items that failed in earlier runs and still have
// attempts left, locking them so no other plan carries them too.
func (e *Engine) carried(ctx context.Context, tx pgx.Tx) ([]Item, error) {
	rows, err := tx.Query(ctx, carriedItemsSQL, e.cfg.Workflow)
	if err != nil {
		return nil, fmt.Errorf("loading failed items: %w", err)
	}
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Item, error) {
		var it Item
		err := r.Scan(&it.ID, &it.Key, &it.Payload, &it.Attempts)
		return it, err
	})
	if err != nil {
		return nil, fmt.Errorf("loading failed items: %w", err)
	}
	return items, nil
}

// nullJSON turns an empty watermark into SQL NULL.
func nullJSON(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return string(b)
}
