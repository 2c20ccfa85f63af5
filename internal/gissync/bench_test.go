package gissync_test

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/citylink/citylink/internal/arcgis"
	"github.com/citylink/citylink/internal/citysim/simcity"
	"github.com/citylink/citylink/internal/cms"
	"github.com/citylink/citylink/internal/gissync"
	"github.com/citylink/citylink/internal/work"
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

// BenchmarkPullChanges measures what gis-pull's source costs on the whole
// city's DOT layer (270,000 features; or CITYLINK_BENCH_LIGHTS), with the
// sync state holding every light's object id: the first read (keyset, the
// whole layer), and the next hour's read after 100 features were edited and
// one deleted, by extractChanges server generation ("tracked") and by
// (edit date, object id) with the object-id listing that finds deletes
// ("keyset"). Reported: seconds per read and the items planned.
//
//	go test -run '^$' -bench BenchmarkPullChanges -benchtime 1x ./internal/gissync
func BenchmarkPullChanges(b *testing.B) {
	lights := simcity.DefaultLights
	if v, err := strconv.Atoi(os.Getenv("CITYLINK_BENCH_LIGHTS")); err == nil && v > 0 {
		lights = v
	}
	for _, mode := range []struct {
		name    string
		tracked bool
	}{{"tracked", true}, {"keyset", false}} {
		b.Run(mode.name, func(b *testing.B) {
			c := newCity(b, cityOptions{lights: lights, noChangeTracking: !mode.tracked})
			ctx := context.Background()
			if _, err := c.pool.Exec(ctx, `INSERT INTO gis_sync (asset_id, object_id, updated_at)
SELECT 'BENCH-' || n, n, now() FROM generate_series(1, $1::bigint) n`, c.layer.Count()); err != nil {
				b.Fatal(err)
			}
			src, err := gissync.NewPullSource(c.cfg)
			if err != nil {
				b.Fatal(err)
			}
			read := func(after work.Watermark) (work.Watermark, int) {
				n := 0
				for {
					p, err := src.Changes(ctx, after)
					if err != nil {
						b.Fatal(err)
					}
					n += len(p.Items)
					after = p.Next
					if !p.More {
						return after, n
					}
				}
			}
			for b.Loop() {
				start := time.Now()
				wm, n := read(nil)
				b.ReportMetric(time.Since(start).Seconds(), "s/first-read")
				if n != c.layer.Count() {
					b.Fatalf("first read planned %d items for %d features", n, c.layer.Count())
				}
				ids, err := c.dot.QueryIDs(ctx, 0, arcgis.Query{})
				if err != nil {
					b.Fatal(err)
				}
				var e arcgis.Edits
				for i := range 100 {
					e.Updates = append(e.Updates, arcgis.Feature{Attributes: map[string]any{"OBJECTID": ids[i*len(ids)/100], "ADDRESS": "1 Bench St"}})
				}
				e.Deletes = []int64{ids[len(ids)-1]}
				c.clock.Advance(time.Minute)
				if res, err := c.dot.ApplyEdits(ctx, 0, e); err != nil || len(res.UpdateResults) != 100 {
					b.Fatalf("editing: %v", err)
				}
				start = time.Now()
				_, n = read(wm)
				b.ReportMetric(time.Since(start).Seconds(), "s/incremental")
				b.ReportMetric(float64(n), "items/incremental")
				if n != 101 {
					b.Fatalf("incremental read planned %d items, want 100 edits and 1 delete", n)
				}
			}
		})
	}
}
