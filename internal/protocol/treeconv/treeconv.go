// Package treeconv converts between value trees (see package model) and the generic trees
// that JSON and CBOR decoders produce and encoders consume, guided by the model. The JSON
// codecs and the CBOR codec differ only in how timestamps, blobs and member names travel,
// which Options says.
package treeconv

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"time"

	"github.com/bannin/bannin/internal/model"
)

// Options is one wire format's way of carrying what JSON-like trees cannot say natively.
type Options struct {
	// Key is the wire name of a structure member (member name or locationName).
	Key func(m *model.Member) string
	// Skip reports whether a member travels outside the body (rest bindings); may be nil.
	Skip func(m *model.Member) bool
	// Time encodes a timestamp; ParseTime decodes one.
	Time      func(t time.Time, m *model.Member) any
	ParseTime func(raw any, m *model.Member) (time.Time, error)
	// Blob encodes bytes; ParseBlob decodes them.
	Blob      func(b []byte) any
	ParseBlob func(raw any) ([]byte, error)
	// NonFiniteAsString writes NaN and infinities as the strings "NaN", "Infinity", "-Infinity" (JSON).
	NonFiniteAsString bool
}

// Error is a decoding error at a member path such as "EventSelectors[0].ReadWriteType".
type Error struct {
	Path string
	Msg  string
}

func (e *Error) Error() string {
	if e.Path == "" {
		return e.Msg
	}
	return e.Path + ": " + e.Msg
}

func errAt(path, format string, args ...any) error {
	return &Error{Path: path, Msg: fmt.Sprintf(format, args...)}
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// DecodeStruct converts a decoded wire object into the value tree of structure sh.
// raw may be nil (an empty body): the result is then an empty structure.
func DecodeStruct(raw any, sh *model.Shape, o *Options) (map[string]any, error) {
	if raw == nil {
		return map[string]any{}, nil
	}
	v, err := decodeTracked(raw, &model.Member{Shape: sh}, "", o)
	if err != nil {
		return nil, err
	}
	if v == nil {
		return map[string]any{}, nil
	}
	return v.(map[string]any), nil
}

// Decode converts one decoded wire value into the value tree form of member m.
func Decode(raw any, m *model.Member, path string, o *Options) (any, error) {
	return decodeTracked(raw, m, path, o)
}

// decodeTracked decodes without building member paths, which only errors show and which
// cost more than the rest of decoding a valid request; a failed decode runs again with
// them, to say where the error is (decoding is deterministic, so it fails the same way).
func decodeTracked(raw any, m *model.Member, path string, o *Options) (any, error) {
	v, err := decode(raw, m, path, false, o)
	if err != nil {
		return decode(raw, m, path, true, o)
	}
	return v, nil
}

// decode converts raw; with track it names the member path of an error ("" otherwise).
func decode(raw any, m *model.Member, path string, track bool, o *Options) (any, error) {
	if raw == nil {
		return nil, nil
	}
	sh := m.Shape
	if sh.Document {
		return plain(raw), nil
	}
	switch sh.Type {
	case model.Structure:
		obj, ok := asObject(raw)
		if !ok {
			return nil, errAt(path, "expected an object for %s, got %s", sh.Name, kind(raw))
		}
		out := map[string]any{}
		for _, mem := range sh.Members {
			if o.Skip != nil && o.Skip(mem) {
				continue
			}
			rv, ok := obj[o.Key(mem)]
			if !ok {
				continue
			}
			sub := ""
			if track {
				sub = join(path, mem.Name)
			}
			v, err := decode(rv, mem, sub, track, o)
			if err != nil {
				return nil, err
			}
			if v != nil {
				out[mem.Name] = v
			}
		}
		return out, nil
	case model.List:
		arr, ok := raw.([]any)
		if !ok {
			return nil, errAt(path, "expected a list for %s, got %s", sh.Name, kind(raw))
		}
		out := make([]any, 0, len(arr))
		for i, e := range arr {
			sub := ""
			if track {
				sub = fmt.Sprintf("%s[%d]", path, i)
			}
			v, err := decode(e, sh.Member, sub, track, o)
			if err != nil {
				return nil, err
			}
			if v != nil {
				out = append(out, v)
			}
		}
		return out, nil
	case model.Map:
		obj, ok := asObject(raw)
		if !ok {
			return nil, errAt(path, "expected a map for %s, got %s", sh.Name, kind(raw))
		}
		out := make(map[string]any, len(obj))
		for k, e := range obj {
			sub := ""
			if track {
				sub = fmt.Sprintf("%s[%q]", path, k)
			}
			v, err := decode(e, sh.Value, sub, track, o)
			if err != nil {
				return nil, err
			}
			if v != nil {
				out[k] = v
			}
		}
		return out, nil
	case model.String:
		s, ok := raw.(string)
		if !ok {
			return nil, errAt(path, "expected a string, got %s", kind(raw))
		}
		return s, nil
	case model.Boolean:
		b, ok := raw.(bool)
		if !ok {
			return nil, errAt(path, "expected a boolean, got %s", kind(raw))
		}
		return b, nil
	case model.Integer, model.Long:
		n, err := wireInt(raw)
		if err != nil {
			return nil, errAt(path, "%v", err)
		}
		if sh.Type == model.Integer && (n > math.MaxInt32 || n < math.MinInt32) {
			return nil, errAt(path, "%d does not fit an integer", n)
		}
		return n, nil
	case model.Float, model.Double:
		f, err := wireFloat(raw)
		if err != nil {
			return nil, errAt(path, "%v", err)
		}
		return f, nil
	case model.Timestamp:
		t, err := o.ParseTime(raw, m)
		if err != nil {
			return nil, errAt(path, "expected a timestamp: %v", err)
		}
		return t, nil
	case model.Blob:
		b, err := o.ParseBlob(raw)
		if err != nil {
			return nil, errAt(path, "expected a blob: %v", err)
		}
		return b, nil
	}
	return nil, errAt(path, "unsupported shape type %s", sh.Type)
}

func asObject(raw any) (map[string]any, bool) {
	switch v := raw.(type) {
	case map[string]any:
		return v, true
	case map[any]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			s, ok := k.(string)
			if !ok {
				return nil, false
			}
			out[s] = e
		}
		return out, true
	}
	return nil, false
}

func kind(raw any) string {
	switch raw.(type) {
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case []any:
		return "a list"
	case map[string]any, map[any]any:
		return "an object"
	case json.Number, float64, float32, int64, uint64, int:
		return "a number"
	case []byte:
		return "a byte string"
	}
	return fmt.Sprintf("%T", raw)
}

func wireInt(raw any) (int64, error) {
	switch v := raw.(type) {
	case json.Number:
		n, err := strconv.ParseInt(string(v), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s is not an integer", v)
		}
		return n, nil
	case int64:
		return v, nil
	case uint64:
		if v > math.MaxInt64 {
			return 0, fmt.Errorf("%d is out of range", v)
		}
		return int64(v), nil
	case int:
		return int64(v), nil
	case float64:
		if v != math.Trunc(v) || math.Abs(v) > 1<<53 {
			return 0, fmt.Errorf("%v is not an integer", v)
		}
		return int64(v), nil
	}
	return 0, fmt.Errorf("expected an integer, got %s", kind(raw))
}

func wireFloat(raw any) (float64, error) {
	switch v := raw.(type) {
	case json.Number:
		f, err := strconv.ParseFloat(string(v), 64)
		if err != nil {
			return 0, fmt.Errorf("%s is not a number", v)
		}
		return f, nil
	case float64:
		return v, nil
	case float32:
		return float64(v), nil
	case int64:
		return float64(v), nil
	case uint64:
		return float64(v), nil
	case int:
		return float64(v), nil
	case string:
		switch v {
		case "NaN":
			return math.NaN(), nil
		case "Infinity":
			return math.Inf(1), nil
		case "-Infinity":
			return math.Inf(-1), nil
		}
	}
	return 0, fmt.Errorf("expected a number, got %s", kind(raw))
}

// plain turns json.Number values of a document into float64, as encoding/json would.
func plain(raw any) any {
	switch v := raw.(type) {
	case json.Number:
		f, _ := v.Float64()
		return f
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = plain(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = plain(e)
		}
		return out
	}
	return raw
}

// EncodeStruct converts the value tree v of structure sh into a wire object.
func EncodeStruct(v map[string]any, sh *model.Shape, o *Options) map[string]any {
	out := map[string]any{}
	if sh == nil {
		return out
	}
	for _, mem := range sh.Members {
		if o.Skip != nil && o.Skip(mem) {
			continue
		}
		e, ok := v[mem.Name]
		if !ok || e == nil {
			continue
		}
		if w := Encode(e, mem, o); w != nil {
			out[o.Key(mem)] = w
		}
	}
	return out
}

// Encode converts one value of member m into its wire form; nil when v does not fit.
func Encode(v any, m *model.Member, o *Options) any {
	sh := m.Shape
	if sh.Document {
		return v
	}
	switch sh.Type {
	case model.Structure:
		s, ok := AsMap(v)
		if !ok {
			return nil
		}
		return EncodeStruct(s, sh, o)
	case model.List:
		l, ok := AsList(v)
		if !ok {
			return nil
		}
		out := make([]any, 0, len(l))
		for _, e := range l {
			if w := Encode(e, sh.Member, o); w != nil {
				out = append(out, w)
			}
		}
		return out
	case model.Map:
		mp, ok := AsMap(v)
		if !ok {
			return nil
		}
		out := make(map[string]any, len(mp))
		for k, e := range mp {
			if w := Encode(e, sh.Value, o); w != nil {
				out[k] = w
			}
		}
		return out
	case model.String:
		s, ok := AsString(v)
		if !ok {
			return nil
		}
		return s
	case model.Boolean:
		b, ok := v.(bool)
		if !ok {
			return nil
		}
		return b
	case model.Integer, model.Long:
		n, ok := AsInt(v)
		if !ok {
			return nil
		}
		return n
	case model.Float, model.Double:
		f, ok := AsFloat(v)
		if !ok {
			return nil
		}
		if o.NonFiniteAsString {
			switch {
			case math.IsNaN(f):
				return "NaN"
			case math.IsInf(f, 1):
				return "Infinity"
			case math.IsInf(f, -1):
				return "-Infinity"
			}
		}
		return f
	case model.Timestamp:
		t, ok := v.(time.Time)
		if !ok {
			return nil
		}
		return o.Time(t, m)
	case model.Blob:
		b, ok := AsBytes(v)
		if !ok {
			return nil
		}
		return o.Blob(b)
	}
	return nil
}

// AsString reads a string value, also from named string types (generated enums).
func AsString(v any) (string, bool) {
	if s, ok := v.(string); ok {
		return s, true
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.String {
		return rv.String(), true
	}
	return "", false
}

// AsInt reads an integer value of any Go integer type (or an integral float).
func AsInt(v any) (int64, bool) {
	switch n := v.(type) {
	case int64:
		return n, true
	case int:
		return int64(n), true
	case int32:
		return int64(n), true
	case float64:
		if n == math.Trunc(n) {
			return int64(n), true
		}
		return 0, false
	case json.Number:
		i, err := n.Int64()
		return i, err == nil
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int(), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return int64(rv.Uint()), true
	}
	return 0, false
}

// AsFloat reads a number value of any Go numeric type.
func AsFloat(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case float32:
		return float64(n), true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	}
	if i, ok := AsInt(v); ok {
		return float64(i), true
	}
	return 0, false
}

// AsBytes reads a blob value ([]byte, or a string taken as its bytes).
func AsBytes(v any) ([]byte, bool) {
	switch b := v.(type) {
	case []byte:
		return b, true
	case string:
		return []byte(b), true
	}
	return nil, false
}

// AsList reads a list value ([]any or any slice type).
func AsList(v any) ([]any, bool) {
	if l, ok := v.([]any); ok {
		return l, true
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Slice || rv.Type().Elem().Kind() == reflect.Uint8 {
		return nil, false
	}
	out := make([]any, rv.Len())
	for i := range out {
		out[i] = rv.Index(i).Interface()
	}
	return out, true
}

// AsMap reads a structure or map value (map[string]any or any map keyed by strings).
func AsMap(v any) (map[string]any, bool) {
	if m, ok := v.(map[string]any); ok {
		return m, true
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Map || rv.Type().Key().Kind() != reflect.String {
		return nil, false
	}
	out := make(map[string]any, rv.Len())
	for _, k := range rv.MapKeys() {
		out[k.String()] = rv.MapIndex(k).Interface()
	}
	return out, true
}

// SortedKeys returns a map's keys in order, for deterministic output.
func SortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
