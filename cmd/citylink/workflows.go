package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/citylink/citylink/internal/arcgis"
	"github.com/citylink/citylink/internal/arcgisimport"
	"github.com/citylink/citylink/internal/billingexport"
	"github.com/citylink/citylink/internal/citysim"
	"github.com/citylink/citylink/internal/citysim/arcgissim"
	"github.com/citylink/citylink/internal/cms"
	"github.com/citylink/citylink/internal/utility"
	"github.com/citylink/citylink/internal/work"
)

// devWorkflow is one integration workflow as `citylink dev` and `citylink
// run` run it against the simulated city. devWorkflows is the one list of
// them: a new workflow registers here and is scheduled, triggered and
// previewed like the others.
type devWorkflow struct {
	name string
	// every is the production schedule; dev divides it by --compress.
	every time.Duration
	wire  func(env devEnv) (devParts, error)
}

// devEnv is what a workflow is wired against in dev.
type devEnv struct {
	sys    *citysim.Systems
	db     *pgxpool.Pool
	logger *slog.Logger
}

// devParts are a workflow's source, sink and extras, wired to the city.
type devParts struct {
	source work.Source
	sink   work.Sink
	// finish runs after every invocation (a tick or a link), as the Lambda
	// runs it: billing-export delivers the files of closed runs there.
	finish func(ctx context.Context) error
	// target names the system the sink writes to, for --dry-run.
	target string
	// preview writes the edits items would make, writing nothing.
	preview func(ctx context.Context, items []work.Item, w io.Writer) error
}

var devWorkflows = []devWorkflow{
	{name: "arcgis-import", every: 8 * time.Hour, wire: wireArcGISImport},
	{name: "billing-export", every: 24 * time.Hour, wire: wireBillingExport},
}

func findWorkflow(name string) (devWorkflow, bool) {
	for _, wf := range devWorkflows {
		if wf.name == name {
			return wf, true
		}
	}
	return devWorkflow{}, false
}

func devCMS(sys *citysim.Systems) (*cms.Client, error) {
	return cms.New(cms.Options{BaseURL: sys.CMSURL, APIKey: sys.CMS.APIKey()})
}

func wireArcGISImport(env devEnv) (devParts, error) {
	audit, err := arcgis.New(arcgis.Options{
		ServiceURL: env.sys.AuditURL + "/arcgis/rest/services/" + arcgissim.AuditService + "/FeatureServer",
		Username:   citysim.SystemsArcGISUser, Password: citysim.SystemsArcGISPassword,
	})
	if err != nil {
		return devParts{}, err
	}
	c, err := devCMS(env.sys)
	if err != nil {
		return devParts{}, err
	}
	return devParts{
		source: &arcgisimport.Source{Client: audit, Mapping: arcgisimport.DefaultMapping()},
		sink:   &arcgisimport.Sink{Client: c},
		target: "CMS " + env.sys.CMSURL,
		preview: func(ctx context.Context, items []work.Item, w io.Writer) error {
			return arcgisimport.Preview(ctx, c, items, w)
		},
	}, nil
}

func wireBillingExport(env devEnv) (devParts, error) {
	c, err := devCMS(env.sys)
	if err != nil {
		return devParts{}, err
	}
	drop, err := utility.NewSFTP(utility.SFTPConfig{Addr: env.sys.SFTPAddr, User: "citylink", Signer: env.sys.SFTPClientKey,
		HostKey: env.sys.UtilitySFTP.HostKey(), Dir: env.sys.UtilitySFTP.Dir()})
	if err != nil {
		return devParts{}, err
	}
	m := billingexport.DefaultMapping()
	sink := &billingexport.Sink{DB: env.db, Mapping: m}
	x := &billingexport.Exporter{DB: env.db, Deliverer: drop, Mapping: m, Workflow: "billing-export", Logger: env.logger}
	return devParts{
		source:  &billingexport.Source{Client: c},
		sink:    sink,
		finish:  func(ctx context.Context) error { _, err := x.Deliver(ctx); return err },
		target:  "utility SFTP drop " + env.sys.SFTPAddr,
		preview: sink.Preview,
	}, nil
}

// devRunner is one workflow running in `citylink dev`: its engine over the
// local publisher.
type devRunner struct {
	wf     devWorkflow
	parts  devParts
	eng    *work.Engine
	db     *pgxpool.Pool
	logger *slog.Logger
}

func startWorkflow(ctx context.Context, wf devWorkflow, env devEnv) (*devRunner, error) {
	parts, err := wf.wire(env)
	if err != nil {
		return nil, fmt.Errorf("wiring %s: %w", wf.name, err)
	}
	r := &devRunner{wf: wf, parts: parts, db: env.db, logger: env.logger.With("workflow", wf.name)}
	local := work.NewLocal(ctx, nil)
	local.OnError = func(l work.Link, err error) { r.logger.Error("link failed", "link", l.String(), "error", err) }
	r.eng, err = work.New(work.Config{
		Workflow: wf.name, DB: env.db, Publisher: local, Source: parts.source, Sink: parts.sink,
		Logger: env.logger, LeaseTTL: 2 * time.Minute,
	})
	if err != nil {
		return nil, err
	}
	local.Deliver = func(ctx context.Context, l work.Link) error {
		return errors.Join(r.eng.Work(ctx, l), r.finish(ctx))
	}
	return r, nil
}

func (r *devRunner) finish(ctx context.Context) error {
	if r.parts.finish == nil {
		return nil
	}
	return r.parts.finish(ctx)
}

// schedule runs the workflow's tick every `every` and the rescue tick every
// rescue until ctx ends.
func (r *devRunner) schedule(ctx context.Context, every, rescue time.Duration) {
	tick, resc := time.NewTicker(every), time.NewTicker(rescue)
	defer tick.Stop()
	defer resc.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if _, _, err := r.eng.Tick(ctx); err != nil {
				r.logger.Error("scheduled tick", "error", err)
			}
		case <-resc.C:
			if _, err := r.eng.Rescue(ctx); err != nil {
				r.logger.Error("rescue tick", "error", err)
			}
		}
		if err := r.finish(ctx); err != nil {
			r.logger.Error("finishing", "error", err)
		}
	}
}

// runNow plans a run at once, waits until it is closed, and writes its
// counts.
func (r *devRunner) runNow(ctx context.Context, w io.Writer) error {
	res, err := r.eng.Plan(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%s run %d: %d items in %d batches on %d chains\n", r.wf.name, res.Run, res.Items, res.Batches, res.Chains)
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	for {
		var state string
		if err := r.db.QueryRow(ctx, `SELECT state FROM runs WHERE id = $1`, res.Run).Scan(&state); err != nil {
			return fmt.Errorf("reading run %d: %w", res.Run, err)
		}
		if state != "running" {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	if err := r.finish(ctx); err != nil {
		return err
	}
	runs, err := work.Runs(ctx, r.db, r.wf.name, 1)
	if err != nil || len(runs) == 0 {
		return err
	}
	x := runs[0]
	fmt.Fprintf(w, "%s run %d %s: %d succeeded, %d skipped, %d failed, %d dead\n", r.wf.name, x.ID, x.State, x.Succeeded, x.Skipped, x.Failed, x.Dead)
	return nil
}

// dryRun reads what the next run would plan, from the stored watermark, and
// writes the edits it would make in its target. It writes nothing anywhere:
// no run, no item, not even the watermark.
func (r *devRunner) dryRun(ctx context.Context, w io.Writer) error {
	var wm []byte
	if err := r.db.QueryRow(ctx, `SELECT value FROM watermarks WHERE workflow = $1`, r.wf.name).Scan(&wm); err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("reading the watermark: %w", err)
	}
	var items []work.Item
	seen := map[string]bool{}
	after := work.Watermark(wm)
	for {
		p, err := r.parts.source.Changes(ctx, after)
		if err != nil {
			return err
		}
		for _, it := range p.Items {
			if !seen[it.Key] {
				seen[it.Key] = true
				items = append(items, it)
			}
		}
		if !p.More {
			break
		}
		after = p.Next
	}
	fmt.Fprintf(w, "%s dry run: %d items since the watermark; nothing is written\n%s:\n", r.wf.name, len(items), r.parts.target)
	return r.parts.preview(ctx, items, w)
}

// devRunners are the workflows `citylink dev` schedules, by name; the
// console starts runs of them.
type devRunners map[string]*devRunner

// Workflows names the workflows in the order devWorkflows lists them.
func (rs devRunners) Workflows() []string {
	var names []string
	for _, wf := range devWorkflows {
		if rs[wf.name] != nil {
			names = append(names, wf.name)
		}
	}
	return names
}

// Start plans a run of workflow now; the local publisher works it in the
// background, and the next tick finishes it (billing-export's delivery).
func (rs devRunners) Start(ctx context.Context, workflow string) (int64, error) {
	r := rs[workflow]
	if r == nil {
		return 0, fmt.Errorf("no workflow %q", workflow)
	}
	res, err := r.eng.Plan(ctx)
	if err != nil {
		return 0, err
	}
	return res.Run, nil
}
