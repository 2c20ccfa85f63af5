// Command telemetry-api is the Lambda behind the API Gateway HTTP API
// (payload format 2.0, IAM auth) that serves a sensor's reading history:
// GET /sensors/{id}/readings and GET /sensors/{id}/latest.
//
// Environment: SENSOR_TABLE (required).
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/citylink/citylink/internal/telemetry"
)

func main() {
	logger := slog.New(lambdacontext.NewLogHandler())
	slog.SetDefault(logger)
	if err := run(logger); err != nil {
		logger.Error("telemetry-api failed to start", "error", err)
		os.Exit(1)
	}
}

func run(logger *slog.Logger) error {
	cfg, env, err := telemetry.LambdaEnv(context.Background(), "SENSOR_TABLE")
	if err != nil {
		return err
	}
	h := telemetry.NewAPIHandler(telemetry.NewReader(dynamodb.NewFromConfig(cfg), env["SENSOR_TABLE"]), logger)
	lambda.Start(h.Handle)
	return nil
}
