// Command telemetry-store is the Lambda that writes streetlight readings
// from Kinesis to the DynamoDB SensorData table. Its event source mapping
// must set FunctionResponseTypes: [ReportBatchItemFailures].
//
// Environment: SENSOR_TABLE (required); READING_TTL, a Go duration after
// which DynamoDB expires a reading, and so the age past which a reading is
// refused (default 2160h, 90 days; 0 keeps them);
// WRITE_CONCURRENCY, BatchWriteItem calls in flight (default 4).
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"

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
	ttl, err := telemetry.Retention()
	if err != nil {
		return err
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
	h := telemetry.NewStoreHandler(telemetry.NewDecoder(ttl), store, telemetry.NewMetrics(os.Stdout, "telemetry-store", nil), logger)
	lambda.Start(h.Handle)
	return nil
}
