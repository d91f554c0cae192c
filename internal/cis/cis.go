// Package cis sets up the CIS AWS Foundations Benchmark monitoring controls (Security Hub
// CloudWatch.1-14 and CIS 4.15) on a bannin (or AWS) account through the public APIs: a
// multi-region trail delivering to a CloudWatch Logs group, one metric filter and one alarm
// per control, and an SNS topic with an email subscription that the alarms notify.
package cis

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// Control is one CIS monitoring control: a metric filter pattern over CloudTrail events in
// the log group, and the metric it counts.
type Control struct {
	ID          string // Security Hub control id, e.g. CloudWatch.5
	Metric      string // metric and filter name
	Description string
	Pattern     string // exactly as AWS Security Hub documents it
}

// Controls are the CIS AWS Foundations monitoring controls.
var Controls = []Control{
	{ID: "CloudWatch.1", Metric: "RootAccountUsage", Description: "root usage",
		Pattern: `{$.userIdentity.type="Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType !="AwsServiceEvent"}`},
	{ID: "CloudWatch.2", Metric: "UnauthorizedAPICalls", Description: "unauthorized API calls",
		Pattern: `{($.errorCode="*UnauthorizedOperation") || ($.errorCode="AccessDenied*")}`},
	{ID: "CloudWatch.3", Metric: "ConsoleSignInWithoutMFA", Description: "console sign-in without MFA",
		Pattern: `{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes") && ($.userIdentity.type = "IAMUser") && ($.responseElements.ConsoleLogin = "Success") }`},
	{ID: "CloudWatch.4", Metric: "IAMPolicyChanges", Description: "IAM policy changes",
		Pattern: `{($.eventName=DeleteGroupPolicy) || ($.eventName=DeleteRolePolicy) || ($.eventName=DeleteUserPolicy) || ($.eventName=PutGroupPolicy) || ($.eventName=PutRolePolicy) || ($.eventName=PutUserPolicy) || ($.eventName=CreatePolicy) || ($.eventName=DeletePolicy) || ($.eventName=CreatePolicyVersion) || ($.eventName=DeletePolicyVersion) || ($.eventName=AttachRolePolicy) || ($.eventName=DetachRolePolicy) || ($.eventName=AttachUserPolicy) || ($.eventName=DetachUserPolicy) || ($.eventName=AttachGroupPolicy) || ($.eventName=DetachGroupPolicy)}`},
	{ID: "CloudWatch.5", Metric: "CloudTrailChanges", Description: "CloudTrail configuration changes",
		Pattern: `{($.eventName=CreateTrail) || ($.eventName=UpdateTrail) || ($.eventName=DeleteTrail) || ($.eventName=StartLogging) || ($.eventName=StopLogging)}`},
	{ID: "CloudWatch.6", Metric: "ConsoleAuthenticationFailures", Description: "console authentication failures",
		Pattern: `{($.eventName=ConsoleLogin) && ($.errorMessage="Failed authentication")}`},
	{ID: "CloudWatch.7", Metric: "DisableOrDeleteCMK", Description: "CMK disabled or scheduled for deletion",
		Pattern: `{($.eventSource=kms.amazonaws.com) && (($.eventName=DisableKey) || ($.eventName=ScheduleKeyDeletion))}`},
	{ID: "CloudWatch.8", Metric: "S3BucketPolicyChanges", Description: "S3 bucket policy changes",
		Pattern: `{($.eventSource=s3.amazonaws.com) && (($.eventName=PutBucketAcl) || ($.eventName=PutBucketPolicy) || ($.eventName=PutBucketCors) || ($.eventName=PutBucketLifecycle) || ($.eventName=PutBucketReplication) || ($.eventName=DeleteBucketPolicy) || ($.eventName=DeleteBucketCors) || ($.eventName=DeleteBucketLifecycle) || ($.eventName=DeleteBucketReplication))}`},
	{ID: "CloudWatch.9", Metric: "ConfigChanges", Description: "AWS Config configuration changes",
		Pattern: `{($.eventSource=config.amazonaws.com) && (($.eventName=StopConfigurationRecorder) || ($.eventName=DeleteDeliveryChannel) || ($.eventName=PutDeliveryChannel) || ($.eventName=PutConfigurationRecorder))}`},
	{ID: "CloudWatch.10", Metric: "SecurityGroupChanges", Description: "security group changes",
		Pattern: `{($.eventName=AuthorizeSecurityGroupIngress) || ($.eventName=AuthorizeSecurityGroupEgress) || ($.eventName=RevokeSecurityGroupIngress) || ($.eventName=RevokeSecurityGroupEgress) || ($.eventName=CreateSecurityGroup) || ($.eventName=DeleteSecurityGroup)}`},
	{ID: "CloudWatch.11", Metric: "NACLChanges", Description: "network ACL changes",
		Pattern: `{($.eventName=CreateNetworkAcl) || ($.eventName=CreateNetworkAclEntry) || ($.eventName=DeleteNetworkAcl) || ($.eventName=DeleteNetworkAclEntry) || ($.eventName=ReplaceNetworkAclEntry) || ($.eventName=ReplaceNetworkAclAssociation)}`},
	{ID: "CloudWatch.12", Metric: "NetworkGatewayChanges", Description: "network gateway changes",
		Pattern: `{($.eventName=CreateCustomerGateway) || ($.eventName=DeleteCustomerGateway) || ($.eventName=AttachInternetGateway) || ($.eventName=CreateInternetGateway) || ($.eventName=DeleteInternetGateway) || ($.eventName=DetachInternetGateway)}`},
	{ID: "CloudWatch.13", Metric: "RouteTableChanges", Description: "route table changes",
		Pattern: `{($.eventName=CreateRoute) || ($.eventName=CreateRouteTable) || ($.eventName=ReplaceRoute) || ($.eventName=ReplaceRouteTableAssociation) || ($.eventName=DeleteRouteTable) || ($.eventName=DeleteRoute) || ($.eventName=DisassociateRouteTable)}`},
	{ID: "CloudWatch.14", Metric: "VPCChanges", Description: "VPC changes",
		Pattern: `{($.eventName=CreateVpc) || ($.eventName=DeleteVpc) || ($.eventName=ModifyVpcAttribute) || ($.eventName=AcceptVpcPeeringConnection) || ($.eventName=CreateVpcPeeringConnection) || ($.eventName=DeleteVpcPeeringConnection) || ($.eventName=RejectVpcPeeringConnection) || ($.eventName=AttachClassicLinkVpc) || ($.eventName=DetachClassicLinkVpc) || ($.eventName=DisableVpcClassicLink) || ($.eventName=EnableVpcClassicLink)}`},
	{ID: "CIS 4.15", Metric: "OrganizationsChanges", Description: "AWS Organizations changes",
		Pattern: `{ ($.eventSource = organizations.amazonaws.com) && (($.eventName = AcceptHandshake) || ($.eventName = AttachPolicy) || ($.eventName = CreateAccount) || ($.eventName = CreateOrganizationalUnit) || ($.eventName = CreatePolicy) || ($.eventName = DeclineHandshake) || ($.eventName = DeleteOrganization) || ($.eventName = DeleteOrganizationalUnit) || ($.eventName = DeletePolicy) || ($.eventName = DetachPolicy) || ($.eventName = DisablePolicyType) || ($.eventName = EnablePolicyType) || ($.eventName = InviteAccountToOrganization) || ($.eventName = LeaveOrganization) || ($.eventName = MoveAccount) || ($.eventName = RemoveAccountFromOrganization) || ($.eventName = UpdatePolicy) || ($.eventName = UpdateOrganizationalUnit)) }`},
}

// Options say where and how to install the controls.
type Options struct {
	// Email receives the alarm notifications (it must confirm the subscription mail).
	Email string
	// TrailName, Bucket, LogGroup and Topic name what is created or reused (defaults:
	// cis-trail, cis-trail-ACCOUNT, CloudTrail/CIS, cis-alarms).
	TrailName, Bucket, LogGroup, Topic string
	// Namespace of the metrics (default CISBenchmark).
	Namespace string
	// Period of the alarms in seconds (default 300, as CIS prescribes).
	Period int32
}

// Result says what Install set up.
type Result struct {
	Account, TrailARN, LogGroupARN, TopicARN string
	Alarms                                   []string
}

// Install creates or updates everything the controls need; running it again changes
// nothing that is already in place.
func Install(ctx context.Context, cfg aws.Config, o Options) (*Result, error) {
	id, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return nil, fmt.Errorf("cis: who am I: %w", err)
	}
	r := &Result{Account: aws.ToString(id.Account)}
	def := func(s *string, d string) {
		if *s == "" {
			*s = d
		}
	}
	def(&o.TrailName, "cis-trail")
	def(&o.Bucket, "cis-trail-"+r.Account)
	def(&o.LogGroup, "CloudTrail/CIS")
	def(&o.Topic, "cis-alarms")
	def(&o.Namespace, "CISBenchmark")
	if o.Period == 0 {
		o.Period = 300
	}
	region := cfg.Region

	s3c := s3.NewFromConfig(cfg, func(so *s3.Options) { so.UsePathStyle = true })
	if _, err := s3c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &o.Bucket}); err != nil {
		if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &o.Bucket}); err != nil {
			return nil, fmt.Errorf("cis: create bucket %s: %w", o.Bucket, err)
		}
	}
	cwl := cloudwatchlogs.NewFromConfig(cfg)
	if _, err := cwl.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: &o.LogGroup}); err != nil {
		var exists *logtypes.ResourceAlreadyExistsException
		if !errors.As(err, &exists) {
			return nil, fmt.Errorf("cis: create log group %s: %w", o.LogGroup, err)
		}
	}
	r.LogGroupARN = fmt.Sprintf("arn:aws:logs:%s:%s:log-group:%s:*", region, r.Account, o.LogGroup)
	role := fmt.Sprintf("arn:aws:iam::%s:role/CloudTrail_CloudWatchLogs_Role", r.Account)

	ct := cloudtrail.NewFromConfig(cfg)
	trail, err := ct.UpdateTrail(ctx, &cloudtrail.UpdateTrailInput{Name: &o.TrailName, S3BucketName: &o.Bucket,
		IsMultiRegionTrail: aws.Bool(true), IncludeGlobalServiceEvents: aws.Bool(true), EnableLogFileValidation: aws.Bool(true),
		CloudWatchLogsLogGroupArn: &r.LogGroupARN, CloudWatchLogsRoleArn: &role})
	if err == nil {
		r.TrailARN = aws.ToString(trail.TrailARN)
	} else {
		created, cerr := ct.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: &o.TrailName, S3BucketName: &o.Bucket,
			IsMultiRegionTrail: aws.Bool(true), IncludeGlobalServiceEvents: aws.Bool(true), EnableLogFileValidation: aws.Bool(true),
			CloudWatchLogsLogGroupArn: &r.LogGroupARN, CloudWatchLogsRoleArn: &role})
		if cerr != nil {
			return nil, fmt.Errorf("cis: create trail %s: %w (update: %v)", o.TrailName, cerr, err)
		}
		r.TrailARN = aws.ToString(created.TrailARN)
	}
	if _, err := ct.StartLogging(ctx, &cloudtrail.StartLoggingInput{Name: &o.TrailName}); err != nil {
		return nil, fmt.Errorf("cis: start logging: %w", err)
	}

	sc := sns.NewFromConfig(cfg)
	topic, err := sc.CreateTopic(ctx, &sns.CreateTopicInput{Name: &o.Topic})
	if err != nil {
		return nil, fmt.Errorf("cis: create topic %s: %w", o.Topic, err)
	}
	r.TopicARN = aws.ToString(topic.TopicArn)
	if o.Email != "" {
		subscribed := false
		subs, err := sc.ListSubscriptionsByTopic(ctx, &sns.ListSubscriptionsByTopicInput{TopicArn: topic.TopicArn})
		if err != nil {
			return nil, fmt.Errorf("cis: list subscriptions: %w", err)
		}
		for _, s := range subs.Subscriptions {
			subscribed = subscribed || aws.ToString(s.Protocol) == "email" && aws.ToString(s.Endpoint) == o.Email
		}
		if !subscribed {
			if _, err := sc.Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: aws.String("email"), Endpoint: &o.Email}); err != nil {
				return nil, fmt.Errorf("cis: subscribe %s: %w", o.Email, err)
			}
		}
	}

	cw := cloudwatch.NewFromConfig(cfg)
	for _, c := range Controls {
		if _, err := cwl.PutMetricFilter(ctx, &cloudwatchlogs.PutMetricFilterInput{LogGroupName: &o.LogGroup,
			FilterName: aws.String(c.Metric), FilterPattern: aws.String(c.Pattern),
			MetricTransformations: []logtypes.MetricTransformation{{MetricName: aws.String(c.Metric),
				MetricNamespace: &o.Namespace, MetricValue: aws.String("1")}}}); err != nil {
			return nil, fmt.Errorf("cis: metric filter %s: %w", c.Metric, err)
		}
		name := "CIS-" + c.ID + "-" + c.Metric
		if _, err := cw.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{AlarmName: &name,
			AlarmDescription: aws.String(c.ID + ": " + c.Description), MetricName: aws.String(c.Metric), Namespace: &o.Namespace,
			Statistic: cwtypes.StatisticSum, Period: aws.Int32(o.Period), EvaluationPeriods: aws.Int32(1), Threshold: aws.Float64(1),
			ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanOrEqualToThreshold, TreatMissingData: aws.String("notBreaching"),
			AlarmActions: []string{r.TopicARN}}); err != nil {
			return nil, fmt.Errorf("cis: alarm %s: %w", name, err)
		}
		r.Alarms = append(r.Alarms, name)
	}
	return r, nil
}
