package billingexport_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"net/http"
	"testing"
	"time"

	"github.com/citylink/citylink/internal/billingexport"
	"github.com/citylink/citylink/internal/citysim"
	"github.com/citylink/citylink/internal/citysim/cmssim"
	"github.com/citylink/citylink/internal/citysim/simcity"
	"github.com/citylink/citylink/internal/citysim/utilitysim"
	"github.com/citylink/citylink/internal/cms"
	"github.com/citylink/citylink/internal/httpretry"
	"github.com/citylink/citylink/internal/pgtest"
	"github.com/citylink/citylink/internal/utility"
	"github.com/citylink/citylink/internal/work"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// patient absorbs the simulators' injected faults without real waiting.
var patient = httpretry.Policy{MaxAttempts: 20, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}

type city struct {
	sys   *citysim.Systems
	cms   *cms.Client
	https *utility.HTTPS
	sftp  *utility.SFTP
}

func startCity(t testing.TB, lights int, faults simcity.Faults) *city {
	t.Helper()
	sys, err := citysim.StartSystems(citysim.SystemsOptions{Seed: 11, Lights: lights, Faults: faults})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sys.Close)
	c, err := cms.New(cms.Options{BaseURL: sys.CMSURL, APIKey: cmssim.DefaultAPIKey, Retry: patient, PageSize: 200})
	if err != nil {
		t.Fatal(err)
	}
	https, err := utility.NewHTTPS(utility.HTTPSOptions{
		BaseURL: sys.UtilityURL + "/inbox", Token: utilitysim.DefaultToken, Retry: patient,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: sys.UtilityCA}},
	})
	if err != nil {
		t.Fatal(err)
	}
	sftp, err := utility.NewSFTP(utility.SFTPConfig{
		Addr: sys.SFTPAddr, User: "citylink", Signer: sys.SFTPClientKey, HostKey: sys.UtilitySFTP.HostKey(), Dir: sys.UtilitySFTP.Dir(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return &city{sys: sys, cms: c, https: https, sftp: sftp}
}

// export is the workflow wired to a city, as the binary wires it.
type export struct {
	eng *work.Engine
	x   *billingexport.Exporter
	db  work.DB
}

func newExport(t testing.TB, c *city, db work.DB, d billingexport.Deliverer, local *work.Local) *export {
	t.Helper()
	m := billingexport.DefaultMapping()
	eng, err := work.New(work.Config{
		Workflow: "billing-export", DB: db, Publisher: local,
		Source: &billingexport.Source{Client: c.cms}, Sink: &billingexport.Sink{DB: db, Mapping: m},
		Backoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, BatchSize: 50,
	})
	if err != nil {
		t.Fatal(err)
	}
	return &export{eng: eng, db: db, x: &billingexport.Exporter{DB: db, Deliverer: d, Mapping: m, Workflow: "billing-export"}}
}

// run plans a run, works it to the end and delivers what is owed.
func (e *export) run(t testing.TB, local *work.Local) (work.PlanResult, []billingexport.File) {
	t.Helper()
	ctx := context.Background()
	local.Deliver = e.eng.Work
	res, err := e.eng.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := local.Wait(); err != nil {
		t.Fatal(err)
	}
	files, err := e.x.Deliver(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return res, files
}

type item struct{ key, state, ref, reason string }

func runItems(t testing.TB, db work.DB, run int64) map[string]item {
	t.Helper()
	rows, err := db.Query(context.Background(), `
SELECT source_key, state, coalesce(target_ref, ''), coalesce(skip_reason, '') FROM items WHERE run_id = $1`, run)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]item{}
	for rows.Next() {
		var it item
		if err := rows.Scan(&it.key, &it.state, &it.ref, &it.reason); err != nil {
			t.Fatal(err)
		}
		out[it.key] = it
	}
	return out
}

// received parses the file the utility holds under name.
func (c *city) received(t testing.TB, name string) map[string]utility.Change {
	t.Helper()
	f, ok := c.sys.Inbox.File(name)
	if !ok {
		t.Fatalf("the utility has no file %s", name)
	}
	rows, err := utility.Parse(bytes.NewReader(f.Data))
	if err != nil {
		t.Fatalf("the utility cannot read %s: %v", name, err)
	}
	out := map[string]utility.Change{}
	for _, r := range rows {
		out[r.AssetID] = r
	}
	return out
}

// TestExportEndToEnd exports a city of a few thousand lights: the first run
// sends every billed light as an ADD, one file, each item pointing at it; a
// run with no CMS change sends nothing; after the CMS changes, the next file
// holds exactly the billing changes, with the right change types; and
// sending a run's file again delivers the same name and bytes.
func TestExportEndToEnd(t *testing.T) {
	t.Parallel()
	c := startCity(t, 3000, simcity.Faults{})
	db := pgtest.Pool(t)
	ctx := context.Background()
	local := work.NewLocal(ctx, nil)
	e := newExport(t, c, db, c.https, local)

	devs := map[string]cms.Device{}
	for d, err := range c.cms.Devices(ctx, cms.DeviceQuery{}) {
		if err != nil {
			t.Fatal(err)
		}
		devs[d.ExternalID] = d
	}
	res, files := e.run(t, local)
	if res.Items != len(devs) || len(files) != 1 {
		t.Fatalf("first run: %d items for %d devices, %d files", res.Items, len(devs), len(files))
	}
	got := c.received(t, files[0].Name)
	items := runItems(t, db, res.Run)
	billed := 0
	for asset, d := range devs {
		it := items[asset]
		row, inFile := got[asset]
		switch d.State {
		case cms.StateProvisioned, cms.StateCommissioned:
			billed++
			if !inFile || row.Type != utility.Added || row.InputWatts != d.InputWatts || row.Controller != (d.ControllerID != "") {
				t.Fatalf("billed device %s: row %+v (in file %v)", asset, row, inFile)
			}
			if it.state != string(work.Succeeded) || it.ref != files[0].Name {
				t.Fatalf("item %s: %+v, want succeeded into %s", asset, it, files[0].Name)
			}
		default:
			if inFile || it.state != string(work.Skipped) || it.reason == "" {
				t.Fatalf("device %s in state %s: in file %v, item %+v", asset, d.State, inFile, it)
			}
		}
	}
	if billed == 0 || len(got) != billed {
		t.Fatalf("file has %d rows for %d billed devices", len(got), billed)
	}

	// Nothing changed: no item, no file.
	if res, files := e.run(t, local); res.Items != 0 || len(files) != 0 {
		t.Fatalf("a run with no CMS change planned %d items and sent %d files", res.Items, len(files))
	}

	// The CMS moves on a month: commissioning, conversions, removals.
	c.sys.CMS.Advance(time.Now().Add(30 * 24 * time.Hour))
	res3, files3 := e.run(t, local)
	if res3.Items == 0 || len(files3) != 1 {
		t.Fatalf("after a month of CMS changes: %d items, %d files", res3.Items, len(files3))
	}
	got3 := c.received(t, files3[0].Name)
	for asset, it := range runItems(t, db, res3.Run) {
		row, inFile := got3[asset]
		prev, wasBilled := got[asset]
		if inFile != (it.state == string(work.Succeeded)) {
			t.Fatalf("item %s is %s, in the file %v", asset, it.state, inFile)
		}
		if !inFile {
			continue
		}
		switch {
		case row.Type == utility.Added && wasBilled && prev.Type != utility.Removed,
			row.Type == utility.Changed && !wasBilled,
			row.Type == utility.Removed && (!wasBilled || row.Removal.IsZero()):
			t.Fatalf("asset %s: %s row after %+v (billed %v)", asset, row.Type, prev, wasBilled)
		}
	}

	// Sending the third run's file again: same name, same bytes, still one file.
	before := len(c.sys.Inbox.Files())
	if _, err := db.Exec(ctx, `DELETE FROM billing_files WHERE run_id = $1`, res3.Run); err != nil {
		t.Fatal(err)
	}
	again, err := e.x.Deliver(ctx)
	if err != nil || len(again) != 1 || again[0].Name != files3[0].Name || !bytes.Equal(again[0].Data, files3[0].Data) {
		t.Fatalf("resending run %d's file: %v, %+v", res3.Run, err, again)
	}
	if after := len(c.sys.Inbox.Files()); after != before || before != 2 {
		t.Fatalf("the utility held %d files, then %d after a resend; want 2 both times", before, after)
	}
}
