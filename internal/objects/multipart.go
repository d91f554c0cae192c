package objects

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
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

// minPartSize is the smallest part S3 accepts in a multipart upload, except the last.
const minPartSize = 5 << 20

// upload is a multipart upload in progress: the object it will make, without its bytes.
type upload struct {
	UploadID  string     `json:"uploadId"`
	Initiated time.Time  `json:"initiated"`
	Initiator string     `json:"initiator"`
	Object    objectMeta `json:"object"`
}

// part is one uploaded part.
type part struct {
	Number       int       `json:"number"`
	ETag         string    `json:"etag"`
	Size         int64     `json:"size"`
	LastModified time.Time `json:"lastModified"`
	Blob         blobRef   `json:"blob"`
}

func partKey(n int) string { return fmt.Sprintf("%05d", n) }

func newUploadID(t time.Time) string {
	return fmt.Sprintf("%016x", t.UnixNano()) + newID(24)
}

// findUpload returns the upload of key with the given ID, or NoSuchUpload.
func findUpload(ctx context.Context, tx store.ReadTx, b *bucketRef, key, id string) (*upload, error) {
	v, err := tx.Get(ctx, mpuBucket(b.name()), key+sep+id)
	if err != nil {
		return nil, fmt.Errorf("objects: upload %s: %w", id, err)
	}
	if v == nil {
		return nil, errNoSuchUpload(id)
	}
	u := &upload{}
	if err := json.Unmarshal(v, u); err != nil {
		return nil, fmt.Errorf("objects: upload %s: %w", id, err)
	}
	return u, nil
}

// parts returns an upload's parts in part number order after part number after, at most limit
// (<= 0: all).
func parts(ctx context.Context, tx store.ReadTx, id string, after, limit int) ([]part, error) {
	var out []part
	from := ""
	if after > 0 {
		from = partKey(after)
	}
	for {
		rows, err := tx.List(ctx, partBucket(id), "", from, 1000)
		if err != nil {
			return nil, fmt.Errorf("objects: parts of %s: %w", id, err)
		}
		for _, r := range rows {
			var p part
			if err := json.Unmarshal(r.Value, &p); err != nil {
				return nil, fmt.Errorf("objects: parts of %s: %w", id, err)
			}
			out = append(out, p)
			if limit > 0 && len(out) == limit {
				return out, nil
			}
		}
		if len(rows) < 1000 {
			return out, nil
		}
		from = rows[len(rows)-1].Key
	}
}

// CreateMultipartUpload implements s3.API.
func (s *Service) CreateMultipartUpload(ctx context.Context, in *s3.CreateMultipartUploadRequest) (*s3.CreateMultipartUploadOutput, error) {
	c := callOf(ctx)
	tx, b, key, err := s.newObject(ctx, c, in.Bucket, in.ExpectedBucketOwner, in.Key, in.ServerSideEncryption)
	if err != nil {
		return nil, err
	}
	tags, err := objectTags(in.Tagging)
	if err != nil {
		return nil, err
	}
	sse, kms, bk := encryption(b, in.ServerSideEncryption, in.SSEKMSKeyId, in.BucketKeyEnabled)
	u := &upload{UploadID: newUploadID(c.Time), Initiated: c.Time.UTC(), Initiator: c.Account,
		Object: objectMeta{Key: key, Owner: c.Account, ContentType: str(in.ContentType), CacheControl: str(in.CacheControl),
			ContentDisposition: str(in.ContentDisposition), ContentEncoding: str(in.ContentEncoding),
			ContentLanguage: str(in.ContentLanguage), Expires: str(in.Expires), WebsiteRedirectLocation: str(in.WebsiteRedirectLocation),
			Metadata: lowerKeys(in.Metadata), Tags: tags, StorageClass: str(in.StorageClass), SSE: sse, SSEKMSKeyID: kms,
			BucketKeyEnabled: bk}}
	if u.Object.ContentType == "" {
		u.Object.ContentType = "binary/octet-stream"
	}
	if err := putJSON(ctx, tx, mpuBucket(b.name()), key+sep+u.UploadID, u); err != nil {
		return nil, err
	}
	c.Touch(ResourceType, b.name(), BucketARN(b.name()))
	return &s3.CreateMultipartUploadOutput{Bucket: ptr(b.name()), Key: ptr(key), UploadId: ptr(u.UploadID),
		ServerSideEncryption: opt(sse), SSEKMSKeyId: opt(kms), BucketKeyEnabled: boolOpt(bk)}, nil
}

func checkPartNumber(n *int32) error {
	if n == nil || *n < 1 || *n > 10000 {
		return errInvalidArgument("Part number must be an integer between 1 and 10000, inclusive")
	}
	return nil
}

// partUpload begins UploadPart and UploadPartCopy: the call's write transaction, the
// bucket, and the upload in progress that the part, its number checked, is for.
func (s *Service) partUpload(ctx context.Context, c *call.Call, bucket, owner, key, uploadID *string, partNumber *int32) (store.Tx, *bucketRef, *upload, error) {
	tx, b, err := s.writeBucket(ctx, c, bucket, owner)
	if err != nil {
		return nil, nil, nil, err
	}
	if err := checkPartNumber(partNumber); err != nil {
		return nil, nil, nil, err
	}
	u, err := findUpload(ctx, tx, b, str(key), str(uploadID))
	if err != nil {
		return nil, nil, nil, err
	}
	return tx, b, u, nil
}

// putPart stores an upload's part; a part uploaded again under its number replaces the
// earlier one, whose blob is discarded.
func (s *Service) putPart(ctx context.Context, tx store.Tx, c *call.Call, uploadID string, p part) error {
	old, err := tx.Get(ctx, partBucket(uploadID), partKey(p.Number))
	if err != nil {
		return fmt.Errorf("objects: put part %d: %w", p.Number, err)
	}
	if old != nil {
		var prev part
		if err := json.Unmarshal(old, &prev); err != nil {
			return fmt.Errorf("objects: put part %d: %w", p.Number, err)
		}
		if err := s.discard(ctx, tx, c, []blobRef{prev.Blob}); err != nil {
			return err
		}
	}
	return putJSON(ctx, tx, partBucket(uploadID), partKey(p.Number), p)
}

// UploadPart implements s3.API; uploading a part number again replaces the part.
func (s *Service) UploadPart(ctx context.Context, in *s3.UploadPartRequest) (*s3.UploadPartOutput, error) {
	c := callOf(ctx)
	tx, b, u, err := s.partUpload(ctx, c, in.Bucket, in.ExpectedBucketOwner, in.Key, in.UploadId, in.PartNumber)
	if err != nil {
		return nil, err
	}
	bd, sumAlg, sum, err := readPayload(in.Body, in.ContentMD5, in.ChecksumAlgorithm, checksums{CRC32: in.ChecksumCRC32, CRC32C: in.ChecksumCRC32C,
		CRC64NVME: in.ChecksumCRC64NVME, SHA1: in.ChecksumSHA1, SHA256: in.ChecksumSHA256, SHA512: in.ChecksumSHA512,
		MD5: in.ChecksumMD5, XXHASH64: in.ChecksumXXHASH64, XXHASH3: in.ChecksumXXHASH3, XXHASH128: in.ChecksumXXHASH128})
	if err != nil {
		return nil, err
	}
	ref, err := s.storeBody(bd)
	if err != nil {
		return nil, err
	}
	p := part{Number: int(*in.PartNumber), ETag: etagOf(bd.md5), Size: bd.size, LastModified: c.Time.UTC(), Blob: ref}
	if err := s.putPart(ctx, tx, c, u.UploadID, p); err != nil {
		return nil, err
	}
	c.Touch(ResourceType, b.name(), BucketARN(b.name()))
	a := answer(sumAlg, sum)
	return &s3.UploadPartOutput{ETag: ptr(p.ETag), ServerSideEncryption: opt(u.Object.SSE),
		SSEKMSKeyId: opt(u.Object.SSEKMSKeyID), BucketKeyEnabled: boolOpt(u.Object.BucketKeyEnabled),
		ChecksumCRC32: a.CRC32, ChecksumCRC32C: a.CRC32C, ChecksumCRC64NVME: a.CRC64NVME, ChecksumSHA1: a.SHA1,
		ChecksumSHA256: a.SHA256, ChecksumSHA512: a.SHA512, ChecksumMD5: a.MD5}, nil
}

// CompleteMultipartUpload implements s3.API: the listed parts, in order, become the object's
// bytes as they are, without copying.
func (s *Service) CompleteMultipartUpload(ctx context.Context, in *s3.CompleteMultipartUploadRequest) (*s3.CompleteMultipartUploadOutput, error) {
	c := callOf(ctx)
	tx, b, err := s.writeBucket(ctx, c, in.Bucket, in.ExpectedBucketOwner)
	if err != nil {
		return nil, err
	}
	key := str(in.Key)
	u, err := findUpload(ctx, tx, b, key, str(in.UploadId))
	if err != nil {
		return nil, err
	}
	if in.MultipartUpload == nil || len(in.MultipartUpload.Parts) == 0 {
		return nil, awserr.New("InvalidRequest", http.StatusBadRequest, "You must specify at least one part")
	}
	stored, err := parts(ctx, tx, u.UploadID, 0, 0)
	if err != nil {
		return nil, err
	}
	byNumber := make(map[int]part, len(stored))
	for _, p := range stored {
		byNumber[p.Number] = p
	}
	errInvalidPart := awserr.New("InvalidPart", http.StatusBadRequest,
		"One or more of the specified parts could not be found.  The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.")
	var (
		chosen []part
		sums   []byte
		size   int64
		prev   int
	)
	for i, cp := range in.MultipartUpload.Parts {
		if cp.PartNumber == nil {
			return nil, errMalformedXML()
		}
		n := int(*cp.PartNumber)
		if n <= prev {
			return nil, awserr.New("InvalidPartOrder", http.StatusBadRequest,
				"The list of parts was not in ascending order. Parts must be ordered by part number.")
		}
		prev = n
		p, ok := byNumber[n]
		if !ok || cp.ETag == nil || strings.Trim(*cp.ETag, `"`) != strings.Trim(p.ETag, `"`) {
			return nil, errInvalidPart
		}
		if p.Size < minPartSize && i < len(in.MultipartUpload.Parts)-1 {
			return nil, awserr.New("EntityTooSmall", http.StatusBadRequest, "Your proposed upload is smaller than the minimum allowed object size.")
		}
		sum, err := hex.DecodeString(strings.Trim(p.ETag, `"`))
		if err != nil {
			return nil, fmt.Errorf("objects: part %d etag: %w", n, err)
		}
		sums = append(sums, sum...)
		size += p.Size
		chosen = append(chosen, p)
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
	if in.MpuObjectSize != nil && *in.MpuObjectSize != size {
		return nil, errInvalidArgument("The provided 'x-amz-mp-object-size' header value %d does not match what was computed: %d", *in.MpuObjectSize, size)
	}
	whole := md5.Sum(sums)
	m := u.Object
	m.Key, m.Size, m.LastModified, m.Parts = key, size, c.Time.UTC(), len(chosen)
	m.ETag = fmt.Sprintf(`"%s-%d"`, hex.EncodeToString(whole[:]), len(chosen))
	used := map[string]bool{}
	for _, p := range chosen {
		m.Blobs = append(m.Blobs, p.Blob)
		used[p.Blob.ID] = true
	}
	if err := s.write(ctx, tx, c, b, &m); err != nil {
		return nil, err
	}
	var unused []blobRef
	for _, p := range stored {
		if !used[p.Blob.ID] {
			unused = append(unused, p.Blob)
		}
	}
	if err := s.dropUpload(ctx, tx, c, b, u, stored, unused); err != nil {
		return nil, err
	}
	c.Touch(ResourceType, b.name(), BucketARN(b.name()))
	return &s3.CompleteMultipartUploadOutput{Location: ptr("/" + b.name() + "/" + url.PathEscape(key)),
		Bucket: ptr(b.name()), Key: ptr(key), ETag: ptr(m.ETag), VersionId: m.wireVersion(),
		ServerSideEncryption: opt(m.SSE), SSEKMSKeyId: opt(m.SSEKMSKeyID), BucketKeyEnabled: boolOpt(m.BucketKeyEnabled)}, nil
}

// dropUpload forgets an upload and its parts, discarding the blobs given.
func (s *Service) dropUpload(ctx context.Context, tx store.Tx, c *call.Call, b *bucketRef, u *upload, ps []part, discard []blobRef) error {
	for _, p := range ps {
		if err := tx.Delete(ctx, partBucket(u.UploadID), partKey(p.Number)); err != nil {
			return fmt.Errorf("objects: drop upload %s: %w", u.UploadID, err)
		}
	}
	if err := s.discard(ctx, tx, c, discard); err != nil {
		return err
	}
	if err := tx.Delete(ctx, mpuBucket(b.name()), u.Object.Key+sep+u.UploadID); err != nil {
		return fmt.Errorf("objects: drop upload %s: %w", u.UploadID, err)
	}
	return nil
}

func (s *Service) abort(ctx context.Context, tx store.Tx, c *call.Call, b *bucketRef, u *upload) error {
	ps, err := parts(ctx, tx, u.UploadID, 0, 0)
	if err != nil {
		return err
	}
	blobs := make([]blobRef, len(ps))
	for i, p := range ps {
		blobs[i] = p.Blob
	}
	return s.dropUpload(ctx, tx, c, b, u, ps, blobs)
}

// AbortMultipartUpload implements s3.API.
func (s *Service) AbortMultipartUpload(ctx context.Context, in *s3.AbortMultipartUploadRequest) (*s3.AbortMultipartUploadOutput, error) {
	c := callOf(ctx)
	tx, b, err := s.writeBucket(ctx, c, in.Bucket, in.ExpectedBucketOwner)
	if err != nil {
		return nil, err
	}
	u, err := findUpload(ctx, tx, b, str(in.Key), str(in.UploadId))
	if err != nil {
		return nil, err
	}
	if in.IfMatchInitiatedTime != nil && !in.IfMatchInitiatedTime.Equal(u.Initiated.Truncate(time.Second)) && !in.IfMatchInitiatedTime.Equal(u.Initiated) {
		return nil, errPreconditionFailed()
	}
	if err := s.abort(ctx, tx, c, b, u); err != nil {
		return nil, err
	}
	c.Touch(ResourceType, b.name(), BucketARN(b.name()))
	return &s3.AbortMultipartUploadOutput{}, nil
}

// abortAllUploads aborts every upload in progress in a bucket that is being deleted.
func (s *Service) abortAllUploads(ctx context.Context, c *call.Call, tx store.Tx, b *bucketRef) error {
	for {
		rows, err := tx.List(ctx, mpuBucket(b.name()), "", "", 100)
		if err != nil {
			return fmt.Errorf("objects: abort uploads: %w", err)
		}
		if len(rows) == 0 {
			return nil
		}
		for _, r := range rows {
			u := &upload{}
			if err := json.Unmarshal(r.Value, u); err != nil {
				return fmt.Errorf("objects: abort uploads: %w", err)
			}
			if err := s.abort(ctx, tx, c, b, u); err != nil {
				return err
			}
		}
	}
}

// ListParts implements s3.API.
func (s *Service) ListParts(ctx context.Context, in *s3.ListPartsRequest) (*s3.ListPartsOutput, error) {
	c := callOf(ctx)
	b, err := s.bucket(ctx, c, in.Bucket, in.ExpectedBucketOwner)
	if err != nil {
		return nil, err
	}
	u, err := findUpload(ctx, c.Tx, b, str(in.Key), str(in.UploadId))
	if err != nil {
		return nil, err
	}
	max := 1000
	if in.MaxParts != nil {
		if *in.MaxParts < 0 {
			return nil, detail(awserr.New("InvalidArgument", http.StatusBadRequest, "Argument max-parts must be an integer between 0 and 2147483647"),
				"ArgumentName", "max-parts", "ArgumentValue", strconv.Itoa(int(*in.MaxParts)))
		}
		max = min(int(*in.MaxParts), 1000)
	}
	marker := 0
	if in.PartNumberMarker != nil {
		marker = int(*in.PartNumberMarker)
	}
	out := &s3.ListPartsOutput{Bucket: ptr(b.name()), Key: ptr(u.Object.Key), UploadId: ptr(u.UploadID),
		PartNumberMarker: ptr(int32(marker)), MaxParts: ptr(int32(max)), IsTruncated: ptr(false),
		Initiator: &s3.Initiator{ID: ptr(CanonicalUserID(u.Initiator))}, Owner: owner(u.Object.Owner),
		StorageClass: ptr(storageClass(&u.Object))}
	if max == 0 {
		return out, nil
	}
	ps, err := parts(ctx, c.Tx, u.UploadID, marker, max+1)
	if err != nil {
		return nil, err
	}
	if len(ps) > max {
		ps = ps[:max]
		out.IsTruncated = ptr(true)
	}
	for _, p := range ps {
		lm := p.LastModified
		out.Parts = append(out.Parts, s3.Part{PartNumber: ptr(int32(p.Number)), LastModified: &lm, ETag: ptr(p.ETag), Size: ptr(p.Size)})
	}
	if len(ps) > 0 {
		out.NextPartNumberMarker = ptr(int32(ps[len(ps)-1].Number))
	}
	return out, nil
}

// ListMultipartUploads implements s3.API: uploads by key, then by initiation time.
func (s *Service) ListMultipartUploads(ctx context.Context, in *s3.ListMultipartUploadsRequest) (*s3.ListMultipartUploadsOutput, error) {
	c := callOf(ctx)
	b, err := s.bucket(ctx, c, in.Bucket, in.ExpectedBucketOwner)
	if err != nil {
		return nil, err
	}
	enc, err := encoding(in.EncodingType)
	if err != nil {
		return nil, err
	}
	max := 1000
	if in.MaxUploads != nil {
		if *in.MaxUploads < 0 {
			return nil, detail(awserr.New("InvalidArgument", http.StatusBadRequest, "Argument max-uploads must be an integer between 0 and 2147483647"),
				"ArgumentName", "max-uploads", "ArgumentValue", strconv.Itoa(int(*in.MaxUploads)))
		}
		max = min(int(*in.MaxUploads), 1000)
	}
	prefix, delim, keyMarker, idMarker := str(in.Prefix), str(in.Delimiter), str(in.KeyMarker), str(in.UploadIdMarker)
	after := ""
	if keyMarker != "" {
		after = keyMarker + sep + "~" // past every upload of the marker key
		if idMarker != "" {
			after = keyMarker + sep + idMarker
		}
	}
	if after < prefix {
		after = ""
	}
	l, err := scan(ctx, c.Tx, mpuBucket(b.name()), prefix, delim, after, keyMarker, max, versionKey, true)
	if err != nil {
		return nil, err
	}
	out := &s3.ListMultipartUploadsOutput{Bucket: ptr(b.name()), KeyMarker: ptr(enc.s(keyMarker)), UploadIdMarker: ptr(idMarker),
		Prefix: ptr(enc.s(prefix)), Delimiter: enc.p(in.Delimiter), MaxUploads: ptr(int32(max)), IsTruncated: ptr(l.truncated),
		CommonPrefixes: l.commonPrefixes(enc), EncodingType: in.EncodingType}
	var last *upload
	for _, r := range l.raw {
		u := &upload{}
		if err := json.Unmarshal(r.Value, u); err != nil {
			return nil, fmt.Errorf("objects: list uploads: %w", err)
		}
		init := u.Initiated
		out.Uploads = append(out.Uploads, s3.MultipartUpload{UploadId: ptr(u.UploadID), Key: ptr(enc.s(u.Object.Key)),
			Initiated: &init, StorageClass: ptr(storageClass(&u.Object)), Owner: owner(u.Object.Owner),
			Initiator: &s3.Initiator{ID: ptr(CanonicalUserID(u.Initiator))}})
		last = u
	}
	if l.truncated {
		out.NextKeyMarker = ptr(enc.s(l.last))
		if last != nil && l.lastKV != "" {
			out.NextUploadIdMarker = ptr(last.UploadID)
		}
	}
	return out, nil
}
