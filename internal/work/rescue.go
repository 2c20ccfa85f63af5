package work

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// RescueResult counts what a rescue did.
type RescueResult struct {
	Abandoned int // batches given up after MaxClaims lost workers
	Released  int // batches whose expired lease went back to pending
	Relinked  int // links published to restart chains
	Closed    int // runs closed that had no work left
	// Resumed counts planning runs whose lease had lapsed and that this
	// rescue continued planning (at most one per workflow); ResumedItems
	// is how many items such a run has so far, and ResumedDone whether its
	// plan finished.
	Resumed      int
	ResumedItems int
	ResumedDone  bool
}

// releaseExpiredSQL returns up to @limit batches of the workflow whose lease
// has expired to pending. SKIP LOCKED leaves a batch being recorded this very
// moment to its worker.
const releaseExpiredSQL = `
WITH expired AS (
    SELECT b.run_id, b.seq
    FROM batches b JOIN runs r ON r.id = b.run_id
    WHERE b.state = 'running' AND b.lease_expires_at <= @now AND r.workflow = @workflow
    ORDER BY b.lease_expires_at
    LIMIT @limit
    FOR UPDATE OF b SKIP LOCKED
)
UPDATE batches b
SET state = 'pending', lease_owner = NULL, lease_expires_at = NULL, lost = b.lost + 1
FROM expired
WHERE b.run_id = expired.run_id AND b.seq = expired.seq`

// abandonSQL settles batches whose lease expired on their MaxClaims-th lost
// worker: a batch that kills every worker that takes it (out of memory, a
// sink that hangs past the Lambda timeout) must not be handed out forever.
// Claims handed back undone at a deadline are no lost workers and do not
// count. Its undone items fail, as if the sink had failed them, and die when
// out of attempts.
const abandonSQL = `
WITH expired AS (
    SELECT b.run_id, b.seq, b.lost + 1 AS lost
    FROM batches b JOIN runs r ON r.id = b.run_id
    WHERE b.state = 'running' AND b.lease_expires_at <= @now AND b.lost + 1 >= @max_claims
      AND r.workflow = @workflow
    ORDER BY b.lease_expires_at
    LIMIT @limit
    FOR UPDATE OF b SKIP LOCKED
), upd AS (
    UPDATE items i
    SET state = CASE WHEN i.attempts + 1 >= @max_attempts THEN 'dead' ELSE 'failed' END,
        error = 'worker lost ' || expired.lost || ' times on this batch',
        attempts = i.attempts + 1, finished_at = @now
    FROM expired
    WHERE i.run_id = expired.run_id AND i.batch_seq = expired.seq AND i.state = 'pending'
    RETURNING i.id, i.run_id, i.batch_seq, i.state, i.source_key, i.error, i.attempts
), dead AS (
    INSERT INTO critical_errors (at, workflow, run_id, batch_seq, item_id, source_key, error)
    SELECT @now, @workflow, run_id, batch_seq, id, source_key, error FROM upd WHERE state = 'dead'
)
UPDATE batches b
SET state = 'done', lease_owner = NULL, lease_expires_at = NULL, finished_at = @now, lost = expired.lost
FROM expired
WHERE b.run_id = expired.run_id AND b.seq = expired.seq
RETURNING b.run_id, b.seq,
    COALESCE((SELECT json_agg(json_build_object('workflow', @workflow::text, 'run', u.run_id, 'item_id', u.id,
        'source_key', u.source_key, 'attempts', u.attempts, 'error', u.error))
        FROM upd u WHERE u.state = 'dead' AND u.run_id = b.run_id AND u.batch_seq = b.seq), '[]')`

const openRunsSQL = `SELECT id FROM runs WHERE workflow = $1 AND state = 'running' ORDER BY id`

// brokenChainsSQL lists the chains of a run that has pending batches and that
// hold no live lease: nobody is working them, so their next link was lost (or
// is still on its way; a repeated link is harmless, its seq is stale).
const brokenChainsSQL = `
SELECT c.chain, c.seq
FROM chains c
WHERE c.run_id = @run
  AND EXISTS (SELECT 1 FROM batches WHERE run_id = @run AND state = 'pending')
  AND NOT EXISTS (
      SELECT 1 FROM batches b
      WHERE b.run_id = @run AND b.chain = c.chain AND b.state = 'running' AND b.lease_expires_at > @now)
ORDER BY c.chain`

// Rescue repairs what lost workers, lost links and cut-off plans left
// behind: batches whose lease expired go back to pending, chains of open
// runs that nobody works are restarted with a new link, runs with nothing
// left to do are closed, and a planning run that nobody holds (its last
// invocation stopped at its deadline, failed on the source or died) is
// planned on from its cursor, as Plan would, within ctx's deadline.
func (e *Engine) Rescue(ctx context.Context) (RescueResult, error) {
	res, err := e.rescue(ctx)
	if err != nil {
		return res, err
	}
	plan, resumed, err := e.resumePlan(ctx)
	if resumed {
		res.Resumed, res.ResumedItems, res.ResumedDone = 1, plan.Items, !plan.Planning && err == nil
	}
	if err != nil {
		return res, fmt.Errorf("continuing plan of run %d: %w", plan.Run, err)
	}
	return res, nil
}

// rescue is Rescue but for planning runs; Tick runs it before Plan, which
// continues a planning run itself.
func (e *Engine) rescue(ctx context.Context) (RescueResult, error) {
	var res RescueResult
	if err := e.abandon(ctx, &res); err != nil {
		return res, err
	}
	for {
		tag, err := e.db.Exec(ctx, releaseExpiredSQL, pgx.NamedArgs{
			"now": e.clock.Now(), "workflow": e.cfg.Workflow, "limit": e.cfg.RescueLimit,
		})
		if err != nil {
			return res, fmt.Errorf("releasing expired leases: %w", err)
		}
		res.Released += int(tag.RowsAffected())
		if tag.RowsAffected() < int64(e.cfg.RescueLimit) {
			break
		}
	}
	rows, err := e.db.Query(ctx, openRunsSQL, e.cfg.Workflow)
	if err != nil {
		return res, fmt.Errorf("listing open runs: %w", err)
	}
	runs, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return res, fmt.Errorf("listing open runs: %w", err)
	}
	for _, run := range runs {
		links, err := e.brokenChains(ctx, run)
		if err != nil {
			return res, err
		}
		for _, l := range links {
			if err := e.cfg.Publisher.Publish(ctx, l); err != nil {
				return res, fmt.Errorf("publishing %s: %w", l, err)
			}
			res.Relinked++
		}
		if len(links) == 0 {
			closed, err := e.closeRun(ctx, run)
			if err != nil {
				return res, err
			}
			if closed {
				res.Closed++
			}
		}
	}
	if res != (RescueResult{}) {
		e.log.InfoContext(ctx, "rescued", "abandoned", res.Abandoned, "released", res.Released, "relinked", res.Relinked, "closed", res.Closed)
	}
	return res, nil
}

func (e *Engine) brokenChains(ctx context.Context, run int64) ([]Link, error) {
	rows, err := e.db.Query(ctx, brokenChainsSQL, pgx.NamedArgs{"run": run, "now": e.clock.Now()})
	if err != nil {
		return nil, fmt.Errorf("finding broken chains of run %d: %w", run, err)
	}
	links, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Link, error) {
		l := Link{Workflow: e.cfg.Workflow, Run: run}
		err := r.Scan(&l.Chain, &l.Seq)
		return l, err
	})
	if err != nil {
		return nil, fmt.Errorf("finding broken chains of run %d: %w", run, err)
	}
	return links, nil
}

// Tick is the scheduled entry point: it rescues, then plans: it continues
// the workflow's planning run or opens a new one. A workflow whose previous
// run is still open (running, or planning in another invocation) is not an
// error; Tick reports it with planned == false. A plan that stopped before
// the deadline is no error either: res.Planning says the next tick goes on.
func (e *Engine) Tick(ctx context.Context) (res PlanResult, planned bool, err error) {
	if _, err := e.rescue(ctx); err != nil {
		return PlanResult{}, false, err
	}
	res, err = e.Plan(ctx)
	if errors.Is(err, ErrRunOpen) {
		e.log.InfoContext(ctx, "previous run still open; not planning")
		return PlanResult{}, false, nil
	}
	if err != nil {
		return res, false, err
	}
	return res, true, nil
}

// abandon settles the expired batches that have used up their claims, and
// alerts on the items that died with them.
func (e *Engine) abandon(ctx context.Context, res *RescueResult) error {
	for {
		rows, err := e.db.Query(ctx, abandonSQL, pgx.NamedArgs{
			"now": e.clock.Now(), "workflow": e.cfg.Workflow, "limit": e.cfg.RescueLimit,
			"max_claims": e.cfg.MaxClaims, "max_attempts": e.cfg.MaxAttempts,
		})
		if err != nil {
			return fmt.Errorf("abandoning batches: %w", err)
		}
		var dead []DeadItem
		n := 0
		for rows.Next() {
			var (
				run int64
				seq int
				d   []DeadItem
			)
			if err := rows.Scan(&run, &seq, &d); err != nil {
				rows.Close()
				return fmt.Errorf("abandoning batches: %w", err)
			}
			e.log.ErrorContext(ctx, "batch abandoned", "run", run, "batch", seq, "dead", len(d))
			dead = append(dead, d...)
			n++
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("abandoning batches: %w", err)
		}
		res.Abandoned += n
		e.announceDead(ctx, e.log, dead)
		if n < e.cfg.RescueLimit {
			return nil
		}
	}
}
