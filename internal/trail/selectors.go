package trail

import (
	"context"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/bannin/bannin/internal/call"
	"github.com/bannin/bannin/internal/wire/cloudtrail"
)

// defaultSelectors is what a trail logs until PutEventSelectors says otherwise.
func defaultSelectors() []cloudtrail.EventSelector {
	return []cloudtrail.EventSelector{{ReadWriteType: aws.String("All"), IncludeManagementEvents: aws.Bool(true),
		DataResources: []cloudtrail.DataResource{}, ExcludeManagementEventSources: []string{}}}
}

// dataResourceTypes maps the basic selectors' data resource types to the prefix their
// values must have; the bare prefix ("arn:aws:s3") selects every resource of the type.
var dataResourceTypes = map[string]string{
	"AWS::S3::Object":       "arn:aws:s3",
	"AWS::Lambda::Function": "arn:aws:lambda",
	"AWS::DynamoDB::Table":  "arn:aws:dynamodb",
}

// excludableSources are the event sources ExcludeManagementEventSources may name.
var excludableSources = map[string]bool{"kms.amazonaws.com": true, "rdsdata.amazonaws.com": true}

// trailCategories are the eventCategory values a trail's advanced selectors may select.
var trailCategories = map[string]bool{"Management": true, "Data": true, "NetworkActivity": true}

const maxDataResources = 250

var advancedFields = map[string]bool{"eventCategory": true, "eventSource": true, "eventName": true, "eventType": true,
	"readOnly": true, "resources.type": true, "resources.ARN": true, "errorCode": true,
	"sessionCredentialFromConsole": true, "userIdentity.arn": true, "vpcEndpointId": true}

func invalidSelectors(format string, args ...any) error {
	return errf("InvalidEventSelectorsException", format, args...)
}

// PutEventSelectors replaces a trail's basic or advanced event selectors.
func (s *Service) PutEventSelectors(ctx context.Context, in *cloudtrail.PutEventSelectorsRequest) (*cloudtrail.PutEventSelectorsResponse, error) {
	c := call.From(ctx)
	t, err := find(ctx, c, aws.ToString(in.TrailName))
	if err != nil {
		return nil, err
	}
	if err := inHomeRegion(c, t); err != nil {
		return nil, err
	}
	switch {
	case len(in.EventSelectors) > 0 && len(in.AdvancedEventSelectors) > 0:
		return nil, errf("InvalidParameterCombinationException", "You cannot specify both EventSelectors and AdvancedEventSelectors.")
	case in.EventSelectors == nil && in.AdvancedEventSelectors == nil:
		return nil, invalidSelectors("You must specify EventSelectors or AdvancedEventSelectors.")
	case len(in.EventSelectors) > 5:
		return nil, invalidSelectors("A trail can have at most 5 event selectors; %d were given.", len(in.EventSelectors))
	}
	sels := make([]cloudtrail.EventSelector, 0, len(in.EventSelectors))
	dataResources := 0
	for i, e := range in.EventSelectors {
		if e.ReadWriteType == nil {
			e.ReadWriteType = aws.String("All")
		}
		if e.IncludeManagementEvents == nil {
			e.IncludeManagementEvents = aws.Bool(true)
		}
		if e.DataResources == nil {
			e.DataResources = []cloudtrail.DataResource{}
		}
		if e.ExcludeManagementEventSources == nil {
			e.ExcludeManagementEventSources = []string{}
		}
		for _, src := range e.ExcludeManagementEventSources {
			if !excludableSources[src] {
				return nil, invalidSelectors("Event selector %d: management events of %q cannot be excluded; only kms.amazonaws.com and rdsdata.amazonaws.com can.", i+1, src)
			}
		}
		for _, d := range e.DataResources {
			dataResources += len(d.Values)
			prefix, ok := dataResourceTypes[aws.ToString(d.Type)]
			if !ok {
				return nil, invalidSelectors("Event selector %d: data resource type %q is not valid; use AWS::S3::Object, AWS::Lambda::Function or AWS::DynamoDB::Table.", i+1, aws.ToString(d.Type))
			}
			for _, v := range d.Values {
				if !strings.HasPrefix(v, prefix) {
					return nil, invalidSelectors("Event selector %d: value %q is not valid for %s; it must start with %s.", i+1, v, aws.ToString(d.Type), prefix)
				}
			}
		}
		sels = append(sels, e)
	}
	if dataResources > maxDataResources {
		return nil, invalidSelectors("A trail can have at most %d data resources in its event selectors; %d were given.", maxDataResources, dataResources)
	}
	total := 0
	for i, a := range in.AdvancedEventSelectors {
		hasCategory, data, hasType := false, false, false
		for _, f := range a.FieldSelectors {
			field := aws.ToString(f.Field)
			if field == "resources.type" {
				if len(f.Equals) == 0 || len(f.StartsWith)+len(f.EndsWith)+len(f.NotEquals)+len(f.NotStartsWith)+len(f.NotEndsWith) > 0 {
					return nil, invalidSelectors("Advanced event selector %d: resources.type can only use the Equals operator.", i+1)
				}
				hasType = true
			}
			if field == "eventCategory" && slices.Contains(f.Equals, "Data") {
				data = true
			}
			if !advancedFields[field] {
				return nil, invalidSelectors("Advanced event selector %d: field %q is not valid.", i+1, field)
			}
			n := len(f.Equals) + len(f.StartsWith) + len(f.EndsWith) + len(f.NotEquals) + len(f.NotStartsWith) + len(f.NotEndsWith)
			if n == 0 {
				return nil, invalidSelectors("Advanced event selector %d: field %s needs at least one condition.", i+1, field)
			}
			total += n
			if field == "eventCategory" {
				hasCategory = true
				for _, v := range append(append([]string{}, f.Equals...), f.NotEquals...) {
					if !trailCategories[v] {
						return nil, invalidSelectors("Advanced event selector %d: eventCategory %q is not valid for a trail; use Management, Data or NetworkActivity.", i+1, v)
					}
				}
			}
		}
		if !hasCategory {
			return nil, invalidSelectors("Advanced event selector %d must have an eventCategory field selector.", i+1)
		}
		if data && !hasType {
			return nil, invalidSelectors("Advanced event selector %d selects data events and must have a resources.type field selector (for example AWS::S3::Object).", i+1)
		}
	}
	if total > 500 {
		return nil, invalidSelectors("Advanced event selectors can have at most 500 conditions in all; %d were given.", total)
	}
	t.EventSelectors, t.AdvancedEventSelectors = nil, nil
	if len(in.AdvancedEventSelectors) > 0 {
		t.AdvancedEventSelectors = in.AdvancedEventSelectors
	} else {
		t.EventSelectors = sels
	}
	t.HasCustomEventSelectors = true
	if err := save(ctx, c, t); err != nil {
		return nil, err
	}
	return &cloudtrail.PutEventSelectorsResponse{TrailARN: aws.String(t.TrailARN), EventSelectors: t.EventSelectors,
		AdvancedEventSelectors: t.AdvancedEventSelectors}, nil
}

// GetEventSelectors returns a trail's event selectors, or the default one.
func (s *Service) GetEventSelectors(ctx context.Context, in *cloudtrail.GetEventSelectorsRequest) (*cloudtrail.GetEventSelectorsResponse, error) {
	t, err := find(ctx, call.From(ctx), aws.ToString(in.TrailName))
	if err != nil {
		return nil, err
	}
	out := &cloudtrail.GetEventSelectorsResponse{TrailARN: aws.String(t.TrailARN)}
	switch {
	case len(t.AdvancedEventSelectors) > 0:
		out.AdvancedEventSelectors = t.AdvancedEventSelectors
	case t.HasCustomEventSelectors:
		out.EventSelectors = t.EventSelectors
	default:
		out.EventSelectors = defaultSelectors()
	}
	return out, nil
}

var insightTypes = map[string]bool{"ApiCallRateInsight": true, "ApiErrorRateInsight": true}

// PutInsightSelectors sets which Insights a trail collects; an empty list turns them off.
func (s *Service) PutInsightSelectors(ctx context.Context, in *cloudtrail.PutInsightSelectorsRequest) (*cloudtrail.PutInsightSelectorsResponse, error) {
	c := call.From(ctx)
	if in.TrailName == nil {
		return nil, errf("InvalidParameterCombinationException", "TrailName must be provided.")
	}
	t, err := find(ctx, c, aws.ToString(in.TrailName))
	if err != nil {
		return nil, err
	}
	if err := inHomeRegion(c, t); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, sel := range in.InsightSelectors {
		typ := aws.ToString(sel.InsightType)
		if !insightTypes[typ] {
			return nil, errf("InvalidInsightSelectorsException", "Insight type %q is not valid; use ApiCallRateInsight or ApiErrorRateInsight.", typ)
		}
		if seen[typ] {
			return nil, errf("InvalidInsightSelectorsException", "Insight type %s is given more than once.", typ)
		}
		seen[typ] = true
	}
	if len(in.InsightSelectors) > 0 && !t.managementEventsLogged() {
		return nil, errf("InvalidInsightSelectorsException", "Insights need the trail to log management events.")
	}
	t.InsightSelectors = in.InsightSelectors
	if err := save(ctx, c, t); err != nil {
		return nil, err
	}
	return &cloudtrail.PutInsightSelectorsResponse{TrailARN: aws.String(t.TrailARN), InsightSelectors: t.InsightSelectors}, nil
}

// managementEventsLogged reports whether any selector logs management events.
func (t *Trail) managementEventsLogged() bool {
	if !t.HasCustomEventSelectors {
		return true
	}
	for _, e := range t.EventSelectors {
		if aws.ToBool(e.IncludeManagementEvents) {
			return true
		}
	}
	for _, a := range t.AdvancedEventSelectors {
		for _, f := range a.FieldSelectors {
			if aws.ToString(f.Field) == "eventCategory" {
				for _, v := range f.Equals {
					if v == "Management" {
						return true
					}
				}
			}
		}
	}
	return false
}

// GetInsightSelectors returns a trail's Insights selectors.
func (s *Service) GetInsightSelectors(ctx context.Context, in *cloudtrail.GetInsightSelectorsRequest) (*cloudtrail.GetInsightSelectorsResponse, error) {
	t, err := find(ctx, call.From(ctx), aws.ToString(in.TrailName))
	if err != nil {
		return nil, err
	}
	if len(t.InsightSelectors) == 0 {
		return nil, errf("InsightNotEnabledException", "Trail %s does not have Insights enabled.", t.TrailARN)
	}
	return &cloudtrail.GetInsightSelectorsResponse{TrailARN: aws.String(t.TrailARN), InsightSelectors: t.InsightSelectors}, nil
}
