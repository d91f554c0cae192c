package objects

import (
	"testing"

	"github.com/bannin/bannin/internal/audit"
)

// The operation field of a log record for the calls S3's documentation and real logs show.
func TestLogOperationNames(t *testing.T) {
	for event, want := range map[string]string{
		"PutObject":                  "REST.PUT.OBJECT",
		"GetObject":                  "REST.GET.OBJECT",
		"HeadObject":                 "REST.HEAD.OBJECT",
		"DeleteObject":               "REST.DELETE.OBJECT",
		"CopyObject":                 "REST.COPY.OBJECT",
		"ListObjects":                "REST.GET.BUCKET",
		"ListObjectsV2":              "REST.GET.BUCKET",
		"ListObjectVersions":         "REST.GET.BUCKETVERSIONS",
		"CreateBucket":               "REST.PUT.BUCKET",
		"HeadBucket":                 "REST.HEAD.BUCKET",
		"GetBucketVersioning":        "REST.GET.VERSIONING",
		"GetBucketLogging":           "REST.GET.LOGGING_STATUS",
		"GetBucketPolicy":            "REST.GET.BUCKETPOLICY",
		"GetBucketAcl":               "REST.GET.ACL",
		"GetBucketLocation":          "REST.GET.LOCATION",
		"PutBucketPublicAccessBlock": "REST.PUT.PUBLIC_ACCESS_BLOCK",
		"GetBucketPolicyStatus":      "REST.GET.POLICY_STATUS",
		"CreateMultipartUpload":      "REST.POST.UPLOADS",
		"UploadPart":                 "REST.PUT.PART",
		"CompleteMultipartUpload":    "REST.POST.UPLOAD",
		"DeleteObjects":              "REST.POST.MULTI_OBJECT_DELETE",
		"PutObjectTagging":           "REST.PUT.OBJECT_TAGGING",
	} {
		op := s3Operations()[event]
		if op == nil {
			t.Errorf("no S3 operation for CloudTrail event %s", event)
			continue
		}
		if got := logOperationName(op); got != want {
			t.Errorf("log operation of %s (%s) = %s; want %s", event, audit.EventName("s3", op.Name), got, want)
		}
	}
}
