package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/citylink/citylink/internal/pgtest"
	"github.com/citylink/citylink/internal/work"
)

// refusingSource fails every call, as a source with bad credentials does.
type refusingSource struct{}

func (refusingSource) Changes(context.Context, work.Watermark) (work.Page, error) {
	return work.Page{}, errors.New("401 Unauthorized: invalid token")
}

// TestStatusSaysWhyARunIsStuckPlanning has a plan fail twice on its source
// and asks status about it: the list and the run's page say how often it
// failed and why, and status asks for attention.
func TestStatusSaysWhyARunIsStuckPlanning(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	e, err := work.New(work.Config{Workflow: "test-stuck", DB: pool, Publisher: work.NewLocal(context.Background(), nil),
		Source: refusingSource{}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	var run int64
	for range 2 {
		res, err := e.Plan(context.Background())
		if err == nil {
			t.Fatal("plan succeeded on a refusing source")
		}
		run = res.Run
	}
	out, code := citylink(t, "status", "--database-url", url, "--workflow", "test-stuck")
	if code != exitAttention {
		t.Errorf("status exited %d, want %d for a plan that keeps failing:\n%s", code, exitAttention, out)
	}
	want := fmt.Sprintf("run %d (test-stuck) stuck planning: failed 2 times in a row", run)
	if !strings.Contains(out, want) || !strings.Contains(out, "401 Unauthorized: invalid token") {
		t.Errorf("status lacks %q and the error:\n%s", want, out)
	}
	out, code = citylink(t, "status", "--database-url", url, "--run", fmt.Sprint(run))
	if code != exitAttention || !strings.Contains(out, "plan      failed 2 times in a row") || !strings.Contains(out, "invalid token") {
		t.Errorf("status --run exited %d without the plan failure:\n%s", code, out)
	}
	out, _ = citylink(t, "status", "--database-url", url, "--run", fmt.Sprint(run), "--json")
	if !strings.Contains(out, `"plan_failures": 2`) || !strings.Contains(out, `"plan_error": "reading page 1 of the source: 401 Unauthorized: invalid token"`) {
		t.Errorf("status --run --json lacks the plan failure:\n%s", out)
	}
}
