package scenario_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/bannin/bannin/internal/smtptest"
	"github.com/bannin/bannin/internal/testenv"
)

var link = regexp.MustCompile(`https?://[^\s"<>]+`)

// webhook is an https SNS subscriber: it confirms its subscription by visiting SubscribeURL
// and keeps the notifications it receives.
type webhook struct {
	mu     sync.Mutex
	notes  []map[string]string
	client *http.Client
}

func (w *webhook) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		http.Error(rw, "not SNS JSON", http.StatusBadRequest)
		return
	}
	switch r.Header.Get("x-amz-sns-message-type") {
	case "SubscriptionConfirmation":
		go func() {
			if res, err := http.Get(m["SubscribeURL"]); err == nil {
				res.Body.Close()
			}
		}()
	case "Notification":
		w.mu.Lock()
		w.notes = append(w.notes, m)
		w.mu.Unlock()
	}
	rw.WriteHeader(http.StatusOK)
}

func (w *webhook) received() []map[string]string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]map[string]string(nil), w.notes...)
}

// TestEventRuleToMailAndWebhook is the story: an EventBridge rule on bucket policy
// changes of audit-logs notifies an SNS topic with an email and an https subscription; the
// matching call produces both deliveries, the same call on another bucket neither.
func TestEventRuleToMailAndWebhook(t *testing.T) {
	mail := smtptest.Start(t)
	hook := &webhook{}
	hs := httptest.NewTLSServer(hook)
	defer hs.Close()
	e := testenv.New(t, testenv.Options{SMTPURL: mail.URL(), HTTPClient: hs.Client()})
	ctx := context.Background()
	s3c, snsc, eb := e.S3(), sns.NewFromConfig(e.Config), eventbridge.NewFromConfig(e.Config)
	for _, b := range []string{"audit-logs", "other-bucket"} {
		if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
	}
	topic, err := snsc.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("bucket-policy-alerts")})
	if err != nil {
		t.Fatal(err)
	}
	for _, sub := range []struct{ proto, endpoint string }{{"email", "secops@example.com"}, {"https", hs.URL + "/sns"}} {
		if _, err := snsc.Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: aws.String(sub.proto), Endpoint: aws.String(sub.endpoint)}); err != nil {
			t.Fatalf("Subscribe %s: %v", sub.proto, err)
		}
	}
	confirm := mail.Wait(t, func(m smtptest.Message) bool { return strings.Contains(m.Subject, "Subscription Confirmation") }, 10*time.Second)
	res, err := http.Get(link.FindString(confirm.Body))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	// Both subscriptions confirmed before the calls are made.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		out, err := snsc.GetTopicAttributes(ctx, &sns.GetTopicAttributesInput{TopicArn: topic.TopicArn})
		if err != nil {
			t.Fatal(err)
		}
		if out.Attributes["SubscriptionsConfirmed"] == "2" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("subscriptions confirmed = %s; want 2", out.Attributes["SubscriptionsConfirmed"])
		}
	}
	pattern := `{"detail-type":["AWS API Call via CloudTrail"],"detail":{"eventSource":["s3.amazonaws.com"],"eventName":["PutBucketPolicy","DeleteBucketPolicy"],"requestParameters":{"bucketName":["audit-logs"]}}}`
	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("audit-bucket-policy"), EventPattern: aws.String(pattern)}); err != nil {
		t.Fatal(err)
	}
	if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("audit-bucket-policy"),
		Targets: []ebtypes.Target{{Id: aws.String("alerts"), Arn: topic.TopicArn}}}); err != nil {
		t.Fatal(err)
	}
	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::BUCKET/*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}`
	for _, b := range []string{"other-bucket", "audit-logs"} {
		if _, err := s3c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(b), Policy: aws.String(strings.ReplaceAll(policy, "BUCKET", b))}); err != nil {
			t.Fatal(err)
		}
	}
	m := mail.Wait(t, func(m smtptest.Message) bool { return strings.Contains(m.Body, "PutBucketPolicy") }, 10*time.Second)
	if !strings.Contains(m.Body, `"bucketName":"audit-logs"`) || !strings.Contains(m.Body, `"detail-type":"AWS API Call via CloudTrail"`) {
		t.Errorf("mail body = %s; want the CloudTrail event of PutBucketPolicy on audit-logs", m.Body)
	}
	var notes []map[string]string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && len(notes) == 0; time.Sleep(50 * time.Millisecond) {
		notes = hook.received()
	}
	if len(notes) != 1 || !strings.Contains(notes[0]["Message"], `"bucketName":"audit-logs"`) || notes[0]["TopicArn"] != aws.ToString(topic.TopicArn) {
		t.Fatalf("webhook notifications = %v; want one for PutBucketPolicy on audit-logs", notes)
	}
	// A final marker call on audit-logs proves the pipeline drained past other-bucket's call.
	if _, err := s3c.DeleteBucketPolicy(ctx, &s3.DeleteBucketPolicyInput{Bucket: aws.String("audit-logs")}); err != nil {
		t.Fatal(err)
	}
	mail.Wait(t, func(m smtptest.Message) bool { return strings.Contains(m.Body, "DeleteBucketPolicy") }, 10*time.Second)
	for _, x := range mail.Messages() {
		if strings.Contains(x.Body, "other-bucket") {
			t.Errorf("a mail mentions other-bucket: %s", x.Body)
		}
	}
	for _, n := range hook.received() {
		if strings.Contains(n["Message"], "other-bucket") {
			t.Errorf("a webhook notification mentions other-bucket: %s", n["Message"])
		}
	}
}
