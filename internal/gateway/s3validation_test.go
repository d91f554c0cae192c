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
	status, doc := s3Send(t, e, "PUT", "/east2", nil,
		`<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><LocationConstraint>mars-1</LocationConstraint></CreateBucketConfiguration>`)
	if status != 400 || doc.Code != "InvalidLocationConstraint" || doc.LocationConstraint != "mars-1" {
		t.Errorf("CreateBucket LocationConstraint=mars-1 = %d %+v; want 400 InvalidLocationConstraint naming mars-1", status, doc)
	}
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
	status, doc = s3Send(t, e, "PUT", "/vbk/k", map[string]string{"X-Amz-Storage-Class": "FROZEN"}, "x")
	if status != 400 || doc.StorageClassRequested != "FROZEN" {
		t.Errorf("PutObject x-amz-storage-class: FROZEN = %d %+v; want 400 with StorageClassRequested FROZEN", status, doc)
	}
	if _, err := cl.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("vbk"), Key: aws.String("k")}); err == nil {
		t.Error("object k exists after its PutObject failed")
	}

	// A canned ACL S3 does not know: InvalidArgument naming the header and value.
	status, doc = s3Send(t, e, "PUT", "/vbk/k", map[string]string{"X-Amz-Acl": "privat"}, "x")
	if status != 400 || doc.Code != "InvalidArgument" || doc.ArgumentName != "x-amz-acl" || doc.ArgumentValue != "privat" {
		t.Errorf("PutObject x-amz-acl: privat = %d %+v; want 400 InvalidArgument x-amz-acl=privat", status, doc)
	}

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
		status, doc := s3Send(t, e, "PUT", "/vbk?versioning", nil, body)
		if status != 400 || doc.Code != "MalformedXML" ||
			doc.Message != "The XML you provided was not well-formed or did not validate against our published schema" {
			t.Errorf("PutBucketVersioning %s = %d %+v; want 400 MalformedXML with S3's message", body, status, doc)
		}
	}

	// An empty tag key is well-formed; S3's tagging check refuses it.
	status, doc = s3Send(t, e, "PUT", "/vbk?tagging", nil,
		`<Tagging xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><TagSet><Tag><Key></Key><Value>v</Value></Tag></TagSet></Tagging>`)
	if status != 400 || doc.Code != "InvalidTag" || doc.Message != "The TagKey you have provided is invalid" {
		t.Errorf("PutBucketTagging with an empty key = %d %+v; want 400 InvalidTag", status, doc)
	}

	// An absent body where the operation needs one.
	status, doc = s3Send(t, e, "PUT", "/vbk?versioning", nil, "")
	if status != 400 || doc.Code != "MissingRequestBodyError" || doc.Message != "Request Body is empty" {
		t.Errorf("PutBucketVersioning without a body = %d %+v; want 400 MissingRequestBodyError", status, doc)
	}

	// max-keys that is not an integer, and one out of range.
	status, doc = s3Send(t, e, "GET", "/vbk?list-type=2&max-keys=many", nil, "")
	if status != 400 || doc.Code != "InvalidArgument" || doc.Message != "Provided max-keys not an integer or within integer range" ||
		doc.ArgumentName != "max-keys" || doc.ArgumentValue != "many" {
		t.Errorf("ListObjectsV2 max-keys=many = %d %+v; want 400 InvalidArgument naming max-keys", status, doc)
	}
	_, err = cl.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("vbk"), MaxKeys: aws.Int32(-1)})
	wantS3(t, "ListObjectsV2 MaxKeys=-1", err, "InvalidArgument", "Argument maxKeys must be an integer between 0 and 2147483647")

	status, doc = s3Send(t, e, "GET", "/vbk?uploads&max-uploads=-1", nil, "")
	if status != 400 || doc.Code != "InvalidArgument" || doc.ArgumentName != "max-uploads" || doc.ArgumentValue != "-1" {
		t.Errorf("ListMultipartUploads max-uploads=-1 = %d %+v; want 400 InvalidArgument naming max-uploads", status, doc)
	}
	status, doc = s3Send(t, e, "GET", "/vbk?uploads&max-uploads=2157483647", nil, "")
	if status != 400 || doc.Message != "Provided max-uploads not an integer or within integer range" || doc.ArgumentName != "max-uploads" {
		t.Errorf("ListMultipartUploads max-uploads=2157483647 = %d %+v; want 400 InvalidArgument out of integer range", status, doc)
	}

	// A query enum: encoding-type.
	status, doc = s3Send(t, e, "GET", "/vbk?list-type=2&encoding-type=base64", nil, "")
	if status != 400 || doc.Code != "InvalidArgument" || doc.Message != "Invalid Encoding Method specified in Request" ||
		doc.ArgumentName != "encoding-type" || doc.ArgumentValue != "base64" {
		t.Errorf("ListObjectsV2 encoding-type=base64 = %d %+v; want 400 InvalidArgument naming encoding-type", status, doc)
	}
	// A query range: max-buckets.
	status, doc = s3Send(t, e, "GET", "/?max-buckets=0", nil, "")
	if status != 400 || doc.Code != "InvalidArgument" || doc.ArgumentName != "max-buckets" || doc.ArgumentValue != "0" {
		t.Errorf("ListBuckets max-buckets=0 = %d %+v; want 400 InvalidArgument naming max-buckets", status, doc)
	}

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
