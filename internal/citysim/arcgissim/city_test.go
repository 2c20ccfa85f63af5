package arcgissim

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/citylink/citylink/internal/citysim/simcity"
)

func TestCityLayers(t *testing.T) {
	t.Parallel()
	c := simcity.New(11, 5000)
	audit := NewAuditLayer(c, LayerConfig{})
	dot := NewDOTLayer(c, LayerConfig{ID: 2})
	if audit.Count() != len(c.Audits) || dot.Count() != len(c.Lights) {
		t.Fatalf("audit layer %d features for %d audits; DOT layer %d for %d lights", audit.Count(), len(c.Audits), dot.Count(), len(c.Lights))
	}
	s := NewServer(Options{Services: []Service{
		{Name: "StreetlightAudit", Layers: []*Layer{audit}},
		{Name: "DOT_Streetlights", Layers: []*Layer{dot}},
	}})
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)

	a := c.Audits[len(c.Audits)/2]
	light, _ := c.LightByAssetID(a.AssetID)
	res := call(t, srv, http.MethodGet, "/arcgis/rest/services/StreetlightAudit/FeatureServer/0/query", url.Values{
		"where": {fmt.Sprintf("%s = '%s'", AuditFieldAssetID, a.AssetID)}, "outFields": {"*"},
	})
	fs := res["features"].([]any)
	if len(fs) != 1 {
		t.Fatalf("audit features for %s: %d", a.AssetID, len(fs))
	}
	attrs := fs[0].(map[string]any)["attributes"].(map[string]any)
	geom := fs[0].(map[string]any)["geometry"].(map[string]any)
	if attrs[AuditFieldStatus] != a.Status || attrs[AuditFieldAuditDate].(float64) != float64(a.AuditedAt.UnixMilli()) ||
		attrs[AuditFieldLampType] != light.LampType || geom["x"].(float64) != light.Lon || geom["y"].(float64) != light.Lat {
		t.Errorf("audit feature %v %v does not match audit %+v / light %+v", attrs, geom, a, light)
	}
	cutoff := a.AuditedAt.UTC().Format("2006-01-02 15:04:05")
	want := 0
	for _, x := range c.Audits {
		if x.AuditedAt.After(a.AuditedAt) {
			want++
		}
	}
	count := call(t, srv, http.MethodGet, "/arcgis/rest/services/StreetlightAudit/FeatureServer/0/query", url.Values{
		"where": {fmt.Sprintf("EditDate > timestamp '%s'", cutoff)}, "returnCountOnly": {"true"},
	})
	if int(count["count"].(float64)) != want {
		t.Errorf("audited after %s: %v, want %d", cutoff, count["count"], want)
	}
	ids := []string{c.Lights[0].AssetID, c.Lights[4999].AssetID, "SL-nope"}
	poles := call(t, srv, http.MethodGet, "/arcgis/rest/services/DOT_Streetlights/FeatureServer/2/query", url.Values{
		"where": {fmt.Sprintf("%s IN ('%s','%s','%s')", DOTFieldAssetID, ids[0], ids[1], ids[2])}, "outFields": {DOTFieldAssetID + "," + DOTFieldWatts},
	})
	if n := len(poles["features"].([]any)); n != 2 {
		t.Errorf("DOT features by asset id: %d, want 2", n)
	}
}

// BenchmarkPageAuditLayer pages through the full-size city's audit
// layer over HTTP, 2,000 features a page, as the arcgis-import plan does.
func BenchmarkPageAuditLayer(b *testing.B) {
	c := simcity.New(1, simcity.DefaultLights)
	layer := NewAuditLayer(c, LayerConfig{})
	srv := httptest.NewServer(NewServer(Options{Services: []Service{{Name: "StreetlightAudit", Layers: []*Layer{layer}}}}))
	defer srv.Close()
	b.ReportAllocs()
	b.ResetTimer()
	features := 0
	for b.Loop() {
		for offset := 0; ; offset += 2000 {
			resp, err := srv.Client().PostForm(srv.URL+"/arcgis/rest/services/StreetlightAudit/FeatureServer/0/query", url.Values{
				"f": {"json"}, "where": {"audit_date > timestamp '2000-01-01 00:00:00'"}, "outFields": {"*"},
				"orderByFields": {"OBJECTID"}, "resultOffset": {fmt.Sprint(offset)}, "resultRecordCount": {"2000"},
			})
			if err != nil {
				b.Fatal(err)
			}
			var page struct {
				Features []struct{} `json:"features"`
				More     bool       `json:"exceededTransferLimit"`
			}
			err = json.NewDecoder(resp.Body).Decode(&page)
			resp.Body.Close()
			if err != nil {
				b.Fatal(err)
			}
			features += len(page.Features)
			if !page.More {
				break
			}
		}
	}
	b.ReportMetric(float64(features)/b.Elapsed().Seconds(), "features/s")
}

// BenchmarkCityLayers measures building both layers for the full city.
func BenchmarkCityLayers(b *testing.B) {
	c := simcity.New(1, simcity.DefaultLights)
	b.ResetTimer()
	for b.Loop() {
		NewAuditLayer(c, LayerConfig{})
		NewDOTLayer(c, LayerConfig{})
	}
}

// BenchmarkLookupByAssetID looks up 100 poles by asset id in the full
// 270k DOT layer per query, as gis-push does before an upsert.
func BenchmarkLookupByAssetID(b *testing.B) {
	c := simcity.New(1, simcity.DefaultLights)
	layer := NewDOTLayer(c, LayerConfig{})
	b.ResetTimer()
	round := 0
	for b.Loop() {
		var ids strings.Builder
		for i := range 100 {
			if i > 0 {
				ids.WriteByte(',')
			}
			fmt.Fprintf(&ids, "'%s'", c.Lights[(round*100+i)%len(c.Lights)].AssetID)
		}
		round++
		layer.mu.RLock()
		recs, err := layer.selectRecords(context.Background(), query{where: DOTFieldAssetID + " IN (" + ids.String() + ")"}, time.Now())
		layer.mu.RUnlock()
		if err != nil || len(recs) != 100 {
			b.Fatalf("%d records, %v", len(recs), err)
		}
	}
}
