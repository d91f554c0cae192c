package objects_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/bannin/bannin/internal/call"
	"github.com/bannin/bannin/internal/gateway"
	"github.com/bannin/bannin/internal/objects"
	"github.com/bannin/bannin/internal/sigv4"
	"github.com/bannin/bannin/internal/store/sqlite"
	"github.com/bannin/bannin/internal/wire/s3"
)

const (
	wireAccount = "123456789012"
	wireKey     = "AKIAOBJECTSTEST00001"
	wireSecret  = "objects-test-secret-key-0000000000000000"
)

// wireServer serves the S3 service alone behind the gateway, with SigV4 verified against
// one key, the way the server wires it.
func wireServer(t *testing.T) (*httptest.Server, aws.Config) {
	t.Helper()
	dir := t.TempDir()
	st, err := sqlite.Open(filepath.Join(dir, "db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc, err := objects.New(objects.Options{Dir: filepath.Join(dir, "objects")})
	if err != nil {
		t.Fatal(err)
	}
	v := &sigv4.Verifier{Secret: func(_ context.Context, id string) (string, bool, error) {
		return wireSecret, id == wireKey, nil
	}}
	gw := gateway.New(gateway.Options{
		Services: []gateway.Service{s3.Handler{API: svc}},
		Store:    st,
		Scope: func(r *http.Request) (string, string, error) {
			sc, err := sigv4.ReadScope(r)
			return sc.Service, sc.Region, err
		},
		Authenticate: func(ctx context.Context, r *http.Request, service string, body []byte) (gateway.Auth, error) {
			res, err := v.Verify(ctx, r, body)
			if err != nil {
				return gateway.Auth{}, err
			}
			a := gateway.Auth{Caller: call.Principal{Type: "Root", Account: wireAccount, ARN: "arn:aws:iam::" + wireAccount + ":root"}}
			if body == nil {
				if a.Body, err = res.Body(r); err != nil {
					return gateway.Auth{}, err
				}
				if strings.HasPrefix(r.Header.Get("X-Amz-Content-Sha256"), "STREAMING-") {
					r.Header.Del("X-Amz-Content-Sha256")
				}
				if strings.TrimSpace(r.Header.Get("Content-Encoding")) == "aws-chunked" {
					r.Header.Del("Content-Encoding")
				}
			}
			return a, nil
		},
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
		SpoolDir: filepath.Join(dir, "spool"),
	})
	srv := httptest.NewServer(gw)
	t.Cleanup(srv.Close)
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider(wireKey, wireSecret, ""),
		BaseEndpoint: aws.String(srv.URL)}
	return srv, cfg
}

func client(cfg aws.Config) *awss3.Client {
	return awss3.NewFromConfig(cfg, func(o *awss3.Options) { o.UsePathStyle = true })
}

// withBuckets serves S3 alone (wireServer) with the buckets named created, and returns a
// client of it.
func withBuckets(t *testing.T, names ...string) *awss3.Client {
	t.Helper()
	_, cfg := wireServer(t)
	c := client(cfg)
	for _, n := range names {
		if _, err := c.CreateBucket(context.Background(), &awss3.CreateBucketInput{Bucket: aws.String(n)}); err != nil {
			t.Fatalf("CreateBucket %s: %v", n, err)
		}
	}
	return c
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func TestWireSDK(t *testing.T) {
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

	// A 12 MiB object read back by the transfer manager in ranged 5 MiB parts.
	big := bytes.Repeat([]byte("0123456789abcdef"), 12<<20/16)
	if _, err := cl.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("wire"), Key: aws.String("big.bin"), Body: bytes.NewReader(big)}); err != nil {
		t.Fatalf("PutObject(12 MiB) = %v", err)
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

	_, err = cl.DeleteBucket(ctx, &awss3.DeleteBucketInput{Bucket: aws.String("wire")})
	if apiCode(err) != "BucketNotEmpty" {
		t.Errorf("DeleteBucket(not empty) = %v; want BucketNotEmpty", err)
	}
	for _, k := range []string{"big.bin", "copy.txt", "dir/a b.txt"} {
		if _, err := cl.DeleteObject(ctx, &awss3.DeleteObjectInput{Bucket: aws.String("wire"), Key: aws.String(k)}); err != nil {
			t.Fatalf("DeleteObject(%s) = %v", k, err)
		}
	}
	if _, err := cl.DeleteBucket(ctx, &awss3.DeleteBucketInput{Bucket: aws.String("wire")}); err != nil {
		t.Errorf("DeleteBucket = %v", err)
	}
}

// TestWireCLI syncs a directory up and down with the aws CLI v1.
func TestWireCLI(t *testing.T) {
	srv, _ := wireServer(t)
	src, dst := t.TempDir(), t.TempDir()
	files := map[string]string{"a.txt": "alpha", "sub/b.txt": "bravo", "sub/deep/c.bin": strings.Repeat("c", 3<<20)}
	for name, data := range files {
		p := filepath.Join(src, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	config := "/dev/null"
	aws := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("aws", append([]string{"--endpoint-url", srv.URL, "--region", "us-east-1"}, args...)...)
		cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID="+wireKey, "AWS_SECRET_ACCESS_KEY="+wireSecret,
			"AWS_CONFIG_FILE="+config, "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_PAGER=")
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
	if !strings.Contains(out, hex.EncodeToString(sum[:])) || !strings.Contains(out, `"ContentLength": 3145728`) {
		t.Errorf("head-object(c.bin) = %s; want its MD5 ETag and length", out)
	}
	// A copy between buckets above the multipart threshold is made with UploadPartCopy.
	config = filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(config, []byte("[default]\ns3 =\n  multipart_threshold = 1MB\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	aws("s3", "cp", "s3://cli-bucket/up/sub/deep/c.bin", "s3://cli-bucket/copied/c.bin")
	config = "/dev/null"
	out = aws("s3api", "head-object", "--bucket", "cli-bucket", "--key", "copied/c.bin")
	if !strings.Contains(out, `"ContentLength": 3145728`) || !strings.Contains(out, `-1\"`) {
		t.Errorf("head-object(copied c.bin) = %s; want 3 MiB made of one copied part", out)
	}
	aws("s3", "rm", "--recursive", "s3://cli-bucket/")
	aws("s3", "rb", "s3://cli-bucket")
}
