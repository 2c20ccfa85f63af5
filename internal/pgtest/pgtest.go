// Package pgtest gives each test its own freshly migrated Postgres database.
//
// One server serves a whole test binary: the server at DATABASE_URL when it is
// set, or else a throwaway cluster started from the local PostgreSQL binaries
// (package pglocal). The schema is migrated once into a template database, and
// every call to Pool clones the template, so tests are isolated from each
// other, may run in parallel, and see exactly the schema production sees. No
// Postgres to be had fails the test with a message saying how to get one.
//
// A package that uses it calls Main from its TestMain, so that the cluster is
// removed when the tests end:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
package pgtest

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/citylink/citylink/internal/pglocal"
	"github.com/citylink/citylink/migrations"
)

// server is the one Postgres a test binary uses. It is package state because
// its lifetime is the test binary's: TestMain cannot pass it to tests.
var server struct {
	once     sync.Once
	err      error
	cluster  *pglocal.Cluster // nil when DATABASE_URL is used
	base     *url.URL         // connection string with the database left to fill in
	admin    *pgxpool.Pool
	template string
	seq      atomic.Int64
}

// Main runs the package's tests and then removes the server's template and,
// for a throwaway cluster, the cluster itself.
func Main(m *testing.M) {
	code := m.Run()
	shutdown()
	os.Exit(code)
}

// Pool returns a pool on a new database cloned from the migrated template.
// The pool is closed and the database dropped when the test ends.
func Pool(tb testing.TB) *pgxpool.Pool {
	tb.Helper()
	ctx := context.Background()
	dsn := URL(tb)
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		tb.Fatalf("pgtest: connecting to %s: %v", dsn, err)
	}
	tb.Cleanup(pool.Close)
	return pool
}

// URL creates a new database cloned from the migrated template and returns
// its connection string, for code under test that opens its own pool. The
// database is dropped when the test ends.
func URL(tb testing.TB) string {
	tb.Helper()
	server.once.Do(func() { server.err = setup(context.Background()) })
	if server.err != nil {
		tb.Fatalf("pgtest: no Postgres for the tests: %v", server.err)
	}
	ctx := context.Background()
	name := fmt.Sprintf("%s_%d", server.template, server.seq.Add(1))
	if _, err := server.admin.Exec(ctx, "CREATE DATABASE "+name+" TEMPLATE "+server.template); err != nil {
		tb.Fatalf("pgtest: creating database %s: %v", name, err)
	}
	tb.Cleanup(func() {
		if _, err := server.admin.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			tb.Errorf("pgtest: dropping database %s: %v", name, err)
		}
	})
	return dbURL(name)
}

func setup(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	dsn := os.Getenv("DATABASE_URL")
	if dsn == "" {
		c, err := pglocal.Start(ctx)
		if err != nil {
			return err
		}
		server.cluster = c
		dsn = c.URL("postgres")
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return fmt.Errorf("parsing DATABASE_URL: %w", err)
	}
	server.base = u
	server.admin, err = pgxpool.New(ctx, dsn)
	if err != nil {
		return fmt.Errorf("connecting to %s: %w (%s)", dsn, err, pglocal.InstallHint)
	}
	// Several test binaries may share one DATABASE_URL server at once: each
	// gets its own template name.
	server.template = fmt.Sprintf("citylink_test_%d_%d", os.Getpid(), time.Now().UnixNano()%1_000_000)
	if _, err := server.admin.Exec(ctx, "CREATE DATABASE "+server.template); err != nil {
		return fmt.Errorf("creating template database: %w (%s)", err, pglocal.InstallHint)
	}
	tmpl, err := pgxpool.New(ctx, dbURL(server.template))
	if err != nil {
		return fmt.Errorf("connecting to template database: %w", err)
	}
	defer tmpl.Close()
	quiet := slog.New(slog.DiscardHandler)
	if err := migrations.Up(ctx, tmpl, quiet); err != nil {
		return err
	}
	return nil
}

func shutdown() {
	if server.admin != nil {
		ctx := context.Background()
		_, _ = server.admin.Exec(ctx, "DROP DATABASE IF EXISTS "+server.template+" WITH (FORCE)")
		server.admin.Close()
	}
	if server.cluster != nil {
		_ = server.cluster.Stop()
	}
}

func dbURL(name string) string {
	u := *server.base
	u.Path = "/" + name
	return u.String()
}
