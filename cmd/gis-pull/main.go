// Command gis-pull is the Lambda of the gis-pull workflow: every hour its
// EventBridge schedule plans a run of the DOT GIS features edited since the
// last one, and the SNS chain links that follow patch the CMS devices with
// the fields the DOT keeps (see internal/gissync).
//
// Environment: DATABASE_URL, CMS_URL, CMS_API_KEY, DOT_URL (the
// FeatureServer URL) and LINK_TOPIC_ARN are required; DOT_USERNAME and
// DOT_PASSWORD turn on token security, DOT_LAYER is the pole layer's id (0),
// BATCH_SIZE the items per batch (100), ALERT_TOPIC_ARN where dead items are
// announced. AWS_ENDPOINT_URL points the SNS client at a local stand-in.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/citylink/citylink/internal/arcgis"
	"github.com/citylink/citylink/internal/cms"
	"github.com/citylink/citylink/internal/gissync"
	"github.com/citylink/citylink/internal/lambdaconfig"
	"github.com/citylink/citylink/internal/work"
)

func main() {
	logger := slog.New(lambdacontext.NewLogHandler())
	slog.SetDefault(logger)
	engine, err := setup(context.Background(), logger)
	if err != nil {
		logger.Error("gis-pull failed to start", "error", err)
		os.Exit(1)
	}
	lambda.Start(engine.Handle)
}

// setup wires the engine from the environment.
func setup(ctx context.Context, logger *slog.Logger) (*work.Engine, error) {
	env, err := lambdaconfig.Require("CMS_URL", "CMS_API_KEY", "DOT_URL")
	if err != nil {
		return nil, err
	}
	layer, err := lambdaconfig.Int("DOT_LAYER", 0)
	if err != nil {
		return nil, err
	}
	batch, err := lambdaconfig.Int("BATCH_SIZE", 0)
	if err != nil {
		return nil, err
	}
	pool, err := lambdaconfig.Pool(ctx)
	if err != nil {
		return nil, err
	}
	cmsClient, err := cms.New(cms.Options{BaseURL: env["CMS_URL"], APIKey: env["CMS_API_KEY"]})
	if err != nil {
		return nil, err
	}
	dot, err := arcgis.New(arcgis.Options{ServiceURL: env["DOT_URL"], Username: os.Getenv("DOT_USERNAME"),
		Password: os.Getenv("DOT_PASSWORD"), Logger: logger})
	if err != nil {
		return nil, err
	}
	cfg := gissync.Config{DB: pool, CMS: cmsClient, DOT: dot, Layer: layer, Logger: logger}
	src, err := gissync.NewPullSource(cfg)
	if err != nil {
		return nil, err
	}
	sink, err := gissync.NewPullSink(cfg)
	if err != nil {
		return nil, err
	}
	return lambdaconfig.Engine(ctx, work.Config{
		Workflow: gissync.PullWorkflow, DB: pool, Source: src, Sink: sink, Logger: logger, BatchSize: batch,
	})
}
