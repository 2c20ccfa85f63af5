package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/citylink/citylink/internal/citysim"
	"github.com/citylink/citylink/internal/citysim/simcity"
	"github.com/citylink/citylink/internal/cms"
	"github.com/citylink/citylink/internal/measure"
	"github.com/citylink/citylink/internal/wiring"
)

// benchSetup is what every benchmark's output opens with.
type benchSetup struct {
	Workflow  string  `json:"workflow"`
	Lights    int     `json:"lights"`
	Seed      uint64  `json:"seed"`
	Chains    int     `json:"chains"`
	BatchSize int     `json:"batch_size"`
	LatencyMS float64 `json:"latency_ms"`
	Database  string  `json:"database"`
}

func setupOf(name string, f *benchFlags, e *benchEnv) benchSetup {
	return benchSetup{Workflow: name, Lights: f.lights, Seed: f.seed, Chains: f.chains, BatchSize: f.batch,
		LatencyMS: float64(f.latency) / float64(time.Millisecond), Database: e.dbName}
}

func (s benchSetup) writeHeader(out io.Writer, what string) {
	lat := "no added latency"
	if s.LatencyMS > 0 {
		lat = fmt.Sprintf("%v added to every simulator call", time.Duration(s.LatencyMS*float64(time.Millisecond)))
	}
	fmt.Fprintf(out, "%s bench: %d lights (seed %d), %s; %d chains, batches of %d; simulators on loopback, %s; Postgres: %s\n",
		s.Workflow, s.Lights, s.Seed, what, s.Chains, s.BatchSize, lat, s.Database)
}

// importBench is what `citylink bench arcgis-import` measures.
type importBench struct {
	benchSetup
	Run benchRun `json:"run"`
	// CMSHolds is how many of the city's lights the CMS holds after the
	// run: all of them when the import did its work.
	CMSHolds int `json:"cms_holds"`
	// Ideal is the bound for the chains at the added latency, when there is
	// one.
	Ideal *idealBound `json:"ideal,omitempty"`
}

type idealBound struct {
	Seconds float64 `json:"seconds"`
	How     string  `json:"how"`
	// WallOverIdeal is the run's wall time ÷ the bound.
	WallOverIdeal float64 `json:"wall_over_ideal"`
}

func newBenchImportCmd(out io.Writer, logger *slog.Logger) *cobra.Command {
	var f benchFlags
	c := &cobra.Command{
		Use:   "arcgis-import",
		Short: "Import a city in which every light has an approved audit",
		Long: `bench arcgis-import builds a city in which every light carries an approved
audit in the ArcGIS audit layer (the CMS starts with its usual three lights in
five), then runs arcgis-import once: the plan reads the layer in pages and
COPYs the items, the chains write them into the CMS with one bulk upsert per
batch. It prints the wall time (and the plan's share), items/s, Postgres
statements per item, the calls each system served, and how many of the lights
the CMS holds afterwards.

With --latency every call to the simulators takes that much longer, and bench
prints the ideal bound for the chains: the plan's calls one after another,
then the CMS calls shared evenly by the chains, each chain making its share one
after another, every call costing exactly the latency and nothing else; and
the measured wall time ÷ that bound.

` + benchHelp,
		Example: `  citylink bench arcgis-import --lights 20000
  citylink bench arcgis-import --latency 20ms --chains 10
  citylink bench arcgis-import --lights 2000 --json | jq '.run.statements_per_item, .ideal'`,
		Args: noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if err := f.check(); err != nil {
				return err
			}
			return benchImport(c.Context(), &f, out, c.ErrOrStderr(), logger)
		},
	}
	f.register(c, true)
	return c
}

// auditedCity is the city of f in which every light has an approved audit,
// as BenchmarkImportCity builds it.
func auditedCity(f *benchFlags) *simcity.City {
	city := simcity.New(f.seed, f.lights)
	city.Audits = city.Audits[:0]
	for i, l := range city.Lights {
		city.Audits = append(city.Audits, simcity.Audit{AssetID: l.AssetID, Status: simcity.AuditApproved, Auditor: "Bench Crew",
			AuditedAt: simcity.Epoch().Add(-time.Duration(i%5000) * time.Minute)})
	}
	return city
}

func benchImport(ctx context.Context, f *benchFlags, out, progress io.Writer, logger *slog.Logger) error {
	e, err := startBench(ctx, f, citysim.SystemsOptions{City: auditedCity(f)}, logger)
	if err != nil {
		return err
	}
	defer e.close()
	b := importBench{benchSetup: setupOf(wiring.ArcGISImport, f, e)}
	if !f.asJSON {
		b.writeHeader(out, "every one an approved audit")
	}
	if b.Run, err = e.run(ctx, wiring.ArcGISImport, citysim.SystemAudit, f, progress); err != nil {
		return err
	}
	if b.CMSHolds, err = e.cmsHolds(ctx); err != nil {
		return err
	}
	if f.latency > 0 {
		bound := measure.Bound{PlanCalls: b.Run.PlanCalls, WorkCalls: b.Run.Calls[citysim.SystemCMS], Chains: b.Run.Chains, Latency: f.latency}
		b.Ideal = &idealBound{Seconds: bound.Ideal().Seconds(), How: bound.String(), WallOverIdeal: bound.Ratio(b.Run.wall)}
	}
	if f.asJSON {
		if err := writeJSON(out, b); err != nil {
			return err
		}
		return benchVerdict(b.Run)
	}
	b.Run.write(out, "items")
	fmt.Fprintf(out, "calls          %d to the ArcGIS audit layer (%d of them by the plan), %d to the CMS\n",
		b.Run.Calls[citysim.SystemAudit], b.Run.PlanCalls, b.Run.Calls[citysim.SystemCMS])
	fmt.Fprintf(out, "CMS            holds %d of the city's %d lights\n", b.CMSHolds, f.lights)
	if b.Ideal != nil {
		fmt.Fprintf(out, "ideal bound    %.3f s for %d chains at %v a call, every call costing exactly the latency and nothing else:\n               %s\n",
			b.Ideal.Seconds, b.Run.Chains, f.latency, b.Ideal.How)
		fmt.Fprintf(out, "wall ÷ ideal   %.1f×\n", b.Ideal.WallOverIdeal)
	}
	return benchVerdict(b.Run)
}

// write prints one run's figures; unit names what an item is.
func (r benchRun) write(out io.Writer, unit string) {
	fmt.Fprintf(out, "run %d %s: %d %s (%d succeeded, %d skipped, %d failed, %d dead) in %d batches on %d chains\n",
		r.Run, r.State, r.Items, unit, r.Succeeded, r.Skipped, r.Failed, r.Dead, r.Batches, r.Chains)
	fmt.Fprintf(out, "wall time      %.3f s (plan %.3f s)\n", r.WallS, r.PlanS)
	if r.Items == 0 {
		fmt.Fprintf(out, "postgres       %d statements in %d round trips (no items: no rate)\n", r.Statements, r.RoundTrips)
		return
	}
	fmt.Fprintf(out, "throughput     %.0f %s/s\n", r.ItemsPerS, unit)
	fmt.Fprintf(out, "postgres       %.4f statements per item (%d statements in %d round trips)\n", r.StatementsPerItem, r.Statements, r.RoundTrips)
}

// cmsHolds counts the city's lights the CMS has a device for.
func (e *benchEnv) cmsHolds(ctx context.Context) (int, error) {
	c, err := cms.New(cms.Options{BaseURL: e.sys.CMSURL, APIKey: e.sys.CMS.APIKey()})
	if err != nil {
		return 0, err
	}
	held := map[string]bool{}
	for d, err := range c.Devices(ctx, cms.DeviceQuery{}) {
		if err != nil {
			return 0, fmt.Errorf("listing the CMS's devices: %w", err)
		}
		held[d.ExternalID] = true
	}
	n := 0
	for _, l := range e.sys.City.Lights {
		if held[l.AssetID] {
			n++
		}
	}
	return n, nil
}

// pushRun is one run of gis-push with what it wrote to the DOT layer.
type pushRun struct {
	benchRun
	// FeaturesPerS is the features written (items succeeded) over the wall
	// time.
	FeaturesPerS float64 `json:"features_per_s"`
	// DOTApplyEdits counts the applyEdits calls the run made: the writes.
	DOTApplyEdits int64 `json:"dot_apply_edits"`
	// DOTFeatures is the layer's size after the run.
	DOTFeatures int `json:"dot_features"`
}

// pushBench is what `citylink bench gis-push` measures.
type pushBench struct {
	benchSetup
	Push  pushRun `json:"push"`
	Rerun pushRun `json:"rerun"`
}

func newBenchPushCmd(out io.Writer, logger *slog.Logger) *cobra.Command {
	var f benchFlags
	c := &cobra.Command{
		Use:   "gis-push",
		Short: "Push every light into an empty DOT layer, then rerun with nothing changed",
		Long: `bench gis-push fills the simulated CMS with every light of the city (a bulk
upsert, before the timing) and starts the DOT GIS layer empty. It then runs
gis-push twice: the push of every light into the empty layer, and the next
run with no CMS changes, which should write nothing. For each it prints the
wall time, features/s, Postgres statements per item, the applyEdits calls it
made (its writes) and the layer's size.

` + benchHelp,
		Example: `  citylink bench gis-push --lights 20000
  citylink bench gis-push --json | jq '.push.features_per_s, .rerun.dot_apply_edits'`,
		Args: noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if err := f.check(); err != nil {
				return err
			}
			return benchPush(c.Context(), &f, out, c.ErrOrStderr(), logger)
		},
	}
	f.register(c, false)
	return c
}

func benchPush(ctx context.Context, f *benchFlags, out, progress io.Writer, logger *slog.Logger) error {
	e, err := startBench(ctx, f, citysim.SystemsOptions{EmptyDOT: true}, logger)
	if err != nil {
		return err
	}
	defer e.close()
	if err := e.fillCMS(ctx, false); err != nil {
		return err
	}
	b := pushBench{benchSetup: setupOf(wiring.GISPush, f, e)}
	if !f.asJSON {
		b.writeHeader(out, "every one in the CMS, the DOT layer empty")
	}
	one := func() (pushRun, error) {
		edits := e.dotEdits.Load()
		r, err := e.run(ctx, wiring.GISPush, citysim.SystemCMS, f, progress)
		if err != nil {
			return pushRun{}, err
		}
		p := pushRun{benchRun: r, DOTApplyEdits: e.dotEdits.Load() - edits, DOTFeatures: e.sys.DOTLayer.Count()}
		if r.WallS > 0 {
			p.FeaturesPerS = float64(r.Succeeded) / r.WallS
		}
		return p, nil
	}
	if b.Push, err = one(); err != nil {
		return err
	}
	if b.Rerun, err = one(); err != nil {
		return err
	}
	if f.asJSON {
		if err := writeJSON(out, b); err != nil {
			return err
		}
		return benchVerdict(b.Push.benchRun, b.Rerun.benchRun)
	}
	for _, r := range []struct {
		name string
		pushRun
	}{{"push into the empty layer", b.Push}, {"rerun, no CMS changes", b.Rerun}} {
		fmt.Fprintf(out, "\n%s\n", r.name)
		r.benchRun.write(out, "items")
		fmt.Fprintf(out, "DOT layer      %d features written (%.0f/s), %d applyEdits calls; the layer holds %d features\n", r.Succeeded, r.FeaturesPerS, r.DOTApplyEdits, r.DOTFeatures)
	}
	return benchVerdict(b.Push.benchRun, b.Rerun.benchRun)
}

// fillCMS upserts every light of the city into the CMS, which starts with
// three in five, so that the push carries the whole city (as
// BenchmarkPushCity does). billed makes every light one the utility bills
// (commissioned, with its input watts and rate schedule, and a controller,
// which the CMS requires of a commissioned light), so that the export's file
// carries the whole city.
func (e *benchEnv) fillCMS(ctx context.Context, billed bool) error {
	c, err := cms.New(cms.Options{BaseURL: e.sys.CMSURL, APIKey: e.sys.CMS.APIKey()})
	if err != nil {
		return err
	}
	up := make([]cms.DeviceUpsert, 0, len(e.sys.City.Lights))
	for _, l := range e.sys.City.Lights {
		up = append(up, cms.DeviceUpsert{ExternalID: l.AssetID, DevicePatch: cms.DevicePatch{
			PoleID: &l.PoleID, Location: &cms.Location{Latitude: l.Lat, Longitude: l.Lon}, Address: &l.Address,
			Circuit: &l.Circuit, LampType: &l.LampType, NominalWatts: &l.NominalWatts, Ownership: &l.Ownership,
			InServiceDate: ptrTo(l.InService.Format(time.DateOnly)),
		}})
		if billed {
			p := &up[len(up)-1].DevicePatch
			p.State, p.InputWatts, p.RateSchedule = ptrTo(cms.StateCommissioned), &l.InputWatts, &l.RateSchedule
			// The CMS commissions only a light with a controller: one
			// without gets a bench node.
			p.ControllerID = ptrTo(cmp.Or(l.ControllerID, "BENCH-"+l.AssetID))
		}
	}
	e.logger.Info("filling the CMS with every light", "lights", len(up))
	res, err := c.BulkUpsert(ctx, up)
	if err != nil {
		return fmt.Errorf("filling the CMS: %w", err)
	}
	for _, r := range res {
		if r.Error != nil {
			return fmt.Errorf("filling the CMS: %s: %s", up[r.Index].ExternalID, r.Error.Detail)
		}
	}
	return nil
}

func ptrTo[T any](v T) *T { return &v }

// exportBench is what `citylink bench billing-export` measures.
type exportBench struct {
	benchSetup
	Run benchRun `json:"run"`
	// Files are the files the utility's drop received: one, with a row
	// per light, when the export did its work.
	Files []exportFile `json:"files"`
}

type exportFile struct {
	Name  string `json:"name"`
	Via   string `json:"via"`
	Bytes int64  `json:"bytes"`
	Rows  int    `json:"rows"`
	// Error is why the utility's import rejected the file.
	Error string `json:"error,omitempty"`
}

func newBenchExportCmd(out io.Writer, logger *slog.Logger) *cobra.Command {
	var f benchFlags
	c := &cobra.Command{
		Use:   "billing-export",
		Short: "Export the whole city's inventory file to the utility",
		Long: `bench billing-export fills the simulated CMS with every light of the city,
each commissioned and so billed (a bulk upsert, before the timing; a light
without a controller gets a bench node, which the CMS requires), then runs billing-export once: the plan reads
every device from the CMS, the chains record each light's inventory row, and
the finish step writes the file and delivers it to the utility's SFTP drop, as
the deployed function does. The wall time runs until the file is delivered. It
prints the wall time, items/s, Postgres statements per item, the CMS calls and
the file the utility received (rows, bytes).

` + benchHelp,
		Example: `  citylink bench billing-export                         # the 270,000-light inventory file
  citylink bench billing-export --lights 20000 --json | jq '.run.wall_s, .files'`,
		Args: noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if err := f.check(); err != nil {
				return err
			}
			return benchExport(c.Context(), &f, out, c.ErrOrStderr(), logger)
		},
	}
	f.register(c, false)
	return c
}

func benchExport(ctx context.Context, f *benchFlags, out, progress io.Writer, logger *slog.Logger) error {
	e, err := startBench(ctx, f, citysim.SystemsOptions{}, logger)
	if err != nil {
		return err
	}
	defer e.close()
	if err := e.fillCMS(ctx, true); err != nil {
		return err
	}
	b := exportBench{benchSetup: setupOf(wiring.BillingExport, f, e), Files: []exportFile{}}
	if !f.asJSON {
		b.writeHeader(out, "every one commissioned in the CMS, the file delivered over SFTP")
	}
	if b.Run, err = e.run(ctx, wiring.BillingExport, citysim.SystemCMS, f, progress); err != nil {
		return err
	}
	for _, file := range e.sys.Inbox.Files() {
		b.Files = append(b.Files, exportFile{Name: file.Name, Via: file.Via, Bytes: file.Size, Rows: file.Rows, Error: file.Err})
	}
	if f.asJSON {
		if err := writeJSON(out, b); err != nil {
			return err
		}
		return exportVerdict(b)
	}
	b.Run.write(out, "items")
	fmt.Fprintf(out, "calls          %d to the CMS (%d of them by the plan)\n", b.Run.Calls[citysim.SystemCMS], b.Run.PlanCalls)
	for _, file := range b.Files {
		fmt.Fprintf(out, "delivered      %s over %s: %d rows, %d bytes", file.Name, file.Via, file.Rows, file.Bytes)
		if file.Error != "" {
			fmt.Fprintf(out, "; rejected by the utility: %s", file.Error)
		}
		fmt.Fprintln(out)
	}
	if len(b.Files) == 0 {
		fmt.Fprintln(out, "delivered      nothing")
	}
	return exportVerdict(b)
}

// exportVerdict: a run that left items failed or dead, or a file not
// delivered or rejected, needs a look.
func exportVerdict(b exportBench) error {
	if err := benchVerdict(b.Run); err != nil {
		return err
	}
	if len(b.Files) != 1 || b.Files[0].Error != "" {
		return errAttention
	}
	return nil
}
