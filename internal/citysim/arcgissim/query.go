package arcgissim

import (
	"cmp"
	"context"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// query is a parsed query request.
type query struct {
	where          string
	objectIDs      []int64
	outFields      []int // field positions; the object id is always first
	returnGeometry bool
	orderBy        []orderBy
	offset, count  int
	hasOffset      bool
	idsOnly        bool
	countOnly      bool
	// need, when positive, is how many records in object id order the
	// caller will read at most: selectRecords may stop there. A client
	// paging by object id (each page asking for the ids above the last)
	// then costs a page's work per page, as on a real server's index.
	need int
}

type orderBy struct {
	idx  int
	desc bool
}

// parseQuery reads the query operation's parameters.
func (l *Layer) parseQuery(form url.Values) (query, error) {
	q := query{where: form.Get("where"), returnGeometry: true}
	for _, name := range []string{"geometry", "outStatistics", "groupByFieldsForStatistics", "returnDistinctValues", "having", "time", "quantizationParameters"} {
		if v := form.Get(name); v != "" && v != "false" {
			return q, fmt.Errorf("'%s' is not supported by this simulated layer", name)
		}
	}
	var err error
	if q.objectIDs, err = parseIDs(form.Get("objectIds")); err != nil {
		return q, fmt.Errorf("'objectIds' parameter is invalid")
	}
	for _, b := range []struct {
		name string
		dst  *bool
	}{{"returnGeometry", &q.returnGeometry}, {"returnIdsOnly", &q.idsOnly}, {"returnCountOnly", &q.countOnly}} {
		if v := form.Get(b.name); v != "" {
			if *b.dst, err = strconv.ParseBool(v); err != nil {
				return q, fmt.Errorf("'%s' parameter is invalid", b.name)
			}
		}
	}
	q.outFields = []int{l.oidIdx}
	for _, name := range splitList(form.Get("outFields")) {
		if name == "*" {
			q.outFields = q.outFields[:0]
			for i := range l.fields {
				q.outFields = append(q.outFields, i)
			}
			break
		}
		i, ok := l.field(name)
		if !ok {
			return q, fmt.Errorf("'outFields' parameter is invalid: no field %s", name)
		}
		if !slices.Contains(q.outFields, i) {
			q.outFields = append(q.outFields, i)
		}
	}
	for _, spec := range splitList(form.Get("orderByFields")) {
		parts := strings.Fields(spec)
		i, ok := l.field(parts[0])
		if !ok || len(parts) > 2 || (len(parts) == 2 && !strings.EqualFold(parts[1], "ASC") && !strings.EqualFold(parts[1], "DESC")) {
			return q, fmt.Errorf("'orderByFields' parameter is invalid")
		}
		q.orderBy = append(q.orderBy, orderBy{idx: i, desc: len(parts) == 2 && strings.EqualFold(parts[1], "DESC")})
	}
	if v := form.Get("resultOffset"); v != "" {
		if q.offset, err = strconv.Atoi(v); err != nil || q.offset < 0 {
			return q, fmt.Errorf("'resultOffset' parameter is invalid")
		}
		q.hasOffset = true
	}
	if v := form.Get("resultRecordCount"); v != "" {
		if q.count, err = strconv.Atoi(v); err != nil || q.count < 0 {
			return q, fmt.Errorf("'resultRecordCount' parameter is invalid")
		}
	}
	if l.cfg.NoPagination && (q.hasOffset || q.count > 0) {
		return q, fmt.Errorf("pagination is not supported by this layer")
	}
	return q, nil
}

func splitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

func parseIDs(s string) ([]int64, error) {
	var ids []int64
	for _, part := range splitList(s) {
		id, err := strconv.ParseInt(part, 10, 64)
		if err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// selectRecords returns the records a query selects, in order, evaluating
// the where clause under ctx: a caller that goes away stops the scan. It
// takes the layer's read lock itself, a page of rows (maxRecordCount) at a
// time and never across the whole scan, so writers and the readers queued
// behind them wait for one page at most. An edit made between two pages is
// seen by the pages after it, as on a database without snapshot reads;
// such a selection is not cached. Results are cached until the next edit.
func (l *Layer) selectRecords(ctx context.Context, q query, now time.Time) ([]*record, error) {
	pred, err := compileWhere(q.where, l.resolve, now)
	if err != nil {
		return nil, err
	}
	key := ""
	if !strings.Contains(strings.ToUpper(q.where), "CURRENT_") {
		key = fmt.Sprintf("%s\x00%v\x00%v", q.where, q.objectIDs, q.orderBy)
		if recs, ok := l.cache.get(key); ok {
			return recs, nil
		}
	}
	l.mu.RLock()
	gen := l.gen
	var scan []*record
	if q.objectIDs != nil {
		for _, id := range q.objectIDs {
			if r := l.byOID[id]; r != nil {
				scan = append(scan, r)
			}
		}
		slices.SortFunc(scan, func(a, b *record) int { return cmp.Compare(a.oid, b.oid) })
		scan = slices.CompactFunc(scan, func(a, b *record) bool { return a == b })
	} else if h, ok := l.indexHint(q.where); ok {
		scan = l.candidates(h)
	} else {
		scan = l.recs // grows only by appending, so this prefix stays valid
		if above, ok := l.oidLowerBound(q.where); ok {
			// l.recs is in object id order: skip what the bound excludes.
			i, _ := slices.BinarySearchFunc(scan, above, func(r *record, id int64) int { return cmp.Compare(r.oid, id) })
			scan = scan[i:]
		}
	}
	l.mu.RUnlock()

	// rows pairs each selected record with the values it was selected on:
	// an update replaces a record's values rather than changing them, so
	// they can be sorted after the lock is let go.
	type row struct {
		r    *record
		vals []any
	}
	var out []row
	page := max(l.cfg.MaxRecordCount, 1)
	cut := false
	for start := 0; start < len(scan) && !cut; start += page {
		if start > 0 {
			if l.betweenChunks != nil {
				l.betweenChunks()
			}
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("query abandoned: %w", err)
			}
		}
		l.mu.RLock()
		for _, r := range scan[start:min(start+page, len(scan))] {
			if r.deleted || pred(r.vals) != triTrue {
				continue
			}
			out = append(out, row{r, r.vals})
			if q.need > 0 && len(out) == q.need && l.oidOrder(q.orderBy) {
				cut = true // the caller reads no further: not cached
				break
			}
		}
		if l.gen != gen {
			key = "" // edited during the scan
		}
		l.mu.RUnlock()
	}
	if len(q.orderBy) > 0 {
		slices.SortStableFunc(out, func(a, b row) int {
			for _, o := range q.orderBy {
				c := orderValues(a.vals[o.idx], b.vals[o.idx])
				if o.desc {
					c = -c
				}
				if c != 0 {
					return c
				}
			}
			return cmp.Compare(a.r.oid, b.r.oid)
		})
	}
	recs := make([]*record, len(out))
	for i, o := range out {
		recs[i] = o.r
	}
	if key != "" && !cut {
		l.cache.put(key, recs)
	}
	return recs, nil
}

// oidOrder reports whether records in object id order are in the order
// asked for.
func (l *Layer) oidOrder(order []orderBy) bool {
	return len(order) == 0 || (len(order) == 1 && order[0].idx == l.oidIdx && !order[0].desc)
}

// orderValues orders values with NULLs first, as ascending sorts in
// most ArcGIS data stores do.
func orderValues(a, b any) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return -1
	case b == nil:
		return 1
	}
	c, _ := compareValues(a, b)
	return c
}

// queryCache keeps the selections of recent queries so that paging
// through a large layer evaluates the where clause once, not once per page.
type queryCache struct {
	mu      sync.Mutex
	entries map[string][]*record
	order   []string
}

const queryCacheSize = 16

func (c *queryCache) get(key string) ([]*record, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	recs, ok := c.entries[key]
	return recs, ok
}

func (c *queryCache) put(key string, recs []*record) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[string][]*record{}
	}
	if _, ok := c.entries[key]; !ok {
		c.order = append(c.order, key)
	}
	c.entries[key] = recs
	for len(c.order) > queryCacheSize {
		delete(c.entries, c.order[0])
		c.order = c.order[1:]
	}
}

func (c *queryCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries, c.order = nil, nil
}
