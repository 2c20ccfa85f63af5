package telemetry

import (
	"errors"
	"testing"
)

func TestCursorRoundTrip(t *testing.T) {
	t.Parallel()
	c := cursor{V: 2, S: "SL 7/é", K: "1795435170123#power", Asc: true, From: 5, To: 9e15, M: "power"}
	got, err := decodeCursor(encodeCursor(c))
	if err != nil || got != c {
		t.Fatalf("round trip = %+v, %v; want %+v", got, err, c)
	}
	for _, bad := range []string{"!!", "bm90IGpzb24", encodeCursor(cursor{V: 1, S: "a", K: "1#"}), encodeCursor(cursor{V: 2, S: "a"}), encodeCursor(cursor{V: 2})} {
		if _, err := decodeCursor(bad); !errors.Is(err, ErrBadCursor) {
			t.Errorf("decodeCursor(%q) = %v, want ErrBadCursor", bad, err)
		}
	}
}

// FuzzQueryParams feeds arbitrary query strings and cursors to the API's
// parsing: it must never panic, and what it accepts must be in range.
func FuzzQueryParams(f *testing.F) {
	f.Add("limit=10&order=asc&from=2026-11-22T00:00:00Z&to=1795435170123", encodeCursor(cursor{V: 2, S: "a", K: "0000000000001#"}))
	f.Add("limit=1001&limit=2&order=sideways", "%%%")
	f.Add("from=9223372036854775807&to=-9223372036854775808", "")
	f.Fuzz(func(t *testing.T, query, cur string) {
		q, bad := parseRange(query)
		if len(bad) == 0 {
			if q.Limit < 0 || q.Limit > MaxLimit {
				t.Fatalf("accepted limit %d", q.Limit)
			}
			if !q.From.IsZero() && !q.To.IsZero() && !q.From.Before(q.To) {
				t.Fatalf("accepted from %v not before to %v", q.From, q.To)
			}
		}
		if c, err := decodeCursor(cur); err == nil && (c.V != 2 || c.S == "" || c.K == "") {
			t.Fatalf("accepted cursor %+v", c)
		} else if err != nil && !errors.Is(err, ErrBadCursor) {
			t.Fatalf("cursor error %v is not ErrBadCursor", err)
		}
	})
}
