package work

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// itemColumns are the columns a plan writes for each item.
var itemColumns = []string{"workflow", "run_id", "batch_seq", "source_key", "payload", "attempts", "carried_from"}

// itemStream feeds a plan's items to COPY (it is a pgx.CopyFromSource): it
// pulls the source page by page, drops repeated keys, and then appends the
// items carried over from earlier runs that the source did not supersede.
// Numbering items in order gives each its batch.
type itemStream struct {
	ctx       context.Context
	src       Source
	workflow  string
	run       int64
	batchSize int

	after   Watermark // watermark to ask the source with
	page    []Item
	idx     int
	more    bool
	pages   int
	seen    map[string]struct{}
	dropped int

	carried    []Item // items carried from failed runs, by id
	carriedIdx int
	superseded map[string]bool  // carried keys the source has sent again
	latest     map[string]int64 // the newest carried item of each key

	n      int // items emitted
	nCarry int // carried items emitted
	row    []any
	err    error
}

func newItemStream(ctx context.Context, src Source, workflow string, run int64, batchSize int, after Watermark, carried []Item) *itemStream {
	s := &itemStream{
		ctx: ctx, src: src, workflow: workflow, run: run, batchSize: batchSize,
		after: after, more: true, seen: make(map[string]struct{}),
		carried: carried, superseded: make(map[string]bool, len(carried)),
		row: make([]any, len(itemColumns)),
	}
	s.latest = make(map[string]int64, len(carried))
	for _, it := range carried {
		s.superseded[it.Key] = false
		s.latest[it.Key] = max(s.latest[it.Key], it.ID)
	}
	return s
}

// Next advances to the next item, fetching a page from the source when the
// current one is used up.
func (s *itemStream) Next() bool {
	for s.err == nil {
		if s.idx < len(s.page) {
			it := s.page[s.idx]
			s.idx++
			if _, dup := s.seen[it.Key]; dup {
				s.dropped++
				continue
			}
			s.seen[it.Key] = struct{}{}
			if _, ok := s.superseded[it.Key]; ok {
				s.superseded[it.Key] = true
			}
			s.emit(it, nil)
			return true
		}
		if s.more {
			s.fetch()
			continue
		}
		for s.carriedIdx < len(s.carried) {
			it := s.carried[s.carriedIdx]
			s.carriedIdx++
			if s.superseded[it.Key] || s.latest[it.Key] != it.ID {
				continue // the source or a newer failure of the key wins
			}
			from := it.ID
			s.nCarry++
			s.emit(it, &from)
			return true
		}
		return false
	}
	return false
}

func (s *itemStream) fetch() {
	if err := s.ctx.Err(); err != nil {
		s.err = err
		return
	}
	page, err := s.src.Changes(s.ctx, s.after)
	if err != nil {
		s.err = fmt.Errorf("reading page %d of the source: %w", s.pages+1, err)
		return
	}
	s.pages++
	if page.More && len(page.Next) == 0 {
		s.err = fmt.Errorf("source page %d has more pages but no watermark to continue from", s.pages)
		return
	}
	if len(page.Next) > 0 {
		if !json.Valid(page.Next) {
			s.err = fmt.Errorf("source page %d: watermark is not JSON: %q", s.pages, page.Next)
			return
		}
		s.after = page.Next
	}
	s.page, s.idx, s.more = page.Items, 0, page.More
}

func (s *itemStream) emit(it Item, carriedFrom *int64) {
	payload := it.Payload
	if len(payload) == 0 {
		payload = json.RawMessage("null")
	}
	s.row[0] = s.workflow
	s.row[1] = s.run
	s.row[2] = s.n / s.batchSize
	s.row[3] = it.Key
	s.row[4] = payload
	s.row[5] = it.Attempts
	s.row[6] = carriedFrom
	s.n++
}

// Values returns the current item's row.
func (s *itemStream) Values() ([]any, error) { return s.row, nil }

// Err returns the error that stopped the stream, if any.
func (s *itemStream) Err() error { return s.err }

// carriedIDs returns the ids of every carried-over item, superseded or not:
// all of them are settled by this run.
func (s *itemStream) carriedIDs() []int64 {
	ids := make([]int64, len(s.carried))
	for i, it := range s.carried {
		ids[i] = it.ID
	}
	return ids
}

// itemWriter writes a plan's items; COPY in production, one INSERT per row
// in the benchmark that shows why.
type itemWriter func(ctx context.Context, tx pgx.Tx, s *itemStream) (int64, error)

func copyItems(ctx context.Context, tx pgx.Tx, s *itemStream) (int64, error) {
	n, err := tx.CopyFrom(ctx, pgx.Identifier{"items"}, itemColumns, s)
	if s.Err() != nil {
		// pgx reports a source error as the server's "COPY failed"; keep
		// the source's own error for the caller.
		return n, s.Err()
	}
	if err != nil {
		return n, fmt.Errorf("copying items: %w", err)
	}
	return n, nil
}

const insertItemSQL = `
INSERT INTO items (workflow, run_id, batch_seq, source_key, payload, attempts, carried_from)
VALUES ($1, $2, $3, $4, $5, $6, $7)`

func insertItems(ctx context.Context, tx pgx.Tx, s *itemStream) (int64, error) {
	var n int64
	for s.Next() {
		row, _ := s.Values()
		if _, err := tx.Exec(ctx, insertItemSQL, row...); err != nil {
			return n, fmt.Errorf("inserting item: %w", err)
		}
		n++
	}
	if err := s.Err(); err != nil {
		return n, err
	}
	return n, nil
}
