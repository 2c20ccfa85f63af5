package citysim

import (
	"fmt"
	"regexp"
	"strings"
)

func (p *arcgisWhereParser) parseIn(left arcgisExpr) (arcgisPred, error) {
	if err := p.expectPunct("("); err != nil {
		return nil, err
	}
	var preds []arcgisPred
	set := map[any]struct{}{} // literal lists become one hash lookup per row
	for {
		v, err := p.parseValue()
		if err != nil {
			return nil, err
		}
		l, r, err := arcgisCoerce(left, v)
		if err != nil {
			return nil, err
		}
		eq, err := arcgisCompare(l, "=", r)
		if err != nil {
			return nil, err
		}
		preds = append(preds, eq)
		if set != nil && r.konst && r.lit != nil {
			set[arcgisSetKey(r.lit)] = struct{}{}
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
		return func(row []any) arcgisTri {
			v := eval(row)
			if v == nil {
				return arcgisUnknown
			}
			if _, ok := set[arcgisSetKey(v)]; ok {
				return arcgisTrue
			}
			return arcgisFalse
		}, nil
	}
	return func(row []any) arcgisTri {
		res := arcgisFalse
		for _, eq := range preds {
			switch eq(row) {
			case arcgisTrue:
				return arcgisTrue
			case arcgisUnknown:
				res = arcgisUnknown
			}
		}
		return res
	}, nil
}

func (p *arcgisWhereParser) parseLike(left arcgisExpr) (arcgisPred, error) {
	t := p.next()
	if t.kind != arcgisTokString {
		return nil, fmt.Errorf("expected a pattern string after LIKE at %d", t.pos)
	}
	if left.kind != arcgisKindString && left.kind != arcgisKindNull {
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
	return func(row []any) arcgisTri {
		s, ok := eval(row).(string)
		if !ok {
			return arcgisUnknown
		}
		if re.MatchString(s) {
			return arcgisTrue
		}
		return arcgisFalse
	}, nil
}

func (p *arcgisWhereParser) parseBetween(left arcgisExpr) (arcgisPred, error) {
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
	ge, err := arcgisCompare(left, ">=", lo)
	if err != nil {
		return nil, err
	}
	le, err := arcgisCompare(left, "<=", hi)
	if err != nil {
		return nil, err
	}
	return func(row []any) arcgisTri {
		a, b := ge(row), le(row)
		switch {
		case a == arcgisFalse || b == arcgisFalse:
			return arcgisFalse
		case a == arcgisUnknown || b == arcgisUnknown:
			return arcgisUnknown
		}
		return arcgisTrue
	}, nil
}

// arcgisSetKey normalises a value for IN-list lookups: integral floats and
// integers compare equal in SQL, so they share a key.
func arcgisSetKey(v any) any {
	if f, ok := v.(float64); ok && f == float64(int64(f)) {
		return int64(f)
	}
	return v
}
