package filterpattern

import (
	"strings"
)

// Space-delimited patterns: `[ip, user, ..., status_code = 4* || status_code = 5*, bytes > 1000]`.
// A message splits into fields at spaces; text in double quotes or square brackets is one
// field. Each pattern entry names a field and may hold a condition on the named fields;
// `...` stands for any number of fields.

type delimField struct {
	name string // "" for `...`
}

func (p *Pattern) parseDelimited(s string) *Error {
	if s[len(s)-1] != ']' {
		return errorf("a space-delimited filter pattern must end with ']'")
	}
	toks, err := lex(s[1 : len(s)-1])
	if err != nil {
		return err
	}
	if len(toks) == 0 {
		return errorf("empty space-delimited filter pattern []")
	}
	// Split at top-level commas into entries.
	var entries [][]token
	depth, start := 0, 0
	for i, t := range toks {
		switch t.typ {
		case tLParen:
			depth++
		case tRParen:
			depth--
		case tComma:
			if depth == 0 {
				entries = append(entries, toks[start:i])
				start = i + 1
			}
		}
	}
	entries = append(entries, toks[start:])

	names := map[string]bool{}
	var conds []node
	var cmps []*cmpNode
	var refs []string
	nregex := 0
	for _, e := range entries {
		if len(e) == 0 {
			return errorf("empty field in space-delimited filter pattern")
		}
		if len(e) == 1 && e[0].typ == tWord {
			name := e[0].text
			if name == "..." {
				if p.ellipsis >= 0 {
					return errorf("a space-delimited filter pattern may hold one '...'")
				}
				p.ellipsis = len(p.fields)
				p.fields = append(p.fields, delimField{})
				continue
			}
			if err := addName(names, name); err != nil {
				return err
			}
			p.fields = append(p.fields, delimField{name: name})
			continue
		}
		ps := &parser{toks: e, isDelimited: true, nregex: nregex, selector: func(name string) (int, *Error) {
			refs = append(refs, name)
			return len(refs) - 1, nil
		}}
		n, err := ps.parseOr()
		if err != nil {
			return err
		}
		if t := ps.peek(); t.typ != tEOF {
			return errorf("unexpected " + describe(t) + " in space-delimited filter pattern")
		}
		nregex = ps.nregex
		if err := addName(names, ps.first); err != nil {
			return err
		}
		p.fields = append(p.fields, delimField{name: ps.first})
		conds = append(conds, n)
		cmps = collect(n, cmps)
	}
	// Resolve each selector to the position of the field it names.
	pos := map[string]int{}
	for i, f := range p.fields {
		if f.name != "" {
			pos[f.name] = i
		}
	}
	resolved := make([]int, len(refs))
	for i, r := range refs {
		k, ok := pos[r]
		if !ok {
			return errorf("condition on '" + r + "', which is not a field of the pattern")
		}
		resolved[i] = k
	}
	for _, c := range cmps {
		c.sel = resolved[c.sel]
	}
	for _, c := range conds {
		if p.fieldCond == nil {
			p.fieldCond = c
		} else {
			p.fieldCond = &andNode{p.fieldCond, c}
		}
	}
	return nil
}

func addName(names map[string]bool, name string) *Error {
	if name == "..." {
		return errorf("'...' cannot hold a condition")
	}
	for i := 0; i < len(name); i++ {
		if !isWord(name[i]) && name[i] != '-' && name[i] != '.' && name[i] != '$' {
			return errorf("invalid field name '" + name + "' in space-delimited filter pattern")
		}
	}
	if names[name] {
		return errorf("field '" + name + "' is named twice in space-delimited filter pattern")
	}
	names[name] = true
	return nil
}

// collect gathers the comparisons of a condition tree.
func collect(n node, out []*cmpNode) []*cmpNode {
	switch n := n.(type) {
	case *andNode:
		return collect(n.r, collect(n.l, out))
	case *orNode:
		return collect(n.r, collect(n.l, out))
	case *cmpNode:
		return append(out, n)
	}
	return out
}

// splitFields splits a message into space-delimited fields; a field that starts with
// '"' runs to the next '"', one that starts with '[' to the next ']', and those
// enclosing characters are not part of its value.
func splitFields(msg string) []string {
	var out []string
	i := 0
	for i < len(msg) {
		c := msg[i]
		if isSpace(c) {
			i++
			continue
		}
		var closer byte
		switch c {
		case '"':
			closer = '"'
		case '[':
			closer = ']'
		}
		if closer != 0 {
			if end := strings.IndexByte(msg[i+1:], closer); end >= 0 {
				out = append(out, msg[i+1:i+1+end])
				i += end + 2
				continue
			}
		}
		start := i
		for i < len(msg) && !isSpace(msg[i]) {
			i++
		}
		out = append(out, msg[start:i])
	}
	return out
}

// bind assigns the message's fields to the pattern's fields: values[i] is the text of
// p.fields[i] ("" for the `...`). It reports false when the field counts do not fit.
func (p *Pattern) bind(msg string) ([]string, bool) {
	words := splitFields(msg)
	vals := make([]string, len(p.fields))
	if p.ellipsis < 0 {
		if len(words) != len(p.fields) {
			return nil, false
		}
		copy(vals, words)
		return vals, true
	}
	fixed := len(p.fields) - 1
	if len(words) < fixed {
		return nil, false
	}
	copy(vals, words[:p.ellipsis])
	after := len(p.fields) - p.ellipsis - 1
	copy(vals[p.ellipsis+1:], words[len(words)-after:])
	return vals, true
}

func (p *Pattern) matchDelimited(msg string) bool {
	vals, ok := p.bind(msg)
	if !ok {
		return false
	}
	if p.fieldCond == nil {
		return true
	}
	e := make(env, len(vals))
	backing := make([]jval, len(vals))
	for i, v := range vals {
		backing[i] = jval{'w', v}
		e[i] = backing[i : i+1]
	}
	return p.fieldCond.eval(e)
}
