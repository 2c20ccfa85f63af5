package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/citylink/citylink/internal/awstest"
	"github.com/citylink/citylink/internal/citysim"
	"github.com/citylink/citylink/internal/lambdaconfig"
	"github.com/citylink/citylink/internal/localaws"
	"github.com/citylink/citylink/internal/pgtest"
	"github.com/citylink/citylink/internal/work"
)

// TestRunOutsideDev runs every workflow with `citylink run` the way an
// operator does against the city's systems: the environment holds the
// database and the systems' settings, the CMS key by name in Secrets
// Manager, and no citylink dev is running. A dry run first writes nothing;
// the run then plans, works its links in process, prints progress lines
// (the output is not a terminal) and its counts; a dry run after it finds
// nothing left. Not parallel: it sets the process environment.
func TestRunOutsideDev(t *testing.T) {
	ctx := context.Background()
	sys, err := citysim.StartSystems(citysim.SystemsOptions{Seed: 9, Lights: 1500})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sys.Close)
	// An hour of city life: alarms raised, audits approved, poles edited.
	if err := sys.Advance(time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	lamps := raiseLampFailures(t, sys, 3)
	secrets := awstest.StartSecrets(t)
	dbURL := pgtest.URL(t)
	for k, v := range devSettings(sys) {
		t.Setenv(k, v)
	}
	for k, v := range map[string]string{
		"DATABASE_URL": dbURL, "CMS_API_KEY": "", "BATCH_SIZE": "37",
		"CMS_SECRET_ID":    secrets.PutSecret("citylink/cms", `{"api_key": "`+sys.CMS.APIKey()+`"}`),
		"AWS_ENDPOINT_URL": secrets.Endpoint, "AWS_REGION": localaws.Region,
		"AWS_ACCESS_KEY_ID": "AKIACITYLINKTEST", "AWS_SECRET_ACCESS_KEY": "citylink-test-secret",
		"AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null", "AWS_PROFILE": "",
	} {
		t.Setenv(k, v)
	}
	db, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	logger := slog.New(slog.DiscardHandler)
	cli := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := run(ctx, args, &out, logger)
		return out.String(), err
	}

	before := pgtest.Fingerprint(t, db)
	for _, wf := range devWorkflows() {
		out, err := cli("run", wf.Name, "--dry-run")
		if err != nil || !strings.Contains(out, wf.Name+" dry run: ") || !strings.Contains(out, "nothing is written") {
			t.Fatalf("dry run of %s: %v\n%.2000s", wf.Name, err, out)
		}
		pgtest.SameFingerprint(t, before, pgtest.Fingerprint(t, db))
		if t.Failed() {
			t.Fatalf("the dry run of %s wrote to the database", wf.Name)
		}
		if wf.Name == "alarm-311" {
			checkAlarmDryRun(t, sys, lamps, out)
		}
	}
	if n := len(sys.Inbox.Files()); n != 0 {
		t.Fatalf("a dry run delivered %d files", n)
	}

	for _, wf := range devWorkflows() {
		out, err := cli("run", wf.Name)
		if err != nil {
			t.Fatalf("run of %s: %v (exit %d)\n%s", wf.Name, err, exitCode(err, &bytes.Buffer{}), out)
		}
		// The plan's line, at least one plain progress line, and the counts.
		for _, want := range []string{wf.Name + " run ", " " + wf.Name + " succeeded: ", " items (100%)", ", 0 failed, 0 dead"} {
			if !strings.Contains(out, want) {
				t.Fatalf("run of %s lacks %q:\n%s", wf.Name, want, out)
			}
		}
		// BATCH_SIZE cuts the batches, as in the workflow's Lambda.
		if m := planLine.FindStringSubmatch(out); m == nil {
			t.Fatalf("run of %s printed no plan line:\n%s", wf.Name, out)
		} else if items, batches := atoi(t, m[1]), atoi(t, m[2]); batches != (items+36)/37 {
			t.Errorf("run of %s: %d items in %d batches, want batches of BATCH_SIZE=37", wf.Name, items, batches)
		}
		if wf.Name == "alarm-311" {
			checkAlarmRun(t, sys, lamps)
		}
		again, err := cli("run", wf.Name, "--dry-run")
		if err != nil || !strings.Contains(again, nothingLeft(wf.Name)) {
			t.Fatalf("dry run after the run of %s: %v\n%.2000s", wf.Name, err, again)
		}
	}
	if files := sys.Inbox.Files(); len(files) != 1 || files[0].Rows == 0 {
		t.Fatalf("the billing run delivered %+v", files)
	}
	// The CMS key was read from its secret once per command, not per call.
	if n := secrets.Calls(localaws.TargetGetSecretValue); n != 3*len(devWorkflows()) {
		t.Fatalf("GetSecretValue called %d times for %d commands", n, 3*len(devWorkflows()))
	}

	// Where the engine's log goes: beside plain lines, to the logger
	// (stderr); while a bar is drawn, to a file the output names, so no log
	// line breaks the bar. Each run files the request for a new lamp
	// failure, so the engine has a plan and a close to log.
	wfAlarm, _ := findWorkflow("alarm-311")
	for _, bar := range []bool{false, true} {
		raiseLampFailures(t, sys, 1)
		var out, logs bytes.Buffer
		dir := t.TempDir()
		err := runHereWith(ctx, wfAlarm, runSettings(""), false, &out, slog.New(slog.NewTextHandler(&logs, nil)), bar, dir)
		if err != nil || !strings.Contains(out.String(), "alarm-311 run ") {
			t.Fatalf("run with bar=%v: %v\n%s", bar, err, out.String())
		}
		files, _ := filepath.Glob(filepath.Join(dir, "citylink-run-alarm-311-*.log"))
		if !bar {
			if !strings.Contains(logs.String(), "run planned") || len(files) != 0 || strings.Contains(out.String(), "log: ") {
				t.Fatalf("without a bar the log goes to the logger; logger %q, files %v, output:\n%s", logs.String(), files, out.String())
			}
			continue
		}
		if len(files) != 1 || logs.Len() != 0 || strings.Count(out.String(), "log: "+files[0]) != 2 {
			t.Fatalf("with a bar the log goes to one file named twice in the output; files %v, logger %q, output:\n%s", files, logs.String(), out.String())
		}
		if b, err := os.ReadFile(files[0]); err != nil || !strings.Contains(string(b), "run planned") || !strings.Contains(string(b), "run closed") {
			t.Fatalf("the run's log file %s holds %q (%v)", files[0], b, err)
		}
	}

	// A run an earlier `citylink run` left behind (planned, its links lost
	// with the process) is picked up: the rescue restarts its chains here,
	// and the command watches it to the end instead of refusing.
	if err := sys.Advance(time.Now().Add(3 * time.Hour)); err != nil {
		t.Fatal(err)
	}
	wf, _ := findWorkflow("gis-pull")
	left, err := newRunner(ctx, wf, lambdaconfig.FromMap(devSettings(sys)), db, logger, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	left.local.Deliver = func(context.Context, work.Link) error { return nil } // the process died
	res, err := left.eng.Plan(ctx)
	if err != nil || res.Batches == 0 {
		t.Fatalf("leaving a run behind: %+v, %v", res, err)
	}
	out, err := cli("run", "gis-pull")
	if err != nil || !strings.Contains(out, fmt.Sprintf("gis-pull run %d is open already", res.Run)) || !strings.Contains(out, fmt.Sprintf("gis-pull run %d succeeded: ", res.Run)) {
		t.Fatalf("resuming run %d: %v\n%s", res.Run, err, out)
	}

	// A secret that is not there fails the command, naming the variable.
	t.Setenv("CMS_SECRET_ID", "citylink/no-such-secret")
	var stderr bytes.Buffer
	_, err = cli("run", "gis-push")
	if code := exitCode(err, &stderr); code != exitFailed || !strings.Contains(stderr.String(), "CMS_SECRET_ID") || !strings.Contains(stderr.String(), "ResourceNotFoundException") {
		t.Fatalf("missing secret: exit %d, %s", code, stderr.String())
	}
	// --console takes the console route whatever the environment, and
	// without a dev there says how to run here instead.
	t.Setenv("DATABASE_URL", "")
	stderr.Reset()
	_, err = cli("run", "gis-push", "--console", "http://127.0.0.1:1")
	if code := exitCode(err, &stderr); code != exitFailed || !strings.Contains(stderr.String(), "is it running?") {
		t.Fatalf("no dev: exit %d, %s", code, stderr.String())
	}
}

// planLine is the line a run prints when its plan is done.
var planLine = regexp.MustCompile(`run \d+: (\d+) items in (\d+) batches on \d+ chains`)

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
