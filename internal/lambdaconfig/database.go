package lambdaconfig

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
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
// none kept open while idle. When the account comes from DB_SECRET_ID, each
// new connection takes it from a dbAccount, which follows the secret's
// rotation.
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
	if _, ok := s.get("DATABASE_URL", Value); !ok {
		if _, from, _ := s.secret(ctx, "DB", "password"); from == fromSecret {
			a := &dbAccount{s: s, user: cfg.ConnConfig.User, password: cfg.ConnConfig.Password}
			cfg.BeforeConnect = a.beforeConnect
		}
	}
	return cfg, nil
}

// DBRereadEvery is the least time between two reads of the database secret
// after failed authentications: a secret that is itself wrong costs a
// read per interval, not one per connection attempt.
const DBRereadEvery = 30 * time.Second

// invalidPassword is SQLSTATE invalid_password, what Postgres answers a
// login with a wrong password.
const invalidPassword = "28P01"

// dbAccount is the database account the DB secret gives, for the pool's
// connection attempts. RDS rotates that secret (every 7 days by default)
// and the old password stops working at once: connections already open
// stay, but a warm container's new ones would fail until it is recycled.
// So a login refused with invalid_password marks the account stale, and
// the next connection attempt reads the secret again (at most once per
// DBRereadEvery); otherwise the password read at the cold start is used.
// The attempt that meets the rotation fails (pgx cannot retry a login with
// another password), and with it the invocation, which Lambda retries.
type dbAccount struct {
	s *Settings

	mu             sync.Mutex
	user, password string
	stale          bool
	rereadAt       time.Time // when the secret was last re-read; zero before
}

// beforeConnect gives a connection attempt the account, re-reading the
// secret first when a login failed since the last read.
func (a *dbAccount) beforeConnect(ctx context.Context, cc *pgx.ConnConfig) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if now := a.s.now(); a.stale && (a.rereadAt.IsZero() || now.Sub(a.rereadAt) >= DBRereadEvery) {
		a.s.forget("DB")
		user, err := a.s.Secret(ctx, "DB", "username")
		if err != nil {
			return fmt.Errorf("re-reading the database secret: %w", err)
		}
		password, err := a.s.Secret(ctx, "DB", "password")
		if err != nil {
			return fmt.Errorf("re-reading the database secret: %w", err)
		}
		a.user, a.password, a.stale, a.rereadAt = user, password, false, now
	}
	cc.User, cc.Password = a.user, a.password
	tried, next := a.password, cc.OnPgError
	cc.OnPgError = func(c *pgconn.PgConn, e *pgconn.PgError) bool {
		if e.Code == invalidPassword {
			a.refused(tried)
		}
		if next != nil {
			return next(c, e)
		}
		return !strings.EqualFold(e.Severity, "FATAL")
	}
	return nil
}

// refused marks the account stale when the password a login was refused
// with is still the one held (a late answer to an attempt made before a
// re-read says nothing of the new one).
func (a *dbAccount) refused(password string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.password == password {
		a.stale = true
	}
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
