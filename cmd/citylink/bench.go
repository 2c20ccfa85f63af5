package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/spf13/cobra"

	"github.com/citylink/citylink/internal/citysim"
	"github.com/citylink/citylink/internal/citysim/simcity"
	"github.com/citylink/citylink/internal/lambdaconfig"
	"github.com/citylink/citylink/internal/measure"
	"github.com/citylink/citylink/internal/pglocal"
	"github.com/citylink/citylink/internal/wiring"
	"github.com/citylink/citylink/internal/work"
	"github.com/citylink/citylink/migrations"
)

// benchFlags are the settings every `citylink bench` workflow shares.
type benchFlags struct {
	lights  int
	seed    uint64
	chains  int
	batch   int
	latency time.Duration
	asJSON  bool
	db      dbFlag
}

func (f *benchFlags) register(c *cobra.Command, latency bool) {
	c.Flags().IntVar(&f.lights, "lights", simcity.DefaultLights, "streetlights in the simulated city")
	c.Flags().Uint64Var(&f.seed, "seed", 1, "seed of the simulated city")
	c.Flags().IntVar(&f.chains, "chains", 10, "chains working the run at once (the engine's default and the design's limit: 10)")
	c.Flags().IntVar(&f.batch, "batch-size", 100, "items per batch (the engine's default, which the Lambdas use: 100)")
	if latency {
		c.Flags().DurationVar(&f.latency, "latency", 0, "latency added to every call to the simulated systems")
	}
	c.Flags().BoolVar(&f.asJSON, "json", false, "print the figures as JSON")
	c.Flags().StringVar(&f.db.url, "database-url", "", "Postgres server to make the scratch database on (default $DATABASE_URL, else a throwaway cluster)")
}

func (f *benchFlags) check() error {
	switch {
	case f.lights < 1:
		return usageError("--lights must be at least 1")
	case f.chains < 1:
		return usageError("--chains must be at least 1")
	case f.batch < 1:
		return usageError("--batch-size must be at least 1")
	case f.latency < 0:
		return usageError("--latency must not be negative")
	}
	return nil
}

const benchHelp = `bench runs a workflow end to end in this process against the simulated city
and prints what it measured: wall time, throughput and the Postgres
statements the run sent per item. The workflow is wired by internal/wiring,
as its Lambda, citylink dev and citylink run wire it, and worked by the
engine over the local publisher, ten chains at once by default: what it
measures is what ships, with the simulators on loopback in place of the
city's systems.

Postgres: bench never writes to the database DATABASE_URL (or
--database-url) names. It creates a scratch database on that server (the
user needs CREATEDB, as for the tests), migrates it and drops it at the end;
without either it starts a throwaway cluster from the local PostgreSQL
binaries, as citylink dev does.

The figures move with the machine's load: compare figures taken in one
run, or on a quiet machine. BENCHMARKS.md says which command gives which
figure.`

func newBenchCmd(out io.Writer, logger *slog.Logger) *cobra.Command {
	c := &cobra.Command{
		Use:   "bench <workflow>",
		Short: "Measure a workflow end to end against the simulated city",
		Long:  benchHelp + "\n\n" + exitCodesHelp,
		Example: `  citylink bench arcgis-import                          # the 270,000-light city
  citylink bench arcgis-import --lights 20000 --latency 20ms
  citylink bench gis-push --lights 20000 --json | jq .push.features_per_s
  citylink bench billing-export --lights 20000`,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageError("bench needs a workflow: arcgis-import, gis-push or billing-export (see citylink bench --help)")
			}
			return notFound("no benchmark of %q: arcgis-import, gis-push or billing-export", args[0])
		},
		RunE: func(c *cobra.Command, args []string) error { return nil },
	}
	c.AddCommand(newBenchImportCmd(out, logger), newBenchPushCmd(out, logger), newBenchExportCmd(out, logger))
	return c
}

// benchEnv is what one benchmark runs against: the simulated city, a
// scratch database with a pool whose statements are counted, and the
// calls each simulated system serves.
type benchEnv struct {
	sys *citysim.Systems
	// pool is the workflow's, traced by stmts; admin is untraced, for
	// setting up, watching and checking.
	pool, admin *pgxpool.Pool
	stmts       *measure.Statements
	calls       map[string]*measure.Calls
	// dotEdits counts the DOT layer's applyEdits calls.
	dotEdits *measure.Calls
	dbName   string
	stop     []func()
	logger   *slog.Logger
}

func (e *benchEnv) close() {
	for i := len(e.stop) - 1; i >= 0; i-- {
		e.stop[i]()
	}
}

// startBench starts the city (opts, with the call counters added) and the
// scratch database.
func startBench(ctx context.Context, f *benchFlags, opts citysim.SystemsOptions, logger *slog.Logger) (_ *benchEnv, err error) {
	e := &benchEnv{stmts: &measure.Statements{}, calls: map[string]*measure.Calls{}, logger: logger,
		dotEdits: &measure.Calls{Match: func(r *http.Request) bool { return strings.HasSuffix(r.URL.Path, "/applyEdits") }}}
	defer func() {
		if err != nil {
			e.close()
		}
	}()
	for _, s := range []string{citysim.SystemAudit, citysim.SystemDOT, citysim.SystemCMS, citysim.SystemOpen311, citysim.SystemUtilityHTTPS} {
		e.calls[s] = &measure.Calls{}
	}
	opts.Seed, opts.Lights, opts.Logger = f.seed, f.lights, logger
	opts.Faults = simcity.Faults{Latency: f.latency}
	opts.Wrap = func(system string, h http.Handler) http.Handler {
		if system == citysim.SystemDOT {
			h = e.dotEdits.Wrap(h)
		}
		return e.calls[system].Wrap(h)
	}
	logger.Info("building the simulated city", "lights", f.lights, "seed", f.seed)
	e.sys, err = citysim.StartSystems(opts)
	if err != nil {
		return nil, err
	}
	e.stop = append(e.stop, e.sys.Close)

	dsn, where, drop, err := benchDatabase(ctx, cmp.Or(f.db.url, os.Getenv("DATABASE_URL")), logger)
	if err != nil {
		return nil, err
	}
	e.stop = append(e.stop, drop)
	e.dbName = where
	e.admin, err = pgxpool.New(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("connecting to the scratch database: %w", err)
	}
	e.stop = append(e.stop, e.admin.Close)
	if err := migrations.Up(ctx, e.admin, slog.New(slog.DiscardHandler)); err != nil {
		return nil, err
	}
	// The pool as citylink run opens it, with room for the chains, and
	// every statement counted.
	cfg, err := lambdaconfig.FromMap(map[string]string{"DATABASE_URL": dsn}).PoolConfig(ctx)
	if err != nil {
		return nil, err
	}
	cfg.MaxConns = max(cfg.MaxConns, int32(2*f.chains+4), 24)
	cfg.ConnConfig.Tracer = e.stmts
	e.pool, err = pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connecting to the scratch database: %w", err)
	}
	e.stop = append(e.stop, e.pool.Close)
	return e, nil
}

// benchDatabase makes the scratch database: on the server of dsn when it
// is set (a new database beside dsn's, dropped by the returned func), else
// in a throwaway cluster. It returns its URL and a description that shows
// no password.
func benchDatabase(ctx context.Context, dsn string, logger *slog.Logger) (string, string, func(), error) {
	if dsn == "" {
		logger.Info("starting a throwaway Postgres cluster")
		c, err := pglocal.Start(ctx)
		if err != nil {
			return "", "", nil, err
		}
		return c.URL("postgres"), "a throwaway cluster", func() { c.Stop() }, nil
	}
	u, err := url.Parse(dsn)
	if err != nil || u.Scheme == "" {
		return "", "", nil, usageError("DATABASE_URL / --database-url is not a Postgres URL")
	}
	admin, err := pgxpool.New(ctx, dsn)
	if err != nil {
		return "", "", nil, fmt.Errorf("connecting to %s: %w", redactDSN(dsn), err)
	}
	name := fmt.Sprintf("citylink_bench_%d_%d", os.Getpid(), time.Now().UnixNano()%1_000_000_000)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		admin.Close()
		return "", "", nil, fmt.Errorf("creating the scratch database %s on %s (the user needs CREATEDB): %w", name, redactDSN(dsn), err)
	}
	drop := func() {
		if _, err := admin.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			logger.Error("dropping the scratch database", "database", name, "error", err)
		}
		admin.Close()
	}
	u.Path = "/" + name
	return u.String(), "scratch database " + name + " on " + redactDSN(dsn), drop, nil
}

// benchRun is one measured run of a workflow.
type benchRun struct {
	Run       int64   `json:"run"`
	State     string  `json:"state"`
	Items     int     `json:"items"`
	Succeeded int     `json:"succeeded"`
	Skipped   int     `json:"skipped"`
	Failed    int     `json:"failed"`
	Dead      int     `json:"dead"`
	Batches   int     `json:"batches"`
	Chains    int     `json:"chains"`
	WallS     float64 `json:"wall_s"`
	PlanS     float64 `json:"plan_s"`
	// ItemsPerS is items (features, for gis-push) over the wall time.
	ItemsPerS float64 `json:"items_per_s"`
	// Statements and RoundTrips are what the workflow's pool sent to
	// Postgres during the run (measure.Statements).
	Statements        int64   `json:"statements"`
	RoundTrips        int64   `json:"round_trips"`
	StatementsPerItem float64 `json:"statements_per_item"`
	// Calls are the calls each simulated system served during the run,
	// PlanCalls those of the source's system before the plan returned.
	Calls     map[string]int64 `json:"calls"`
	PlanCalls int64            `json:"plan_calls"`

	wall time.Duration
}

// benchWorkflow wires the named workflow from the simulated city's
// settings through internal/wiring and works one run of it over the local
// publisher, measuring it. source names the system the plan reads.
func (e *benchEnv) run(ctx context.Context, name, source string, f *benchFlags, out io.Writer) (benchRun, error) {
	wf, ok := wiring.Find(name)
	if !ok {
		return benchRun{}, fmt.Errorf("no workflow %q", name)
	}
	parts, err := wf.Wire(ctx, wiring.Env{Settings: lambdaconfig.FromMap(devSettings(e.sys)), DB: e.pool, Logger: e.logger})
	if err != nil {
		return benchRun{}, fmt.Errorf("wiring %s: %w", name, err)
	}
	local := work.NewLocal(ctx, nil)
	eng, err := work.New(work.Config{Workflow: name, DB: e.pool, Publisher: local, Source: parts.Source, Sink: parts.Sink,
		Logger: e.logger, Chains: f.chains, BatchSize: f.batch})
	if err != nil {
		return benchRun{}, err
	}
	// As citylink run delivers links: the engine's Work, then the
	// workflow's finish step.
	local.Deliver = func(ctx context.Context, l work.Link) error {
		err := eng.Work(ctx, l)
		if parts.Finish != nil {
			err = errors.Join(err, parts.Finish(ctx))
		}
		return err
	}
	calls := func() map[string]int64 {
		m := map[string]int64{}
		for s, c := range e.calls {
			m[s] = c.Load()
		}
		return m
	}
	callsBefore, stmtsBefore := calls(), e.stmts.Load()

	start := time.Now()
	res, err := eng.Plan(ctx)
	if err != nil {
		return benchRun{}, fmt.Errorf("planning %s: %w", name, err)
	}
	plan := time.Since(start)
	planCalls := e.calls[source].Load() - callsBefore[source]
	e.logger.Info("planned", "workflow", name, "run", res.Run, "items", res.Items, "batches", res.Batches, "seconds", plan.Seconds())
	// Progress on out (stderr), read through the untraced pool, beside
	// the run: the wall time ends when the last link returns, not when the
	// watcher next looks.
	watched := make(chan error, 1)
	if res.Items > 0 {
		go func() { _, err := newWatcher(e.admin, out).watch(ctx, res.Run); watched <- err }()
	} else {
		watched <- nil
	}
	werr := local.Wait()
	wall := time.Since(start)
	if err := errors.Join(werr, <-watched); err != nil {
		return benchRun{}, fmt.Errorf("working %s: %w", name, err)
	}
	stmts := e.stmts.Load().Sub(stmtsBefore)
	after := calls()
	for s := range after {
		after[s] -= callsBefore[s]
	}
	p, err := work.RunProgress(ctx, e.admin, res.Run)
	if err != nil {
		return benchRun{}, err
	}
	r := benchRun{Run: res.Run, State: p.State, Items: p.Total, Succeeded: p.Succeeded, Skipped: p.Skipped, Failed: p.Failed, Dead: p.Dead,
		Batches: res.Batches, Chains: res.Chains, WallS: wall.Seconds(), PlanS: plan.Seconds(),
		Statements: stmts.Statements, RoundTrips: stmts.RoundTrips, Calls: after, PlanCalls: planCalls, wall: wall}
	if p.Total > 0 {
		r.ItemsPerS = float64(p.Total) / wall.Seconds()
		r.StatementsPerItem = float64(stmts.Statements) / float64(p.Total)
	}
	return r, nil
}

// benchVerdict is the exit of a benchmark whose run did not do all it
// was given: the figures are printed, and the code says they need a look.
func benchVerdict(runs ...benchRun) error {
	for _, r := range runs {
		if r.Failed+r.Dead > 0 || (r.State != "succeeded" && r.Items > 0) {
			return errAttention
		}
	}
	return nil
}
