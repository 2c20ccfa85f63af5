package work_test

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/citylink/citylink/internal/work"
)

// auditSource and cmsSink stand for a workflow's own Source and Sink.
type auditSource struct{}

func (auditSource) Changes(context.Context, work.Watermark) (work.Page, error) {
	return work.Page{}, nil
}

type cmsSink struct{}

func (cmsSink) Apply(_ context.Context, items []work.Item) ([]work.Outcome, error) {
	outs := make([]work.Outcome, len(items))
	for i, it := range items {
		outs[i] = work.Success("cms-" + it.Key)
	}
	return outs, nil
}

// This is the whole of a workflow's cmd/<name>/main.go: one binary, whose
// scheduled event plans and whose SNS events work the chain links.
func Example() {
	ctx := context.Background()
	logger := slog.New(lambdacontext.NewLogHandler())
	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		logger.Error("connecting to postgres", "error", err)
		os.Exit(1)
	}
	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		logger.Error("loading aws config", "error", err)
		os.Exit(1)
	}
	topics := sns.NewFromConfig(awsCfg)
	engine, err := work.New(work.Config{
		Workflow:  "arcgis-import",
		DB:        pool,
		Publisher: work.NewSNS(topics, os.Getenv("LINK_TOPIC_ARN")),
		Alerter:   work.NewSNSAlerter(topics, os.Getenv("ALERT_TOPIC_ARN")),
		Source:    auditSource{},
		Sink:      cmsSink{},
		Logger:    logger,
	})
	if err != nil {
		logger.Error("configuring the engine", "error", err)
		os.Exit(1)
	}
	lambda.Start(engine.Handle)
}

// In `citylink dev` the links go to goroutines instead of SNS.
func ExampleLocal() {
	ctx := context.Background()
	logger := slog.Default()
	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		logger.Error("connecting to postgres", "error", err)
		return
	}
	local := work.NewLocal(ctx, nil)
	engine, err := work.New(work.Config{
		Workflow: "arcgis-import", DB: pool, Publisher: local,
		Source: auditSource{}, Sink: cmsSink{}, Logger: logger,
	})
	if err != nil {
		logger.Error("configuring the engine", "error", err)
		return
	}
	local.Deliver = engine.Work
	local.OnError = func(l work.Link, err error) { logger.Error("working link", "link", l.String(), "error", err) }
	if _, _, err := engine.Tick(ctx); err != nil { // on every schedule tick
		logger.Error("tick", "error", err)
	}
}
