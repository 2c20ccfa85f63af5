// Command telemetry-archive is the Lambda that archives each Kinesis batch
// of streetlight readings to S3 as one gzip'd NDJSON object, with bad
// records under a quarantine prefix. Its event source mapping must set
// FunctionResponseTypes: [ReportBatchItemFailures].
//
// Environment: ARCHIVE_BUCKET (required); S3_USE_PATH_STYLE=true for
// S3-compatible stores without virtual-hosted buckets (local stand-ins).
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/citylink/citylink/internal/telemetry"
	"github.com/citylink/citylink/internal/telemetry/archive"
)

func main() {
	logger := slog.New(lambdacontext.NewLogHandler())
	slog.SetDefault(logger)
	if err := run(logger); err != nil {
		logger.Error("telemetry-archive failed to start", "error", err)
		os.Exit(1)
	}
}

func run(logger *slog.Logger) error {
	cfg, env, err := telemetry.LambdaEnv(context.Background(), "ARCHIVE_BUCKET")
	if err != nil {
		return err
	}
	pathStyle := os.Getenv("S3_USE_PATH_STYLE") == "true"
	client := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = pathStyle })
	h := archive.NewHandler(telemetry.Decoder{}, client, env["ARCHIVE_BUCKET"],
		telemetry.NewMetrics(os.Stdout, "telemetry-archive", nil), logger)
	lambda.Start(h.Handle)
	return nil
}
