package lambdaconfig

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"

	"github.com/jackc/pgx/v5/pgxpool"
)

// DatabaseURL is the Postgres connection string: DATABASE_URL, or one made
// from DB_HOST, DB_PORT, DB_NAME, DB_SSLMODE and the database's username
// and password (DB_USERNAME and DB_PASSWORD, or the RDS-managed secret
// DB_SECRET_ID names). The password is URL-escaped, so any character RDS
// generates survives.
func (s *Settings) DatabaseURL(ctx context.Context) (string, error) {
	if v, ok := s.get("DATABASE_URL", Value); ok {
		return v, nil
	}
	host, err := s.String("DB_HOST")
	if err != nil {
		return "", fmt.Errorf("%w (set DATABASE_URL, or DB_HOST, DB_NAME and DB_SECRET_ID)", err)
	}
	port, err := s.Int("DB_PORT", 5432)
	if err != nil {
		return "", err
	}
	name, err := s.String("DB_NAME")
	if err != nil {
		return "", err
	}
	user, err := s.Secret(ctx, "DB", "username")
	if err != nil {
		return "", err
	}
	password, err := s.Secret(ctx, "DB", "password")
	if err != nil {
		return "", err
	}
	u := url.URL{
		Scheme: "postgres",
		User:   url.UserPassword(user, password),
		Host:   net.JoinHostPort(host, fmt.Sprint(port)),
		Path:   "/" + name,
		// require: encrypted; verify-full would need the RDS CA bundle
		// shipped beside the binary.
		RawQuery: url.Values{"sslmode": {s.Optional("DB_SSLMODE", "require")}}.Encode(),
	}
	return u.String(), nil
}

// PoolConfig is the pool configuration for one Lambda container, which
// serves one invocation at a time: DB_MAX_CONNS connections (2 by default),
// none kept open while idle.
func (s *Settings) PoolConfig(ctx context.Context) (*pgxpool.Config, error) {
	dsn, err := s.DatabaseURL(ctx)
	if err != nil {
		return nil, err
	}
	conns, err := s.Int("DB_MAX_CONNS", 2)
	if err != nil {
		return nil, err
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx's error may quote the URL and its password: name the
		// setting instead.
		return nil, errors.New("the database settings (DATABASE_URL or DB_*) do not make a Postgres connection string")
	}
	cfg.MaxConns, cfg.MinConns = int32(max(conns, 1)), 0
	return cfg, nil
}

// Pool opens the pool PoolConfig describes. It connects lazily: the first
// query makes the first connection.
func (s *Settings) Pool(ctx context.Context) (*pgxpool.Pool, error) {
	cfg, err := s.PoolConfig(ctx)
	if err != nil {
		return nil, err
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connecting to postgres: %w", err)
	}
	return pool, nil
}
