package objects

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/bannin/bannin/internal/awserr"
	"github.com/bannin/bannin/internal/call"
	"github.com/bannin/bannin/internal/store"
	"github.com/bannin/bannin/internal/wire/s3"
)

// body is a request payload on its way into the blob store.
type body struct {
	spool *call.Spool // received into a file: moved into place
	data  []byte      // otherwise: held in memory
	size  int64
	md5   []byte
}

// readBody takes a PutObject or UploadPart payload and computes its MD5.
func readBody(rc io.ReadCloser) (*body, error) {
	h := md5.New()
	if sp, ok := rc.(*call.Spool); ok {
		if sp.MD5 != nil {
			return &body{spool: sp, size: sp.Size, md5: sp.MD5}, nil
		}
		if _, err := sp.Seek(0, io.SeekStart); err != nil {
			return nil, fmt.Errorf("objects: read upload: %w", err)
		}
		n, err := io.Copy(h, sp.File)
		if err != nil {
			return nil, fmt.Errorf("objects: read upload: %w", err)
		}
		return &body{spool: sp, size: n, md5: h.Sum(nil)}, nil
	}
	var data []byte
	if rc != nil {
		var err error
		if data, err = io.ReadAll(rc); err != nil {
			return nil, awserr.New("IncompleteBody", http.StatusBadRequest, "The request body could not be read: %v", err)
		}
	}
	h.Write(data)
	return &body{data: data, size: int64(len(data)), md5: h.Sum(nil)}, nil
}

// readPayload reads the body of a PutObject or UploadPart and checks it against its
// Content-MD5 and its additional checksum (body.checksum), whose algorithm and value to
// keep it returns.
func readPayload(rc io.ReadCloser, contentMD5, algorithm *string, given checksums) (bd *body, alg, value string, err error) {
	if bd, err = readBody(rc); err != nil {
		return nil, "", "", err
	}
	if err := bd.checkMD5(contentMD5); err != nil {
		return nil, "", "", err
	}
	if alg, value, err = bd.checksum(algorithm, given); err != nil {
		return nil, "", "", err
	}
	return bd, alg, value, nil
}

// checkMD5 compares the payload with a Content-MD5 header.
func (b *body) checkMD5(contentMD5 *string) error {
	if contentMD5 == nil {
		return nil
	}
	want, err := base64.StdEncoding.DecodeString(*contentMD5)
	if err != nil || len(want) != md5.Size {
		return awserr.New("InvalidDigest", http.StatusBadRequest, "The Content-MD5 you specified is not valid.")
	}
	if !bytes.Equal(want, b.md5) {
		return awserr.New("BadDigest", http.StatusBadRequest, "The Content-MD5 you specified did not match what we received.")
	}
	return nil
}

// store puts the payload into the blob store as a new blob.
func (s *Service) storeBody(b *body) (blobRef, error) {
	id := newID(16)
	var err error
	if b.spool != nil {
		err = s.blobs.Move(id, b.spool.Path)
	} else {
		err = s.blobs.Write(id, b.data)
	}
	if err != nil {
		return blobRef{}, err
	}
	return blobRef{ID: id, Size: b.size}, nil
}

func etagOf(sum []byte) string { return `"` + hex.EncodeToString(sum) + `"` }

func lowerKeys(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[strings.ToLower(k)] = v
	}
	return out
}

// objectTags parses the x-amz-tagging header (URL query form).
func objectTags(h *string) (map[string]string, error) {
	if h == nil || *h == "" {
		return nil, nil
	}
	q, err := url.ParseQuery(*h)
	if err != nil {
		return nil, errInvalidArgument("The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL query parameters without tag name duplicates.")
	}
	if len(q) > 10 {
		return nil, errTooManyObjectTags()
	}
	m := map[string]string{}
	for k, vs := range q {
		if len(vs) != 1 {
			return nil, errInvalidArgument("The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL query parameters without tag name duplicates.")
		}
		if k == "" || len(k) > 128 || len(vs[0]) > 256 {
			return nil, awserr.New("InvalidTag", http.StatusBadRequest, "The TagKey you have provided is invalid")
		}
		m[k] = vs[0]
	}
	return m, nil
}

// errTooManyObjectTags is S3's answer to more than 10 tags on an object, in x-amz-tagging
// or a Tagging body.
func errTooManyObjectTags() error {
	return awserr.New("BadRequest", http.StatusBadRequest, "Object tags cannot be greater than 10")
}

// encryption returns the server-side encryption an object gets: the request's, else the
// bucket's default.
func encryption(b *bucketRef, sse, kmsKey *string, bucketKey *bool) (string, string, bool) {
	if sse != nil {
		return *sse, str(kmsKey), bucketKey != nil && *bucketKey
	}
	if e := b.cfg.Encryption; e != nil && len(e.Rules) > 0 && e.Rules[0].ApplyServerSideEncryptionByDefault != nil {
		d := e.Rules[0].ApplyServerSideEncryptionByDefault
		bk := e.Rules[0].BucketKeyEnabled != nil && *e.Rules[0].BucketKeyEnabled
		return str(d.SSEAlgorithm), str(d.KMSMasterKeyID), bk && str(d.SSEAlgorithm) != "AES256"
	}
	return "", "", false
}

// newObject checks what every write of a new object needs: the call's write transaction,
// the bucket, the key and the server-side encryption asked for.
func (s *Service) newObject(ctx context.Context, c *call.Call, bucket, owner, key, sse *string) (store.Tx, *bucketRef, string, error) {
	tx, b, err := s.writeBucket(ctx, c, bucket, owner)
	if err != nil {
		return nil, nil, "", err
	}
	k := str(key)
	if err := checkKey(k); err != nil {
		return nil, nil, "", err
	}
	if err := checkSSE(sse); err != nil {
		return nil, nil, "", err
	}
	return tx, b, k, nil
}

func checkSSE(sse *string) error {
	switch str(sse) {
	case "", "AES256", "aws:kms", "aws:kms:dsse":
		return nil
	}
	return errInvalidArgument("The encryption method specified is not supported")
}

// checkWrite applies a conditional write's If-Match / If-None-Match to the current object.
func checkWrite(cur *objectMeta, ifMatch, ifNoneMatch *string) error {
	if ifNoneMatch != nil {
		if *ifNoneMatch != "*" {
			return awserr.New("NotImplemented", http.StatusNotImplemented, "A header you provided implies functionality that is not implemented")
		}
		if cur != nil {
			return errPreconditionFailed()
		}
	}
	if ifMatch != nil {
		if cur == nil {
			return errNoSuchKey(nil)
		}
		if !etagMatches(*ifMatch, cur.ETag) {
			return errPreconditionFailed()
		}
	}
	return nil
}

// PutObject implements s3.API.
func (s *Service) PutObject(ctx context.Context, in *s3.PutObjectRequest) (*s3.PutObjectOutput, error) {
	c := callOf(ctx)
	tx, b, key, err := s.newObject(ctx, c, in.Bucket, in.ExpectedBucketOwner, in.Key, in.ServerSideEncryption)
	if err != nil {
		return nil, err
	}
	tags, err := objectTags(in.Tagging)
	if err != nil {
		return nil, err
	}
	if in.ACL != nil && b.cfg.ObjectOwnership == "BucketOwnerEnforced" && *in.ACL != "private" && *in.ACL != "bucket-owner-full-control" {
		return nil, awserr.New("AccessControlListNotSupported", http.StatusBadRequest, "The bucket does not allow ACLs")
	}
	bd, sumAlg, sum, err := readPayload(in.Body, in.ContentMD5, in.ChecksumAlgorithm, checksums{CRC32: in.ChecksumCRC32, CRC32C: in.ChecksumCRC32C,
		CRC64NVME: in.ChecksumCRC64NVME, SHA1: in.ChecksumSHA1, SHA256: in.ChecksumSHA256, SHA512: in.ChecksumSHA512,
		MD5: in.ChecksumMD5, XXHASH64: in.ChecksumXXHASH64, XXHASH3: in.ChecksumXXHASH3, XXHASH128: in.ChecksumXXHASH128})
	if err != nil {
		return nil, err
	}
	if in.IfMatch != nil || in.IfNoneMatch != nil {
		cur, err := current(ctx, tx, b.name(), key)
		if err != nil {
			return nil, err
		}
		if err := checkWrite(cur, in.IfMatch, in.IfNoneMatch); err != nil {
			return nil, err
		}
	}
	ref, err := s.storeBody(bd)
	if err != nil {
		return nil, err
	}
	sse, kms, bk := encryption(b, in.ServerSideEncryption, in.SSEKMSKeyId, in.BucketKeyEnabled)
	m := &objectMeta{Key: key, Size: bd.size, ETag: etagOf(bd.md5), LastModified: c.Time.UTC(), Owner: c.Account,
		ContentType: str(in.ContentType), CacheControl: str(in.CacheControl), ContentDisposition: str(in.ContentDisposition),
		ContentEncoding: str(in.ContentEncoding), ContentLanguage: str(in.ContentLanguage), Expires: str(in.Expires),
		WebsiteRedirectLocation: str(in.WebsiteRedirectLocation), Metadata: lowerKeys(in.Metadata), Tags: tags,
		StorageClass: str(in.StorageClass), SSE: sse, SSEKMSKeyID: kms, BucketKeyEnabled: bk, Blobs: []blobRef{ref},
		ChecksumAlgorithm: sumAlg, Checksum: sum}
	if m.ContentType == "" {
		m.ContentType = "binary/octet-stream"
	}
	if err := s.write(ctx, tx, c, b, m); err != nil {
		return nil, err
	}
	c.Touch(ResourceType, b.name(), BucketARN(b.name()))
	out := &s3.PutObjectOutput{ETag: ptr(m.ETag), VersionId: m.wireVersion(), ServerSideEncryption: opt(sse),
		SSEKMSKeyId: opt(kms), BucketKeyEnabled: boolOpt(bk), Size: ptr(m.Size)}
	if sum != "" {
		a := answer(sumAlg, sum)
		out.ChecksumCRC32, out.ChecksumCRC32C, out.ChecksumCRC64NVME, out.ChecksumSHA1 = a.CRC32, a.CRC32C, a.CRC64NVME, a.SHA1
		out.ChecksumSHA256, out.ChecksumSHA512, out.ChecksumMD5, out.ChecksumType = a.SHA256, a.SHA512, a.MD5, ptr("FULL_OBJECT")
	}
	return out, nil
}

func boolOpt(v bool) *bool {
	if !v {
		return nil
	}
	return &v
}

// checkKey applies S3's key length limit.
func checkKey(key string) error {
	if key == "" {
		return errInvalidArgument("Object key must not be empty")
	}
	if len(key) > 1024 {
		return awserr.New("KeyTooLongError", http.StatusBadRequest, "Your key is too long")
	}
	return nil
}

// etagMatches compares an If-Match style list of entity tags with an object's ETag.
func etagMatches(list, etag string) bool {
	for _, t := range strings.Split(list, ",") {
		t = strings.TrimSpace(t)
		t = strings.TrimPrefix(t, "W/")
		if t == "*" || strings.Trim(t, `"`) == strings.Trim(etag, `"`) {
			return true
		}
	}
	return false
}

// checkRead applies GetObject and HeadObject's conditional headers, in S3's precedence.
func checkRead(m *objectMeta, ifMatch, ifNoneMatch *string, ifModifiedSince, ifUnmodifiedSince *time.Time) error {
	lm := m.LastModified.Truncate(time.Second)
	if ifMatch != nil {
		if !etagMatches(*ifMatch, m.ETag) {
			return errPreconditionFailed()
		}
	} else if ifUnmodifiedSince != nil && lm.After(*ifUnmodifiedSince) {
		return errPreconditionFailed()
	}
	if ifNoneMatch != nil {
		if etagMatches(*ifNoneMatch, m.ETag) {
			return errNotModified()
		}
	} else if ifModifiedSince != nil && !lm.After(*ifModifiedSince) {
		return errNotModified()
	}
	return nil
}

// byteRange is a part of an object to answer: first byte and length.
type byteRange struct{ off, n int64 }

// parseRange reads a Range header; ok is false when the header should be ignored (absent or
// not a single byte range) and err is InvalidRange when the range cannot be satisfied.
func parseRange(h string, size int64) (r byteRange, ok bool, err error) {
	spec, found := strings.CutPrefix(strings.TrimSpace(h), "bytes=")
	if !found || strings.Contains(spec, ",") {
		return r, false, nil
	}
	first, last, found := strings.Cut(spec, "-")
	if !found {
		return r, false, nil
	}
	errRange := detail(awserr.New("InvalidRange", http.StatusRequestedRangeNotSatisfiable, "The requested range is not satisfiable"),
		"RangeRequested", strings.TrimSpace(h), "ActualObjectSize", strconv.FormatInt(size, 10))
	if first == "" {
		n, err := strconv.ParseInt(last, 10, 64)
		if err != nil || n < 0 {
			return r, false, nil
		}
		if n == 0 {
			return r, false, errRange
		}
		n = min(n, size)
		return byteRange{size - n, n}, true, nil
	}
	a, err := strconv.ParseInt(first, 10, 64)
	if err != nil || a < 0 {
		return r, false, nil
	}
	end := size - 1
	if last != "" {
		e, err := strconv.ParseInt(last, 10, 64)
		if err != nil || e < a {
			return r, false, nil
		}
		end = min(e, size-1)
	}
	if a >= size {
		return r, false, errRange
	}
	return byteRange{a, end - a + 1}, true, nil
}

// blobReader reads a stretch of an object across its blobs, opening each when it gets there.
type blobReader struct {
	blobs     Blobs
	refs      []blobRef
	off, left int64
	cur       io.ReadCloser
}

func (r *blobReader) Read(p []byte) (int, error) {
	for {
		if r.left <= 0 {
			return 0, io.EOF
		}
		if r.cur == nil {
			for len(r.refs) > 0 && r.off >= r.refs[0].Size {
				r.off -= r.refs[0].Size
				r.refs = r.refs[1:]
			}
			if len(r.refs) == 0 {
				return 0, io.ErrUnexpectedEOF
			}
			n := min(r.refs[0].Size-r.off, r.left)
			rc, err := r.blobs.Open(r.refs[0].ID, r.off, n)
			if err != nil {
				return 0, err
			}
			r.cur = rc
			r.off, r.refs = 0, r.refs[1:]
		}
		n, err := r.cur.Read(p)
		r.left -= int64(n)
		if err == io.EOF {
			r.cur.Close()
			r.cur = nil
			if n > 0 {
				return n, nil
			}
			continue
		}
		return n, err
	}
}

func (r *blobReader) Close() error {
	if r.cur != nil {
		return r.cur.Close()
	}
	return nil
}

// readObject finds the object a GetObject or HeadObject names and checks its conditions.
func (s *Service) readObject(ctx context.Context, c *call.Call, bucket, key, versionID *string, owner *string,
	ifMatch, ifNoneMatch *string, ifModifiedSince, ifUnmodifiedSince *time.Time) (*objectMeta, error) {
	b, err := s.bucket(ctx, c, bucket, owner)
	if err != nil {
		return nil, err
	}
	m, err := lookup(ctx, c.Tx, b, str(key), str(versionID))
	if err != nil {
		return nil, err
	}
	if m == nil {
		if versionID != nil {
			if *versionID != "null" && !b.versioned() {
				return nil, errInvalidArgument("Invalid version id specified")
			}
			return nil, awserr.New("NoSuchVersion", http.StatusNotFound, "The specified version does not exist.")
		}
		return nil, errNoSuchKey(key)
	}
	if m.DeleteMarker {
		return nil, awserr.New("MethodNotAllowed", http.StatusMethodNotAllowed, "The specified method is not allowed against this resource.")
	}
	if err := checkRead(m, ifMatch, ifNoneMatch, ifModifiedSince, ifUnmodifiedSince); err != nil {
		return nil, err
	}
	return m, nil
}

// answerRange picks the bytes to answer from Range or partNumber.
func answerRange(m *objectMeta, rangeHeader *string, partNumber *int32) (byteRange, bool, error) {
	if partNumber != nil {
		p := int(*partNumber)
		if p < 1 || p > max(len(m.Blobs), 1) {
			return byteRange{}, false, awserr.New("InvalidPartNumber", http.StatusRequestedRangeNotSatisfiable, "The requested partnumber is not satisfiable")
		}
		if m.Parts == 0 {
			return byteRange{0, m.Size}, false, nil
		}
		var off int64
		for _, r := range m.Blobs[:p-1] {
			off += r.Size
		}
		return byteRange{off, m.Blobs[p-1].Size}, true, nil
	}
	if rangeHeader == nil || m.Size == 0 {
		return byteRange{0, m.Size}, false, nil
	}
	r, ok, err := parseRange(*rangeHeader, m.Size)
	if err != nil || !ok {
		return byteRange{0, m.Size}, false, err
	}
	return r, true, nil
}

func partsCount(m *objectMeta, partNumber *int32) *int32 {
	if partNumber == nil || m.Parts == 0 {
		return nil
	}
	return ptr(int32(m.Parts))
}

func tagCount(m *objectMeta) *int32 {
	if len(m.Tags) == 0 {
		return nil
	}
	return ptr(int32(len(m.Tags)))
}

func override(v *string, def string) *string {
	if v != nil {
		return v
	}
	return opt(def)
}

func wireStorageClass(m *objectMeta) *string {
	if sc := storageClass(m); sc != "STANDARD" {
		return &sc
	}
	return nil
}

// GetObject implements s3.API. The body streams from the blob store after the call returns.
func (s *Service) GetObject(ctx context.Context, in *s3.GetObjectRequest) (*s3.GetObjectOutput, error) {
	c := callOf(ctx)
	m, err := s.readObject(ctx, c, in.Bucket, in.Key, in.VersionId, in.ExpectedBucketOwner,
		in.IfMatch, in.IfNoneMatch, in.IfModifiedSince, in.IfUnmodifiedSince)
	if err != nil {
		return nil, err
	}
	r, partial, err := answerRange(m, in.Range, in.PartNumber)
	if err != nil {
		return nil, err
	}
	lm := m.LastModified
	out := &s3.GetObjectOutput{
		Body:                    &blobReader{blobs: s.blobs, refs: m.Blobs, off: r.off, left: r.n},
		AcceptRanges:            ptr("bytes"),
		LastModified:            &lm,
		ContentLength:           ptr(r.n),
		ETag:                    ptr(m.ETag),
		VersionId:               m.wireVersion(),
		CacheControl:            override(in.ResponseCacheControl, m.CacheControl),
		ContentDisposition:      override(in.ResponseContentDisposition, m.ContentDisposition),
		ContentEncoding:         override(in.ResponseContentEncoding, m.ContentEncoding),
		ContentLanguage:         override(in.ResponseContentLanguage, m.ContentLanguage),
		ContentType:             override(in.ResponseContentType, m.ContentType),
		Expires:                 opt(m.Expires),
		WebsiteRedirectLocation: opt(m.WebsiteRedirectLocation),
		ServerSideEncryption:    opt(m.SSE),
		SSEKMSKeyId:             opt(m.SSEKMSKeyID),
		BucketKeyEnabled:        boolOpt(m.BucketKeyEnabled),
		Metadata:                m.Metadata,
		StorageClass:            wireStorageClass(m),
		PartsCount:              partsCount(m, in.PartNumber),
		TagCount:                tagCount(m),
	}
	if in.ResponseExpires != nil {
		out.Expires = ptr(in.ResponseExpires.UTC().Format(http.TimeFormat))
	}
	if partial {
		out.ContentRange = ptr(fmt.Sprintf("bytes %d-%d/%d", r.off, r.off+r.n-1, m.Size))
	}
	if a, ok := storedChecksum(m, in.ChecksumMode, partial); ok {
		out.ChecksumCRC32, out.ChecksumCRC32C, out.ChecksumCRC64NVME, out.ChecksumSHA1 = a.CRC32, a.CRC32C, a.CRC64NVME, a.SHA1
		out.ChecksumSHA256, out.ChecksumSHA512, out.ChecksumMD5, out.ChecksumType = a.SHA256, a.SHA512, a.MD5, ptr("FULL_OBJECT")
	}
	return out, nil
}

// storedChecksum is the object's checksum for a read that asks for it (ChecksumMode
// ENABLED) and reads the whole object, as S3 answers it.
func storedChecksum(m *objectMeta, mode *string, partial bool) (checksums, bool) {
	if str(mode) != "ENABLED" || partial || m.Checksum == "" {
		return checksums{}, false
	}
	return answer(m.ChecksumAlgorithm, m.Checksum), true
}

// HeadObject implements s3.API.
func (s *Service) HeadObject(ctx context.Context, in *s3.HeadObjectRequest) (*s3.HeadObjectOutput, error) {
	c := callOf(ctx)
	m, err := s.readObject(ctx, c, in.Bucket, in.Key, in.VersionId, in.ExpectedBucketOwner,
		in.IfMatch, in.IfNoneMatch, in.IfModifiedSince, in.IfUnmodifiedSince)
	if err != nil {
		return nil, err
	}
	r, partial, err := answerRange(m, in.Range, in.PartNumber)
	if err != nil {
		return nil, err
	}
	lm := m.LastModified
	out := &s3.HeadObjectOutput{
		AcceptRanges:            ptr("bytes"),
		LastModified:            &lm,
		ContentLength:           ptr(r.n),
		ETag:                    ptr(m.ETag),
		VersionId:               m.wireVersion(),
		CacheControl:            override(in.ResponseCacheControl, m.CacheControl),
		ContentDisposition:      override(in.ResponseContentDisposition, m.ContentDisposition),
		ContentEncoding:         override(in.ResponseContentEncoding, m.ContentEncoding),
		ContentLanguage:         override(in.ResponseContentLanguage, m.ContentLanguage),
		ContentType:             override(in.ResponseContentType, m.ContentType),
		Expires:                 opt(m.Expires),
		WebsiteRedirectLocation: opt(m.WebsiteRedirectLocation),
		ServerSideEncryption:    opt(m.SSE),
		SSEKMSKeyId:             opt(m.SSEKMSKeyID),
		BucketKeyEnabled:        boolOpt(m.BucketKeyEnabled),
		Metadata:                m.Metadata,
		StorageClass:            wireStorageClass(m),
		PartsCount:              partsCount(m, in.PartNumber),
		TagCount:                tagCount(m),
	}
	if partial {
		out.ContentRange = ptr(fmt.Sprintf("bytes %d-%d/%d", r.off, r.off+r.n-1, m.Size))
	}
	if a, ok := storedChecksum(m, in.ChecksumMode, partial); ok {
		out.ChecksumCRC32, out.ChecksumCRC32C, out.ChecksumCRC64NVME, out.ChecksumSHA1 = a.CRC32, a.CRC32C, a.CRC64NVME, a.SHA1
		out.ChecksumSHA256, out.ChecksumSHA512, out.ChecksumMD5, out.ChecksumType = a.SHA256, a.SHA512, a.MD5, ptr("FULL_OBJECT")
	}
	return out, nil
}

// deleteResult is what deleting one key did.
type deleteResult struct {
	versionID    string
	deleteMarker bool
}

// deleteObject deletes a key (adding a delete marker when versioning is on) or one version.
func (s *Service) deleteObject(ctx context.Context, tx store.Tx, c *call.Call, b *bucketRef, key, versionID string) (deleteResult, error) {
	if versionID != "" {
		v, err := lookup(ctx, tx, b, key, versionID)
		if err != nil {
			return deleteResult{}, err
		}
		if v == nil {
			if versionID != "null" && !b.versioned() {
				return deleteResult{}, errInvalidArgument("Invalid version id specified")
			}
			return deleteResult{versionID: versionID}, nil
		}
		if err := s.removeVersion(ctx, tx, c, b, v); err != nil {
			return deleteResult{}, err
		}
		return deleteResult{versionID: versionID, deleteMarker: v.DeleteMarker}, nil
	}
	if !b.versioned() {
		cur, err := current(ctx, tx, b.name(), key)
		if err != nil || cur == nil {
			return deleteResult{}, err
		}
		return deleteResult{}, s.removeVersion(ctx, tx, c, b, cur)
	}
	m := &objectMeta{Key: key, DeleteMarker: true, LastModified: c.Time.UTC(), Owner: c.Account}
	if err := s.write(ctx, tx, c, b, m); err != nil {
		return deleteResult{}, err
	}
	return deleteResult{versionID: m.VersionID, deleteMarker: true}, nil
}

// DeleteObject implements s3.API. Deleting a key that does not exist succeeds.
func (s *Service) DeleteObject(ctx context.Context, in *s3.DeleteObjectRequest) (*s3.DeleteObjectOutput, error) {
	c := callOf(ctx)
	tx, b, err := s.writeBucket(ctx, c, in.Bucket, in.ExpectedBucketOwner)
	if err != nil {
		return nil, err
	}
	if in.IfMatch != nil {
		cur, err := current(ctx, tx, b.name(), str(in.Key))
		if err != nil {
			return nil, err
		}
		if cur == nil {
			return nil, errNoSuchKey(in.Key)
		}
		if !etagMatches(*in.IfMatch, cur.ETag) {
			return nil, errPreconditionFailed()
		}
	}
	res, err := s.deleteObject(ctx, tx, c, b, str(in.Key), str(in.VersionId))
	if err != nil {
		return nil, err
	}
	c.Touch(ResourceType, b.name(), BucketARN(b.name()))
	return &s3.DeleteObjectOutput{VersionId: opt(res.versionID), DeleteMarker: boolOpt(res.deleteMarker)}, nil
}

// DeleteObjects implements s3.API: up to 1000 keys, each answered as deleted or as an error.
func (s *Service) DeleteObjects(ctx context.Context, in *s3.DeleteObjectsRequest) (*s3.DeleteObjectsOutput, error) {
	c := callOf(ctx)
	tx, b, err := s.writeBucket(ctx, c, in.Bucket, in.ExpectedBucketOwner)
	if err != nil {
		return nil, err
	}
	if in.Delete == nil || len(in.Delete.Objects) == 0 || len(in.Delete.Objects) > 1000 {
		return nil, errMalformedXML()
	}
	quiet := in.Delete.Quiet != nil && *in.Delete.Quiet
	out := &s3.DeleteObjectsOutput{}
	for _, o := range in.Delete.Objects {
		key := str(o.Key)
		res, err := s.deleteObject(ctx, tx, c, b, key, str(o.VersionId))
		if err != nil {
			ce, ok := awserr.As(err)
			if !ok {
				return nil, err
			}
			out.Errors = append(out.Errors, s3.Error{Key: ptr(key), VersionId: o.VersionId,
				Code: ptr(ce.AWSErrorCode()), Message: ptr(ce.AWSMessage())})
			continue
		}
		if quiet {
			continue
		}
		d := s3.DeletedObject{Key: ptr(key), VersionId: o.VersionId}
		if res.deleteMarker {
			d.DeleteMarker = ptr(true)
			if o.VersionId == nil {
				d.DeleteMarkerVersionId = opt(res.versionID)
			}
		}
		out.Deleted = append(out.Deleted, d)
	}
	c.Touch(ResourceType, b.name(), BucketARN(b.name()))
	return out, nil
}

// parseCopySource reads x-amz-copy-source: [/]bucket/key[?versionId=id], URL-encoded.
func parseCopySource(src string) (bucket, key, versionID string, err error) {
	path, query, _ := strings.Cut(src, "?")
	if query != "" {
		q, perr := url.ParseQuery(query)
		if perr != nil {
			return "", "", "", errInvalidArgument("Invalid copy source encoding")
		}
		versionID = q.Get("versionId")
	}
	path, perr := url.PathUnescape(strings.TrimPrefix(path, "/"))
	if perr != nil {
		return "", "", "", errInvalidArgument("Invalid copy source encoding")
	}
	bucket, key, ok := strings.Cut(path, "/")
	if !ok || bucket == "" || key == "" {
		return "", "", "", errInvalidArgument("Copy Source must mention the source bucket and key: sourcebucket/sourcekey")
	}
	return bucket, key, versionID, nil
}

// existingVersion is lookup for a call that needs the version to exist: NoSuchVersion when
// a version id names none, NoSuchKey when the key has no current version. A delete marker
// is returned, for the caller to refuse in its operation's words.
func existingVersion(ctx context.Context, tx store.ReadTx, b *bucketRef, key, versionID string) (*objectMeta, error) {
	m, err := lookup(ctx, tx, b, key, versionID)
	if err != nil {
		return nil, err
	}
	if m == nil {
		if versionID != "" {
			return nil, awserr.New("NoSuchVersion", http.StatusNotFound, "The specified version does not exist.")
		}
		return nil, errNoSuchKey(&key)
	}
	return m, nil
}

// copySource finds the object x-amz-copy-source names, in a bucket the caller owns (and
// expectedOwner, if given, owns), with the source's bucket and version id as the header
// gave them. A delete marker cannot be copied.
func (s *Service) copySource(ctx context.Context, c *call.Call, tx store.ReadTx, source, expectedOwner *string) (src *objectMeta, bucket, versionID string, err error) {
	sb, sk, sv, err := parseCopySource(str(source))
	if err != nil {
		return nil, "", "", err
	}
	srcBucket, err := s.bucket(ctx, c, &sb, expectedOwner)
	if err != nil {
		return nil, "", "", err
	}
	if src, err = existingVersion(ctx, tx, srcBucket, sk, sv); err != nil {
		return nil, "", "", err
	}
	if src.DeleteMarker {
		return nil, "", "", awserr.New("InvalidRequest", http.StatusBadRequest, "The source of a copy request may not specifically refer to a delete marker by version id.")
	}
	return src, sb, sv, nil
}

// CopyObject implements s3.API: the copy gets its own blobs (hard links in the directory
// store), and metadata copied or replaced as the directive says.
func (s *Service) CopyObject(ctx context.Context, in *s3.CopyObjectRequest) (*s3.CopyObjectOutput, error) {
	c := callOf(ctx)
	tx, b, key, err := s.newObject(ctx, c, in.Bucket, in.ExpectedBucketOwner, in.Key, in.ServerSideEncryption)
	if err != nil {
		return nil, err
	}
	src, sb, sv, err := s.copySource(ctx, c, tx, in.CopySource, in.ExpectedSourceBucketOwner)
	if err != nil {
		return nil, err
	}
	if err := checkRead(src, in.CopySourceIfMatch, in.CopySourceIfNoneMatch, in.CopySourceIfModifiedSince, in.CopySourceIfUnmodifiedSince); err != nil {
		// S3 answers 412 for every failed copy-source condition.
		return nil, errPreconditionFailed()
	}
	directive := str(in.MetadataDirective)
	if directive != "" && directive != "COPY" && directive != "REPLACE" {
		return nil, errInvalidArgument("Unknown metadata directive.")
	}
	tagDirective := str(in.TaggingDirective)
	if tagDirective != "" && tagDirective != "COPY" && tagDirective != "REPLACE" {
		return nil, errInvalidArgument("Unknown tagging directive.")
	}
	if sb == b.name() && src.Key == key && sv == "" && directive != "REPLACE" && in.StorageClass == nil &&
		in.ServerSideEncryption == nil && in.WebsiteRedirectLocation == nil {
		return nil, awserr.New("InvalidRequest", http.StatusBadRequest,
			"This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.")
	}
	if in.IfMatch != nil || in.IfNoneMatch != nil {
		cur, err := current(ctx, tx, b.name(), key)
		if err != nil {
			return nil, err
		}
		if err := checkWrite(cur, in.IfMatch, in.IfNoneMatch); err != nil {
			return nil, err
		}
	}
	m := *src
	m.Key, m.VersionID, m.Order, m.LastModified, m.Owner = key, "", "", c.Time.UTC(), c.Account
	if directive == "REPLACE" {
		m.ContentType, m.CacheControl, m.ContentDisposition = str(in.ContentType), str(in.CacheControl), str(in.ContentDisposition)
		m.ContentEncoding, m.ContentLanguage, m.Expires = str(in.ContentEncoding), str(in.ContentLanguage), str(in.Expires)
		m.Metadata = lowerKeys(in.Metadata)
		if m.ContentType == "" {
			m.ContentType = "binary/octet-stream"
		}
	}
	if tagDirective == "REPLACE" {
		if m.Tags, err = objectTags(in.Tagging); err != nil {
			return nil, err
		}
	}
	if in.StorageClass != nil {
		m.StorageClass = *in.StorageClass
	}
	if in.WebsiteRedirectLocation != nil {
		m.WebsiteRedirectLocation = *in.WebsiteRedirectLocation
	}
	m.SSE, m.SSEKMSKeyID, m.BucketKeyEnabled = encryption(b, in.ServerSideEncryption, in.SSEKMSKeyId, in.BucketKeyEnabled)
	m.Blobs = make([]blobRef, len(src.Blobs))
	for i, r := range src.Blobs {
		id := newID(16)
		if err := s.blobs.Copy(id, r.ID); err != nil {
			return nil, err
		}
		m.Blobs[i] = blobRef{ID: id, Size: r.Size}
	}
	if err := s.write(ctx, tx, c, b, &m); err != nil {
		return nil, err
	}
	c.Touch(ResourceType, b.name(), BucketARN(b.name()))
	lm := m.LastModified
	return &s3.CopyObjectOutput{
		CopyObjectResult:     &s3.CopyObjectResult{ETag: ptr(m.ETag), LastModified: &lm},
		CopySourceVersionId:  src.wireVersion(),
		VersionId:            m.wireVersion(),
		ServerSideEncryption: opt(m.SSE),
		SSEKMSKeyId:          opt(m.SSEKMSKeyID),
		BucketKeyEnabled:     boolOpt(m.BucketKeyEnabled),
	}, nil
}
