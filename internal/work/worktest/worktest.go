// Package worktest is the test kit for workflow authors: a Harness runs a
// workflow's Source and Sink through the real engine on the test's own
// migrated Postgres (internal/pgtest), with the in-process publisher, until
// its run closes, under the faults of production (links delivered twice,
// workers lost mid-batch), and asserts what every workflow must guarantee:
// every item has an outcome, no run is left open, and no target effect
// happens twice.
//
//	h := worktest.New(t, worktest.Config{
//		Source: arcgisimport.NewSource(gis, mapping),
//		Sink:   arcgisimport.NewSink(cmsClient),
//		Twice:  func(work.Link) bool { return true },
//		Lose:   worktest.Every(7),
//		Effects: func(ctx context.Context) (map[string]int, error) {
//			return devicesPerAsset(ctx, cmsClient) // counted in the target itself
//		},
//	})
//	run := h.Run(t)
//	run.EveryItemHasOutcome(t)
//	h.NoEffectTwice(t)
//
// A package that uses it calls pgtest.Main from its TestMain.
package worktest

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/citylink/citylink/internal/pgtest"
	"github.com/citylink/citylink/internal/work"
	"github.com/citylink/citylink/internal/work/fault"
)

// Config is what a Harness runs.
type Config struct {
	// Source and Sink are the workflow's own. Required.
	Source work.Source
	Sink   work.Sink
	// Engine, when set, adjusts the engine's configuration (BatchSize,
	// Chains, Tries, ...) before the engine is built. The harness sets
	// Workflow, DB, Publisher, Source, Sink, Clock and, unless Engine sets
	// them, a Logger that writes to the test log and millisecond backoffs.
	Engine func(*work.Config)
	// Pool is the database; a fresh pgtest.Pool when nil.
	Pool *pgxpool.Pool
	// Twice chooses chain links to deliver twice, at once, as SNS may.
	Twice func(work.Link) bool
	// Lose chooses deliveries whose worker dies mid-batch: the sink applies
	// the first half of the batch (its effects happen) and then the worker
	// is killed before it can record anything, as a Lambda at its timeout.
	// A batch loses at most one worker, so the run can always finish.
	// The rescuer gives the batch to another worker once its lease expires,
	// which the harness brings about by moving its clock.
	Lose func(work.Link) bool
	// Effects, when set, counts effects per source key in the target itself
	// (devices per asset id in the CMS, requests per marker in Open311,
	// features per asset id in the GIS layer); NoEffectTwice checks it.
	Effects func(ctx context.Context) (map[string]int, error)
}

// Harness is a workflow wired to the engine on a test database.
type Harness struct {
	// Pool is the test database; Engine the workflow's engine; Clock the
	// engine's clock, which Run moves forward to expire lost leases.
	Pool   *pgxpool.Pool
	Engine *work.Engine
	Clock  *Clock

	cfg      Config
	ecfg     work.Config
	local    *work.Local
	mu       sync.Mutex
	effects  map[string]int
	lost     atomic.Int64
	rescues  int
	workflow string
}

// New builds a Harness for cfg. The workflow is named after the test.
func New(tb testing.TB, cfg Config) *Harness {
	tb.Helper()
	if cfg.Source == nil || cfg.Sink == nil {
		tb.Fatal("worktest: a harness needs a source and a sink")
	}
	h := &Harness{
		Pool:    cfg.Pool,
		Clock:   NewClock(time.Now()),
		cfg:     cfg,
		effects: map[string]int{},
	}
	if h.Pool == nil {
		h.Pool = pgtest.Pool(tb)
	}
	h.local = work.NewLocal(context.Background(), nil)
	h.workflow = "test-" + strings.ToLower(strings.NewReplacer("/", "-", " ", "-").Replace(tb.Name()))
	ecfg := work.Config{
		Backoff:    time.Millisecond,
		MaxBackoff: 10 * time.Millisecond,
		Logger:     slog.New(slog.NewTextHandler(tbWriter{tb}, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	if cfg.Engine != nil {
		cfg.Engine(&ecfg)
	}
	ecfg.Workflow = h.workflow
	ecfg.DB = h.Pool
	ecfg.Publisher = fault.Twice[work.Link](h.local, cfg.Twice)
	ecfg.Source = cfg.Source
	ecfg.Sink = losingSink{next: cfg.Sink, lost: &h.lost, mu: new(sync.Mutex), killed: map[int64]bool{}}
	ecfg.Clock = h.Clock
	e, err := work.New(ecfg)
	if err != nil {
		tb.Fatalf("worktest: %v", err)
	}
	h.Engine, h.ecfg = e, ecfg
	h.local.Deliver = fault.Losing(e.Work, cfg.Lose)
	return h
}

// Workflow is the name the harness gave the workflow.
func (h *Harness) Workflow() string { return h.workflow }

// Effect records one effect on the target for key. A test that wraps the
// sink's client (or its ApplyFunc) calls it where a create or change
// reaches the target; NoEffectTwice fails on a key recorded twice.
func (h *Harness) Effect(key string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.effects[key]++
}

// Lost is how many workers the harness killed mid-batch.
func (h *Harness) Lost() int { return int(h.lost.Load()) }

// maxRescues bounds the rescue rounds of one Run: each round expires every
// lease, so a run that needs more is stuck, not slow.
const maxRescues = 50

// Run ticks the workflow (rescue, then plan) and works the run it opens to
// the end: it waits for every delivery, and while the run is open (a worker
// was lost, a chain broke) it moves the clock past the lease and rescues,
// as the rescue schedule does in production. It fails the test if no run
// was opened, a delivery failed, or the run never closes.
func (h *Harness) Run(tb testing.TB) *Run {
	tb.Helper()
	ctx := context.Background()
	res, planned, err := h.Engine.Tick(ctx)
	if err != nil {
		tb.Fatalf("worktest: planning: %v", err)
	}
	if !planned {
		tb.Fatal("worktest: no run planned: a run of the workflow is still open")
	}
	// A plan stops early only at a deadline, which ctx has not; keep
	// planning as the next ticks would, should it ever.
	for tick := 0; res.Planning; tick++ {
		if tick == maxRescues {
			tb.Fatalf("worktest: run %d still planning after %d ticks", res.Run, maxRescues)
		}
		if res, _, err = h.Engine.Tick(ctx); err != nil {
			tb.Fatalf("worktest: planning: %v", err)
		}
	}
	for round := 0; ; round++ {
		if err := h.local.Wait(); err != nil {
			tb.Fatalf("worktest: deliveries failed: %v", err)
		}
		state, err := runState(ctx, h.Pool, res.Run)
		if err != nil {
			tb.Fatalf("worktest: %v", err)
		}
		if state != "running" && state != "planning" {
			break
		}
		if round == maxRescues {
			tb.Fatalf("worktest: run %d still open after %d rescues", res.Run, maxRescues)
		}
		h.Clock.Advance(h.Engine.LeaseTTL() + time.Second)
		if _, err := h.Engine.Rescue(ctx); err != nil {
			tb.Fatalf("worktest: rescuing: %v", err)
		}
		h.rescues++
	}
	r, err := h.loadRun(ctx, res)
	if err != nil {
		tb.Fatalf("worktest: %v", err)
	}
	return r
}

// NoEffectTwice fails the test if any key had more than one effect on the
// target, as recorded with Effect and as counted by Config.Effects.
func (h *Harness) NoEffectTwice(tb testing.TB) {
	tb.Helper()
	h.mu.Lock()
	counts := make(map[string]int, len(h.effects))
	for k, n := range h.effects {
		counts[k] = n
	}
	h.mu.Unlock()
	if h.cfg.Effects != nil {
		target, err := h.cfg.Effects(context.Background())
		if err != nil {
			tb.Fatalf("worktest: counting effects in the target: %v", err)
		}
		for k, n := range target {
			counts[k] = max(counts[k], n)
		}
	}
	var twice []string
	for k, n := range counts {
		if n > 1 {
			twice = append(twice, fmt.Sprintf("%s (%d)", k, n))
		}
	}
	if len(twice) > 0 {
		tb.Errorf("worktest: %d keys had an effect more than once: %s", len(twice), strings.Join(twice[:min(len(twice), 10)], ", "))
	}
}

// Every returns a chooser for Twice or Lose that picks every nth link it is
// asked about (the first, the n+1st, ...), so a test injects faults
// throughout a run without depending on scheduling.
func Every(n int) func(work.Link) bool {
	var i atomic.Int64
	return func(work.Link) bool { return (i.Add(1)-1)%int64(max(n, 1)) == 0 }
}

// Crash kills the worker of the delivery ctx belongs to, if Config.Lose
// chose it, for a test sink that wants to die at a moment of its choosing.
func Crash(ctx context.Context) bool { return fault.Crash(ctx) }

// losingSink applies the first half of a batch and then kills its worker,
// when the delivery was chosen by Config.Lose. It kills at most one worker
// per batch (known by its first item), so that every run can finish: a
// batch that kills every worker is the engine's own test, not a workflow's.
type losingSink struct {
	next   work.Sink
	lost   *atomic.Int64
	mu     *sync.Mutex
	killed map[int64]bool
}

func (s losingSink) Apply(ctx context.Context, items []work.Item) ([]work.Outcome, error) {
	half := (len(items) + 1) / 2
	if len(items) == 0 || !fault.Chosen(ctx) || !s.firstKill(items[0].ID) {
		return s.next.Apply(ctx, items)
	}
	if _, err := s.next.Apply(ctx, items[:half]); err != nil {
		return nil, err
	}
	if fault.Crash(ctx) {
		s.lost.Add(1)
	}
	return nil, ctx.Err()
}

// firstKill reports whether the batch whose first item is id has not lost a
// worker yet, and marks it.
func (s losingSink) firstKill(id int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.killed[id] {
		return false
	}
	s.killed[id] = true
	return true
}

func runState(ctx context.Context, db *pgxpool.Pool, run int64) (string, error) {
	var s string
	if err := db.QueryRow(ctx, `SELECT state FROM runs WHERE id = $1`, run).Scan(&s); err != nil {
		return "", fmt.Errorf("reading run %d: %w", run, err)
	}
	return s, nil
}

// tbWriter sends the engine's warnings to the test log.
type tbWriter struct{ tb testing.TB }

func (w tbWriter) Write(p []byte) (int, error) {
	w.tb.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
