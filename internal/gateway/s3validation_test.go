package gateway_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/bannin/bannin/internal/awserr"
	"github.com/bannin/bannin/internal/call"
	"github.com/bannin/bannin/internal/testenv"
)

// s3Error is S3's <Error> document with the detail elements the tests read.
type s3Error struct {
	Code                  string
	Message               string
	ArgumentName          string
	ArgumentValue         string
	StorageClassRequested string
	LocationConstraint    string
}

// s3Send signs and sends a raw S3 request (for what an SDK refuses to send, and to read
// the detail elements SDKs do not expose) and returns its status and <Error>.
func s3Send(t *testing.T, e *testenv.Env, method, path string, header map[string]string, body string) (int, s3Error) {
	t.Helper()
	sum := sha256.Sum256([]byte(body))
	h := map[string]string{"X-Amz-Content-Sha256": hex.EncodeToString(sum[:])}
	for k, v := range header {
		h[k] = v
	}
	resp, b := send(t, e, "s3", method, path, h, []byte(body))
	var doc s3Error
	if len(b) > 0 {
		if err := xml.Unmarshal(b, &doc); err != nil {
			t.Fatalf("%s %s: response %q is not XML: %v", method, path, b, err)
		}
	}
	return resp.StatusCode, doc
}

// wantS3Send sends a raw S3 request (s3Send) and checks that it is answered 400 with an
// <Error> whose elements are want's non-empty ones; it returns the <Error>.
func wantS3Send(t *testing.T, e *testenv.Env, what, method, path string, header map[string]string, body string, want s3Error) s3Error {
	t.Helper()
	status, doc := s3Send(t, e, method, path, header, body)
	if status != 400 || (want.Code != "" && doc.Code != want.Code) || (want.Message != "" && doc.Message != want.Message) ||
		(want.ArgumentName != "" && doc.ArgumentName != want.ArgumentName) ||
		(want.ArgumentValue != "" && doc.ArgumentValue != want.ArgumentValue) ||
		(want.StorageClassRequested != "" && doc.StorageClassRequested != want.StorageClassRequested) ||
		(want.LocationConstraint != "" && doc.LocationConstraint != want.LocationConstraint) {
		t.Errorf("%s = %d %+v; want 400 %+v", what, status, doc, want)
	}
	return doc
}

func wantS3(t *testing.T, what string, err error, code, message string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Errorf("%s: error = %v; want %s", what, err, code)
		return
	}
	if ae.ErrorCode() != code || ae.ErrorMessage() != message {
		t.Errorf("%s: error = %s %q; want %s %q", what, ae.ErrorCode(), ae.ErrorMessage(), code, message)
	}
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) && re.HTTPStatusCode() != http.StatusBadRequest {
		t.Errorf("%s: status = %d; want 400", what, re.HTTPStatusCode())
	}
}

// TestS3ValidationWording checks that S3 answers invalid input in S3's words (the codes,
// messages and detail elements its error responses use), never with the JSON services'
// "validation error detected", and that the failed call changes nothing.
func TestS3ValidationWording(t *testing.T) {
	e := testenv.New(t)
	cl := e.S3()
	ctx := context.Background()
	if _, err := cl.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("vbk")}); err != nil {
		t.Fatalf("CreateBucket = %v", err)
	}

	// us-east-1 is never a location constraint (it is the absence of one).
	_, err := cl.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("east"),
		CreateBucketConfiguration: &s3types.CreateBucketConfiguration{LocationConstraint: "us-east-1"}})
	wantS3(t, "CreateBucket LocationConstraint=us-east-1", err, "InvalidLocationConstraint", "The specified location-constraint is not valid")
	wantS3Send(t, e, "CreateBucket LocationConstraint=mars-1", "PUT", "/east2", nil,
		`<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><LocationConstraint>mars-1</LocationConstraint></CreateBucketConfiguration>`,
		s3Error{Code: "InvalidLocationConstraint", LocationConstraint: "mars-1"})
	// The aws CLI, as QA found it.
	out, err := e.RunErr(t, testenv.V2, "s3api", "create-bucket", "--bucket", "east3",
		"--create-bucket-configuration", "LocationConstraint=us-east-1")
	if err == nil || !strings.Contains(out, "(InvalidLocationConstraint) when calling the CreateBucket operation: The specified location-constraint is not valid") {
		t.Errorf("aws s3api create-bucket LocationConstraint=us-east-1 = %v\n%s; want InvalidLocationConstraint", err, out)
	}
	for _, b := range []string{"east", "east2", "east3"} {
		if _, err := cl.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(b)}); err == nil {
			t.Errorf("bucket %s exists after its CreateBucket failed", b)
		}
	}

	// A storage class S3 does not know.
	_, err = cl.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("vbk"), Key: aws.String("k"),
		Body: strings.NewReader("x"), StorageClass: "FROZEN"})
	wantS3(t, "PutObject StorageClass=FROZEN", err, "InvalidStorageClass", "The storage class you specified is not valid")
	wantS3Send(t, e, "PutObject x-amz-storage-class: FROZEN", "PUT", "/vbk/k", map[string]string{"X-Amz-Storage-Class": "FROZEN"}, "x",
		s3Error{StorageClassRequested: "FROZEN"})
	if _, err := cl.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("vbk"), Key: aws.String("k")}); err == nil {
		t.Error("object k exists after its PutObject failed")
	}

	// A canned ACL S3 does not know: InvalidArgument naming the header and value.
	wantS3Send(t, e, "PutObject x-amz-acl: privat", "PUT", "/vbk/k", map[string]string{"X-Amz-Acl": "privat"}, "x",
		s3Error{Code: "InvalidArgument", ArgumentName: "x-amz-acl", ArgumentValue: "privat"})

	// A bad value inside an XML body fails S3's schema.
	_, err = cl.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String("vbk"),
		VersioningConfiguration: &s3types.VersioningConfiguration{Status: "Paused"}})
	wantS3(t, "PutBucketVersioning Status=Paused", err, "MalformedXML",
		"The XML you provided was not well-formed or did not validate against our published schema")
	got, err := cl.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: aws.String("vbk")})
	if err != nil || got.Status != "" {
		t.Errorf("GetBucketVersioning after the failed put = %v, %v; want no status", got, err)
	}

	// A body that is not XML, or not the operation's document: S3's fixed message.
	for _, body := range []string{`<VersioningConfiguration><Status>Enabled</Stat`,
		`<Tagging xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>Enabled</Status></Tagging>`,
		`<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>Enabled</Status><MfaDelete>maybe</MfaDelete></VersioningConfiguration>`} {
		wantS3Send(t, e, "PutBucketVersioning "+body, "PUT", "/vbk?versioning", nil, body, s3Error{Code: "MalformedXML",
			Message: "The XML you provided was not well-formed or did not validate against our published schema"})
	}

	// An empty tag key is well-formed; S3's tagging check refuses it.
	wantS3Send(t, e, "PutBucketTagging with an empty key", "PUT", "/vbk?tagging", nil,
		`<Tagging xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><TagSet><Tag><Key></Key><Value>v</Value></Tag></TagSet></Tagging>`,
		s3Error{Code: "InvalidTag", Message: "The TagKey you have provided is invalid"})

	// An absent body where the operation needs one.
	wantS3Send(t, e, "PutBucketVersioning without a body", "PUT", "/vbk?versioning", nil, "",
		s3Error{Code: "MissingRequestBodyError", Message: "Request Body is empty"})

	// max-keys that is not an integer, and one out of range.
	wantS3Send(t, e, "ListObjectsV2 max-keys=many", "GET", "/vbk?list-type=2&max-keys=many", nil, "", s3Error{Code: "InvalidArgument",
		Message: "Provided max-keys not an integer or within integer range", ArgumentName: "max-keys", ArgumentValue: "many"})
	_, err = cl.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("vbk"), MaxKeys: aws.Int32(-1)})
	wantS3(t, "ListObjectsV2 MaxKeys=-1", err, "InvalidArgument", "Argument maxKeys must be an integer between 0 and 2147483647")

	wantS3Send(t, e, "ListMultipartUploads max-uploads=-1", "GET", "/vbk?uploads&max-uploads=-1", nil, "",
		s3Error{Code: "InvalidArgument", ArgumentName: "max-uploads", ArgumentValue: "-1"})
	wantS3Send(t, e, "ListMultipartUploads max-uploads=2157483647", "GET", "/vbk?uploads&max-uploads=2157483647", nil, "",
		s3Error{Message: "Provided max-uploads not an integer or within integer range", ArgumentName: "max-uploads"})

	// A query enum: encoding-type.
	wantS3Send(t, e, "ListObjectsV2 encoding-type=base64", "GET", "/vbk?list-type=2&encoding-type=base64", nil, "", s3Error{Code: "InvalidArgument",
		Message: "Invalid Encoding Method specified in Request", ArgumentName: "encoding-type", ArgumentValue: "base64"})
	// A query range: max-buckets.
	doc := wantS3Send(t, e, "ListBuckets max-buckets=0", "GET", "/?max-buckets=0", nil, "",
		s3Error{Code: "InvalidArgument", ArgumentName: "max-buckets", ArgumentValue: "0"})

	// Nothing S3 answered is worded as the JSON services word it.
	for _, c := range []string{"validation error detected", "failed to satisfy constraint"} {
		if strings.Contains(doc.Message, c) {
			t.Errorf("S3 message %q has the JSON services' wording", doc.Message)
		}
	}
}

// TestInvokeValidationWording checks that a call bannin makes on someone's behalf is
// answered in the called service's words too: S3's for S3, ValidationException for JSON.
func TestInvokeValidationWording(t *testing.T) {
	e := testenv.New(t)
	ctx := context.Background()
	root := call.Principal{Type: "Root", Account: e.Account, ARN: "arn:aws:iam::" + e.Account + ":root"}
	_, err := e.Server.Invoke(ctx, root, e.Region, "s3", "CreateBucket", map[string]any{"Bucket": "inv-east",
		"CreateBucketConfiguration": map[string]any{"LocationConstraint": "us-east-1"}})
	if ce, ok := awserr.As(err); !ok || ce.AWSErrorCode() != "InvalidLocationConstraint" {
		t.Errorf("Invoke CreateBucket LocationConstraint=us-east-1 = %v; want InvalidLocationConstraint", err)
	}
	_, err = e.Server.Invoke(ctx, root, e.Region, "cloudtrail", "CreateTrail", map[string]any{"Name": "t"})
	if ce, ok := awserr.As(err); !ok || ce.AWSErrorCode() != "ValidationException" ||
		!strings.Contains(ce.AWSMessage(), "1 validation error detected: Value null at 's3BucketName'") {
		t.Errorf("Invoke CreateTrail without S3BucketName = %v; want ValidationException", err)
	}
}

// TestJSONValidationUnchanged checks that a JSON service still answers a model violation
// with ValidationException in its own words.
func TestJSONValidationUnchanged(t *testing.T) {
	e := testenv.New(t)
	status, m := jsonCall(t, e, "CreateTrail", `{"Name":"t"}`)
	want := "1 validation error detected: Value null at 's3BucketName' failed to satisfy constraint: Member must not be null"
	if status != 400 || !strings.HasSuffix(m["__type"].(string), "ValidationException") || m["message"] != want {
		t.Errorf("CreateTrail without S3BucketName = %d %v; want 400 ValidationException %q", status, m, want)
	}
}
