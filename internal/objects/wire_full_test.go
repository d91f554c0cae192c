package objects_test

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

func TestWireFullSDK(t *testing.T) {
	_, cfg := wireServer(t)
	cl := client(cfg)
	ctx := t.Context()
	if _, err := cl.CreateBucket(ctx, &awss3.CreateBucketInput{Bucket: aws.String("wire")}); err != nil {
		t.Fatalf("CreateBucket = %v", err)
	}
	_, err := cl.CreateBucket(ctx, &awss3.CreateBucketInput{Bucket: aws.String("Bad_Name")})
	if apiCode(err) != "InvalidBucketName" {
		t.Errorf("CreateBucket(Bad_Name) = %v; want InvalidBucketName", err)
	}
	put, err := cl.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("wire"), Key: aws.String("dir/a b.txt"),
		Body: strings.NewReader("hello, world"), ContentType: aws.String("text/plain"), Metadata: map[string]string{"owner": "ops"}})
	if err != nil {
		t.Fatalf("PutObject = %v", err)
	}
	if aws.ToString(put.ETag) != `"e4d7f1b4ed2e42d15898f4b27b019da4"` {
		t.Errorf("PutObject ETag = %s; want the MD5", aws.ToString(put.ETag))
	}
	get, err := cl.GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String("wire"), Key: aws.String("dir/a b.txt")})
	if err != nil {
		t.Fatalf("GetObject = %v", err)
	}
	body, _ := io.ReadAll(get.Body)
	get.Body.Close()
	if string(body) != "hello, world" || aws.ToString(get.ContentType) != "text/plain" || get.Metadata["owner"] != "ops" {
		t.Errorf("GetObject = %q %q %v; want hello, world text/plain owner=ops", body, aws.ToString(get.ContentType), get.Metadata)
	}
	rng, err := cl.GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String("wire"), Key: aws.String("dir/a b.txt"), Range: aws.String("bytes=7-")})
	if err != nil {
		t.Fatalf("GetObject(Range) = %v", err)
	}
	body, _ = io.ReadAll(rng.Body)
	rng.Body.Close()
	if string(body) != "world" || aws.ToString(rng.ContentRange) != "bytes 7-11/12" {
		t.Errorf("GetObject(Range bytes=7-) = %q %q; want world, bytes 7-11/12", body, aws.ToString(rng.ContentRange))
	}
	_, err = cl.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: aws.String("wire"), Key: aws.String("missing")})
	var nf *types.NotFound
	if !errors.As(err, &nf) {
		t.Errorf("HeadObject(missing) = %v; want NotFound", err)
	}
	_, err = cl.GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String("wire"), Key: aws.String("missing")})
	var nsk *types.NoSuchKey
	if !errors.As(err, &nsk) {
		t.Errorf("GetObject(missing) = %v; want NoSuchKey", err)
	}

	// Multipart through the transfer manager: 12 MiB in 5 MiB parts.
	big := bytes.Repeat([]byte("0123456789abcdef"), 12<<20/16)
	up := manager.NewUploader(cl, func(u *manager.Uploader) { u.PartSize = 5 << 20; u.Concurrency = 2 })
	res, err := up.Upload(ctx, &awss3.PutObjectInput{Bucket: aws.String("wire"), Key: aws.String("big.bin"), Body: bytes.NewReader(big)})
	if err != nil {
		t.Fatalf("manager Upload = %v", err)
	}
	if !strings.HasSuffix(aws.ToString(res.ETag), `-3"`) {
		t.Errorf("manager Upload ETag = %s; want a 3-part ETag", aws.ToString(res.ETag))
	}
	down := manager.NewDownloader(cl, func(d *manager.Downloader) { d.PartSize = 5 << 20 })
	buf := manager.NewWriteAtBuffer(nil)
	n, err := down.Download(ctx, buf, &awss3.GetObjectInput{Bucket: aws.String("wire"), Key: aws.String("big.bin")})
	if err != nil {
		t.Fatalf("manager Download = %v", err)
	}
	if n != int64(len(big)) || md5.Sum(buf.Bytes()) != md5.Sum(big) {
		t.Errorf("manager Download = %d bytes; want the %d uploaded", n, len(big))
	}

	if _, err := cl.CopyObject(ctx, &awss3.CopyObjectInput{Bucket: aws.String("wire"), Key: aws.String("copy.txt"),
		CopySource: aws.String("wire/dir/a%20b.txt")}); err != nil {
		t.Fatalf("CopyObject = %v", err)
	}
	lst, err := cl.ListObjectsV2(ctx, &awss3.ListObjectsV2Input{Bucket: aws.String("wire"), Delimiter: aws.String("/")})
	if err != nil {
		t.Fatalf("ListObjectsV2 = %v", err)
	}
	var got []string
	for _, o := range lst.Contents {
		got = append(got, aws.ToString(o.Key))
	}
	for _, p := range lst.CommonPrefixes {
		got = append(got, "P:"+aws.ToString(p.Prefix))
	}
	if strings.Join(got, ",") != "big.bin,copy.txt,P:dir/" || aws.ToInt32(lst.KeyCount) != 3 {
		t.Errorf("ListObjectsV2(Delimiter /) = %v (%d); want big.bin,copy.txt,P:dir/", got, aws.ToInt32(lst.KeyCount))
	}
	pg := awss3.NewListObjectsV2Paginator(cl, &awss3.ListObjectsV2Input{Bucket: aws.String("wire"), MaxKeys: aws.Int32(1)})
	pages := 0
	for pg.HasMorePages() {
		if _, err := pg.NextPage(ctx); err != nil {
			t.Fatalf("ListObjectsV2 page = %v", err)
		}
		pages++
	}
	if pages != 3 {
		t.Errorf("ListObjectsV2 pages of 1 = %d; want 3", pages)
	}

	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"cloudtrail.amazonaws.com"},"Action":"s3:PutObject","Resource":"arn:aws:s3:::wire/AWSLogs/*"}]}`
	if _, err := cl.PutBucketPolicy(ctx, &awss3.PutBucketPolicyInput{Bucket: aws.String("wire"), Policy: aws.String(policy)}); err != nil {
		t.Fatalf("PutBucketPolicy = %v", err)
	}
	gp, err := cl.GetBucketPolicy(ctx, &awss3.GetBucketPolicyInput{Bucket: aws.String("wire")})
	if err != nil || aws.ToString(gp.Policy) != policy {
		t.Errorf("GetBucketPolicy = %v, %v; want the policy", gp, err)
	}
	_, err = cl.PutBucketPolicy(ctx, &awss3.PutBucketPolicyInput{Bucket: aws.String("wire"), Policy: aws.String("nope")})
	if apiCode(err) != "MalformedPolicy" {
		t.Errorf("PutBucketPolicy(nope) = %v; want MalformedPolicy", err)
	}
	if _, err := cl.PutBucketVersioning(ctx, &awss3.PutBucketVersioningInput{Bucket: aws.String("wire"),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}}); err != nil {
		t.Fatalf("PutBucketVersioning = %v", err)
	}
	v1, err := cl.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("wire"), Key: aws.String("v"), Body: strings.NewReader("1")})
	if err != nil || aws.ToString(v1.VersionId) == "" {
		t.Fatalf("PutObject(versioned) = %v, %v; want a version ID", v1, err)
	}
	tags, err := cl.GetBucketTagging(ctx, &awss3.GetBucketTaggingInput{Bucket: aws.String("wire")})
	if apiCode(err) != "NoSuchTagSet" {
		t.Errorf("GetBucketTagging = %v, %v; want NoSuchTagSet", tags, err)
	}

	var ids []types.ObjectIdentifier
	lv, err := cl.ListObjectVersions(ctx, &awss3.ListObjectVersionsInput{Bucket: aws.String("wire")})
	if err != nil {
		t.Fatalf("ListObjectVersions = %v", err)
	}
	for _, v := range lv.Versions {
		ids = append(ids, types.ObjectIdentifier{Key: v.Key, VersionId: v.VersionId})
	}
	del, err := cl.DeleteObjects(ctx, &awss3.DeleteObjectsInput{Bucket: aws.String("wire"), Delete: &types.Delete{Objects: ids}})
	if err != nil || len(del.Deleted) != 4 || len(del.Errors) != 0 {
		t.Fatalf("DeleteObjects = %v, %v; want 4 deleted", del, err)
	}
	if _, err := cl.DeleteBucket(ctx, &awss3.DeleteBucketInput{Bucket: aws.String("wire")}); err != nil {
		t.Errorf("DeleteBucket = %v", err)
	}
}

// TestWireCLI syncs a directory up and down with the aws CLI v1.
func TestWireFullCLI(t *testing.T) {
	srv, _ := wireServer(t)
	src, dst := t.TempDir(), t.TempDir()
	files := map[string]string{"a.txt": "alpha", "sub/b.txt": "bravo", "sub/deep/c.bin": strings.Repeat("c", 9<<20)}
	for name, data := range files {
		p := filepath.Join(src, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	aws := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("aws", append([]string{"--endpoint-url", srv.URL, "--region", "us-east-1"}, args...)...)
		cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID="+wireKey, "AWS_SECRET_ACCESS_KEY="+wireSecret,
			"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_PAGER=")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("aws %s = %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	aws("s3", "mb", "s3://cli-bucket")
	aws("s3", "sync", src, "s3://cli-bucket/up")
	ls := aws("s3", "ls", "--recursive", "s3://cli-bucket/")
	for name := range files {
		if !strings.Contains(ls, "up/"+name) {
			t.Errorf("aws s3 ls --recursive = %q; want up/%s", ls, name)
		}
	}
	aws("s3", "cp", "s3://cli-bucket/up/a.txt", filepath.Join(dst, "single.txt"))
	aws("s3", "sync", "s3://cli-bucket/up", dst)
	for name, data := range files {
		b, err := os.ReadFile(filepath.Join(dst, name))
		if err != nil || string(b) != data {
			t.Errorf("synced %s = %d bytes, %v; want %d bytes", name, len(b), err, len(data))
		}
	}
	if b, _ := os.ReadFile(filepath.Join(dst, "single.txt")); string(b) != "alpha" {
		t.Errorf("aws s3 cp = %q; want alpha", b)
	}
	out := aws("s3api", "head-object", "--bucket", "cli-bucket", "--key", "up/sub/deep/c.bin")
	sum := md5.Sum([]byte(files["sub/deep/c.bin"]))
	if strings.Contains(out, hex.EncodeToString(sum[:])+`\"`) || !strings.Contains(out, "-2") {
		t.Errorf("head-object(c.bin) = %s; want a 2-part multipart ETag", out)
	}
	aws("s3", "rm", "--recursive", "s3://cli-bucket/")
	aws("s3", "rb", "s3://cli-bucket")
}
