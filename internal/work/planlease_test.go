package work

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// errKilled is what a killed process's database calls return in the test.
var errKilled = errors.New("process killed")

// killableDB is a DB that stops answering once killed, as the connections
// of a Lambda killed at its timeout do: the process gets no last word.
type killableDB struct {
	DB
	killed atomic.Bool
}

func (d *killableDB) Begin(ctx context.Context) (pgx.Tx, error) {
	if d.killed.Load() {
		return nil, errKilled
	}
	return d.DB.Begin(ctx)
}

func (d *killableDB) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	if d.killed.Load() {
		return pgconn.CommandTag{}, errKilled
	}
	return d.DB.Exec(ctx, sql, args...)
}

func (d *killableDB) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	if d.killed.Load() {
		return nil, errKilled
	}
	return d.DB.Query(ctx, sql, args...)
}

func (d *killableDB) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	if d.killed.Load() {
		return errRow{}
	}
	return d.DB.QueryRow(ctx, sql, args...)
}

type errRow struct{}

func (errRow) Scan(...any) error { return errKilled }

// TestKilledPlannerIsTakenOverAfterThePlanLease kills a planner during its
// third page: it releases nothing. Its run is continued once the short
// planning lease has lapsed, well before LeaseTTL, and the plan finishes
// with every key once.
func TestKilledPlannerIsTakenOverAfterThePlanLease(t *testing.T) {
	t.Parallel()
	items := makeItems("pole", 100)
	src := &pageSource{items: items, pageSize: 10}
	var db *killableDB
	h := newHarness(t, src, func(c *Config) {
		c.BatchSize = 10
		db = &killableDB{DB: c.DB}
		c.DB = db
	})
	if h.engine.cfg.PlanLease >= h.engine.cfg.LeaseTTL/2 {
		t.Fatalf("PlanLease %v is not short next to LeaseTTL %v", h.engine.cfg.PlanLease, h.engine.cfg.LeaseTTL)
	}
	src.onCall = func(_ context.Context, call int, _ Watermark) error {
		h.clock.Advance(10 * time.Second)
		if call == 3 {
			db.killed.Store(true)
		}
		return nil
	}
	ctx := context.Background()
	if _, err := h.engine.Plan(ctx); !errors.Is(err, errKilled) {
		t.Fatalf("killed planner = %v, want its database calls refused", err)
	}
	died := h.clock.Now()
	var (
		run     int64
		pages   int
		expires time.Time
	)
	if err := h.pool.QueryRow(ctx, `SELECT id, plan_pages, plan_expires_at FROM runs WHERE workflow = $1 AND state = 'planning'`,
		h.engine.Workflow()).Scan(&run, &pages, &expires); err != nil {
		t.Fatal(err)
	}
	if pages != 2 {
		t.Fatalf("%d pages recorded before the kill, want 2", pages)
	}
	// A live engine of the same workflow: the next invocation.
	local := NewLocal(ctx, nil)
	cfg := h.engine.cfg
	cfg.DB, cfg.Publisher = h.pool, local
	next, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	local.Deliver = next.Work
	if _, err := next.Plan(ctx); !errors.Is(err, ErrRunOpen) {
		t.Fatalf("plan while the killed planner's lease lasts = %v, want ErrRunOpen", err)
	}
	h.clock.Set(expires.Add(time.Second))
	if waited := h.clock.Now().Sub(died); waited >= cfg.LeaseTTL/2 {
		t.Fatalf("the run is held %v after its planner died", waited)
	}
	r, err := next.Rescue(ctx)
	if err != nil || r.Resumed != 1 || !r.ResumedDone || r.ResumedItems != 100 {
		t.Fatalf("rescue after the plan lease = %+v, %v; want the plan finished with 100 items", r, err)
	}
	if err := local.Wait(); err != nil {
		t.Fatalf("deliveries failed: %v", err)
	}
	keysOnce(t, h, run, items)
}
