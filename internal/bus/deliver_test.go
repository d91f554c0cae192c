package bus_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/bannin/bannin/internal/testenv"
)

// fakeClock is a clock tests move by hand.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.ns.Store(time.Now().UTC().Truncate(time.Minute).UnixNano())
	return c
}
func (c *fakeClock) Now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *fakeClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// waitFor polls cond (advancing clk, if any, by step each time) until it holds or
// 20 seconds have passed.
func waitFor(t *testing.T, what string, clk *fakeClock, step time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		if clk != nil {
			clk.Advance(step)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestPutEventsValidation(t *testing.T) {
	e := testenv.New(t)
	eb := eventbridge.NewFromConfig(e.Config)
	ctx := context.Background()
	out, err := eb.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{
		{Source: aws.String("my.app"), DetailType: aws.String("order"), Detail: aws.String(`{"id": 1}`)},
		{DetailType: aws.String("order"), Detail: aws.String(`{}`)},
		{Source: aws.String("my.app"), Detail: aws.String(`{}`)},
		{Source: aws.String("my.app"), DetailType: aws.String("order")},
		{Source: aws.String("my.app"), DetailType: aws.String("order"), Detail: aws.String(`[1]`)},
		{Source: aws.String("my.app"), DetailType: aws.String("order"), Detail: aws.String(`{"a":`)},
		{Source: aws.String("aws.s3"), DetailType: aws.String("order"), Detail: aws.String(`{}`)},
		{Source: aws.String("my.app"), DetailType: aws.String("order"), Detail: aws.String(`{}`), EventBusName: aws.String("nope")},
		{Source: aws.String("my.app"), DetailType: aws.String("order"), Detail: aws.String(`{}`),
			EventBusName: aws.String("arn:aws:events:us-east-1:123456789012:event-bus/default")},
	}})
	if err != nil {
		t.Fatalf("PutEvents: %v", err)
	}
	want := []string{"", "InvalidArgument", "InvalidArgument", "InvalidArgument", "MalformedDetail", "MalformedDetail",
		"NotAuthorizedForSourceException", "ResourceNotFoundException", ""}
	if len(out.Entries) != len(want) || out.FailedEntryCount != 7 {
		t.Fatalf("PutEvents = %d entries, %d failed; want %d, 7", len(out.Entries), out.FailedEntryCount, len(want))
	}
	for i, w := range want {
		got := out.Entries[i]
		if aws.ToString(got.ErrorCode) != w || (w == "") != (got.EventId != nil) || (w != "" && aws.ToString(got.ErrorMessage) == "") {
			t.Errorf("entry %d = %s %q id %v; want code %q", i, aws.ToString(got.ErrorCode), aws.ToString(got.ErrorMessage), aws.ToString(got.EventId), w)
		}
	}
	var many []types.PutEventsRequestEntry
	for range 11 {
		many = append(many, types.PutEventsRequestEntry{Source: aws.String("a"), DetailType: aws.String("b"), Detail: aws.String("{}")})
	}
	_, err = eb.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: many})
	wantErr(t, "PutEvents with 11 entries", err, "ValidationException", "entries")
	big := strings.Repeat("x", 200*1024)
	_, err = eb.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{
		{Source: aws.String("a"), DetailType: aws.String("b"), Detail: aws.String(`{"x":"` + big + `"}`)},
		{Source: aws.String("a"), DetailType: aws.String("b"), Detail: aws.String(`{"x":"` + big + `"}`)},
	}})
	wantErr(t, "PutEvents over 256 KB", err, "ValidationException", "over the limit")
}

// logEvents returns the messages of a log group.
func logEvents(t *testing.T, cwl *cloudwatchlogs.Client, group string) []string {
	t.Helper()
	out, err := cwl.FilterLogEvents(context.Background(), &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String(group)})
	if err != nil {
		t.Fatalf("FilterLogEvents(%s): %v", group, err)
	}
	var msgs []string
	for _, ev := range out.Events {
		msgs = append(msgs, aws.ToString(ev.Message))
	}
	return msgs
}

// onlyLogEvent waits for a log group's first events and returns the one message it
// must then hold.
func onlyLogEvent(t *testing.T, cwl *cloudwatchlogs.Client, group, what string) string {
	t.Helper()
	var msgs []string
	waitFor(t, what+" in the log group", nil, 0, func() bool {
		msgs = logEvents(t, cwl, group)
		return len(msgs) > 0
	})
	if len(msgs) != 1 {
		t.Fatalf("log group has %d events; want 1: %q", len(msgs), msgs)
	}
	return msgs[0]
}

func TestCloudTrailEventToLogGroup(t *testing.T) {
	e := testenv.New(t)
	eb := eventbridge.NewFromConfig(e.Config)
	cwl := cloudwatchlogs.NewFromConfig(e.Config)
	s3c := e.S3()
	ctx := context.Background()
	group := "/aws/events/bucket-policy"
	if _, err := cwl.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(group)}); err != nil {
		t.Fatalf("CreateLogGroup: %v", err)
	}
	rule, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("bucket-policy"), EventPattern: aws.String(bucketPolicyPattern)})
	if err != nil {
		t.Fatalf("PutRule: %v", err)
	}
	groupARN := "arn:aws:logs:us-east-1:123456789012:log-group:" + group
	if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("bucket-policy"),
		Targets: []types.Target{{Id: aws.String("logs"), Arn: aws.String(groupARN)}}}); err != nil {
		t.Fatalf("PutTargets: %v", err)
	}
	policy := func(b string) string {
		return `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:DeleteObject","Resource":"arn:aws:s3:::` + b + `/*"}]}`
	}
	for _, b := range []string{"other-bucket", "audit-logs"} {
		if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			t.Fatalf("CreateBucket(%s): %v", b, err)
		}
		if _, err := s3c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(b), Policy: aws.String(policy(b))}); err != nil {
			t.Fatalf("PutBucketPolicy(%s): %v", b, err)
		}
	}
	// The stream is consumed in order: other-bucket's call was handled before audit-logs's.
	msg := onlyLogEvent(t, cwl, group, "the bucket policy event")
	var ev struct {
		Version    string   `json:"version"`
		ID         string   `json:"id"`
		DetailType string   `json:"detail-type"`
		Source     string   `json:"source"`
		Account    string   `json:"account"`
		Region     string   `json:"region"`
		Time       string   `json:"time"`
		Resources  []string `json:"resources"`
		Detail     struct {
			EventSource       string         `json:"eventSource"`
			EventName         string         `json:"eventName"`
			EventTime         string         `json:"eventTime"`
			RequestParameters map[string]any `json:"requestParameters"`
			UserIdentity      map[string]any `json:"userIdentity"`
		} `json:"detail"`
	}
	if err := json.Unmarshal([]byte(msg), &ev); err != nil {
		t.Fatalf("log message %q: %v", msg, err)
	}
	if ev.Version != "0" || ev.ID == "" || ev.DetailType != "AWS API Call via CloudTrail" || ev.Source != "aws.s3" ||
		ev.Account != "123456789012" || ev.Region != "us-east-1" || ev.Resources == nil || len(ev.Resources) != 0 ||
		ev.Detail.EventName != "PutBucketPolicy" || ev.Detail.RequestParameters["bucketName"] != "audit-logs" || ev.Detail.UserIdentity == nil {
		t.Errorf("delivered event = %s; want the CloudTrail-shaped PutBucketPolicy event of audit-logs", msg)
	}
	if et, err := time.Parse(time.RFC3339, ev.Detail.EventTime); err != nil || ev.Time != et.UTC().Format("2006-01-02T15:04:05Z") {
		t.Errorf("event time %q; want the record's eventTime %q", ev.Time, ev.Detail.EventTime)
	}
	streams, err := cwl.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String(group)})
	if err != nil || len(streams.LogStreams) != 1 || aws.ToString(streams.LogStreams[0].LogStreamName) != ev.ID {
		t.Errorf("DescribeLogStreams = %+v, %v; want one stream named after event %s", streams, err, ev.ID)
	}
	names, err := eb.ListRuleNamesByTarget(ctx, &eventbridge.ListRuleNamesByTargetInput{TargetArn: aws.String(groupARN)})
	if err != nil || len(names.RuleNames) != 1 || names.RuleNames[0] != "bucket-policy" {
		t.Errorf("ListRuleNamesByTarget = %+v, %v; want [bucket-policy] (rule %s)", names, err, aws.ToString(rule.RuleArn))
	}
}

func TestAPIDestinationThroughAnotherBusWithRetries(t *testing.T) {
	var mu sync.Mutex
	var calls []*http.Request
	var bodies []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		calls = append(calls, r)
		bodies = append(bodies, string(b))
		n := len(calls)
		mu.Unlock()
		if n <= 2 {
			http.Error(w, "try later", http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	clk := newFakeClock()
	e := testenv.New(t, testenv.Options{Clock: clk.Now})
	eb := eventbridge.NewFromConfig(e.Config)
	ctx := context.Background()

	conn, err := eb.CreateConnection(ctx, &eventbridge.CreateConnectionInput{Name: aws.String("orders-api"), AuthorizationType: types.ConnectionAuthorizationTypeApiKey,
		AuthParameters: &types.CreateConnectionAuthRequestParameters{ApiKeyAuthParameters: &types.CreateConnectionApiKeyAuthRequestParameters{
			ApiKeyName: aws.String("x-api-key"), ApiKeyValue: aws.String("s3cret")}}})
	if err != nil {
		t.Fatalf("CreateConnection: %v", err)
	}
	desc, err := eb.DescribeConnection(ctx, &eventbridge.DescribeConnectionInput{Name: aws.String("orders-api")})
	if err != nil || desc.ConnectionState != types.ConnectionStateAuthorized || desc.AuthParameters == nil ||
		aws.ToString(desc.AuthParameters.ApiKeyAuthParameters.ApiKeyName) != "x-api-key" {
		t.Fatalf("DescribeConnection = %+v, %v", desc, err)
	}
	dest, err := eb.CreateApiDestination(ctx, &eventbridge.CreateApiDestinationInput{Name: aws.String("orders"), ConnectionArn: conn.ConnectionArn,
		InvocationEndpoint: aws.String(srv.URL + "/orders/*"), HttpMethod: types.ApiDestinationHttpMethodPost})
	if err != nil {
		t.Fatalf("CreateApiDestination: %v", err)
	}
	list, err := eb.ListApiDestinations(ctx, &eventbridge.ListApiDestinationsInput{})
	if err != nil || len(list.ApiDestinations) != 1 {
		t.Fatalf("ListApiDestinations = %+v, %v", list, err)
	}
	if _, err := eb.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String("orders")}); err != nil {
		t.Fatalf("CreateEventBus: %v", err)
	}
	pattern := aws.String(`{"source":["my.shop"]}`)
	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("forward"), EventPattern: pattern}); err != nil {
		t.Fatalf("PutRule forward: %v", err)
	}
	if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("forward"), Targets: []types.Target{{Id: aws.String("bus"),
		Arn: aws.String("arn:aws:events:us-east-1:123456789012:event-bus/orders")}}}); err != nil {
		t.Fatalf("PutTargets forward: %v", err)
	}
	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("call"), EventBusName: aws.String("orders"), EventPattern: pattern}); err != nil {
		t.Fatalf("PutRule call: %v", err)
	}
	if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("call"), EventBusName: aws.String("orders"), Targets: []types.Target{{
		Id: aws.String("api"), Arn: dest.ApiDestinationArn, RetryPolicy: &types.RetryPolicy{MaximumRetryAttempts: aws.Int32(5)},
		HttpParameters: &types.HttpParameters{PathParameterValues: []string{"$.detail.order"}, QueryStringParameters: map[string]string{"kind": "$.detail-type"}}}}}); err != nil {
		t.Fatalf("PutTargets call: %v", err)
	}
	put, err := eb.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{Source: aws.String("my.shop"),
		DetailType: aws.String("OrderPlaced"), Detail: aws.String(`{"order":"o-17"}`)}}})
	if err != nil || put.FailedEntryCount != 0 {
		t.Fatalf("PutEvents = %+v, %v", put, err)
	}
	waitFor(t, "the third call to the API destination", clk, 5*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(calls) >= 3
	})
	time.Sleep(300 * time.Millisecond) // a fourth call would be a bug; give it a chance to show
	mu.Lock()
	defer mu.Unlock()
	if len(calls) != 3 {
		t.Errorf("API destination called %d times; want 3 (two failures, one success)", len(calls))
	}
	for i, r := range calls {
		if r.Header.Get("x-api-key") != "s3cret" || r.URL.Path != "/orders/o-17" || r.URL.Query().Get("kind") != "OrderPlaced" ||
			!strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
			t.Errorf("call %d: %s %s headers %v; want POST /orders/o-17?kind=OrderPlaced with the API key", i, r.Method, r.URL, r.Header)
		}
		var ev map[string]any
		if err := json.Unmarshal([]byte(bodies[i]), &ev); err != nil || ev["id"] != aws.ToString(put.Entries[0].EventId) || ev["source"] != "my.shop" {
			t.Errorf("call %d body = %s; want event %s", i, bodies[i], aws.ToString(put.Entries[0].EventId))
		}
	}
}

func TestScheduledRule(t *testing.T) {
	clk := newFakeClock()
	e := testenv.New(t, testenv.Options{Clock: clk.Now})
	eb := eventbridge.NewFromConfig(e.Config)
	cwl := cloudwatchlogs.NewFromConfig(e.Config)
	ctx := context.Background()
	group := "/aws/events/ticks"
	if _, err := cwl.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(group)}); err != nil {
		t.Fatalf("CreateLogGroup: %v", err)
	}
	rule, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("every-5"), ScheduleExpression: aws.String("rate(5 minutes)")})
	if err != nil {
		t.Fatalf("PutRule: %v", err)
	}
	if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("every-5"), Targets: []types.Target{{Id: aws.String("logs"),
		Arn: aws.String("arn:aws:logs:us-east-1:123456789012:log-group:" + group)}}}); err != nil {
		t.Fatalf("PutTargets: %v", err)
	}
	// Run looks at the clock once a second; the clock moves two minutes a second, well
	// inside the 15 minutes of skew request signatures tolerate.
	var msgs []string
	deadline := time.Now().Add(20 * time.Second)
	for len(msgs) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("timed out waiting for a scheduled event")
		}
		clk.Advance(2 * time.Minute)
		time.Sleep(1100 * time.Millisecond)
		msgs = logEvents(t, cwl, group)
	}
	var ev struct {
		DetailType string          `json:"detail-type"`
		Source     string          `json:"source"`
		Resources  []string        `json:"resources"`
		Detail     json.RawMessage `json:"detail"`
	}
	if err := json.Unmarshal([]byte(msgs[0]), &ev); err != nil || ev.DetailType != "Scheduled Event" || ev.Source != "aws.events" ||
		len(ev.Resources) != 1 || ev.Resources[0] != aws.ToString(rule.RuleArn) || string(ev.Detail) != "{}" {
		t.Errorf("scheduled event = %s (%v); want a Scheduled Event from aws.events for %s", msgs[0], err, aws.ToString(rule.RuleArn))
	}
}
