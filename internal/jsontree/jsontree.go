// Package jsontree rewrites JSON-like trees: maps, slices and scalars as encoding/json or a
// YAML decoder produce them (template parameters, runbook interpolation).
package jsontree

// Rewrite returns a copy of v in which every node that fn takes (done true) is replaced by
// fn's result; the maps and slices it does not take are copied with their children rewritten,
// other values kept. The first error stops the rewrite.
func Rewrite(v any, fn func(v any) (out any, done bool, err error)) (any, error) {
	if out, done, err := fn(v); err != nil || done {
		return out, err
	}
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			r, err := Rewrite(e, fn)
			if err != nil {
				return nil, err
			}
			out[k] = r
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			r, err := Rewrite(e, fn)
			if err != nil {
				return nil, err
			}
			out[i] = r
		}
		return out, nil
	}
	return v, nil
}
