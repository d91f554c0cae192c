package sigv4

import (
	"net/http"
	"net/url"
	"path"
	"sort"
	"strconv"
	"strings"
)

// uriEncode is AWS's UriEncode: every byte but the unreserved characters A-Z a-z 0-9 - . _ ~
// becomes %XX with upper-case hex; '/' is kept when keepSlash is set (paths).
func uriEncode(s string, keepSlash bool) string {
	const hexUpper = "0123456789ABCDEF"
	n := 0
	for i := 0; i < len(s); i++ {
		if !unreserved(s[i]) && !(keepSlash && s[i] == '/') {
			n++
		}
	}
	if n == 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) || keepSlash && c == '/' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexUpper[c>>4])
		b.WriteByte(hexUpper[c&15])
	}
	return b.String()
}

func unreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

// wirePath is the request path exactly as the client sent it, still percent-encoded.
func wirePath(r *http.Request) string {
	p := r.RequestURI
	if p == "" || p[0] != '/' {
		p = r.URL.EscapedPath()
	} else if i := strings.IndexByte(p, '?'); i >= 0 {
		p = p[:i]
	}
	if p == "" {
		p = "/"
	}
	return p
}

// canonicalURIs are the canonical URIs a client may have signed, most likely first. S3 signs
// the path as sent (single encoding, no normalisation); the canonical re-encoding of the
// decoded path is also accepted, for clients that percent-encode differently. Every other
// service signs the sent path encoded once more (double encoding), normalised (dot segments
// and repeated slashes removed) by clients such as botocore and not by others.
func canonicalURIs(r *http.Request, s3 bool) []string {
	raw := wirePath(r)
	if s3 {
		out := []string{raw}
		if dec, err := url.PathUnescape(raw); err == nil {
			if re := uriEncode(dec, true); re != raw {
				out = append(out, re)
			}
		}
		return out
	}
	out := []string{uriEncode(raw, true)}
	norm := path.Clean(raw)
	if strings.HasSuffix(raw, "/") && norm != "/" {
		norm += "/"
	}
	if norm != raw {
		out = append(out, uriEncode(norm, true))
	}
	return out
}

// canonicalQuery is the canonical query string: every parameter name and value decoded and
// re-encoded with uriEncode, sorted by name then value, X-Amz-Signature left out of presigned
// requests. A '+' decodes to a space, as the server reads it.
func canonicalQuery(raw string, presigned bool) string {
	if raw == "" {
		return ""
	}
	type kv struct{ k, v string }
	var params []kv
	for _, part := range strings.Split(raw, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		k = queryUnescape(k)
		if presigned && k == "X-Amz-Signature" {
			continue
		}
		params = append(params, kv{uriEncode(k, false), uriEncode(queryUnescape(v), false)})
	}
	sort.Slice(params, func(i, j int) bool {
		if params[i].k != params[j].k {
			return params[i].k < params[j].k
		}
		return params[i].v < params[j].v
	})
	var b strings.Builder
	for i, p := range params {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.k)
		b.WriteByte('=')
		b.WriteString(p.v)
	}
	return b.String()
}

// queryUnescape decodes like url.QueryUnescape but keeps a malformed escape as it is, so
// that a bad request fails on its signature rather than on a parse error here.
func queryUnescape(s string) string {
	if d, err := url.QueryUnescape(s); err == nil {
		return d
	}
	return s
}

// canonicalHeaders is the canonical headers block for the signed header names, in the order
// the client listed them: "name:value\n" per header, values trimmed with inner runs of
// spaces collapsed, and repeated headers joined with commas.
func canonicalHeaders(r *http.Request, signed []string) string {
	var b strings.Builder
	for _, name := range signed {
		b.WriteString(name)
		b.WriteByte(':')
		switch name {
		case "host":
			b.WriteString(trimAll(r.Host))
		case "content-length":
			if v := r.Header.Values("Content-Length"); len(v) > 0 {
				b.WriteString(trimAll(v[0]))
			} else if r.ContentLength >= 0 {
				b.WriteString(strconv.FormatInt(r.ContentLength, 10))
			}
		case "transfer-encoding":
			b.WriteString(strings.Join(r.TransferEncoding, ","))
		default:
			for i, v := range r.Header.Values(name) {
				if i > 0 {
					b.WriteByte(',')
				}
				b.WriteString(trimAll(v))
			}
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// trimAll trims surrounding white space and collapses inner runs of spaces to one.
func trimAll(s string) string {
	s = strings.TrimSpace(s)
	if !strings.Contains(s, "  ") {
		return s
	}
	var b strings.Builder
	space := false
	for i := 0; i < len(s); i++ {
		if s[i] == ' ' {
			if space {
				continue
			}
			space = true
		} else {
			space = false
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
