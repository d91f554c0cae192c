package lake

// The tests in this file store accepted audit events, so they need a store that keeps events
// of category ActivityAuditLog (store.NormalizeCategory).

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/bannin/bannin/internal/call"
	"github.com/bannin/bannin/internal/store"
	"github.com/bannin/bannin/internal/wire/cloudtrail"
	"github.com/bannin/bannin/internal/wire/cloudtraildata"
)

func TestPutAuditEventsStoresEvents(t *testing.T) {
	e := newEnv(t)
	eds, channel := e.integration()
	first := eventData(t, nil)
	second := eventData(t, func(m map[string]any) { m["eventName"] = "CreateInvoice"; m["eventTime"] = "2026-11-23T09:31:00.250Z" })
	out, err := e.put(channel, "",
		cloudtraildata.AuditEvent{Id: aws.String("src-1"), EventData: aws.String(first), EventDataChecksum: sum(first)},
		cloudtraildata.AuditEvent{Id: aws.String("src-2"), EventData: aws.String(second)})
	if err != nil {
		t.Fatalf("PutAuditEvents = %v", err)
	}
	if len(out.Failed) != 0 || len(out.Successful) != 2 {
		t.Fatalf("PutAuditEvents = %d successful, failed %+v; want 2 successful", len(out.Successful), out.Failed)
	}
	ids := map[string]string{}
	for _, s := range out.Successful {
		ids[aws.ToString(s.Id)] = aws.ToString(s.EventID)
	}
	if ids["src-1"] == "" || ids["src-2"] == "" || ids["src-1"] == ids["src-2"] {
		t.Fatalf("successful = %v; want distinct eventIDs for src-1 and src-2", ids)
	}

	// The events are in the store as ActivityAuditLog events, and not in the management
	// event history.
	err = e.st.View(context.Background(), func(tx store.ReadTx) error {
		ctx := context.Background()
		evs, _, err := tx.LookupEvents(ctx, store.EventQuery{Account: account, Region: region, Category: Category})
		if err != nil {
			return fmt.Errorf("LookupEvents(ActivityAuditLog) = %w", err)
		}
		if len(evs) != 2 {
			return fmt.Errorf("LookupEvents(ActivityAuditLog) = %d events; want 2", len(evs))
		}
		// Newest first: CreateInvoice happened later.
		ev := evs[1]
		if ev.EventID != ids["src-1"] || ev.EventName != "DeleteInvoice" || ev.EventSource != "my-app.example.com" ||
			ev.Username != "alice@example.com" || !ev.Time.Equal(e.now.Add(-30*60e9)) {
			return fmt.Errorf("stored event = %+v; want src-1's DeleteInvoice by alice at 09:30", ev)
		}
		var rec map[string]any
		if err := json.Unmarshal(ev.Record, &rec); err != nil {
			return fmt.Errorf("record is not JSON: %v", err)
		}
		for k, want := range map[string]any{"eventCategory": Category, "eventType": "ActivityLog", "eventID": ids["src-1"],
			"eventTime": "2026-11-23T09:30:00Z", "awsRegion": region, "recipientAccountId": account, "eventVersion": EventVersion} {
			if rec[k] != want {
				return fmt.Errorf("record %s = %v; want %v", k, rec[k], want)
			}
		}
		meta, _ := rec["metadata"].(map[string]any)
		if meta["channelARN"] != channel || meta["ingestionTime"] != "2026-11-23T10:00:00Z" {
			return fmt.Errorf("record metadata = %v; want channel %s at 10:00", meta, channel)
		}
		data, _ := rec["eventData"].(map[string]any)
		if data["UID"] != "a1b2c3" || data["requestParameters"].(map[string]any)["invoiceId"] != "inv-7" {
			return fmt.Errorf("record eventData = %v; want the event as sent", data)
		}
		byStore, _, err := tx.LookupEvents(ctx, store.EventQuery{Account: account, Region: region, Category: Category,
			AttributeKey: store.AttrResourceName, AttributeValue: eds})
		if err != nil || len(byStore) != 2 {
			return fmt.Errorf("LookupEvents(ResourceName=%s) = %d events, %v; want 2", eds, len(byStore), err)
		}
		mgmt, _, err := tx.LookupEvents(ctx, store.EventQuery{Account: account, Region: region})
		if err != nil || len(mgmt) != 0 {
			return fmt.Errorf("LookupEvents(management) = %d events, %v; want none", len(mgmt), err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	var got *cloudtrail.GetChannelResponse
	if err := e.call("GetChannel", false, func(ctx context.Context) (err error) {
		got, err = e.svc.GetChannel(ctx, &cloudtrail.GetChannelRequest{Channel: aws.String(channel)})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if st := got.IngestionStatus; aws.ToString(st.LatestIngestionSuccessEventID) != ids["src-2"] || st.LatestIngestionSuccessTime == nil ||
		!st.LatestIngestionSuccessTime.Equal(e.now) {
		t.Errorf("IngestionStatus = %+v; want the latest success src-2 (%s) at %s", st, ids["src-2"], e.now)
	}
}

// TestPutAuditEventsMixedBatch stores the valid events of a batch and reports the others.
func TestPutAuditEventsMixedBatch(t *testing.T) {
	e := newEnv(t)
	_, channel := e.integration()
	good := eventData(t, nil)
	out, err := e.put(channel, "",
		cloudtraildata.AuditEvent{Id: aws.String("ok-hex"), EventData: aws.String(good),
			EventDataChecksum: aws.String(fmt.Sprintf("%x", sha256.Sum256([]byte(good))))},
		cloudtraildata.AuditEvent{Id: aws.String("bad"), EventData: aws.String(good), EventDataChecksum: sum(good + " ")},
		cloudtraildata.AuditEvent{Id: aws.String("no-uid"), EventData: aws.String(eventData(t, func(m map[string]any) { delete(m, "UID") }))})
	if err != nil {
		t.Fatalf("PutAuditEvents = %v", err)
	}
	if len(out.Successful) != 1 || aws.ToString(out.Successful[0].Id) != "ok-hex" || len(out.Failed) != 2 {
		t.Errorf("PutAuditEvents = successful %+v, %d failed; want only ok-hex stored, 2 failed", out.Successful, len(out.Failed))
	}
	var many []cloudtraildata.AuditEvent
	for i := 0; i < MaxAuditEvents; i++ {
		many = append(many, cloudtraildata.AuditEvent{Id: aws.String(fmt.Sprintf("e%d", i)), EventData: aws.String(good)})
	}
	if out, err := e.put(channel, "", many...); err != nil || len(out.Successful) != MaxAuditEvents {
		t.Errorf("PutAuditEvents(%d events) = %v; want all successful", MaxAuditEvents, err)
	}
	err = e.st.View(context.Background(), func(tx store.ReadTx) error {
		evs, _, err := tx.LookupEvents(context.Background(), store.EventQuery{Account: account, Region: region, Category: Category, Limit: 1000})
		if err == nil && len(evs) != 1+MaxAuditEvents {
			return fmt.Errorf("stored %d events; want %d", len(evs), 1+MaxAuditEvents)
		}
		return err
	})
	if err != nil {
		t.Error(err)
	}
}

// TestPutAuditEventsPartner stores a partner account's events, sent with the external id the
// channel policy requires, in the channel owner's account.
func TestPutAuditEventsPartner(t *testing.T) {
	e := newEnv(t)
	_, channel := e.integration()
	owner := e.caller
	partner := call.Principal{Type: "Root", Account: "444455556666", ARN: "arn:aws:iam::444455556666:root"}
	ev := func() cloudtraildata.AuditEvent {
		return cloudtraildata.AuditEvent{Id: aws.String("x1"), EventData: aws.String(eventData(t, nil))}
	}
	pol := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444455556666:root"},
		"Action":"cloudtrail-data:PutAuditEvents","Resource":%q,"Condition":{"StringEquals":{"cloudtrail:ExternalId":["ext-123"]}}}]}`, channel)
	if err := e.call("PutResourcePolicy", true, func(ctx context.Context) error {
		_, err := e.svc.PutResourcePolicy(ctx, &cloudtrail.PutResourcePolicyRequest{ResourceArn: aws.String(channel), ResourcePolicy: aws.String(pol)})
		return err
	}); err != nil {
		t.Fatalf("PutResourcePolicy = %v", err)
	}
	e.caller = partner
	// The partner's events are the channel owner's: recipientAccountId names the owner.
	out, err := e.put(channel, "ext-123", ev())
	if err != nil || len(out.Successful) != 1 {
		t.Fatalf("PutAuditEvents by partner with the right externalId = %+v, %v; want 1 successful", out, err)
	}
	err = e.st.View(context.Background(), func(tx store.ReadTx) error {
		evs, _, err := tx.LookupEvents(context.Background(), store.EventQuery{Account: account, Region: region, Category: Category})
		if err == nil && len(evs) != 1 {
			return fmt.Errorf("owner's account has %d ActivityAuditLog events; want 1", len(evs))
		}
		return err
	})
	if err != nil {
		t.Error(err)
	}

	e.caller = owner
	if out, err := e.put(channel, "", ev()); err != nil || len(out.Successful) != 1 {
		t.Errorf("PutAuditEvents by the owner = %+v, %v; want 1 successful", out, err)
	}
}
