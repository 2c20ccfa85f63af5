// Command db-migrate is the Lambda behind template.yaml's Migrations custom
// resource: CloudFormation invokes it on every deploy whose code changed
// (the resource names the function's published version), it applies every
// pending migration with migrations.Up, and only then are the functions that
// depend on the schema created or updated. A failure fails the deploy, with
// the error as the stack event's reason, and CloudFormation rolls back.
//
// Environment: DB_HOST, DB_PORT, DB_NAME (required); DB_SECRET_ID, the name
// or ARN of the Secrets Manager secret holding the database's "username" and
// "password" (the secret RDS manages for the master user); DB_SSLMODE,
// default require (the connection is encrypted; verify-full would need the
// RDS CA bundle shipped beside the binary).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/cfn"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/pressly/goose/v3"

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

// secretsAPI is the one Secrets Manager call db-migrate makes.
type secretsAPI interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

type migrator struct {
	secrets                      secretsAPI
	host, port, db, secret, mode string
	logger                       *slog.Logger
}

func newMigrator(ctx context.Context, logger *slog.Logger) (*migrator, error) {
	m := &migrator{logger: logger, mode: "require"}
	for _, v := range []struct {
		name string
		dst  *string
	}{{"DB_HOST", &m.host}, {"DB_PORT", &m.port}, {"DB_NAME", &m.db}, {"DB_SECRET_ID", &m.secret}} {
		*v.dst = os.Getenv(v.name)
		if *v.dst == "" {
			return nil, fmt.Errorf("%s is not set", v.name)
		}
	}
	if s := os.Getenv("DB_SSLMODE"); s != "" {
		m.mode = s
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("loading aws config: %w", err)
	}
	m.secrets = secretsmanager.NewFromConfig(cfg)
	return m, nil
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
	dsn, err := m.dsn(ctx)
	if err != nil {
		return physicalID, nil, err
	}
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		return physicalID, nil, fmt.Errorf("connecting to %s: %w", m.host, err)
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

// dsn reads the credentials from the secret at each request, so a rotated
// master password is picked up without redeploying.
func (m *migrator) dsn(ctx context.Context) (string, error) {
	out, err := m.secrets.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(m.secret)})
	if err != nil {
		return "", fmt.Errorf("reading secret %s: %w", m.secret, err)
	}
	if out.SecretString == nil {
		return "", fmt.Errorf("secret %s has no string value", m.secret)
	}
	var cred struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	if err := json.Unmarshal([]byte(*out.SecretString), &cred); err != nil {
		return "", fmt.Errorf("secret %s is not JSON with username and password", m.secret)
	}
	if cred.Username == "" {
		return "", errors.New("secret " + m.secret + " has no username")
	}
	u := url.URL{
		Scheme:   "postgres",
		User:     url.UserPassword(cred.Username, cred.Password),
		Host:     net.JoinHostPort(m.host, m.port),
		Path:     "/" + m.db,
		RawQuery: url.Values{"sslmode": {m.mode}}.Encode(),
	}
	return u.String(), nil
}
