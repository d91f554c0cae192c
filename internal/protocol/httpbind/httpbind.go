// Package httpbind is what the REST protocols (rest-xml, rest-json) share: routing a
// request to the operation whose method and requestUri template fit it best, and the
// members bound to the URI path, query string, headers and status code.
package httpbind

import (
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"

	"github.com/bannin/bannin/internal/model"
	"github.com/bannin/bannin/internal/protocol/timefmt"
	"github.com/bannin/bannin/internal/protocol/treeconv"
	"github.com/bannin/bannin/internal/protocol/xmltree"
)

type segment struct {
	lit    string
	label  string
	greedy bool
}

type queryLit struct {
	key, val string
	hasVal   bool
}

type route struct {
	op       *model.Operation
	segs     []segment
	lits     []queryLit
	required []*model.Member // required header and querystring members
}

var routeCache sync.Map // *model.Service -> []*route

func routes(svc *model.Service) []*route {
	if v, ok := routeCache.Load(svc); ok {
		return v.([]*route)
	}
	var rs []*route
	for _, op := range svc.OperationList {
		rs = append(rs, parseRoute(op))
	}
	routeCache.Store(svc, rs)
	return rs
}

func parseRoute(op *model.Operation) *route {
	rt := &route{op: op}
	p, q, _ := strings.Cut(op.RequestURI, "?")
	for _, s := range strings.Split(strings.Trim(p, "/"), "/") {
		switch {
		case s == "":
		case strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}"):
			name := s[1 : len(s)-1]
			g := strings.HasSuffix(name, "+")
			rt.segs = append(rt.segs, segment{label: strings.TrimSuffix(name, "+"), greedy: g})
		default:
			rt.segs = append(rt.segs, segment{lit: s})
		}
	}
	if q != "" {
		for _, kv := range strings.Split(q, "&") {
			k, v, has := strings.Cut(kv, "=")
			rt.lits = append(rt.lits, queryLit{key: k, val: v, hasVal: has})
		}
	}
	if op.Input != nil {
		for _, m := range op.Input.Members {
			if (m.Location == "header" || m.Location == "querystring") && op.Input.IsRequired(m.Name) {
				rt.required = append(rt.required, m)
			}
		}
	}
	return rt
}

// match returns the labels of path against the route's segments.
func (rt *route) match(rawSegs []string) (map[string]string, bool) {
	labels := map[string]string{}
	i := 0
	for si, s := range rt.segs {
		if s.greedy {
			if si != len(rt.segs)-1 || i >= len(rawSegs) {
				return nil, false
			}
			rest := strings.Join(rawSegs[i:], "/")
			if rest == "" {
				return nil, false
			}
			v, err := url.PathUnescape(rest)
			if err != nil {
				return nil, false
			}
			labels[s.label] = v
			return labels, true
		}
		if i >= len(rawSegs) {
			return nil, false
		}
		raw := rawSegs[i]
		i++
		if s.lit != "" {
			if raw != s.lit {
				return nil, false
			}
			continue
		}
		if raw == "" {
			return nil, false
		}
		v, err := url.PathUnescape(raw)
		if err != nil {
			return nil, false
		}
		labels[s.label] = v
	}
	// A single trailing slash is allowed ("/bucket/").
	if i == len(rawSegs) || (i == len(rawSegs)-1 && rawSegs[i] == "") {
		return labels, true
	}
	return nil, false
}

// Match errors: no operation has the path, or none has it with this method.
var (
	ErrNoRoute    = fmt.Errorf("httpbind: no operation matches the path")
	ErrNoMethod   = fmt.Errorf("httpbind: no operation matches the method")
	literalXIDKey = "x-id"
)

// Match finds the operation for method and escaped path (with the query and headers of r)
// and returns it with the values of its URI labels. The most specific template wins:
// matched query literals first, then required header/query members present, then
// literal path segments. The smithy "x-id" literal is optional, as not every client sends it.
func Match(svc *model.Service, method, escapedPath string, query url.Values, h http.Header) (*model.Operation, map[string]string, error) {
	p := strings.TrimPrefix(escapedPath, "/")
	var raw []string
	if p != "" {
		raw = strings.Split(p, "/")
	}
	type cand struct {
		rt     *route
		labels map[string]string
		score  int
	}
	var cands []cand
	pathMatched := false
	for _, rt := range routes(svc) {
		labels, ok := rt.match(raw)
		if !ok {
			continue
		}
		score, ok := rt.queryScore(query)
		if !ok {
			continue
		}
		pathMatched = true
		if !strings.EqualFold(rt.op.Method, method) {
			continue
		}
		for _, m := range rt.required {
			present := false
			if m.Location == "header" {
				present = h.Get(m.ElementName()) != ""
			} else {
				present = query.Has(m.ElementName())
			}
			if present {
				score += 100
			} else {
				score -= 1000
			}
		}
		for _, s := range rt.segs {
			if s.lit != "" {
				score++
			}
		}
		cands = append(cands, cand{rt, labels, score})
	}
	if len(cands) == 0 {
		if pathMatched {
			return nil, nil, ErrNoMethod
		}
		return nil, nil, ErrNoRoute
	}
	sort.SliceStable(cands, func(i, j int) bool { return cands[i].score > cands[j].score })
	return cands[0].rt.op, cands[0].labels, nil
}

func (rt *route) queryScore(q url.Values) (int, bool) {
	score := 0
	for _, l := range rt.lits {
		vals, has := q[l.key]
		if l.key == literalXIDKey {
			if !has {
				continue
			}
			if len(vals) == 0 || vals[0] != l.val {
				return 0, false
			}
			score += 10000
			continue
		}
		if !has || (l.hasVal && (len(vals) == 0 || vals[0] != l.val)) {
			return 0, false
		}
		score += 10000
	}
	return score, true
}

// BindingError is a URI label, query parameter or header whose text does not parse as its
// member's type. Its message is Err's; Member and Value let a protocol word it as its
// services do (S3 names the parameter in ArgumentName and ArgumentValue).
type BindingError struct {
	Member *model.Member
	Value  string
	Err    error
}

func (e *BindingError) Error() string { return e.Err.Error() }
func (e *BindingError) Unwrap() error { return e.Err }

// Bound reports whether member m travels outside the body.
func Bound(m *model.Member) bool {
	switch m.Location {
	case "uri", "querystring", "header", "headers", "statusCode":
		return true
	}
	return false
}

// DecodeBindings reads the input members bound to the URI labels, query string and headers.
// A value that does not parse as its member's type is a *BindingError.
func DecodeBindings(sh *model.Shape, r *http.Request, labels map[string]string, in map[string]any) error {
	if sh == nil {
		return nil
	}
	query := r.URL.Query()
	bound := map[string]bool{}
	for _, m := range sh.Members {
		if m.Location == "querystring" && m.LocationName != "" {
			bound[m.LocationName] = true
		}
	}
	for _, m := range sh.Members {
		name := m.ElementName()
		switch m.Location {
		case "uri":
			if v, ok := labels[name]; ok {
				val, err := xmltree.ParseScalar(m, v, m.Name)
				if err != nil {
					return &BindingError{Member: m, Value: v, Err: err}
				}
				in[m.Name] = val
			}
		case "header":
			vals := r.Header.Values(name)
			if len(vals) == 0 {
				continue
			}
			if m.Shape.Type == model.List {
				var out []any
				for _, v := range vals {
					for _, p := range splitHeaderList(v) {
						e, err := xmltree.ParseScalar(m.Shape.Member, p, m.Name)
						if err != nil {
							return &BindingError{Member: m, Value: p, Err: err}
						}
						out = append(out, e)
					}
				}
				in[m.Name] = out
				continue
			}
			val, err := xmltree.ParseScalar(m, vals[0], m.Name)
			if err != nil {
				return &BindingError{Member: m, Value: vals[0], Err: err}
			}
			in[m.Name] = val
		case "headers":
			prefix := strings.ToLower(name)
			out := map[string]any{}
			for k, vs := range r.Header {
				lk := strings.ToLower(k)
				if strings.HasPrefix(lk, prefix) && len(vs) > 0 {
					out[lk[len(prefix):]] = strings.Join(vs, ",")
				}
			}
			if len(out) > 0 {
				in[m.Name] = out
			}
		case "querystring":
			if m.Shape.Type == model.Map {
				out := map[string]any{}
				for k, vs := range query {
					if bound[k] || len(vs) == 0 {
						continue
					}
					if m.Shape.Value.Shape.Type == model.List {
						l := make([]any, len(vs))
						for i, v := range vs {
							l[i] = v
						}
						out[k] = l
					} else {
						out[k] = vs[0]
					}
				}
				if len(out) > 0 {
					in[m.Name] = out
				}
				continue
			}
			vs, ok := query[name]
			if !ok {
				continue
			}
			if m.Shape.Type == model.List {
				out := make([]any, 0, len(vs))
				for _, v := range vs {
					e, err := xmltree.ParseScalar(m.Shape.Member, v, m.Name)
					if err != nil {
						return &BindingError{Member: m, Value: v, Err: err}
					}
					out = append(out, e)
				}
				in[m.Name] = out
				continue
			}
			val, err := xmltree.ParseScalar(m, vs[0], m.Name)
			if err != nil {
				return &BindingError{Member: m, Value: vs[0], Err: err}
			}
			in[m.Name] = val
		}
	}
	return nil
}

func splitHeaderList(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// WriteBindings sets the response headers bound in output shape sh and returns the
// status the output names (statusCode member), or def.
func WriteBindings(h http.Header, sh *model.Shape, out map[string]any, def int) int {
	status := def
	if sh == nil {
		return status
	}
	for _, m := range sh.Members {
		v, ok := out[m.Name]
		if !ok || v == nil {
			continue
		}
		name := m.ElementName()
		switch m.Location {
		case "statusCode":
			if n, ok := treeconv.AsInt(v); ok && n >= 100 && n < 600 {
				status = int(n)
			}
		case "header":
			if m.Shape.Type == model.List {
				l, _ := treeconv.AsList(v)
				var parts []string
				for _, e := range l {
					if s, ok := xmltree.ScalarIn(m.Shape.Member, e, timefmt.RFC822); ok {
						parts = append(parts, s)
					}
				}
				if len(parts) > 0 {
					h.Set(name, strings.Join(parts, ", "))
				}
				continue
			}
			if s, ok := xmltree.ScalarIn(m, v, timefmt.RFC822); ok {
				h.Set(name, s)
			}
		case "headers":
			mp, _ := treeconv.AsMap(v)
			for k, e := range mp {
				if s, ok := treeconv.AsString(e); ok {
					// As S3 sends them: x-amz-meta-owner, not X-Amz-Meta-Owner, since
					// clients (botocore) take the key from the header name as written.
					h[strings.ToLower(name+k)] = []string{s}
				}
			}
		}
	}
	return status
}

// Itoa is strconv.Itoa, for codecs setting Content-Length.
