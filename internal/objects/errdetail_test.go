package objects_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
)

// S3's <Error> documents name what was not found (BucketName, Key, UploadId, the range
// asked for) and carry a HostId, as S3 writes them.
func TestErrorDetails(t *testing.T) {
	c := withBuckets(t, "details")
	ctx := context.Background()
	if _, err := c.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("details"), Key: aws.String("ten.txt"),
		Body: strings.NewReader("0123456789")}); err != nil {
		t.Fatal(err)
	}
	pc := awss3.NewPresignClient(c)
	get := func(bucket, key, rng string) (int, string) {
		t.Helper()
		in := &awss3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}
		if rng != "" {
			in.Range = aws.String(rng)
		}
		req, err := pc.PresignGetObject(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		hr, _ := http.NewRequest(req.Method, req.URL, nil)
		for k, v := range req.SignedHeader {
			if k != "Host" {
				hr.Header[k] = v
			}
		}
		resp, err := http.DefaultClient.Do(hr)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, c := range []struct {
		bucket, key, rng string
		status           int
		want             string
	}{
		{"details", "missing/key.txt", "", 404, "<Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><Key>missing/key.txt</Key><RequestId>"},
		{"no-such-details", "k", "", 404, "<Code>NoSuchBucket</Code><Message>The specified bucket does not exist</Message><BucketName>no-such-details</BucketName><RequestId>"},
		{"details", "ten.txt", "bytes=20-30", 416, "<Code>InvalidRange</Code><Message>The requested range is not satisfiable</Message><RangeRequested>bytes=20-30</RangeRequested><ActualObjectSize>10</ActualObjectSize><RequestId>"},
	} {
		status, body := get(c.bucket, c.key, c.rng)
		if status != c.status || !strings.Contains(body, c.want) || !strings.Contains(body, "</RequestId><HostId>") {
			t.Errorf("GET %s/%s %s = %d %s\nwant %d with %s and a HostId", c.bucket, c.key, c.rng, status, body, c.status, c.want)
		}
	}
	// The SDK still sees the modelled error types.
	_, err := c.GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String("details"), Key: aws.String("nope")})
	if apiCode(err) != "NoSuchKey" {
		t.Errorf("GetObject missing key: %v", err)
	}
	_, err = c.DeleteBucket(ctx, &awss3.DeleteBucketInput{Bucket: aws.String("details")})
	if apiCode(err) != "BucketNotEmpty" {
		t.Errorf("DeleteBucket not empty: %v", err)
	}
}
