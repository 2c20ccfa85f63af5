package arcgissim

import (
	"fmt"
	"strings"
	"time"
)

// valueKind is the SQL type of a value expression in a where clause.
type valueKind int

const (
	kindNull valueKind = iota
	kindString
	kindNumber
	kindDate // epoch milliseconds, as ArcGIS stores dates in JSON
)

// tri is SQL's three-valued logic: a comparison with NULL is unknown,
// and a where clause selects a row only when it is true.
type tri int8

const (
	triFalse tri = iota
	triTrue
	triUnknown
)

// predicate is a compiled where clause evaluated against one row of values.
type predicate func(row []any) tri

// expr is a compiled value expression.
type expr struct {
	kind  valueKind
	eval  func(row []any) any
	konst bool // a literal, so string literals may be re-read as dates
	lit   any
}

// fieldResolver maps a field name (case-insensitively) to its position
// in a row and its kind.
type fieldResolver func(name string) (idx int, kind valueKind, ok bool)

// whereParser is a recursive-descent parser for the standardized SQL
// subset ArcGIS accepts in a query's where parameter.
type whereParser struct {
	toks    []lexToken
	i       int
	resolve fieldResolver
	now     time.Time
	// depth is how deeply the parser is nested now (NOT, parentheses,
	// function calls); deepest is the most it was.
	depth, deepest int
}

// The bounds of a where clause. Real layers refuse clauses past their
// database's limits; these keep one hostile request (megabytes of NOT NOT
// NOT ...) from costing more to parse and to evaluate per row than a
// legitimate clause does: a compiled clause has at most one node per token,
// so evaluating it against one row takes at most maxWhereTokens steps.
const (
	maxWhereLength = 32 << 10
	maxWhereTokens = 2048
	maxWhereDepth  = 64
)

// compileWhere compiles a where clause into a predicate. An empty
// clause selects every row.
func compileWhere(where string, resolve fieldResolver, now time.Time) (predicate, error) {
	pred, _, err := compileWhereCost(where, resolve, now)
	return pred, err
}

// whereCost is what compiling a clause found of its size: its tokens
// (which bound the nodes, so the steps, of one row's evaluation) and how
// deeply it nests.
type whereCost struct {
	tokens, depth int
}

// compileWhereCost compiles a where clause within the bounds above and
// reports its cost.
func compileWhereCost(where string, resolve fieldResolver, now time.Time) (predicate, whereCost, error) {
	if strings.TrimSpace(where) == "" {
		return func([]any) tri { return triTrue }, whereCost{}, nil
	}
	if len(where) > maxWhereLength {
		return nil, whereCost{}, fmt.Errorf("clause of %d bytes is over the limit of %d", len(where), maxWhereLength)
	}
	toks, err := lexWhere(where)
	if err != nil {
		return nil, whereCost{}, err
	}
	if len(toks)-1 > maxWhereTokens {
		return nil, whereCost{}, fmt.Errorf("clause of %d tokens is over the limit of %d", len(toks)-1, maxWhereTokens)
	}
	p := &whereParser{toks: toks, resolve: resolve, now: now}
	pred, err := p.parseOr()
	if err != nil {
		return nil, whereCost{}, err
	}
	if t := p.peek(); t.kind != tokEOF {
		return nil, whereCost{}, fmt.Errorf("unexpected %q at %d", t.text, t.pos)
	}
	return pred, whereCost{tokens: len(toks) - 1, depth: p.deepest}, nil
}

// enter notes one more level of nesting, refusing a clause nested past
// maxWhereDepth; leave undoes it.
func (p *whereParser) enter() error {
	p.depth++
	p.deepest = max(p.deepest, p.depth)
	if p.depth > maxWhereDepth {
		return fmt.Errorf("clause nests deeper than the limit of %d at %d", maxWhereDepth, p.peek().pos)
	}
	return nil
}

func (p *whereParser) leave() { p.depth-- }

func (p *whereParser) peek() lexToken { return p.toks[p.i] }

func (p *whereParser) next() lexToken {
	t := p.toks[p.i]
	if t.kind != tokEOF {
		p.i++
	}
	return t
}

// keyword reports whether the next token is the given keyword, consuming it
// when it is.
func (p *whereParser) keyword(kw string) bool {
	t := p.peek()
	if t.kind == tokIdent && strings.EqualFold(t.text, kw) {
		p.i++
		return true
	}
	return false
}

func (p *whereParser) punct(s string) bool {
	t := p.peek()
	if t.kind == tokPunct && t.text == s {
		p.i++
		return true
	}
	return false
}

func (p *whereParser) expectPunct(s string) error {
	if !p.punct(s) {
		t := p.peek()
		return fmt.Errorf("expected %q at %d, found %q", s, t.pos, t.text)
	}
	return nil
}

func (p *whereParser) parseOr() (predicate, error) {
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
		left = func(row []any) tri {
			a := l(row)
			if a == triTrue {
				return triTrue
			}
			b := r(row)
			if b == triTrue {
				return triTrue
			}
			if a == triUnknown || b == triUnknown {
				return triUnknown
			}
			return triFalse
		}
	}
	return left, nil
}

func (p *whereParser) parseAnd() (predicate, error) {
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
		left = func(row []any) tri {
			a := l(row)
			if a == triFalse {
				return triFalse
			}
			b := r(row)
			if b == triFalse {
				return triFalse
			}
			if a == triUnknown || b == triUnknown {
				return triUnknown
			}
			return triTrue
		}
	}
	return left, nil
}

func (p *whereParser) parseNot() (predicate, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	if p.keyword("NOT") {
		inner, err := p.parseNot()
		if err != nil {
			return nil, err
		}
		return negation(inner), nil
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

func negation(inner predicate) predicate {
	return func(row []any) tri {
		switch inner(row) {
		case triTrue:
			return triFalse
		case triFalse:
			return triTrue
		}
		return triUnknown
	}
}

// parsePredicate parses one comparison, IN, LIKE, BETWEEN or IS NULL test.
func (p *whereParser) parsePredicate() (predicate, error) {
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
		return func(row []any) tri {
			if (eval(row) == nil) != negate {
				return triTrue
			}
			return triFalse
		}, nil
	}
	negate := p.keyword("NOT")
	var pred predicate
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
		if op.kind != tokOp {
			return nil, fmt.Errorf("expected a comparison at %d, found %q", op.pos, op.text)
		}
		right, err := p.parseValue()
		if err != nil {
			return nil, err
		}
		return comparison(left, op.text, right)
	}
	if err != nil {
		return nil, err
	}
	if negate {
		pred = negation(pred)
	}
	return pred, nil
}
