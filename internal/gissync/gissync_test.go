package gissync_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/citylink/citylink/internal/arcgis"
	"github.com/citylink/citylink/internal/citysim/arcgissim"
	"github.com/citylink/citylink/internal/citysim/cmssim"
	"github.com/citylink/citylink/internal/citysim/simcity"
	"github.com/citylink/citylink/internal/cms"
	"github.com/citylink/citylink/internal/gissync"
	"github.com/citylink/citylink/internal/pgtest"
	"github.com/citylink/citylink/internal/testclock"
	"github.com/citylink/citylink/internal/work"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// flow is one direction's engine and its in-process fan-out.
type flow struct {
	engine *work.Engine
	local  *work.Local
}

// city is a simulated city with gis-push and gis-pull wired to its CMS and
// DOT layer.
type city struct {
	t     testing.TB
	clock *testclock.Clock
	city  *simcity.City
	cms   *cmssim.Server
	layer *arcgissim.Layer
	pool  *pgxpool.Pool
	cmsC  *cms.Client
	dot   *arcgis.Client
	push  flow
	pull  flow
	cfg   gissync.Config
	// cmsWrites counts the calls to the CMS other than GET.
	cmsWrites *atomic.Int64
	// extracts counts the extractChanges calls to the DOT service.
	extracts *atomic.Int64
	// cmsDown is a CMS path the CMS answers 503 for; cmsDownCalls counts
	// the calls to it.
	cmsDown      *atomic.Value
	cmsDownCalls *atomic.Int64
}

type cityOptions struct {
	lights   int
	emptyDOT bool
	// noChangeTracking serves the DOT layer without change tracking.
	noChangeTracking bool
	errorRate        float64
	batch            int
}

func newCity(t testing.TB, o cityOptions) *city {
	t.Helper()
	clk := testclock.New(time.Date(2026, 11, 2, 6, 0, 0, 0, time.UTC))
	c := simcity.New(5, o.lights)
	cmsSim := cmssim.NewServer(cmssim.Options{City: c, Seed: 5, Clock: clk.Now, AlarmsPerDay: -1, ChangesPerDay: -1,
		Faults: simcity.Faults{Seed: 6, ErrorRate: o.errorRate}})
	layerCity := c
	if o.emptyDOT {
		layerCity = &simcity.City{}
	}
	layer := arcgissim.NewDOTLayer(layerCity, arcgissim.LayerConfig{})
	dotSim := arcgissim.NewServer(arcgissim.Options{Clock: clk.Now, Seed: 7, Faults: simcity.Faults{Seed: 8, ErrorRate: o.errorRate},
		Services: []arcgissim.Service{{Name: arcgissim.DOTService, Layers: []*arcgissim.Layer{layer}, NoChangeTracking: o.noChangeTracking}}})
	cmsWrites, cmsDownCalls := new(atomic.Int64), new(atomic.Int64)
	cmsDown := new(atomic.Value)
	cmsSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			cmsWrites.Add(1)
		}
		if down, _ := cmsDown.Load().(string); down != "" && r.URL.Path == down {
			cmsDownCalls.Add(1)
			http.Error(w, `{"title":"Service Unavailable","status":503}`, http.StatusServiceUnavailable)
			return
		}
		cmsSim.ServeHTTP(w, r)
	}))
	extracts := new(atomic.Int64)
	dotSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/extractChanges") {
			extracts.Add(1)
		}
		dotSim.ServeHTTP(w, r)
	}))
	t.Cleanup(cmsSrv.Close)
	t.Cleanup(dotSrv.Close)
	cmsC, err := cms.New(cms.Options{BaseURL: cmsSrv.URL, APIKey: cmsSim.APIKey()})
	if err != nil {
		t.Fatal(err)
	}
	dot, err := arcgis.New(arcgis.Options{ServiceURL: dotSrv.URL + "/arcgis/rest/services/" + arcgissim.DOTService + "/FeatureServer"})
	if err != nil {
		t.Fatal(err)
	}
	pool := pgtest.Pool(t)
	quiet := slog.New(slog.DiscardHandler)
	cfg := gissync.Config{DB: pool, CMS: cmsC, DOT: dot, Clock: clk, Logger: quiet}
	wire := func(name string, src work.Source, sink work.Sink) flow {
		local := work.NewLocal(context.Background(), nil)
		e, err := work.New(work.Config{Workflow: name, DB: pool, Publisher: local, Source: src, Sink: sink, Clock: clk,
			Logger: quiet, BatchSize: max(o.batch, 100), Backoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		local.Deliver = e.Work
		return flow{engine: e, local: local}
	}
	pushSrc, err := gissync.NewPushSource(cfg)
	if err != nil {
		t.Fatal(err)
	}
	pushSink, _ := gissync.NewPushSink(cfg)
	pullSrc, _ := gissync.NewPullSource(cfg)
	pullSink, _ := gissync.NewPullSink(cfg)
	return &city{t: t, clock: clk, city: c, cms: cmsSim, layer: layer, pool: pool, cmsC: cmsC, dot: dot, cfg: cfg, cmsWrites: cmsWrites, extracts: extracts, cmsDown: cmsDown, cmsDownCalls: cmsDownCalls,
		push: wire(gissync.PushWorkflow, pushSrc, pushSink), pull: wire(gissync.PullWorkflow, pullSrc, pullSink)}
}

// counts is what one run did.
type counts struct{ items, succeeded, skipped, failed int }

// run plans and works one run of f, and reports its counts.
func (c *city) run(f flow) counts {
	c.t.Helper()
	ctx := context.Background()
	res, planned, err := f.engine.Tick(ctx)
	if err != nil || !planned {
		c.t.Fatalf("tick of %s: planned %v, %v", f.engine.Workflow(), planned, err)
	}
	if err := f.local.Wait(); err != nil {
		c.t.Fatalf("working %s: %v", f.engine.Workflow(), err)
	}
	var n counts
	err = c.pool.QueryRow(ctx, `SELECT item_count, succeeded, skipped, failed + dead FROM runs WHERE id = $1`, res.Run).
		Scan(&n.items, &n.succeeded, &n.skipped, &n.failed)
	if err != nil {
		c.t.Fatal(err)
	}
	c.clock.Advance(time.Minute)
	return n
}

// feature reads the DOT feature of an asset.
func (c *city) feature(asset string) arcgis.Feature {
	c.t.Helper()
	fs, err := c.dot.Query(context.Background(), 0, arcgis.Query{Where: fmt.Sprintf("ASSET_ID = '%s'", asset), Geometry: true})
	if err != nil || len(fs.Features) != 1 {
		c.t.Fatalf("DOT feature of %s: %d features, %v", asset, len(fs.Features), err)
	}
	return fs.Features[0]
}

// editDOT changes one attribute of an asset's feature, as a DOT technician.
func (c *city) editDOT(asset, field string, value any) {
	c.t.Helper()
	oid, _ := c.feature(asset).ObjectID("OBJECTID")
	res, err := c.dot.ApplyEdits(context.Background(), 0, arcgis.Edits{Updates: []arcgis.Feature{{Attributes: map[string]any{"OBJECTID": oid, field: value}}}})
	if err != nil || res.UpdateResults[0].Err() != nil {
		c.t.Fatalf("editing %s of %s: %v %v", field, asset, err, res)
	}
	c.clock.Advance(time.Second)
}

// editCMS patches a device, as a CMS operator.
func (c *city) editCMS(asset string, patch cms.DevicePatch) {
	c.t.Helper()
	d, err := c.cmsC.FindByExternalID(context.Background(), asset)
	if err != nil {
		c.t.Fatal(err)
	}
	if _, err := c.cmsC.Update(context.Background(), d.ID, patch, 0); err != nil {
		c.t.Fatal(err)
	}
	c.clock.Advance(time.Second)
}

func (c *city) device(asset string) cms.Device {
	c.t.Helper()
	d, err := c.cmsC.FindByExternalID(context.Background(), asset)
	if err != nil {
		c.t.Fatal(err)
	}
	return d
}

// devices lists the asset ids of the CMS's devices.
func (c *city) devices() []string {
	c.t.Helper()
	var out []string
	for d, err := range c.cmsC.Devices(context.Background(), cms.DeviceQuery{}) {
		if err != nil {
			c.t.Fatal(err)
		}
		out = append(out, d.ExternalID)
	}
	return out
}

func ptr[T any](v T) *T { return &v }

// TestPushIntoEmptyLayer pushes every CMS light of a 3,000-light city into
// an empty DOT layer, then runs pull and push again: they find only their
// own writes and write nothing.
func TestPushIntoEmptyLayer(t *testing.T) {
	t.Parallel()
	c := newCity(t, cityOptions{lights: 3000, emptyDOT: true, errorRate: 0.05})
	assets := c.devices()
	first := c.run(c.push)
	if first.succeeded != len(assets) || first.failed != 0 {
		t.Fatalf("first push: %+v for %d devices", first, len(assets))
	}
	if n := c.layer.Count(); n != len(assets) {
		t.Fatalf("DOT layer has %d features for %d devices", n, len(assets))
	}
	for _, a := range []string{assets[0], assets[len(assets)/2], assets[len(assets)-1]} {
		d, f := c.device(a), c.feature(a)
		lamp, _ := f.String("LAMP_TYPE")
		watts, _ := f.Int("WATTAGE")
		pole, _ := f.String("POLE_ID")
		pt, ok := f.Point()
		if lamp != d.LampType || int(watts) != d.NominalWatts || pole != d.PoleID || !ok || pt.X == 0 {
			t.Errorf("feature of %s = %v, device %+v", a, f.Attributes, d)
		}
	}
	pull := c.run(c.pull)
	if pull.items != len(assets) || pull.succeeded != 0 || pull.failed != 0 {
		t.Errorf("pull after push: %+v, want %d items skipped", pull, len(assets))
	}
	if again := c.run(c.push); again.succeeded != 0 || again.items != 0 {
		t.Errorf("push after pull: %+v, want nothing", again)
	}
	if again := c.run(c.pull); again.items != 0 {
		t.Errorf("second pull: %+v, want nothing", again)
	}
}

// TestEditsCrossOnce makes an edit on each side, an edit to a field the
// other side owns and a conflict, and checks each reaches the other side
// once, or is reported.
func TestEditsCrossOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := newCity(t, cityOptions{lights: 2000})
	assets := c.devices()
	c.run(c.push)
	c.run(c.pull)
	if n := c.run(c.push); n.succeeded != 0 {
		t.Fatalf("push after the first sync wrote %d", n.succeeded)
	}
	if n := c.run(c.pull); n.succeeded != 0 || n.items != 0 {
		t.Fatalf("pull after the first sync: %+v", n)
	}

	wattsA, addrB, addrC, poleD, lampE, addrF := assets[10], assets[20], assets[30], assets[40], assets[50], assets[60]
	c.editCMS(wattsA, cms.DevicePatch{NominalWatts: ptr(77)})
	c.editCMS(addrB, cms.DevicePatch{Address: ptr("1 CMS Plaza")})
	c.editDOT(addrC, "ADDRESS", "2 DOT Way")
	c.editDOT(poleD, "POLE_ID", "P-DOT-4")
	c.editDOT(lampE, "LAMP_TYPE", "XX")
	c.editCMS(addrF, cms.DevicePatch{Address: ptr("3 CMS Side")})
	c.editDOT(addrF, "ADDRESS", "3 DOT Side") // the later edit

	push := c.run(c.push)
	if push.succeeded != 2 {
		t.Errorf("push wrote %d features, want 2 (watts of A, address of B): %+v", push.succeeded, push)
	}
	pull := c.run(c.pull)
	if pull.succeeded != 3 {
		t.Errorf("pull wrote %d devices, want 3 (address of C, pole of D, address of F): %+v", pull.succeeded, pull)
	}
	if n := c.run(c.push); n.succeeded != 0 {
		t.Errorf("push after pull wrote %d: %+v", n.succeeded, n)
	}
	if n := c.run(c.pull); n.succeeded != 0 {
		t.Errorf("pull after push wrote %d: %+v", n.succeeded, n)
	}
	if n := c.run(c.push); n.items != 0 {
		t.Errorf("a push with no changes planned %d items", n.items)
	}

	if w, _ := c.feature(wattsA).Int("WATTAGE"); w != 77 {
		t.Errorf("DOT wattage of %s = %d, want 77", wattsA, w)
	}
	if a, _ := c.feature(addrB).String("ADDRESS"); a != "1 CMS Plaza" {
		t.Errorf("DOT address of %s = %q", addrB, a)
	}
	if d := c.device(addrC); d.Address != "2 DOT Way" {
		t.Errorf("CMS address of %s = %q", addrC, d.Address)
	}
	if d := c.device(poleD); d.PoleID != "P-DOT-4" {
		t.Errorf("CMS pole of %s = %q", poleD, d.PoleID)
	}
	if d := c.device(lampE); d.LampType == "XX" {
		t.Errorf("CMS lamp type of %s took the DOT's edit of a CMS field", lampE)
	}
	if d, f := c.device(addrF), c.feature(addrF); d.Address != "3 DOT Side" {
		a, _ := f.String("ADDRESS")
		t.Errorf("conflict on %s: CMS %q, DOT %q; want the later DOT edit on both", addrF, d.Address, a)
	}
	type rep struct{ asset, kind, field string }
	rows, err := c.pool.Query(ctx, `SELECT asset_id, kind, field FROM gis_sync_reports ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	var got []rep
	for rows.Next() {
		var r rep
		if err := rows.Scan(&r.asset, &r.kind, &r.field); err != nil {
			t.Fatal(err)
		}
		got = append(got, r)
	}
	want := []rep{{lampE, "not_owned", gissync.FieldLampType}, {addrF, "conflict", gissync.FieldAddress}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("reports = %v, want %v", got, want)
	}
}
