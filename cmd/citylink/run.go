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

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/spf13/cobra"

	"github.com/citylink/citylink/internal/lambdaconfig"
	"github.com/citylink/citylink/internal/wiring"
	"github.com/citylink/citylink/internal/work"
)

// serveRun is the console's trigger for `citylink run`: it runs a workflow
// at once (or previews it, with ?dry_run=1) and streams what it says.
func serveRun(w http.ResponseWriter, r *http.Request, runner *devRunner) {
	if runner == nil {
		http.Error(w, "no such workflow: "+r.PathValue("name"), http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	var err error
	if r.URL.Query().Get("dry_run") == "1" {
		err = runner.dryRun(r.Context(), w)
	} else {
		err = runner.runNow(r.Context(), w)
	}
	if err != nil {
		// The status line is sent already; the last line says it failed.
		fmt.Fprintf(w, "error: %v\n", err)
	}
}

func newRunCmd(out io.Writer, logger *slog.Logger) *cobra.Command {
	var console string
	var dry bool
	var db dbFlag
	var names []string
	for _, wf := range devWorkflows() {
		names = append(names, wf.Name)
	}
	c := &cobra.Command{
		Use:   "run <workflow>",
		Short: "Run a workflow now, or preview it with --dry-run",
		Long: `run plans a run of the workflow now, works it until it is closed, showing its
progress, and prints its counts. With --dry-run it prints the edits the run
would make in its target (devices to create or update in the CMS, the rows of
the utility file, ...) and writes nothing anywhere, not even the watermark.

Where it runs:
  - against the database and the city's systems, in this process, when a
    database is configured (DATABASE_URL, --database-url, or DB_HOST with
    DB_SECRET_ID) and --console is not given. It reads the same settings as
    the workflow's Lambda, from the environment, secrets by name included
    (README, "Configuration"); the run's links are worked here, ten chains at
    once, with a progress bar on a terminal (items done of total, rate, ETA)
    and plain lines every few seconds otherwise. While the bar is drawn, the
    engine's log goes to a file in the temporary directory, named before the
    bar and after the counts, not to stderr; without a bar it goes to stderr.
  - inside a running citylink dev otherwise, or when --console names one:
    dev runs it against the simulated city and this command prints what it
    says.

Workflows: ` + strings.Join(names, ", ") + `

` + exitCodesHelp,
		Example: `  citylink run arcgis-import --console http://127.0.0.1:8080   # inside citylink dev
  citylink run billing-export --dry-run
  DATABASE_URL=postgres://... CMS_URL=https://cms.example CMS_SECRET_ID=citylink/cms \
    ARCGIS_SERVICE_URL=https://.../FeatureServer ARCGIS_SECRET_ID=citylink/audit \
    citylink run arcgis-import`,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageError("run takes one workflow: %s", strings.Join(names, ", "))
			}
			if _, ok := findWorkflow(args[0]); !ok {
				return &exitError{code: exitNotFound, err: fmt.Errorf("no workflow %q: %s", args[0], strings.Join(names, ", "))}
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			wf, _ := findWorkflow(args[0])
			settings := runSettings(db.url)
			if console == "" && hasDatabase(settings) {
				return runHere(c.Context(), wf, settings, dry, out, logger)
			}
			return runInDev(c.Context(), cmp.Or(console, "http://127.0.0.1:8080"), args[0], dry, out)
		},
	}
	c.Flags().StringVar(&console, "console", "", "run inside the citylink dev at this console (default, when no database is configured: http://127.0.0.1:8080)")
	c.Flags().BoolVar(&dry, "dry-run", false, "print the edits the run would make, per target, and write nothing")
	db.register(c)
	return c
}

// runSettings are the workflow settings of the environment, with
// --database-url, when given, as DATABASE_URL.
func runSettings(dbURL string) *lambdaconfig.Settings {
	return lambdaconfig.New(func(k string) (string, bool) {
		if k == "DATABASE_URL" && dbURL != "" {
			return dbURL, true
		}
		return os.LookupEnv(k)
	})
}

// hasDatabase says whether the settings name a database, without reading
// any secret.
func hasDatabase(s *lambdaconfig.Settings) bool {
	return s.Optional("DATABASE_URL", "") != "" || s.Optional("DB_HOST", "") != ""
}

// runHere runs the workflow in this process against the configured
// database and systems: the Lambda's wiring, the engine over the local
// publisher, and the progress watcher. Failed or dead items make the exit
// code exitAttention.
func runHere(ctx context.Context, wf wiring.Workflow, s *lambdaconfig.Settings, dry bool, out io.Writer, logger *slog.Logger) error {
	return runHereWith(ctx, wf, s, dry, out, logger, isTerminal(out), os.TempDir())
}

// runHereWith is runHere drawing a progress bar or not. With a bar, the
// engine's log, which would break the bar at every line, goes to a new
// file in logDir instead of logger; the output names the file before the
// bar and again after the counts.
func runHereWith(ctx context.Context, wf wiring.Workflow, s *lambdaconfig.Settings, dry bool, out io.Writer, logger *slog.Logger, bar bool, logDir string) (err error) {
	if bar && !dry {
		f, ferr := os.CreateTemp(logDir, "citylink-run-"+wf.Name+"-*.log")
		if ferr != nil {
			return fmt.Errorf("creating the run's log file: %w", ferr)
		}
		defer func() {
			err = errors.Join(err, f.Close())
			fmt.Fprintf(out, "log: %s\n", f.Name())
		}()
		fmt.Fprintf(out, "log: %s (the progress bar holds the terminal)\n", f.Name())
		logger = slog.New(slog.NewTextHandler(f, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	cfg, err := s.PoolConfig(ctx)
	if err != nil {
		return usageError("%v", err)
	}
	// Ten chains work at once here, not one link per container: give them
	// connections enough (DB_MAX_CONNS sizes a Lambda's pool).
	cfg.MaxConns = max(cfg.MaxConns, 24)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("connecting: %w", err)
	}
	defer pool.Close()
	if err := pool.Ping(ctx); err != nil {
		return fmt.Errorf("connecting: %w", err)
	}
	r, err := newRunner(ctx, wf, s, pool, logger, 0)
	if err != nil {
		return err
	}
	if dry {
		return r.dryRun(ctx, out)
	}
	// A run an earlier `citylink run` left behind when it was stopped (or
	// whose links were lost) is looked up before the rescue: the rescue
	// restarts its chains, and the local publisher works them here at
	// once, so the run may close before a plan would have seen it open.
	left, err := openRun(ctx, r)
	if err != nil {
		return err
	}
	// Rescue first, as a tick does.
	if _, err := r.eng.Rescue(ctx); err != nil {
		return err
	}
	run := left
	if left != 0 {
		fmt.Fprintf(out, "%s run %d is open already; watching it, and working here the chains no one works\n", wf.Name, left)
	} else if run, err = planHere(ctx, r, out); err != nil {
		return err
	}
	w := newWatcher(pool, out)
	w.bar = bar
	p, err := w.watch(ctx, run)
	if err != nil {
		return err
	}
	// The link that closed the run may still be finishing (billing-export
	// delivers its file there); wait for it, then finish once more, which
	// does nothing when it is done.
	if err := r.local.Wait(); err != nil {
		return err
	}
	if err := r.finish(ctx); err != nil {
		return err
	}
	fmt.Fprintf(out, "%s run %d %s: %d succeeded, %d skipped, %d failed, %d dead\n", wf.Name, p.Run, p.State, p.Succeeded, p.Skipped, p.Failed, p.Dead)
	if p.Failed+p.Dead > 0 {
		return errAttention
	}
	return nil
}

// openRun is the workflow's open run (planning or running), 0 when none is.
func openRun(ctx context.Context, r *devRunner) (int64, error) {
	runs, err := work.Runs(ctx, r.db, r.wf.Name, 1)
	if err != nil {
		return 0, err
	}
	if len(runs) == 0 || (runs[0].State != "running" && runs[0].State != "planning") {
		return 0, nil
	}
	return runs[0].ID, nil
}

// planHere plans a run and returns it; when the workflow has a run open
// already, it returns that one to watch instead of failing: its chains that
// no worker holds were restarted here by the rescue before.
func planHere(ctx context.Context, r *devRunner, out io.Writer) (int64, error) {
	for {
		res, err := r.eng.Plan(ctx)
		if errors.Is(err, work.ErrRunOpen) {
			runs, lerr := work.Runs(ctx, r.db, r.wf.Name, 1)
			if lerr != nil {
				return 0, lerr
			}
			if len(runs) == 0 || (runs[0].State != "running" && runs[0].State != "planning") {
				return 0, fmt.Errorf("%s: %w, and none is listed", r.wf.Name, err)
			}
			fmt.Fprintf(out, "%s run %d is open already (%s); watching it, and working here the chains no one works\n", r.wf.Name, runs[0].ID, runs[0].State)
			return runs[0].ID, nil
		}
		if err != nil {
			return 0, err
		}
		if res.Planning {
			// Only a deadline stops a plan early; go on from its cursor.
			continue
		}
		fmt.Fprintf(out, "%s run %d: %d items in %d batches on %d chains\n", r.wf.Name, res.Run, res.Items, res.Batches, res.Chains)
		return res.Run, nil
	}
}

// runInDev asks the running citylink dev at console to run (or preview) the
// workflow, and prints what it says as it says it.
func runInDev(ctx context.Context, console, name string, dry bool, out io.Writer) error {
	u := strings.TrimSuffix(console, "/") + "/workflows/" + url.PathEscape(name) + "/run"
	if dry {
		u += "?dry_run=1"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("reaching citylink dev at %s (is it running? or set DATABASE_URL to run here): %w", console, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("citylink dev answered %s: %s", resp.Status, strings.TrimSpace(string(b)))
	}
	var last string
	buf := make([]byte, 32<<10)
	for {
		n, rerr := resp.Body.Read(buf)
		if n > 0 {
			out.Write(buf[:n])
			last = string(buf[:n])
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return fmt.Errorf("reading from citylink dev: %w", rerr)
		}
	}
	if i := strings.LastIndex(strings.TrimRight(last, "\n"), "\n"); strings.HasPrefix(last[i+1:], "error: ") {
		return fmt.Errorf("%s failed", name)
	}
	return nil
}
