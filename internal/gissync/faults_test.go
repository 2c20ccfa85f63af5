package gissync_test

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/citylink/citylink/internal/arcgis"
	"github.com/citylink/citylink/internal/citysim/arcgissim"
	"github.com/citylink/citylink/internal/citysim/cmssim"
	"github.com/citylink/citylink/internal/citysim/simcity"
	"github.com/citylink/citylink/internal/cms"
	"github.com/citylink/citylink/internal/gissync"
	"github.com/citylink/citylink/internal/work"
	"github.com/citylink/citylink/internal/work/worktest"
)

// TestPushUnderFaults pushes a 2,000-light city into an empty DOT layer
// with every chain link delivered twice, every fifth worker lost mid-batch
// and 5% simulator errors: applyEdits adds are not idempotent, yet every
// asset ends with exactly one feature, counted in the layer itself.
func TestPushUnderFaults(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := simcity.New(9, 2000)
	cmsSim := cmssim.NewServer(cmssim.Options{City: c, Seed: 9, AlarmsPerDay: -1, ChangesPerDay: -1,
		Faults: simcity.Faults{Seed: 1, ErrorRate: 0.05}})
	layer := arcgissim.NewDOTLayer(&simcity.City{}, arcgissim.LayerConfig{})
	dotSim := arcgissim.NewServer(arcgissim.Options{Seed: 9, Faults: simcity.Faults{Seed: 2, ErrorRate: 0.05},
		Services: []arcgissim.Service{{Name: arcgissim.DOTService, Layers: []*arcgissim.Layer{layer}}}})
	cmsSrv, dotSrv := httptest.NewServer(cmsSim), httptest.NewServer(dotSim)
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
	var h *worktest.Harness
	cfg := gissync.Config{DB: nil, CMS: cmsC, DOT: dot, Logger: slog.New(slog.DiscardHandler)}
	h = worktest.New(t, worktest.Config{
		Source: lazySource{&cfg}, Sink: lazySink{&cfg},
		Twice: func(work.Link) bool { return true }, Lose: worktest.Every(5),
		Engine: func(e *work.Config) { e.Logger = cfg.Logger },
		Effects: func(ctx context.Context) (map[string]int, error) {
			out := map[string]int{}
			err := dot.QueryPages(ctx, 0, arcgis.Query{OutFields: []string{"ASSET_ID"}}, func(fs *arcgis.FeatureSet) error {
				for _, f := range fs.Features {
					a, _ := f.String("ASSET_ID")
					out[a]++
				}
				return nil
			})
			return out, err
		},
	})
	cfg.DB, cfg.Clock = h.Pool, h.Clock
	run := h.Run(t)
	run.EveryItemHasOutcome(t)
	h.NoEffectTwice(t)
	if h.Lost() == 0 {
		t.Error("no worker was lost")
	}
	var devices int
	for _, err := range cmsC.Devices(ctx, cms.DeviceQuery{}) {
		if err != nil {
			t.Fatal(err)
		}
		devices++
	}
	// A batch whose worker was lost after its first half is worked again:
	// the half already added is found by its hash and skipped.
	done := run.Count(work.Succeeded) + run.Count(work.Skipped)
	if n := layer.Count(); n != devices || done != devices {
		t.Errorf("layer has %d features, run settled %d items (%d succeeded), for %d devices", n, done, run.Count(work.Succeeded), devices)
	}
}

// lazySource and lazySink build gis-push's source and sink on first use,
// once the harness has supplied the database and clock they need.
type lazySource struct{ cfg *gissync.Config }

func (s lazySource) Changes(ctx context.Context, after work.Watermark) (work.Page, error) {
	src, err := gissync.NewPushSource(*s.cfg)
	if err != nil {
		return work.Page{}, err
	}
	return src.Changes(ctx, after)
}

type lazySink struct{ cfg *gissync.Config }

func (s lazySink) Apply(ctx context.Context, items []work.Item) ([]work.Outcome, error) {
	sink, err := gissync.NewPushSink(*s.cfg)
	if err != nil {
		return nil, err
	}
	return sink.Apply(ctx, items)
}
