package trail

import (
	"context"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/bannin/bannin/internal/call"
	"github.com/bannin/bannin/internal/lake"
	"github.com/bannin/bannin/internal/wire/cloudtrail"
)

// tagged finds the trail a tagging call names by ARN.
func tagged(ctx context.Context, c *call.Call, id string) (*Trail, map[string]string, error) {
	if _, _, _, ok := parseTrailARN(id); !ok {
		return nil, nil, errf("CloudTrailARNInvalidException", "Resource ARN %q is not a valid trail ARN (arn:aws:cloudtrail:region:account-id:trail/trail-name).", id)
	}
	t, err := find(ctx, c, id)
	if err != nil {
		return nil, nil, errf("ResourceNotFoundException", "Resource %s not found.", id)
	}
	return t, t.tags, nil
}

// AddTags adds or overwrites tags on a trail.
func (s *Service) AddTags(ctx context.Context, in *cloudtrail.AddTagsRequest) (*cloudtrail.AddTagsResponse, error) {
	c := call.From(ctx)
	t, tags, err := tagged(ctx, c, aws.ToString(in.ResourceId))
	if err != nil {
		return nil, err
	}
	if err := inHomeRegion(c, t); err != nil {
		return nil, err
	}
	if tags, err = lake.TagMap(tags, in.TagsList); err != nil {
		return nil, err
	}
	t.tags = tags
	if err := saveTags(ctx, c, t); err != nil {
		return nil, err
	}
	return &cloudtrail.AddTagsResponse{}, nil
}

// RemoveTags removes tags by key.
func (s *Service) RemoveTags(ctx context.Context, in *cloudtrail.RemoveTagsRequest) (*cloudtrail.RemoveTagsResponse, error) {
	c := call.From(ctx)
	t, tags, err := tagged(ctx, c, aws.ToString(in.ResourceId))
	if err != nil {
		return nil, err
	}
	if err := inHomeRegion(c, t); err != nil {
		return nil, err
	}
	tags, _ = lake.TagMap(tags, nil)
	for _, tag := range in.TagsList {
		delete(tags, aws.ToString(tag.Key))
	}
	t.tags = tags
	if err := saveTags(ctx, c, t); err != nil {
		return nil, err
	}
	return &cloudtrail.RemoveTagsResponse{}, nil
}

// ListTags returns the tags of each named trail.
func (s *Service) ListTags(ctx context.Context, in *cloudtrail.ListTagsRequest) (*cloudtrail.ListTagsResponse, error) {
	c := call.From(ctx)
	out := &cloudtrail.ListTagsResponse{ResourceTagList: []cloudtrail.ResourceTag{}}
	for _, id := range in.ResourceIdList {
		_, tags, err := tagged(ctx, c, id)
		if err != nil {
			return nil, err
		}
		keys := make([]string, 0, len(tags))
		for k := range tags {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		rt := cloudtrail.ResourceTag{ResourceId: aws.String(id), TagsList: []cloudtrail.Tag{}}
		for _, k := range keys {
			rt.TagsList = append(rt.TagsList, cloudtrail.Tag{Key: aws.String(k), Value: opt(tags[k])})
		}
		out.ResourceTagList = append(out.ResourceTagList, rt)
	}
	return out, nil
}
