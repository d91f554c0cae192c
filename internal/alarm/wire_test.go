package alarm_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/bannin/bannin/internal/testenv"
)

// TestAlarmOverTheWire puts an alarm with aws-sdk-go-v2 (rpc-v2-cbor), a datapoint with the
// CLI v2 (query), and reads the alarm back with both CLIs (v1 sends json 1.0 query-compatible).
func TestAlarmOverTheWire(t *testing.T) {
	e := testenv.New(t)
	cw := cloudwatch.NewFromConfig(e.Config)
	ctx := context.Background()
	_, err := cw.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{AlarmName: aws.String("root-usage"), Namespace: aws.String("CIS"),
		MetricName: aws.String("RootUsage"), Statistic: types.StatisticSum, Period: aws.Int32(10), EvaluationPeriods: aws.Int32(1),
		Threshold: aws.Float64(1), ComparisonOperator: types.ComparisonOperatorGreaterThanOrEqualToThreshold,
		Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("sec")}}})
	if err != nil {
		t.Fatalf("PutMetricAlarm: %v", err)
	}
	e.Run(t, testenv.V2, "cloudwatch", "put-metric-data", "--namespace", "CIS", "--metric-name", "RootUsage", "--value", "1", "--storage-resolution", "1")
	var got types.MetricAlarm
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		out, err := cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{"root-usage"}})
		if err != nil {
			t.Fatalf("DescribeAlarms: %v", err)
		}
		if len(out.MetricAlarms) != 1 {
			t.Fatalf("DescribeAlarms = %d alarms; want 1", len(out.MetricAlarms))
		}
		if got = out.MetricAlarms[0]; got.StateValue == types.StateValueAlarm {
			break
		}
	}
	if got.StateValue != types.StateValueAlarm || !strings.HasPrefix(aws.ToString(got.StateReason), "Threshold Crossed: 1 datapoint [1.0 (") {
		t.Fatalf("alarm state = %s %q; want ALARM, threshold crossed", got.StateValue, aws.ToString(got.StateReason))
	}
	for _, cli := range []testenv.CLI{testenv.V1, testenv.V2} {
		var desc struct {
			MetricAlarms []struct {
				AlarmName, StateValue, Statistic string
				Period                           int
				Threshold                        float64
			}
		}
		out := e.Run(t, cli, "cloudwatch", "describe-alarms", "--alarm-names", "root-usage")
		if err := json.Unmarshal([]byte(out), &desc); err != nil || len(desc.MetricAlarms) != 1 {
			t.Fatalf("%s describe-alarms = %s (%v)", cli, out, err)
		}
		if a := desc.MetricAlarms[0]; a.StateValue != "ALARM" || a.Statistic != "Sum" || a.Period != 10 || a.Threshold != 1 {
			t.Errorf("%s describe-alarms = %+v", cli, a)
		}
	}
	now := time.Now().UTC()
	out := e.Run(t, testenv.V1, "cloudwatch", "get-metric-statistics", "--namespace", "CIS", "--metric-name", "RootUsage",
		"--start-time", now.Add(-time.Hour).Format(time.RFC3339), "--end-time", now.Add(time.Minute).Format(time.RFC3339),
		"--period", "3600", "--statistics", "Sum", "SampleCount")
	var stats struct {
		Label      string
		Datapoints []struct{ Sum, SampleCount float64 }
	}
	if err := json.Unmarshal([]byte(out), &stats); err != nil || stats.Label != "RootUsage" || len(stats.Datapoints) == 0 {
		t.Fatalf("v1 get-metric-statistics = %s (%v)", out, err)
	}
	var sum float64
	for _, d := range stats.Datapoints {
		sum += d.Sum
	}
	if sum != 1 {
		t.Errorf("v1 get-metric-statistics Sum = %v; want 1", sum)
	}
	tags, err := cw.ListTagsForResource(ctx, &cloudwatch.ListTagsForResourceInput{ResourceARN: got.AlarmArn})
	if err != nil || len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].Key) != "team" {
		t.Errorf("ListTagsForResource = %+v, %v; want team=sec", tags, err)
	}
	hist, err := cw.DescribeAlarmHistory(ctx, &cloudwatch.DescribeAlarmHistoryInput{AlarmName: aws.String("root-usage"), HistoryItemType: types.HistoryItemTypeStateUpdate})
	if err != nil || len(hist.AlarmHistoryItems) == 0 || aws.ToString(hist.AlarmHistoryItems[0].HistorySummary) != "Alarm updated from INSUFFICIENT_DATA to ALARM" {
		t.Errorf("DescribeAlarmHistory = %+v, %v", hist, err)
	}
	// The v2 CLI (XML) follows DescribeAlarmHistory's NextToken page by page.
	all, err := cw.DescribeAlarmHistory(ctx, &cloudwatch.DescribeAlarmHistoryInput{AlarmName: aws.String("root-usage")})
	if err != nil || len(all.AlarmHistoryItems) < 2 {
		t.Fatalf("DescribeAlarmHistory = %d items, %v; want at least 2", len(all.AlarmHistoryItems), err)
	}
	paged := e.Run(t, testenv.V2, "cloudwatch", "describe-alarm-history", "--alarm-name", "root-usage", "--page-size", "1",
		"--query", "AlarmHistoryItems[].HistoryItemType", "--output", "text")
	if n := len(strings.Fields(paged)); n != len(all.AlarmHistoryItems) {
		t.Errorf("describe-alarm-history --page-size 1 = %d items; want %d", n, len(all.AlarmHistoryItems))
	}
	if _, err := cw.DeleteAlarms(ctx, &cloudwatch.DeleteAlarmsInput{AlarmNames: []string{"root-usage"}}); err != nil {
		t.Fatalf("DeleteAlarms: %v", err)
	}
	if out, err := cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{}); err != nil || len(out.MetricAlarms) != 0 {
		t.Errorf("DescribeAlarms after delete = %+v, %v", out, err)
	}
}
