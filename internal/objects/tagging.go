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
	m, err := existingVersion(ctx, tx, b, str(key), str(versionID))
	if err != nil {
		return nil, err
	}
	if m.DeleteMarker {
		return nil, awserr.New("MethodNotAllowed", http.StatusMethodNotAllowed, "The specified method is not allowed against this resource.")
	}
	return m, nil
}

// retag rewrites the tags of the version a tagging call names, in place: tagging makes no
// new version. It returns the version.
func (s *Service) retag(ctx context.Context, tx store.Tx, b *bucketRef, key, versionID *string, tags map[string]string) (*objectMeta, error) {
	m, err := s.taggedObject(ctx, tx, b, key, versionID)
	if err != nil {
		return nil, err
	}
	m.Tags = tags
	bn := b.name()
	if m.Order != "" {
		if err := putJSON(ctx, tx, verBucket(bn), m.Key+sep+m.Order, m); err != nil {
			return nil, err
		}
	}
	cur, err := current(ctx, tx, bn, m.Key)
	if err != nil {
		return nil, err
	}
	if cur != nil && cur.Order == m.Order && cur.VersionID == m.VersionID {
		if err := putJSON(ctx, tx, objBucket(bn), m.Key, m); err != nil {
			return nil, err
		}
	}
	return m, nil
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
	tx, b, err := s.writeBucket(ctx, c, in.Bucket, in.ExpectedBucketOwner)
	if err != nil {
		return nil, err
	}
	if in.Tagging == nil {
		return nil, errMalformedXML()
	}
	if len(in.Tagging.TagSet) > 10 {
		return nil, errTooManyObjectTags()
	}
	tags, err := tagMap(in.Tagging.TagSet)
	if err != nil {
		return nil, err
	}
	m, err := s.retag(ctx, tx, b, in.Key, in.VersionId, tags)
	if err != nil {
		return nil, err
	}
	return &s3.PutObjectTaggingOutput{VersionId: m.wireVersion()}, nil
}

// DeleteObjectTagging implements s3.API.
func (s *Service) DeleteObjectTagging(ctx context.Context, in *s3.DeleteObjectTaggingRequest) (*s3.DeleteObjectTaggingOutput, error) {
	c := callOf(ctx)
	tx, b, err := s.writeBucket(ctx, c, in.Bucket, in.ExpectedBucketOwner)
	if err != nil {
		return nil, err
	}
	m, err := s.retag(ctx, tx, b, in.Key, in.VersionId, nil)
	if err != nil {
		return nil, err
	}
	return &s3.DeleteObjectTaggingOutput{VersionId: m.wireVersion()}, nil
}
