package arcgissim

import (
	"cmp"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// parseValue parses a field reference, a literal, or one of the functions
// standardized SQL allows (UPPER, LOWER, CURRENT_TIMESTAMP, CURRENT_DATE).
func (p *whereParser) parseValue() (expr, error) {
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
	switch strings.ToUpper(t.text) {
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
	case "CURRENT_TIMESTAMP":
		return constant(kindDate, p.now.UnixMilli()), nil
	case "CURRENT_DATE":
		y, m, d := p.now.UTC().Date()
		return constant(kindDate, time.Date(y, m, d, 0, 0, 0, 0, time.UTC).UnixMilli()), nil
	case "UPPER", "LOWER":
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
		fold := strings.ToUpper
		if strings.EqualFold(t.text, "LOWER") {
			fold = strings.ToLower
		}
		eval := inner.eval
		return expr{kind: kindString, eval: func(row []any) any {
			if s, ok := eval(row).(string); ok {
				return fold(s)
			}
			return nil
		}}, nil
	}
	idx, kind, ok := p.resolve(t.text)
	if !ok {
		return expr{}, fmt.Errorf("invalid field %q", t.text)
	}
	return expr{kind: kind, eval: func(row []any) any { return row[idx] }}, nil
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
	asDate := func(e expr) (expr, error) {
		ms, err := parseDateLiteral(e.lit.(string))
		if err != nil {
			return e, err
		}
		return constant(kindDate, ms), nil
	}
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
