package bus_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/bannin/bannin/internal/testenv"
)

// Data events (S3 PutObject) reach EventBridge only while a trail logs them, as the
// CloudTrail User Guide says: the object written before the trail selects it makes no
// event, the one written after does.
func TestDataEventsThroughTrail(t *testing.T) {
	e := testenv.New(t)
	ctx := context.Background()
	eb, cwl, s3c, ct := eventbridge.NewFromConfig(e.Config), cloudwatchlogs.NewFromConfig(e.Config), e.S3(), cloudtrail.NewFromConfig(e.Config)
	group := "/aws/events/uploads"
	if _, err := cwl.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(group)}); err != nil {
		t.Fatal(err)
	}
	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("uploads"), EventPattern: aws.String(
		`{"source":["aws.s3"],"detail-type":["AWS API Call via CloudTrail"],"detail":{"eventName":["PutObject"]}}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("uploads"), Targets: []types.Target{{Id: aws.String("logs"),
		Arn: aws.String("arn:aws:logs:us-east-1:" + e.Account + ":log-group:" + group)}}}); err != nil {
		t.Fatal(err)
	}
	for _, b := range []string{"trail-logs", "uploads"} {
		if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
	}
	put := func(key string) {
		t.Helper()
		if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("uploads"), Key: aws.String(key), Body: strings.NewReader("x")}); err != nil {
			t.Fatal(err)
		}
	}
	put("before-trail.txt")
	if _, err := ct.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("data"), S3BucketName: aws.String("trail-logs")}); err != nil {
		t.Fatal(err)
	}
	if _, err := ct.PutEventSelectors(ctx, &cloudtrail.PutEventSelectorsInput{TrailName: aws.String("data"),
		EventSelectors: []cttypes.EventSelector{{ReadWriteType: cttypes.ReadWriteTypeWriteOnly, IncludeManagementEvents: aws.Bool(false),
			DataResources: []cttypes.DataResource{{Type: aws.String("AWS::S3::Object"), Values: []string{"arn:aws:s3:::uploads/"}}}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := ct.StartLogging(ctx, &cloudtrail.StartLoggingInput{Name: aws.String("data")}); err != nil {
		t.Fatal(err)
	}
	put("after-trail.txt")
	msg := onlyLogEvent(t, cwl, group, "the PutObject event")
	var ev struct {
		DetailType string `json:"detail-type"`
		Detail     struct {
			EventName         string            `json:"eventName"`
			EventCategory     string            `json:"eventCategory"`
			RequestParameters map[string]string `json:"requestParameters"`
		} `json:"detail"`
	}
	if err := json.Unmarshal([]byte(msg), &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Detail.EventName != "PutObject" || ev.Detail.EventCategory != "Data" || ev.Detail.RequestParameters["key"] != "after-trail.txt" {
		t.Errorf("delivered event = %s; want the PutObject of after-trail.txt", msg)
	}
}
