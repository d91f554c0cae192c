package lake

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/bannin/bannin/internal/call"
	"github.com/bannin/bannin/internal/store"
	"github.com/bannin/bannin/internal/wire/cloudtrail"
)

// SourceCustom is the channel source for events from any source outside AWS.
const SourceCustom = "Custom"

// DestinationEventDataStore is the destination type of integration channels.
const DestinationEventDataStore = "EVENT_DATA_STORE"

// checkDestinations resolves and checks a channel's destinations: event data stores of the
// caller's account and region that take ActivityAuditLog events, single-region, and not
// pending deletion. It returns them with each Location as the store's ARN.
func checkDestinations(ctx context.Context, c *call.Call, ds []cloudtrail.Destination) ([]cloudtrail.Destination, error) {
	if len(ds) == 0 {
		return nil, errf("InvalidParameterException", "A channel needs at least one destination.")
	}
	out := make([]cloudtrail.Destination, 0, len(ds))
	seen := map[string]bool{}
	for _, d := range ds {
		if t := aws.ToString(d.Type); t != DestinationEventDataStore {
			return nil, errf("InvalidParameterException", "Destination type %q is not valid for a channel with source Custom; use EVENT_DATA_STORE.", t)
		}
		loc := aws.ToString(d.Location)
		e, _, err := findEDS(ctx, c, loc)
		if err != nil {
			return nil, err
		}
		switch {
		case e.Status == StatusPendingDeletion:
			return nil, errf("InactiveEventDataStoreException", "The event data store %s is pending deletion.", e.EventDataStoreArn)
		case !e.AcceptsActivityAuditLog():
			return nil, errf("InvalidEventDataStoreCategoryException", "The event data store %s does not collect events from outside AWS: its advanced event selectors must select eventCategory ActivityAuditLog.", e.EventDataStoreArn)
		case e.MultiRegionEnabled || e.OrganizationEnabled:
			return nil, errf("InvalidParameterException", "The event data store %s must be a single-Region event data store of one account to be a channel destination.", e.EventDataStoreArn)
		case seen[e.EventDataStoreArn]:
			return nil, errf("InvalidParameterException", "The event data store %s is listed more than once.", e.EventDataStoreArn)
		}
		seen[e.EventDataStoreArn] = true
		out = append(out, cloudtrail.Destination{Type: aws.String(DestinationEventDataStore), Location: aws.String(e.EventDataStoreArn)})
	}
	return out, nil
}

// channelsByName returns the caller's channels of the region keyed by name.
func channelsByName(ctx context.Context, c *call.Call) (map[string]*Channel, error) {
	rs, err := all(ctx, c, ChannelType)
	if err != nil {
		return nil, err
	}
	out := make(map[string]*Channel, len(rs))
	for _, r := range rs {
		ch, _, err := loadChannel(ctx, c.Tx, ref{region: r.Region, account: r.Account, id: r.ID})
		if err != nil {
			return nil, err
		}
		if ch != nil {
			out[ch.Name] = ch
		}
	}
	return out, nil
}

// CreateChannel creates a channel that takes events from outside AWS (source Custom) into
// one or more event data stores.
func (s *Service) CreateChannel(ctx context.Context, in *cloudtrail.CreateChannelRequest) (*cloudtrail.CreateChannelResponse, error) {
	c := call.From(ctx)
	name := aws.ToString(in.Name)
	if !nameRE.MatchString(name) {
		return nil, errf("InvalidParameterException", "Channel name %q is not valid: use 3 to 128 letters, numbers, periods, underscores or dashes.", name)
	}
	if src := aws.ToString(in.Source); src != SourceCustom {
		return nil, errf("InvalidSourceException", "Source %q is not valid; bannin serves integrations with source Custom.", src)
	}
	dests, err := checkDestinations(ctx, c, in.Destinations)
	if err != nil {
		return nil, err
	}
	tags, err := TagMap(nil, in.Tags)
	if err != nil {
		return nil, err
	}
	existing, err := channelsByName(ctx, c)
	if err != nil {
		return nil, err
	}
	if _, ok := existing[name]; ok {
		return nil, errf("ChannelAlreadyExistsException", "A channel named %s already exists.", name)
	}
	if len(existing) >= MaxChannels {
		return nil, errf("ChannelMaxLimitExceededException", "Your account has reached the maximum of %d channels in %s.", MaxChannels, c.Region)
	}
	ch := &Channel{ChannelArn: ChannelARN(c.Region, c.Account, s.newID()), Name: name, Source: SourceCustom, Destinations: dests}
	if err := saveChannel(ctx, c, ch, tags); err != nil {
		return nil, err
	}
	return &cloudtrail.CreateChannelResponse{ChannelArn: aws.String(ch.ChannelArn), Name: aws.String(ch.Name),
		Source: aws.String(ch.Source), Destinations: ch.Destinations, Tags: tagList(tags)}, nil
}

// GetChannel returns a channel's settings and its latest ingestion.
func (s *Service) GetChannel(ctx context.Context, in *cloudtrail.GetChannelRequest) (*cloudtrail.GetChannelResponse, error) {
	c := call.From(ctx)
	ch, _, err := findChannel(ctx, c, aws.ToString(in.Channel))
	if err != nil {
		return nil, err
	}
	ing, err := loadIngestion(ctx, c.Tx, ch.ChannelArn)
	if err != nil {
		return nil, err
	}
	return &cloudtrail.GetChannelResponse{ChannelArn: aws.String(ch.ChannelArn), Name: aws.String(ch.Name),
		Source: aws.String(ch.Source), Destinations: ch.Destinations,
		SourceConfig: &cloudtrail.SourceConfig{ApplyToAllRegions: aws.Bool(false),
			AdvancedEventSelectors: []cloudtrail.AdvancedEventSelector{{FieldSelectors: []cloudtrail.AdvancedFieldSelector{
				{Field: aws.String("eventCategory"), Equals: []string{Category}}}}}},
		IngestionStatus: &cloudtrail.IngestionStatus{LatestIngestionSuccessTime: ing.LatestIngestionSuccessTime,
			LatestIngestionSuccessEventID: opt(ing.LatestIngestionSuccessEventID), LatestIngestionErrorCode: opt(ing.LatestIngestionErrorCode),
			LatestIngestionAttemptTime: ing.LatestIngestionAttemptTime, LatestIngestionAttemptEventID: opt(ing.LatestIngestionAttemptEventID)}}, nil
}

// ListChannels lists the caller's channels in the region.
func (s *Service) ListChannels(ctx context.Context, in *cloudtrail.ListChannelsRequest) (*cloudtrail.ListChannelsResponse, error) {
	c := call.From(ctx)
	limit := 1000
	if in.MaxResults != nil {
		if *in.MaxResults < 1 || *in.MaxResults > 1000 {
			return nil, errf("InvalidParameterException", "MaxResults must be between 1 and 1000; %d was given.", *in.MaxResults)
		}
		limit = int(*in.MaxResults)
	}
	rs, next, err := c.Tx.ListResources(ctx, store.ResourceQuery{Account: c.Account, Region: c.Region, Type: ChannelType,
		After: aws.ToString(in.NextToken), Limit: limit})
	if err != nil {
		if errors.Is(err, store.ErrInvalidToken) {
			return nil, errf("InvalidNextTokenException", "The NextToken is not valid.")
		}
		return nil, err
	}
	out := &cloudtrail.ListChannelsResponse{Channels: []cloudtrail.Channel{}, NextToken: opt(next)}
	for _, r := range rs {
		out.Channels = append(out.Channels, cloudtrail.Channel{ChannelArn: aws.String(r.ARN), Name: aws.String(r.Name)})
	}
	return out, nil
}

// UpdateChannel renames a channel or replaces its destinations.
func (s *Service) UpdateChannel(ctx context.Context, in *cloudtrail.UpdateChannelRequest) (*cloudtrail.UpdateChannelResponse, error) {
	c := call.From(ctx)
	ch, res, err := findChannel(ctx, c, aws.ToString(in.Channel))
	if err != nil {
		return nil, err
	}
	if in.Name != nil && *in.Name != ch.Name {
		if !nameRE.MatchString(*in.Name) {
			return nil, errf("InvalidParameterException", "Channel name %q is not valid: use 3 to 128 letters, numbers, periods, underscores or dashes.", *in.Name)
		}
		existing, err := channelsByName(ctx, c)
		if err != nil {
			return nil, err
		}
		if _, ok := existing[*in.Name]; ok {
			return nil, errf("ChannelAlreadyExistsException", "A channel named %s already exists.", *in.Name)
		}
		ch.Name = *in.Name
	}
	if in.Destinations != nil {
		if ch.Destinations, err = checkDestinations(ctx, c, in.Destinations); err != nil {
			return nil, err
		}
	}
	if err := saveChannel(ctx, c, ch, res.Tags); err != nil {
		return nil, err
	}
	return &cloudtrail.UpdateChannelResponse{ChannelArn: aws.String(ch.ChannelArn), Name: aws.String(ch.Name),
		Source: aws.String(ch.Source), Destinations: ch.Destinations}, nil
}

// DeleteChannel deletes a channel; events it delivered stay in their event data stores.
func (s *Service) DeleteChannel(ctx context.Context, in *cloudtrail.DeleteChannelRequest) (*cloudtrail.DeleteChannelResponse, error) {
	c := call.From(ctx)
	ch, _, err := findChannel(ctx, c, aws.ToString(in.Channel))
	if err != nil {
		return nil, err
	}
	c.Touch(ChannelType, ch.ChannelArn, ch.ChannelArn)
	if err := c.Write().DeleteResource(ctx, ch.Account(), ch.Region(), ChannelType, ch.ID()); err != nil {
		return nil, err
	}
	if err := c.Write().Delete(ctx, ingestionBucket, ch.ChannelArn); err != nil {
		return nil, err
	}
	return &cloudtrail.DeleteChannelResponse{}, nil
}
