package bus

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/bannin/bannin/internal/store"
	"github.com/bannin/bannin/internal/wire/events"
)

// syncBuffer is a bytes.Buffer safe for a logger's concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// putConnection stores a connection, its secret and an API destination calling endpoint.
func putConnection(t *testing.T, st store.Store, name, typ string, params *events.CreateConnectionAuthRequestParameters, endpoint string) string {
	t.Helper()
	auth, sec, err := authFrom(typ, params)
	if err != nil {
		t.Fatalf("authFrom: %v", err)
	}
	const account, region = "123456789012", "us-east-1"
	conn := connection{Name: name, Arn: "arn:aws:events:us-east-1:123456789012:connection/" + name + "/c1", AuthorizationType: typ,
		AuthParameters: auth, State: "AUTHORIZED"}
	dest := apiDestination{Name: name, Arn: "arn:aws:events:us-east-1:123456789012:api-destination/" + name + "/d1",
		ConnectionArn: conn.Arn, InvocationEndpoint: endpoint, HttpMethod: "POST", RateLimit: 300, State: "ACTIVE"}
	craw, _ := json.Marshal(conn)
	draw, _ := json.Marshal(dest)
	sraw, _ := json.Marshal(sec)
	ctx := context.Background()
	err = st.Update(ctx, func(tx store.Tx) error {
		if err := tx.Put(ctx, secretsBucket, conn.Arn, sraw); err != nil {
			return err
		}
		if err := tx.PutResource(ctx, &store.Resource{Account: account, Region: region, Type: ConnectionType, ID: name, ARN: conn.Arn, Name: name, Config: craw}); err != nil {
			return err
		}
		return tx.PutResource(ctx, &store.Resource{Account: account, Region: region, Type: ApiDestinationType, ID: name, ARN: dest.Arn, Name: name, Config: draw})
	})
	if err != nil {
		t.Fatalf("put connection %s: %v", name, err)
	}
	return dest.Arn
}

// Failed API destination calls are logged without the query string (where secret
// connection parameters go) or user information of the URL they were sent to.
func TestDestinationErrorsHideSecrets(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close() // calls to it are refused
	st := openStore(t)
	var logs syncBuffer
	s := New(Options{Store: st, Tick: 10 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	secretQuery := &events.ConnectionHttpParameters{QueryStringParameters: []events.ConnectionQueryStringParameter{
		{Key: aws.String("token"), Value: aws.String("qsecret-invocation"), IsValueSecret: aws.Bool(true)}}}
	apiKey := putConnection(t, st, "key", AuthAPIKey, &events.CreateConnectionAuthRequestParameters{
		ApiKeyAuthParameters:     &events.CreateConnectionApiKeyAuthRequestParameters{ApiKeyName: aws.String("x-api-key"), ApiKeyValue: aws.String("k")},
		InvocationHttpParameters: secretQuery}, strings.Replace(closed, "://", "://svc:upass-secret@", 1)+"/orders")
	oauth := putConnection(t, st, "oauth", AuthOAuth, &events.CreateConnectionAuthRequestParameters{
		OAuthParameters: &events.CreateConnectionOAuthRequestParameters{AuthorizationEndpoint: aws.String(closed + "/token"), HttpMethod: aws.String("POST"),
			ClientParameters: &events.CreateConnectionOAuthClientRequestParameters{ClientID: aws.String("c"), ClientSecret: aws.String("s")},
			OAuthHttpParameters: &events.ConnectionHttpParameters{QueryStringParameters: []events.ConnectionQueryStringParameter{
				{Key: aws.String("audience"), Value: aws.String("qsecret-token"), IsValueSecret: aws.Bool(true)}}}}}, closed+"/oauth")
	none := &events.RetryPolicy{MaximumRetryAttempts: aws.Int32(0)}
	putRule(t, st, &storedRule{Name: "r", Arn: RuleARN("us-east-1", "123456789012", DefaultBus, "r"), EventBusName: DefaultBus,
		EventPattern: `{"source":["my.app"]}`, State: Enabled, Targets: []events.Target{
			{Id: aws.String("key"), Arn: aws.String(apiKey), RetryPolicy: none},
			{Id: aws.String("oauth"), Arn: aws.String(oauth), RetryPolicy: none}}})

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Run(ctx)
	}()
	defer func() { cancel(); <-done }()
	ev := `{"version":"0","id":"e-1","detail-type":"x","source":"my.app","account":"123456789012","time":"2026-05-01T00:00:00Z","region":"us-east-1","resources":[],"detail":{}}`
	payload, _ := json.Marshal(&busEntry{Account: "123456789012", Region: "us-east-1", Bus: DefaultBus, Event: json.RawMessage(ev), Ingested: time.Now()})
	if err := s.Consumers()[0].Handle(ctx, []store.Entry{{Seq: 1, Kind: KindEvent, Payload: payload}}); err != nil {
		t.Fatalf("Handle: %v", err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for strings.Count(logs.String(), "event dropped") < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for both deliveries to fail; log:\n%s", logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	out := logs.String()
	for _, secret := range []string{"qsecret-invocation", "qsecret-token", "upass-secret"} {
		if strings.Contains(out, secret) {
			t.Errorf("log shows secret %q:\n%s", secret, out)
		}
	}
	if !strings.Contains(out, ln.Addr().String()+"/orders") {
		t.Errorf("log does not say which endpoint failed (%s/orders):\n%s", ln.Addr(), out)
	}
}
