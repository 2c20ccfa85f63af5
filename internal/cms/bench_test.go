package cms_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/citylink/citylink/internal/citysim/cmssim"
	"github.com/citylink/citylink/internal/citysim/simcity"

	"github.com/citylink/citylink/internal/cms"
)

// BenchmarkListDevicesFullCity pages through every device of the default
// 270,000-light city's CMS, 1,000 to a page, over HTTP.
func BenchmarkListDevicesFullCity(b *testing.B) {
	_, srv, _ := newSim(b, simcity.DefaultLights, cmssim.Options{})
	c := newClient(b, srv, cmssim.DefaultAPIKey, 1000)
	ctx := context.Background()
	n := 0
	b.ResetTimer()
	for b.Loop() {
		n = 0
		err := c.ListDevicesSince(ctx, testStart.AddDate(-100, 0, 0), func(p cms.DevicePage) error {
			n += len(p.Devices)
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n), "devices/op")
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "devices/s")
}

// BenchmarkBulkUpsert creates devices through the bulk endpoint, 500 to a
// request, then upserts them again unchanged.
func BenchmarkBulkUpsert(b *testing.B) {
	_, srv, _ := newSim(b, 1000, cmssim.Options{})
	c := newClient(b, srv, cmssim.DefaultAPIKey, 0)
	ctx := context.Background()
	items := make([]cms.DeviceUpsert, cms.MaxBulk)
	round := 0
	b.ResetTimer()
	for b.Loop() {
		round++
		for i := range items {
			items[i] = cms.DeviceUpsert{ExternalID: fmt.Sprintf("SL-B%04d-%03d", round, i), DevicePatch: cms.DevicePatch{
				LampType: new(simcity.LampLED), NominalWatts: new(90), InputWatts: new(95)}}
		}
		if _, err := c.BulkUpsert(ctx, items); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cms.MaxBulk)*float64(b.N)/b.Elapsed().Seconds(), "devices/s")
}
