package cis_test

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/bannin/bannin/internal/cis"
	"github.com/bannin/bannin/internal/smtptest"
	"github.com/bannin/bannin/internal/testenv"
)

var link = regexp.MustCompile(`https?://[^\s"<>]+`)

// TestCISAlarmByMail is the story: the CIS controls installed in one step, the
// subscription confirmed through the link in its mail, and stopping the trail's logging
// mails an ALARM notification.
func TestCISAlarmByMail(t *testing.T) {
	mail := smtptest.Start(t)
	// The server's clock runs with real time plus a skew the test can move forward, so that
	// alarm periods pass without waiting for them.
	var skew atomic.Int64
	clock := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	e := testenv.New(t, testenv.Options{SMTPURL: mail.URL(), Clock: clock})
	ctx := context.Background()
	r, err := cis.Install(ctx, e.Config, cis.Options{Email: "secops@example.com", Period: 10})
	if err != nil {
		t.Fatalf("Install: %v", err)
	}
	if len(r.Alarms) != len(cis.Controls) {
		t.Errorf("Install made %d alarms; want %d", len(r.Alarms), len(cis.Controls))
	}
	// Installing twice changes nothing and makes no second subscription.
	if _, err := cis.Install(ctx, e.Config, cis.Options{Email: "secops@example.com", Period: 10}); err != nil {
		t.Fatalf("second Install: %v", err)
	}
	confirm := mail.Wait(t, func(m smtptest.Message) bool {
		return strings.Contains(m.Subject, "Subscription Confirmation")
	}, 10*time.Second)
	u := link.FindString(confirm.Body)
	if u == "" {
		t.Fatalf("confirmation mail has no link: %s", confirm.Body)
	}
	res, err := http.Get(u)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("GET confirmation link %s: %v %v", u, err, res)
	}
	res.Body.Close()

	cw := cloudwatch.NewFromConfig(e.Config)
	alarm := "CIS-CloudWatch.5-CloudTrailChanges"
	// Setting up started the trail's logging, itself a CloudTrail change: let that period
	// pass until the alarm is OK again.
	state := func() cwtypes.StateValue {
		out, err := cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{alarm}})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.MetricAlarms) != 1 {
			t.Fatalf("DescribeAlarms(%s) = %d alarms", alarm, len(out.MetricAlarms))
		}
		return out.MetricAlarms[0].StateValue
	}
	deadline := time.Now().Add(30 * time.Second)
	for state() != cwtypes.StateValueOk {
		if time.Now().After(deadline) {
			t.Fatalf("alarm %s stayed %s; want OK once the install's period has passed", alarm, state())
		}
		skew.Add(int64(5 * time.Second))
		time.Sleep(200 * time.Millisecond)
	}
	before := len(mail.Messages())
	if _, err := e.CloudTrail().StopLogging(ctx, &cloudtrail.StopLoggingInput{Name: aws.String("cis-trail")}); err != nil {
		t.Fatal(err)
	}
	m := mail.Wait(t, func(m smtptest.Message) bool {
		return strings.HasPrefix(m.Subject, `ALARM: "`+alarm+`"`)
	}, 15*time.Second)
	if len(m.To) != 1 || m.To[0] != "secops@example.com" {
		t.Errorf("alarm mail went to %v; want secops@example.com", m.To)
	}
	var body struct {
		AlarmName, NewStateValue, OldStateValue string
		Trigger                                 struct{ MetricName, Namespace string }
	}
	text := m.Body
	if i := strings.Index(text, "{"); i >= 0 {
		text = text[i:]
	}
	if j := strings.LastIndex(text, "}"); j >= 0 {
		text = text[:j+1]
	}
	if err := json.Unmarshal([]byte(text), &body); err != nil {
		t.Fatalf("alarm mail body is not AWS's alarm JSON: %v\n%s", err, m.Body)
	}
	if body.AlarmName != alarm || body.NewStateValue != "ALARM" || body.OldStateValue != "OK" || body.Trigger.MetricName != "CloudTrailChanges" {
		t.Errorf("alarm notification = %+v; want %s OK -> ALARM on CloudTrailChanges", body, alarm)
	}
	// Only the CloudTrail control fired: no other alarm mail came.
	for _, x := range mail.Messages()[before:] {
		if strings.HasPrefix(x.Subject, "ALARM") && !strings.Contains(x.Subject, alarm) {
			t.Errorf("unexpected alarm mail %q", x.Subject)
		}
	}
}
