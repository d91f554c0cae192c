package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
)

// droppedKeys are the model keys that carry only prose or client-side hints; the
// committed model.json leaves them out so the embedded models stay small.
var droppedKeys = map[string]bool{
	"documentation":     true,
	"documentationUrl":  true,
	"examples":          true,
	"deprecatedMessage": true,
	"box":               true,
	"contextParam":      true,
}

// strip re-encodes a botocore model compactly without the dropped keys, keeping the
// order of every object's keys as botocore wrote them (member order matters to codecs).
func strip(data []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var out bytes.Buffer
	if err := copyValue(dec, &out); err != nil {
		return nil, fmt.Errorf("strip: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("strip: trailing data after model")
	}
	return out.Bytes(), nil
}

// copyValue copies the next JSON value from dec to out, dropping unwanted object keys.
func copyValue(dec *json.Decoder, out *bytes.Buffer) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			out.WriteByte('{')
			first := true
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return err
				}
				key := kt.(string)
				if droppedKeys[key] {
					if err := skipValue(dec); err != nil {
						return err
					}
					continue
				}
				if !first {
					out.WriteByte(',')
				}
				first = false
				writeString(out, key)
				out.WriteByte(':')
				if err := copyValue(dec, out); err != nil {
					return err
				}
			}
			if _, err := dec.Token(); err != nil {
				return err
			}
			out.WriteByte('}')
		case '[':
			out.WriteByte('[')
			first := true
			for dec.More() {
				if !first {
					out.WriteByte(',')
				}
				first = false
				if err := copyValue(dec, out); err != nil {
					return err
				}
			}
			if _, err := dec.Token(); err != nil {
				return err
			}
			out.WriteByte(']')
		}
	case string:
		writeString(out, t)
	case json.Number:
		out.WriteString(t.String())
	case bool:
		if t {
			out.WriteString("true")
		} else {
			out.WriteString("false")
		}
	case nil:
		out.WriteString("null")
	}
	return nil
}

// skipValue consumes the next JSON value.
func skipValue(dec *json.Decoder) error {
	var discard bytes.Buffer
	return copyValue(dec, &discard)
}

func writeString(out *bytes.Buffer, s string) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	out.Write(bytes.TrimSuffix(b.Bytes(), []byte("\n")))
}
