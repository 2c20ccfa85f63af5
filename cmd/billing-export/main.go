// Command billing-export is the billing-export workflow's Lambda: every 24
// hours the EventBridge Scheduler tick plans a run (CMS devices written
// since the stored cursor), each SNS chain link records a batch's inventory
// rows, and every invocation ends by delivering the files of closed runs to
// the utility. The same binary serves both phases.
//
// It is wired by its own package under internal/wiring, so it links no
// other workflow, from its environment, read by
// internal/lambdaconfig (secrets by name: see that package's comment); the
// variables it reads are the ones template.yaml gives its function, which
// internal/deploy's tests hold equal.
package main

import (
	"github.com/citylink/citylink/internal/wiring/billingexport"
	"github.com/citylink/citylink/internal/wiring/wire"
)

func main() { wire.Main(billingexport.Workflow()) }
