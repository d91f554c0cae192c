// Package store defines bannin's storage interface: resources with their configuration history,
// the CloudTrail event history, the durable ordered stream that every consumer reads, consumer
// checkpoints and a small key-value space. Backends (store/sqlite, later store/postgres)
// implement it; everything else in bannin depends only on this package.
//
// Writes that belong together (a resource's new state, its CloudTrail record, the stream
// entries that announce them) are made in one Update and commit atomically.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Stream entry kinds written by the store itself.
const (
	// KindResource entries carry a ResourceChange as JSON: a resource's new state.
	KindResource = "resource"
	// KindAPICall entries carry one CloudTrail record (Event.Record) as given.
	KindAPICall = "api-call"
)

// Resource statuses carried by ResourceChange.Status, named as AWS Config names
// configurationItemStatus.
const (
	StatusDiscovered = "ResourceDiscovered" // first version of a resource (or re-created after deletion)
	StatusOK         = "OK"                 // a later version
	StatusDeleted    = "ResourceDeleted"    // the resource was deleted
)

// Event categories (CloudTrail eventCategory).
const (
	CategoryManagement = "Management"
	CategoryData       = "Data"
	CategoryInsight    = "Insight"
	// CategoryActivityAuditLog holds events from outside AWS, ingested through CloudTrail
	// Lake channels (cloudtrail-data PutAuditEvents).
	CategoryActivityAuditLog = "ActivityAuditLog"
	// CategoryNetworkActivity holds VPC endpoint network activity events.
	CategoryNetworkActivity = "NetworkActivity"
)

// LookupEvents attribute keys (CloudTrail LookupAttributeKey).
const (
	AttrEventID      = "EventId"
	AttrEventName    = "EventName"
	AttrReadOnly     = "ReadOnly"
	AttrUsername     = "Username"
	AttrResourceType = "ResourceType"
	AttrResourceName = "ResourceName"
	AttrEventSource  = "EventSource"
	AttrAccessKeyID  = "AccessKeyId"
)

var (
	// ErrNotFound is returned by operations on a resource that does not exist.
	ErrNotFound = errors.New("not found")
	// ErrInvalidToken is returned when a pagination token is malformed or was issued for
	// another query (CloudTrail answers InvalidNextTokenException).
	ErrInvalidToken = errors.New("invalid pagination token")
	// ErrInvalidQuery is returned for a query the store cannot run (an unknown attribute key,
	// a ReadOnly value that is neither true nor false).
	ErrInvalidQuery = errors.New("invalid query")
	// ErrClosed is returned by Update and View once Close has begun.
	ErrClosed = errors.New("store closed")
)

// Store is a transactional store.
type Store interface {
	// Update runs fn in a write transaction, group-committed with other callers'. When fn
	// returns an error, only fn's own writes are rolled back and Update returns that error.
	// When Update returns nil, fn's writes are durable. fn may be run with other callers'
	// functions in the same transaction, so it must not call Update itself (that deadlocks),
	// must not keep tx after it returns, and must not use tx from several goroutines.
	Update(ctx context.Context, fn func(tx Tx) error) error
	// View runs fn on a consistent read snapshot. Views run concurrently with each other and
	// with Update.
	View(ctx context.Context, fn func(tx ReadTx) error) error
	// Close stops accepting work, waits for queued Updates to commit, and releases the store.
	Close() error
}

// ReadTx reads from a transaction.
type ReadTx interface {
	// GetResource returns the current state of a resource, or (nil, nil) if it is absent or
	// deleted.
	GetResource(ctx context.Context, account, region, typ, id string) (*Resource, error)
	// FindResources returns the live resources of type typ named id in any account and region
	// (S3 bucket names are global).
	FindResources(ctx context.Context, typ, id string) ([]*Resource, error)
	// ListResources returns live resources ordered by id (then account, region) and the token
	// of the next page ("" when there is none).
	ListResources(ctx context.Context, q ResourceQuery) ([]*Resource, string, error)
	// ResourceHistory returns the recorded versions of one resource (including deletions) and
	// the token of the next page.
	ResourceHistory(ctx context.Context, q HistoryQuery) ([]*ResourceChange, string, error)
	// LookupEvents returns CloudTrail events newest first and the token of the next page.
	LookupEvents(ctx context.Context, q EventQuery) ([]*Event, string, error)
	// ReadStream returns up to limit stream entries with Seq > after, in Seq order.
	ReadStream(ctx context.Context, after int64, limit int) ([]Entry, error)
	// ReadStreamKinds returns up to limit stream entries with Seq > after whose Kind is one of
	// kinds, in Seq order, looking at no more than max(limit, StreamScan) entries, with the Seq
	// of the last entry it looked at (after itself when there was none): a consumer of a few
	// kinds moves past the others quickly and without their payloads being copied, whatever
	// its batch size.
	ReadStreamKinds(ctx context.Context, after int64, limit int, kinds []string) (es []Entry, last int64, err error)
	// StreamHead returns the Seq of the newest stream entry (0 if the stream is empty), so a
	// new consumer can start from now.
	StreamHead(ctx context.Context) (int64, error)
	// Checkpoint returns a consumer's committed position (0 if it has none).
	Checkpoint(ctx context.Context, consumer string) (int64, error)
	// Get returns a value of the generic key-value space, or nil if absent.
	Get(ctx context.Context, bucket, key string) ([]byte, error)
	// List returns the pairs of bucket whose keys start with prefix and sort after `after`,
	// in key order, at most limit (<= 0: 1000).
	List(ctx context.Context, bucket, prefix, after string, limit int) ([]KV, error)
}

// KV is one pair of the generic key-value space.
type KV struct {
	Key   string
	Value []byte
}

// Tx reads and writes in a transaction.
type Tx interface {
	ReadTx
	// PutResource creates or replaces a resource. It sets r.Version to the new version,
	// r.Updated to now and r.Created (kept from the live previous version, else now unless
	// set), records a history row and appends a KindResource stream entry.
	PutResource(ctx context.Context, r *Resource) error
	// DeleteResource marks a resource deleted, keeps its history and appends a KindResource
	// entry with status ResourceDeleted. It returns ErrNotFound if the resource is absent or
	// already deleted.
	DeleteResource(ctx context.Context, account, region, typ, id string) error
	// AppendEvent records a CloudTrail event in the event history and appends a KindAPICall
	// entry whose payload is e.Record and whose Time is e.Time. An event whose EventID is already stored is ignored
	// (no error, no stream entry), so imports and retries are idempotent.
	AppendEvent(ctx context.Context, e *Event) error
	// AppendEvents records many events in the event history, ignoring those whose EventID is
	// already stored, and returns how many were new. It appends no stream entries: imported
	// history is history, and replaying months of imported logs through delivery, rules and
	// alarms as if they had just happened is not what an import means.
	AppendEvents(ctx context.Context, es []*Event) (inserted int, err error)
	// Append appends a stream entry of any kind and returns its Seq.
	Append(ctx context.Context, kind string, payload []byte) (int64, error)
	// SetCheckpoint commits a consumer's position.
	SetCheckpoint(ctx context.Context, consumer string, seq int64) error
	// TrimStream deletes the stream entries with Seq <= upTo (all consumers are past them),
	// except the newest entry of the stream, and returns how many were deleted. Seqs are never
	// reused.
	TrimStream(ctx context.Context, upTo int64) (int64, error)
	// Put sets a value of the generic key-value space.
	Put(ctx context.Context, bucket, key string, value []byte) error
	// Delete removes a value of the generic key-value space (absent is not an error).
	Delete(ctx context.Context, bucket, key string) error
	// PurgeEvents deletes the events older than before (retention) and returns how many.
	PurgeEvents(ctx context.Context, before time.Time) (int64, error)
}

// Resource is the current state of one resource.
type Resource struct {
	Account string `json:"account"`
	Region  string `json:"region"`
	// Type is the CloudFormation type name, e.g. "AWS::CloudTrail::Trail".
	Type string `json:"type"`
	ID   string `json:"id"`
	ARN  string `json:"arn,omitempty"`
	Name string `json:"name,omitempty"`
	// Config is the resource's configuration document (whatever the service keeps).
	Config  json.RawMessage   `json:"config,omitempty"`
	Tags    map[string]string `json:"tags,omitempty"`
	Version int64             `json:"version"`
	Created time.Time         `json:"created"`
	Updated time.Time         `json:"updated"`
}

// ResourceChange is one version of a resource: the payload of KindResource stream entries and
// a row of the configuration history. Updated is the time of the change.
type ResourceChange struct {
	Resource
	Status string `json:"status"`
	// EventID is the CloudTrail event of the API call that made the change, when it was made
	// by one (AWS Config's relatedEvents).
	EventID string `json:"eventId,omitempty"`
}

type eventIDKey struct{}

// WithEventID returns ctx saying that the changes made under it are caused by the API call
// recorded as event id; PutResource and DeleteResource keep it in the ResourceChange.
func WithEventID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, eventIDKey{}, id)
}

// EventIDFrom returns the event id WithEventID put in ctx, or "".
func EventIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(eventIDKey{}).(string)
	return id
}

// ResourceQuery selects live resources for ListResources.
type ResourceQuery struct {
	Account, Region string // "" = any
	Type            string // "" = any
	After           string // token returned by the previous page
	Limit           int    // <= 0: 100
}

// HistoryQuery selects versions of one resource for ResourceHistory.
type HistoryQuery struct {
	Account, Region, Type, ID string
	// Earlier and Later bound the change time (inclusive); zero = unbounded.
	Earlier, Later time.Time
	// Chronological returns oldest first; the default is newest first.
	Chronological bool
	Limit         int // <= 0: 100
	NextToken     string
}

// Event is one CloudTrail record with the attributes LookupEvents filters on.
type Event struct {
	EventID     string    `json:"eventId"`
	Time        time.Time `json:"time"`
	Account     string    `json:"account"`
	Region      string    `json:"region"`
	EventName   string    `json:"eventName"`
	EventSource string    `json:"eventSource"`
	Username    string    `json:"username,omitempty"`
	AccessKeyID string    `json:"accessKeyId,omitempty"`
	ReadOnly    bool      `json:"readOnly"`
	// Category is "Management", "Data" or "Insight"; "" is stored as "Management".
	Category  string          `json:"category"`
	Resources []EventResource `json:"resources,omitempty"`
	// Record is the whole CloudTrail record, stored as given.
	Record json.RawMessage `json:"record,omitempty"`
}

// EventResource is one resource an event refers to (LookupEvents ResourceType/ResourceName).
type EventResource struct {
	Type string `json:"type,omitempty"`
	Name string `json:"name,omitempty"`
}

// EventQuery selects events for LookupEvents.
type EventQuery struct {
	Account, Region string // "" = any (fast only when both are set)
	// AttributeKey is one of EventId EventName ReadOnly Username ResourceType ResourceName
	// EventSource AccessKeyId, or "" for none.
	AttributeKey, AttributeValue string
	Start, End                   time.Time // inclusive; zero = unbounded
	// Category is "" (Management, LookupEvents' default), "insight", "management" or "data",
	// in any case.
	Category  string
	Limit     int // <= 0: 50
	NextToken string
}

// StreamScan is how many entries ReadStreamKinds looks at, at least, for the kinds it wants.
const StreamScan = 4096

// Entry is one stream entry.
type Entry struct {
	Seq     int64
	Kind    string
	Time    time.Time
	Payload []byte
}

// NormalizeCategory maps a query or event category to its stored form, or "" if unknown.
func NormalizeCategory(c string) string {
	switch strings.ToLower(c) {
	case "", "management":
		return CategoryManagement
	case "data":
		return CategoryData
	case "insight":
		return CategoryInsight
	case "activityauditlog":
		return CategoryActivityAuditLog
	case "networkactivity":
		return CategoryNetworkActivity
	}
	return ""
}

// ListAll returns every pair of bucket whose key starts with prefix, across List's pages.
func ListAll(ctx context.Context, tx ReadTx, bucket, prefix string) ([]KV, error) {
	var out []KV
	after := ""
	for {
		kvs, err := tx.List(ctx, bucket, prefix, after, 1000)
		if err != nil {
			return nil, fmt.Errorf("store: list %s: %w", bucket, err)
		}
		out = append(out, kvs...)
		if len(kvs) < 1000 {
			return out, nil
		}
		after = kvs[len(kvs)-1].Key
	}
}

// AllResources returns every live resource q selects, across ListResources' pages.
func AllResources(ctx context.Context, tx ReadTx, q ResourceQuery) ([]*Resource, error) {
	var out []*Resource
	q.Limit = 1000
	for {
		rs, next, err := tx.ListResources(ctx, q)
		if err != nil {
			return nil, err
		}
		out = append(out, rs...)
		if next == "" {
			return out, nil
		}
		q.After = next
	}
}
