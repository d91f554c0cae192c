package audit

import (
	"encoding/json"
	"strings"

	"github.com/bannin/bannin/internal/call"
	"github.com/bannin/bannin/internal/model"
	"github.com/bannin/bannin/internal/protocol/xmltree"
)

// s3EventNames are the S3 operations whose CloudTrail event name is not the API's name
// (the Amazon S3 CloudTrail events list; CIS and Security Hub patterns use these names).
var s3EventNames = map[string]string{
	"PutPublicAccessBlock":            "PutBucketPublicAccessBlock",
	"GetPublicAccessBlock":            "GetBucketPublicAccessBlock",
	"DeletePublicAccessBlock":         "DeleteBucketPublicAccessBlock",
	"PutBucketLifecycleConfiguration": "PutBucketLifecycle",
	"GetBucketLifecycleConfiguration": "GetBucketLifecycle",
}

// EventName is the eventName CloudTrail records for operation op of service.
func EventName(service, op string) string {
	if service == "s3" {
		if n, ok := s3EventNames[op]; ok {
			return n
		}
	}
	return op
}

// s3Namespace is the xmlns CloudTrail shows on an S3 request body.
const s3Namespace = "http://s3.amazonaws.com/doc/2006-03-01/"

// s3Headers are request headers that S3's CloudTrail records leave out.
var s3Headers = map[string]bool{"ContentMD5": true, "ChecksumAlgorithm": true, "ExpectedBucketOwner": true}

// s3RecordedHeader tells whether an S3 request header shows in requestParameters: the
// x-amz- ones that say what to do (x-amz-acl, x-amz-copy-source), not the HTTP framing
// (Content-Length, Content-Type, Range) nor checksums.
func s3RecordedHeader(name string) bool {
	n := strings.ToLower(name)
	return strings.HasPrefix(n, "x-amz-") && !strings.HasPrefix(n, "x-amz-checksum-") &&
		n != "x-amz-sdk-checksum-algorithm" && n != "x-amz-content-sha256"
}

// s3RequestParams renders an S3 call's requestParameters as CloudTrail writes them:
// bucketName and Host; the request URI's subresource as a key with [""] ("policy": [""],
// "versioning": [""]); query and header parameters under their wire names ("max-keys",
// "x-amz-acl"); a bucket policy parsed as bucketPolicy; an XML body under its element
// names with its xmlns ("VersioningConfiguration": {"Status": "Enabled", ...}); other
// members in lowerCamel case. Object bodies and user metadata are left out.
func s3RequestParams(op *model.Operation, in map[string]any, host string) map[string]any {
	p := map[string]any{}
	if sh := op.Input; sh != nil {
		for _, m := range sh.Members {
			x, ok := in[m.Name]
			if !ok || x == nil || s3Headers[m.Name] {
				continue
			}
			if m.Name == sh.Payload {
				switch {
				case m.Shape.Type == model.Structure:
					if v, ok := x.(map[string]any); ok {
						body := xmlParams(m.Shape, v)
						body["xmlns"] = s3Namespace
						p[m.ElementName()] = body
					}
				case op.Name == "PutBucketPolicy":
					var doc any
					if s, ok := x.(string); ok && json.Unmarshal([]byte(s), &doc) == nil {
						p["bucketPolicy"] = doc
					}
				}
				continue
			}
			name := LowerCamel(m.Name)
			switch {
			case m.Name == "Bucket":
				name = "bucketName"
			case m.Location == "headers":
				continue // user metadata (x-amz-meta-*) stays out of the record
			case m.Location == "header" && !s3RecordedHeader(m.LocationName):
				continue
			case (m.Location == "querystring" || m.Location == "header") && m.LocationName != "":
				name = m.LocationName // as sent: max-keys, uploadId, x-amz-acl, x-amz-copy-source
			}
			if r, keep := render(m.Shape, x); keep {
				p[name] = r
			}
		}
	}
	if i := strings.IndexByte(op.RequestURI, '?'); i >= 0 {
		for _, q := range strings.Split(op.RequestURI[i+1:], "&") {
			if k, v, ok := strings.Cut(q, "="); ok {
				p[k] = v // list-type=2
			} else if q != "" {
				p[q] = []any{""}
			}
		}
	}
	if host != "" {
		p["Host"] = host
	}
	return p
}

// xmlParams renders an XML body's structure as CloudTrail's XML-to-JSON conversion does:
// element names as sent, a repeated element as a list and a single one as itself.
func xmlParams(sh *model.Shape, v map[string]any) map[string]any {
	out := make(map[string]any, len(v))
	for _, m := range sh.Members {
		x, ok := v[m.Name]
		if !ok || x == nil {
			continue
		}
		if r, keep := xmlValue(m.Shape, x); keep {
			if m.Shape.Type == model.List && !m.Flattened && !m.Shape.Flattened {
				// A wrapped list: its items inside the list's own element.
				r = map[string]any{xmltree.ListElementName(m.Shape): r}
			}
			out[xmltree.MemberElementName(m)] = r
		}
	}
	return out
}

func xmlValue(sh *model.Shape, x any) (any, bool) {
	switch sh.Type {
	case model.Structure:
		m, ok := x.(map[string]any)
		if !ok {
			return nil, false
		}
		return xmlParams(sh, m), true
	case model.List:
		l, ok := x.([]any)
		if !ok {
			return nil, false
		}
		items := make([]any, 0, len(l))
		for _, e := range l {
			if r, keep := xmlValue(sh.Member.Shape, e); keep {
				items = append(items, r)
			}
		}
		if len(items) == 1 {
			return items[0], true
		}
		return items, true
	}
	return render(sh, x)
}

const (
	s3ObjectType = "AWS::S3::Object"
	s3BucketType = "AWS::S3::Bucket"
)

// s3DataResources are the resources of an S3 data event as CloudTrail lists them: the
// object (arn:aws:s3:::bucket/key) when the call names one, then its bucket. Trails'
// data event selectors (AWS::S3::Object, resources.ARN) match on these.
func s3DataResources(in map[string]any, touched []call.Resource) []call.Resource {
	bucket, _ := in["Bucket"].(string)
	if bucket == "" {
		return touched
	}
	var out []call.Resource
	if key, _ := in["Key"].(string); key != "" {
		out = append(out, call.Resource{Type: s3ObjectType, Name: bucket + "/" + key, ARN: "arn:aws:s3:::" + bucket + "/" + key})
	}
	hasBucket := false
	for _, r := range touched {
		if r.Type == s3ObjectType {
			continue
		}
		hasBucket = hasBucket || r.Type == s3BucketType
		out = append(out, r)
	}
	if !hasBucket {
		out = append(out, call.Resource{Type: s3BucketType, Name: bucket, ARN: "arn:aws:s3:::" + bucket})
	}
	return out
}
