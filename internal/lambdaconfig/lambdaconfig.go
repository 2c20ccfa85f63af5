// Package lambdaconfig is the wiring every workflow Lambda shares: required
// and optional environment values with errors that name them, a Postgres
// pool sized for one Lambda container, and an engine whose chain links and
// dead-item alerts go to the workflow's SNS topics. A workflow's main builds
// its clients, source and sink, and hands them to Engine; the rest is here,
// once.
//
// The environment every workflow Lambda reads:
//
//   - DATABASE_URL: the Postgres connection string (required).
//   - DB_MAX_CONNS: connections per container (optional, default 2).
//   - LINK_TOPIC_ARN: the workflow's chain-link topic (required).
//   - ALERT_TOPIC_ARN: the dead-items topic (optional; without it dead items
//     are only logged and written to the critical error log).
//   - AWS_ENDPOINT_URL: points the SNS client at a local stand-in (tests).
package lambdaconfig

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/citylink/citylink/internal/work"
)

// Require reads the named environment variables, all of which must be set,
// and names every missing one in its error, so a misconfigured function
// fails its init once, where Lambda reports it.
func Require(names ...string) (map[string]string, error) {
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

// Int reads an optional whole number; def when unset.
func Int(name string, def int) (int, error) {
	v := os.Getenv(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%s=%q is not a whole number", name, v)
	}
	return n, nil
}

// Pool opens the Postgres pool at DATABASE_URL sized for one Lambda
// container, which serves one invocation at a time: DB_MAX_CONNS
// connections (2 by default), none kept open while idle.
func Pool(ctx context.Context) (*pgxpool.Pool, error) {
	env, err := Require("DATABASE_URL")
	if err != nil {
		return nil, err
	}
	conns, err := Int("DB_MAX_CONNS", 2)
	if err != nil {
		return nil, err
	}
	cfg, err := pgxpool.ParseConfig(env["DATABASE_URL"])
	if err != nil {
		// pgx's error may quote the URL; name the variable, not its value.
		return nil, errors.New("DATABASE_URL is not a Postgres connection string")
	}
	cfg.MaxConns, cfg.MinConns = int32(max(conns, 1)), 0
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connecting to postgres: %w", err)
	}
	return pool, nil
}

// Engine completes cfg with the SNS publisher of LINK_TOPIC_ARN and, when
// ALERT_TOPIC_ARN is set, the SNS alerter, and returns the engine.
func Engine(ctx context.Context, cfg work.Config) (*work.Engine, error) {
	env, err := Require("LINK_TOPIC_ARN")
	if err != nil {
		return nil, err
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("loading aws config: %w", err)
	}
	topics := sns.NewFromConfig(awsCfg)
	cfg.Publisher = work.NewSNS(topics, env["LINK_TOPIC_ARN"])
	if arn := os.Getenv("ALERT_TOPIC_ARN"); arn != "" {
		cfg.Alerter = work.NewSNSAlerter(topics, arn)
	}
	return work.New(cfg)
}
