package objects_test

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// UploadPartCopy builds an object from ranges of another (what `aws s3 cp s3://a s3://b`
// does for large objects), and object tags are read, replaced and removed in place.
func TestUploadPartCopyAndObjectTagging(t *testing.T) {
	c := withBuckets(t, "copy-src", "copy-dst")
	ctx := context.Background()
	data := make([]byte, 6<<20)
	for i := range data {
		data[i] = byte(i * 7)
	}
	if _, err := c.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("copy-src"), Key: aws.String("src.bin"),
		Body: bytes.NewReader(data), Tagging: aws.String("team=sec")}); err != nil {
		t.Fatal(err)
	}
	up, err := c.CreateMultipartUpload(ctx, &awss3.CreateMultipartUploadInput{Bucket: aws.String("copy-dst"), Key: aws.String("dst.bin")})
	if err != nil {
		t.Fatal(err)
	}
	copyPart := func(n int32, rng string) (*awss3.UploadPartCopyOutput, error) {
		in := &awss3.UploadPartCopyInput{Bucket: aws.String("copy-dst"), Key: aws.String("dst.bin"), UploadId: up.UploadId,
			PartNumber: aws.Int32(n), CopySource: aws.String("copy-src/src.bin")}
		if rng != "" {
			in.CopySourceRange = aws.String(rng)
		}
		return c.UploadPartCopy(ctx, in)
	}
	split := int64(5 << 20)
	p1, err := copyPart(1, "bytes=0-5242879")
	if err != nil {
		t.Fatalf("UploadPartCopy 1: %v", err)
	}
	p2, err := copyPart(2, "bytes=5242880-6291455")
	if err != nil {
		t.Fatalf("UploadPartCopy 2: %v", err)
	}
	if _, err := copyPart(3, "bytes=0-6291456"); apiCode(err) != "InvalidArgument" {
		t.Errorf("UploadPartCopy past the end: %v; want InvalidArgument", err)
	}
	_, err = c.UploadPartCopy(ctx, &awss3.UploadPartCopyInput{Bucket: aws.String("copy-dst"), Key: aws.String("dst.bin"),
		UploadId: up.UploadId, PartNumber: aws.Int32(3), CopySource: aws.String("copy-src/missing.bin")})
	if apiCode(err) != "NoSuchKey" {
		t.Errorf("UploadPartCopy of a missing key: %v; want NoSuchKey", err)
	}
	if p1.CopyPartResult == nil || p1.CopyPartResult.ETag == nil {
		t.Fatalf("UploadPartCopy answered no CopyPartResult ETag: %+v", p1)
	}
	if _, err := c.CompleteMultipartUpload(ctx, &awss3.CompleteMultipartUploadInput{Bucket: aws.String("copy-dst"), Key: aws.String("dst.bin"),
		UploadId: up.UploadId, MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{
			{PartNumber: aws.Int32(1), ETag: p1.CopyPartResult.ETag}, {PartNumber: aws.Int32(2), ETag: p2.CopyPartResult.ETag}}}}); err != nil {
		t.Fatalf("CompleteMultipartUpload: %v", err)
	}
	got, err := c.GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String("copy-dst"), Key: aws.String("dst.bin")})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(got.Body)
	got.Body.Close()
	if !bytes.Equal(body, data) {
		t.Errorf("copied object: %d bytes, equal %v; want the %d source bytes (split at %d)", len(body), bytes.Equal(body, data), len(data), split)
	}

	tags := func(bucket, key string) map[string]string {
		t.Helper()
		out, err := c.GetObjectTagging(ctx, &awss3.GetObjectTaggingInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		if err != nil {
			t.Fatalf("GetObjectTagging %s/%s: %v", bucket, key, err)
		}
		m := map[string]string{}
		for _, tg := range out.TagSet {
			m[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
		}
		return m
	}
	if m := tags("copy-src", "src.bin"); len(m) != 1 || m["team"] != "sec" {
		t.Errorf("tags from x-amz-tagging = %v", m)
	}
	if m := tags("copy-dst", "dst.bin"); len(m) != 0 {
		t.Errorf("untagged object's tags = %v", m)
	}
	if _, err := c.PutObjectTagging(ctx, &awss3.PutObjectTaggingInput{Bucket: aws.String("copy-dst"), Key: aws.String("dst.bin"),
		Tagging: &types.Tagging{TagSet: []types.Tag{{Key: aws.String("a"), Value: aws.String("1")}, {Key: aws.String("b"), Value: aws.String("2")}}}}); err != nil {
		t.Fatalf("PutObjectTagging: %v", err)
	}
	if m := tags("copy-dst", "dst.bin"); len(m) != 2 || m["a"] != "1" || m["b"] != "2" {
		t.Errorf("tags after PutObjectTagging = %v", m)
	}
	var many []types.Tag
	for _, k := range []string{"1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11"} {
		many = append(many, types.Tag{Key: aws.String(k), Value: aws.String(k)})
	}
	_, err = c.PutObjectTagging(ctx, &awss3.PutObjectTaggingInput{Bucket: aws.String("copy-dst"), Key: aws.String("dst.bin"), Tagging: &types.Tagging{TagSet: many}})
	if apiCode(err) != "BadRequest" {
		t.Errorf("PutObjectTagging with 11 tags: %v; want BadRequest", err)
	}
	if _, err := c.DeleteObjectTagging(ctx, &awss3.DeleteObjectTaggingInput{Bucket: aws.String("copy-dst"), Key: aws.String("dst.bin")}); err != nil {
		t.Fatalf("DeleteObjectTagging: %v", err)
	}
	if m := tags("copy-dst", "dst.bin"); len(m) != 0 {
		t.Errorf("tags after DeleteObjectTagging = %v", m)
	}
	_, err = c.GetObjectTagging(ctx, &awss3.GetObjectTaggingInput{Bucket: aws.String("copy-dst"), Key: aws.String("nope")})
	if apiCode(err) != "NoSuchKey" {
		t.Errorf("GetObjectTagging of a missing key: %v; want NoSuchKey", err)
	}
}
