package arcgissim

import (
	"fmt"
	"strings"
	"time"
)

// Edit error codes, as ArcGIS reports them in applyEdits results.
const (
	editErrGeneric    = 1000 // a value or SQL error on one feature
	editErrRolledBack = 1003 // "Operation rolled back."
	editErrMissing    = 1011 // "Object is missing." (1019 is an internal error during update)
)

// EditError is the error object of one failed edit.
type EditError struct {
	Code        int    `json:"code"`
	Description string `json:"description"`
}

// EditResult is the outcome of one add, update or delete.
type EditResult struct {
	ObjectID int64      `json:"objectId"`
	GlobalID *string    `json:"globalId"`
	Success  bool       `json:"success"`
	Error    *EditError `json:"error,omitempty"`
}

// EditResults is the body applyEdits answers for one layer.
type EditResults struct {
	AddResults    []EditResult `json:"addResults"`
	UpdateResults []EditResult `json:"updateResults"`
	DeleteResults []EditResult `json:"deleteResults"`
}

// Edits is one applyEdits request against a layer.
type Edits struct {
	Adds    []Feature
	Updates []Feature // must carry the object id attribute
	Deletes []int64
	// RollbackOnFailure applies nothing when any edit fails.
	RollbackOnFailure bool
	// Editor is recorded in the Creator and Editor fields.
	Editor string
}

// pending is a validated edit waiting to be applied.
type pending struct {
	rec  *record // existing record for updates and deletes
	vals []any
	geom *Point
	set  []bool // which fields an update sets
}

// Load seeds the layer with features that exist when the service starts,
// keeping any edit-tracking values they carry. It is meant for building a
// layer before serving it.
func (l *Layer) Load(features ...Feature) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, f := range features {
		p, err := l.prepare(f, false)
		if err != nil {
			return fmt.Errorf("loading feature %d: %w", i, err)
		}
		l.insert(p.vals, p.geom)
	}
	l.cache.clear()
	return nil
}

// insert appends a record under the write lock and returns its object id.
func (l *Layer) insert(vals []any, geom *Point) int64 {
	oid := l.nextOID
	l.nextOID++
	vals[l.oidIdx] = oid
	r := &record{oid: oid, vals: vals, geom: geom, createdGen: l.gen, gen: l.gen}
	l.recs = append(l.recs, r)
	l.byOID[oid] = r
	l.live++
	l.indexRecord(r)
	return oid
}

// prepare converts a feature's attributes into field order. For updates only
// the given fields are marked as set.
func (l *Layer) prepare(f Feature, update bool) (pending, error) {
	p := pending{vals: make([]any, len(l.fields)), set: make([]bool, len(l.fields)), geom: f.Geometry}
	for name, v := range f.Attributes {
		i, ok := l.field(name)
		if !ok {
			return p, fmt.Errorf("invalid column name '%s'", name)
		}
		if i == l.oidIdx {
			continue
		}
		cv, err := convert(l.fields[i], v)
		if err != nil {
			return p, err
		}
		p.vals[i], p.set[i] = cv, true
	}
	if !update {
		for i, fd := range l.fields {
			if i != l.oidIdx && !fd.Nullable && p.vals[i] == nil {
				return p, fmt.Errorf("cannot insert the value NULL into column '%s'", fd.Name)
			}
		}
	}
	return p, nil
}

// ApplyEdits applies adds, updates and deletes in one transaction, the way
// the applyEdits operation does: results per feature, and with
// RollbackOnFailure nothing is applied when any edit fails. A successful
// call bumps the server generation and the edit-tracking date.
func (l *Layer) ApplyEdits(e Edits, now time.Time) EditResults {
	l.mu.Lock()
	defer l.mu.Unlock()
	res := EditResults{
		AddResults:    make([]EditResult, len(e.Adds)),
		UpdateResults: make([]EditResult, len(e.Updates)),
		DeleteResults: make([]EditResult, len(e.Deletes)),
	}
	fail := func(r *EditResult, code int, msg string) {
		r.Success, r.Error = false, &EditError{Code: code, Description: msg}
	}
	failed := false
	adds := make([]pending, len(e.Adds))
	for i, f := range e.Adds {
		p, err := l.prepare(f, false)
		if err != nil {
			fail(&res.AddResults[i], editErrGeneric, sentence(err.Error()))
			failed = true
			continue
		}
		adds[i], res.AddResults[i].Success = p, true
	}
	updates := make([]pending, len(e.Updates))
	for i, f := range e.Updates {
		oid, ok := objectID(f.Attributes, l.cfg.ObjectIDField)
		res.UpdateResults[i].ObjectID = oid
		rec := l.byOID[oid]
		if !ok || rec == nil {
			fail(&res.UpdateResults[i], editErrMissing, "Object is missing.")
			failed = true
			continue
		}
		p, err := l.prepare(f, true)
		if err != nil {
			fail(&res.UpdateResults[i], editErrGeneric, sentence(err.Error()))
			failed = true
			continue
		}
		p.rec = rec
		updates[i], res.UpdateResults[i].Success = p, true
	}
	for i, oid := range e.Deletes {
		res.DeleteResults[i].ObjectID = oid
		if l.byOID[oid] == nil {
			fail(&res.DeleteResults[i], editErrMissing, "Object is missing.")
			failed = true
			continue
		}
		res.DeleteResults[i].Success = true
	}
	if failed && e.RollbackOnFailure {
		for _, rs := range [][]EditResult{res.AddResults, res.UpdateResults, res.DeleteResults} {
			for i := range rs {
				if rs[i].Success {
					fail(&rs[i], editErrRolledBack, "Operation rolled back.")
				}
			}
		}
		return res
	}
	if len(e.Adds)+len(e.Updates)+len(e.Deletes) == 0 || noneSucceeded(res) {
		return res
	}
	l.gen++
	ms := now.UnixMilli()
	for i, p := range adds {
		if !res.AddResults[i].Success {
			continue
		}
		l.stamp(p.vals, ms, e.Editor, true)
		res.AddResults[i].ObjectID = l.insert(p.vals, p.geom)
	}
	for i, p := range updates {
		if !res.UpdateResults[i].Success || p.rec.deleted {
			continue
		}
		vals := append([]any(nil), p.rec.vals...) // readers of the old slice stay consistent
		for j, set := range p.set {
			if set {
				vals[j] = p.vals[j]
			}
		}
		l.stamp(vals, ms, e.Editor, false)
		l.reindex(p.rec, p.rec.vals, vals)
		p.rec.vals, p.rec.gen = vals, l.gen
		if p.geom != nil {
			p.rec.geom = p.geom
		}
	}
	for i, oid := range e.Deletes {
		rec := l.byOID[oid]
		if !res.DeleteResults[i].Success || rec == nil {
			continue
		}
		rec.deleted, rec.gen = true, l.gen
		l.unindex(rec)
		delete(l.byOID, oid)
		l.live--
		l.deletes = append(l.deletes, deletion{oid: oid, createdGen: rec.createdGen, gen: l.gen})
	}
	l.lastEdit = now
	l.cache.clear()
	return res
}

// stamp writes the edit-tracking fields of a changed row.
func (l *Layer) stamp(vals []any, ms int64, editor string, created bool) {
	if l.track.edited < 0 {
		return
	}
	if created {
		vals[l.track.created], vals[l.track.creator] = ms, editor
	}
	vals[l.track.edited], vals[l.track.editor] = ms, editor
}

func noneSucceeded(res EditResults) bool {
	for _, rs := range [][]EditResult{res.AddResults, res.UpdateResults, res.DeleteResults} {
		for _, r := range rs {
			if r.Success {
				return false
			}
		}
	}
	return true
}

// objectID finds the object id among attributes, matching the field name
// case-insensitively.
func objectID(attrs map[string]any, field string) (int64, bool) {
	for k, v := range attrs {
		if !strings.EqualFold(k, field) {
			continue
		}
		switch n := v.(type) {
		case float64:
			return int64(n), n == float64(int64(n))
		case int64:
			return n, true
		case int:
			return int64(n), true
		}
	}
	return 0, false
}

// sentence capitalises a message and ends it with a full stop, as
// ArcGIS error descriptions read.
func sentence(s string) string {
	if s == "" {
		return s
	}
	s = strings.ToUpper(s[:1]) + s[1:]
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}
