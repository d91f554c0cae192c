// Package pattern compiles Amazon EventBridge event patterns and matches JSON
// events against many of them at once.
//
// A pattern compiles to a set of branches (one per combination of "$or"
// alternatives); a branch is a conjunction of field tests; a field test says
// that some value at a field path satisfies one of its conditions. A Matcher
// shares field paths, conditions and field tests between all of its patterns
// and indexes them by value, so the work per event depends on the event and on
// the conditions it meets, not on the number of patterns.
package pattern

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// Error is an invalid event pattern; its message reads like the
// InvalidEventPatternException that EventBridge answers.
type Error struct {
	Reason string
}

// Error returns EventBridge's message for an invalid pattern.
func (e *Error) Error() string { return "Event pattern is not valid. Reason: " + e.Reason }

func invalid(format string, args ...any) *Error {
	return &Error{Reason: fmt.Sprintf(format, args...)}
}

// Pattern is a compiled event pattern.
type Pattern struct {
	source   string
	branches []branch
}

// branch is one alternative of a pattern: every field test must hold.
type branch []fieldTest

// fieldTest holds when a value at path meets one of conds, or, for an
// exists:false condition, when the path has no value at all.
type fieldTest struct {
	path  string // segments joined by pathSep
	conds []*cond
}

// pathSep joins the segments of a field path; it cannot appear in JSON text
// unescaped, and escaped names containing it are vanishingly rare.
const pathSep = "\x00"

// String returns the pattern's source text.
func (p *Pattern) String() string { return p.source }

// Compile parses an event pattern. The error is an *Error.
func Compile(pattern string) (*Pattern, error) {
	dec := json.NewDecoder(strings.NewReader(pattern))
	dec.UseNumber()
	var root any
	if err := dec.Decode(&root); err != nil {
		return nil, invalid("Filter is not valid JSON: %v", err)
	}
	if dec.More() {
		return nil, invalid("Filter is not valid JSON: unexpected data after the top-level object")
	}
	obj, ok := root.(map[string]any)
	if !ok {
		return nil, invalid("Filter is not an object")
	}
	branches := []branch{nil}
	branches, err := compileObject(obj, nil, branches, false)
	if err != nil {
		return nil, err
	}
	return &Pattern{source: pattern, branches: branches}, nil
}

// sortedKeys returns an object's keys in order, so that the first error
// reported is always the same one.
func sortedKeys(obj map[string]any) []string {
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// compileObject adds the fields of obj, found under path, to every branch.
func compileObject(obj map[string]any, path []string, branches []branch, inOr bool) ([]branch, error) {
	if len(obj) == 0 {
		return nil, invalid("Empty objects are not allowed")
	}
	for _, k := range sortedKeys(obj) {
		v := obj[k]
		if k == "$or" {
			var err error
			if branches, err = compileOr(v, path, branches, inOr); err != nil {
				return nil, err
			}
			continue
		}
		if inOr && reservedInOr[k] {
			return nil, invalid("%s is Ruler reserved fieldName which cannot be used inside $or.", k)
		}
		p := append(path[:len(path):len(path)], k)
		switch v := v.(type) {
		case map[string]any:
			var err error
			if branches, err = compileObject(v, p, branches, inOr); err != nil {
				return nil, err
			}
		case []any:
			ft, err := compileLeaf(v, p)
			if err != nil {
				return nil, err
			}
			for i := range branches {
				branches[i] = append(branches[i][:len(branches[i]):len(branches[i])], ft)
			}
		default:
			return nil, invalid("%q must be an object or an array", k)
		}
	}
	return branches, nil
}

// reservedInOr are the operator names that may not be field names inside
// "$or", where they would read as a misplaced match expression.
var reservedInOr = map[string]bool{
	"exactly": true, "equals-ignore-case": true, "prefix": true, "suffix": true, "anything-but": true,
	"exists": true, "wildcard": true, "numeric": true, "cidr": true,
	"=": true, "<": true, "<=": true, ">": true, ">=": true,
}

// compileOr forks every branch once per alternative of a "$or" array.
func compileOr(v any, path []string, branches []branch, inOr bool) ([]branch, error) {
	arr, ok := v.([]any)
	if !ok {
		return nil, invalid("It must be an Array followed with $or.")
	}
	if len(arr) < 2 {
		return nil, invalid("There must have at least 2 Objects in $or relationship.")
	}
	var out []branch
	for _, alt := range arr {
		obj, ok := alt.(map[string]any)
		if !ok {
			return nil, invalid("Only JSON object is allowed in array of $or relationship.")
		}
		fork := make([]branch, len(branches))
		copy(fork, branches)
		fork, err := compileObject(obj, path, fork, true)
		if err != nil {
			return nil, err
		}
		out = append(out, fork...)
	}
	if len(out) > maxBranches {
		return nil, invalid("The pattern has more than %d combinations of $or alternatives", maxBranches)
	}
	return out, nil
}

// maxBranches bounds the combinations that nested "$or" arrays may produce.
const maxBranches = 1000

// compileLeaf compiles the array of values and match expressions of a field.
func compileLeaf(arr []any, path []string) (fieldTest, error) {
	if len(arr) == 0 {
		return fieldTest{}, invalid("Empty arrays are not allowed")
	}
	ft := fieldTest{path: strings.Join(path, pathSep)}
	for _, v := range arr {
		var c *cond
		var err error
		switch v := v.(type) {
		case string:
			c = &cond{kind: kExact, str: `"` + v}
		case json.Number:
			// Like AWS's rule engine, a number also matches the numbers
			// equal to it written otherwise (300 matches 3.0e2), within
			// the range numeric filters accept.
			c = &cond{kind: kExact, str: string(v)}
			if f, err := v.Float64(); err == nil && f >= -maxNumeric && f <= maxNumeric {
				c.ops = []numOp{{op: "=", val: f}}
			}
		case bool:
			c = &cond{kind: kExact, str: fmt.Sprint(v)}
		case nil:
			c = &cond{kind: kExact, str: "null"}
		case map[string]any:
			c, err = compileExpression(v)
		default:
			err = invalid("Match value must be String, number, true, false, or null")
		}
		if err != nil {
			return fieldTest{}, err
		}
		c.finish()
		ft.conds = append(ft.conds, c)
	}
	return ft, nil
}

// compileExpression compiles one match expression such as {"prefix": "x"}.
func compileExpression(obj map[string]any) (*cond, error) {
	if len(obj) == 0 {
		return nil, invalid("Match expression name not found")
	}
	if len(obj) > 1 {
		return nil, invalid("Only one key allowed in match expression")
	}
	for op, v := range obj {
		switch op {
		case "prefix", "suffix":
			kind, ciKind := kPrefix, kPrefixCI
			if op == "suffix" {
				kind, ciKind = kSuffix, kSuffixCI
			}
			switch v := v.(type) {
			case string:
				return &cond{kind: kind, str: v}, nil
			case map[string]any:
				s, err := ignoreCaseString(v, op)
				if err != nil {
					return nil, err
				}
				return &cond{kind: ciKind, str: strings.ToLower(s)}, nil
			}
			return nil, invalid("%s match pattern must be a string", op)
		case "equals-ignore-case":
			s, ok := v.(string)
			if !ok {
				return nil, invalid("equals-ignore-case match pattern must be a string")
			}
			return &cond{kind: kEqualsCI, str: strings.ToLower(s)}, nil
		case "wildcard":
			s, ok := v.(string)
			if !ok {
				return nil, invalid("wildcard match pattern must be a string")
			}
			if err := checkWildcard(s); err != nil {
				return nil, err
			}
			return &cond{kind: kWildcard, str: s}, nil
		case "exists":
			b, ok := v.(bool)
			if !ok {
				return nil, invalid("exists match pattern must be either true or false.")
			}
			if b {
				return &cond{kind: kExists}, nil
			}
			return &cond{kind: kAbsent}, nil
		case "numeric":
			return compileNumeric(v)
		case "cidr":
			return compileCIDR(v)
		case "anything-but":
			return compileAnythingBut(v)
		default:
			return nil, invalid("Unrecognized match type %s", op)
		}
	}
	panic("unreachable")
}

// ignoreCaseString reads {"equals-ignore-case": "s"} inside prefix or suffix.
func ignoreCaseString(obj map[string]any, op string) (string, error) {
	if len(obj) != 1 {
		return "", invalid("Only one key allowed in match expression")
	}
	v, ok := obj["equals-ignore-case"]
	if !ok {
		for k := range obj {
			return "", invalid("Unsupported %s pattern: %s", op, k)
		}
	}
	s, ok := v.(string)
	if !ok {
		return "", invalid("equals-ignore-case match pattern must be a string")
	}
	return s, nil
}

// checkWildcard rejects consecutive unescaped wildcards and dangling escapes.
func checkWildcard(s string) error {
	prevStar := false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			if i+1 >= len(s) || (s[i+1] != '*' && s[i+1] != '\\') {
				return invalid("Invalid escape character at pos %d", i)
			}
			i++
			prevStar = false
		case '*':
			if prevStar {
				return invalid("Consecutive wildcard characters at pos %d", i)
			}
			prevStar = true
		default:
			prevStar = false
		}
	}
	return nil
}

// compileNumeric compiles ["op", n] or [">"|">=", n, "<"|"<=", m].
func compileNumeric(v any) (*cond, error) {
	arr, ok := v.([]any)
	if !ok {
		return nil, invalid("Value of numeric must be an array.")
	}
	c := &cond{kind: kNumeric}
	if len(arr) == 0 {
		return nil, invalid("Invalid member in numeric match: ]")
	}
	for i := 0; i < len(arr); i += 2 {
		op, ok := arr[i].(string)
		if !ok {
			if i == 0 {
				return nil, invalid("Invalid member in numeric match: %v", jsonText(arr[i]))
			}
			return nil, invalid("Bad value in numeric range: %v", jsonText(arr[i]))
		}
		switch {
		case i == 0 && (op == "=" || op == ">" || op == ">=" || op == "<" || op == "<="):
		case i == 2 && (op == "<" || op == "<="):
		case i == 2:
			return nil, invalid("Bad numeric range operator: %s", op)
		default:
			return nil, invalid("Unrecognized numeric range operator: %s", op)
		}
		if i+1 >= len(arr) {
			return nil, invalid("Value of %s must be numeric", op)
		}
		n, ok := arr[i+1].(json.Number)
		if !ok {
			return nil, invalid("Value of %s must be numeric", op)
		}
		f, err := n.Float64()
		if err != nil {
			return nil, invalid("Value of %s must be numeric", op)
		}
		if f < -maxNumeric || f > maxNumeric {
			return nil, invalid("Value of %s must be between %g and %g", op, -maxNumeric, maxNumeric)
		}
		c.ops = append(c.ops, numOp{op: op, val: f})
		if op == "=" || op == "<" || op == "<=" {
			if i+2 < len(arr) {
				return nil, invalid("Too many elements in numeric expression")
			}
		}
	}
	if len(c.ops) > 2 {
		return nil, invalid("Too many terms in numeric range expression")
	}
	return c, nil
}

// maxNumeric is the magnitude limit of numbers in numeric filters (Ruler's
// comparable numbers span -5e9 to 5e9).
const maxNumeric = 5e9

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// compileAnythingBut compiles every form of anything-but: a value, a list of
// strings or of numbers, or an object with prefix, suffix, wildcard or
// equals-ignore-case.
func compileAnythingBut(v any) (*cond, error) {
	switch v := v.(type) {
	case string:
		return &cond{kind: kAnythingBut, set: map[string]bool{`"` + v: true}}, nil
	case json.Number:
		f, err := v.Float64()
		if err != nil {
			return nil, invalid("Value of anything-but must be an array or single string/number value.")
		}
		return &cond{kind: kAnythingButNum, nums: []float64{f}}, nil
	case []any:
		return anythingButList(v)
	case map[string]any:
		if len(v) != 1 {
			if len(v) == 0 {
				return nil, invalid("Anything-But expression name not found")
			}
			return nil, invalid("Only one key allowed in match expression")
		}
		for op, arg := range v {
			var kind condKind
			switch op {
			case "prefix":
				kind = kAnythingButPrefix
			case "suffix":
				kind = kAnythingButSuffix
			case "wildcard":
				kind = kAnythingButWildcard
			case "equals-ignore-case":
				kind = kAnythingButCI
			default:
				return nil, invalid("Unsupported anything-but pattern: %s", op)
			}
			strs, err := stringOrStrings(arg, op)
			if err != nil {
				return nil, err
			}
			c := &cond{kind: kind}
			for _, s := range strs {
				switch kind {
				case kAnythingButPrefix, kAnythingButSuffix:
					if s == "" {
						return nil, invalid("Null prefix/suffix not allowed")
					}
				case kAnythingButWildcard:
					if err := checkWildcard(s); err != nil {
						return nil, err
					}
				case kAnythingButCI:
					s = strings.ToLower(s)
				}
				c.strs = append(c.strs, s)
			}
			return c, nil
		}
	}
	return nil, invalid("Value of anything-but must be an array or single string/number value.")
}

// stringOrStrings reads the argument of an anything-but operator.
func stringOrStrings(v any, op string) ([]string, error) {
	switch v := v.(type) {
	case string:
		return []string{v}, nil
	case []any:
		if len(v) == 0 {
			return nil, invalid("Empty arrays are not allowed")
		}
		out := make([]string, 0, len(v))
		for _, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil, invalid("Inside anything-but/%s list, number|start|null|boolean is not supported.", op)
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, invalid("%s match pattern must be a string", op)
}

func anythingButList(arr []any) (*cond, error) {
	var strs map[string]bool
	var nums []float64
	for _, e := range arr {
		switch e := e.(type) {
		case string:
			if strs == nil {
				strs = map[string]bool{}
			}
			strs[`"`+e] = true
		case json.Number:
			f, err := e.Float64()
			if err != nil {
				return nil, invalid("Inside anything but list, start|null|boolean is not supported.")
			}
			nums = append(nums, f)
		default:
			return nil, invalid("Inside anything but list, start|null|boolean is not supported.")
		}
	}
	if (strs != nil) == (nums != nil) {
		return nil, invalid("Inside anything but list, either all values are number or string, mixed type is not supported")
	}
	if nums != nil {
		return &cond{kind: kAnythingButNum, nums: nums}, nil
	}
	return &cond{kind: kAnythingBut, set: strs}, nil
}

// canonical returns a key that is equal for equal field tests.
func (ft *fieldTest) canonical() string {
	keys := make([]string, len(ft.conds))
	for i, c := range ft.conds {
		keys[i] = c.key
	}
	sort.Strings(keys)
	var b bytes.Buffer
	b.WriteString(ft.path)
	for _, k := range keys {
		b.WriteByte(1)
		b.WriteString(k)
	}
	return b.String()
}
