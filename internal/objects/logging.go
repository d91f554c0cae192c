package objects

import (
	"context"
	"net/http"
	"time"

	"github.com/bannin/bannin/internal/awserr"
	"github.com/bannin/bannin/internal/wire/s3"
)

// PutBucketLogging implements s3.API: it turns server access logging on (LoggingEnabled) or
// off (an empty BucketLoggingStatus). As in S3, the target bucket must exist, belong to the
// source bucket's owner and be in the same Region; target grants are refused when the
// target bucket has ACLs disabled (BucketOwnerEnforced).
func (s *Service) PutBucketLogging(ctx context.Context, in *s3.PutBucketLoggingRequest) (*s3.PutBucketLoggingOutput, error) {
	c := callOf(ctx)
	b, err := s.bucket(ctx, c, in.Bucket, in.ExpectedBucketOwner)
	if err != nil {
		return nil, err
	}
	if in.BucketLoggingStatus == nil {
		return nil, errMalformedXML()
	}
	le := in.BucketLoggingStatus.LoggingEnabled
	if le == nil {
		b.cfg.Logging, b.cfg.LoggingSince = nil, time.Time{}
		return &s3.PutBucketLoggingOutput{}, s.save(ctx, c, b)
	}
	target := str(le.TargetBucket)
	if target == "" {
		return nil, errMalformedXML()
	}
	if f := le.TargetObjectKeyFormat; f != nil {
		if (f.SimplePrefix == nil) == (f.PartitionedPrefix == nil) {
			return nil, errMalformedXML()
		}
		if p := f.PartitionedPrefix; p != nil {
			switch str(p.PartitionDateSource) {
			case "", "EventTime", "DeliveryTime":
			default:
				return nil, errMalformedXML()
			}
		}
	}
	for _, g := range le.TargetGrants {
		if g.Grantee == nil {
			return nil, errMalformedXML()
		}
		switch str(g.Permission) {
		case "FULL_CONTROL", "READ", "WRITE":
		default:
			return nil, errMalformedXML()
		}
	}
	t, err := findBucket(ctx, c.Tx, target)
	if err != nil {
		return nil, err
	}
	if t == nil {
		return nil, detail(awserr.New("InvalidTargetBucketForLogging", http.StatusBadRequest,
			"The target bucket for logging does not exist"), "TargetBucket", target)
	}
	if t.res.Account != b.res.Account {
		return nil, detail(awserr.New("InvalidTargetBucketForLogging", http.StatusBadRequest,
			"The owner for the bucket to be logged and the target bucket must be the same."), "TargetBucket", target)
	}
	if t.cfg.Region != b.cfg.Region {
		return nil, detail(awserr.New("CrossLocationLoggingProhibitted", http.StatusForbidden,
			"Cross S3 location logging not allowed. "),
			"SourceBucketLocation", b.cfg.Region, "TargetBucketLocation", t.cfg.Region)
	}
	if len(le.TargetGrants) > 0 && t.cfg.ObjectOwnership == "BucketOwnerEnforced" {
		return nil, awserr.New("AccessControlListNotSupported", http.StatusBadRequest,
			"Target grants not allowed for bucket owner enforced buckets")
	}
	l := &s3.LoggingEnabled{TargetBucket: &target, TargetPrefix: ptr(str(le.TargetPrefix)), TargetGrants: le.TargetGrants}
	if f := le.TargetObjectKeyFormat; f != nil {
		l.TargetObjectKeyFormat = &s3.TargetObjectKeyFormat{SimplePrefix: f.SimplePrefix}
		if p := f.PartitionedPrefix; p != nil {
			src := str(p.PartitionDateSource)
			if src == "" {
				src = "EventTime"
			}
			l.TargetObjectKeyFormat.PartitionedPrefix = &s3.PartitionedPrefix{PartitionDateSource: &src}
		}
	}
	if b.cfg.Logging == nil {
		b.cfg.LoggingSince = c.Time.UTC()
	}
	b.cfg.Logging = l
	return &s3.PutBucketLoggingOutput{}, s.save(ctx, c, b)
}

// GetBucketLogging implements s3.API: the logging configuration, or none (an empty
// BucketLoggingStatus) when logging is off.
func (s *Service) GetBucketLogging(ctx context.Context, in *s3.GetBucketLoggingRequest) (*s3.GetBucketLoggingOutput, error) {
	c := callOf(ctx)
	b, err := s.bucket(ctx, c, in.Bucket, in.ExpectedBucketOwner)
	if err != nil {
		return nil, err
	}
	return &s3.GetBucketLoggingOutput{LoggingEnabled: b.cfg.Logging}, nil
}
