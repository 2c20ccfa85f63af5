package pgtest_test

import (
	"context"
	"testing"

	"github.com/citylink/citylink/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func TestPoolIsMigratedAndIsolated(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, b := pgtest.Pool(t), pgtest.Pool(t)

	var applied int
	if err := a.QueryRow(ctx, "SELECT count(*) FROM goose_db_version WHERE version_id > 0 AND is_applied").Scan(&applied); err != nil {
		t.Fatalf("reading goose version table: %v", err)
	}
	if applied == 0 {
		t.Fatal("template database has no applied migrations")
	}

	if _, err := a.Exec(ctx, "CREATE TABLE only_in_a (x int)"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := b.QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE tablename = 'only_in_a'").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatal("a table created in one test's database is visible in another's")
	}
}

// TestFingerprintSeesEveryWrite changes one row of a table and expects the
// fingerprint to name that table and no other.
func TestFingerprintSeesEveryWrite(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.Pool(t)
	if _, err := db.Exec(ctx, `INSERT INTO watermarks (workflow, value, run_id, updated_at) VALUES ('w', '"a"', 1, now())`); err != nil {
		t.Fatal(err)
	}
	before := pgtest.Fingerprint(t, db)
	if again := pgtest.Fingerprint(t, db); len(again) != len(before) || again["watermarks"] != before["watermarks"] {
		t.Fatalf("two fingerprints of an untouched database differ")
	}
	if _, err := db.Exec(ctx, `UPDATE watermarks SET value = '"b"'`); err != nil {
		t.Fatal(err)
	}
	after := pgtest.Fingerprint(t, db)
	for table, d := range after {
		if changed := d != before[table]; changed != (table == "watermarks") {
			t.Errorf("table %s: changed = %v", table, changed)
		}
	}
}
