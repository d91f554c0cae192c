package model

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Bind fills dst, a pointer to a generated wire struct, from the value tree v of the
// same shape. Members are matched by the `aws:"Name"` field tags; integers narrow to
// the field's width, lists and maps become typed slices and maps, and a streaming
// payload (an io.Reader or []byte in the tree) becomes the io.ReadCloser field. A
// member the struct does not have, or a value of the wrong kind, is an error naming
// the member and the expected type. Bind runs on every request, so the field tables
// are built once per Go type.
func Bind(dst any, v map[string]any) error {
	rv := reflect.ValueOf(dst)
	if rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("model: bind: destination is %T, want a non-nil pointer to a struct", dst)
	}
	si := structFor(rv.Elem().Type())
	if err := si.bind(rv.Elem(), v); err != nil {
		if be, ok := err.(*bindError); ok {
			be.root = si.name
		}
		return err
	}
	return nil
}

// Unbind is the reverse of Bind: it turns a generated wire struct (or a pointer to
// one) into a value tree. Nil pointers, slices, maps and interfaces are left out; a
// nil struct pointer gives a nil map.
func Unbind(src any) map[string]any {
	rv := reflect.ValueOf(src)
	if !rv.IsValid() {
		return nil
	}
	if rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return nil
		}
		rv = rv.Elem()
	}
	if rv.Kind() != reflect.Struct {
		return nil
	}
	return structFor(rv.Type()).unbind(rv)
}

// bindError locates a Bind failure: the member path inside the root struct and what
// was expected there.
type bindError struct {
	root string
	path []string // innermost first
	want string
	got  any
	why  string
}

func (e *bindError) Error() string {
	var b strings.Builder
	b.WriteString("model: bind ")
	b.WriteString(e.root)
	for i := len(e.path) - 1; i >= 0; i-- {
		b.WriteString(e.path[i])
	}
	if e.why != "" {
		b.WriteString(": ")
		b.WriteString(e.why)
		return b.String()
	}
	fmt.Fprintf(&b, ": got %s, want %s", treeTypeName(e.got), e.want)
	return b.String()
}

// at adds a path segment to err if it is a bindError.
func at(err error, seg string) error {
	if be, ok := err.(*bindError); ok {
		be.path = append(be.path, seg)
	}
	return err
}

func treeTypeName(v any) string {
	if v == nil {
		return "null"
	}
	return fmt.Sprintf("%T", v)
}

type (
	binder   func(dst reflect.Value, v any) error
	unbinder func(src reflect.Value) (any, bool)
)

// structInfo is the field table of one generated struct type.
type structInfo struct {
	name   string
	fields []fieldInfo
	byName map[string]*fieldInfo
}

type fieldInfo struct {
	member string
	index  int
	bind   binder
	unbind unbinder
}

var structCache sync.Map // reflect.Type -> *structInfo

func structFor(t reflect.Type) *structInfo {
	if si, ok := structCache.Load(t); ok {
		return si.(*structInfo)
	}
	si := &structInfo{name: t.Name(), byName: map[string]*fieldInfo{}}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("aws")
		if !f.IsExported() || tag == "" || tag == "-" {
			continue
		}
		si.fields = append(si.fields, fieldInfo{member: tag, index: i, bind: binderFor(f.Type), unbind: unbinderFor(f.Type)})
	}
	for i := range si.fields {
		si.byName[si.fields[i].member] = &si.fields[i]
	}
	got, _ := structCache.LoadOrStore(t, si)
	return got.(*structInfo)
}

func (si *structInfo) bind(dst reflect.Value, v map[string]any) error {
	for name, val := range v {
		f := si.byName[name]
		if f == nil {
			return &bindError{path: []string{"." + name}, why: "no such member in " + si.name}
		}
		if val == nil {
			continue
		}
		if err := f.bind(dst.Field(f.index), val); err != nil {
			return at(err, "."+name)
		}
	}
	return nil
}

func (si *structInfo) unbind(src reflect.Value) map[string]any {
	out := make(map[string]any, len(si.fields))
	for i := range si.fields {
		f := &si.fields[i]
		if v, ok := f.unbind(src.Field(f.index)); ok {
			out[f.member] = v
		}
	}
	return out
}

var (
	timeType       = reflect.TypeFor[time.Time]()
	bytesType      = reflect.TypeFor[[]byte]()
	readCloserType = reflect.TypeFor[io.ReadCloser]()
	anyType        = reflect.TypeFor[any]()
)

// binderFor returns the converter from a tree value to a field of type t.
func binderFor(t reflect.Type) binder {
	switch {
	case t == timeType:
		return func(dst reflect.Value, v any) error {
			tm, ok := v.(time.Time)
			if !ok {
				return &bindError{want: "time.Time", got: v}
			}
			dst.Set(reflect.ValueOf(tm))
			return nil
		}
	case t == bytesType:
		return func(dst reflect.Value, v any) error {
			b, ok := v.([]byte)
			if !ok {
				return &bindError{want: "[]byte", got: v}
			}
			dst.SetBytes(b)
			return nil
		}
	case t == readCloserType:
		return func(dst reflect.Value, v any) error {
			var rc io.ReadCloser
			switch x := v.(type) {
			case io.ReadCloser:
				rc = x
			case io.Reader:
				rc = io.NopCloser(x)
			case []byte:
				rc = io.NopCloser(bytes.NewReader(x))
			default:
				return &bindError{want: "io.Reader", got: v}
			}
			dst.Set(reflect.ValueOf(&rc).Elem())
			return nil
		}
	case t == anyType:
		return func(dst reflect.Value, v any) error {
			dst.Set(reflect.ValueOf(&v).Elem())
			return nil
		}
	}
	switch t.Kind() {
	case reflect.Pointer:
		elem := t.Elem()
		eb := binderFor(elem)
		return func(dst reflect.Value, v any) error {
			p := reflect.New(elem)
			if err := eb(p.Elem(), v); err != nil {
				return err
			}
			dst.Set(p)
			return nil
		}
	case reflect.String:
		return func(dst reflect.Value, v any) error {
			s, ok := v.(string)
			if !ok {
				return &bindError{want: "string", got: v}
			}
			dst.SetString(s)
			return nil
		}
	case reflect.Bool:
		return func(dst reflect.Value, v any) error {
			b, ok := v.(bool)
			if !ok {
				return &bindError{want: "bool", got: v}
			}
			dst.SetBool(b)
			return nil
		}
	case reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Int:
		bits := t.Bits()
		return func(dst reflect.Value, v any) error {
			n, ok := toInt64(v)
			if !ok {
				return &bindError{want: "int64", got: v}
			}
			if bits < 64 && (n > 1<<(bits-1)-1 || n < -1<<(bits-1)) {
				return &bindError{why: "value " + strconv.FormatInt(n, 10) + " out of range for " + t.Kind().String()}
			}
			dst.SetInt(n)
			return nil
		}
	case reflect.Float32, reflect.Float64:
		return func(dst reflect.Value, v any) error {
			f, ok := toFloat64(v)
			if !ok {
				return &bindError{want: "float64", got: v}
			}
			dst.SetFloat(f)
			return nil
		}
	case reflect.Struct:
		return func(dst reflect.Value, v any) error {
			m, ok := v.(map[string]any)
			if !ok {
				return &bindError{want: "map[string]any (structure " + t.Name() + ")", got: v}
			}
			return structFor(t).bind(dst, m)
		}
	case reflect.Slice:
		eb := binderFor(t.Elem())
		return func(dst reflect.Value, v any) error {
			l, ok := v.([]any)
			if !ok {
				return &bindError{want: "[]any (list)", got: v}
			}
			s := reflect.MakeSlice(t, len(l), len(l))
			for i, e := range l {
				if e == nil {
					continue
				}
				if err := eb(s.Index(i), e); err != nil {
					return at(err, "["+strconv.Itoa(i)+"]")
				}
			}
			dst.Set(s)
			return nil
		}
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			break
		}
		vt := t.Elem()
		vb := binderFor(vt)
		return func(dst reflect.Value, v any) error {
			m, ok := v.(map[string]any)
			if !ok {
				return &bindError{want: "map[string]any (map)", got: v}
			}
			out := reflect.MakeMapWithSize(t, len(m))
			ev := reflect.New(vt).Elem()
			for k, e := range m {
				ev.SetZero()
				if e != nil {
					if err := vb(ev, e); err != nil {
						return at(err, "["+strconv.Quote(k)+"]")
					}
				}
				out.SetMapIndex(reflect.ValueOf(k).Convert(t.Key()), ev)
			}
			dst.Set(out)
			return nil
		}
	}
	return func(reflect.Value, any) error {
		return &bindError{why: "unsupported field type " + t.String()}
	}
}

func toInt64(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case int:
		return int64(x), true
	case int32:
		return int64(x), true
	case float64:
		if x == math.Trunc(x) && x >= math.MinInt64 && x <= math.MaxInt64 {
			return int64(x), true
		}
	}
	return 0, false
}

func toFloat64(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case int64:
		return float64(x), true
	case int:
		return float64(x), true
	case int32:
		return float64(x), true
	}
	return 0, false
}

// unbinderFor returns the converter from a field of type t to a tree value; false
// means the field is absent.
func unbinderFor(t reflect.Type) unbinder {
	switch {
	case t == timeType:
		return func(src reflect.Value) (any, bool) { return src.Interface().(time.Time), true }
	case t == bytesType:
		return func(src reflect.Value) (any, bool) {
			if src.IsNil() {
				return nil, false
			}
			return src.Bytes(), true
		}
	}
	switch t.Kind() {
	case reflect.Interface:
		return func(src reflect.Value) (any, bool) {
			if src.IsNil() {
				return nil, false
			}
			return src.Elem().Interface(), true
		}
	case reflect.Pointer:
		eu := unbinderFor(t.Elem())
		return func(src reflect.Value) (any, bool) {
			if src.IsNil() {
				return nil, false
			}
			return eu(src.Elem())
		}
	case reflect.String:
		return func(src reflect.Value) (any, bool) { return src.String(), true }
	case reflect.Bool:
		return func(src reflect.Value) (any, bool) { return src.Bool(), true }
	case reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Int:
		return func(src reflect.Value) (any, bool) { return src.Int(), true }
	case reflect.Float32, reflect.Float64:
		return func(src reflect.Value) (any, bool) { return src.Float(), true }
	case reflect.Struct:
		return func(src reflect.Value) (any, bool) { return structFor(t).unbind(src), true }
	case reflect.Slice:
		eu := unbinderFor(t.Elem())
		return func(src reflect.Value) (any, bool) {
			if src.IsNil() {
				return nil, false
			}
			out := make([]any, 0, src.Len())
			for i := 0; i < src.Len(); i++ {
				if e, ok := eu(src.Index(i)); ok {
					out = append(out, e)
				}
			}
			return out, true
		}
	case reflect.Map:
		vu := unbinderFor(t.Elem())
		return func(src reflect.Value) (any, bool) {
			if src.IsNil() {
				return nil, false
			}
			out := make(map[string]any, src.Len())
			it := src.MapRange()
			for it.Next() {
				if e, ok := vu(it.Value()); ok {
					out[it.Key().String()] = e
				}
			}
			return out, true
		}
	}
	return func(reflect.Value) (any, bool) { return nil, false }
}
