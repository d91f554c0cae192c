package audit

import (
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/bannin/bannin/internal/model"
)

// Params renders a value tree as CloudTrail's requestParameters or responseElements:
// member names in lowerCamel case, sensitive values hidden, streams left out.
func Params(sh *model.Shape, v map[string]any) map[string]any {
	if sh == nil || v == nil {
		return nil
	}
	out := renderStruct(sh, v)
	if len(out) == 0 {
		return nil
	}
	return out
}

func renderStruct(sh *model.Shape, v map[string]any) map[string]any {
	out := make(map[string]any, len(v))
	for _, m := range sh.Members {
		x, ok := v[m.Name]
		if !ok {
			continue
		}
		if r, keep := render(m.Shape, x); keep {
			out[LowerCamel(m.Name)] = r
		}
	}
	return out
}

func render(sh *model.Shape, x any) (any, bool) {
	if sh.Sensitive {
		return Hidden, true
	}
	switch sh.Type {
	case model.Structure:
		m, ok := x.(map[string]any)
		if !ok {
			return nil, false
		}
		return renderStruct(sh, m), true
	case model.List:
		l, ok := x.([]any)
		if !ok {
			return nil, false
		}
		out := make([]any, 0, len(l))
		for _, e := range l {
			if r, keep := render(sh.Member.Shape, e); keep {
				out = append(out, r)
			}
		}
		return out, true
	case model.Map:
		m, ok := x.(map[string]any)
		if !ok {
			return nil, false
		}
		out := make(map[string]any, len(m))
		for k, e := range m {
			if r, keep := render(sh.Value.Shape, e); keep {
				out[k] = r
			}
		}
		return out, true
	case model.Timestamp:
		if t, ok := x.(time.Time); ok {
			return t.UTC().Format(time.RFC3339), true
		}
	case model.Blob:
		return nil, false // CloudTrail leaves binary payloads (ciphertext, object bodies) out
	case model.Float, model.Double:
		if f, ok := x.(float64); ok && (math.IsNaN(f) || math.IsInf(f, 0)) {
			return strconv.FormatFloat(f, 'g', -1, 64), true // JSON has no NaN or Infinity
		}
	}
	return x, true
}

// LowerCamel turns a model member name into the form CloudTrail writes: the first
// letter in lower case and the rest as is (S3BucketName -> s3BucketName,
// DBInstanceIdentifier -> dBInstanceIdentifier, SAMLMetadataDocument -> sAMLMetadataDocument).
func LowerCamel(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError || unicode.IsLower(r) {
		return s
	}
	return string(unicode.ToLower(r)) + s[n:]
}

// redactSecrets hides secrets that a model does not mark sensitive: the password of an SNS
// endpoint URL (https://user:pass@host/) and subscription confirmation tokens.
func redactSecrets(service, op string, p map[string]any) {
	if service != "sns" || p == nil {
		return
	}
	switch op {
	case "Subscribe":
		if ep, ok := p["endpoint"].(string); ok {
			p["endpoint"] = RedactURLPassword(ep)
		}
	case "ConfirmSubscription":
		if _, ok := p["token"]; ok {
			p["token"] = Hidden
		}
	}
}

// RedactURLPassword masks the password of a URL's userinfo (scheme://user:pass@host...),
// leaving everything else as written.
func RedactURLPassword(u string) string {
	i := strings.Index(u, "://")
	if i < 0 {
		return u
	}
	rest := u[i+3:]
	end := len(rest)
	if j := strings.IndexAny(rest, "/?#"); j >= 0 {
		end = j
	}
	at := strings.LastIndex(rest[:end], "@")
	if at < 0 {
		return u
	}
	colon := strings.Index(rest[:at], ":")
	if colon < 0 {
		return u
	}
	return u[:i+3] + rest[:colon+1] + "****" + rest[at:]
}
