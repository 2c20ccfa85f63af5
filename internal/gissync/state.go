package gissync

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// state is one light's row of gis_sync.
type state struct {
	AssetID  string
	ObjectID int64 // 0: not looked up yet
	DeviceID string
	CMSHash  string
	DOTHash  string
	Base     record // nil: never synced
	// DOTDeleted: gis-pull saw the feature deleted in the DOT layer.
	DOTDeleted bool
}

const loadStatesSQL = `
SELECT asset_id, coalesce(object_id, 0), coalesce(device_id, ''), coalesce(cms_hash, ''), coalesce(dot_hash, ''), base,
    dot_deleted_at IS NOT NULL
FROM gis_sync WHERE asset_id = ANY($1)`

// querier is the pool, or a read-only transaction for a preview.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// loadStates reads the states of the given assets.
func loadStates(ctx context.Context, db querier, assets []string) (map[string]*state, error) {
	rows, err := db.Query(ctx, loadStatesSQL, assets)
	if err != nil {
		return nil, fmt.Errorf("reading sync state: %w", err)
	}
	out := make(map[string]*state, len(assets))
	var s state
	var base []byte
	_, err = pgx.ForEachRow(rows, []any{&s.AssetID, &s.ObjectID, &s.DeviceID, &s.CMSHash, &s.DOTHash, &base, &s.DOTDeleted}, func() error {
		c := s
		if err := json.Unmarshal(base, &c.Base); err != nil {
			return fmt.Errorf("base of %s: %w", s.AssetID, err)
		}
		if len(c.Base) == 0 {
			c.Base = nil
		}
		out[c.AssetID] = &c
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading sync state: %w", err)
	}
	return out, nil
}

// saveStateSQL upserts a state; empty hashes and ids leave the stored ones,
// and a feature found again clears a deletion.
const saveStateSQL = `
INSERT INTO gis_sync (asset_id, object_id, device_id, cms_hash, dot_hash, base, pushed_at, pulled_at, updated_at)
VALUES ($1, nullif($2, 0), nullif($3, ''), nullif($4, ''), nullif($5, ''), $6, $7, $8, $9)
ON CONFLICT (asset_id) DO UPDATE SET
    object_id = coalesce(excluded.object_id, gis_sync.object_id),
    dot_deleted_at = CASE WHEN excluded.object_id IS NULL THEN gis_sync.dot_deleted_at END,
    device_id = coalesce(excluded.device_id, gis_sync.device_id),
    cms_hash = coalesce(excluded.cms_hash, gis_sync.cms_hash),
    dot_hash = coalesce(excluded.dot_hash, gis_sync.dot_hash),
    base = CASE WHEN excluded.base = '{}'::jsonb THEN gis_sync.base ELSE excluded.base END,
    pushed_at = coalesce(excluded.pushed_at, gis_sync.pushed_at),
    pulled_at = coalesce(excluded.pulled_at, gis_sync.pulled_at),
    updated_at = excluded.updated_at`

const reportSQL = `
INSERT INTO gis_sync_reports (at, workflow, asset_id, kind, field, cms_value, dot_value, base_value, resolution)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`

// saved is one light's state to write, with its reports.
type saved struct {
	state
	reports []report
}

// saveStates writes states and reports in one round trip. push says which
// direction's time to stamp.
func saveStates(ctx context.Context, db *pgxpool.Pool, workflow string, now time.Time, push bool, list []saved) error {
	if len(list) == 0 {
		return nil
	}
	var b pgx.Batch
	var pushed, pulled *time.Time
	if push {
		pushed = &now
	} else {
		pulled = &now
	}
	for _, s := range list {
		base, err := json.Marshal(s.Base)
		if err != nil {
			return err
		}
		if s.Base == nil {
			base = []byte("{}")
		}
		b.Queue(saveStateSQL, s.AssetID, s.ObjectID, s.DeviceID, s.CMSHash, s.DOTHash, base, pushed, pulled, now)
		for _, r := range s.reports {
			b.Queue(reportSQL, now, workflow, s.AssetID, r.Kind, r.Field, r.CMS, r.DOT, nullIfEmpty(r.Base), r.Resolution)
		}
	}
	if err := db.SendBatch(ctx, &b).Close(); err != nil {
		return fmt.Errorf("saving sync state: %w", err)
	}
	return nil
}

func nullIfEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
