package pattern

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Matches reports whether event, a JSON object, matches the pattern. It
// evaluates the pattern directly, without an index: TestEventPattern's path,
// and the reference the Matcher is tested against.
func (p *Pattern) Matches(event []byte) (bool, error) {
	leaves, err := decodeLeaves(event)
	if err != nil {
		return false, err
	}
	for _, b := range p.branches {
		if branchMatches(b, leaves) {
			return true, nil
		}
	}
	return false, nil
}

func branchMatches(b branch, leaves map[string][]value) bool {
	for _, ft := range b {
		vals := leaves[ft.path]
		ok := false
		for _, c := range ft.conds {
			if c.kind == kAbsent {
				if len(vals) == 0 {
					ok = true
				}
				continue
			}
			for _, v := range vals {
				if c.matches(v) {
					ok = true
					break
				}
			}
			if ok {
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// decodeLeaves flattens an event into its leaf values by field path; array
// elements are leaves of the array's own path.
func decodeLeaves(event []byte) (map[string][]value, error) {
	dec := json.NewDecoder(bytes.NewReader(event))
	dec.UseNumber()
	var root any
	if err := dec.Decode(&root); err != nil {
		return nil, fmt.Errorf("pattern: event is not valid JSON: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("pattern: event is not valid JSON: unexpected data after the object")
	}
	obj, ok := root.(map[string]any)
	if !ok {
		return nil, errors.New("pattern: event is not a JSON object")
	}
	out := map[string][]value{}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, e := range v {
				p := k
				if path != "" {
					p = path + pathSep + k
				}
				walk(p, e)
			}
		case []any:
			for _, e := range v {
				walk(path, e)
			}
		case string:
			out[path] = append(out[path], value{kind: vString, text: v})
		case json.Number:
			out[path] = append(out[path], value{kind: vNumber, text: string(v)})
		case bool:
			out[path] = append(out[path], value{kind: vLiteral, text: fmt.Sprint(v)})
		case nil:
			out[path] = append(out[path], value{kind: vLiteral, text: "null"})
		}
	}
	for k, e := range obj {
		if strings.Contains(k, pathSep) {
			continue
		}
		walk(k, e)
	}
	return out, nil
}
