package lake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"sort"
	"strings"
	"time"
)

// AuditEventData is the eventData of an audit event, as the CloudTrail Lake integrations
// event schema defines it.
type AuditEventData struct {
	Version             string          `json:"version"`
	UserIdentity        UserIdentity    `json:"userIdentity"`
	UserAgent           string          `json:"userAgent,omitempty"`
	EventSource         string          `json:"eventSource"`
	EventName           string          `json:"eventName"`
	EventTime           time.Time       `json:"-"`
	UID                 string          `json:"UID"`
	RequestParameters   json.RawMessage `json:"requestParameters,omitempty"`
	ResponseElements    json.RawMessage `json:"responseElements,omitempty"`
	ErrorCode           string          `json:"errorCode,omitempty"`
	ErrorMessage        string          `json:"errorMessage,omitempty"`
	SourceIPAddress     string          `json:"sourceIPAddress,omitempty"`
	RecipientAccountID  string          `json:"recipientAccountId"`
	AdditionalEventData json.RawMessage `json:"additionalEventData,omitempty"`
}

// UserIdentity is the actor of an audit event.
type UserIdentity struct {
	Type        string          `json:"type"`
	PrincipalID string          `json:"principalId"`
	Details     json.RawMessage `json:"details,omitempty"`
}

// field describes one member of eventData for validation.
type field struct {
	kind     string // "string" or "object"
	required bool
	max      int // longest string, or largest object in bytes; 0 = unbounded
}

var eventDataFields = map[string]field{
	"version":             {kind: "string", required: true, max: 256},
	"userIdentity":        {kind: "object", required: true},
	"userAgent":           {kind: "string", max: 1024},
	"eventSource":         {kind: "string", required: true, max: 1024},
	"eventName":           {kind: "string", required: true, max: 1024},
	"eventTime":           {kind: "string", required: true},
	"UID":                 {kind: "string", required: true, max: 1024},
	"requestParameters":   {kind: "object", max: 100 << 10},
	"responseElements":    {kind: "object", max: 100 << 10},
	"errorCode":           {kind: "string", max: 256},
	"errorMessage":        {kind: "string", max: 256},
	"sourceIPAddress":     {kind: "string"},
	"recipientAccountId":  {kind: "string", required: true},
	"additionalEventData": {kind: "object", max: 28 << 10},
}

var userIdentityFields = map[string]field{
	"type":        {kind: "string", required: true, max: 128},
	"principalId": {kind: "string", required: true, max: 1024},
	"details":     {kind: "object"},
}

// eventTimeLayouts are the forms of eventTime accepted: the schema's yyyy-MM-ddTHH:mm:ss in
// UTC, with or without a zone designator and fractional seconds.
var eventTimeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05"}

// ParseEventData checks eventData against the integrations event schema and returns it
// decoded, or an error whose text says what is wrong, for the failed entry's errorMessage.
// owner is the account that owns the channel, which recipientAccountId must name.
func ParseEventData(data, owner string) (*AuditEventData, error) {
	var top map[string]json.RawMessage
	dec := json.NewDecoder(strings.NewReader(data))
	if err := dec.Decode(&top); err != nil || top == nil {
		return nil, fmt.Errorf("eventData is not a JSON object")
	}
	if dec.More() {
		return nil, fmt.Errorf("eventData has content after its JSON object")
	}
	if err := checkFields("eventData", top, eventDataFields); err != nil {
		return nil, err
	}
	var ui map[string]json.RawMessage
	if err := json.Unmarshal(top["userIdentity"], &ui); err != nil {
		return nil, fmt.Errorf("eventData.userIdentity is not a JSON object")
	}
	if err := checkFields("eventData.userIdentity", ui, userIdentityFields); err != nil {
		return nil, err
	}
	var ev AuditEventData
	if err := json.Unmarshal([]byte(data), &ev); err != nil {
		return nil, fmt.Errorf("eventData does not match the schema: %v", err)
	}
	var ts string
	_ = json.Unmarshal(top["eventTime"], &ts)
	t, ok := parseEventTime(ts)
	if !ok {
		return nil, fmt.Errorf("eventData.eventTime %q is not a timestamp in yyyy-MM-ddTHH:mm:ss format (UTC)", ts)
	}
	ev.EventTime = t
	if ev.SourceIPAddress != "" && net.ParseIP(ev.SourceIPAddress) == nil {
		return nil, fmt.Errorf("eventData.sourceIPAddress %q is not an IPv4 or IPv6 address", ev.SourceIPAddress)
	}
	if ev.RecipientAccountID != owner {
		return nil, fmt.Errorf("eventData.recipientAccountId %q must be %s, the account that owns the channel", ev.RecipientAccountID, owner)
	}
	return &ev, nil
}

// checkFields checks an object's members against their descriptions: required ones
// present and non-empty, types, sizes, and no members the schema does not define.
func checkFields(where string, obj map[string]json.RawMessage, fields map[string]field) error {
	names := make([]string, 0, len(obj))
	for k := range obj {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if _, ok := fields[k]; !ok {
			return fmt.Errorf("%s has field %q, which the CloudTrail Lake integrations event schema does not define", where, k)
		}
	}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		f := fields[k]
		raw, ok := obj[k]
		if !ok || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
			if f.required {
				return fmt.Errorf("%s is missing required field %s", where, k)
			}
			continue
		}
		switch f.kind {
		case "string":
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return fmt.Errorf("%s.%s must be a string", where, k)
			}
			if f.required && s == "" {
				return fmt.Errorf("%s.%s must not be empty", where, k)
			}
			if f.max > 0 && len(s) > f.max {
				return fmt.Errorf("%s.%s is %d characters long; the maximum is %d", where, k, len(s), f.max)
			}
		case "object":
			var m map[string]json.RawMessage
			if err := json.Unmarshal(raw, &m); err != nil {
				return fmt.Errorf("%s.%s must be a JSON object", where, k)
			}
			if f.max > 0 && len(raw) > f.max {
				return fmt.Errorf("%s.%s is %d bytes; the maximum is %d", where, k, len(raw), f.max)
			}
		}
	}
	return nil
}

func parseEventTime(s string) (time.Time, bool) {
	for _, l := range eventTimeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}
