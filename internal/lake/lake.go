// Package lake is CloudTrail Lake's ingestion side: event data stores, the channels that
// feed them, channel resource policies, and cloudtrail-data PutAuditEvents, which takes
// audit events from sources outside AWS and keeps them as ActivityAuditLog records.
//
// Service holds the CloudTrail operations (the CloudTrail service embeds it); Data is
// the CloudTrail Data service. Both keep their state in the store: event data stores and
// channels are resources, accepted audit events are store events of category
// ActivityAuditLog.
package lake

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/google/uuid"

	"github.com/bannin/bannin/internal/awserr"
	"github.com/bannin/bannin/internal/call"
	"github.com/bannin/bannin/internal/store"
	"github.com/bannin/bannin/internal/wire/cloudtrail"
)

// Resource types event data stores and channels are stored and recorded under.
const (
	EventDataStoreType = "AWS::CloudTrail::EventDataStore"
	ChannelType        = "AWS::CloudTrail::Channel"
)

// Category is the eventCategory of events from sources outside AWS.
const Category = "ActivityAuditLog"

// Event data store statuses.
const (
	StatusCreated          = "CREATED"
	StatusEnabled          = "ENABLED"
	StatusPendingDeletion  = "PENDING_DELETION"
	StatusStoppedIngestion = "STOPPED_INGESTION"
)

// Billing modes.
const (
	BillingExtendable = "EXTENDABLE_RETENTION_PRICING"
	BillingFixed      = "FIXED_RETENTION_PRICING"
)

// DeletionWait is how long a deleted event data store stays in PENDING_DELETION (and can be
// restored) before it is gone.
const DeletionWait = 7 * 24 * time.Hour

// Limits CloudTrail applies per account and region.
const (
	MaxEventDataStores = 10
	MaxChannels        = 25
)

// Service implements CloudTrail Lake's event data store, channel and resource policy
// operations of cloudtrail.API.
type Service struct {
	cloudtrail.Unimplemented
	newID func() string
}

// Options configure the Lake services.
type Options struct {
	// NewID returns a new event data store, channel or event id (default: a random UUID).
	NewID func() string
}

// New returns the CloudTrail Lake service.
func New(opts Options) *Service {
	if opts.NewID == nil {
		opts.NewID = uuid.NewString
	}
	return &Service{newID: opts.NewID}
}

func errf(code string, format string, args ...any) error {
	return awserr.New(code, http.StatusBadRequest, format, args...)
}

func opt(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// EventDataStoreARN is the ARN of an event data store.
func EventDataStoreARN(region, account, id string) string {
	return fmt.Sprintf("arn:aws:cloudtrail:%s:%s:eventdatastore/%s", region, account, id)
}

// ChannelARN is the ARN of a channel.
func ChannelARN(region, account, id string) string {
	return fmt.Sprintf("arn:aws:cloudtrail:%s:%s:channel/%s", region, account, id)
}

var (
	arnRE  = regexp.MustCompile(`^arn:aws[a-z-]*:cloudtrail:([a-z0-9-]+):(\d{12}):(eventdatastore|channel)/([A-Za-z0-9._-]+)$`)
	idRE   = regexp.MustCompile(`^[A-Za-z0-9-]{3,}$`)
	nameRE = regexp.MustCompile(`^[a-zA-Z0-9._-]{3,128}$`)
)

// ref is a parsed event data store or channel reference: an ARN, or the id part of one
// in the caller's account and region.
type ref struct{ region, account, id string }

// parseRef parses an ARN of kind ("eventdatastore" or "channel") or a bare id.
func parseRef(c *call.Call, kind, s string) (ref, bool) {
	if m := arnRE.FindStringSubmatch(s); m != nil {
		if m[3] != kind {
			return ref{}, false
		}
		return ref{region: m[1], account: m[2], id: m[4]}, true
	}
	if strings.HasPrefix(s, "arn:") || !idRE.MatchString(s) {
		return ref{}, false
	}
	return ref{region: c.Region, account: c.Account, id: s}, true
}

// EventDataStore is an event data store's stored configuration.
type EventDataStore struct {
	EventDataStoreArn            string                             `json:"EventDataStoreArn"`
	Name                         string                             `json:"Name"`
	Status                       string                             `json:"Status"`
	AdvancedEventSelectors       []cloudtrail.AdvancedEventSelector `json:"AdvancedEventSelectors"`
	MultiRegionEnabled           bool                               `json:"MultiRegionEnabled"`
	OrganizationEnabled          bool                               `json:"OrganizationEnabled"`
	RetentionPeriod              int32                              `json:"RetentionPeriod"`
	TerminationProtectionEnabled bool                               `json:"TerminationProtectionEnabled"`
	KmsKeyId                     string                             `json:"KmsKeyId,omitempty"`
	BillingMode                  string                             `json:"BillingMode"`
	CreatedTimestamp             time.Time                          `json:"CreatedTimestamp"`
	UpdatedTimestamp             time.Time                          `json:"UpdatedTimestamp"`
	// DeletedTimestamp is when DeleteEventDataStore put the store in PENDING_DELETION.
	DeletedTimestamp *time.Time `json:"DeletedTimestamp,omitempty"`
	// StatusBeforeDeletion is the status RestoreEventDataStore returns to.
	StatusBeforeDeletion string `json:"StatusBeforeDeletion,omitempty"`
}

// ID is the id part of the store's ARN.
func (e *EventDataStore) ID() string {
	return e.EventDataStoreArn[strings.LastIndexByte(e.EventDataStoreArn, '/')+1:]
}

// AcceptsActivityAuditLog reports whether the store's selectors take events from outside
// AWS, which is what a channel destination must do.
func (e *EventDataStore) AcceptsActivityAuditLog() bool {
	for _, s := range e.AdvancedEventSelectors {
		for _, f := range s.FieldSelectors {
			if aws.ToString(f.Field) == "eventCategory" {
				for _, v := range f.Equals {
					if v == Category {
						return true
					}
				}
			}
		}
	}
	return false
}

// expired reports whether a deleted store's wait is over at now.
func (e *EventDataStore) expired(now time.Time) bool {
	return e.DeletedTimestamp != nil && !now.Before(e.DeletedTimestamp.Add(DeletionWait))
}

// Channel is a channel's stored configuration.
type Channel struct {
	ChannelArn   string                   `json:"ChannelArn"`
	Name         string                   `json:"Name"`
	Source       string                   `json:"Source"`
	Destinations []cloudtrail.Destination `json:"Destinations"`
	// ResourcePolicy is the channel's resource-based policy document, if any.
	ResourcePolicy string `json:"ResourcePolicy,omitempty"`
}

// ingestionBucket is the key-value bucket that holds each channel's Ingestion state, kept
// apart from the channel resource so that ingesting does not make configuration history.
const ingestionBucket = "lake-channel-ingestion"

// Ingestion is what GetChannel reports about a channel's latest PutAuditEvents calls.
type Ingestion struct {
	LatestIngestionSuccessTime    *time.Time `json:"LatestIngestionSuccessTime,omitempty"`
	LatestIngestionSuccessEventID string     `json:"LatestIngestionSuccessEventID,omitempty"`
	LatestIngestionErrorCode      string     `json:"LatestIngestionErrorCode,omitempty"`
	LatestIngestionAttemptTime    *time.Time `json:"LatestIngestionAttemptTime,omitempty"`
	LatestIngestionAttemptEventID string     `json:"LatestIngestionAttemptEventID,omitempty"`
}

// loadIngestion reads a channel's ingestion state (zero if it has none).
func loadIngestion(ctx context.Context, tx store.ReadTx, channelARN string) (Ingestion, error) {
	var in Ingestion
	b, err := tx.Get(ctx, ingestionBucket, channelARN)
	if err != nil || b == nil {
		return in, err
	}
	if err := json.Unmarshal(b, &in); err != nil {
		return in, fmt.Errorf("lake: decode ingestion state of %s: %w", channelARN, err)
	}
	return in, nil
}

// ID is the id part of the channel's ARN.
func (ch *Channel) ID() string { return ch.ChannelArn[strings.LastIndexByte(ch.ChannelArn, '/')+1:] }

// Account is the account that owns the channel.
func (ch *Channel) Account() string { return strings.Split(ch.ChannelArn, ":")[4] }

// Region is the channel's region.
func (ch *Channel) Region() string { return strings.Split(ch.ChannelArn, ":")[3] }

// loadEDS reads an event data store by reference from tx. It returns nil for a store that is
// absent or whose deletion wait is over.
func loadEDS(ctx context.Context, tx store.ReadTx, r ref, now time.Time) (*EventDataStore, *store.Resource, error) {
	res, err := tx.GetResource(ctx, r.account, r.region, EventDataStoreType, r.id)
	if err != nil || res == nil {
		return nil, nil, err
	}
	var e EventDataStore
	if err := json.Unmarshal(res.Config, &e); err != nil {
		return nil, nil, fmt.Errorf("lake: decode event data store %s: %w", r.id, err)
	}
	if e.expired(now) {
		return nil, nil, nil
	}
	return &e, res, nil
}

// findEDS resolves the EventDataStore parameter of a call in the caller's account.
func findEDS(ctx context.Context, c *call.Call, s string) (*EventDataStore, *store.Resource, error) {
	r, ok := parseRef(c, "eventdatastore", s)
	if !ok {
		return nil, nil, errf("EventDataStoreARNInvalidException", "The specified event data store ARN %s is not valid or does not map to an event data store in your account.", s)
	}
	if r.account != c.Account {
		return nil, nil, errf("EventDataStoreARNInvalidException", "The specified event data store ARN %s is not valid or does not map to an event data store in your account.", s)
	}
	e, res, err := loadEDS(ctx, c.Tx, r, c.Time)
	if err != nil {
		return nil, nil, err
	}
	if e == nil || r.region != c.Region {
		return nil, nil, errf("EventDataStoreNotFoundException", "The specified event data store %s was not found.", EventDataStoreARN(r.region, r.account, r.id))
	}
	return e, res, nil
}

// saveEDS writes an event data store in the call's write transaction, keeping tags unless
// tags is non-nil.
func saveEDS(ctx context.Context, c *call.Call, e *EventDataStore, tags map[string]string, created time.Time) error {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	c.Touch(EventDataStoreType, e.EventDataStoreArn, e.EventDataStoreArn)
	return c.Write().PutResource(ctx, &store.Resource{Account: c.Account, Region: c.Region, Type: EventDataStoreType,
		ID: e.ID(), ARN: e.EventDataStoreArn, Name: e.Name, Config: b, Tags: tags, Created: created})
}

// loadChannel reads a channel by reference from tx, or returns nil if it is absent.
func loadChannel(ctx context.Context, tx store.ReadTx, r ref) (*Channel, *store.Resource, error) {
	res, err := tx.GetResource(ctx, r.account, r.region, ChannelType, r.id)
	if err != nil || res == nil {
		return nil, nil, err
	}
	var ch Channel
	if err := json.Unmarshal(res.Config, &ch); err != nil {
		return nil, nil, fmt.Errorf("lake: decode channel %s: %w", r.id, err)
	}
	return &ch, res, nil
}

// findChannel resolves the Channel parameter of a call in the caller's account.
func findChannel(ctx context.Context, c *call.Call, s string) (*Channel, *store.Resource, error) {
	r, ok := parseRef(c, "channel", s)
	if !ok {
		return nil, nil, errf("ChannelARNInvalidException", "The specified channel ARN %s is not valid.", s)
	}
	ch, res, err := loadChannel(ctx, c.Tx, r)
	if err != nil {
		return nil, nil, err
	}
	if ch == nil || r.account != c.Account || r.region != c.Region {
		return nil, nil, errf("ChannelNotFoundException", "The channel %s was not found.", ChannelARN(r.region, r.account, r.id))
	}
	return ch, res, nil
}

// saveChannel writes a channel in the call's write transaction.
func saveChannel(ctx context.Context, c *call.Call, ch *Channel, tags map[string]string) error {
	b, err := json.Marshal(ch)
	if err != nil {
		return err
	}
	c.Touch(ChannelType, ch.ChannelArn, ch.ChannelArn)
	return c.Write().PutResource(ctx, &store.Resource{Account: ch.Account(), Region: ch.Region(), Type: ChannelType,
		ID: ch.ID(), ARN: ch.ChannelArn, Name: ch.Name, Config: b, Tags: tags})
}

// all lists every live resource of typ in the caller's account and region.
func all(ctx context.Context, c *call.Call, typ string) ([]*store.Resource, error) {
	var out []*store.Resource
	next := ""
	for {
		rs, tok, err := c.Tx.ListResources(ctx, store.ResourceQuery{Account: c.Account, Region: c.Region, Type: typ, After: next, Limit: 1000})
		if err != nil {
			return nil, err
		}
		out = append(out, rs...)
		if tok == "" {
			return out, nil
		}
		next = tok
	}
}
