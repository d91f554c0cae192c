package lake_test

// This test stores accepted audit events, so it needs a store that keeps events of category
// ActivityAuditLog (store.NormalizeCategory).

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"

	"github.com/bannin/bannin/internal/lake"
	"github.com/bannin/bannin/internal/store"
)

func TestOverTheWireStores(t *testing.T) {
	endpoint, st, ct, _, channel := wireIntegration(t)
	ctx := context.Background()
	status, out := putAuditEvents(t, endpoint, channel, []map[string]string{{"id": "one", "eventData": wireEventData()}})
	succ, _ := out["successful"].([]any)
	if status != http.StatusOK || len(succ) != 1 {
		t.Fatalf("PutAuditEvents = %d %v; want 200 with one successful", status, out)
	}
	s0 := succ[0].(map[string]any)
	if s0["id"] != "one" || len(fmt.Sprint(s0["eventID"])) != 36 {
		t.Errorf("successful = %v; want one with a UUID eventID", s0)
	}
	got, err := ct.GetChannel(ctx, &cloudtrail.GetChannelInput{Channel: aws.String(channel)})
	if err != nil {
		t.Fatalf("GetChannel = %v", err)
	}
	if aws.ToString(got.IngestionStatus.LatestIngestionSuccessEventID) != s0["eventID"] {
		t.Errorf("GetChannel IngestionStatus = %+v; want latest success %v", got.IngestionStatus, s0["eventID"])
	}
	err = st.View(ctx, func(tx store.ReadTx) error {
		evs, _, err := tx.LookupEvents(ctx, store.EventQuery{Account: wireAccount, Region: "us-east-1", Category: lake.Category})
		if err == nil && (len(evs) != 1 || evs[0].EventID != s0["eventID"]) {
			return fmt.Errorf("stored ActivityAuditLog events = %d; want the one accepted", len(evs))
		}
		return err
	})
	if err != nil {
		t.Error(err)
	}
}
