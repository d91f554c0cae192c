package recorder

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/bannin/bannin/internal/call"
	"github.com/bannin/bannin/internal/wire/config"
)

// wireConfig returns an item's configuration and supplementary configuration as the API
// returns them: JSON text (a supplementary value that is itself a JSON string is given as
// that string's content, as AWS does for AccessControlList).
func wireConfig(it *Item) (*string, map[string]string) {
	var cfg *string
	if len(it.Configuration) > 0 && string(it.Configuration) != "null" {
		cfg = aws.String(string(it.Configuration))
	}
	supp := map[string]string{}
	for k, v := range it.Supplementary {
		var s string
		if json.Unmarshal(v, &s) == nil {
			supp[k] = s
			continue
		}
		supp[k] = string(v)
	}
	return cfg, supp
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return aws.String(s)
}

// wireItem is an item in the ConfigurationItem shape of GetResourceConfigHistory.
func wireItem(it *Item) config.ConfigurationItem {
	cfg, supp := wireConfig(it)
	capture := it.CaptureTime
	rels := make([]config.Relationship, 0, len(it.Relationships))
	for _, r := range it.Relationships {
		rels = append(rels, config.Relationship{ResourceType: aws.String(r.ResourceType), ResourceId: optString(r.ResourceID),
			ResourceName: optString(r.ResourceName), RelationshipName: aws.String(r.Name)})
	}
	out := config.ConfigurationItem{Version: aws.String(it.Version), AccountId: aws.String(it.AccountID),
		ConfigurationItemCaptureTime: &capture, ConfigurationItemStatus: aws.String(it.Status),
		ConfigurationStateId: aws.String(it.StateID), ConfigurationItemMD5Hash: aws.String(it.StateMD5Hash),
		Arn: optString(it.ARN), ResourceType: aws.String(it.ResourceType), ResourceId: aws.String(it.ResourceID),
		ResourceName: optString(it.ResourceName), AwsRegion: aws.String(it.Region),
		AvailabilityZone: optString(it.AvailabilityZone), ResourceCreationTime: it.ResourceCreationTime,
		Tags: it.Tags, RelatedEvents: it.RelatedEvents, Relationships: rels, Configuration: cfg,
		SupplementaryConfiguration: supp, RecordingFrequency: optString(it.RecordingFrequency)}
	if out.Tags == nil {
		out.Tags = map[string]string{}
	}
	if out.RelatedEvents == nil {
		out.RelatedEvents = []string{}
	}
	return out
}

// baseItem is an item in the BaseConfigurationItem shape of BatchGetResourceConfig.
func baseItem(it *Item) config.BaseConfigurationItem {
	w := wireItem(it)
	return config.BaseConfigurationItem{Version: w.Version, AccountId: w.AccountId,
		ConfigurationItemCaptureTime: w.ConfigurationItemCaptureTime, ConfigurationItemStatus: w.ConfigurationItemStatus,
		ConfigurationStateId: w.ConfigurationStateId, Arn: w.Arn, ResourceType: w.ResourceType, ResourceId: w.ResourceId,
		ResourceName: w.ResourceName, AwsRegion: w.AwsRegion, AvailabilityZone: w.AvailabilityZone,
		ResourceCreationTime: w.ResourceCreationTime, Configuration: w.Configuration,
		SupplementaryConfiguration: w.SupplementaryConfiguration, RecordingFrequency: w.RecordingFrequency}
}

// pageToken is a nextToken: the request it belongs to and where the next page starts.
func encodePageToken(query, pos string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(query + "\n" + pos))
}

func decodePageToken(token, query string) (string, bool) {
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return "", false
	}
	q, pos, ok := strings.Cut(string(b), "\n")
	if !ok || q != query {
		return "", false
	}
	return pos, true
}

func invalidToken() error {
	return &config.InvalidNextTokenException{Message: aws.String("The nextToken provided is invalid")}
}

func checkLimit(l *int32, max int) (int, error) {
	if l == nil || *l == 0 {
		return 0, nil
	}
	if *l < 0 || int(*l) > max {
		return 0, &config.InvalidLimitException{Message: aws.String(fmt.Sprintf(
			"Value '%d' at 'limit' failed to satisfy constraint: Member must have value less than or equal to %d", *l, max))}
	}
	return int(*l), nil
}

// GetResourceConfigHistory returns the recorded items of one resource in a time range,
// newest first unless chronologicalOrder is Forward.
func (s *Service) GetResourceConfigHistory(ctx context.Context, in *config.GetResourceConfigHistoryRequest) (*config.GetResourceConfigHistoryResponse, error) {
	c := call.From(ctx)
	typ, id := aws.ToString(in.ResourceType), aws.ToString(in.ResourceId)
	limit, err := checkLimit(in.Limit, 100)
	if err != nil {
		return nil, err
	}
	if limit == 0 {
		limit = 10
	}
	if in.EarlierTime != nil && in.LaterTime != nil && in.EarlierTime.After(*in.LaterTime) {
		return nil, &config.InvalidTimeRangeException{Message: aws.String("The earlierTime must be before the laterTime.")}
	}
	hs, err := history(ctx, c.Tx, c.Account, c.Region, typ, id)
	if err != nil {
		return nil, err
	}
	if len(hs) == 0 {
		return nil, &config.ResourceNotDiscoveredException{Message: aws.String(fmt.Sprintf(
			"Resource %s of resourceType:%s is unknown or has not been discovered", id, typ))}
	}
	forward := aws.ToString(in.ChronologicalOrder) == "Forward"
	var items []*Item
	for _, h := range hs {
		t := h.Item.CaptureTime
		if in.EarlierTime != nil && t.Before(*in.EarlierTime) || in.LaterTime != nil && t.After(*in.LaterTime) {
			continue
		}
		items = append(items, h.Item)
	}
	if !forward {
		slices.Reverse(items)
	}
	query := fmt.Sprintf("history|%s|%s|%v|%v|%v", typ, id, forward, in.EarlierTime, in.LaterTime)
	start := 0
	if tok := aws.ToString(in.NextToken); tok != "" {
		pos, ok := decodePageToken(tok, query)
		if !ok {
			return nil, invalidToken()
		}
		i := slices.IndexFunc(items, func(it *Item) bool { return it.StateID == pos })
		if i < 0 {
			return nil, invalidToken()
		}
		start = i
	}
	out := &config.GetResourceConfigHistoryResponse{ConfigurationItems: []config.ConfigurationItem{}}
	end := min(start+limit, len(items))
	for _, it := range items[start:end] {
		out.ConfigurationItems = append(out.ConfigurationItems, wireItem(it))
	}
	if end < len(items) {
		out.NextToken = aws.String(encodePageToken(query, items[end].StateID))
	}
	return out, nil
}

// BatchGetResourceConfig returns the current items of up to 100 resources; deleted and
// unknown resources are left out.
func (s *Service) BatchGetResourceConfig(ctx context.Context, in *config.BatchGetResourceConfigRequest) (*config.BatchGetResourceConfigResponse, error) {
	c := call.From(ctx)
	if len(in.ResourceKeys) == 0 || len(in.ResourceKeys) > 100 {
		return nil, &config.ValidationException{Message: aws.String("resourceKeys must hold 1 to 100 keys.")}
	}
	out := &config.BatchGetResourceConfigResponse{BaseConfigurationItems: []config.BaseConfigurationItem{},
		UnprocessedResourceKeys: []config.ResourceKey{}}
	for _, k := range in.ResourceKeys {
		r, err := currentRecord(ctx, c.Tx, c.Account, c.Region, aws.ToString(k.ResourceType), aws.ToString(k.ResourceId))
		if err != nil {
			return nil, err
		}
		if r == nil || isDeleted(r.Item.Status) {
			continue
		}
		out.BaseConfigurationItems = append(out.BaseConfigurationItems, baseItem(r.Item))
	}
	return out, nil
}

// ListDiscoveredResources lists the resources of one type the recorder has discovered,
// by id, optionally with the deleted ones (and when they were deleted).
func (s *Service) ListDiscoveredResources(ctx context.Context, in *config.ListDiscoveredResourcesRequest) (*config.ListDiscoveredResourcesResponse, error) {
	c := call.From(ctx)
	typ := aws.ToString(in.ResourceType)
	limit, err := checkLimit(in.Limit, 100)
	if err != nil {
		return nil, err
	}
	if limit == 0 {
		limit = 100
	}
	if len(in.ResourceIds) > 20 {
		return nil, &config.ValidationException{Message: aws.String("resourceIds may hold at most 20 ids.")}
	}
	if len(in.ResourceIds) > 0 && in.ResourceName != nil {
		return nil, &config.ValidationException{Message: aws.String("You can specify either resource IDs or a resource name, but not both in the same request.")}
	}
	withDeleted := aws.ToBool(in.IncludeDeletedResources)
	query := fmt.Sprintf("list|%s|%v|%s|%v", typ, in.ResourceIds, aws.ToString(in.ResourceName), withDeleted)
	after := ""
	if tok := aws.ToString(in.NextToken); tok != "" {
		pos, ok := decodePageToken(tok, query)
		if !ok {
			return nil, invalidToken()
		}
		after = pos
	}
	out := &config.ListDiscoveredResourcesResponse{ResourceIdentifiers: []config.ResourceIdentifier{}}
	last := ""
	more := false
	err = scanCurrent(ctx, c.Tx, c.Account, c.Region, typ, func(key string, raw []byte) (bool, error) {
		if after != "" && key <= after {
			return true, nil
		}
		var r record
		if err := json.Unmarshal(raw, &r); err != nil {
			return false, fmt.Errorf("recorder: decode item: %w", err)
		}
		it := r.Item
		deleted := isDeleted(it.Status)
		if deleted && !withDeleted {
			return true, nil
		}
		if len(in.ResourceIds) > 0 && !slices.Contains(in.ResourceIds, it.ResourceID) {
			return true, nil
		}
		if in.ResourceName != nil && *in.ResourceName != it.ResourceName {
			return true, nil
		}
		if len(out.ResourceIdentifiers) == limit {
			more = true
			return false, nil
		}
		ri := config.ResourceIdentifier{ResourceType: aws.String(it.ResourceType), ResourceId: aws.String(it.ResourceID),
			ResourceName: optString(it.ResourceName)}
		if deleted {
			t := it.CaptureTime
			ri.ResourceDeletionTime = &t
		}
		out.ResourceIdentifiers = append(out.ResourceIdentifiers, ri)
		last = key
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	if more {
		out.NextToken = aws.String(encodePageToken(query, last))
	}
	return out, nil
}

// GetDiscoveredResourceCounts counts the live discovered resources by type, most
// numerous first.
func (s *Service) GetDiscoveredResourceCounts(ctx context.Context, in *config.GetDiscoveredResourceCountsRequest) (*config.GetDiscoveredResourceCountsResponse, error) {
	c := call.From(ctx)
	limit, err := checkLimit(in.Limit, 100)
	if err != nil {
		return nil, err
	}
	if limit == 0 {
		limit = 100
	}
	counts := map[string]int64{}
	err = scanCurrent(ctx, c.Tx, c.Account, c.Region, "", func(key string, raw []byte) (bool, error) {
		var r struct {
			Item struct {
				Status string `json:"configurationItemStatus"`
			} `json:"item"`
		}
		if err := json.Unmarshal(raw, &r); err != nil {
			return false, fmt.Errorf("recorder: decode item: %w", err)
		}
		if isDeleted(r.Item.Status) {
			return true, nil
		}
		parts := splitKey(key)
		if len(parts) == 4 && (len(in.ResourceTypes) == 0 || slices.Contains(in.ResourceTypes, parts[2])) {
			counts[parts[2]]++
		}
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	var total int64
	var rcs []config.ResourceCount
	for t, n := range counts {
		total += n
		rcs = append(rcs, config.ResourceCount{ResourceType: aws.String(t), Count: aws.Int64(n)})
	}
	slices.SortFunc(rcs, func(a, b config.ResourceCount) int {
		if *a.Count != *b.Count {
			if *a.Count > *b.Count {
				return -1
			}
			return 1
		}
		return strings.Compare(*a.ResourceType, *b.ResourceType)
	})
	query := fmt.Sprintf("counts|%v", in.ResourceTypes)
	start := 0
	if tok := aws.ToString(in.NextToken); tok != "" {
		pos, ok := decodePageToken(tok, query)
		n, err := strconv.Atoi(pos)
		if !ok || err != nil || n < 0 || n > len(rcs) {
			return nil, invalidToken()
		}
		start = n
	}
	end := min(start+limit, len(rcs))
	out := &config.GetDiscoveredResourceCountsResponse{TotalDiscoveredResources: aws.Int64(total),
		ResourceCounts: append([]config.ResourceCount{}, rcs[start:end]...)}
	if end < len(rcs) {
		out.NextToken = aws.String(encodePageToken(query, strconv.Itoa(end)))
	}
	return out, nil
}
