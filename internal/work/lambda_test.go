package work

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

// scheduleInput reads a schedule's input from testdata and points it at
// workflow, as the deployed schedule names its own workflow.
func scheduleInput(t *testing.T, path, workflow string) []byte {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var in Invocation
	if err := json.Unmarshal(raw, &in); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	in.Workflow = workflow
	out, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// snsInput is the real-shaped SNS event of testdata carrying link.
func snsInput(t *testing.T, link Link) []byte {
	t.Helper()
	raw, err := os.ReadFile("testdata/sns-link.json")
	if err != nil {
		t.Fatal(err)
	}
	var ev events.SNSEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	msg, err := json.Marshal(link)
	if err != nil {
		t.Fatal(err)
	}
	ev.Records[0].SNS.Message = string(msg)
	out, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestHandleRoutesOnExplicitInput(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	items := makeItems("pole", 30)
	rec := &linkRecorder{}
	h := newHarness(t, &pageSource{items: items, pageSize: 10}, func(c *Config) {
		c.Publisher = rec
		c.BatchSize = 10
		c.Chains = 2
	})
	handler := lambda.NewHandler(h.engine.Handle)
	runs := func() int {
		return intQuery(t, h.pool, `SELECT count(*)::int FROM runs WHERE workflow = $1`, h.engine.Workflow())
	}
	links := func() []Link {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		return append([]Link(nil), rec.links...)
	}

	// The rescue tick never plans.
	if _, err := handler.Invoke(ctx, scheduleInput(t, "testdata/scheduler-rescue.json", h.engine.Workflow())); err != nil {
		t.Fatalf("rescue: %v", err)
	}
	if n := runs(); n != 0 {
		t.Fatalf("the rescue tick opened %d runs", n)
	}
	// The plan tick plans and publishes the chains' first links.
	if _, err := handler.Invoke(ctx, scheduleInput(t, "testdata/scheduler-plan.json", h.engine.Workflow())); err != nil {
		t.Fatalf("plan: %v", err)
	}
	if n, l := runs(), len(links()); n != 1 || l != 2 {
		t.Fatalf("after the plan tick: %d runs, %d links; want 1 and 2", n, l)
	}
	// An SNS record works its link: one batch done.
	first := links()[0]
	if _, err := handler.Invoke(ctx, snsInput(t, first)); err != nil {
		t.Fatalf("link: %v", err)
	}
	if n := intQuery(t, h.pool, `SELECT count(*)::int FROM batches WHERE run_id = $1 AND state = 'done'`, first.Run); n != 1 {
		t.Fatalf("%d batches done after one link, want 1", n)
	}
	if l := len(links()); l != 3 {
		t.Fatalf("%d links published, want the chain's next one too", l)
	}
	// The second chain's first link was never delivered (the recorder
	// keeps it): the rescue tick finds the chain without a worker and
	// publishes it again, and plans nothing.
	if _, err := handler.Invoke(ctx, scheduleInput(t, "testdata/scheduler-rescue.json", h.engine.Workflow())); err != nil {
		t.Fatalf("rescue: %v", err)
	}
	if n, l := runs(), len(links()); n != 1 || l <= 3 {
		t.Fatalf("after the rescue tick: %d runs, %d links; want 1 run and chains relinked", n, l)
	}
}

func TestHandleRefusesUnknownInput(t *testing.T) {
	t.Parallel()
	h := newHarness(t, &pageSource{items: makeItems("pole", 5), pageSize: 5}, func(c *Config) { c.Publisher = &linkRecorder{} })
	envelope, err := os.ReadFile("testdata/scheduled-event.json")
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		input []byte
		want  string
	}{
		"eventbridge envelope": {envelope, `without an action: give the schedule the input {"action":"plan"}`},
		"empty object":         {[]byte(`{}`), "neither SNS records nor an action"},
		"unknown action":       {[]byte(`{"action":"replan"}`), `action "replan"`},
		"other workflow":       {[]byte(`{"action":"plan","workflow":"billing-export"}`), `for workflow "billing-export"`},
		"not json":             {[]byte(`plan`), "decoding lambda input"},
		"not a link":           {[]byte(`{"Records":[{"EventSource":"aws:sns","Sns":{"MessageId":"m1","Message":"{}"}}]}`), "workflow or run missing"},
	} {
		err := h.engine.Handle(context.Background(), tc.input)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error saying %q", name, err, tc.want)
		}
	}
	if n := intQuery(t, h.pool, `SELECT count(*)::int FROM runs`); n != 0 {
		t.Fatalf("refused input opened %d runs", n)
	}
}

// TestHandlePlanCutByDeadlineSucceeds invokes the plan tick with a deadline
// that cuts the plan short: the invocation succeeds (the run is left in
// planning, and Lambda must not retry it as a failure), and the rescue
// ticks that follow finish the plan.
func TestHandlePlanCutByDeadlineSucceeds(t *testing.T) {
	t.Parallel()
	items := makeItems("pole", 60)
	src := &pageSource{items: items, pageSize: 10}
	rec := &linkRecorder{}
	h := newHarness(t, src, func(c *Config) { c.Publisher = rec; c.Margin = 30 * time.Second })
	src.onCall = func(context.Context, int, Watermark) error {
		h.clock.Advance(time.Minute)
		return nil
	}
	handler := lambda.NewHandler(h.engine.Handle)
	invoke := func(path string) {
		t.Helper()
		ctx, cancel := context.WithDeadline(context.Background(), h.clock.Now().Add(3*time.Minute))
		defer cancel()
		if _, err := handler.Invoke(ctx, scheduleInput(t, path, h.engine.Workflow())); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
	}
	invoke("testdata/scheduler-plan.json")
	var state string
	if err := h.pool.QueryRow(context.Background(), `SELECT state FROM runs`).Scan(&state); err != nil || state != "planning" {
		t.Fatalf("run after the cut plan tick: %q, %v; want planning", state, err)
	}
	for i := 0; state == "planning"; i++ {
		if i == 10 {
			t.Fatal("rescue ticks never finished the plan")
		}
		invoke("testdata/scheduler-rescue.json")
		if err := h.pool.QueryRow(context.Background(), `SELECT state FROM runs`).Scan(&state); err != nil {
			t.Fatal(err)
		}
	}
	if state != "running" || src.calls != 6 || len(rec.links) == 0 {
		t.Fatalf("after the rescue ticks: run %s, %d source calls, %d links; want running, 6 calls, links", state, src.calls, len(rec.links))
	}
}
