package measure_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/citylink/citylink/internal/measure"
	"github.com/citylink/citylink/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestStatementsCountsWhatThePoolSends sends a transaction, a COPY and a
// batch to real Postgres and checks each is counted as the doc says.
func TestStatementsCountsWhatThePoolSends(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	stmts := &measure.Statements{}
	cfg.ConnConfig.Tracer = stmts
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if _, err := pool.Exec(ctx, `CREATE TABLE t (n int)`); err != nil {
		t.Fatal(err)
	}
	before := stmts.Load()
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"t"}, []string{"n"}, pgx.CopyFromRows([][]any{{1}, {2}})); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO t VALUES (3)`)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	// BEGIN, COPY, INSERT, COMMIT.
	if got := stmts.Load().Sub(before); got != (measure.Counts{Statements: 4, RoundTrips: 4}) {
		t.Fatalf("transaction counted %+v", got)
	}
	before = stmts.Load()
	var b pgx.Batch
	for range 3 {
		b.Queue(`INSERT INTO t VALUES (4)`)
	}
	if err := pool.SendBatch(ctx, &b).Close(); err != nil {
		t.Fatal(err)
	}
	if got := stmts.Load().Sub(before); got != (measure.Counts{Statements: 3, RoundTrips: 1}) {
		t.Fatalf("batch of 3 counted %+v", got)
	}
}

func TestCallsCountsMatchingRequests(t *testing.T) {
	t.Parallel()
	all := &measure.Calls{}
	edits := &measure.Calls{Match: func(r *http.Request) bool { return strings.HasSuffix(r.URL.Path, "/applyEdits") }}
	srv := httptest.NewServer(all.Wrap(edits.Wrap(http.NotFoundHandler())))
	t.Cleanup(srv.Close)
	for _, p := range []string{"/0/query", "/0/applyEdits", "/0/query"} {
		resp, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if all.Load() != 3 || edits.Load() != 1 {
		t.Fatalf("counted %d calls, %d edits; want 3 and 1", all.Load(), edits.Load())
	}
}

func TestBound(t *testing.T) {
	t.Parallel()
	// The figures of BENCHMARKS.md's arcgis-import at 20 ms.
	b := measure.Bound{PlanCalls: 139, WorkCalls: 2700, Chains: 10, Latency: 20 * time.Millisecond}
	if b.PerChain() != 270 || b.Ideal() != 8180*time.Millisecond {
		t.Fatalf("per chain %d, ideal %v; want 270 and 8.18s", b.PerChain(), b.Ideal())
	}
	if r := b.Ratio(16360 * time.Millisecond); r < 1.999 || r > 2.001 {
		t.Fatalf("ratio %v, want 2", r)
	}
	if (measure.Bound{PlanCalls: 1, WorkCalls: 11, Chains: 10, Latency: time.Second}).PerChain() != 2 {
		t.Fatal("11 calls on 10 chains: the busiest chain makes 2")
	}
	if (measure.Bound{PlanCalls: 3, WorkCalls: 5, Chains: 1}).Ratio(time.Second) != 0 {
		t.Fatal("no latency: no ratio")
	}
	for _, want := range []string{"139 plan calls", "⌈2700 work calls / 10 chains⌉ = 270 per chain", "8.18s"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("%q lacks %q", b.String(), want)
		}
	}
}
