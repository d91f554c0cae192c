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
	p, err := Prepare(c, o)
	if err != nil {
		return nil, err
	}
	return p.Finish(c, o)
}

// Prepared is the part of a call's record that is known before its handler runs: who
// called what, when, from where, with which parameters. The gateway prepares it before
// the store's write transaction so that the single writer only adds the outcome
// (error, response elements, resources) with Finish.
type Prepared struct {
	// rec holds the fields known up front; the outcome's fields stay empty.
	rec Record
	ev  store.Event
	// The record's JSON is these pieces with the outcome's fields between them, in
	// Record's field order: head (eventVersion..userAgent, without the closing brace),
	// requestParameters' value, mid (requestID, eventID, readOnly) and tail
	// (eventType..tlsDetails, without the opening brace), both without their braces.
	head, params, mid, tail []byte
	// responses is whether the record carries response elements.
	responses bool
}

// Prepare builds the part of the call's record that does not depend on its outcome. The
// call's input (o.In) must not change between Prepare and Finish.
func Prepare(c *call.Call, o Outcome) (*Prepared, error) {
	ro := ReadOnly(o.Service.Name, c.Operation)
	op := EventName(o.Service.Name, c.Operation)
	cat := Category(o.Service, o.Op)
	p := &Prepared{rec: Record{
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
	}}
	rec := &p.rec
	if rec.EventID == "" {
		rec.EventID = NewEventID()
	}
	if c.Caller.InvokedBy != "" {
		rec.SourceIPAddress = c.Caller.InvokedBy
		rec.UserAgent = c.Caller.InvokedBy
	}
	if o.Op != nil {
		var params map[string]any
		if o.Service.Name == "s3" {
			params = s3RequestParams(o.Op, o.In, o.Host)
		} else {
			params = Params(o.Op.Input, o.In)
		}
		redactSecrets(o.Service.Name, op, params)
		if params != nil {
			rec.RequestParameters = params
		}
		// S3 records carry no response elements for the calls bannin serves.
		p.responses = !ro && o.Service.Name != "s3"
	}
	p.ev = store.Event{
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
	// One buffer holds the three pieces; requestParameters is a map and keeps
	// encoding/json's rendering (sorted keys, any value).
	b := make([]byte, 0, 1024) // the fixed part of a record is 500-900 bytes
	b = append(b, '{')
	b = appendField(b, false, "eventVersion", rec.EventVersion)
	b = append(b, `,"userIdentity":`...)
	var err error
	if b, err = appendIdentity(b, &rec.UserIdentity); err != nil {
		return nil, err
	}
	b = appendField(b, true, "eventTime", rec.EventTime)
	b = appendField(b, true, "eventSource", rec.EventSource)
	b = appendField(b, true, "eventName", rec.EventName)
	b = appendField(b, true, "awsRegion", rec.AWSRegion)
	b = appendField(b, true, "sourceIPAddress", rec.SourceIPAddress)
	b = appendField(b, true, "userAgent", rec.UserAgent)
	headEnd := len(b)
	b = appendField(b, false, "requestID", rec.RequestID)
	b = appendField(b, true, "eventID", rec.EventID)
	b = appendBool(b, "readOnly", rec.ReadOnly)
	midEnd := len(b)
	b = appendField(b, false, "eventType", rec.EventType)
	b = appendBool(b, "managementEvent", rec.ManagementEvent)
	b = appendField(b, true, "recipientAccountId", rec.RecipientAccountID)
	b = appendField(b, true, "eventCategory", rec.EventCategory)
	if t := rec.TLSDetails; t != nil {
		b = append(b, `,"tlsDetails":{`...)
		b = appendField(b, false, "tlsVersion", t.TLSVersion)
		b = appendField(b, true, "cipherSuite", t.CipherSuite)
		b = appendField(b, true, "clientProvidedHostHeader", t.ClientProvidedHostHeader)
		b = append(b, '}')
	}
	b = append(b, '}')
	p.head, p.mid, p.tail = b[:headEnd:headEnd], b[headEnd:midEnd:midEnd], b[midEnd:]
	if p.params, err = marshalParams(nil, rec.RequestParameters); err != nil {
		return nil, err
	}
	return p, nil
}

// appendIdentity appends the userIdentity element as json.Marshal writes it; a session
// context, the rare nested part, is left to encoding/json.
func appendIdentity(b []byte, u *UserIdentity) ([]byte, error) {
	if u.SessionContext != nil {
		e, err := json.Marshal(u)
		if err != nil {
			return nil, err
		}
		return append(b, e...), nil
	}
	b = append(b, '{')
	b = appendField(b, false, "type", u.Type)
	b, _ = appendOmitEmpty(b, true, "principalId", u.PrincipalID)
	b, _ = appendOmitEmpty(b, true, "arn", u.ARN)
	b, _ = appendOmitEmpty(b, true, "accountId", u.AccountID)
	b, _ = appendOmitEmpty(b, true, "accessKeyId", u.AccessKeyID)
	b, _ = appendOmitEmpty(b, true, "userName", u.UserName)
	b, _ = appendOmitEmpty(b, true, "invokedBy", u.InvokedBy)
	return append(b, '}'), nil
}

// outcome fills the record's fields that depend on how the call went; rec and ev are
// the prepared ones' copies.
func (p *Prepared) outcome(c *call.Call, o Outcome, rec *Record, ev *store.Event) {
	if o.Err == nil && p.responses {
		if r := Params(o.Op.Output, o.Out); r != nil {
			rec.ResponseElements = r
		}
	}
	if o.Err != nil {
		if ce, ok := awserr.As(o.Err); ok {
			rec.ErrorCode, rec.ErrorMessage = ce.AWSErrorCode(), ce.AWSMessage()
		} else {
			rec.ErrorCode, rec.ErrorMessage = "InternalFailure", "An internal error occurred."
		}
	}
	resources := c.Resources
	switch {
	case o.Service.Name == "s3" && ev.Category == "Data":
		resources = s3DataResources(o.In, resources)
	case o.Service.Name == "cloudwatch" && ev.Category == "Data":
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
}

// record returns the whole Record, as Finish encodes it.
func (p *Prepared) record(c *call.Call, o Outcome) (*Record, *store.Event) {
	rec, ev := p.rec, p.ev
	p.outcome(c, o, &rec, &ev)
	return &rec, &ev
}

// Finish completes the record with the call's outcome (o.Err, o.Out and the resources
// the handler touched) and returns its event-history entry. It encodes only the outcome:
// the rest was encoded by Prepare.
func (p *Prepared) Finish(c *call.Call, o Outcome) (*store.Event, error) {
	var rec Record
	ev := p.ev
	p.outcome(c, o, &rec, &ev)
	b := make([]byte, 0, len(p.head)+len(p.params)+len(p.mid)+len(p.tail)+256)
	b = append(b, p.head...)
	var err error
	b, _ = appendOmitEmpty(b, true, "errorCode", rec.ErrorCode)
	b, _ = appendOmitEmpty(b, true, "errorMessage", rec.ErrorMessage)
	b = append(b, `,"requestParameters":`...)
	b = append(b, p.params...)
	b = append(b, `,"responseElements":`...)
	if b, err = marshalParams(b, rec.ResponseElements); err != nil {
		return nil, err
	}
	b = append(b, ',')
	b = append(b, p.mid...)
	if len(rec.Resources) > 0 {
		b = append(b, `,"resources":`...)
		b = appendResources(b, rec.Resources)
	}
	b = append(b, ',')
	b = append(b, p.tail...)
	ev.Record = b
	return &ev, nil
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
