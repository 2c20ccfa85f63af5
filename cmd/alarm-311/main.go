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
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/citylink/citylink/internal/lambdaconfig"
	"github.com/citylink/citylink/internal/wiring/alarm311"
	"github.com/citylink/citylink/internal/wiring/wire"
)

func main() {
	logger := slog.New(lambdacontext.NewLogHandler())
	slog.SetDefault(logger)
	handler, err := wire.Lambda(context.Background(), alarm311.Workflow(), lambdaconfig.FromEnv(), logger)
	if err != nil {
		logger.Error("alarm-311 failed to start", "error", err)
		os.Exit(1)
	}
	lambda.Start(handler)
}
