package pgtest

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Fingerprint returns, for every table of the database's public schema, a
// digest of all its rows (the goose version table aside). Two equal
// fingerprints taken around a call show that the call inserted, updated
// and deleted nothing: the check read-only paths (dry runs, previews) are
// held to.
func Fingerprint(tb testing.TB, db *pgxpool.Pool) map[string]string {
	tb.Helper()
	ctx := context.Background()
	rows, err := db.Query(ctx, `SELECT quote_ident(tablename) FROM pg_tables
WHERE schemaname = 'public' AND tablename <> 'goose_db_version' ORDER BY tablename`)
	if err != nil {
		tb.Fatalf("listing tables: %v", err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		tb.Fatalf("listing tables: %v", err)
	}
	out := make(map[string]string, len(tables))
	for _, t := range tables {
		var digest string
		err := db.QueryRow(ctx, `SELECT coalesce(md5(string_agg(r::text, E'\n' ORDER BY r::text)), '') FROM `+t+` r`).Scan(&digest)
		if err != nil {
			tb.Fatalf("reading table %s: %v", t, err)
		}
		out[t] = digest
	}
	return out
}

// SameFingerprint fails tb, naming the tables, when two fingerprints differ.
func SameFingerprint(tb testing.TB, before, after map[string]string) {
	tb.Helper()
	for t, d := range after {
		if before[t] != d {
			tb.Errorf("table %s changed", t)
		}
	}
	for t := range before {
		if _, ok := after[t]; !ok {
			tb.Errorf("table %s is gone", t)
		}
	}
}
