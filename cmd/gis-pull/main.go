// Command gis-pull is the Lambda of the gis-pull workflow: every hour its
// EventBridge schedule plans a run of the DOT GIS features edited since the
// last one, and the SNS chain links that follow patch the CMS devices with
// the fields the DOT keeps (see internal/gissync).
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

func main() { wire.Main(gissync.Pull()) }
