// Command arcgis-import is the arcgis-import workflow's Lambda: every 8
// hours the EventBridge Scheduler tick plans a run (approved audits of the
// third-party ArcGIS layer since the watermark), and each SNS chain link
// writes one batch into the CMS. The same binary serves both phases.
//
// It is wired by its own package under internal/wiring, so it links no
// other workflow, from its environment, read by
// internal/lambdaconfig (secrets by name: see that package's comment); the
// variables it reads are the ones template.yaml gives its function, which
// internal/deploy's tests hold equal.
package main

import (
	"github.com/citylink/citylink/internal/wiring/arcgisimport"
	"github.com/citylink/citylink/internal/wiring/wire"
)

func main() { wire.Main(arcgisimport.Workflow()) }
