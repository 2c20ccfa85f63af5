package arcgissim

import (
	"strings"
	"testing"
	"time"
)

// whereFields is the where-clause tests' schema: each field's position in a row and its kind.
var whereFields = map[string]struct {
	idx  int
	kind valueKind
}{
	"objectid": {0, kindNumber}, "status": {1, kindString}, "watts": {2, kindNumber},
	"audit_date": {3, kindDate}, "ratio": {4, kindNumber}, "note": {5, kindString},
}

func whereResolve(name string) (int, valueKind, bool) {
	f, ok := whereFields[strings.ToLower(name)]
	return f.idx, f.kind, ok
}

func TestWhere(t *testing.T) {
	t.Parallel()
	ms := func(s string) int64 { v, _ := parseDateLiteral(s); return v }
	row := []any{int64(42), "approved", int64(100), ms("2025-06-01 12:30:00"), 0.5, nil}
	now := time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		where string
		want  bool
	}{
		{"", true},
		{"1=1", true},
		{"1=0", false},
		{"status = 'approved'", true},
		{"STATUS = 'approved'", true},
		{`"status" <> 'approved'`, false},
		{"status != 'rejected'", true},
		{"watts > 99 AND watts <= 100", true},
		{"watts < 100 OR watts >= 101", false},
		{"NOT watts = 100", false},
		{"NOT (watts = 1 OR status = 'x')", true},
		{"(watts = 1 OR status = 'approved') AND objectid = 42", true},
		{"watts IN (1, 2, 100)", true},
		{"watts IN (1.0, 100.0)", true},
		{"watts NOT IN (1, 2)", true},
		{"status IN ('audited', 'approved')", true},
		{"note IS NULL", true},
		{"note IS NOT NULL", false},
		{"status IS NOT NULL", true},
		{"note = 'x'", false},
		{"NOT note = 'x'", false}, // unknown stays unknown under NOT
		{"note IN ('x')", false},
		{"note NOT IN ('x')", false},
		{"status LIKE 'app%'", true},
		{"status LIKE '_pproved'", true},
		{"status LIKE 'App%'", false},
		{"status NOT LIKE '%ej%'", true},
		{"UPPER(status) = 'APPROVED'", true},
		{"LOWER('ABC') = 'abc'", true},
		{"audit_date > timestamp '2025-06-01 12:00:00'", true},
		{"audit_date >= TIMESTAMP '2025-06-01 12:30:00' AND audit_date < timestamp '2025-06-01 12:30:01'", true},
		{"audit_date > date '2025-06-02'", false},
		{"audit_date > '2025-05-31'", true},
		{"audit_date BETWEEN date '2025-01-01' AND date '2025-12-31'", true},
		{"audit_date < CURRENT_TIMESTAMP", true},
		{"audit_date >= CURRENT_DATE", false},
		{"ratio > 0.25 AND ratio < .75", true},
		{"ratio = -0.5", false},
		{"watts - 1 > 0", false},
		{"objectid > 41 and objectid < 43", true},
		{"status = 'it''s'", false},
		{"watts BETWEEN 100 AND 200", true},
		{"watts NOT BETWEEN 100 AND 200", false},
	}
	for _, c := range cases {
		pred, err := compileWhere(c.where, whereResolve, now)
		if c.where == "watts - 1 > 0" {
			if err == nil {
				t.Errorf("%q: compiled, want an error for arithmetic", c.where)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", c.where, err)
			continue
		}
		if got := pred(row) == triTrue; got != c.want {
			t.Errorf("%q = %v, want %v", c.where, got, c.want)
		}
	}
}

func TestWhereRejects(t *testing.T) {
	t.Parallel()
	for _, where := range []string{
		"nosuch = 1",
		"status = 1",
		"watts = 'x'",
		"status = 'open",
		"(watts = 1",
		"watts = 1)",
		"watts IN ()",
		"watts IN 1",
		"status LIKE status",
		"watts LIKE '1%'",
		"audit_date > timestamp 'yesterday'",
		"note IS 'x'",
		"watts NOT = 1",
		"watts = 1 AND",
		"watts ! 1",
		"status = 'a'; DROP TABLE x",
		"audit_date > 'not a date'",
	} {
		if _, err := compileWhere(where, whereResolve, time.Now()); err == nil {
			t.Errorf("%q compiled, want an error", where)
		}
	}
}

func TestWhereLexerStringEscapes(t *testing.T) {
	t.Parallel()
	toks, err := lexWhere(`name = 'O''Hare' AND x<>-3.5e2`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tk := range toks {
		got = append(got, tk.text)
	}
	want := []string{"name", "=", "O'Hare", "AND", "x", "<>", "-3.5e2", ""}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("tokens %q, want %q", got, want)
	}
}

// FuzzWhere feeds arbitrary where clauses to the lexer, compiler,
// predicate and index planner: they may reject input, never panic.
func FuzzWhere(f *testing.F) {
	for _, seed := range []string{
		"status = 'approved' AND watts IN (1, 2)",
		"audit_date > timestamp '2025-06-01 12:00:00' OR note IS NULL",
		"NOT (ratio BETWEEN -1 AND .5) AND status LIKE 'a_p%'",
		"UPPER(status) <> LOWER('X') AND objectid >= 3",
		"((((", "'", `"`, "status IN (", "watts = -", "date 'x'",
		"NOT NOT NOT NOT (watts = 1)",
		"CAST(watts AS VARCHAR(4)) = '100' OR CHAR_LENGTH(note) > 2",
		"CURRENT_TIMESTAMP - INTERVAL '7' DAY < audit_date AND EXTRACT(YEAR FROM audit_date) = 2025",
	} {
		f.Add(seed)
	}
	l := NewLayer(LayerConfig{Fields: []Field{
		str("status", 10, true), typed("watts", FieldInteger, true),
	}, Indexes: []string{"status", "watts"}})
	row := []any{int64(42), "approved", int64(100), int64(1748780000000), 0.5, nil}
	now := time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, where string) {
		pred, cost, err := compileWhereCost(where, whereResolve, now)
		if err != nil {
			return
		}
		// The evaluator's step budget: a compiled clause has at most one
		// node per token, so one row costs at most maxWhereTokens steps,
		// and a scan of a page of rows at most that many times more. A
		// clause past the bounds must have been refused.
		if len(where) > maxWhereLength || cost.tokens > maxWhereTokens || cost.depth > maxWhereDepth {
			t.Fatalf("compiled a clause past the bounds: %d bytes, %+v", len(where), cost)
		}
		pred(row)
		l.indexHint(where)
		l.oidLowerBound(where)
	})
}

func TestWhereStandardizedSQLFunctions(t *testing.T) {
	t.Parallel()
	// The standardized SQL ArcGIS documents for hosted and server layers,
	// as a date-window query uses it: CURRENT_TIMESTAMP/CURRENT_DATE (with
	// or without parentheses), INTERVAL arithmetic, EXTRACT, CAST,
	// CHAR_LENGTH, UPPER and LOWER.
	ms := func(s string) int64 { v, _ := parseDateLiteral(s); return v }
	row := []any{int64(42), "approved", int64(100), ms("2025-06-28 12:30:00"), 0.5, nil}
	now := time.Date(2025, 7, 1, 6, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		where string
		want  bool
	}{
		{"audit_date >= CURRENT_TIMESTAMP - INTERVAL '7' DAY", true},
		{"audit_date >= CURRENT_TIMESTAMP() - INTERVAL '2' DAY", false},
		{"audit_date > CURRENT_DATE - INTERVAL '3' DAY AND audit_date < CURRENT_DATE()", true},
		{"audit_date BETWEEN CURRENT_TIMESTAMP - INTERVAL '72' HOUR AND CURRENT_TIMESTAMP", true},
		{"audit_date >= CURRENT_TIMESTAMP - INTERVAL '2 17:30:00' DAY TO SECOND", true},
		{"audit_date >= CURRENT_TIMESTAMP - INTERVAL '2 17:29:00' DAY TO SECOND", false},
		{"audit_date + INTERVAL '90' MINUTE > TIMESTAMP '2025-06-28 13:59:00'", true},
		{"EXTRACT(YEAR FROM audit_date) = 2025 AND EXTRACT(MONTH FROM audit_date) = 6", true},
		{"EXTRACT(DAY FROM audit_date) = 28 AND EXTRACT(HOUR FROM audit_date) = 12 AND EXTRACT(MINUTE FROM audit_date) = 30", true},
		{"CAST(watts AS VARCHAR(10)) = '100'", true},
		{"CAST(ratio AS INT) = 0", true},
		{"CAST('2.5' AS FLOAT) > ratio", true},
		{"CAST(audit_date AS DATE) = DATE '2025-06-28'", true},
		{"CHAR_LENGTH(status) = 8", true},
		{"CHAR_LENGTH(note) IS NULL", true},
		{"UPPER(status) = 'APPROVED' AND LOWER('AbC') = 'abc'", true},
	} {
		pred, err := compileWhere(tc.where, whereResolve, now)
		if err != nil {
			t.Errorf("%q: %v", tc.where, err)
			continue
		}
		if got := pred(row) == triTrue; got != tc.want {
			t.Errorf("%q = %v, want %v", tc.where, got, tc.want)
		}
	}
	for _, where := range []string{
		"EXTRACT(WEEK FROM audit_date) = 1",
		"EXTRACT(YEAR FROM status) = 1",
		"CAST(status AS BLOB) = 1",
		"status - INTERVAL '1' DAY > 0",
		"audit_date > CURRENT_TIMESTAMP - INTERVAL 'x' DAY",
		"CHAR_LENGTH(watts) = 3",
	} {
		if _, err := compileWhere(where, whereResolve, now); err == nil {
			t.Errorf("%q compiled, want an error", where)
		}
	}
}
