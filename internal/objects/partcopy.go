package objects

import (
	"context"
	"crypto/md5"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/bannin/bannin/internal/wire/s3"
)

// UploadPartCopy implements s3.API: a part made of an existing object, whole or the byte
// range CopySourceRange names (what `aws s3 cp s3://a/big s3://b/big` sends for large
// objects). The bytes are read from the source's blobs into the part's own blob.
func (s *Service) UploadPartCopy(ctx context.Context, in *s3.UploadPartCopyRequest) (*s3.UploadPartCopyOutput, error) {
	c := callOf(ctx)
	tx, b, u, err := s.partUpload(ctx, c, in.Bucket, in.ExpectedBucketOwner, in.Key, in.UploadId, in.PartNumber)
	if err != nil {
		return nil, err
	}
	src, _, _, err := s.copySource(ctx, c, tx, in.CopySource, in.ExpectedSourceBucketOwner)
	if err != nil {
		return nil, err
	}
	if err := checkRead(src, in.CopySourceIfMatch, in.CopySourceIfNoneMatch, in.CopySourceIfModifiedSince, in.CopySourceIfUnmodifiedSince); err != nil {
		return nil, errPreconditionFailed()
	}
	r := byteRange{0, src.Size}
	if in.CopySourceRange != nil {
		if r, err = copySourceRange(*in.CopySourceRange, src.Size); err != nil {
			return nil, err
		}
	}
	ref, sum, err := s.copyRange(src, r)
	if err != nil {
		return nil, err
	}
	p := part{Number: int(*in.PartNumber), ETag: etagOf(sum), Size: r.n, LastModified: c.Time.UTC(), Blob: ref}
	if err := s.putPart(ctx, tx, c, u.UploadID, p); err != nil {
		return nil, err
	}
	c.Touch(ResourceType, b.name(), BucketARN(b.name()))
	lm := p.LastModified
	return &s3.UploadPartCopyOutput{CopyPartResult: &s3.CopyPartResult{ETag: ptr(p.ETag), LastModified: &lm},
		CopySourceVersionId: src.wireVersion(), ServerSideEncryption: opt(u.Object.SSE),
		SSEKMSKeyId: opt(u.Object.SSEKMSKeyID), BucketKeyEnabled: boolOpt(u.Object.BucketKeyEnabled)}, nil
}

// copySourceRange parses x-amz-copy-source-range, which S3 takes only as bytes=first-last
// within the source object.
func copySourceRange(h string, size int64) (byteRange, error) {
	bad := errInvalidArgument("Range specified is not valid for source object of size: %d", size)
	spec, ok := strings.CutPrefix(strings.TrimSpace(h), "bytes=")
	if !ok {
		return byteRange{}, errInvalidArgument("The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy")
	}
	first, last, ok := strings.Cut(spec, "-")
	a, errA := strconv.ParseInt(first, 10, 64)
	e, errE := strconv.ParseInt(last, 10, 64)
	if !ok || errA != nil || errE != nil {
		return byteRange{}, errInvalidArgument("The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy")
	}
	if a < 0 || e < a || e >= size {
		return byteRange{}, bad
	}
	return byteRange{a, e - a + 1}, nil
}

// copyRange writes a stretch of an object's bytes to a new blob, through a temporary file
// so that a part of any size is never held in memory, and returns it with its MD5.
func (s *Service) copyRange(src *objectMeta, r byteRange) (blobRef, []byte, error) {
	f, err := os.CreateTemp("", "bannin-part-*")
	if err != nil {
		return blobRef{}, nil, fmt.Errorf("objects: copy part: %w", err)
	}
	defer os.Remove(f.Name())
	rd := &blobReader{blobs: s.blobs, refs: src.Blobs, off: r.off, left: r.n}
	h := md5.New()
	n, err := io.Copy(io.MultiWriter(f, h), rd)
	rd.Close()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return blobRef{}, nil, fmt.Errorf("objects: copy part: %w", err)
	}
	if n != r.n {
		return blobRef{}, nil, fmt.Errorf("objects: copy part: read %d of %d bytes", n, r.n)
	}
	id := newID(16)
	if err := s.blobs.Move(id, f.Name()); err != nil {
		return blobRef{}, nil, err
	}
	return blobRef{ID: id, Size: n}, h.Sum(nil), nil
}
