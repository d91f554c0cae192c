package trail_test

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/bannin/bannin/internal/store"
	"github.com/bannin/bannin/internal/testenv"
)

// TestDeliveryToLogGroup follows the "search the log group" story: a trail delivers
// its events to a log group, where a JSON filter pattern finds exactly the matching calls.
func TestDeliveryToLogGroup(t *testing.T) {
	e := testenv.New(t)
	ctx := context.Background()
	ct, cwl, s3c := e.CloudTrail(), cloudwatchlogs.NewFromConfig(e.Config), e.S3()
	mkBucket(t, e, "audit-logs")
	mkBucket(t, e, "other-bucket")
	if _, err := cwl.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("CloudTrail/audit")}); err != nil {
		t.Fatal(err)
	}
	groupARN := "arn:aws:logs:us-east-1:" + e.Account + ":log-group:CloudTrail/audit:*"
	role := "arn:aws:iam::" + e.Account + ":role/CloudTrail_CloudWatchLogs_Role"
	_, err := ct.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("main"), S3BucketName: aws.String("audit-logs"),
		CloudWatchLogsLogGroupArn: aws.String("arn:aws:logs:us-east-1:" + e.Account + ":log-group:missing:*"), CloudWatchLogsRoleArn: aws.String(role)})
	testenv.WantCode(t, "CreateTrail with a missing log group", err, "InvalidCloudWatchLogsLogGroupArnException")
	if _, err := ct.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("main"), S3BucketName: aws.String("audit-logs"),
		CloudWatchLogsLogGroupArn: aws.String(groupARN), CloudWatchLogsRoleArn: aws.String(role)}); err != nil {
		t.Fatal(err)
	}
	if _, err := ct.StartLogging(ctx, &cloudtrail.StartLoggingInput{Name: aws.String("main")}); err != nil {
		t.Fatal(err)
	}
	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::%s/*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}`
	for _, b := range []string{"audit-logs", "other-bucket"} {
		if _, err := s3c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(b), Policy: aws.String(strings.ReplaceAll(policy, "%s", b))}); err != nil {
			t.Fatal(err)
		}
	}
	// Read-only calls are delivered too (the default selector is ReadWriteType All).
	if _, err := ct.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: aws.String("main")}); err != nil {
		t.Fatal(err)
	}
	if _, err := ct.StopLogging(ctx, &cloudtrail.StopLoggingInput{Name: aws.String("main")}); err != nil {
		t.Fatal(err)
	}
	// Made after logging stopped: not delivered.
	if _, err := s3c.DeleteBucketPolicy(ctx, &s3.DeleteBucketPolicyInput{Bucket: aws.String("other-bucket")}); err != nil {
		t.Fatal(err)
	}
	filter := func(pattern string) []string {
		var names []string
		out, err := cwl.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("CloudTrail/audit"),
			FilterPattern: aws.String(pattern)})
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range out.Events {
			var rec struct {
				EventName         string `json:"eventName"`
				RequestParameters struct {
					BucketName string `json:"bucketName"`
				} `json:"requestParameters"`
			}
			if err := json.Unmarshal([]byte(aws.ToString(ev.Message)), &rec); err != nil {
				t.Fatalf("log event is not a CloudTrail record: %v", err)
			}
			if want := e.Account + "_CloudTrail_us-east-1"; aws.ToString(ev.LogStreamName) != want {
				t.Errorf("log stream = %q; want %q", aws.ToString(ev.LogStreamName), want)
			}
			names = append(names, rec.EventName+"/"+rec.RequestParameters.BucketName)
		}
		return names
	}
	want := "PutBucketPolicy/audit-logs,PutBucketPolicy/other-bucket,StopLogging/"
	var got []string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if got = filter(`{ ($.eventName = "StopLogging") || ($.eventName = "PutBucketPolicy") }`); strings.Join(got, ",") == want {
			break
		}
	}
	if strings.Join(got, ",") != want {
		t.Fatalf("FilterLogEvents = %v; want %s", got, want)
	}
	if got := filter(`{ $.eventName = "GetTrailStatus" }`); len(got) != 1 {
		t.Errorf("GetTrailStatus events in the group = %v; want 1", got)
	}
	if got := filter(`{ $.eventName = "DeleteBucketPolicy" }`); len(got) != 0 {
		t.Errorf("events after StopLogging were delivered: %v", got)
	}
}

// logsTrail creates log group group and trail name, which delivers to the audit-logs bucket
// (created here) and to the group; it does not start logging.
func logsTrail(t *testing.T, e *testenv.Env, name, group string) {
	t.Helper()
	ctx := context.Background()
	mkBucket(t, e, "audit-logs")
	if _, err := cloudwatchlogs.NewFromConfig(e.Config).CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(group)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.CloudTrail().CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String(name), S3BucketName: aws.String("audit-logs"),
		CloudWatchLogsLogGroupArn: aws.String("arn:aws:logs:us-east-1:" + e.Account + ":log-group:" + group + ":*"),
		CloudWatchLogsRoleArn:     aws.String("arn:aws:iam::" + e.Account + ":role/r")}); err != nil {
		t.Fatal(err)
	}
}

// TestDeliverySelectors checks that a WriteOnly trail leaves read-only calls out.
func TestDeliverySelectors(t *testing.T) {
	e := testenv.New(t)
	ctx := context.Background()
	ct, cwl := e.CloudTrail(), cloudwatchlogs.NewFromConfig(e.Config)
	logsTrail(t, e, "wtrail", "ct")
	if _, err := ct.PutEventSelectors(ctx, &cloudtrail.PutEventSelectorsInput{TrailName: aws.String("wtrail"),
		EventSelectors: []types.EventSelector{{ReadWriteType: types.ReadWriteTypeWriteOnly, IncludeManagementEvents: aws.Bool(true)}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := ct.StartLogging(ctx, &cloudtrail.StartLoggingInput{Name: aws.String("wtrail")}); err != nil {
		t.Fatal(err)
	}
	if _, err := ct.DescribeTrails(ctx, &cloudtrail.DescribeTrailsInput{}); err != nil {
		t.Fatal(err)
	}
	if _, err := ct.AddTags(ctx, &cloudtrail.AddTagsInput{ResourceId: aws.String("arn:aws:cloudtrail:us-east-1:" + e.Account + ":trail/wtrail"), TagsList: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}}); err != nil {
		t.Fatal(err)
	}
	var names []string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		out, err := cwl.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("ct")})
		if err != nil {
			t.Fatal(err)
		}
		names = names[:0]
		for _, ev := range out.Events {
			var rec struct{ EventName string }
			_ = json.Unmarshal([]byte(aws.ToString(ev.Message)), &rec)
			names = append(names, rec.EventName)
		}
		if len(names) > 0 && names[len(names)-1] == "AddTags" {
			break
		}
	}
	if strings.Join(names, ",") != "StartLogging,AddTags" {
		t.Errorf("delivered = %v; want StartLogging and AddTags (DescribeTrails is read-only)", names)
	}
}

// TestDeliveryDataEvents: a trail whose advanced selector picks S3 object writes under one
// prefix delivers those PutObject calls, with the object and its bucket as resources, and
// nothing else.
func TestDeliveryDataEvents(t *testing.T) {
	e := testenv.New(t)
	ctx := context.Background()
	ct, cwl, s3c := e.CloudTrail(), cloudwatchlogs.NewFromConfig(e.Config), e.S3()
	mkBucket(t, e, "data")
	logsTrail(t, e, "dtrail", "dt")
	if _, err := ct.PutEventSelectors(ctx, &cloudtrail.PutEventSelectorsInput{TrailName: aws.String("dtrail"),
		AdvancedEventSelectors: []types.AdvancedEventSelector{{FieldSelectors: []types.AdvancedFieldSelector{
			{Field: aws.String("eventCategory"), Equals: []string{"Data"}},
			{Field: aws.String("resources.type"), Equals: []string{"AWS::S3::Object"}},
			{Field: aws.String("resources.ARN"), StartsWith: []string{"arn:aws:s3:::data/watched/"}},
			{Field: aws.String("readOnly"), Equals: []string{"false"}}}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := ct.StartLogging(ctx, &cloudtrail.StartLoggingInput{Name: aws.String("dtrail")}); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"other/a.txt", "watched/b.txt"} {
		if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("data"), Key: aws.String(key), Body: strings.NewReader("x")}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("data"), Key: aws.String("watched/b.txt")}); err != nil {
		t.Fatal(err)
	}
	// A last write: once it is delivered, every call before it has been considered.
	if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("data"), Key: aws.String("watched/c.txt"), Body: strings.NewReader("x")}); err != nil {
		t.Fatal(err)
	}
	type resource struct {
		ARN       string `json:"ARN"`
		AccountID string `json:"accountId"`
		Type      string `json:"type"`
	}
	var got []string
	var resources []resource
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		out, err := cwl.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("dt")})
		if err != nil {
			t.Fatal(err)
		}
		got = got[:0]
		for _, ev := range out.Events {
			var rec struct {
				EventName         string     `json:"eventName"`
				EventCategory     string     `json:"eventCategory"`
				Resources         []resource `json:"resources"`
				RequestParameters struct {
					Key string `json:"key"`
				} `json:"requestParameters"`
			}
			_ = json.Unmarshal([]byte(aws.ToString(ev.Message)), &rec)
			got = append(got, rec.EventName+"/"+rec.EventCategory+"/"+rec.RequestParameters.Key)
			if len(resources) == 0 {
				resources = rec.Resources
			}
		}
		if len(got) > 0 && strings.HasSuffix(got[len(got)-1], "c.txt") {
			break
		}
	}
	if strings.Join(got, ",") != "PutObject/Data/watched/b.txt,PutObject/Data/watched/c.txt" {
		t.Fatalf("delivered = %v; want only the two PutObject calls under watched/", got)
	}
	want := []resource{{ARN: "arn:aws:s3:::data/watched/b.txt", Type: "AWS::S3::Object"},
		{ARN: "arn:aws:s3:::data", AccountID: e.Account, Type: "AWS::S3::Bucket"}}
	if len(resources) != 2 || resources[0] != want[0] || resources[1] != want[1] {
		t.Errorf("PutObject record resources = %+v; want %+v", resources, want)
	}
}

// TestDeliveryAfterIdle makes delivery find no trail with a log group first (so that it
// stops looking), then starts a trail that has one: the calls made after it must still be
// delivered.
func TestDeliveryAfterIdle(t *testing.T) {
	e := testenv.New(t)
	ctx := context.Background()
	ct, cwl := e.CloudTrail(), cloudwatchlogs.NewFromConfig(e.Config)
	mkBucket(t, e, "idle-logs")
	if _, err := cwl.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("CloudTrail/idle")}); err != nil {
		t.Fatal(err)
	}
	// A trail without a log group, tagged a few times: recorded calls delivery looks at
	// and finds nothing to do for.
	if _, err := ct.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("plain"), S3BucketName: aws.String("idle-logs")}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if _, err := ct.AddTags(ctx, &cloudtrail.AddTagsInput{ResourceId: aws.String("arn:aws:cloudtrail:us-east-1:" + e.Account + ":trail/plain"),
			TagsList: []types.Tag{{Key: aws.String("k"), Value: aws.String(strconv.Itoa(i))}}}); err != nil {
			t.Fatal(err)
		}
	}
	waitConsumed(t, e, "trail.cloudwatch-logs")

	groupARN := "arn:aws:logs:us-east-1:" + e.Account + ":log-group:CloudTrail/idle:*"
	role := "arn:aws:iam::" + e.Account + ":role/CloudTrail_CloudWatchLogs_Role"
	if _, err := ct.UpdateTrail(ctx, &cloudtrail.UpdateTrailInput{Name: aws.String("plain"),
		CloudWatchLogsLogGroupArn: aws.String(groupARN), CloudWatchLogsRoleArn: aws.String(role)}); err != nil {
		t.Fatal(err)
	}
	if _, err := ct.StartLogging(ctx, &cloudtrail.StartLoggingInput{Name: aws.String("plain")}); err != nil {
		t.Fatal(err)
	}
	if _, err := ct.RemoveTags(ctx, &cloudtrail.RemoveTagsInput{ResourceId: aws.String("arn:aws:cloudtrail:us-east-1:" + e.Account + ":trail/plain"),
		TagsList: []types.Tag{{Key: aws.String("k")}}}); err != nil {
		t.Fatal(err)
	}
	waitConsumed(t, e, "trail.cloudwatch-logs")
	out, err := cwl.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("CloudTrail/idle"),
		FilterPattern: aws.String(`{ $.eventName = "RemoveTags" }`)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Events) != 1 {
		t.Errorf("RemoveTags events in the log group = %d; want 1 (made after the trail started logging to it)", len(out.Events))
	}
}

// waitConsumed waits until a stream consumer's checkpoint reaches the stream's head.
func waitConsumed(t *testing.T, e *testenv.Env, consumer string) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var head, pos int64
		err := e.Server.Storage().View(ctx, func(tx store.ReadTx) error {
			var err error
			if head, err = tx.StreamHead(ctx); err != nil {
				return err
			}
			pos, err = tx.Checkpoint(ctx, consumer)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if pos >= head {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("consumer %s at %d; stream head %d after 10s", consumer, pos, head)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
