package iam

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/bannin/bannin/internal/call"
	"github.com/bannin/bannin/internal/wire/sts"
)

// STS answers the AWS Security Token Service calls bannin serves.
type STS struct{ sts.Unimplemented }

// GetCallerIdentity tells the caller who the signature says it is.
func (STS) GetCallerIdentity(ctx context.Context, _ *sts.GetCallerIdentityRequest) (*sts.GetCallerIdentityResponse, error) {
	p := call.From(ctx).Caller
	return &sts.GetCallerIdentityResponse{UserId: aws.String(p.PrincipalID), Account: aws.String(p.Account), Arn: aws.String(p.ARN)}, nil
}
