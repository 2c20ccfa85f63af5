package arcgis

import (
	"context"
	"fmt"
	"strconv"
	"time"
)

// Key is a position in a layer's keyset order: the last feature a page read.
// The zero Key is the start of the layer.
type Key struct {
	// Edited is the feature's edit date, when paging by (edit date, object
	// id); zero when paging by object id alone.
	Edited time.Time `json:"edited,omitzero"`
	// ObjectID is the feature's object id.
	ObjectID int64 `json:"oid"`
}

// IsZero reports whether k is the start of the layer.
func (k Key) IsZero() bool { return k.Edited.IsZero() && k.ObjectID == 0 }

// KeysetQuery selects one page of features that follow a key.
type KeysetQuery struct {
	// Query filters and shapes the features; its OrderBy and Offset are
	// ignored (the keyset decides the order) and Count is the page size,
	// capped by the layer's maxRecordCount.
	Query
	// EditField, when set, orders by (EditField, object id), so that a
	// page resumes after the last edit read even when many features share
	// one edit date; empty orders by object id alone.
	EditField string
	// After is the key of the last feature already read.
	After Key
}

// KeysetPage is one page of a keyset read.
type KeysetPage struct {
	*FeatureSet
	// Last is the key of the page's last feature, or the query's After on
	// an empty page: the next page's After, and a watermark to keep.
	Last Key
	// More reports whether features may follow Last: the server said so,
	// or the page is full (see morePages).
	More bool
}

// QueryAfter reads the one page of features that follows q.After in keyset
// order, as a Source does: each call stands alone, so a read can stop after
// any page and resume from its Last, in another process, with nothing missed
// or repeated. Paging by keys rather than offsets means features added or
// deleted meanwhile shift no other feature between pages. Features with no
// value in EditField are never selected by an edit-date keyset.
func (c *Client) QueryAfter(ctx context.Context, layer int, q KeysetQuery) (KeysetPage, error) {
	info, err := c.cachedLayer(ctx, layer)
	if err != nil {
		return KeysetPage{}, err
	}
	return c.keysetPage(ctx, layer, info, q, pageSize(info, q.Count))
}

// pageSize is the page size for a read asking for count features a page.
func pageSize(info *LayerInfo, count int) int {
	size := info.MaxRecordCount
	if count > 0 && (size <= 0 || count < size) {
		size = count
	}
	if size <= 0 {
		size = 1000
	}
	return size
}

func (c *Client) keysetPage(ctx context.Context, layer int, info *LayerInfo, q KeysetQuery, size int) (KeysetPage, error) {
	oid := info.ObjectIDField
	where := cmpOr(q.Where, "1=1")
	pq := q.Query
	pq.OrderBy = []string{oid + " ASC"}
	pq.OutFields = withField(pq.OutFields, oid)
	if q.EditField != "" {
		pq.OrderBy = []string{q.EditField + " ASC", oid + " ASC"}
		pq.OutFields = withField(pq.OutFields, q.EditField)
		if !q.After.IsZero() {
			at := "TIMESTAMP '" + q.After.Edited.UTC().Format("2006-01-02 15:04:05.000") + "'"
			pq.Where = fmt.Sprintf("(%s) AND (%s > %s OR (%s = %s AND %s > %d))",
				where, q.EditField, at, q.EditField, at, oid, q.After.ObjectID)
		}
	} else if q.After.ObjectID > 0 {
		pq.Where = fmt.Sprintf("(%s) AND %s > %d", where, oid, q.After.ObjectID)
	}
	p := pq.params()
	if info.SupportsPagination() {
		p.Set("resultOffset", "0")
		p.Set("resultRecordCount", strconv.Itoa(size))
	}
	fs, err := c.query(ctx, layer, p)
	if err != nil {
		return KeysetPage{}, err
	}
	if fs.ExceededTransferLimit && len(fs.Features) == 0 {
		return KeysetPage{}, fmt.Errorf("querying layer %d after %+v: %w", layer, q.After, errNoProgress)
	}
	page := KeysetPage{FeatureSet: fs, Last: q.After, More: morePages(fs, size)}
	oidField := cmpOr(fs.ObjectIDFieldName, oid)
	for _, f := range fs.Features {
		id, ok := f.ObjectID(oidField)
		if !ok {
			return KeysetPage{}, fmt.Errorf("querying layer %d: a feature has no %s", layer, oid)
		}
		k := Key{ObjectID: id}
		if q.EditField != "" {
			if k.Edited, ok = f.Time(q.EditField); !ok {
				return KeysetPage{}, fmt.Errorf("querying layer %d: feature %d has no %s", layer, id, q.EditField)
			}
		}
		if !keyAfter(k, page.Last) {
			return KeysetPage{}, fmt.Errorf("querying layer %d: feature %d is out of keyset order after %+v", layer, id, page.Last)
		}
		page.Last = k
	}
	return page, nil
}

// keyAfter reports whether k follows prev in keyset order.
func keyAfter(k, prev Key) bool {
	if c := k.Edited.Compare(prev.Edited); c != 0 {
		return c > 0
	}
	return k.ObjectID > prev.ObjectID
}
