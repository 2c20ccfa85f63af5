package arcgissim

import (
	"cmp"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// parseValue parses a value expression: a term, then any number of
// + or - INTERVAL '...' unit, the date arithmetic standardized SQL allows
// (CURRENT_TIMESTAMP - INTERVAL '7' DAY).
func (p *whereParser) parseValue() (expr, error) {
	if err := p.enter(); err != nil {
		return expr{}, err
	}
	defer p.leave()
	left, err := p.parseTerm()
	if err != nil {
		return expr{}, err
	}
	for {
		op := p.peek()
		if op.kind != tokPunct || (op.text != "+" && op.text != "-") {
			return left, nil
		}
		p.next()
		if !p.keyword("INTERVAL") {
			return expr{}, fmt.Errorf("only date %s INTERVAL arithmetic is supported, at %d", op.text, op.pos)
		}
		ms, err := p.parseInterval()
		if err != nil {
			return expr{}, err
		}
		if left.konst && left.kind == kindString {
			if left, err = asDate(left); err != nil {
				return expr{}, err
			}
		}
		if left.kind != kindDate && left.kind != kindNull {
			return expr{}, fmt.Errorf("INTERVAL arithmetic needs a date, not a %s, at %d", kindName(left.kind), op.pos)
		}
		if op.text == "-" {
			ms = -ms
		}
		eval := left.eval
		left = expr{kind: kindDate, eval: func(row []any) any {
			if v, ok := eval(row).(int64); ok {
				return v + ms
			}
			return nil
		}}
	}
}

// intervalUnits are the fields of an interval literal, largest first.
var intervalUnits = []struct {
	name string
	ms   float64
}{{"DAY", 86400e3}, {"HOUR", 3600e3}, {"MINUTE", 60e3}, {"SECOND", 1e3}}

// parseInterval reads the rest of INTERVAL '<value>' <unit> [TO <unit>]:
// '7' DAY, '90' MINUTE, or '2 17:30:00' DAY TO SECOND, into milliseconds.
func (p *whereParser) parseInterval() (int64, error) {
	lit := p.next()
	if lit.kind != tokString {
		return 0, fmt.Errorf("expected a quoted interval after INTERVAL at %d", lit.pos)
	}
	unitIdx := func() (int, error) {
		t := p.next()
		for i, u := range intervalUnits {
			if t.kind == tokIdent && strings.EqualFold(t.text, u.name) {
				return i, nil
			}
		}
		return 0, fmt.Errorf("expected DAY, HOUR, MINUTE or SECOND at %d, found %q", t.pos, t.text)
	}
	from, err := unitIdx()
	if err != nil {
		return 0, err
	}
	to := from
	if p.keyword("TO") {
		if to, err = unitIdx(); err != nil {
			return 0, err
		}
		if to < from {
			return 0, fmt.Errorf("interval runs from %s to %s at %d", intervalUnits[from].name, intervalUnits[to].name, lit.pos)
		}
	}
	text := strings.TrimSpace(lit.text)
	sign := 1.0
	if rest, ok := strings.CutPrefix(text, "-"); ok {
		sign, text = -1, rest
	}
	parts := strings.FieldsFunc(text, func(r rune) bool { return r == ' ' || r == ':' })
	if len(parts) != to-from+1 {
		return 0, fmt.Errorf("interval %q does not fit %s TO %s at %d", lit.text, intervalUnits[from].name, intervalUnits[to].name, lit.pos)
	}
	total := 0.0
	for i, part := range parts {
		v, err := strconv.ParseFloat(part, 64)
		if err != nil || v < 0 || math.IsInf(v, 0) || (i < len(parts)-1 && v != math.Trunc(v)) {
			return 0, fmt.Errorf("bad interval %q at %d", lit.text, lit.pos)
		}
		total += v * intervalUnits[from+i].ms
	}
	if total > 1e15 { // some 30,000 years: beyond any date a layer holds
		return 0, fmt.Errorf("interval %q out of range at %d", lit.text, lit.pos)
	}
	return int64(sign * total), nil
}

// parseTerm parses a field reference, a literal, or one of the functions
// standardized SQL allows: UPPER, LOWER, CHAR_LENGTH, CURRENT_TIMESTAMP,
// CURRENT_DATE (with or without parentheses), EXTRACT and CAST.
func (p *whereParser) parseTerm() (expr, error) {
	t := p.next()
	switch t.kind {
	case tokNumber:
		if n, err := strconv.ParseInt(t.text, 10, 64); err == nil {
			return constant(kindNumber, n), nil
		}
		f, err := strconv.ParseFloat(t.text, 64)
		if err != nil {
			return expr{}, fmt.Errorf("bad number %q at %d", t.text, t.pos)
		}
		return constant(kindNumber, f), nil
	case tokString:
		return constant(kindString, t.text), nil
	case tokIdent:
	default:
		return expr{}, fmt.Errorf("expected a value at %d, found %q", t.pos, t.text)
	}
	name := strings.ToUpper(t.text)
	switch name {
	case "NULL":
		return constant(kindNull, nil), nil
	case "TIMESTAMP", "DATE":
		lit := p.peek()
		if lit.kind != tokString {
			break // a field that happens to be called DATE
		}
		p.next()
		ms, err := parseDateLiteral(lit.text)
		if err != nil {
			return expr{}, fmt.Errorf("bad %s literal at %d: %w", strings.ToLower(t.text), lit.pos, err)
		}
		return constant(kindDate, ms), nil
	case "CURRENT_TIMESTAMP", "CURRENT_DATE":
		if p.punct("(") {
			if err := p.expectPunct(")"); err != nil {
				return expr{}, err
			}
		}
		if name == "CURRENT_TIMESTAMP" {
			return constant(kindDate, p.now.UnixMilli()), nil
		}
		y, m, d := p.now.UTC().Date()
		return constant(kindDate, time.Date(y, m, d, 0, 0, 0, 0, time.UTC).UnixMilli()), nil
	case "UPPER", "LOWER", "CHAR_LENGTH", "CHARACTER_LENGTH":
		if !p.punct("(") {
			break
		}
		inner, err := p.parseValue()
		if err != nil {
			return expr{}, err
		}
		if err := p.expectPunct(")"); err != nil {
			return expr{}, err
		}
		if inner.kind != kindString && inner.kind != kindNull {
			return expr{}, fmt.Errorf("%s needs a string at %d", t.text, t.pos)
		}
		eval := inner.eval
		if name == "CHAR_LENGTH" || name == "CHARACTER_LENGTH" {
			return expr{kind: kindNumber, eval: func(row []any) any {
				if s, ok := eval(row).(string); ok {
					return int64(utf8.RuneCountInString(s))
				}
				return nil
			}}, nil
		}
		fold := strings.ToUpper
		if name == "LOWER" {
			fold = strings.ToLower
		}
		return expr{kind: kindString, eval: func(row []any) any {
			if s, ok := eval(row).(string); ok {
				return fold(s)
			}
			return nil
		}}, nil
	case "EXTRACT":
		if !p.punct("(") {
			break
		}
		return p.parseExtract(t)
	case "CAST":
		if !p.punct("(") {
			break
		}
		return p.parseCast(t)
	}
	idx, kind, ok := p.resolve(t.text)
	if !ok {
		return expr{}, fmt.Errorf("invalid field %q", t.text)
	}
	return expr{kind: kind, eval: func(row []any) any { return row[idx] }}, nil
}

// asDate reads a string literal as a date literal.
func asDate(e expr) (expr, error) {
	ms, err := parseDateLiteral(e.lit.(string))
	if err != nil {
		return e, err
	}
	return constant(kindDate, ms), nil
}

// parseExtract reads the rest of EXTRACT(<field> FROM <date>): YEAR, MONTH,
// DAY, HOUR, MINUTE or SECOND of a date, in UTC.
func (p *whereParser) parseExtract(fn lexToken) (expr, error) {
	field := p.next()
	parts := map[string]func(time.Time) int64{
		"YEAR":   func(t time.Time) int64 { return int64(t.Year()) },
		"MONTH":  func(t time.Time) int64 { return int64(t.Month()) },
		"DAY":    func(t time.Time) int64 { return int64(t.Day()) },
		"HOUR":   func(t time.Time) int64 { return int64(t.Hour()) },
		"MINUTE": func(t time.Time) int64 { return int64(t.Minute()) },
		"SECOND": func(t time.Time) int64 { return int64(t.Second()) },
	}
	part, ok := parts[strings.ToUpper(field.text)]
	if field.kind != tokIdent || !ok {
		return expr{}, fmt.Errorf("EXTRACT takes YEAR, MONTH, DAY, HOUR, MINUTE or SECOND at %d, found %q", field.pos, field.text)
	}
	if !p.keyword("FROM") {
		return expr{}, fmt.Errorf("expected FROM in EXTRACT at %d", p.peek().pos)
	}
	src, err := p.parseValue()
	if err != nil {
		return expr{}, err
	}
	if err := p.expectPunct(")"); err != nil {
		return expr{}, err
	}
	if src.konst && src.kind == kindString {
		if src, err = asDate(src); err != nil {
			return expr{}, err
		}
	}
	if src.kind != kindDate && src.kind != kindNull {
		return expr{}, fmt.Errorf("EXTRACT needs a date, not a %s, at %d", kindName(src.kind), fn.pos)
	}
	eval := src.eval
	return expr{kind: kindNumber, eval: func(row []any) any {
		if ms, ok := eval(row).(int64); ok {
			return part(time.UnixMilli(ms).UTC())
		}
		return nil
	}}, nil
}

// parseCast reads the rest of CAST(<value> AS <type>): INT (INTEGER,
// SMALLINT), FLOAT (REAL, DOUBLE, NUMERIC, DECIMAL), VARCHAR(n) (CHAR,
// NVARCHAR), DATE or TIMESTAMP. A value the type cannot hold is NULL.
func (p *whereParser) parseCast(fn lexToken) (expr, error) {
	src, err := p.parseValue()
	if err != nil {
		return expr{}, err
	}
	if !p.keyword("AS") {
		return expr{}, fmt.Errorf("expected AS in CAST at %d", p.peek().pos)
	}
	typ := p.next()
	if typ.kind != tokIdent {
		return expr{}, fmt.Errorf("expected a type in CAST at %d, found %q", typ.pos, typ.text)
	}
	name := strings.ToUpper(typ.text)
	if name == "DOUBLE" {
		p.keyword("PRECISION")
	}
	size := -1
	if p.punct("(") { // VARCHAR(10), NUMERIC(10, 2): the first number is a length
		n := p.next()
		if n.kind != tokNumber {
			return expr{}, fmt.Errorf("expected a length at %d", n.pos)
		}
		if v, err := strconv.Atoi(n.text); err == nil && v > 0 {
			size = v
		}
		if p.punct(",") {
			if n := p.next(); n.kind != tokNumber {
				return expr{}, fmt.Errorf("expected a scale at %d", n.pos)
			}
		}
		if err := p.expectPunct(")"); err != nil {
			return expr{}, err
		}
	}
	if err := p.expectPunct(")"); err != nil {
		return expr{}, err
	}
	eval, kind := src.eval, src.kind
	switch name {
	case "INT", "INTEGER", "SMALLINT", "BIGINT", "FLOAT", "REAL", "DOUBLE", "NUMERIC", "DECIMAL":
		integral := name == "INT" || name == "INTEGER" || name == "SMALLINT" || name == "BIGINT"
		if kind == kindDate {
			return expr{}, fmt.Errorf("cannot CAST a date AS %s at %d", name, fn.pos)
		}
		return expr{kind: kindNumber, eval: func(row []any) any { return castNumber(eval(row), integral) }}, nil
	case "VARCHAR", "CHAR", "NVARCHAR", "NCHAR", "TEXT":
		return expr{kind: kindString, eval: func(row []any) any {
			s, ok := castString(eval(row), kind)
			if !ok {
				return nil
			}
			if size > 0 && utf8.RuneCountInString(s) > size {
				s = string([]rune(s)[:size])
			}
			return s
		}}, nil
	case "DATE", "TIMESTAMP":
		if kind == kindNumber {
			return expr{}, fmt.Errorf("cannot CAST a number AS %s at %d", name, fn.pos)
		}
		day := name == "DATE"
		return expr{kind: kindDate, eval: func(row []any) any {
			var ms int64
			switch v := eval(row).(type) {
			case int64:
				ms = v
			case string:
				var err error
				if ms, err = parseDateLiteral(v); err != nil {
					return nil
				}
			default:
				return nil
			}
			if day {
				ms = time.UnixMilli(ms).UTC().Truncate(24 * time.Hour).UnixMilli()
			}
			return ms
		}}, nil
	}
	return expr{}, fmt.Errorf("CAST to %s is not supported at %d", typ.text, typ.pos)
}

// castNumber converts a value to a number, NULL when it holds none.
func castNumber(v any, integral bool) any {
	var f float64
	switch x := v.(type) {
	case int64:
		if integral {
			return x
		}
		return float64(x)
	case float64:
		f = x
	case string:
		var err error
		if f, err = strconv.ParseFloat(strings.TrimSpace(x), 64); err != nil {
			return nil
		}
	default:
		return nil
	}
	if !integral {
		return f
	}
	if math.IsNaN(f) || math.Abs(f) >= 1<<63 {
		return nil
	}
	return int64(f) // toward zero, as SQL's CAST does
}

// castString renders a value as SQL text: numbers as digits, dates as
// 'YYYY-MM-DD HH:MM:SS'.
func castString(v any, kind valueKind) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case int64:
		if kind == kindDate {
			return time.UnixMilli(x).UTC().Format("2006-01-02 15:04:05"), true
		}
		return strconv.FormatInt(x, 10), true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	}
	return "", false
}

func constant(kind valueKind, v any) expr {
	return expr{kind: kind, konst: true, lit: v, eval: func([]any) any { return v }}
}

// parseDateLiteral reads the forms ArcGIS documents for date and
// timestamp literals, always in UTC, into epoch milliseconds.
func parseDateLiteral(s string) (int64, error) {
	for _, layout := range []string{"2006-01-02 15:04:05.000", "2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02", "2006-01-02T15:04:05Z07:00"} {
		if t, err := time.ParseInLocation(layout, strings.TrimSpace(s), time.UTC); err == nil {
			return t.UnixMilli(), nil
		}
	}
	return 0, fmt.Errorf("want YYYY-MM-DD[ HH:MM:SS], got %q", s)
}

// comparison compiles left op right, checking that the kinds agree. A
// string literal compared with a date field is read as a timestamp.
func comparison(left expr, op string, right expr) (predicate, error) {
	var err error
	if left, right, err = coerce(left, right); err != nil {
		return nil, err
	}
	var test func(c int) bool
	switch op {
	case "=":
		test = func(c int) bool { return c == 0 }
	case "<>":
		test = func(c int) bool { return c != 0 }
	case "<":
		test = func(c int) bool { return c < 0 }
	case "<=":
		test = func(c int) bool { return c <= 0 }
	case ">":
		test = func(c int) bool { return c > 0 }
	case ">=":
		test = func(c int) bool { return c >= 0 }
	default:
		return nil, fmt.Errorf("unknown operator %q", op)
	}
	le, re := left.eval, right.eval
	return func(row []any) tri {
		c, ok := compareValues(le(row), re(row))
		if !ok {
			return triUnknown
		}
		if test(c) {
			return triTrue
		}
		return triFalse
	}, nil
}

func coerce(left, right expr) (expr, expr, error) {
	var err error
	switch {
	case left.kind == kindDate && right.kind == kindString && right.konst:
		right, err = asDate(right)
	case right.kind == kindDate && left.kind == kindString && left.konst:
		left, err = asDate(left)
	}
	if err != nil {
		return left, right, err
	}
	lk, rk := left.kind, right.kind
	if lk == kindDate {
		lk = kindNumber
	}
	if rk == kindDate {
		rk = kindNumber
	}
	if lk != rk && lk != kindNull && rk != kindNull {
		return left, right, fmt.Errorf("cannot compare a %s with a %s", kindName(left.kind), kindName(right.kind))
	}
	return left, right, nil
}

func kindName(k valueKind) string {
	switch k {
	case kindString:
		return "string"
	case kindNumber:
		return "number"
	case kindDate:
		return "date"
	}
	return "null"
}

// compareValues orders two row values; ok is false when either is NULL
// or they are of different types.
func compareValues(a, b any) (int, bool) {
	switch x := a.(type) {
	case int64:
		switch y := b.(type) {
		case int64:
			return cmp.Compare(x, y), true
		case float64:
			return cmp.Compare(float64(x), y), true
		}
	case float64:
		switch y := b.(type) {
		case int64:
			return cmp.Compare(x, float64(y)), true
		case float64:
			return cmp.Compare(x, y), true
		}
	case string:
		if y, ok := b.(string); ok {
			return strings.Compare(x, y), true
		}
	}
	return 0, false
}
