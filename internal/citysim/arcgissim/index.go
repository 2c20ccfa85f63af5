package citysim

import (
	"slices"
	"strconv"
	"strings"
)

// arcgisIndex is a hash index on one field: value -> records holding it.
// Keys are normalised with arcgisSetKey so 1 and 1.0 meet.
type arcgisIndex map[any][]*arcgisRecord

func (ix arcgisIndex) add(v any, r *arcgisRecord) {
	if v == nil {
		return
	}
	k := arcgisSetKey(v)
	ix[k] = append(ix[k], r)
}

func (ix arcgisIndex) remove(v any, r *arcgisRecord) {
	if v == nil {
		return
	}
	k := arcgisSetKey(v)
	rs := slices.DeleteFunc(ix[k], func(x *arcgisRecord) bool { return x == r })
	if len(rs) == 0 {
		delete(ix, k)
		return
	}
	ix[k] = rs
}

// reserve sizes the record list and indexes for n more records; the caller
// holds the write lock.
func (l *ArcGISLayer) reserve(n int) {
	l.recs = slices.Grow(l.recs, n)
	if len(l.byOID) == 0 {
		l.byOID = make(map[int64]*arcgisRecord, n)
	}
	for idx, ix := range l.indexes {
		if len(ix) == 0 {
			l.indexes[idx] = make(arcgisIndex, n)
		}
	}
}

// indexRecord adds a new record to every index; the caller holds the write
// lock.
func (l *ArcGISLayer) indexRecord(r *arcgisRecord) {
	for idx, ix := range l.indexes {
		ix.add(r.vals[idx], r)
	}
}

// reindex moves a record whose values change from old to new.
func (l *ArcGISLayer) reindex(r *arcgisRecord, old, updated []any) {
	for idx, ix := range l.indexes {
		if arcgisSetKeyOrNil(old[idx]) != arcgisSetKeyOrNil(updated[idx]) {
			ix.remove(old[idx], r)
			ix.add(updated[idx], r)
		}
	}
}

// unindex drops a deleted record from every index.
func (l *ArcGISLayer) unindex(r *arcgisRecord) {
	for idx, ix := range l.indexes {
		ix.remove(r.vals[idx], r)
	}
}

func arcgisSetKeyOrNil(v any) any {
	if v == nil {
		return nil
	}
	return arcgisSetKey(v)
}

// arcgisIndexHint is what a where clause says for certain about one field:
// every row it selects holds one of keys there.
type arcgisIndexHint struct {
	field int
	keys  []any
}

// indexHint looks for a top-level conjunct "field = literal" or "field IN
// (literals)" on an indexed field. Any row the where clause selects must
// satisfy that conjunct, so the index yields a superset of the answer and
// the compiled predicate still decides each candidate.
func (l *ArcGISLayer) indexHint(where string) (arcgisIndexHint, bool) {
	if len(l.indexes) == 0 {
		return arcgisIndexHint{}, false
	}
	toks, err := arcgisLexWhere(where)
	if err != nil {
		return arcgisIndexHint{}, false
	}
	toks = toks[:len(toks)-1] // EOF
	var conjuncts [][]arcgisTok
	depth, start, between := 0, 0, false
	for i, t := range toks {
		switch {
		case t.kind == arcgisTokPunct && t.text == "(":
			depth++
		case t.kind == arcgisTokPunct && t.text == ")":
			depth--
		case depth == 0 && t.kind == arcgisTokIdent && strings.EqualFold(t.text, "OR"):
			return arcgisIndexHint{}, false
		case depth == 0 && t.kind == arcgisTokIdent && strings.EqualFold(t.text, "BETWEEN"):
			between = true
		case depth == 0 && t.kind == arcgisTokIdent && strings.EqualFold(t.text, "AND"):
			if between {
				between = false
				continue
			}
			conjuncts = append(conjuncts, toks[start:i])
			start = i + 1
		}
	}
	conjuncts = append(conjuncts, toks[start:])
	for _, c := range conjuncts {
		if h, ok := l.conjunctHint(c); ok {
			return h, true
		}
	}
	return arcgisIndexHint{}, false
}

// oidLowerBound looks for a top-level conjunct "OBJECTID > n" or
// "OBJECTID >= n" and returns the smallest object id the where clause can
// select.
func (l *ArcGISLayer) oidLowerBound(where string) (int64, bool) {
	toks, err := arcgisLexWhere(where)
	if err != nil {
		return 0, false
	}
	toks = toks[:len(toks)-1] // EOF
	depths := make([]int, len(toks))
	depth := 0
	for i, t := range toks {
		switch {
		case t.kind == arcgisTokPunct && t.text == "(":
			depth++
		case t.kind == arcgisTokPunct && t.text == ")":
			depth--
		case depth == 0 && t.kind == arcgisTokIdent && (strings.EqualFold(t.text, "OR") || strings.EqualFold(t.text, "BETWEEN") || strings.EqualFold(t.text, "NOT")):
			return 0, false
		}
		depths[i] = depth
	}
	and := func(i int) bool { return toks[i].kind == arcgisTokIdent && strings.EqualFold(toks[i].text, "AND") }
	for i := 0; i+2 < len(toks); i++ {
		c := toks[i : i+3]
		if depths[i] != 0 || (i > 0 && !and(i-1)) || (i+3 < len(toks) && !and(i+3)) {
			continue
		}
		if c[0].kind != arcgisTokIdent || !strings.EqualFold(c[0].text, l.cfg.ObjectIDField) || c[1].kind != arcgisTokOp || c[2].kind != arcgisTokNumber {
			continue
		}
		n, err := strconv.ParseInt(c[2].text, 10, 64)
		if err != nil {
			continue
		}
		switch c[1].text {
		case ">":
			return n + 1, true
		case ">=":
			return n, true
		}
	}
	return 0, false
}

func (l *ArcGISLayer) conjunctHint(c []arcgisTok) (arcgisIndexHint, bool) {
	if len(c) < 3 || c[0].kind != arcgisTokIdent {
		return arcgisIndexHint{}, false
	}
	idx, ok := l.field(c[0].text)
	if !ok || l.indexes[idx] == nil {
		return arcgisIndexHint{}, false
	}
	var lits []arcgisTok
	switch {
	case len(c) == 3 && c[1].kind == arcgisTokOp && c[1].text == "=":
		lits = c[2:]
	case strings.EqualFold(c[1].text, "IN") && c[1].kind == arcgisTokIdent && c[2].text == "(" && c[len(c)-1].text == ")":
		for i, t := range c[3 : len(c)-1] {
			if (i%2 == 1) != (t.kind == arcgisTokPunct && t.text == ",") {
				return arcgisIndexHint{}, false
			}
			if i%2 == 0 {
				lits = append(lits, t)
			}
		}
	default:
		return arcgisIndexHint{}, false
	}
	h := arcgisIndexHint{field: idx}
	isString := l.fields[idx].Type == ArcGISFieldString
	for _, t := range lits {
		switch {
		case isString && t.kind == arcgisTokString:
			h.keys = append(h.keys, t.text)
		case !isString && l.fields[idx].Type != ArcGISFieldDate && t.kind == arcgisTokNumber:
			if n, err := strconv.ParseInt(t.text, 10, 64); err == nil {
				h.keys = append(h.keys, n)
			} else if f, err := strconv.ParseFloat(t.text, 64); err == nil {
				h.keys = append(h.keys, arcgisSetKey(f))
			} else {
				return arcgisIndexHint{}, false
			}
		default:
			return arcgisIndexHint{}, false
		}
	}
	return h, len(h.keys) > 0
}

// candidates returns the records an index hint allows, in object id order,
// without duplicates.
func (l *ArcGISLayer) candidates(h arcgisIndexHint) []*arcgisRecord {
	ix := l.indexes[h.field]
	var out []*arcgisRecord
	for _, k := range h.keys {
		out = append(out, ix[k]...)
	}
	slices.SortFunc(out, func(a, b *arcgisRecord) int {
		switch {
		case a.oid < b.oid:
			return -1
		case a.oid > b.oid:
			return 1
		}
		return 0
	})
	return slices.CompactFunc(out, func(a, b *arcgisRecord) bool { return a == b })
}
