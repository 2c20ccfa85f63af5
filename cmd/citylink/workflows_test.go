package main

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/citylink/citylink/internal/citysim"
	"github.com/citylink/citylink/internal/pgtest"
)

// TestRunAndDryRunEveryWorkflow triggers each registered workflow through
// the console's run endpoint with `citylink run`, as an operator does: a
// dry run first prints the edits per target and writes nothing, not even a
// watermark; the real run then closes with its counts; and a dry run after
// it finds nothing left to do.
func TestRunAndDryRunEveryWorkflow(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sys, err := citysim.StartSystems(citysim.SystemsOptions{Seed: 5, Lights: 2500})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sys.Close)
	lamps := raiseLampFailures(t, sys, 3)
	env := devEnv{sys: sys, db: pgtest.Pool(t), logger: slog.New(slog.DiscardHandler)}
	runners := map[string]*devRunner{}
	for _, wf := range devWorkflows() {
		r, err := startWorkflow(ctx, wf, env)
		if err != nil {
			t.Fatal(err)
		}
		runners[wf.Name] = r
	}
	if len(runners) != 5 {
		t.Fatalf("dev wires %d workflows, want all five", len(runners))
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /workflows/{name}/run", func(w http.ResponseWriter, r *http.Request) {
		serveRun(w, r, runners[r.PathValue("name")])
	})
	console := httptest.NewServer(mux)
	t.Cleanup(console.Close)
	cli := func(args ...string) string {
		t.Helper()
		var out bytes.Buffer
		if err := run(ctx, append(args, "--console", console.URL), &out, env.logger); err != nil {
			t.Fatalf("citylink %s: %v\n%s", strings.Join(args, " "), err, out.String())
		}
		return out.String()
	}

	want := map[string][]string{
		"arcgis-import":  {"CMS " + sys.CMSURL, "  create  SL-", "to create"},
		"billing-export": {"utility SFTP drop", "change_type,effective_date", "\n    ADD,"},
		"alarm-311":      {"Open311 " + sys.Open311URL, " requests to open, "},
		"gis-push":       {"DOT GIS " + sys.DOTURL, " to add, ", " to update, "},
		"gis-pull":       {"CMS " + sys.CMSURL, " (object id "},
	}
	before := pgtest.Fingerprint(t, env.db)
	for _, wf := range devWorkflows() {
		dry := cli("run", wf.Name, "--dry-run")
		if want[wf.Name] == nil {
			t.Errorf("no expectations for the dry run of %s", wf.Name)
		}
		for _, s := range want[wf.Name] {
			if !strings.Contains(dry, s) {
				t.Fatalf("dry run of %s lacks %q:\n%.2000s", wf.Name, s, dry)
			}
		}
		pgtest.SameFingerprint(t, before, pgtest.Fingerprint(t, env.db))
		if t.Failed() {
			t.Fatalf("the dry run of %s wrote to the database", wf.Name)
		}
		if wf.Name == "alarm-311" {
			checkAlarmDryRun(t, sys, lamps, dry)
		}
	}
	if files := sys.Inbox.Files(); len(files) != 0 {
		t.Fatalf("a dry run delivered %d files", len(files))
	}

	for _, wf := range devWorkflows() {
		out := cli("run", wf.Name)
		if !strings.Contains(out, wf.Name+" run ") || !strings.Contains(out, " succeeded: ") {
			t.Fatalf("run of %s said:\n%s", wf.Name, out)
		}
		if wf.Name == "alarm-311" {
			checkAlarmRun(t, sys, lamps)
		}
		if again := cli("run", wf.Name, "--dry-run"); !strings.Contains(again, nothingLeft(wf.Name)) {
			t.Fatalf("dry run after the run of %s:\n%.2000s", wf.Name, again)
		}
	}
	if files := sys.Inbox.Files(); len(files) != 1 || files[0].Rows == 0 {
		t.Fatalf("the billing run delivered %+v", files)
	}

	var out bytes.Buffer
	if err := run(ctx, []string{"run", "no-such-flow", "--console", console.URL}, &out, env.logger); exitCode(err, &out) != exitNotFound {
		t.Fatalf("an unknown workflow: %v", err)
	}
}
