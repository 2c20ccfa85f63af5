package arcgis_test

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/citylink/citylink/internal/citysim/arcgissim"
	"github.com/citylink/citylink/internal/citysim/simcity"

	"github.com/citylink/citylink/internal/arcgis"
)

// benchDOT serves the full-size city's DOT pole layer (270,000 features).
func benchDOT(b *testing.B, tune arcgissim.LayerConfig) (*arcgis.Client, *arcgissim.Layer) {
	b.Helper()
	town := simcity.New(1, simcity.DefaultLights)
	layer := arcgissim.NewDOTLayer(town, tune)
	srv := httptest.NewServer(arcgissim.NewServer(arcgissim.Options{Services: []arcgissim.Service{{Name: "DOT", Layers: []*arcgissim.Layer{layer}}}}))
	b.Cleanup(srv.Close)
	c, err := arcgis.New(arcgis.Options{ServiceURL: srv.URL + "/arcgis/rest/services/DOT/FeatureServer"})
	if err != nil {
		b.Fatal(err)
	}
	return c, layer
}

func benchPages(b *testing.B, c *arcgis.Client, want int) {
	b.Helper()
	b.ReportAllocs()
	total := 0
	for b.Loop() {
		n := 0
		err := c.QueryPages(context.Background(), 0, arcgis.Query{Geometry: true}, func(fs *arcgis.FeatureSet) error {
			n += len(fs.Features)
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		if n != want {
			b.Fatalf("read %d features, want %d", n, want)
		}
		total += n
	}
	b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "features/s")
}

// BenchmarkQueryPagesOffset reads the whole 270k layer through the client,
// 2,000 features a page, on a layer that supports pagination (each page
// asks for the object ids above the last one read).
func BenchmarkQueryPagesOffset(b *testing.B) {
	c, layer := benchDOT(b, arcgissim.LayerConfig{})
	benchPages(b, c, layer.Count())
}

// BenchmarkQueryPagesObjectIDs reads the whole 270k layer by object-id
// chunks, as against a server without pagination.
func BenchmarkQueryPagesObjectIDs(b *testing.B) {
	c, layer := benchDOT(b, arcgissim.LayerConfig{NoPagination: true})
	benchPages(b, c, layer.Count())
}

// BenchmarkApplyEditsUpdates sends updates of 100 features per call, the
// gis-push workflow's shape.
func BenchmarkApplyEditsUpdates(b *testing.B) {
	c, _ := benchDOT(b, arcgissim.LayerConfig{})
	ups := make([]arcgis.Feature, 100)
	b.ReportAllocs()
	oid := int64(0)
	for b.Loop() {
		for i := range ups {
			oid = oid%270000 + 1
			ups[i] = arcgis.Feature{Attributes: map[string]any{"OBJECTID": oid, "STATUS": "ACTIVE", "WATTAGE": 60}}
		}
		res, err := c.ApplyEdits(context.Background(), 0, arcgis.Edits{Updates: ups})
		if err != nil {
			b.Fatal(err)
		}
		if !res.UpdateResults[0].Success {
			b.Fatal(res.UpdateResults[0].Err())
		}
	}
	b.ReportMetric(float64(b.N*len(ups))/b.Elapsed().Seconds(), "features/s")
}
