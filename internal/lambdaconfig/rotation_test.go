package lambdaconfig

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/citylink/citylink/internal/awstest"
	"github.com/citylink/citylink/internal/localaws"
	"github.com/citylink/citylink/internal/pglocal"
)

// TestPoolFollowsTheRotatedDatabaseSecret rotates the database password as
// RDS does, on a cluster that checks passwords (the shared test cluster
// trusts everyone): the role's password changes while the pool is open and
// the secret is updated to match. Connections already open keep working;
// the first new connection is refused, and the next reads the secret again,
// once, and succeeds; later ones read nothing. A secret that does not match
// the role is read again at most once per DBRereadEvery.
func TestPoolFollowsTheRotatedDatabaseSecret(t *testing.T) {
	ctx := context.Background()
	cluster, err := pglocal.StartWith(ctx, pglocal.Options{Password: "superuser-pass"})
	if err != nil {
		t.Fatalf("starting a cluster with password auth: %v", err)
	}
	t.Cleanup(func() { _ = cluster.Stop() })
	admin, err := pgx.Connect(ctx, cluster.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = admin.Close(ctx) })
	setPassword := func(p string) {
		t.Helper()
		// ALTER ROLE takes no parameters: the passwords are test literals.
		if _, err := admin.Exec(ctx, fmt.Sprintf("ALTER ROLE app PASSWORD '%s'", p)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := admin.Exec(ctx, "CREATE ROLE app LOGIN"); err != nil {
		t.Fatal(err)
	}
	setPassword("first-pass")

	// Without the password, the cluster refuses: the test is not trusting.
	if _, err := pgx.Connect(ctx, fmt.Sprintf("postgres://app:wrong@127.0.0.1:%d/postgres?sslmode=disable", cluster.Port())); !refused(err) {
		t.Fatalf("a wrong password was not refused: %v", err)
	}

	sec := awstest.StartSecrets(t)
	const name = "rds!db-rotating"
	account := func(p string) string { return `{"username":"app","password":"` + p + `","engine":"postgres"}` }
	s := standIn(sec, map[string]string{
		"DB_HOST": "127.0.0.1", "DB_PORT": strconv.Itoa(cluster.Port()), "DB_NAME": "postgres",
		"DB_SSLMODE": "disable", "DB_MAX_CONNS": "10",
		"DB_SECRET_ID": sec.PutSecret(name, account("first-pass")),
	})
	var mu sync.Mutex
	now := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	s.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	reads := func() int { return sec.Calls(localaws.TargetGetSecretValue) }

	pool, err := s.Pool(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	// Each connection is held, so every Acquire below opens a new one.
	var held []*pgxpool.Conn
	t.Cleanup(func() {
		for _, c := range held {
			c.Release()
		}
	})
	connect := func() error {
		c, err := pool.Acquire(ctx)
		if err != nil {
			return err
		}
		held = append(held, c)
		var who string
		return c.QueryRow(ctx, "SELECT current_user").Scan(&who)
	}
	if err := connect(); err != nil {
		t.Fatalf("connecting with the secret's password: %v", err)
	}
	if n := reads(); n != 1 {
		t.Fatalf("the secret was read %d times at the cold start", n)
	}

	// RDS rotates: the role's password and the secret change together.
	setPassword("second-pass")
	sec.PutSecret(name, account("second-pass"))
	if _, err := held[0].Exec(ctx, "SELECT 1"); err != nil {
		t.Fatalf("an open connection stopped working after the rotation: %v", err)
	}
	if err := connect(); !refused(err) {
		t.Fatalf("the first new connection after the rotation: %v; want it refused with the old password", err)
	}
	if n := reads(); n != 1 {
		t.Fatalf("the secret was read %d times before a connection needed it again", n)
	}
	if err := connect(); err != nil {
		t.Fatalf("a new connection after the rotation: %v", err)
	}
	if n := reads(); n != 2 {
		t.Fatalf("the secret was read %d times; want one read more after the rotation", n)
	}
	for range 3 {
		if err := connect(); err != nil {
			t.Fatal(err)
		}
	}
	if n := reads(); n != 2 {
		t.Fatalf("the secret was read %d times; connections after the re-read take it from the cache", n)
	}

	// The role changes and the secret has not caught up yet: attempts fail,
	// and the secret is read again only once DBRereadEvery has passed.
	setPassword("third-pass")
	for range 3 {
		if err := connect(); !refused(err) {
			t.Fatalf("a connection with a password the role no longer has: %v", err)
		}
	}
	if n := reads(); n != 2 {
		t.Fatalf("the secret was read %d times within DBRereadEvery of the last read", n)
	}
	sec.PutSecret(name, account("third-pass"))
	advance(DBRereadEvery)
	if err := connect(); err != nil {
		t.Fatalf("a new connection once the secret caught up: %v", err)
	}
	if n := reads(); n != 3 {
		t.Fatalf("the secret was read %d times; want one read more after DBRereadEvery", n)
	}
}

// refused says whether err is Postgres refusing a login's password.
func refused(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == invalidPassword
}
