package audit

import "unicode/utf8"

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
