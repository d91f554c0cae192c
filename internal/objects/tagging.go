package objects

import (
	"context"
	"net/http"

	"github.com/bannin/bannin/internal/awserr"
	"github.com/bannin/bannin/internal/store"
	"github.com/bannin/bannin/internal/wire/s3"
)

// taggedObject finds the version of an object a tagging call names.
func (s *Service) taggedObject(ctx context.Context, tx store.ReadTx, b *bucketRef, key, versionID *string) (*objectMeta, error) {
	m, err := lookup(ctx, tx, b, str(key), str(versionID))
	if err != nil {
		return nil, err
	}
	if m == nil {
		if str(versionID) != "" {
			return nil, awserr.New("NoSuchVersion", http.StatusNotFound, "The specified version does not exist.")
		}
		return nil, errNoSuchKey(key)
	}
	if m.DeleteMarker {
		return nil, awserr.New("MethodNotAllowed", http.StatusMethodNotAllowed, "The specified method is not allowed against this resource.")
	}
	return m, nil
}

// retag rewrites one version's tags in place: tagging makes no new version.
func retag(ctx context.Context, tx store.Tx, b *bucketRef, m *objectMeta, tags map[string]string) error {
	m.Tags = tags
	bn := b.name()
	if m.Order != "" {
		if err := putJSON(ctx, tx, verBucket(bn), m.Key+sep+m.Order, m); err != nil {
			return err
		}
	}
	cur, err := current(ctx, tx, bn, m.Key)
	if err != nil {
		return err
	}
	if cur != nil && cur.Order == m.Order && cur.VersionID == m.VersionID {
		return putJSON(ctx, tx, objBucket(bn), m.Key, m)
	}
	return nil
}

// GetObjectTagging implements s3.API: the version's tag set, empty when it has none.
func (s *Service) GetObjectTagging(ctx context.Context, in *s3.GetObjectTaggingRequest) (*s3.GetObjectTaggingOutput, error) {
	c := callOf(ctx)
	b, err := s.bucket(ctx, c, in.Bucket, in.ExpectedBucketOwner)
	if err != nil {
		return nil, err
	}
	m, err := s.taggedObject(ctx, c.Tx, b, in.Key, in.VersionId)
	if err != nil {
		return nil, err
	}
	return &s3.GetObjectTaggingOutput{VersionId: m.wireVersion(), TagSet: tagList(m.Tags)}, nil
}

// PutObjectTagging implements s3.API: the tag set (at most 10 tags) replaces the version's.
func (s *Service) PutObjectTagging(ctx context.Context, in *s3.PutObjectTaggingRequest) (*s3.PutObjectTaggingOutput, error) {
	c := callOf(ctx)
	tx, err := writeTx(c)
	if err != nil {
		return nil, err
	}
	b, err := s.bucket(ctx, c, in.Bucket, in.ExpectedBucketOwner)
	if err != nil {
		return nil, err
	}
	if in.Tagging == nil {
		return nil, errMalformedXML()
	}
	if len(in.Tagging.TagSet) > 10 {
		return nil, awserr.New("BadRequest", http.StatusBadRequest, "Object tags cannot be greater than 10")
	}
	tags, err := tagMap(in.Tagging.TagSet)
	if err != nil {
		return nil, err
	}
	m, err := s.taggedObject(ctx, tx, b, in.Key, in.VersionId)
	if err != nil {
		return nil, err
	}
	if err := retag(ctx, tx, b, m, tags); err != nil {
		return nil, err
	}
	return &s3.PutObjectTaggingOutput{VersionId: m.wireVersion()}, nil
}

// DeleteObjectTagging implements s3.API.
func (s *Service) DeleteObjectTagging(ctx context.Context, in *s3.DeleteObjectTaggingRequest) (*s3.DeleteObjectTaggingOutput, error) {
	c := callOf(ctx)
	tx, err := writeTx(c)
	if err != nil {
		return nil, err
	}
	b, err := s.bucket(ctx, c, in.Bucket, in.ExpectedBucketOwner)
	if err != nil {
		return nil, err
	}
	m, err := s.taggedObject(ctx, tx, b, in.Key, in.VersionId)
	if err != nil {
		return nil, err
	}
	if err := retag(ctx, tx, b, m, nil); err != nil {
		return nil, err
	}
	return &s3.DeleteObjectTaggingOutput{VersionId: m.wireVersion()}, nil
}
