package arcgisimport

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/citylink/citylink/internal/arcgis"
	"github.com/citylink/citylink/internal/work"
)

// watermark is how far the import has read the audit layer. Edited and OID
// are the (edit date, object id) keyset position of the last feature read.
// Gen is the service's server generation as of the start of the first whole
// read: once set, later runs ask extractChanges for what changed after it.
// Full marks the pages of that first whole read, which goes by object id
// alone (the key a layer always indexes); StartGen and StartEdit, the
// service's generation and the layer's last edit date when it began, become
// Gen and Edited when it is done, so later runs read every edit made since
// it started, those made during it included.
type watermark struct {
	Edited    time.Time `json:"edited,omitzero"`
	OID       int64     `json:"oid,omitempty"`
	Gen       int64     `json:"gen,omitempty"`
	Full      bool      `json:"full,omitempty"`
	StartGen  int64     `json:"startGen,omitempty"`
	StartEdit time.Time `json:"startEdit,omitzero"`
}

// Source reads approved audits from the audit layer for the engine, one
// page per call. The first run reads the whole layer in object id order
// (the key every layer indexes, so each page costs the server one index
// seek). Later runs, where the service tracks changes, ask extractChanges
// for the features added or updated since the server generation taken
// before that first read: one call, and it also sees features whose edit
// date a client set in the past. Without change tracking they page the
// layer by (edit date, object id) from the layer's last edit date at the
// start of the first read, so audits that share one edit date (auditors
// sync in batches) are neither missed nor repeated. A feature read twice
// (edited during a read, then seen again as a change) is harmless: the sink
// upserts by asset id.
type Source struct {
	Client  *arcgis.Client
	Layer   int
	Mapping Mapping
	// PageSize is the features per keyset page, capped by the layer's
	// maxRecordCount; the layer's own limit when zero.
	PageSize int
	// NoChangeTracking keeps to keyset reads even where the service offers
	// extractChanges.
	NoChangeTracking bool

	mu                 sync.Mutex
	oidField, editDate string
}

// Changes returns the page of approved audits that follows after.
func (s *Source) Changes(ctx context.Context, after work.Watermark) (work.Page, error) {
	var wm watermark
	if len(after) > 0 {
		if err := json.Unmarshal(after, &wm); err != nil {
			return work.Page{}, fmt.Errorf("reading watermark %s: %w", after, err)
		}
	}
	if wm.Gen > 0 && !s.NoChangeTracking {
		return s.extract(ctx, wm)
	}
	if len(after) == 0 {
		// The first run: read the whole layer, noting where it stood.
		wm.Full = true
		if !s.NoChangeTracking {
			gen, err := s.serverGen(ctx)
			if err != nil {
				return work.Page{}, err
			}
			wm.StartGen = gen
		}
		info, err := s.Client.Layer(ctx, s.Layer)
		if err != nil {
			return work.Page{}, fmt.Errorf("reading the audit layer: %w", err)
		}
		wm.StartEdit = info.LastEditDate()
	}
	return s.keyset(ctx, wm)
}

// serverGen returns the service's current generation for the layer, or 0
// when it does not track changes.
func (s *Source) serverGen(ctx context.Context) (int64, error) {
	svc, err := s.Client.Service(ctx)
	if err != nil {
		return 0, fmt.Errorf("reading the audit service: %w", err)
	}
	if !svc.Can("ChangeTracking") {
		return 0, nil
	}
	gen, _ := svc.ServerGen(s.Layer)
	return gen, nil
}

// layer reads the audit layer's object id and edit date fields, once.
func (s *Source) layer(ctx context.Context) (oid, edit string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.oidField == "" {
		info, err := s.Client.Layer(ctx, s.Layer)
		if err != nil {
			return "", "", fmt.Errorf("reading the audit layer: %w", err)
		}
		s.oidField, s.editDate = info.ObjectIDField, s.Mapping.Fields.EditDate
		if s.editDate == "" && info.EditFieldsInfo != nil {
			s.editDate = info.EditFieldsInfo.EditDateField
		}
	}
	if s.editDate == "" {
		return "", "", fmt.Errorf("audit layer %d tracks no edit dates: name the edit date field in the mapping", s.Layer)
	}
	return s.oidField, s.editDate, nil
}

// keyset reads the page of approved audits after the watermark's key.
func (s *Source) keyset(ctx context.Context, wm watermark) (work.Page, error) {
	oid, edit, err := s.layer(ctx)
	if err != nil {
		return work.Page{}, err
	}
	q := arcgis.KeysetQuery{
		Query: arcgis.Query{Where: s.Mapping.where(), Geometry: true, OutSR: 4326, Count: s.PageSize},
		After: arcgis.Key{Edited: wm.Edited, ObjectID: wm.OID},
	}
	if !wm.Full {
		q.EditField = edit
	}
	p, err := s.Client.QueryAfter(ctx, s.Layer, q)
	if err != nil {
		return work.Page{}, fmt.Errorf("reading audits after %v/%d: %w", wm.Edited, wm.OID, err)
	}
	items, err := s.items(p.FeatureSet, oid)
	if err != nil {
		return work.Page{}, err
	}
	next := watermark{Edited: p.Last.Edited, OID: p.Last.ObjectID}
	if wm.Full {
		next.Full, next.StartGen, next.StartEdit = true, wm.StartGen, wm.StartEdit
		if !p.More {
			next = watermark{Gen: wm.StartGen, Edited: wm.StartEdit}
		}
	}
	b, err := json.Marshal(next)
	if err != nil {
		return work.Page{}, err
	}
	return work.Page{Items: items, Next: b, More: p.More}, nil
}

// extract reads the features added or updated since the watermark's
// generation, keeping the approved ones.
func (s *Source) extract(ctx context.Context, wm watermark) (work.Page, error) {
	oid, _, err := s.layer(ctx)
	if err != nil {
		return work.Page{}, err
	}
	ch, err := s.Client.ExtractChanges(ctx, arcgis.ChangesRequest{Since: map[int]int64{s.Layer: wm.Gen}})
	if err != nil {
		return work.Page{}, fmt.Errorf("extracting changes since generation %d: %w", wm.Gen, err)
	}
	next := wm
	if gen, ok := ch.ServerGen(s.Layer); ok {
		next.Gen = gen
	}
	var fs arcgis.FeatureSet
	if lc, ok := ch.Layer(s.Layer); ok {
		for _, f := range append(lc.Features.Adds, lc.Features.Updates...) {
			if s.Mapping.approved(f) {
				fs.Features = append(fs.Features, f)
			}
		}
	}
	items, err := s.items(&fs, oid)
	if err != nil {
		return work.Page{}, err
	}
	b, err := json.Marshal(next)
	if err != nil {
		return work.Page{}, err
	}
	return work.Page{Items: items, Next: b}, nil
}

// items maps a page of features into items, one per feature.
func (s *Source) items(fs *arcgis.FeatureSet, oidField string) ([]work.Item, error) {
	if fs.ObjectIDFieldName != "" {
		oidField = fs.ObjectIDFieldName
	}
	items := make([]work.Item, 0, len(fs.Features))
	for _, f := range fs.Features {
		oid, _ := f.ObjectID(oidField)
		l := s.Mapping.Map(f, oid)
		it, err := work.NewItem(l.key(), l)
		if err != nil {
			return nil, err
		}
		items = append(items, it)
	}
	return items, nil
}
