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
	rows, err := x.DB.Query(ctx, runRowsSQL, run)
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
// first, and records each delivered file. Running it twice at once, or again
// after a lost answer, sends the same name and bytes again, which the drop
// keeps as one file. It returns the files it delivered.
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
		f, err := x.Render(ctx, o.run, o.started)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		rc, err := x.Deliverer.Deliver(ctx, f.Name, f.Data)
		if err != nil {
			errs = append(errs, fmt.Errorf("delivering %s: %w", f.Name, err))
			continue
		}
		sum := sha256.Sum256(f.Data)
		now := time.Now
		if x.Now != nil {
			now = x.Now
		}
		if _, err := x.DB.Exec(ctx, recordFileSQL, f.Run, f.Name, f.Rows, hex.EncodeToString(sum[:]), rc.Via, now()); err != nil {
			errs = append(errs, fmt.Errorf("recording %s: %w", f.Name, err))
			continue
		}
		x.logger().InfoContext(ctx, "inventory file delivered", "run", f.Run, "file", f.Name, "rows", f.Rows, "via", rc.Via)
		done = append(done, f)
	}
	return done, errors.Join(errs...)
}

func (x *Exporter) logger() *slog.Logger {
	if x.Logger != nil {
		return x.Logger
	}
	return slog.Default()
}

// Handler wraps a workflow Lambda handler (the engine's Handle) so that
// every invocation, whether a scheduled tick, a rescue tick or a chain link,
// ends by delivering the files of closed runs still owed one. The link that
// closes a run thus sends its file at once, and a file whose delivery failed
// is sent by the next invocation. An error of either part fails the
// invocation, so Lambda's own retry tries again.
func (x *Exporter) Handler(handle func(context.Context, json.RawMessage) error) func(context.Context, json.RawMessage) error {
	return func(ctx context.Context, ev json.RawMessage) error {
		herr := handle(ctx, ev)
		_, derr := x.Deliver(ctx)
		return errors.Join(herr, derr)
	}
}
