package audit

import (
	"encoding/base64"
	"io"
	"time"
	"unicode"

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
		switch b := x.(type) {
		case []byte:
			if len(b) > 1024 {
				return nil, false
			}
			return base64.StdEncoding.EncodeToString(b), true
		case io.Reader:
			return nil, false
		}
	}
	return x, true
}

// LowerCamel turns a model member name into the lowerCamel form CloudTrail uses:
// S3BucketName -> s3BucketName, SNSTopicName -> snsTopicName, ARN -> arn.
func LowerCamel(s string) string {
	r := []rune(s)
	n := 0
	for n < len(r) && (unicode.IsUpper(r[n]) || unicode.IsDigit(r[n])) {
		n++
	}
	switch {
	case n == 0:
		return s
	case n == len(r):
		n = len(r)
	case n > 1:
		n-- // keep the capital that starts the next word
	}
	for i := 0; i < n; i++ {
		r[i] = unicode.ToLower(r[i])
	}
	return string(r)
}
