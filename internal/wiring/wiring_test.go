package wiring_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/citylink/citylink/internal/alarm311"
	"github.com/citylink/citylink/internal/gissync"
	"github.com/citylink/citylink/internal/lambdaconfig"
	"github.com/citylink/citylink/internal/wiring"
)

// TestEveryWorkflowHasItsBinaryAndName: each workflow is a cmd/ directory
// of its name, whose main goes through wire.Main, and the names agree with
// the workflow packages' own.
func TestEveryWorkflowHasItsBinaryAndName(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, wf := range wiring.Workflows() {
		if seen[wf.Name] || wf.Every <= 0 || wf.Wire == nil {
			t.Errorf("workflow %+v: repeated, unscheduled or unwired", wf)
		}
		seen[wf.Name] = true
		main, err := os.ReadFile(filepath.Join("..", "..", "cmd", wf.Name, "main.go"))
		if err != nil {
			t.Errorf("%s has no binary: %v", wf.Name, err)
			continue
		}
		if !strings.Contains(string(main), "wire.Main(") {
			t.Errorf("cmd/%s/main.go does not start through wire.Main", wf.Name)
		}
		if got, ok := wiring.Find(wf.Name); !ok || got.Name != wf.Name {
			t.Errorf("Find(%q) = %v, %v", wf.Name, got.Name, ok)
		}
	}
	for _, name := range []string{alarm311.Workflow, gissync.PushWorkflow, gissync.PullWorkflow} {
		if !seen[name] {
			t.Errorf("workflow package names %q, which wiring does not list", name)
		}
	}
	if _, ok := wiring.Find("no-such-flow"); ok {
		t.Error("Find found a workflow that does not exist")
	}
}

// TestWiringErrorsNameTheMissingSetting: a workflow wired from nothing fails
// with the first setting it needs, by name.
func TestWiringErrorsNameTheMissingSetting(t *testing.T) {
	t.Parallel()
	for _, wf := range wiring.Workflows() {
		_, err := wf.Wire(context.Background(), wiring.Env{Settings: lambdaconfig.FromMap(nil), Logger: slog.New(slog.DiscardHandler)})
		if err == nil || !strings.Contains(err.Error(), " is not set") {
			t.Errorf("%s wired from nothing: %v", wf.Name, err)
		}
	}
	if _, err := wiring.Lambda(context.Background(), "no-such-flow", lambdaconfig.FromMap(nil), nil); err == nil {
		t.Error("Lambda wired a workflow that does not exist")
	}
}
