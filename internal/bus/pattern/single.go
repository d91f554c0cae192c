package pattern

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
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

// branchMatches evaluates a branch: each field test needs a value that meets
// one of its conditions (or, for exists:false, no value), and the values
// chosen must not come from different elements of one array of objects.
func branchMatches(b branch, leaves map[string][]trailed) bool {
	var cands [][][]arrPos
	for _, ft := range b {
		vals := leaves[ft.path]
		free := false
		var c [][]arrPos
		for _, v := range vals {
			for _, cd := range ft.conds {
				if cd.kind != kAbsent && cd.matches(v.value) {
					c = append(c, v.trail)
					free = free || len(v.trail) == 0
					break
				}
			}
		}
		for _, cd := range ft.conds {
			if cd.kind == kAbsent && len(vals) == 0 {
				free = true
			}
		}
		switch {
		case free:
		case len(c) == 0:
			return false
		default:
			cands = append(cands, c)
		}
	}
	return assignable(cands)
}

// trailed is an event value with the array elements whose objects enclose it.
type trailed struct {
	value
	trail []arrPos
}

// decodeLeaves flattens an event into its leaf values by field path; array
// elements are leaves of the array's own path.
func decodeLeaves(event []byte) (map[string][]trailed, error) {
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
	out := map[string][]trailed{}
	var arrays int32
	// elems are the enclosing array elements; objTrail those that enclose
	// the innermost object.
	var walk func(path string, v any, elems, objTrail []arrPos)
	walk = func(path string, v any, elems, objTrail []arrPos) {
		add := func(val value) {
			out[path] = append(out[path], trailed{value: val, trail: objTrail})
		}
		switch v := v.(type) {
		case map[string]any:
			trail := slices.Clone(elems)
			for k, e := range v {
				p := k
				if path != "" {
					p = path + pathSep + k
				}
				walk(p, e, elems, trail)
			}
		case []any:
			arr := arrays
			arrays++
			for i, e := range v {
				walk(path, e, append(slices.Clip(elems), arrPos{arr: arr, idx: int32(i)}), objTrail)
			}
		case string:
			add(value{kind: vString, text: v})
		case json.Number:
			add(value{kind: vNumber, text: string(v)})
		case bool:
			add(value{kind: vLiteral, text: fmt.Sprint(v)})
		case nil:
			add(value{kind: vLiteral, text: "null"})
		}
	}
	for k, e := range obj {
		if strings.Contains(k, pathSep) {
			continue
		}
		walk(k, e, nil, nil)
	}
	return out, nil
}
