// Package measure holds what citylink's benchmarks count and compute, so
// that `citylink bench` and the `go test -bench` benchmarks measure the
// same way: the Postgres statements a pool sends (a pgx tracer), the HTTP
// calls a simulated system serves (a handler wrapper), and the ideal wall
// time of a run on its chains when every outside call costs exactly an
// added latency.
//
// It imports neither the engine nor a client nor the testing package: the
// citylink command links it.
package measure

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

// Statements counts what a pgx pool sends to Postgres, when set as its
// ConnConfig.Tracer. Every query, exec and COPY is one statement and one
// round trip (BEGIN and COMMIT included: pgx sends them as statements); a
// pgx.Batch is one round trip carrying each of its queries as a statement.
// It is safe for concurrent use; the zero value is ready.
type Statements struct {
	statements, roundTrips atomic.Int64
}

// Counts are what Statements counted.
type Counts struct {
	Statements int64 `json:"statements"`
	RoundTrips int64 `json:"round_trips"`
}

// Sub returns c less an earlier reading.
func (c Counts) Sub(before Counts) Counts {
	return Counts{Statements: c.Statements - before.Statements, RoundTrips: c.RoundTrips - before.RoundTrips}
}

// Load returns the counts so far.
func (s *Statements) Load() Counts {
	return Counts{Statements: s.statements.Load(), RoundTrips: s.roundTrips.Load()}
}

// TraceQueryStart counts a query or exec.
func (s *Statements) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	s.statements.Add(1)
	s.roundTrips.Add(1)
	return ctx
}

// TraceQueryEnd is part of pgx.QueryTracer.
func (s *Statements) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// TraceCopyFromStart counts a COPY.
func (s *Statements) TraceCopyFromStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceCopyFromStartData) context.Context {
	s.statements.Add(1)
	s.roundTrips.Add(1)
	return ctx
}

// TraceCopyFromEnd is part of pgx.CopyFromTracer.
func (s *Statements) TraceCopyFromEnd(context.Context, *pgx.Conn, pgx.TraceCopyFromEndData) {}

// TraceBatchStart counts a batch's round trip.
func (s *Statements) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	s.roundTrips.Add(1)
	return ctx
}

// TraceBatchQuery counts one statement of a batch.
func (s *Statements) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {
	s.statements.Add(1)
}

// TraceBatchEnd is part of pgx.BatchTracer.
func (s *Statements) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

var (
	_ pgx.QueryTracer    = (*Statements)(nil)
	_ pgx.CopyFromTracer = (*Statements)(nil)
	_ pgx.BatchTracer    = (*Statements)(nil)
)

// Calls counts the HTTP requests a handler serves. The zero value counts
// every request.
type Calls struct {
	// Match, when set, picks the requests counted (the applyEdits of an
	// ArcGIS service, say).
	Match func(*http.Request) bool
	n     atomic.Int64
}

// Wrap returns h counting its requests in c.
func (c *Calls) Wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c.Match == nil || c.Match(r) {
			c.n.Add(1)
		}
		h.ServeHTTP(w, r)
	})
}

// Load returns the requests counted so far.
func (c *Calls) Load() int64 { return c.n.Load() }

// Bound is the ideal wall time of a run worked on chains when each outside
// call costs exactly Latency and nothing else: the plan reads its source
// one call after another (PlanCalls), then the work's calls (WorkCalls:
// one per batch when the sink writes a batch in one call) are shared
// evenly by the chains, each making its share one after another. A
// measured wall time divided by it says how far the engine is from only
// waiting on the latency.
type Bound struct {
	PlanCalls, WorkCalls int64
	Chains               int
	Latency              time.Duration
}

// PerChain is the most work calls one chain makes: ⌈WorkCalls / Chains⌉.
func (b Bound) PerChain() int64 {
	if b.Chains < 1 {
		return b.WorkCalls
	}
	return int64(math.Ceil(float64(b.WorkCalls) / float64(b.Chains)))
}

// Ideal is (PlanCalls + PerChain) × Latency.
func (b Bound) Ideal() time.Duration {
	return time.Duration(b.PlanCalls+b.PerChain()) * b.Latency
}

// Ratio is wall ÷ Ideal; 0 when there is no latency to bound by.
func (b Bound) Ratio(wall time.Duration) float64 {
	ideal := b.Ideal()
	if ideal <= 0 {
		return 0
	}
	return wall.Seconds() / ideal.Seconds()
}

// String says how the bound is computed, with its figures.
func (b Bound) String() string {
	return fmt.Sprintf("%d plan calls one after another (%d × %v = %v), then ⌈%d work calls / %d chains⌉ = %d per chain (%d × %v = %v): %v",
		b.PlanCalls, b.PlanCalls, b.Latency, time.Duration(b.PlanCalls)*b.Latency,
		b.WorkCalls, b.Chains, b.PerChain(), b.PerChain(), b.Latency, time.Duration(b.PerChain())*b.Latency, b.Ideal())
}
