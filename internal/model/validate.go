package model

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Validate checks the value tree v of an operation's input shape sh against the
// constraints of the model, as AWS services do before running an operation: required
// members, enum values, the length of strings, blobs, lists and maps, and the range of
// numbers, in nested structures, lists and maps too. It returns nil or a
// *ValidationError listing every violation.
//
// Regular-expression patterns are not checked: botocore's patterns are written for
// the services' Java regex engine (\p{...} classes, possessive and lookaround forms)
// and many do not compile or mean something else under Go's RE2, so checking them
// would reject valid requests.
//
// Values of the wrong Go type are not reported here; Bind reports them.
func Validate(sh *Shape, v map[string]any) error {
	if sh == nil {
		return nil
	}
	var c checker
	c.structure(sh, v, "", true)
	if len(c.violations) == 0 {
		return nil
	}
	return &ValidationError{Violations: c.violations}
}

// ValidationError is the set of constraint violations Validate found. The gateway
// sends it with the protocol's validation error code (ValidationException,
// ValidationError, InvalidParameterValue...); it is not an awserr.Coded itself.
type ValidationError struct {
	Violations []Violation
}

// Violation is one failed constraint.
type Violation struct {
	// Path locates the value as AWS writes it: lowerCamel member names joined by
	// dots, list elements as "<list>.<1-based index>.member".
	Path string
	// Value is the offending value as the message shows it: "null" for a missing
	// member, 'x' quoted otherwise, and empty for sensitive values.
	Value string
	// Constraint is the rule, e.g. "Member must not be null".
	Constraint string
	// Rule is the kind of constraint that failed, for protocols whose services word
	// each kind in their own way (S3).
	Rule Rule
	// Top is the member of the input shape the path starts at: it tells where the value
	// travelled (a header, the query string, the body). Nil only for Validate on a
	// shape that is not an operation input.
	Top *Member
	// Member is the member whose value failed, or nil for a list element or map entry.
	Member *Member
	// Raw is the offending value as decoded (nil for a missing member or a sensitive one).
	Raw any
}

// Rule is a kind of model constraint.
type Rule uint8

const (
	// RuleRequired is a missing required member.
	RuleRequired Rule = iota + 1
	// RuleEnum is a string outside its enum.
	RuleEnum
	// RuleLength is a string, blob, list or map too short or too long.
	RuleLength
	// RuleRange is a number below its minimum or above its maximum.
	RuleRange
	// RuleMapKeys and RuleMapValues gather the failures of a map's scalar keys or values.
	RuleMapKeys
	RuleMapValues
)

func (v Violation) String() string {
	var b strings.Builder
	b.WriteString("Value ")
	if v.Value != "" {
		b.WriteString(v.Value)
		b.WriteByte(' ')
	}
	b.WriteString("at '")
	b.WriteString(v.Path)
	b.WriteString("' failed to satisfy constraint: ")
	b.WriteString(v.Constraint)
	return b.String()
}

// Error reads like AWS's message: "2 validation errors detected: Value null at
// 'name' failed to satisfy constraint: Member must not be null; Value ...".
func (e *ValidationError) Error() string {
	var b strings.Builder
	if len(e.Violations) == 1 {
		b.WriteString("1 validation error detected: ")
	} else {
		fmt.Fprintf(&b, "%d validation errors detected: ", len(e.Violations))
	}
	for i, v := range e.Violations {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(v.String())
	}
	return b.String()
}

type checker struct {
	violations []Violation
	// top and member are the input member being checked and the innermost member.
	top, member *Member
}

func (c *checker) add(path string, sh *Shape, v any, rule Rule, constraint string) {
	raw := v
	if sh != nil && sh.Sensitive {
		raw = nil
	}
	c.violations = append(c.violations, Violation{Path: path, Value: render(sh, v), Constraint: constraint,
		Rule: rule, Top: c.top, Member: c.member, Raw: raw})
}

// lowerCamel is the member name as AWS paths write it.
func lowerCamel(name string) string {
	r, n := utf8.DecodeRuneInString(name)
	if r >= 'A' && r <= 'Z' {
		return string(r+'a'-'A') + name[n:]
	}
	return name
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func (c *checker) structure(sh *Shape, v map[string]any, path string, top bool) {
	outer := c.member
	defer func() { c.member = outer }()
	for _, m := range sh.Members {
		if top {
			c.top = m
		}
		c.member = m
		val, ok := v[m.Name]
		p := join(path, lowerCamel(m.Name))
		if !ok || val == nil {
			if sh.IsRequired(m.Name) {
				c.add(p, m.Shape, nil, RuleRequired, "Member must not be null")
			}
			continue
		}
		c.value(m.Shape, val, p)
	}
}

func (c *checker) value(sh *Shape, v any, path string) {
	switch sh.Type {
	case String:
		s, ok := v.(string)
		if !ok {
			return
		}
		if len(sh.Enum) > 0 && !contains(sh.Enum, s) {
			c.add(path, sh, v, RuleEnum, "Member must satisfy enum value set: ["+strings.Join(sh.Enum, ", ")+"]")
		}
		c.length(sh, v, utf8.RuneCountInString(s), path)
	case Blob:
		if b, ok := v.([]byte); ok {
			c.length(sh, v, len(b), path)
		}
	case Integer, Long, Float, Double:
		var f float64
		switch x := v.(type) {
		case int64:
			f = float64(x)
		case float64:
			f = x
		default:
			return
		}
		if sh.Min != nil && f < *sh.Min {
			c.add(path, sh, v, RuleRange, "Member must have value greater than or equal to "+num(*sh.Min))
		}
		if sh.Max != nil && f > *sh.Max {
			c.add(path, sh, v, RuleRange, "Member must have value less than or equal to "+num(*sh.Max))
		}
	case List:
		l, ok := v.([]any)
		if !ok {
			return
		}
		c.length(sh, v, len(l), path)
		outer := c.member
		c.member = nil
		for i, e := range l {
			if e != nil {
				c.value(sh.Member.Shape, e, path+"."+strconv.Itoa(i+1)+".member")
			}
		}
		c.member = outer
	case Map:
		m, ok := v.(map[string]any)
		if !ok {
			return
		}
		c.length(sh, v, len(m), path)
		c.mapEntries(sh, m, path)
	case Structure:
		if sh.Document {
			return
		}
		if m, ok := v.(map[string]any); ok {
			c.structure(sh, m, path, false)
		}
	}
}

// mapEntries checks a map's keys and values. Like AWS, the violations of scalar keys
// and values are gathered into one violation on the map itself; structured values
// are checked member by member under "<map>.<key>".
func (c *checker) mapEntries(sh *Shape, m map[string]any, path string) {
	var keyRules, valueRules []string
	seen := map[string]bool{}
	collect := func(rules *[]string, vs []Violation) {
		for _, v := range vs {
			if !seen[v.Constraint] {
				seen[v.Constraint] = true
				*rules = append(*rules, v.Constraint)
			}
		}
	}
	for _, k := range sortedKeys(m) {
		var kc checker
		kc.value(sh.Key.Shape, k, path)
		collect(&keyRules, kc.violations)
		val := m[k]
		if val == nil {
			continue
		}
		switch sh.Value.Shape.Type {
		case Structure, List, Map:
			outer := c.member
			c.member = nil
			c.value(sh.Value.Shape, val, path+"."+k)
			c.member = outer
		default:
			var vc checker
			vc.value(sh.Value.Shape, val, path)
			collect(&valueRules, vc.violations)
		}
	}
	if len(keyRules) > 0 {
		c.add(path, sh, m, RuleMapKeys, "Map keys must satisfy constraint: ["+strings.Join(keyRules, ", ")+"]")
	}
	if len(valueRules) > 0 {
		c.add(path, sh, m, RuleMapValues, "Map value must satisfy constraint: ["+strings.Join(valueRules, ", ")+"]")
	}
}

func (c *checker) length(sh *Shape, v any, n int, path string) {
	if sh.Min != nil && float64(n) < *sh.Min {
		c.add(path, sh, v, RuleLength, "Member must have length greater than or equal to "+num(*sh.Min))
	}
	if sh.Max != nil && float64(n) > *sh.Max {
		c.add(path, sh, v, RuleLength, "Member must have length less than or equal to "+num(*sh.Max))
	}
}

func num(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
		return strconv.FormatInt(int64(f), 10)
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// render formats a value as AWS messages show it (Java's toString of the value).
func render(sh *Shape, v any) string {
	if v == nil {
		return "null"
	}
	if _, blob := v.([]byte); sh != nil && sh.Sensitive && !blob {
		// Secrets stay out of messages, which end up in logs and audit records.
		return ""
	}
	return "'" + renderValue(v) + "'"
}

func renderValue(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case time.Time:
		return x.UTC().Format(time.RFC3339)
	case []byte:
		return fmt.Sprintf("java.nio.HeapByteBuffer[pos=0 lim=%d cap=%d]", len(x), len(x))
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = renderValue(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case map[string]any:
		keys := sortedKeys(x)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = k + "=" + renderValue(x[k])
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case io.Reader:
		return "stream"
	case nil:
		return "null"
	}
	return fmt.Sprint(v)
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
