package arcgis

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Feature is one feature or table row. Attributes decoded from the server
// hold strings, json.Number (numbers stay exact: object ids and epoch
// milliseconds never pass through float64), bools or nil. Attributes set by
// the caller for applyEdits may also be ints, floats and time.Time, which is
// sent as epoch milliseconds. Geometry is kept as the server sent it; Point
// reads point geometries.
type Feature struct {
	Attributes map[string]any  `json:"attributes"`
	Geometry   json.RawMessage `json:"geometry,omitempty"`
}

// Point is a point geometry. X is longitude and Y latitude in WGS84.
type Point struct {
	X                float64           `json:"x"`
	Y                float64           `json:"y"`
	SpatialReference *SpatialReference `json:"spatialReference,omitempty"`
}

// SpatialReference names a coordinate system by well-known id.
type SpatialReference struct {
	WKID       int `json:"wkid,omitempty"`
	LatestWKID int `json:"latestWkid,omitempty"`
}

// Point reads the feature's geometry as a point; ok is false when it has
// none or it is not a point.
func (f Feature) Point() (Point, bool) {
	if len(f.Geometry) == 0 || string(f.Geometry) == "null" {
		return Point{}, false
	}
	var p struct {
		X, Y *float64
	}
	if err := json.Unmarshal(f.Geometry, &p); err != nil || p.X == nil || p.Y == nil {
		return Point{}, false
	}
	return Point{X: *p.X, Y: *p.Y}, true
}

// SetPoint sets a WGS84 point geometry.
func (f *Feature) SetPoint(lon, lat float64) {
	f.Geometry, _ = json.Marshal(Point{X: lon, Y: lat, SpatialReference: &SpatialReference{WKID: 4326}})
}

// value finds an attribute by name, exactly first and then
// case-insensitively, since ArcGIS field names are case-insensitive.
func (f Feature) value(name string) (any, bool) {
	if v, ok := f.Attributes[name]; ok {
		return v, true
	}
	for k, v := range f.Attributes {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return nil, false
}

// String returns a string attribute; ok is false when it is absent, null or
// not a string.
func (f Feature) String(name string) (string, bool) {
	v, _ := f.value(name)
	s, ok := v.(string)
	return s, ok
}

// Int returns an integer attribute; ok is false when it is absent, null or
// not a whole number.
func (f Feature) Int(name string) (int64, bool) {
	v, _ := f.value(name)
	switch n := v.(type) {
	case json.Number:
		i, err := n.Int64()
		if err != nil {
			fl, ferr := n.Float64()
			if ferr != nil || fl != math.Trunc(fl) {
				return 0, false
			}
			return int64(fl), true
		}
		return i, true
	case float64:
		return int64(n), n == math.Trunc(n)
	case int64:
		return n, true
	case int:
		return int64(n), true
	}
	return 0, false
}

// Float returns a numeric attribute.
func (f Feature) Float(name string) (float64, bool) {
	v, _ := f.value(name)
	switch n := v.(type) {
	case json.Number:
		fl, err := n.Float64()
		return fl, err == nil
	case float64:
		return n, true
	case int64:
		return float64(n), true
	case int:
		return float64(n), true
	}
	return 0, false
}

// Time returns a date attribute, which ArcGIS carries as epoch
// milliseconds in UTC.
func (f Feature) Time(name string) (time.Time, bool) {
	if v, _ := f.value(name); v != nil {
		if t, ok := v.(time.Time); ok {
			return t, true
		}
	}
	ms, ok := f.Int(name)
	if !ok {
		return time.Time{}, false
	}
	return time.UnixMilli(ms).UTC(), true
}

// ObjectID returns the feature's object id from the named field.
func (f Feature) ObjectID(field string) (int64, bool) { return f.Int(field) }

// MarshalJSON writes the feature as applyEdits expects it, with times as
// epoch milliseconds.
func (f Feature) MarshalJSON() ([]byte, error) {
	attrs := make(map[string]any, len(f.Attributes))
	for k, v := range f.Attributes {
		switch t := v.(type) {
		case time.Time:
			attrs[k] = t.UnixMilli()
		case *time.Time:
			if t == nil {
				attrs[k] = nil
			} else {
				attrs[k] = t.UnixMilli()
			}
		default:
			attrs[k] = v
		}
	}
	type wire struct {
		Attributes map[string]any  `json:"attributes"`
		Geometry   json.RawMessage `json:"geometry,omitempty"`
	}
	b, err := json.Marshal(wire{Attributes: attrs, Geometry: f.Geometry})
	if err != nil {
		return nil, fmt.Errorf("encoding feature: %w", err)
	}
	return b, nil
}

// formatIDs joins object ids for the objectIds parameter.
func formatIDs(ids []int64) string {
	var b strings.Builder
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatInt(id, 10))
	}
	return b.String()
}
