package billingexport

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/citylink/citylink/internal/utility"
	"github.com/citylink/citylink/internal/work"
)

// Deliverer sends one file to the utility; utility.SFTP and utility.HTTPS
// are both one. Delivering the same name and bytes again must leave one
// file, as both drops do.
type Deliverer interface {
	Deliver(ctx context.Context, name string, data []byte) (utility.Receipt, error)
}

// Exporter delivers the files of closed runs.
type Exporter struct {
	DB        work.DB
	Deliverer Deliverer
	Mapping   Mapping
	// Workflow is the engine's name for the workflow ("billing-export").
	Workflow string
	Logger   *slog.Logger
	// Now stamps delivered files; time.Now when nil.
	Now func() time.Time
}

const (
	owedRunsSQL = `
SELECT r.id, r.started_at FROM runs r
WHERE r.workflow = $1 AND r.state NOT IN ('planning', 'running')
  AND NOT EXISTS (SELECT 1 FROM billing_files f WHERE f.run_id = r.id)
  AND EXISTS (SELECT 1 FROM billing_rows b WHERE b.run_id = r.id)
ORDER BY r.id`

	runRowsSQL = `SELECT change FROM billing_rows WHERE run_id = $1 ORDER BY asset_id`

	recordFileSQL = `
INSERT INTO billing_files (run_id, name, rows, sha256, via, delivered_at)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT DO NOTHING`
)

// File is one run's inventory change file.
type File struct {
	Run  int64
	Name string
	Data []byte
	Rows int
}

// Render builds the file of a run from its recorded rows, in asset id
// order: the same run always renders the same name and bytes.
func (x *Exporter) Render(ctx context.Context, run int64, started time.Time) (File, error) {
	return x.render(ctx, x.DB, run, started)
}

// querier is what render reads through: the pool, or the delivery's
// transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

func (x *Exporter) render(ctx context.Context, db querier, run int64, started time.Time) (File, error) {
	rows, err := db.Query(ctx, runRowsSQL, run)
	if err != nil {
		return File{}, fmt.Errorf("reading the rows of run %d: %w", run, err)
	}
	var buf bytes.Buffer
	w := utility.NewWriter(&buf)
	var raw []byte
	_, err = pgx.ForEachRow(rows, []any{&raw}, func() error {
		var c utility.Change
		if err := json.Unmarshal(raw, &c); err != nil {
			return err
		}
		return w.Write(c)
	})
	if err != nil {
		return File{}, fmt.Errorf("rendering the file of run %d: %w", run, err)
	}
	if err := w.Flush(); err != nil {
		return File{}, err
	}
	return File{Run: run, Name: utility.FileName(x.Mapping.Sender, started, int(run)), Data: buf.Bytes(), Rows: w.Rows()}, nil
}

// Deliver sends the file of every closed run that is owed one, oldest run
// first, and records each delivered file. Each run's delivery holds that
// run's delivery lock, so two invocations finishing at once send its file
// once: the second finds the lock taken and leaves the run to the first
// (or, once the first has committed, finds the file recorded). A delivery
// whose record is lost (the invocation dies between the drop's answer and
// the commit) is sent again by the next invocation with the same name and
// bytes, which the drop keeps as one file. It returns the files it
// delivered.
func (x *Exporter) Deliver(ctx context.Context) ([]File, error) {
	rows, err := x.DB.Query(ctx, owedRunsSQL, x.Workflow)
	if err != nil {
		return nil, fmt.Errorf("finding runs owed a file: %w", err)
	}
	type owed struct {
		run     int64
		started time.Time
	}
	runs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (owed, error) {
		var o owed
		err := r.Scan(&o.run, &o.started)
		return o, err
	})
	if err != nil {
		return nil, fmt.Errorf("finding runs owed a file: %w", err)
	}
	var done []File
	var errs []error
	for _, o := range runs {
		f, ok, err := x.deliverRun(ctx, o.run, o.started)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if ok {
			done = append(done, f)
		}
	}
	return done, errors.Join(errs...)
}

// deliveryLock is the class of the advisory locks that serialise the
// deliveries of one run's file (the two-key form, apart from the one-key
// locks of other workflows).
const deliveryLock = 0x62696c6c // "bill"

// deliverRun delivers one run's file under the run's delivery lock, which
// a transaction holds from before the render to the commit of the record.
// That transaction is the one place citylink keeps a transaction open
// across an outside call: one file, once a day, bounded by the drop's own
// timeouts; and a lock tied to the transaction ends with the connection
// when an invocation dies, so no delivery is ever stuck behind a dead one.
// ok is false when another invocation holds the lock or has delivered it.
func (x *Exporter) deliverRun(ctx context.Context, run int64, started time.Time) (File, bool, error) {
	tx, err := x.DB.Begin(ctx)
	if err != nil {
		return File{}, false, fmt.Errorf("delivering the file of run %d: %w", run, err)
	}
	defer tx.Rollback(ctx) // a no-op after Commit
	var mine, owed bool
	err = tx.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock($1::int4, ($2 % 2147483647)::int4),
	NOT EXISTS (SELECT 1 FROM billing_files WHERE run_id = $2)`, deliveryLock, run).Scan(&mine, &owed)
	if err != nil {
		return File{}, false, fmt.Errorf("taking the delivery lock of run %d: %w", run, err)
	}
	if !mine || !owed {
		return File{}, false, nil
	}
	f, err := x.render(ctx, tx, run, started)
	if err != nil {
		return File{}, false, err
	}
	rc, err := x.Deliverer.Deliver(ctx, f.Name, f.Data)
	if err != nil {
		return File{}, false, fmt.Errorf("delivering %s: %w", f.Name, err)
	}
	sum := sha256.Sum256(f.Data)
	now := time.Now
	if x.Now != nil {
		now = x.Now
	}
	if _, err := tx.Exec(ctx, recordFileSQL, f.Run, f.Name, f.Rows, hex.EncodeToString(sum[:]), rc.Via, now()); err != nil {
		return File{}, false, fmt.Errorf("recording %s: %w", f.Name, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return File{}, false, fmt.Errorf("recording %s: %w", f.Name, err)
	}
	x.logger().InfoContext(ctx, "inventory file delivered", "run", f.Run, "file", f.Name, "rows", f.Rows, "via", rc.Via)
	return f, true, nil
}

func (x *Exporter) logger() *slog.Logger {
	if x.Logger != nil {
		return x.Logger
	}
	return slog.Default()
}
