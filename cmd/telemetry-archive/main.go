// Command telemetry-archive is the Lambda that archives each Kinesis batch
// of streetlight readings to S3 as one gzip'd NDJSON object, with bad
// records under a quarantine prefix. Its event source mapping must set
// FunctionResponseTypes: [ReportBatchItemFailures].
//
// Environment: ARCHIVE_BUCKET (required).
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/citylink/citylink/internal/telemetry"
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
	bucket := os.Getenv("ARCHIVE_BUCKET")
	if bucket == "" {
		return fmt.Errorf("ARCHIVE_BUCKET is not set")
	}
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		return fmt.Errorf("loading aws config: %w", err)
	}
	h := telemetry.NewArchiveHandler(telemetry.Decoder{}, s3.NewFromConfig(cfg), bucket,
		telemetry.NewMetrics(os.Stdout, "telemetry-archive", nil), logger)
	lambda.Start(h.Handle)
	return nil
}
