package objects_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// Additional checksums are checked against the bytes, kept, and answered as S3 does.
func TestChecksums(t *testing.T) {
	c := withBuckets(t, "sums")
	ctx := context.Background()
	b := aws.String("sums")
	data := "hello world"
	sha := sha256.Sum256([]byte(data))
	wantSHA := base64.StdEncoding.EncodeToString(sha[:])
	put, err := c.PutObject(ctx, &awss3.PutObjectInput{Bucket: b, Key: aws.String("a.txt"), Body: strings.NewReader(data),
		ChecksumAlgorithm: types.ChecksumAlgorithmSha256})
	if err != nil {
		t.Fatalf("PutObject(SHA256): %v", err)
	}
	if aws.ToString(put.ChecksumSHA256) != wantSHA || put.ChecksumType != types.ChecksumTypeFullObject {
		t.Errorf("PutObject ChecksumSHA256 %q type %q; want %q FULL_OBJECT", aws.ToString(put.ChecksumSHA256), put.ChecksumType, wantSHA)
	}
	head, err := c.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: b, Key: aws.String("a.txt"), ChecksumMode: types.ChecksumModeEnabled})
	if err != nil || aws.ToString(head.ChecksumSHA256) != wantSHA {
		t.Errorf("HeadObject(ChecksumMode ENABLED) = %v, %v; want ChecksumSHA256 %s", head, err, wantSHA)
	}
	head, err = c.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: b, Key: aws.String("a.txt")})
	if err != nil || head.ChecksumSHA256 != nil {
		t.Errorf("HeadObject without ChecksumMode answered a checksum: %v, %v", head, err)
	}
	list, err := c.ListObjectsV2(ctx, &awss3.ListObjectsV2Input{Bucket: b})
	if err != nil || len(list.Contents) != 1 || len(list.Contents[0].ChecksumAlgorithm) != 1 || list.Contents[0].ChecksumAlgorithm[0] != types.ChecksumAlgorithmSha256 {
		t.Errorf("ListObjectsV2 = %+v, %v; want ChecksumAlgorithm [SHA256]", list, err)
	}

	// CRC-64/NVME's check value: "123456789" -> 0xae8b14860a799888.
	_, err = c.PutObject(ctx, &awss3.PutObjectInput{Bucket: b, Key: aws.String("nvme.txt"), Body: strings.NewReader("123456789"),
		ChecksumCRC64NVME: aws.String(base64.StdEncoding.EncodeToString([]byte{0xae, 0x8b, 0x14, 0x86, 0x0a, 0x79, 0x98, 0x88}))})
	if err != nil {
		t.Errorf("PutObject with the right CRC64NVME: %v", err)
	}
	// A value that does not match the bytes is refused and nothing is written.
	_, err = c.PutObject(ctx, &awss3.PutObjectInput{Bucket: b, Key: aws.String("bad.txt"), Body: strings.NewReader(data),
		ChecksumSHA256: aws.String(base64.StdEncoding.EncodeToString(make([]byte, 32)))})
	if apiCode(err) != "BadDigest" {
		t.Errorf("PutObject with a wrong SHA256: %v; want BadDigest", err)
	}
	if _, err := c.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: b, Key: aws.String("bad.txt")}); err == nil {
		t.Errorf("the object with a wrong checksum was written")
	}
}
