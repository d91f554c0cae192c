// Package audit builds the CloudTrail record of an API call, as CloudTrail writes it
// (see "CloudTrail record contents"), and reads real CloudTrail log files into the same form.
package audit

import (
	"encoding/json"
	"strings"
	"time"
)

// EventVersion is the record format version bannin writes.
const EventVersion = "1.11"

// Hidden replaces sensitive values, as CloudTrail does.
const Hidden = "HIDDEN_DUE_TO_SECURITY_REASONS"

// Record is one CloudTrail record. Field order follows CloudTrail's log files.
type Record struct {
	EventVersion        string           `json:"eventVersion"`
	UserIdentity        UserIdentity     `json:"userIdentity"`
	EventTime           string           `json:"eventTime"`
	EventSource         string           `json:"eventSource"`
	EventName           string           `json:"eventName"`
	AWSRegion           string           `json:"awsRegion"`
	SourceIPAddress     string           `json:"sourceIPAddress"`
	UserAgent           string           `json:"userAgent"`
	ErrorCode           string           `json:"errorCode,omitempty"`
	ErrorMessage        string           `json:"errorMessage,omitempty"`
	RequestParameters   any              `json:"requestParameters"`
	ResponseElements    any              `json:"responseElements"`
	AdditionalEventData any              `json:"additionalEventData,omitempty"`
	RequestID           string           `json:"requestID"`
	EventID             string           `json:"eventID"`
	ReadOnly            bool             `json:"readOnly"`
	Resources           []RecordResource `json:"resources,omitempty"`
	EventType           string           `json:"eventType"`
	ManagementEvent     bool             `json:"managementEvent"`
	RecipientAccountID  string           `json:"recipientAccountId"`
	EventCategory       string           `json:"eventCategory"`
	TLSDetails          *TLSDetails      `json:"tlsDetails,omitempty"`
}

// UserIdentity is the record's userIdentity element.
type UserIdentity struct {
	Type           string          `json:"type"`
	PrincipalID    string          `json:"principalId,omitempty"`
	ARN            string          `json:"arn,omitempty"`
	AccountID      string          `json:"accountId,omitempty"`
	AccessKeyID    string          `json:"accessKeyId,omitempty"`
	UserName       string          `json:"userName,omitempty"`
	SessionContext *SessionContext `json:"sessionContext,omitempty"`
	InvokedBy      string          `json:"invokedBy,omitempty"`
}

// SessionContext describes the session of temporary credentials.
type SessionContext struct {
	SessionIssuer *SessionIssuer   `json:"sessionIssuer,omitempty"`
	Attributes    SessionAttribute `json:"attributes"`
}

// SessionIssuer is the role (or user) that issued a session.
type SessionIssuer struct {
	Type        string `json:"type"`
	PrincipalID string `json:"principalId"`
	ARN         string `json:"arn"`
	AccountID   string `json:"accountId"`
	UserName    string `json:"userName"`
}

// SessionAttribute holds a session's creation date and MFA state.
type SessionAttribute struct {
	CreationDate     string `json:"creationDate"`
	MFAAuthenticated string `json:"mfaAuthenticated"`
}

// RecordResource is an entry of the record's resources list.
type RecordResource struct {
	ARN       string `json:"ARN,omitempty"`
	AccountID string `json:"accountId,omitempty"`
	Type      string `json:"type,omitempty"`
}

// TLSDetails is present when the call came over TLS.
type TLSDetails struct {
	TLSVersion               string `json:"tlsVersion"`
	CipherSuite              string `json:"cipherSuite"`
	ClientProvidedHostHeader string `json:"clientProvidedHostHeader"`
}

// TimeFormat is how CloudTrail writes eventTime.
const TimeFormat = "2006-01-02T15:04:05Z"

// FormatTime writes t as CloudTrail's eventTime.
func FormatTime(t time.Time) string { return t.UTC().Format(TimeFormat) }

// Username is the value the LookupEvents Username attribute matches for an identity.
func (u UserIdentity) Username() string {
	switch u.Type {
	case "Root":
		return "root"
	case "AssumedRole":
		if i := strings.LastIndexByte(u.ARN, '/'); i >= 0 {
			return u.ARN[i+1:]
		}
	case "AWSService":
		return u.InvokedBy
	}
	return u.UserName
}

// Marshal encodes the record as compact JSON.
func (r *Record) Marshal() ([]byte, error) { return json.Marshal(r) }
