package work

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// PlanResult describes what a plan did to its run.
type PlanResult struct {
	Run int64
	// Planning reports that the plan stopped before the source was
	// exhausted, because its invocation's deadline came near: the run stays
	// in planning with its cursor, and the next tick (or the rescuer)
	// continues it. Batches, Chains and Watermark are then zero.
	Planning bool
	// Items counts the run's items so far: all of them once planned,
	// carried ones included. Pages counts the source pages the run has
	// recorded, over every invocation that planned it.
	Items    int
	Pages    int
	Carried  int // items carried over from earlier runs
	Repeated int // items a later page of the source sent again: the later value won
	Batches  int
	Chains   int
	// Watermark is what the run advanced the workflow's watermark to.
	Watermark Watermark
}

// planLockSQL serialises, per workflow, the two short transactions that
// decide which run is the workflow's open one: opening a run (which reads
// the stored watermark) and finishing a plan (which writes it). Nothing
// holds it across a call to the source.
const planLockSQL = `SELECT pg_advisory_xact_lock(hashtextextended('citylink.work.plan:' || $1, 0))`

// takePlanSQL takes over the workflow's planning run when nobody holds its
// lease: the last invocation stopped at its deadline, failed on the source,
// or died.
const takePlanSQL = `
UPDATE runs
SET plan_owner = @owner, plan_expires_at = @expires
WHERE workflow = @workflow AND state = 'planning'
  AND (plan_expires_at IS NULL OR plan_expires_at <= @now)
RETURNING id, plan_cursor, item_count, plan_pages, plan_repeated`

// openRunSQL opens a run in planning, from the stored watermark, unless the
// workflow has an open run already (runs_one_open).
const openRunSQL = `
INSERT INTO runs (workflow, state, started_at, watermark_from, plan_cursor, plan_owner, plan_expires_at)
SELECT @workflow, 'planning', @now, w.value, w.value, @owner, @expires
FROM (SELECT (SELECT value FROM watermarks WHERE workflow = @workflow) AS value) w
ON CONFLICT (workflow) WHERE state IN ('planning', 'running') DO NOTHING
RETURNING id, plan_cursor`

// holdPlanSQL renews the lease at the start of every page's transaction and
// locks the run's row: a plan whose lease another invocation took over
// writes nothing more.
const holdPlanSQL = `
UPDATE runs SET plan_expires_at = @expires
WHERE id = @run AND state = 'planning' AND plan_owner = @owner
RETURNING item_count`

const runKeysSQL = `SELECT source_key FROM items WHERE run_id = $1 AND source_key = ANY($2)`

// updatePayloadsSQL gives items of the run that a later page sent again
// their newer value.
const updatePayloadsSQL = `
UPDATE items i SET payload = u.payload::jsonb
FROM unnest($2::text[], $3::text[]) AS u(key, payload)
WHERE i.run_id = $1 AND i.source_key = u.key`

// recordPageSQL records a page and renews the lease once more, after the
// page's writes, so the lease runs from the moment the next source call
// starts.
const recordPageSQL = `
UPDATE runs
SET item_count = @items, plan_cursor = @cursor, plan_pages = plan_pages + 1, plan_repeated = plan_repeated + @repeated,
    plan_expires_at = @expires
WHERE id = @run`

const releasePlanSQL = `UPDATE runs SET plan_owner = NULL, plan_expires_at = NULL WHERE id = $1 AND plan_owner = $2`

const (
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
SET watermark_to = @watermark, plan_cursor = @watermark, batch_count = @batches, item_count = @items,
    carried_count = @carried, chain_count = @chains,
    state = CASE WHEN @batches::integer = 0 THEN 'succeeded' ELSE 'running' END,
    finished_at = CASE WHEN @batches::integer = 0 THEN @now::timestamptz END,
    plan_owner = NULL, plan_expires_at = NULL
WHERE id = @run`
)

// errPlanLost reports that another invocation took over the run's planning
// lease: this one's lease expired while it waited on the source.
var errPlanLost = errors.New("work: planning lease lost")

// planState is a planning run as one invocation holds it.
type planState struct {
	run      int64
	owner    string
	cursor   Watermark // where the next page starts
	items    int
	pages    int
	repeated int
}

func (p *planState) result() PlanResult {
	return PlanResult{Run: p.run, Planning: true, Items: p.items, Pages: p.pages, Repeated: p.repeated}
}

// Plan plans a run of the workflow. It continues the workflow's planning
// run if there is one whose lease has lapsed, or opens one from the stored
// watermark, and then reads the source page by page: each page is called
// outside any transaction and then recorded in one short transaction with
// the cursor after it, so a plan cut off anywhere loses at most the page in
// hand and the next invocation continues from the cursor. A key a later page
// sends again updates its item. Plan stops before ctx's deadline (keeping
// Config.Margin and the longest page so far in hand), releases the run and
// returns with Planning set; that is no error. Once the source is exhausted,
// one transaction carries over earlier failed items, cuts batches and
// chains, moves the run to running and advances the watermark; then the
// chain links are published.
//
// Plan returns ErrRunOpen when the workflow has a running run, or another
// invocation holds its planning run.
func (e *Engine) Plan(ctx context.Context) (PlanResult, error) {
	if e.cfg.Source == nil {
		return PlanResult{}, errors.New("work: planning needs a source")
	}
	p, err := e.takePlan(ctx, true)
	if err != nil {
		return PlanResult{}, err
	}
	return e.planPages(ctx, p)
}

// resumePlan continues the workflow's planning run if its lease has lapsed;
// it opens none. It reports false when there was nothing to continue.
func (e *Engine) resumePlan(ctx context.Context) (PlanResult, bool, error) {
	if e.cfg.Source == nil {
		return PlanResult{}, false, nil
	}
	p, err := e.takePlan(ctx, false)
	if errors.Is(err, ErrRunOpen) {
		return PlanResult{}, false, nil
	}
	if err != nil {
		return PlanResult{}, false, err
	}
	res, err := e.planPages(ctx, p)
	return res, true, err
}

// takePlan takes the workflow's planning run over, or, when open is set and
// the workflow has no open run, opens one.
func (e *Engine) takePlan(ctx context.Context, open bool) (*planState, error) {
	p := &planState{owner: e.leaseToken()}
	err := pgx.BeginFunc(ctx, e.db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, planLockSQL, e.cfg.Workflow); err != nil {
			return fmt.Errorf("locking workflow for planning: %w", err)
		}
		// The clock is read once the lock is ours: a lease reckoned from
		// before a wait on it would be short by the wait.
		now := e.clock.Now()
		args := pgx.NamedArgs{"workflow": e.cfg.Workflow, "owner": p.owner, "now": now, "expires": now.Add(e.planLease(0))}
		var cursor []byte
		err := tx.QueryRow(ctx, takePlanSQL, args).Scan(&p.run, &cursor, &p.items, &p.pages, &p.repeated)
		if err == nil {
			p.cursor = cursor
			e.log.InfoContext(ctx, "continuing plan", "run", p.run, "items", p.items, "pages", p.pages)
			return nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("taking over planning run: %w", err)
		}
		if !open {
			return ErrRunOpen
		}
		err = tx.QueryRow(ctx, openRunSQL, args).Scan(&p.run, &cursor)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrRunOpen
		}
		if err != nil {
			return fmt.Errorf("opening run: %w", err)
		}
		p.cursor = cursor
		return nil
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// planPages reads and records the source's pages until it is exhausted or
// the deadline comes near.
func (e *Engine) planPages(ctx context.Context, p *planState) (PlanResult, error) {
	log := e.log.With("run", p.run)
	var longest time.Duration
	for {
		if err := ctx.Err(); err != nil {
			e.releasePlan(ctx, p)
			return p.result(), err
		}
		if e.planShort(ctx, longest) {
			e.releasePlan(ctx, p)
			log.InfoContext(ctx, "plan paused before the deadline; the next tick continues it",
				"items", p.items, "pages", p.pages)
			return p.result(), nil
		}
		pctx, cancel := e.pageContext(ctx)
		start := e.clock.Now()
		page, err := e.cfg.Source.Changes(pctx, p.cursor)
		longest = max(longest, e.clock.Now().Sub(start))
		cut := pctx.Err() != nil && ctx.Err() == nil
		cancel()
		if err == nil {
			err = checkPage(page)
		}
		if err != nil {
			e.releasePlan(ctx, p)
			if cut {
				log.InfoContext(ctx, "plan paused: a page ran into the deadline; the next tick continues it",
					"items", p.items, "pages", p.pages)
				return p.result(), nil
			}
			return p.result(), fmt.Errorf("reading page %d of the source: %w", p.pages+1, err)
		}
		res, done, err := e.recordPage(ctx, p, page, e.planLease(longest))
		if errors.Is(err, errPlanLost) {
			log.WarnContext(ctx, "planning lease lost; another invocation continues the plan")
			return p.result(), ErrRunOpen
		}
		if err != nil {
			e.releasePlan(ctx, p)
			return p.result(), err
		}
		if done {
			return res, e.publishHeads(ctx, res)
		}
	}
}

// planLease is how long the planning lease lasts from now, given the
// longest page so far.
func (e *Engine) planLease(longest time.Duration) time.Duration {
	return max(e.cfg.PlanLease, 2*longest)
}

// planShort reports whether the plan should stop before reading another
// page: the deadline is closer than the margin plus the longest page so far.
func (e *Engine) planShort(ctx context.Context, longest time.Duration) bool {
	deadline, ok := ctx.Deadline()
	return ok && deadline.Sub(e.clock.Now()) < e.cfg.Margin+longest
}

// pageContext bounds one call to the source so that it ends while there is
// still the margin left to release the run.
func (e *Engine) pageContext(ctx context.Context) (context.Context, context.CancelFunc) {
	deadline, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	return context.WithDeadline(ctx, deadline.Add(-e.cfg.Margin))
}

// checkPage refuses a page the plan could not continue from.
func checkPage(page Page) error {
	if page.More && len(page.Next) == 0 {
		return errors.New("the page has more pages but no watermark to continue from")
	}
	if len(page.Next) > 0 && !json.Valid(page.Next) {
		return fmt.Errorf("watermark is not JSON: %q", page.Next)
	}
	return nil
}

// releasePlan gives the run's planning lease up, so the next tick continues
// at once instead of waiting for it to expire. It runs even when ctx has
// ended; if it fails, the lease expires.
func (e *Engine) releasePlan(ctx context.Context, p *planState) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if _, err := e.db.Exec(ctx, releasePlanSQL, p.run, p.owner); err != nil {
		e.log.ErrorContext(ctx, "planning lease not released; it expires", "run", p.run, "error", err)
	}
}

// recordPage writes one page's items and the cursor after it in one
// transaction, and on the last page finishes the plan in the same one.
func (e *Engine) recordPage(ctx context.Context, p *planState, page Page, lease time.Duration) (PlanResult, bool, error) {
	items, repeated := dedupe(page.Items)
	cursor := p.cursor
	if len(page.Next) > 0 {
		cursor = page.Next
	}
	now := e.clock.Now()
	var res PlanResult
	err := pgx.BeginFunc(ctx, e.db, func(tx pgx.Tx) error {
		if !page.More {
			// Taken before the run's row, as takePlan takes them.
			if _, err := tx.Exec(ctx, planLockSQL, e.cfg.Workflow); err != nil {
				return fmt.Errorf("locking workflow for planning: %w", err)
			}
		}
		var n int
		err := tx.QueryRow(ctx, holdPlanSQL, pgx.NamedArgs{
			"run": p.run, "owner": p.owner, "expires": now.Add(lease),
		}).Scan(&n)
		if errors.Is(err, pgx.ErrNoRows) {
			return errPlanLost
		}
		if err != nil {
			return fmt.Errorf("holding planning run %d: %w", p.run, err)
		}
		added, again, err := e.writePage(ctx, tx, p.run, n, items)
		if err != nil {
			return err
		}
		n += added
		repeated += again
		if _, err := tx.Exec(ctx, recordPageSQL, pgx.NamedArgs{
			"run": p.run, "items": n, "cursor": nullJSON(cursor), "repeated": repeated,
			"expires": e.clock.Now().Add(lease),
		}); err != nil {
			return fmt.Errorf("recording page of run %d: %w", p.run, err)
		}
		res = PlanResult{Run: p.run, Planning: true, Items: n, Pages: p.pages + 1, Repeated: p.repeated + repeated}
		if page.More {
			return nil
		}
		return e.finishPlan(ctx, tx, &res, cursor, now)
	})
	if err != nil {
		return PlanResult{}, false, err
	}
	p.cursor, p.items, p.pages, p.repeated = cursor, res.Items, res.Pages, res.Repeated
	return res, !res.Planning, nil
}

// dedupe keeps one item per key of a page, in the place the key first
// appeared, with the value it was sent last; it also counts the repeats.
func dedupe(page []Item) ([]Item, int) {
	at := make(map[string]int, len(page))
	out := make([]Item, 0, len(page))
	for _, it := range page {
		if i, ok := at[it.Key]; ok {
			out[i].Payload = it.Payload
			continue
		}
		at[it.Key] = len(out)
		out = append(out, it)
	}
	return out, len(page) - len(out)
}

// writePage writes the page's items into the run, which has n items: keys
// the run already has get the page's value, the others become new items
// after the run's last. It returns how many items it added and how many
// were already there.
func (e *Engine) writePage(ctx context.Context, tx pgx.Tx, run int64, n int, items []Item) (added, again int, err error) {
	if len(items) == 0 {
		return 0, 0, nil
	}
	have := map[string]bool{}
	if n > 0 { // a run with no items yet has none of the keys
		keys := make([]string, len(items))
		for i, it := range items {
			keys[i] = it.Key
		}
		rows, err := tx.Query(ctx, runKeysSQL, run, keys)
		if err != nil {
			return 0, 0, fmt.Errorf("looking up the page's keys: %w", err)
		}
		known, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return 0, 0, fmt.Errorf("looking up the page's keys: %w", err)
		}
		for _, k := range known {
			have[k] = true
		}
	}
	fresh := itemRows{workflow: e.cfg.Workflow, run: run, batchSize: e.cfg.BatchSize, n: n}
	var upKeys, upPayloads []string
	for _, it := range items {
		if !have[it.Key] {
			fresh.add(it, nil)
			continue
		}
		payload := it.Payload
		if len(payload) == 0 {
			payload = json.RawMessage("null")
		}
		upKeys, upPayloads = append(upKeys, it.Key), append(upPayloads, string(payload))
	}
	if len(upKeys) > 0 {
		if _, err := tx.Exec(ctx, updatePayloadsSQL, run, upKeys, upPayloads); err != nil {
			return 0, 0, fmt.Errorf("updating repeated items: %w", err)
		}
	}
	written, err := e.writer(ctx, tx, fresh.rows)
	if err != nil {
		return 0, 0, err
	}
	return int(written), len(upKeys), nil
}

// finishPlan carries over earlier failed items, cuts the run's items into
// batches and chains, moves the run to running (or closes it when it has
// nothing to do) and advances the workflow's watermark to wm, in the
// transaction that recorded the source's last page.
func (e *Engine) finishPlan(ctx context.Context, tx pgx.Tx, res *PlanResult, wm Watermark, now time.Time) error {
	carried, err := e.carried(ctx, tx)
	if err != nil {
		return err
	}
	if len(carried) > 0 {
		rows := itemRows{workflow: e.cfg.Workflow, run: res.Run, batchSize: e.cfg.BatchSize, n: res.Items}
		todo, ids, err := e.toCarry(ctx, tx, res.Run, carried)
		if err != nil {
			return err
		}
		for _, it := range todo {
			from := it.ID
			rows.add(it, &from)
		}
		n, err := e.writer(ctx, tx, rows.rows)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, markCarriedSQL, res.Run, ids); err != nil {
			return fmt.Errorf("marking carried items: %w", err)
		}
		res.Carried = int(n)
		res.Items += int(n)
	}
	res.Batches = (res.Items + e.cfg.BatchSize - 1) / e.cfg.BatchSize
	res.Chains = min(e.cfg.Chains, res.Batches)
	if _, err := tx.Exec(ctx, createBatchesSQL, res.Run, e.cfg.BatchSize, res.Items, res.Batches); err != nil {
		return fmt.Errorf("creating batches: %w", err)
	}
	if _, err := tx.Exec(ctx, createChainsSQL, res.Run, res.Chains); err != nil {
		return fmt.Errorf("creating chains: %w", err)
	}
	if len(wm) > 0 {
		if _, err := tx.Exec(ctx, saveWatermarkSQL, e.cfg.Workflow, []byte(wm), res.Run, now); err != nil {
			return fmt.Errorf("saving watermark: %w", err)
		}
	}
	if _, err := tx.Exec(ctx, finishPlanSQL, pgx.NamedArgs{
		"run": res.Run, "watermark": nullJSON(wm), "batches": res.Batches, "items": res.Items,
		"carried": res.Carried, "chains": res.Chains, "now": now,
	}); err != nil {
		return fmt.Errorf("recording plan: %w", err)
	}
	res.Planning = false
	res.Watermark = wm
	return nil
}

// publishHeads publishes the first link of each chain of a planned run.
func (e *Engine) publishHeads(ctx context.Context, res PlanResult) error {
	e.log.InfoContext(ctx, "run planned", "run", res.Run, "items", res.Items, "pages", res.Pages,
		"carried", res.Carried, "repeated", res.Repeated, "batches", res.Batches, "chains", res.Chains)
	for c := range res.Chains {
		if err := e.cfg.Publisher.Publish(ctx, Link{Workflow: e.cfg.Workflow, Run: res.Run, Chain: c}); err != nil {
			// The run is committed; the rescuer publishes its links again.
			return fmt.Errorf("publishing link of chain %d: %w", c, err)
		}
	}
	return nil
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

// toCarry picks the carried items the run takes: the newest failure of each
// key, unless the source sent the key again in this run, whose value wins.
// It also returns the ids of every carried item, taken or not: all of them
// are settled by this run.
func (e *Engine) toCarry(ctx context.Context, tx pgx.Tx, run int64, carried []Item) ([]Item, []int64, error) {
	latest := make(map[string]int64, len(carried))
	ids := make([]int64, len(carried))
	keys := make([]string, 0, len(carried))
	for i, it := range carried {
		ids[i] = it.ID
		if _, ok := latest[it.Key]; !ok {
			keys = append(keys, it.Key)
		}
		latest[it.Key] = max(latest[it.Key], it.ID)
	}
	rows, err := tx.Query(ctx, runKeysSQL, run, keys)
	if err != nil {
		return nil, nil, fmt.Errorf("looking up carried keys: %w", err)
	}
	sent, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, nil, fmt.Errorf("looking up carried keys: %w", err)
	}
	for _, k := range sent {
		delete(latest, k)
	}
	var todo []Item
	for _, it := range carried {
		if id, ok := latest[it.Key]; ok && id == it.ID {
			todo = append(todo, it)
		}
	}
	return todo, ids, nil
}

// nullJSON turns an empty watermark into SQL NULL.
func nullJSON(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return string(b)
}
