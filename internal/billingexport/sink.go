package billingexport

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/citylink/citylink/internal/utility"
	"github.com/citylink/citylink/internal/work"
)

// Sink records each item's inventory row for its run's file. It writes to
// Postgres only; Deliver sends the file once the run is closed.
type Sink struct {
	DB      work.DB
	Mapping Mapping
}

const (
	itemRunSQL = `
SELECT r.id, r.started_at FROM items i JOIN runs r ON r.id = i.run_id WHERE i.id = $1`

	previousRowsSQL = `
SELECT DISTINCT ON (asset_id) asset_id, change
FROM billing_rows
WHERE asset_id = ANY($1) AND run_id < $2
ORDER BY asset_id, run_id DESC`

	recordRowsSQL = `
INSERT INTO billing_rows (run_id, asset_id, change)
SELECT $1, a, c FROM unnest($2::text[], $3::jsonb[]) AS r (a, c)
ON CONFLICT (run_id, asset_id) DO NOTHING`
)

// Apply records the batch's rows in one statement and returns, per item,
// success with the run's file name, a skip with the reason the device calls
// for no row, or a permanent failure for a device whose row the utility
// would refuse (missing rate schedule or watts: fix the device in the CMS,
// and its next write brings it back). An error means nothing was recorded.
func (s *Sink) Apply(ctx context.Context, items []work.Item) ([]work.Outcome, error) {
	if len(items) == 0 {
		return nil, nil
	}
	var run int64
	var started time.Time
	if err := s.DB.QueryRow(ctx, itemRunSQL, items[0].ID).Scan(&run, &started); err != nil {
		return nil, fmt.Errorf("finding the run of item %d: %w", items[0].ID, err)
	}
	name := utility.FileName(s.Mapping.Sender, started, int(run))

	outs, keys, rows, err := s.rows(ctx, items, run, name)
	if err != nil {
		return nil, err
	}
	if len(keys) > 0 {
		if _, err := s.DB.Exec(ctx, recordRowsSQL, run, keys, rows); err != nil {
			return nil, fmt.Errorf("recording %d billing rows: %w", len(keys), err)
		}
	}
	return outs, nil
}

// rows decides each item's row for run and returns the outcomes with the
// asset ids and JSON rows to record.
func (s *Sink) rows(ctx context.Context, items []work.Item, run int64, name string) ([]work.Outcome, []string, [][]byte, error) {
	outs := make([]work.Outcome, len(items))
	lights := make([]*Light, len(items))
	var assets []string
	for i, it := range items {
		l, err := work.Decode[Light](it)
		switch {
		case err != nil:
			outs[i] = work.Permanent(err)
		case l.Device.ExternalID == "":
			outs[i] = work.Skip("device " + l.Device.ID + " has no asset id")
		default:
			lights[i] = &l
			assets = append(assets, l.Device.ExternalID)
		}
	}
	prev, err := s.previous(ctx, assets, run)
	if err != nil {
		return nil, nil, nil, err
	}
	var keys []string
	var rows [][]byte
	for i, l := range lights {
		if l == nil {
			continue
		}
		p, ok := prev[l.Device.ExternalID]
		var pp *utility.Change
		if ok {
			pp = &p
		}
		row, reason := s.Mapping.decide(l.Device, pp)
		if reason != "" {
			outs[i] = work.Skip(reason)
			continue
		}
		if err := row.Check(); err != nil {
			outs[i] = work.Permanent(fmt.Errorf("asset %s cannot be billed: %w", row.AssetID, err))
			continue
		}
		b, err := json.Marshal(row)
		if err != nil {
			return nil, nil, nil, err
		}
		keys, rows = append(keys, row.AssetID), append(rows, b)
		outs[i] = work.Success(name)
	}
	return outs, keys, rows, nil
}

// previous returns the last row of each asset in a run before run.
func (s *Sink) previous(ctx context.Context, assets []string, run int64) (map[string]utility.Change, error) {
	out := make(map[string]utility.Change, len(assets))
	if len(assets) == 0 {
		return out, nil
	}
	rows, err := s.DB.Query(ctx, previousRowsSQL, assets, run)
	if err != nil {
		return nil, fmt.Errorf("reading billed rows: %w", err)
	}
	var asset string
	var raw []byte
	_, err = pgx.ForEachRow(rows, []any{&asset, &raw}, func() error {
		var c utility.Change
		if err := json.Unmarshal(raw, &c); err != nil {
			return fmt.Errorf("billed row of %s: %w", asset, err)
		}
		out[asset] = c
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading billed rows: %w", err)
	}
	return out, nil
}

// Preview writes the inventory file that applying items as the next run
// would make, and writes nothing anywhere: the rows, in asset id order, and
// the items that would be skipped or fail.
func (s *Sink) Preview(ctx context.Context, items []work.Item, w io.Writer) error {
	outs, _, rows, err := s.rows(ctx, items, math.MaxInt64, "the next run's file")
	if err != nil {
		return err
	}
	changes := make([]utility.Change, 0, len(rows))
	for _, b := range rows {
		var c utility.Change
		if err := json.Unmarshal(b, &c); err != nil {
			return err
		}
		changes = append(changes, c)
	}
	slices.SortFunc(changes, func(a, b utility.Change) int { return strings.Compare(a.AssetID, b.AssetID) })
	skipped := 0
	for i, o := range outs {
		switch o.Status() {
		case work.Skipped:
			skipped++
		case work.Dead, work.Failed:
			fmt.Fprintf(w, "  refuse  %s: %v\n", items[i].Key, o.Err())
		}
	}
	fmt.Fprintf(w, "  file of %d rows (%d devices skipped: nothing to bill):\n", len(changes), skipped)
	if len(changes) == 0 {
		return nil
	}
	data, err := utility.Encode(changes)
	if err != nil {
		return err
	}
	for _, line := range strings.Split(strings.TrimRight(string(data), "\r\n"), "\r\n") {
		fmt.Fprintf(w, "    %s\n", line)
	}
	return nil
}
