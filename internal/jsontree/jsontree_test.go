package jsontree

import (
	"errors"
	"reflect"
	"testing"
)

func TestRewrite(t *testing.T) {
	in := map[string]any{"a": "x", "b": []any{"x", 1.0, map[string]any{"c": "x", "keep": map[string]any{"x": "x"}}}}
	got, err := Rewrite(in, func(v any) (any, bool, error) {
		if m, ok := v.(map[string]any); ok && m["x"] != nil {
			return "taken", true, nil
		}
		if v == "x" {
			return "y", true, nil
		}
		return nil, false, nil
	})
	want := map[string]any{"a": "y", "b": []any{"y", 1.0, map[string]any{"c": "y", "keep": "taken"}}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("Rewrite = %v, %v; want %v", got, err, want)
	}
	if in["a"] != "x" {
		t.Errorf("Rewrite changed its input: %v", in)
	}
	boom := errors.New("boom")
	if _, err := Rewrite([]any{"a", "b"}, func(v any) (any, bool, error) {
		if v == "b" {
			return nil, false, boom
		}
		return nil, false, nil
	}); err != boom {
		t.Errorf("Rewrite error = %v; want %v", err, boom)
	}
}
