// Package logs is CloudWatch Logs: log groups and streams, log events, filter patterns
// (package logs/filterpattern) and metric filters.
//
// Log groups are store resources (type AWS::Logs::LogGroup, id = name), so that they have
// a configuration history and tags like every other resource. Streams, events and metric
// filters live in the store's key-value space, keyed so that the scans the API needs are
// ordered List calls:
//
//	logs.streams  <account>/<region>/<group>\x00<stream>
//	logs.blocks   <account>/<region>/<group>\x00<stream>\x00<16-hex timestamp><8-hex seq>
//	logs.filters  <account>/<region>/<group>\x00<filter name>
//
// An event block holds consecutive events of one PutLogEvents call (up to 32 KiB before
// compression), keyed by its first event's position (see block.go).
//
// Besides the API, the package offers the rest of bannin: Append (store events from
// inside, e.g. CloudTrail delivery), KindPut stream entries with NoticeEvents (what was
// put, for metric and subscription filters), MetricFilters and MetricFilter.Apply (the
// datapoint a filter publishes for an event), and Purge (retention, run periodically).
package logs

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/bannin/bannin/internal/awserr"
	"github.com/bannin/bannin/internal/call"
	"github.com/bannin/bannin/internal/store"
	wirelogs "github.com/bannin/bannin/internal/wire/logs"
)

// ResourceType is the CloudFormation type log groups are stored and recorded under.
const ResourceType = "AWS::Logs::LogGroup"

// Key-value buckets.
const (
	bucketStreams = "logs.streams"
	bucketEvents  = "logs.blocks"
	bucketFilters = "logs.filters"
)

// Service implements the CloudWatch Logs API.
type Service struct {
	wirelogs.Unimplemented
	opts Options
}

// Options configure the service.
type Options struct {
	// Clock is Purge's notion of now (default time.Now); API calls use the call's time.
	Clock func() time.Time
}

// New returns the CloudWatch Logs service.
func New(opts Options) *Service {
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	return &Service{opts: opts}
}

// Group is a log group's stored configuration.
type Group struct {
	Name               string `json:"logGroupName"`
	CreationTime       int64  `json:"creationTime"`
	RetentionInDays    int32  `json:"retentionInDays,omitempty"`
	KmsKeyID           string `json:"kmsKeyId,omitempty"`
	Class              string `json:"logGroupClass,omitempty"`
	DeletionProtection bool   `json:"deletionProtectionEnabled,omitempty"`
	// ARN is the group's ARN as DescribeLogGroups and AWS Config show it (with `:*`).
	ARN string `json:"arn"`

	tags map[string]string
}

// GroupARN is a log group's ARN as tagging calls take it (DescribeLogGroups' logGroupArn).
func GroupARN(region, account, name string) string {
	return fmt.Sprintf("arn:aws:logs:%s:%s:log-group:%s", region, account, name)
}

func errf(code, format string, args ...any) error {
	return awserr.New(code, http.StatusBadRequest, format, args...)
}

func errGroupNotFound() error {
	return errf("ResourceNotFoundException", "The specified log group does not exist.")
}

func errStreamNotFound() error {
	return errf("ResourceNotFoundException", "The specified log stream does not exist.")
}

func ms(t time.Time) int64 { return t.UnixMilli() }

var groupNameRE = regexp.MustCompile(`^[\.\-_/#A-Za-z0-9]{1,512}$`)

// groupARNRE matches a log group ARN, with or without the trailing `:*`.
var groupARNRE = regexp.MustCompile(`^arn:aws[a-z-]*:logs:([a-z0-9-]+):(\d{12}):log-group:([^:]+)(:\*)?$`)

// groupName resolves logGroupName / logGroupIdentifier (a name or an ARN).
func groupName(name, ident *string) (string, error) {
	if n := aws.ToString(name); n != "" {
		if aws.ToString(ident) != "" {
			return "", errf("InvalidParameterException", "LogGroup name and LogGroup ARN are mutually exclusive parameters.")
		}
		return n, nil
	}
	id := aws.ToString(ident)
	if m := groupARNRE.FindStringSubmatch(id); m != nil {
		return m[3], nil
	}
	if id == "" {
		return "", errf("InvalidParameterException", "Should provide either name or ARN of the LogGroup.")
	}
	return id, nil
}

// getGroup loads a log group, or answers ResourceNotFoundException.
func getGroup(ctx context.Context, c *call.Call, name string) (*Group, error) {
	r, err := c.Tx.GetResource(ctx, c.Account, c.Region, ResourceType, name)
	if err != nil {
		return nil, fmt.Errorf("logs: get group %s: %w", name, err)
	}
	if r == nil {
		return nil, errGroupNotFound()
	}
	return decodeGroup(r)
}

func decodeGroup(r *store.Resource) (*Group, error) {
	var g Group
	if err := json.Unmarshal(r.Config, &g); err != nil {
		return nil, fmt.Errorf("logs: decode group %s: %w", r.ID, err)
	}
	g.tags = r.Tags
	return &g, nil
}

func saveGroup(ctx context.Context, c *call.Call, g *Group) error {
	arn := GroupARN(c.Region, c.Account, g.Name)
	g.ARN = arn + ":*"
	b, err := json.Marshal(g)
	if err != nil {
		return fmt.Errorf("logs: encode group: %w", err)
	}
	c.Touch(ResourceType, g.Name, arn)
	if err := c.Write().PutResource(ctx, &store.Resource{Account: c.Account, Region: c.Region, Type: ResourceType,
		ID: g.Name, ARN: arn, Name: g.Name, Config: b, Tags: g.tags}); err != nil {
		return fmt.Errorf("logs: put group %s: %w", g.Name, err)
	}
	return nil
}

// groupPrefix is the key prefix of everything a group holds in a bucket.
func groupPrefix(account, region, group string) string {
	return account + "/" + region + "/" + group + "\x00"
}

// deleteAll deletes every pair of bucket under prefix, a page at a time (event blocks are
// up to 32 KiB each before compression, so pages are short).
func deleteAll(ctx context.Context, tx store.Tx, bucket, prefix string) error {
	after := ""
	for {
		kvs, err := tx.List(ctx, bucket, prefix, after, 100)
		if err != nil {
			return fmt.Errorf("logs: list %s: %w", bucket, err)
		}
		for _, kv := range kvs {
			if err := tx.Delete(ctx, bucket, kv.Key); err != nil {
				return fmt.Errorf("logs: delete %s: %w", bucket, err)
			}
		}
		if len(kvs) < 100 {
			return nil
		}
		after = kvs[len(kvs)-1].Key
	}
}
