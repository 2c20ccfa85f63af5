package cmssim

import (
	"cmp"
	"encoding/base64"
	"errors"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// log orders a collection's writes by (stamp, index) for the "changed
// since" listings. Every write appends its items with a stamp at or after all
// earlier ones (the items of one write in index order), so the log stays
// sorted by appending alone. An item written again leaves a stale entry
// behind, recognised because the item's stamp has moved on; stale entries are
// skipped and compacted away once they outnumber the live ones.
type log struct {
	entries []logEntry
}

type logEntry struct {
	at  int64 // Unix microseconds
	idx int32
}

func (e logEntry) less(o logEntry) bool {
	return e.at < o.at || (e.at == o.at && e.idx < o.idx)
}

// add appends one write's items, which must be in ascending index order and
// stamped at or after every earlier entry.
func (l *log) add(at int64, idxs ...int32) {
	for _, i := range idxs {
		l.entries = append(l.entries, logEntry{at: at, idx: i})
	}
}

// sortAll sorts the log after a bulk load that did not append in order.
func (l *log) sortAll() {
	slices.SortFunc(l.entries, func(a, b logEntry) int {
		if c := cmp.Compare(a.at, b.at); c != 0 {
			return c
		}
		return cmp.Compare(a.idx, b.idx)
	})
}

// compact drops stale entries when they outnumber live ones.
func (l *log) compact(live int, stampOf func(int32) int64) {
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
func (l *log) page(since int64, after *logEntry, limit int, stampOf func(int32) int64, keep func(int32) bool) ([]int32, bool) {
	from := logEntry{at: since, idx: -1}
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

// encodeCursor makes the opaque cursor for a listing position: the stamp
// and id of the last item on the page.
// pageOf copies a page's records out of all (under the CMS's read lock)
// and gives the cursor that resumes after the last of them, or after if the
// page is empty.
func pageOf[T any](all []*T, idxs []int32, after string, key func(*T) (int64, string)) ([]T, string) {
	out := make([]T, len(idxs))
	for k, i := range idxs {
		out[k] = *all[i]
	}
	if len(out) == 0 {
		return out, after
	}
	return out, encodeCursor(key(&out[len(out)-1]))
}

func encodeCursor(at int64, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(at, 10) + ":" + id))
}

var errCursor = errors.New("malformed cursor")

// decodeCursor reads a cursor made by encodeCursor, turning its id back
// into an index with idxOf.
func decodeCursor(s string, idxOf func(string) (int32, bool)) (logEntry, error) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return logEntry{}, errCursor
	}
	at, id, ok := strings.Cut(string(raw), ":")
	if !ok {
		return logEntry{}, errCursor
	}
	n, err := strconv.ParseInt(at, 10, 64)
	if err != nil {
		return logEntry{}, errCursor
	}
	idx, ok := idxOf(id)
	if !ok {
		return logEntry{}, errCursor
	}
	return logEntry{at: n, idx: idx}, nil
}

// parseID reads the index out of an id made of prefix and a zero-padded
// sequence number from 1, as "dev-0000042" is index 41.
func parseID(id, prefix string, width, count int) (int32, bool) {
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
