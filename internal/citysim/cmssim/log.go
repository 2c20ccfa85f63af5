package citysim

import (
	"cmp"
	"encoding/base64"
	"errors"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// cmsLog orders a collection's writes by (stamp, index) for the "changed
// since" listings. Every write appends its items with a stamp at or after all
// earlier ones (the items of one write in index order), so the log stays
// sorted by appending alone. An item written again leaves a stale entry
// behind, recognised because the item's stamp has moved on; stale entries are
// skipped and compacted away once they outnumber the live ones.
type cmsLog struct {
	entries []cmsLogEntry
}

type cmsLogEntry struct {
	at  int64 // Unix microseconds
	idx int32
}

func (e cmsLogEntry) less(o cmsLogEntry) bool {
	return e.at < o.at || (e.at == o.at && e.idx < o.idx)
}

// add appends one write's items, which must be in ascending index order and
// stamped at or after every earlier entry.
func (l *cmsLog) add(at int64, idxs ...int32) {
	for _, i := range idxs {
		l.entries = append(l.entries, cmsLogEntry{at: at, idx: i})
	}
}

// sortAll sorts the log after a bulk load that did not append in order.
func (l *cmsLog) sortAll() {
	slices.SortFunc(l.entries, func(a, b cmsLogEntry) int {
		if c := cmp.Compare(a.at, b.at); c != 0 {
			return c
		}
		return cmp.Compare(a.idx, b.idx)
	})
}

// compact drops stale entries when they outnumber live ones.
func (l *cmsLog) compact(live int, stampOf func(int32) int64) {
	if len(l.entries) < 2*live+4096 {
		return
	}
	kept := l.entries[:0]
	for _, e := range l.entries {
		if stampOf(e.idx) == e.at {
			kept = append(kept, e)
		}
	}
	l.entries = kept
}

// page returns up to limit live items at or after since (or strictly after
// the cursor position, when one is given) that match keep, and whether more
// matching items follow.
func (l *cmsLog) page(since int64, after *cmsLogEntry, limit int, stampOf func(int32) int64, keep func(int32) bool) ([]int32, bool) {
	from := cmsLogEntry{at: since, idx: -1}
	if after != nil && !after.less(from) {
		from = *after
	}
	start := sort.Search(len(l.entries), func(i int) bool { return from.less(l.entries[i]) })
	var out []int32
	for _, e := range l.entries[start:] {
		if stampOf(e.idx) != e.at || (keep != nil && !keep(e.idx)) {
			continue
		}
		if len(out) == limit {
			return out, true
		}
		out = append(out, e.idx)
	}
	return out, false
}

// cmsEncodeCursor makes the opaque cursor for a listing position: the stamp
// and id of the last item on the page.
// cmsPageOf copies a page's records out of all (under the CMS's read lock)
// and gives the cursor that resumes after the last of them, or after if the
// page is empty.
func cmsPageOf[T any](all []*T, idxs []int32, after string, key func(*T) (int64, string)) ([]T, string) {
	out := make([]T, len(idxs))
	for k, i := range idxs {
		out[k] = *all[i]
	}
	if len(out) == 0 {
		return out, after
	}
	return out, cmsEncodeCursor(key(&out[len(out)-1]))
}

func cmsEncodeCursor(at int64, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(at, 10) + ":" + id))
}

var errCMSCursor = errors.New("malformed cursor")

// cmsDecodeCursor reads a cursor made by cmsEncodeCursor, turning its id back
// into an index with idxOf.
func cmsDecodeCursor(s string, idxOf func(string) (int32, bool)) (cmsLogEntry, error) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return cmsLogEntry{}, errCMSCursor
	}
	at, id, ok := strings.Cut(string(raw), ":")
	if !ok {
		return cmsLogEntry{}, errCMSCursor
	}
	n, err := strconv.ParseInt(at, 10, 64)
	if err != nil {
		return cmsLogEntry{}, errCMSCursor
	}
	idx, ok := idxOf(id)
	if !ok {
		return cmsLogEntry{}, errCMSCursor
	}
	return cmsLogEntry{at: n, idx: idx}, nil
}

// cmsParseID reads the index out of an id made of prefix and a zero-padded
// sequence number from 1, as "dev-0000042" is index 41.
func cmsParseID(id, prefix string, width, count int) (int32, bool) {
	rest, ok := strings.CutPrefix(id, prefix)
	if !ok || len(rest) != width {
		return 0, false
	}
	n, err := strconv.Atoi(rest)
	if err != nil || n < 1 || n > count {
		return 0, false
	}
	return int32(n - 1), true
}
