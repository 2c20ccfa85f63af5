package citysim

import (
	"cmp"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// parseValue parses a field reference, a literal, or one of the functions
// standardized SQL allows (UPPER, LOWER, CURRENT_TIMESTAMP, CURRENT_DATE).
func (p *arcgisWhereParser) parseValue() (arcgisExpr, error) {
	t := p.next()
	switch t.kind {
	case arcgisTokNumber:
		if n, err := strconv.ParseInt(t.text, 10, 64); err == nil {
			return arcgisConst(arcgisKindNumber, n), nil
		}
		f, err := strconv.ParseFloat(t.text, 64)
		if err != nil {
			return arcgisExpr{}, fmt.Errorf("bad number %q at %d", t.text, t.pos)
		}
		return arcgisConst(arcgisKindNumber, f), nil
	case arcgisTokString:
		return arcgisConst(arcgisKindString, t.text), nil
	case arcgisTokIdent:
	default:
		return arcgisExpr{}, fmt.Errorf("expected a value at %d, found %q", t.pos, t.text)
	}
	switch strings.ToUpper(t.text) {
	case "NULL":
		return arcgisConst(arcgisKindNull, nil), nil
	case "TIMESTAMP", "DATE":
		lit := p.peek()
		if lit.kind != arcgisTokString {
			break // a field that happens to be called DATE
		}
		p.next()
		ms, err := arcgisParseDateLiteral(lit.text)
		if err != nil {
			return arcgisExpr{}, fmt.Errorf("bad %s literal at %d: %w", strings.ToLower(t.text), lit.pos, err)
		}
		return arcgisConst(arcgisKindDate, ms), nil
	case "CURRENT_TIMESTAMP":
		return arcgisConst(arcgisKindDate, p.now.UnixMilli()), nil
	case "CURRENT_DATE":
		y, m, d := p.now.UTC().Date()
		return arcgisConst(arcgisKindDate, time.Date(y, m, d, 0, 0, 0, 0, time.UTC).UnixMilli()), nil
	case "UPPER", "LOWER":
		if !p.punct("(") {
			break
		}
		inner, err := p.parseValue()
		if err != nil {
			return arcgisExpr{}, err
		}
		if err := p.expectPunct(")"); err != nil {
			return arcgisExpr{}, err
		}
		if inner.kind != arcgisKindString && inner.kind != arcgisKindNull {
			return arcgisExpr{}, fmt.Errorf("%s needs a string at %d", t.text, t.pos)
		}
		fold := strings.ToUpper
		if strings.EqualFold(t.text, "LOWER") {
			fold = strings.ToLower
		}
		eval := inner.eval
		return arcgisExpr{kind: arcgisKindString, eval: func(row []any) any {
			if s, ok := eval(row).(string); ok {
				return fold(s)
			}
			return nil
		}}, nil
	}
	idx, kind, ok := p.resolve(t.text)
	if !ok {
		return arcgisExpr{}, fmt.Errorf("invalid field %q", t.text)
	}
	return arcgisExpr{kind: kind, eval: func(row []any) any { return row[idx] }}, nil
}

func arcgisConst(kind arcgisKind, v any) arcgisExpr {
	return arcgisExpr{kind: kind, konst: true, lit: v, eval: func([]any) any { return v }}
}

// arcgisParseDateLiteral reads the forms ArcGIS documents for date and
// timestamp literals, always in UTC, into epoch milliseconds.
func arcgisParseDateLiteral(s string) (int64, error) {
	for _, layout := range []string{"2006-01-02 15:04:05.000", "2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02", "2006-01-02T15:04:05Z07:00"} {
		if t, err := time.ParseInLocation(layout, strings.TrimSpace(s), time.UTC); err == nil {
			return t.UnixMilli(), nil
		}
	}
	return 0, fmt.Errorf("want YYYY-MM-DD[ HH:MM:SS], got %q", s)
}

// arcgisCompare compiles left op right, checking that the kinds agree. A
// string literal compared with a date field is read as a timestamp.
func arcgisCompare(left arcgisExpr, op string, right arcgisExpr) (arcgisPred, error) {
	var err error
	if left, right, err = arcgisCoerce(left, right); err != nil {
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
	return func(row []any) arcgisTri {
		c, ok := arcgisCompareValues(le(row), re(row))
		if !ok {
			return arcgisUnknown
		}
		if test(c) {
			return arcgisTrue
		}
		return arcgisFalse
	}, nil
}

func arcgisCoerce(left, right arcgisExpr) (arcgisExpr, arcgisExpr, error) {
	asDate := func(e arcgisExpr) (arcgisExpr, error) {
		ms, err := arcgisParseDateLiteral(e.lit.(string))
		if err != nil {
			return e, err
		}
		return arcgisConst(arcgisKindDate, ms), nil
	}
	var err error
	switch {
	case left.kind == arcgisKindDate && right.kind == arcgisKindString && right.konst:
		right, err = asDate(right)
	case right.kind == arcgisKindDate && left.kind == arcgisKindString && left.konst:
		left, err = asDate(left)
	}
	if err != nil {
		return left, right, err
	}
	lk, rk := left.kind, right.kind
	if lk == arcgisKindDate {
		lk = arcgisKindNumber
	}
	if rk == arcgisKindDate {
		rk = arcgisKindNumber
	}
	if lk != rk && lk != arcgisKindNull && rk != arcgisKindNull {
		return left, right, fmt.Errorf("cannot compare a %s with a %s", arcgisKindName(left.kind), arcgisKindName(right.kind))
	}
	return left, right, nil
}

func arcgisKindName(k arcgisKind) string {
	switch k {
	case arcgisKindString:
		return "string"
	case arcgisKindNumber:
		return "number"
	case arcgisKindDate:
		return "date"
	}
	return "null"
}

// arcgisCompareValues orders two row values; ok is false when either is NULL
// or they are of different types.
func arcgisCompareValues(a, b any) (int, bool) {
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
