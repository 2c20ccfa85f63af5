// Command gis-push is the Lambda of the gis-push workflow: every hour its
// EventBridge schedule plans a run of the CMS devices written since the last
// one, and the SNS chain links that follow upsert them into the DOT GIS pole
// layer with applyEdits (see internal/gissync).
//
// It is wired by its own package under internal/wiring, so it links no
// other workflow, from its environment, read by
// internal/lambdaconfig (secrets by name: see that package's comment); the
// variables it reads are the ones template.yaml gives its function, which
// internal/deploy's tests hold equal.
package main

import (
	"github.com/citylink/citylink/internal/wiring/gissync"
	"github.com/citylink/citylink/internal/wiring/wire"
)

func main() { wire.Main(gissync.Push()) }
