package query

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// expr is a WHERE condition evaluated against one configuration item.
type expr interface {
	eval(d *doc) bool
}

type andExpr struct{ l, r expr }
type orExpr struct{ l, r expr }
type notExpr struct{ e expr }

func (e *andExpr) eval(d *doc) bool { return e.l.eval(d) && e.r.eval(d) }
func (e *orExpr) eval(d *doc) bool  { return e.l.eval(d) || e.r.eval(d) }
func (e *notExpr) eval(d *doc) bool { return !e.e.eval(d) }

type cmpOp int

const (
	opEq cmpOp = iota
	opLt
	opLe
	opGt
	opGe
)

// cmpExpr is property op literal; it holds when any value at the property satisfies it.
type cmpExpr struct {
	prop path
	op   cmpOp
	lit  literal
}

func (e *cmpExpr) eval(d *doc) bool {
	if v, ok, multi := d.single(e.prop); !multi {
		return ok && e.test(v)
	}
	found := false
	d.values(e.prop, func(v any) bool {
		found = e.test(v)
		return !found
	})
	return found
}

func (e *cmpExpr) test(v any) bool {
	lo, hi, ok := bounds(v, e.lit)
	if !ok {
		return false
	}
	switch e.op {
	case opEq:
		return lo <= 0 && hi >= 0
	case opLt:
		return lo < 0
	case opLe:
		return lo <= 0
	case opGt:
		return hi > 0
	case opGe:
		return hi >= 0
	}
	return false
}

// inExpr is property IN (literals).
type inExpr struct {
	prop path
	lits []literal
}

func (e *inExpr) eval(d *doc) bool {
	if v, ok, multi := d.single(e.prop); !multi {
		return ok && e.test(v)
	}
	found := false
	d.values(e.prop, func(v any) bool {
		found = e.test(v)
		return !found
	})
	return found
}

func (e *inExpr) test(v any) bool {
	for _, l := range e.lits {
		if lo, hi, ok := bounds(v, l); ok && lo <= 0 && hi >= 0 {
			return true
		}
	}
	return false
}

// betweenExpr is property BETWEEN lo AND hi (inclusive); for a CIDR value it holds when
// the block overlaps the range.
type betweenExpr struct {
	prop   path
	lo, hi literal
}

func (e *betweenExpr) eval(d *doc) bool {
	found := false
	d.values(e.prop, func(v any) bool {
		_, vhi, ok1 := bounds(v, e.lo)
		vlo, _, ok2 := bounds(v, e.hi)
		found = ok1 && ok2 && vhi >= 0 && vlo <= 0
		return !found
	})
	return found
}

// likeExpr is property LIKE 'prefix%': AWS supports only suffix wildcards after at least
// three literal characters; '_' matches one character and '%' any run.
type likeExpr struct {
	prop   path
	prefix string
	// rest is the wildcard suffix: minimum extra characters, and whether more may follow.
	minExtra int
	exact    bool // only '_' wildcards: exactly minExtra more characters
}

func newLike(prop path, pattern string) (*likeExpr, error) {
	i := strings.IndexAny(pattern, "%_")
	if i < 0 {
		return &likeExpr{prop: prop, prefix: pattern, exact: true}, nil
	}
	if i == 0 {
		return nil, fmt.Errorf("LIKE pattern %q starts with a wildcard; only suffix wildcards are supported", pattern)
	}
	if i < 3 {
		return nil, fmt.Errorf("LIKE pattern %q has fewer than three characters before its wildcard", pattern)
	}
	l := &likeExpr{prop: prop, prefix: pattern[:i], exact: true}
	for _, c := range pattern[i:] {
		switch c {
		case '_':
			l.minExtra++
		case '%':
			l.exact = false
		default:
			return nil, fmt.Errorf("LIKE pattern %q has characters after a wildcard; only suffix wildcards are supported", pattern)
		}
	}
	return l, nil
}

func (e *likeExpr) eval(d *doc) bool {
	found := false
	d.values(e.prop, func(v any) bool {
		s, ok := v.(string)
		if !ok {
			return true
		}
		if strings.HasPrefix(s, e.prefix) {
			n := len([]rune(s[len(e.prefix):]))
			found = n == e.minExtra || (!e.exact && n >= e.minExtra)
		}
		return !found
	})
	return found
}

// walkExpr calls f for every property a condition mentions.
func walkExpr(e expr, f func(path)) {
	switch e := e.(type) {
	case *andExpr:
		walkExpr(e.l, f)
		walkExpr(e.r, f)
	case *orExpr:
		walkExpr(e.l, f)
		walkExpr(e.r, f)
	case *notExpr:
		walkExpr(e.e, f)
	case *cmpExpr:
		f(e.prop)
	case *inExpr:
		f(e.prop)
	case *betweenExpr:
		f(e.prop)
	case *likeExpr:
		f(e.prop)
	}
}

type litKind int

const (
	litString litKind = iota
	litNumber
	litBool
)

// literal is a constant in a condition, with its string form pre-parsed as a number,
// time and IP address where it reads as one.
type literal struct {
	kind litKind
	s    string
	n    float64
	b    bool

	isNum  bool // a string literal that reads as a number
	num    float64
	isTime bool
	t      time.Time
	isIP   bool
	ip     netip.Addr
}

func stringLiteral(s string) literal {
	l := literal{kind: litString, s: s}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		l.isNum, l.num = true, f
	}
	if t, ok := parseTime(s); ok {
		l.isTime, l.t = true, t
	}
	if a, err := netip.ParseAddr(s); err == nil {
		l.isIP, l.ip = true, a
	} else if pf, err := netip.ParsePrefix(s); err == nil {
		l.isIP, l.ip = true, pf.Masked().Addr()
	}
	return l
}

var timeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05Z0700", "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02"}

func parseTime(s string) (time.Time, bool) {
	if len(s) < 10 || s[4] != '-' || s[7] != '-' {
		return time.Time{}, false
	}
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// bounds compares a configuration value with a literal. A plain value v gives lo = hi =
// sign(v - lit); a CIDR block gives the comparison of its first address (lo) and last
// address (hi), so that = holds when the block contains the address, as AWS documents
// under "CIDR notation/IP range". ok is false when the two cannot be compared.
func bounds(v any, l literal) (lo, hi int, ok bool) {
	switch v := v.(type) {
	case string:
		return boundsString(v, l)
	case float64:
		return boundsNumber(v, l)
	case json.Number:
		f, err := v.Float64()
		if err != nil {
			return 0, 0, false
		}
		return boundsNumber(f, l)
	case int:
		return boundsNumber(float64(v), l)
	case int64:
		return boundsNumber(float64(v), l)
	case bool:
		switch l.kind {
		case litBool:
			if v == l.b {
				return 0, 0, true
			}
			return 1, 1, true // unequal; order of booleans is not meaningful
		case litString:
			if strings.EqualFold(l.s, strconv.FormatBool(v)) {
				return 0, 0, true
			}
			return 1, 1, true
		}
	}
	return 0, 0, false
}

func boundsNumber(f float64, l literal) (int, int, bool) {
	var n float64
	switch {
	case l.kind == litNumber:
		n = l.n
	case l.kind == litString && l.isNum:
		n = l.num
	default:
		return 0, 0, false
	}
	c := cmpFloat(f, n)
	return c, c, true
}

func boundsString(s string, l literal) (int, int, bool) {
	switch l.kind {
	case litNumber:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return 0, 0, false
		}
		c := cmpFloat(f, l.n)
		return c, c, true
	case litBool:
		if strings.EqualFold(s, l.s) {
			return 0, 0, true
		}
		return 1, 1, true
	}
	if s == l.s {
		return 0, 0, true
	}
	if l.isIP && len(s) > 0 && (s[0] >= '0' && s[0] <= '9' || strings.Contains(s, ":")) {
		if pf, err := netip.ParsePrefix(s); err == nil && pf.Addr().Is4() == l.ip.Is4() {
			first := pf.Masked().Addr()
			last := lastAddr(pf)
			return first.Compare(l.ip), last.Compare(l.ip), true
		}
		if a, err := netip.ParseAddr(s); err == nil && a.Is4() == l.ip.Is4() {
			c := a.Compare(l.ip)
			return c, c, true
		}
	}
	if l.isTime {
		if t, ok := parseTime(s); ok {
			c := t.Compare(l.t)
			return c, c, true
		}
	}
	c := strings.Compare(s, l.s)
	return c, c, true
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// lastAddr is the highest address in a prefix.
func lastAddr(pf netip.Prefix) netip.Addr {
	b := pf.Masked().Addr().AsSlice()
	bits := pf.Bits()
	for i := range b {
		for j := 0; j < 8; j++ {
			if i*8+j >= bits {
				b[i] |= 0x80 >> j
			}
		}
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}
