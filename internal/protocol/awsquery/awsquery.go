// Package awsquery is the codec of the AWS query protocol (SNS, IAM, STS, CloudWatch's
// query form) and of its ec2 variant: requests are form parameters with Action and
// Version, nested members dotted ("Tags.member.1.Key"), and responses and errors are XML.
package awsquery

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/bannin/bannin/internal/awserr"
	"github.com/bannin/bannin/internal/model"
	"github.com/bannin/bannin/internal/protocol/contentenc"
	"github.com/bannin/bannin/internal/protocol/fault"
	"github.com/bannin/bannin/internal/protocol/treeconv"
	"github.com/bannin/bannin/internal/protocol/xmltree"
)

// Codec is the query codec, or the ec2 codec when EC2 is set.
type Codec struct {
	EC2 bool
}

// New returns the query codec.
func New() Codec { return Codec{} }

// NewEC2 returns the ec2 codec.
func NewEC2() Codec { return Codec{EC2: true} }

// Name is "query" or "ec2".
func (c Codec) Name() string {
	if c.EC2 {
		return "ec2"
	}
	return "query"
}

// Params reads a query request's parameters: the URL query and a form-encoded body.
func Params(r *http.Request, body []byte) (url.Values, error) {
	vals, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, awserr.New("MalformedQueryString", http.StatusBadRequest, "the query string is malformed: %v", err)
	}
	body, err = contentenc.Body(r, body)
	if err != nil {
		return nil, err
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if len(body) > 0 && (ct == "" || ct == "application/x-www-form-urlencoded") {
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, awserr.New("MalformedQueryString", http.StatusBadRequest, "the form body is malformed: %v", err)
		}
		for k, v := range form {
			vals[k] = append(vals[k], v...)
		}
	}
	return vals, nil
}

// Operation reads the Action parameter.
func (c Codec) Operation(svc *model.Service, r *http.Request, body []byte) (*model.Operation, error) {
	vals, err := Params(r, body)
	if err != nil {
		return nil, err
	}
	action := vals.Get("Action")
	if action == "" {
		return nil, awserr.New("MissingAction", http.StatusBadRequest, "the request must contain the parameter Action")
	}
	op := svc.Operations[action]
	if op == nil {
		return nil, awserr.New("InvalidAction", http.StatusBadRequest,
			"the action %s is not valid for this web service (%s)", action, svc.Metadata.ServiceID)
	}
	return op, nil
}

// validation is the 400 of a parameter that does not parse.
func (c Codec) validation(err error) error {
	if c.EC2 {
		return awserr.New("InvalidParameterValue", http.StatusBadRequest, "%s", err.Error())
	}
	return awserr.New("ValidationError", http.StatusBadRequest, "%s", err.Error())
}

// DecodeRequest reads the operation's input from the parameters.
func (c Codec) DecodeRequest(svc *model.Service, op *model.Operation, r *http.Request, body []byte) (map[string]any, error) {
	vals, err := Params(r, body)
	if err != nil {
		return nil, err
	}
	if op.Input == nil {
		return map[string]any{}, nil
	}
	d := &decoder{ec2: c.EC2, vals: vals}
	v, err := d.structure("", op.Input)
	if err != nil {
		return nil, c.validation(err)
	}
	return v, nil
}

type decoder struct {
	ec2  bool
	vals url.Values
}

// memberKey is the parameter name of a structure member.
func (d *decoder) memberKey(m *model.Member) string {
	if d.ec2 {
		return EC2Name(m)
	}
	return xmltree.MemberElementName(m)
}

// EC2Name is an ec2 parameter name: queryName, else the capitalised locationName, else the name.
func EC2Name(m *model.Member) string {
	if m.QueryName != "" {
		return m.QueryName
	}
	if m.LocationName != "" {
		return strings.ToUpper(m.LocationName[:1]) + m.LocationName[1:]
	}
	return m.Name
}

func (d *decoder) has(prefix string) bool {
	if _, ok := d.vals[prefix]; ok {
		return true
	}
	p := prefix + "."
	for k := range d.vals {
		if strings.HasPrefix(k, p) {
			return true
		}
	}
	return false
}

// indices lists the N of the parameters "<prefix>.N...", in order.
func (d *decoder) indices(prefix string) []int {
	p := prefix + "."
	seen := map[int]bool{}
	for k := range d.vals {
		if !strings.HasPrefix(k, p) {
			continue
		}
		rest := k[len(p):]
		if i := strings.IndexByte(rest, '.'); i >= 0 {
			rest = rest[:i]
		}
		if n, err := strconv.Atoi(rest); err == nil && n > 0 {
			seen[n] = true
		}
	}
	out := make([]int, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Ints(out)
	return out
}

func join(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

func (d *decoder) structure(prefix string, sh *model.Shape) (map[string]any, error) {
	out := map[string]any{}
	for _, m := range sh.Members {
		key := join(prefix, d.memberKey(m))
		if !d.has(key) {
			continue
		}
		v, err := d.value(key, m)
		if err != nil {
			return nil, err
		}
		if v != nil {
			out[m.Name] = v
		}
	}
	return out, nil
}

func (d *decoder) value(key string, m *model.Member) (any, error) {
	sh := m.Shape
	switch sh.Type {
	case model.Structure:
		return d.structure(key, sh)
	case model.List:
		listPrefix := key
		if !d.ec2 && !(m.Flattened || sh.Flattened) {
			listPrefix = key + "." + xmltree.ListElementName(sh)
		}
		out := []any{}
		for _, n := range d.indices(listPrefix) {
			ek := fmt.Sprintf("%s.%d", listPrefix, n)
			v, err := d.value(ek, sh.Member)
			if err != nil {
				return nil, err
			}
			if v != nil {
				out = append(out, v)
			}
		}
		return out, nil
	case model.Map:
		entryPrefix := key
		if !(m.Flattened || sh.Flattened) {
			entryPrefix = key + ".entry"
		}
		kn, vn := "key", "value"
		if sh.Key != nil && sh.Key.LocationName != "" {
			kn = sh.Key.LocationName
		}
		if sh.Value != nil && sh.Value.LocationName != "" {
			vn = sh.Value.LocationName
		}
		out := map[string]any{}
		for _, n := range d.indices(entryPrefix) {
			ek := fmt.Sprintf("%s.%d", entryPrefix, n)
			k, ok := d.vals[ek+"."+kn]
			if !ok {
				return nil, &treeconv.Error{Path: ek, Msg: "map entry without a " + kn}
			}
			if !d.has(ek + "." + vn) {
				continue
			}
			v, err := d.value(ek+"."+vn, sh.Value)
			if err != nil {
				return nil, err
			}
			if v != nil {
				out[k[0]] = v
			}
		}
		return out, nil
	}
	vs, ok := d.vals[key]
	if !ok {
		return nil, nil
	}
	return xmltree.ParseScalar(m, vs[0], key)
}

// Namespace is the XML namespace of svc's responses.
func (c Codec) Namespace(svc *model.Service) string {
	if ns := svc.Metadata.XMLNamespace; ns != "" {
		if c.EC2 && !strings.HasSuffix(ns, "/") {
			ns += "/" // the ec2 model omits the slash that EC2 itself writes
		}
		return ns
	}
	if c.EC2 {
		return "http://ec2.amazonaws.com/doc/" + svc.Metadata.APIVersion + "/"
	}
	return "https://" + svc.Metadata.EndpointPrefix + ".amazonaws.com/doc/" + svc.Metadata.APIVersion + "/"
}

func writeXML(w http.ResponseWriter, status int, requestID string, b *bytes.Buffer) {
	h := w.Header()
	h.Set("Content-Type", "text/xml")
	h.Set("Content-Length", strconv.Itoa(b.Len()))
	if requestID != "" {
		h.Set("X-Amzn-RequestId", requestID)
	}
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

// WriteResponse writes <OpResponse> with the result (query) or the members and requestId (ec2).
func (c Codec) WriteResponse(w http.ResponseWriter, svc *model.Service, op *model.Operation, out map[string]any, requestID string) {
	var b bytes.Buffer
	b.WriteString(xml.Header)
	root := op.Name + "Response"
	b.WriteString("<" + root + ` xmlns="`)
	xmltree.Escape(&b, c.Namespace(svc))
	b.WriteString(`">`)
	if c.EC2 {
		b.WriteString("<requestId>")
		xmltree.Escape(&b, requestID)
		b.WriteString("</requestId>")
		xmltree.WriteMembers(&b, op.Output, out, nil)
	} else {
		if op.Output != nil {
			if op.ResultWrapper != "" {
				b.WriteString("<" + op.ResultWrapper + ">")
			}
			xmltree.WriteMembers(&b, op.Output, out, nil)
			if op.ResultWrapper != "" {
				b.WriteString("</" + op.ResultWrapper + ">")
			}
		}
		b.WriteString("<ResponseMetadata><RequestId>")
		xmltree.Escape(&b, requestID)
		b.WriteString("</RequestId></ResponseMetadata>")
	}
	b.WriteString("</" + root + ">")
	writeXML(w, http.StatusOK, requestID, &b)
}

// WriteError writes <ErrorResponse> (query) or <Response><Errors> (ec2).
func (c Codec) WriteError(w http.ResponseWriter, svc *model.Service, op *model.Operation, err error, requestID string) {
	f := fault.From(svc, op, err)
	var b bytes.Buffer
	b.WriteString(xml.Header)
	el := func(name, text string) {
		b.WriteString("<" + name + ">")
		xmltree.Escape(&b, text)
		b.WriteString("</" + name + ">")
	}
	if c.EC2 {
		b.WriteString("<Response><Errors><Error>")
		el("Code", f.Code)
		el("Message", f.Message)
		b.WriteString("</Error></Errors>")
		el("RequestID", requestID)
		b.WriteString("</Response>")
	} else {
		b.WriteString("<ErrorResponse")
		if svc != nil {
			b.WriteString(` xmlns="`)
			xmltree.Escape(&b, c.Namespace(svc))
			b.WriteString(`"`)
		}
		b.WriteString("><Error>")
		el("Type", f.Side())
		el("Code", f.Code)
		el("Message", f.Message)
		b.WriteString("</Error>")
		el("RequestId", requestID)
		b.WriteString("</ErrorResponse>")
	}
	writeXML(w, f.Status, requestID, &b)
}
