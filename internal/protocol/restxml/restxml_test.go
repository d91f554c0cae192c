package restxml_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/bannin/bannin/internal/awserr"
	"github.com/bannin/bannin/internal/model"
	"github.com/bannin/bannin/internal/protocol/codectest"
	"github.com/bannin/bannin/internal/protocol/restxml"
)

func s3Client(t *testing.T, h codectest.Handler) (*s3.Client, *codectest.Server) {
	svc := codectest.Model(t, "s3", "s3")
	srv := codectest.Serve(t, svc, codectest.For, h)
	cfg := aws.Config{
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		RetryMaxAttempts: 1,
	}
	c := s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(srv.URL)
		o.UsePathStyle = true
	})
	return c, srv
}

var modified = time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)

func objectStore(op *model.Operation, in map[string]any) (map[string]any, error) {
	switch op.Name {
	case "ListBuckets":
		return map[string]any{
			"Buckets": []any{
				map[string]any{"Name": "a", "CreationDate": modified},
				map[string]any{"Name": "b", "CreationDate": modified, "BucketRegion": "eu-west-1"},
			},
			"Owner": map[string]any{"ID": "owner-id", "DisplayName": "me"},
		}, nil
	case "CreateBucket":
		return map[string]any{"Location": "/" + in["Bucket"].(string)}, nil
	case "PutObject":
		return map[string]any{"ETag": `"5d41402abc4b2a76b9719d911017c592"`, "VersionId": "v1"}, nil
	case "GetObject":
		if in["Bucket"] != "data" {
			return nil, awserr.New("NoSuchBucket", 404, "The specified bucket does not exist")
		}
		return map[string]any{
			"Body":          io.NopCloser(strings.NewReader("hello world")),
			"ContentLength": int64(11),
			"ContentType":   "text/plain",
			"ETag":          `"abc"`,
			"LastModified":  modified,
			"Metadata":      map[string]any{"owner": "me", "purpose": "test"},
		}, nil
	case "HeadObject":
		return map[string]any{
			"ContentLength": int64(11),
			"LastModified":  modified,
			"Metadata":      map[string]any{"owner": "me"},
		}, nil
	case "ListObjectsV2":
		if in["Bucket"] != "data" {
			return nil, awserr.New("NoSuchBucket", 404, "The specified bucket does not exist")
		}
		return map[string]any{
			"Name": in["Bucket"], "Prefix": in["Prefix"], "MaxKeys": in["MaxKeys"], "KeyCount": int64(2),
			"IsTruncated": true, "NextContinuationToken": "next-1", "ContinuationToken": in["ContinuationToken"],
			"Contents": []any{
				map[string]any{"Key": "logs/a.json", "Size": int64(10), "LastModified": modified, "ETag": `"e1"`, "StorageClass": "STANDARD"},
				map[string]any{"Key": "logs/b & c.json", "Size": int64(20), "LastModified": modified},
			},
		}, nil
	case "DeleteObjects":
		del := in["Delete"].(map[string]any)
		var deleted []any
		for _, o := range del["Objects"].([]any) {
			deleted = append(deleted, map[string]any{"Key": o.(map[string]any)["Key"]})
		}
		return map[string]any{"Deleted": deleted, "Errors": []any{map[string]any{"Key": "locked", "Code": "AccessDenied", "Message": "Access Denied"}}}, nil
	}
	return nil, awserr.New("NotImplemented", 501, "no")
}

func TestS3Buckets(t *testing.T) {
	c, srv := s3Client(t, objectStore)
	ctx := context.Background()
	lb, err := c.ListBuckets(ctx, &s3.ListBucketsInput{})
	if err != nil {
		t.Fatalf("ListBuckets: %v", err)
	}
	if len(lb.Buckets) != 2 || aws.ToString(lb.Buckets[1].Name) != "b" || !lb.Buckets[0].CreationDate.Equal(modified) ||
		aws.ToString(lb.Owner.ID) != "owner-id" {
		t.Errorf("ListBuckets = %+v", lb)
	}
	cb, err := c.CreateBucket(ctx, &s3.CreateBucketInput{
		Bucket: aws.String("data"), ACL: s3types.BucketCannedACLPrivate,
		CreateBucketConfiguration: &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraintEuWest1},
	})
	if err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}
	want := map[string]any{"Bucket": "data", "ACL": "private",
		"CreateBucketConfiguration": map[string]any{"LocationConstraint": "eu-west-1"}}
	if got := srv.Last(t); got.Op != "CreateBucket" || !reflect.DeepEqual(got.In, want) {
		t.Errorf("CreateBucket decoded %s %#v; want %#v", got.Op, got.In, want)
	}
	if aws.ToString(cb.Location) != "/data" {
		t.Errorf("Location = %q", aws.ToString(cb.Location))
	}
	_, err = c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("missing")})
	var nsb *s3types.NoSuchBucket
	if !errors.As(err, &nsb) {
		t.Errorf("ListObjectsV2 on a missing bucket = %T %v; want *types.NoSuchBucket", err, err)
	}
}

func TestS3Objects(t *testing.T) {
	c, srv := s3Client(t, objectStore)
	ctx := context.Background()
	put, err := c.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String("data"), Key: aws.String("dir/hello world.txt"),
		Body:        strings.NewReader("hello"),
		ContentType: aws.String("text/plain"),
		Metadata:    map[string]string{"owner": "me", "Purpose": "test"},
	})
	if err != nil {
		t.Fatalf("PutObject: %v", err)
	}
	call := srv.Last(t)
	if call.Op != "PutObject" || call.In["Bucket"] != "data" || call.In["Key"] != "dir/hello world.txt" ||
		call.In["ContentType"] != "text/plain" || string(call.Payload) != "hello" {
		t.Errorf("PutObject decoded %s %#v payload %q", call.Op, call.In, call.Payload)
	}
	if md := call.In["Metadata"]; !reflect.DeepEqual(md, map[string]any{"owner": "me", "purpose": "test"}) {
		t.Errorf("Metadata = %#v", md)
	}
	if aws.ToString(put.ETag) != `"5d41402abc4b2a76b9719d911017c592"` || aws.ToString(put.VersionId) != "v1" {
		t.Errorf("PutObject = %+v", put)
	}

	get, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("data"), Key: aws.String("dir/hello world.txt")})
	if err != nil {
		t.Fatalf("GetObject: %v", err)
	}
	body, _ := io.ReadAll(get.Body)
	get.Body.Close()
	if string(body) != "hello world" || aws.ToInt64(get.ContentLength) != 11 || aws.ToString(get.ContentType) != "text/plain" ||
		!get.LastModified.Equal(modified) || get.Metadata["owner"] != "me" || get.Metadata["purpose"] != "test" {
		t.Errorf("GetObject = %q %+v", body, get)
	}

	head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("data"), Key: aws.String("k")})
	if err != nil {
		t.Fatalf("HeadObject: %v", err)
	}
	if aws.ToInt64(head.ContentLength) != 11 || !head.LastModified.Equal(modified) || head.Metadata["owner"] != "me" {
		t.Errorf("HeadObject = %+v", head)
	}
	if got := srv.Last(t).Op; got != "HeadObject" {
		t.Errorf("HEAD routed to %s", got)
	}

	lo, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{
		Bucket: aws.String("data"), Prefix: aws.String("logs/"), MaxKeys: aws.Int32(2), ContinuationToken: aws.String("tok-0"),
	})
	if err != nil {
		t.Fatalf("ListObjectsV2: %v", err)
	}
	call = srv.Last(t)
	wantIn := map[string]any{"Bucket": "data", "Prefix": "logs/", "MaxKeys": int64(2), "ContinuationToken": "tok-0"}
	if call.Op != "ListObjectsV2" || !reflect.DeepEqual(call.In, wantIn) {
		t.Errorf("ListObjectsV2 decoded %s %#v; want %#v", call.Op, call.In, wantIn)
	}
	if len(lo.Contents) != 2 || aws.ToString(lo.Contents[1].Key) != "logs/b & c.json" || aws.ToInt64(lo.Contents[0].Size) != 10 ||
		!aws.ToBool(lo.IsTruncated) || aws.ToString(lo.NextContinuationToken) != "next-1" || aws.ToInt32(lo.KeyCount) != 2 {
		t.Errorf("ListObjectsV2 = %+v", lo)
	}

	del, err := c.DeleteObjects(ctx, &s3.DeleteObjectsInput{
		Bucket: aws.String("data"),
		Delete: &s3types.Delete{Objects: []s3types.ObjectIdentifier{{Key: aws.String("a")}, {Key: aws.String("b"), VersionId: aws.String("v2")}}, Quiet: aws.Bool(false)},
	})
	if err != nil {
		t.Fatalf("DeleteObjects: %v", err)
	}
	wantDel := map[string]any{"Objects": []any{map[string]any{"Key": "a"}, map[string]any{"Key": "b", "VersionId": "v2"}}, "Quiet": false}
	if got := srv.Last(t).In["Delete"]; !reflect.DeepEqual(got, wantDel) {
		t.Errorf("Delete = %#v; want %#v", got, wantDel)
	}
	if len(del.Deleted) != 2 || aws.ToString(del.Deleted[1].Key) != "b" || len(del.Errors) != 1 || aws.ToString(del.Errors[0].Code) != "AccessDenied" {
		t.Errorf("DeleteObjects = %+v", del)
	}
}

func TestS3HandBuilt(t *testing.T) {
	_, srv := s3Client(t, objectStore)
	// Virtual-host style: the bucket is in the Host.
	req, _ := http.NewRequest("GET", srv.URL+"/notes/today.txt", nil)
	req.Host = "data.localhost:9000"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body := codectest.ReadAll(t, resp)
	if call := srv.Last(t); call.Op != "GetObject" || call.In["Bucket"] != "data" || call.In["Key"] != "notes/today.txt" {
		t.Errorf("virtual-host GET decoded %s %#v", call.Op, call.In)
	}
	if resp.StatusCode != 200 || body != "hello world" || resp.Header.Get("X-Amz-Meta-Owner") != "me" ||
		resp.Header.Get("Last-Modified") != "Mon, 06 May 2024 07:08:09 GMT" {
		t.Errorf("GET = %d %q %v", resp.StatusCode, body, resp.Header)
	}
	// A method no operation has on the resource.
	req, _ = http.NewRequest("PATCH", srv.URL+"/data", nil)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body = codectest.ReadAll(t, resp)
	if resp.StatusCode != 405 || !strings.Contains(body, "<Code>MethodNotAllowed</Code>") || !strings.Contains(body, "<RequestId>") {
		t.Errorf("PATCH = %d %s", resp.StatusCode, body)
	}
	// Malformed XML body.
	req, _ = http.NewRequest("POST", srv.URL+"/data?delete", strings.NewReader("<Delete><Object>"))
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body = codectest.ReadAll(t, resp)
	if resp.StatusCode != 400 || !strings.Contains(body, "<Code>MalformedXML</Code>") {
		t.Errorf("malformed DeleteObjects = %d %s", resp.StatusCode, body)
	}
	// Bad number in a query binding is S3's InvalidArgument naming the parameter.
	resp, err = http.Get(srv.URL + "/data?list-type=2&max-keys=many")
	if err != nil {
		t.Fatal(err)
	}
	body = codectest.ReadAll(t, resp)
	if resp.StatusCode != 400 || !strings.Contains(body, "<Code>InvalidArgument</Code>") ||
		!strings.Contains(body, "<ArgumentName>max-keys</ArgumentName><ArgumentValue>many</ArgumentValue>") {
		t.Errorf("bad max-keys = %d %s", resp.StatusCode, body)
	}
	// Root elements are S3's, not <Operation>Result.
	for path, root := range map[string]string{
		"/":                 "<ListAllMyBucketsResult ",
		"/data?list-type=2": "<ListBucketResult ",
	} {
		resp, err = http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		if body = codectest.ReadAll(t, resp); resp.StatusCode != 200 || !strings.Contains(body, root) {
			t.Errorf("GET %s = %d %s, want root %s", path, resp.StatusCode, body, root)
		}
	}
	// HEAD errors carry no body.
	req, _ = http.NewRequest("HEAD", srv.URL+"/nope", nil)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if body = codectest.ReadAll(t, resp); resp.StatusCode != 501 || body != "" {
		t.Errorf("HEAD bucket = %d %q", resp.StatusCode, body)
	}
}

func TestDechunk(t *testing.T) {
	framed := "5;chunk-signature=abc\r\nhello\r\n6;chunk-signature=def\r\n world\r\n0;chunk-signature=ghi\r\nx-amz-checksum-crc32:AAAA\r\n\r\n"
	req, _ := http.NewRequest("PUT", "http://127.0.0.1/b/k", nil)
	req.Header.Set("Content-Encoding", "aws-chunked")
	got, err := io.ReadAll(restxml.Dechunk(req, strings.NewReader(framed)))
	if err != nil || string(got) != "hello world" {
		t.Errorf("Dechunk = %q, %v; want \"hello world\"", got, err)
	}
	_, err = io.ReadAll(restxml.Dechunk(req, strings.NewReader("zz\r\nhello")))
	if err == nil {
		t.Errorf("Dechunk of a bad size = nil error; want one")
	}
	plain := httptestRequest()
	if got, _ := io.ReadAll(restxml.Dechunk(plain, strings.NewReader("5\r\nhello"))); string(got) != "5\r\nhello" {
		t.Errorf("Dechunk without aws-chunked = %q; want the body unchanged", got)
	}
}

func httptestRequest() *http.Request {
	req, _ := http.NewRequest("PUT", "http://127.0.0.1/b/k", nil)
	return req
}

// User metadata goes out under lower-case header names, as S3 writes them: botocore takes
// the metadata key from the header name as received.
func TestMetadataHeaderCase(t *testing.T) {
	svc := codectest.Model(t, "s3", "s3")
	rec := httptest.NewRecorder()
	restxml.Codec{}.WriteResponse(rec, svc, svc.Operations["HeadObject"], map[string]any{
		"ContentLength": int64(1), "Metadata": map[string]any{"owner": "me"}}, "req-1")
	if got := rec.Header()["x-amz-meta-owner"]; len(got) != 1 || got[0] != "me" {
		t.Errorf("headers = %v; want x-amz-meta-owner: me", rec.Header())
	}
}
