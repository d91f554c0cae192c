package alarm

import (
	"fmt"
	"strings"
	"unicode"
)

// This file is the AlarmRule language of composite alarms:
//
//	rule    = or
//	or      = and { "OR" and }
//	and     = not { "AND" not }
//	not     = "NOT" not | primary
//	primary = "(" rule ")" | "TRUE" | "FALSE" | state "(" alarm ")"
//	state   = "ALARM" | "OK" | "INSUFFICIENT_DATA"
//	alarm   = a quoted or bare alarm name or ARN

// Rule is a parsed AlarmRule.
type Rule struct {
	op       string // "AND", "OR", "NOT", "STATE", "CONST"
	args     []*Rule
	state    string // for STATE: ALARM, OK or INSUFFICIENT_DATA
	alarm    string // for STATE: the name or ARN as written
	constant bool   // for CONST
}

// ParseRule parses an AlarmRule expression.
func ParseRule(src string) (*Rule, error) {
	p := &ruleParser{src: src}
	r, err := p.or()
	if err != nil {
		return nil, err
	}
	if tok := p.next(); tok != "" {
		return nil, fmt.Errorf("unexpected %q at position %d", tok, p.pos-len(tok)+1)
	}
	return r, nil
}

type ruleParser struct {
	src string
	pos int
}

// next returns the next token: a parenthesis, a quoted string (with its quotes), or a
// word (letters, digits and the characters of names and ARNs); "" at the end.
func (p *ruleParser) next() string {
	for p.pos < len(p.src) && unicode.IsSpace(rune(p.src[p.pos])) {
		p.pos++
	}
	if p.pos >= len(p.src) {
		return ""
	}
	start := p.pos
	switch c := p.src[p.pos]; c {
	case '(', ')':
		p.pos++
	case '"', '\'':
		p.pos++
		for p.pos < len(p.src) && p.src[p.pos] != c {
			if p.src[p.pos] == '\\' {
				p.pos++
			}
			p.pos++
		}
		p.pos = min(p.pos+1, len(p.src))
	default:
		for p.pos < len(p.src) && !unicode.IsSpace(rune(p.src[p.pos])) && p.src[p.pos] != '(' && p.src[p.pos] != ')' {
			p.pos++
		}
	}
	return p.src[start:p.pos]
}

func (p *ruleParser) peek() string {
	save := p.pos
	t := p.next()
	p.pos = save
	return t
}

func (p *ruleParser) or() (*Rule, error) {
	l, err := p.and()
	if err != nil {
		return nil, err
	}
	for p.peek() == "OR" {
		p.next()
		r, err := p.and()
		if err != nil {
			return nil, err
		}
		l = &Rule{op: "OR", args: []*Rule{l, r}}
	}
	return l, nil
}

func (p *ruleParser) and() (*Rule, error) {
	l, err := p.not()
	if err != nil {
		return nil, err
	}
	for p.peek() == "AND" {
		p.next()
		r, err := p.not()
		if err != nil {
			return nil, err
		}
		l = &Rule{op: "AND", args: []*Rule{l, r}}
	}
	return l, nil
}

func (p *ruleParser) not() (*Rule, error) {
	if p.peek() == "NOT" {
		p.next()
		x, err := p.not()
		if err != nil {
			return nil, err
		}
		return &Rule{op: "NOT", args: []*Rule{x}}, nil
	}
	return p.primary()
}

func (p *ruleParser) primary() (*Rule, error) {
	at := p.pos
	tok := p.next()
	switch tok {
	case "":
		return nil, fmt.Errorf("unexpected end of expression")
	case "(":
		r, err := p.or()
		if err != nil {
			return nil, err
		}
		if t := p.next(); t != ")" {
			return nil, fmt.Errorf("expected ')' at position %d", p.pos)
		}
		return r, nil
	case "TRUE", "FALSE":
		return &Rule{op: "CONST", constant: tok == "TRUE"}, nil
	case "ALARM", "OK", "INSUFFICIENT_DATA":
		if p.next() != "(" {
			return nil, fmt.Errorf("expected '(' after %s at position %d", tok, p.pos)
		}
		name := p.next()
		if name == "" || name == "(" || name == ")" {
			return nil, fmt.Errorf("expected an alarm name or ARN in %s() at position %d", tok, p.pos)
		}
		if name[0] == '"' || name[0] == '\'' {
			if len(name) < 2 || name[len(name)-1] != name[0] {
				return nil, fmt.Errorf("unterminated quoted alarm name at position %d", at+1)
			}
			name = strings.ReplaceAll(name[1:len(name)-1], `\`+string(name[0]), string(name[0]))
		}
		if name == "" {
			return nil, fmt.Errorf("empty alarm name in %s()", tok)
		}
		if p.next() != ")" {
			return nil, fmt.Errorf("expected ')' after the alarm name at position %d", p.pos)
		}
		return &Rule{op: "STATE", state: tok, alarm: name}, nil
	}
	return nil, fmt.Errorf("unexpected %q at position %d", tok, at+1)
}

// Alarms lists the alarm names or ARNs the rule refers to, in order, without repeats.
func (r *Rule) Alarms() []string {
	var out []string
	seen := map[string]bool{}
	var walk func(*Rule)
	walk = func(r *Rule) {
		if r.op == "STATE" && !seen[r.alarm] {
			seen[r.alarm] = true
			out = append(out, r.alarm)
		}
		for _, a := range r.args {
			walk(a)
		}
	}
	walk(r)
	return out
}

// Eval evaluates the rule given each referenced alarm's state (by the name or ARN as
// written in the rule).
func (r *Rule) Eval(state func(alarm string) string) bool {
	switch r.op {
	case "AND":
		return r.args[0].Eval(state) && r.args[1].Eval(state)
	case "OR":
		return r.args[0].Eval(state) || r.args[1].Eval(state)
	case "NOT":
		return !r.args[0].Eval(state)
	case "CONST":
		return r.constant
	}
	return state(r.alarm) == r.state
}
