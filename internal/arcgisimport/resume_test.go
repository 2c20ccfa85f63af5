package arcgisimport_test

import (
	"context"
	"testing"
	"time"

	"github.com/citylink/citylink/internal/arcgisimport"
	"github.com/citylink/citylink/internal/citysim/simcity"
	"github.com/citylink/citylink/internal/pgtest"
	"github.com/citylink/citylink/internal/testclock"
	"github.com/citylink/citylink/internal/work"
)

// slowPages is the audit layer as a throttled service reads it: every page
// takes a minute on the engines' clock.
type slowPages struct {
	work.Source
	clock *testclock.Clock
	calls *int
}

func (s slowPages) Changes(ctx context.Context, after work.Watermark) (work.Page, error) {
	*s.calls++
	s.clock.Advance(time.Minute)
	return s.Source.Changes(ctx, after)
}

// TestImportCutByDeadlines plans the first import of a city in Lambda
// invocations that each have room for about three pages of the audit layer:
// every invocation is a new engine with a new Source, as a new Lambda
// process would be, and the plan ticks and rescue ticks take turns until
// the plan is done. The run then holds every audit exactly once and the CMS
// ends as an uninterrupted import leaves it.
func TestImportCutByDeadlines(t *testing.T) {
	t.Parallel()
	c := startCity(t, 2000, simcity.Faults{})
	db := pgtest.Pool(t)
	odd := c.addOddities(t, simcity.Epoch().Add(time.Hour))
	clock := testclock.New(time.Now())
	local := work.NewLocal(context.Background(), nil)
	calls := 0
	invoke := func(action work.Action) work.PlanResult {
		t.Helper()
		eng, err := work.New(work.Config{
			Workflow: "arcgis-import", DB: db, Publisher: local, Clock: clock,
			Source: slowPages{Source: &arcgisimport.Source{Client: c.audit, Mapping: arcgisimport.DefaultMapping(), PageSize: 20},
				clock: clock, calls: &calls},
			Sink:    &arcgisimport.Sink{Client: c.cms},
			Backoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, BatchSize: 25, Margin: 30 * time.Second,
		})
		if err != nil {
			t.Fatal(err)
		}
		local.Deliver = eng.Work
		ctx, cancel := context.WithDeadline(context.Background(), clock.Now().Add(3*time.Minute+45*time.Second))
		defer cancel()
		if action == work.ActionRescue {
			r, err := eng.Rescue(ctx)
			if err != nil || r.Resumed != 1 {
				t.Fatalf("rescue tick = %+v, %v; want the plan continued", r, err)
			}
			return work.PlanResult{Planning: !r.ResumedDone, Items: r.ResumedItems}
		}
		res, planned, err := eng.Tick(ctx)
		if err != nil || !planned {
			t.Fatalf("plan tick: planned %v, %v", planned, err)
		}
		return res
	}
	res := invoke(work.ActionPlan)
	run := res.Run
	ticks := 1
	for res.Planning {
		if ticks > 40 {
			t.Fatalf("still planning after %d invocations", ticks)
		}
		if runState(t, db, run) != "planning" {
			t.Fatalf("run %d left planning before its plan was done", run)
		}
		action := work.ActionPlan
		if ticks%2 == 1 {
			action = work.ActionRescue
		}
		res = invoke(action)
		ticks++
	}
	if ticks < 4 {
		t.Fatalf("the plan took %d invocations; want the deadlines to cut it several times", ticks)
	}
	if err := local.Wait(); err != nil {
		t.Fatal(err)
	}
	approved := c.approved()
	items := runItems(t, db, run) // fails on a key planned twice
	if len(items) != len(approved)+len(odd) {
		t.Fatalf("run planned %d items, want %d approved audits and %d odd ones", len(items), len(approved), len(odd))
	}
	if s := runState(t, db, run); s != "succeeded" {
		t.Fatalf("run is %s", s)
	}
	if n := checkDevices(t, c, items, c.devices(t)); n != len(approved) {
		t.Fatalf("%d approved audits in the layer, %d in the city", n, len(approved))
	}
	var pages int
	if err := db.QueryRow(context.Background(), `SELECT plan_pages FROM runs WHERE id = $1`, run).Scan(&pages); err != nil {
		t.Fatal(err)
	}
	if calls != pages {
		t.Fatalf("the source was called %d times for the %d pages the run recorded: a page was read twice", calls, pages)
	}
}
