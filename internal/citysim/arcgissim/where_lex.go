package arcgissim

import (
	"fmt"
	"strings"
	"unicode"
)

// tokKind classifies the lexemes of an ArcGIS standardized SQL where
// clause.
type tokKind int

const (
	tokEOF tokKind = iota
	tokIdent
	tokNumber
	tokString
	tokOp    // = <> != < <= > >=
	tokPunct // ( ) , + -
)

// lexToken is one lexeme with its position, for error messages.
type lexToken struct {
	kind tokKind
	text string // identifiers keep their case; strings are unquoted
	pos  int
}

// lexWhere splits a where clause into tokens. Strings use single quotes
// with ” as the escaped quote, as in standard SQL; identifiers may be
// double-quoted.
func lexWhere(src string) ([]lexToken, error) {
	var toks []lexToken
	rs := []rune(src)
	for i := 0; i < len(rs); {
		r := rs[i]
		switch {
		case unicode.IsSpace(r):
			i++
		case r == '\'':
			var b strings.Builder
			j := i + 1
			closed := false
			for j < len(rs) {
				if rs[j] == '\'' {
					if j+1 < len(rs) && rs[j+1] == '\'' {
						b.WriteRune('\'')
						j += 2
						continue
					}
					closed = true
					j++
					break
				}
				b.WriteRune(rs[j])
				j++
			}
			if !closed {
				return nil, fmt.Errorf("unterminated string at %d", i)
			}
			toks = append(toks, lexToken{kind: tokString, text: b.String(), pos: i})
			i = j
		case r == '"':
			j := i + 1
			for j < len(rs) && rs[j] != '"' {
				j++
			}
			if j >= len(rs) {
				return nil, fmt.Errorf("unterminated quoted identifier at %d", i)
			}
			toks = append(toks, lexToken{kind: tokIdent, text: string(rs[i+1 : j]), pos: i})
			i = j + 1
		case unicode.IsDigit(r) || (r == '.' && i+1 < len(rs) && unicode.IsDigit(rs[i+1])) ||
			(r == '-' && i+1 < len(rs) && (unicode.IsDigit(rs[i+1]) || rs[i+1] == '.') && unaryMinusAllowed(toks)):
			j := i + 1
			for j < len(rs) && (unicode.IsDigit(rs[j]) || rs[j] == '.' || rs[j] == 'e' || rs[j] == 'E' ||
				((rs[j] == '-' || rs[j] == '+') && (rs[j-1] == 'e' || rs[j-1] == 'E'))) {
				j++
			}
			toks = append(toks, lexToken{kind: tokNumber, text: string(rs[i:j]), pos: i})
			i = j
		case unicode.IsLetter(r) || r == '_':
			j := i + 1
			for j < len(rs) && (unicode.IsLetter(rs[j]) || unicode.IsDigit(rs[j]) || rs[j] == '_' || rs[j] == '.') {
				j++
			}
			toks = append(toks, lexToken{kind: tokIdent, text: string(rs[i:j]), pos: i})
			i = j
		case r == '+' || r == '-':
			// Binary plus or minus (a '-' that starts a number was read
			// above): date arithmetic with INTERVAL.
			toks = append(toks, lexToken{kind: tokPunct, text: string(r), pos: i})
			i++
		case r == '(' || r == ')' || r == ',':
			toks = append(toks, lexToken{kind: tokPunct, text: string(r), pos: i})
			i++
		case r == '=':
			toks = append(toks, lexToken{kind: tokOp, text: "=", pos: i})
			i++
		case r == '<' || r == '>' || r == '!':
			op := string(r)
			if i+1 < len(rs) && (rs[i+1] == '=' || (r == '<' && rs[i+1] == '>')) {
				op += string(rs[i+1])
			}
			if op == "!" {
				return nil, fmt.Errorf("unexpected '!' at %d", i)
			}
			if op == "!=" {
				op = "<>"
				i++ // the canonical form is one rune shorter than the source
			} else if len(op) == 2 {
				i++
			}
			toks = append(toks, lexToken{kind: tokOp, text: op, pos: i})
			i++
		default:
			return nil, fmt.Errorf("unexpected character %q at %d", r, i)
		}
	}
	return append(toks, lexToken{kind: tokEOF, pos: len(rs)}), nil
}

// unaryMinusAllowed reports whether a '-' here starts a negative
// number literal rather than following an operand.
func unaryMinusAllowed(toks []lexToken) bool {
	if len(toks) == 0 {
		return true
	}
	last := toks[len(toks)-1]
	switch last.kind {
	case tokOp:
		return true
	case tokPunct:
		return last.text == "(" || last.text == ","
	case tokIdent:
		switch strings.ToUpper(last.text) {
		case "AND", "OR", "NOT", "IN", "BETWEEN", "LIKE":
			return true
		}
	}
	return false
}
