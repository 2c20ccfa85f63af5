// Package migrations holds citylink's Postgres schema as numbered goose SQL
// files, embedded in every binary that needs them, and the runner that
// applies them.
package migrations

import (
	"context"
	"embed"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed *.sql
var files embed.FS

// Up applies every pending migration. It holds a Postgres session advisory
// lock while it works, so two deploys or test binaries that migrate the same
// database at once apply each migration exactly once; running it again on a
// migrated database changes nothing.
func Up(ctx context.Context, pool *pgxpool.Pool, logger *slog.Logger) error {
	provider, err := newProvider(pool, logger)
	if err != nil {
		return err
	}
	defer provider.Close()
	if _, err := provider.Up(ctx); err != nil {
		return fmt.Errorf("applying migrations: %w", err)
	}
	return nil
}

// Status reports each migration's version, file and whether it is applied,
// for the operator's `citylink migrate status`.
func Status(ctx context.Context, pool *pgxpool.Pool) ([]*goose.MigrationStatus, error) {
	provider, err := newProvider(pool, nil)
	if err != nil {
		return nil, err
	}
	defer provider.Close()
	st, err := provider.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading migration status: %w", err)
	}
	return st, nil
}

func newProvider(pool *pgxpool.Pool, logger *slog.Logger) (*goose.Provider, error) {
	// Another migrator holding the lock is waited for, checked every second
	// for up to five minutes (goose's default checks every five seconds).
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 300))
	if err != nil {
		return nil, fmt.Errorf("creating migration lock: %w", err)
	}
	opts := []goose.ProviderOption{
		goose.WithSessionLocker(locker),
		goose.WithDisableGlobalRegistry(true),
	}
	if logger != nil {
		opts = append(opts, goose.WithSlog(logger))
	}
	provider, err := goose.NewProvider(goose.DialectPostgres, stdlib.OpenDBFromPool(pool), files, opts...)
	if err != nil {
		return nil, fmt.Errorf("loading migrations: %w", err)
	}
	return provider, nil
}
