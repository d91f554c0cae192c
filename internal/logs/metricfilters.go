package logs

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/bannin/bannin/internal/call"
	"github.com/bannin/bannin/internal/logs/filterpattern"
	"github.com/bannin/bannin/internal/store"
	wirelogs "github.com/bannin/bannin/internal/wire/logs"
)

// maxMetricFilters is how many metric filters one log group may have.
const maxMetricFilters = 100

// MetricFilter is a stored metric filter definition.
type MetricFilter struct {
	LogGroupName          string                          `json:"logGroupName"`
	FilterName            string                          `json:"filterName"`
	FilterPattern         string                          `json:"filterPattern"`
	MetricTransformations []wirelogs.MetricTransformation `json:"metricTransformations"`
	CreationTime          int64                           `json:"creationTime"`
	ApplyOnTransformed    bool                            `json:"applyOnTransformedLogs,omitempty"`
}

func (f *MetricFilter) wire() wirelogs.MetricFilter {
	return wirelogs.MetricFilter{FilterName: aws.String(f.FilterName), FilterPattern: aws.String(f.FilterPattern),
		MetricTransformations: f.MetricTransformations, CreationTime: aws.Int64(f.CreationTime),
		LogGroupName: aws.String(f.LogGroupName), ApplyOnTransformedLogs: aws.Bool(f.ApplyOnTransformed)}
}

// MetricFilters returns the metric filters of a log group (all groups of the account and
// region when group is ""), ordered by group then filter name: what metric emission needs.
func MetricFilters(ctx context.Context, tx store.ReadTx, account, region, group string) ([]*MetricFilter, error) {
	prefix := account + "/" + region + "/"
	if group != "" {
		prefix = groupPrefix(account, region, group)
	}
	kvs, err := store.ListAll(ctx, tx, bucketFilters, prefix)
	if err != nil {
		return nil, err
	}
	out := make([]*MetricFilter, 0, len(kvs))
	for _, kv := range kvs {
		var f MetricFilter
		if err := json.Unmarshal(kv.Value, &f); err != nil {
			return nil, fmt.Errorf("logs: decode metric filter %q: %w", kv.Key, err)
		}
		out = append(out, &f)
	}
	return out, nil
}

// PutMetricFilter creates or replaces a metric filter of a log group.
func (s *Service) PutMetricFilter(ctx context.Context, in *wirelogs.PutMetricFilterRequest) (*wirelogs.PutMetricFilterOutput, error) {
	c := call.From(ctx)
	group, name := aws.ToString(in.LogGroupName), aws.ToString(in.FilterName)
	if name == "" || len(name) > 512 || strings.ContainsAny(name, ":*") {
		return nil, errf("InvalidParameterException", "1 validation error detected: Value '%s' at 'filterName' failed to satisfy constraint: Member must satisfy regular expression pattern: [^:*]*", name)
	}
	if len(in.MetricTransformations) != 1 {
		return nil, errf("InvalidParameterException", "1 validation error detected: Value at 'metricTransformations' failed to satisfy constraint: Member must have length equal to 1")
	}
	mt := in.MetricTransformations[0]
	if aws.ToString(mt.MetricName) == "" || aws.ToString(mt.MetricNamespace) == "" || aws.ToString(mt.MetricValue) == "" {
		return nil, errf("InvalidParameterException", "A metric transformation needs metricName, metricNamespace and metricValue.")
	}
	if mt.DefaultValue != nil && len(mt.Dimensions) > 0 {
		return nil, errf("InvalidParameterException", "Metric transformations with dimensions cannot have a default value.")
	}
	if len(mt.Dimensions) > 3 {
		return nil, errf("InvalidParameterException", "A metric transformation can have at most 3 dimensions.")
	}
	pat, err := parsePattern(aws.ToString(in.FilterPattern), false)
	if err != nil {
		return nil, err
	}
	if err := checkSelectors(pat, mt); err != nil {
		return nil, err
	}
	if _, err := getGroup(ctx, c, group); err != nil {
		return nil, err
	}
	existing, err := MetricFilters(ctx, c.Tx, c.Account, c.Region, group)
	if err != nil {
		return nil, err
	}
	created := ms(c.Time)
	replacing := false
	for _, f := range existing {
		if f.FilterName == name {
			replacing, created = true, f.CreationTime
		}
	}
	if !replacing && len(existing) >= maxMetricFilters {
		return nil, errf("LimitExceededException", "Resource limit exceeded.")
	}
	f := &MetricFilter{LogGroupName: group, FilterName: name, FilterPattern: aws.ToString(in.FilterPattern),
		MetricTransformations: in.MetricTransformations, CreationTime: created,
		ApplyOnTransformed: aws.ToBool(in.ApplyOnTransformedLogs)}
	b, err := json.Marshal(f)
	if err != nil {
		return nil, fmt.Errorf("logs: encode metric filter: %w", err)
	}
	if err := c.Write().Put(ctx, bucketFilters, groupPrefix(c.Account, c.Region, group)+name, b); err != nil {
		return nil, fmt.Errorf("logs: put metric filter: %w", err)
	}
	c.Touch(ResourceType, group, GroupARN(c.Region, c.Account, group))
	return &wirelogs.PutMetricFilterOutput{}, nil
}

// DeleteMetricFilter deletes a metric filter.
func (s *Service) DeleteMetricFilter(ctx context.Context, in *wirelogs.DeleteMetricFilterRequest) (*wirelogs.DeleteMetricFilterOutput, error) {
	c := call.From(ctx)
	group, name := aws.ToString(in.LogGroupName), aws.ToString(in.FilterName)
	if _, err := getGroup(ctx, c, group); err != nil {
		return nil, err
	}
	key := groupPrefix(c.Account, c.Region, group) + name
	b, err := c.Tx.Get(ctx, bucketFilters, key)
	if err != nil {
		return nil, fmt.Errorf("logs: get metric filter: %w", err)
	}
	if b == nil {
		return nil, errf("ResourceNotFoundException", "The specified metric filter does not exist.")
	}
	if err := c.Write().Delete(ctx, bucketFilters, key); err != nil {
		return nil, fmt.Errorf("logs: delete metric filter: %w", err)
	}
	c.Touch(ResourceType, group, GroupARN(c.Region, c.Account, group))
	return &wirelogs.DeleteMetricFilterOutput{}, nil
}

// DescribeMetricFilters lists metric filters by group, name prefix or metric.
func (s *Service) DescribeMetricFilters(ctx context.Context, in *wirelogs.DescribeMetricFiltersRequest) (*wirelogs.DescribeMetricFiltersResponse, error) {
	c := call.From(ctx)
	group, prefix := aws.ToString(in.LogGroupName), aws.ToString(in.FilterNamePrefix)
	metric, ns := aws.ToString(in.MetricName), aws.ToString(in.MetricNamespace)
	if prefix != "" && group == "" {
		return nil, errf("InvalidParameterException", "If you specify filterNamePrefix, you must also specify logGroupName.")
	}
	if (metric == "") != (ns == "") {
		return nil, errf("InvalidParameterException", "If you specify metricName or metricNamespace, you must specify both.")
	}
	if metric != "" && (group != "" || prefix != "") {
		return nil, errf("InvalidParameterException", "metricName and metricNamespace cannot be combined with logGroupName or filterNamePrefix.")
	}
	limit := int(aws.ToInt32(in.Limit))
	if limit <= 0 || limit > 50 {
		limit = 50
	}
	after := aws.ToString(in.NextToken)
	if group != "" {
		if _, err := getGroup(ctx, c, group); err != nil {
			return nil, err
		}
	}
	all, err := MetricFilters(ctx, c.Tx, c.Account, c.Region, group)
	if err != nil {
		return nil, err
	}
	out := &wirelogs.DescribeMetricFiltersResponse{MetricFilters: []wirelogs.MetricFilter{}}
	for _, f := range all {
		pos := f.LogGroupName + "\x00" + f.FilterName
		if after != "" && pos <= after || !strings.HasPrefix(f.FilterName, prefix) {
			continue
		}
		if metric != "" && (aws.ToString(f.MetricTransformations[0].MetricName) != metric ||
			aws.ToString(f.MetricTransformations[0].MetricNamespace) != ns) {
			continue
		}
		if len(out.MetricFilters) == limit {
			l := out.MetricFilters[limit-1]
			out.NextToken = aws.String(*l.LogGroupName + "\x00" + *l.FilterName)
			break
		}
		out.MetricFilters = append(out.MetricFilters, f.wire())
	}
	return out, nil
}

// TestMetricFilter matches sample messages against a pattern and shows the values the
// pattern's selectors extract from each match.
func (s *Service) TestMetricFilter(ctx context.Context, in *wirelogs.TestMetricFilterRequest) (*wirelogs.TestMetricFilterResponse, error) {
	p, err := parsePattern(aws.ToString(in.FilterPattern), false)
	if err != nil {
		return nil, err
	}
	sels := p.Selectors()
	out := &wirelogs.TestMetricFilterResponse{Matches: []wirelogs.MetricFilterMatchRecord{}}
	for i, msg := range in.LogEventMessages {
		if !p.Match(msg) {
			continue
		}
		vals := map[string]string{}
		for _, sel := range sels {
			if v, ok := p.Field(msg, sel); ok {
				vals[sel] = v
			}
		}
		out.Matches = append(out.Matches, wirelogs.MetricFilterMatchRecord{EventNumber: aws.Int64(int64(i + 1)),
			EventMessage: aws.String(msg), ExtractedValues: vals})
	}
	return out, nil
}

// checkSelectors refuses a metricValue or dimension that selects a field the pattern
// cannot give: `$name` needs a space-delimited pattern naming that field (`$.x` reads the
// message as JSON, whatever the pattern); a metricValue that is no selector must be a number.
func checkSelectors(p *filterpattern.Pattern, mt wirelogs.MetricTransformation) error {
	named := map[string]bool{}
	for _, s := range p.Selectors() {
		named[s] = true
	}
	check := func(what, v string) error {
		v = strings.TrimSpace(v)
		switch {
		case strings.HasPrefix(v, "$.") || strings.HasPrefix(v, "$["):
		case strings.HasPrefix(v, "$"):
			if !named[v] {
				return errf("InvalidParameterException", "Invalid %s: %s is not a field named in the filter pattern.", what, v)
			}
		case what == "metric value":
			if _, err := strconv.ParseFloat(v, 64); err != nil {
				return errf("InvalidParameterException", "Invalid metric value: %s. It must be a number or a selector of the filter pattern.", v)
			}
		}
		return nil
	}
	if err := check("metric value", aws.ToString(mt.MetricValue)); err != nil {
		return err
	}
	for _, v := range mt.Dimensions {
		if err := check("dimension value", v); err != nil {
			return err
		}
	}
	return nil
}
