package arcgissim

import (
	"fmt"
	"regexp"
	"strings"
)

func (p *whereParser) parseIn(left expr) (predicate, error) {
	if err := p.expectPunct("("); err != nil {
		return nil, err
	}
	var preds []predicate
	set := map[any]struct{}{} // literal lists become one hash lookup per row
	for {
		v, err := p.parseValue()
		if err != nil {
			return nil, err
		}
		l, r, err := coerce(left, v)
		if err != nil {
			return nil, err
		}
		eq, err := comparison(l, "=", r)
		if err != nil {
			return nil, err
		}
		preds = append(preds, eq)
		if set != nil && r.konst && r.lit != nil {
			set[setKey(r.lit)] = struct{}{}
		} else {
			set = nil
		}
		if p.punct(")") {
			break
		}
		if err := p.expectPunct(","); err != nil {
			return nil, err
		}
	}
	if set != nil {
		eval := left.eval
		return func(row []any) tri {
			v := eval(row)
			if v == nil {
				return triUnknown
			}
			if _, ok := set[setKey(v)]; ok {
				return triTrue
			}
			return triFalse
		}, nil
	}
	return func(row []any) tri {
		res := triFalse
		for _, eq := range preds {
			switch eq(row) {
			case triTrue:
				return triTrue
			case triUnknown:
				res = triUnknown
			}
		}
		return res
	}, nil
}

func (p *whereParser) parseLike(left expr) (predicate, error) {
	t := p.next()
	if t.kind != tokString {
		return nil, fmt.Errorf("expected a pattern string after LIKE at %d", t.pos)
	}
	if left.kind != kindString && left.kind != kindNull {
		return nil, fmt.Errorf("LIKE needs a string operand at %d", t.pos)
	}
	var b strings.Builder
	b.WriteString(`(?s)^`)
	for _, r := range t.text {
		switch r {
		case '%':
			b.WriteString(".*")
		case '_':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString("$")
	re, err := regexp.Compile(b.String())
	if err != nil {
		return nil, fmt.Errorf("compiling LIKE pattern: %w", err)
	}
	eval := left.eval
	return func(row []any) tri {
		s, ok := eval(row).(string)
		if !ok {
			return triUnknown
		}
		if re.MatchString(s) {
			return triTrue
		}
		return triFalse
	}, nil
}

func (p *whereParser) parseBetween(left expr) (predicate, error) {
	lo, err := p.parseValue()
	if err != nil {
		return nil, err
	}
	if !p.keyword("AND") {
		return nil, fmt.Errorf("expected AND in BETWEEN at %d", p.peek().pos)
	}
	hi, err := p.parseValue()
	if err != nil {
		return nil, err
	}
	ge, err := comparison(left, ">=", lo)
	if err != nil {
		return nil, err
	}
	le, err := comparison(left, "<=", hi)
	if err != nil {
		return nil, err
	}
	return func(row []any) tri {
		a, b := ge(row), le(row)
		switch {
		case a == triFalse || b == triFalse:
			return triFalse
		case a == triUnknown || b == triUnknown:
			return triUnknown
		}
		return triTrue
	}, nil
}

// setKey normalises a value for IN-list lookups: integral floats and
// integers compare equal in SQL, so they share a key.
func setKey(v any) any {
	if f, ok := v.(float64); ok && f == float64(int64(f)) {
		return int64(f)
	}
	return v
}
