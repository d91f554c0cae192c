package bus

import (
	"bytes"
	"encoding/json"
	"strings"
	"time"

	"github.com/bannin/bannin/internal/store"
)

// ctRecord is what turning a CloudTrail record into an event needs of it.
type ctRecord struct {
	EventID            string `json:"eventID"`
	EventTime          string `json:"eventTime"`
	EventSource        string `json:"eventSource"`
	EventName          string `json:"eventName"`
	EventType          string `json:"eventType"`
	EventCategory      string `json:"eventCategory"`
	AWSRegion          string `json:"awsRegion"`
	RecipientAccountID string `json:"recipientAccountId"`
	ReadOnly           bool   `json:"readOnly"`
}

// detailTypes are the detail-types of the CloudTrail events AWS services deliver to
// EventBridge, by CloudTrail eventType.
var detailTypes = map[string]string{
	"AwsApiCall":       "AWS API Call via CloudTrail",
	"AwsConsoleSignIn": "AWS Console Sign In via CloudTrail",
	"AwsConsoleAction": "AWS Console Action via CloudTrail",
	"AwsServiceEvent":  "AWS Service Event via CloudTrail",
}

// ctHeader decodes what routing a CloudTrail record needs: it reports false for records
// EventBridge does not receive: events that are neither management nor data events
// (CloudTrail Lake activity, Insights), and EventBridge's own PutEvents. Data events are
// received only when a trail logs them (the caller asks Options.TrailLogs). Read-only
// management events are delivered only to rules in state
// ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS (busEntry.AllManagement).
func ctHeader(record []byte) (ctRecord, time.Time, bool) {
	var r ctRecord
	if err := json.Unmarshal(record, &r); err != nil || r.EventID == "" || r.RecipientAccountID == "" || r.AWSRegion == "" {
		return r, time.Time{}, false
	}
	switch store.NormalizeCategory(r.EventCategory) {
	case store.CategoryManagement, store.CategoryData:
	default:
		return r, time.Time{}, false
	}
	if r.EventSource == "events.amazonaws.com" && r.EventName == "PutEvents" {
		return r, time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339, r.EventTime)
	if err != nil {
		return r, time.Time{}, false
	}
	return r, t.UTC(), true
}

// fromCloudTrail turns one CloudTrail record (header r, decoded by ctHeader) into the event
// EventBridge puts on the default bus of the record's account and region, as "Events from
// AWS services via AWS CloudTrail" describes it: source aws.<service>, detail the whole
// record, no resources.
func fromCloudTrail(record []byte, r ctRecord, t time.Time) (*busEntry, bool) {
	dt, ok := detailTypes[r.EventType]
	if !ok {
		dt = detailTypes["AwsApiCall"]
	}
	svc, _, _ := strings.Cut(r.EventSource, ".")
	ev := &Event{Version: "0", ID: nameID("cloudtrail:" + r.EventID), DetailType: dt, Source: "aws." + svc,
		Account: r.RecipientAccountID, Time: t.Format(timeLayout), Region: r.AWSRegion, Resources: []string{}}
	// The record is valid JSON (ctHeader decoded it); compacted as json.Marshal would.
	var detail bytes.Buffer
	detail.Grow(len(record))
	if err := json.Compact(&detail, record); err != nil {
		return nil, false
	}
	raw, err := encodeEvent(ev, detail.Bytes())
	if err != nil {
		return nil, false
	}
	return &busEntry{Account: r.RecipientAccountID, Region: r.AWSRegion, Bus: DefaultBus, Event: raw,
		Ingested: t, AllManagement: r.ReadOnly && store.NormalizeCategory(r.EventCategory) == store.CategoryManagement}, true
}
