// Package filterpattern parses CloudWatch Logs filter patterns and matches log event
// messages against them. One language serves FilterLogEvents, metric filters,
// subscription filters and TestMetricFilter: terms and quoted phrases (with `?`
// alternatives and `-` exclusions), JSON patterns (`{ $.a.b[0] = "x" && ... }`),
// space-delimited patterns (`[ip, user, ..., status = 4*, bytes > 1000]`) and `%regex%`.
//
// A Pattern is immutable after Parse and safe for concurrent use.
package filterpattern

import (
	"regexp"
	"strings"
)

// Error is a pattern that does not parse. Reason is the sentence the service puts in
// the InvalidParameterException it answers.
type Error struct {
	Reason string
}

func (e *Error) Error() string { return "filterpattern: " + e.Reason }

func errorf(reason string) *Error { return &Error{Reason: reason} }

// kind tells which of the four pattern languages a Pattern is written in.
type kind int

const (
	kindAll kind = iota // empty pattern: every event matches
	kindTerms
	kindJSON
	kindDelimited
	kindRegex
)

// Pattern is a parsed filter pattern.
type Pattern struct {
	src  string
	kind kind

	// terms
	must    []term // all must occur
	anyOf   []term // at least one must occur (the `?` terms)
	exclude []term // none may occur

	// JSON
	expr  node
	paths *pathSet

	// space-delimited
	fields    []delimField
	ellipsis  int // index in fields of `...`, or -1
	fieldCond node

	// regex
	re *regexp.Regexp

	// lits are strings one of which every match contains (see MayMatch); litsJSON says a
	// message with \u escapes may match without them.
	lits     []string
	litsJSON bool
}

// maxRegex is the number of %regex% a JSON or space-delimited pattern may hold.
const maxRegex = 2

// maxPatternLen is the length limit of FilterPattern in the CloudWatch Logs model.
const maxPatternLen = 1024

// Parse parses a filter pattern. The error, when not nil, is an *Error.
func Parse(pattern string) (*Pattern, error) {
	if len(pattern) > maxPatternLen {
		return nil, errorf("filter pattern is longer than 1024 characters")
	}
	p := &Pattern{src: pattern, ellipsis: -1}
	s := strings.TrimSpace(pattern)
	var err *Error
	switch {
	case s == "":
		p.kind = kindAll
	case s[0] == '{':
		p.kind = kindJSON
		err = p.parseJSON(s)
	case s[0] == '[':
		p.kind = kindDelimited
		err = p.parseDelimited(s)
	case s[0] == '%' && len(s) > 1 && s[len(s)-1] == '%':
		p.kind = kindRegex
		p.re, err = compileRegex(s[1 : len(s)-1])
	default:
		p.kind = kindTerms
		err = p.parseTerms(s)
	}
	if err != nil {
		return nil, err
	}
	p.lits, p.litsJSON = p.literals()
	return p, nil
}

// String returns the pattern as written.
func (p *Pattern) String() string { return p.src }

// Match reports whether a log event message matches the pattern.
func (p *Pattern) Match(message string) bool {
	switch p.kind {
	case kindAll:
		return true
	case kindTerms:
		return p.matchTerms(message)
	case kindJSON:
		return p.matchJSON(message)
	case kindDelimited:
		return p.matchDelimited(message)
	case kindRegex:
		return p.re.MatchString(message)
	}
	return false
}

// Field returns the value that a metric filter's metricValue (or a dimension) selects
// from a message: `$.a.b` from a JSON message, or `$name` (a field named in a
// space-delimited pattern). Strings come back without quotes, numbers as written.
// It reports false when the message has no such value.
func (p *Pattern) Field(message, selector string) (string, bool) {
	selector = strings.TrimSpace(selector)
	if strings.HasPrefix(selector, "$.") || strings.HasPrefix(selector, "$[") {
		return jsonField(message, selector)
	}
	if p.kind != kindDelimited {
		return "", false
	}
	name := strings.TrimPrefix(selector, "$")
	vals, ok := p.bind(message)
	if !ok {
		return "", false
	}
	for i, f := range p.fields {
		if f.name == name {
			return vals[i], true
		}
	}
	return "", false
}

// compileRegex compiles the inside of a %regex% after checking it uses only the
// characters CloudWatch Logs accepts (no parentheses, ASCII only).
func compileRegex(body string) (*regexp.Regexp, *Error) {
	if body == "" {
		return nil, errorf("empty regular expression %%%%")
	}
	for i := 0; i < len(body); i++ {
		c := body[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte(":_#=@/;,-^$?[]{}|\\*+.", c) >= 0:
		default:
			return nil, errorf("invalid character '" + string(rune(c)) + "' in regular expression %" + body + "%")
		}
	}
	re, err := regexp.Compile(body)
	if err != nil {
		return nil, errorf("invalid regular expression %" + body + "%: " + err.Error())
	}
	return re, nil
}
