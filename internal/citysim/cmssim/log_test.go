package cmssim

import (
	"slices"
	"testing"
)

func TestLogPagesLiveEntriesInOrder(t *testing.T) {
	t.Parallel()
	stamps := []int64{10, 10, 20, 20, 20} // index -> current stamp
	var l log
	l.add(5, 2)     // stale: item 2 was written again at 20
	l.add(10, 0, 1) // one write, two items
	l.add(20, 2, 3, 4)
	stampOf := func(i int32) int64 { return stamps[i] }

	got, more := l.page(0, nil, 10, stampOf, nil)
	if !slices.Equal(got, []int32{0, 1, 2, 3, 4}) || more {
		t.Fatalf("page = %v, more %v", got, more)
	}
	got, more = l.page(0, nil, 2, stampOf, nil)
	if !slices.Equal(got, []int32{0, 1}) || !more {
		t.Fatalf("first page of two = %v, more %v", got, more)
	}
	// After (20, 2): the rest of the write that shares stamp 20.
	got, _ = l.page(0, &logEntry{at: 20, idx: 2}, 10, stampOf, nil)
	if !slices.Equal(got, []int32{3, 4}) {
		t.Fatalf("after (20, 2) = %v", got)
	}
	// since wins over an older cursor; a filter skips without ending the page early.
	got, more = l.page(20, &logEntry{at: 10, idx: 0}, 1, stampOf, func(i int32) bool { return i != 2 })
	if !slices.Equal(got, []int32{3}) || !more {
		t.Fatalf("since 20, filtered = %v, more %v", got, more)
	}
}

func TestLogCompacts(t *testing.T) {
	t.Parallel()
	stamps := []int64{0}
	var l log
	for at := int64(1); at <= 10000; at++ {
		stamps[0] = at
		l.add(at, 0)
		l.compact(1, func(i int32) int64 { return stamps[i] })
	}
	if len(l.entries) > 4096+2 {
		t.Fatalf("%d entries kept for one live item", len(l.entries))
	}
	got, _ := l.page(0, nil, 10, func(i int32) int64 { return stamps[i] }, nil)
	if !slices.Equal(got, []int32{0}) {
		t.Fatalf("page after compaction = %v", got)
	}
}

func TestCursorRoundTrip(t *testing.T) {
	t.Parallel()
	idxOf := func(id string) (int32, bool) { return parseID(id, "dev-", 7, 100) }
	e, err := decodeCursor(encodeCursor(1775485351123456, "dev-0000042"), idxOf)
	if err != nil || e.at != 1775485351123456 || e.idx != 41 {
		t.Fatalf("round trip = %+v, %v", e, err)
	}
	for _, bad := range []string{"", "!!", encodeCursor(1, "dev-0000101"), encodeCursor(1, "alm-00000001"), "MTIz"} {
		if _, err := decodeCursor(bad, idxOf); err == nil {
			t.Errorf("cursor %q accepted", bad)
		}
	}
}
