// Package wiring lists every integration workflow for the runners that run
// them all: `citylink dev` (settings pointing at the simulated city),
// `citylink run` outside dev (the operator's environment) and `citylink
// bench`. Before it, each workflow was wired three times, and the three
// drifted: the deployed Lambdas read variable names the template did not
// give them.
//
// Each workflow's wiring lives in its own package (internal/wiring/
// arcgisimport, billingexport, alarm311, gissync) on top of
// internal/wiring/wire, which holds the types and wire.Lambda. A workflow's
// Lambda imports its own wiring package and wire, never this list, so it
// links only its own workflow (internal/imports checks every binary).
//
// wiring may import the workflows, the clients, the engine and
// lambdaconfig; no workflow imports it (internal/imports enforces both).
package wiring

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/citylink/citylink/internal/lambdaconfig"
	"github.com/citylink/citylink/internal/wiring/alarm311"
	"github.com/citylink/citylink/internal/wiring/arcgisimport"
	"github.com/citylink/citylink/internal/wiring/billingexport"
	"github.com/citylink/citylink/internal/wiring/gissync"
	"github.com/citylink/citylink/internal/wiring/wire"
)

// Workflow, Env, Parts and Handler are wire's, named here so the runners
// of all workflows need one import.
type (
	Workflow = wire.Workflow
	Env      = wire.Env
	Parts    = wire.Parts
	Handler  = wire.Handler
)

// Names of the workflows, as their packages and binaries name them.
const (
	ArcGISImport  = "arcgis-import"
	BillingExport = "billing-export"
	Alarm311      = "alarm-311"
	GISPush       = "gis-push"
	GISPull       = "gis-pull"
)

// Workflows lists every workflow, in the order the console shows them.
func Workflows() []Workflow {
	return []Workflow{
		arcgisimport.Workflow(),
		billingexport.Workflow(),
		alarm311.Workflow(),
		gissync.Push(),
		gissync.Pull(),
	}
}

// Find returns the workflow called name.
func Find(name string) (Workflow, bool) {
	for _, wf := range Workflows() {
		if wf.Name == name {
			return wf, true
		}
	}
	return Workflow{}, false
}

// Lambda is wire.Lambda for the workflow called name, for the runners and
// tests that pick a workflow by name; a workflow's own binary calls
// wire.Main with its package's Workflow so that it links no other.
func Lambda(ctx context.Context, name string, s *lambdaconfig.Settings, logger *slog.Logger) (Handler, error) {
	wf, ok := Find(name)
	if !ok {
		return nil, fmt.Errorf("no workflow %q", name)
	}
	return wire.Lambda(ctx, wf, s, logger)
}
