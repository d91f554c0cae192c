// Package trail is the CloudTrail service: trails and their status, event selectors,
// insight selectors and tags, and the event history that LookupEvents searches.
package trail

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/bannin/bannin/internal/awserr"
	"github.com/bannin/bannin/internal/call"
	"github.com/bannin/bannin/internal/lake"
	"github.com/bannin/bannin/internal/store"
	"github.com/bannin/bannin/internal/wire/cloudtrail"
)

// ResourceType is the CloudFormation type trails are stored and recorded under.
const ResourceType = "AWS::CloudTrail::Trail"

// BucketType is the resource type whose existence CreateTrail checks.
const BucketType = "AWS::S3::Bucket"

// Options configure the service.
type Options struct {
	// Retention is how long event history is kept (default 90 days).
	Retention time.Duration
	Clock     func() time.Time
	// Store is where delivery reads trails and recorded calls; without it nothing is
	// delivered to CloudWatch Logs.
	Store store.Store
}

// Service implements cloudtrail.API: trails and event history here, CloudTrail Lake
// event data stores and channels in the embedded lake service.
type Service struct {
	*lake.Service
	opts Options
	// idle is logGroupSaves' value when delivery last found no trail with a log group.
	idle atomic.Int64
}

// New returns the CloudTrail service.
func New(opts Options) *Service {
	if opts.Retention == 0 {
		opts.Retention = 90 * 24 * time.Hour
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	s := &Service{Service: lake.New(lake.Options{}), opts: opts}
	s.idle.Store(-1) // not known until delivery has looked
	return s
}

// Trail is a trail's stored configuration and logging state.
type Trail struct {
	Name                       string                             `json:"Name"`
	TrailARN                   string                             `json:"TrailARN"`
	HomeRegion                 string                             `json:"HomeRegion"`
	S3BucketName               string                             `json:"S3BucketName"`
	S3KeyPrefix                string                             `json:"S3KeyPrefix,omitempty"`
	SnsTopicName               string                             `json:"SnsTopicName,omitempty"`
	SnsTopicARN                string                             `json:"SnsTopicARN,omitempty"`
	IncludeGlobalServiceEvents bool                               `json:"IncludeGlobalServiceEvents"`
	IsMultiRegionTrail         bool                               `json:"IsMultiRegionTrail"`
	LogFileValidationEnabled   bool                               `json:"LogFileValidationEnabled"`
	IsOrganizationTrail        bool                               `json:"IsOrganizationTrail"`
	CloudWatchLogsLogGroupArn  string                             `json:"CloudWatchLogsLogGroupArn,omitempty"`
	CloudWatchLogsRoleArn      string                             `json:"CloudWatchLogsRoleArn,omitempty"`
	KmsKeyId                   string                             `json:"KmsKeyId,omitempty"`
	IsLogging                  bool                               `json:"IsLogging"`
	StartLoggingTime           *time.Time                         `json:"StartLoggingTime,omitempty"`
	StopLoggingTime            *time.Time                         `json:"StopLoggingTime,omitempty"`
	HasCustomEventSelectors    bool                               `json:"HasCustomEventSelectors"`
	EventSelectors             []cloudtrail.EventSelector         `json:"EventSelectors,omitempty"`
	AdvancedEventSelectors     []cloudtrail.AdvancedEventSelector `json:"AdvancedEventSelectors,omitempty"`
	InsightSelectors           []cloudtrail.InsightSelector       `json:"InsightSelectors,omitempty"`

	// tags are the stored resource's tags, carried so that saving needs no second read.
	tags map[string]string
	// stored is the configuration document the trail was decoded from, which saveTags
	// writes back as it is.
	stored []byte
}

func (t *Trail) wire() cloudtrail.Trail {
	return cloudtrail.Trail{
		Name: aws.String(t.Name), S3BucketName: aws.String(t.S3BucketName), S3KeyPrefix: opt(t.S3KeyPrefix),
		SnsTopicName: opt(t.SnsTopicName), SnsTopicARN: opt(t.SnsTopicARN),
		IncludeGlobalServiceEvents: aws.Bool(t.IncludeGlobalServiceEvents), IsMultiRegionTrail: aws.Bool(t.IsMultiRegionTrail),
		HomeRegion: aws.String(t.HomeRegion), TrailARN: aws.String(t.TrailARN),
		LogFileValidationEnabled: aws.Bool(t.LogFileValidationEnabled), CloudWatchLogsLogGroupArn: opt(t.CloudWatchLogsLogGroupArn),
		CloudWatchLogsRoleArn: opt(t.CloudWatchLogsRoleArn), KmsKeyId: opt(t.KmsKeyId),
		HasCustomEventSelectors: aws.Bool(t.HasCustomEventSelectors), HasInsightSelectors: aws.Bool(len(t.InsightSelectors) > 0),
		IsOrganizationTrail: aws.Bool(t.IsOrganizationTrail),
	}
}

func opt(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func errf(code string, format string, args ...any) error {
	return awserr.New(code, http.StatusBadRequest, format, args...)
}

// ARN is a trail's ARN.
func ARN(region, account, name string) string {
	return fmt.Sprintf("arn:aws:cloudtrail:%s:%s:trail/%s", region, account, name)
}

var (
	nameChars   = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)
	badAdjacent = regexp.MustCompile(`[._-]{2}`)
)

// validateName applies CloudTrail's trail name rules.
func validateName(name string) error {
	switch {
	case len(name) < 3 || len(name) > 128:
		return errf("InvalidTrailNameException", "Trail name %q must be between 3 and 128 characters long.", name)
	case !nameChars.MatchString(name):
		return errf("InvalidTrailNameException", "Trail name %q can contain only ASCII letters (a-z, A-Z), numbers (0-9), periods (.), underscores (_), or dashes (-).", name)
	case !isAlnum(name[0]) || !isAlnum(name[len(name)-1]):
		return errf("InvalidTrailNameException", "Trail name %q must start and end with a letter or number.", name)
	case badAdjacent.MatchString(name):
		return errf("InvalidTrailNameException", "Trail name %q cannot have adjacent periods, underscores or dashes.", name)
	case net.ParseIP(name) != nil:
		return errf("InvalidTrailNameException", "Trail name %q cannot be in IP address format.", name)
	}
	return nil
}

func isAlnum(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9'
}

// find resolves a trail name or ARN as seen from the call's region: trails of that
// region, and multi-region trails of any region.
func find(ctx context.Context, c *call.Call, nameOrARN string) (*Trail, error) {
	if nameOrARN == "" {
		return nil, errf("TrailNotProvidedException", "Trail name or ARN must be provided.")
	}
	name, region, account := nameOrARN, "", c.Account
	if rg, acct, n, ok := parseTrailARN(nameOrARN); ok {
		region, account, name = rg, acct, n
	} else if strings.HasPrefix(nameOrARN, "arn:") {
		return nil, errf("CloudTrailARNInvalidException", "Trail ARN %q is not valid. The ARN format is arn:aws:cloudtrail:region:account-id:trail/trail-name.", nameOrARN)
	} else if err := validateName(nameOrARN); err != nil {
		return nil, err
	}
	// Built only when needed: formatting it on every call costs the writer's time.
	notFound := func() error {
		return awserr.New("TrailNotFoundException", http.StatusBadRequest,
			"Unknown trail: %s for the user: %s", ARN(orDefault(region, c.Region), account, name), c.Account)
	}
	if account != c.Account {
		return nil, notFound()
	}
	var rs []*store.Resource
	if region != "" {
		// An ARN names the trail's home region: one primary-key read.
		r, err := c.Tx.GetResource(ctx, account, region, ResourceType, name)
		if err != nil {
			return nil, err
		}
		if r != nil {
			rs = append(rs, r)
		}
	} else {
		var err error
		if rs, err = c.Tx.FindResources(ctx, ResourceType, name); err != nil {
			return nil, err
		}
	}
	for _, r := range rs {
		if r.Account != c.Account || (region != "" && r.Region != region) {
			continue
		}
		t, err := decode(r)
		if err != nil {
			return nil, err
		}
		if r.Region == c.Region || t.IsMultiRegionTrail {
			return t, nil
		}
	}
	return nil, notFound()
}

// parseTrailARN splits a trail ARN (arn:aws[a-z-]*:cloudtrail:region:account:trail/name)
// into its parts; ok is false for anything else. It accepts exactly what the pattern
// ^arn:aws[a-z-]*:cloudtrail:([a-z0-9-]+):(\d{12}):trail/(.+)$ matches, without running a regular expression on every tagging call.
func parseTrailARN(s string) (region, account, name string, ok bool) {
	rest, found := strings.CutPrefix(s, "arn:aws")
	if !found {
		return "", "", "", false
	}
	i := strings.IndexByte(rest, ':')
	if i < 0 || !allBytes(rest[:i], func(b byte) bool { return b >= 'a' && b <= 'z' || b == '-' }) {
		return "", "", "", false
	}
	if rest, found = strings.CutPrefix(rest[i+1:], "cloudtrail:"); !found {
		return "", "", "", false
	}
	i = strings.IndexByte(rest, ':')
	if i <= 0 || !allBytes(rest[:i], func(b byte) bool { return b >= 'a' && b <= 'z' || b >= '0' && b <= '9' || b == '-' }) {
		return "", "", "", false
	}
	region, rest = rest[:i], rest[i+1:]
	if len(rest) < 12 || !allBytes(rest[:12], func(b byte) bool { return b >= '0' && b <= '9' }) {
		return "", "", "", false
	}
	account, rest = rest[:12], rest[12:]
	if name, found = strings.CutPrefix(rest, ":trail/"); !found || name == "" || strings.IndexByte(name, '\n') >= 0 {
		return "", "", "", false
	}
	return region, account, name, true
}

func allBytes(s string, ok func(byte) bool) bool {
	for i := 0; i < len(s); i++ {
		if !ok(s[i]) {
			return false
		}
	}
	return true
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// decode reads a stored trail. Decoding the same configuration document again (every
// tagging call on a trail reads it inside the store's single writer) is answered from
// decodedTrails.
func decode(r *store.Resource) (*Trail, error) {
	k := trailKey{r.Account, r.Region, r.ID}
	if t, ok := decodedTrails.get(k, r.Config); ok {
		t.tags, t.stored = r.Tags, r.Config
		return t, nil
	}
	var t Trail
	if err := json.Unmarshal(r.Config, &t); err != nil {
		return nil, fmt.Errorf("trail: decode %s: %w", r.ID, err)
	}
	decodedTrails.put(k, r.Config, &t)
	t.tags, t.stored = r.Tags, r.Config
	return &t, nil
}

// save writes a trail, with its tags, in the call's write transaction.
func save(ctx context.Context, c *call.Call, t *Trail) error {
	b, err := json.Marshal(t)
	if err != nil {
		return err
	}
	return put(ctx, c, t, b)
}

// saveTags writes a trail of which only the tags changed: its configuration document is
// the one it was read from, not encoded again.
func saveTags(ctx context.Context, c *call.Call, t *Trail) error {
	if t.stored == nil {
		return save(ctx, c, t)
	}
	return put(ctx, c, t, t.stored)
}

func put(ctx context.Context, c *call.Call, t *Trail, b []byte) error {
	if t.CloudWatchLogsLogGroupArn != "" {
		logGroupSaves.Add(1) // delivery looks at the trails again
	}
	c.Touch(ResourceType, t.TrailARN, t.TrailARN)
	return c.Write().PutResource(ctx, &store.Resource{Account: c.Account, Region: t.HomeRegion, Type: ResourceType,
		ID: t.Name, ARN: t.TrailARN, Name: t.Name, Config: b, Tags: t.tags})
}

// inHomeRegion refuses changes to a trail from a region other than its home.
func inHomeRegion(c *call.Call, t *Trail) error {
	if t.HomeRegion != c.Region {
		return errf("InvalidHomeRegionException", "This operation must be called from the trail's home region (%s).", t.HomeRegion)
	}
	return nil
}

// checkBucket requires the S3 bucket to exist.
func checkBucket(ctx context.Context, c *call.Call, bucket string) error {
	if bucket == "" {
		return errf("InvalidS3BucketNameException", "S3 bucket name must be provided.")
	}
	rs, err := c.Tx.FindResources(ctx, BucketType, bucket)
	if err != nil {
		return err
	}
	if len(rs) == 0 {
		return errf("S3BucketDoesNotExistException", "S3 bucket %s does not exist.", bucket)
	}
	return nil
}

var (
	logGroupARN = regexp.MustCompile(`^arn:aws[a-z-]*:logs:[a-z0-9-]+:\d{12}:log-group:[^:]+(:\*)?$`)
	roleARN     = regexp.MustCompile(`^arn:aws[a-z-]*:iam::\d{12}:role/.+$`)
)

func checkLogs(group, role string) error {
	switch {
	case group == "" && role == "":
		return nil
	case group != "" && !logGroupARN.MatchString(group):
		return errf("InvalidCloudWatchLogsLogGroupArnException", "CloudWatch Logs log group ARN %q is not valid.", group)
	case role == "" || !roleARN.MatchString(role):
		return errf("InvalidCloudWatchLogsRoleArnException", "CloudWatch Logs role ARN %q is not valid; a log group needs a role that CloudTrail assumes to deliver to it.", role)
	case group == "":
		return errf("InvalidCloudWatchLogsLogGroupArnException", "A CloudWatch Logs role was given without a log group ARN.")
	}
	return nil
}

// Purge deletes event history older than the retention period, and event data stores
// whose deletion wait is over.
func (s *Service) Purge(ctx context.Context, st store.Store) error {
	now := s.opts.Clock()
	err := st.Update(ctx, func(tx store.Tx) error {
		_, err := tx.PurgeEvents(ctx, now.Add(-s.opts.Retention))
		return err
	})
	if err != nil {
		return err
	}
	return s.Service.PurgeEventDataStores(ctx, st, now)
}
