package query

import (
	"encoding/json"
	"slices"
	"strings"
)

// doc is one configuration item as the evaluator sees it: a decoded JSON object whose
// tags are a list of {"key","value"} objects and whose configuration is an object.
// Items in the ConfigurationItem API shape (tags as a map, configuration and
// supplementaryConfiguration values as JSON strings) are adapted on first use of the
// property, so a filter on resourceType never pays for decoding configuration. The input
// map is never modified.
type doc struct {
	m    map[string]any
	norm map[string]any // adapted top-level values, by the key used in m
}

// reset makes d the view of item m, reusing its storage.
func (d *doc) reset(m map[string]any) {
	d.m = m
	if len(d.norm) > 0 {
		clear(d.norm)
	}
}

// top returns the adapted top-level property k (matched as field does).
func (d *doc) top(k string) (any, bool) {
	if d.norm != nil {
		if v, ok := d.norm[k]; ok {
			return v, true
		}
	}
	v, ok := field(d.m, k)
	if !ok {
		return nil, false
	}
	var adapted any
	switch x := v.(type) {
	case map[string]any:
		switch {
		case strings.EqualFold(k, "tags"):
			adapted = tagList(x)
		case strings.EqualFold(k, "supplementaryConfiguration"):
			adapted = decodeValues(x)
		}
	case string:
		if strings.EqualFold(k, "configuration") {
			if dv, ok := decodeJSON(x); ok {
				adapted = dv
			}
		}
	}
	if adapted == nil {
		return v, true
	}
	if d.norm == nil {
		d.norm = map[string]any{}
	}
	d.norm[k] = adapted
	return adapted, true
}

// decodeJSON decodes s when it holds a JSON object or array.
func decodeJSON(s string) (any, bool) {
	t := strings.TrimSpace(s)
	if !strings.HasPrefix(t, "{") && !strings.HasPrefix(t, "[") {
		return nil, false
	}
	var v any
	if json.Unmarshal([]byte(t), &v) != nil {
		return nil, false
	}
	return v, true
}

// decodeValues returns m with JSON-string values decoded, or m itself when none are.
func decodeValues(m map[string]any) map[string]any {
	var out map[string]any
	for k, v := range m {
		s, ok := v.(string)
		if !ok {
			continue
		}
		dv, ok := decodeJSON(s)
		if !ok {
			continue
		}
		if out == nil {
			out = make(map[string]any, len(m))
			for k, v := range m {
				out[k] = v
			}
		}
		out[k] = dv
	}
	if out == nil {
		return m
	}
	return out
}

// tagList turns {"k":"v"} into [{"key":"k","value":"v"}], sorted by key for stable output.
func tagList(t map[string]any) []any {
	keys := make([]string, 0, len(t))
	for k := range t {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]any, 0, len(t))
	for _, k := range keys {
		out = append(out, map[string]any{"key": k, "value": t[k]})
	}
	return out
}

// field looks a key up exactly, then ignoring case.
func field(m map[string]any, k string) (any, bool) {
	if v, ok := m[k]; ok {
		return v, true
	}
	for mk, v := range m {
		if strings.EqualFold(mk, k) {
			return v, true
		}
	}
	return nil, false
}

// values calls f with every scalar value at p, descending into every element of every
// array on the way; f returns false to stop. tags.tag is the virtual "key=value" form.
func (d *doc) values(p path, f func(any) bool) {
	v, ok := d.top(p.parts[0])
	if !ok {
		return
	}
	if len(p.parts) == 2 && strings.EqualFold(p.parts[0], "tags") && strings.EqualFold(p.parts[1], "tag") {
		if list, isList := v.([]any); isList {
			for _, e := range list {
				t, ok := e.(map[string]any)
				if !ok {
					continue
				}
				k, _ := t["key"].(string)
				val, _ := t["value"].(string)
				if !f(k + "=" + val) {
					return
				}
			}
			return
		}
	}
	walkValues(v, p.parts[1:], f)
}

// single returns the value at p when reaching it crosses no array, the common case,
// so that conditions on it need no callback; multi is true when p crosses an array (or
// is tags.tag) and the caller must use values instead. ok is false when nothing is there.
func (d *doc) single(p path) (v any, ok, multi bool) {
	v, ok = d.top(p.parts[0])
	if !ok {
		return nil, false, false
	}
	if len(p.parts) == 2 && strings.EqualFold(p.parts[0], "tags") {
		return nil, false, true
	}
	for _, part := range p.parts[1:] {
		switch x := v.(type) {
		case map[string]any:
			if v, ok = field(x, part); !ok {
				return nil, false, false
			}
		case []any:
			return nil, false, true
		default:
			return nil, false, false
		}
	}
	switch v.(type) {
	case []any:
		return nil, false, true
	case map[string]any, nil:
		return nil, false, false
	}
	return v, true, false
}

// walkValues is values over a decoded JSON value; it reports whether to continue.
func walkValues(v any, parts []string, f func(any) bool) bool {
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			if !walkValues(e, parts, f) {
				return false
			}
		}
		return true
	case map[string]any:
		if len(parts) == 0 {
			return true // an object is not a comparable value
		}
		c, ok := field(x, parts[0])
		if !ok {
			return true
		}
		return walkValues(c, parts[1:], f)
	case nil:
		return true
	default:
		if len(parts) != 0 {
			return true
		}
		return f(x)
	}
}

// ptree is the set of selected property paths as a tree, so that properties under the
// same object or array are projected together.
type ptree struct {
	keys []string
	kids map[string]*ptree // nil child: the whole value is selected
}

func (t *ptree) add(parts []string) {
	if t.kids == nil {
		t.kids = map[string]*ptree{}
	}
	k := parts[0]
	c, seen := t.kids[k]
	if !seen {
		t.keys = append(t.keys, k)
	}
	if len(parts) == 1 {
		t.kids[k] = nil // whole value wins over any narrower selection
		return
	}
	if seen && c == nil {
		return
	}
	if c == nil {
		c = &ptree{}
		t.kids[k] = c
	}
	c.add(parts[1:])
}

// projectDoc is project over a configuration item's adapted top-level properties.
func (t *ptree) projectDoc(d *doc) *node {
	out := newNode()
	for _, k := range t.keys {
		c, ok := d.top(k)
		if !ok {
			continue
		}
		if sub := t.kids[k]; sub != nil {
			if pv, ok := sub.project(c); ok {
				out.keys = append(out.keys, k)
				out.vals[k] = pv
			}
			continue
		}
		out.keys = append(out.keys, k)
		out.vals[k] = c
	}
	return out
}

// project shapes v as the item has it, keeping only the selected properties: through
// arrays it maps over the elements and keeps those that have any selected property.
// ok is false when nothing selected is there.
func (t *ptree) project(v any) (any, bool) {
	switch x := v.(type) {
	case map[string]any:
		out := newNode()
		for _, k := range t.keys {
			c, ok := field(x, k)
			if !ok {
				continue
			}
			if sub := t.kids[k]; sub != nil {
				if pv, ok := sub.project(c); ok {
					out.keys = append(out.keys, k)
					out.vals[k] = pv
				}
				continue
			}
			out.keys = append(out.keys, k)
			out.vals[k] = c
		}
		return out, len(out.keys) > 0
	case []any:
		out := make([]any, 0, len(x))
		for _, e := range x {
			if pv, ok := t.project(e); ok {
				out = append(out, pv)
			}
		}
		return out, len(out) > 0
	}
	return nil, false
}

// node is an ordered JSON object under construction, so that result rows keep the order
// in which properties were selected.
type node struct {
	keys []string
	vals map[string]any // a value or *node
}

func newNode() *node { return &node{vals: map[string]any{}} }

// put stores v at the path parts, creating intermediate objects.
func (n *node) put(parts []string, v any) {
	k := parts[0]
	if len(parts) == 1 {
		if _, ok := n.vals[k]; !ok {
			n.keys = append(n.keys, k)
		}
		n.vals[k] = v
		return
	}
	child, ok := n.vals[k].(*node)
	if !ok {
		if _, exists := n.vals[k]; exists {
			// A whole object was already selected (SELECT configuration, configuration.x).
			return
		}
		child = newNode()
		n.keys = append(n.keys, k)
		n.vals[k] = child
	}
	child.put(parts[1:], v)
}

// MarshalJSON writes the object with its keys in insertion order.
func (n *node) MarshalJSON() ([]byte, error) {
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range n.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		b.Write(kb)
		b.WriteByte(':')
		vb, err := json.Marshal(n.vals[k])
		if err != nil {
			return nil, err
		}
		b.Write(vb)
	}
	b.WriteByte('}')
	return []byte(b.String()), nil
}
