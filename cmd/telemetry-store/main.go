// Command telemetry-store is the Lambda that writes streetlight readings
// from Kinesis to the DynamoDB SensorData table. Its event source mapping
// must set FunctionResponseTypes: [ReportBatchItemFailures].
//
// Environment: SENSOR_TABLE (required); READING_TTL, a Go duration after
// which DynamoDB expires a reading (default 2160h, 90 days; 0 keeps them);
// WRITE_CONCURRENCY, BatchWriteItem calls in flight (default 4).
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/citylink/citylink/internal/telemetry"
)

func main() {
	logger := slog.New(lambdacontext.NewLogHandler())
	slog.SetDefault(logger)
	if err := run(logger); err != nil {
		logger.Error("telemetry-store failed to start", "error", err)
		os.Exit(1)
	}
}

func run(logger *slog.Logger) error {
	cfg, env, err := telemetry.LambdaEnv(context.Background(), "SENSOR_TABLE")
	if err != nil {
		return err
	}
	ttl := 90 * 24 * time.Hour
	if s := os.Getenv("READING_TTL"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 {
			return fmt.Errorf("READING_TTL %q is not a duration", s)
		}
		ttl = d
	}
	concurrency := 4
	if s := os.Getenv("WRITE_CONCURRENCY"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return fmt.Errorf("WRITE_CONCURRENCY %q is not a positive number", s)
		}
		concurrency = n
	}
	store := telemetry.NewStore(dynamodb.NewFromConfig(cfg), telemetry.StoreConfig{
		Table: env["SENSOR_TABLE"], TTL: ttl, Concurrency: concurrency,
	})
	h := telemetry.NewStoreHandler(telemetry.Decoder{}, store, telemetry.NewMetrics(os.Stdout, "telemetry-store", nil), logger)
	lambda.Start(h.Handle)
	return nil
}
