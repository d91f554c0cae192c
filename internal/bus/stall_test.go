package bus_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/bannin/bannin/internal/testenv"
)

// hangServer is an HTTP endpoint that never answers: each call waits until its client
// gives up (or the test ends).
type hangServer struct {
	mu      sync.Mutex
	started int
	ended   int // calls the client abandoned
	entered chan struct{}
	release chan struct{}
}

func newHangServer(t *testing.T) (*hangServer, *httptest.Server) {
	h := &hangServer{entered: make(chan struct{}, 10), release: make(chan struct{})}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The server notices a client going away only once it has read the request.
		_, _ = io.Copy(io.Discard, r.Body)
		h.mu.Lock()
		h.started++
		h.mu.Unlock()
		h.entered <- struct{}{}
		select {
		case <-r.Context().Done():
			h.mu.Lock()
			h.ended++
			h.mu.Unlock()
		case <-h.release:
		}
	}))
	t.Cleanup(srv.Close)
	return h, srv
}

func (h *hangServer) counts() (started, ended int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.started, h.ended
}

// An API destination that never answers delays neither the delivery of other rules'
// targets (a log group, another API destination) nor its own retries: the stream
// consumer only queues API destination calls, which are sent apart from it, and a call
// is abandoned after EventBridge's 5 seconds.
func TestHangingAPIDestinationStallsNothing(t *testing.T) {
	hang, hangSrv := newHangServer(t)
	var mu sync.Mutex
	fastCalls := 0
	fastSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		fastCalls++
		mu.Unlock()
	}))
	defer fastSrv.Close()
	clk := newFakeClock()
	e := testenv.New(t, testenv.Options{Clock: clk.Now})
	t.Cleanup(func() { close(hang.release) })
	eb := eventbridge.NewFromConfig(e.Config)
	cwl := cloudwatchlogs.NewFromConfig(e.Config)
	ctx := context.Background()

	group := "/aws/events/other"
	if _, err := cwl.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(group)}); err != nil {
		t.Fatalf("CreateLogGroup: %v", err)
	}
	conn, err := eb.CreateConnection(ctx, &eventbridge.CreateConnectionInput{Name: aws.String("key"), AuthorizationType: types.ConnectionAuthorizationTypeApiKey,
		AuthParameters: &types.CreateConnectionAuthRequestParameters{ApiKeyAuthParameters: &types.CreateConnectionApiKeyAuthRequestParameters{
			ApiKeyName: aws.String("x-api-key"), ApiKeyValue: aws.String("k")}}})
	if err != nil {
		t.Fatalf("CreateConnection: %v", err)
	}
	rule := func(name, source string, target types.Target) {
		t.Helper()
		if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String(name), EventPattern: aws.String(`{"source":["` + source + `"]}`)}); err != nil {
			t.Fatalf("PutRule %s: %v", name, err)
		}
		out, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String(name), Targets: []types.Target{target}})
		if err != nil || out.FailedEntryCount != 0 {
			t.Fatalf("PutTargets %s = %+v, %v", name, out, err)
		}
	}
	for _, d := range []struct{ name, url string }{{"hang", hangSrv.URL}, {"fast", fastSrv.URL}} {
		dest, err := eb.CreateApiDestination(ctx, &eventbridge.CreateApiDestinationInput{Name: aws.String(d.name), ConnectionArn: conn.ConnectionArn,
			InvocationEndpoint: aws.String(d.url), HttpMethod: types.ApiDestinationHttpMethodPost, InvocationRateLimitPerSecond: aws.Int32(1)})
		if err != nil {
			t.Fatalf("CreateApiDestination %s: %v", d.name, err)
		}
		rule("to-"+d.name, "my."+d.name, types.Target{Id: aws.String(d.name), Arn: dest.ApiDestinationArn,
			RetryPolicy: &types.RetryPolicy{MaximumRetryAttempts: aws.Int32(3)}})
	}
	rule("to-logs", "my.logs", types.Target{Id: aws.String("logs"), Arn: aws.String("arn:aws:logs:us-east-1:123456789012:log-group:" + group)})
	put := func(source string) {
		t.Helper()
		out, err := eb.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{Source: aws.String(source),
			DetailType: aws.String("Test"), Detail: aws.String(`{}`)}}})
		if err != nil || out.FailedEntryCount != 0 {
			t.Fatalf("PutEvents(%s) = %+v, %v", source, out, err)
		}
	}

	put("my.hang")
	select {
	case <-hang.entered:
	case <-time.After(20 * time.Second):
		t.Fatal("timed out waiting for the call to the hanging API destination")
	}
	// Two more events for the hanging destination queue behind the first (rate 1/s).
	put("my.hang")
	put("my.hang")
	put("my.logs")
	put("my.fast")
	waitFor(t, "the log event and the other API destination's call", nil, 0, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return fastCalls == 1 && len(logEvents(t, cwl, group)) == 1
	})
	if _, ended := hang.counts(); ended != 0 {
		t.Errorf("the other targets were delivered after the hanging call ended; want while it was still waiting")
	}
	// The hanging call is abandoned (after 5 s) and retried.
	waitFor(t, "the hanging call abandoned and retried", clk, time.Second, func() bool {
		started, ended := hang.counts()
		return ended >= 1 && started >= 2
	})
}
