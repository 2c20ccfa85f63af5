package work

import (
	"context"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/citylink/citylink/internal/pgtest"
)

// cityItems is the simulated city's 270,000 streetlights as plan items.
const cityItems = 270_000

// BenchmarkPlan plans the whole city twice per iteration, once with COPY and
// once with one INSERT per row, each on a fresh database, in pages of 2,000
// recorded one transaction each, and reports the items/s of each, their
// ratio, and the statements the COPY plan sent per item (every round trip:
// BEGIN and COMMIT, each query, a COPY as one) and in all.
func BenchmarkPlan(b *testing.B) {
	items := makeItems("pole", cityItems)
	var copyTime, insertTime time.Duration
	var statements int64
	plan := func(writer itemWriter, statementsTo *int64) time.Duration {
		b.StopTimer()
		db := &countingDB{DB: pgtest.Pool(b)}
		e, err := New(Config{
			Workflow: "bench-plan", DB: db, Publisher: &linkRecorder{},
			Source: &pageSource{items: items, pageSize: 2000}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		})
		if err != nil {
			b.Fatal(err)
		}
		e.writer = writer
		b.StartTimer()
		start := time.Now()
		res, err := e.Plan(context.Background())
		took := time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		if res.Items != cityItems || res.Batches != cityItems/100 || res.Planning {
			b.Fatalf("planned %+v", res)
		}
		if statementsTo != nil {
			*statementsTo += db.n.Load()
		}
		return took
	}
	for b.Loop() {
		copyTime += plan(copyItems, &statements)
		insertTime += plan(insertItems, nil)
	}
	n := float64(cityItems * b.N)
	b.ReportMetric(n/copyTime.Seconds(), "copy_items/s")
	b.ReportMetric(n/insertTime.Seconds(), "insert_items/s")
	b.ReportMetric(insertTime.Seconds()/copyTime.Seconds(), "copy_speedup_x")
	b.ReportMetric(float64(statements)/n, "statements/item")
	b.ReportMetric(float64(statements)/float64(b.N), "statements/plan")
}

// countingDB counts the statements the engine sends, inside transactions
// too.
type countingDB struct {
	DB
	n atomic.Int64
}

func (d *countingDB) Begin(ctx context.Context) (pgx.Tx, error) {
	d.n.Add(1)
	tx, err := d.DB.Begin(ctx)
	if err != nil {
		return nil, err
	}
	return &countingTx{Tx: tx, n: &d.n}, nil
}

func (d *countingDB) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	d.n.Add(1)
	return d.DB.Exec(ctx, sql, args...)
}

func (d *countingDB) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	d.n.Add(1)
	return d.DB.Query(ctx, sql, args...)
}

func (d *countingDB) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	d.n.Add(1)
	return d.DB.QueryRow(ctx, sql, args...)
}

type countingTx struct {
	pgx.Tx
	n *atomic.Int64
}

func (t *countingTx) Commit(ctx context.Context) error { t.n.Add(1); return t.Tx.Commit(ctx) }
func (t *countingTx) Rollback(ctx context.Context) error {
	t.n.Add(1)
	return t.Tx.Rollback(ctx)
}
func (t *countingTx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	t.n.Add(1)
	return t.Tx.Exec(ctx, sql, args...)
}
func (t *countingTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	t.n.Add(1)
	return t.Tx.Query(ctx, sql, args...)
}
func (t *countingTx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	t.n.Add(1)
	return t.Tx.QueryRow(ctx, sql, args...)
}
func (t *countingTx) CopyFrom(ctx context.Context, table pgx.Identifier, cols []string, src pgx.CopyFromSource) (int64, error) {
	t.n.Add(1)
	return t.Tx.CopyFrom(ctx, table, cols, src)
}

// noopSink succeeds at everything without doing anything, so the benchmark
// measures the engine: claim, load, record, publish, close.
type noopSink struct{}

func (noopSink) Apply(_ context.Context, items []Item) ([]Outcome, error) {
	outs := make([]Outcome, len(items))
	for i := range outs {
		outs[i] = Success("")
	}
	return outs, nil
}

// BenchmarkClaimComplete works a planned run of 1,000 batches of 100 items
// on ten chains with a no-op sink, and reports batches/s and items/s.
func BenchmarkClaimComplete(b *testing.B) {
	const nItems, batchSize = 100_000, 100
	items := makeItems("pole", nItems)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	var worked time.Duration
	for b.Loop() {
		b.StopTimer()
		pool := pgtest.Pool(b)
		links := &linkRecorder{}
		planner, err := New(Config{
			Workflow: "bench-work", DB: pool, Publisher: links, Logger: logger,
			Source: &pageSource{items: items, pageSize: 2000}, BatchSize: batchSize,
		})
		if err != nil {
			b.Fatal(err)
		}
		res, err := planner.Plan(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		local := NewLocal(context.Background(), nil)
		worker, err := New(Config{Workflow: "bench-work", DB: pool, Publisher: local, Sink: noopSink{}, Logger: logger})
		if err != nil {
			b.Fatal(err)
		}
		local.Deliver = worker.Work
		b.StartTimer()
		start := time.Now()
		for _, l := range links.links {
			if err := local.Publish(context.Background(), l); err != nil {
				b.Fatal(err)
			}
		}
		if err := local.Wait(); err != nil {
			b.Fatal(err)
		}
		worked += time.Since(start)
		b.StopTimer()
		var state string
		if err := pool.QueryRow(context.Background(), `SELECT state FROM runs WHERE id = $1`, res.Run).Scan(&state); err != nil || state != "succeeded" {
			b.Fatalf("run %s, %v", state, err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(nItems/batchSize*b.N)/worked.Seconds(), "batches/s")
	b.ReportMetric(float64(nItems*b.N)/worked.Seconds(), "items/s")
}
