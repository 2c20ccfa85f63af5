package arcgissim

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestWhereBounds(t *testing.T) {
	t.Parallel()
	// A hostile clause is refused before any row is read: too long, too
	// many tokens, or nested too deep (NOT NOT ... and ((( ... ))) alike).
	for name, where := range map[string]string{
		"nested NOTs":     strings.Repeat("NOT ", maxWhereDepth+1) + "watts = 1",
		"nested parens":   strings.Repeat("(", maxWhereDepth+1) + "watts = 1" + strings.Repeat(")", maxWhereDepth+1),
		"nested UPPER":    strings.Repeat("UPPER(", maxWhereDepth+1) + "status" + strings.Repeat(")", maxWhereDepth+1) + " = 'A'",
		"too many tokens": "watts IN (" + strings.Repeat("1,", maxWhereTokens) + "1)",
		"too long":        "status = '" + strings.Repeat("x", maxWhereLength) + "'",
	} {
		if _, err := compileWhere(where, whereResolve, time.Now()); err == nil || !strings.Contains(err.Error(), "limit") {
			t.Errorf("%s: %v, want an error naming the limit", name, err)
		}
	}
	// Just inside the bounds still compiles.
	if _, err := compileWhere(strings.Repeat("NOT ", maxWhereDepth-2)+"watts = 1", whereResolve, time.Now()); err != nil {
		t.Errorf("nesting inside the bound: %v", err)
	}
}

func TestQueryRejectsHostileWhereWith400(t *testing.T) {
	t.Parallel()
	// One request of a few MB of nested NOTs: answered at once with the
	// ArcGIS error body, not evaluated for minutes.
	l := testLayer(t, 50, LayerConfig{MaxRecordCount: 10})
	_, srv := testServer(t, l, Options{})
	form := url.Values{"where": {strings.Repeat("NOT ", 1<<20) + "RANK = 1"}}
	got := call(t, srv, http.MethodPost, testLayerPath+"/query", form)
	e, _ := got["error"].(map[string]any)
	if errCode(got) != 400 || !strings.Contains(strings.Join(toStrings(e["details"]), " "), "'where' parameter is invalid") {
		t.Fatalf("hostile where answered %v, want an ArcGIS 400 about 'where'", got)
	}
}

func toStrings(v any) []string {
	var out []string
	list, _ := v.([]any)
	for _, s := range list {
		out = append(out, s.(string))
	}
	return out
}

func TestSelectHoldsTheLockOnlyAPageAtATime(t *testing.T) {
	t.Parallel()
	// A where clause no index helps scans every row. Between pages of rows
	// the layer lock must be free, so that writers (and the readers queued
	// behind them) are not held up for the whole scan.
	l := testLayer(t, 1000, LayerConfig{MaxRecordCount: 100})
	pauses, free := 0, 0
	l.betweenChunks = func() {
		pauses++
		if l.mu.TryLock() {
			free++
			l.mu.Unlock()
		}
	}
	recs, err := l.selectRecords(context.Background(), query{where: "SCORE >= 0 AND NAME LIKE 'f%'"}, time.Now())
	if err != nil || len(recs) != 1000 {
		t.Fatalf("select: %d records, %v", len(recs), err)
	}
	if pauses < 9 || free != pauses {
		t.Errorf("lock free at %d of %d pauses in a scan of 1000 rows in pages of 100", free, pauses)
	}
}

func TestSelectStopsWhenTheCallerGoesAway(t *testing.T) {
	t.Parallel()
	l := testLayer(t, 1000, LayerConfig{MaxRecordCount: 100})
	ctx, cancel := context.WithCancel(context.Background())
	pauses := 0
	l.betweenChunks = func() {
		pauses++
		cancel() // the client hung up while the first page was scanned
	}
	_, err := l.selectRecords(ctx, query{where: "SCORE >= 0"}, time.Now())
	if err == nil || pauses != 1 {
		t.Errorf("after the caller left: %v after %d pages, want the context's error after 1", err, pauses)
	}
}

// BenchmarkWorstWherePage measures the longest the layer lock is held by a
// scan: one page (maxRecordCount rows) against the costliest clause the
// bounds let through, nested to maxWhereDepth and padded to maxWhereTokens.
func BenchmarkWorstWherePage(b *testing.B) {
	l := testLayer(b, 2000, LayerConfig{MaxRecordCount: 2000})
	nest := maxWhereDepth - 4
	clause := strings.Repeat("NOT ", nest) + "(RANK IN (" + strings.Repeat("7,", (maxWhereTokens-nest-40)/2) + "7) OR UPPER(NAME) LIKE '%X%')"
	if _, cost, err := compileWhereCost(clause, l.resolve, time.Now()); err != nil || cost.tokens < maxWhereTokens*9/10 {
		b.Fatalf("clause of %+v: %v", cost, err)
	}
	b.ResetTimer()
	for b.Loop() {
		l.cache.clear()
		if _, err := l.selectRecords(context.Background(), query{where: clause}, time.Now()); err != nil {
			b.Fatal(err)
		}
	}
}
