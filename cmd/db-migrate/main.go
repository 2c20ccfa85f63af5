// Command db-migrate is the Lambda behind template.yaml's Migrations custom
// resource: CloudFormation invokes it on every deploy whose code changed
// (the resource names the function's published version), it applies every
// pending migration with migrations.Up, and only then are the functions that
// depend on the schema created or updated. A failure fails the deploy, with
// the error as the stack event's reason, and CloudFormation rolls back.
//
// Environment: the database settings every Lambda reads through
// internal/lambdaconfig: DB_HOST, DB_PORT (default 5432), DB_NAME and
// DB_SECRET_ID, the name or ARN of the Secrets Manager secret holding the
// database's "username" and "password" (the secret RDS manages for the
// master user); DB_SSLMODE, default require (the connection is encrypted;
// verify-full would need the RDS CA bundle shipped beside the binary).
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/cfn"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/pressly/goose/v3"

	"github.com/citylink/citylink/internal/lambdaconfig"
	"github.com/citylink/citylink/migrations"
)

// physicalID names the one schema the resource stands for. It never changes,
// so an update is never taken for a replacement and CloudFormation never
// sends a Delete for the old resource after an update.
const physicalID = "citylink-schema"

// responseMargin is kept from the Lambda deadline for the response to
// CloudFormation: without one, a timed-out function leaves the stack waiting
// an hour for a custom resource that never answers.
const responseMargin = 10 * time.Second

func main() {
	logger := slog.New(lambdacontext.NewLogHandler())
	slog.SetDefault(logger)
	m, err := newMigrator(context.Background(), logger)
	if err != nil {
		logger.Error("db-migrate failed to start", "error", err)
		os.Exit(1)
	}
	lambda.Start(cfn.LambdaWrap(m.handle))
}

type migrator struct {
	// settings reads the environment afresh for each request, so the
	// secret is read at each request and a rotated master password is
	// picked up without redeploying.
	settings func() *lambdaconfig.Settings
	logger   *slog.Logger
}

// newMigrator checks at init that the database is configured, without
// reading its secret yet: a deploy without DB_HOST fails at once.
func newMigrator(_ context.Context, logger *slog.Logger) (*migrator, error) {
	s := lambdaconfig.FromEnv()
	for _, name := range []string{"DB_HOST", "DB_NAME", "DB_SECRET_ID"} {
		if _, err := s.String(name); err != nil {
			return nil, err
		}
	}
	return &migrator{settings: lambdaconfig.FromEnv, logger: logger}, nil
}

// handle migrates on Create and Update. Delete changes nothing: removing the
// stack (or this resource) must never drop the city's history; the database
// itself is kept by its own DeletionPolicy.
func (m *migrator) handle(ctx context.Context, ev cfn.Event) (string, map[string]any, error) {
	m.logger.Info("custom resource request", "request_type", ev.RequestType, "logical_resource_id", ev.LogicalResourceID)
	if ev.RequestType == cfn.RequestDelete {
		return physicalID, nil, nil
	}
	if dl, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, dl.Add(-responseMargin))
		defer cancel()
	}
	cfg, err := m.settings().PoolConfig(ctx)
	if err != nil {
		return physicalID, nil, err
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return physicalID, nil, fmt.Errorf("connecting to %s: %w", cfg.ConnConfig.Host, err)
	}
	defer pool.Close()
	if err := migrations.Up(ctx, pool, m.logger); err != nil {
		return physicalID, nil, err
	}
	st, err := migrations.Status(ctx, pool)
	if err != nil {
		return physicalID, nil, err
	}
	var version int64
	for _, s := range st {
		if s.State == goose.StateApplied && s.Source.Version > version {
			version = s.Source.Version
		}
	}
	m.logger.Info("schema migrated", "version", version)
	return physicalID, map[string]any{"SchemaVersion": version}, nil
}
