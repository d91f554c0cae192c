package objects

import (
	"context"
	"net/http"

	"github.com/bannin/bannin/internal/awserr"
	"github.com/bannin/bannin/internal/wire/s3"
)

func errNoOwnershipControls(bucket string) error {
	return detail(awserr.New("OwnershipControlsNotFoundError", http.StatusNotFound, "The bucket ownership controls were not found"),
		"BucketName", bucket)
}

// GetBucketOwnershipControls implements s3.API: the bucket's Object Ownership setting
// (BucketOwnerEnforced for buckets created without one, as S3 does since April 2023).
func (s *Service) GetBucketOwnershipControls(ctx context.Context, in *s3.GetBucketOwnershipControlsRequest) (*s3.GetBucketOwnershipControlsOutput, error) {
	c := callOf(ctx)
	b, err := s.bucket(ctx, c, in.Bucket, in.ExpectedBucketOwner)
	if err != nil {
		return nil, err
	}
	if b.cfg.ObjectOwnership == "" {
		return nil, errNoOwnershipControls(b.name())
	}
	return &s3.GetBucketOwnershipControlsOutput{OwnershipControls: &s3.OwnershipControls{
		Rules: []s3.OwnershipControlsRule{{ObjectOwnership: ptr(b.cfg.ObjectOwnership)}}}}, nil
}

// PutBucketOwnershipControls implements s3.API. Enforcing bucket-owner ownership disables
// ACLs, so it is refused while the bucket's ACL grants anyone but the owner.
func (s *Service) PutBucketOwnershipControls(ctx context.Context, in *s3.PutBucketOwnershipControlsRequest) (*s3.PutBucketOwnershipControlsOutput, error) {
	c := callOf(ctx)
	b, err := s.bucket(ctx, c, in.Bucket, in.ExpectedBucketOwner)
	if err != nil {
		return nil, err
	}
	if in.OwnershipControls == nil || len(in.OwnershipControls.Rules) != 1 || in.OwnershipControls.Rules[0].ObjectOwnership == nil {
		return nil, errMalformedXML()
	}
	own := *in.OwnershipControls.Rules[0].ObjectOwnership
	switch own {
	case "BucketOwnerEnforced", "BucketOwnerPreferred", "ObjectWriter":
	default:
		return nil, errMalformedXML()
	}
	if own == "BucketOwnerEnforced" && !ownerOnly(b.res.Account, b.cfg.Grants) {
		return nil, awserr.New("InvalidBucketAclWithObjectOwnership", http.StatusBadRequest,
			"Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting")
	}
	b.cfg.ObjectOwnership = own
	return &s3.PutBucketOwnershipControlsOutput{}, s.save(ctx, c, b)
}

// DeleteBucketOwnershipControls implements s3.API: the bucket goes back to ACLs with
// object-writer ownership.
func (s *Service) DeleteBucketOwnershipControls(ctx context.Context, in *s3.DeleteBucketOwnershipControlsRequest) (*s3.DeleteBucketOwnershipControlsOutput, error) {
	c := callOf(ctx)
	b, err := s.bucket(ctx, c, in.Bucket, in.ExpectedBucketOwner)
	if err != nil {
		return nil, err
	}
	b.cfg.ObjectOwnership = ""
	return &s3.DeleteBucketOwnershipControlsOutput{}, s.save(ctx, c, b)
}
