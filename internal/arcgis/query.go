package arcgis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Query selects features. The zero value selects every feature with every
// field and no geometry.
type Query struct {
	// Where is a standardized SQL where clause; "1=1" when empty.
	Where string
	// ObjectIDs restricts the query to these features.
	ObjectIDs []int64
	// OutFields lists the fields to return; all ("*") when empty.
	OutFields []string
	// Geometry asks for geometries.
	Geometry bool
	// OutSR is the well-known id of the spatial reference geometries are
	// returned in; WGS84 (4326), which Feature.Point reads, when zero.
	OutSR int
	// OrderBy lists "FIELD [ASC|DESC]" terms.
	OrderBy []string
	// Offset and Count select one page (resultOffset, resultRecordCount) in
	// Query; QueryPages manages them itself and uses Count as its page size.
	Offset, Count int
}

// FeatureSet is one page of query results.
type FeatureSet struct {
	ObjectIDFieldName     string            `json:"objectIdFieldName"`
	GlobalIDFieldName     string            `json:"globalIdFieldName"`
	GeometryType          string            `json:"geometryType"`
	SpatialReference      *SpatialReference `json:"spatialReference"`
	Fields                []Field           `json:"fields"`
	Features              []Feature         `json:"features"`
	ExceededTransferLimit bool              `json:"exceededTransferLimit"`
}

func (q Query) params() url.Values {
	p := url.Values{}
	p.Set("where", cmpOr(q.Where, "1=1"))
	if len(q.ObjectIDs) > 0 {
		p.Set("objectIds", formatIDs(q.ObjectIDs))
	}
	if len(q.OutFields) == 0 {
		p.Set("outFields", "*")
	} else {
		p.Set("outFields", strings.Join(q.OutFields, ","))
	}
	p.Set("returnGeometry", strconv.FormatBool(q.Geometry))
	if q.OutSR != 0 {
		p.Set("outSR", strconv.Itoa(q.OutSR))
	} else if q.Geometry {
		// Asked for explicitly: a layer stored in a projected system
		// answers in its own units otherwise.
		p.Set("outSR", "4326")
	}
	if len(q.OrderBy) > 0 {
		p.Set("orderByFields", strings.Join(q.OrderBy, ","))
	}
	return p
}

func cmpOr(s, def string) string {
	if strings.TrimSpace(s) == "" {
		return def
	}
	return s
}

// Query runs one query request and returns one page as the server answers
// it; ExceededTransferLimit says whether more remain. Use QueryPages to read
// everything.
func (c *Client) Query(ctx context.Context, layer int, q Query) (*FeatureSet, error) {
	p := q.params()
	if q.Offset > 0 {
		p.Set("resultOffset", strconv.Itoa(q.Offset))
	}
	if q.Count > 0 {
		p.Set("resultRecordCount", strconv.Itoa(q.Count))
	}
	return c.query(ctx, layer, p)
}

func (c *Client) query(ctx context.Context, layer int, p url.Values) (*FeatureSet, error) {
	var fs FeatureSet
	if err := c.call(ctx, http.MethodPost, c.serviceURL(strconv.Itoa(layer), "query"), p, true, &fs); err != nil {
		return nil, fmt.Errorf("querying layer %d: %w", layer, err)
	}
	return &fs, nil
}

// QueryIDs returns the object ids a query selects, in ascending order.
// ArcGIS does not cap this answer by maxRecordCount.
func (c *Client) QueryIDs(ctx context.Context, layer int, q Query) ([]int64, error) {
	p := q.params()
	p.Set("returnIdsOnly", "true")
	p.Del("outFields")
	p.Del("orderByFields")
	var res struct {
		ObjectIDs []int64 `json:"objectIds"`
	}
	if err := c.call(ctx, http.MethodPost, c.serviceURL(strconv.Itoa(layer), "query"), p, true, &res); err != nil {
		return nil, fmt.Errorf("querying layer %d ids: %w", layer, err)
	}
	slices.Sort(res.ObjectIDs)
	return res.ObjectIDs, nil
}

// QueryCount returns how many features a query selects.
func (c *Client) QueryCount(ctx context.Context, layer int, q Query) (int, error) {
	p := q.params()
	p.Set("returnCountOnly", "true")
	p.Del("outFields")
	p.Del("orderByFields")
	var res struct {
		Count *int `json:"count"`
	}
	if err := c.call(ctx, http.MethodPost, c.serviceURL(strconv.Itoa(layer), "query"), p, true, &res); err != nil {
		return 0, fmt.Errorf("counting layer %d: %w", layer, err)
	}
	if res.Count == nil {
		return 0, fmt.Errorf("counting layer %d: no count in the answer", layer)
	}
	return *res.Count, nil
}

// errNoProgress guards against a server that claims more results but sends
// none, which would otherwise page forever.
var errNoProgress = errors.New("server reported exceededTransferLimit with an empty page")

// QueryPages reads every feature a query selects, handing them to fn one
// non-empty page at a time, in order, while the next page is already being
// fetched; fn's error stops the paging and is returned. When the
// layer supports pagination it pages in object id order, each page asking
// for the ids above the last one read, so that features deleted or added
// meanwhile make pages neither skip nor repeat others; with q.OrderBy it
// pages with resultOffset, ordered by q.OrderBy and then by object id (edits
// made during such a read may shift features between pages); otherwise it fetches the matching object ids and queries them in chunks of
// maxRecordCount, in object id order, asking again for any part of a chunk
// the server left out under its transfer limit. q.Count sets the page size, capped by
// the layer's maxRecordCount.
func (c *Client) QueryPages(ctx context.Context, layer int, q Query, fn func(*FeatureSet) error) error {
	info, err := c.cachedLayer(ctx, layer)
	if err != nil {
		return err
	}
	size := info.MaxRecordCount
	if q.Count > 0 && (size <= 0 || q.Count < size) {
		size = q.Count
	}
	if size <= 0 {
		size = 1000
	}
	return pipeline(ctx, func(ctx context.Context, emit func(*FeatureSet) error) error {
		if info.SupportsPagination() && orderedByID(q.OrderBy, info.ObjectIDField) {
			return c.pageByKey(ctx, layer, info, q, size, emit)
		}
		if info.SupportsPagination() {
			return c.pageByOffset(ctx, layer, info, q, size, emit)
		}
		return c.pageByIDs(ctx, layer, info, q, size, emit)
	}, fn)
}

// pipeline runs produce one page ahead of consume: the next page is fetched
// and decoded while the caller handles the current one, and pages reach the
// caller in order. A consume error stops the producer, which is waited for
// before pipeline returns.
func pipeline(ctx context.Context, produce func(context.Context, func(*FeatureSet) error) error, consume func(*FeatureSet) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pages := make(chan *FeatureSet)
	done := make(chan error, 1)
	go func() {
		defer close(pages)
		done <- produce(ctx, func(fs *FeatureSet) error {
			select {
			case pages <- fs:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}()
	for fs := range pages {
		if err := consume(fs); err != nil {
			cancel()
			for range pages {
			}
			<-done
			return err
		}
	}
	return <-done
}

// orderedByID reports whether order asks for ascending object ids only
// (or for nothing).
func orderedByID(order []string, oidField string) bool {
	switch len(order) {
	case 0:
		return true
	case 1:
		f := strings.Fields(order[0])
		return len(f) > 0 && strings.EqualFold(f[0], oidField) && (len(f) == 1 || strings.EqualFold(f[1], "ASC"))
	}
	return false
}

// pageByKey pages in object id order by asking each time for the ids above
// the last one read, rather than by offset: features deleted or added while
// the read goes on shift offsets, so offset paging would skip or repeat
// others, but they do not move the ids still to come.
func (c *Client) pageByKey(ctx context.Context, layer int, info *LayerInfo, q Query, size int, fn func(*FeatureSet) error) error {
	oid := info.ObjectIDField
	where := cmpOr(q.Where, "1=1")
	q.OrderBy = []string{oid}
	q.OutFields = withField(q.OutFields, oid)
	for last, first := int64(0), true; ; first = false {
		pq := q
		if !first {
			pq.Where = fmt.Sprintf("(%s) AND %s > %d", where, oid, last)
		}
		p := pq.params()
		p.Set("resultOffset", "0")
		p.Set("resultRecordCount", strconv.Itoa(size))
		fs, err := c.query(ctx, layer, p)
		if err != nil {
			return err
		}
		if fs.ExceededTransferLimit && len(fs.Features) == 0 {
			return fmt.Errorf("querying layer %d after object id %d: %w", layer, last, errNoProgress)
		}
		for _, f := range fs.Features {
			id, ok := f.ObjectID(cmpOr(fs.ObjectIDFieldName, oid))
			if !ok {
				return fmt.Errorf("querying layer %d: a feature has no %s", layer, oid)
			}
			last = max(last, id)
		}
		if len(fs.Features) > 0 {
			if err := fn(fs); err != nil {
				return err
			}
		}
		if !morePages(fs, size) {
			return nil
		}
	}
}

// morePages reports whether a page of a paged query may have more behind
// it: the server said so, or the page is as full as asked for (size is the
// smaller of the caller's count and maxRecordCount). Some ArcGIS Server
// versions do not set exceededTransferLimit on paged queries, so only a
// short page ends the read; a layer holding an exact multiple of size costs
// one empty page more.
func morePages(fs *FeatureSet, size int) bool {
	return fs.ExceededTransferLimit || len(fs.Features) >= size
}

// withField returns fields with name added, unless fields is empty (all
// fields) or already names it.
func withField(fields []string, name string) []string {
	if len(fields) == 0 || slices.ContainsFunc(fields, func(f string) bool { return strings.EqualFold(f, name) }) {
		return fields
	}
	return append(slices.Clip(fields), name)
}

func (c *Client) pageByOffset(ctx context.Context, layer int, info *LayerInfo, q Query, size int, fn func(*FeatureSet) error) error {
	// Offset paging is only stable over a total order: rows that tie on
	// the caller's fields come back in whatever order the database picks
	// for each page, so the object id breaks ties.
	if !slices.ContainsFunc(q.OrderBy, func(term string) bool {
		f := strings.Fields(term)
		return len(f) > 0 && strings.EqualFold(f[0], info.ObjectIDField)
	}) {
		q.OrderBy = append(slices.Clip(q.OrderBy), info.ObjectIDField)
	}
	p := q.params()
	p.Set("resultRecordCount", strconv.Itoa(size))
	for offset := 0; ; {
		p.Set("resultOffset", strconv.Itoa(offset))
		fs, err := c.query(ctx, layer, p)
		if err != nil {
			return err
		}
		if fs.ExceededTransferLimit && len(fs.Features) == 0 {
			return fmt.Errorf("querying layer %d at offset %d: %w", layer, offset, errNoProgress)
		}
		if len(fs.Features) > 0 {
			if err := fn(fs); err != nil {
				return err
			}
		}
		if !morePages(fs, size) {
			return nil
		}
		offset += len(fs.Features) // a server may send fewer than asked
	}
}

func (c *Client) pageByIDs(ctx context.Context, layer int, info *LayerInfo, q Query, size int, fn func(*FeatureSet) error) error {
	ids := slices.Sorted(slices.Values(q.ObjectIDs))
	if len(ids) == 0 || q.Where != "" {
		var err error
		if ids, err = c.QueryIDs(ctx, layer, q); err != nil {
			return err
		}
	}
	for len(ids) > 0 {
		chunk := ids[:min(size, len(ids))]
		cq := q
		cq.Where, cq.ObjectIDs, cq.OrderBy = "", chunk, nil
		cq.OutFields = withField(cq.OutFields, info.ObjectIDField) // to tell what a page cut short left out
		fs, err := c.query(ctx, layer, cq.params())
		if err != nil {
			return err
		}
		rest := ids[len(chunk):]
		if fs.ExceededTransferLimit {
			// The server answered part of the chunk (its limit is below
			// what the layer advertised): ask again for what it left out,
			// in chunks it does answer whole.
			missing, err := unanswered(fs, cmpOr(fs.ObjectIDFieldName, info.ObjectIDField), chunk)
			if err != nil {
				return fmt.Errorf("querying layer %d by object ids: %w", layer, err)
			}
			size = len(chunk) - len(missing)
			rest = append(missing, rest...)
		}
		if len(fs.Features) > 0 {
			if err := fn(fs); err != nil {
				return err
			}
		}
		ids = rest
	}
	return nil
}

// unanswered returns the ids of chunk that fs, a page cut short by the
// transfer limit, does not hold.
func unanswered(fs *FeatureSet, oidField string, chunk []int64) ([]int64, error) {
	if len(fs.Features) == 0 {
		return nil, errNoProgress
	}
	got := make(map[int64]bool, len(fs.Features))
	for _, f := range fs.Features {
		id, ok := f.ObjectID(oidField)
		if !ok {
			return nil, fmt.Errorf("page cut short by the transfer limit has a feature without %s", oidField)
		}
		got[id] = true
	}
	var missing []int64
	for _, id := range chunk {
		if !got[id] {
			missing = append(missing, id)
		}
	}
	if len(missing) == len(chunk) {
		return nil, errNoProgress
	}
	return missing, nil
}

// rawJSON is a JSON-encoded parameter value.
func rawJSON(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}
