package guard

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// Failure is one failing clause of a rule.
type Failure struct {
	Line   int    // line of the clause in the rule file
	Clause string // the clause's source text
	// Message is the clause's custom << message >> (trimmed), empty when it has none.
	Message string
	// Reason says which value failed and why, e.g. `configuration.status: got "Suspended"`.
	Reason string
}

// RuleResult is the outcome of one named rule against one document.
type RuleResult struct {
	Rule   string
	Status Status
	// Messages holds, per failing clause, its custom message or else its reason.
	Messages []string
	Failures []Failure
}

// Overall folds rule results the way AWS Config does for a custom policy rule: any FAIL
// makes the resource NON_COMPLIANT, else any PASS makes it COMPLIANT, else (every rule
// skipped, or no rules) it is NOT_APPLICABLE.
func Overall(results []RuleResult) Status {
	st := Skip
	for _, r := range results {
		switch r.Status {
		case Fail:
			return Fail
		case Pass:
			st = Pass
		}
	}
	return st
}

// ComplianceType maps a Guard status to the AWS Config compliance type.
func ComplianceType(s Status) string {
	switch s {
	case Pass:
		return "COMPLIANT"
	case Fail:
		return "NON_COMPLIANT"
	}
	return "NOT_APPLICABLE"
}

// Evaluate runs every rule of the set against doc, a decoded JSON value (map[string]any,
// []any, string, float64 or json.Number, bool, nil). For AWS Config the document is the
// configuration item. Results are in RuleNames order.
func (rs *RuleSet) Evaluate(doc any) []RuleResult {
	e := &evaluator{rs: rs, root: doc, done: map[string]*RuleResult{}, busy: map[string]bool{}}
	e.global = &scope{e: e, this: qv{v: doc, ok: true}, lets: rs.lets}
	out := make([]RuleResult, 0, len(rs.rules))
	for _, r := range rs.rules {
		out = append(out, *e.rule(r))
	}
	return out
}

type evaluator struct {
	rs     *RuleSet
	root   any
	global *scope
	done   map[string]*RuleResult
	busy   map[string]bool
}

// qv is one query value, or a retrieval error (ok false) with the path that failed.
type qv struct {
	v    any
	path string
	ok   bool
	why  string
}

type scope struct {
	e      *evaluator
	parent *scope
	this   qv
	lets   []*letStmt
	vals   map[string][]qv
}

func (s *scope) lookup(name string) ([]qv, bool) {
	for sc := s; sc != nil; sc = sc.parent {
		for _, l := range sc.lets {
			if l.name != name {
				continue
			}
			if v, ok := sc.vals[name]; ok {
				return v, true
			}
			if sc.vals == nil {
				sc.vals = map[string][]qv{}
			}
			sc.vals[name] = nil // a variable referring to itself sees nothing
			var vals []qv
			if l.q != nil {
				vals = sc.query(l.q)
			} else {
				vals = []qv{{v: l.lit, path: "%" + name, ok: true}}
			}
			sc.vals[name] = vals
			return vals, true
		}
	}
	return nil, false
}

func (e *evaluator) rule(r *rule) *RuleResult {
	if res, ok := e.done[r.name]; ok {
		return res
	}
	if e.busy[r.name] {
		return &RuleResult{Rule: r.name, Status: Fail, Messages: []string{"rule " + r.name + " refers to itself"}}
	}
	e.busy[r.name] = true
	defer delete(e.busy, r.name)
	sc := &scope{e: e, parent: e.global, this: qv{v: e.root, ok: true}, lets: r.body.lets}
	res := &RuleResult{Rule: r.name}
	if r.when != nil {
		if st, _ := sc.conj(r.when); st != Pass {
			res.Status = Skip
			e.done[r.name] = res
			return res
		}
	}
	st, fails := sc.conj(r.body.clauses)
	res.Status = st
	if st == Fail {
		res.Failures = fails
		for _, f := range fails {
			if f.Message != "" {
				res.Messages = append(res.Messages, f.Message)
			} else {
				res.Messages = append(res.Messages, f.Clause+": "+f.Reason)
			}
		}
	}
	e.done[r.name] = res
	return res
}

// conj: any FAIL fails; all SKIP skips; otherwise PASS.
func (s *scope) conj(c conj) (Status, []Failure) {
	st := Skip
	var fails []Failure
	for _, d := range c {
		ds, df := s.disj(d)
		switch ds {
		case Fail:
			st = Fail
			fails = append(fails, df...)
		case Pass:
			if st == Skip {
				st = Pass
			}
		}
	}
	return st, fails
}

// disj: any PASS passes; all SKIP skips; otherwise FAIL with every alternative's failures.
func (s *scope) disj(d disj) (Status, []Failure) {
	st := Skip
	var fails []Failure
	for _, c := range d {
		cs, cf := s.clause(c)
		switch cs {
		case Pass:
			return Pass, nil
		case Fail:
			st = Fail
			fails = append(fails, cf...)
		}
	}
	return st, fails
}

func (s *scope) child(this qv, lets []*letStmt) *scope {
	return &scope{e: s.e, parent: s, this: this, lets: lets}
}

func (s *scope) clause(c clause) (Status, []Failure) {
	switch c := c.(type) {
	case *whenClause:
		if st, _ := s.conj(c.cond); st != Pass {
			return Skip, nil
		}
		return s.child(s.this, c.body.lets).conj(c.body.clauses)
	case *ruleRef:
		r := s.e.rs.byNam[c.name]
		res := s.e.rule(r)
		st := res.Status
		if c.neg {
			st = flip(st)
		}
		if st != Fail {
			return st, nil
		}
		reason := "rule " + c.name + " failed"
		if c.neg {
			reason = "rule " + c.name + " passed"
		}
		f := Failure{Line: c.line, Clause: c.text, Message: c.msg, Reason: reason}
		return Fail, append([]Failure{f}, res.Failures...)
	case *blockClause:
		return s.block(c)
	case *cmpClause:
		st, reason := s.compare(c)
		if c.not {
			st = flip(st)
			if st == Fail {
				reason = "negated clause passed"
			}
		}
		if st != Fail {
			return st, nil
		}
		return Fail, []Failure{{Line: c.line, Clause: c.text, Message: c.msg, Reason: reason}}
	}
	return Skip, nil
}

func flip(s Status) Status {
	switch s {
	case Pass:
		return Fail
	case Fail:
		return Pass
	}
	return s
}

func (s *scope) block(c *blockClause) (Status, []Failure) {
	vals := s.query(c.q)
	if len(vals) == 0 {
		return Skip, nil
	}
	st := Skip
	var fails []Failure
	anyPass := false
	for _, v := range vals {
		if !v.ok {
			st = Fail
			fails = append(fails, Failure{Line: c.line, Clause: c.text, Message: c.msg, Reason: v.why})
			continue
		}
		vs, vf := s.child(v, c.body.lets).conj(c.body.clauses)
		switch vs {
		case Pass:
			anyPass = true
			if st == Skip {
				st = Pass
			}
		case Fail:
			st = Fail
			for _, f := range vf {
				if f.Message == "" && c.msg != "" {
					f.Message = c.msg
				}
				fails = append(fails, f)
			}
		}
	}
	if c.some {
		if anyPass {
			return Pass, nil
		}
	}
	if st != Fail {
		return st, nil
	}
	return Fail, fails
}

// query evaluates q in this scope. An empty result means a filter selected nothing;
// missing keys, empty collections under a wildcard and bad indexes are values with ok false.
func (s *scope) query(q *query) []qv {
	var cur []qv
	switch {
	case q.variable != "":
		vals, ok := s.lookup(q.variable)
		if !ok {
			return []qv{{path: "%" + q.variable, why: "variable %" + q.variable + " is not defined"}}
		}
		cur = append(cur, vals...)
	default:
		cur = []qv{s.this}
	}
	for _, st := range q.steps {
		var next []qv
		for _, v := range cur {
			if !v.ok {
				next = append(next, v)
				continue
			}
			next = append(next, s.step(v, st)...)
		}
		cur = next
	}
	return cur
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func (s *scope) step(v qv, st step) []qv {
	switch st.kind {
	case stepKey:
		switch x := v.v.(type) {
		case map[string]any:
			if val, ok := x[st.key]; ok {
				return []qv{{v: val, path: join(v.path, st.key), ok: true}}
			}
		case []any:
			if n, err := strconv.Atoi(st.key); err == nil && n >= 0 && n < len(x) {
				return []qv{{v: x[n], path: fmt.Sprintf("%s[%d]", v.path, n), ok: true}}
			}
		}
		p := join(v.path, st.key)
		return []qv{{path: p, why: fmt.Sprintf("retrieval error: %s does not exist", p)}}
	case stepWildcard:
		switch x := v.v.(type) {
		case map[string]any:
			if len(x) > 0 {
				keys := make([]string, 0, len(x))
				for k := range x {
					keys = append(keys, k)
				}
				sort.Strings(keys)
				out := make([]qv, 0, len(keys))
				for _, k := range keys {
					out = append(out, qv{v: x[k], path: join(v.path, k), ok: true})
				}
				return out
			}
		case []any:
			if len(x) > 0 {
				out := make([]qv, 0, len(x))
				for i, e := range x {
					out = append(out, qv{v: e, path: fmt.Sprintf("%s[%d]", v.path, i), ok: true})
				}
				return out
			}
		}
		return []qv{{path: v.path + "[*]", why: fmt.Sprintf("retrieval error: %s has no values to traverse", pathOr(v.path))}}
	case stepIndex:
		if x, ok := v.v.([]any); ok {
			i := st.index
			if i < 0 {
				i += len(x)
			}
			if i >= 0 && i < len(x) {
				return []qv{{v: x[i], path: fmt.Sprintf("%s[%d]", v.path, i), ok: true}}
			}
		}
		p := fmt.Sprintf("%s[%d]", v.path, st.index)
		return []qv{{path: p, why: fmt.Sprintf("retrieval error: %s does not exist", p)}}
	case stepFilter:
		var cands []qv
		if x, ok := v.v.([]any); ok {
			for i, e := range x {
				cands = append(cands, qv{v: e, path: fmt.Sprintf("%s[%d]", v.path, i), ok: true})
			}
		} else {
			cands = []qv{v}
		}
		out := []qv{}
		for _, c := range cands {
			if fs, _ := s.child(c, nil).conj(st.filter); fs == Pass {
				out = append(out, c)
			}
		}
		return out
	}
	return nil
}

func pathOr(p string) string {
	if p == "" {
		return "the document"
	}
	return p
}

// compare evaluates a unary or binary clause with all-values (or some) semantics.
func (s *scope) compare(c *cmpClause) (Status, string) {
	lhs := s.query(c.q)
	if len(lhs) == 0 {
		switch c.op {
		case "empty":
			if c.neg {
				return Fail, c.q.text + ": filter selected nothing"
			}
			return Pass, ""
		}
		return Skip, ""
	}
	var rhs []any
	if c.rhs != nil {
		if c.rhs.q != nil {
			for _, v := range s.query(c.rhs.q) {
				if v.ok {
					rhs = append(rhs, v.v)
				}
			}
			if len(rhs) == 0 {
				return Fail, fmt.Sprintf("right-hand query %s has no values", c.rhs.q.text)
			}
		} else {
			rhs = []any{c.rhs.lit}
		}
	}
	var firstBad string
	passed := 0
	for _, v := range lhs {
		ok := check(c, v, rhs)
		if ok {
			passed++
			continue
		}
		if firstBad == "" {
			switch {
			case !v.ok:
				firstBad = v.why
			default:
				firstBad = fmt.Sprintf("%s: got %s", pathOr(v.path), render(v.v))
			}
		}
	}
	if c.some && passed > 0 || !c.some && passed == len(lhs) {
		return Pass, ""
	}
	return Fail, firstBad
}

func check(c *cmpClause, v qv, rhs []any) bool {
	if !v.ok {
		switch c.op {
		case "exists":
			return c.neg
		case "empty":
			return !c.neg
		}
		return false
	}
	var r bool
	switch c.op {
	case "exists":
		r = true
	case "empty":
		r = isEmpty(v.v)
	case "is_string":
		_, r = v.v.(string)
	case "is_list":
		_, r = v.v.([]any)
	case "is_struct":
		_, r = v.v.(map[string]any)
	case "is_bool":
		_, r = v.v.(bool)
	case "is_null":
		r = v.v == nil
	case "is_int":
		f, ok := num(v.v)
		r = ok && f == math.Trunc(f) && !isFloatLit(v.v)
	case "is_float":
		f, ok := num(v.v)
		r = ok && (f != math.Trunc(f) || isFloatLit(v.v))
	case "==":
		r = eqAny(v.v, rhs)
	case "!=":
		if len(rhs) == 1 && incompatible(v.v, rhs[0]) {
			return false
		}
		r = !eqAny(v.v, rhs)
	case "in":
		r = in(v.v, rhs)
	case "<", "<=", ">", ">=":
		r = order(c.op, v.v, rhs)
	}
	if c.neg {
		return !r
	}
	return r
}

func isEmpty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case []any:
		return len(x) == 0
	case map[string]any:
		return len(x) == 0
	}
	return false
}

// isFloatLit reports a json.Number or float64 written with a fraction or exponent.
func isFloatLit(v any) bool {
	switch x := v.(type) {
	case json.Number:
		return strings.ContainsAny(string(x), ".eE")
	case float32:
		return false
	}
	return false
}

func num(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case int32:
		return float64(x), true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	}
	return 0, false
}

func kind(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case bool:
		return "bool"
	case nil:
		return "null"
	case []any:
		return "list"
	case map[string]any:
		return "struct"
	}
	if _, ok := num(v); ok {
		return "number"
	}
	return "other"
}

// incompatible reports two scalars of different kinds: Guard's != is false for them
// (see "Troubleshooting AWS CloudFormation Guard", general topics).
func incompatible(a, b any) bool {
	switch b.(type) {
	case regexLit, rangeLit, []any, map[string]any, nil:
		return false
	}
	ka, kb := kind(a), kind(b)
	scalar := func(k string) bool { return k == "string" || k == "bool" || k == "number" }
	return scalar(ka) && scalar(kb) && ka != kb
}

// eqAny: == against the right-hand values. One right-hand value that is a list, with a
// scalar left value, means membership (as in the AWS Config DynamoDB example
// `configuration.tableStatus == ['ACTIVE']`); several right-hand values from a query
// mean membership too.
func eqAny(l any, rhs []any) bool {
	if len(rhs) == 1 {
		return eqOne(l, rhs[0])
	}
	for _, r := range rhs {
		if eqOne(l, r) {
			return true
		}
	}
	return false
}

func eqOne(l, r any) bool {
	rl, rIsList := r.([]any)
	ll, lIsList := l.([]any)
	switch {
	case rIsList && !lIsList:
		for _, e := range rl {
			if match(l, e) {
				return true
			}
		}
		return false
	case lIsList && !rIsList:
		if len(ll) == 0 {
			return false
		}
		for _, e := range ll {
			if !match(e, r) {
				return false
			}
		}
		return true
	}
	return match(l, r)
}

// match compares a value with a literal or value: regexes match strings, ranges hold numbers.
func match(l, r any) bool {
	switch x := r.(type) {
	case regexLit:
		s, ok := l.(string)
		return ok && x.re.MatchString(s)
	case rangeLit:
		return inRange(l, x)
	}
	return deepEq(l, r)
}

func deepEq(a, b any) bool {
	if fa, ok := num(a); ok {
		fb, ok := num(b)
		return ok && fa == fb
	}
	switch x := a.(type) {
	case string:
		y, ok := b.(string)
		return ok && x == y
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case nil:
		return b == nil
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !match(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, xv := range x {
			yv, ok := y[k]
			if !ok || !match(xv, yv) {
				return false
			}
		}
		return true
	}
	return false
}

func inRange(v any, r rangeLit) bool {
	f, ok := num(v)
	if !ok {
		return false
	}
	lo, _ := num(r.lo)
	hi, _ := num(r.hi)
	if f < lo || !r.loInc && f == lo {
		return false
	}
	if f > hi || !r.hiInc && f == hi {
		return false
	}
	return true
}

// in: the left value (every element, when it is a list) is one of the right-hand values;
// a single list literal on the right is the candidate set.
func in(l any, rhs []any) bool {
	var cands []any
	for _, r := range rhs {
		if rl, ok := r.([]any); ok {
			cands = append(cands, rl...)
		} else {
			cands = append(cands, r)
		}
	}
	member := func(v any) bool {
		for _, c := range cands {
			if match(v, c) {
				return true
			}
		}
		return false
	}
	if ll, ok := l.([]any); ok {
		if len(ll) == 0 {
			return false
		}
		for _, e := range ll {
			if !member(e) {
				return false
			}
		}
		return true
	}
	return member(l)
}

func order(op string, l any, rhs []any) bool {
	if ll, ok := l.([]any); ok {
		if len(ll) == 0 {
			return false
		}
		for _, e := range ll {
			if !order(op, e, rhs) {
				return false
			}
		}
		return true
	}
	for _, r := range rhs {
		c, ok := cmp(l, r)
		if !ok {
			return false
		}
		var hold bool
		switch op {
		case "<":
			hold = c < 0
		case "<=":
			hold = c <= 0
		case ">":
			hold = c > 0
		case ">=":
			hold = c >= 0
		}
		if !hold {
			return false
		}
	}
	return true
}

func cmp(a, b any) (int, bool) {
	if fa, ok := num(a); ok {
		fb, ok := num(b)
		if !ok {
			return 0, false
		}
		switch {
		case fa < fb:
			return -1, true
		case fa > fb:
			return 1, true
		}
		return 0, true
	}
	sa, ok1 := a.(string)
	sb, ok2 := b.(string)
	if ok1 && ok2 {
		return strings.Compare(sa, sb), true
	}
	return 0, false
}

func render(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	if len(b) > 200 {
		return string(b[:200]) + "..."
	}
	return string(b)
}
