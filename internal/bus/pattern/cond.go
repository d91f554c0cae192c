package pattern

import (
	"fmt"
	"math"
	"net/netip"
	"sort"
	"strconv"
	"strings"
)

// condKind is the kind of one condition on a field's value.
type condKind uint8

const (
	kExact condKind = iota // str is the value's key (see value.key)
	kPrefix
	kSuffix
	kPrefixCI // str lower-cased
	kSuffixCI
	kEqualsCI
	kWildcard
	kExists
	kAbsent // exists:false, holds when the path has no value
	kNumeric
	kCIDR
	kAnythingBut         // set of value keys
	kAnythingButNum      // nums
	kAnythingButPrefix   // strs
	kAnythingButSuffix   // strs
	kAnythingButWildcard // strs
	kAnythingButCI       // strs, lower-cased
)

// cond is one condition: a literal value or a match expression.
type cond struct {
	kind   condKind
	str    string
	strs   []string
	set    map[string]bool
	nums   []float64
	ops    []numOp
	prefix netip.Prefix
	key    string // canonical form, equal for equal conditions
}

type numOp struct {
	op  string
	val float64
}

// valueKind tells a JSON leaf's type.
type valueKind uint8

const (
	vString valueKind = iota
	vNumber
	vLiteral // true, false, null
)

// value is one leaf of an event: a string (unescaped), or the text of a
// number or literal.
type value struct {
	kind valueKind
	text string
}

// key is the value as exact conditions know it: strings carry a leading
// quote so that "1" and 1 differ.
func (v value) key() string {
	if v.kind == vString {
		return `"` + v.text
	}
	return v.text
}

// finish computes the canonical key of a compiled condition.
func (c *cond) finish() {
	switch c.kind {
	case kAnythingBut:
		keys := make([]string, 0, len(c.set))
		for k := range c.set {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		c.key = fmt.Sprintf("%d:%q", c.kind, keys)
	case kAnythingButNum:
		sort.Float64s(c.nums)
		c.key = fmt.Sprintf("%d:%v", c.kind, c.nums)
	case kNumeric:
		c.key = fmt.Sprintf("%d:%v", c.kind, c.ops)
	case kCIDR:
		c.key = fmt.Sprintf("%d:%s", c.kind, c.prefix)
	case kAnythingButPrefix, kAnythingButSuffix, kAnythingButWildcard, kAnythingButCI:
		s := append([]string(nil), c.strs...)
		sort.Strings(s)
		c.key = fmt.Sprintf("%d:%q", c.kind, s)
	default:
		c.key = fmt.Sprintf("%d:%s", c.kind, c.str)
	}
}

// compileCIDR parses an IPv4 or IPv6 CIDR block.
func compileCIDR(v any) (*cond, error) {
	s, ok := v.(string)
	if !ok {
		return nil, invalid("cidr match pattern must be a string")
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return nil, invalid("Nonstandard IP address: %s", s)
	}
	return &cond{kind: kCIDR, prefix: p.Masked()}, nil
}

// probe is an event value with its number and IP address parsed at most
// once, however many conditions look at them.
type probe struct {
	value
	numDone, numOK   bool
	num              float64
	addrDone, addrOK bool
	addr             netip.Addr
}

func (v *probe) number() (float64, bool) {
	if !v.numDone {
		v.numDone = true
		v.num, v.numOK = v.value.number()
	}
	return v.num, v.numOK
}

func (v *probe) address() (netip.Addr, bool) {
	if !v.addrDone {
		v.addrDone = true
		if v.kind == vString && len(v.text) <= 45 {
			a, err := netip.ParseAddr(v.text)
			v.addr, v.addrOK = a.Unmap(), err == nil
		}
	}
	return v.addr, v.addrOK
}

// matches reports whether one event value meets the condition. kAbsent is
// decided by the caller, from the absence of values.
func (c *cond) matches(v value) bool {
	return c.test(&probe{value: v})
}

func (c *cond) test(v *probe) bool {
	switch c.kind {
	case kExact:
		if c.ops != nil {
			if f, ok := v.number(); ok && f == c.ops[0].val {
				return true
			}
		}
		if v.kind == vString {
			return len(c.str) > 0 && c.str[0] == '"' && c.str[1:] == v.text
		}
		return c.str == v.text
	case kPrefix:
		return v.kind == vString && strings.HasPrefix(v.text, c.str)
	case kSuffix:
		return v.kind == vString && strings.HasSuffix(v.text, c.str)
	// Case-insensitive tests compare lower-cased text, as the index does.
	case kPrefixCI:
		return v.kind == vString && strings.HasPrefix(strings.ToLower(v.text), c.str)
	case kSuffixCI:
		return v.kind == vString && strings.HasSuffix(strings.ToLower(v.text), c.str)
	case kEqualsCI:
		return v.kind == vString && strings.ToLower(v.text) == c.str
	case kWildcard:
		return v.kind == vString && wildcardMatch(c.str, v.text)
	case kExists:
		return true
	case kAbsent:
		return false
	case kNumeric:
		f, ok := v.number()
		if !ok {
			return false
		}
		for _, o := range c.ops {
			var ok bool
			switch o.op {
			case "=":
				ok = f == o.val
			case ">":
				ok = f > o.val
			case ">=":
				ok = f >= o.val
			case "<":
				ok = f < o.val
			case "<=":
				ok = f <= o.val
			}
			if !ok {
				return false
			}
		}
		return true
	case kCIDR:
		a, ok := v.address()
		return ok && c.prefix.Contains(a)
	case kAnythingBut:
		return !c.set[v.key()]
	case kAnythingButNum:
		f, ok := v.number()
		if !ok {
			return false
		}
		for _, n := range c.nums {
			if n == f {
				return false
			}
		}
		return true
	case kAnythingButPrefix, kAnythingButSuffix, kAnythingButWildcard, kAnythingButCI:
		if v.kind != vString {
			return false
		}
		for _, s := range c.strs {
			var hit bool
			switch c.kind {
			case kAnythingButPrefix:
				hit = strings.HasPrefix(v.text, s)
			case kAnythingButSuffix:
				hit = strings.HasSuffix(v.text, s)
			case kAnythingButWildcard:
				hit = wildcardMatch(s, v.text)
			case kAnythingButCI:
				hit = strings.ToLower(v.text) == s
			}
			if hit {
				return false
			}
		}
		return true
	}
	return false
}

// number parses a number value.
func (v value) number() (float64, bool) {
	if v.kind != vNumber {
		return 0, false
	}
	// Like AWS's rule engine, numbers beyond the range of numeric filters
	// are not compared as numbers (only their JSON text can match).
	f, err := strconv.ParseFloat(v.text, 64)
	if err != nil || math.IsInf(f, 0) || f < -maxNumeric || f > maxNumeric {
		return 0, false
	}
	return f, true
}

// wildcardMatch matches s against a wildcard pattern where * stands for any
// run of characters and \* and \\ for a literal star and backslash.
func wildcardMatch(pat, s string) bool {
	// Classic greedy matching with one backtrack point: O(len(pat)*len(s)).
	p, i := 0, 0
	starP, starI := -1, 0
	for i < len(s) {
		if p < len(pat) {
			switch c := pat[p]; c {
			case '*':
				starP, starI = p, i
				p++
				continue
			case '\\':
				if p+1 < len(pat) && pat[p+1] == s[i] {
					p += 2
					i++
					continue
				}
			default:
				if c == s[i] {
					p++
					i++
					continue
				}
			}
		}
		if starP < 0 {
			return false
		}
		starI++
		p, i = starP+1, starI
	}
	for p < len(pat) && pat[p] == '*' {
		p++
	}
	return p == len(pat)
}
