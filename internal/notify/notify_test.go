package notify_test

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/smithy-go"

	"github.com/bannin/bannin/internal/smtptest"
	"github.com/bannin/bannin/internal/testenv"
)

const wait = 20 * time.Second

func errCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode() + ": " + ae.ErrorMessage()
	}
	if err != nil {
		return err.Error()
	}
	return ""
}

func TestTopics(t *testing.T) {
	e := testenv.New(t)
	ctx := context.Background()
	c := sns.NewFromConfig(e.Config)
	out, err := c.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("alerts"),
		Attributes: map[string]string{"DisplayName": "Alerts"}, Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("ops")}}})
	if err != nil {
		t.Fatalf("CreateTopic: %v", err)
	}
	arn := aws.ToString(out.TopicArn)
	if want := "arn:aws:sns:us-east-1:" + e.Account + ":alerts"; arn != want {
		t.Errorf("TopicArn = %q; want %q", arn, want)
	}
	again, err := c.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("alerts")})
	if err != nil || aws.ToString(again.TopicArn) != arn {
		t.Errorf("CreateTopic again = %v, %v; want the same ARN", again, err)
	}
	_, err = c.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("alerts"), Attributes: map[string]string{"DisplayName": "Other"}})
	if got := errCode(err); !strings.HasPrefix(got, "InvalidParameter: ") {
		t.Errorf("CreateTopic with other attributes: %s; want InvalidParameter", got)
	}
	for _, name := range []string{"bad name", "", strings.Repeat("a", 257), "x.fifo"} {
		_, err = c.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(name)})
		if got := errCode(err); got != "InvalidParameter: Invalid parameter: Topic Name" {
			t.Errorf("CreateTopic(%q): %s; want InvalidParameter: Invalid parameter: Topic Name", name, got)
		}
	}
	fifo, err := c.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("orders.fifo"), Attributes: map[string]string{"FifoTopic": "true"}})
	if err != nil {
		t.Fatalf("CreateTopic fifo: %v", err)
	}
	attrs, err := c.GetTopicAttributes(ctx, &sns.GetTopicAttributesInput{TopicArn: out.TopicArn})
	if err != nil {
		t.Fatalf("GetTopicAttributes: %v", err)
	}
	for k, want := range map[string]string{"TopicArn": arn, "Owner": e.Account, "DisplayName": "Alerts",
		"SubscriptionsConfirmed": "0", "SubscriptionsPending": "0", "SubscriptionsDeleted": "0"} {
		if got := attrs.Attributes[k]; got != want {
			t.Errorf("attribute %s = %q; want %q", k, got, want)
		}
	}
	if !strings.Contains(attrs.Attributes["EffectiveDeliveryPolicy"], `"numRetries":3`) || !strings.Contains(attrs.Attributes["Policy"], arn) {
		t.Errorf("EffectiveDeliveryPolicy, Policy = %s, %s; want AWS's defaults", attrs.Attributes["EffectiveDeliveryPolicy"], attrs.Attributes["Policy"])
	}
	if _, err := c.SetTopicAttributes(ctx, &sns.SetTopicAttributesInput{TopicArn: out.TopicArn, AttributeName: aws.String("DisplayName"), AttributeValue: aws.String("Ops")}); err != nil {
		t.Fatalf("SetTopicAttributes: %v", err)
	}
	_, err = c.SetTopicAttributes(ctx, &sns.SetTopicAttributesInput{TopicArn: out.TopicArn, AttributeName: aws.String("Nope"), AttributeValue: aws.String("x")})
	if got := errCode(err); got != "InvalidParameter: Invalid parameter: AttributeName" {
		t.Errorf("SetTopicAttributes(Nope): %s", got)
	}
	fa, err := c.GetTopicAttributes(ctx, &sns.GetTopicAttributesInput{TopicArn: fifo.TopicArn})
	if err != nil || fa.Attributes["FifoTopic"] != "true" {
		t.Errorf("fifo FifoTopic = %v, %v; want true", fa, err)
	}
	missing := "arn:aws:sns:us-east-1:" + e.Account + ":missing"
	_, err = c.GetTopicAttributes(ctx, &sns.GetTopicAttributesInput{TopicArn: aws.String(missing)})
	if got := errCode(err); got != "NotFound: Topic does not exist" {
		t.Errorf("GetTopicAttributes(missing): %s; want NotFound: Topic does not exist", got)
	}
	_, err = c.Publish(ctx, &sns.PublishInput{TopicArn: aws.String("arn:aws:sns:us-east-1:999999999999:theirs"), Message: aws.String("x")})
	if got := errCode(err); !strings.HasPrefix(got, "AuthorizationError: ") {
		t.Errorf("Publish to another account's topic: %s; want AuthorizationError", got)
	}

	if _, err := c.TagResource(ctx, &sns.TagResourceInput{ResourceArn: out.TopicArn, Tags: []types.Tag{{Key: aws.String("env"), Value: aws.String("prod")}}}); err != nil {
		t.Fatalf("TagResource: %v", err)
	}
	if _, err := c.UntagResource(ctx, &sns.UntagResourceInput{ResourceArn: out.TopicArn, TagKeys: []string{"team"}}); err != nil {
		t.Fatalf("UntagResource: %v", err)
	}
	tags, err := c.ListTagsForResource(ctx, &sns.ListTagsForResourceInput{ResourceArn: out.TopicArn})
	if err != nil || len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].Key) != "env" {
		t.Errorf("ListTagsForResource = %v, %v; want env only", tags, err)
	}
	_, err = c.ListTagsForResource(ctx, &sns.ListTagsForResourceInput{ResourceArn: aws.String(missing)})
	if got := errCode(err); !strings.HasPrefix(got, "ResourceNotFound") {
		t.Errorf("ListTagsForResource(missing): %s; want ResourceNotFound", got)
	}

	list, err := c.ListTopics(ctx, &sns.ListTopicsInput{})
	if err != nil || len(list.Topics) != 2 {
		t.Fatalf("ListTopics = %v, %v; want 2 topics", list, err)
	}
	if _, err := c.DeleteTopic(ctx, &sns.DeleteTopicInput{TopicArn: out.TopicArn}); err != nil {
		t.Fatalf("DeleteTopic: %v", err)
	}
	if _, err := c.DeleteTopic(ctx, &sns.DeleteTopicInput{TopicArn: out.TopicArn}); err != nil {
		t.Errorf("DeleteTopic again: %v; want success", err)
	}
	list, _ = c.ListTopics(ctx, &sns.ListTopicsInput{})
	if len(list.Topics) != 1 {
		t.Errorf("ListTopics after delete = %d topics; want 1", len(list.Topics))
	}
	_, err = c.Subscribe(ctx, &sns.SubscribeInput{TopicArn: fifo.TopicArn, Protocol: aws.String("sms"), Endpoint: aws.String("+15555550100")})
	if got := errCode(err); !strings.HasPrefix(got, "InvalidParameter: ") {
		t.Errorf("Subscribe sms: %s; want InvalidParameter", got)
	}
	_, err = c.Publish(ctx, &sns.PublishInput{TopicArn: fifo.TopicArn, Message: aws.String("x")})
	if got := errCode(err); !strings.Contains(got, "MessageGroupId") {
		t.Errorf("Publish to FIFO without group: %s; want InvalidParameter about MessageGroupId", got)
	}
}

var linkRe = regexp.MustCompile(`https?://\S+`)

func TestEmailSubscription(t *testing.T) {
	mail := smtptest.Start(t)
	e := testenv.New(t, testenv.Options{SMTPURL: mail.URL()})
	ctx := context.Background()
	c := sns.NewFromConfig(e.Config)
	topic, err := c.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("mail")})
	if err != nil {
		t.Fatalf("CreateTopic: %v", err)
	}
	sub, err := c.Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: aws.String("email"), Endpoint: aws.String("ops@example.com")})
	if err != nil || aws.ToString(sub.SubscriptionArn) != "pending confirmation" {
		t.Fatalf("Subscribe = %v, %v; want pending confirmation", sub, err)
	}
	// A second, never confirmed subscriber.
	if _, err := c.Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: aws.String("email"), Endpoint: aws.String("lurker@example.com")}); err != nil {
		t.Fatalf("Subscribe lurker: %v", err)
	}
	conf := mail.Wait(t, func(m smtptest.Message) bool { return m.To[0] == "ops@example.com" }, wait)
	if conf.Subject != "AWS Notification - Subscription Confirmation" || !strings.Contains(conf.Body, aws.ToString(topic.TopicArn)) {
		t.Fatalf("confirmation mail = %q\n%s", conf.Subject, conf.Body)
	}
	if from := conf.Header.Get("From"); !strings.Contains(from, "no-reply@sns.amazonaws.com") {
		t.Errorf("From = %q; want no-reply@sns.amazonaws.com", from)
	}
	link := linkRe.FindString(conf.Body[strings.Index(conf.Body, "Confirm subscription"):])
	resp, err := http.Get(link)
	if err != nil {
		t.Fatalf("GET %s: %v", link, err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), "Subscription confirmed!") {
		t.Fatalf("confirmation page = %d\n%s", resp.StatusCode, page)
	}
	subs, err := c.ListSubscriptionsByTopic(ctx, &sns.ListSubscriptionsByTopicInput{TopicArn: topic.TopicArn})
	if err != nil || len(subs.Subscriptions) != 2 {
		t.Fatalf("ListSubscriptionsByTopic = %v, %v", subs, err)
	}
	var confirmedARN string
	for _, s := range subs.Subscriptions {
		switch aws.ToString(s.Endpoint) {
		case "ops@example.com":
			confirmedARN = aws.ToString(s.SubscriptionArn)
		case "lurker@example.com":
			if got := aws.ToString(s.SubscriptionArn); got != "PendingConfirmation" {
				t.Errorf("unconfirmed SubscriptionArn = %q; want PendingConfirmation", got)
			}
		}
	}
	if !strings.HasPrefix(confirmedARN, aws.ToString(topic.TopicArn)+":") {
		t.Fatalf("confirmed SubscriptionArn = %q", confirmedARN)
	}
	pub, err := c.Publish(ctx, &sns.PublishInput{TopicArn: topic.TopicArn, Subject: aws.String("Disk full"), Message: aws.String("The disk on db-1 is full.")})
	if err != nil {
		t.Fatalf("Publish: %v", err)
	}
	n := mail.Wait(t, func(m smtptest.Message) bool { return m.Subject == "Disk full" }, wait)
	if n.To[0] != "ops@example.com" || !strings.HasPrefix(n.Body, "The disk on db-1 is full.\n\n--\nIf you wish to stop receiving notifications") {
		t.Errorf("notification to %v:\n%s", n.To, n.Body)
	}
	// A message without a subject takes AWS's default subject.
	if _, err := c.Publish(ctx, &sns.PublishInput{TopicArn: topic.TopicArn, Message: aws.String("second")}); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	mail.Wait(t, func(m smtptest.Message) bool { return m.Subject == "AWS Notification Message" }, wait)
	for _, m := range mail.Messages() {
		if m.To[0] == "lurker@example.com" && m.Subject != "AWS Notification - Subscription Confirmation" {
			t.Errorf("unconfirmed subscriber got %q", m.Subject)
		}
	}
	if aws.ToString(pub.MessageId) == "" {
		t.Errorf("Publish MessageId is empty")
	}
	unsub := linkRe.FindString(n.Body[strings.Index(n.Body, "unsubscribe:"):])
	resp, err = http.Get(unsub)
	if err != nil {
		t.Fatalf("GET %s: %v", unsub, err)
	}
	page, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), "Subscription removed!") {
		t.Fatalf("unsubscribe page = %d\n%s", resp.StatusCode, page)
	}
	_, err = c.GetSubscriptionAttributes(ctx, &sns.GetSubscriptionAttributesInput{SubscriptionArn: aws.String(confirmedARN)})
	if got := errCode(err); got != "NotFound: Subscription does not exist" {
		t.Errorf("GetSubscriptionAttributes after unsubscribe: %s", got)
	}
	// What is not an ARN is counted as SNS counts it; an ARN naming no subscription is not found.
	for arn, want := range map[string]string{
		"pending confirmation":  "InvalidParameter: Invalid parameter: SubscriptionArn Reason: An ARN must have at least 6 elements, not 1",
		"arn:aws:sns:us-east-1": "InvalidParameter: Invalid parameter: SubscriptionArn Reason: An ARN must have at least 6 elements, not 4",
		confirmedARN[:strings.LastIndex(confirmedARN, ":")] + ":nope": "NotFound: Subscription does not exist",
	} {
		_, err = c.GetSubscriptionAttributes(ctx, &sns.GetSubscriptionAttributesInput{SubscriptionArn: aws.String(arn)})
		if got := errCode(err); got != want {
			t.Errorf("GetSubscriptionAttributes(%q) = %s; want %s", arn, got, want)
		}
	}
	// The page's re-subscribe link brings the subscription back, as AWS's does.
	m := regexp.MustCompile(`href="([^"]+)">click here to re-subscribe`).FindStringSubmatch(string(page))
	if m == nil {
		t.Fatalf("unsubscribe page has no re-subscribe link:\n%s", page)
	}
	resp, err = http.Get(html.UnescapeString(m[1]))
	if err != nil {
		t.Fatalf("GET %s: %v", m[1], err)
	}
	page, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), confirmedARN) {
		t.Fatalf("re-subscribe page = %d\n%s", resp.StatusCode, page)
	}
	attrs, err := c.GetSubscriptionAttributes(ctx, &sns.GetSubscriptionAttributesInput{SubscriptionArn: aws.String(confirmedARN)})
	if err != nil || attrs.Attributes["PendingConfirmation"] != "false" {
		t.Errorf("GetSubscriptionAttributes after re-subscribing = %v, %s; want confirmed", attrs, errCode(err))
	}
}

// endpoint is an HTTP subscriber that records what it receives and verifies signatures
// as a subscriber would, with the certificate at SigningCertURL.
type endpoint struct {
	t        *testing.T
	srv      *httptest.Server
	mu       sync.Mutex
	got      []map[string]any
	headers  []http.Header
	fail     int // answer 500 to this many notifications first
	received chan struct{}
}

func newEndpoint(t *testing.T) *endpoint {
	ep := &endpoint{t: t, received: make(chan struct{}, 100)}
	ep.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var doc map[string]any
		if r.Header.Get("x-amz-sns-rawdelivery") == "true" {
			doc = map[string]any{"Type": "Raw", "Message": string(body)}
		} else if err := json.Unmarshal(body, &doc); err != nil {
			t.Errorf("endpoint: body is not JSON: %s", body)
		}
		ep.mu.Lock()
		failing := doc["Type"] == "Notification" && ep.fail > 0
		if failing {
			ep.fail--
		}
		ep.got = append(ep.got, doc)
		ep.headers = append(ep.headers, r.Header.Clone())
		ep.mu.Unlock()
		ep.received <- struct{}{}
		if failing {
			http.Error(w, "try later", http.StatusInternalServerError)
		}
	}))
	t.Cleanup(ep.srv.Close)
	return ep
}

// next waits for a document of type typ after the first skip ones of that type.
func (ep *endpoint) wait(typ string, n int) (map[string]any, http.Header) {
	ep.t.Helper()
	deadline := time.After(wait)
	for {
		ep.mu.Lock()
		seen := 0
		for i, d := range ep.got {
			if d["Type"] == typ {
				seen++
				if seen == n {
					ep.mu.Unlock()
					return d, ep.headers[i]
				}
			}
		}
		ep.mu.Unlock()
		select {
		case <-ep.received:
		case <-deadline:
			ep.t.Fatalf("endpoint: no %d. %s message within %v", n, typ, wait)
		}
	}
}

// verify checks a message's signature as AWS documents it.
func verify(t *testing.T, doc map[string]any) {
	t.Helper()
	resp, err := http.Get(doc["SigningCertURL"].(string))
	if err != nil {
		t.Fatalf("get SigningCertURL: %v", err)
	}
	pemBytes, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		t.Fatalf("SigningCertURL served no PEM: %q", pemBytes)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatalf("parse certificate: %v", err)
	}
	var fields []string
	if doc["Type"] == "Notification" {
		fields = []string{"Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"}
	} else {
		fields = []string{"Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"}
	}
	var b strings.Builder
	for _, f := range fields {
		if v, ok := doc[f].(string); ok {
			b.WriteString(f + "\n" + v + "\n")
		}
	}
	sig, _ := base64.StdEncoding.DecodeString(doc["Signature"].(string))
	pub := cert.PublicKey.(*rsa.PublicKey)
	if doc["SignatureVersion"] == "2" {
		sum := sha256.Sum256([]byte(b.String()))
		err = rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig)
	} else {
		sum := sha1.Sum([]byte(b.String()))
		err = rsa.VerifyPKCS1v15(pub, crypto.SHA1, sum[:], sig)
	}
	if err != nil {
		t.Errorf("signature of %s (version %v) does not verify: %v", doc["Type"], doc["SignatureVersion"], err)
	}
}

func TestHTTPSubscription(t *testing.T) {
	e := testenv.New(t)
	ctx := context.Background()
	c := sns.NewFromConfig(e.Config)
	ep := newEndpoint(t)
	topic, err := c.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("hooks"), Attributes: map[string]string{
		"DeliveryPolicy": `{"http":{"defaultHealthyRetryPolicy":{"minDelayTarget":1,"maxDelayTarget":1,"numRetries":3}}}`}})
	if err != nil {
		t.Fatalf("CreateTopic: %v", err)
	}
	sub, err := c.Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: aws.String("http"), Endpoint: aws.String(ep.srv.URL + "/sns"),
		ReturnSubscriptionArn: true})
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	conf, h := ep.wait("SubscriptionConfirmation", 1)
	verify(t, conf)
	if h.Get("x-amz-sns-message-type") != "SubscriptionConfirmation" || h.Get("x-amz-sns-topic-arn") != aws.ToString(topic.TopicArn) ||
		h.Get("Content-Type") != "text/plain; charset=UTF-8" {
		t.Errorf("confirmation headers = %v", h)
	}
	// Nothing is delivered before confirmation.
	if _, err := c.Publish(ctx, &sns.PublishInput{TopicArn: topic.TopicArn, Message: aws.String("too early")}); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	resp, err := http.Get(conf["SubscribeURL"].(string))
	if err != nil {
		t.Fatalf("GET SubscribeURL: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), aws.ToString(sub.SubscriptionArn)) {
		t.Fatalf("SubscribeURL answered %d %s", resp.StatusCode, body)
	}
	attrs, err := c.GetSubscriptionAttributes(ctx, &sns.GetSubscriptionAttributesInput{SubscriptionArn: sub.SubscriptionArn})
	if err != nil || attrs.Attributes["PendingConfirmation"] != "false" {
		t.Fatalf("GetSubscriptionAttributes = %v, %v; want confirmed", attrs, err)
	}
	ep.mu.Lock()
	ep.fail = 2
	ep.mu.Unlock()
	pub, err := c.Publish(ctx, &sns.PublishInput{TopicArn: topic.TopicArn, Subject: aws.String("hello"), Message: aws.String("a <b> & c"),
		MessageAttributes: map[string]types.MessageAttributeValue{"kind": {DataType: aws.String("String"), StringValue: aws.String("test")}}})
	if err != nil {
		t.Fatalf("Publish: %v", err)
	}
	// Fails twice, then the third attempt succeeds.
	n, h := ep.wait("Notification", 3)
	if n["MessageId"] != aws.ToString(pub.MessageId) || n["Message"] != "a <b> & c" || n["Subject"] != "hello" {
		t.Errorf("notification = %v", n)
	}
	if h.Get("x-amz-sns-subscription-arn") != aws.ToString(sub.SubscriptionArn) || h.Get("x-amz-sns-message-id") != aws.ToString(pub.MessageId) {
		t.Errorf("notification headers = %v", h)
	}
	if ma, _ := n["MessageAttributes"].(map[string]any); ma["kind"] == nil {
		t.Errorf("MessageAttributes = %v; want kind", n["MessageAttributes"])
	}
	verify(t, n)
	ep.mu.Lock()
	for _, d := range ep.got {
		if d["Message"] == "too early" {
			t.Errorf("a message published before confirmation was delivered")
		}
	}
	ep.mu.Unlock()

	// SignatureVersion 2, raw delivery.
	if _, err := c.SetTopicAttributes(ctx, &sns.SetTopicAttributesInput{TopicArn: topic.TopicArn, AttributeName: aws.String("SignatureVersion"), AttributeValue: aws.String("2")}); err != nil {
		t.Fatalf("SetTopicAttributes: %v", err)
	}
	if _, err := c.Publish(ctx, &sns.PublishInput{TopicArn: topic.TopicArn, Message: aws.String("v2")}); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	n, _ = ep.wait("Notification", 4)
	if n["SignatureVersion"] != "2" || n["Message"] != "v2" {
		t.Errorf("notification = %v; want SignatureVersion 2", n)
	}
	verify(t, n)
	if _, err := c.SetSubscriptionAttributes(ctx, &sns.SetSubscriptionAttributesInput{SubscriptionArn: sub.SubscriptionArn,
		AttributeName: aws.String("RawMessageDelivery"), AttributeValue: aws.String("true")}); err != nil {
		t.Fatalf("SetSubscriptionAttributes: %v", err)
	}
	if _, err := c.Publish(ctx, &sns.PublishInput{TopicArn: topic.TopicArn, Message: aws.String("raw body")}); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	if r, _ := ep.wait("Raw", 1); r["Message"] != "raw body" {
		t.Errorf("raw delivery = %v", r)
	}
	if _, err := c.Unsubscribe(ctx, &sns.UnsubscribeInput{SubscriptionArn: sub.SubscriptionArn}); err != nil {
		t.Fatalf("Unsubscribe: %v", err)
	}
	u, _ := ep.wait("UnsubscribeConfirmation", 1)
	verify(t, u)
}

func TestConfirmSubscriptionAPIAndFilters(t *testing.T) {
	e := testenv.New(t)
	ctx := context.Background()
	c := sns.NewFromConfig(e.Config)
	ep := newEndpoint(t)
	topic, err := c.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("filtered")})
	if err != nil {
		t.Fatalf("CreateTopic: %v", err)
	}
	_, err = c.Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: aws.String("http"), Endpoint: aws.String(ep.srv.URL),
		Attributes: map[string]string{"FilterPolicy": `{"severity": ["high", {"prefix": "crit"}], "count": [{"numeric": [">", 10]}]}`}})
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	_, err = c.Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: aws.String("http"), Endpoint: aws.String(ep.srv.URL + "/body"),
		Attributes: map[string]string{"FilterPolicy": `{"order": {"status": ["paid"]}}`, "FilterPolicyScope": "MessageBody"}})
	if err != nil {
		t.Fatalf("Subscribe body: %v", err)
	}
	_, err = c.Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: aws.String("http"), Endpoint: aws.String(ep.srv.URL + "/bad"),
		Attributes: map[string]string{"FilterPolicy": `{"a": "not-an-array"}`}})
	if got := errCode(err); !strings.HasPrefix(got, "InvalidParameter: ") {
		t.Errorf("Subscribe with a bad filter policy: %s; want InvalidParameter", got)
	}
	var arns []string
	for i := 1; i <= 2; i++ {
		conf, _ := ep.wait("SubscriptionConfirmation", i)
		out, err := c.ConfirmSubscription(ctx, &sns.ConfirmSubscriptionInput{TopicArn: topic.TopicArn, Token: aws.String(conf["Token"].(string))})
		if err != nil {
			t.Fatalf("ConfirmSubscription: %v", err)
		}
		arns = append(arns, aws.ToString(out.SubscriptionArn))
	}
	_, err = c.ConfirmSubscription(ctx, &sns.ConfirmSubscriptionInput{TopicArn: topic.TopicArn, Token: aws.String("nope")})
	if got := errCode(err); got != "InvalidParameter: Invalid token" {
		t.Errorf("ConfirmSubscription(bad token): %s", got)
	}
	str := func(v string) types.MessageAttributeValue {
		return types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
	}
	num := func(v string) types.MessageAttributeValue {
		return types.MessageAttributeValue{DataType: aws.String("Number"), StringValue: aws.String(v)}
	}
	pubs := []*sns.PublishInput{
		{Message: aws.String("low"), MessageAttributes: map[string]types.MessageAttributeValue{"severity": str("low"), "count": num("50")}},
		{Message: aws.String("few"), MessageAttributes: map[string]types.MessageAttributeValue{"severity": str("high"), "count": num("5")}},
		{Message: aws.String(`{"order": {"status": "open"}}`)},
		{Message: aws.String("critical"), MessageAttributes: map[string]types.MessageAttributeValue{"severity": str("critical"), "count": num("11")}},
		{Message: aws.String(`{"order": {"status": "paid"}}`)},
	}
	for _, p := range pubs {
		p.TopicArn = topic.TopicArn
		if _, err := c.Publish(ctx, p); err != nil {
			t.Fatalf("Publish: %v", err)
		}
	}
	ep.wait("Notification", 2)
	// A last message that matches both, so that everything before it has been handled.
	if _, err := c.Publish(ctx, &sns.PublishInput{TopicArn: topic.TopicArn, Message: aws.String(`{"order": {"status": "paid"}}`),
		MessageAttributes: map[string]types.MessageAttributeValue{"severity": str("high"), "count": num("12")}}); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	ep.wait("Notification", 4)
	time.Sleep(200 * time.Millisecond)
	var got []string
	ep.mu.Lock()
	for _, d := range ep.got {
		if d["Type"] == "Notification" {
			got = append(got, d["Message"].(string))
		}
	}
	ep.mu.Unlock()
	want := map[string]int{"critical": 1, `{"order": {"status": "paid"}}`: 3}
	counts := map[string]int{}
	for _, m := range got {
		counts[m]++
	}
	if len(counts) != len(want) || counts["critical"] != 1 || counts[`{"order": {"status": "paid"}}`] != 3 {
		t.Errorf("delivered %q; want critical once and the paid order thrice (body filter twice, attribute filter once)", got)
	}

	// MessageStructure json: per-protocol messages with a required default.
	_, err = c.Publish(ctx, &sns.PublishInput{TopicArn: topic.TopicArn, MessageStructure: aws.String("json"), Message: aws.String(`{"http": "x"}`)})
	if got := errCode(err); got != "InvalidParameter: Invalid parameter: Message Structure - No default entry in JSON message body" {
		t.Errorf("Publish json without default: %s", got)
	}
	if _, err := c.SetSubscriptionAttributes(ctx, &sns.SetSubscriptionAttributesInput{SubscriptionArn: aws.String(arns[0]),
		AttributeName: aws.String("FilterPolicy"), AttributeValue: aws.String("")}); err != nil {
		t.Fatalf("SetSubscriptionAttributes: %v", err)
	}
	if _, err := c.Publish(ctx, &sns.PublishInput{TopicArn: topic.TopicArn, MessageStructure: aws.String("json"),
		Message: aws.String(`{"default": "plain", "http": "for http"}`)}); err != nil {
		t.Fatalf("Publish json: %v", err)
	}
	if n, _ := ep.wait("Notification", 5); n["Message"] != "for http" {
		t.Errorf("json-structured message delivered as %v; want the http entry", n["Message"])
	}
	batch, err := c.PublishBatch(ctx, &sns.PublishBatchInput{TopicArn: topic.TopicArn, PublishBatchRequestEntries: []types.PublishBatchRequestEntry{
		{Id: aws.String("a"), Message: aws.String("one")}, {Id: aws.String("b"), Message: aws.String("")}}})
	if err != nil || len(batch.Successful) != 1 || len(batch.Failed) != 1 || aws.ToString(batch.Failed[0].Code) != "InvalidParameter" {
		t.Errorf("PublishBatch = %+v, %v; want one success and one InvalidParameter", batch, err)
	}
}

func TestRestartResumesDelivery(t *testing.T) {
	dir := t.TempDir()
	var mu sync.Mutex
	up := false
	delivered := make(chan map[string]any, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var doc map[string]any
		json.NewDecoder(r.Body).Decode(&doc)
		mu.Lock()
		ok := up
		mu.Unlock()
		if doc["Type"] == "Notification" && !ok {
			http.Error(w, "down", http.StatusServiceUnavailable)
			delivered <- map[string]any{"Type": "Refused"}
			return
		}
		delivered <- doc
	}))
	defer srv.Close()
	ctx := context.Background()
	var msgID string
	t.Run("before", func(t *testing.T) {
		e := testenv.New(t, testenv.Options{DataDir: dir})
		c := sns.NewFromConfig(e.Config)
		topic, err := c.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("durable"), Attributes: map[string]string{
			"DeliveryPolicy": `{"http":{"defaultHealthyRetryPolicy":{"minDelayTarget":1,"maxDelayTarget":1,"numRetries":20}}}`}})
		if err != nil {
			t.Fatalf("CreateTopic: %v", err)
		}
		if _, err := c.Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: aws.String("http"), Endpoint: aws.String(srv.URL)}); err != nil {
			t.Fatalf("Subscribe: %v", err)
		}
		conf := <-delivered
		if _, err := c.ConfirmSubscription(ctx, &sns.ConfirmSubscriptionInput{TopicArn: topic.TopicArn, Token: aws.String(conf["Token"].(string))}); err != nil {
			t.Fatalf("ConfirmSubscription: %v", err)
		}
		pub, err := c.Publish(ctx, &sns.PublishInput{TopicArn: topic.TopicArn, Message: aws.String("survive")})
		if err != nil {
			t.Fatalf("Publish: %v", err)
		}
		msgID = aws.ToString(pub.MessageId)
		// The first attempt fails; the server stops with the delivery pending.
		select {
		case d := <-delivered:
			if d["Type"] != "Refused" {
				t.Fatalf("endpoint got %v; want the refused notification", d)
			}
		case <-time.After(wait):
			t.Fatalf("no delivery attempt")
		}
	})
	mu.Lock()
	up = true
	mu.Unlock()
	t.Run("after", func(t *testing.T) {
		testenv.New(t, testenv.Options{DataDir: dir})
		for {
			select {
			case d := <-delivered:
				if d["Type"] == "Refused" {
					continue
				}
				if d["Type"] != "Notification" || d["MessageId"] != msgID || d["Message"] != "survive" {
					t.Fatalf("after restart, endpoint got %v; want the pending notification %s", d, msgID)
				}
				return
			case <-time.After(wait):
				t.Fatalf("the pending notification was not delivered after restart")
			}
		}
	})
}

func TestCLI(t *testing.T) {
	mail := smtptest.Start(t)
	e := testenv.New(t, testenv.Options{SMTPURL: mail.URL()})
	out := e.Run(t, testenv.V2, "sns", "create-topic", "--name", "cli-topic")
	var created struct{ TopicArn string }
	if err := json.Unmarshal([]byte(out), &created); err != nil || !strings.HasSuffix(created.TopicArn, ":cli-topic") {
		t.Fatalf("create-topic = %s (%v)", out, err)
	}
	out = e.Run(t, testenv.V2, "sns", "publish", "--topic-arn", created.TopicArn, "--subject", "From the CLI", "--message", "hello")
	var pub struct{ MessageId string }
	if err := json.Unmarshal([]byte(out), &pub); err != nil || pub.MessageId == "" {
		t.Fatalf("publish = %s (%v)", out, err)
	}
	out, err := e.RunErr(t, testenv.V2, "sns", "get-topic-attributes", "--topic-arn", created.TopicArn+"-missing")
	if err == nil || !strings.Contains(out, "NotFound") {
		t.Errorf("get-topic-attributes of a missing topic = %v\n%s; want NotFound", err, out)
	}
}

// BenchmarkPublishToMail measures Publish until the SMTP server has accepted the mail.
func BenchmarkPublishToMail(b *testing.B) {
	mail := smtptest.Start(b)
	e := testenv.New(b, testenv.Options{SMTPURL: mail.URL()})
	ctx := context.Background()
	c := sns.NewFromConfig(e.Config)
	topic, err := c.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("bench")})
	if err != nil {
		b.Fatalf("CreateTopic: %v", err)
	}
	if _, err := c.Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: aws.String("email"), Endpoint: aws.String("bench@example.com")}); err != nil {
		b.Fatalf("Subscribe: %v", err)
	}
	conf := mail.Wait(b, nil, wait)
	resp, err := http.Get(linkRe.FindString(conf.Body[strings.Index(conf.Body, "Confirm subscription"):]))
	if err != nil {
		b.Fatalf("confirm: %v", err)
	}
	resp.Body.Close()
	b.ResetTimer()
	for i := range b.N {
		subject := "bench " + strconv.Itoa(i)
		if _, err := c.Publish(ctx, &sns.PublishInput{TopicArn: topic.TopicArn, Subject: aws.String(subject), Message: aws.String("m")}); err != nil {
			b.Fatalf("Publish: %v", err)
		}
		mail.Wait(b, func(m smtptest.Message) bool { return m.Subject == subject }, wait)
	}
}

// An email-json subscription gets SNS's JSON documents by mail: the signed confirmation
// with its SubscribeURL, then each notification.
func TestEmailJSONSubscription(t *testing.T) {
	mail := smtptest.Start(t)
	e := testenv.New(t, testenv.Options{SMTPURL: mail.URL()})
	ctx := context.Background()
	c := sns.NewFromConfig(e.Config)
	topic, err := c.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("json-mail")})
	if err != nil {
		t.Fatalf("CreateTopic: %v", err)
	}
	if _, err := c.Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: aws.String("email-json"), Endpoint: aws.String("robot@example.com")}); err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	conf := mail.Wait(t, func(m smtptest.Message) bool { return m.To[0] == "robot@example.com" }, wait)
	var doc map[string]any
	if err := json.Unmarshal([]byte(strings.TrimSpace(conf.Body)), &doc); err != nil {
		t.Fatalf("confirmation mail body is not JSON: %v\n%s", err, conf.Body)
	}
	if doc["Type"] != "SubscriptionConfirmation" || doc["TopicArn"] != aws.ToString(topic.TopicArn) || doc["Token"] == "" {
		t.Fatalf("confirmation document = %v", doc)
	}
	verify(t, doc)
	resp, err := http.Get(doc["SubscribeURL"].(string))
	if err != nil {
		t.Fatalf("GET SubscribeURL: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("SubscribeURL answered %d", resp.StatusCode)
	}
	pub, err := c.Publish(ctx, &sns.PublishInput{TopicArn: topic.TopicArn, Subject: aws.String("json please"), Message: aws.String(`{"state":"ALARM"}`),
		MessageAttributes: map[string]types.MessageAttributeValue{"env": {DataType: aws.String("String"), StringValue: aws.String("prod")}}})
	if err != nil {
		t.Fatalf("Publish: %v", err)
	}
	n := mail.Wait(t, func(m smtptest.Message) bool { return m.Subject == "json please" }, wait)
	doc = nil
	if err := json.Unmarshal([]byte(strings.TrimSpace(n.Body)), &doc); err != nil {
		t.Fatalf("notification mail body is not JSON: %v\n%s", err, n.Body)
	}
	if doc["Type"] != "Notification" || doc["MessageId"] != aws.ToString(pub.MessageId) || doc["Message"] != `{"state":"ALARM"}` ||
		doc["Subject"] != "json please" || !strings.Contains(fmt.Sprint(doc["UnsubscribeURL"]), "unsubscribe") {
		t.Errorf("notification document = %v", doc)
	}
	if ma, _ := doc["MessageAttributes"].(map[string]any); ma["env"] == nil {
		t.Errorf("MessageAttributes = %v; want env", doc["MessageAttributes"])
	}
	verify(t, doc)
}

func TestPermissionsAndCounts(t *testing.T) {
	e := testenv.New(t)
	ctx := context.Background()
	c := sns.NewFromConfig(e.Config)
	topic, err := c.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("shared")})
	if err != nil {
		t.Fatalf("CreateTopic: %v", err)
	}
	arn := aws.ToString(topic.TopicArn)
	type statement struct {
		Sid       string
		Effect    string
		Principal struct{ AWS any }
		Action    any
		Resource  string
	}
	policy := func() map[string]statement {
		t.Helper()
		attrs, err := c.GetTopicAttributes(ctx, &sns.GetTopicAttributesInput{TopicArn: topic.TopicArn})
		if err != nil {
			t.Fatalf("GetTopicAttributes: %v", err)
		}
		var doc struct {
			Version   string
			Statement []statement
		}
		if err := json.Unmarshal([]byte(attrs.Attributes["Policy"]), &doc); err != nil {
			t.Fatalf("Policy is not JSON: %v\n%s", err, attrs.Attributes["Policy"])
		}
		out := map[string]statement{}
		for _, st := range doc.Statement {
			out[st.Sid] = st
		}
		return out
	}
	if _, err := c.AddPermission(ctx, &sns.AddPermissionInput{TopicArn: topic.TopicArn, Label: aws.String("one"),
		AWSAccountId: []string{"111122223333"}, ActionName: []string{"Publish"}}); err != nil {
		t.Fatalf("AddPermission: %v", err)
	}
	if _, err := c.AddPermission(ctx, &sns.AddPermissionInput{TopicArn: topic.TopicArn, Label: aws.String("two"),
		AWSAccountId: []string{"111122223333", "444455556666"}, ActionName: []string{"Publish", "Subscribe"}}); err != nil {
		t.Fatalf("AddPermission: %v", err)
	}
	p := policy()
	if _, ok := p["__default_statement_ID"]; !ok || len(p) != 3 {
		t.Errorf("policy statements = %v; want the default and one, two", p)
	}
	if got := p["one"]; got.Effect != "Allow" || got.Principal.AWS != "arn:aws:iam::111122223333:root" || got.Action != "SNS:Publish" || got.Resource != arn {
		t.Errorf("statement one = %+v; want Allow arn:aws:iam::111122223333:root SNS:Publish on %s", got, arn)
	}
	if got := p["two"]; fmt.Sprint(got.Principal.AWS) != "[arn:aws:iam::111122223333:root arn:aws:iam::444455556666:root]" ||
		fmt.Sprint(got.Action) != "[SNS:Publish SNS:Subscribe]" {
		t.Errorf("statement two = %+v; want both accounts and both actions as lists", got)
	}
	_, err = c.AddPermission(ctx, &sns.AddPermissionInput{TopicArn: topic.TopicArn, Label: aws.String("one"),
		AWSAccountId: []string{"111122223333"}, ActionName: []string{"Publish"}})
	if got := errCode(err); got != "InvalidParameter: Invalid parameter: Statement already exists" {
		t.Errorf("AddPermission(duplicate label): %s", got)
	}
	_, err = c.AddPermission(ctx, &sns.AddPermissionInput{TopicArn: topic.TopicArn, Label: aws.String("three"),
		AWSAccountId: []string{"111122223333"}, ActionName: []string{"DescribeEverything"}})
	if got := errCode(err); !strings.HasPrefix(got, "InvalidParameter: ") {
		t.Errorf("AddPermission(unknown action): %s; want InvalidParameter", got)
	}
	if _, err := c.RemovePermission(ctx, &sns.RemovePermissionInput{TopicArn: topic.TopicArn, Label: aws.String("one")}); err != nil {
		t.Fatalf("RemovePermission: %v", err)
	}
	if p := policy(); len(p) != 2 || p["one"].Sid != "" || p["two"].Sid != "two" {
		t.Errorf("policy after RemovePermission(one) = %v; want the default and two", p)
	}
	_, err = c.RemovePermission(ctx, &sns.RemovePermissionInput{TopicArn: topic.TopicArn, Label: aws.String("one")})
	if got := errCode(err); !strings.HasPrefix(got, "InvalidParameter: ") {
		t.Errorf("RemovePermission(unknown label): %s; want InvalidParameter", got)
	}
	_, err = c.AddPermission(ctx, &sns.AddPermissionInput{TopicArn: aws.String(arn + "-missing"), Label: aws.String("x"),
		AWSAccountId: []string{"111122223333"}, ActionName: []string{"Publish"}})
	if got := errCode(err); got != "NotFound: Topic does not exist" {
		t.Errorf("AddPermission(missing topic): %s", got)
	}

	// SubscriptionsDeleted counts unsubscribed subscriptions.
	var subs []string
	for _, addr := range []string{"a@example.com", "b@example.com", "c@example.com"} {
		out, err := c.Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: aws.String("email"), Endpoint: aws.String(addr),
			ReturnSubscriptionArn: true})
		if err != nil {
			t.Fatalf("Subscribe: %v", err)
		}
		subs = append(subs, aws.ToString(out.SubscriptionArn))
	}
	for _, sub := range subs[:2] {
		if _, err := c.Unsubscribe(ctx, &sns.UnsubscribeInput{SubscriptionArn: aws.String(sub)}); err != nil {
			t.Fatalf("Unsubscribe: %v", err)
		}
	}
	attrs, err := c.GetTopicAttributes(ctx, &sns.GetTopicAttributesInput{TopicArn: topic.TopicArn})
	if err != nil {
		t.Fatalf("GetTopicAttributes: %v", err)
	}
	if attrs.Attributes["SubscriptionsDeleted"] != "2" || attrs.Attributes["SubscriptionsPending"] != "1" {
		t.Errorf("SubscriptionsDeleted, SubscriptionsPending = %q, %q; want 2, 1", attrs.Attributes["SubscriptionsDeleted"], attrs.Attributes["SubscriptionsPending"])
	}

	// Data protection policies.
	dpp := `{"Name":"basic","Version":"2021-06-01","Statement":[]}`
	if _, err := c.PutDataProtectionPolicy(ctx, &sns.PutDataProtectionPolicyInput{ResourceArn: topic.TopicArn, DataProtectionPolicy: aws.String(dpp)}); err != nil {
		t.Fatalf("PutDataProtectionPolicy: %v", err)
	}
	got, err := c.GetDataProtectionPolicy(ctx, &sns.GetDataProtectionPolicyInput{ResourceArn: topic.TopicArn})
	if err != nil || aws.ToString(got.DataProtectionPolicy) != dpp {
		t.Errorf("GetDataProtectionPolicy = %v, %v; want %s", got, err, dpp)
	}
	_, err = c.PutDataProtectionPolicy(ctx, &sns.PutDataProtectionPolicyInput{ResourceArn: topic.TopicArn, DataProtectionPolicy: aws.String("{")})
	if got := errCode(err); !strings.HasPrefix(got, "InvalidParameter: ") {
		t.Errorf("PutDataProtectionPolicy(bad JSON): %s; want InvalidParameter", got)
	}
}
