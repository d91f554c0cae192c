package pattern

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// pnode is a node of the trie of field paths that some pattern tests. The
// scanner follows it while reading an event, and skips every member whose
// path no pattern mentions without decoding it.
type pnode struct {
	slots []pslot // open addressing by nameHash; a power of two long, at most half full
	n     int     // children
	path  int     // index of the path ending here, or -1
}

// pslot is one child of a pnode: the scanner hashes member names while it
// looks for their closing quote, so finding a child costs one probe and,
// when the hash agrees, one comparison.
type pslot struct {
	hash  uint32
	name  string
	child *pnode
}

func newPnode() *pnode { return &pnode{path: -1} }

// FNV-1a, computed byte by byte as the scanner reads a member name.
const (
	fnvOffset uint32 = 2166136261
	fnvPrime  uint32 = 16777619
)

func nameHash(s string) uint32 {
	h := fnvOffset
	for i := 0; i < len(s); i++ {
		h = (h ^ uint32(s[i])) * fnvPrime
	}
	return h
}

// child returns the child for member name (h its nameHash), or nil.
func (n *pnode) child(name string, h uint32) *pnode {
	if n == nil || n.slots == nil {
		return nil
	}
	mask := uint32(len(n.slots) - 1)
	for i := (h ^ h>>16) & mask; ; i = (i + 1) & mask {
		s := &n.slots[i]
		if s.child == nil {
			return nil
		}
		if s.hash == h && s.name == name {
			return s.child
		}
	}
}

// childOrNew returns the child for name, adding it if new.
func (n *pnode) childOrNew(name string) *pnode {
	h := nameHash(name)
	if c := n.child(name, h); c != nil {
		return c
	}
	if 2*(n.n+1) > len(n.slots) {
		old := n.slots
		n.slots = make([]pslot, max(4, 2*len(old)))
		for _, s := range old {
			if s.child != nil {
				n.insert(s)
			}
		}
	}
	c := newPnode()
	n.insert(pslot{hash: h, name: name, child: c})
	n.n++
	return c
}

func (n *pnode) insert(s pslot) {
	mask := uint32(len(n.slots) - 1)
	i := (s.hash ^ s.hash>>16) & mask
	for n.slots[i].child != nil {
		i = (i + 1) & mask
	}
	n.slots[i] = s
}

// leaf is one event value at an indexed path. trail (an index range of the
// scanner's trails) lists the array elements whose objects enclose it.
type leaf struct {
	path   int
	v      value
	t0, t1 int32
}

// arrPos is an element of an array of the event: arrays are numbered in the
// order they start.
type arrPos struct {
	arr, idx int32
}

// consistent reports whether two trails can belong to one match: AWS refuses
// matches where two fields are within objects in different elements of the
// same array.
func consistent(a, b []arrPos) bool {
	for _, x := range a {
		for _, y := range b {
			if x.arr == y.arr && x.idx != y.idx {
				return false
			}
		}
	}
	return true
}

// assignable reports whether one candidate trail can be chosen from each
// list so that all chosen trails are consistent with one another.
func assignable(cands [][][]arrPos) bool {
	chosen := make([][]arrPos, 0, len(cands))
	var try func(i int) bool
	try = func(i int) bool {
		if i == len(cands) {
			return true
		}
	next:
		for _, t := range cands[i] {
			for _, c := range chosen {
				if !consistent(t, c) {
					continue next
				}
			}
			chosen = append(chosen, t)
			if try(i + 1) {
				return true
			}
			chosen = chosen[:len(chosen)-1]
		}
		return false
	}
	return try(0)
}

// scanner reads an event's JSON text once, emitting the leaves at indexed
// paths. Strings without escapes are slices of the text, so reading costs
// one copy of the event.
type scanner struct {
	s      string
	i      int
	out    []leaf
	trails []arrPos
	stack  []arrPos // the array elements being read
	mark   int      // stack entries that enclose the innermost object
	arrays int32
}

func (sc *scanner) emit(path int, v value) {
	l := leaf{path: path, v: v}
	if sc.mark > 0 {
		l.t0 = int32(len(sc.trails))
		sc.trails = append(sc.trails, sc.stack[:sc.mark]...)
		l.t1 = int32(len(sc.trails))
	}
	sc.out = append(sc.out, l)
}

var errTruncated = errors.New("unexpected end of input")

func (sc *scanner) fail(what string) error {
	if sc.i >= len(sc.s) {
		return fmt.Errorf("pattern: event is not valid JSON: %w", errTruncated)
	}
	return fmt.Errorf("pattern: event is not valid JSON: %s at offset %d", what, sc.i)
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

// event reads a whole event, which must be a JSON object.
func (sc *scanner) event(root *pnode) error {
	sc.ws()
	if sc.i >= len(sc.s) || sc.s[sc.i] != '{' {
		return errors.New("pattern: event is not a JSON object")
	}
	if err := sc.value(root); err != nil {
		return err
	}
	sc.ws()
	if sc.i != len(sc.s) {
		return sc.fail("unexpected data after the object")
	}
	return nil
}

// value reads one value at the path of n; n is nil for paths no pattern tests.
func (sc *scanner) value(n *pnode) error {
	sc.ws()
	if sc.i >= len(sc.s) {
		return sc.fail("")
	}
	switch c := sc.s[sc.i]; c {
	case '{':
		sc.i++
		sc.ws()
		if sc.i < len(sc.s) && sc.s[sc.i] == '}' {
			sc.i++
			return nil
		}
		saved := sc.mark
		sc.mark = len(sc.stack)
		for {
			sc.ws()
			if sc.i >= len(sc.s) || sc.s[sc.i] != '"' {
				return sc.fail("expected a member name")
			}
			key, h, err := sc.name()
			if err != nil {
				return err
			}
			sc.ws()
			if sc.i >= len(sc.s) || sc.s[sc.i] != ':' {
				return sc.fail("expected ':'")
			}
			sc.i++
			if child := n.child(key, h); child != nil {
				err = sc.value(child)
			} else {
				err = sc.skip()
			}
			if err != nil {
				return err
			}
			sc.ws()
			if sc.i >= len(sc.s) {
				return sc.fail("")
			}
			switch sc.s[sc.i] {
			case ',':
				sc.i++
			case '}':
				sc.i++
				sc.mark = saved
				return nil
			default:
				return sc.fail("expected ',' or '}'")
			}
		}
	case '[':
		sc.i++
		sc.ws()
		if sc.i < len(sc.s) && sc.s[sc.i] == ']' {
			sc.i++
			return nil
		}
		arr := sc.arrays
		sc.arrays++
		for idx := int32(0); ; idx++ {
			sc.stack = append(sc.stack, arrPos{arr: arr, idx: idx})
			err := sc.value(n)
			sc.stack = sc.stack[:len(sc.stack)-1]
			if err != nil {
				return err
			}
			sc.ws()
			if sc.i >= len(sc.s) {
				return sc.fail("")
			}
			switch sc.s[sc.i] {
			case ',':
				sc.i++
			case ']':
				sc.i++
				return nil
			default:
				return sc.fail("expected ',' or ']'")
			}
		}
	case '"':
		s, err := sc.str()
		if err != nil {
			return err
		}
		if n != nil && n.path >= 0 {
			sc.emit(n.path, value{kind: vString, text: s})
		}
		return nil
	case 't', 'f', 'n':
		for _, lit := range [...]string{"true", "false", "null"} {
			if strings.HasPrefix(sc.s[sc.i:], lit) {
				sc.i += len(lit)
				if n != nil && n.path >= 0 {
					sc.emit(n.path, value{kind: vLiteral, text: lit})
				}
				return nil
			}
		}
		return sc.fail("invalid literal")
	default:
		start := sc.i
		for sc.i < len(sc.s) {
			c := sc.s[sc.i]
			if (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E' {
				sc.i++
				continue
			}
			break
		}
		if sc.i == start {
			return sc.fail("unexpected character")
		}
		if n != nil && n.path >= 0 {
			sc.emit(n.path, value{kind: vNumber, text: sc.s[start:sc.i]})
		}
		return nil
	}
}

// skip passes over one value that no pattern looks at, checking only that
// its brackets balance.
func (sc *scanner) skip() error {
	sc.ws()
	if sc.i >= len(sc.s) {
		return sc.fail("")
	}
	switch sc.s[sc.i] {
	case '{', '[':
		depth := 0
		for sc.i < len(sc.s) {
			switch sc.s[sc.i] {
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					sc.i++
					return nil
				}
			case '"':
				if err := sc.skipStr(); err != nil {
					return err
				}
				continue
			}
			sc.i++
		}
		return sc.fail("")
	case '"':
		return sc.skipStr()
	default:
		start := sc.i
		for sc.i < len(sc.s) {
			switch sc.s[sc.i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				if sc.i == start {
					return sc.fail("unexpected character")
				}
				return nil
			}
			sc.i++
		}
		return nil
	}
}

// skipStr passes over a string; sc.i is at its opening quote. A quote
// ends the string unless an odd run of backslashes precedes it, so one
// IndexByte pass finds the end of almost every string.
func (sc *scanner) skipStr() error {
	sc.i++
	for {
		q := strings.IndexByte(sc.s[sc.i:], '"')
		if q < 0 {
			sc.i = len(sc.s)
			return sc.fail("")
		}
		j := sc.i + q
		sc.i = j + 1
		k := j - 1 // the opening quote stops the run
		for sc.s[k] == '\\' {
			k--
		}
		if (j-1-k)%2 == 0 {
			return nil
		}
	}
}

// name reads a member name, hashing it (nameHash) as it looks for the
// closing quote; sc.i is at its opening quote.
func (sc *scanner) name() (string, uint32, error) {
	start := sc.i + 1
	h := fnvOffset
	for j := start; j < len(sc.s); j++ {
		c := sc.s[j]
		if c == '"' {
			sc.i = j + 1
			return sc.s[start:j], h, nil
		}
		if c == '\\' {
			s, err := sc.str()
			return s, nameHash(s), err
		}
		h = (h ^ uint32(c)) * fnvPrime
	}
	sc.i = len(sc.s)
	return "", 0, sc.fail("")
}

// str reads a string; sc.i is at its opening quote.
func (sc *scanner) str() (string, error) {
	start := sc.i + 1
	if q := strings.IndexByte(sc.s[start:], '"'); q >= 0 && strings.IndexByte(sc.s[start:start+q], '\\') < 0 {
		sc.i = start + q + 1
		return sc.s[start : start+q], nil
	}
	escaped := false
	for j := start; j < len(sc.s); j++ {
		switch sc.s[j] {
		case '\\':
			escaped = true
			j++
		case '"':
			sc.i = j + 1
			if !escaped {
				return sc.s[start:j], nil
			}
			var out string
			if err := json.Unmarshal([]byte(sc.s[start-1:j+1]), &out); err != nil {
				return "", fmt.Errorf("pattern: event is not valid JSON: %w", err)
			}
			return out, nil
		}
	}
	sc.i = len(sc.s)
	return "", sc.fail("")
}
