package restxml_test

import (
	"errors"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/bannin/bannin/internal/awserr"
	"github.com/bannin/bannin/internal/model"
	"github.com/bannin/bannin/internal/protocol/codectest"
	"github.com/bannin/bannin/internal/protocol/restxml"
)

// TestValidationError checks the S3 wording of each kind of model violation: where the
// value travelled (header, query, body) and which rule it broke.
func TestValidationError(t *testing.T) {
	svc := codectest.Model(t, "s3", "s3")
	for _, c := range []struct {
		name, op string
		in       map[string]any
		code     string
		message  string
		details  []restxml.Detail
	}{
		{"location constraint", "CreateBucket",
			map[string]any{"Bucket": "b", "CreateBucketConfiguration": map[string]any{"LocationConstraint": "us-east-1"}},
			"InvalidLocationConstraint", "The specified location-constraint is not valid",
			[]restxml.Detail{{Name: "LocationConstraint", Value: "us-east-1"}}},
		{"storage class", "PutObject", map[string]any{"Bucket": "b", "Key": "k", "StorageClass": "COLD"},
			"InvalidStorageClass", "The storage class you specified is not valid",
			[]restxml.Detail{{Name: "StorageClassRequested", Value: "COLD"}}},
		{"canned acl", "PutObject", map[string]any{"Bucket": "b", "Key": "k", "ACL": "privat"},
			"InvalidArgument", "",
			[]restxml.Detail{{Name: "ArgumentName", Value: "x-amz-acl"}, {Name: "ArgumentValue", Value: "privat"}}},
		{"encryption", "PutObject", map[string]any{"Bucket": "b", "Key": "k", "ServerSideEncryption": "aes256"},
			"InvalidArgument", "The encryption method specified is not supported",
			[]restxml.Detail{{Name: "ArgumentName", Value: "x-amz-server-side-encryption"}, {Name: "ArgumentValue", Value: "aes256"}}},
		{"metadata directive", "CopyObject",
			map[string]any{"Bucket": "b", "Key": "k", "CopySource": "b/s", "MetadataDirective": "MERGE"},
			"InvalidArgument", "Unknown metadata directive.",
			[]restxml.Detail{{Name: "ArgumentName", Value: "x-amz-metadata-directive"}, {Name: "ArgumentValue", Value: "MERGE"}}},
		{"lock mode", "PutObject", map[string]any{"Bucket": "b", "Key": "k", "ObjectLockMode": "abc"},
			"InvalidArgument", "Unknown wormMode directive.",
			[]restxml.Detail{{Name: "ArgumentName", Value: "x-amz-object-lock-mode"}, {Name: "ArgumentValue", Value: "abc"}}},
		{"legal hold", "PutObject", map[string]any{"Bucket": "b", "Key": "k", "ObjectLockLegalHoldStatus": "maybe"},
			"InvalidArgument", "Legal Hold must be either of 'ON' or 'OFF'",
			[]restxml.Detail{{Name: "ArgumentName", Value: "x-amz-object-lock-legal-hold"}, {Name: "ArgumentValue", Value: "maybe"}}},
		{"checksum algorithm", "PutObject", map[string]any{"Bucket": "b", "Key": "k", "ChecksumAlgorithm": "MD4"},
			"InvalidRequest", "Value for x-amz-sdk-checksum-algorithm header is invalid.", nil},
		{"object attributes", "GetObjectAttributes",
			map[string]any{"Bucket": "b", "Key": "k", "ObjectAttributes": []any{"ETag", "Colour"}},
			"InvalidArgument", "Invalid attribute name specified.",
			[]restxml.Detail{{Name: "ArgumentName", Value: "x-amz-object-attributes"}, {Name: "ArgumentValue", Value: "Colour"}}},
		{"required header", "RenameObject", map[string]any{"Bucket": "b", "Key": "k"},
			"InvalidRequest", "Missing required header for this request: x-amz-rename-source", nil},
		{"encoding type", "ListObjectsV2", map[string]any{"Bucket": "b", "EncodingType": "base64"},
			"InvalidArgument", "Invalid Encoding Method specified in Request",
			[]restxml.Detail{{Name: "ArgumentName", Value: "encoding-type"}, {Name: "ArgumentValue", Value: "base64"}}},
		{"query range", "ListBuckets", map[string]any{"MaxBuckets": int64(10001)},
			"InvalidArgument", "Argument max-buckets must be an integer between 1 and 10000",
			[]restxml.Detail{{Name: "ArgumentName", Value: "max-buckets"}, {Name: "ArgumentValue", Value: "10001"}}},
		{"required query", "GetBucketAnalyticsConfiguration", map[string]any{"Bucket": "b"},
			"InvalidArgument", "Missing required parameter id",
			[]restxml.Detail{{Name: "ArgumentName", Value: "id"}}},
		{"enum in a body", "PutBucketVersioning",
			map[string]any{"Bucket": "b", "VersioningConfiguration": map[string]any{"Status": "Paused"}},
			"MalformedXML", restxml.MalformedXMLMessage, nil},
		{"required in a body", "PutBucketTagging",
			map[string]any{"Bucket": "b", "Tagging": map[string]any{"TagSet": []any{map[string]any{"Key": "k"}}}},
			"MalformedXML", restxml.MalformedXMLMessage, nil},
		{"empty tag key", "PutObjectTagging",
			map[string]any{"Bucket": "b", "Key": "k", "Tagging": map[string]any{"TagSet": []any{map[string]any{"Key": "", "Value": "v"}}}},
			"InvalidTag", "The TagKey you have provided is invalid", nil},
		{"no body", "PutBucketVersioning", map[string]any{"Bucket": "b"},
			"MissingRequestBodyError", "Request Body is empty", nil},
	} {
		op := svc.Operations[c.op]
		if op == nil {
			t.Fatalf("%s: no operation %s", c.name, c.op)
		}
		verr := model.Validate(op.Input, c.in)
		if verr == nil {
			t.Errorf("%s: Validate = nil; want a violation", c.name)
			continue
		}
		err, ok := restxml.ValidationError(op, verr)
		if !ok {
			t.Errorf("%s: ValidationError did not translate %v", c.name, verr)
			continue
		}
		ce, ok := awserr.As(err)
		if !ok || ce.AWSErrorCode() != c.code || ce.AWSMessage() != c.message || ce.AWSHTTPStatus() != 400 {
			t.Errorf("%s: error = %v; want 400 %s %q", c.name, err, c.code, c.message)
		}
		var got []restxml.Detail
		var d restxml.Detailer
		if errors.As(err, &d) {
			got = d.ErrorDetails()
		}
		if !reflect.DeepEqual(got, c.details) {
			t.Errorf("%s: details = %v; want %v", c.name, got, c.details)
		}
	}
	if _, ok := restxml.ValidationError(svc.Operations["PutObject"], errors.New("other")); ok {
		t.Error("ValidationError translated an error that is no validation failure")
	}
}

// TestBindingErrorWording checks S3's answer to a header or parameter that does not parse
// as its type: InvalidArgument naming it, in S3's words where they are known.
func TestBindingErrorWording(t *testing.T) {
	svc := codectest.Model(t, "s3", "s3")
	for _, c := range []struct {
		name, op, target string
		header           map[string]string
		message          string
		argName, argVal  string
	}{
		{"max-keys", "ListObjectsV2", "/b?list-type=2&max-keys=ten", nil,
			"Provided max-keys not an integer or within integer range", "max-keys", "ten"},
		{"max-keys overflow", "ListObjects", "/b?max-keys=2147483648", nil,
			"Provided max-keys not an integer or within integer range", "max-keys", "2147483648"},
		{"retain until date", "PutObject", "/b/k", map[string]string{"X-Amz-Object-Lock-Retain-Until-Date": "tomorrow"},
			"The retain until date must be provided in ISO 8601 format", "x-amz-object-lock-retain-until-date", "tomorrow"},
	} {
		op := svc.Operations[c.op]
		method := op.Method
		r := httptest.NewRequest(method, c.target, nil)
		for k, v := range c.header {
			r.Header.Set(k, v)
		}
		_, err := restxml.New().DecodeRequest(svc, op, r, []byte{})
		ce, ok := awserr.As(err)
		if !ok || ce.AWSErrorCode() != "InvalidArgument" || ce.AWSMessage() != c.message {
			t.Errorf("%s: DecodeRequest = %v; want InvalidArgument %q", c.name, err, c.message)
			continue
		}
		var d restxml.Detailer
		want := []restxml.Detail{{Name: "ArgumentName", Value: c.argName}, {Name: "ArgumentValue", Value: c.argVal}}
		if !errors.As(err, &d) || !reflect.DeepEqual(d.ErrorDetails(), want) {
			t.Errorf("%s: details of %v; want %v", c.name, err, want)
		}
	}
}
