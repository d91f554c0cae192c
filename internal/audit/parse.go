package audit

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/bannin/bannin/internal/store"
)

// recordHead is the part of a CloudTrail record the event history indexes.
type recordHead struct {
	EventID            string       `json:"eventID"`
	EventTime          string       `json:"eventTime"`
	EventSource        string       `json:"eventSource"`
	EventName          string       `json:"eventName"`
	AWSRegion          string       `json:"awsRegion"`
	UserIdentity       UserIdentity `json:"userIdentity"`
	ReadOnly           *bool        `json:"readOnly"`
	EventCategory      string       `json:"eventCategory"`
	RecipientAccountID string       `json:"recipientAccountId"`
	InsightDetails     *struct {
		EventName   string `json:"eventName"`
		EventSource string `json:"eventSource"`
	} `json:"insightDetails"`
	Resources []struct {
		ARN  string `json:"ARN"`
		Type string `json:"type"`
	} `json:"resources"`
}

// ParseRecord turns one CloudTrail record, as found in a log file, into an event-history
// entry. The record is kept byte for byte.
func ParseRecord(raw json.RawMessage) (*store.Event, error) {
	var h recordHead
	if err := json.Unmarshal(raw, &h); err != nil {
		return nil, fmt.Errorf("record: %w", err)
	}
	if h.InsightDetails != nil && h.EventName == "" {
		// Insights events name the API they are about inside insightDetails.
		h.EventName, h.EventSource = h.InsightDetails.EventName, h.InsightDetails.EventSource
		if h.EventCategory == "" {
			h.EventCategory = store.CategoryInsight
		}
	}
	switch {
	case h.EventID == "":
		return nil, fmt.Errorf("record has no eventID")
	case h.EventName == "" || h.EventSource == "":
		return nil, fmt.Errorf("record %s has no eventName or eventSource", h.EventID)
	}
	t, err := time.Parse(time.RFC3339, h.EventTime)
	if err != nil {
		return nil, fmt.Errorf("record %s: eventTime %q: %w", h.EventID, h.EventTime, err)
	}
	account := h.RecipientAccountID
	if account == "" {
		account = h.UserIdentity.AccountID
	}
	ro := ReadOnly("", h.EventName)
	if h.ReadOnly != nil {
		ro = *h.ReadOnly
	}
	ev := &store.Event{EventID: h.EventID, Time: t.UTC(), Account: account, Region: h.AWSRegion,
		EventName: h.EventName, EventSource: h.EventSource, Username: h.UserIdentity.Username(),
		AccessKeyID: h.UserIdentity.AccessKeyID, ReadOnly: ro, Category: h.EventCategory, Record: raw}
	if ev.Category == "" {
		ev.Category = store.CategoryManagement
	}
	if store.NormalizeCategory(ev.Category) == "" {
		return nil, fmt.Errorf("record %s: eventCategory %q is not one bannin keeps", h.EventID, ev.Category)
	}
	for _, r := range h.Resources {
		ev.Resources = append(ev.Resources, store.EventResource{Type: r.Type, Name: resourceName(r.ARN)})
	}
	return ev, nil
}

// resourceName is the name event history shows for a resource ARN: S3 buckets by name,
// everything else by ARN, as the CloudTrail console does.
func resourceName(arn string) string {
	if strings.HasPrefix(arn, "arn:aws:s3:::") && !strings.Contains(arn[len("arn:aws:s3:::"):], "/") {
		return arn[len("arn:aws:s3:::"):]
	}
	return arn
}
