package arcgisimport_test

import (
	"context"
	"testing"
	"time"

	"github.com/citylink/citylink/internal/arcgisimport"
	"github.com/citylink/citylink/internal/citysim/simcity"
	"github.com/citylink/citylink/internal/cms"
	"github.com/citylink/citylink/internal/work"
	"github.com/citylink/citylink/internal/work/worktest"
)

// TestImportUnderFaults imports with every third link delivered twice,
// every fifth worker lost mid-batch (after the CMS wrote half its batch)
// and 5% of simulator calls failing: the run closes, every item has its
// outcome, and the CMS holds one device per asset id.
func TestImportUnderFaults(t *testing.T) {
	t.Parallel()
	c := startCity(t, 3000, simcity.Faults{Seed: 9, ErrorRate: 0.05})
	h := worktest.New(t, worktest.Config{
		Source: &arcgisimport.Source{Client: c.audit, Mapping: arcgisimport.DefaultMapping(), PageSize: 150},
		Sink:   &arcgisimport.Sink{Client: c.cms},
		Engine: func(cfg *work.Config) { cfg.BatchSize = 20 },
		Twice:  worktest.Every(3),
		Lose:   worktest.Every(5),
		Effects: func(ctx context.Context) (map[string]int, error) {
			n := map[string]int{}
			for d, err := range c.cms.Devices(ctx, cms.DeviceQuery{}) {
				if err != nil {
					return nil, err
				}
				n[d.ExternalID]++
			}
			return n, nil
		},
	})
	c.addOddities(t, simcity.Epoch().Add(time.Hour))
	run := h.Run(t)
	run.EveryItemHasOutcome(t)
	h.NoEffectTwice(t)
	if h.Lost() == 0 {
		t.Fatal("no worker was lost")
	}
	if got, want := run.Count(work.Succeeded), len(c.approved()); got != want {
		t.Fatalf("%d items succeeded, %d audits are approved", got, want)
	}
	checkDevices(t, c, nil, c.devices(t))
}
