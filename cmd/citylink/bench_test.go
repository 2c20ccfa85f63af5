package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/citylink/citylink/internal/citysim"
	"github.com/citylink/citylink/internal/pgtest"
)

// TestBenchArcGISImport runs `citylink bench arcgis-import --json` on a
// small city with added latency, through the command, and checks that its
// figures agree with each other: every light imported and held by the CMS,
// one CMS call per batch, statements counted, the ideal bound computed from
// the calls it counted. No figure is held to a time. The scratch database
// is made beside the test's and dropped afterwards.
func TestBenchArcGISImport(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.URL(t)
	var out, stderr bytes.Buffer
	err := benchCLI(&out, &stderr, "bench", "arcgis-import", "--lights", "2000", "--latency", "2ms", "--chains", "4",
		"--database-url", dbURL, "--json")
	if err != nil {
		t.Fatalf("bench arcgis-import: %v\n%s", err, stderr.String())
	}
	var b importBench
	if err := json.Unmarshal(out.Bytes(), &b); err != nil {
		t.Fatalf("output is not the JSON it should be: %v\n%s", err, out.String())
	}
	r := b.Run
	if b.Workflow != "arcgis-import" || b.Lights != 2000 || b.Chains != 4 || b.LatencyMS != 2 {
		t.Fatalf("setup %+v", b.benchSetup)
	}
	if r.State != "succeeded" || r.Items != 2000 || r.Succeeded != 2000 || r.Failed+r.Dead != 0 {
		t.Fatalf("run %+v: every light has an approved audit, so all 2000 should be imported", r)
	}
	if b.CMSHolds != 2000 {
		t.Fatalf("the CMS holds %d of the 2000 lights after the import", b.CMSHolds)
	}
	if r.Batches != 20 || r.Chains != 4 || r.Calls[citysim.SystemCMS] != int64(r.Batches) {
		t.Fatalf("%d batches on %d chains, %d CMS calls: want 20 on 4, one bulk upsert each", r.Batches, r.Chains, r.Calls[citysim.SystemCMS])
	}
	if r.Statements <= 0 || r.StatementsPerItem != float64(r.Statements)/float64(r.Items) || r.RoundTrips > r.Statements {
		t.Fatalf("statements %d, round trips %d, per item %v", r.Statements, r.RoundTrips, r.StatementsPerItem)
	}
	if r.PlanCalls <= 0 || r.PlanCalls > r.Calls[citysim.SystemAudit] || r.WallS < r.PlanS || r.ItemsPerS <= 0 {
		t.Fatalf("plan calls %d of %d, wall %v, plan %v, %v items/s", r.PlanCalls, r.Calls[citysim.SystemAudit], r.WallS, r.PlanS, r.ItemsPerS)
	}
	// The bound: the plan's calls, then ⌈20 / 4⌉ = 5 CMS calls per chain,
	// each 2 ms.
	if b.Ideal == nil {
		t.Fatal("no ideal bound with --latency")
	}
	if want := float64(r.PlanCalls+5) * 0.002; b.Ideal.Seconds < want-1e-9 || b.Ideal.Seconds > want+1e-9 {
		t.Fatalf("ideal %v s, want (%d + 5) × 2 ms", b.Ideal.Seconds, r.PlanCalls)
	}
	if ratio := r.WallS / b.Ideal.Seconds; b.Ideal.WallOverIdeal < ratio*0.999 || b.Ideal.WallOverIdeal > ratio*1.001 {
		t.Fatalf("wall ÷ ideal %v, want %v", b.Ideal.WallOverIdeal, ratio)
	}
	if !strings.Contains(b.Ideal.How, "⌈20 work calls / 4 chains⌉ = 5 per chain") {
		t.Fatalf("the bound does not say how it is computed: %q", b.Ideal.How)
	}
	scratchDropped(t, dbURL, b.Database)
}

// TestBenchGISPush runs `citylink bench gis-push --json` and checks the
// push wrote every light into the empty layer and the rerun wrote nothing;
// then the text output of a second, smaller bench.
func TestBenchGISPush(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.URL(t)
	var out, stderr bytes.Buffer
	err := benchCLI(&out, &stderr, "bench", "gis-push", "--lights", "2000", "--database-url", dbURL, "--json")
	if err != nil {
		t.Fatalf("bench gis-push: %v\n%s", err, stderr.String())
	}
	var b pushBench
	if err := json.Unmarshal(out.Bytes(), &b); err != nil {
		t.Fatalf("output is not the JSON it should be: %v\n%s", err, out.String())
	}
	p, r := b.Push, b.Rerun
	if p.State != "succeeded" || p.Items != 2000 || p.Succeeded != 2000 || p.DOTFeatures != 2000 || p.DOTApplyEdits == 0 {
		t.Fatalf("push %+v: every light should be written into the empty layer", p)
	}
	if p.Statements <= 0 || p.StatementsPerItem <= 0 || p.FeaturesPerS <= 0 {
		t.Fatalf("push figures %+v", p)
	}
	if r.Succeeded != 0 || r.DOTApplyEdits != 0 || r.DOTFeatures != 2000 || r.Failed+r.Dead != 0 {
		t.Fatalf("the rerun with no CMS changes wrote: %+v", r)
	}
	if r.Run == p.Run || r.Statements <= 0 {
		t.Fatalf("rerun %+v is not a run of its own", r)
	}

	out.Reset()
	if err := benchCLI(&out, &stderr, "bench", "gis-push", "--lights", "300", "--database-url", dbURL); err != nil {
		t.Fatalf("bench gis-push: %v\n%s", err, stderr.String())
	}
	for _, want := range []string{"gis-push bench: 300 lights", "push into the empty layer", "300 features written", "rerun, no CMS changes",
		"0 features written (0/s), 0 applyEdits calls; the layer holds 300 features", "statements per item", "scratch database citylink_bench_"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	scratchDropped(t, dbURL, b.Database)
}

// TestBenchBillingExport runs `citylink bench billing-export --json` and
// checks the utility received one file with a row per light.
func TestBenchBillingExport(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.URL(t)
	var out, stderr bytes.Buffer
	if err := benchCLI(&out, &stderr, "bench", "billing-export", "--lights", "1500", "--database-url", dbURL, "--json"); err != nil {
		t.Fatalf("bench billing-export: %v\n%s", err, stderr.String())
	}
	var b exportBench
	if err := json.Unmarshal(out.Bytes(), &b); err != nil {
		t.Fatalf("output is not the JSON it should be: %v\n%s", err, out.String())
	}
	r := b.Run
	if r.State != "succeeded" || r.Items != 1500 || r.Succeeded != 1500 || r.Statements <= 0 || r.StatementsPerItem <= 0 {
		t.Fatalf("run %+v: every light is billed, so all 1500 should have a row", r)
	}
	if len(b.Files) != 1 || b.Files[0].Rows != 1500 || b.Files[0].Bytes <= 0 || b.Files[0].Error != "" || b.Files[0].Via != "sftp" {
		t.Fatalf("the utility received %+v, want one file of 1500 rows over sftp", b.Files)
	}
	scratchDropped(t, dbURL, b.Database)
}

// TestBenchUsage checks the mistakes bench refuses before it starts
// anything.
func TestBenchUsage(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want int
	}{
		{[]string{"bench"}, exitUsage},
		{[]string{"bench", "alarm-311"}, exitNotFound},
		{[]string{"bench", "billing-export", "--latency", "1ms"}, exitUsage},
		{[]string{"bench", "arcgis-import", "--lights", "0"}, exitUsage},
		{[]string{"bench", "arcgis-import", "--chains", "0"}, exitUsage},
		{[]string{"bench", "gis-push", "--latency", "20ms"}, exitUsage},
		{[]string{"bench", "gis-push", "extra"}, exitUsage},
	} {
		var stderr bytes.Buffer
		err := run(context.Background(), tc.args, io.Discard, slog.New(slog.DiscardHandler))
		if got := exitCode(err, &stderr); got != tc.want {
			t.Errorf("citylink %v: exit %d (%v), want %d", tc.args, got, err, tc.want)
		}
	}
}

// benchCLI runs the command line, printing to out and the progress to
// stderr.
func benchCLI(out, stderr io.Writer, args ...string) error {
	root := newRoot(out, slog.New(slog.DiscardHandler))
	root.SetErr(stderr)
	root.SetArgs(args)
	return root.ExecuteContext(context.Background())
}

// scratchDropped checks the bench dropped the scratch database it names in
// its setup ("scratch database NAME on ...").
func scratchDropped(t *testing.T, dbURL, database string) {
	t.Helper()
	name, ok := strings.CutPrefix(database, "scratch database ")
	if name, _, _ = strings.Cut(name, " "); !ok || !strings.HasPrefix(name, "citylink_bench_") {
		t.Fatalf("the bench did not make a scratch database beside DATABASE_URL's: %q", database)
	}
	pool, err := pgxpool.New(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var n int
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM pg_database WHERE datname = $1`, name).Scan(&n); err != nil || n != 0 {
		t.Fatalf("scratch database %s left behind (%d, %v)", name, n, err)
	}
}
