package bus

import (
	"context"
	"regexp"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/bannin/bannin/internal/call"
	"github.com/bannin/bannin/internal/wire/events"
)

// maxTags is how many tags a bus or rule can have.
const maxTags = 50

// tagMap applies tags to base (a copy), checking EventBridge's tag rules.
func tagMap(base map[string]string, tags []events.Tag) (map[string]string, error) {
	out := make(map[string]string, len(base)+len(tags))
	for k, v := range base {
		out[k] = v
	}
	for _, t := range tags {
		k := aws.ToString(t.Key)
		if strings.HasPrefix(strings.ToLower(k), "aws:") {
			return nil, errf("ValidationException", "Tag key %s is not valid: the aws: prefix is reserved for AWS use.", k)
		}
		out[k] = aws.ToString(t.Value)
	}
	if len(out) > maxTags {
		return nil, errf("LimitExceededException", "A resource can have at most %d tags; this request would give it %d.", maxTags, len(out))
	}
	return out, nil
}

var ruleARN = regexp.MustCompile(`^arn:aws[a-z-]*:events:([a-z0-9-]+):(\d{12}):rule/(.+)$`)

// tagged is the bus or rule a tagging call names by ARN: exactly one of the results is set.
type tagged struct {
	bus  *Bus
	rule *storedRule
}

func (t tagged) tags() map[string]string {
	if t.bus != nil {
		return t.bus.tags
	}
	return t.rule.tags
}

func findTagged(ctx context.Context, c *call.Call, arn string) (tagged, error) {
	if m := busARN.FindStringSubmatch(arn); m != nil {
		if m[1] != c.Region || m[2] != c.Account {
			return tagged{}, errf("ResourceNotFoundException", "Event bus %s does not exist.", m[3])
		}
		b, err := mustBus(ctx, c, m[3])
		return tagged{bus: b}, err
	}
	m := ruleARN.FindStringSubmatch(arn)
	if m == nil {
		return tagged{}, errf("ValidationException", "Parameter ResourceARN is not valid.")
	}
	bus, name := DefaultBus, m[3]
	if i := strings.LastIndex(name, "/"); i >= 0 {
		bus, name = name[:i], name[i+1:]
	}
	if m[1] != c.Region || m[2] != c.Account {
		return tagged{}, ruleNotFound(name, bus)
	}
	r, err := getRule(ctx, c, bus, name)
	if err == nil && r == nil {
		err = ruleNotFound(name, bus)
	}
	return tagged{rule: r}, err
}

func (t tagged) save(ctx context.Context, c *call.Call, tags map[string]string) error {
	if t.bus != nil {
		t.bus.tags = tags
		return saveBus(ctx, c, t.bus)
	}
	t.rule.tags = tags
	return saveRule(ctx, c, t.rule)
}

// TagResource adds or overwrites tags on a bus or rule.
func (s *Service) TagResource(ctx context.Context, in *events.TagResourceRequest) (*events.TagResourceResponse, error) {
	c := call.From(ctx)
	t, err := findTagged(ctx, c, aws.ToString(in.ResourceARN))
	if err != nil {
		return nil, err
	}
	tags, err := tagMap(t.tags(), in.Tags)
	if err != nil {
		return nil, err
	}
	if err := t.save(ctx, c, tags); err != nil {
		return nil, err
	}
	return &events.TagResourceResponse{}, nil
}

// UntagResource removes tags by key from a bus or rule.
func (s *Service) UntagResource(ctx context.Context, in *events.UntagResourceRequest) (*events.UntagResourceResponse, error) {
	c := call.From(ctx)
	t, err := findTagged(ctx, c, aws.ToString(in.ResourceARN))
	if err != nil {
		return nil, err
	}
	tags, _ := tagMap(t.tags(), nil)
	for _, k := range in.TagKeys {
		delete(tags, k)
	}
	if err := t.save(ctx, c, tags); err != nil {
		return nil, err
	}
	return &events.UntagResourceResponse{}, nil
}

// ListTagsForResource lists a bus's or rule's tags by key.
func (s *Service) ListTagsForResource(ctx context.Context, in *events.ListTagsForResourceRequest) (*events.ListTagsForResourceResponse, error) {
	c := call.From(ctx)
	t, err := findTagged(ctx, c, aws.ToString(in.ResourceARN))
	if err != nil {
		return nil, err
	}
	tags := t.tags()
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := &events.ListTagsForResourceResponse{Tags: []events.Tag{}}
	for _, k := range keys {
		out.Tags = append(out.Tags, events.Tag{Key: aws.String(k), Value: aws.String(tags[k])})
	}
	return out, nil
}
