package query

import (
	"fmt"
	"strings"
)

// tokenKind classifies a lexical token of the advanced query language.
type tokenKind int

const (
	tokEOF tokenKind = iota
	tokIdent
	tokString
	tokNumber
	tokOp     // = != <> < <= > >=
	tokLParen // (
	tokRParen // )
	tokComma
	tokStar
	tokArith // + - / % ; arithmetic is not part of the language
	tokOther
)

// token is one lexical element with its position in the source, for error messages.
type token struct {
	kind tokenKind
	text string // identifier as written, string contents, number text, operator
	pos  int
}

// upper is the identifier in upper case, used to recognise keywords case-insensitively.
func (t token) upper() string { return strings.ToUpper(t.text) }

// lex splits sql into tokens. Identifiers are letters, digits, '_' and '.', which covers
// property paths such as configuration.state.value and
// supplementaryConfiguration.BucketVersioningConfiguration.status.
func lex(sql string) ([]token, error) {
	var toks []token
	i := 0
	for i < len(sql) {
		c := sql[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '\'' || c == '"':
			q := c
			start := i
			i++
			var b strings.Builder
			closed := false
			for i < len(sql) {
				if sql[i] == q {
					if i+1 < len(sql) && sql[i+1] == q { // doubled quote escapes itself
						b.WriteByte(q)
						i += 2
						continue
					}
					i++
					closed = true
					break
				}
				b.WriteByte(sql[i])
				i++
			}
			if !closed {
				return nil, &Error{Reason: fmt.Sprintf("unterminated string literal at position %d", start+1)}
			}
			toks = append(toks, token{kind: tokString, text: b.String(), pos: start})
		case isDigit(c) || (c == '.' && i+1 < len(sql) && isDigit(sql[i+1])):
			start := i
			for i < len(sql) && (isDigit(sql[i]) || sql[i] == '.' || sql[i] == 'e' || sql[i] == 'E') {
				i++
			}
			toks = append(toks, token{kind: tokNumber, text: sql[start:i], pos: start})
		case c == '-' && i+1 < len(sql) && isDigit(sql[i+1]) && negativeAllowed(toks):
			start := i
			i++
			for i < len(sql) && (isDigit(sql[i]) || sql[i] == '.' || sql[i] == 'e' || sql[i] == 'E') {
				i++
			}
			toks = append(toks, token{kind: tokNumber, text: sql[start:i], pos: start})
		case isIdentStart(c):
			start := i
			for i < len(sql) && isIdentPart(sql[i]) {
				i++
			}
			toks = append(toks, token{kind: tokIdent, text: sql[start:i], pos: start})
		case c == '(':
			toks = append(toks, token{kind: tokLParen, text: "(", pos: i})
			i++
		case c == ')':
			toks = append(toks, token{kind: tokRParen, text: ")", pos: i})
			i++
		case c == ',':
			toks = append(toks, token{kind: tokComma, text: ",", pos: i})
			i++
		case c == '*':
			toks = append(toks, token{kind: tokStar, text: "*", pos: i})
			i++
		case c == '=':
			toks = append(toks, token{kind: tokOp, text: "=", pos: i})
			i++
		case c == '!' && i+1 < len(sql) && sql[i+1] == '=':
			toks = append(toks, token{kind: tokOp, text: "!=", pos: i})
			i += 2
		case c == '<' || c == '>':
			op := string(c)
			if i+1 < len(sql) && (sql[i+1] == '=' || (c == '<' && sql[i+1] == '>')) {
				op += string(sql[i+1])
			}
			toks = append(toks, token{kind: tokOp, text: op, pos: i})
			i += len(op)
		case c == '+' || c == '-' || c == '/' || c == '%':
			toks = append(toks, token{kind: tokArith, text: string(c), pos: i})
			i++
		default:
			toks = append(toks, token{kind: tokOther, text: string(c), pos: i})
			i++
		}
	}
	toks = append(toks, token{kind: tokEOF, pos: len(sql)})
	return toks, nil
}

// negativeAllowed reports whether a '-' followed by a digit starts a negative number:
// only where a literal is expected (after an operator, '(', ',' or a keyword).
func negativeAllowed(toks []token) bool {
	if len(toks) == 0 {
		return true
	}
	switch p := toks[len(toks)-1]; p.kind {
	case tokOp, tokLParen, tokComma:
		return true
	case tokIdent:
		switch p.upper() {
		case "AND", "BETWEEN", "IN":
			return true
		}
	}
	return false
}

func isDigit(c byte) bool      { return c >= '0' && c <= '9' }
func isIdentStart(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isIdentPart(c byte) bool {
	return isIdentStart(c) || isDigit(c) || c == '.'
}
