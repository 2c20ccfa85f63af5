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
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/citylink/citylink/internal/lambdaconfig"
	"github.com/citylink/citylink/internal/wiring/billingexport"
	"github.com/citylink/citylink/internal/wiring/wire"
)

func main() {
	logger := slog.New(lambdacontext.NewLogHandler())
	slog.SetDefault(logger)
	handler, err := wire.Lambda(context.Background(), billingexport.Workflow(), lambdaconfig.FromEnv(), logger)
	if err != nil {
		logger.Error("billing-export failed to start", "error", err)
		os.Exit(1)
	}
	lambda.Start(handler)
}
