package work

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

// planAlertRecorder is an alertRecorder that also keeps plan alerts.
type planAlertRecorder struct {
	alertRecorder
	mu    sync.Mutex
	plans []PlanFailure
}

func (a *planAlertRecorder) AlertPlan(_ context.Context, f PlanFailure) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.plans = append(a.plans, f)
	return nil
}

// TestFailingPlanIsVisibleAndAlertedOnce has a source that refuses every
// call, as with bad credentials: each tick's plan fails, and the run that
// stays in planning says why (error, time, failures in a row) in Runs and
// RunProgress; the third failure in a row alerts, and only that one. Once
// the source answers, the plan finishes and the failure is cleared.
func TestFailingPlanIsVisibleAndAlertedOnce(t *testing.T) {
	t.Parallel()
	items := makeItems("pole", 30)
	src := &pageSource{items: items, pageSize: 10}
	alerts := &planAlertRecorder{}
	h := newHarness(t, src, func(c *Config) { c.Alerter = alerts })
	broken := true
	src.onCall = func(context.Context, int, Watermark) error {
		if broken {
			return errors.New("401 invalid token")
		}
		return nil
	}
	ctx := context.Background()
	for tick := 1; tick <= 5; tick++ {
		if _, _, err := h.engine.Tick(ctx); err == nil || !strings.Contains(err.Error(), "401 invalid token") {
			t.Fatalf("tick %d = %v, want the source's error", tick, err)
		}
		runs, err := Runs(ctx, h.pool, h.engine.Workflow(), 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(runs) != 1 {
			t.Fatalf("tick %d: %d runs, want the one planning run", tick, len(runs))
		}
		r := runs[0]
		if r.State != "planning" || r.PlanFailures != tick || !strings.Contains(r.PlanError, "401 invalid token") ||
			r.PlanErrorAt == nil || r.PlanErrorAt.Sub(h.clock.Now()).Abs() > time.Millisecond {
			t.Fatalf("tick %d: run %+v, want planning with %d failures, the error and its time", tick, r, tick)
		}
		p, err := RunProgress(ctx, h.pool, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if p.PlanFailures != tick || p.PlanError != r.PlanError || p.PlanErrorAt == nil {
			t.Fatalf("tick %d: progress %+v does not say why the run is stuck", tick, p)
		}
		want := 0
		if tick >= 3 {
			want = 1
		}
		if len(alerts.plans) != want {
			t.Fatalf("after %d failures, %d plan alerts, want %d", tick, len(alerts.plans), want)
		}
		h.clock.Advance(5 * time.Minute)
	}
	if f := alerts.plans[0]; f.Workflow != h.engine.Workflow() || f.Failures != 3 || !strings.Contains(f.Error, "401 invalid token") || f.Run == 0 {
		t.Fatalf("plan alert %+v", f)
	}
	broken = false
	res, planned, err := h.engine.Tick(ctx)
	if err != nil || !planned || res.Planning || res.Items != 30 {
		t.Fatalf("tick with the source back = %+v, %v, %v; want the plan finished", res, planned, err)
	}
	h.wait(t)
	p, err := RunProgress(ctx, h.pool, res.Run)
	if err != nil {
		t.Fatal(err)
	}
	if p.PlanFailures != 0 || p.PlanError != "" || p.PlanErrorAt != nil {
		t.Fatalf("progress %+v still shows the plan failure after the plan went through", p)
	}
	checkExactlyOnce(t, h, res.Run, items)
}
