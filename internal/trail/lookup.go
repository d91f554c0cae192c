package trail

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/bannin/bannin/internal/call"
	"github.com/bannin/bannin/internal/store"
	"github.com/bannin/bannin/internal/wire/cloudtrail"
)

var lookupKeys = map[string]bool{"EventId": true, "EventName": true, "ReadOnly": true, "Username": true,
	"ResourceType": true, "ResourceName": true, "EventSource": true, "AccessKeyId": true}

// LookupEvents searches the region's management event history (or Insights events),
// newest first, over the retention period.
func (s *Service) LookupEvents(ctx context.Context, in *cloudtrail.LookupEventsRequest) (*cloudtrail.LookupEventsResponse, error) {
	c := call.From(ctx)
	q := store.EventQuery{Account: c.Account, Region: c.Region, Limit: 50, NextToken: aws.ToString(in.NextToken)}
	switch len(in.LookupAttributes) {
	case 0:
	case 1:
		a := in.LookupAttributes[0]
		q.AttributeKey, q.AttributeValue = aws.ToString(a.AttributeKey), aws.ToString(a.AttributeValue)
		if !lookupKeys[q.AttributeKey] {
			return nil, errf("InvalidLookupAttributesException", "Lookup attribute key %q is not valid; use EventId, EventName, ReadOnly, Username, ResourceType, ResourceName, EventSource or AccessKeyId.", q.AttributeKey)
		}
		if q.AttributeKey == "ReadOnly" && q.AttributeValue != "true" && q.AttributeValue != "false" {
			return nil, errf("InvalidLookupAttributesException", "The ReadOnly lookup attribute takes true or false, not %q.", q.AttributeValue)
		}
	default:
		return nil, errf("InvalidLookupAttributesException", "LookupEvents takes at most one lookup attribute; %d were given.", len(in.LookupAttributes))
	}
	if in.MaxResults != nil {
		if *in.MaxResults < 1 || *in.MaxResults > 50 {
			return nil, errf("InvalidMaxResultsException", "MaxResults must be between 1 and 50; %d was given.", *in.MaxResults)
		}
		q.Limit = int(*in.MaxResults)
	}
	if in.EventCategory != nil {
		if *in.EventCategory != "insight" {
			return nil, errf("InvalidEventCategoryException", "Event category %q is not valid; the only value is insight.", *in.EventCategory)
		}
		q.Category = "insight"
	}
	// An unset bound stays open rather than "now": a pagination token is bound to its
	// query, and retention is enforced by purging, not by the query.
	if in.StartTime != nil {
		q.Start = *in.StartTime
	}
	if in.EndTime != nil {
		q.End = *in.EndTime
	}
	if !q.Start.IsZero() && !q.End.IsZero() && q.Start.After(q.End) {
		return nil, errf("InvalidTimeRangeException", "The start time %s is after the end time %s.", q.Start.UTC().Format(time.RFC3339), q.End.UTC().Format(time.RFC3339))
	}
	evs, next, err := c.Tx.LookupEvents(ctx, q)
	if err != nil {
		if errors.Is(err, store.ErrInvalidToken) {
			return nil, errf("InvalidNextTokenException", "The NextToken is not valid or has expired.")
		}
		return nil, err
	}
	out := &cloudtrail.LookupEventsResponse{Events: make([]cloudtrail.Event, 0, len(evs)), NextToken: opt(next)}
	for _, e := range evs {
		ev := cloudtrail.Event{EventId: aws.String(e.EventID), EventName: aws.String(e.EventName),
			ReadOnly: aws.String(strconv.FormatBool(e.ReadOnly)), AccessKeyId: opt(e.AccessKeyID),
			EventTime: aws.Time(e.Time), EventSource: aws.String(e.EventSource), Username: opt(e.Username),
			Resources: []cloudtrail.Resource{}, CloudTrailEvent: aws.String(string(e.Record))}
		for _, r := range e.Resources {
			ev.Resources = append(ev.Resources, cloudtrail.Resource{ResourceType: aws.String(r.Type), ResourceName: aws.String(r.Name)})
		}
		out.Events = append(out.Events, ev)
	}
	return out, nil
}
