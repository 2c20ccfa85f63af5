package billingexport_test

import (
	"context"
	"sync"
	"testing"

	"github.com/citylink/citylink/internal/billingexport"
	"github.com/citylink/citylink/internal/citysim"
	"github.com/citylink/citylink/internal/pgtest"
	"github.com/citylink/citylink/internal/work"
	"github.com/citylink/citylink/internal/work/worktest"
)

// TestExportUnderFaults exports with links delivered twice, workers lost
// mid-batch and 5% of simulator calls failing, then delivers from two
// workers at once: the run closes, every item has its outcome, the file
// holds one row per succeeded item, and the utility holds exactly one file.
func TestExportUnderFaults(t *testing.T) {
	t.Parallel()
	c := startCity(t, 2500, citysim.Faults{Seed: 13, ErrorRate: 0.05})
	m := billingexport.DefaultMapping()
	pool := pgtest.Pool(t)
	h := worktest.New(t, worktest.Config{
		Pool:   pool,
		Source: &billingexport.Source{Client: c.cms},
		Sink:   &billingexport.Sink{DB: pool, Mapping: m},
		Engine: func(cfg *work.Config) { cfg.BatchSize = 40 },
		Twice:  worktest.Every(2),
		Lose:   worktest.Every(4),
	})
	run := h.Run(t)
	run.EveryItemHasOutcome(t)
	if h.Lost() == 0 {
		t.Fatal("no worker was lost")
	}
	x := &billingexport.Exporter{DB: h.Pool, Deliverer: c.https, Mapping: m, Workflow: h.Workflow()}
	var wg sync.WaitGroup
	var files [2][]billingexport.File
	for i := range files {
		wg.Go(func() {
			f, err := x.Deliver(context.Background())
			if err != nil {
				t.Error(err)
			}
			files[i] = f
		})
	}
	wg.Wait()
	got := c.sys.Inbox.Files()
	if len(got) != 1 || got[0].Rows != run.Count(work.Succeeded) || got[0].Err != "" {
		t.Fatalf("the utility holds %+v; %d items succeeded", got, run.Count(work.Succeeded))
	}
	if len(files[0])+len(files[1]) == 0 {
		t.Fatal("neither worker delivered")
	}
}
