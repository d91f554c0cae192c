package bus_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/bannin/bannin/internal/testenv"
)

// A token fetched with a connection's old client secret while UpdateConnection gives it
// a new one is not used for calls made after the update: the token cache knows which
// credentials each token came from.
func TestOAuthTokenOfOldCredentialsNotReused(t *testing.T) {
	var mu sync.Mutex
	issued := 0
	var auths []string
	asked := make(chan struct{}, 10)
	proceed := make(chan struct{})
	var gate sync.Once
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/token":
			_, secret, _ := r.BasicAuth()
			asked <- struct{}{}
			// The first token request waits until the test has updated the connection.
			gate.Do(func() {
				select {
				case <-proceed:
				case <-r.Context().Done():
				}
			})
			mu.Lock()
			issued++
			tok := fmt.Sprintf("%s-%d", secret, issued)
			mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"access_token":%q,"expires_in":3600}`, tok)
		case "/api":
			mu.Lock()
			auths = append(auths, r.Header.Get("Authorization"))
			mu.Unlock()
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	e := testenv.New(t)
	t.Cleanup(func() {
		select {
		case <-proceed:
		default:
			close(proceed)
		}
	})
	eb := eventbridge.NewFromConfig(e.Config)
	ctx := context.Background()
	oauth := func(secret string) *types.CreateConnectionOAuthRequestParameters {
		return &types.CreateConnectionOAuthRequestParameters{AuthorizationEndpoint: aws.String(srv.URL + "/token"), HttpMethod: types.ConnectionOAuthHttpMethodPost,
			ClientParameters: &types.CreateConnectionOAuthClientRequestParameters{ClientID: aws.String("client"), ClientSecret: aws.String(secret)}}
	}
	conn, err := eb.CreateConnection(ctx, &eventbridge.CreateConnectionInput{Name: aws.String("oauth"), AuthorizationType: types.ConnectionAuthorizationTypeOauthClientCredentials,
		AuthParameters: &types.CreateConnectionAuthRequestParameters{OAuthParameters: oauth("old")}})
	if err != nil {
		t.Fatalf("CreateConnection: %v", err)
	}
	dest, err := eb.CreateApiDestination(ctx, &eventbridge.CreateApiDestinationInput{Name: aws.String("api"), ConnectionArn: conn.ConnectionArn,
		InvocationEndpoint: aws.String(srv.URL + "/api"), HttpMethod: types.ApiDestinationHttpMethodPost})
	if err != nil {
		t.Fatalf("CreateApiDestination: %v", err)
	}
	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("r"), EventPattern: aws.String(`{"source":["my.app"]}`)}); err != nil {
		t.Fatalf("PutRule: %v", err)
	}
	if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("r"), Targets: []types.Target{{Id: aws.String("api"), Arn: dest.ApiDestinationArn}}}); err != nil {
		t.Fatalf("PutTargets: %v", err)
	}
	put := func() {
		t.Helper()
		out, err := eb.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{Source: aws.String("my.app"),
			DetailType: aws.String("x"), Detail: aws.String(`{}`)}}})
		if err != nil || out.FailedEntryCount != 0 {
			t.Fatalf("PutEvents = %+v, %v", out, err)
		}
	}
	calls := func(n int) func() bool {
		return func() bool { mu.Lock(); defer mu.Unlock(); return len(auths) >= n }
	}

	put()
	select {
	case <-asked:
	case <-time.After(20 * time.Second):
		t.Fatal("timed out waiting for the token request")
	}
	// While the token of the old secret is on its way, the connection gets a new secret.
	up, err := eb.UpdateConnection(ctx, &eventbridge.UpdateConnectionInput{Name: aws.String("oauth"),
		AuthParameters: &types.UpdateConnectionAuthRequestParameters{OAuthParameters: &types.UpdateConnectionOAuthRequestParameters{
			AuthorizationEndpoint: aws.String(srv.URL + "/token"), HttpMethod: types.ConnectionOAuthHttpMethodPost,
			ClientParameters: &types.UpdateConnectionOAuthClientRequestParameters{ClientID: aws.String("client"), ClientSecret: aws.String("new")}}}})
	if err != nil || up.ConnectionState != types.ConnectionStateAuthorized {
		t.Fatalf("UpdateConnection = %+v, %v", up, err)
	}
	close(proceed)
	waitFor(t, "the first call", nil, 0, calls(1))
	put()
	waitFor(t, "the second call", nil, 0, calls(2))
	mu.Lock()
	defer mu.Unlock()
	if !strings.HasPrefix(auths[1], "Bearer new-") {
		t.Errorf("call after UpdateConnection sent %q; want a token fetched with the new client secret (Bearer new-...)", auths[1])
	}
}
