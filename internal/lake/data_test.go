package lake

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/bannin/bannin/internal/call"
	"github.com/bannin/bannin/internal/wire/cloudtrail"
	"github.com/bannin/bannin/internal/wire/cloudtraildata"
)

// eventData returns a valid eventData document for the channel owner, changed by edit.
func eventData(t *testing.T, edit func(m map[string]any)) string {
	t.Helper()
	m := map[string]any{
		"version":            "1.0",
		"userIdentity":       map[string]any{"type": "CustomUser", "principalId": "alice@example.com", "details": map[string]any{"team": "ops"}},
		"userAgent":          "my-app/1.2",
		"eventSource":        "my-app.example.com",
		"eventName":          "DeleteInvoice",
		"eventTime":          "2026-11-23T09:30:00Z",
		"UID":                "a1b2c3",
		"requestParameters":  map[string]any{"invoiceId": "inv-7"},
		"sourceIPAddress":    "203.0.113.9",
		"recipientAccountId": account,
	}
	if edit != nil {
		edit(m)
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func sum(data string) *string {
	h := sha256.Sum256([]byte(data))
	return aws.String(base64.StdEncoding.EncodeToString(h[:]))
}

func (e *env) put(channel, externalID string, evs ...cloudtraildata.AuditEvent) (*cloudtraildata.PutAuditEventsResponse, error) {
	var out *cloudtraildata.PutAuditEventsResponse
	err := e.call("PutAuditEvents", true, func(ctx context.Context) (err error) {
		in := &cloudtraildata.PutAuditEventsRequest{ChannelArn: aws.String(channel), AuditEvents: evs}
		if externalID != "" {
			in.ExternalId = aws.String(externalID)
		}
		out, err = e.data.PutAuditEvents(ctx, in)
		return err
	})
	return out, err
}

// integration creates an event data store for external events and a channel to it.
func (e *env) integration() (store, channel string) {
	e.t.Helper()
	store = e.activityStore("external")
	ch, err := e.createChannel("my-app", store)
	if err != nil {
		e.t.Fatalf("CreateChannel = %v", err)
	}
	return store, aws.ToString(ch.ChannelArn)
}

func TestPutAuditEventsFailedEntries(t *testing.T) {
	e := newEnv(t)
	_, channel := e.integration()
	good := eventData(t, nil)
	cases := []struct {
		id, data string
		checksum *string
		code     string
		message  string // part of the errorMessage
	}{
		{"bad-sum", good, sum(good + " "), FailInvalidChecksum, "checksum"},
		{"no-version", eventData(t, func(m map[string]any) { delete(m, "version") }), nil, FailInvalidEventData, "version"},
		{"no-uid", eventData(t, func(m map[string]any) { delete(m, "UID") }), nil, FailInvalidEventData, "UID"},
		{"no-source", eventData(t, func(m map[string]any) { delete(m, "eventSource") }), nil, FailInvalidEventData, "eventSource"},
		{"no-time", eventData(t, func(m map[string]any) { delete(m, "eventTime") }), nil, FailInvalidEventData, "eventTime"},
		{"bad-time", eventData(t, func(m map[string]any) { m["eventTime"] = "yesterday" }), nil, FailInvalidEventData, "eventTime"},
		{"no-principal", eventData(t, func(m map[string]any) { m["userIdentity"] = map[string]any{"type": "X"} }), nil, FailInvalidEventData, "principalId"},
		{"other-account", eventData(t, func(m map[string]any) { m["recipientAccountId"] = "999999999999" }), nil, FailInvalidEventData, "recipientAccountId"},
		{"bad-ip", eventData(t, func(m map[string]any) { m["sourceIPAddress"] = "not-an-ip" }), nil, FailInvalidEventData, "sourceIPAddress"},
		{"unknown-field", eventData(t, func(m map[string]any) { m["severity"] = "high" }), nil, FailInvalidEventData, "severity"},
		{"long-error", eventData(t, func(m map[string]any) { m["errorCode"] = strings.Repeat("E", 257) }), nil, FailInvalidEventData, "errorCode"},
		{"not-json", "{not json", nil, FailInvalidEventData, "JSON"},
	}
	var evs []cloudtraildata.AuditEvent
	for _, tc := range cases {
		evs = append(evs, cloudtraildata.AuditEvent{Id: aws.String(tc.id), EventData: aws.String(tc.data), EventDataChecksum: tc.checksum})
	}
	out, err := e.put(channel, "", evs...)
	if err != nil {
		t.Fatalf("PutAuditEvents = %v", err)
	}
	if len(out.Successful) != 0 {
		t.Errorf("successful = %+v; want none", out.Successful)
	}
	failed := map[string]cloudtraildata.ResultErrorEntry{}
	for _, f := range out.Failed {
		failed[aws.ToString(f.Id)] = f
	}
	for _, tc := range cases {
		f, ok := failed[tc.id]
		if !ok {
			t.Errorf("event %s was not reported failed", tc.id)
			continue
		}
		if aws.ToString(f.ErrorCode) != tc.code || !strings.Contains(aws.ToString(f.ErrorMessage), tc.message) {
			t.Errorf("event %s failed with %s %q; want %s mentioning %q", tc.id, aws.ToString(f.ErrorCode), aws.ToString(f.ErrorMessage), tc.code, tc.message)
		}
	}
}

func TestPutAuditEventsRequestErrors(t *testing.T) {
	e := newEnv(t)
	eds, channel := e.integration()
	one := func(id string) cloudtraildata.AuditEvent {
		return cloudtraildata.AuditEvent{Id: aws.String(id), EventData: aws.String(eventData(t, nil))}
	}
	if _, err := e.put("arn:aws:cloudtrail:us-east-1:123456789012:trail/t", "", one("a")); code(err) != "InvalidChannelARN" {
		t.Errorf("PutAuditEvents(trail ARN) = %v; want InvalidChannelARN", err)
	}
	if _, err := e.put("arn:aws:cloudtrail:us-east-1:123456789012:channel/00000000-0000-4000-8000-999999999999", "", one("a")); code(err) != "ChannelNotFound" {
		t.Errorf("PutAuditEvents(missing channel) = %v; want ChannelNotFound", err)
	}
	if _, err := e.put(channel, "", one("a"), one("b"), one("a")); code(err) != "DuplicatedAuditEventId" {
		t.Errorf("PutAuditEvents(duplicate ids) = %v; want DuplicatedAuditEventId", err)
	}
	var many []cloudtraildata.AuditEvent
	for i := 0; i <= MaxAuditEvents; i++ {
		many = append(many, one(fmt.Sprintf("e%d", i)))
	}
	if _, err := e.put(channel, "", many...); code(err) != "ValidationException" {
		t.Errorf("PutAuditEvents(%d events) = %v; want ValidationException", len(many), err)
	}
	// The channel is in us-east-1; from another region it is not found.
	e.region = "eu-west-1"
	if _, err := e.put(channel, "", one("a")); code(err) != "ChannelNotFound" {
		t.Errorf("PutAuditEvents from another region = %v; want ChannelNotFound", err)
	}
	e.region = region
	// A stopped event data store takes nothing.
	if err := e.call("StopEventDataStoreIngestion", true, func(ctx context.Context) error {
		_, err := e.svc.StopEventDataStoreIngestion(ctx, &cloudtrail.StopEventDataStoreIngestionRequest{EventDataStore: aws.String(eds)})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	out, err := e.put(channel, "", one("stopped"))
	if err != nil || len(out.Failed) != 1 || aws.ToString(out.Failed[0].ErrorCode) != FailInactiveStore {
		t.Errorf("PutAuditEvents to a stopped store = %+v, %v; want failed %s", out, err, FailInactiveStore)
	}
}

func TestPutAuditEventsCrossAccount(t *testing.T) {
	e := newEnv(t)
	_, channel := e.integration()
	owner := e.caller
	partner := call.Principal{Type: "Root", Account: "444455556666", ARN: "arn:aws:iam::444455556666:root"}
	ev := func() cloudtraildata.AuditEvent {
		return cloudtraildata.AuditEvent{Id: aws.String("x1"), EventData: aws.String(eventData(t, nil))}
	}

	e.caller = partner
	if _, err := e.put(channel, "", ev()); code(err) != "ChannelInsufficientPermission" {
		t.Errorf("PutAuditEvents by another account without a policy = %v; want ChannelInsufficientPermission", err)
	}

	e.caller = owner
	pol := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Sid":"partner","Effect":"Allow",
		"Principal":{"AWS":["444455556666"]},"Action":"cloudtrail-data:PutAuditEvents","Resource":%q,
		"Condition":{"StringEquals":{"cloudtrail:ExternalId":"ext-123"}}}]}`, channel)
	bad := strings.Replace(pol, `"Resource":`, `"Resource":"arn:aws:cloudtrail:us-east-1:123456789012:channel/other","Ignored":`, 1)
	if err := e.call("PutResourcePolicy", true, func(ctx context.Context) error {
		_, err := e.svc.PutResourcePolicy(ctx, &cloudtrail.PutResourcePolicyRequest{ResourceArn: aws.String(channel), ResourcePolicy: aws.String(bad)})
		return err
	}); code(err) != "ResourcePolicyNotValidException" {
		t.Errorf("PutResourcePolicy(other resource) = %v; want ResourcePolicyNotValidException", err)
	}
	if err := e.call("PutResourcePolicy", true, func(ctx context.Context) error {
		_, err := e.svc.PutResourcePolicy(ctx, &cloudtrail.PutResourcePolicyRequest{ResourceArn: aws.String(channel), ResourcePolicy: aws.String(pol)})
		return err
	}); err != nil {
		t.Fatalf("PutResourcePolicy = %v", err)
	}

	e.caller = partner
	for _, ext := range []string{"", "ext-999"} {
		if _, err := e.put(channel, ext, ev()); code(err) != "ChannelInsufficientPermission" {
			t.Errorf("PutAuditEvents by partner with externalId %q = %v; want ChannelInsufficientPermission", ext, err)
		}
	}
	e.caller = owner
	var got *cloudtrail.GetResourcePolicyResponse
	if err := e.call("GetResourcePolicy", false, func(ctx context.Context) (err error) {
		got, err = e.svc.GetResourcePolicy(ctx, &cloudtrail.GetResourcePolicyRequest{ResourceArn: aws.String(channel)})
		return err
	}); err != nil || aws.ToString(got.ResourcePolicy) != pol {
		t.Errorf("GetResourcePolicy = %v; want the policy put", err)
	}
	if err := e.call("DeleteResourcePolicy", true, func(ctx context.Context) error {
		_, err := e.svc.DeleteResourcePolicy(ctx, &cloudtrail.DeleteResourcePolicyRequest{ResourceArn: aws.String(channel)})
		return err
	}); err != nil {
		t.Fatalf("DeleteResourcePolicy = %v", err)
	}
	e.caller = partner
	if _, err := e.put(channel, "ext-123", ev()); code(err) != "ChannelInsufficientPermission" {
		t.Errorf("PutAuditEvents by partner after the policy is deleted = %v; want ChannelInsufficientPermission", err)
	}
}
