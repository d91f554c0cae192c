package notify_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/configservice"
	cstypes "github.com/aws/aws-sdk-go-v2/service/configservice/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/bannin/bannin/internal/testenv"
)

// startRecorder records every supported type, delivering to a bucket.
func startRecorder(t *testing.T, e *testenv.Env) *configservice.Client {
	t.Helper()
	ctx := context.Background()
	cs := configservice.NewFromConfig(e.Config)
	if _, err := e.S3().CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("config-bucket")}); err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}
	if _, err := cs.PutConfigurationRecorder(ctx, &configservice.PutConfigurationRecorderInput{ConfigurationRecorder: &cstypes.ConfigurationRecorder{
		Name: aws.String("default"), RoleARN: aws.String("arn:aws:iam::" + e.Account + ":role/config")}}); err != nil {
		t.Fatalf("PutConfigurationRecorder: %v", err)
	}
	if _, err := cs.PutDeliveryChannel(ctx, &configservice.PutDeliveryChannelInput{DeliveryChannel: &cstypes.DeliveryChannel{
		Name: aws.String("default"), S3BucketName: aws.String("config-bucket")}}); err != nil {
		t.Fatalf("PutDeliveryChannel: %v", err)
	}
	if _, err := cs.StartConfigurationRecorder(ctx, &configservice.StartConfigurationRecorderInput{ConfigurationRecorderName: aws.String("default")}); err != nil {
		t.Fatalf("StartConfigurationRecorder: %v", err)
	}
	return cs
}

// The confirmation token and an HTTP endpoint's password stay out of AWS Config's items
// and out of List output; GetSubscriptionAttributes, as in AWS, shows the endpoint whole.
// A token confirms once.
func TestSubscriptionSecrets(t *testing.T) {
	e := testenv.New(t)
	ctx := context.Background()
	cs := startRecorder(t, e)
	c := sns.NewFromConfig(e.Config)
	ep := newEndpoint(t)
	u, _ := url.Parse(ep.srv.URL + "/sns")
	u.User = url.UserPassword("hook", "s3cret")
	endpoint := u.String()
	masked := strings.Replace(endpoint, "s3cret", "****", 1)
	topic, err := c.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("secrets")})
	if err != nil {
		t.Fatalf("CreateTopic: %v", err)
	}
	sub, err := c.Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: aws.String("http"), Endpoint: aws.String(endpoint),
		ReturnSubscriptionArn: true})
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	conf, _ := ep.wait("SubscriptionConfirmation", 1)
	token, _ := conf["Token"].(string)
	if token == "" {
		t.Fatalf("confirmation = %v; want a Token", conf)
	}

	byTopic, err := c.ListSubscriptionsByTopic(ctx, &sns.ListSubscriptionsByTopicInput{TopicArn: topic.TopicArn})
	if err != nil || len(byTopic.Subscriptions) != 1 {
		t.Fatalf("ListSubscriptionsByTopic = %v, %v", byTopic, err)
	}
	if got := aws.ToString(byTopic.Subscriptions[0].Endpoint); got != masked {
		t.Errorf("ListSubscriptionsByTopic Endpoint = %q; want %q", got, masked)
	}
	all, err := c.ListSubscriptions(ctx, &sns.ListSubscriptionsInput{})
	if err != nil || len(all.Subscriptions) != 1 {
		t.Fatalf("ListSubscriptions = %v, %v", all, err)
	}
	if got := aws.ToString(all.Subscriptions[0].Endpoint); got != masked {
		t.Errorf("ListSubscriptions Endpoint = %q; want %q", got, masked)
	}
	attrs, err := c.GetSubscriptionAttributes(ctx, &sns.GetSubscriptionAttributesInput{SubscriptionArn: sub.SubscriptionArn})
	if err != nil || attrs.Attributes["Endpoint"] != endpoint {
		t.Errorf("GetSubscriptionAttributes Endpoint = %q, %v; want %q", attrs.Attributes["Endpoint"], err, endpoint)
	}

	if _, err := c.ConfirmSubscription(ctx, &sns.ConfirmSubscriptionInput{TopicArn: topic.TopicArn, Token: aws.String(token)}); err != nil {
		t.Fatalf("ConfirmSubscription: %v", err)
	}
	if _, err := c.ConfirmSubscription(ctx, &sns.ConfirmSubscriptionInput{TopicArn: topic.TopicArn, Token: aws.String(token)}); !strings.HasPrefix(errCode(err), "InvalidParameter") {
		t.Errorf("ConfirmSubscription with the used token = %v; want InvalidParameter", errCode(err))
	}

	// Both items (pending, confirmed) are recorded without the token or the password.
	var items []cstypes.ConfigurationItem
	deadline := time.Now().Add(wait)
	for len(items) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("configuration items of the subscription = %d; want 2", len(items))
		}
		time.Sleep(20 * time.Millisecond)
		h, err := cs.GetResourceConfigHistory(ctx, &configservice.GetResourceConfigHistoryInput{
			ResourceType: "AWS::SNS::Subscription", ResourceId: sub.SubscriptionArn})
		if err == nil {
			items = h.ConfigurationItems
		}
	}
	pending := 0
	for _, it := range items {
		cfg := aws.ToString(it.Configuration)
		if strings.Contains(cfg, "s3cret") || strings.Contains(cfg, token) || strings.Contains(cfg, `"Token"`) {
			t.Errorf("configuration item %s = %s; want neither the password nor the token", aws.ToString(it.ConfigurationStateId), cfg)
		}
		var doc map[string]any
		if err := json.Unmarshal([]byte(cfg), &doc); err != nil {
			t.Fatalf("configuration %q: %v", cfg, err)
		}
		if doc["Endpoint"] != masked || doc["TopicArn"] != aws.ToString(topic.TopicArn) || doc["Protocol"] != "http" {
			t.Errorf("configuration = %v; want Endpoint %q, TopicArn, Protocol http", doc, masked)
		}
		if doc["PendingConfirmation"] == true {
			pending++
		}
	}
	if pending != 1 {
		t.Errorf("items with PendingConfirmation = %d; want 1 (of %d)", pending, len(items))
	}

	// The topic's item has AWS Config's shape: attributes at the top level with TopicArn
	// and Owner.
	h, err := cs.GetResourceConfigHistory(ctx, &configservice.GetResourceConfigHistoryInput{ResourceType: "AWS::SNS::Topic", ResourceId: aws.String("secrets")})
	if err != nil || len(h.ConfigurationItems) == 0 {
		t.Fatalf("GetResourceConfigHistory topic = %v, %v", h, err)
	}
	var doc map[string]any
	json.Unmarshal([]byte(aws.ToString(h.ConfigurationItems[0].Configuration)), &doc)
	if doc["TopicArn"] != aws.ToString(topic.TopicArn) || doc["Owner"] != e.Account || doc["Attributes"] != nil {
		t.Errorf("topic configuration = %v; want TopicArn, Owner and the attributes at the top level", doc)
	}
}

// Unsubscribing a confirmed HTTP subscription sends an UnsubscribeConfirmation whose
// SubscribeURL restores it, as in AWS: the same ARN, confirmed, delivered to again.
func TestUnsubscribeConfirmationRestores(t *testing.T) {
	e := testenv.New(t)
	ctx := context.Background()
	c := sns.NewFromConfig(e.Config)
	ep := newEndpoint(t)
	topic, err := c.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("restore")})
	if err != nil {
		t.Fatalf("CreateTopic: %v", err)
	}
	sub, err := c.Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: aws.String("http"), Endpoint: aws.String(ep.srv.URL + "/sns"),
		ReturnSubscriptionArn: true, Attributes: map[string]string{"RawMessageDelivery": "true"}})
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	conf, _ := ep.wait("SubscriptionConfirmation", 1)
	get := func(link string) string {
		t.Helper()
		resp, err := http.Get(link)
		if err != nil {
			t.Fatalf("GET %s: %v", link, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s = %d\n%s", link, resp.StatusCode, body)
		}
		return string(body)
	}
	get(conf["SubscribeURL"].(string))
	if _, err := c.Unsubscribe(ctx, &sns.UnsubscribeInput{SubscriptionArn: sub.SubscriptionArn}); err != nil {
		t.Fatalf("Unsubscribe: %v", err)
	}
	u, _ := ep.wait("UnsubscribeConfirmation", 1)
	link, _ := u["SubscribeURL"].(string)
	if link == "" {
		t.Fatalf("UnsubscribeConfirmation = %v; want a SubscribeURL", u)
	}
	if body := get(link); !strings.Contains(body, aws.ToString(sub.SubscriptionArn)) {
		t.Errorf("restore link answered %s; want the subscription's ARN", body)
	}
	attrs, err := c.GetSubscriptionAttributes(ctx, &sns.GetSubscriptionAttributesInput{SubscriptionArn: sub.SubscriptionArn})
	if err != nil || attrs.Attributes["PendingConfirmation"] != "false" || attrs.Attributes["RawMessageDelivery"] != "true" {
		t.Fatalf("GetSubscriptionAttributes after restore = %v, %v; want confirmed, RawMessageDelivery kept", attrs, errCode(err))
	}
	if _, err := c.Publish(ctx, &sns.PublishInput{TopicArn: topic.TopicArn, Message: aws.String("back again")}); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	if r, _ := ep.wait("Raw", 1); r["Message"] != "back again" {
		t.Errorf("delivery after restore = %v", r)
	}
	// The link restores once.
	resp, err := http.Get(link)
	if err != nil {
		t.Fatalf("GET %s: %v", link, err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		t.Errorf("second GET of the restore link = %d; want refused", resp.StatusCode)
	}
}

// What bannin cannot honour is refused: RedrivePolicy and SubscriptionRoleArn (no SQS,
// no Firehose), and mail or HTTP subscriptions to FIFO topics (AWS's error).
func TestRefusedSubscriptions(t *testing.T) {
	e := testenv.New(t)
	ctx := context.Background()
	c := sns.NewFromConfig(e.Config)
	topic, err := c.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("plain")})
	if err != nil {
		t.Fatalf("CreateTopic: %v", err)
	}
	for _, attr := range []map[string]string{
		{"RedrivePolicy": `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:` + e.Account + `:dlq"}`},
		{"SubscriptionRoleArn": "arn:aws:iam::" + e.Account + ":role/firehose"},
	} {
		_, err := c.Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: aws.String("email"),
			Endpoint: aws.String("ops@example.com"), Attributes: attr})
		if got := errCode(err); !strings.HasPrefix(got, "InvalidParameter") || !strings.Contains(got, "SQS") {
			t.Errorf("Subscribe with %v = %q; want InvalidParameter saying bannin has no SQS", attr, got)
		}
	}
	sub, err := c.Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: aws.String("email"),
		Endpoint: aws.String("ops@example.com"), ReturnSubscriptionArn: true})
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	_, err = c.SetSubscriptionAttributes(ctx, &sns.SetSubscriptionAttributesInput{SubscriptionArn: sub.SubscriptionArn,
		AttributeName: aws.String("RedrivePolicy"), AttributeValue: aws.String(`{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:` + e.Account + `:dlq"}`)})
	if got := errCode(err); !strings.HasPrefix(got, "InvalidParameter") {
		t.Errorf("SetSubscriptionAttributes RedrivePolicy = %q; want InvalidParameter", got)
	}

	fifo, err := c.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("orders.fifo"), Attributes: map[string]string{"FifoTopic": "true"}})
	if err != nil {
		t.Fatalf("CreateTopic fifo: %v", err)
	}
	for _, tc := range []struct{ protocol, endpoint string }{{"email", "ops@example.com"}, {"https", "https://example.com/hook"}} {
		_, err := c.Subscribe(ctx, &sns.SubscribeInput{TopicArn: fifo.TopicArn, Protocol: aws.String(tc.protocol), Endpoint: aws.String(tc.endpoint)})
		if got, want := errCode(err), "InvalidParameter: Invalid parameter: Invalid protocol type: "+tc.protocol; got != want {
			t.Errorf("Subscribe %s to a FIFO topic = %q; want %q", tc.protocol, got, want)
		}
	}
}
