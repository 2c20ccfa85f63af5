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

	"golang.org/x/crypto/ssh"

	"github.com/citylink/citylink/internal/citysim"
	"github.com/citylink/citylink/internal/citysim/arcgissim"
	"github.com/citylink/citylink/internal/citysim/open311sim"
	"github.com/citylink/citylink/internal/lambdaconfig"
	"github.com/citylink/citylink/internal/wiring"
	"github.com/citylink/citylink/internal/work"
)

// devWorkflows are the workflows `citylink dev` schedules and `citylink run`
// runs: the one list in internal/wiring, wired the same way as the Lambdas.
func devWorkflows() []wiring.Workflow { return wiring.Workflows() }

func findWorkflow(name string) (wiring.Workflow, bool) { return wiring.Find(name) }

// devEnv is what a workflow is wired against in dev.
type devEnv struct {
	sys    *citysim.Systems
	db     *pgxpool.Pool
	logger *slog.Logger
}

// devSettings are the settings that point every workflow at the simulated
// city: the same names an operator sets (README, "Configuration"), with the
// simulators' addresses and credentials as plain values.
func devSettings(sys *citysim.Systems) map[string]string {
	service := func(base, name string) string { return base + "/arcgis/rest/services/" + name + "/FeatureServer" }
	return map[string]string{
		"CMS_URL": sys.CMSURL, "CMS_API_KEY": sys.CMS.APIKey(),
		"ARCGIS_SERVICE_URL": service(sys.AuditURL, arcgissim.AuditService),
		"ARCGIS_USERNAME":    citysim.SystemsArcGISUser, "ARCGIS_PASSWORD": citysim.SystemsArcGISPassword,
		"DOT_URL":      service(sys.DOTURL, arcgissim.DOTService),
		"DOT_USERNAME": citysim.SystemsArcGISUser, "DOT_PASSWORD": citysim.SystemsArcGISPassword,
		"OPEN311_URL": sys.Open311URL, "OPEN311_API_KEY": open311sim.DefaultAPIKey,
		"UTILITY_DELIVERY": "sftp", "UTILITY_SFTP_ADDR": sys.SFTPAddr, "UTILITY_SFTP_USER": "citylink",
		"UTILITY_SFTP_KEY":      string(sys.SFTPClientKeyPEM),
		"UTILITY_SFTP_HOST_KEY": string(ssh.MarshalAuthorizedKey(sys.UtilitySFTP.HostKey())),
		"UTILITY_SFTP_DIR":      sys.UtilitySFTP.Dir(),
	}
}

// devRunner is one workflow at work in this process, over the local
// publisher: in `citylink dev`, or for one `citylink run` outside it.
type devRunner struct {
	wf       wiring.Workflow
	settings *lambdaconfig.Settings
	parts    wiring.Parts
	eng      *work.Engine
	local    *work.Local
	db       *pgxpool.Pool
	logger   *slog.Logger
}

func startWorkflow(ctx context.Context, wf wiring.Workflow, env devEnv) (*devRunner, error) {
	return newRunner(ctx, wf, lambdaconfig.FromMap(devSettings(env.sys)), env.db, env.logger, 2*time.Minute)
}

// newRunner wires wf from settings and starts its engine over the local
// publisher; lease is the engine's lease (short in dev, where a restarted
// process should not wait a Lambda's quarter hour for its own batches).
func newRunner(ctx context.Context, wf wiring.Workflow, settings *lambdaconfig.Settings, db *pgxpool.Pool, logger *slog.Logger, lease time.Duration) (*devRunner, error) {
	parts, err := wf.Wire(ctx, wiring.Env{Settings: settings, DB: db, Logger: logger})
	if err != nil {
		return nil, fmt.Errorf("wiring %s: %w", wf.Name, err)
	}
	// BATCH_SIZE sizes batches as it does in the workflow's Lambda.
	batch, err := settings.Int("BATCH_SIZE", 0)
	if err != nil {
		return nil, err
	}
	r := &devRunner{wf: wf, settings: settings, parts: parts, db: db, logger: logger.With("workflow", wf.Name)}
	r.local = work.NewLocal(ctx, nil)
	r.local.OnError = func(l work.Link, err error) { r.logger.Error("link failed", "link", l.String(), "error", err) }
	r.eng, err = work.New(work.Config{
		Workflow: wf.Name, DB: db, Publisher: r.local, Source: parts.Source, Sink: parts.Sink,
		Logger: logger, LeaseTTL: lease, BatchSize: batch,
	})
	if err != nil {
		return nil, err
	}
	r.local.Deliver = func(ctx context.Context, l work.Link) error {
		return errors.Join(r.eng.Work(ctx, l), r.finish(ctx))
	}
	return r, nil
}

func (r *devRunner) finish(ctx context.Context) error {
	if r.parts.Finish == nil {
		return nil
	}
	return r.parts.Finish(ctx)
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
	// The console streams this to `citylink run --console`: the plan, then
	// plain progress lines, each sent as it is written.
	fw := flushing{w}
	fmt.Fprintf(fw, "%s run %d: %d items in %d batches on %d chains\n", r.wf.Name, res.Run, res.Items, res.Batches, res.Chains)
	wt := newWatcher(r.db, fw)
	wt.bar, wt.lineEvery = false, 2*time.Second
	if _, err := wt.watch(ctx, res.Run); err != nil {
		return fmt.Errorf("watching run %d: %w", res.Run, err)
	}
	if err := r.finish(ctx); err != nil {
		return err
	}
	runs, err := work.Runs(ctx, r.db, r.wf.Name, 1)
	if err != nil || len(runs) == 0 {
		return err
	}
	x := runs[0]
	fmt.Fprintf(w, "%s run %d %s: %d succeeded, %d skipped, %d failed, %d dead\n", r.wf.Name, x.ID, x.State, x.Succeeded, x.Skipped, x.Failed, x.Dead)
	return nil
}

// dryRun reads what the next run would plan, from the stored watermark, and
// writes the edits it would make in its target. It writes nothing anywhere:
// no run, no item, not even the watermark. It wires the workflow afresh,
// read-only, so a source that keeps state as it reads (alarm-311's
// episodes) keeps none.
func (r *devRunner) dryRun(ctx context.Context, w io.Writer) error {
	parts, err := r.wf.Wire(ctx, wiring.Env{Settings: r.settings, DB: r.db, Logger: r.logger, ReadOnly: true})
	if err != nil {
		return fmt.Errorf("wiring %s read-only: %w", r.wf.Name, err)
	}
	if parts.Preview == nil {
		return fmt.Errorf("%s has no preview yet: a dry run would have to write to show its edits", r.wf.Name)
	}
	var wm []byte
	if err := r.db.QueryRow(ctx, `SELECT value FROM watermarks WHERE workflow = $1`, r.wf.Name).Scan(&wm); err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("reading the watermark: %w", err)
	}
	var items []work.Item
	seen := map[string]bool{}
	after := work.Watermark(wm)
	for {
		p, err := parts.Source.Changes(ctx, after)
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
	fmt.Fprintf(w, "%s dry run: %d items since the watermark; nothing is written\n%s:\n", r.wf.Name, len(items), parts.Target)
	return parts.Preview(ctx, items, w)
}

// devRunners are the workflows `citylink dev` schedules, by name; the
// console starts runs of them.
type devRunners map[string]*devRunner

// Workflows names the workflows in the order devWorkflows lists them.
func (rs devRunners) Workflows() []string {
	var names []string
	for _, wf := range devWorkflows() {
		if rs[wf.Name] != nil {
			names = append(names, wf.Name)
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

// flushing sends each write to an HTTP client at once.
type flushing struct{ w io.Writer }

func (f flushing) Write(p []byte) (int, error) {
	n, err := f.w.Write(p)
	if fl, ok := f.w.(http.Flusher); ok {
		fl.Flush()
	}
	return n, err
}
