package audit

import (
	"encoding/json"
	"slices"
	"strconv"
	"unicode/utf8"
)

// appendString appends s as a JSON string exactly as encoding/json writes it (with its
// HTML escaping of <, > and &, \u2028 and \u2029 escaped, invalid UTF-8 as \ufffd), so
// that records encoded piecewise by hand are byte for byte what json.Marshal makes of
// them, without its reflection and allocations.
func appendString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' && b != '<' && b != '>' && b != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[b>>4], hex[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		if c == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if c == '\u2028' || c == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[c&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// appendField appends ,"name":"value" (or "name":"value" first, when comma is false).
func appendField(dst []byte, comma bool, name, value string) []byte {
	if comma {
		dst = append(dst, ',')
	}
	dst = append(dst, '"')
	dst = append(dst, name...)
	dst = append(dst, '"', ':')
	return appendString(dst, value)
}

// appendOmitEmpty appends the field unless value is empty (omitempty); it reports whether
// the object now has a field.
func appendOmitEmpty(dst []byte, comma bool, name, value string) ([]byte, bool) {
	if value == "" {
		return dst, comma
	}
	return appendField(dst, comma, name, value), true
}

func appendBool(dst []byte, name string, v bool) []byte {
	dst = append(dst, ',', '"')
	dst = append(dst, name...)
	dst = append(dst, '"', ':')
	if v {
		return append(dst, "true"...)
	}
	return append(dst, "false"...)
}

// appendResources appends the record's resources list as json.Marshal writes it.
func appendResources(dst []byte, rs []RecordResource) []byte {
	dst = append(dst, '[')
	for i, r := range rs {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, '{')
		comma := false
		dst, comma = appendOmitEmpty(dst, comma, "ARN", r.ARN)
		dst, comma = appendOmitEmpty(dst, comma, "accountId", r.AccountID)
		dst, _ = appendOmitEmpty(dst, comma, "type", r.Type)
		dst = append(dst, '}')
	}
	return append(dst, ']')
}

// appendValue appends the JSON of a rendered parameter tree (what Params returns) as
// json.Marshal writes it: object keys sorted, strings escaped alike. ok is false, with dst
// unspecified, for a value it does not write itself (floats, json.Number, anything
// unusual); the caller then uses json.Marshal for the whole tree.
func appendValue(dst []byte, v any) (_ []byte, ok bool) {
	switch x := v.(type) {
	case nil:
		return append(dst, "null"...), true
	case string:
		return appendString(dst, x), true
	case bool:
		if x {
			return append(dst, "true"...), true
		}
		return append(dst, "false"...), true
	case int64:
		return strconv.AppendInt(dst, x, 10), true
	case int:
		return strconv.AppendInt(dst, int64(x), 10), true
	case int32:
		return strconv.AppendInt(dst, int64(x), 10), true
	case map[string]any:
		if x == nil {
			return append(dst, "null"...), true
		}
		var small [16]string
		keys := small[:0]
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		dst = append(dst, '{')
		for i, k := range keys {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendString(dst, k)
			dst = append(dst, ':')
			if dst, ok = appendValue(dst, x[k]); !ok {
				return dst, false
			}
		}
		return append(dst, '}'), true
	case []any:
		if x == nil {
			return append(dst, "null"...), true
		}
		dst = append(dst, '[')
		for i, e := range x {
			if i > 0 {
				dst = append(dst, ',')
			}
			if dst, ok = appendValue(dst, e); !ok {
				return dst, false
			}
		}
		return append(dst, ']'), true
	}
	return dst, false
}

// marshalParams encodes a rendered parameter tree: by appendValue, else json.Marshal.
func marshalParams(dst []byte, v any) ([]byte, error) {
	n := len(dst)
	if out, ok := appendValue(dst, v); ok {
		return out, nil
	}
	e, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(dst[:n], e...), nil
}
