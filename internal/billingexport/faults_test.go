package billingexport_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/citylink/citylink/internal/billingexport"
	"github.com/citylink/citylink/internal/citysim/simcity"
	"github.com/citylink/citylink/internal/pgtest"
	"github.com/citylink/citylink/internal/utility"
	"github.com/citylink/citylink/internal/work"
	"github.com/citylink/citylink/internal/work/worktest"
)

// TestExportUnderFaults exports with links delivered twice, workers lost
// mid-batch and 5% of simulator calls failing, then delivers from two
// workers at once: the run closes, every item has its outcome, the file
// holds one row per succeeded item, and the utility holds exactly one file.
func TestExportUnderFaults(t *testing.T) {
	t.Parallel()
	c := startCity(t, 2500, simcity.Faults{Seed: 13, ErrorRate: 0.05})
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
	// Two invocations deliver at once: the first to reach the drop is held
	// there until the other's Deliver has returned, so the two overlap
	// for certain; only one may send the file.
	d := &heldDrop{next: c.https, other: make(chan struct{})}
	x := &billingexport.Exporter{DB: h.Pool, Deliverer: d, Mapping: m, Workflow: h.Workflow()}
	var wg sync.WaitGroup
	var files [2][]billingexport.File
	var returned sync.Once
	for i := range files {
		wg.Go(func() {
			f, err := x.Deliver(context.Background())
			if err != nil {
				t.Error(err)
			}
			files[i] = f
			returned.Do(func() { close(d.other) })
		})
	}
	wg.Wait()
	if n := d.calls.Load(); n != 1 || len(files[0])+len(files[1]) != 1 {
		t.Fatalf("two invocations delivering at once sent the file %d times (%d and %d files returned), want once", n, len(files[0]), len(files[1]))
	}
	got := c.sys.Inbox.Files()
	if len(got) != 1 || got[0].Err != "" {
		t.Fatalf("the utility holds %d files, want 1 (%v)", len(got), got)
	}
	// The file holds every succeeded item's row, and no more than the rows
	// recorded: an item whose batch was abandoned after its row was recorded
	// (its workers kept dying) has its row in this file, and is skipped as
	// "no billing change" when it is carried into the next run.
	var recorded int
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM billing_rows WHERE run_id = $1`, run.Plan.Run).Scan(&recorded); err != nil {
		t.Fatal(err)
	}
	rows := c.received(t, got[0].Name)
	if len(rows) != recorded || recorded < run.Count(work.Succeeded) {
		t.Fatalf("file of %d rows, %d recorded, %d items succeeded", len(rows), recorded, run.Count(work.Succeeded))
	}
	for _, it := range run.Items {
		if _, in := rows[it.Key]; it.State == work.Succeeded && !in {
			t.Fatalf("succeeded item %s is not in the file", it.Key)
		}
	}
}

// heldDrop holds the first delivery until other is closed and counts the
// deliveries that reach the drop.
type heldDrop struct {
	next  billingexport.Deliverer
	other chan struct{}
	calls atomic.Int32
}

func (d *heldDrop) Deliver(ctx context.Context, name string, data []byte) (utility.Receipt, error) {
	if d.calls.Add(1) == 1 {
		<-d.other
	}
	return d.next.Deliver(ctx, name, data)
}
