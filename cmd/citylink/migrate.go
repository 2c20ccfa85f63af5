package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/spf13/cobra"

	"github.com/citylink/citylink/migrations"
)

// dbFlag is the --database-url flag every command that reads the database
// shares; it defaults to DATABASE_URL.
type dbFlag struct{ url string }

func (f *dbFlag) register(c *cobra.Command) {
	// The default is not the variable's value, which help would print,
	// password and all.
	c.Flags().StringVar(&f.url, "database-url", "", "Postgres connection string (default $DATABASE_URL)")
}

// connect opens a pool on the flag's database.
func (f *dbFlag) connect(ctx context.Context, cmd string) (*pgxpool.Pool, error) {
	f.url = cmp.Or(f.url, os.Getenv("DATABASE_URL"))
	if f.url == "" {
		return nil, usageError("%s needs a database: set DATABASE_URL or --database-url", cmd)
	}
	pool, err := pgxpool.New(ctx, f.url)
	if err != nil {
		return nil, fmt.Errorf("connecting: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connecting: %w", err)
	}
	return pool, nil
}

func newMigrateCmd(out io.Writer, logger *slog.Logger) *cobra.Command {
	var db dbFlag
	c := &cobra.Command{
		Use:   "migrate [up|status]",
		Short: "Apply the database migrations, or show their status",
		Long: `migrate applies the embedded goose migrations to the database at
DATABASE_URL (up, the default), or lists each migration with its state (status).`,
		Example: `  DATABASE_URL=postgres://localhost/citylink citylink migrate
  citylink migrate status --database-url postgres://localhost/citylink`,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) > 1 || (len(args) == 1 && args[0] != "up" && args[0] != "status") {
				return usageError("migrate: unknown action %q (up or status)", args)
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			pool, err := db.connect(c.Context(), "migrate")
			if err != nil {
				return err
			}
			defer pool.Close()
			if len(args) == 0 || args[0] == "up" {
				return migrations.Up(c.Context(), pool, logger)
			}
			return migrateStatus(c.Context(), pool, out)
		},
	}
	db.register(c)
	return c
}

func migrateStatus(ctx context.Context, pool *pgxpool.Pool, out io.Writer) error {
	st, err := migrations.Status(ctx, pool)
	if err != nil {
		return err
	}
	if len(st) == 0 {
		return errors.New("no migrations embedded")
	}
	for _, s := range st {
		fmt.Fprintf(out, "%-8s %s\n", s.State, s.Source.Path)
	}
	return nil
}
