// Command alarm-311 is the Lambda of the alarm-311 workflow: every 8 hours
// its EventBridge schedule plans a run of the CMS alarms written since the
// last one, and the SNS chain links that follow file, follow and close the
// Open311 service requests (see internal/alarm311).
//
// It is wired by its own package under internal/wiring, so it links no
// other workflow, from its environment, read by
// internal/lambdaconfig (secrets by name: see that package's comment); the
// variables it reads are the ones template.yaml gives its function, which
// internal/deploy's tests hold equal.
package main

import (
	"github.com/citylink/citylink/internal/wiring/alarm311"
	"github.com/citylink/citylink/internal/wiring/wire"
)

func main() { wire.Main(alarm311.Workflow()) }
