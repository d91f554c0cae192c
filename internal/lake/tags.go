package lake

import (
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/bannin/bannin/internal/wire/cloudtrail"
)

// maxTags is how many tags a CloudTrail resource can have.
const maxTags = 50

// TagMap applies tags to base (a copy), checking CloudTrail's tag rules; trails, event
// data stores and channels share them.
func TagMap(base map[string]string, tags []cloudtrail.Tag) (map[string]string, error) {
	out := make(map[string]string, len(base)+len(tags))
	for k, v := range base {
		out[k] = v
	}
	for _, t := range tags {
		k := aws.ToString(t.Key)
		if k == "" || len(k) > 128 || strings.HasPrefix(strings.ToLower(k), "aws:") {
			return nil, errf("InvalidTagParameterException", "Tag key %q is not valid: it must be 1 to 128 characters and not start with aws:.", k)
		}
		if len(aws.ToString(t.Value)) > 256 {
			return nil, errf("InvalidTagParameterException", "The value of tag %q is longer than 256 characters.", k)
		}
		out[k] = aws.ToString(t.Value)
	}
	if len(out) > maxTags {
		return nil, errf("TagsLimitExceededException", "A resource can have at most %d tags; this request would give it %d.", maxTags, len(out))
	}
	return out, nil
}

// tagList is tags as a wire list sorted by key, or nil for none.
func tagList(tags map[string]string) []cloudtrail.Tag {
	if len(tags) == 0 {
		return nil
	}
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]cloudtrail.Tag, 0, len(keys))
	for _, k := range keys {
		out = append(out, cloudtrail.Tag{Key: aws.String(k), Value: aws.String(tags[k])})
	}
	return out
}
