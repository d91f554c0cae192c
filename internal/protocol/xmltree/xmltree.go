// Package xmltree converts between value trees and the XML of the query, ec2 and rest-xml
// protocols, following the model's locationName, flattened, xmlAttribute, xmlNamespace
// and timestampFormat traits as botocore and the smithy SDKs do.
package xmltree

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/bannin/bannin/internal/model"
	"github.com/bannin/bannin/internal/protocol/timefmt"
	"github.com/bannin/bannin/internal/protocol/treeconv"
)

// Skip reports whether a structure member travels outside the XML body; may be nil.
type Skip func(m *model.Member) bool

// ListElementName is the element name of a list's items: its member's locationName or "member".
func ListElementName(sh *model.Shape) string {
	if sh.Member != nil && sh.Member.LocationName != "" {
		return sh.Member.LocationName
	}
	return "member"
}

// flattened reports whether member m's list or map is written without a wrapper element.
func flattened(m *model.Member) bool {
	return m.Flattened || m.Shape.Flattened
}

// MemberElementName is the element a structure member is written as. A flattened list
// whose member has a locationName repeats that name, as botocore reads it.
func MemberElementName(m *model.Member) string {
	if m.Shape.Type == model.List && flattened(m) && m.Shape.Member != nil && m.Shape.Member.LocationName != "" {
		return m.Shape.Member.LocationName
	}
	return m.ElementName()
}

// Escape writes s with XML escaping.
func Escape(b *bytes.Buffer, s string) {
	_ = xml.EscapeText(b, []byte(s))
}

func nsAttr(ns *model.XMLNamespace) string {
	if ns == nil || ns.URI == "" {
		return ""
	}
	var b bytes.Buffer
	if ns.Prefix != "" {
		b.WriteString(" xmlns:" + ns.Prefix + `="`)
	} else {
		b.WriteString(` xmlns="`)
	}
	Escape(&b, ns.URI)
	b.WriteString(`"`)
	return b.String()
}

// WriteMembers writes the elements of structure sh's members present in v.
func WriteMembers(b *bytes.Buffer, sh *model.Shape, v map[string]any, skip Skip) {
	if sh == nil {
		return
	}
	for _, m := range sh.Members {
		if m.XMLAttribute || (skip != nil && skip(m)) {
			continue
		}
		e, ok := v[m.Name]
		if !ok || e == nil {
			continue
		}
		WriteMember(b, m, e)
	}
}

// WriteMember writes one structure member (several elements for a flattened collection).
func WriteMember(b *bytes.Buffer, m *model.Member, v any) {
	name := MemberElementName(m)
	sh := m.Shape
	switch {
	case sh.Type == model.List && flattened(m):
		l, _ := treeconv.AsList(v)
		for _, e := range l {
			WriteElement(b, name, sh.Member, e, "")
		}
	case sh.Type == model.Map && flattened(m):
		mp, _ := treeconv.AsMap(v)
		for _, k := range treeconv.SortedKeys(mp) {
			b.WriteString("<" + name + ">")
			writeEntry(b, sh, k, mp[k])
			b.WriteString("</" + name + ">")
		}
	default:
		WriteElement(b, name, m, v, nsAttr(m.XMLNamespace))
	}
}

func writeEntry(b *bytes.Buffer, sh *model.Shape, k string, v any) {
	kn, vn := "key", "value"
	if sh.Key != nil && sh.Key.LocationName != "" {
		kn = sh.Key.LocationName
	}
	if sh.Value != nil && sh.Value.LocationName != "" {
		vn = sh.Value.LocationName
	}
	b.WriteString("<" + kn + ">")
	Escape(b, k)
	b.WriteString("</" + kn + ">")
	WriteElement(b, vn, sh.Value, v, "")
}

// WriteElement writes <name attrs>v</name> for a value of member m.
func WriteElement(b *bytes.Buffer, name string, m *model.Member, v any, attrs string) {
	sh := m.Shape
	switch sh.Type {
	case model.Structure:
		s, ok := treeconv.AsMap(v)
		if !ok {
			return
		}
		if attrs == "" {
			attrs = nsAttr(sh.XMLNamespace)
		}
		b.WriteString("<" + name + attrs)
		for _, am := range sh.Members {
			if !am.XMLAttribute {
				continue
			}
			if av, ok := s[am.Name]; ok {
				if text, ok := Scalar(am, av); ok {
					b.WriteString(" " + am.ElementName() + `="`)
					Escape(b, text)
					b.WriteString(`"`)
				}
			}
		}
		b.WriteString(">")
		WriteMembers(b, sh, s, nil)
		b.WriteString("</" + name + ">")
	case model.List:
		l, ok := treeconv.AsList(v)
		if !ok {
			return
		}
		b.WriteString("<" + name + attrs + ">")
		item := ListElementName(sh)
		for _, e := range l {
			WriteElement(b, item, sh.Member, e, "")
		}
		b.WriteString("</" + name + ">")
	case model.Map:
		mp, ok := treeconv.AsMap(v)
		if !ok {
			return
		}
		b.WriteString("<" + name + attrs + ">")
		for _, k := range treeconv.SortedKeys(mp) {
			b.WriteString("<entry>")
			writeEntry(b, sh, k, mp[k])
			b.WriteString("</entry>")
		}
		b.WriteString("</" + name + ">")
	default:
		text, ok := Scalar(m, v)
		if !ok {
			return
		}
		b.WriteString("<" + name + attrs + ">")
		Escape(b, text)
		b.WriteString("</" + name + ">")
	}
}

// Scalar renders a scalar value of member m as XML text (ISO 8601 timestamps, base64 blobs).
func Scalar(m *model.Member, v any) (string, bool) {
	return ScalarIn(m, v, timefmt.ISO8601)
}

// ScalarIn renders a scalar with defTime as the default timestamp format (headers use rfc822).
func ScalarIn(m *model.Member, v any, defTime string) (string, bool) {
	switch m.Shape.Type {
	case model.String:
		return treeconv.AsString(v)
	case model.Boolean:
		bv, ok := v.(bool)
		return strconv.FormatBool(bv), ok
	case model.Integer, model.Long:
		n, ok := treeconv.AsInt(v)
		return strconv.FormatInt(n, 10), ok
	case model.Float, model.Double:
		f, ok := treeconv.AsFloat(v)
		return FormatFloat(f), ok
	case model.Timestamp:
		t, ok := v.(time.Time)
		if !ok {
			return "", false
		}
		return timefmt.Format(t, timefmt.Of(m, defTime)), true
	case model.Blob:
		bs, ok := treeconv.AsBytes(v)
		return base64.StdEncoding.EncodeToString(bs), ok
	}
	return "", false
}

// FormatFloat writes a float as AWS text protocols do, with NaN and Infinity spelled out.
func FormatFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// ParseScalar reads the text form of a scalar of member m; path names it in errors.
func ParseScalar(m *model.Member, text, path string) (any, error) {
	bad := func(what string) error {
		return &treeconv.Error{Path: path, Msg: fmt.Sprintf("%q is not a valid %s", text, what)}
	}
	switch m.Shape.Type {
	case model.String:
		return text, nil
	case model.Boolean:
		switch strings.TrimSpace(text) {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
		return nil, bad("boolean")
	case model.Integer, model.Long:
		n, err := strconv.ParseInt(strings.TrimSpace(text), 10, 64)
		if err != nil || (m.Shape.Type == model.Integer && (n > math.MaxInt32 || n < math.MinInt32)) {
			return nil, bad("integer")
		}
		return n, nil
	case model.Float, model.Double:
		s := strings.TrimSpace(text)
		switch s {
		case "NaN":
			return math.NaN(), nil
		case "Infinity":
			return math.Inf(1), nil
		case "-Infinity":
			return math.Inf(-1), nil
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, bad("number")
		}
		return f, nil
	case model.Timestamp:
		t, err := timefmt.Parse(text)
		if err != nil {
			return nil, bad("timestamp")
		}
		return t, nil
	case model.Blob:
		bs, err := base64.StdEncoding.DecodeString(strings.TrimSpace(text))
		if err != nil {
			return nil, bad("base64 blob")
		}
		return bs, nil
	}
	return nil, bad(m.Shape.Type.String())
}

// Node is a parsed XML element.
type Node struct {
	Name     string // local name
	Space    string
	Attrs    []xml.Attr
	Children []*Node
	Text     string
}

// Parse reads an XML document into its root element.
func Parse(r io.Reader) (*Node, error) {
	dec := xml.NewDecoder(r)
	var stack []*Node
	var root *Node
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			n := &Node{Name: t.Name.Local, Space: t.Name.Space, Attrs: t.Attr}
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.Children = append(p.Children, n)
			} else if root != nil {
				return nil, fmt.Errorf("more than one root element")
			} else {
				root = n
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].Text += string(t)
			}
		}
	}
	if root == nil {
		return nil, fmt.Errorf("no root element")
	}
	return root, nil
}

// Child returns the first child element called name.
func (n *Node) Child(name string) *Node {
	for _, c := range n.Children {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func localName(s string) string {
	if i := strings.IndexByte(s, ':'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// DecodeStruct reads element n as structure sh.
func DecodeStruct(n *Node, sh *model.Shape, path string, skip Skip) (map[string]any, error) {
	out := map[string]any{}
	for _, m := range sh.Members {
		if skip != nil && skip(m) {
			continue
		}
		mp := path + "." + m.Name
		if path == "" {
			mp = m.Name
		}
		if m.XMLAttribute {
			want := localName(m.ElementName())
			for _, a := range n.Attrs {
				if a.Name.Local == want {
					v, err := ParseScalar(m, a.Value, mp)
					if err != nil {
						return nil, err
					}
					out[m.Name] = v
				}
			}
			continue
		}
		name := MemberElementName(m)
		if flattened(m) && (m.Shape.Type == model.List || m.Shape.Type == model.Map) {
			var items []any
			entries := map[string]any{}
			for _, c := range n.Children {
				if c.Name != name {
					continue
				}
				if m.Shape.Type == model.List {
					v, err := DecodeValue(c, m.Shape.Member, fmt.Sprintf("%s[%d]", mp, len(items)))
					if err != nil {
						return nil, err
					}
					items = append(items, v)
				} else if err := decodeEntry(c, m.Shape, entries, mp); err != nil {
					return nil, err
				}
			}
			if m.Shape.Type == model.List && items != nil {
				out[m.Name] = items
			}
			if m.Shape.Type == model.Map && len(entries) > 0 {
				out[m.Name] = entries
			}
			continue
		}
		c := n.Child(name)
		if c == nil {
			continue
		}
		v, err := DecodeValue(c, m, mp)
		if err != nil {
			return nil, err
		}
		out[m.Name] = v
	}
	return out, nil
}

func decodeEntry(c *Node, sh *model.Shape, into map[string]any, path string) error {
	kn, vn := "key", "value"
	if sh.Key != nil && sh.Key.LocationName != "" {
		kn = sh.Key.LocationName
	}
	if sh.Value != nil && sh.Value.LocationName != "" {
		vn = sh.Value.LocationName
	}
	k := c.Child(kn)
	if k == nil {
		return &treeconv.Error{Path: path, Msg: "map entry without a " + kn}
	}
	vnode := c.Child(vn)
	if vnode == nil {
		return nil
	}
	v, err := DecodeValue(vnode, sh.Value, fmt.Sprintf("%s[%q]", path, k.Text))
	if err != nil {
		return err
	}
	into[k.Text] = v
	return nil
}

// DecodeValue reads element n as a value of member m.
func DecodeValue(n *Node, m *model.Member, path string) (any, error) {
	sh := m.Shape
	switch sh.Type {
	case model.Structure:
		return DecodeStruct(n, sh, path, nil)
	case model.List:
		out := []any{}
		for _, c := range n.Children {
			v, err := DecodeValue(c, sh.Member, fmt.Sprintf("%s[%d]", path, len(out)))
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case model.Map:
		out := map[string]any{}
		for _, c := range n.Children {
			if err := decodeEntry(c, sh, out, path); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	return ParseScalar(m, n.Text, path)
}
