package alarm

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/bannin/bannin/internal/call"
	"github.com/bannin/bannin/internal/metric"
	"github.com/bannin/bannin/internal/store"
	"github.com/bannin/bannin/internal/store/sqlite"
	"github.com/bannin/bannin/internal/wire/cloudwatch"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time            { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration)       { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }
func (c *clock) Set(t time.Time)           { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }
func (h *harness) now() time.Time          { return h.clk.Now() }
func (h *harness) advance(d time.Duration) { h.clk.Add(d) }

type published struct{ topic, subject, message string }

type harness struct {
	t   *testing.T
	s   *Service
	st  store.Store
	clk *clock
	pub []published
}

func newHarness(t *testing.T) *harness {
	st, err := sqlite.Open(t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	h := &harness{t: t, st: st, clk: &clock{t: time.Date(2026, 11, 23, 10, 5, 3, 0, time.UTC)}}
	h.s = New(Options{Clock: h.clk.Now, Store: st, Publish: func(ctx context.Context, tx store.Tx, topic, subject, message string) (string, error) {
		h.pub = append(h.pub, published{topic, subject, message})
		return "msg-id", nil
	}})
	return h
}

// do runs fn as an API call of account 123456789012 in us-east-1.
func (h *harness) do(fn func(ctx context.Context) error) error {
	return h.st.Update(context.Background(), func(tx store.Tx) error {
		ctx := call.With(context.Background(), &call.Call{Account: "123456789012", Region: "us-east-1", Time: h.now(), Tx: tx})
		return fn(ctx)
	})
}

func (h *harness) evaluate() {
	h.t.Helper()
	if err := h.s.Evaluate(context.Background(), h.st); err != nil {
		h.t.Fatalf("Evaluate: %v", err)
	}
}

func (h *harness) state(name string) *State {
	h.t.Helper()
	var st *State
	if err := h.st.View(context.Background(), func(tx store.ReadTx) error {
		var err error
		st, err = getState(context.Background(), tx, "123456789012", "us-east-1", name)
		return err
	}); err != nil {
		h.t.Fatal(err)
	}
	return st
}

func (h *harness) put(name string, v float64, at time.Time) {
	h.t.Helper()
	err := h.st.Update(context.Background(), func(tx store.Tx) error {
		return h.s.PutData(context.Background(), tx, "123456789012", "us-east-1", []metric.Datum{{
			MetricID: metric.MetricID{Namespace: "CIS", MetricName: name}, Timestamp: at, Value: &v, HighResolution: true}})
	})
	if err != nil {
		h.t.Fatal(err)
	}
}

func TestAlarmLifecycle(t *testing.T) {
	h := newHarness(t)
	topic := "arn:aws:sns:us-east-1:123456789012:alerts"
	err := h.do(func(ctx context.Context) error {
		_, err := h.s.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{AlarmName: aws.String("root-usage"), Namespace: aws.String("CIS"),
			MetricName: aws.String("RootUsage"), Statistic: aws.String("Sum"), Period: aws.Int32(10), EvaluationPeriods: aws.Int32(1),
			Threshold: aws.Float64(1), ComparisonOperator: aws.String("GreaterThanOrEqualToThreshold"), AlarmActions: []string{topic},
			OKActions: []string{topic}, TreatMissingData: aws.String("notBreaching")})
		return err
	})
	if err != nil {
		t.Fatalf("PutMetricAlarm: %v", err)
	}
	if st := h.state("root-usage"); st.Value != StateInsufficient || st.Reason != "Unchecked: Initial alarm creation" {
		t.Fatalf("new alarm state = %+v", st)
	}
	h.evaluate()
	if st := h.state("root-usage"); st.Value != StateOK {
		t.Fatalf("state without data (notBreaching) = %s; want OK", st.Value)
	}
	h.put("RootUsage", 1, h.now())
	h.evaluate()
	st := h.state("root-usage")
	wantReason := "Threshold Crossed: 1 datapoint [1.0 (23/11/26 10:05:00)] was greater than or equal to the threshold (1.0)."
	if st.Value != StateAlarm || st.Reason != wantReason {
		t.Fatalf("state after datapoint = %s %q; want ALARM %q", st.Value, st.Reason, wantReason)
	}
	if len(h.pub) != 2 {
		t.Fatalf("published %d notifications; want 2 (OK, then ALARM)", len(h.pub))
	}
	p := h.pub[1]
	if p.topic != topic || p.subject != `ALARM: "root-usage" in US East (N. Virginia)` {
		t.Errorf("notification to %s subject %q", p.topic, p.subject)
	}
	var msg map[string]any
	if err := json.Unmarshal([]byte(p.message), &msg); err != nil {
		t.Fatalf("notification is not JSON: %v\n%s", err, p.message)
	}
	trig, _ := msg["Trigger"].(map[string]any)
	if msg["NewStateValue"] != "ALARM" || msg["OldStateValue"] != "OK" || msg["Region"] != "US East (N. Virginia)" || msg["AWSAccountId"] != "123456789012" ||
		msg["NewStateReason"] != wantReason || trig["Statistic"] != "SUM" || trig["MetricName"] != "RootUsage" || trig["Period"] != 10.0 {
		t.Errorf("notification = %s", p.message)
	}
	// Re-evaluating changes nothing.
	h.evaluate()
	if len(h.pub) != 2 {
		t.Errorf("re-evaluation published again (%d notifications)", len(h.pub))
	}
	// Once the datapoint is out of the evaluation range (two periods), missing data counts
	// as not breaching.
	h.advance(40 * time.Second)
	h.evaluate()
	if st := h.state("root-usage"); st.Value != StateOK {
		t.Errorf("state after the data aged out = %s; want OK", st.Value)
	}
	// A composite alarm follows its child.
	if err := h.do(func(ctx context.Context) error {
		_, err := h.s.PutCompositeAlarm(ctx, &cloudwatch.PutCompositeAlarmInput{AlarmName: aws.String("any"), AlarmRule: aws.String(`ALARM("root-usage") OR ALARM(missing-alarm)`)})
		return err
	}); err == nil || !strings.Contains(err.Error(), "missing-alarm") {
		t.Errorf("PutCompositeAlarm with an unknown child: %v; want a ValidationError naming it", err)
	}
	if err := h.do(func(ctx context.Context) error {
		_, err := h.s.PutCompositeAlarm(ctx, &cloudwatch.PutCompositeAlarmInput{AlarmName: aws.String("any"), AlarmRule: aws.String(`ALARM("root-usage")`),
			ActionsSuppressor: aws.String("no-such-alarm"), ActionsSuppressorWaitPeriod: aws.Int32(60), ActionsSuppressorExtensionPeriod: aws.Int32(60)})
		return err
	}); err == nil || !strings.Contains(err.Error(), "no-such-alarm") {
		t.Errorf("PutCompositeAlarm with an unknown actions suppressor: %v; want a ValidationError naming it", err)
	}
	if err := h.do(func(ctx context.Context) error {
		_, err := h.s.PutCompositeAlarm(ctx, &cloudwatch.PutCompositeAlarmInput{AlarmName: aws.String("any"), AlarmRule: aws.String(`ALARM("root-usage")`)})
		return err
	}); err != nil {
		t.Fatalf("PutCompositeAlarm: %v", err)
	}
	h.evaluate()
	if st := h.state("any"); st.Value != StateOK {
		t.Errorf("composite state = %s; want OK", st.Value)
	}
	if err := h.do(func(ctx context.Context) error {
		_, err := h.s.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String("root-usage"), StateValue: aws.String("ALARM"),
			StateReason: aws.String("testing"), StateReasonData: aws.String(`{"k":1}`)})
		return err
	}); err != nil {
		t.Fatalf("SetAlarmState: %v", err)
	}
	if err := h.s.evaluate(context.Background(), h.st, func(*Alarm) bool { return false }); err != nil {
		t.Fatal(err)
	}
	if st := h.state("any"); st.Value != StateAlarm || !strings.Contains(st.Reason, "alarm:root-usage transitioned to ALARM") {
		t.Errorf("composite after child ALARM = %s %q", st.Value, st.Reason)
	}
	// Deleting a child of a composite is refused; history has the transitions and actions.
	if err := h.do(func(ctx context.Context) error {
		_, err := h.s.DeleteAlarms(ctx, &cloudwatch.DeleteAlarmsInput{AlarmNames: []string{"root-usage"}})
		return err
	}); err == nil {
		t.Errorf("DeleteAlarms of a composite's child succeeded")
	}
	var hist *cloudwatch.DescribeAlarmHistoryOutput
	if err := h.do(func(ctx context.Context) error {
		var err error
		hist, err = h.s.DescribeAlarmHistory(ctx, &cloudwatch.DescribeAlarmHistoryInput{AlarmName: aws.String("root-usage")})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, it := range hist.AlarmHistoryItems {
		kinds[*it.HistoryItemType]++
	}
	if kinds["ConfigurationUpdate"] != 1 || kinds["StateUpdate"] != 4 || kinds["Action"] != 4 {
		t.Errorf("history item types = %v; want 1 ConfigurationUpdate, 4 StateUpdate, 4 Action", kinds)
	}
	if last := hist.AlarmHistoryItems[len(hist.AlarmHistoryItems)-1]; *last.HistorySummary != `Alarm "root-usage" created` {
		t.Errorf("oldest history item = %q; want the creation", *last.HistorySummary)
	} else {
		// CloudWatch's createdAlarm: its timestamp format, dimensions as a list, Java numbers.
		var d struct {
			CreatedAlarm map[string]json.RawMessage `json:"createdAlarm"`
		}
		if err := json.Unmarshal([]byte(*last.HistoryData), &d); err != nil {
			t.Fatalf("history data %s: %v", *last.HistoryData, err)
		}
		at, dims := string(d.CreatedAlarm["alarmConfigurationUpdatedTimestamp"]), string(d.CreatedAlarm["dimensions"])
		if len(at) != len(`"2022-11-02T15:55:30.959+0000"`) || !strings.HasSuffix(at, `+0000"`) || !strings.HasPrefix(dims, "[") || d.CreatedAlarm["alarmType"] != nil ||
			!strings.Contains(string(d.CreatedAlarm["threshold"]), ".") {
			t.Errorf("createdAlarm = %s; want CloudWatch's timestamp format, a dimension list, a Java number threshold, no alarmType", *last.HistoryData)
		}
	}
}

func TestPutMetricAlarmValidation(t *testing.T) {
	h := newHarness(t)
	base := func() *cloudwatch.PutMetricAlarmInput {
		return &cloudwatch.PutMetricAlarmInput{AlarmName: aws.String("a"), Namespace: aws.String("N"), MetricName: aws.String("M"),
			Statistic: aws.String("Sum"), Period: aws.Int32(60), EvaluationPeriods: aws.Int32(1), Threshold: aws.Float64(1),
			ComparisonOperator: aws.String("GreaterThanThreshold")}
	}
	for name, tc := range map[string]struct {
		mod  func(*cloudwatch.PutMetricAlarmInput)
		code string
	}{
		"band operator": {func(in *cloudwatch.PutMetricAlarmInput) {
			in.ComparisonOperator = aws.String("GreaterThanUpperThreshold")
		}, "ValidationError"},
		"bad period":      {func(in *cloudwatch.PutMetricAlarmInput) { in.Period = aws.Int32(45) }, "InvalidParameterValue"},
		"both statistics": {func(in *cloudwatch.PutMetricAlarmInput) { in.ExtendedStatistic = aws.String("p99") }, "InvalidParameterCombination"},
		"m > n":           {func(in *cloudwatch.PutMetricAlarmInput) { in.DatapointsToAlarm = aws.Int32(2) }, "InvalidParameterValue"},
		"treat":           {func(in *cloudwatch.PutMetricAlarmInput) { in.TreatMissingData = aws.String("sometimes") }, "InvalidParameterValue"},
		"no threshold":    {func(in *cloudwatch.PutMetricAlarmInput) { in.Threshold = nil }, "MissingParameter"},
		"metrics and name": {func(in *cloudwatch.PutMetricAlarmInput) {
			in.Metrics = []cloudwatch.MetricDataQuery{{Id: aws.String("e"), Expression: aws.String("1")}}
		}, "InvalidParameterCombination"},
		"bad action": {func(in *cloudwatch.PutMetricAlarmInput) { in.AlarmActions = []string{"topic"} }, "InvalidParameterValue"},
	} {
		in := base()
		tc.mod(in)
		err := h.do(func(ctx context.Context) error { _, err := h.s.PutMetricAlarm(ctx, in); return err })
		c, ok := err.(interface{ AWSErrorCode() string })
		if !ok || c.AWSErrorCode() != tc.code {
			t.Errorf("%s: PutMetricAlarm error = %v; want %s", name, err, tc.code)
		}
	}
}
