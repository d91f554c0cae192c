package compliance

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/bannin/bannin/internal/recorder"
)

// Compliance types.
const (
	Compliant     = "COMPLIANT"
	NonCompliant  = "NON_COMPLIANT"
	NotApplicable = "NOT_APPLICABLE"
	// InsufficientData is what a rule reports before it has any result.
	InsufficientData = "INSUFFICIENT_DATA"
)

// AccountType is the resource type of account-level evaluations (AWS::::Account).
const AccountType = "AWS::::Account"

// Trigger says when a managed rule runs.
type Trigger int

// Triggers of managed rules (a rule may have both).
const (
	OnChange Trigger = 1 << iota // ConfigurationItemChangeNotification
	Periodic                     // ScheduledNotification
)

// Managed is one AWS managed rule: its identifier, parameters and evaluation logic, as the
// AWS Config Developer Guide's managed rule page documents it.
type Managed struct {
	// Identifier is the SourceIdentifier, e.g. "S3_BUCKET_VERSIONING_ENABLED".
	Identifier string
	// Types are the resource types the rule evaluates (Evaluate) or reads (EvaluateAll).
	Types   []string
	Trigger Trigger
	Params  []Param
	// Evaluate judges one resource (change-triggered rules, and periodic rules that
	// report per resource).
	Evaluate func(ci *CI, p Params) Result
	// EvaluateAll judges from every current item of Types at once (periodic account-level
	// rules) and returns the evaluations, usually one for AWS::::Account.
	EvaluateAll func(account string, items []*CI, p Params) []Evaluation
	// EvaluateAccount judges an account from what bannin knows of it beyond its
	// configuration items (AccountFacts, such as its root user's access keys); it runs
	// periodically, and only when the service is given those facts (Options).
	EvaluateAccount func(account string, f AccountFacts, p Params) []Evaluation
}

// AccountFacts are what account-level rules read about an account that no configuration
// item records.
type AccountFacts struct {
	// RootAccessKeys are the ids of the active access keys of the account's root user.
	RootAccessKeys []string
}

// Param is one input parameter of a managed rule.
type Param struct {
	Name     string
	Type     string // String, int, double, boolean, CSV, StringMap
	Default  string
	Required bool
	// Check validates a given value beyond its type.
	Check func(v string) error
}

// Result is a rule's judgement of one resource.
type Result struct {
	Compliance string
	Annotation string
}

// Evaluation is a result for a named resource.
type Evaluation struct {
	ResourceType, ResourceID string
	Result
}

func ok() Result                      { return Result{Compliance: Compliant} }
func notApplicable(why string) Result { return Result{Compliance: NotApplicable, Annotation: why} }
func fail(format string, a ...any) Result {
	return Result{Compliance: NonCompliant, Annotation: fmt.Sprintf(format, a...)}
}
func verdict(good bool, why string) Result {
	if good {
		return ok()
	}
	return Result{Compliance: NonCompliant, Annotation: why}
}

var managed = map[string]*Managed{}

// register adds a managed rule to the table; each rule's file calls it from init.
func register(m *Managed) {
	if _, dup := managed[m.Identifier]; dup {
		panic("compliance: managed rule registered twice: " + m.Identifier)
	}
	n := 0
	for _, set := range []bool{m.Evaluate != nil, m.EvaluateAll != nil, m.EvaluateAccount != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		panic("compliance: managed rule needs exactly one of Evaluate, EvaluateAll and EvaluateAccount: " + m.Identifier)
	}
	managed[m.Identifier] = m
}

// ManagedRule returns the managed rule with that identifier, or nil.
func ManagedRule(identifier string) *Managed { return managed[identifier] }

// ManagedRules lists the identifiers of the managed rules bannin evaluates, sorted.
func ManagedRules() []string {
	out := make([]string, 0, len(managed))
	for id := range managed {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

// Params are a rule's input parameters with defaults applied.
type Params map[string]string

// Str returns a parameter ("" when unset).
func (p Params) Str(name string) string { return strings.TrimSpace(p[name]) }

// List returns a CSV parameter's values, trimmed, empty ones dropped.
func (p Params) List(name string) []string {
	var out []string
	for _, v := range strings.Split(p[name], ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// Int returns an int parameter (def when unset or unparseable; parameters are validated
// when the rule is put).
func (p Params) Int(name string, def int) int {
	if n, err := strconv.Atoi(p.Str(name)); err == nil {
		return n
	}
	return def
}

// Bool returns a boolean parameter, or def when unset.
func (p Params) Bool(name string, def bool) bool {
	if b, err := strconv.ParseBool(p.Str(name)); err == nil {
		return b
	}
	return def
}

// Set says whether a parameter has a value.
func (p Params) Set(name string) bool { return p.Str(name) != "" }

// params validates a rule's InputParameters (a JSON object of strings) against the
// managed rule and returns them with defaults applied.
func (m *Managed) params(input string) (Params, error) {
	raw := map[string]any{}
	if strings.TrimSpace(input) != "" {
		if err := json.Unmarshal([]byte(input), &raw); err != nil {
			return nil, fmt.Errorf("InputParameters is not a JSON object: %v", err)
		}
	}
	known := map[string]*Param{}
	for i := range m.Params {
		known[m.Params[i].Name] = &m.Params[i]
	}
	p := Params{}
	for k, v := range raw {
		d := known[k]
		if d == nil {
			return nil, fmt.Errorf("unknown parameter %s for managed rule %s", k, m.Identifier)
		}
		var s string
		switch v := v.(type) {
		case string:
			s = v
		case float64, bool:
			s = fmt.Sprint(v)
		case nil:
			continue
		default:
			b, _ := json.Marshal(v)
			s = string(b)
		}
		p[k] = s
	}
	for _, d := range m.Params {
		v := strings.TrimSpace(p[d.Name])
		if v == "" {
			if d.Required {
				return nil, fmt.Errorf("parameter %s is required for managed rule %s", d.Name, m.Identifier)
			}
			if d.Default != "" {
				p[d.Name] = d.Default
			}
			continue
		}
		switch d.Type {
		case "int":
			if _, err := strconv.Atoi(v); err != nil {
				return nil, fmt.Errorf("parameter %s must be an integer, got %q", d.Name, v)
			}
		case "double":
			if _, err := strconv.ParseFloat(v, 64); err != nil {
				return nil, fmt.Errorf("parameter %s must be a number, got %q", d.Name, v)
			}
		case "boolean":
			if _, err := strconv.ParseBool(v); err != nil {
				return nil, fmt.Errorf("parameter %s must be true or false, got %q", d.Name, v)
			}
		}
		if d.Check != nil {
			if err := d.Check(v); err != nil {
				return nil, fmt.Errorf("parameter %s: %v", d.Name, err)
			}
		}
	}
	return p, nil
}

// oneOf returns a Check accepting only the given values.
func oneOf(values ...string) func(string) error {
	return func(v string) error {
		for _, ok := range values {
			if v == ok {
				return nil
			}
		}
		return fmt.Errorf("must be one of %s, got %q", strings.Join(values, ", "), v)
	}
}

// positive checks an int parameter is at least min.
func atLeast(min int) func(string) error {
	return func(v string) error {
		if n, _ := strconv.Atoi(v); n < min {
			return fmt.Errorf("must be at least %d, got %s", min, v)
		}
		return nil
	}
}

// CI is a configuration item as rules read it: the recorder's Item with its configuration
// and supplementary configuration decoded once.
type CI struct {
	*recorder.Item
	conf any
	supp map[string]any
	doc  any
}

// NewCI wraps an item for evaluation.
func NewCI(it *recorder.Item) *CI { return &CI{Item: it} }

// Conf returns the value at path in the item's configuration (nil when absent). Keys
// match exactly or else case-insensitively, so lowerCamel and UpperCamel documents read
// alike.
func (c *CI) Conf(path ...string) any {
	if c.conf == nil && len(c.Configuration) > 0 {
		c.conf = decodeJSON(c.Configuration)
	}
	return lookup(c.conf, path...)
}

// Supp returns the value at path in the item's supplementaryConfiguration. AWS stores
// some of these as JSON text; such strings are decoded.
func (c *CI) Supp(path ...string) any {
	if c.supp == nil {
		c.supp = map[string]any{}
		for k, v := range c.Supplementary {
			c.supp[k] = decodeJSON(v)
		}
	}
	if len(path) == 0 {
		return c.supp
	}
	return lookup(any(c.supp), path...)
}

// Doc returns the whole item as a decoded JSON document (what Guard rules evaluate).
func (c *CI) Doc() any {
	if c.doc == nil {
		b, _ := json.Marshal(c.Item)
		c.doc = decodeJSON(b)
	}
	return c.doc
}

func decodeJSON(b []byte) any {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return nil
	}
	if s, ok := v.(string); ok {
		t := strings.TrimSpace(s)
		if strings.HasPrefix(t, "{") || strings.HasPrefix(t, "[") {
			var inner any
			if json.Unmarshal([]byte(t), &inner) == nil {
				return inner
			}
		}
	}
	return v
}

func lookup(v any, path ...string) any {
	for _, k := range path {
		if s, ok := v.(string); ok {
			v = decodeJSON([]byte(strconv.Quote(s)))
		}
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		next, found := m[k]
		if !found {
			for mk, mv := range m {
				if strings.EqualFold(mk, k) {
					next, found = mv, true
					break
				}
			}
		}
		if !found {
			return nil
		}
		v = next
	}
	if s, ok := v.(string); ok {
		if t := strings.TrimSpace(s); strings.HasPrefix(t, "{") || strings.HasPrefix(t, "[") {
			var inner any
			if json.Unmarshal([]byte(t), &inner) == nil {
				return inner
			}
		}
	}
	return v
}

// asString returns v as a string ("" for nil and non-strings other than numbers/bools).
func asString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case float64, bool:
		return fmt.Sprint(v)
	}
	return ""
}

// asBool reads a boolean that may be stored as a string.
func asBool(v any) bool {
	switch v := v.(type) {
	case bool:
		return v
	case string:
		b, _ := strconv.ParseBool(v)
		return b
	}
	return false
}

// asList returns v as a list (a single value becomes a one-element list).
func asList(v any) []any {
	switch v := v.(type) {
	case nil:
		return nil
	case []any:
		return v
	}
	return []any{v}
}

// asFloat reads a number that may be stored as a string.
func asFloat(v any) (float64, bool) {
	switch v := v.(type) {
	case float64:
		return v, true
	case string:
		f, err := strconv.ParseFloat(v, 64)
		return f, err == nil
	}
	return 0, false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
