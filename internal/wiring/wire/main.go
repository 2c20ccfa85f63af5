package wire

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/citylink/citylink/internal/lambdaconfig"
)

// Main is the whole main of a workflow's Lambda: JSON logs carrying the
// request id, the workflow wired from the function's environment (secrets
// by name, see lambdaconfig), then the Lambda loop. A wiring error ends the
// process at init, where Lambda reports it, with the error logged.
func Main(wf Workflow) {
	logger := slog.New(lambdacontext.NewLogHandler())
	slog.SetDefault(logger)
	handler, err := Lambda(context.Background(), wf, lambdaconfig.FromEnv(), logger)
	if err != nil {
		logger.Error(wf.Name+" failed to start", "error", err)
		os.Exit(1)
	}
	lambda.Start(handler)
}
