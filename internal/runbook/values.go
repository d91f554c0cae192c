package runbook

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/bannin/bannin/internal/jsontree"
)

// Typed values (parameters, step outputs) are kept in their JSON form, so that they survive
// being stored with the execution: String string, StringList []any of strings, Integer
// float64, Boolean bool, StringMap map[string]any, MapList []any of map[string]any.

// fromDocument converts a default value written in the document to p's type.
func (p *Param) fromDocument(v any) (any, error) {
	v = jsonable(v)
	var val any
	switch p.Type {
	case TypeString:
		switch x := v.(type) {
		case string:
			val = x
		case float64, bool:
			val = scalarString(x)
		default:
			return nil, fmt.Errorf("a String parameter needs a string")
		}
	case TypeInteger:
		switch x := v.(type) {
		case float64:
			if x != math.Trunc(x) {
				return nil, fmt.Errorf("%v is not an integer", x)
			}
			val = x
		case string:
			n, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64)
			if err != nil {
				return nil, fmt.Errorf("%q is not an integer", x)
			}
			val = float64(n)
		default:
			return nil, fmt.Errorf("an Integer parameter needs an integer")
		}
	case TypeBoolean:
		switch x := v.(type) {
		case bool:
			val = x
		case string:
			b, err := parseBool(x)
			if err != nil {
				return nil, err
			}
			val = b
		default:
			return nil, fmt.Errorf("a Boolean parameter needs true or false")
		}
	case TypeStringList:
		list, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("a StringList parameter needs a list")
		}
		out := make([]any, len(list))
		for i, e := range list {
			switch e.(type) {
			case string, float64, bool:
				out[i] = scalarString(e)
			default:
				return nil, fmt.Errorf("a StringList parameter needs a list of strings")
			}
		}
		val = out
	case TypeStringMap:
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("a StringMap parameter needs an object")
		}
		val = m
	case TypeMapList:
		list, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("a MapList parameter needs a list of objects")
		}
		for _, e := range list {
			if _, ok := e.(map[string]any); !ok {
				return nil, fmt.Errorf("a MapList parameter needs a list of objects")
			}
		}
		val = list
	}
	if err := p.allowed(val); err != nil {
		return nil, err
	}
	return val, nil
}

// fromStrings converts the strings StartAutomationExecution carries to p's type.
func (p *Param) fromStrings(vs []string) (any, error) {
	single := func() (string, error) {
		if len(vs) != 1 {
			return "", fmt.Errorf("parameter %s of type %s takes one value, got %d", p.Name, p.Type, len(vs))
		}
		return vs[0], nil
	}
	switch p.Type {
	case TypeStringList:
		out := make([]any, len(vs))
		for i, s := range vs {
			out[i] = s
		}
		return p.checked(out)
	case TypeMapList:
		var out []any
		for _, s := range vs {
			var v any
			if err := json.Unmarshal([]byte(s), &v); err != nil {
				return nil, fmt.Errorf("parameter %s of type MapList needs JSON objects: %v", p.Name, err)
			}
			if list, ok := v.([]any); ok {
				out = append(out, list...)
			} else {
				out = append(out, v)
			}
		}
		return p.fromDocument(out)
	case TypeStringMap:
		s, err := single()
		if err != nil {
			return nil, err
		}
		var v any
		if err := json.Unmarshal([]byte(s), &v); err != nil {
			return nil, fmt.Errorf("parameter %s of type StringMap needs a JSON object: %v", p.Name, err)
		}
		return p.fromDocument(v)
	default:
		s, err := single()
		if err != nil {
			return nil, err
		}
		v, err := p.fromDocument(s)
		if err != nil {
			return nil, fmt.Errorf("parameter %s: %v", p.Name, err)
		}
		return v, nil
	}
}

func (p *Param) checked(v any) (any, error) {
	if err := p.allowed(v); err != nil {
		return nil, err
	}
	return v, nil
}

// allowed applies allowedValues, allowedPattern, minItems and maxItems.
func (p *Param) allowed(v any) error {
	var items []string
	if list, ok := v.([]any); ok {
		if p.MinItems != nil && len(list) < *p.MinItems {
			return fmt.Errorf("parameter %s needs at least %d items, got %d", p.Name, *p.MinItems, len(list))
		}
		if p.MaxItems != nil && len(list) > *p.MaxItems {
			return fmt.Errorf("parameter %s takes at most %d items, got %d", p.Name, *p.MaxItems, len(list))
		}
		if p.Type != TypeStringList {
			return nil
		}
		for _, e := range list {
			items = append(items, scalarString(e))
		}
	} else if p.Type == TypeStringMap || p.Type == TypeMapList {
		return nil
	} else {
		items = []string{scalarString(v)}
	}
	var re *regexp.Regexp
	if p.AllowedPattern != "" {
		re, _ = regexp.Compile(p.AllowedPattern)
	}
	for _, s := range items {
		if len(p.AllowedValues) > 0 && !slices.Contains(p.AllowedValues, s) {
			return fmt.Errorf("value %q of parameter %s is not one of the allowed values [%s]", s, p.Name, strings.Join(p.AllowedValues, ", "))
		}
		if re != nil && !re.MatchString(s) {
			return fmt.Errorf("value %q of parameter %s does not match the allowed pattern %s", s, p.Name, p.AllowedPattern)
		}
	}
	return nil
}

func parseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, fmt.Errorf("%q is not a Boolean (true or false)", s)
}

// toStrings is a typed value as the API's map of string lists shows it.
func toStrings(v any) []string {
	switch x := v.(type) {
	case nil:
		return []string{}
	case []any:
		out := make([]string, len(x))
		for i, e := range x {
			out[i] = scalarString(e)
		}
		return out
	}
	return []string{scalarString(v)}
}

// convertOutput gives a selected value the output's declared type.
func convertOutput(v any, typ string) (any, error) {
	switch typ {
	case TypeString:
		switch v.(type) {
		case string, float64, bool:
			return scalarString(v), nil
		}
		return nil, fmt.Errorf("the selected value is not a String")
	case TypeInteger:
		switch x := v.(type) {
		case float64:
			if x == math.Trunc(x) {
				return x, nil
			}
		case string:
			if n, err := strconv.ParseInt(x, 10, 64); err == nil {
				return float64(n), nil
			}
		}
		return nil, fmt.Errorf("the selected value %s is not an Integer", scalarString(v))
	case TypeBoolean:
		switch x := v.(type) {
		case bool:
			return x, nil
		case string:
			return parseBool(x)
		}
		return nil, fmt.Errorf("the selected value %s is not a Boolean", scalarString(v))
	case TypeStringList:
		list, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("the selected value is not a StringList")
		}
		out := make([]any, len(list))
		for i, e := range list {
			if _, ok := e.(map[string]any); ok {
				return nil, fmt.Errorf("the selected value is not a StringList")
			}
			out[i] = scalarString(e)
		}
		return out, nil
	case TypeStringMap:
		if m, ok := v.(map[string]any); ok {
			return m, nil
		}
		return nil, fmt.Errorf("the selected value is not a StringMap")
	case TypeMapList:
		list, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("the selected value is not a MapList")
		}
		for _, e := range list {
			if _, ok := e.(map[string]any); !ok {
				return nil, fmt.Errorf("the selected value is not a MapList")
			}
		}
		return list, nil
	}
	return nil, fmt.Errorf("unknown output type %s", typ)
}

// selectPath evaluates a JSONPath-lite selector ($, .Field, [index], ['Field'], [*]) against v.
func selectPath(v any, selector string) (any, bool, error) {
	s := strings.TrimSpace(selector)
	if !strings.HasPrefix(s, "$") {
		return nil, false, fmt.Errorf("selector %q must start with $", selector)
	}
	s = s[1:]
	cur := v
	for s != "" {
		switch s[0] {
		case '.':
			s = s[1:]
			end := strings.IndexAny(s, ".[")
			if end < 0 {
				end = len(s)
			}
			key := s[:end]
			s = s[end:]
			if key == "" {
				return nil, false, fmt.Errorf("selector %q has an empty field name", selector)
			}
			m, ok := cur.(map[string]any)
			if !ok {
				return nil, false, nil
			}
			if cur, ok = m[key]; !ok {
				return nil, false, nil
			}
		case '[':
			end := strings.IndexByte(s, ']')
			if end < 0 {
				return nil, false, fmt.Errorf("selector %q has an unclosed [", selector)
			}
			idx := s[1:end]
			s = s[end+1:]
			if idx == "*" {
				// A projection: the rest of the path applied to every element.
				list, ok := cur.([]any)
				if !ok {
					return nil, false, nil
				}
				out := []any{}
				for _, e := range list {
					v, found, err := selectPath(e, "$"+s)
					if err != nil {
						return nil, false, err
					}
					if found {
						out = append(out, v)
					}
				}
				return out, true, nil
			}
			if q := strings.Trim(idx, `'"`); q != idx {
				m, ok := cur.(map[string]any)
				if !ok {
					return nil, false, nil
				}
				if cur, ok = m[q]; !ok {
					return nil, false, nil
				}
				continue
			}
			n, err := strconv.Atoi(idx)
			if err != nil {
				return nil, false, fmt.Errorf("selector %q: index %q is not a number", selector, idx)
			}
			list, ok := cur.([]any)
			if !ok {
				return nil, false, nil
			}
			if n < 0 {
				n += len(list)
			}
			if n < 0 || n >= len(list) {
				return nil, false, nil
			}
			cur = list[n]
		default:
			return nil, false, fmt.Errorf("selector %q is not valid at %q", selector, s)
		}
	}
	return cur, true, nil
}

// interpolate replaces {{ variable }} references in v. A string that is one reference and
// nothing else takes the variable's typed value (a StringList stays a list, a Boolean a
// boolean); references inside longer strings are replaced by their string form.
func interpolate(v any, vars map[string]any) (any, error) {
	return jsontree.Rewrite(v, func(v any) (any, bool, error) {
		x, ok := v.(string)
		if !ok {
			return nil, false, nil
		}
		if m := refRE.FindStringSubmatchIndex(x); m != nil && m[0] == 0 && m[1] == len(x) {
			name := x[m[2]:m[3]]
			val, ok := vars[name]
			if !ok {
				return nil, true, fmt.Errorf("variable {{ %s }} has no value", name)
			}
			return val, true, nil
		}
		var err error
		out := refRE.ReplaceAllStringFunc(x, func(ref string) string {
			name := refRE.FindStringSubmatch(ref)[1]
			val, ok := vars[name]
			if !ok {
				err = fmt.Errorf("variable {{ %s }} has no value", name)
				return ref
			}
			return strings.Join(toStrings(val), ",")
		})
		return out, true, err
	})
}
