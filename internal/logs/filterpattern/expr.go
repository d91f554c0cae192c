package filterpattern

import (
	"regexp"
	"strconv"
	"strings"
)

// This file holds the condition language shared by JSON patterns and space-delimited
// patterns: comparisons joined by && and || with parentheses. The two differ only in
// what a selector is: `$.a.b[0]` in JSON, a field name in space-delimited patterns.

// jval is one value a selector found in a message. For JSON: kind 's' string (s is the
// decoded text), 'n' number, 't' true, 'f' false, 'z' null (s is the literal as
// written), 'o' object, 'a' array (s is the raw JSON). For space-delimited fields: 'w'.
type jval struct {
	kind byte
	s    string
}

// env holds, per selector id, the values found in one message.
type env [][]jval

type node interface {
	eval(e env) bool
}

type andNode struct{ l, r node }
type orNode struct{ l, r node }

func (n *andNode) eval(e env) bool { return n.l.eval(e) && n.r.eval(e) }
func (n *orNode) eval(e env) bool  { return n.l.eval(e) || n.r.eval(e) }

type op int

const (
	opEq op = iota
	opNe
	opLt
	opLe
	opGt
	opGe
)

var opNames = map[string]op{"=": opEq, "!=": opNe, "<": opLt, "<=": opLe, ">": opGt, ">=": opGe}

// lit is the right-hand side of a comparison.
type lit struct {
	text  string
	num   float64
	isNum bool
	glob  []string // text split at '*', when it holds a wildcard
	re    *regexp.Regexp
}

// cmpNode compares a selected value with a literal. With several values (a `[*]`
// selector) it holds when any of them satisfies the comparison; with none (the
// selector is absent) it never holds, whatever the operator.
type cmpNode struct {
	sel  int
	name string // the selector as written
	op   op
	val  lit
}

func (c *cmpNode) eval(e env) bool {
	for _, v := range e[c.sel] {
		if c.test(v) {
			return true
		}
	}
	return false
}

func (c *cmpNode) test(v jval) bool {
	switch c.op {
	case opEq, opNe:
		eq, ok := c.val.equal(v)
		return ok && eq == (c.op == opEq)
	}
	if v.kind != 'n' && v.kind != 'w' {
		return false
	}
	f, err := strconv.ParseFloat(v.s, 64)
	if err != nil {
		return false
	}
	switch c.op {
	case opLt:
		return f < c.val.num
	case opLe:
		return f <= c.val.num
	case opGt:
		return f > c.val.num
	default:
		return f >= c.val.num
	}
}

// equal compares a scalar value with the literal; ok is false for objects and arrays,
// which neither equal nor differ from a literal.
func (l *lit) equal(v jval) (eq, ok bool) {
	if v.kind == 'o' || v.kind == 'a' {
		return false, false
	}
	if l.re != nil {
		return l.re.MatchString(v.s), true
	}
	if l.isNum && (v.kind == 'n' || v.kind == 'w') {
		if f, err := strconv.ParseFloat(v.s, 64); err == nil {
			return f == l.num, true
		}
	}
	if l.glob != nil {
		return globMatch(l.glob, v.s), true
	}
	return v.s == l.text, true
}

// globMatch matches s against a pattern split at its '*' wildcards.
func globMatch(parts []string, s string) bool {
	if len(parts) == 1 {
		return s == parts[0]
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, mid := range parts[1 : len(parts)-1] {
		k := strings.Index(s, mid)
		if k < 0 {
			return false
		}
		s = s[k+len(mid):]
	}
	return len(s) >= len(last) && strings.HasSuffix(s, last)
}

// isNode is `$.x IS TRUE|FALSE|NULL` (want 't', 'f', 'z') or `$.x NOT EXISTS` (want 0).
type isNode struct {
	sel  int
	want byte
}

func (n *isNode) eval(e env) bool {
	vals := e[n.sel]
	if n.want == 0 {
		return len(vals) == 0
	}
	for _, v := range vals {
		if v.kind == n.want {
			return true
		}
	}
	return false
}

// Lexer.

type tokType int

const (
	tEOF tokType = iota
	tLParen
	tRParen
	tAnd
	tOr
	tOp
	tString
	tRegex
	tWord
	tComma
)

type token struct {
	typ  tokType
	text string
}

func describe(t token) string {
	switch t.typ {
	case tEOF:
		return "end of pattern"
	case tString:
		return `"` + t.text + `"`
	case tRegex:
		return "%" + t.text + "%"
	}
	return "'" + t.text + "'"
}

// lex splits the body of a JSON or space-delimited pattern into tokens.
func lex(s string) ([]token, *Error) {
	var toks []token
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case isSpace(c):
			i++
		case c == '(':
			toks = append(toks, token{tLParen, "("})
			i++
		case c == ')':
			toks = append(toks, token{tRParen, ")"})
			i++
		case c == ',':
			toks = append(toks, token{tComma, ","})
			i++
		case c == '&' || c == '|':
			if i+1 >= len(s) || s[i+1] != c {
				return nil, errorf("unexpected '" + string(c) + "': use '&&' or '||'")
			}
			if c == '&' {
				toks = append(toks, token{tAnd, "&&"})
			} else {
				toks = append(toks, token{tOr, "||"})
			}
			i += 2
		case c == '=' || c == '!' || c == '<' || c == '>':
			if i+1 < len(s) && s[i+1] == '=' && c != '=' {
				toks = append(toks, token{tOp, s[i : i+2]})
				i += 2
			} else if c == '!' {
				return nil, errorf("unexpected '!': use '!='")
			} else {
				toks = append(toks, token{tOp, s[i : i+1]})
				i++
			}
		case c == '"':
			end := closingQuote(s, i)
			if end < 0 {
				return nil, errorf("unterminated quoted string " + s[i:])
			}
			toks = append(toks, token{tString, unescapeQuoted(s[i+1 : end])})
			i = end + 1
		case c == '%':
			end := strings.IndexByte(s[i+1:], '%')
			if end < 0 {
				return nil, errorf("unterminated regular expression " + s[i:])
			}
			toks = append(toks, token{tRegex, s[i+1 : i+1+end]})
			i += end + 2
		default:
			start := i
			for i < len(s) && !isSpace(s[i]) && strings.IndexByte("()&|,=!<>\"", s[i]) < 0 {
				i++
			}
			toks = append(toks, token{tWord, s[start:i]})
		}
	}
	return toks, nil
}

// Parser.

type parser struct {
	toks   []token
	i      int
	nregex int
	// selector resolves a selector as written to an id; it may fail.
	selector func(name string) (int, *Error)
	// isDelimited disables IS and NOT EXISTS, which only JSON patterns have.
	isDelimited bool
	// cmps collects every comparison, for the space-delimited pattern's name fix-up.
	first string
}

func (p *parser) peek() token {
	if p.i < len(p.toks) {
		return p.toks[p.i]
	}
	return token{typ: tEOF}
}

func (p *parser) next() token {
	t := p.peek()
	if p.i < len(p.toks) {
		p.i++
	}
	return t
}

// parseOr parses a condition: && binds tighter than ||.
func (p *parser) parseOr() (node, *Error) {
	l, err := p.parseAnd()
	if err != nil {
		return nil, err
	}
	for p.peek().typ == tOr {
		p.next()
		r, err := p.parseAnd()
		if err != nil {
			return nil, err
		}
		l = &orNode{l, r}
	}
	return l, nil
}

func (p *parser) parseAnd() (node, *Error) {
	l, err := p.parseUnary()
	if err != nil {
		return nil, err
	}
	for p.peek().typ == tAnd {
		p.next()
		r, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		l = &andNode{l, r}
	}
	return l, nil
}

func (p *parser) parseUnary() (node, *Error) {
	t := p.next()
	switch t.typ {
	case tLParen:
		n, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		if c := p.next(); c.typ != tRParen {
			return nil, errorf("missing ')': found " + describe(c))
		}
		return n, nil
	case tWord:
		return p.parseCond(t.text)
	}
	return nil, errorf("expected a selector or '(': found " + describe(t))
}

func (p *parser) parseCond(name string) (node, *Error) {
	if p.first == "" {
		p.first = name
	}
	sel, err := p.selector(name)
	if err != nil {
		return nil, err
	}
	t := p.next()
	switch {
	case t.typ == tOp:
		return p.parseComparison(sel, name, opNames[t.text])
	case t.typ == tWord && !p.isDelimited && strings.EqualFold(t.text, "IS"):
		w := p.next()
		if w.typ == tWord {
			switch strings.ToUpper(w.text) {
			case "TRUE":
				return &isNode{sel, 't'}, nil
			case "FALSE":
				return &isNode{sel, 'f'}, nil
			case "NULL":
				return &isNode{sel, 'z'}, nil
			}
		}
		return nil, errorf("expected TRUE, FALSE or NULL after " + name + " IS: found " + describe(w))
	case t.typ == tWord && !p.isDelimited && strings.EqualFold(t.text, "NOT"):
		if w := p.next(); w.typ != tWord || !strings.EqualFold(w.text, "EXISTS") {
			return nil, errorf("expected EXISTS after " + name + " NOT: found " + describe(w))
		}
		return &isNode{sel, 0}, nil
	}
	return nil, errorf("expected a comparison operator after " + name + ": found " + describe(t))
}

func (p *parser) parseComparison(sel int, name string, o op) (node, *Error) {
	v := p.next()
	c := &cmpNode{sel: sel, name: name, op: o}
	switch v.typ {
	case tString:
		c.val.text = v.text
	case tWord:
		c.val.text = v.text
		if f, err := strconv.ParseFloat(v.text, 64); err == nil {
			c.val.num, c.val.isNum = f, true
		}
	case tRegex:
		p.nregex++
		if p.nregex > maxRegex {
			return nil, errorf("a filter pattern may hold at most 2 regular expressions")
		}
		if o != opEq && o != opNe {
			return nil, errorf("a regular expression can only be compared with = or !=")
		}
		re, err := compileRegex(v.text)
		if err != nil {
			return nil, err
		}
		c.val.re = re
		return c, nil
	default:
		return nil, errorf("expected a value after " + name + ": found " + describe(v))
	}
	if o != opEq && o != opNe {
		if !c.val.isNum {
			return nil, errorf("the value compared with " + name + " by a numeric operator must be a number: found " + describe(v))
		}
		return c, nil
	}
	if strings.IndexByte(c.val.text, '*') >= 0 {
		c.val.glob = strings.Split(c.val.text, "*")
	}
	return c, nil
}
