package query

import (
	"fmt"
	"strconv"
	"strings"
)

// unsupportedKeywords are SQL keywords AWS Config's advanced query refuses, with why.
var unsupportedKeywords = map[string]string{
	"ALL":       "the ALL keyword is not supported",
	"AS":        "the AS keyword is not supported (no column aliases)",
	"DISTINCT":  "the DISTINCT keyword is not supported",
	"FROM":      "the FROM keyword is not supported (queries need no FROM clause)",
	"HAVING":    "the HAVING keyword is not supported",
	"JOIN":      "the JOIN keyword is not supported",
	"UNION":     "the UNION keyword is not supported",
	"CASE":      "CASE expressions are not supported",
	"NULL":      "NULL value queries are not supported",
	"IS":        "NULL value queries are not supported (IS [NOT] NULL)",
	"LIMIT":     "the LIMIT keyword is not supported; use the Limit request parameter",
	"OFFSET":    "the OFFSET keyword is not supported; use the NextToken request parameter",
	"EXISTS":    "EXISTS subqueries are not supported",
	"INTERSECT": "the INTERSECT keyword is not supported",
	"EXCEPT":    "the EXCEPT keyword is not supported",
	"TOP":       "the TOP keyword is not supported; use the Limit request parameter",
}

// clauseKeywords end a list or an expression.
var clauseKeywords = map[string]bool{"WHERE": true, "GROUP": true, "ORDER": true}

var aggregateFns = map[string]bool{"COUNT": true, "MIN": true, "MAX": true, "SUM": true, "AVG": true}

// maxGroupBy is how many properties GROUP BY may name; with an ORDER BY on an aggregate
// only one is allowed ("Aggregation limitations").
const maxGroupBy = 3

// Parse parses an advanced query expression. A query AWS Config would refuse gives an
// *Error naming what is wrong.
func Parse(sql string) (*Query, error) {
	if strings.TrimSpace(sql) == "" {
		return nil, &Error{Reason: "the expression is empty"}
	}
	if len(sql) > MaxExpressionLength {
		return nil, &Error{Reason: fmt.Sprintf("the expression is %d characters long; the maximum is %d", len(sql), MaxExpressionLength)}
	}
	toks, err := lex(sql)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	q, err := p.query()
	if err != nil {
		return nil, err
	}
	q.src = sql
	if err := q.check(); err != nil {
		return nil, err
	}
	return q, nil
}

type parser struct {
	toks []token
	i    int
	q    *Query
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tokEOF {
		p.i++
	}
	return t
}

// keyword reports whether the next token is the keyword kw, consuming it if so.
func (p *parser) keyword(kw string) bool {
	t := p.peek()
	if t.kind == tokIdent && t.upper() == kw {
		p.i++
		return true
	}
	return false
}

func (p *parser) errorf(t token, format string, args ...any) error {
	where := "at the end of the expression"
	if t.kind != tokEOF {
		where = fmt.Sprintf("at position %d", t.pos+1)
	}
	return &Error{Reason: fmt.Sprintf(format, args...) + " " + where}
}

// unsupported returns the refusal for a token that starts something the language lacks,
// or nil.
func (p *parser) unsupported(t token) error {
	switch t.kind {
	case tokIdent:
		if why, ok := unsupportedKeywords[t.upper()]; ok {
			return p.errorf(t, "%s", why)
		}
	case tokArith:
		return p.errorf(t, "arithmetic operator %q is not supported", t.text)
	case tokOther:
		return p.errorf(t, "unexpected character %q", t.text)
	}
	return nil
}

func (p *parser) query() (*Query, error) {
	q := &Query{}
	p.q = q
	if t := p.peek(); !p.keyword("SELECT") {
		if err := p.unsupported(t); err != nil {
			return nil, err
		}
		return nil, p.errorf(t, "the expression must start with SELECT")
	}
	if err := p.selectList(); err != nil {
		return nil, err
	}
	if p.keyword("WHERE") {
		e, err := p.orExpr()
		if err != nil {
			return nil, err
		}
		q.where = e
	}
	if p.keyword("GROUP") {
		if t := p.peek(); !p.keyword("BY") {
			return nil, p.errorf(t, "expected BY after GROUP")
		}
		for {
			pth, err := p.property()
			if err != nil {
				return nil, err
			}
			q.groupBy = append(q.groupBy, pth)
			if p.peek().kind != tokComma {
				break
			}
			p.next()
		}
	}
	if p.keyword("ORDER") {
		if t := p.peek(); !p.keyword("BY") {
			return nil, p.errorf(t, "expected BY after ORDER")
		}
		for {
			it, err := p.orderItem()
			if err != nil {
				return nil, err
			}
			q.orderBy = append(q.orderBy, it)
			if p.peek().kind != tokComma {
				break
			}
			p.next()
		}
	}
	if t := p.peek(); t.kind != tokEOF {
		if err := p.unsupported(t); err != nil {
			return nil, err
		}
		if t.kind == tokIdent && (t.upper() == "WHERE" || t.upper() == "GROUP" || t.upper() == "ORDER") {
			return nil, p.errorf(t, "%s is out of place (the clause order is SELECT, WHERE, GROUP BY, ORDER BY)", t.upper())
		}
		return nil, p.errorf(t, "unexpected %q", t.text)
	}
	return q, nil
}

func (p *parser) selectList() error {
	q := p.q
	for {
		t := p.peek()
		switch {
		case t.kind == tokStar:
			p.next()
			for _, f := range scalarFields {
				q.selects = append(q.selects, selectItem{name: f, prop: newPath(f), agg: -1})
			}
		case t.kind == tokIdent && aggregateFns[t.upper()] && p.toks[p.i+1].kind == tokLParen:
			a, err := p.aggregateCall()
			if err != nil {
				return err
			}
			q.selects = append(q.selects, selectItem{name: a.name, agg: q.addAggregate(a)})
			q.aggregate = true
		default:
			if t.kind == tokEOF {
				return p.errorf(t, "expected a property to select")
			}
			pth, err := p.property()
			if err != nil {
				return err
			}
			q.selects = append(q.selects, selectItem{name: pth.raw, prop: pth, agg: -1})
		}
		if p.peek().kind != tokComma {
			return nil
		}
		p.next()
	}
}

// aggregateCall parses FN(*) or FN(property).
func (p *parser) aggregateCall() (aggregate, error) {
	fnTok := p.next()
	fn := fnTok.upper()
	p.next() // (
	var a aggregate
	a.fn = fn
	t := p.peek()
	switch {
	case t.kind == tokStar:
		if fn != "COUNT" {
			return a, p.errorf(t, "%s(*) is not supported; only COUNT accepts *", fn)
		}
		p.next()
		a.name = "COUNT(*)"
	case t.kind == tokIdent && p.toks[p.i+1].kind == tokLParen:
		return a, p.errorf(t, "aggregate functions cannot take other functions as arguments")
	case t.kind == tokIdent && t.upper() == "DISTINCT":
		return a, p.errorf(t, "the DISTINCT keyword is not supported")
	default:
		pth, err := p.property()
		if err != nil {
			return a, err
		}
		a.prop = pth
		a.name = fn + "(" + pth.raw + ")"
	}
	switch t := p.next(); t.kind {
	case tokRParen:
	case tokComma:
		return a, p.errorf(t, "aggregate functions accept only a single argument")
	case tokArith:
		return a, p.errorf(t, "arithmetic operator %q is not supported", t.text)
	default:
		return a, p.errorf(t, "expected ) to close %s(", fn)
	}
	return a, nil
}

// addAggregate records a once and returns its index.
func (q *Query) addAggregate(a aggregate) int {
	for i, b := range q.aggs {
		if b.name == a.name {
			return i
		}
	}
	q.aggs = append(q.aggs, a)
	return len(q.aggs) - 1
}

// property parses a property path, refusing keywords, literals and functions in its place.
func (p *parser) property() (path, error) {
	t := p.peek()
	if err := p.unsupported(t); err != nil {
		return path{}, err
	}
	switch t.kind {
	case tokIdent:
	case tokString, tokNumber:
		return path{}, p.errorf(t, "expected a property, found the literal %q (conditions must compare a property with a value)", t.text)
	case tokLParen:
		if p.toks[p.i+1].kind == tokIdent && p.toks[p.i+1].upper() == "SELECT" {
			return path{}, p.errorf(t, "subqueries are not supported")
		}
		return path{}, p.errorf(t, "expected a property, found (")
	case tokStar:
		return path{}, p.errorf(t, "arithmetic operator \"*\" is not supported")
	default:
		return path{}, p.errorf(t, "expected a property, found %q", t.text)
	}
	u := t.upper()
	if aggregateFns[u] && p.toks[p.i+1].kind == tokLParen {
		return path{}, p.errorf(t, "aggregate function %s is not allowed here", u)
	}
	if p.toks[p.i+1].kind == tokLParen {
		return path{}, p.errorf(t, "function %s is not supported", t.text)
	}
	switch u {
	case "SELECT":
		return path{}, p.errorf(t, "subqueries are not supported")
	case "WHERE", "GROUP", "ORDER", "BY", "AND", "OR", "NOT", "IN", "BETWEEN", "LIKE", "ASC", "DESC", "TRUE", "FALSE":
		return path{}, p.errorf(t, "expected a property, found the keyword %s", u)
	}
	if strings.HasPrefix(t.text, ".") || strings.HasSuffix(t.text, ".") || strings.Contains(t.text, "..") {
		return path{}, p.errorf(t, "malformed property name %q", t.text)
	}
	p.next()
	return newPath(t.text), nil
}

func (p *parser) orderItem() (orderItem, error) {
	var it orderItem
	t := p.peek()
	if t.kind == tokIdent && aggregateFns[t.upper()] && p.toks[p.i+1].kind == tokLParen {
		a, err := p.aggregateCall()
		if err != nil {
			return it, err
		}
		it.agg = p.q.addAggregate(a)
	} else {
		pth, err := p.property()
		if err != nil {
			return it, err
		}
		it.prop = pth
		it.agg = -1
	}
	if p.keyword("DESC") {
		it.desc = true
	} else {
		p.keyword("ASC")
	}
	return it, nil
}

func (p *parser) orExpr() (expr, error) {
	left, err := p.andExpr()
	if err != nil {
		return nil, err
	}
	for p.keyword("OR") {
		right, err := p.andExpr()
		if err != nil {
			return nil, err
		}
		left = &orExpr{left, right}
	}
	return left, nil
}

func (p *parser) andExpr() (expr, error) {
	left, err := p.notExpr()
	if err != nil {
		return nil, err
	}
	for p.keyword("AND") {
		right, err := p.notExpr()
		if err != nil {
			return nil, err
		}
		left = &andExpr{left, right}
	}
	return left, nil
}

func (p *parser) notExpr() (expr, error) {
	if p.keyword("NOT") {
		e, err := p.notExpr()
		if err != nil {
			return nil, err
		}
		return &notExpr{e}, nil
	}
	return p.primary()
}

func (p *parser) primary() (expr, error) {
	t := p.peek()
	if t.kind == tokLParen {
		if n := p.toks[p.i+1]; n.kind == tokIdent && n.upper() == "SELECT" {
			return nil, p.errorf(t, "subqueries are not supported")
		}
		p.next()
		e, err := p.orExpr()
		if err != nil {
			return nil, err
		}
		if c := p.next(); c.kind != tokRParen {
			if err := p.unsupported(c); err != nil {
				return nil, err
			}
			return nil, p.errorf(c, "expected )")
		}
		return e, nil
	}
	if t.kind == tokEOF {
		return nil, p.errorf(t, "expected a condition")
	}
	return p.predicate()
}

// predicate parses property op literal, [NOT] IN, [NOT] BETWEEN and [NOT] LIKE.
func (p *parser) predicate() (expr, error) {
	prop, err := p.property()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind == tokArith || t.kind == tokStar {
		return nil, p.errorf(t, "arithmetic operator %q is not supported", t.text)
	}
	negate := p.keyword("NOT")
	t := p.next()
	var e expr
	switch {
	case t.kind == tokOp && !negate:
		lit, err := p.literal()
		if err != nil {
			return nil, err
		}
		switch t.text {
		case "=":
			e = &cmpExpr{prop: prop, op: opEq, lit: lit}
		case "!=", "<>":
			e = &notExpr{&cmpExpr{prop: prop, op: opEq, lit: lit}}
		case "<":
			e = &cmpExpr{prop: prop, op: opLt, lit: lit}
		case "<=":
			e = &cmpExpr{prop: prop, op: opLe, lit: lit}
		case ">":
			e = &cmpExpr{prop: prop, op: opGt, lit: lit}
		case ">=":
			e = &cmpExpr{prop: prop, op: opGe, lit: lit}
		}
	case t.kind == tokIdent && t.upper() == "IN":
		if l := p.next(); l.kind != tokLParen {
			return nil, p.errorf(l, "expected ( after IN")
		}
		if n := p.peek(); n.kind == tokIdent && n.upper() == "SELECT" {
			return nil, p.errorf(n, "subqueries are not supported")
		}
		in := &inExpr{prop: prop}
		for {
			lit, err := p.literal()
			if err != nil {
				return nil, err
			}
			in.lits = append(in.lits, lit)
			c := p.next()
			if c.kind == tokRParen {
				break
			}
			if c.kind != tokComma {
				return nil, p.errorf(c, "expected , or ) in the IN list")
			}
		}
		e = in
	case t.kind == tokIdent && t.upper() == "BETWEEN":
		lo, err := p.literal()
		if err != nil {
			return nil, err
		}
		if a := p.peek(); !p.keyword("AND") {
			return nil, p.errorf(a, "expected AND in BETWEEN")
		}
		hi, err := p.literal()
		if err != nil {
			return nil, err
		}
		e = &betweenExpr{prop: prop, lo: lo, hi: hi}
	case t.kind == tokIdent && t.upper() == "LIKE":
		lt := p.peek()
		lit, err := p.literal()
		if err != nil {
			return nil, err
		}
		if lit.kind != litString {
			return nil, p.errorf(lt, "LIKE needs a string pattern")
		}
		le, err := newLike(prop, lit.s)
		if err != nil {
			return nil, p.errorf(lt, "%s", err.Error())
		}
		e = le
	default:
		if err := p.unsupported(t); err != nil {
			return nil, err
		}
		if negate {
			return nil, p.errorf(t, "expected IN, BETWEEN or LIKE after NOT")
		}
		if t.kind == tokIdent && (t.upper() == "REGEXP" || t.upper() == "ILIKE" || t.upper() == "SIMILAR" || t.upper() == "RLIKE") {
			return nil, p.errorf(t, "operator %s is not supported", t.upper())
		}
		return nil, p.errorf(t, "expected a comparison operator after %s", prop.raw)
	}
	if negate {
		e = &notExpr{e}
	}
	return e, nil
}

// literal parses a string, number or boolean.
func (p *parser) literal() (literal, error) {
	t := p.next()
	switch t.kind {
	case tokString:
		return stringLiteral(t.text), nil
	case tokNumber:
		f, err := strconv.ParseFloat(t.text, 64)
		if err != nil {
			return literal{}, p.errorf(t, "malformed number %q", t.text)
		}
		if n := p.peek(); n.kind == tokArith || n.kind == tokStar {
			return literal{}, p.errorf(n, "arithmetic operator %q is not supported", n.text)
		}
		return literal{kind: litNumber, n: f, s: t.text}, nil
	case tokIdent:
		switch t.upper() {
		case "TRUE":
			return literal{kind: litBool, b: true, s: "true"}, nil
		case "FALSE":
			return literal{kind: litBool, b: false, s: "false"}, nil
		}
		if err := p.unsupported(t); err != nil {
			return literal{}, err
		}
		return literal{}, p.errorf(t, "expected a value, found %q (comparing two properties is not supported)", t.text)
	case tokLParen:
		if n := p.peek(); n.kind == tokIdent && n.upper() == "SELECT" {
			return literal{}, p.errorf(t, "subqueries are not supported")
		}
	}
	if err := p.unsupported(t); err != nil {
		return literal{}, err
	}
	return literal{}, p.errorf(t, "expected a value")
}

// check enforces the documented aggregation and identifier limitations.
func (q *Query) check() error {
	if len(q.groupBy) > 0 {
		q.aggregate = true
	}
	if len(q.groupBy) > maxGroupBy {
		return &Error{Reason: fmt.Sprintf("GROUP BY may contain at most %d properties", maxGroupBy)}
	}
	orderByAgg := false
	for _, o := range q.orderBy {
		if o.agg >= 0 {
			orderByAgg = true
		}
	}
	if orderByAgg && !q.aggregate {
		return &Error{Reason: "ORDER BY an aggregate function needs an aggregate query"}
	}
	if orderByAgg && len(q.groupBy) > 1 {
		return &Error{Reason: "GROUP BY with an ORDER BY clause referencing aggregate functions may contain only a single property"}
	}
	if q.aggregate {
		for _, s := range q.selects {
			if s.agg < 0 && !q.grouped(s.prop) {
				return &Error{Reason: fmt.Sprintf("property %s is selected alongside aggregate functions but is not in GROUP BY", s.prop.raw)}
			}
		}
		for _, o := range q.orderBy {
			if o.agg < 0 && !q.grouped(o.prop) {
				return &Error{Reason: fmt.Sprintf("ORDER BY property %s of an aggregate query must be in GROUP BY", o.prop.raw)}
			}
		}
	}
	return q.checkIdentifiers()
}

func (q *Query) grouped(p path) bool {
	for _, g := range q.groupBy {
		if g.raw == p.raw {
			return true
		}
	}
	return false
}

// checkIdentifiers refuses mismatched identifiers: two property names that agree when
// case is ignored on their common prefix but are spelt differently there.
func (q *Query) checkIdentifiers() error {
	var names []string
	add := func(p path) {
		if p.raw != "" {
			names = append(names, p.raw)
		}
	}
	for _, s := range q.selects {
		add(s.prop)
	}
	for _, a := range q.aggs {
		add(a.prop)
	}
	for _, g := range q.groupBy {
		add(g)
	}
	for _, o := range q.orderBy {
		add(o.prop)
	}
	walkExpr(q.where, func(p path) { add(p) })
	for i := range names {
		for j := i + 1; j < len(names); j++ {
			a, b := names[i], names[j]
			n := min(len(a), len(b))
			if strings.EqualFold(a[:n], b[:n]) && a[:n] != b[:n] {
				return &Error{Reason: fmt.Sprintf("mismatched identifiers %s and %s differ only in case", a, b)}
			}
		}
	}
	return nil
}
