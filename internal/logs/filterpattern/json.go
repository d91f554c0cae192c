package filterpattern

import (
	"encoding/json"
	"strconv"
	"strings"
	"sync"
)

// JSON patterns: `{ $.a.b[0] = "x" && ($.c > 1 || $.d IS NULL) }`. A message is scanned
// once per event by a small scanner that follows only the paths the pattern selects and
// skips everything else without decoding it.

// step is one element of a selector: a member name, an array index, or `[*]`.
type step struct {
	name  string
	index int // -1: member name; -2: [*]
}

// parseSelector parses `$.a.b[0][*].c`.
func parseSelector(s string) ([]step, *Error) {
	if len(s) < 2 || s[0] != '$' || (s[1] != '.' && s[1] != '[') {
		return nil, errorf("invalid selector '" + s + "': a JSON selector starts with $. or $[")
	}
	var steps []step
	i := 1
	for i < len(s) {
		switch s[i] {
		case '.':
			if i+1 < len(s) && s[i+1] == '[' {
				i++ // $.['name with.dots']
				continue
			}
			j := i + 1
			for j < len(s) && s[j] != '.' && s[j] != '[' {
				j++
			}
			if j == i+1 {
				return nil, errorf("invalid selector '" + s + "': empty member name")
			}
			steps = append(steps, step{name: s[i+1 : j], index: -1})
			i = j
		case '[':
			end := strings.IndexByte(s[i:], ']')
			if end < 0 {
				return nil, errorf("invalid selector '" + s + "': missing ']'")
			}
			in := s[i+1 : i+end]
			switch {
			case in == "*":
				steps = append(steps, step{index: -2})
			case len(in) > 1 && (in[0] == '\'' || in[0] == '"') && in[len(in)-1] == in[0]:
				steps = append(steps, step{name: in[1 : len(in)-1], index: -1})
			default:
				n, err := strconv.Atoi(in)
				if err != nil || n < 0 {
					return nil, errorf("invalid selector '" + s + "': array index must be a number or *")
				}
				steps = append(steps, step{index: n})
			}
			i += end + 1
		default:
			return nil, errorf("invalid selector '" + s + "'")
		}
	}
	return steps, nil
}

// pnode is a node of the trie of every selected path.
type pnode struct {
	keys   []pkey
	idx    []pidx
	any    *pnode
	leaves []int // selector ids that end here
}

type pkey struct {
	name  string
	child *pnode
}

type pidx struct {
	i     int
	child *pnode
}

func (n *pnode) key(name string) *pnode {
	for i := range n.keys {
		if n.keys[i].name == name {
			return n.keys[i].child
		}
	}
	return nil
}

func (n *pnode) index(i int) *pnode {
	for k := range n.idx {
		if n.idx[k].i == i {
			return n.idx[k].child
		}
	}
	return n.any
}

// pathSet is the selectors of one pattern, deduplicated, with their trie.
type pathSet struct {
	ids  map[string]int
	root *pnode
	pool sync.Pool
}

func newPathSet() *pathSet { return &pathSet{ids: map[string]int{}, root: &pnode{}} }

func (ps *pathSet) add(sel string) (int, *Error) {
	if id, ok := ps.ids[sel]; ok {
		return id, nil
	}
	steps, err := parseSelector(sel)
	if err != nil {
		return 0, err
	}
	id := len(ps.ids)
	ps.ids[sel] = id
	n := ps.root
	for _, st := range steps {
		n = n.child(st)
	}
	n.leaves = append(n.leaves, id)
	return id, nil
}

func (n *pnode) child(st step) *pnode {
	switch st.index {
	case -1:
		if c := n.key(st.name); c != nil {
			return c
		}
		c := &pnode{}
		n.keys = append(n.keys, pkey{st.name, c})
		return c
	case -2:
		if n.any == nil {
			n.any = &pnode{}
		}
		return n.any
	}
	for k := range n.idx {
		if n.idx[k].i == st.index {
			return n.idx[k].child
		}
	}
	c := &pnode{}
	n.idx = append(n.idx, pidx{st.index, c})
	return c
}

// finish folds each `[*]` subtree into the explicit indexes beside it, so that an array
// element follows one node during the scan.
func (n *pnode) finish() {
	for k := range n.keys {
		n.keys[k].child.finish()
	}
	if n.any != nil {
		n.any.finish()
		for k := range n.idx {
			n.idx[k].child = merge(n.idx[k].child, n.any)
		}
	}
	for k := range n.idx {
		n.idx[k].child.finish()
	}
}

// merge returns a new node that selects what a and b select.
func merge(a, b *pnode) *pnode {
	if a == nil {
		return b
	}
	if b == nil {
		return a
	}
	m := &pnode{leaves: append(append([]int{}, a.leaves...), b.leaves...)}
	for _, k := range a.keys {
		m.keys = append(m.keys, pkey{k.name, merge(k.child, b.key(k.name))})
	}
	for _, k := range b.keys {
		if a.key(k.name) == nil {
			m.keys = append(m.keys, k)
		}
	}
	for _, x := range a.idx {
		var bc *pnode
		for _, y := range b.idx {
			if y.i == x.i {
				bc = y.child
			}
		}
		m.idx = append(m.idx, pidx{x.i, merge(x.child, bc)})
	}
	for _, y := range b.idx {
		found := false
		for _, x := range a.idx {
			found = found || x.i == y.i
		}
		if !found {
			m.idx = append(m.idx, y)
		}
	}
	m.any = merge(a.any, b.any)
	return m
}

func (p *Pattern) parseJSON(s string) *Error {
	if s[len(s)-1] != '}' {
		return errorf("a JSON filter pattern must end with '}'")
	}
	toks, err := lex(s[1 : len(s)-1])
	if err != nil {
		return err
	}
	if len(toks) == 0 {
		return errorf("empty JSON filter pattern {}")
	}
	p.paths = newPathSet()
	ps := &parser{toks: toks, selector: p.paths.add}
	p.expr, err = ps.parseOr()
	if err != nil {
		return err
	}
	if t := ps.peek(); t.typ != tEOF {
		return errorf("unexpected " + describe(t) + " in JSON filter pattern")
	}
	p.paths.root.finish()
	n := len(p.paths.ids)
	p.paths.pool.New = func() any { v := make([][]jval, n); return &v }
	return nil
}

func (p *Pattern) matchJSON(msg string) bool {
	vp := p.paths.pool.Get().(*[][]jval)
	vals := *vp
	for i := range vals {
		vals[i] = vals[i][:0]
	}
	ok := scanJSON(msg, p.paths.root, vals)
	if ok {
		ok = p.expr.eval(env(vals))
	}
	p.paths.pool.Put(vp)
	return ok
}

// jsonField returns the first value selector finds in a JSON message.
func jsonField(msg, selector string) (string, bool) {
	ps := newPathSet()
	if _, err := ps.add(selector); err != nil {
		return "", false
	}
	ps.root.finish()
	vals := make([][]jval, 1)
	if !scanJSON(msg, ps.root, vals) || len(vals[0]) == 0 {
		return "", false
	}
	return vals[0][0].s, true
}

// scanJSON scans one JSON document, appending to vals[id] every value that selector id
// selects. It reports false when msg is not JSON.
func scanJSON(msg string, root *pnode, vals [][]jval) bool {
	sc := scanner{s: msg, vals: vals}
	sc.ws()
	if sc.i >= len(sc.s) || (sc.s[sc.i] != '{' && sc.s[sc.i] != '[') {
		return false
	}
	if !sc.value(root) {
		return false
	}
	sc.ws()
	return sc.i == len(sc.s)
}

type scanner struct {
	s    string
	i    int
	vals [][]jval
}

func (sc *scanner) ws() {
	for sc.i < len(sc.s) {
		switch sc.s[sc.i] {
		case ' ', '\t', '\n', '\r':
			sc.i++
		default:
			return
		}
	}
}

func (sc *scanner) record(n *pnode, v jval) {
	for _, id := range n.leaves {
		sc.vals[id] = append(sc.vals[id], v)
	}
}

// value scans one value at sc.i; n is the trie node of its path, nil when nothing
// below it is selected.
func (sc *scanner) value(n *pnode) bool {
	sc.ws()
	if sc.i >= len(sc.s) {
		return false
	}
	start := sc.i
	switch c := sc.s[sc.i]; {
	case c == '{' || c == '[':
		// A container is walked only when the pattern selects inside it, else skipped; it is
		// recorded whole when the pattern compares it.
		var ok bool
		switch {
		case c == '{' && n != nil && len(n.keys) > 0:
			ok = sc.object(n)
		case c == '[' && n != nil && (len(n.idx) > 0 || n.any != nil):
			ok = sc.array(n)
		default:
			ok = sc.skipContainer()
		}
		if !ok {
			return false
		}
		if n != nil && len(n.leaves) > 0 {
			kind := byte('o')
			if c == '[' {
				kind = 'a'
			}
			sc.record(n, jval{kind, sc.s[start:sc.i]})
		}
		return true
	case c == '"':
		raw, esc, ok := sc.str()
		if !ok {
			return false
		}
		if n != nil && len(n.leaves) > 0 {
			if esc {
				raw = decodeString(sc.s[start:sc.i])
			}
			sc.record(n, jval{'s', raw})
		}
		return true
	case c == '-' || (c >= '0' && c <= '9'):
		sc.i++
		for sc.i < len(sc.s) {
			d := sc.s[sc.i]
			if d >= '0' && d <= '9' || d == '.' || d == 'e' || d == 'E' || d == '+' || d == '-' {
				sc.i++
				continue
			}
			break
		}
		if n != nil && len(n.leaves) > 0 {
			sc.record(n, jval{'n', sc.s[start:sc.i]})
		}
		return true
	case c == 't':
		return sc.literal("true", 't', n)
	case c == 'f':
		return sc.literal("false", 'f', n)
	case c == 'n':
		return sc.literal("null", 'z', n)
	}
	return false
}

func (sc *scanner) literal(word string, kind byte, n *pnode) bool {
	if !strings.HasPrefix(sc.s[sc.i:], word) {
		return false
	}
	sc.i += len(word)
	if n != nil && len(n.leaves) > 0 {
		sc.record(n, jval{kind, word})
	}
	return true
}

// str scans a string at sc.i and returns its raw contents and whether it holds escapes.
func (sc *scanner) str() (string, bool, bool) {
	start := sc.i + 1
	end, esc := stringEnd(sc.s, start)
	if end < 0 {
		return "", false, false
	}
	sc.i = end + 1
	return sc.s[start:end], esc, true
}

// stringEnd returns the index of the quote that ends the string whose contents start at
// s[i], and whether the string holds escapes; -1 when it does not end.
func stringEnd(s string, i int) (int, bool) {
	// Most strings in log records are short: a plain loop beats IndexByte's call.
	j := i
	for n := min(len(s), i+24); j < n; j++ {
		switch s[j] {
		case '"':
			return j, false
		case '\\':
			return stringEndSlow(s, j)
		}
	}
	k := strings.IndexByte(s[j:], '"')
	if k < 0 {
		return -1, false
	}
	if strings.IndexByte(s[j:j+k], '\\') < 0 {
		return j + k, false
	}
	return stringEndSlow(s, j)
}

// stringEndSlow finds the end of a string that holds escapes, from s[j] on.
func stringEndSlow(s string, j int) (int, bool) {
	for ; j < len(s); j++ {
		switch s[j] {
		case '\\':
			j++
		case '"':
			return j, true
		}
	}
	return -1, true
}

func decodeString(quoted string) string {
	var s string
	if err := json.Unmarshal([]byte(quoted), &s); err != nil {
		return quoted[1 : len(quoted)-1]
	}
	return s
}

func (sc *scanner) object(n *pnode) bool {
	sc.i++ // {
	sc.ws()
	if sc.i < len(sc.s) && sc.s[sc.i] == '}' {
		sc.i++
		return true
	}
	for {
		sc.ws()
		if sc.i >= len(sc.s) || sc.s[sc.i] != '"' {
			return false
		}
		kstart := sc.i
		key, esc, ok := sc.str()
		if !ok {
			return false
		}
		if esc {
			key = decodeString(sc.s[kstart:sc.i])
		}
		sc.ws()
		if sc.i >= len(sc.s) || sc.s[sc.i] != ':' {
			return false
		}
		sc.i++
		if !sc.value(n.key(key)) {
			return false
		}
		sc.ws()
		if sc.i >= len(sc.s) {
			return false
		}
		switch sc.s[sc.i] {
		case ',':
			sc.i++
		case '}':
			sc.i++
			return true
		default:
			return false
		}
	}
}

func (sc *scanner) array(n *pnode) bool {
	sc.i++ // [
	sc.ws()
	if sc.i < len(sc.s) && sc.s[sc.i] == ']' {
		sc.i++
		return true
	}
	for k := 0; ; k++ {
		if !sc.value(n.index(k)) {
			return false
		}
		sc.ws()
		if sc.i >= len(sc.s) {
			return false
		}
		switch sc.s[sc.i] {
		case ',':
			sc.i++
		case ']':
			sc.i++
			return true
		default:
			return false
		}
	}
}

// skipContainer skips an object or array that nothing is selected in, checking only
// that brackets balance and strings end.
func (sc *scanner) skipContainer() bool {
	depth := 0
	s := sc.s
	for i := sc.i; i < len(s); i++ {
		switch s[i] {
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				sc.i = i + 1
				return true
			}
		case '"':
			end, _ := stringEnd(s, i+1)
			if end < 0 {
				return false
			}
			i = end
		}
	}
	return false
}
