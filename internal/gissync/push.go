package gissync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/citylink/citylink/internal/arcgis"
	"github.com/citylink/citylink/internal/cms"
	"github.com/citylink/citylink/internal/work"
)

// cursorMark is gis-push's watermark: the CMS device listing's cursor.
type cursorMark struct {
	Cursor string `json:"cursor"`
}

// PushSource reads the CMS devices written since the stored cursor.
type PushSource struct{ cfg Config }

// NewPushSource returns gis-push's source.
func NewPushSource(cfg Config) (*PushSource, error) {
	cfg, err := cfg.withDefaults()
	return &PushSource{cfg: cfg}, err
}

// Changes implements work.Source: one page of the CMS device listing.
func (s *PushSource) Changes(ctx context.Context, after work.Watermark) (work.Page, error) {
	var wm cursorMark
	if len(after) > 0 {
		if err := json.Unmarshal(after, &wm); err != nil {
			return work.Page{}, fmt.Errorf("gissync: watermark %s: %w", after, err)
		}
	}
	page, err := s.cfg.CMS.DevicesPage(ctx, cms.DeviceQuery{After: wm.Cursor})
	if err != nil {
		return work.Page{}, fmt.Errorf("reading devices: %w", err)
	}
	out := work.Page{More: page.More}
	for _, d := range page.Devices {
		if d.ExternalID == "" {
			continue // not a city asset: nothing to match in the DOT layer
		}
		it, err := work.NewItem(d.ExternalID, d)
		if err != nil {
			return work.Page{}, err
		}
		out.Items = append(out.Items, it)
	}
	if page.NextCursor != "" {
		wm.Cursor = page.NextCursor
	}
	out.Next, err = json.Marshal(wm)
	return out, err
}

// PushSink upserts devices into the DOT layer with applyEdits.
type PushSink struct {
	cfg Config
	log *slog.Logger
}

// NewPushSink returns gis-push's sink.
func NewPushSink(cfg Config) (*PushSink, error) {
	cfg, err := cfg.withDefaults()
	return &PushSink{cfg: cfg, log: cfg.Logger.With("workflow", PushWorkflow)}, err
}

// pushing is one device on its way to the DOT layer.
type pushing struct {
	i      int
	dev    cms.Device
	rec    record
	st     *state
	feat   *arcgis.Feature
	dotRec record
	edited time.Time
	// write and reports are the plan's decision for a matched feature.
	write   map[string]string
	reports []report
}

// pushPlan is what gis-push would do with one batch: the outcomes known
// before any edit, the edits to send and the states to save.
type pushPlan struct {
	outs            []work.Outcome
	edits           arcgis.Edits
	adds, updates   []*pushing
	changed         []*pushing
	save            []saved
	unchanged, same int // skipped unread; DOT already holding the values
	deleted         int // deleted in the DOT layer, not added back
}

// plan decides a batch without writing: a device whose record hashes as
// last synced is skipped unread; the others are matched with their DOT
// features (by the kept object id, else by asset id) and merged field by
// field into adds and updates. A failed match is returned as matchErr,
// with no edits.
func (s *PushSink) plan(ctx context.Context, db querier, items []work.Item) (pl *pushPlan, matchErr, err error) {
	pl = &pushPlan{outs: make([]work.Outcome, len(items))}
	var todo []*pushing
	assets := make([]string, 0, len(items))
	for i, it := range items {
		d, err := work.Decode[cms.Device](it)
		if err == nil && d.ExternalID == "" {
			err = fmt.Errorf("gissync: payload of %s is not a CMS device: %s", it.Key, it.Payload)
		}
		if err != nil {
			pl.outs[i] = work.Permanent(err)
			continue
		}
		todo = append(todo, &pushing{i: i, dev: d, rec: fromDevice(d)})
		assets = append(assets, d.ExternalID)
	}
	states, err := loadStates(ctx, db, assets)
	if err != nil {
		return nil, nil, err
	}
	for _, p := range todo {
		p.st = states[p.dev.ExternalID]
		if p.st != nil && p.st.CMSHash == p.rec.hash() {
			pl.outs[p.i] = work.Skip("unchanged since the last sync")
			pl.unchanged++
			continue
		}
		pl.changed = append(pl.changed, p)
	}
	if len(pl.changed) == 0 {
		return pl, nil, nil
	}
	if err := s.match(ctx, pl.changed); err != nil {
		return pl, err, nil
	}
	for _, p := range pl.changed {
		if p.feat == nil && p.st != nil && p.st.DOTDeleted {
			pl.outs[p.i] = work.Skip("feature deleted in the DOT layer (reported by gis-pull): not added back")
			pl.deleted++
			continue
		}
		if p.feat == nil {
			f := arcgis.Feature{Attributes: map[string]any{dotAssetID: p.dev.ExternalID}}
			for _, name := range fields {
				f.Attributes[dotField[name]] = dotValue(name, p.rec[name])
			}
			if p.dev.Location != (cms.Location{}) {
				f.SetPoint(p.dev.Location.Longitude, p.dev.Location.Latitude)
			}
			pl.edits.Adds = append(pl.edits.Adds, f)
			pl.adds = append(pl.adds, p)
			continue
		}
		var base record
		if p.st != nil {
			base = p.st.Base
		}
		d := decide(s.cfg.Ownership, OwnerDOT, p.rec, p.dotRec, base, !p.dev.UpdatedAt.Before(p.edited))
		p.write = d.write
		sv := saved{state: state{AssetID: p.dev.ExternalID, DeviceID: p.dev.ID, CMSHash: p.rec.hash(), Base: d.base}, reports: d.reports}
		sv.ObjectID, _ = p.feat.ObjectID(dotObjectID)
		p.reports = d.reports
		if len(d.write) == 0 {
			if d.agreed {
				sv.DOTHash = p.dotRec.hash()
			}
			pl.save = append(pl.save, sv)
			pl.outs[p.i] = work.Skip("DOT layer already holds the CMS values")
			pl.same++
			continue
		}
		f := arcgis.Feature{Attributes: map[string]any{dotObjectID: sv.ObjectID}}
		after := record{}
		for k, v := range p.dotRec {
			after[k] = v
		}
		for name, v := range d.write {
			f.Attributes[dotField[name]] = dotValue(name, v)
			after[name] = v
		}
		if d.agreed {
			sv.DOTHash = after.hash()
		}
		pl.edits.Updates = append(pl.edits.Updates, f)
		pl.updates = append(pl.updates, p)
		pl.save = append(pl.save, sv)
	}
	return pl, nil, nil
}

// Apply implements work.Sink: the plan's edits go in one applyEdits call
// with rollbackOnFailure false, each feature's result becoming its item's
// outcome, and the states of what landed are saved.
func (s *PushSink) Apply(ctx context.Context, items []work.Item) ([]work.Outcome, error) {
	now := s.cfg.Clock.Now()
	pl, matchErr, err := s.plan(ctx, s.cfg.DB, items)
	if err != nil {
		return nil, err
	}
	outs, changed := pl.outs, pl.changed
	if matchErr != nil {
		for _, p := range changed {
			outs[p.i] = work.FromError(matchErr)
		}
		return outs, nil
	}
	if len(changed) == 0 {
		return outs, nil
	}
	edits, adds, updates, save := pl.edits, pl.adds, pl.updates, pl.save
	if len(edits.Adds)+len(edits.Updates) > 0 {
		res, err := s.cfg.DOT.ApplyEdits(ctx, s.cfg.Layer, edits)
		if err != nil {
			// Adds may have landed: the next try finds them by asset id.
			for _, p := range append(adds, updates...) {
				outs[p.i] = work.FromError(err)
			}
			save = dropAssets(save, append(adds, updates...))
		} else {
			for j, p := range adds {
				r := res.AddResults[j]
				if err := r.Err(); err != nil {
					outs[p.i] = editOutcome(err)
					continue
				}
				outs[p.i] = work.Success(strconv.FormatInt(r.ObjectID, 10))
				save = append(save, saved{state: state{AssetID: p.dev.ExternalID, ObjectID: r.ObjectID, DeviceID: p.dev.ID,
					CMSHash: p.rec.hash(), DOTHash: p.rec.hash(), Base: p.rec}})
			}
			var failed []*pushing
			for j, p := range updates {
				r := res.UpdateResults[j]
				if err := r.Err(); err != nil {
					outs[p.i] = editOutcome(err)
					failed = append(failed, p)
					continue
				}
				outs[p.i] = work.Success(strconv.FormatInt(r.ObjectID, 10))
			}
			save = dropAssets(save, failed)
		}
	}
	if err := saveStates(ctx, s.cfg.DB, PushWorkflow, now, true, save); err != nil {
		// The DOT layer has the edits; without the state the next run
		// reads the features again and finds nothing to write.
		for _, sv := range save {
			for _, p := range changed {
				if p.dev.ExternalID == sv.AssetID && outs[p.i].Status() == work.Succeeded {
					outs[p.i] = work.Retry(err, 0)
				}
			}
		}
	}
	return outs, nil
}

// dropAssets removes the states of failed edits, so that their next try
// starts from what was last saved.
func dropAssets(list []saved, failed []*pushing) []saved {
	if len(failed) == 0 {
		return list
	}
	gone := map[string]bool{}
	for _, p := range failed {
		gone[p.dev.ExternalID] = true
	}
	out := list[:0]
	for _, s := range list {
		if !gone[s.AssetID] {
			out = append(out, s)
		}
	}
	return out
}

// match finds the DOT features of the devices: by object id where one is
// kept, and by asset id for the rest (and for kept ids the layer no longer
// has).
func (s *PushSink) match(ctx context.Context, list []*pushing) error {
	byAsset := make(map[string]*pushing, len(list))
	var oids []int64
	for _, p := range list {
		byAsset[p.dev.ExternalID] = p
		if p.st != nil && p.st.ObjectID != 0 {
			oids = append(oids, p.st.ObjectID)
		}
	}
	take := func(fs *arcgis.FeatureSet) {
		for i := range fs.Features {
			f := fs.Features[i]
			asset, _ := f.String(dotAssetID)
			if p := byAsset[asset]; p != nil && p.feat == nil {
				p.feat, p.dotRec = &f, fromFeature(f)
				p.edited, _ = f.Time(dotEditDate)
			}
		}
	}
	if len(oids) > 0 {
		fs, err := s.cfg.DOT.Query(ctx, s.cfg.Layer, arcgis.Query{ObjectIDs: oids, OutFields: dotOutFields})
		if err != nil {
			return fmt.Errorf("reading DOT features by object id: %w", err)
		}
		take(fs)
	}
	var lookup []string
	for _, p := range list {
		if p.feat == nil {
			lookup = append(lookup, "'"+strings.ReplaceAll(p.dev.ExternalID, "'", "''")+"'")
		}
	}
	if len(lookup) > 0 {
		fs, err := s.cfg.DOT.Query(ctx, s.cfg.Layer, arcgis.Query{
			Where: dotAssetID + " IN (" + strings.Join(lookup, ",") + ")", OutFields: dotOutFields,
		})
		if err != nil {
			return fmt.Errorf("looking DOT features up by asset id: %w", err)
		}
		take(fs)
	}
	return nil
}

// editOutcome is the outcome of one feature's failed edit: a missing object
// is looked up again next time; any other edit error is the feature's data.
func editOutcome(err error) work.Outcome {
	var ee *arcgis.EditError
	if errors.As(err, &ee) && (ee.Code == arcgis.EditErrObjectMissing || ee.Code == arcgis.EditErrRolledBack) {
		return work.Retry(err, 0)
	}
	return work.Permanent(err)
}
