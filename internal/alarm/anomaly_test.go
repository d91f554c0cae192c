package alarm_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/bannin/bannin/internal/testenv"
)

// fakeClock is a settable clock; tests start it at the real time, as requests are signed
// with it.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Advance(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

func newTopic(t *testing.T, e *testenv.Env, name string) string {
	t.Helper()
	out, err := sns.NewFromConfig(e.Config).CreateTopic(context.Background(), &sns.CreateTopicInput{Name: aws.String(name)})
	if err != nil {
		t.Fatalf("CreateTopic: %v", err)
	}
	return aws.ToString(out.TopicArn)
}

// waitFor polls DescribeAlarms (metric and composite) until ok accepts the named alarm.
func waitFor(t *testing.T, cw *cloudwatch.Client, name, what string, ok func(m *types.MetricAlarm, c *types.CompositeAlarm) bool) (*types.MetricAlarm, *types.CompositeAlarm) {
	t.Helper()
	var m *types.MetricAlarm
	var c *types.CompositeAlarm
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		out, err := cw.DescribeAlarms(context.Background(), &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{name},
			AlarmTypes: []types.AlarmType{types.AlarmTypeMetricAlarm, types.AlarmTypeCompositeAlarm}})
		if err != nil {
			t.Fatalf("DescribeAlarms: %v", err)
		}
		m, c = nil, nil
		if len(out.MetricAlarms) == 1 {
			m = &out.MetricAlarms[0]
		}
		if len(out.CompositeAlarms) == 1 {
			c = &out.CompositeAlarms[0]
		}
		if ok(m, c) {
			return m, c
		}
	}
	b, _ := json.Marshal([]any{m, c})
	t.Fatalf("alarm %s never became %s: %s", name, what, b)
	return nil, nil
}

// actions returns the summaries of the alarm's Action history items, oldest first, and the
// published messages of the successful ones.
func actions(t *testing.T, cw *cloudwatch.Client, name string) ([]string, []map[string]any) {
	t.Helper()
	out, err := cw.DescribeAlarmHistory(context.Background(), &cloudwatch.DescribeAlarmHistoryInput{AlarmName: aws.String(name),
		HistoryItemType: types.HistoryItemTypeAction, ScanBy: types.ScanByTimestampAscending})
	if err != nil {
		t.Fatalf("DescribeAlarmHistory: %v", err)
	}
	var sums []string
	var msgs []map[string]any
	for _, h := range out.AlarmHistoryItems {
		sums = append(sums, aws.ToString(h.HistorySummary))
		var d struct {
			ActionState      string          `json:"actionState"`
			PublishedMessage json.RawMessage `json:"publishedMessage"`
		}
		if err := json.Unmarshal([]byte(aws.ToString(h.HistoryData)), &d); err != nil {
			t.Fatalf("history data %s: %v", aws.ToString(h.HistoryData), err)
		}
		if d.ActionState == "Succeeded" {
			var m map[string]any
			if err := json.Unmarshal(d.PublishedMessage, &m); err != nil {
				t.Fatalf("published message %s: %v", d.PublishedMessage, err)
			}
			msgs = append(msgs, m)
		}
	}
	return sums, msgs
}

func bandQueries(expr string) []types.MetricDataQuery {
	return []types.MetricDataQuery{
		{Id: aws.String("m1"), MetricStat: &types.MetricStat{Metric: &types.Metric{Namespace: aws.String("App"), MetricName: aws.String("Latency")},
			Period: aws.Int32(60), Stat: aws.String("Average")}},
		{Id: aws.String("ad1"), Expression: aws.String(expr), Label: aws.String("Latency (expected)")},
	}
}

func TestBandAlarm(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Minute)
	clk := &fakeClock{t: now.Add(10 * time.Second)}
	e := testenv.New(t, testenv.Options{Clock: clk.Now})
	cw := cloudwatch.NewFromConfig(e.Config)
	ctx := context.Background()
	topic := newTopic(t, e, "alerts")

	// Twelve minutes of history, 10 and 12 in turn: mean 11, standard deviation 1.
	var data []types.MetricDatum
	for i := range 12 {
		data = append(data, types.MetricDatum{MetricName: aws.String("Latency"), Timestamp: aws.Time(now.Add(time.Duration(i-30) * time.Minute)),
			Value: aws.Float64(float64(10 + 2*(i%2)))})
	}
	if _, err := cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("App"), MetricData: data}); err != nil {
		t.Fatalf("PutMetricData: %v", err)
	}

	base := func() *cloudwatch.PutMetricAlarmInput {
		return &cloudwatch.PutMetricAlarmInput{AlarmName: aws.String("latency-anomaly"), EvaluationPeriods: aws.Int32(1),
			ComparisonOperator: types.ComparisonOperatorGreaterThanUpperThreshold, ThresholdMetricId: aws.String("ad1"),
			Metrics: bandQueries("ANOMALY_DETECTION_BAND(m1, 2)"), AlarmActions: []string{topic}}
	}
	for name, mod := range map[string]func(in *cloudwatch.PutMetricAlarmInput){
		"band operator without ThresholdMetricId": func(in *cloudwatch.PutMetricAlarmInput) { in.ThresholdMetricId = nil },
		"ThresholdMetricId with a threshold operator": func(in *cloudwatch.PutMetricAlarmInput) {
			in.ComparisonOperator, in.Threshold = types.ComparisonOperatorGreaterThanThreshold, aws.Float64(1)
		},
		"Threshold with a band operator":     func(in *cloudwatch.PutMetricAlarmInput) { in.Threshold = aws.Float64(1) },
		"ThresholdMetricId names no query":   func(in *cloudwatch.PutMetricAlarmInput) { in.ThresholdMetricId = aws.String("ad9") },
		"ThresholdMetricId names a non-band": func(in *cloudwatch.PutMetricAlarmInput) { in.Metrics = bandQueries("m1 * 2") },
		"high-resolution period":             func(in *cloudwatch.PutMetricAlarmInput) { in.Metrics[0].MetricStat.Period = aws.Int32(10) },
		"band of a query that returns no data": func(in *cloudwatch.PutMetricAlarmInput) {
			in.Metrics = append(bandQueries("ANOMALY_DETECTION_BAND(e1)"), types.MetricDataQuery{Id: aws.String("e1"), Expression: aws.String("m1 * 2"), ReturnData: aws.Bool(false)})
		},
	} {
		in := base()
		mod(in)
		_, err := cw.PutMetricAlarm(ctx, in)
		testenv.WantCode(t, name, err, "ValidationError")
	}
	if out, err := cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{}); err != nil || len(out.MetricAlarms) != 0 {
		t.Fatalf("DescribeAlarms after refused puts = %+v, %v; want none", out, err)
	}
	if out, err := cw.DescribeAnomalyDetectors(ctx, &cloudwatch.DescribeAnomalyDetectorsInput{}); err != nil || len(out.AnomalyDetectors) != 0 {
		t.Fatalf("DescribeAnomalyDetectors after refused puts = %+v, %v; want none", out, err)
	}

	if _, err := cw.PutMetricAlarm(ctx, base()); err != nil {
		t.Fatalf("PutMetricAlarm with a band: %v", err)
	}
	det, err := cw.DescribeAnomalyDetectors(ctx, &cloudwatch.DescribeAnomalyDetectorsInput{Namespace: aws.String("App")})
	if err != nil || len(det.AnomalyDetectors) != 1 || aws.ToString(det.AnomalyDetectors[0].Stat) != "Average" ||
		det.AnomalyDetectors[0].StateValue != types.AnomalyDetectorStateValueTrained {
		t.Fatalf("DescribeAnomalyDetectors after the band alarm = %+v, %v; want the implicit App/Latency Average detector, TRAINED", det, err)
	}

	// A band of an expression: its metric math detector is created too.
	double := []types.MetricDataQuery{
		{Id: aws.String("m1"), ReturnData: aws.Bool(false), MetricStat: &types.MetricStat{Metric: &types.Metric{Namespace: aws.String("App"), MetricName: aws.String("Latency")},
			Period: aws.Int32(60), Stat: aws.String("Average")}},
		{Id: aws.String("e1"), Expression: aws.String("m1 * 2")},
		{Id: aws.String("ad1"), Expression: aws.String("ANOMALY_DETECTION_BAND(e1, 2)")},
	}
	if _, err := cw.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{AlarmName: aws.String("latency-double"), EvaluationPeriods: aws.Int32(1),
		ComparisonOperator: types.ComparisonOperatorLessThanLowerOrGreaterThanUpperThreshold, ThresholdMetricId: aws.String("ad1"), Metrics: double}); err != nil {
		t.Fatalf("PutMetricAlarm with a band of an expression: %v", err)
	}
	if md, err := cw.DescribeAnomalyDetectors(ctx, &cloudwatch.DescribeAnomalyDetectorsInput{AnomalyDetectorTypes: []types.AnomalyDetectorType{types.AnomalyDetectorTypeMetricMath}}); err != nil ||
		len(md.AnomalyDetectors) != 1 || md.AnomalyDetectors[0].StateValue != types.AnomalyDetectorStateValueTrained {
		t.Errorf("METRIC_MATH detectors after the expression band alarm = %+v, %v; want one, TRAINED", md, err)
	}

	// A datapoint far above the band, in the last complete period.
	spike := now.Add(-time.Minute)
	if _, err := cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("App"), MetricData: []types.MetricDatum{
		{MetricName: aws.String("Latency"), Timestamp: aws.Time(spike), Value: aws.Float64(50)}}}); err != nil {
		t.Fatalf("PutMetricData: %v", err)
	}
	m, _ := waitFor(t, cw, "latency-anomaly", "ALARM", func(m *types.MetricAlarm, _ *types.CompositeAlarm) bool {
		return m != nil && m.StateValue == types.StateValueAlarm
	})
	wantReason := "Thresholds Crossed: 1 out of the last 1 datapoints [50.0 (" + spike.Format("02/01/06 15:04:05") +
		")] was greater than the upper thresholds [13.0] (minimum 1 datapoint for OK -> ALARM transition)."
	if got := aws.ToString(m.StateReason); got != wantReason {
		t.Errorf("StateReason = %q; want %q", got, wantReason)
	}
	var rd struct {
		RecentDatapoints      []float64
		RecentUpperThresholds []float64
		EvaluatedDatapoints   []struct{ Value, Threshold float64 }
	}
	if err := json.Unmarshal([]byte(aws.ToString(m.StateReasonData)), &rd); err != nil || len(rd.RecentUpperThresholds) != 1 || rd.RecentUpperThresholds[0] != 13 ||
		len(rd.EvaluatedDatapoints) != 1 || rd.EvaluatedDatapoints[0].Threshold != 13 || rd.EvaluatedDatapoints[0].Value != 50 {
		t.Errorf("StateReasonData = %s (%v); want recentUpperThresholds [13.0] and the evaluated datapoint 50 against 13", aws.ToString(m.StateReasonData), err)
	}
	if aws.ToString(m.ThresholdMetricId) != "ad1" || m.Threshold != nil {
		t.Errorf("DescribeAlarms ThresholdMetricId = %q, Threshold = %v; want ad1 and no threshold", aws.ToString(m.ThresholdMetricId), m.Threshold)
	}
	m, _ = waitFor(t, cw, "latency-double", "ALARM", func(m *types.MetricAlarm, _ *types.CompositeAlarm) bool {
		return m != nil && m.StateValue == types.StateValueAlarm
	})
	wantDouble := "Thresholds Crossed: 1 out of the last 1 datapoints [100.0 (" + spike.Format("02/01/06 15:04:05") +
		")] was less than the lower thresholds [18.0] or greater than the upper thresholds [26.0] (minimum 1 datapoint for OK -> ALARM transition)."
	if got := aws.ToString(m.StateReason); got != wantDouble {
		t.Errorf("StateReason of the expression band alarm = %q; want %q", got, wantDouble)
	}
	_, msgs := actions(t, cw, "latency-anomaly")
	if len(msgs) != 1 {
		t.Fatalf("published %d notifications; want 1", len(msgs))
	}
	trig, _ := msgs[0]["Trigger"].(map[string]any)
	_, hasDims := trig["Dimensions"]
	metrics, _ := trig["Metrics"].([]any)
	if _, has := trig["Threshold"]; has || hasDims || len(metrics) != 2 || trig["ThresholdMetricId"] != "ad1" || trig["ComparisonOperator"] != "GreaterThanUpperThreshold" ||
		msgs[0]["NewStateReason"] != wantReason {
		b, _ := json.Marshal(msgs[0])
		t.Errorf("notification = %s; want Trigger.ThresholdMetricId ad1 and both Metrics, no Threshold, no Dimensions", b)
	}
}

// TestBandAlarmRecreatesDetector deletes the anomaly detector a band alarm uses: the
// deletion succeeds and the alarm recreates the detector at its next evaluation, as the
// CloudWatch User Guide says ("the alarm automatically recreates the model").
func TestBandAlarmRecreatesDetector(t *testing.T) {
	clk := &fakeClock{t: time.Now().UTC()}
	e := testenv.New(t, testenv.Options{Clock: clk.Now})
	cw := cloudwatch.NewFromConfig(e.Config)
	ctx := context.Background()
	if _, err := cw.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{AlarmName: aws.String("latency-anomaly"), EvaluationPeriods: aws.Int32(1),
		ComparisonOperator: types.ComparisonOperatorGreaterThanUpperThreshold, ThresholdMetricId: aws.String("ad1"),
		Metrics: bandQueries("ANOMALY_DETECTION_BAND(m1, 2)")}); err != nil {
		t.Fatalf("PutMetricAlarm: %v", err)
	}
	single := &types.SingleMetricAnomalyDetector{Namespace: aws.String("App"), MetricName: aws.String("Latency"), Stat: aws.String("Average")}
	if _, err := cw.DeleteAnomalyDetector(ctx, &cloudwatch.DeleteAnomalyDetectorInput{SingleMetricAnomalyDetector: single}); err != nil {
		t.Fatalf("DeleteAnomalyDetector of the alarm's detector: %v", err)
	}
	clk.Advance(time.Minute) // the alarm's next evaluation
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		out, err := cw.DescribeAnomalyDetectors(ctx, &cloudwatch.DescribeAnomalyDetectorsInput{Namespace: aws.String("App")})
		if err != nil {
			t.Fatalf("DescribeAnomalyDetectors: %v", err)
		}
		if len(out.AnomalyDetectors) == 1 && aws.ToString(out.AnomalyDetectors[0].Stat) == "Average" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("DescribeAnomalyDetectors after deleting the alarm's detector = %d detectors; want it recreated", len(out.AnomalyDetectors))
		}
	}
}
