package httpbind_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/bannin/bannin/internal/protocol/codectest"
	"github.com/bannin/bannin/internal/protocol/httpbind"
)

func TestMatchS3(t *testing.T) {
	svc := codectest.Model(t, "s3", "s3")
	for _, tc := range []struct {
		method, target string
		header         map[string]string
		want           string
		labels         map[string]string
	}{
		{"GET", "/", nil, "ListBuckets", nil},
		{"GET", "/b", nil, "ListObjects", map[string]string{"Bucket": "b"}},
		{"GET", "/b/", nil, "ListObjects", map[string]string{"Bucket": "b"}},
		{"GET", "/b?list-type=2&prefix=x", nil, "ListObjectsV2", nil},
		{"GET", "/b?location", nil, "GetBucketLocation", nil},
		{"PUT", "/b?acl", nil, "PutBucketAcl", nil},
		{"PUT", "/b", nil, "CreateBucket", nil},
		{"HEAD", "/b", nil, "HeadBucket", nil},
		{"PUT", "/b/k/x%20y.txt", nil, "PutObject", map[string]string{"Bucket": "b", "Key": "k/x y.txt"}},
		{"PUT", "/b/k?x-id=PutObject", nil, "PutObject", nil},
		{"PUT", "/b/k", map[string]string{"X-Amz-Copy-Source": "/a/k"}, "CopyObject", nil},
		{"PUT", "/b/k?partNumber=1&uploadId=u", nil, "UploadPart", nil},
		{"POST", "/b/k?uploads", nil, "CreateMultipartUpload", nil},
		{"POST", "/b/k?uploadId=u", nil, "CompleteMultipartUpload", nil},
		{"DELETE", "/b/k", nil, "DeleteObject", nil},
		{"POST", "/b?delete", nil, "DeleteObjects", nil},
		{"GET", "/b/k?tagging", nil, "GetObjectTagging", nil},
		{"GET", "/b/k?x-id=GetObject", nil, "GetObject", nil},
	} {
		u, _ := url.Parse("http://127.0.0.1" + tc.target)
		h := http.Header{}
		for k, v := range tc.header {
			h.Set(k, v)
		}
		op, labels, err := httpbind.Match(svc, tc.method, u.EscapedPath(), u.Query(), h)
		if err != nil || op.Name != tc.want {
			name := ""
			if op != nil {
				name = op.Name
			}
			t.Errorf("Match(%s %s) = %s, %v; want %s", tc.method, tc.target, name, err, tc.want)
			continue
		}
		for k, v := range tc.labels {
			if labels[k] != v {
				t.Errorf("Match(%s %s) label %s = %q; want %q", tc.method, tc.target, k, labels[k], v)
			}
		}
	}
	if _, _, err := httpbind.Match(svc, "PATCH", "/b", url.Values{}, http.Header{}); err != httpbind.ErrNoMethod {
		t.Errorf("Match(PATCH /b) error = %v; want ErrNoMethod", err)
	}
}
