package bus_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/smithy-go"

	"github.com/bannin/bannin/internal/testenv"
)

// authServer is an API behind BASIC or OAuth client-credentials authorization, with the
// token endpoint an OAuth connection asks.
type authServer struct {
	mu sync.Mutex
	// password is what /basic accepts; valid the bearer tokens /oauth accepts.
	password string
	valid    map[string]bool
	issued   int
	// tokenForms are the forms the token endpoint was sent.
	tokenForms []string
	// calls are the accepted calls by path, refused the 401 answers.
	calls   map[string]int
	refused int
}

func newAuthServer(t *testing.T) (*authServer, *httptest.Server) {
	a := &authServer{password: "open-sesame", valid: map[string]bool{}, calls: map[string]int{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		defer a.mu.Unlock()
		switch r.URL.Path {
		case "/token":
			id, secret, ok := r.BasicAuth()
			r.ParseForm()
			a.tokenForms = append(a.tokenForms, r.PostForm.Encode())
			if !ok || id != "client-1" || secret != "client-secret" || r.Method != http.MethodPost {
				http.Error(w, "bad client", http.StatusUnauthorized)
				return
			}
			a.issued++
			tok := fmt.Sprintf("token-%d", a.issued)
			a.valid[tok] = true
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"access_token":%q,"token_type":"Bearer","expires_in":3600}`, tok)
		case "/basic":
			if u, p, ok := r.BasicAuth(); !ok || u != "svc" || p != a.password {
				a.refused++
				http.Error(w, "who are you", http.StatusUnauthorized)
				return
			}
			a.calls[r.URL.Path]++
		case "/oauth":
			auth := r.Header.Get("Authorization")
			if len(auth) < 8 || auth[:7] != "Bearer " || !a.valid[auth[7:]] {
				a.refused++
				http.Error(w, "bad token", http.StatusUnauthorized)
				return
			}
			a.calls[r.URL.Path]++
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return a, srv
}

func (a *authServer) snapshot() (calls map[string]int, issued, refused int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	calls = map[string]int{}
	for k, v := range a.calls {
		calls[k] = v
	}
	return calls, a.issued, a.refused
}

func TestConnectionsBasicAndOAuth(t *testing.T) {
	a, srv := newAuthServer(t)
	clk := newFakeClock()
	e := testenv.New(t, testenv.Options{Clock: clk.Now})
	eb := eventbridge.NewFromConfig(e.Config)
	ctx := context.Background()

	basic, err := eb.CreateConnection(ctx, &eventbridge.CreateConnectionInput{Name: aws.String("basic"), AuthorizationType: types.ConnectionAuthorizationTypeBasic,
		AuthParameters: &types.CreateConnectionAuthRequestParameters{BasicAuthParameters: &types.CreateConnectionBasicAuthRequestParameters{
			Username: aws.String("svc"), Password: aws.String("open-sesame")}}})
	if err != nil {
		t.Fatalf("CreateConnection basic: %v", err)
	}
	oauth, err := eb.CreateConnection(ctx, &eventbridge.CreateConnectionInput{Name: aws.String("oauth"), AuthorizationType: types.ConnectionAuthorizationTypeOauthClientCredentials,
		AuthParameters: &types.CreateConnectionAuthRequestParameters{OAuthParameters: &types.CreateConnectionOAuthRequestParameters{
			AuthorizationEndpoint: aws.String(srv.URL + "/token"), HttpMethod: types.ConnectionOAuthHttpMethodPost,
			ClientParameters: &types.CreateConnectionOAuthClientRequestParameters{ClientID: aws.String("client-1"), ClientSecret: aws.String("client-secret")},
			OAuthHttpParameters: &types.ConnectionHttpParameters{BodyParameters: []types.ConnectionBodyParameter{
				{Key: aws.String("grant_type"), Value: aws.String("client_credentials")},
				{Key: aws.String("audience"), Value: aws.String("orders"), IsValueSecret: true}}}}}})
	if err != nil {
		t.Fatalf("CreateConnection oauth: %v", err)
	}
	desc, err := eb.DescribeConnection(ctx, &eventbridge.DescribeConnectionInput{Name: aws.String("oauth")})
	if err != nil || desc.ConnectionState != types.ConnectionStateAuthorized || desc.AuthParameters.OAuthParameters == nil ||
		aws.ToString(desc.AuthParameters.OAuthParameters.ClientParameters.ClientID) != "client-1" {
		t.Fatalf("DescribeConnection oauth = %+v, %v", desc, err)
	}
	for _, p := range desc.AuthParameters.OAuthParameters.OAuthHttpParameters.BodyParameters {
		if aws.ToString(p.Key) == "audience" && aws.ToString(p.Value) == "orders" {
			t.Errorf("DescribeConnection shows the secret body parameter's value")
		}
	}
	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("orders"), EventPattern: aws.String(`{"source":["my.shop"]}`)}); err != nil {
		t.Fatalf("PutRule: %v", err)
	}
	var targets []types.Target
	for _, d := range []struct{ name, conn string }{{"basic", aws.ToString(basic.ConnectionArn)}, {"oauth", aws.ToString(oauth.ConnectionArn)}} {
		dest, err := eb.CreateApiDestination(ctx, &eventbridge.CreateApiDestinationInput{Name: aws.String(d.name), ConnectionArn: aws.String(d.conn),
			InvocationEndpoint: aws.String(srv.URL + "/" + d.name), HttpMethod: types.ApiDestinationHttpMethodPost})
		if err != nil {
			t.Fatalf("CreateApiDestination %s: %v", d.name, err)
		}
		targets = append(targets, types.Target{Id: aws.String(d.name), Arn: dest.ApiDestinationArn})
	}
	if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("orders"), Targets: targets}); err != nil {
		t.Fatalf("PutTargets: %v", err)
	}
	put := func() {
		t.Helper()
		out, err := eb.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{Source: aws.String("my.shop"),
			DetailType: aws.String("OrderPlaced"), Detail: aws.String(`{"order":"o-1"}`)}}})
		if err != nil || out.FailedEntryCount != 0 {
			t.Fatalf("PutEvents = %+v, %v", out, err)
		}
	}
	calls := func(path string, n int) func() bool {
		return func() bool { c, _, _ := a.snapshot(); return c[path] >= n }
	}

	// Two events: the token is fetched once and sent as Bearer for both.
	put()
	put()
	waitFor(t, "two basic calls", clk, time.Second, calls("/basic", 2))
	waitFor(t, "two oauth calls", clk, time.Second, calls("/oauth", 2))
	if _, issued, refused := a.snapshot(); issued != 1 || refused != 0 {
		t.Errorf("tokens issued, calls refused = %d, %d; want 1 (cached), 0", issued, refused)
	}
	a.mu.Lock()
	if len(a.tokenForms) == 0 || a.tokenForms[0] != "audience=orders&grant_type=client_credentials" {
		t.Errorf("token request forms = %q; want audience=orders&grant_type=client_credentials", a.tokenForms)
	}
	// The API revokes the token: the next call is refused with 401, which makes bannin
	// fetch a new token for the retry.
	a.valid = map[string]bool{}
	a.mu.Unlock()
	put()
	waitFor(t, "the oauth call with a new token", clk, 2*time.Second, calls("/oauth", 3))
	waitFor(t, "three basic calls", clk, time.Second, calls("/basic", 3))
	if _, issued, refused := a.snapshot(); issued != 2 || refused != 1 {
		t.Errorf("tokens issued, calls refused = %d, %d; want 2 (refetched after the 401), 1", issued, refused)
	}

	// Deauthorized, the basic connection sends nothing; authorized again with a new
	// password, the waiting delivery goes out with it.
	de, err := eb.DeauthorizeConnection(ctx, &eventbridge.DeauthorizeConnectionInput{Name: aws.String("basic")})
	if err != nil || de.ConnectionState != types.ConnectionStateDeauthorizing || aws.ToString(de.ConnectionArn) != aws.ToString(basic.ConnectionArn) {
		t.Fatalf("DeauthorizeConnection = %+v, %v; want DEAUTHORIZING", de, err)
	}
	desc, err = eb.DescribeConnection(ctx, &eventbridge.DescribeConnectionInput{Name: aws.String("basic")})
	if err != nil || desc.ConnectionState != types.ConnectionStateDeauthorized || desc.AuthParameters != nil {
		t.Fatalf("DescribeConnection after deauthorize = %+v, %v; want DEAUTHORIZED without auth parameters", desc, err)
	}
	_, err = eb.DeauthorizeConnection(ctx, &eventbridge.DeauthorizeConnectionInput{Name: aws.String("missing")})
	if code := errCode(err); code != "ResourceNotFoundException" {
		t.Errorf("DeauthorizeConnection(missing) = %v; want ResourceNotFoundException", err)
	}
	put()
	waitFor(t, "the fourth oauth call", clk, time.Second, calls("/oauth", 4))
	if c, _, _ := a.snapshot(); c["/basic"] != 3 {
		t.Errorf("basic calls after deauthorization = %d; want still 3", c["/basic"])
	}
	a.mu.Lock()
	a.password = "new-sesame"
	a.mu.Unlock()
	up, err := eb.UpdateConnection(ctx, &eventbridge.UpdateConnectionInput{Name: aws.String("basic"), AuthParameters: &types.UpdateConnectionAuthRequestParameters{
		BasicAuthParameters: &types.UpdateConnectionBasicAuthRequestParameters{Username: aws.String("svc"), Password: aws.String("new-sesame")}}})
	if err != nil || up.ConnectionState != types.ConnectionStateAuthorized {
		t.Fatalf("UpdateConnection = %+v, %v; want AUTHORIZED", up, err)
	}
	waitFor(t, "the retried basic call with the new password", clk, 2*time.Second, calls("/basic", 4))
}

// errCode is the error code of an API error, or the error's text.
func errCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	if err != nil {
		return err.Error()
	}
	return ""
}

// Events beyond an API destination's InvocationRateLimitPerSecond wait for their turn:
// every one is delivered, once, in order.
func TestAPIDestinationRateLimit(t *testing.T) {
	var mu sync.Mutex
	var orders []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		orders = append(orders, r.URL.Query().Get("order"))
	}))
	defer srv.Close()
	e := testenv.New(t)
	eb := eventbridge.NewFromConfig(e.Config)
	ctx := context.Background()
	conn, err := eb.CreateConnection(ctx, &eventbridge.CreateConnectionInput{Name: aws.String("slow"), AuthorizationType: types.ConnectionAuthorizationTypeApiKey,
		AuthParameters: &types.CreateConnectionAuthRequestParameters{ApiKeyAuthParameters: &types.CreateConnectionApiKeyAuthRequestParameters{
			ApiKeyName: aws.String("x-api-key"), ApiKeyValue: aws.String("k")}}})
	if err != nil {
		t.Fatalf("CreateConnection: %v", err)
	}
	dest, err := eb.CreateApiDestination(ctx, &eventbridge.CreateApiDestinationInput{Name: aws.String("slow"), ConnectionArn: conn.ConnectionArn,
		InvocationEndpoint: aws.String(srv.URL), HttpMethod: types.ApiDestinationHttpMethodPost, InvocationRateLimitPerSecond: aws.Int32(2)})
	if err != nil {
		t.Fatalf("CreateApiDestination: %v", err)
	}
	got, err := eb.DescribeApiDestination(ctx, &eventbridge.DescribeApiDestinationInput{Name: aws.String("slow")})
	if err != nil || aws.ToInt32(got.InvocationRateLimitPerSecond) != 2 {
		t.Fatalf("DescribeApiDestination = %+v, %v; want InvocationRateLimitPerSecond 2", got, err)
	}
	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("all"), EventPattern: aws.String(`{"source":["my.shop"]}`)}); err != nil {
		t.Fatalf("PutRule: %v", err)
	}
	if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("all"), Targets: []types.Target{{Id: aws.String("slow"),
		Arn: dest.ApiDestinationArn, RetryPolicy: &types.RetryPolicy{MaximumRetryAttempts: aws.Int32(0)},
		HttpParameters: &types.HttpParameters{QueryStringParameters: map[string]string{"order": "$.detail.order"}}}}}); err != nil {
		t.Fatalf("PutTargets: %v", err)
	}
	var entries []types.PutEventsRequestEntry
	for i := range 5 {
		entries = append(entries, types.PutEventsRequestEntry{Source: aws.String("my.shop"), DetailType: aws.String("OrderPlaced"),
			Detail: aws.String(fmt.Sprintf(`{"order":"o-%d"}`, i))})
	}
	if out, err := eb.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: entries}); err != nil || out.FailedEntryCount != 0 {
		t.Fatalf("PutEvents = %+v, %v", out, err)
	}
	waitFor(t, "five calls", nil, 0, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(orders) >= 5
	})
	mu.Lock()
	defer mu.Unlock()
	if fmt.Sprint(orders) != "[o-0 o-1 o-2 o-3 o-4]" {
		t.Errorf("calls = %v; want each order once, in order", orders)
	}
}
