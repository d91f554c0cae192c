package filterpattern

import (
	"bytes"
	"strings"
)

// literals are strings of which every message the pattern matches contains at least one:
// the longest must-term of an unstructured pattern, or the values a JSON pattern's
// equalities require. None means the pattern requires no such string.
func (p *Pattern) literals() (alts []string, jsonEscapes bool) {
	switch p.kind {
	case kindTerms:
		if t := longestTerm(p.must); t != "" {
			return []string{t}, false
		}
		for _, t := range p.anyOf {
			if t.blank || t.text == "" {
				return nil, false
			}
			alts = append(alts, t.text)
		}
		return alts, false
	case kindJSON:
		if alts, ok := required(p.expr); ok {
			return alts, true
		}
	}
	return nil, false
}

func longestTerm(ts []term) string {
	best := ""
	for _, t := range ts {
		if !t.blank && len(t.text) > len(best) {
			best = t.text
		}
	}
	return best
}

// required returns strings one of which the raw text of any JSON message satisfying n
// contains, unless it spells values with \u escapes.
func required(n node) ([]string, bool) {
	switch n := n.(type) {
	case *andNode:
		l, lok := required(n.l)
		r, rok := required(n.r)
		switch {
		case lok && rok && minLen(r) > minLen(l):
			return r, true
		case lok:
			return l, true
		default:
			return r, rok
		}
	case *orNode:
		l, lok := required(n.l)
		r, rok := required(n.r)
		if !lok || !rok {
			return nil, false
		}
		return append(append([]string(nil), l...), r...), true
	case *cmpNode:
		if n.op != opEq || n.val.re != nil || n.val.isNum {
			return nil, false
		}
		s := n.val.text
		if n.val.glob != nil {
			s = ""
			for _, part := range n.val.glob {
				if len(part) > len(s) {
					s = part
				}
			}
		}
		// A value holding what JSON escapes (quote, backslash, slash, control characters)
		// may be spelled otherwise in the message.
		if s == "" || strings.ContainsAny(s, "\"\\/") || strings.IndexFunc(s, func(r rune) bool { return r < 0x20 }) >= 0 {
			return nil, false
		}
		return []string{s}, true
	}
	return nil, false
}

func minLen(ss []string) int {
	m := -1
	for _, s := range ss {
		if m < 0 || len(s) < m {
			m = len(s)
		}
	}
	return m
}

// MayMatch reports whether any message within text could match: false only when text
// contains none of the strings every match must contain. A search calls it on a whole block
// of messages to pass over the block without matching each one.
func (p *Pattern) MayMatch(text string) bool {
	if p.lits == nil {
		return true
	}
	if p.litsJSON && strings.Contains(text, `\u`) {
		return true
	}
	for _, l := range p.lits {
		if strings.Contains(text, l) {
			return true
		}
	}
	return false
}

// MayMatchBytes is MayMatch on bytes (a decompressed block), without copying them.
func (p *Pattern) MayMatchBytes(text []byte) bool {
	if p.lits == nil {
		return true
	}
	if p.litsJSON && bytes.Contains(text, []byte(`\u`)) {
		return true
	}
	for _, l := range p.lits {
		if bytes.Contains(text, []byte(l)) {
			return true
		}
	}
	return false
}
