package work

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// recordSQL records a batch's outcomes in one statement: the items from
// unnest'ed arrays, dead items into the critical error log, and the batch
// itself (done, or back to pending when items were left undone), all only
// while the caller still holds the lease.
const recordSQL = `
WITH lease AS (
    SELECT run_id, seq FROM batches
    WHERE run_id = @run AND seq = @seq AND state = 'running' AND lease_owner = @owner
    FOR UPDATE
), o AS (
    SELECT * FROM unnest(@ids::bigint[], @states::text[], @refs::text[], @errors::text[], @reasons::text[])
        AS o(id, state, target_ref, error, reason)
), upd AS (
    UPDATE items i
    SET state = o.state, target_ref = o.target_ref, error = o.error, skip_reason = o.reason,
        attempts = i.attempts + 1, finished_at = @now
    FROM o, lease
    WHERE i.id = o.id AND i.run_id = lease.run_id AND i.batch_seq = lease.seq AND i.state = 'pending'
    RETURNING i.id, i.state, i.source_key, i.error, i.attempts
), dead AS (
    INSERT INTO critical_errors (at, workflow, run_id, batch_seq, item_id, source_key, error)
    SELECT @now, @workflow, @run, @seq, id, source_key, error FROM upd WHERE state = 'dead'
    RETURNING item_id, source_key, error
), undone AS (
    SELECT EXISTS (
        SELECT 1 FROM items
        WHERE run_id = @run AND batch_seq = @seq AND state = 'pending' AND NOT (id = ANY(@ids::bigint[]))
    ) AS any
)
UPDATE batches b
SET state = CASE WHEN undone.any THEN 'pending' ELSE 'done' END,
    lease_owner = NULL, lease_expires_at = NULL,
    finished_at = CASE WHEN undone.any THEN NULL ELSE @now END
FROM lease, undone
WHERE b.run_id = lease.run_id AND b.seq = lease.seq
RETURNING b.state,
    undone.any OR EXISTS (SELECT 1 FROM batches WHERE run_id = @run AND state = 'pending' AND seq <> @seq),
    (SELECT count(*) FROM upd),
    COALESCE((SELECT array_agg(item_id) FROM dead), '{}'),
    COALESCE((SELECT array_agg(source_key) FROM dead), '{}'),
    COALESCE((SELECT array_agg(error) FROM dead), '{}')`

// recorded is what recording a batch did.
type recorded struct {
	done  bool // the batch is done; false: items went back to pending
	more  bool // the run has pending batches, this one included
	items int
	dead  []DeadItem
}

// record writes the outcomes of the batch's items in one statement. It
// returns ErrLeaseLost when the lease has passed to another worker; then
// nothing is written.
func (e *Engine) record(ctx context.Context, b *batch, items []Item, res applied) (recorded, error) {
	n := len(res.final)
	ids := make([]int64, 0, n)
	states := make([]string, 0, n)
	refs := make([]*string, 0, n)
	errs := make([]*string, 0, n)
	reasons := make([]*string, 0, n)
	for i, it := range items {
		o, ok := res.final[i]
		if !ok {
			continue
		}
		state := o.status
		if state == Failed && it.Attempts+1 >= e.cfg.MaxAttempts {
			state = Dead
		}
		ids = append(ids, it.ID)
		states = append(states, string(state))
		refs = append(refs, nullString(o.targetRef))
		errs = append(errs, nullString(o.errText()))
		reasons = append(reasons, nullString(o.reason))
	}
	var (
		state    string
		r        recorded
		deadIDs  []int64
		deadKeys []string
		deadErrs []string
	)
	err := e.db.QueryRow(ctx, recordSQL, pgx.NamedArgs{
		"run": b.run, "seq": b.seq, "owner": b.owner, "workflow": e.cfg.Workflow, "now": e.clock.Now(),
		"ids": ids, "states": states, "refs": refs, "errors": errs, "reasons": reasons,
	}).Scan(&state, &r.more, &r.items, &deadIDs, &deadKeys, &deadErrs)
	if errors.Is(err, pgx.ErrNoRows) {
		return recorded{}, ErrLeaseLost
	}
	if err != nil {
		return recorded{}, fmt.Errorf("recording batch %d: %w", b.seq, err)
	}
	r.done = state == "done"
	attempts := make(map[int64]int, len(items))
	for _, it := range items {
		attempts[it.ID] = it.Attempts + 1
	}
	for i, id := range deadIDs {
		r.dead = append(r.dead, DeadItem{
			Workflow: e.cfg.Workflow, Run: b.run, ItemID: id, Key: deadKeys[i],
			Attempts: attempts[id], Error: deadErrs[i],
		})
	}
	return r, nil
}

const crashSQL = `
INSERT INTO critical_errors (at, workflow, run_id, batch_seq, error, stack)
VALUES ($1, $2, $3, $4, $5, $6)`

// logCrash writes a panicking sink's error and stack to the critical error log.
func (e *Engine) logCrash(ctx context.Context, b *batch, p *sinkPanic) error {
	if _, err := e.db.Exec(ctx, crashSQL, e.clock.Now(), e.cfg.Workflow, b.run, b.seq, p.Error(), p.stack); err != nil {
		return fmt.Errorf("logging sink panic: %w", err)
	}
	return nil
}

func nullString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
