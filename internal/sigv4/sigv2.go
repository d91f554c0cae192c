package sigv4

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// S3 still accepts its legacy signature, version 2, and botocore (aws CLI v1, boto3) uses it
// for S3 presigned URLs unless told otherwise: "Authorization: AWS <key>:<signature>" or the
// AWSAccessKeyId, Signature and Expires query parameters, with an HMAC-SHA1 over the method,
// Content-MD5, Content-Type, date, x-amz-* headers and the resource.

// v2SubResources are the query parameters that SigV2 signs as part of the resource.
var v2SubResources = map[string]bool{
	"accelerate": true, "acl": true, "analytics": true, "cors": true, "defaultObjectAcl": true,
	"delete": true, "inventory": true, "lifecycle": true, "location": true, "logging": true,
	"metrics": true, "notification": true, "object-lock": true, "partNumber": true, "policy": true,
	"replication": true, "requestPayment": true, "response-cache-control": true,
	"response-content-disposition": true, "response-content-encoding": true,
	"response-content-language": true, "response-content-type": true, "response-expires": true,
	"restore": true, "select": true, "select-type": true, "storageClass": true, "tagging": true,
	"torrent": true, "uploadId": true, "uploads": true, "versionId": true, "versioning": true,
	"versions": true, "website": true,
}

func v2Scope(akid string, presigned bool) Scope {
	return Scope{AccessKeyID: akid, Region: "us-east-1", Service: "s3", Presigned: presigned, SignatureVersion: "SigV2"}
}

func parseV2Header(h string) (*auth, error) {
	akid, sig, ok := strings.Cut(strings.TrimPrefix(h, "AWS "), ":")
	if !ok || akid == "" || sig == "" {
		return nil, errS3("InvalidArgument", http.StatusBadRequest, "AWS authorization header is invalid.  Expected AwsAccessKeyId:signature")
	}
	return &auth{v2: true, scope: v2Scope(akid, false), signature: sig, expires: -1, raw: h}, nil
}

func parseV2Query(q url.Values) (*auth, error) {
	exp := q.Get("Expires")
	n, err := strconv.ParseInt(exp, 10, 64)
	if exp == "" || q.Get("AWSAccessKeyId") == "" || q.Get("Signature") == "" {
		return nil, errS3("AccessDenied", http.StatusForbidden,
			"Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters")
	}
	if err != nil {
		return nil, errS3("AccessDenied", http.StatusForbidden, "Invalid date (should be seconds since epoch): "+exp)
	}
	return &auth{v2: true, scope: v2Scope(q.Get("AWSAccessKeyId"), true), signature: q.Get("Signature"), expires: n, amzDate: exp}, nil
}

func (v *Verifier) verifyV2(ctx context.Context, r *http.Request, a *auth) (*Result, error) {
	now := time.Now()
	if v.Now != nil {
		now = v.Now()
	}
	skew := v.MaxSkew
	if skew <= 0 {
		skew = 15 * time.Minute
	}
	q := r.URL.Query()
	// param reads a value that a presigned URL may carry in the query instead of a header.
	param := func(name string) string {
		if a.scope.Presigned {
			if v := q.Get(strings.ToLower(name)); v != "" {
				return v
			}
		}
		return r.Header.Get(name)
	}
	var t time.Time
	var dateLine string
	if a.scope.Presigned {
		t = time.Unix(a.expires, 0).UTC()
		if now.After(t) {
			return nil, errS3("AccessDenied", http.StatusForbidden, "Request has expired")
		}
		dateLine = a.amzDate
	} else {
		d := r.Header.Get("X-Amz-Date")
		if d == "" {
			d = r.Header.Get("Date")
			dateLine = d
		}
		var err error
		t, err = http.ParseTime(d)
		if err != nil {
			return nil, errS3("AccessDenied", http.StatusForbidden, "AWS authentication requires a valid Date or x-amz-date header")
		}
		if t.Before(now.Add(-skew)) || t.After(now.Add(skew)) {
			return nil, errSkew(famS3, "s3", t, now, skew)
		}
	}

	// x-amz-* headers, and for presigned URLs x-amz-* query parameters, lower-cased and sorted.
	amz := map[string][]string{}
	for k, vs := range r.Header {
		if l := strings.ToLower(k); strings.HasPrefix(l, "x-amz-") {
			for _, v := range vs {
				amz[l] = append(amz[l], trimAll(v))
			}
		}
	}
	if a.scope.Presigned {
		for k, vs := range q {
			if l := strings.ToLower(k); strings.HasPrefix(l, "x-amz-") {
				amz[l] = append(amz[l], vs...)
			}
		}
	}
	names := make([]string, 0, len(amz))
	for k := range amz {
		names = append(names, k)
	}
	sort.Strings(names)
	var head strings.Builder
	head.WriteString(r.Method + "\n" + param("Content-Md5") + "\n" + param("Content-Type") + "\n" + dateLine + "\n")
	for _, k := range names {
		head.WriteString(k + ":" + strings.Join(amz[k], ",") + "\n")
	}

	// The resource: the path as sent, with the bucket in front for virtual-hosted style, and
	// the sub-resources of the query, sorted, values decoded.
	var sub []string
	for k, vs := range q {
		if v2SubResources[k] {
			for _, v := range vs {
				if v == "" && !strings.Contains(r.URL.RawQuery, k+"=") {
					sub = append(sub, k)
				} else {
					sub = append(sub, k+"="+v)
				}
			}
		}
	}
	sort.Strings(sub)
	subStr := ""
	if len(sub) > 0 {
		subStr = "?" + strings.Join(sub, "&")
	}
	resources := []string{wirePath(r)}
	if v.VirtualHostBucket != nil {
		if b, ok := v.VirtualHostBucket(r); ok {
			resources = []string{"/" + b + wirePath(r)}
		}
	}

	secret, ok, err := v.Secret(ctx, a.scope.AccessKeyID)
	if err != nil {
		return nil, fmt.Errorf("sigv4: look up access key: %w", err)
	}
	if !ok {
		return nil, errUnknownKey(famS3)
	}
	want, err := base64.StdEncoding.DecodeString(a.signature)
	if err != nil {
		return nil, errSignature(famS3)
	}
	matched := false
	for _, res := range resources {
		m := hmac.New(sha1.New, []byte(secret))
		m.Write([]byte(head.String() + res + subStr))
		if hmac.Equal(m.Sum(nil), want) {
			matched = true
		}
	}
	if !matched {
		return nil, errSignature(famS3)
	}
	token := r.Header.Get("X-Amz-Security-Token")
	if a.scope.Presigned && token == "" {
		token = q.Get("x-amz-security-token")
	}
	return &Result{Scope: a.scope, SessionToken: token, PayloadHash: UnsignedPayload, Time: t, family: famS3}, nil
}
