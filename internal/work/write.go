package work

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// itemColumns are the columns a plan writes for each item.
var itemColumns = []string{"workflow", "run_id", "batch_seq", "source_key", "payload", "attempts", "carried_from"}

// itemRows numbers a plan's new items into rows for itemColumns: the item
// that is the run's nth gets batch n / batchSize, so batches fill in the
// order the source sent the keys, page after page and invocation after
// invocation.
type itemRows struct {
	workflow  string
	run       int64
	batchSize int
	n         int // items the run had before these
	rows      [][]any
}

func (r *itemRows) add(it Item, carriedFrom *int64) {
	payload := it.Payload
	if len(payload) == 0 {
		payload = json.RawMessage("null")
	}
	seq := (r.n + len(r.rows)) / r.batchSize
	r.rows = append(r.rows, []any{r.workflow, r.run, seq, it.Key, payload, it.Attempts, carriedFrom})
}

// itemWriter writes a page's new items; COPY in production, one INSERT per
// row in the benchmark that shows why.
type itemWriter func(ctx context.Context, tx pgx.Tx, rows [][]any) (int64, error)

func copyItems(ctx context.Context, tx pgx.Tx, rows [][]any) (int64, error) {
	if len(rows) == 0 {
		return 0, nil
	}
	n, err := tx.CopyFrom(ctx, pgx.Identifier{"items"}, itemColumns, pgx.CopyFromRows(rows))
	if err != nil {
		return n, fmt.Errorf("copying items: %w", err)
	}
	return n, nil
}

const insertItemSQL = `
INSERT INTO items (workflow, run_id, batch_seq, source_key, payload, attempts, carried_from)
VALUES ($1, $2, $3, $4, $5, $6, $7)`

func insertItems(ctx context.Context, tx pgx.Tx, rows [][]any) (int64, error) {
	var n int64
	for _, row := range rows {
		if _, err := tx.Exec(ctx, insertItemSQL, row...); err != nil {
			return n, fmt.Errorf("inserting item: %w", err)
		}
		n++
	}
	return n, nil
}
