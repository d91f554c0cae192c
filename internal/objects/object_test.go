package objects

import (
	"crypto/md5"
	"encoding/base64"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/bannin/bannin/internal/wire/s3"
)

func readAll(t *testing.T, rc io.ReadCloser) string {
	t.Helper()
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return string(b)
}

func md5b64(s string) string {
	h := md5.Sum([]byte(s))
	return base64.StdEncoding.EncodeToString(h[:])
}

func TestPutGetObject(t *testing.T) {
	e := newEnv(t)
	e.createBucket(acct, "data")
	sp := e.spool("hello, world")
	put := ok(e, acct, "PutObject", e.svc.PutObject, &s3.PutObjectRequest{Bucket: ptr("data"), Key: ptr("dir/hello.txt"),
		Body: sp, ContentType: ptr("text/plain"), ContentMD5: ptr(md5b64("hello, world")),
		Metadata: map[string]string{"Owner": "ops"}, Tagging: ptr("team=sec&env=prod")})
	if want := `"e4d7f1b4ed2e42d15898f4b27b019da4"`; str(put.ETag) != want {
		t.Errorf("PutObject ETag = %s; want %s", str(put.ETag), want)
	}
	if put.VersionId != nil {
		t.Errorf("PutObject VersionId = %s; want none without versioning", *put.VersionId)
	}
	if str(put.ServerSideEncryption) != "AES256" {
		t.Errorf("PutObject ServerSideEncryption = %q; want AES256 (bucket default)", str(put.ServerSideEncryption))
	}
	if _, err := os.Stat(sp.Path); !os.IsNotExist(err) {
		t.Errorf("spool file still at %s after PutObject (err %v); want it moved", sp.Path, err)
	}

	get := ok(e, acct, "GetObject", e.svc.GetObject, &s3.GetObjectRequest{Bucket: ptr("data"), Key: ptr("dir/hello.txt")})
	if body := readAll(t, get.Body); body != "hello, world" {
		t.Errorf("GetObject body = %q; want hello, world", body)
	}
	if str(get.ContentType) != "text/plain" || *get.ContentLength != 12 || get.Metadata["owner"] != "ops" ||
		str(get.ETag) != str(put.ETag) || get.TagCount == nil || *get.TagCount != 2 || get.ContentRange != nil {
		t.Errorf("GetObject = type %q length %d meta %v etag %s tags %v range %v; want text/plain 12 owner=ops, 2 tags, no range",
			str(get.ContentType), *get.ContentLength, get.Metadata, str(get.ETag), get.TagCount, get.ContentRange)
	}

	for _, tc := range []struct{ rng, body, contentRange string }{
		{"bytes=0-4", "hello", "bytes 0-4/12"},
		{"bytes=7-", "world", "bytes 7-11/12"},
		{"bytes=-5", "world", "bytes 7-11/12"},
		{"bytes=7-100", "world", "bytes 7-11/12"},
	} {
		g := ok(e, acct, "GetObject", e.svc.GetObject, &s3.GetObjectRequest{Bucket: ptr("data"), Key: ptr("dir/hello.txt"), Range: ptr(tc.rng)})
		if body := readAll(t, g.Body); body != tc.body || str(g.ContentRange) != tc.contentRange || *g.ContentLength != int64(len(tc.body)) {
			t.Errorf("GetObject(Range %s) = %q, %q, %d; want %q, %q", tc.rng, body, str(g.ContentRange), *g.ContentLength, tc.body, tc.contentRange)
		}
	}
	_, _, err := do(e, acct, "GetObject", e.svc.GetObject, &s3.GetObjectRequest{Bucket: ptr("data"), Key: ptr("dir/hello.txt"), Range: ptr("bytes=12-")})
	wantErr(t, "GetObject(Range past the end)", err, "InvalidRange", 416)

	_, _, err = do(e, acct, "GetObject", e.svc.GetObject, &s3.GetObjectRequest{Bucket: ptr("data"), Key: ptr("dir/hello.txt"), IfMatch: ptr(`"0000"`)})
	wantErr(t, "GetObject(If-Match other)", err, "PreconditionFailed", 412)
	_, _, err = do(e, acct, "GetObject", e.svc.GetObject, &s3.GetObjectRequest{Bucket: ptr("data"), Key: ptr("dir/hello.txt"), IfNoneMatch: put.ETag})
	wantErr(t, "GetObject(If-None-Match same)", err, "NotModified", 304)
	later := e.now.Add(time.Hour)
	_, _, err = do(e, acct, "HeadObject", e.svc.HeadObject, &s3.HeadObjectRequest{Bucket: ptr("data"), Key: ptr("dir/hello.txt"), IfModifiedSince: &later})
	wantErr(t, "HeadObject(If-Modified-Since later)", err, "NotModified", 304)
	ok(e, acct, "GetObject", e.svc.GetObject, &s3.GetObjectRequest{Bucket: ptr("data"), Key: ptr("dir/hello.txt"), IfMatch: put.ETag})

	head := ok(e, acct, "HeadObject", e.svc.HeadObject, &s3.HeadObjectRequest{Bucket: ptr("data"), Key: ptr("dir/hello.txt")})
	if *head.ContentLength != 12 || str(head.ETag) != str(put.ETag) || head.Metadata["owner"] != "ops" {
		t.Errorf("HeadObject = %d %s %v; want 12, the ETag, the metadata", *head.ContentLength, str(head.ETag), head.Metadata)
	}
	_, _, err = do(e, acct, "HeadObject", e.svc.HeadObject, &s3.HeadObjectRequest{Bucket: ptr("data"), Key: ptr("missing")})
	wantErr(t, "HeadObject(missing)", err, "NoSuchKey", 404)
	_, _, err = do(e, acct, "GetObject", e.svc.GetObject, &s3.GetObjectRequest{Bucket: ptr("nobucket"), Key: ptr("k")})
	wantErr(t, "GetObject(no bucket)", err, "NoSuchBucket", 404)
	_, _, err = do(e, other, "GetObject", e.svc.GetObject, &s3.GetObjectRequest{Bucket: ptr("data"), Key: ptr("dir/hello.txt")})
	wantErr(t, "GetObject(other account)", err, "AccessDenied", 403)

	_, _, err = do(e, acct, "PutObject", e.svc.PutObject, &s3.PutObjectRequest{Bucket: ptr("data"), Key: ptr("bad"),
		Body: e.spool("abc"), ContentMD5: ptr(md5b64("abd"))})
	wantErr(t, "PutObject(wrong Content-MD5)", err, "BadDigest", 400)
	_, _, err = do(e, acct, "PutObject", e.svc.PutObject, &s3.PutObjectRequest{Bucket: ptr("data"), Key: ptr("bad"),
		Body: e.spool("abc"), ContentMD5: ptr("nope")})
	wantErr(t, "PutObject(malformed Content-MD5)", err, "InvalidDigest", 400)
	_, _, err = do(e, acct, "HeadObject", e.svc.HeadObject, &s3.HeadObjectRequest{Bucket: ptr("data"), Key: ptr("bad")})
	wantErr(t, "HeadObject(after BadDigest)", err, "NoSuchKey", 404)
	_, _, err = do(e, acct, "PutObject", e.svc.PutObject, &s3.PutObjectRequest{Bucket: ptr("data"), Key: ptr("dir/hello.txt"),
		Body: e.spool("x"), IfNoneMatch: ptr("*")})
	wantErr(t, "PutObject(If-None-Match * on existing)", err, "PreconditionFailed", 412)

	// Overwrite: the new bytes, the old ones queued for the sweeper.
	ok(e, acct, "PutObject", e.svc.PutObject, &s3.PutObjectRequest{Bucket: ptr("data"), Key: ptr("dir/hello.txt"), Body: e.spool("bye")})
	get = ok(e, acct, "GetObject", e.svc.GetObject, &s3.GetObjectRequest{Bucket: ptr("data"), Key: ptr("dir/hello.txt")})
	if body := readAll(t, get.Body); body != "bye" || str(get.ContentType) != "binary/octet-stream" || get.Metadata != nil {
		t.Errorf("GetObject(after overwrite) = %q %q %v; want bye, binary/octet-stream, no metadata", body, str(get.ContentType), get.Metadata)
	}
	e.now = e.now.Add(time.Hour)
	n, err := e.svc.Sweep(t.Context(), e.st)
	if err != nil || n != 1 {
		t.Errorf("Sweep = %d, %v; want 1 blob removed", n, err)
	}
	get = ok(e, acct, "GetObject", e.svc.GetObject, &s3.GetObjectRequest{Bucket: ptr("data"), Key: ptr("dir/hello.txt")})
	if body := readAll(t, get.Body); body != "bye" {
		t.Errorf("GetObject(after Sweep) = %q; want bye", body)
	}
}

func TestCopyAndDelete(t *testing.T) {
	e := newEnv(t)
	e.createBucket(acct, "src")
	e.createBucket(acct, "dst")
	put := ok(e, acct, "PutObject", e.svc.PutObject, &s3.PutObjectRequest{Bucket: ptr("src"), Key: ptr("a b/c.txt"),
		Body: e.spool("payload"), ContentType: ptr("text/plain"), Metadata: map[string]string{"k": "v"}})

	cp := ok(e, acct, "CopyObject", e.svc.CopyObject, &s3.CopyObjectRequest{Bucket: ptr("dst"), Key: ptr("copy"),
		CopySource: ptr("/src/a%20b/c.txt")})
	if str(cp.CopyObjectResult.ETag) != str(put.ETag) {
		t.Errorf("CopyObject ETag = %s; want %s", str(cp.CopyObjectResult.ETag), str(put.ETag))
	}
	get := ok(e, acct, "GetObject", e.svc.GetObject, &s3.GetObjectRequest{Bucket: ptr("dst"), Key: ptr("copy")})
	if body := readAll(t, get.Body); body != "payload" || get.Metadata["k"] != "v" || str(get.ContentType) != "text/plain" {
		t.Errorf("GetObject(copy) = %q %v %q; want payload with metadata copied", body, get.Metadata, str(get.ContentType))
	}
	ok(e, acct, "CopyObject", e.svc.CopyObject, &s3.CopyObjectRequest{Bucket: ptr("dst"), Key: ptr("replaced"),
		CopySource: ptr("src/a b/c.txt"), MetadataDirective: ptr("REPLACE"), Metadata: map[string]string{"new": "1"}})
	head := ok(e, acct, "HeadObject", e.svc.HeadObject, &s3.HeadObjectRequest{Bucket: ptr("dst"), Key: ptr("replaced")})
	if head.Metadata["new"] != "1" || head.Metadata["k"] != "" {
		t.Errorf("HeadObject(REPLACE copy) metadata = %v; want only new=1", head.Metadata)
	}
	_, _, err := do(e, acct, "CopyObject", e.svc.CopyObject, &s3.CopyObjectRequest{Bucket: ptr("src"), Key: ptr("a b/c.txt"),
		CopySource: ptr("src/a b/c.txt")})
	wantErr(t, "CopyObject(onto itself)", err, "InvalidRequest", 400)
	_, _, err = do(e, acct, "CopyObject", e.svc.CopyObject, &s3.CopyObjectRequest{Bucket: ptr("dst"), Key: ptr("x"),
		CopySource: ptr("src/missing")})
	wantErr(t, "CopyObject(missing source)", err, "NoSuchKey", 404)
	_, _, err = do(e, acct, "CopyObject", e.svc.CopyObject, &s3.CopyObjectRequest{Bucket: ptr("dst"), Key: ptr("x"),
		CopySource: ptr("src/a b/c.txt"), CopySourceIfMatch: ptr(`"nope"`)})
	wantErr(t, "CopyObject(x-amz-copy-source-if-match other)", err, "PreconditionFailed", 412)

	// Deleting the source leaves the copy whole.
	ok(e, acct, "DeleteObject", e.svc.DeleteObject, &s3.DeleteObjectRequest{Bucket: ptr("src"), Key: ptr("a b/c.txt")})
	e.now = e.now.Add(time.Hour)
	if _, err := e.svc.Sweep(t.Context(), e.st); err != nil {
		t.Fatal(err)
	}
	get = ok(e, acct, "GetObject", e.svc.GetObject, &s3.GetObjectRequest{Bucket: ptr("dst"), Key: ptr("copy")})
	if body := readAll(t, get.Body); body != "payload" {
		t.Errorf("GetObject(copy after source deleted) = %q; want payload", body)
	}
	// Deleting a missing key succeeds.
	ok(e, acct, "DeleteObject", e.svc.DeleteObject, &s3.DeleteObjectRequest{Bucket: ptr("src"), Key: ptr("a b/c.txt")})

	del := ok(e, acct, "DeleteObjects", e.svc.DeleteObjects, &s3.DeleteObjectsRequest{Bucket: ptr("dst"), Delete: &s3.Delete{
		Objects: []s3.ObjectIdentifier{{Key: ptr("copy")}, {Key: ptr("replaced")}, {Key: ptr("never")}}}})
	if len(del.Deleted) != 3 || len(del.Errors) != 0 {
		t.Errorf("DeleteObjects = %d deleted, %d errors; want 3, 0", len(del.Deleted), len(del.Errors))
	}
	ok(e, acct, "PutObject", e.svc.PutObject, &s3.PutObjectRequest{Bucket: ptr("dst"), Key: ptr("q"), Body: e.spool("1")})
	del = ok(e, acct, "DeleteObjects", e.svc.DeleteObjects, &s3.DeleteObjectsRequest{Bucket: ptr("dst"), Delete: &s3.Delete{
		Objects: []s3.ObjectIdentifier{{Key: ptr("q")}, {Key: ptr("r"), VersionId: ptr("bogus")}}, Quiet: ptr(true)}})
	if len(del.Deleted) != 0 || len(del.Errors) != 1 || str(del.Errors[0].Key) != "r" || str(del.Errors[0].Code) != "InvalidArgument" {
		t.Errorf("DeleteObjects(quiet) = %+v, %+v; want only r's InvalidArgument error", del.Deleted, del.Errors)
	}
	list := ok(e, acct, "ListObjectsV2", e.svc.ListObjectsV2, &s3.ListObjectsV2Request{Bucket: ptr("dst")})
	if *list.KeyCount != 0 {
		t.Errorf("ListObjectsV2(after deletes) = %d keys; want 0", *list.KeyCount)
	}
	ok(e, acct, "DeleteBucket", e.svc.DeleteBucket, &s3.DeleteBucketRequest{Bucket: ptr("dst")})
}

func TestListObjects(t *testing.T) {
	e := newEnv(t)
	e.createBucket(acct, "tree")
	keys := []string{"a.txt", "logs/2024/01.log", "logs/2024/02.log", "logs/2025/01.log", "logs/top.log", "z z+y.txt", "zz/1"}
	for _, k := range keys {
		ok(e, acct, "PutObject", e.svc.PutObject, &s3.PutObjectRequest{Bucket: ptr("tree"), Key: ptr(k), Body: e.spool(k)})
	}
	names := func(objs []s3.Object, cps []s3.CommonPrefix) string {
		var out []string
		for _, o := range objs {
			out = append(out, *o.Key)
		}
		for _, p := range cps {
			out = append(out, "P:"+*p.Prefix)
		}
		return strings.Join(out, ",")
	}
	v2 := func(in *s3.ListObjectsV2Request) *s3.ListObjectsV2Output {
		in.Bucket = ptr("tree")
		return ok(e, acct, "ListObjectsV2", e.svc.ListObjectsV2, in)
	}
	if got := names(v2(&s3.ListObjectsV2Request{}).Contents, nil); got != strings.Join(keys, ",") {
		t.Errorf("ListObjectsV2() = %s; want all keys in order", got)
	}
	out := v2(&s3.ListObjectsV2Request{Delimiter: ptr("/")})
	if got, want := names(out.Contents, out.CommonPrefixes), "a.txt,z z+y.txt,P:logs/,P:zz/"; got != want || *out.KeyCount != 4 {
		t.Errorf("ListObjectsV2(Delimiter /) = %s (%d); want %s (4)", got, *out.KeyCount, want)
	}
	out = v2(&s3.ListObjectsV2Request{Prefix: ptr("logs/"), Delimiter: ptr("/")})
	if got, want := names(out.Contents, out.CommonPrefixes), "logs/top.log,P:logs/2024/,P:logs/2025/"; got != want {
		t.Errorf("ListObjectsV2(logs/, /) = %s; want %s", got, want)
	}
	out = v2(&s3.ListObjectsV2Request{StartAfter: ptr("logs/2024/02.log")})
	if got, want := names(out.Contents, nil), "logs/2025/01.log,logs/top.log,z z+y.txt,zz/1"; got != want {
		t.Errorf("ListObjectsV2(StartAfter) = %s; want %s", got, want)
	}

	// Pages of two with the delimiter: prefixes count and are not repeated.
	var pages []string
	var token *string
	for i := 0; i < 10; i++ {
		out := v2(&s3.ListObjectsV2Request{Delimiter: ptr("/"), MaxKeys: ptr(int32(2)), ContinuationToken: token})
		pages = append(pages, names(out.Contents, out.CommonPrefixes))
		if !*out.IsTruncated {
			break
		}
		token = out.NextContinuationToken
	}
	if got, want := strings.Join(pages, "|"), "a.txt,P:logs/|z z+y.txt,P:zz/"; got != want {
		t.Errorf("ListObjectsV2 pages = %s; want %s", got, want)
	}

	// Version 1: Marker and NextMarker.
	var all []string
	marker := ""
	for i := 0; i < 10; i++ {
		out := ok(e, acct, "ListObjects", e.svc.ListObjects, &s3.ListObjectsRequest{Bucket: ptr("tree"), MaxKeys: ptr(int32(3)), Marker: ptr(marker)})
		for _, o := range out.Contents {
			all = append(all, *o.Key)
			marker = *o.Key
		}
		if out.Contents[0].Owner == nil {
			t.Errorf("ListObjects contents have no Owner")
		}
		if !*out.IsTruncated {
			break
		}
	}
	if got := strings.Join(all, ","); got != strings.Join(keys, ",") {
		t.Errorf("ListObjects pages = %s; want all keys", got)
	}
	v1 := ok(e, acct, "ListObjects", e.svc.ListObjects, &s3.ListObjectsRequest{Bucket: ptr("tree"), Delimiter: ptr("/"), MaxKeys: ptr(int32(2))})
	if str(v1.NextMarker) != "logs/" {
		t.Errorf("ListObjects(Delimiter, 2) NextMarker = %q; want logs/", str(v1.NextMarker))
	}
	v1 = ok(e, acct, "ListObjects", e.svc.ListObjects, &s3.ListObjectsRequest{Bucket: ptr("tree"), Delimiter: ptr("/"), Marker: v1.NextMarker})
	if got, want := names(v1.Contents, v1.CommonPrefixes), "z z+y.txt,P:zz/"; got != want {
		t.Errorf("ListObjects(after logs/) = %s; want %s", got, want)
	}

	enc := v2(&s3.ListObjectsV2Request{Prefix: ptr("z z"), EncodingType: ptr("url")})
	if got := names(enc.Contents, nil); got != "z+z%2By.txt" || str(enc.Prefix) != "z+z" {
		t.Errorf("ListObjectsV2(EncodingType url) = %s prefix %s; want z+z%%2By.txt prefix z+z", got, str(enc.Prefix))
	}
	_, _, err := do(e, acct, "ListObjectsV2", e.svc.ListObjectsV2, &s3.ListObjectsV2Request{Bucket: ptr("tree"), ContinuationToken: ptr("!!")})
	wantErr(t, "ListObjectsV2(bad token)", err, "InvalidArgument", 400)
}
