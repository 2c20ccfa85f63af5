package gissync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/citylink/citylink/internal/arcgis"
	"github.com/citylink/citylink/internal/cms"
	"github.com/citylink/citylink/internal/work"
)

// editMark is gis-pull's watermark: the (edit date, object id) of the last
// feature read, so features that share an edit date are never missed.
type editMark struct {
	Edited int64 `json:"edited"` // epoch milliseconds
	OID    int64 `json:"oid"`
}

// pulled is a gis-pull item's payload: one DOT feature's attributes.
type pulled struct {
	OID        int64          `json:"oid"`
	Edited     int64          `json:"edited"`
	Attributes map[string]any `json:"attributes"`
}

// PullSource reads the DOT features edited after the stored (edit date,
// object id), in that order, a page at a time.
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
		oid, ok := f.ObjectID(dotObjectID)
		edited, ok2 := f.Time(dotEditDate)
		if !ok || !ok2 {
			return work.Page{}, fmt.Errorf("DOT feature without %s or %s: %v", dotObjectID, dotEditDate, f.Attributes)
		}
		wm = editMark{Edited: edited.UnixMilli(), OID: oid}
		asset, _ := f.String(dotAssetID)
		if asset == "" {
			continue // a pole the CMS cannot know
		}
		it, err := work.NewItem(asset, pulled{OID: oid, Edited: wm.Edited, Attributes: f.Attributes})
		if err != nil {
			return work.Page{}, err
		}
		out.Items = append(out.Items, it)
	}
	out.Next, err = json.Marshal(wm)
	return out, err
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
