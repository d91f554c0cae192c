package audit

import (
	"encoding/json"
	"strings"

	"github.com/google/uuid"

	"github.com/bannin/bannin/internal/awserr"
	"github.com/bannin/bannin/internal/call"
	"github.com/bannin/bannin/internal/model"
	"github.com/bannin/bannin/internal/store"
)

// Outcome is what the gateway knows of a finished call.
type Outcome struct {
	Service *model.Service
	Op      *model.Operation
	In, Out map[string]any
	Err     error
	TLS     *TLSDetails
	// Host is the request's Host header (S3 records show it).
	Host string
}

// Build makes the CloudTrail record of a call and its event-history entry.
func Build(c *call.Call, o Outcome) (*store.Event, error) {
	ro := ReadOnly(o.Service.Name, c.Operation)
	op := EventName(o.Service.Name, c.Operation)
	cat := Category(o.Service, o.Op)
	rec := &Record{
		EventVersion:       EventVersion,
		UserIdentity:       Identity(c.Caller),
		EventTime:          FormatTime(c.Time),
		EventSource:        EventSource(o.Service),
		EventName:          op,
		AWSRegion:          c.Region,
		SourceIPAddress:    c.SourceIP,
		UserAgent:          c.UserAgent,
		RequestID:          c.RequestID,
		EventID:            c.EventID,
		ReadOnly:           ro,
		EventType:          "AwsApiCall",
		ManagementEvent:    cat == "Management",
		RecipientAccountID: c.Account,
		EventCategory:      cat,
		TLSDetails:         o.TLS,
	}
	if rec.EventID == "" {
		rec.EventID = NewEventID()
	}
	if c.Caller.InvokedBy != "" {
		rec.SourceIPAddress = c.Caller.InvokedBy
		rec.UserAgent = c.Caller.InvokedBy
	}
	if o.Op != nil {
		var p map[string]any
		if o.Service.Name == "s3" {
			p = s3RequestParams(o.Op, o.In, o.Host)
		} else {
			p = Params(o.Op.Input, o.In)
		}
		redactSecrets(o.Service.Name, op, p)
		if p != nil {
			rec.RequestParameters = p
		}
		// S3 records carry no response elements for the calls bannin serves.
		if o.Err == nil && !ro && o.Service.Name != "s3" {
			if p := Params(o.Op.Output, o.Out); p != nil {
				rec.ResponseElements = p
			}
		}
	}
	if o.Err != nil {
		if ce, ok := awserr.As(o.Err); ok {
			rec.ErrorCode, rec.ErrorMessage = ce.AWSErrorCode(), ce.AWSMessage()
		} else {
			rec.ErrorCode, rec.ErrorMessage = "InternalFailure", "An internal error occurred."
		}
	}
	ev := &store.Event{
		EventID:     rec.EventID,
		Time:        c.Time,
		Account:     c.Account,
		Region:      c.Region,
		EventName:   op,
		EventSource: rec.EventSource,
		Username:    rec.UserIdentity.Username(),
		AccessKeyID: c.Caller.AccessKeyID,
		ReadOnly:    ro,
		Category:    cat,
	}
	resources := c.Resources
	switch {
	case o.Service.Name == "s3" && cat == "Data":
		resources = s3DataResources(o.In, resources)
	case o.Service.Name == "cloudwatch" && cat == "Data":
		// As CloudTrail shows them: the resource type alone, no ARN.
		resources = []call.Resource{{Type: cloudwatchMetricType}}
	}
	for _, r := range resources {
		acct := c.Account
		if r.Type == s3ObjectType || r.Type == cloudwatchMetricType {
			acct = "" // CloudTrail names the object's bucket's account, not the object's
		}
		rec.Resources = append(rec.Resources, RecordResource{ARN: r.ARN, AccountID: acct, Type: r.Type})
		ev.Resources = append(ev.Resources, store.EventResource{Type: r.Type, Name: r.Name})
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return nil, err
	}
	ev.Record = b
	return ev, nil
}

// Identity is the userIdentity element for a principal.
func Identity(p call.Principal) UserIdentity {
	u := UserIdentity{Type: p.Type, PrincipalID: p.PrincipalID, ARN: p.ARN, AccountID: p.Account,
		AccessKeyID: p.AccessKeyID, InvokedBy: p.InvokedBy}
	switch p.Type {
	case "IAMUser":
		u.UserName = p.UserName
	case "AssumedRole":
		u.SessionContext = &SessionContext{
			SessionIssuer: &SessionIssuer{Type: "Role", PrincipalID: strings.SplitN(p.PrincipalID, ":", 2)[0],
				ARN: p.IssuerARN, AccountID: p.Account, UserName: p.IssuerName},
			Attributes: SessionAttribute{MFAAuthenticated: "false"},
		}
		if !p.SessionIssued.IsZero() {
			u.SessionContext.Attributes.CreationDate = FormatTime(p.SessionIssued)
		}
	}
	return u
}

// EventSource is the record's eventSource for a service: cloudtrail.amazonaws.com.
func EventSource(svc *model.Service) string {
	return svc.Metadata.EndpointPrefix + ".amazonaws.com"
}

var readPrefixes = []string{"Get", "Describe", "List", "Lookup", "Head", "Search", "Select", "BatchGet", "Filter", "Test", "Query", "Scan"}

// readOnlyOps are read-only operations whose names do not say so: KMS's cryptographic
// operations change no state, and CloudTrail records them with readOnly true.
var readOnlyOps = map[string]map[string]bool{
	"kms": {"Encrypt": true, "Decrypt": true, "ReEncrypt": true, "GenerateDataKey": true, "GenerateDataKeyPair": true,
		"GenerateDataKeyPairWithoutPlaintext": true, "GenerateDataKeyWithoutPlaintext": true, "GenerateMac": true,
		"VerifyMac": true, "Sign": true, "Verify": true, "GenerateRandom": true, "DeriveSharedSecret": true},
	"iam": {"SimulateCustomPolicy": true, "SimulatePrincipalPolicy": true},
}

// ReadOnly reports whether CloudTrail marks an operation read-only.
func ReadOnly(service, op string) bool {
	if readOnlyOps[service][op] {
		return true
	}
	for _, p := range readPrefixes {
		if strings.HasPrefix(op, p) {
			return true
		}
	}
	return false
}

// s3BucketDataOps are the S3 operations without an object key that are still data events.
var s3BucketDataOps = map[string]bool{"ListObjects": true, "ListObjectsV2": true, "ListObjectVersions": true,
	"ListMultipartUploads": true, "DeleteObjects": true}

// cloudwatchDataOps are CloudWatch's data plane operations on metrics, which CloudTrail
// logs as data events (resources.type AWS::CloudWatch::Metric).
const cloudwatchMetricType = "AWS::CloudWatch::Metric"

var cloudwatchDataOps = map[string]bool{"GetMetricData": true, "GetMetricWidgetImage": true, "PutMetricData": true,
	"GetMetricStatistics": true, "ListMetrics": true}

// Category is Data for data-plane operations (S3 object calls, SNS Publish, PutAuditEvents) and
// Management for the rest. Event history (LookupEvents) shows management events only.
func Category(svc *model.Service, op *model.Operation) string {
	if op == nil {
		return "Management"
	}
	switch svc.Name {
	case "s3":
		if s3BucketDataOps[op.Name] || (op.Input != nil && op.Input.MemberByName("Key") != nil) {
			return "Data"
		}
	case "sns":
		// SNS logs Publish and PublishBatch as data events (resources.type AWS::SNS::Topic),
		// as the CloudTrail User Guide's data events table lists them.
		if op.Name == "Publish" || op.Name == "PublishBatch" {
			return "Data"
		}
	case "cloudwatch":
		if cloudwatchDataOps[op.Name] {
			return "Data"
		}
	case "cloudtrail-data":
		return "Data"
	}
	return "Management"
}

// NewEventID makes an event ID in the UUID form CloudTrail uses. It is a time-ordered
// version 7 UUID, so that the event history's unique index on it grows at its end
// instead of touching a random page for every call.
func NewEventID() string {
	id, err := uuid.NewV7()
	if err != nil {
		return uuid.NewString()
	}
	return id.String()
}
