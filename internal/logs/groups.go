package logs

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/bannin/bannin/internal/call"
	"github.com/bannin/bannin/internal/store"
	wirelogs "github.com/bannin/bannin/internal/wire/logs"
)

// validRetention is the set of retentionInDays values CloudWatch Logs accepts.
var validRetention = []int32{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

const maxTags = 50

// CreateLogGroup creates a log group.
func (s *Service) CreateLogGroup(ctx context.Context, in *wirelogs.CreateLogGroupRequest) (*wirelogs.CreateLogGroupOutput, error) {
	c := call.From(ctx)
	name := aws.ToString(in.LogGroupName)
	if !groupNameRE.MatchString(name) {
		return nil, errf("InvalidParameterException", "1 validation error detected: Value '%s' at 'logGroupName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+", name)
	}
	r, err := c.Tx.GetResource(ctx, c.Account, c.Region, ResourceType, name)
	if err != nil {
		return nil, fmt.Errorf("logs: get group %s: %w", name, err)
	}
	if r != nil {
		return nil, errf("ResourceAlreadyExistsException", "The specified log group already exists")
	}
	class := aws.ToString(in.LogGroupClass)
	if class == "" {
		class = "STANDARD"
	}
	tags, err := tagMap(nil, in.Tags)
	if err != nil {
		return nil, err
	}
	g := &Group{Name: name, CreationTime: ms(c.Time), KmsKeyID: aws.ToString(in.KmsKeyId), Class: class,
		DeletionProtection: aws.ToBool(in.DeletionProtectionEnabled), tags: tags}
	if err := saveGroup(ctx, c, g); err != nil {
		return nil, err
	}
	return &wirelogs.CreateLogGroupOutput{}, nil
}

// DeleteLogGroup deletes a log group with its streams, events and metric filters.
func (s *Service) DeleteLogGroup(ctx context.Context, in *wirelogs.DeleteLogGroupRequest) (*wirelogs.DeleteLogGroupOutput, error) {
	c := call.From(ctx)
	name := aws.ToString(in.LogGroupName)
	g, err := getGroup(ctx, c, name)
	if err != nil {
		return nil, err
	}
	if g.DeletionProtection {
		return nil, errf("ValidationException", "Cannot delete log group with deletion protection enabled. Disable deletion protection first.")
	}
	tx := c.Write()
	p := groupPrefix(c.Account, c.Region, name)
	for _, b := range []string{bucketEvents, bucketStreams, bucketFilters} {
		if err := deleteAll(ctx, tx, b, p); err != nil {
			return nil, err
		}
	}
	arn := GroupARN(c.Region, c.Account, name)
	c.Touch(ResourceType, name, arn)
	if err := tx.DeleteResource(ctx, c.Account, c.Region, ResourceType, name); err != nil {
		return nil, fmt.Errorf("logs: delete group %s: %w", name, err)
	}
	return &wirelogs.DeleteLogGroupOutput{}, nil
}

// PutLogGroupDeletionProtection turns a log group's deletion protection on or off.
func (s *Service) PutLogGroupDeletionProtection(ctx context.Context, in *wirelogs.PutLogGroupDeletionProtectionRequest) (*wirelogs.PutLogGroupDeletionProtectionOutput, error) {
	c := call.From(ctx)
	name, err := groupName(nil, in.LogGroupIdentifier)
	if err != nil {
		return nil, err
	}
	g, err := getGroup(ctx, c, name)
	if err != nil {
		return nil, err
	}
	g.DeletionProtection = aws.ToBool(in.DeletionProtectionEnabled)
	if err := saveGroup(ctx, c, g); err != nil {
		return nil, err
	}
	return &wirelogs.PutLogGroupDeletionProtectionOutput{}, nil
}

// allGroups returns the caller's log groups in its region, ordered by name.
func allGroups(ctx context.Context, c *call.Call) ([]*Group, error) {
	var out []*Group
	q := store.ResourceQuery{Account: c.Account, Region: c.Region, Type: ResourceType, Limit: 1000}
	for {
		rs, next, err := c.Tx.ListResources(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("logs: list groups: %w", err)
		}
		for _, r := range rs {
			g, err := decodeGroup(r)
			if err != nil {
				return nil, err
			}
			out = append(out, g)
		}
		if next == "" {
			break
		}
		q.After = next
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// DescribeLogGroups lists log groups by name prefix or by a case-insensitive substring.
func (s *Service) DescribeLogGroups(ctx context.Context, in *wirelogs.DescribeLogGroupsRequest) (*wirelogs.DescribeLogGroupsResponse, error) {
	c := call.From(ctx)
	prefix, pattern := aws.ToString(in.LogGroupNamePrefix), aws.ToString(in.LogGroupNamePattern)
	if prefix != "" && pattern != "" {
		return nil, errf("InvalidParameterException", "LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.")
	}
	limit := int(aws.ToInt32(in.Limit))
	if limit <= 0 || limit > 50 {
		limit = 50
	}
	after := aws.ToString(in.NextToken)
	groups, err := allGroups(ctx, c)
	if err != nil {
		return nil, err
	}
	idents := map[string]bool{}
	for _, id := range in.LogGroupIdentifiers {
		n, _ := groupName(nil, &id)
		idents[n] = true
	}
	out := &wirelogs.DescribeLogGroupsResponse{LogGroups: []wirelogs.LogGroup{}}
	for _, g := range groups {
		switch {
		case after != "" && g.Name <= after,
			!strings.HasPrefix(g.Name, prefix),
			pattern != "" && !strings.Contains(strings.ToLower(g.Name), strings.ToLower(pattern)),
			len(idents) > 0 && !idents[g.Name],
			in.LogGroupClass != nil && g.Class != *in.LogGroupClass:
			continue
		}
		if len(out.LogGroups) == limit {
			out.NextToken = aws.String(*out.LogGroups[limit-1].LogGroupName)
			break
		}
		lg, err := s.describeGroup(ctx, c, g)
		if err != nil {
			return nil, err
		}
		out.LogGroups = append(out.LogGroups, lg)
	}
	return out, nil
}

func (s *Service) describeGroup(ctx context.Context, c *call.Call, g *Group) (wirelogs.LogGroup, error) {
	p := groupPrefix(c.Account, c.Region, g.Name)
	streams, err := store.ListAll(ctx, c.Tx, bucketStreams, p)
	if err != nil {
		return wirelogs.LogGroup{}, err
	}
	var bytes int64
	for _, kv := range streams {
		st, err := decodeStream(kv)
		if err != nil {
			return wirelogs.LogGroup{}, err
		}
		bytes += st.StoredBytes
	}
	filters, err := store.ListAll(ctx, c.Tx, bucketFilters, p)
	if err != nil {
		return wirelogs.LogGroup{}, err
	}
	arn := GroupARN(c.Region, c.Account, g.Name)
	lg := wirelogs.LogGroup{LogGroupName: aws.String(g.Name), CreationTime: aws.Int64(g.CreationTime),
		MetricFilterCount: aws.Int32(int32(len(filters))), Arn: aws.String(arn + ":*"), LogGroupArn: aws.String(arn),
		StoredBytes: aws.Int64(bytes), LogGroupClass: aws.String(g.Class),
		DeletionProtectionEnabled: aws.Bool(g.DeletionProtection)}
	if g.RetentionInDays > 0 {
		lg.RetentionInDays = aws.Int32(g.RetentionInDays)
	}
	if g.KmsKeyID != "" {
		lg.KmsKeyId = aws.String(g.KmsKeyID)
	}
	return lg, nil
}

// PutRetentionPolicy sets how many days a log group keeps its events.
func (s *Service) PutRetentionPolicy(ctx context.Context, in *wirelogs.PutRetentionPolicyRequest) (*wirelogs.PutRetentionPolicyOutput, error) {
	c := call.From(ctx)
	days := aws.ToInt32(in.RetentionInDays)
	ok := false
	vals := make([]string, len(validRetention))
	for i, v := range validRetention {
		ok = ok || v == days
		vals[i] = strconv.Itoa(int(v))
	}
	if !ok {
		return nil, errf("InvalidParameterException", "1 validation error detected: Value '%d' at 'retentionInDays' failed to satisfy constraint: Member must satisfy enum value set: [%s]", days, strings.Join(vals, ", "))
	}
	g, err := getGroup(ctx, c, aws.ToString(in.LogGroupName))
	if err != nil {
		return nil, err
	}
	g.RetentionInDays = days
	if err := saveGroup(ctx, c, g); err != nil {
		return nil, err
	}
	return &wirelogs.PutRetentionPolicyOutput{}, nil
}

// DeleteRetentionPolicy makes a log group keep its events forever.
func (s *Service) DeleteRetentionPolicy(ctx context.Context, in *wirelogs.DeleteRetentionPolicyRequest) (*wirelogs.DeleteRetentionPolicyOutput, error) {
	c := call.From(ctx)
	g, err := getGroup(ctx, c, aws.ToString(in.LogGroupName))
	if err != nil {
		return nil, err
	}
	g.RetentionInDays = 0
	if err := saveGroup(ctx, c, g); err != nil {
		return nil, err
	}
	return &wirelogs.DeleteRetentionPolicyOutput{}, nil
}

var tagKeyRE = regexp.MustCompile(`^([\p{L}\p{Z}\p{N}_.:/=+\-@]+)$`)

// tagMap applies tags to a copy of base, checking CloudWatch Logs' tag rules.
func tagMap(base, add map[string]string) (map[string]string, error) {
	out := make(map[string]string, len(base)+len(add))
	for k, v := range base {
		out[k] = v
	}
	for k, v := range add {
		if len(k) > 128 || !tagKeyRE.MatchString(k) || strings.HasPrefix(k, "aws:") {
			return nil, errf("InvalidParameterException", "Tag key %q is not valid: it must be 1 to 128 characters of letters, spaces, digits and _.:/=+-@, not starting with aws:.", k)
		}
		if len(v) > 256 {
			return nil, errf("InvalidParameterException", "The value of tag %q is longer than 256 characters.", k)
		}
		out[k] = v
	}
	if len(out) > maxTags {
		return nil, errf("TooManyTagsException", "A resource can have no more than %d tags.", maxTags)
	}
	return out, nil
}

// taggedGroup resolves a tagging call's resource ARN to a log group.
func taggedGroup(ctx context.Context, c *call.Call, arn string) (*Group, error) {
	m := groupARNRE.FindStringSubmatch(arn)
	if m == nil {
		return nil, errf("InvalidParameterException", "Invalid resource ARN %s.", arn)
	}
	if m[1] != c.Region || m[2] != c.Account {
		return nil, errf("ResourceNotFoundException", "The specified log group does not exist.")
	}
	return getGroup(ctx, c, m[3])
}

// retag adds tags to, then removes keys from, the log group find returns, and saves it.
// The ARN-based tagging calls and the older name-based ones differ only in find.
func retag(ctx context.Context, c *call.Call, g *Group, err error, add map[string]string, remove []string) error {
	if err != nil {
		return err
	}
	if g.tags, err = tagMap(g.tags, add); err != nil {
		return err
	}
	for _, k := range remove {
		delete(g.tags, k)
	}
	return saveGroup(ctx, c, g)
}

// TagResource adds or overwrites tags on a log group.
func (s *Service) TagResource(ctx context.Context, in *wirelogs.TagResourceRequest) (*wirelogs.TagResourceOutput, error) {
	c := call.From(ctx)
	g, err := taggedGroup(ctx, c, aws.ToString(in.ResourceArn))
	if err := retag(ctx, c, g, err, in.Tags, nil); err != nil {
		return nil, err
	}
	return &wirelogs.TagResourceOutput{}, nil
}

// UntagResource removes tags by key.
func (s *Service) UntagResource(ctx context.Context, in *wirelogs.UntagResourceRequest) (*wirelogs.UntagResourceOutput, error) {
	c := call.From(ctx)
	g, err := taggedGroup(ctx, c, aws.ToString(in.ResourceArn))
	if err := retag(ctx, c, g, err, nil, in.TagKeys); err != nil {
		return nil, err
	}
	return &wirelogs.UntagResourceOutput{}, nil
}

// ListTagsForResource returns a log group's tags.
func (s *Service) ListTagsForResource(ctx context.Context, in *wirelogs.ListTagsForResourceRequest) (*wirelogs.ListTagsForResourceResponse, error) {
	g, err := taggedGroup(ctx, call.From(ctx), aws.ToString(in.ResourceArn))
	if err != nil {
		return nil, err
	}
	tags, _ := tagMap(g.tags, nil)
	return &wirelogs.ListTagsForResourceResponse{Tags: tags}, nil
}

// TagLogGroup is the older TagResource, by log group name.
func (s *Service) TagLogGroup(ctx context.Context, in *wirelogs.TagLogGroupRequest) (*wirelogs.TagLogGroupOutput, error) {
	c := call.From(ctx)
	g, err := getGroup(ctx, c, aws.ToString(in.LogGroupName))
	if err := retag(ctx, c, g, err, in.Tags, nil); err != nil {
		return nil, err
	}
	return &wirelogs.TagLogGroupOutput{}, nil
}

// UntagLogGroup is the older UntagResource, by log group name.
func (s *Service) UntagLogGroup(ctx context.Context, in *wirelogs.UntagLogGroupRequest) (*wirelogs.UntagLogGroupOutput, error) {
	c := call.From(ctx)
	g, err := getGroup(ctx, c, aws.ToString(in.LogGroupName))
	if err := retag(ctx, c, g, err, nil, in.Tags); err != nil {
		return nil, err
	}
	return &wirelogs.UntagLogGroupOutput{}, nil
}

// ListTagsLogGroup is the older ListTagsForResource, by log group name.
func (s *Service) ListTagsLogGroup(ctx context.Context, in *wirelogs.ListTagsLogGroupRequest) (*wirelogs.ListTagsLogGroupResponse, error) {
	g, err := getGroup(ctx, call.From(ctx), aws.ToString(in.LogGroupName))
	if err != nil {
		return nil, err
	}
	tags, _ := tagMap(g.tags, nil)
	return &wirelogs.ListTagsLogGroupResponse{Tags: tags}, nil
}
