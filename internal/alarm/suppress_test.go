package alarm_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/bannin/bannin/internal/testenv"
)

// putChild puts a metric alarm that keeps the state SetAlarmState gives it (no data,
// TreatMissingData ignore).
func putChild(t *testing.T, cw *cloudwatch.Client, name string) {
	t.Helper()
	_, err := cw.PutMetricAlarm(context.Background(), &cloudwatch.PutMetricAlarmInput{AlarmName: aws.String(name), Namespace: aws.String("Ops"),
		MetricName: aws.String(name), Statistic: types.StatisticSum, Period: aws.Int32(60), EvaluationPeriods: aws.Int32(1),
		Threshold: aws.Float64(1), ComparisonOperator: types.ComparisonOperatorGreaterThanOrEqualToThreshold, TreatMissingData: aws.String("ignore")})
	if err != nil {
		t.Fatalf("PutMetricAlarm %s: %v", name, err)
	}
}

func setState(t *testing.T, cw *cloudwatch.Client, name string, v types.StateValue) {
	t.Helper()
	if _, err := cw.SetAlarmState(context.Background(), &cloudwatch.SetAlarmStateInput{AlarmName: aws.String(name), StateValue: v,
		StateReason: aws.String("test")}); err != nil {
		t.Fatalf("SetAlarmState %s %s: %v", name, v, err)
	}
}

// suppressedBy waits until the composite's ActionsSuppressedBy is by ("" for none).
func suppressedBy(t *testing.T, cw *cloudwatch.Client, name string, state types.StateValue, by types.ActionsSuppressedBy) *types.CompositeAlarm {
	t.Helper()
	_, c := waitFor(t, cw, name, string(state)+" suppressed by "+string(by), func(_ *types.MetricAlarm, c *types.CompositeAlarm) bool {
		return c != nil && c.StateValue == state && c.ActionsSuppressedBy == by
	})
	return c
}

func executed(t *testing.T, cw *cloudwatch.Client, name string) int {
	t.Helper()
	sums, _ := actions(t, cw, name)
	n := 0
	for _, s := range sums {
		if strings.HasPrefix(s, "Successfully executed action") {
			n++
		}
	}
	return n
}

func putComposite(cw *cloudwatch.Client, topic string, mod func(*cloudwatch.PutCompositeAlarmInput)) error {
	in := &cloudwatch.PutCompositeAlarmInput{AlarmName: aws.String("service-down"), AlarmRule: aws.String(`ALARM("errors")`),
		AlarmActions: []string{topic}, ActionsSuppressor: aws.String("maintenance"),
		ActionsSuppressorWaitPeriod: aws.Int32(120), ActionsSuppressorExtensionPeriod: aws.Int32(60)}
	if mod != nil {
		mod(in)
	}
	_, err := cw.PutCompositeAlarm(context.Background(), in)
	return err
}

func TestActionsSuppressor(t *testing.T) {
	clk := &fakeClock{t: time.Now().UTC()}
	e := testenv.New(t, testenv.Options{Clock: clk.Now})
	cw := cloudwatch.NewFromConfig(e.Config)
	topic := newTopic(t, e, "pager")
	putChild(t, cw, "errors")
	putChild(t, cw, "maintenance")

	// Invalid suppressors are refused and change nothing.
	testenv.WantCode(t, "unknown suppressor", putComposite(cw, topic, func(in *cloudwatch.PutCompositeAlarmInput) { in.ActionsSuppressor = aws.String("nope") }), "ValidationError")
	testenv.WantCode(t, "periods without a suppressor", putComposite(cw, topic, func(in *cloudwatch.PutCompositeAlarmInput) { in.ActionsSuppressor = nil }), "ValidationError")
	testenv.WantCode(t, "suppressor without a wait period", putComposite(cw, topic, func(in *cloudwatch.PutCompositeAlarmInput) { in.ActionsSuppressorWaitPeriod = nil }), "MissingParameter")
	testenv.WantCode(t, "negative extension", putComposite(cw, topic, func(in *cloudwatch.PutCompositeAlarmInput) { in.ActionsSuppressorExtensionPeriod = aws.Int32(-1) }), "InvalidParameterValue")
	testenv.WantCode(t, "itself", putComposite(cw, topic, func(in *cloudwatch.PutCompositeAlarmInput) { in.ActionsSuppressor = aws.String("service-down") }), "ValidationError")
	if out, err := cw.DescribeAlarms(context.Background(), &cloudwatch.DescribeAlarmsInput{AlarmTypes: []types.AlarmType{types.AlarmTypeCompositeAlarm}}); err != nil || len(out.CompositeAlarms) != 0 {
		t.Fatalf("DescribeAlarms after refused puts = %+v, %v; want no composite alarm", out, err)
	}

	if err := putComposite(cw, topic, nil); err != nil {
		t.Fatalf("PutCompositeAlarm: %v", err)
	}
	created := suppressedBy(t, cw, "service-down", types.StateValueOk, "")
	if want := ":alarm:service-down was created and its alarm rule evaluates to OK"; !strings.HasSuffix(aws.ToString(created.StateReason), want) {
		t.Errorf("StateReason after creation = %q; want it to end %q", aws.ToString(created.StateReason), want)
	}

	// The composite goes into ALARM: it waits for the suppressor.
	setState(t, cw, "errors", types.StateValueAlarm)
	c := suppressedBy(t, cw, "service-down", types.StateValueAlarm, types.ActionsSuppressedByWaitPeriod)
	if aws.ToString(c.ActionsSuppressedReason) != "Actions suppressed by WaitPeriod" || aws.ToInt32(c.ActionsSuppressorWaitPeriod) != 120 {
		t.Errorf("ActionsSuppressedReason = %q, wait period %d", aws.ToString(c.ActionsSuppressedReason), aws.ToInt32(c.ActionsSuppressorWaitPeriod))
	}
	// The suppressor goes into ALARM within the wait period; then leaves it.
	setState(t, cw, "maintenance", types.StateValueAlarm)
	suppressedBy(t, cw, "service-down", types.StateValueAlarm, types.ActionsSuppressedByAlarm)
	clk.Advance(5 * time.Minute) // the wait period is long gone; the suppressor still holds
	setState(t, cw, "maintenance", types.StateValueOk)
	suppressedBy(t, cw, "service-down", types.StateValueAlarm, types.ActionsSuppressedByExtensionPeriod)
	if n := executed(t, cw, "service-down"); n != 0 {
		t.Fatalf("actions executed while suppressed: %d", n)
	}
	// After the extension period the held-back ALARM actions run, once.
	clk.Advance(61 * time.Second)
	suppressedBy(t, cw, "service-down", types.StateValueAlarm, "")
	if n := executed(t, cw, "service-down"); n != 1 {
		t.Errorf("actions executed after the extension period = %d; want 1", n)
	}
	sums, msgs := actions(t, cw, "service-down")
	want := []string{"Actions suppressed by WaitPeriod", "Actions suppressed by Alarm", "Actions suppressed by ExtensionPeriod", "Actions no longer suppressed"}
	if len(sums) < len(want) || strings.Join(sums[:len(want)], "|") != strings.Join(want, "|") {
		t.Errorf("Action history = %q; want it to start %q", sums, want)
	}
	if len(msgs) != 1 || msgs[0]["NewStateValue"] != "ALARM" || msgs[0]["OldStateValue"] != "ALARM" {
		t.Errorf("published = %v; want one ALARM notification, from the suppressed ALARM", msgs)
	} else {
		// A composite's notification names its triggering child and has no configuration time.
		kids, _ := msgs[0]["TriggeringChildren"].([]any)
		kid := kids[:min(1, len(kids))]
		var arn, value any
		if len(kid) == 1 {
			k, _ := kid[0].(map[string]any)
			st, _ := k["State"].(map[string]any)
			arn, value = k["Arn"], st["Value"]
		}
		if len(kids) != 1 || !strings.HasSuffix(fmt.Sprint(arn), ":alarm:errors") || value != "ALARM" || msgs[0]["AlarmRule"] != `ALARM("errors")` {
			t.Errorf("composite notification TriggeringChildren = %v, AlarmRule %v; want the errors alarm in ALARM", kids, msgs[0]["AlarmRule"])
		}
		if _, ok := msgs[0]["AlarmConfigurationUpdatedTimestamp"]; ok {
			t.Errorf("composite notification has AlarmConfigurationUpdatedTimestamp: %v", msgs[0])
		}
	}

	// Without a suppressor in ALARM and outside the extension, OK actions are not held back
	// (no wait period for OK).
	if err := putComposite(cw, topic, func(in *cloudwatch.PutCompositeAlarmInput) { in.OKActions = []string{topic} }); err != nil {
		t.Fatalf("PutCompositeAlarm update: %v", err)
	}
	setState(t, cw, "errors", types.StateValueOk)
	suppressedBy(t, cw, "service-down", types.StateValueOk, "")
	if n := executed(t, cw, "service-down"); n != 2 {
		t.Errorf("actions executed after going back to OK = %d; want 2", n)
	}
}

// suppressorServer is a server on a fake clock that keeps its data in a directory across
// restarts, holding the errors and maintenance children and the service-down composite
// (putComposite) that pages a topic.
type suppressorServer struct {
	t   *testing.T
	clk *fakeClock
	dir string
	e   *testenv.Env
	cw  *cloudwatch.Client
}

func newSuppressorServer(t *testing.T) *suppressorServer {
	t.Helper()
	s := &suppressorServer{t: t, clk: &fakeClock{t: time.Now().UTC()}, dir: t.TempDir()}
	s.start()
	topic := newTopic(t, s.e, "pager")
	putChild(t, s.cw, "errors")
	putChild(t, s.cw, "maintenance")
	if err := putComposite(s.cw, topic, nil); err != nil {
		t.Fatalf("PutCompositeAlarm: %v", err)
	}
	return s
}

func (s *suppressorServer) start() {
	s.e = testenv.New(s.t, testenv.Options{Clock: s.clk.Now, DataDir: s.dir})
	s.cw = cloudwatch.NewFromConfig(s.e.Config)
}

// restart stops the server, moves the clock on by d and starts the server again on the
// same data; it returns the new server's client.
func (s *suppressorServer) restart(d time.Duration) *cloudwatch.Client {
	s.e.Stop()
	s.clk.Advance(d)
	s.start()
	return s.cw
}

// TestSuppressorWaitSurvivesRestart stops the server while a wait period runs and checks
// that the restarted server performs the held-back actions when it ends.
func TestSuppressorWaitSurvivesRestart(t *testing.T) {
	s := newSuppressorServer(t)
	cw := s.cw
	setState(t, cw, "errors", types.StateValueAlarm)
	suppressedBy(t, cw, "service-down", types.StateValueAlarm, types.ActionsSuppressedByWaitPeriod)
	cw = s.restart(121 * time.Second)
	suppressedBy(t, cw, "service-down", types.StateValueAlarm, "")
	if n := executed(t, cw, "service-down"); n != 1 {
		t.Errorf("actions executed after the wait period, across a restart = %d; want 1", n)
	}
}

// TestDeleteSuppressorInUse checks that an alarm a composite alarm depends on, in its rule
// or as its ActionsSuppressor, cannot be deleted (the whole call is refused), and can be
// once the composite is gone; and that unknown names are skipped.
func TestDeleteSuppressorInUse(t *testing.T) {
	e := testenv.New(t)
	cw := cloudwatch.NewFromConfig(e.Config)
	ctx := context.Background()
	topic := newTopic(t, e, "pager")
	putChild(t, cw, "errors")
	putChild(t, cw, "maintenance")
	putChild(t, cw, "unrelated")
	if err := putComposite(cw, topic, nil); err != nil {
		t.Fatalf("PutCompositeAlarm: %v", err)
	}
	_, err := cw.DeleteAlarms(ctx, &cloudwatch.DeleteAlarmsInput{AlarmNames: []string{"unrelated", "maintenance"}})
	testenv.WantCode(t, "DeleteAlarms of the suppressor", err, "ValidationError")
	if err != nil && !strings.Contains(err.Error(), "Cannot delete maintenance as there are composite alarm(s) depending on it.") {
		t.Errorf("DeleteAlarms of the suppressor: %v; want CloudWatch's message", err)
	}
	_, err = cw.DeleteAlarms(ctx, &cloudwatch.DeleteAlarmsInput{AlarmNames: []string{"errors", "maintenance"}})
	if err == nil || !strings.Contains(err.Error(), "Cannot delete errors,maintenance as there are composite alarm(s) depending on them.") {
		t.Errorf("DeleteAlarms of the child and the suppressor: %v; want CloudWatch's message naming both", err)
	}
	out, err := cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{})
	if err != nil || len(out.MetricAlarms) != 3 {
		t.Fatalf("DescribeAlarms after refused deletes = %d metric alarms, %v; want all 3 kept", len(out.MetricAlarms), err)
	}
	// At most one composite alarm per call.
	if _, err := cw.PutCompositeAlarm(ctx, &cloudwatch.PutCompositeAlarmInput{AlarmName: aws.String("other"), AlarmRule: aws.String("ALARM(unrelated)")}); err != nil {
		t.Fatalf("PutCompositeAlarm other: %v", err)
	}
	_, err = cw.DeleteAlarms(ctx, &cloudwatch.DeleteAlarmsInput{AlarmNames: []string{"service-down", "other"}})
	testenv.WantCode(t, "DeleteAlarms of two composites", err, "ValidationError")
	if _, err := cw.DeleteAlarms(ctx, &cloudwatch.DeleteAlarmsInput{AlarmNames: []string{"other"}}); err != nil {
		t.Errorf("DeleteAlarms other: %v", err)
	}
	if _, err := cw.DeleteAlarms(ctx, &cloudwatch.DeleteAlarmsInput{AlarmNames: []string{"service-down", "maintenance"}}); err != nil {
		t.Errorf("DeleteAlarms of the composite with its suppressor: %v", err)
	}
	// An unknown name does not stop the others being deleted, and is no error.
	if _, err := cw.DeleteAlarms(ctx, &cloudwatch.DeleteAlarmsInput{AlarmNames: []string{"no-such-alarm", "unrelated"}}); err != nil {
		t.Errorf("DeleteAlarms with an unknown name: %v; want success", err)
	}
	out, err = cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{})
	if err != nil || len(out.MetricAlarms) != 1 || aws.ToString(out.MetricAlarms[0].AlarmName) != "errors" {
		t.Errorf("DescribeAlarms after the deletes = %+v, %v; want only errors left", out, err)
	}
}

// TestSuppressorExtensionSurvivesRestart stops the server while an extension period runs:
// the restarted server keeps the actions held back until the extension ends, then
// performs them once.
func TestSuppressorExtensionSurvivesRestart(t *testing.T) {
	s := newSuppressorServer(t)
	cw := s.cw
	setState(t, cw, "maintenance", types.StateValueAlarm)
	setState(t, cw, "errors", types.StateValueAlarm)
	suppressedBy(t, cw, "service-down", types.StateValueAlarm, types.ActionsSuppressedByAlarm)
	setState(t, cw, "maintenance", types.StateValueOk)
	suppressedBy(t, cw, "service-down", types.StateValueAlarm, types.ActionsSuppressedByExtensionPeriod)
	cw = s.restart(30 * time.Second) // half of the 60 s extension
	c := suppressedBy(t, cw, "service-down", types.StateValueAlarm, types.ActionsSuppressedByExtensionPeriod)
	if n := executed(t, cw, "service-down"); n != 0 {
		t.Fatalf("actions executed during the extension period, after a restart: %d", n)
	}
	if aws.ToString(c.ActionsSuppressedReason) != "Actions suppressed by ExtensionPeriod" {
		t.Errorf("ActionsSuppressedReason after restart = %q", aws.ToString(c.ActionsSuppressedReason))
	}
	cw = s.restart(31 * time.Second)
	suppressedBy(t, cw, "service-down", types.StateValueAlarm, "")
	if n := executed(t, cw, "service-down"); n != 1 {
		t.Errorf("actions executed after the extension period, across restarts = %d; want 1", n)
	}
}
