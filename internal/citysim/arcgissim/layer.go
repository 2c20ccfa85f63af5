package arcgissim

import (
	"cmp"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Field types a simulated layer supports, named as ArcGIS names them.
const (
	FieldOID      = "esriFieldTypeOID"
	FieldString   = "esriFieldTypeString"
	FieldInteger  = "esriFieldTypeInteger"
	FieldSmallInt = "esriFieldTypeSmallInteger"
	FieldDouble   = "esriFieldTypeDouble"
	FieldDate     = "esriFieldTypeDate"
)

// Field describes one attribute of a simulated layer, as it appears in
// the layer's fields metadata.
type Field struct {
	Name     string `json:"name"`
	Type     string `json:"type"`
	Alias    string `json:"alias"`
	Length   int    `json:"length,omitempty"`
	Nullable bool   `json:"nullable"`
	Editable bool   `json:"editable"`
}

// Point is a point geometry in WGS84 longitude (X) and latitude (Y).
type Point struct {
	X float64 `json:"x"`
	Y float64 `json:"y"`
}

// Feature is a feature as callers hand it to a layer or read it back:
// attribute values are strings, int64 (integers and dates in epoch
// milliseconds), float64 or nil.
type Feature struct {
	Attributes map[string]any
	Geometry   *Point
}

// LayerConfig defines a simulated feature layer. The object id field
// and, with EditTracking, the four edit-tracking fields are added to Fields
// when they are missing.
type LayerConfig struct {
	ID           int
	Name         string
	GeometryType string // "esriGeometryPoint", or "" for a table
	Fields       []Field
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

// record is one stored feature. Values are kept by field position.
type record struct {
	oid        int64
	vals       []any
	geom       *Point
	createdGen int64
	gen        int64
	deleted    bool
}

// deletion remembers a deleted feature for extractChanges.
type deletion struct {
	oid, createdGen, gen int64
}

// Layer is one simulated feature layer: its schema, its features indexed
// by object id, its edit-tracking date and its server generation. It is safe
// for concurrent use.
type Layer struct {
	cfg      LayerConfig
	fields   []Field
	fieldIdx map[string]int // lower-cased name -> position
	oidIdx   int
	track    struct{ created, creator, edited, editor int }

	mu       sync.RWMutex
	recs     []*record // ascending object id, tombstones included
	byOID    map[int64]*record
	live     int
	nextOID  int64
	gen      int64 // server generation, bumped by every edit
	minGen   int64
	deletes  []deletion
	lastEdit time.Time
	cache    queryCache
	indexes  map[int]index // field position -> index

	// betweenChunks, when set (by tests), runs between two pages of a
	// scan, where the layer's lock is free.
	betweenChunks func()
}

// NewLayer builds an empty layer from its definition.
func NewLayer(cfg LayerConfig) *Layer {
	cfg.ObjectIDField = cmp.Or(cfg.ObjectIDField, "OBJECTID")
	cfg.MaxRecordCount = cmp.Or(cfg.MaxRecordCount, 2000)
	l := &Layer{cfg: cfg, fieldIdx: map[string]int{}, byOID: map[int64]*record{}, nextOID: 1, gen: 1, minGen: 1}
	add := func(f Field) int {
		if i, ok := l.fieldIdx[strings.ToLower(f.Name)]; ok {
			return i
		}
		f.Alias = cmp.Or(f.Alias, f.Name)
		l.fields = append(l.fields, f)
		l.fieldIdx[strings.ToLower(f.Name)] = len(l.fields) - 1
		return len(l.fields) - 1
	}
	l.oidIdx = add(Field{Name: cfg.ObjectIDField, Type: FieldOID})
	for _, f := range cfg.Fields {
		add(f)
	}
	l.track.created, l.track.creator, l.track.edited, l.track.editor = -1, -1, -1, -1
	if cfg.EditTracking {
		l.track.created = add(Field{Name: "CreationDate", Type: FieldDate, Length: 8, Nullable: true})
		l.track.creator = add(Field{Name: "Creator", Type: FieldString, Length: 128, Nullable: true})
		l.track.edited = add(Field{Name: "EditDate", Type: FieldDate, Length: 8, Nullable: true})
		l.track.editor = add(Field{Name: "Editor", Type: FieldString, Length: 128, Nullable: true})
	}
	for _, name := range cfg.Indexes {
		if i, ok := l.field(name); ok {
			if l.indexes == nil {
				l.indexes = map[int]index{}
			}
			l.indexes[i] = index{}
		}
	}
	return l
}

// Config returns the layer's definition with its defaults applied.
func (l *Layer) Config() LayerConfig { return l.cfg }

// Fields returns the layer's fields, object id and edit-tracking included.
func (l *Layer) Fields() []Field { return append([]Field(nil), l.fields...) }

// Count returns the number of features in the layer.
func (l *Layer) Count() int {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.live
}

// ServerGen returns the layer's current server generation.
func (l *Layer) ServerGen() int64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.gen
}

// LastEditDate returns when the layer's data last changed.
func (l *Layer) LastEditDate() time.Time {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.lastEdit
}

// Get returns the feature with the given object id.
func (l *Layer) Get(oid int64) (Feature, bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	r, ok := l.byOID[oid]
	if !ok {
		return Feature{}, false
	}
	return l.featureOf(r), true
}

// featureOf copies a record out; the caller holds the lock.
func (l *Layer) featureOf(r *record) Feature {
	attrs := make(map[string]any, len(l.fields))
	for i, f := range l.fields {
		attrs[f.Name] = r.vals[i]
	}
	var g *Point
	if r.geom != nil {
		p := *r.geom
		g = &p
	}
	return Feature{Attributes: attrs, Geometry: g}
}

// field resolves a field name case-insensitively, as ArcGIS does.
func (l *Layer) field(name string) (int, bool) {
	i, ok := l.fieldIdx[strings.ToLower(name)]
	return i, ok
}

// resolve adapts field lookup for the where-clause compiler.
func (l *Layer) resolve(name string) (int, valueKind, bool) {
	i, ok := l.field(name)
	if !ok {
		return 0, 0, false
	}
	switch l.fields[i].Type {
	case FieldString:
		return i, kindString, true
	case FieldDate:
		return i, kindDate, true
	}
	return i, kindNumber, true
}

// convert turns a JSON-decoded or Go value into the stored form for a
// field's type.
func convert(f Field, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch f.Type {
	case FieldString:
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("field %s expects a string, got %T", f.Name, v)
		}
		if f.Length > 0 && len([]rune(s)) > f.Length {
			return nil, fmt.Errorf("string or binary data would be truncated in field %s", f.Name)
		}
		return s, nil
	case FieldDouble:
		switch n := v.(type) {
		case float64:
			return n, nil
		case int64:
			return float64(n), nil
		case int:
			return float64(n), nil
		}
	case FieldOID, FieldInteger, FieldSmallInt, FieldDate:
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
			if f.Type == FieldDate {
				return n.UnixMilli(), nil
			}
		}
	}
	return nil, fmt.Errorf("field %s of type %s cannot hold %T", f.Name, f.Type, v)
}
