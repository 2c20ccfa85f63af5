package work

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// closeRunSQL closes a run whose batches are all done, once: the guard on
// state makes every later attempt (another chain's last link, the rescuer)
// update nothing. A run succeeded when no item failed or died, failed when
// none succeeded or was skipped, and is partial otherwise.
const closeRunSQL = `
UPDATE runs r
SET state = CASE
        WHEN c.failed + c.dead = 0 THEN 'succeeded'
        WHEN c.succeeded + c.skipped = 0 THEN 'failed'
        ELSE 'partial' END,
    finished_at = $2,
    succeeded = c.succeeded, skipped = c.skipped, failed = c.failed, dead = c.dead
FROM (
    SELECT count(*) FILTER (WHERE state = 'succeeded') AS succeeded,
           count(*) FILTER (WHERE state = 'skipped') AS skipped,
           count(*) FILTER (WHERE state = 'failed') AS failed,
           count(*) FILTER (WHERE state = 'dead') AS dead
    FROM items WHERE run_id = $1
) c
WHERE r.id = $1 AND r.state = 'running'
  AND NOT EXISTS (SELECT 1 FROM batches WHERE run_id = $1 AND state <> 'done')
RETURNING r.state, r.succeeded, r.skipped, r.failed, r.dead, r.finished_at`

// closeRun closes the run if all its batches are done and nobody closed it
// yet. It reports whether this call closed it.
func (e *Engine) closeRun(ctx context.Context, run int64) (bool, error) {
	s := Run{ID: run}
	err := e.db.QueryRow(ctx, closeRunSQL, run, e.clock.Now()).
		Scan(&s.State, &s.Succeeded, &s.Skipped, &s.Failed, &s.Dead, &s.Finished)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("closing run %d: %w", run, err)
	}
	e.log.InfoContext(ctx, "run closed", "run", run, "state", s.State, "succeeded", s.Succeeded,
		"skipped", s.Skipped, "failed", s.Failed, "dead", s.Dead)
	return true, nil
}
