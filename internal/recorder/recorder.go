// Package recorder is AWS Config's recorder: configuration recorders, the configuration
// items it makes from every resource change the store announces, configuration history and
// inventory, advanced queries (package recorder/query), custom resources and the delivery
// channel (snapshots to S3, notifications to SNS and EventBridge).
//
// Every service keeps its resources with store.Tx.PutResource/DeleteResource; the
// recorder's stream consumer turns each store.KindResource change of a recorded type into
// an Item (generically; s3.go and cloudtrail.go shape the types whose AWS Config form
// differs from what their service stores) and appends a KindItem entry in the same
// transaction. Items are kept in the store's key-value space: every version by resource
// (history), the latest per resource (inventory, CurrentItems, advanced queries) and
// secondary keys for the indexed query filters (resourceId, resourceName, tags).
//
// What the rest of bannin calls:
//
//	func (s *Service) CurrentItems(ctx context.Context, tx store.ReadTx, account, region string, types []string) ([]*Item, error)
//	func (s *Service) Notify(ctx context.Context, tx store.Tx, account, region, messageType string, notification any) error
//
// and the stream kind KindItem (payload: an Item as JSON).
package recorder

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	"github.com/bannin/bannin/internal/store"
	"github.com/bannin/bannin/internal/wire/config"
)

// KindItem is the stream entry kind the recorder appends for each configuration item it
// records; the payload is the Item as JSON. Rule evaluation consumes these.
const KindItem = "config.item"

// Item is a configuration item in AWS Config's notification format (the
// configurationItem of a ConfigurationItemChangeNotification), which is also what custom
// policy (Guard) rules evaluate.
type Item struct {
	Version              string                     `json:"configurationItemVersion"`
	CaptureTime          time.Time                  `json:"configurationItemCaptureTime"`
	StateID              string                     `json:"configurationStateId"`
	Status               string                     `json:"configurationItemStatus"`
	StateMD5Hash         string                     `json:"configurationStateMd5Hash"`
	AccountID            string                     `json:"awsAccountId"`
	Region               string                     `json:"awsRegion"`
	AvailabilityZone     string                     `json:"availabilityZone"`
	ResourceType         string                     `json:"resourceType"`
	ResourceID           string                     `json:"resourceId"`
	ResourceName         string                     `json:"resourceName,omitempty"`
	ARN                  string                     `json:"ARN,omitempty"`
	ResourceCreationTime *time.Time                 `json:"resourceCreationTime,omitempty"`
	Tags                 map[string]string          `json:"tags"`
	RelatedEvents        []string                   `json:"relatedEvents"`
	Relationships        []Relationship             `json:"relationships"`
	Configuration        json.RawMessage            `json:"configuration"`
	Supplementary        map[string]json.RawMessage `json:"supplementaryConfiguration"`
	// RecordingFrequency is the recorder's recording frequency for the type: Continuous or
	// Daily.
	RecordingFrequency string `json:"recordingFrequency,omitempty"`
}

// Relationship is a configuration item's relationship to another resource.
type Relationship struct {
	ResourceType string `json:"resourceType"`
	ResourceID   string `json:"resourceId,omitempty"`
	ResourceName string `json:"resourceName,omitempty"`
	Name         string `json:"name"`
}

// Options configure the service.
type Options struct {
	// Store holds the configuration items; the recorder's stream consumers write to it.
	Store  store.Store
	Clock  func() time.Time
	Logger *slog.Logger
	// PutObject writes a delivery channel file (snapshot, history) to an S3 bucket as the
	// Config service. It must not be called inside a store transaction.
	PutObject func(ctx context.Context, account, region, bucket, key string, body []byte) error
	// Publish sends a notification to the delivery channel's SNS topic in tx.
	Publish func(ctx context.Context, tx store.Tx, topicARN, subject, message string) (string, error)
	// EmitEvent puts an event on the account's default event bus in tx (source
	// "aws.config", detail-type such as "Config Configuration Item Change").
	EmitEvent func(ctx context.Context, tx store.Tx, account, region, source, detailType string, resources []string, detail []byte) error
}

// Service implements the recorder operations of config.API.
type Service struct {
	config.Unimplemented
	opts Options

	// decoded keeps the items CurrentItems decoded, by key, with the stored bytes they came
	// from: rules read every current item again and again, mostly unchanged.
	decodedMu sync.Mutex
	decoded   map[string]decodedItem
}

// New returns the recorder.
func New(opts Options) *Service {
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Service{opts: opts}
}
