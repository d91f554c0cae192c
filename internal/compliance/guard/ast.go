// Package guard parses and evaluates AWS CloudFormation Guard 2.x rule files the way
// AWS Config custom policy rules (PolicyRuntime guard-2.x.x) use them: the rules are
// evaluated against one configuration item (resourceType, configuration, tags,
// supplementaryConfiguration, ...) and every named rule ends PASS, FAIL or SKIP.
//
// The language follows the AWS CloudFormation Guard user guide ("Writing Guard rules",
// "Defining queries and filtering", "Assigning and referencing variables", "Composing
// named-rule blocks", "Writing clauses to perform context-aware evaluations").
//
// Semantics chosen where the guide is terse: a query value that cannot be retrieved
// (missing key, wildcard over an empty list or map, bad index) fails the clause; a filter
// that selects nothing skips it (empty passes, !empty fails); a rule whose when
// conditions are not PASS is SKIP, and so is a rule all of whose clauses skip; a
// referenced rule keeps its status (negation swaps PASS and FAIL). == against a list
// with a scalar on the left means membership, and two scalars of different types are
// never != (both as in cfn-guard 2.x).
//
// Not covered: parameterized rules, built-in functions (Guard 3.x), map-key filters
// (`[ keys == /re/ ]`), `let` inside filters, string escape sequences, the
// cfn-guard output formats, and YAML input (callers pass decoded JSON).
package guard

import (
	"regexp"
)

// Status is the outcome of a rule or clause.
type Status string

// The three outcomes Guard reports. AWS Config maps them to COMPLIANT, NON_COMPLIANT
// and NOT_APPLICABLE.
const (
	Pass Status = "PASS"
	Fail Status = "FAIL"
	Skip Status = "SKIP"
)

// RuleSet is a parsed Guard rule file.
type RuleSet struct {
	src   string
	lets  []*letStmt
	rules []*rule
	byNam map[string]*rule
}

// RuleNames lists the rules of the file in source order (clauses written outside any
// rule block form a rule named "default", listed first when present).
func (rs *RuleSet) RuleNames() []string {
	out := make([]string, 0, len(rs.rules))
	for _, r := range rs.rules {
		out = append(out, r.name)
	}
	return out
}

type rule struct {
	name string
	when conj // nil when the rule has no when condition
	body *block
	line int
}

// block is a scope: its own variables and a conjunction of disjunctions (CNF).
type block struct {
	lets    []*letStmt
	clauses conj
}

type conj []disj
type disj []clause

type letStmt struct {
	name string
	q    *query // nil for a literal
	lit  any
	line int
}

type clause interface{ pos() srcPos }

type srcPos struct {
	line, col int
	text      string // the clause's source, whitespace collapsed
}

func (p srcPos) pos() srcPos { return p }

// cmpClause is `[not] [some] query op [rhs] [<<msg>>]`.
type cmpClause struct {
	srcPos
	not  bool // leading not/! negates the whole clause
	some bool
	q    *query
	op   string // "==", "!=", "<", "<=", ">", ">=", "in", "exists", "empty", "is_string", ...
	neg  bool   // negated operator: `not exists`, `!empty`, `not in`
	rhs  *operand
	msg  string
}

// blockClause is `[some] query { clauses }`: the body is checked against each value.
type blockClause struct {
	srcPos
	some bool
	q    *query
	body *block
	msg  string
}

// whenClause is `when cond { clauses }` inside a rule or block.
type whenClause struct {
	srcPos
	cond conj
	body *block
}

// ruleRef is a named rule used as a clause, possibly negated.
type ruleRef struct {
	srcPos
	name string
	neg  bool
	msg  string
}

type operand struct {
	q   *query
	lit any
}

// query is a variable or `this` or a key, followed by steps.
type query struct {
	variable string // "%name" without the %, or ""
	this     bool
	steps    []step
	text     string
}

type stepKind int

const (
	stepKey stepKind = iota
	stepWildcard
	stepIndex
	stepFilter
)

type step struct {
	kind   stepKind
	key    string
	index  int
	filter conj
}

// regexLit is a /.../ literal.
type regexLit struct {
	re  *regexp.Regexp
	src string
}

// rangeLit is r[lo, hi] / r(lo, hi) and mixes.
type rangeLit struct {
	lo, hi       any
	loInc, hiInc bool
}
