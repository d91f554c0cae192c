package lake_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/smithy-go"

	"github.com/bannin/bannin/internal/call"
	"github.com/bannin/bannin/internal/gateway"
	"github.com/bannin/bannin/internal/lake"
	"github.com/bannin/bannin/internal/sigv4"
	"github.com/bannin/bannin/internal/store/sqlite"
	wirect "github.com/bannin/bannin/internal/wire/cloudtrail"
	"github.com/bannin/bannin/internal/wire/cloudtraildata"
)

const (
	wireAccount = "123456789012"
	keyID       = "AKIATESTLAKE00000001"
	secret      = "lakesecretlakesecretlakesecretlakesecre"
)

// lakeServer serves the Lake services through the gateway, with SigV4 verified against one
// root key, on httptest.
func lakeServer(t *testing.T) (string, *sqlite.Store) {
	t.Helper()
	st, err := sqlite.Open(t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	v := &sigv4.Verifier{Secret: func(_ context.Context, id string) (string, bool, error) { return secret, id == keyID, nil }}
	root := call.Principal{Type: "Root", Account: wireAccount, ARN: "arn:aws:iam::" + wireAccount + ":root", PrincipalID: wireAccount, AccessKeyID: keyID}
	gw := gateway.New(gateway.Options{
		Services: []gateway.Service{wirect.Handler{API: lake.New(lake.Options{})}, cloudtraildata.Handler{API: lake.NewData(lake.Options{})}},
		Store:    st,
		Scope: func(r *http.Request) (string, string, error) {
			sc, err := sigv4.ReadScope(r)
			return sc.Service, sc.Region, err
		},
		Authenticate: func(ctx context.Context, r *http.Request, _ string, body []byte) (gateway.Auth, error) {
			if _, err := v.Verify(ctx, r, body); err != nil {
				return gateway.Auth{}, err
			}
			return gateway.Auth{Caller: root}, nil
		},
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
		SpoolDir: t.TempDir(),
	})
	hs := httptest.NewServer(gw)
	t.Cleanup(func() {
		hs.Close()
		st.Close()
	})
	return hs.URL, st
}

// putAuditEvents sends PutAuditEvents as rest-json, signed as the cloudtrail-data SDKs sign it.
func putAuditEvents(t *testing.T, endpoint, channel string, events []map[string]string) (int, map[string]any) {
	t.Helper()
	body, err := json.Marshal(map[string]any{"auditEvents": events})
	if err != nil {
		t.Fatal(err)
	}
	u := endpoint + "/PutAuditEvents?channelArn=" + url.QueryEscape(channel)
	req, err := http.NewRequest(http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	h := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: keyID, SecretAccessKey: secret}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(h[:]), "cloudtrail-data", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("PutAuditEvents: %v", err)
	}
	defer resp.Body.Close()
	var out map[string]any
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("PutAuditEvents answered %d %q: %v", resp.StatusCode, b, err)
	}
	return resp.StatusCode, out
}

// wireIntegration creates, with the Go SDK's CloudTrail client, an event data store for
// events from outside AWS and a channel to it.
func wireIntegration(t *testing.T) (endpoint string, st *sqlite.Store, ct *cloudtrail.Client, eds, channel string) {
	t.Helper()
	endpoint, st = lakeServer(t)
	ctx := context.Background()
	ct = cloudtrail.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(endpoint), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider(keyID, secret, "")})
	out, err := ct.CreateEventDataStore(ctx, &cloudtrail.CreateEventDataStoreInput{Name: aws.String("external-events"),
		MultiRegionEnabled: aws.Bool(false), RetentionPeriod: aws.Int32(90),
		AdvancedEventSelectors: []types.AdvancedEventSelector{{Name: aws.String("Select all external events"),
			FieldSelectors: []types.AdvancedFieldSelector{{Field: aws.String("eventCategory"), Equals: []string{"ActivityAuditLog"}}}}}})
	if err != nil {
		t.Fatalf("CreateEventDataStore = %v", err)
	}
	if string(out.Status) != "CREATED" || aws.ToInt32(out.RetentionPeriod) != 90 {
		t.Errorf("CreateEventDataStore = %s, retention %d; want CREATED, 90", out.Status, aws.ToInt32(out.RetentionPeriod))
	}
	// A channel to a store that does not exist is refused with CloudTrail's error.
	_, err = ct.CreateChannel(ctx, &cloudtrail.CreateChannelInput{Name: aws.String("nowhere"), Source: aws.String("Custom"),
		Destinations: []types.Destination{{Type: types.DestinationTypeEventDataStore,
			Location: aws.String("arn:aws:cloudtrail:us-east-1:123456789012:eventdatastore/00000000-0000-4000-8000-000000000000")}}})
	var nf *types.EventDataStoreNotFoundException
	if !errors.As(err, &nf) {
		t.Errorf("CreateChannel(missing store) = %v; want EventDataStoreNotFoundException", err)
	}
	ch, err := ct.CreateChannel(ctx, &cloudtrail.CreateChannelInput{Name: aws.String("my-app"), Source: aws.String("Custom"),
		Destinations: []types.Destination{{Type: types.DestinationTypeEventDataStore, Location: out.EventDataStoreArn}}})
	if err != nil {
		t.Fatalf("CreateChannel = %v", err)
	}
	return endpoint, st, ct, aws.ToString(out.EventDataStoreArn), aws.ToString(ch.ChannelArn)
}

// wireEventData is a valid eventData for the test account, happening now.
func wireEventData() string {
	return fmt.Sprintf(`{"version":"1.0","userIdentity":{"type":"CustomUser","principalId":"alice"},"eventSource":"my-app",`+
		`"eventName":"Login","eventTime":"%s","UID":"u-1","recipientAccountId":"%s"}`, time.Now().UTC().Format("2006-01-02T15:04:05Z"), wireAccount)
}

func TestOverTheWire(t *testing.T) {
	endpoint, _, ct, eds, channel := wireIntegration(t)
	ctx := context.Background()
	status, out := putAuditEvents(t, endpoint, channel, []map[string]string{
		{"id": "two", "eventData": wireEventData(), "eventDataChecksum": "bm90IHRoZSBjaGVja3N1bQ=="},
	})
	if status != http.StatusOK {
		t.Fatalf("PutAuditEvents = %d %v; want 200", status, out)
	}
	succ, _ := out["successful"].([]any)
	failed, _ := out["failed"].([]any)
	if len(succ) != 0 || len(failed) != 1 {
		t.Fatalf("PutAuditEvents = %v; want one failed", out)
	}
	if f0 := failed[0].(map[string]any); f0["id"] != "two" || f0["errorCode"] != lake.FailInvalidChecksum {
		t.Errorf("PutAuditEvents = %v; want two failed %s", out, lake.FailInvalidChecksum)
	}

	// Request errors come back as rest-json errors.
	status, out = putAuditEvents(t, endpoint, "arn:aws:cloudtrail:us-east-1:123456789012:channel/00000000-0000-4000-8000-000000000000",
		[]map[string]string{{"id": "one", "eventData": wireEventData()}})
	if status != http.StatusBadRequest || out["__type"] != "ChannelNotFound" {
		t.Errorf("PutAuditEvents(missing channel) = %d %v; want 400 ChannelNotFound", status, out)
	}

	got, err := ct.GetChannel(ctx, &cloudtrail.GetChannelInput{Channel: aws.String(channel)})
	if err != nil {
		t.Fatalf("GetChannel = %v", err)
	}
	if aws.ToString(got.IngestionStatus.LatestIngestionErrorCode) != lake.FailInvalidChecksum {
		t.Errorf("GetChannel IngestionStatus = %+v; want latest error %s", got.IngestionStatus, lake.FailInvalidChecksum)
	}
	_, err = ct.DeleteEventDataStore(ctx, &cloudtrail.DeleteEventDataStoreInput{EventDataStore: aws.String(eds)})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "EventDataStoreTerminationProtectedException" {
		t.Errorf("DeleteEventDataStore(protected) = %v; want EventDataStoreTerminationProtectedException", err)
	}
}
