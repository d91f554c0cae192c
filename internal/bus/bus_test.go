package bus_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/smithy-go"

	"github.com/bannin/bannin/internal/testenv"
)

const bucketPolicyPattern = `{"detail-type":["AWS API Call via CloudTrail"],"detail":{"eventSource":["s3.amazonaws.com"],"eventName":["PutBucketPolicy","DeleteBucketPolicy"],"requestParameters":{"bucketName":["audit-logs"]}}}`

func event(bucket string) string {
	return `{"version":"0","id":"6a7e8feb-b491-4cf7-a9f1-bf3703467718","detail-type":"AWS API Call via CloudTrail","source":"aws.s3",
		"account":"123456789012","time":"2026-11-23T10:00:00Z","region":"us-east-1","resources":[],
		"detail":{"eventSource":"s3.amazonaws.com","eventName":"PutBucketPolicy","requestParameters":{"bucketName":"` + bucket + `"}}}`
}

func TestTestEventPattern(t *testing.T) {
	e := testenv.New(t)
	eb := eventbridge.NewFromConfig(e.Config)
	ctx := context.Background()
	for _, c := range []struct {
		bucket string
		want   bool
	}{{"audit-logs", true}, {"other-bucket", false}} {
		out, err := eb.TestEventPattern(ctx, &eventbridge.TestEventPatternInput{EventPattern: aws.String(bucketPolicyPattern), Event: aws.String(event(c.bucket))})
		if err != nil || out.Result != c.want {
			t.Errorf("TestEventPattern(%s) = %v, %v; want %v", c.bucket, out, err, c.want)
		}
	}
	for _, c := range []struct{ name, pattern, event, msg string }{
		{"bad pattern", `{"source":"aws.s3"}`, event("x"), "Event pattern is not valid"},
		{"not JSON", bucketPolicyPattern, `{"id":`, "not a JSON object"},
		{"missing fields", bucketPolicyPattern, `{"id":"1","source":"aws.s3"}`, "account, time, region, resources, detail-type"},
	} {
		_, err := eb.TestEventPattern(ctx, &eventbridge.TestEventPatternInput{EventPattern: aws.String(c.pattern), Event: aws.String(c.event)})
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != "InvalidEventPatternException" || !strings.Contains(ae.ErrorMessage(), c.msg) {
			t.Errorf("TestEventPattern(%s) = %v; want InvalidEventPatternException mentioning %q", c.name, err, c.msg)
		}
	}
	for _, cli := range []testenv.CLI{testenv.V1, testenv.V2} {
		out := e.Run(t, cli, "events", "test-event-pattern", "--event-pattern", bucketPolicyPattern, "--event", event("audit-logs"))
		if !strings.Contains(out, `"Result": true`) {
			t.Errorf("%s events test-event-pattern = %s; want Result true", cli, out)
		}
	}
}
