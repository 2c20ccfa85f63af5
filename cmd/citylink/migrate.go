package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/citylink/citylink/migrations"
)

func runMigrate(ctx context.Context, args []string, out io.Writer, logger *slog.Logger) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	dsn := fs.String("database-url", os.Getenv("DATABASE_URL"), "Postgres connection string")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dsn == "" {
		return errors.New("migrate needs a database: set DATABASE_URL or -database-url")
	}
	pool, err := pgxpool.New(ctx, *dsn)
	if err != nil {
		return fmt.Errorf("connecting: %w", err)
	}
	defer pool.Close()
	switch fs.Arg(0) {
	case "", "up":
		return migrations.Up(ctx, pool, logger)
	case "status":
		st, err := migrations.Status(ctx, pool)
		if err != nil {
			return err
		}
		for _, s := range st {
			fmt.Fprintf(out, "%-8s %s\n", s.State, s.Source.Path)
		}
		return nil
	}
	return fmt.Errorf("migrate: unknown action %q (up or status)", fs.Arg(0))
}
