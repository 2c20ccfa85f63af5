// Command arcgis-import is the arcgis-import workflow's Lambda: every 8
// hours the EventBridge Scheduler tick plans a run (approved audits of the
// third-party ArcGIS layer since the watermark), and each SNS chain link
// writes one batch into the CMS. The same binary serves both phases.
//
// Environment: DATABASE_URL; LINK_TOPIC_ARN (the workflow's SNS topic) and
// ALERT_TOPIC_ARN (dead items, optional); ARCGIS_SERVICE_URL (the audit
// FeatureServer), ARCGIS_LAYER (default 0), ARCGIS_USERNAME and
// ARCGIS_PASSWORD (optional, for a secured service); CMS_URL and
// CMS_API_KEY; IMPORT_MAPPING, a JSON override of
// arcgisimport.DefaultMapping (optional).
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/citylink/citylink/internal/arcgis"
	"github.com/citylink/citylink/internal/arcgisimport"
	"github.com/citylink/citylink/internal/cms"
	"github.com/citylink/citylink/internal/lambdaconfig"
	"github.com/citylink/citylink/internal/work"
)

func main() {
	logger := slog.New(lambdacontext.NewLogHandler())
	slog.SetDefault(logger)
	ctx := context.Background()
	eng, pool, err := wire(ctx, logger)
	if err != nil {
		logger.Error("arcgis-import failed to start", "error", err)
		os.Exit(1)
	}
	defer pool.Close()
	lambda.Start(eng.Handle)
}

func wire(ctx context.Context, logger *slog.Logger) (*work.Engine, *pgxpool.Pool, error) {
	env, err := lambdaconfig.Require("ARCGIS_SERVICE_URL", "CMS_URL", "CMS_API_KEY")
	if err != nil {
		return nil, nil, err
	}
	layer, err := lambdaconfig.Int("ARCGIS_LAYER", 0)
	if err != nil {
		return nil, nil, err
	}
	mapping, err := arcgisimport.ParseMapping(os.Getenv("IMPORT_MAPPING"))
	if err != nil {
		return nil, nil, fmt.Errorf("IMPORT_MAPPING: %w", err)
	}
	audit, err := arcgis.New(arcgis.Options{ServiceURL: env["ARCGIS_SERVICE_URL"],
		Username: os.Getenv("ARCGIS_USERNAME"), Password: os.Getenv("ARCGIS_PASSWORD")})
	if err != nil {
		return nil, nil, err
	}
	cmsClient, err := cms.New(cms.Options{BaseURL: env["CMS_URL"], APIKey: env["CMS_API_KEY"]})
	if err != nil {
		return nil, nil, err
	}
	pool, err := lambdaconfig.Pool(ctx)
	if err != nil {
		return nil, nil, err
	}
	eng, err := lambdaconfig.Engine(ctx, work.Config{
		Workflow: "arcgis-import", DB: pool, Logger: logger,
		Source: &arcgisimport.Source{Client: audit, Layer: layer, Mapping: mapping},
		Sink:   &arcgisimport.Sink{Client: cmsClient},
	})
	if err != nil {
		pool.Close()
		return nil, nil, err
	}
	return eng, pool, nil
}
