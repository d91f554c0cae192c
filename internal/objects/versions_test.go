package objects

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/bannin/bannin/internal/wire/s3"
)

func TestVersioning(t *testing.T) {
	e := newEnv(t)
	e.createBucket(acct, "ver")
	ok(e, acct, "PutObject", e.svc.PutObject, &s3.PutObjectRequest{Bucket: ptr("ver"), Key: ptr("k"), Body: e.spool("v0")})
	vs := ok(e, acct, "GetBucketVersioning", e.svc.GetBucketVersioning, &s3.GetBucketVersioningRequest{Bucket: ptr("ver")})
	if vs.Status != nil {
		t.Errorf("GetBucketVersioning(new) = %s; want no status", *vs.Status)
	}
	_, _, err := do(e, acct, "PutBucketVersioning", e.svc.PutBucketVersioning, &s3.PutBucketVersioningRequest{Bucket: ptr("ver"),
		VersioningConfiguration: &s3.VersioningConfiguration{Status: ptr("On")}})
	wantErr(t, "PutBucketVersioning(On)", err, "MalformedXML", 400)
	ok(e, acct, "PutBucketVersioning", e.svc.PutBucketVersioning, &s3.PutBucketVersioningRequest{Bucket: ptr("ver"),
		VersioningConfiguration: &s3.VersioningConfiguration{Status: ptr("Enabled")}})

	p1 := ok(e, acct, "PutObject", e.svc.PutObject, &s3.PutObjectRequest{Bucket: ptr("ver"), Key: ptr("k"), Body: e.spool("v1")})
	p2 := ok(e, acct, "PutObject", e.svc.PutObject, &s3.PutObjectRequest{Bucket: ptr("ver"), Key: ptr("k"), Body: e.spool("v2")})
	if p1.VersionId == nil || p2.VersionId == nil || *p1.VersionId == *p2.VersionId {
		t.Fatalf("PutObject version IDs = %v, %v; want two different ones", p1.VersionId, p2.VersionId)
	}
	body := func(version *string) string {
		g := ok(e, acct, "GetObject", e.svc.GetObject, &s3.GetObjectRequest{Bucket: ptr("ver"), Key: ptr("k"), VersionId: version})
		return readAll(t, g.Body)
	}
	if got := body(nil); got != "v2" {
		t.Errorf("GetObject(current) = %q; want v2", got)
	}
	if got := body(p1.VersionId); got != "v1" {
		t.Errorf("GetObject(version 1) = %q; want v1", got)
	}
	if got := body(ptr("null")); got != "v0" {
		t.Errorf("GetObject(null version) = %q; want v0 (from before versioning)", got)
	}

	del := ok(e, acct, "DeleteObject", e.svc.DeleteObject, &s3.DeleteObjectRequest{Bucket: ptr("ver"), Key: ptr("k")})
	if del.DeleteMarker == nil || !*del.DeleteMarker || del.VersionId == nil {
		t.Fatalf("DeleteObject(versioned) = %+v; want a delete marker with a version ID", del)
	}
	_, _, err = do(e, acct, "GetObject", e.svc.GetObject, &s3.GetObjectRequest{Bucket: ptr("ver"), Key: ptr("k")})
	wantErr(t, "GetObject(behind delete marker)", err, "NoSuchKey", 404)
	_, _, err = do(e, acct, "GetObject", e.svc.GetObject, &s3.GetObjectRequest{Bucket: ptr("ver"), Key: ptr("k"), VersionId: del.VersionId})
	wantErr(t, "GetObject(delete marker version)", err, "MethodNotAllowed", 405)
	l := ok(e, acct, "ListObjectsV2", e.svc.ListObjectsV2, &s3.ListObjectsV2Request{Bucket: ptr("ver")})
	if *l.KeyCount != 0 {
		t.Errorf("ListObjectsV2(after delete marker) = %d keys; want 0", *l.KeyCount)
	}

	lv := ok(e, acct, "ListObjectVersions", e.svc.ListObjectVersions, &s3.ListObjectVersionsRequest{Bucket: ptr("ver")})
	var got []string
	for _, m := range lv.DeleteMarkers {
		got = append(got, fmt.Sprintf("marker latest=%v", *m.IsLatest))
	}
	for _, v := range lv.Versions {
		got = append(got, fmt.Sprintf("%v latest=%v", *v.VersionId == "null", *v.IsLatest))
	}
	if want := "marker latest=true,false latest=false,false latest=false,true latest=false"; strings.Join(got, ",") != want {
		t.Errorf("ListObjectVersions = %s; want %s", strings.Join(got, ","), want)
	}
	_, _, err = do(e, acct, "DeleteBucket", e.svc.DeleteBucket, &s3.DeleteBucketRequest{Bucket: ptr("ver")})
	wantErr(t, "DeleteBucket(only versions left)", err, "BucketNotEmpty", 409)

	// Deleting the delete marker brings v2 back.
	ok(e, acct, "DeleteObject", e.svc.DeleteObject, &s3.DeleteObjectRequest{Bucket: ptr("ver"), Key: ptr("k"), VersionId: del.VersionId})
	if got := body(nil); got != "v2" {
		t.Errorf("GetObject(after removing the marker) = %q; want v2", got)
	}
	// Deleting the current version makes v1 current.
	ok(e, acct, "DeleteObject", e.svc.DeleteObject, &s3.DeleteObjectRequest{Bucket: ptr("ver"), Key: ptr("k"), VersionId: p2.VersionId})
	if got := body(nil); got != "v1" {
		t.Errorf("GetObject(after removing v2) = %q; want v1", got)
	}

	// Suspended: puts replace the null version and keep the others.
	ok(e, acct, "PutBucketVersioning", e.svc.PutBucketVersioning, &s3.PutBucketVersioningRequest{Bucket: ptr("ver"),
		VersioningConfiguration: &s3.VersioningConfiguration{Status: ptr("Suspended")}})
	ps := ok(e, acct, "PutObject", e.svc.PutObject, &s3.PutObjectRequest{Bucket: ptr("ver"), Key: ptr("k"), Body: e.spool("s1")})
	if str(ps.VersionId) != "null" {
		t.Errorf("PutObject(suspended) VersionId = %q; want null", str(ps.VersionId))
	}
	ok(e, acct, "PutObject", e.svc.PutObject, &s3.PutObjectRequest{Bucket: ptr("ver"), Key: ptr("k"), Body: e.spool("s2")})
	if got := body(ptr("null")); got != "s2" {
		t.Errorf("GetObject(null, suspended) = %q; want s2", got)
	}
	lv = ok(e, acct, "ListObjectVersions", e.svc.ListObjectVersions, &s3.ListObjectVersionsRequest{Bucket: ptr("ver")})
	if len(lv.Versions) != 2 {
		t.Errorf("ListObjectVersions(suspended) = %d versions; want 2 (null and v1)", len(lv.Versions))
	}
	// Versioned pages: one version per page.
	seen := 0
	var km, vm *string
	for i := 0; i < 5; i++ {
		page := ok(e, acct, "ListObjectVersions", e.svc.ListObjectVersions, &s3.ListObjectVersionsRequest{Bucket: ptr("ver"),
			MaxKeys: ptr(int32(1)), KeyMarker: km, VersionIdMarker: vm})
		seen += len(page.Versions) + len(page.DeleteMarkers)
		if !*page.IsTruncated {
			break
		}
		km, vm = page.NextKeyMarker, page.NextVersionIdMarker
	}
	if seen != 2 {
		t.Errorf("ListObjectVersions pages saw %d versions; want 2", seen)
	}
}

func md5hex(s string) string {
	h := md5.Sum([]byte(s))
	return hex.EncodeToString(h[:])
}

func TestMultipartUpload(t *testing.T) {
	e := newEnv(t)
	e.createBucket(acct, "mpu")
	cr := ok(e, acct, "CreateMultipartUpload", e.svc.CreateMultipartUpload, &s3.CreateMultipartUploadRequest{Bucket: ptr("mpu"),
		Key: ptr("big.bin"), ContentType: ptr("application/x-big"), Metadata: map[string]string{"m": "1"}})
	id := cr.UploadId
	part1 := strings.Repeat("a", minPartSize)
	part2 := strings.Repeat("b", minPartSize)
	part3 := "tail"
	upload := func(n int32, data string) string {
		out := ok(e, acct, "UploadPart", e.svc.UploadPart, &s3.UploadPartRequest{Bucket: ptr("mpu"), Key: ptr("big.bin"),
			UploadId: id, PartNumber: &n, Body: e.spool(data)})
		return *out.ETag
	}
	e1 := upload(1, "replaced later")
	e1 = upload(1, part1)
	e3 := upload(3, part3)
	e2 := upload(2, part2)
	if e1 != `"`+md5hex(part1)+`"` {
		t.Errorf("UploadPart(1) ETag = %s; want the part's MD5", e1)
	}

	lp := ok(e, acct, "ListParts", e.svc.ListParts, &s3.ListPartsRequest{Bucket: ptr("mpu"), Key: ptr("big.bin"), UploadId: id, MaxParts: ptr(int32(2))})
	if len(lp.Parts) != 2 || !*lp.IsTruncated || *lp.NextPartNumberMarker != 2 || *lp.Parts[0].Size != minPartSize {
		t.Errorf("ListParts(max 2) = %d parts, truncated %v, next %v; want 2, true, 2", len(lp.Parts), *lp.IsTruncated, lp.NextPartNumberMarker)
	}
	lp = ok(e, acct, "ListParts", e.svc.ListParts, &s3.ListPartsRequest{Bucket: ptr("mpu"), Key: ptr("big.bin"), UploadId: id, PartNumberMarker: ptr(int32(2))})
	if len(lp.Parts) != 1 || *lp.Parts[0].PartNumber != 3 || *lp.IsTruncated {
		t.Errorf("ListParts(after 2) = %+v; want part 3 alone", lp.Parts)
	}
	lu := ok(e, acct, "ListMultipartUploads", e.svc.ListMultipartUploads, &s3.ListMultipartUploadsRequest{Bucket: ptr("mpu")})
	if len(lu.Uploads) != 1 || *lu.Uploads[0].UploadId != *id || *lu.Uploads[0].Key != "big.bin" {
		t.Errorf("ListMultipartUploads = %+v; want the upload", lu.Uploads)
	}

	complete := func(parts ...s3.CompletedPart) error {
		_, _, err := do(e, acct, "CompleteMultipartUpload", e.svc.CompleteMultipartUpload, &s3.CompleteMultipartUploadRequest{
			Bucket: ptr("mpu"), Key: ptr("big.bin"), UploadId: id, MultipartUpload: &s3.CompletedMultipartUpload{Parts: parts}})
		return err
	}
	cp := func(n int32, etag string) s3.CompletedPart { return s3.CompletedPart{PartNumber: &n, ETag: &etag} }
	wantErr(t, "CompleteMultipartUpload(out of order)", complete(cp(2, e2), cp(1, e1)), "InvalidPartOrder", 400)
	wantErr(t, "CompleteMultipartUpload(wrong ETag)", complete(cp(1, e1), cp(2, `"00"`)), "InvalidPart", 400)
	wantErr(t, "CompleteMultipartUpload(missing part)", complete(cp(1, e1), cp(4, e2)), "InvalidPart", 400)

	// A small part before the last is too small.
	cr2 := ok(e, acct, "CreateMultipartUpload", e.svc.CreateMultipartUpload, &s3.CreateMultipartUploadRequest{Bucket: ptr("mpu"), Key: ptr("small")})
	var small []s3.CompletedPart
	for n := int32(1); n <= 2; n++ {
		out := ok(e, acct, "UploadPart", e.svc.UploadPart, &s3.UploadPartRequest{Bucket: ptr("mpu"), Key: ptr("small"),
			UploadId: cr2.UploadId, PartNumber: ptr(n), Body: e.spool("tiny")})
		small = append(small, s3.CompletedPart{PartNumber: ptr(n), ETag: out.ETag})
	}
	_, _, err := do(e, acct, "CompleteMultipartUpload", e.svc.CompleteMultipartUpload, &s3.CompleteMultipartUploadRequest{
		Bucket: ptr("mpu"), Key: ptr("small"), UploadId: cr2.UploadId, MultipartUpload: &s3.CompletedMultipartUpload{Parts: small}})
	wantErr(t, "CompleteMultipartUpload(small first part)", err, "EntityTooSmall", 400)
	ok(e, acct, "AbortMultipartUpload", e.svc.AbortMultipartUpload, &s3.AbortMultipartUploadRequest{Bucket: ptr("mpu"), Key: ptr("small"), UploadId: cr2.UploadId})
	_, _, err = do(e, acct, "UploadPart", e.svc.UploadPart, &s3.UploadPartRequest{Bucket: ptr("mpu"), Key: ptr("small"),
		UploadId: cr2.UploadId, PartNumber: ptr(int32(3)), Body: e.spool("x")})
	wantErr(t, "UploadPart(aborted upload)", err, "NoSuchUpload", 404)

	if err := complete(cp(1, e1), cp(2, e2), cp(3, e3)); err != nil {
		t.Fatalf("CompleteMultipartUpload = %v", err)
	}
	sums, _ := hex.DecodeString(md5hex(part1) + md5hex(part2) + md5hex(part3))
	wantETag := fmt.Sprintf(`"%s-3"`, md5hex(string(sums)))
	head := ok(e, acct, "HeadObject", e.svc.HeadObject, &s3.HeadObjectRequest{Bucket: ptr("mpu"), Key: ptr("big.bin")})
	if str(head.ETag) != wantETag || *head.ContentLength != 2*minPartSize+4 || str(head.ContentType) != "application/x-big" || head.Metadata["m"] != "1" {
		t.Errorf("HeadObject(completed) = %s %d %q %v; want %s %d application/x-big m=1",
			str(head.ETag), *head.ContentLength, str(head.ContentType), head.Metadata, wantETag, 2*minPartSize+4)
	}
	// A range across the part boundary, and a part by number.
	g := ok(e, acct, "GetObject", e.svc.GetObject, &s3.GetObjectRequest{Bucket: ptr("mpu"), Key: ptr("big.bin"),
		Range: ptr(fmt.Sprintf("bytes=%d-%d", 2*minPartSize-2, 2*minPartSize+1))})
	if got := readAll(t, g.Body); got != "bbta" {
		t.Errorf("GetObject(range across parts) = %q; want bbta", got)
	}
	g = ok(e, acct, "GetObject", e.svc.GetObject, &s3.GetObjectRequest{Bucket: ptr("mpu"), Key: ptr("big.bin"), PartNumber: ptr(int32(3))})
	if got := readAll(t, g.Body); got != "tail" || g.PartsCount == nil || *g.PartsCount != 3 {
		t.Errorf("GetObject(part 3) = %q, parts %v; want tail, 3", got, g.PartsCount)
	}
	g = ok(e, acct, "GetObject", e.svc.GetObject, &s3.GetObjectRequest{Bucket: ptr("mpu"), Key: ptr("big.bin")})
	if got := readAll(t, g.Body); got != part1+part2+part3 {
		t.Errorf("GetObject(whole) = %d bytes; want %d", len(got), len(part1+part2+part3))
	}
	lu = ok(e, acct, "ListMultipartUploads", e.svc.ListMultipartUploads, &s3.ListMultipartUploadsRequest{Bucket: ptr("mpu")})
	if len(lu.Uploads) != 0 {
		t.Errorf("ListMultipartUploads(after complete) = %d uploads; want 0", len(lu.Uploads))
	}
	// The replaced part 1 and the aborted parts go; the object's parts stay.
	e.now = e.now.Add(time.Hour)
	n, err := e.svc.Sweep(t.Context(), e.st)
	if err != nil || n != 3 {
		t.Errorf("Sweep = %d, %v; want 3 blobs (replaced part, two aborted parts)", n, err)
	}
	g = ok(e, acct, "GetObject", e.svc.GetObject, &s3.GetObjectRequest{Bucket: ptr("mpu"), Key: ptr("big.bin"), Range: ptr("bytes=-4")})
	if got := readAll(t, g.Body); got != "tail" {
		t.Errorf("GetObject(after Sweep) = %q; want tail", got)
	}
}
