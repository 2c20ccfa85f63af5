// Package wire is what every workflow's wiring shares: the Workflow,
// Env and Parts types, the clients every workflow reads from (the CMS and
// ArcGIS services), and Lambda, which turns one Workflow into a Lambda
// handler. It imports no workflow: each workflow's wiring lives in its own
// package under internal/wiring (internal/wiring/alarm311, ...) that
// imports only that workflow, so a workflow's Lambda links its own
// workflow and none of the others. internal/wiring lists all five for
// `citylink dev`, `run` and `bench`.
//
// The settings a Wire reads are recorded by lambdaconfig.Settings, and
// internal/deploy holds them equal to the function's Environment in
// template.yaml, so the two cannot drift.
package wire

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

// Log is the logger to give clients and parts: Logger, or slog.Default().
func (e Env) Log() *slog.Logger {
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

// Handler is a workflow Lambda's handler.
type Handler func(ctx context.Context, event json.RawMessage) error

// Lambda wires the workflow's Lambda from s: the Postgres pool sized
// for a container, the parts, and the engine publishing links to
// LINK_TOPIC_ARN. Its handler is the engine's Handle followed by the
// workflow's finish step; an error of either fails the invocation, so
// Lambda's own retry tries again. The pool lives as long as the container.
func Lambda(ctx context.Context, wf Workflow, s *lambdaconfig.Settings, logger *slog.Logger) (Handler, error) {
	if wf.Wire == nil {
		return nil, fmt.Errorf("workflow %q has no wiring", wf.Name)
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
