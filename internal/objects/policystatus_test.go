package objects_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
)

// GetBucketPolicyStatus says whether the bucket's policy is public.
func TestBucketPolicyStatus(t *testing.T) {
	c := withBuckets(t, "status")
	ctx := context.Background()
	b := aws.String("status")
	_, err := c.GetBucketPolicyStatus(ctx, &awss3.GetBucketPolicyStatusInput{Bucket: b})
	if apiCode(err) != "NoSuchBucketPolicy" {
		t.Errorf("GetBucketPolicyStatus without a policy: %v; want NoSuchBucketPolicy", err)
	}
	_, err = c.GetBucketPolicyStatus(ctx, &awss3.GetBucketPolicyStatusInput{Bucket: aws.String("no-such-status")})
	if apiCode(err) != "NoSuchBucket" {
		t.Errorf("GetBucketPolicyStatus of no bucket: %v; want NoSuchBucket", err)
	}
	status := func(policy string) bool {
		t.Helper()
		if _, err := c.PutBucketPolicy(ctx, &awss3.PutBucketPolicyInput{Bucket: b, Policy: aws.String(policy)}); err != nil {
			t.Fatalf("PutBucketPolicy: %v", err)
		}
		out, err := c.GetBucketPolicyStatus(ctx, &awss3.GetBucketPolicyStatusInput{Bucket: b})
		if err != nil || out.PolicyStatus == nil {
			t.Fatalf("GetBucketPolicyStatus = %v, %v", out, err)
		}
		return aws.ToBool(out.PolicyStatus.IsPublic)
	}
	if status(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"cloudtrail.amazonaws.com"},"Action":"s3:GetBucketAcl","Resource":"arn:aws:s3:::status"}]}`) {
		t.Errorf("a CloudTrail service policy is reported public")
	}
	if _, err := c.DeletePublicAccessBlock(ctx, &awss3.DeletePublicAccessBlockInput{Bucket: b}); err != nil {
		t.Fatal(err)
	}
	if !status(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::status/*"}]}`) {
		t.Errorf("an Allow to every principal is reported not public")
	}
}
