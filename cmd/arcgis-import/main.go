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
	"strconv"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/citylink/citylink/internal/arcgis"
	"github.com/citylink/citylink/internal/arcgisimport"
	"github.com/citylink/citylink/internal/cms"
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
	env, err := need("DATABASE_URL", "LINK_TOPIC_ARN", "ARCGIS_SERVICE_URL", "CMS_URL", "CMS_API_KEY")
	if err != nil {
		return nil, nil, err
	}
	layer := 0
	if s := os.Getenv("ARCGIS_LAYER"); s != "" {
		if layer, err = strconv.Atoi(s); err != nil || layer < 0 {
			return nil, nil, fmt.Errorf("ARCGIS_LAYER %q is not a layer id", s)
		}
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
	pool, err := lambdaPool(ctx, env["DATABASE_URL"])
	if err != nil {
		return nil, nil, err
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		pool.Close()
		return nil, nil, fmt.Errorf("loading aws config: %w", err)
	}
	snsClient := sns.NewFromConfig(awsCfg)
	cfg := work.Config{
		Workflow: "arcgis-import", DB: pool, Logger: logger,
		Publisher: work.NewSNS(snsClient, env["LINK_TOPIC_ARN"]),
		Source:    &arcgisimport.Source{Client: audit, Layer: layer, Mapping: mapping},
		Sink:      &arcgisimport.Sink{Client: cmsClient},
	}
	if arn := os.Getenv("ALERT_TOPIC_ARN"); arn != "" {
		cfg.Alerter = work.NewSNSAlerter(snsClient, arn)
	}
	eng, err := work.New(cfg)
	if err != nil {
		pool.Close()
		return nil, nil, err
	}
	return eng, pool, nil
}

// need reads required environment variables, failing on the first unset
// one, so a misconfigured function fails its init where Lambda reports it.
func need(names ...string) (map[string]string, error) {
	env := make(map[string]string, len(names))
	for _, n := range names {
		if env[n] = os.Getenv(n); env[n] == "" {
			return nil, fmt.Errorf("%s is not set", n)
		}
	}
	return env, nil
}

// lambdaPool opens a pool sized for one Lambda container, which serves one
// invocation at a time: two connections.
func lambdaPool(ctx context.Context, url string) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("DATABASE_URL: %w", err)
	}
	cfg.MaxConns, cfg.MinConns = 2, 0
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connecting to postgres: %w", err)
	}
	return pool, nil
}
