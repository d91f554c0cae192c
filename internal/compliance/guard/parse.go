package guard

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// ParseError says where a rule file stopped making sense and what was expected there.
type ParseError struct {
	Line, Col int
	Msg       string
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("guard: line %d, column %d: %s", e.Line, e.Col, e.Msg)
}

// Parse reads a Guard 2.x rule file. Clauses written outside any rule block are
// gathered into a rule named "default".
func Parse(src string) (rs *RuleSet, err error) {
	p := &parser{src: src}
	defer func() {
		if r := recover(); r != nil {
			pe, ok := r.(*ParseError)
			if !ok {
				panic(r)
			}
			rs, err = nil, pe
		}
	}()
	rs = &RuleSet{src: src, byNam: map[string]*rule{}}
	def := &rule{name: "default", body: &block{}, line: 1}
	var refs []*ruleRef
	p.refs = &refs
	for {
		p.skipWS()
		if p.eof() {
			break
		}
		switch {
		case p.keyword("rule"):
			r := p.parseRule()
			if _, dup := rs.byNam[r.name]; dup || r.name == "default" && len(def.body.clauses) > 0 {
				p.failAtLine(r.line, fmt.Sprintf("rule %q defined twice", r.name))
			}
			rs.byNam[r.name] = r
			rs.rules = append(rs.rules, r)
		case p.keyword("let"):
			rs.lets = append(rs.lets, p.parseLet())
		default:
			start := p.i
			if p.keyword("when") {
				def.body.clauses = append(def.body.clauses, disj{p.parseWhen(start)})
				continue
			}
			def.body.clauses = append(def.body.clauses, p.parseDisj(false))
		}
	}
	if len(def.body.clauses) > 0 {
		if _, dup := rs.byNam["default"]; dup {
			p.failAtLine(def.line, `rule "default" defined twice`)
		}
		rs.byNam["default"] = def
		rs.rules = append([]*rule{def}, rs.rules...)
	}
	for _, ref := range refs {
		if _, ok := rs.byNam[ref.name]; !ok {
			return nil, &ParseError{Line: ref.line, Col: ref.col, Msg: fmt.Sprintf("expected an operator after query %q (no rule named %q)", ref.name, ref.name)}
		}
	}
	return rs, nil
}

type parser struct {
	src  string
	i    int
	refs *[]*ruleRef
}

func (p *parser) eof() bool { return p.i >= len(p.src) }

func (p *parser) peek() byte {
	if p.eof() {
		return 0
	}
	return p.src[p.i]
}

func (p *parser) lineCol(off int) (int, int) {
	line, col := 1, 1
	for k := 0; k < off && k < len(p.src); k++ {
		if p.src[k] == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return line, col
}

func (p *parser) failAt(off int, msg string) {
	l, c := p.lineCol(off)
	panic(&ParseError{Line: l, Col: c, Msg: msg})
}

func (p *parser) failAtLine(line int, msg string) {
	panic(&ParseError{Line: line, Col: 1, Msg: msg})
}

// expected fails with "expected X, found Y" at the current position.
func (p *parser) expected(what string) {
	found := "end of input"
	if !p.eof() {
		end := p.i
		for end < len(p.src) && end-p.i < 20 && p.src[end] != '\n' && !(end > p.i && (p.src[end] == ' ' || p.src[end] == '\t')) {
			end++
		}
		found = strconv.Quote(p.src[p.i:end])
	}
	p.failAt(p.i, fmt.Sprintf("expected %s, found %s", what, found))
}

// skipWS skips spaces, newlines and # comments.
func (p *parser) skipWS() {
	for !p.eof() {
		c := p.src[p.i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			p.i++
		case c == '#':
			for !p.eof() && p.src[p.i] != '\n' {
				p.i++
			}
		default:
			return
		}
	}
}

// skipHWS skips spaces and tabs on the current line (and a trailing comment).
func (p *parser) skipHWS() {
	for !p.eof() {
		c := p.src[p.i]
		if c == ' ' || c == '\t' || c == '\r' {
			p.i++
			continue
		}
		if c == '#' {
			for !p.eof() && p.src[p.i] != '\n' {
				p.i++
			}
		}
		return
	}
}

func isIdentStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func isIdentChar(c byte) bool {
	return isIdentStart(c) || c >= '0' && c <= '9'
}

// wordAt returns the identifier starting at the current position, without consuming it.
func (p *parser) wordAt() string {
	j := p.i
	if j < len(p.src) && isIdentStart(p.src[j]) {
		j++
		for j < len(p.src) && isIdentChar(p.src[j]) {
			j++
		}
	}
	return p.src[p.i:j]
}

// keyword consumes kw (case-insensitive) when it is a whole word not followed by '.' or '['.
func (p *parser) keyword(kw string) bool {
	w := p.wordAt()
	if !strings.EqualFold(w, kw) {
		return false
	}
	j := p.i + len(w)
	if j < len(p.src) && (p.src[j] == '.' || p.src[j] == '[') {
		return false
	}
	p.i = j
	return true
}

func (p *parser) ident(what string) string {
	w := p.wordAt()
	if w == "" {
		p.expected(what)
	}
	p.i += len(w)
	return w
}

func (p *parser) expect(c byte) {
	if p.peek() != c {
		p.expected(strconv.QuoteRune(rune(c)))
	}
	p.i++
}

func (p *parser) parseRule() *rule {
	p.skipWS()
	line, _ := p.lineCol(p.i)
	r := &rule{line: line}
	r.name = p.ident("a rule name")
	p.skipWS()
	if p.keyword("when") {
		r.when = p.parseConds()
	}
	p.skipWS()
	if p.peek() != '{' {
		p.expected("'{' to open rule " + r.name)
	}
	p.i++
	r.body = p.parseBlock('}')
	return r
}

// parseConds reads when-conditions up to (not including) the '{' that opens the body.
func (p *parser) parseConds() conj {
	var c conj
	for {
		p.skipWS()
		if p.peek() == '{' {
			if len(c) == 0 {
				p.expected("a condition after when")
			}
			return c
		}
		if p.eof() {
			p.expected("'{' after when conditions")
		}
		c = append(c, p.parseDisj(true))
	}
}

func (p *parser) parseLet() *letStmt {
	p.skipWS()
	line, _ := p.lineCol(p.i)
	l := &letStmt{line: line}
	l.name = p.ident("a variable name")
	p.skipWS()
	if p.peek() == ':' { // `let x := value` is accepted too
		p.i++
	}
	p.expect('=')
	p.skipWS()
	op := p.parseOperand()
	l.q, l.lit = op.q, op.lit
	return l
}

// parseBlock reads lets, when blocks and clauses up to the closing delimiter.
func (p *parser) parseBlock(end byte) *block {
	b := &block{}
	for {
		p.skipWS()
		if p.eof() {
			p.expected(strconv.QuoteRune(rune(end)))
		}
		if p.peek() == end {
			p.i++
			return b
		}
		if end == '}' && p.keyword("let") {
			b.lets = append(b.lets, p.parseLet())
			continue
		}
		start := p.i
		if p.keyword("when") {
			b.clauses = append(b.clauses, disj{p.parseWhen(start)})
			continue
		}
		b.clauses = append(b.clauses, p.parseDisj(false))
	}
}

// parseWhen reads `when conditions { body }` after the when keyword.
func (p *parser) parseWhen(start int) *whenClause {
	w := &whenClause{}
	w.srcPos = p.position(start)
	w.cond = p.parseConds()
	p.i++ // '{'
	w.body = p.parseBlock('}')
	w.text = "when " + w.cond.String()
	return w
}

func (p *parser) position(off int) srcPos {
	l, c := p.lineCol(off)
	return srcPos{line: l, col: c}
}

// parseDisj reads clauses joined by or/OR.
func (p *parser) parseDisj(cond bool) disj {
	d := disj{p.parseClause(cond)}
	for {
		save := p.i
		p.skipWS()
		if p.keyword("or") {
			d = append(d, p.parseClause(cond))
			continue
		}
		p.i = save
		return d
	}
}

var unaryOps = map[string]bool{
	"exists": true, "empty": true, "is_string": true, "is_list": true, "is_struct": true,
	"is_bool": true, "is_int": true, "is_float": true, "is_null": true,
}

func (p *parser) parseClause(cond bool) clause {
	p.skipWS()
	start := p.i
	not := false
	if p.keyword("not") {
		not = true
		p.skipWS()
	} else if p.peek() == '!' && p.i+1 < len(p.src) && p.src[p.i+1] != '=' {
		not = true
		p.i++
		p.skipWS()
	}
	some := false
	if p.keyword("some") {
		some = true
		p.skipWS()
	}
	qStart := p.i
	q := p.parseQuery()
	p.skipHWS()
	c := &cmpClause{not: not, some: some, q: q}
	c.srcPos = p.position(start)
	opStart := p.i
	switch {
	case strings.HasPrefix(p.src[p.i:], "=="), strings.HasPrefix(p.src[p.i:], "!="),
		strings.HasPrefix(p.src[p.i:], "<="), strings.HasPrefix(p.src[p.i:], ">="):
		c.op = p.src[p.i : p.i+2]
		p.i += 2
	case (p.peek() == '<' || p.peek() == '>') && !strings.HasPrefix(p.src[p.i:], "<<"):
		c.op = p.src[p.i : p.i+1]
		p.i++
	default:
		neg := false
		if p.keyword("not") {
			neg = true
			p.skipHWS()
		} else if p.peek() == '!' {
			neg = true
			p.i++
		}
		w := strings.ToLower(p.wordAt())
		switch {
		case w == "in" || unaryOps[w]:
			p.i += len(w)
			c.op, c.neg = w, neg
		case neg:
			p.expected("exists, empty, in or is_* after not")
		default:
			p.i = opStart
			return p.noOperator(cond, start, qStart, not, some, q)
		}
	}
	if !unaryOps[c.op] {
		p.skipWS()
		r := p.parseOperand()
		c.rhs = &r
	}
	c.text = collapse(p.src[start:p.i])
	c.msg = p.parseMessage()
	return c
}

// noOperator handles a query with no operator: a block clause or a named-rule reference.
func (p *parser) noOperator(cond bool, start, qStart int, not, some bool, q *query) clause {
	save := p.i
	p.skipWS()
	if p.peek() == '{' && !cond {
		if not {
			p.failAt(start, "not cannot negate a block clause")
		}
		p.i++
		b := &blockClause{some: some, q: q}
		b.srcPos = p.position(start)
		b.text = collapse(p.src[start:save])
		b.body = p.parseBlock('}')
		b.msg = p.parseMessage()
		return b
	}
	p.i = save
	if q.variable != "" || q.this || len(q.steps) != 1 || q.steps[0].kind != stepKey || some || !isPlainIdent(q.steps[0].key) {
		p.expected("an operator after query " + strconv.Quote(q.text))
	}
	r := &ruleRef{name: q.steps[0].key, neg: not}
	r.srcPos = p.position(qStart)
	r.text = collapse(p.src[start:p.i])
	r.msg = p.parseMessage()
	*p.refs = append(*p.refs, r)
	return r
}

func isPlainIdent(s string) bool {
	if s == "" || !isIdentStart(s[0]) {
		return false
	}
	for k := 1; k < len(s); k++ {
		if !isIdentChar(s[k]) {
			return false
		}
	}
	return true
}

// parseMessage reads an optional << custom message >>.
func (p *parser) parseMessage() string {
	save := p.i
	p.skipWS()
	if !strings.HasPrefix(p.src[p.i:], "<<") {
		p.i = save
		return ""
	}
	open := p.i
	end := strings.Index(p.src[p.i+2:], ">>")
	if end < 0 {
		p.failAt(open, "expected '>>' to close the custom message")
	}
	msg := strings.TrimSpace(p.src[p.i+2 : p.i+2+end])
	p.i += 2 + end + 2
	return msg
}

func collapse(s string) string { return strings.Join(strings.Fields(s), " ") }

// parseQuery reads `%var`, `this` or a key, then .key, .*, [*], [n] and [filter] steps.
func (p *parser) parseQuery() *query {
	start := p.i
	q := &query{}
	switch {
	case p.peek() == '%':
		p.i++
		q.variable = p.ident("a variable name after %")
	case p.keyword("this"):
		q.this = true
	case p.peek() == '*':
		p.i++
		q.steps = append(q.steps, step{kind: stepWildcard})
	case p.peek() == '"' || p.peek() == '\'':
		q.steps = append(q.steps, step{kind: stepKey, key: p.parseString()})
	case isIdentStart(p.peek()):
		q.steps = append(q.steps, step{kind: stepKey, key: p.ident("a query")})
	default:
		p.expected("a query (a key, %variable or this)")
	}
	for {
		switch p.peek() {
		case '.':
			p.i++
			switch c := p.peek(); {
			case c == '*':
				p.i++
				q.steps = append(q.steps, step{kind: stepWildcard})
			case c == '"' || c == '\'':
				q.steps = append(q.steps, step{kind: stepKey, key: p.parseString()})
			case c >= '0' && c <= '9':
				n := p.parseInt()
				q.steps = append(q.steps, step{kind: stepIndex, index: n})
			case isIdentStart(c):
				q.steps = append(q.steps, step{kind: stepKey, key: p.ident("a key")})
			default:
				p.expected("a key, '*' or an index after '.'")
			}
		case '[':
			p.i++
			p.skipWS()
			switch c := p.peek(); {
			case c == '*':
				p.i++
				p.skipWS()
				p.expect(']')
				q.steps = append(q.steps, step{kind: stepWildcard})
			case c == '-' || c >= '0' && c <= '9':
				n := p.parseInt()
				p.skipWS()
				p.expect(']')
				q.steps = append(q.steps, step{kind: stepIndex, index: n})
			default:
				b := p.parseBlock(']')
				if len(b.clauses) == 0 {
					p.failAt(p.i-1, "expected a filter clause inside [ ]")
				}
				q.steps = append(q.steps, step{kind: stepFilter, filter: b.clauses})
			}
		default:
			q.text = collapse(p.src[start:p.i])
			return q
		}
	}
}

func (p *parser) parseInt() int {
	start := p.i
	if p.peek() == '-' {
		p.i++
	}
	for !p.eof() && p.peek() >= '0' && p.peek() <= '9' {
		p.i++
	}
	n, err := strconv.Atoi(p.src[start:p.i])
	if err != nil {
		p.i = start
		p.expected("an integer index")
	}
	return n
}

// parseString reads a '...' or "..." literal (Guard has no escape sequences).
func (p *parser) parseString() string {
	quote := p.peek()
	start := p.i
	p.i++
	end := strings.IndexByte(p.src[p.i:], quote)
	if end < 0 {
		p.failAt(start, "expected a closing "+string(quote)+" for the string")
	}
	s := p.src[p.i : p.i+end]
	p.i += end + 1
	return s
}

// parseOperand reads a literal or a query.
func (p *parser) parseOperand() operand {
	c := p.peek()
	switch {
	case c == '%' || c == '*':
		return operand{q: p.parseQuery()}
	case c == '"' || c == '\'' || c == '/' || c == '[' || c == '{' || c == '-' || c >= '0' && c <= '9':
		return operand{lit: p.parseLiteral()}
	case c == 'r' && p.i+1 < len(p.src) && (p.src[p.i+1] == '[' || p.src[p.i+1] == '('):
		return operand{lit: p.parseLiteral()}
	case isIdentStart(c):
		switch strings.ToLower(p.wordAt()) {
		case "true", "false", "null":
			return operand{lit: p.parseLiteral()}
		}
		return operand{q: p.parseQuery()}
	}
	p.expected("a value or a query")
	return operand{}
}

func (p *parser) parseLiteral() any {
	c := p.peek()
	switch {
	case c == '"' || c == '\'':
		return p.parseString()
	case c == '/':
		return p.parseRegex()
	case c == '[':
		p.i++
		list := []any{}
		for {
			p.skipWS()
			if p.peek() == ']' {
				p.i++
				return list
			}
			if len(list) > 0 {
				p.expect(',')
				p.skipWS()
			}
			list = append(list, p.parseLiteral())
		}
	case c == '{':
		p.i++
		m := map[string]any{}
		for {
			p.skipWS()
			if p.peek() == '}' {
				p.i++
				return m
			}
			if len(m) > 0 {
				p.expect(',')
				p.skipWS()
			}
			var k string
			if p.peek() == '"' || p.peek() == '\'' {
				k = p.parseString()
			} else {
				k = p.ident("a map key")
			}
			p.skipWS()
			p.expect(':')
			p.skipWS()
			m[k] = p.parseLiteral()
		}
	case c == 'r' && p.i+1 < len(p.src) && (p.src[p.i+1] == '[' || p.src[p.i+1] == '('):
		p.i++
		r := rangeLit{loInc: p.peek() == '['}
		p.i++
		p.skipWS()
		r.lo = p.parseNumber()
		p.skipWS()
		p.expect(',')
		p.skipWS()
		r.hi = p.parseNumber()
		p.skipWS()
		switch p.peek() {
		case ']':
			r.hiInc = true
		case ')':
		default:
			p.expected("']' or ')' to close the range")
		}
		p.i++
		return r
	case c == '-' || c >= '0' && c <= '9':
		return p.parseNumber()
	}
	switch w := strings.ToLower(p.wordAt()); w {
	case "true", "false":
		p.i += len(w)
		return w == "true"
	case "null":
		p.i += len(w)
		return nil
	}
	p.expected("a literal (string, number, bool, regex, list, map or range)")
	return nil
}

func (p *parser) parseNumber() any {
	start := p.i
	if p.peek() == '-' {
		p.i++
	}
	isFloat := false
	for !p.eof() {
		c := p.peek()
		if c >= '0' && c <= '9' {
			p.i++
		} else if c == '.' || c == 'e' || c == 'E' || (c == '+' || c == '-') && (p.src[p.i-1] == 'e' || p.src[p.i-1] == 'E') {
			isFloat = true
			p.i++
		} else {
			break
		}
	}
	txt := p.src[start:p.i]
	if !isFloat {
		if n, err := strconv.ParseInt(txt, 10, 64); err == nil {
			return n
		}
	}
	f, err := strconv.ParseFloat(txt, 64)
	if err != nil {
		p.i = start
		p.expected("a number")
	}
	return f
}

func (p *parser) parseRegex() regexLit {
	start := p.i
	p.i++
	var sb strings.Builder
	for {
		if p.eof() || p.peek() == '\n' {
			p.failAt(start, "expected a closing '/' for the regex")
		}
		c := p.peek()
		if c == '\\' && p.i+1 < len(p.src) && p.src[p.i+1] == '/' {
			sb.WriteByte('/')
			p.i += 2
			continue
		}
		if c == '/' {
			p.i++
			break
		}
		sb.WriteByte(c)
		p.i++
	}
	re, err := regexp.Compile(sb.String())
	if err != nil {
		p.failAt(start, fmt.Sprintf("invalid regex /%s/: %v", sb.String(), err))
	}
	return regexLit{re: re, src: sb.String()}
}

// String renders a condition for messages.
func (c conj) String() string {
	parts := make([]string, 0, len(c))
	for _, d := range c {
		alts := make([]string, 0, len(d))
		for _, cl := range d {
			alts = append(alts, cl.pos().text)
		}
		parts = append(parts, strings.Join(alts, " or "))
	}
	return strings.Join(parts, " and ")
}
