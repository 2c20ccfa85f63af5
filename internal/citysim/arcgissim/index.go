package arcgissim

import (
	"slices"
	"strconv"
	"strings"
)

// index is a hash index on one field: value -> records holding it.
// Keys are normalised with setKey so 1 and 1.0 meet.
type index map[any][]*record

func (ix index) add(v any, r *record) {
	if v == nil {
		return
	}
	k := setKey(v)
	ix[k] = append(ix[k], r)
}

func (ix index) remove(v any, r *record) {
	if v == nil {
		return
	}
	k := setKey(v)
	rs := slices.DeleteFunc(ix[k], func(x *record) bool { return x == r })
	if len(rs) == 0 {
		delete(ix, k)
		return
	}
	ix[k] = rs
}

// reserve sizes the record list and indexes for n more records; the caller
// holds the write lock.
func (l *Layer) reserve(n int) {
	l.recs = slices.Grow(l.recs, n)
	if len(l.byOID) == 0 {
		l.byOID = make(map[int64]*record, n)
	}
	for idx, ix := range l.indexes {
		if len(ix) == 0 {
			l.indexes[idx] = make(index, n)
		}
	}
}

// indexRecord adds a new record to every index; the caller holds the write
// lock.
func (l *Layer) indexRecord(r *record) {
	for idx, ix := range l.indexes {
		ix.add(r.vals[idx], r)
	}
}

// reindex moves a record whose values change from old to new.
func (l *Layer) reindex(r *record, old, updated []any) {
	for idx, ix := range l.indexes {
		if setKeyOrNil(old[idx]) != setKeyOrNil(updated[idx]) {
			ix.remove(old[idx], r)
			ix.add(updated[idx], r)
		}
	}
}

// unindex drops a deleted record from every index.
func (l *Layer) unindex(r *record) {
	for idx, ix := range l.indexes {
		ix.remove(r.vals[idx], r)
	}
}

func setKeyOrNil(v any) any {
	if v == nil {
		return nil
	}
	return setKey(v)
}

// indexHint is what a where clause says for certain about one field:
// every row it selects holds one of keys there.
type indexHint struct {
	field int
	keys  []any
}

// indexHint looks for a top-level conjunct "field = literal" or "field IN
// (literals)" on an indexed field. Any row the where clause selects must
// satisfy that conjunct, so the index yields a superset of the answer and
// the compiled predicate still decides each candidate.
func (l *Layer) indexHint(where string) (indexHint, bool) {
	if len(l.indexes) == 0 {
		return indexHint{}, false
	}
	toks, err := lexWhere(where)
	if err != nil {
		return indexHint{}, false
	}
	toks = toks[:len(toks)-1] // EOF
	var conjuncts [][]lexToken
	depth, start, between := 0, 0, false
	for i, t := range toks {
		switch {
		case t.kind == tokPunct && t.text == "(":
			depth++
		case t.kind == tokPunct && t.text == ")":
			depth--
		case depth == 0 && t.kind == tokIdent && strings.EqualFold(t.text, "OR"):
			return indexHint{}, false
		case depth == 0 && t.kind == tokIdent && strings.EqualFold(t.text, "BETWEEN"):
			between = true
		case depth == 0 && t.kind == tokIdent && strings.EqualFold(t.text, "AND"):
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
	return indexHint{}, false
}

// oidLowerBound looks for a top-level conjunct "OBJECTID > n" or
// "OBJECTID >= n" and returns the smallest object id the where clause can
// select.
func (l *Layer) oidLowerBound(where string) (int64, bool) {
	toks, err := lexWhere(where)
	if err != nil {
		return 0, false
	}
	toks = toks[:len(toks)-1] // EOF
	depths := make([]int, len(toks))
	depth := 0
	for i, t := range toks {
		switch {
		case t.kind == tokPunct && t.text == "(":
			depth++
		case t.kind == tokPunct && t.text == ")":
			depth--
		case depth == 0 && t.kind == tokIdent && (strings.EqualFold(t.text, "OR") || strings.EqualFold(t.text, "BETWEEN") || strings.EqualFold(t.text, "NOT")):
			return 0, false
		}
		depths[i] = depth
	}
	and := func(i int) bool { return toks[i].kind == tokIdent && strings.EqualFold(toks[i].text, "AND") }
	for i := 0; i+2 < len(toks); i++ {
		c := toks[i : i+3]
		if depths[i] != 0 || (i > 0 && !and(i-1)) || (i+3 < len(toks) && !and(i+3)) {
			continue
		}
		if c[0].kind != tokIdent || !strings.EqualFold(c[0].text, l.cfg.ObjectIDField) || c[1].kind != tokOp || c[2].kind != tokNumber {
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

func (l *Layer) conjunctHint(c []lexToken) (indexHint, bool) {
	if len(c) < 3 || c[0].kind != tokIdent {
		return indexHint{}, false
	}
	idx, ok := l.field(c[0].text)
	if !ok || l.indexes[idx] == nil {
		return indexHint{}, false
	}
	var lits []lexToken
	switch {
	case len(c) == 3 && c[1].kind == tokOp && c[1].text == "=":
		lits = c[2:]
	case strings.EqualFold(c[1].text, "IN") && c[1].kind == tokIdent && c[2].text == "(" && c[len(c)-1].text == ")":
		for i, t := range c[3 : len(c)-1] {
			if (i%2 == 1) != (t.kind == tokPunct && t.text == ",") {
				return indexHint{}, false
			}
			if i%2 == 0 {
				lits = append(lits, t)
			}
		}
	default:
		return indexHint{}, false
	}
	h := indexHint{field: idx}
	isString := l.fields[idx].Type == FieldString
	for _, t := range lits {
		switch {
		case isString && t.kind == tokString:
			h.keys = append(h.keys, t.text)
		case !isString && l.fields[idx].Type != FieldDate && t.kind == tokNumber:
			if n, err := strconv.ParseInt(t.text, 10, 64); err == nil {
				h.keys = append(h.keys, n)
			} else if f, err := strconv.ParseFloat(t.text, 64); err == nil {
				h.keys = append(h.keys, setKey(f))
			} else {
				return indexHint{}, false
			}
		default:
			return indexHint{}, false
		}
	}
	return h, len(h.keys) > 0
}

// candidates returns the records an index hint allows, in object id order,
// without duplicates.
func (l *Layer) candidates(h indexHint) []*record {
	ix := l.indexes[h.field]
	var out []*record
	for _, k := range h.keys {
		out = append(out, ix[k]...)
	}
	slices.SortFunc(out, func(a, b *record) int {
		switch {
		case a.oid < b.oid:
			return -1
		case a.oid > b.oid:
			return 1
		}
		return 0
	})
	return slices.CompactFunc(out, func(a, b *record) bool { return a == b })
}
