package arcgisimport_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/citylink/citylink/internal/arcgis"
	"github.com/citylink/citylink/internal/citysim"
	"github.com/citylink/citylink/internal/citysim/arcgissim"
	"github.com/citylink/citylink/internal/citysim/cmssim"
	"github.com/citylink/citylink/internal/citysim/simcity"
	"github.com/citylink/citylink/internal/cms"
	"github.com/citylink/citylink/internal/httpretry"
	"github.com/citylink/citylink/internal/pgtest"
	"github.com/citylink/citylink/internal/work"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// patient absorbs the simulators' injected faults without real waiting.
var patient = httpretry.Policy{MaxAttempts: 20, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}

// city is the simulated city with clients for the import's two ends.
type city struct {
	sys   *citysim.Systems
	audit *arcgis.Client
	cms   *cms.Client
}

func startCity(t testing.TB, lights int, faults simcity.Faults) *city {
	t.Helper()
	sys, err := citysim.StartSystems(citysim.SystemsOptions{Seed: 7, Lights: lights, Faults: faults})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sys.Close)
	audit, err := arcgis.New(arcgis.Options{
		ServiceURL: sys.AuditURL + "/arcgis/rest/services/" + arcgissim.AuditService + "/FeatureServer",
		Username:   citysim.SystemsArcGISUser, Password: citysim.SystemsArcGISPassword,
		HTTPClient: &http.Client{Transport: httpretry.New(nil, patient)},
	})
	if err != nil {
		t.Fatal(err)
	}
	c, err := cms.New(cms.Options{BaseURL: sys.CMSURL, APIKey: cmssim.DefaultAPIKey, Retry: patient})
	if err != nil {
		t.Fatal(err)
	}
	return &city{sys: sys, audit: audit, cms: c}
}

// devices lists every CMS device by asset id, failing on a second device
// for one asset id.
func (c *city) devices(t testing.TB) map[string]cms.Device {
	t.Helper()
	out := map[string]cms.Device{}
	for d, err := range c.cms.Devices(context.Background(), cms.DeviceQuery{}) {
		if err != nil {
			t.Fatal(err)
		}
		if prev, dup := out[d.ExternalID]; dup {
			t.Fatalf("asset %s has two CMS devices: %s and %s", d.ExternalID, prev.ID, d.ID)
		}
		out[d.ExternalID] = d
	}
	return out
}

// cursor returns the CMS listing position after every write so far.
func (c *city) cursor(t testing.TB) string {
	t.Helper()
	cur := ""
	if err := c.cms.ListDevices(context.Background(), cms.DeviceQuery{}, func(p cms.DevicePage) error {
		cur = p.NextCursor
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return cur
}

// addOddities adds approved audits that cannot become devices: one without
// geometry, one with a lamp type nobody knows, one without an asset id.
func (c *city) addOddities(t testing.TB, at time.Time) map[string]string {
	t.Helper()
	lt := c.sys.City.Lights[len(c.sys.City.Lights)-1]
	base := func(asset, lamp string) map[string]any {
		return map[string]any{"asset_id": asset, "pole_id": lt.PoleID, "audit_status": simcity.AuditApproved,
			"auditor": "Odd Crew", "audit_date": at.UnixMilli(), "lamp_type": lamp, "nominal_watts": int64(90),
			"input_watts": int64(95), "rate_schedule": "LS-2"}
	}
	pt := &arcgissim.Point{X: lt.Lon, Y: lt.Lat}
	res := c.sys.AuditLayer.ApplyEdits(arcgissim.Edits{Editor: "Odd Crew", Adds: []arcgissim.Feature{
		{Attributes: base("SL-ODD-0001", "LED")},
		{Attributes: base("SL-ODD-0002", "Plasma"), Geometry: pt},
		{Attributes: base("", "LED"), Geometry: pt},
	}}, at)
	for _, r := range res.AddResults {
		if !r.Success {
			t.Fatalf("adding odd audits: %+v", r.Error)
		}
	}
	return map[string]string{"SL-ODD-0001": "no geometry", "SL-ODD-0002": `unknown lamp type "Plasma"`,
		fmt.Sprintf("objectid:%d", res.AddResults[2].ObjectID): "missing asset id"}
}

func (c *city) approved() map[string]simcity.Light {
	out := map[string]simcity.Light{}
	for _, a := range c.sys.City.Audits {
		if a.Status == simcity.AuditApproved {
			lt, _ := c.sys.City.LightByAssetID(a.AssetID)
			out[a.AssetID] = lt
		}
	}
	return out
}

// item is one planned item as the engine recorded it.
type item struct {
	key, state, ref, reason string
}

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
		if _, dup := out[it.key]; dup {
			t.Fatalf("run %d planned %s twice", run, it.key)
		}
		out[it.key] = it
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// runState returns a run's state.
func runState(t testing.TB, db work.DB, run int64) string {
	t.Helper()
	var s string
	if err := db.QueryRow(context.Background(), `SELECT state FROM runs WHERE id = $1`, run).Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

// checkDevices checks that every approved feature of the audit layer has
// its CMS device, holding what the audit says.
func checkDevices(t testing.TB, c *city, items map[string]item, devs map[string]cms.Device) int {
	t.Helper()
	n := 0
	err := c.audit.QueryPages(context.Background(), 0, arcgis.Query{Where: "audit_status = 'approved' AND asset_id LIKE 'SL-0%'", Geometry: true}, func(fs *arcgis.FeatureSet) error {
		for _, f := range fs.Features {
			asset, _ := f.String("asset_id")
			lamp, _ := f.String("lamp_type")
			watts, _ := f.Int("input_watts")
			d, ok := devs[asset]
			if !ok {
				return fmt.Errorf("approved audit %s has no CMS device", asset)
			}
			pt, _ := f.Point()
			if d.LampType != lamp || int64(d.InputWatts) != watts || d.Location.Latitude != pt.Y || d.Location.Longitude != pt.X {
				return fmt.Errorf("device %s holds %s %dW at %v, the audit says %s %dW at %v,%v", asset, d.LampType, d.InputWatts, d.Location, lamp, watts, pt.Y, pt.X)
			}
			if it, ok := items[asset]; ok && (it.state != string(work.Succeeded) || it.ref != d.ID) {
				return fmt.Errorf("item %s is %s with target %q, want succeeded with %s", asset, it.state, it.ref, d.ID)
			}
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}
