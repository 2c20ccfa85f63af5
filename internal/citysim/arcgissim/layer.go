package citysim

import (
	"cmp"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Field types a simulated layer supports, named as ArcGIS names them.
const (
	ArcGISFieldOID      = "esriFieldTypeOID"
	ArcGISFieldString   = "esriFieldTypeString"
	ArcGISFieldInteger  = "esriFieldTypeInteger"
	ArcGISFieldSmallInt = "esriFieldTypeSmallInteger"
	ArcGISFieldDouble   = "esriFieldTypeDouble"
	ArcGISFieldDate     = "esriFieldTypeDate"
)

// ArcGISField describes one attribute of a simulated layer, as it appears in
// the layer's fields metadata.
type ArcGISField struct {
	Name     string `json:"name"`
	Type     string `json:"type"`
	Alias    string `json:"alias"`
	Length   int    `json:"length,omitempty"`
	Nullable bool   `json:"nullable"`
	Editable bool   `json:"editable"`
}

// ArcGISPoint is a point geometry in WGS84 longitude (X) and latitude (Y).
type ArcGISPoint struct {
	X float64 `json:"x"`
	Y float64 `json:"y"`
}

// ArcGISFeature is a feature as callers hand it to a layer or read it back:
// attribute values are strings, int64 (integers and dates in epoch
// milliseconds), float64 or nil.
type ArcGISFeature struct {
	Attributes map[string]any
	Geometry   *ArcGISPoint
}

// ArcGISLayerConfig defines a simulated feature layer. The object id field
// and, with EditTracking, the four edit-tracking fields are added to Fields
// when they are missing.
type ArcGISLayerConfig struct {
	ID           int
	Name         string
	GeometryType string // "esriGeometryPoint", or "" for a table
	Fields       []ArcGISField
	DisplayField string
	// ObjectIDField defaults to OBJECTID.
	ObjectIDField string
	// MaxRecordCount caps a query page; it defaults to 2000.
	MaxRecordCount int
	// NoPagination makes the layer answer supportsPagination false and
	// refuse resultOffset, as older services do.
	NoPagination bool
	// EditTracking adds CreationDate, Creator, EditDate and Editor.
	EditTracking bool
	// Indexes names fields to keep a hash index on, so that where clauses
	// with "field = value" or "field IN (...)" skip the full scan.
	Indexes []string
}

// arcgisRecord is one stored feature. Values are kept by field position.
type arcgisRecord struct {
	oid        int64
	vals       []any
	geom       *ArcGISPoint
	createdGen int64
	gen        int64
	deleted    bool
}

// arcgisDeletion remembers a deleted feature for extractChanges.
type arcgisDeletion struct {
	oid, createdGen, gen int64
}

// ArcGISLayer is one simulated feature layer: its schema, its features indexed
// by object id, its edit-tracking date and its server generation. It is safe
// for concurrent use.
type ArcGISLayer struct {
	cfg      ArcGISLayerConfig
	fields   []ArcGISField
	fieldIdx map[string]int // lower-cased name -> position
	oidIdx   int
	track    struct{ created, creator, edited, editor int }

	mu       sync.RWMutex
	recs     []*arcgisRecord // ascending object id, tombstones included
	byOID    map[int64]*arcgisRecord
	live     int
	nextOID  int64
	gen      int64 // server generation, bumped by every edit
	minGen   int64
	deletes  []arcgisDeletion
	lastEdit time.Time
	cache    arcgisQueryCache
	indexes  map[int]arcgisIndex // field position -> index
}

// NewArcGISLayer builds an empty layer from its definition.
func NewArcGISLayer(cfg ArcGISLayerConfig) *ArcGISLayer {
	cfg.ObjectIDField = cmp.Or(cfg.ObjectIDField, "OBJECTID")
	cfg.MaxRecordCount = cmp.Or(cfg.MaxRecordCount, 2000)
	l := &ArcGISLayer{cfg: cfg, fieldIdx: map[string]int{}, byOID: map[int64]*arcgisRecord{}, nextOID: 1, gen: 1, minGen: 1}
	add := func(f ArcGISField) int {
		if i, ok := l.fieldIdx[strings.ToLower(f.Name)]; ok {
			return i
		}
		f.Alias = cmp.Or(f.Alias, f.Name)
		l.fields = append(l.fields, f)
		l.fieldIdx[strings.ToLower(f.Name)] = len(l.fields) - 1
		return len(l.fields) - 1
	}
	l.oidIdx = add(ArcGISField{Name: cfg.ObjectIDField, Type: ArcGISFieldOID})
	for _, f := range cfg.Fields {
		add(f)
	}
	l.track.created, l.track.creator, l.track.edited, l.track.editor = -1, -1, -1, -1
	if cfg.EditTracking {
		l.track.created = add(ArcGISField{Name: "CreationDate", Type: ArcGISFieldDate, Length: 8, Nullable: true})
		l.track.creator = add(ArcGISField{Name: "Creator", Type: ArcGISFieldString, Length: 128, Nullable: true})
		l.track.edited = add(ArcGISField{Name: "EditDate", Type: ArcGISFieldDate, Length: 8, Nullable: true})
		l.track.editor = add(ArcGISField{Name: "Editor", Type: ArcGISFieldString, Length: 128, Nullable: true})
	}
	for _, name := range cfg.Indexes {
		if i, ok := l.field(name); ok {
			if l.indexes == nil {
				l.indexes = map[int]arcgisIndex{}
			}
			l.indexes[i] = arcgisIndex{}
		}
	}
	return l
}

// Config returns the layer's definition with its defaults applied.
func (l *ArcGISLayer) Config() ArcGISLayerConfig { return l.cfg }

// Fields returns the layer's fields, object id and edit-tracking included.
func (l *ArcGISLayer) Fields() []ArcGISField { return append([]ArcGISField(nil), l.fields...) }

// Count returns the number of features in the layer.
func (l *ArcGISLayer) Count() int {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.live
}

// ServerGen returns the layer's current server generation.
func (l *ArcGISLayer) ServerGen() int64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.gen
}

// LastEditDate returns when the layer's data last changed.
func (l *ArcGISLayer) LastEditDate() time.Time {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.lastEdit
}

// Get returns the feature with the given object id.
func (l *ArcGISLayer) Get(oid int64) (ArcGISFeature, bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	r, ok := l.byOID[oid]
	if !ok {
		return ArcGISFeature{}, false
	}
	return l.featureOf(r), true
}

// featureOf copies a record out; the caller holds the lock.
func (l *ArcGISLayer) featureOf(r *arcgisRecord) ArcGISFeature {
	attrs := make(map[string]any, len(l.fields))
	for i, f := range l.fields {
		attrs[f.Name] = r.vals[i]
	}
	var g *ArcGISPoint
	if r.geom != nil {
		p := *r.geom
		g = &p
	}
	return ArcGISFeature{Attributes: attrs, Geometry: g}
}

// field resolves a field name case-insensitively, as ArcGIS does.
func (l *ArcGISLayer) field(name string) (int, bool) {
	i, ok := l.fieldIdx[strings.ToLower(name)]
	return i, ok
}

// resolve adapts field lookup for the where-clause compiler.
func (l *ArcGISLayer) resolve(name string) (int, arcgisKind, bool) {
	i, ok := l.field(name)
	if !ok {
		return 0, 0, false
	}
	switch l.fields[i].Type {
	case ArcGISFieldString:
		return i, arcgisKindString, true
	case ArcGISFieldDate:
		return i, arcgisKindDate, true
	}
	return i, arcgisKindNumber, true
}

// arcgisConvert turns a JSON-decoded or Go value into the stored form for a
// field's type.
func arcgisConvert(f ArcGISField, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch f.Type {
	case ArcGISFieldString:
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("field %s expects a string, got %T", f.Name, v)
		}
		if f.Length > 0 && len([]rune(s)) > f.Length {
			return nil, fmt.Errorf("string or binary data would be truncated in field %s", f.Name)
		}
		return s, nil
	case ArcGISFieldDouble:
		switch n := v.(type) {
		case float64:
			return n, nil
		case int64:
			return float64(n), nil
		case int:
			return float64(n), nil
		}
	case ArcGISFieldOID, ArcGISFieldInteger, ArcGISFieldSmallInt, ArcGISFieldDate:
		switch n := v.(type) {
		case float64:
			if n != float64(int64(n)) {
				return nil, fmt.Errorf("field %s expects an integer, got %v", f.Name, n)
			}
			return int64(n), nil
		case int64:
			return n, nil
		case int:
			return int64(n), nil
		case time.Time:
			if f.Type == ArcGISFieldDate {
				return n.UnixMilli(), nil
			}
		}
	}
	return nil, fmt.Errorf("field %s of type %s cannot hold %T", f.Name, f.Type, v)
}
