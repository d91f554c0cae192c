package trail

import (
	"context"
	"errors"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/bannin/bannin/internal/awserr"
	"github.com/bannin/bannin/internal/call"
	"github.com/bannin/bannin/internal/lake"
	"github.com/bannin/bannin/internal/store"
	"github.com/bannin/bannin/internal/wire/cloudtrail"
)

// CreateTrail creates a trail in the caller's region. It starts not logging.
func (s *Service) CreateTrail(ctx context.Context, in *cloudtrail.CreateTrailRequest) (*cloudtrail.CreateTrailResponse, error) {
	c := call.From(ctx)
	name := aws.ToString(in.Name)
	if err := validateName(name); err != nil {
		return nil, err
	}
	if err := nameFree(ctx, c, name, c.Region, aws.ToBool(in.IsMultiRegionTrail), false); err != nil {
		return nil, err
	}
	t := &Trail{Name: name, TrailARN: ARN(c.Region, c.Account, name), HomeRegion: c.Region,
		S3BucketName: aws.ToString(in.S3BucketName), S3KeyPrefix: aws.ToString(in.S3KeyPrefix),
		IncludeGlobalServiceEvents: in.IncludeGlobalServiceEvents == nil || *in.IncludeGlobalServiceEvents,
		IsMultiRegionTrail:         aws.ToBool(in.IsMultiRegionTrail), LogFileValidationEnabled: aws.ToBool(in.EnableLogFileValidation),
		IsOrganizationTrail: aws.ToBool(in.IsOrganizationTrail), KmsKeyId: aws.ToString(in.KmsKeyId),
		CloudWatchLogsLogGroupArn: aws.ToString(in.CloudWatchLogsLogGroupArn), CloudWatchLogsRoleArn: aws.ToString(in.CloudWatchLogsRoleArn)}
	if err := s.applyChecks(ctx, c, t, aws.ToString(in.SnsTopicName)); err != nil {
		return nil, err
	}
	tags, err := lake.TagMap(nil, in.TagsList)
	if err != nil {
		return nil, err
	}
	t.tags = tags
	if err := save(ctx, c, t); err != nil {
		return nil, err
	}
	return t.createResponse(), nil
}

// createResponse is the answer CreateTrail and UpdateTrail share (their shapes are the same).
func (t *Trail) createResponse() *cloudtrail.CreateTrailResponse {
	w := t.wire()
	return &cloudtrail.CreateTrailResponse{Name: w.Name, S3BucketName: w.S3BucketName, S3KeyPrefix: w.S3KeyPrefix,
		SnsTopicName: w.SnsTopicName, SnsTopicARN: w.SnsTopicARN, IncludeGlobalServiceEvents: w.IncludeGlobalServiceEvents,
		IsMultiRegionTrail: w.IsMultiRegionTrail, TrailARN: w.TrailARN, LogFileValidationEnabled: w.LogFileValidationEnabled,
		CloudWatchLogsLogGroupArn: w.CloudWatchLogsLogGroupArn, CloudWatchLogsRoleArn: w.CloudWatchLogsRoleArn,
		KmsKeyId: w.KmsKeyId, IsOrganizationTrail: w.IsOrganizationTrail}
}

// nameFree refuses a trail name another trail of the account holds where the new or
// changed trail would be seen: its home region, or every region when either trail is
// multi-region. self skips the home region's trail: the one being changed.
func nameFree(ctx context.Context, c *call.Call, name, home string, multiRegion, self bool) error {
	rs, err := c.Tx.FindResources(ctx, ResourceType, name)
	if err != nil {
		return err
	}
	exists := errf("TrailAlreadyExistsException", "Trail %s already exists for customer: %s", name, c.Account)
	for _, r := range rs {
		if r.Account != c.Account {
			continue
		}
		if r.Region == home {
			if self {
				continue
			}
			return exists
		}
		other, err := decode(r)
		if err != nil {
			return err
		}
		if other.IsMultiRegionTrail || multiRegion {
			return exists
		}
	}
	return nil
}

// applyChecks validates the settings CreateTrail and UpdateTrail share.
func (s *Service) applyChecks(ctx context.Context, c *call.Call, t *Trail, snsTopic string) error {
	if err := checkBucket(ctx, c, t.S3BucketName); err != nil {
		return err
	}
	if err := checkLogs(t.CloudWatchLogsLogGroupArn, t.CloudWatchLogsRoleArn); err != nil {
		return err
	}
	if err := checkLogGroup(ctx, c, t.CloudWatchLogsLogGroupArn); err != nil {
		return err
	}
	if t.IsMultiRegionTrail && !t.IncludeGlobalServiceEvents {
		return errf("InvalidParameterCombinationException", "Multi-Region trail must include global service events.")
	}
	if t.IsOrganizationTrail {
		return awserr.New("OrganizationsNotInUseException", http.StatusBadRequest,
			"This account is not part of an organization; organization trails need AWS Organizations, which bannin does not serve yet.")
	}
	t.SnsTopicName, t.SnsTopicARN = "", ""
	if snsTopic != "" {
		t.SnsTopicName, t.SnsTopicARN = snsTopic, snsTopic
		if strings.HasPrefix(snsTopic, "arn:") {
			t.SnsTopicName = snsTopic[strings.LastIndexByte(snsTopic, ':')+1:]
		} else {
			t.SnsTopicARN = "arn:aws:sns:" + c.Region + ":" + c.Account + ":" + snsTopic
		}
		if err := checkTopic(ctx, c, t.SnsTopicARN); err != nil {
			return err
		}
	}
	return nil
}

// TopicType is the store's resource type for SNS topics.
const TopicType = "AWS::SNS::Topic"

// checkTopic requires the SNS topic a trail notifies to exist, as CloudTrail does.
func checkTopic(ctx context.Context, c *call.Call, arn string) error {
	missing := errf("InsufficientSnsTopicPolicyException", "SNS Topic does not exist or the topic policy is incorrect!")
	parts := strings.Split(arn, ":")
	if len(parts) != 6 || parts[2] != "sns" {
		return missing
	}
	r, err := c.Tx.GetResource(ctx, parts[4], parts[3], TopicType, parts[5])
	if err != nil {
		return err
	}
	if r == nil {
		return missing
	}
	return nil
}

// UpdateTrail changes the settings that are given; the rest stay as they were.
func (s *Service) UpdateTrail(ctx context.Context, in *cloudtrail.UpdateTrailRequest) (*cloudtrail.UpdateTrailResponse, error) {
	c := call.From(ctx)
	t, err := find(ctx, c, aws.ToString(in.Name))
	if err != nil {
		return nil, err
	}
	if err := inHomeRegion(c, t); err != nil {
		return nil, err
	}
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	setb := func(dst *bool, v *bool) {
		if v != nil {
			*dst = *v
		}
	}
	set(&t.S3BucketName, in.S3BucketName)
	set(&t.S3KeyPrefix, in.S3KeyPrefix)
	set(&t.KmsKeyId, in.KmsKeyId)
	set(&t.CloudWatchLogsLogGroupArn, in.CloudWatchLogsLogGroupArn)
	set(&t.CloudWatchLogsRoleArn, in.CloudWatchLogsRoleArn)
	setb(&t.IncludeGlobalServiceEvents, in.IncludeGlobalServiceEvents)
	if aws.ToBool(in.IsMultiRegionTrail) && !t.IsMultiRegionTrail {
		if err := nameFree(ctx, c, t.Name, t.HomeRegion, true, true); err != nil {
			return nil, err
		}
	}
	setb(&t.IsMultiRegionTrail, in.IsMultiRegionTrail)
	setb(&t.LogFileValidationEnabled, in.EnableLogFileValidation)
	setb(&t.IsOrganizationTrail, in.IsOrganizationTrail)
	sns := t.SnsTopicName
	set(&sns, in.SnsTopicName)
	if err := s.applyChecks(ctx, c, t, sns); err != nil {
		return nil, err
	}
	if err := save(ctx, c, t); err != nil {
		return nil, err
	}
	out := cloudtrail.UpdateTrailResponse(*t.createResponse())
	return &out, nil
}

// DeleteTrail deletes a trail from its home region.
func (s *Service) DeleteTrail(ctx context.Context, in *cloudtrail.DeleteTrailRequest) (*cloudtrail.DeleteTrailResponse, error) {
	c := call.From(ctx)
	t, err := find(ctx, c, aws.ToString(in.Name))
	if err != nil {
		return nil, err
	}
	if err := inHomeRegion(c, t); err != nil {
		return nil, err
	}
	c.Touch(ResourceType, t.TrailARN, t.TrailARN)
	if err := c.Write().DeleteResource(ctx, c.Account, t.HomeRegion, ResourceType, t.Name); err != nil {
		return nil, err
	}
	// A trail of the same name made later starts its log group delivery afresh.
	if err := c.Write().Delete(ctx, deliveredKV, t.TrailARN); err != nil {
		return nil, err
	}
	return &cloudtrail.DeleteTrailResponse{}, nil
}

// GetTrail returns one trail's settings.
func (s *Service) GetTrail(ctx context.Context, in *cloudtrail.GetTrailRequest) (*cloudtrail.GetTrailResponse, error) {
	t, err := find(ctx, call.From(ctx), aws.ToString(in.Name))
	if err != nil {
		return nil, err
	}
	w := t.wire()
	return &cloudtrail.GetTrailResponse{Trail: &w}, nil
}

// visible lists the trails the caller's region sees: its own and, with shadows,
// the multi-region trails of other regions.
func visible(ctx context.Context, c *call.Call, shadows bool) ([]*Trail, error) {
	var out []*Trail
	next := ""
	for {
		rs, tok, err := c.Tx.ListResources(ctx, store.ResourceQuery{Account: c.Account, Type: ResourceType, After: next, Limit: 1000})
		if err != nil {
			return nil, err
		}
		for _, r := range rs {
			t, err := decode(r)
			if err != nil {
				return nil, err
			}
			if r.Region == c.Region || (shadows && t.IsMultiRegionTrail) {
				out = append(out, t)
			}
		}
		if tok == "" {
			break
		}
		next = tok
	}
	sort.Slice(out, func(i, j int) bool { return out[i].TrailARN < out[j].TrailARN })
	return out, nil
}

// DescribeTrails returns the named trails, or every trail the region sees.
func (s *Service) DescribeTrails(ctx context.Context, in *cloudtrail.DescribeTrailsRequest) (*cloudtrail.DescribeTrailsResponse, error) {
	c := call.From(ctx)
	out := &cloudtrail.DescribeTrailsResponse{TrailList: []cloudtrail.Trail{}}
	if len(in.TrailNameList) > 0 {
		for _, n := range in.TrailNameList {
			t, err := find(ctx, c, n)
			if err != nil {
				if ce, ok := awserr.As(err); ok && ce.AWSErrorCode() == "TrailNotFoundException" {
					continue // DescribeTrails leaves out names it does not know
				}
				return nil, err
			}
			if t.HomeRegion != c.Region && in.IncludeShadowTrails != nil && !*in.IncludeShadowTrails {
				continue
			}
			out.TrailList = append(out.TrailList, t.wire())
		}
		return out, nil
	}
	ts, err := visible(ctx, c, in.IncludeShadowTrails == nil || *in.IncludeShadowTrails)
	if err != nil {
		return nil, err
	}
	for _, t := range ts {
		out.TrailList = append(out.TrailList, t.wire())
	}
	return out, nil
}

// ListTrails lists every trail of the account, in all regions.
func (s *Service) ListTrails(ctx context.Context, in *cloudtrail.ListTrailsRequest) (*cloudtrail.ListTrailsResponse, error) {
	c := call.From(ctx)
	rs, tok, err := c.Tx.ListResources(ctx, store.ResourceQuery{Account: c.Account, Type: ResourceType,
		After: aws.ToString(in.NextToken), Limit: 50})
	if errors.Is(err, store.ErrInvalidToken) {
		return nil, errf("InvalidNextTokenException", "The NextToken is not valid.")
	}
	if err != nil {
		return nil, err
	}
	out := &cloudtrail.ListTrailsResponse{Trails: []cloudtrail.TrailInfo{}}
	for _, r := range rs {
		out.Trails = append(out.Trails, cloudtrail.TrailInfo{TrailARN: aws.String(r.ARN), Name: aws.String(r.ID), HomeRegion: aws.String(r.Region)})
	}
	out.NextToken = opt(tok)
	return out, nil
}

// StartLogging turns logging on.
func (s *Service) StartLogging(ctx context.Context, in *cloudtrail.StartLoggingRequest) (*cloudtrail.StartLoggingResponse, error) {
	if err := s.setLogging(ctx, aws.ToString(in.Name), true); err != nil {
		return nil, err
	}
	return &cloudtrail.StartLoggingResponse{}, nil
}

// StopLogging turns logging off.
func (s *Service) StopLogging(ctx context.Context, in *cloudtrail.StopLoggingRequest) (*cloudtrail.StopLoggingResponse, error) {
	if err := s.setLogging(ctx, aws.ToString(in.Name), false); err != nil {
		return nil, err
	}
	return &cloudtrail.StopLoggingResponse{}, nil
}

func (s *Service) setLogging(ctx context.Context, name string, on bool) error {
	c := call.From(ctx)
	t, err := find(ctx, c, name)
	if err != nil {
		return err
	}
	if err := inHomeRegion(c, t); err != nil {
		return err
	}
	now := c.Time
	t.IsLogging = on
	if on {
		t.StartLoggingTime = &now
	} else {
		t.StopLoggingTime = &now
	}
	return save(ctx, c, t)
}

// GetTrailStatus reports whether the trail is logging and since when.
func (s *Service) GetTrailStatus(ctx context.Context, in *cloudtrail.GetTrailStatusRequest) (*cloudtrail.GetTrailStatusResponse, error) {
	t, err := find(ctx, call.From(ctx), aws.ToString(in.Name))
	if err != nil {
		return nil, err
	}
	// CloudTrail also answers the start and stop times as strings, and the delivery
	// attempt fields empty while nothing has been delivered to S3 (bannin does not deliver
	// log files to S3 yet).
	return &cloudtrail.GetTrailStatusResponse{IsLogging: aws.Bool(t.IsLogging),
		StartLoggingTime: t.StartLoggingTime, StopLoggingTime: t.StopLoggingTime,
		TimeLoggingStarted: aws.String(statusTime(t.StartLoggingTime)), TimeLoggingStopped: aws.String(statusTime(t.StopLoggingTime)),
		LatestDeliveryAttemptTime: aws.String(""), LatestDeliveryAttemptSucceeded: aws.String(""),
		LatestNotificationAttemptTime: aws.String(""), LatestNotificationAttemptSucceeded: aws.String(""),
	}, nil
}

// statusTime formats a time as GetTrailStatus's string fields do ("2026-11-23T16:22:17Z"),
// or "" when it has not happened.
func statusTime(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05Z")
}
