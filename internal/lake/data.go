package lake

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/google/uuid"

	"github.com/bannin/bannin/internal/awserr"
	"github.com/bannin/bannin/internal/call"
	"github.com/bannin/bannin/internal/store"
	"github.com/bannin/bannin/internal/wire/cloudtraildata"
)

// PutAuditEvents limits.
const (
	MaxAuditEvents    = 100
	MaxAuditEventSize = 1 << 20 // the eventData of one request, in bytes
)

// Error codes of PutAuditEvents' failed entries. AWS does not document the codes it uses;
// these name the rule an event broke.
const (
	FailInvalidChecksum  = "InvalidChecksum"
	FailInvalidEventData = "InvalidEventData"
	FailInactiveStore    = "InactiveEventDataStore"
)

// EventVersion is the eventVersion of the ActivityAuditLog records PutAuditEvents stores.
const EventVersion = "1.0"

// Data implements the CloudTrail Data service.
type Data struct {
	cloudtraildata.Unimplemented
	newID func() string
}

// NewData returns the CloudTrail Data service.
func NewData(opts Options) *Data {
	if opts.NewID == nil {
		opts.NewID = uuid.NewString
	}
	return &Data{newID: opts.NewID}
}

// Record is the CloudTrail Lake record of an event from outside AWS: what CloudTrail adds
// on ingestion around the caller's eventData.
type Record struct {
	EventVersion       string          `json:"eventVersion"`
	EventCategory      string          `json:"eventCategory"`
	EventType          string          `json:"eventType"`
	EventID            string          `json:"eventID"`
	EventTime          string          `json:"eventTime"`
	AWSRegion          string          `json:"awsRegion"`
	RecipientAccountID string          `json:"recipientAccountId"`
	Addendum           json.RawMessage `json:"addendum,omitempty"`
	Metadata           RecordMetadata  `json:"metadata"`
	EventData          json.RawMessage `json:"eventData"`
}

// RecordMetadata says how and when a record arrived.
type RecordMetadata struct {
	IngestionTime string `json:"ingestionTime"`
	ChannelARN    string `json:"channelARN"`
}

// timeFormat is how Lake records write times: yyyy-MM-ddTHH:mm:ssZ in UTC.
const timeFormat = "2006-01-02T15:04:05Z"

// checksumOK reports whether sum is the SHA-256 of data, base64-encoded as AWS documents
// (hex is accepted too; the two encodings cannot be confused).
func checksumOK(data, sum string) bool {
	h := sha256.Sum256([]byte(data))
	sum = strings.TrimSpace(sum)
	return sum == base64.StdEncoding.EncodeToString(h[:]) || strings.EqualFold(sum, hex.EncodeToString(h[:]))
}

// PutAuditEvents ingests events from outside AWS through a channel into its event data
// stores. Every event is either stored (successful, with the eventID CloudTrail gave it)
// or reported in failed with the reason; a problem with the request as a whole is an error.
func (d *Data) PutAuditEvents(ctx context.Context, in *cloudtraildata.PutAuditEventsRequest) (*cloudtraildata.PutAuditEventsResponse, error) {
	c := call.From(ctx)
	arn := aws.ToString(in.ChannelArn)
	r, ok := parseRef(c, "channel", arn)
	if !ok {
		return nil, &cloudtraildata.InvalidChannelARN{Message: aws.String(fmt.Sprintf("The specified channel ARN %s is not a valid channel ARN.", arn))}
	}
	ch, _, err := loadChannel(ctx, c.Tx, r)
	if err != nil {
		return nil, err
	}
	if ch == nil || r.region != c.Region {
		return nil, &cloudtraildata.ChannelNotFound{Message: aws.String(fmt.Sprintf("The channel %s could not be found.", ChannelARN(r.region, r.account, r.id)))}
	}
	if !mayPut(ch, c.Caller, aws.ToString(in.ExternalId)) {
		return nil, &cloudtraildata.ChannelInsufficientPermission{Message: aws.String(fmt.Sprintf(
			"The caller is not allowed to put audit events on channel %s: the caller's account must own the channel, or the channel's resource policy must allow it (with the external id it requires).", ch.ChannelArn))}
	}
	if ch.Source != SourceCustom {
		return nil, &cloudtraildata.ChannelUnsupportedSchema{Message: aws.String(fmt.Sprintf("The schema of channel source %s is not supported.", ch.Source))}
	}
	if n := len(in.AuditEvents); n < 1 || n > MaxAuditEvents {
		return nil, awserr.New("ValidationException", http.StatusBadRequest,
			"1 validation error detected: Value at 'auditEvents' failed to satisfy constraint: Member must have length between 1 and %d (it has %d)", MaxAuditEvents, n)
	}
	size := 0
	ids := make(map[string]bool, len(in.AuditEvents))
	for _, ev := range in.AuditEvents {
		size += len(aws.ToString(ev.EventData))
		id := aws.ToString(ev.Id)
		if ids[id] {
			return nil, &cloudtraildata.DuplicatedAuditEventId{Message: aws.String(fmt.Sprintf("Two or more entries in the request have the same event ID %s.", id))}
		}
		ids[id] = true
	}
	if size > MaxAuditEventSize {
		return nil, awserr.New("ValidationException", http.StatusBadRequest,
			"The audit events of one request can hold at most %d bytes of eventData; this request has %d.", MaxAuditEventSize, size)
	}

	// The event data stores that ingest now.
	var stores []string
	for _, dst := range ch.Destinations {
		dr, ok := parseRef(c, "eventdatastore", aws.ToString(dst.Location))
		if !ok {
			continue
		}
		e, _, err := loadEDS(ctx, c.Tx, dr, c.Time)
		if err != nil {
			return nil, err
		}
		if e != nil && e.Status == StatusEnabled {
			stores = append(stores, e.EventDataStoreArn)
		}
	}

	out := &cloudtraildata.PutAuditEventsResponse{Successful: []cloudtraildata.AuditEventResultEntry{}, Failed: []cloudtraildata.ResultErrorEntry{}}
	fail := func(id, code, format string, args ...any) {
		out.Failed = append(out.Failed, cloudtraildata.ResultErrorEntry{Id: aws.String(id), ErrorCode: aws.String(code),
			ErrorMessage: aws.String(fmt.Sprintf(format, args...))})
	}
	now := c.Time.UTC()
	ing, err := loadIngestion(ctx, c.Tx, ch.ChannelArn)
	if err != nil {
		return nil, err
	}
	for _, ev := range in.AuditEvents {
		id, data := aws.ToString(ev.Id), aws.ToString(ev.EventData)
		eventID := d.newID()
		ing.LatestIngestionAttemptTime, ing.LatestIngestionAttemptEventID = &now, eventID
		if len(stores) == 0 {
			ing.LatestIngestionErrorCode = FailInactiveStore
			fail(id, FailInactiveStore, "No destination event data store of channel %s is ingesting events.", ch.ChannelArn)
			continue
		}
		if ev.EventDataChecksum != nil && !checksumOK(data, *ev.EventDataChecksum) {
			ing.LatestIngestionErrorCode = FailInvalidChecksum
			fail(id, FailInvalidChecksum, "The eventDataChecksum does not match the SHA-256 checksum of eventData.")
			continue
		}
		ed, err := ParseEventData(data, ch.Account())
		if err != nil {
			ing.LatestIngestionErrorCode = FailInvalidEventData
			fail(id, FailInvalidEventData, "%s.", err)
			continue
		}
		rec, err := record(eventID, data, ed, ch, now)
		if err != nil {
			return nil, err
		}
		se := &store.Event{EventID: eventID, Time: ed.EventTime, Account: ch.Account(), Region: ch.Region(),
			EventName: ed.EventName, EventSource: ed.EventSource, Username: ed.UserIdentity.PrincipalID,
			Category: Category, Record: rec,
			Resources: []store.EventResource{{Type: ChannelType, Name: ch.ChannelArn}}}
		for _, s := range stores {
			se.Resources = append(se.Resources, store.EventResource{Type: EventDataStoreType, Name: s})
		}
		if err := c.Write().AppendEvent(ctx, se); err != nil {
			return nil, fmt.Errorf("lake: store audit event %s: %w", id, err)
		}
		ing.LatestIngestionSuccessTime, ing.LatestIngestionSuccessEventID = &now, eventID
		out.Successful = append(out.Successful, cloudtraildata.AuditEventResultEntry{Id: aws.String(id), EventID: aws.String(eventID)})
	}
	b, err := json.Marshal(ing)
	if err != nil {
		return nil, err
	}
	if err := c.Write().Put(ctx, ingestionBucket, ch.ChannelArn, b); err != nil {
		return nil, fmt.Errorf("lake: save ingestion state of %s: %w", ch.ChannelArn, err)
	}
	return out, nil
}

// record builds the Lake record of an accepted event.
func record(eventID, data string, ed *AuditEventData, ch *Channel, now time.Time) (json.RawMessage, error) {
	var compact bytes.Buffer
	if err := json.Compact(&compact, []byte(data)); err != nil {
		return nil, fmt.Errorf("lake: compact event data: %w", err)
	}
	return json.Marshal(Record{EventVersion: EventVersion, EventCategory: Category, EventType: "ActivityLog",
		EventID: eventID, EventTime: ed.EventTime.Format(timeFormat), AWSRegion: ch.Region(), RecipientAccountID: ch.Account(),
		Metadata:  RecordMetadata{IngestionTime: now.Format(timeFormat), ChannelARN: ch.ChannelArn},
		EventData: compact.Bytes()})
}
