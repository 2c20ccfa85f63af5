package migrations_test

import (
	"context"
	"log/slog"
	"testing"

	"golang.org/x/sync/errgroup"

	"github.com/citylink/citylink/internal/pgtest"
	"github.com/citylink/citylink/migrations"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestUpTwiceAndConcurrently runs the migrations again, from four goroutines
// at once, on an already migrated database: the advisory lock must serialise
// them and nothing may be applied twice.
func TestUpTwiceAndConcurrently(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.Pool(t)
	var before int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM goose_db_version").Scan(&before); err != nil {
		t.Fatal(err)
	}
	var g errgroup.Group
	for range 4 {
		g.Go(func() error { return migrations.Up(ctx, pool, slog.New(slog.DiscardHandler)) })
	}
	if err := g.Wait(); err != nil {
		t.Fatalf("migrating again: %v", err)
	}
	var after int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM goose_db_version").Scan(&after); err != nil {
		t.Fatal(err)
	}
	if after != before {
		t.Fatalf("version rows went from %d to %d: a migration was applied twice", before, after)
	}
	st, err := migrations.Status(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range st {
		if s.State != "applied" {
			t.Errorf("migration %s is %s after Up", s.Source.Path, s.State)
		}
	}
}

// TestUpFromEmpty migrates a database that has no schema at all, from
// several goroutines at once.
func TestUpFromEmpty(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.Pool(t)
	if _, err := pool.Exec(ctx, "DROP SCHEMA public CASCADE; CREATE SCHEMA public"); err != nil {
		t.Fatal(err)
	}
	var g errgroup.Group
	for range 3 {
		g.Go(func() error { return migrations.Up(ctx, pool, slog.New(slog.DiscardHandler)) })
	}
	if err := g.Wait(); err != nil {
		t.Fatalf("migrating an empty database concurrently: %v", err)
	}
	st, err := migrations.Status(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	if len(st) == 0 {
		t.Fatal("no migrations found")
	}
	for _, s := range st {
		if s.State != "applied" {
			t.Errorf("migration %s is %s", s.Source.Path, s.State)
		}
	}
}
