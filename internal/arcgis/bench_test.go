package arcgis_test

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/citylink/citylink/internal/arcgis"
	"github.com/citylink/citylink/internal/citysim"
)

// benchDOT serves the full-size city's DOT pole layer (270,000 features).
func benchDOT(b *testing.B, tune citysim.ArcGISLayerConfig) (*arcgis.Client, *citysim.ArcGISLayer) {
	b.Helper()
	city := citysim.NewCity(1, citysim.DefaultLights)
	layer := citysim.NewDOTLayer(city, tune)
	srv := httptest.NewServer(citysim.NewArcGISServer(citysim.ArcGISOptions{Services: []citysim.ArcGISService{{Name: "DOT", Layers: []*citysim.ArcGISLayer{layer}}}}))
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
	c, layer := benchDOT(b, citysim.ArcGISLayerConfig{})
	benchPages(b, c, layer.Count())
}

// BenchmarkQueryPagesObjectIDs reads the whole 270k layer by object-id
// chunks, as against a server without pagination.
func BenchmarkQueryPagesObjectIDs(b *testing.B) {
	c, layer := benchDOT(b, citysim.ArcGISLayerConfig{NoPagination: true})
	benchPages(b, c, layer.Count())
}

// BenchmarkApplyEditsUpdates sends updates of 100 features per call, the
// gis-push workflow's shape.
func BenchmarkApplyEditsUpdates(b *testing.B) {
	c, _ := benchDOT(b, citysim.ArcGISLayerConfig{})
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
