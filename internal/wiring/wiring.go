// Package wiring builds each integration workflow once, from Settings, for
// every place that runs it: the workflow's Lambda (cmd/<workflow>), `citylink
// dev` (settings pointing at the simulated city) and `citylink run` outside
// dev (the operator's environment). Before it, each workflow was wired three
// times, and the three drifted: the deployed Lambdas read variable names the
// template did not give them.
//
// A Workflow is a name, its production schedule and a Wire function that
// reads the settings it needs and returns the Parts: source, sink, an
// optional finish step run after every invocation, the name of the target
// system, and a preview that says what a run would write and writes nothing.
// The settings a Wire reads are recorded by lambdaconfig.Settings, and
// internal/deploy holds them equal to the function's Environment in
// template.yaml, so the two cannot drift again.
//
// wiring may import the workflows, the clients, the engine and
// lambdaconfig; no workflow imports it (internal/imports enforces both).
package wiring

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/citylink/citylink/internal/lambdaconfig"
	"github.com/citylink/citylink/internal/work"
)

// Workflow is one integration workflow as every runner wires it.
type Workflow struct {
	// Name is the workflow's name in the engine's tables and its binary's
	// directory (cmd/<Name>).
	Name string
	// Every is the production schedule (template.yaml's PlanSchedule);
	// `citylink dev` divides it by --compress.
	Every time.Duration
	// Wire builds the workflow's parts from env.
	Wire func(ctx context.Context, env Env) (Parts, error)
}

// Env is what a workflow is wired from.
type Env struct {
	// Settings are read for the systems' addresses, credentials and
	// mappings.
	Settings *lambdaconfig.Settings
	// DB is the Postgres pool the engine uses too.
	DB *pgxpool.Pool
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// ReadOnly wires parts for a preview: the source writes nothing while
	// it reads (alarm-311's keeps its episodes in Postgres), and the sink
	// and finish step are not to be used.
	ReadOnly bool
}

func (e Env) logger() *slog.Logger {
	if e.Logger != nil {
		return e.Logger
	}
	return slog.Default()
}

// Parts are a workflow's pieces, wired.
type Parts struct {
	Source work.Source
	Sink   work.Sink
	// Finish, when set, runs after every invocation (a tick, a rescue or a
	// link) as the Lambda runs it: billing-export delivers the files of
	// closed runs there.
	Finish func(ctx context.Context) error
	// Target names the system the sink writes to, with its address, for
	// previews.
	Target string
	// Preview writes the edits items would make in the target, reading it
	// but writing nothing anywhere (wired with Env.ReadOnly, whose Sink may
	// then be nil). Every workflow has one; `citylink run --dry-run` uses it.
	Preview func(ctx context.Context, items []work.Item, w io.Writer) error
}

// Names of the workflows, as their packages and binaries name them.
const (
	ArcGISImport  = "arcgis-import"
	BillingExport = "billing-export"
	Alarm311      = "alarm-311"
	GISPush       = "gis-push"
	GISPull       = "gis-pull"
)

// Workflows lists every workflow, in the order the console shows them.
func Workflows() []Workflow {
	return []Workflow{
		{Name: ArcGISImport, Every: 8 * time.Hour, Wire: wireArcGISImport},
		{Name: BillingExport, Every: 24 * time.Hour, Wire: wireBillingExport},
		{Name: Alarm311, Every: 8 * time.Hour, Wire: wireAlarm311},
		{Name: GISPush, Every: time.Hour, Wire: wireGISPush},
		{Name: GISPull, Every: time.Hour, Wire: wireGISPull},
	}
}

// Find returns the workflow called name.
func Find(name string) (Workflow, bool) {
	for _, wf := range Workflows() {
		if wf.Name == name {
			return wf, true
		}
	}
	return Workflow{}, false
}

// Handler is a workflow Lambda's handler.
type Handler func(ctx context.Context, event json.RawMessage) error

// Lambda wires the named workflow's Lambda from s: the Postgres pool sized
// for a container, the parts, and the engine publishing links to
// LINK_TOPIC_ARN. Its handler is the engine's Handle followed by the
// workflow's finish step; an error of either fails the invocation, so
// Lambda's own retry tries again. The pool lives as long as the container.
func Lambda(ctx context.Context, name string, s *lambdaconfig.Settings, logger *slog.Logger) (Handler, error) {
	wf, ok := Find(name)
	if !ok {
		return nil, fmt.Errorf("no workflow %q", name)
	}
	pool, err := s.Pool(ctx)
	if err != nil {
		return nil, err
	}
	parts, err := wf.Wire(ctx, Env{Settings: s, DB: pool, Logger: logger})
	if err != nil {
		pool.Close()
		return nil, err
	}
	eng, err := s.Engine(ctx, work.Config{Workflow: wf.Name, DB: pool, Source: parts.Source, Sink: parts.Sink, Logger: logger})
	if err != nil {
		pool.Close()
		return nil, err
	}
	if parts.Finish == nil {
		return eng.Handle, nil
	}
	return func(ctx context.Context, ev json.RawMessage) error {
		herr := eng.Handle(ctx, ev)
		return errors.Join(herr, parts.Finish(ctx))
	}, nil
}
