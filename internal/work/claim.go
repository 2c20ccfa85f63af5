package work

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// claimSQL steps the link's chain and claims the run's lowest pending batch,
// in one statement. The chain steps only when the link's seq is the chain's
// current one, so a link delivered twice claims once; SKIP LOCKED lets ten
// chains claim side by side without waiting on each other.
const claimSQL = `
WITH step AS (
    UPDATE chains SET seq = seq + 1, stepped_at = @now
    WHERE run_id = @run AND chain = @chain AND seq = @seq
    RETURNING run_id
), next AS (
    SELECT b.run_id, b.seq
    FROM batches b
    WHERE b.run_id = @run AND b.state = 'pending' AND EXISTS (SELECT 1 FROM step)
    ORDER BY b.seq
    LIMIT 1
    FOR UPDATE SKIP LOCKED
), claimed AS (
    UPDATE batches b
    SET state = 'running', attempt = b.attempt + 1, chain = @chain,
        lease_owner = @owner, lease_expires_at = @expires, claimed_at = @now
    FROM next
    WHERE b.run_id = next.run_id AND b.seq = next.seq
    RETURNING b.seq, b.attempt
)
SELECT EXISTS (SELECT 1 FROM step), claimed.seq, claimed.attempt
FROM (SELECT 1) AS one LEFT JOIN claimed ON true`

// claim is what a link's claim found.
type claim struct {
	stepped bool // false: a stale or repeated link, nothing to do
	batch   *batch
}

// batch is a claimed batch of a run.
type batch struct {
	run     int64
	seq     int
	attempt int
	owner   string
	expires time.Time
}

func (e *Engine) claim(ctx context.Context, link Link) (claim, error) {
	now := e.clock.Now()
	owner := e.leaseToken()
	expires := now.Add(e.cfg.LeaseTTL)
	var (
		c       claim
		seq     *int
		attempt *int
	)
	err := e.db.QueryRow(ctx, claimSQL, pgx.NamedArgs{
		"run": link.Run, "chain": link.Chain, "seq": link.Seq,
		"owner": owner, "expires": expires, "now": now,
	}).Scan(&c.stepped, &seq, &attempt)
	if err != nil {
		return claim{}, fmt.Errorf("claiming batch of %s: %w", link, err)
	}
	if seq != nil {
		c.batch = &batch{run: link.Run, seq: *seq, attempt: *attempt, owner: owner, expires: expires}
	}
	return c, nil
}

const batchItemsSQL = `
SELECT id, source_key, payload, attempts
FROM items
WHERE run_id = $1 AND batch_seq = $2 AND state = 'pending'
ORDER BY id`

// items loads the batch's items that still wait for an outcome.
func (e *Engine) items(ctx context.Context, b *batch) ([]Item, error) {
	rows, err := e.db.Query(ctx, batchItemsSQL, b.run, b.seq)
	if err != nil {
		return nil, fmt.Errorf("loading items of batch %d: %w", b.seq, err)
	}
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Item, error) {
		var it Item
		err := r.Scan(&it.ID, &it.Key, &it.Payload, &it.Attempts)
		return it, err
	})
	if err != nil {
		return nil, fmt.Errorf("loading items of batch %d: %w", b.seq, err)
	}
	return items, nil
}

const pendingSQL = `SELECT EXISTS (SELECT 1 FROM batches WHERE run_id = $1 AND state = 'pending')`

// pending reports whether the run has batches waiting for a link.
func (e *Engine) pending(ctx context.Context, run int64) (bool, error) {
	var ok bool
	if err := e.db.QueryRow(ctx, pendingSQL, run).Scan(&ok); err != nil {
		return false, fmt.Errorf("looking for pending batches: %w", err)
	}
	return ok, nil
}
