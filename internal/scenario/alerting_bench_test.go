package scenario_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/bannin/bannin/internal/cis"
	"github.com/bannin/bannin/internal/smtptest"
	"github.com/bannin/bannin/internal/testenv"
)

// confirmMail follows the link of the first subscription confirmation mail and waits until
// the topic counts want confirmed subscriptions.
func confirmMail(b *testing.B, mail *smtptest.Server, snsc *sns.Client, topic string, want int) {
	b.Helper()
	confirm := mail.Wait(b, func(m smtptest.Message) bool { return strings.Contains(m.Subject, "Subscription Confirmation") }, 10*time.Second)
	res, err := http.Get(link.FindString(confirm.Body))
	if err != nil {
		b.Fatalf("confirm subscription: %v", err)
	}
	res.Body.Close()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		out, err := snsc.GetTopicAttributes(context.Background(), &sns.GetTopicAttributesInput{TopicArn: aws.String(topic)})
		if err != nil {
			b.Fatal(err)
		}
		if out.Attributes["SubscriptionsConfirmed"] == fmt.Sprint(want) {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("subscriptions confirmed = %s; want %d", out.Attributes["SubscriptionsConfirmed"], want)
		}
	}
}

// latencies collects per-call latencies and reports their percentiles as benchmark
// metrics (ms) and as a log line.
type latencies struct {
	name string
	d    []time.Duration
}

func (l *latencies) report(b *testing.B, metrics bool) {
	b.Helper()
	if len(l.d) == 0 {
		return
	}
	d := slices.Clone(l.d)
	slices.Sort(d)
	at := func(q float64) time.Duration { return d[min(max(int(q*float64(len(d))+0.5)-1, 0), len(d)-1)] }
	ms := func(x time.Duration) float64 { return float64(x) / 1e6 }
	if metrics {
		b.ReportMetric(ms(at(0.50)), "p50-ms")
		b.ReportMetric(ms(at(0.90)), "p90-ms")
		b.ReportMetric(ms(at(0.99)), "p99-ms")
		b.ReportMetric(ms(d[len(d)-1]), "max-ms")
	}
	b.Logf("%-34s n=%d  min %.2f  p50 %.2f  p90 %.2f  p99 %.2f  max %.2f ms", l.name, len(d), ms(d[0]), ms(at(0.5)), ms(at(0.9)), ms(at(0.99)), ms(d[len(d)-1]))
}

// BenchmarkRuleToMail is the first figure: an S3 PutBucketPolicy call on
// audit-logs, recorded as a CloudTrail event, matched by an EventBridge rule whose target
// is an SNS topic with a confirmed email subscription, until the SMTP server has accepted
// the mail. One call at a time; each call's policy carries its number in a Sid, so each
// mail is paired with its call. Run it with -benchtime 200x for the 200 calls.
func BenchmarkRuleToMail(b *testing.B) {
	mail := smtptest.Start(b)
	e := testenv.New(b, testenv.Options{SMTPURL: mail.URL()})
	ctx := context.Background()
	s3c, snsc, eb := e.S3(), sns.NewFromConfig(e.Config), eventbridge.NewFromConfig(e.Config)
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("audit-logs")}); err != nil {
		b.Fatal(err)
	}
	topic, err := snsc.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("bucket-policy-alerts")})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := snsc.Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: aws.String("email"), Endpoint: aws.String("secops@example.com")}); err != nil {
		b.Fatal(err)
	}
	confirmMail(b, mail, snsc, aws.ToString(topic.TopicArn), 1)
	pattern := `{"detail-type":["AWS API Call via CloudTrail"],"detail":{"eventSource":["s3.amazonaws.com"],"eventName":["PutBucketPolicy","DeleteBucketPolicy"],"requestParameters":{"bucketName":["audit-logs"]}}}`
	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("audit-bucket-policy"), EventPattern: aws.String(pattern)}); err != nil {
		b.Fatal(err)
	}
	if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("audit-bucket-policy"),
		Targets: []ebtypes.Target{{Id: aws.String("alerts"), Arn: topic.TopicArn}}}); err != nil {
		b.Fatal(err)
	}
	const policy = `{"Version":"2012-10-17","Statement":[{"Sid":"SID","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::audit-logs/*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}`
	total := latencies{name: "PutBucketPolicy -> mail accepted"}
	api := latencies{name: "  PutBucketPolicy call (response)"}
	rest := latencies{name: "  response -> mail accepted"}
	i := 0
	for b.Loop() {
		i++
		sid := fmt.Sprintf("BenchCall%06d", i)
		start := time.Now()
		if _, err := s3c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String("audit-logs"), Policy: aws.String(strings.Replace(policy, "SID", sid, 1))}); err != nil {
			b.Fatalf("PutBucketPolicy %d: %v", i, err)
		}
		answered := time.Now()
		m := mail.Wait(b, func(m smtptest.Message) bool { return strings.Contains(m.Body, sid) }, 30*time.Second)
		total.d = append(total.d, m.Received.Sub(start))
		api.d = append(api.d, answered.Sub(start))
		rest.d = append(rest.d, m.Received.Sub(answered))
	}
	total.report(b, true)
	api.report(b, false)
	rest.report(b, false)
	// Every call mailed exactly once.
	seen := map[string]int{}
	for _, m := range mail.Messages() {
		if k := strings.Index(m.Body, "BenchCall"); k >= 0 {
			seen[m.Body[k:k+len("BenchCall000000")]]++
		}
	}
	for n := 1; n <= i; n++ {
		if sid := fmt.Sprintf("BenchCall%06d", n); seen[sid] != 1 {
			b.Errorf("call %s mailed %d times; want 1", sid, seen[sid])
		}
	}
}

// BenchmarkAlarmToMail is the second figure: the CIS controls installed with a 10 s
// alarm period (trail -> log group -> metric filter -> alarm -> SNS mail), then CloudTrail
// StopLogging until the SMTP server has accepted the ALARM mail of the CloudTrail-changes
// alarm. Between runs the trail's logging is started again (itself a CloudTrail change,
// so once the alarm is OK again that change fires it too and its mail is waited for), then
// the server's clock is moved past the period until the alarm is OK again. Run it with -benchtime 50x or so.
func BenchmarkAlarmToMail(b *testing.B) {
	mail := smtptest.Start(b)
	var skew atomic.Int64
	clock := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	e := testenv.New(b, testenv.Options{SMTPURL: mail.URL(), Clock: clock})
	ctx := context.Background()
	r, err := cis.Install(ctx, e.Config, cis.Options{Email: "secops@example.com", Period: 10})
	if err != nil {
		b.Fatalf("Install: %v", err)
	}
	confirmMail(b, mail, sns.NewFromConfig(e.Config), r.TopicARN, 1)
	// The clients sign with the server's skewed time, or SigV4 would refuse them once the
	// skew passes 15 minutes.
	signer := skewSigner{v4.NewSigner(), &skew}
	cw := cloudwatch.NewFromConfig(e.Config, func(o *cloudwatch.Options) { o.HTTPSignerV4 = signer })
	ct := cloudtrail.NewFromConfig(e.Config, func(o *cloudtrail.Options) { o.HTTPSignerV4 = signer })
	const alarm = "CIS-CloudWatch.5-CloudTrailChanges"
	state := func() cwtypes.StateValue {
		out, err := cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{alarm}})
		if err != nil {
			b.Fatal(err)
		}
		if len(out.MetricAlarms) != 1 {
			b.Fatalf("DescribeAlarms(%s) = %d alarms", alarm, len(out.MetricAlarms))
		}
		return out.MetricAlarms[0].StateValue
	}
	// untilOK moves the clock forward by three periods at a time (past every datapoint in
	// the alarm's evaluation range) until the periodic evaluation has made the alarm OK.
	untilOK := func() {
		for deadline := time.Now().Add(60 * time.Second); ; {
			skew.Add(int64(30 * time.Second))
			for wait := time.Now().Add(2 * time.Second); time.Now().Before(wait); time.Sleep(50 * time.Millisecond) {
				if state() == cwtypes.StateValueOk {
					return
				}
			}
			if time.Now().After(deadline) {
				b.Fatalf("alarm %s stayed %s; want OK once its period has passed", alarm, state())
			}
		}
	}
	// waitAlarmMail waits for an ALARM mail of the alarm that the server accepted after t.
	waitAlarmMail := func(t time.Time) smtptest.Message {
		return mail.Wait(b, func(m smtptest.Message) bool {
			return strings.HasPrefix(m.Subject, `ALARM: "`+alarm+`"`) && m.Received.After(t)
		}, 30*time.Second)
	}
	total := latencies{name: "StopLogging -> ALARM mail accepted"}
	api := latencies{name: "  StopLogging call (response)"}
	// Install started logging: wait for that ALARM (if the alarm saw it) and for OK.
	untilOK()
	logging := true
	i := 0
	for b.Loop() {
		i++
		if !logging {
			b.StopTimer()
			untilOK() // the previous run's ALARM
			t := time.Now()
			if _, err := ct.StartLogging(ctx, &cloudtrail.StartLoggingInput{Name: aws.String("cis-trail")}); err != nil {
				b.Fatal(err)
			}
			waitAlarmMail(t)
			untilOK()
			b.StartTimer()
		}
		start := time.Now()
		if _, err := ct.StopLogging(ctx, &cloudtrail.StopLoggingInput{Name: aws.String("cis-trail")}); err != nil {
			b.Fatalf("StopLogging %d: %v", i, err)
		}
		answered := time.Now()
		logging = false
		m := waitAlarmMail(start)
		total.d = append(total.d, m.Received.Sub(start))
		api.d = append(api.d, answered.Sub(start))
	}
	total.report(b, true)
	api.report(b, false)
}

// skewSigner signs requests as of the test server's skewed clock.
type skewSigner struct {
	signer *v4.Signer
	skew   *atomic.Int64
}

func (s skewSigner) SignHTTP(ctx context.Context, creds aws.Credentials, r *http.Request, payloadHash, service, region string, t time.Time, optFns ...func(*v4.SignerOptions)) error {
	return s.signer.SignHTTP(ctx, creds, r, payloadHash, service, region, t.Add(time.Duration(s.skew.Load())), optFns...)
}
