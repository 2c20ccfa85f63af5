package gissync_test

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/citylink/citylink/internal/citysim/simcity"
	"github.com/citylink/citylink/internal/cms"
)

// BenchmarkPushCity pushes every light of the simulated city (270,000; or
// CITYLINK_BENCH_LIGHTS) into an empty DOT layer, then reruns: "rerun" is
// the next hourly run with no CMS changes, "rescan" a run that reads every
// device again (its watermark dropped) and finds each unchanged by its hash.
// Reported: features/s of each.
//
//	go test -run '^$' -bench BenchmarkPushCity -benchtime 1x ./internal/gissync
func BenchmarkPushCity(b *testing.B) {
	lights := simcity.DefaultLights
	if v, err := strconv.Atoi(os.Getenv("CITYLINK_BENCH_LIGHTS")); err == nil && v > 0 {
		lights = v
	}
	c := newCity(b, cityOptions{lights: lights, emptyDOT: true, batch: 500})
	ctx := context.Background()
	// The CMS starts with three lights in five; the rest are added, so the
	// push carries the whole city.
	var up []cms.DeviceUpsert
	for _, l := range c.city.Lights {
		up = append(up, cms.DeviceUpsert{ExternalID: l.AssetID, DevicePatch: cms.DevicePatch{
			PoleID: ptr(l.PoleID), Location: &cms.Location{Latitude: l.Lat, Longitude: l.Lon}, Address: ptr(l.Address),
			Circuit: ptr(l.Circuit), LampType: ptr(l.LampType), NominalWatts: ptr(l.NominalWatts), Ownership: ptr(l.Ownership),
			InServiceDate: ptr(l.InService.Format(time.DateOnly)),
		}})
	}
	if _, err := c.cmsC.BulkUpsert(ctx, up); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		n := c.run(c.push)
		took := time.Since(start)
		if n.succeeded != lights || c.layer.Count() != lights {
			b.Fatalf("push: %+v, layer %d, want %d", n, c.layer.Count(), lights)
		}
		b.ReportMetric(float64(n.succeeded)/took.Seconds(), "features/s")
		b.ReportMetric(took.Seconds(), "s/push")

		start = time.Now()
		if n := c.run(c.push); n.succeeded != 0 {
			b.Fatalf("rerun wrote %d", n.succeeded)
		}
		b.ReportMetric(time.Since(start).Seconds(), "s/rerun")

		if _, err := c.pool.Exec(ctx, `DELETE FROM watermarks WHERE workflow = 'gis-push'`); err != nil {
			b.Fatal(err)
		}
		start = time.Now()
		n = c.run(c.push)
		took = time.Since(start)
		if n.succeeded != 0 || n.items != lights {
			b.Fatalf("rescan: %+v", n)
		}
		b.ReportMetric(float64(n.items)/took.Seconds(), "rescan-features/s")
		b.ReportMetric(took.Seconds(), "s/rescan")
	}
}
