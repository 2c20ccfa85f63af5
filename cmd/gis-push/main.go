// Command gis-push is the Lambda of the gis-push workflow: every hour its
// EventBridge schedule plans a run of the CMS devices written since the last
// one, and the SNS chain links that follow upsert them into the DOT GIS pole
// layer with applyEdits (see internal/gissync).
//
// Environment: DATABASE_URL, CMS_URL, CMS_API_KEY, DOT_URL (the
// FeatureServer URL) and LINK_TOPIC_ARN are required; DOT_USERNAME and
// DOT_PASSWORD turn on token security, DOT_LAYER is the pole layer's id (0),
// BATCH_SIZE the items per batch (100), ALERT_TOPIC_ARN where dead items are
// announced. AWS_ENDPOINT_URL points the SNS client at a local stand-in.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/citylink/citylink/internal/arcgis"
	"github.com/citylink/citylink/internal/cms"
	"github.com/citylink/citylink/internal/gissync"
	"github.com/citylink/citylink/internal/work"
)

func main() {
	logger := slog.New(lambdacontext.NewLogHandler())
	slog.SetDefault(logger)
	engine, err := setup(context.Background(), logger)
	if err != nil {
		logger.Error("gis-push failed to start", "error", err)
		os.Exit(1)
	}
	lambda.Start(engine.Handle)
}

// setup wires the engine from the environment.
func setup(ctx context.Context, logger *slog.Logger) (*work.Engine, error) {
	env, err := require("DATABASE_URL", "CMS_URL", "CMS_API_KEY", "DOT_URL", "LINK_TOPIC_ARN")
	if err != nil {
		return nil, err
	}
	layer, err := intEnv("DOT_LAYER")
	if err != nil {
		return nil, err
	}
	batch, err := intEnv("BATCH_SIZE")
	if err != nil {
		return nil, err
	}
	pool, err := pgxpool.New(ctx, env["DATABASE_URL"])
	if err != nil {
		return nil, fmt.Errorf("connecting to postgres: %w", err)
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
	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("loading aws config: %w", err)
	}
	topics := sns.NewFromConfig(awsCfg)
	cfg := gissync.Config{DB: pool, CMS: cmsClient, DOT: dot, Layer: layer, Logger: logger}
	src, err := gissync.NewPushSource(cfg)
	if err != nil {
		return nil, err
	}
	sink, err := gissync.NewPushSink(cfg)
	if err != nil {
		return nil, err
	}
	wcfg := work.Config{
		Workflow: gissync.PushWorkflow, DB: pool, Publisher: work.NewSNS(topics, env["LINK_TOPIC_ARN"]),
		Source: src, Sink: sink, Logger: logger, BatchSize: batch,
	}
	if arn := os.Getenv("ALERT_TOPIC_ARN"); arn != "" {
		wcfg.Alerter = work.NewSNSAlerter(topics, arn)
	}
	return work.New(wcfg)
}

// require reads the named variables, all of which must be set.
func require(names ...string) (map[string]string, error) {
	env := make(map[string]string, len(names))
	var missing []string
	for _, n := range names {
		v := os.Getenv(n)
		if v == "" {
			missing = append(missing, n)
		}
		env[n] = v
	}
	if len(missing) > 0 {
		return nil, errors.New("missing environment: " + strings.Join(missing, ", "))
	}
	return env, nil
}

// intEnv reads an optional whole number; 0 when unset.
func intEnv(name string) (int, error) {
	v := os.Getenv(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%s=%q is not a whole number", name, v)
	}
	return n, nil
}
