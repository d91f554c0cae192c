package recorder_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/configservice"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/bannin/bannin/internal/testenv"
)

// TestItemChangeEvents routes AWS Config's item change events from the default bus to a
// log group with an EventBridge rule, as users do to react to configuration changes.
func TestItemChangeEvents(t *testing.T) {
	e := testenv.New(t)
	ctx := context.Background()
	eb := eventbridge.NewFromConfig(e.Config)
	cwl := cloudwatchlogs.NewFromConfig(e.Config)
	cs := configservice.NewFromConfig(e.Config)
	group := "/aws/events/config"
	if _, err := cwl.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(group)}); err != nil {
		t.Fatal(err)
	}
	pattern := `{"source":["aws.config"],"detail-type":["Config Configuration Item Change"],"detail":{"configurationItem":{"resourceType":["AWS::S3::Bucket"]}}}`
	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("config-changes"), EventPattern: aws.String(pattern)}); err != nil {
		t.Fatal(err)
	}
	if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("config-changes"), Targets: []ebtypes.Target{{
		Id: aws.String("logs"), Arn: aws.String("arn:aws:logs:us-east-1:" + e.Account + ":log-group:" + group)}}}); err != nil {
		t.Fatal(err)
	}
	setUp(t, e, cs, nil)
	mkBucket(t, e, "watched")
	var found map[string]any
	eventually(t, "item change event in the log group", func() bool {
		out, err := cwl.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String(group)})
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range out.Events {
			var m map[string]any
			if json.Unmarshal([]byte(aws.ToString(ev.Message)), &m) != nil {
				continue
			}
			d, _ := m["detail"].(map[string]any)
			ci, _ := d["configurationItem"].(map[string]any)
			if ci["resourceId"] == "watched" {
				found = m
				return true
			}
		}
		return false
	})
	d := found["detail"].(map[string]any)
	if found["source"] != "aws.config" || d["messageType"] != "ConfigurationItemChangeNotification" {
		t.Errorf("event = %v; want source aws.config with a ConfigurationItemChangeNotification detail", found)
	}
	if diff, _ := d["configurationItemDiff"].(map[string]any); diff["changeType"] != "CREATE" {
		t.Errorf("configurationItemDiff = %v; want changeType CREATE", diff)
	}
}
