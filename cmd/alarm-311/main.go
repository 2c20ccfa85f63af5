// Command alarm-311 is the Lambda of the alarm-311 workflow: every 8 hours
// its EventBridge schedule plans a run of the CMS alarms written since the
// last one, and the SNS chain links that follow file, follow and close the
// Open311 service requests (see internal/alarm311).
//
// Environment: DATABASE_URL, CMS_URL, CMS_API_KEY, OPEN311_URL,
// OPEN311_API_KEY and LINK_TOPIC_ARN are required; OPEN311_JURISDICTION,
// OPEN311_FORMAT (json or xml) and ALERT_TOPIC_ARN are optional.
// AWS_ENDPOINT_URL points the SNS client at a local stand-in.
package main

import (
	"context"
	"log/slog"
	"os"
	"strings"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/citylink/citylink/internal/alarm311"
	"github.com/citylink/citylink/internal/cms"
	"github.com/citylink/citylink/internal/lambdaconfig"
	"github.com/citylink/citylink/internal/open311"
	"github.com/citylink/citylink/internal/work"
)

func main() {
	logger := slog.New(lambdacontext.NewLogHandler())
	slog.SetDefault(logger)
	engine, err := setup(context.Background(), logger)
	if err != nil {
		logger.Error("alarm-311 failed to start", "error", err)
		os.Exit(1)
	}
	lambda.Start(engine.Handle)
}

// setup wires the engine from the environment.
func setup(ctx context.Context, logger *slog.Logger) (*work.Engine, error) {
	env, err := lambdaconfig.Require("CMS_URL", "CMS_API_KEY", "OPEN311_URL", "OPEN311_API_KEY")
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
	o311, err := open311.New(open311.Options{
		BaseURL: env["OPEN311_URL"], APIKey: env["OPEN311_API_KEY"],
		JurisdictionID: os.Getenv("OPEN311_JURISDICTION"), Format: open311.Format(strings.ToLower(os.Getenv("OPEN311_FORMAT"))),
	})
	if err != nil {
		return nil, err
	}
	cfg := alarm311.Config{DB: pool, CMS: cmsClient, Open311: o311, Logger: logger}
	src, err := alarm311.NewSource(cfg)
	if err != nil {
		return nil, err
	}
	sink, err := alarm311.NewSink(cfg)
	if err != nil {
		return nil, err
	}
	return lambdaconfig.Engine(ctx, work.Config{
		Workflow: alarm311.Workflow, DB: pool, Source: src, Sink: sink, Logger: logger,
	})
}
