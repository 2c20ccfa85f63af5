package citysim

import (
	"fmt"
	"strings"
	"time"
)

// arcgisKind is the SQL type of a value expression in a where clause.
type arcgisKind int

const (
	arcgisKindNull arcgisKind = iota
	arcgisKindString
	arcgisKindNumber
	arcgisKindDate // epoch milliseconds, as ArcGIS stores dates in JSON
)

// arcgisTri is SQL's three-valued logic: a comparison with NULL is unknown,
// and a where clause selects a row only when it is true.
type arcgisTri int8

const (
	arcgisFalse arcgisTri = iota
	arcgisTrue
	arcgisUnknown
)

// arcgisPred is a compiled where clause evaluated against one row of values.
type arcgisPred func(row []any) arcgisTri

// arcgisExpr is a compiled value expression.
type arcgisExpr struct {
	kind  arcgisKind
	eval  func(row []any) any
	konst bool // a literal, so string literals may be re-read as dates
	lit   any
}

// arcgisFieldResolver maps a field name (case-insensitively) to its position
// in a row and its kind.
type arcgisFieldResolver func(name string) (idx int, kind arcgisKind, ok bool)

// arcgisWhereParser is a recursive-descent parser for the standardized SQL
// subset ArcGIS accepts in a query's where parameter.
type arcgisWhereParser struct {
	toks    []arcgisTok
	i       int
	resolve arcgisFieldResolver
	now     time.Time
}

// arcgisCompileWhere compiles a where clause into a predicate. An empty
// clause selects every row.
func arcgisCompileWhere(where string, resolve arcgisFieldResolver, now time.Time) (arcgisPred, error) {
	if strings.TrimSpace(where) == "" {
		return func([]any) arcgisTri { return arcgisTrue }, nil
	}
	toks, err := arcgisLexWhere(where)
	if err != nil {
		return nil, err
	}
	p := &arcgisWhereParser{toks: toks, resolve: resolve, now: now}
	pred, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != arcgisTokEOF {
		return nil, fmt.Errorf("unexpected %q at %d", t.text, t.pos)
	}
	return pred, nil
}

func (p *arcgisWhereParser) peek() arcgisTok { return p.toks[p.i] }

func (p *arcgisWhereParser) next() arcgisTok {
	t := p.toks[p.i]
	if t.kind != arcgisTokEOF {
		p.i++
	}
	return t
}

// keyword reports whether the next token is the given keyword, consuming it
// when it is.
func (p *arcgisWhereParser) keyword(kw string) bool {
	t := p.peek()
	if t.kind == arcgisTokIdent && strings.EqualFold(t.text, kw) {
		p.i++
		return true
	}
	return false
}

func (p *arcgisWhereParser) punct(s string) bool {
	t := p.peek()
	if t.kind == arcgisTokPunct && t.text == s {
		p.i++
		return true
	}
	return false
}

func (p *arcgisWhereParser) expectPunct(s string) error {
	if !p.punct(s) {
		t := p.peek()
		return fmt.Errorf("expected %q at %d, found %q", s, t.pos, t.text)
	}
	return nil
}

func (p *arcgisWhereParser) parseOr() (arcgisPred, error) {
	left, err := p.parseAnd()
	if err != nil {
		return nil, err
	}
	for p.keyword("OR") {
		right, err := p.parseAnd()
		if err != nil {
			return nil, err
		}
		l, r := left, right
		left = func(row []any) arcgisTri {
			a := l(row)
			if a == arcgisTrue {
				return arcgisTrue
			}
			b := r(row)
			if b == arcgisTrue {
				return arcgisTrue
			}
			if a == arcgisUnknown || b == arcgisUnknown {
				return arcgisUnknown
			}
			return arcgisFalse
		}
	}
	return left, nil
}

func (p *arcgisWhereParser) parseAnd() (arcgisPred, error) {
	left, err := p.parseNot()
	if err != nil {
		return nil, err
	}
	for p.keyword("AND") {
		right, err := p.parseNot()
		if err != nil {
			return nil, err
		}
		l, r := left, right
		left = func(row []any) arcgisTri {
			a := l(row)
			if a == arcgisFalse {
				return arcgisFalse
			}
			b := r(row)
			if b == arcgisFalse {
				return arcgisFalse
			}
			if a == arcgisUnknown || b == arcgisUnknown {
				return arcgisUnknown
			}
			return arcgisTrue
		}
	}
	return left, nil
}

func (p *arcgisWhereParser) parseNot() (arcgisPred, error) {
	if p.keyword("NOT") {
		inner, err := p.parseNot()
		if err != nil {
			return nil, err
		}
		return arcgisNegate(inner), nil
	}
	if p.punct("(") {
		inner, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		return inner, p.expectPunct(")")
	}
	return p.parsePredicate()
}

func arcgisNegate(inner arcgisPred) arcgisPred {
	return func(row []any) arcgisTri {
		switch inner(row) {
		case arcgisTrue:
			return arcgisFalse
		case arcgisFalse:
			return arcgisTrue
		}
		return arcgisUnknown
	}
}

// parsePredicate parses one comparison, IN, LIKE, BETWEEN or IS NULL test.
func (p *arcgisWhereParser) parsePredicate() (arcgisPred, error) {
	left, err := p.parseValue()
	if err != nil {
		return nil, err
	}
	if p.keyword("IS") {
		negate := p.keyword("NOT")
		if !p.keyword("NULL") {
			return nil, fmt.Errorf("expected NULL after IS at %d", p.peek().pos)
		}
		eval := left.eval
		return func(row []any) arcgisTri {
			if (eval(row) == nil) != negate {
				return arcgisTrue
			}
			return arcgisFalse
		}, nil
	}
	negate := p.keyword("NOT")
	var pred arcgisPred
	switch {
	case p.keyword("IN"):
		pred, err = p.parseIn(left)
	case p.keyword("LIKE"):
		pred, err = p.parseLike(left)
	case p.keyword("BETWEEN"):
		pred, err = p.parseBetween(left)
	default:
		if negate {
			return nil, fmt.Errorf("expected IN, LIKE or BETWEEN after NOT at %d", p.peek().pos)
		}
		op := p.next()
		if op.kind != arcgisTokOp {
			return nil, fmt.Errorf("expected a comparison at %d, found %q", op.pos, op.text)
		}
		right, err := p.parseValue()
		if err != nil {
			return nil, err
		}
		return arcgisCompare(left, op.text, right)
	}
	if err != nil {
		return nil, err
	}
	if negate {
		pred = arcgisNegate(pred)
	}
	return pred, nil
}
