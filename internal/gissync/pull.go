package gissync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/citylink/citylink/internal/arcgis"
	"github.com/citylink/citylink/internal/cms"
	"github.com/citylink/citylink/internal/work"
)

// editMark is gis-pull's watermark. Edited and OID are the (edit date,
// object id) keyset position of the last feature read, so features that
// share an edit date are never missed. Where the DOT service tracks changes,
// Gen is the server generation to ask extractChanges from (Tracked says it
// is set); Start is the generation taken when a keyset read began (-1: the
// service does not track changes; nil: not asked yet this read), which
// becomes Gen when that read is done.
type editMark struct {
	Edited  int64  `json:"edited"` // epoch milliseconds
	OID     int64  `json:"oid"`
	Gen     int64  `json:"gen,omitempty"`
	Tracked bool   `json:"tracked,omitempty"`
	Start   *int64 `json:"start,omitempty"`
}

// pulled is a gis-pull item's payload: one DOT feature's attributes, or
// the object id of a feature deleted in the DOT layer.
type pulled struct {
	OID        int64          `json:"oid"`
	Edited     int64          `json:"edited,omitempty"`
	Attributes map[string]any `json:"attributes,omitempty"`
	Deleted    bool           `json:"deleted,omitempty"`
}

// PullSource reads the DOT features edited since the last run, a page at a
// time. Where the service advertises change tracking (the ChangeTracking
// capability with server generations), it asks extractChanges for the
// features added, updated and deleted after the stored server generation:
// one call per run, which also sees features whose edit date a client set
// in the past, and deletes. Otherwise it reads the layer by (edit date,
// object id) after the stored key, and at the end of each read compares the
// layer's object ids with those the sync state knows, so deletes are found
// there too. The first run reads the whole layer by keyset, taking the
// server generation first, so that edits made during that read are seen
// by the next run's extractChanges.
type PullSource struct{ cfg Config }

// NewPullSource returns gis-pull's source.
func NewPullSource(cfg Config) (*PullSource, error) {
	cfg, err := cfg.withDefaults()
	return &PullSource{cfg: cfg}, err
}

// Changes implements work.Source.
func (s *PullSource) Changes(ctx context.Context, after work.Watermark) (work.Page, error) {
	var wm editMark
	if len(after) > 0 {
		if err := json.Unmarshal(after, &wm); err != nil {
			return work.Page{}, fmt.Errorf("gissync: watermark %s: %w", after, err)
		}
	}
	if wm.Tracked && !s.cfg.NoChangeTracking {
		return s.extract(ctx, wm)
	}
	if wm.Start == nil {
		gen := int64(-1)
		if !s.cfg.NoChangeTracking {
			g, ok, err := s.serverGen(ctx)
			if err != nil {
				return work.Page{}, err
			}
			if ok {
				gen = g
			}
		}
		wm.Start = &gen
	}
	return s.keyset(ctx, wm)
}

// serverGen returns the DOT layer's current server generation, and false
// when the service does not offer extractChanges by server generation.
func (s *PullSource) serverGen(ctx context.Context) (int64, bool, error) {
	svc, err := s.cfg.DOT.Service(ctx)
	if err != nil {
		return 0, false, fmt.Errorf("reading the DOT service: %w", err)
	}
	if !svc.Can("ChangeTracking") {
		return 0, false, nil
	}
	if c := svc.ExtractChangesCapabilities; c != nil && !c.SupportsServerGens {
		return 0, false, nil
	}
	gen, ok := svc.ServerGen(s.cfg.Layer)
	return gen, ok, nil
}

// keyset reads the page of features edited after the watermark's key; the
// last page also lists the features deleted since the sync last saw them.
func (s *PullSource) keyset(ctx context.Context, wm editMark) (work.Page, error) {
	ts := time.UnixMilli(wm.Edited).UTC().Format("2006-01-02 15:04:05.000")
	where := fmt.Sprintf("%s > TIMESTAMP '%s' OR (%s = TIMESTAMP '%s' AND %s > %d)",
		dotEditDate, ts, dotEditDate, ts, dotObjectID, wm.OID)
	fs, err := s.cfg.DOT.Query(ctx, s.cfg.Layer, arcgis.Query{
		Where: where, OutFields: dotOutFields, OrderBy: []string{dotEditDate + " ASC", dotObjectID + " ASC"},
		Count: s.cfg.PageSize,
	})
	if err != nil {
		return work.Page{}, fmt.Errorf("reading edited DOT features: %w", err)
	}
	out := work.Page{More: fs.ExceededTransferLimit || len(fs.Features) >= s.cfg.PageSize}
	for _, f := range fs.Features {
		it, key, err := featureItem(f)
		if err != nil {
			return work.Page{}, err
		}
		wm.Edited, wm.OID = key.Edited, key.OID
		if it != nil {
			out.Items = append(out.Items, *it)
		}
	}
	if !out.More {
		gone, err := s.deletedSinceSeen(ctx)
		if err != nil {
			return work.Page{}, err
		}
		out.Items = append(out.Items, gone...)
		if *wm.Start >= 0 {
			wm.Gen, wm.Tracked = *wm.Start, true
		}
		wm.Start = nil
	}
	out.Next, err = json.Marshal(wm)
	return out, err
}

// extract reads what changed after the watermark's server generation.
func (s *PullSource) extract(ctx context.Context, wm editMark) (work.Page, error) {
	ch, err := s.cfg.DOT.ExtractChanges(ctx, arcgis.ChangesRequest{Since: map[int]int64{s.cfg.Layer: wm.Gen}})
	if err != nil {
		return work.Page{}, fmt.Errorf("extracting DOT changes since generation %d: %w", wm.Gen, err)
	}
	var out work.Page
	if gen, ok := ch.ServerGen(s.cfg.Layer); ok {
		wm.Gen = gen
	}
	if lc, ok := ch.Layer(s.cfg.Layer); ok {
		for _, f := range append(lc.Features.Adds, lc.Features.Updates...) {
			it, key, err := featureItem(f)
			if err != nil {
				return work.Page{}, err
			}
			if key.Edited > wm.Edited || key.Edited == wm.Edited && key.OID > wm.OID {
				wm.Edited, wm.OID = key.Edited, key.OID
			}
			if it != nil {
				out.Items = append(out.Items, *it)
			}
		}
		gone, err := s.deleteItems(ctx, lc.Features.DeleteIDs)
		if err != nil {
			return work.Page{}, err
		}
		out.Items = append(out.Items, gone...)
	}
	out.Next, err = json.Marshal(wm)
	return out, err
}

// featureItem makes a feature into an item keyed by its asset id, and
// returns its keyset position; a feature without an asset id (a pole the
// CMS cannot know) gives no item.
func featureItem(f arcgis.Feature) (*work.Item, editMark, error) {
	oid, ok := f.ObjectID(dotObjectID)
	edited, ok2 := f.Time(dotEditDate)
	if !ok || !ok2 {
		return nil, editMark{}, fmt.Errorf("DOT feature without %s or %s: %v", dotObjectID, dotEditDate, f.Attributes)
	}
	key := editMark{Edited: edited.UnixMilli(), OID: oid}
	asset, _ := f.String(dotAssetID)
	if asset == "" {
		return nil, key, nil
	}
	it, err := work.NewItem(asset, pulled{OID: oid, Edited: key.Edited, Attributes: f.Attributes})
	return &it, key, err
}

// deletedSinceSeen lists, as delete items, the features the sync state
// knows whose object ids the layer no longer has.
func (s *PullSource) deletedSinceSeen(ctx context.Context) ([]work.Item, error) {
	ids, err := s.cfg.DOT.QueryIDs(ctx, s.cfg.Layer, arcgis.Query{})
	if err != nil {
		return nil, fmt.Errorf("listing DOT object ids: %w", err)
	}
	rows, err := s.cfg.DB.Query(ctx, `SELECT object_id FROM gis_sync
WHERE object_id IS NOT NULL AND NOT (object_id = ANY($1)) ORDER BY object_id`, ids)
	if err != nil {
		return nil, fmt.Errorf("finding deleted DOT features: %w", err)
	}
	gone, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("finding deleted DOT features: %w", err)
	}
	return s.deleteItems(ctx, gone)
}

// deleteItems makes deleted object ids into items keyed by the asset the
// sync state knows them as, or "dot-object:<id>" for features it never saw.
func (s *PullSource) deleteItems(ctx context.Context, oids []int64) ([]work.Item, error) {
	if len(oids) == 0 {
		return nil, nil
	}
	assets := map[int64]string{}
	rows, err := s.cfg.DB.Query(ctx, `SELECT object_id, asset_id FROM gis_sync WHERE object_id = ANY($1)`, oids)
	if err != nil {
		return nil, fmt.Errorf("reading assets of deleted DOT features: %w", err)
	}
	var oid int64
	var asset string
	if _, err := pgx.ForEachRow(rows, []any{&oid, &asset}, func() error { assets[oid] = asset; return nil }); err != nil {
		return nil, fmt.Errorf("reading assets of deleted DOT features: %w", err)
	}
	out := make([]work.Item, 0, len(oids))
	for _, oid := range oids {
		key := assets[oid]
		if key == "" {
			key = fmt.Sprintf("dot-object:%d", oid)
		}
		it, err := work.NewItem(key, pulled{OID: oid, Deleted: true})
		if err != nil {
			return nil, err
		}
		out = append(out, it)
	}
	return out, nil
}

// PullSink applies DOT edits to the CMS.
type PullSink struct {
	cfg Config
	log *slog.Logger
}

// NewPullSink returns gis-pull's sink.
func NewPullSink(cfg Config) (*PullSink, error) {
	cfg, err := cfg.withDefaults()
	return &PullSink{cfg: cfg, log: cfg.Logger.With("workflow", PullWorkflow)}, err
}

// Apply implements work.Sink. A feature whose record hashes as last synced
// (gis-push's own write, or an edit to fields the CMS does not keep) is
// skipped unread; for the others the CMS device is read, the records merged
// field by field, and the device patched under If-Match.
func (s *PullSink) Apply(ctx context.Context, items []work.Item) ([]work.Outcome, error) {
	now := s.cfg.Clock.Now()
	outs := make([]work.Outcome, len(items))
	feats := make([]pulled, len(items))
	assets := make([]string, 0, len(items))
	for i, it := range items {
		f, err := work.Decode[pulled](it)
		if err == nil && f.OID == 0 {
			err = fmt.Errorf("gissync: payload of %s is not a DOT feature: %s", it.Key, it.Payload)
		}
		if err != nil {
			outs[i] = work.Permanent(err)
			continue
		}
		feats[i] = f
		assets = append(assets, it.Key)
	}
	states, err := loadStates(ctx, s.cfg.DB, assets)
	if err != nil {
		return nil, err
	}
	var save []saved
	for i, it := range items {
		if outs[i].Status() != "" {
			continue
		}
		if ctx.Err() != nil {
			break
		}
		if feats[i].Deleted {
			outs[i] = s.deleted(ctx, it.Key, feats[i].OID, now)
			continue
		}
		var sv *saved
		outs[i], sv = s.one(ctx, it.Key, feats[i], states[it.Key])
		if sv != nil {
			save = append(save, *sv)
		}
	}
	if err := saveStates(ctx, s.cfg.DB, PullWorkflow, now, false, save); err != nil {
		for _, sv := range save {
			for i, it := range items {
				if it.Key == sv.AssetID && outs[i].Status() == work.Succeeded {
					outs[i] = work.Retry(err, 0)
				}
			}
		}
	}
	return outs, nil
}

// deletedSQL records a feature deleted in the DOT layer: the light's state
// forgets the object id and notes the deletion, and one report says what
// happened. A repeated delivery reports nothing more: the state no longer
// has the object id, or (for a feature the sync never saw) the report is
// there.
const deletedSQL = `
WITH gone AS (
    UPDATE gis_sync SET object_id = NULL, dot_hash = NULL, dot_deleted_at = $3, updated_at = $3
    WHERE asset_id = $1 AND object_id = $2
    RETURNING asset_id
)
INSERT INTO gis_sync_reports (at, workflow, asset_id, kind, field, dot_value, resolution)
SELECT $3, $4, $1, 'deleted', 'feature', $2::text, $5
WHERE EXISTS (SELECT 1 FROM gone)
   OR (NOT EXISTS (SELECT 1 FROM gis_sync WHERE asset_id = $1)
       AND NOT EXISTS (SELECT 1 FROM gis_sync_reports WHERE kind = 'deleted' AND asset_id = $1 AND dot_value = $2::text))`

// deletedResolution is what a deletion report says was done.
const deletedResolution = "not propagated: the CMS device is kept, and gis-push does not add the feature back"

// deleted reports a feature deleted in the DOT layer; the CMS is not told:
// a pole the DOT removed is for an operator to retire in the CMS.
func (s *PullSink) deleted(ctx context.Context, key string, oid int64, now time.Time) work.Outcome {
	if _, err := s.cfg.DB.Exec(ctx, deletedSQL, key, oid, now, PullWorkflow, deletedResolution); err != nil {
		return work.Retry(fmt.Errorf("reporting deleted DOT feature %d: %w", oid, err), 0)
	}
	s.log.WarnContext(ctx, "feature deleted in the DOT layer", "asset_id", key, "object_id", oid)
	return work.Skip(fmt.Sprintf("feature %d deleted in the DOT layer: reported", oid))
}

// pullStep is what gis-pull decides for one feature before it writes.
type pullStep struct {
	out    work.Outcome // set when nothing is to be written
	err    error        // the CMS read that failed, if one did
	sv     *saved
	dev    cms.Device
	cmsRec record
	d      decision
}

// decideOne reads the feature's CMS device and merges the records field by
// field, writing nothing.
func (s *PullSink) decideOne(ctx context.Context, asset string, p pulled, st *state) pullStep {
	dotRec := fromFeature(arcgis.Feature{Attributes: p.Attributes})
	if st != nil && st.DOTHash == dotRec.hash() {
		return pullStep{out: work.Skip("unchanged since the last sync")}
	}
	var dev cms.Device
	var err error
	if st != nil && st.DeviceID != "" {
		dev, err = s.cfg.CMS.Get(ctx, st.DeviceID)
	} else {
		dev, err = s.cfg.CMS.FindByExternalID(ctx, asset)
	}
	if errors.Is(err, cms.ErrNotFound) {
		return pullStep{out: work.Skip("no device for the asset in the CMS"), sv: &saved{state: state{AssetID: asset, ObjectID: p.OID}}}
	}
	if err != nil {
		return pullStep{out: cmsOutcome(err), err: err}
	}
	cmsRec := fromDevice(dev)
	var base record
	if st != nil {
		base = st.Base
	}
	d := decide(s.cfg.Ownership, OwnerCMS, dotRec, cmsRec, base, time.UnixMilli(p.Edited).After(dev.UpdatedAt))
	sv := &saved{state: state{AssetID: asset, ObjectID: p.OID, DeviceID: dev.ID, DOTHash: dotRec.hash(), Base: d.base}, reports: d.reports}
	step := pullStep{sv: sv, dev: dev, cmsRec: cmsRec, d: d}
	if len(d.write) == 0 {
		if d.agreed {
			sv.CMSHash = cmsRec.hash()
		}
		step.out = work.Skip("CMS already holds the DOT values")
	}
	return step
}

// one pulls one feature into the CMS.
func (s *PullSink) one(ctx context.Context, asset string, p pulled, st *state) (work.Outcome, *saved) {
	step := s.decideOne(ctx, asset, p, st)
	if step.out.Status() != "" {
		return step.out, step.sv
	}
	var patch cms.DevicePatch
	for f, v := range step.d.write {
		patchField(&patch, f, v)
	}
	updated, err := s.cfg.CMS.Update(ctx, step.dev.ID, patch, step.dev.Version)
	if err != nil {
		return cmsOutcome(err), nil
	}
	if step.d.agreed {
		step.sv.CMSHash = fromDevice(updated).hash()
	}
	return work.Success(updated.ID), step.sv
}

// cmsOutcome is the outcome of a failed CMS call: a device changed under
// us is read again and retried; the rest as the client's error says.
func cmsOutcome(err error) work.Outcome {
	if errors.Is(err, cms.ErrPreconditionFailed) {
		return work.Retry(err, 0)
	}
	return work.FromError(err)
}
