package runbook

import (
	"context"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/bannin/bannin/internal/call"
	"github.com/bannin/bannin/internal/wire/ssm"
)

// maxTags is how many tags a resource may carry.
const maxTags = 1000

// tagMap adds tags to base (a copy), checking keys and values as SSM does.
func tagMap(base map[string]string, tags []ssm.Tag) (map[string]string, error) {
	out := maps.Clone(base)
	if out == nil {
		out = map[string]string{}
	}
	for _, t := range tags {
		k, v := aws.ToString(t.Key), aws.ToString(t.Value)
		switch {
		case k == "" || len(k) > 128:
			return nil, &ssm.InvalidTag{Message: msg("Tag key %q must be 1 to 128 characters long.", k)}
		case len(v) > 256:
			return nil, &ssm.InvalidTag{Message: msg("The value of tag %s must be at most 256 characters long.", k)}
		case strings.HasPrefix(strings.ToLower(k), "aws:"):
			return nil, &ssm.InvalidTag{Message: msg("Tag keys that start with aws: are reserved.")}
		}
		out[k] = v
	}
	if len(out) > maxTags {
		return nil, &ssm.TooManyTagsError{Message: msg("A resource can carry at most %d tags.", maxTags)}
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

func wireTags(m map[string]string) []ssm.Tag {
	out := []ssm.Tag{}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, ssm.Tag{Key: aws.String(k), Value: aws.String(m[k])})
	}
	return out
}

// taggedDocument resolves a tagging call's resource: only documents are taggable here.
func taggedDocument(ctx context.Context, c *call.Call, typ, id string) (*document, error) {
	if typ != "Document" {
		return nil, &ssm.InvalidResourceType{Message: msg("Resource type %s is not supported by bannin; tag documents (ResourceType Document).", typ)}
	}
	d, err := loadDocument(ctx, c.Tx, c.Account, c.Region, id)
	if _, ok := err.(*ssm.InvalidDocument); ok {
		return nil, &ssm.InvalidResourceId{Message: msg("The resource ID %s is not valid. Verify that you entered the correct ID and try again.", id)}
	}
	return d, err
}

// AddTagsToResource adds or overwrites a document's tags.
func (s *Service) AddTagsToResource(ctx context.Context, in *ssm.AddTagsToResourceRequest) (*ssm.AddTagsToResourceResult, error) {
	c := call.From(ctx)
	d, err := taggedDocument(ctx, c, aws.ToString(in.ResourceType), aws.ToString(in.ResourceId))
	if err != nil {
		return nil, err
	}
	if d.tags, err = tagMap(d.tags, in.Tags); err != nil {
		return nil, err
	}
	c.Touch(ResourceType, d.Name, d.ARN)
	if err := saveDocument(ctx, c.Write(), c.Account, c.Region, d); err != nil {
		return nil, err
	}
	return &ssm.AddTagsToResourceResult{}, nil
}

// RemoveTagsFromResource removes a document's tags by key.
func (s *Service) RemoveTagsFromResource(ctx context.Context, in *ssm.RemoveTagsFromResourceRequest) (*ssm.RemoveTagsFromResourceResult, error) {
	c := call.From(ctx)
	d, err := taggedDocument(ctx, c, aws.ToString(in.ResourceType), aws.ToString(in.ResourceId))
	if err != nil {
		return nil, err
	}
	for _, k := range in.TagKeys {
		delete(d.tags, k)
	}
	c.Touch(ResourceType, d.Name, d.ARN)
	if err := saveDocument(ctx, c.Write(), c.Account, c.Region, d); err != nil {
		return nil, err
	}
	return &ssm.RemoveTagsFromResourceResult{}, nil
}

// ListTagsForResource lists a document's tags.
func (s *Service) ListTagsForResource(ctx context.Context, in *ssm.ListTagsForResourceRequest) (*ssm.ListTagsForResourceResult, error) {
	c := call.From(ctx)
	d, err := taggedDocument(ctx, c, aws.ToString(in.ResourceType), aws.ToString(in.ResourceId))
	if err != nil {
		return nil, err
	}
	return &ssm.ListTagsForResourceResult{TagList: wireTags(d.tags)}, nil
}
