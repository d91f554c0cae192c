package objects_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// Object Ownership is read, changed and removed; enforcing it turns ACLs off.
func TestOwnershipControls(t *testing.T) {
	c := withBuckets(t, "owned")
	ctx := context.Background()
	b := aws.String("owned")
	get := func() (types.ObjectOwnership, error) {
		out, err := c.GetBucketOwnershipControls(ctx, &awss3.GetBucketOwnershipControlsInput{Bucket: b})
		if err != nil {
			return "", err
		}
		if out.OwnershipControls == nil || len(out.OwnershipControls.Rules) != 1 {
			t.Fatalf("GetBucketOwnershipControls = %+v", out)
		}
		return out.OwnershipControls.Rules[0].ObjectOwnership, nil
	}
	if own, err := get(); err != nil || own != types.ObjectOwnershipBucketOwnerEnforced {
		t.Errorf("new bucket's ownership = %q, %v; want BucketOwnerEnforced", own, err)
	}
	put := func(o types.ObjectOwnership) error {
		_, err := c.PutBucketOwnershipControls(ctx, &awss3.PutBucketOwnershipControlsInput{Bucket: b,
			OwnershipControls: &types.OwnershipControls{Rules: []types.OwnershipControlsRule{{ObjectOwnership: o}}}})
		return err
	}
	if err := put(types.ObjectOwnershipObjectWriter); err != nil {
		t.Fatalf("PutBucketOwnershipControls(ObjectWriter): %v", err)
	}
	if own, err := get(); err != nil || own != types.ObjectOwnershipObjectWriter {
		t.Errorf("ownership after put = %q, %v; want ObjectWriter", own, err)
	}
	// With ACLs on, a public-read grant is taken (after lifting the public ACL block)...
	if _, err := c.DeletePublicAccessBlock(ctx, &awss3.DeletePublicAccessBlockInput{Bucket: b}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutBucketAcl(ctx, &awss3.PutBucketAclInput{Bucket: b, ACL: types.BucketCannedACLPublicRead}); err != nil {
		t.Fatalf("PutBucketAcl(public-read) with ObjectWriter: %v", err)
	}
	// ...and then enforcing bucket-owner ownership is refused until the ACL is private.
	if err := put(types.ObjectOwnershipBucketOwnerEnforced); apiCode(err) != "InvalidBucketAclWithObjectOwnership" {
		t.Errorf("enforcing ownership over a public ACL: %v; want InvalidBucketAclWithObjectOwnership", err)
	}
	if _, err := c.DeleteBucketOwnershipControls(ctx, &awss3.DeleteBucketOwnershipControlsInput{Bucket: b}); err != nil {
		t.Fatalf("DeleteBucketOwnershipControls: %v", err)
	}
	if _, err := get(); apiCode(err) != "OwnershipControlsNotFoundError" {
		t.Errorf("GetBucketOwnershipControls after delete: %v; want OwnershipControlsNotFoundError", err)
	}
}
