package arcgissim

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"
)

// TestIndexAgreesWithScan runs the same where clauses on an indexed
// and an unindexed copy of a layer, before and after edits that move, add
// and delete indexed values: the index may only speed answers up.
func TestIndexAgreesWithScan(t *testing.T) {
	t.Parallel()
	plain := testLayer(t, 300, LayerConfig{})
	indexed := testLayer(t, 300, LayerConfig{Indexes: []string{"NAME", "RANK", "SCORE"}})
	wheres := []string{
		"NAME = 'f7'",
		"name = 'f7' AND RANK = 1",
		"RANK = 2 AND NAME IN ('f3', 'f8', 'f13', 'nope')",
		"NAME IN ('f1','f2') OR RANK = 3",
		"NOT NAME = 'f7'",
		"NAME NOT IN ('f1', 'f2')",
		"RANK BETWEEN 1 AND 2 AND NAME = 'f2'",
		"(NAME = 'f4') AND RANK = 3",
		"RANK = 4",
		"RANK = 4.0",
		"SCORE = 2.5",
		"SCORE IN (3, 3.5)",
		"NAME = 'moved'",
		"NAME = 'born' AND RANK IS NULL",
	}
	compare := func(stage string) {
		t.Helper()
		for _, w := range wheres {
			got, want := selectIDs(t, indexed, w), selectIDs(t, plain, w)
			if !slices.Equal(got, want) {
				t.Errorf("%s: %q: indexed %v, scan %v", stage, w, got, want)
			}
		}
	}
	compare("seeded")
	for _, l := range []*Layer{plain, indexed} {
		res := l.ApplyEdits(Edits{
			Adds:    []Feature{{Attributes: map[string]any{"NAME": "born"}}, {Attributes: map[string]any{"NAME": "f7", "RANK": int64(9)}}},
			Updates: []Feature{{Attributes: map[string]any{"OBJECTID": int64(7), "NAME": "moved"}}, {Attributes: map[string]any{"OBJECTID": int64(4), "RANK": nil}}},
			Deletes: []int64{3, 8},
		}, time.Now())
		for _, r := range append(res.AddResults, res.UpdateResults...) {
			if !r.Success {
				t.Fatalf("edit failed: %+v", r.Error)
			}
		}
	}
	compare("edited")
	if got := selectIDs(t, indexed, "NAME = 'f7'"); fmt.Sprint(got) != "[302]" {
		t.Errorf("NAME = 'f7' after the move = %v, want only the new feature 302", got)
	}
}

func selectIDs(t *testing.T, l *Layer, where string) []int64 {
	t.Helper()
	l.mu.RLock()
	defer l.mu.RUnlock()
	recs, err := l.selectRecords(context.Background(), query{where: where}, time.Now())
	if err != nil {
		t.Fatalf("%q: %v", where, err)
	}
	ids := make([]int64, len(recs))
	for i, r := range recs {
		ids[i] = r.oid
	}
	return ids
}

func TestIndexHint(t *testing.T) {
	t.Parallel()
	l := testLayer(t, 1, LayerConfig{Indexes: []string{"NAME", "WHEN"}})
	for where, want := range map[string]bool{
		"NAME = 'a'":                          true,
		"RANK = 1 AND NAME IN ('a', 'b')":     true,
		"RANK BETWEEN 1 AND 2 AND NAME = 'a'": true,
		"NAME = 'a' OR RANK = 1":              false,
		"NOT NAME = 'a'":                      false,
		"NAME <> 'a'":                         false,
		"NAME IN ('a', RANK)":                 false,
		"NAME = 1":                            false,
		"WHEN = 1":                            false, // dates are never hinted
		"RANK = 1":                            false,
		"(NAME = 'a' OR RANK = 2)":            false,
	} {
		if _, got := l.indexHint(where); got != want {
			t.Errorf("indexHint(%q) = %v, want %v", where, got, want)
		}
	}
}

func TestObjectIDLowerBound(t *testing.T) {
	t.Parallel()
	l := testLayer(t, 10, LayerConfig{})
	for _, c := range []struct {
		where string
		want  int64
		ok    bool
	}{
		{"(1=1) AND OBJECTID > 5", 6, true},
		{"OBJECTID >= 5 AND RANK = 1", 5, true},
		{"(NAME = 'a' OR RANK = 2) AND objectid > 7", 8, true},
		{"NAME = 'a' OR OBJECTID > 5", 0, false},
		{"(RANK = 1 OR RANK = 2 AND OBJECTID > 5 AND NAME = 'a')", 0, false},
		{"NOT OBJECTID > 5", 0, false},
		{"OBJECTID < 5", 0, false},
	} {
		got, ok := l.oidLowerBound(c.where)
		if got != c.want || ok != c.ok {
			t.Errorf("%q: bound %d, %v; want %d, %v", c.where, got, ok, c.want, c.ok)
		}
	}
}
