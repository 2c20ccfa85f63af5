package arcgisimport_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/citylink/citylink/internal/arcgisimport"
	"github.com/citylink/citylink/internal/citysim/simcity"
	"github.com/citylink/citylink/internal/cms"
	"github.com/citylink/citylink/internal/pgtest"
	"github.com/citylink/citylink/internal/work"
)

// runImport plans one run of the import and works it to the end through the
// local publisher.
func runImport(t testing.TB, c *city, db work.DB, pageSize int, noTracking ...bool) work.PlanResult {
	t.Helper()
	ctx := context.Background()
	local := work.NewLocal(ctx, nil)
	eng, err := work.New(work.Config{
		Workflow: "arcgis-import", DB: db, Publisher: local,
		Source: &arcgisimport.Source{Client: c.audit, Mapping: arcgisimport.DefaultMapping(), PageSize: pageSize,
			NoChangeTracking: len(noTracking) > 0 && noTracking[0]},
		Sink:    &arcgisimport.Sink{Client: c.cms},
		Backoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, BatchSize: 25,
	})
	if err != nil {
		t.Fatal(err)
	}
	local.Deliver = eng.Work
	res, err := eng.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := local.Wait(); err != nil {
		t.Fatal(err)
	}
	return res
}

// TestImportEndToEnd imports a city of a few thousand lights: every approved
// audit becomes its CMS device, the features that cannot are skipped with
// their reason, a second run with nothing new writes nothing, and audits the
// city's auditors approve later arrive with the run after, read as changes
// since the kept server generation.
func TestImportEndToEnd(t *testing.T) {
	t.Parallel()
	c := startCity(t, 4000, simcity.Faults{})
	db := pgtest.Pool(t)
	odd := c.addOddities(t, simcity.Epoch().Add(time.Hour))

	res := runImport(t, c, db, 250)
	approved := c.approved()
	if res.Items != len(approved)+len(odd) || res.Batches < 10 {
		t.Fatalf("first run planned %d items in %d batches, want %d approved audits and %d odd ones", res.Items, res.Batches, len(approved), len(odd))
	}
	var wm struct {
		Gen int64 `json:"gen"`
	}
	if err := json.Unmarshal(res.Watermark, &wm); err != nil || wm.Gen == 0 {
		t.Fatalf("the first whole read kept no server generation: %s", res.Watermark)
	}
	if s := runState(t, db, res.Run); s != "succeeded" {
		t.Fatalf("first run is %s", s)
	}
	items := runItems(t, db, res.Run)
	for key, reason := range odd {
		if it := items[key]; it.state != string(work.Skipped) || it.reason != reason {
			t.Errorf("odd audit %s: %+v, want skipped because %q", key, it, reason)
		}
	}
	devs := c.devices(t)
	if n := checkDevices(t, c, items, devs); n != len(approved) {
		t.Fatalf("%d approved audits in the layer, %d in the city", n, len(approved))
	}
	for _, it := range items {
		if it.state == string(work.Succeeded) && it.ref == "" {
			t.Fatalf("item %s succeeded without a target reference", it.key)
		}
	}

	// Nothing new: no item, no CMS write.
	mark := c.cursor(t)
	again := runImport(t, c, db, 250)
	if again.Items != 0 {
		t.Fatalf("second run with no new audits planned %d items", again.Items)
	}
	if p, err := c.cms.DevicesPage(context.Background(), cms.DeviceQuery{After: mark}); err != nil || len(p.Devices) != 0 {
		t.Fatalf("second run wrote %d devices (err %v)", len(p.Devices), err)
	}

	// The auditors sync; their approvals arrive with the next run.
	var reviewed int
	for i := range 6 {
		_, r, err := c.sys.AuditFeed.Sync(simcity.Epoch().Add(time.Duration(2+i)*time.Hour), 60)
		if err != nil {
			t.Fatal(err)
		}
		reviewed += r
	}
	third := runImport(t, c, db, 250)
	if reviewed == 0 || third.Items == 0 || third.Items > reviewed {
		t.Fatalf("after %d reviews the third run planned %d items", reviewed, third.Items)
	}
	checkDevices(t, c, runItems(t, db, third.Run), c.devices(t))
}

// TestImportWithoutChangeTracking imports from a layer read without
// extractChanges: after the first whole read, later runs page by (edit date,
// object id) from where the layer stood when it began, and still bring every
// approval the auditors made since, including many sharing one edit date.
func TestImportWithoutChangeTracking(t *testing.T) {
	t.Parallel()
	c := startCity(t, 3000, simcity.Faults{Seed: 5, ErrorRate: 0.05})
	db := pgtest.Pool(t)
	first := runImport(t, c, db, 100, true)
	var wm struct {
		Gen    int64     `json:"gen"`
		Edited time.Time `json:"edited"`
	}
	if err := json.Unmarshal(first.Watermark, &wm); err != nil || wm.Gen != 0 || wm.Edited.IsZero() {
		t.Fatalf("watermark after a whole read without change tracking: %s", first.Watermark)
	}
	for i := range 5 {
		if _, _, err := c.sys.AuditFeed.Sync(simcity.Epoch().Add(time.Duration(3+i)*time.Hour), 80); err != nil {
			t.Fatal(err)
		}
	}
	second := runImport(t, c, db, 7, true)
	if second.Items == 0 {
		t.Fatal("the auditors' approvals did not arrive")
	}
	checkDevices(t, c, runItems(t, db, second.Run), c.devices(t))
}
