package lake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/bannin/bannin/internal/call"
	"github.com/bannin/bannin/internal/store"
	"github.com/bannin/bannin/internal/wire/cloudtrail"
)

// Event categories an event data store's selectors may choose.
var categories = map[string]bool{"Management": true, "Data": true, "NetworkActivity": true, "Insight": true,
	"ConfigurationItem": true, "Evidence": true, Category: true}

// Fields advanced event selectors of event data stores may name.
var selectorFields = map[string]bool{"eventCategory": true, "eventSource": true, "eventName": true, "eventType": true,
	"readOnly": true, "resources.type": true, "resources.ARN": true, "errorCode": true, "userIdentity.arn": true,
	"sessionCredentialFromConsole": true, "vpcEndpointId": true, "eventTypeName": true}

// defaultSelectors is what an event data store created without selectors collects.
func defaultSelectors() []cloudtrail.AdvancedEventSelector {
	return []cloudtrail.AdvancedEventSelector{{Name: aws.String("Default management events"),
		FieldSelectors: []cloudtrail.AdvancedFieldSelector{{Field: aws.String("eventCategory"), Equals: []string{"Management"}}}}}
}

// checkSelectors applies CloudTrail Lake's rules to an event data store's selectors: at most
// five, each naming its eventCategory, and events from outside AWS never mixed with others.
func checkSelectors(sels []cloudtrail.AdvancedEventSelector) error {
	if len(sels) > 5 {
		return errf("InvalidEventSelectorsException", "An event data store can have at most 5 advanced event selectors; %d were given.", len(sels))
	}
	activity, other := false, false
	for i, s := range sels {
		if len(s.FieldSelectors) == 0 {
			return errf("InvalidEventSelectorsException", "Advanced event selector %d has no field selectors.", i+1)
		}
		hasCategory := false
		for _, f := range s.FieldSelectors {
			field := aws.ToString(f.Field)
			if !selectorFields[field] {
				return errf("InvalidEventSelectorsException", "Field %q is not a valid advanced event selector field for an event data store.", field)
			}
			if len(f.Equals)+len(f.StartsWith)+len(f.EndsWith)+len(f.NotEquals)+len(f.NotStartsWith)+len(f.NotEndsWith) == 0 {
				return errf("InvalidEventSelectorsException", "Field selector %q has no operator.", field)
			}
			if field != "eventCategory" {
				continue
			}
			if len(f.Equals) == 0 || len(f.StartsWith)+len(f.EndsWith)+len(f.NotEquals)+len(f.NotStartsWith)+len(f.NotEndsWith) > 0 {
				return errf("InvalidEventSelectorsException", "The eventCategory field selector supports only the Equals operator.")
			}
			hasCategory = true
			for _, v := range f.Equals {
				if !categories[v] {
					return errf("InvalidEventSelectorsException", "Event category %q is not valid; valid values are Management, Data, NetworkActivity, Insight, ConfigurationItem, Evidence and ActivityAuditLog.", v)
				}
				if v == Category {
					activity = true
				} else {
					other = true
				}
			}
		}
		if !hasCategory {
			return errf("InvalidEventSelectorsException", "Advanced event selector %d must have an eventCategory field selector.", i+1)
		}
	}
	if activity && other {
		return errf("InvalidEventSelectorsException", "An event data store for events from outside AWS (eventCategory ActivityAuditLog) cannot also select other event categories.")
	}
	return nil
}

// checkRetention applies the billing mode's retention bounds.
func checkRetention(mode string, days int32) error {
	max := int32(3653)
	if mode == BillingFixed {
		max = 2557
	}
	if days < 7 || days > max {
		return errf("InvalidParameterException", "RetentionPeriod must be between 7 and %d days for billing mode %s; %d was given.", max, mode, days)
	}
	return nil
}

func checkBillingMode(mode string) error {
	if mode != BillingExtendable && mode != BillingFixed {
		return errf("InvalidParameterException", "BillingMode %q is not valid; use EXTENDABLE_RETENTION_PRICING or FIXED_RETENTION_PRICING.", mode)
	}
	return nil
}

// storesByName returns the caller's event data stores of the region (including those pending
// deletion) keyed by name.
func storesByName(ctx context.Context, c *call.Call) (map[string]*EventDataStore, error) {
	rs, err := all(ctx, c, EventDataStoreType)
	if err != nil {
		return nil, err
	}
	out := make(map[string]*EventDataStore, len(rs))
	for _, r := range rs {
		e, _, err := loadEDS(ctx, c.Tx, ref{region: r.Region, account: r.Account, id: r.ID}, c.Time)
		if err != nil {
			return nil, err
		}
		if e != nil {
			out[e.Name] = e
		}
	}
	return out, nil
}

// CreateEventDataStore creates an event data store in the caller's region.
func (s *Service) CreateEventDataStore(ctx context.Context, in *cloudtrail.CreateEventDataStoreRequest) (*cloudtrail.CreateEventDataStoreResponse, error) {
	c := call.From(ctx)
	name := aws.ToString(in.Name)
	if !nameRE.MatchString(name) {
		return nil, errf("InvalidParameterException", "Event data store name %q is not valid: use 3 to 128 letters, numbers, periods, underscores or dashes.", name)
	}
	if aws.ToBool(in.OrganizationEnabled) {
		return nil, errf("OrganizationsNotInUseException", "This account is not part of an organization; organization event data stores need AWS Organizations, which bannin does not serve yet.")
	}
	e := &EventDataStore{Name: name, AdvancedEventSelectors: in.AdvancedEventSelectors,
		MultiRegionEnabled: in.MultiRegionEnabled == nil || *in.MultiRegionEnabled,
		// Termination protection is on unless it is turned off.
		TerminationProtectionEnabled: in.TerminationProtectionEnabled == nil || *in.TerminationProtectionEnabled,
		KmsKeyId:                     aws.ToString(in.KmsKeyId), BillingMode: BillingExtendable,
		CreatedTimestamp: c.Time.UTC(), UpdatedTimestamp: c.Time.UTC()}
	if in.BillingMode != nil {
		e.BillingMode = *in.BillingMode
	}
	if err := checkBillingMode(e.BillingMode); err != nil {
		return nil, err
	}
	e.RetentionPeriod = 366
	if e.BillingMode == BillingFixed {
		e.RetentionPeriod = 2557
	}
	if in.RetentionPeriod != nil {
		e.RetentionPeriod = *in.RetentionPeriod
	}
	if err := checkRetention(e.BillingMode, e.RetentionPeriod); err != nil {
		return nil, err
	}
	if len(e.AdvancedEventSelectors) == 0 {
		e.AdvancedEventSelectors = defaultSelectors()
	}
	if err := checkSelectors(e.AdvancedEventSelectors); err != nil {
		return nil, err
	}
	tags, err := TagMap(nil, in.TagsList)
	if err != nil {
		return nil, err
	}
	existing, err := storesByName(ctx, c)
	if err != nil {
		return nil, err
	}
	if _, ok := existing[name]; ok {
		return nil, errf("EventDataStoreAlreadyExistsException", "An event data store with the name %s already exists.", name)
	}
	live := 0
	for _, x := range existing {
		if x.Status != StatusPendingDeletion {
			live++
		}
	}
	if live >= MaxEventDataStores {
		return nil, errf("EventDataStoreMaxLimitExceededException", "Your account has reached the maximum of %d event data stores in %s.", MaxEventDataStores, c.Region)
	}
	e.EventDataStoreArn = EventDataStoreARN(c.Region, c.Account, s.newID())
	e.Status = StatusEnabled
	if in.StartIngestion != nil && !*in.StartIngestion {
		e.Status = StatusStoppedIngestion
	}
	if err := saveEDS(ctx, c, e, tags, time.Time{}); err != nil {
		return nil, err
	}
	created := StatusCreated
	if e.Status == StatusStoppedIngestion {
		created = StatusStoppedIngestion
	}
	return &cloudtrail.CreateEventDataStoreResponse{EventDataStoreArn: aws.String(e.EventDataStoreArn), Name: aws.String(e.Name),
		Status: aws.String(created), AdvancedEventSelectors: e.AdvancedEventSelectors, MultiRegionEnabled: aws.Bool(e.MultiRegionEnabled),
		OrganizationEnabled: aws.Bool(false), RetentionPeriod: aws.Int32(e.RetentionPeriod),
		TerminationProtectionEnabled: aws.Bool(e.TerminationProtectionEnabled), TagsList: tagList(tags),
		CreatedTimestamp: aws.Time(e.CreatedTimestamp), UpdatedTimestamp: aws.Time(e.UpdatedTimestamp),
		KmsKeyId: opt(e.KmsKeyId), BillingMode: aws.String(e.BillingMode)}, nil
}

// GetEventDataStore returns one event data store's settings.
func (s *Service) GetEventDataStore(ctx context.Context, in *cloudtrail.GetEventDataStoreRequest) (*cloudtrail.GetEventDataStoreResponse, error) {
	e, _, err := findEDS(ctx, call.From(ctx), aws.ToString(in.EventDataStore))
	if err != nil {
		return nil, err
	}
	return &cloudtrail.GetEventDataStoreResponse{EventDataStoreArn: aws.String(e.EventDataStoreArn), Name: aws.String(e.Name),
		Status: aws.String(e.Status), AdvancedEventSelectors: e.AdvancedEventSelectors, MultiRegionEnabled: aws.Bool(e.MultiRegionEnabled),
		OrganizationEnabled: aws.Bool(e.OrganizationEnabled), RetentionPeriod: aws.Int32(e.RetentionPeriod),
		TerminationProtectionEnabled: aws.Bool(e.TerminationProtectionEnabled),
		CreatedTimestamp:             aws.Time(e.CreatedTimestamp), UpdatedTimestamp: aws.Time(e.UpdatedTimestamp),
		KmsKeyId: opt(e.KmsKeyId), BillingMode: aws.String(e.BillingMode), FederationStatus: aws.String("DISABLED")}, nil
}

// ListEventDataStores lists the caller's event data stores in the region, including those
// pending deletion.
func (s *Service) ListEventDataStores(ctx context.Context, in *cloudtrail.ListEventDataStoresRequest) (*cloudtrail.ListEventDataStoresResponse, error) {
	c := call.From(ctx)
	limit := 1000
	if in.MaxResults != nil {
		if *in.MaxResults < 1 || *in.MaxResults > 1000 {
			return nil, errf("InvalidMaxResultsException", "MaxResults must be between 1 and 1000; %d was given.", *in.MaxResults)
		}
		limit = int(*in.MaxResults)
	}
	rs, next, err := c.Tx.ListResources(ctx, store.ResourceQuery{Account: c.Account, Region: c.Region, Type: EventDataStoreType,
		After: aws.ToString(in.NextToken), Limit: limit})
	if err != nil {
		if errors.Is(err, store.ErrInvalidToken) {
			return nil, errf("InvalidNextTokenException", "The NextToken is not valid.")
		}
		return nil, err
	}
	out := &cloudtrail.ListEventDataStoresResponse{EventDataStores: []cloudtrail.EventDataStore{}, NextToken: opt(next)}
	for _, r := range rs {
		e, _, err := loadEDS(ctx, c.Tx, ref{region: r.Region, account: r.Account, id: r.ID}, c.Time)
		if err != nil {
			return nil, err
		}
		if e == nil {
			continue
		}
		out.EventDataStores = append(out.EventDataStores, cloudtrail.EventDataStore{EventDataStoreArn: aws.String(e.EventDataStoreArn),
			Name: aws.String(e.Name), TerminationProtectionEnabled: aws.Bool(e.TerminationProtectionEnabled), Status: aws.String(e.Status),
			AdvancedEventSelectors: e.AdvancedEventSelectors, MultiRegionEnabled: aws.Bool(e.MultiRegionEnabled),
			OrganizationEnabled: aws.Bool(e.OrganizationEnabled), RetentionPeriod: aws.Int32(e.RetentionPeriod),
			CreatedTimestamp: aws.Time(e.CreatedTimestamp), UpdatedTimestamp: aws.Time(e.UpdatedTimestamp)})
	}
	return out, nil
}

// UpdateEventDataStore changes the settings that are given; the rest stay as they were.
func (s *Service) UpdateEventDataStore(ctx context.Context, in *cloudtrail.UpdateEventDataStoreRequest) (*cloudtrail.UpdateEventDataStoreResponse, error) {
	c := call.From(ctx)
	e, res, err := findEDS(ctx, c, aws.ToString(in.EventDataStore))
	if err != nil {
		return nil, err
	}
	if in.Name == nil && in.AdvancedEventSelectors == nil && in.MultiRegionEnabled == nil && in.OrganizationEnabled == nil &&
		in.RetentionPeriod == nil && in.TerminationProtectionEnabled == nil && in.KmsKeyId == nil && in.BillingMode == nil {
		return nil, errf("InvalidParameterException", "UpdateEventDataStore needs at least one setting to change.")
	}
	if e.Status == StatusPendingDeletion {
		return nil, errf("InactiveEventDataStoreException", "The event data store %s is pending deletion; restore it first.", e.EventDataStoreArn)
	}
	if in.Name != nil && *in.Name != e.Name {
		if !nameRE.MatchString(*in.Name) {
			return nil, errf("InvalidParameterException", "Event data store name %q is not valid: use 3 to 128 letters, numbers, periods, underscores or dashes.", *in.Name)
		}
		existing, err := storesByName(ctx, c)
		if err != nil {
			return nil, err
		}
		if _, ok := existing[*in.Name]; ok {
			return nil, errf("EventDataStoreAlreadyExistsException", "An event data store with the name %s already exists.", *in.Name)
		}
		e.Name = *in.Name
	}
	if aws.ToBool(in.OrganizationEnabled) {
		return nil, errf("OrganizationsNotInUseException", "This account is not part of an organization; organization event data stores need AWS Organizations, which bannin does not serve yet.")
	}
	if in.BillingMode != nil {
		if err := checkBillingMode(*in.BillingMode); err != nil {
			return nil, err
		}
		if e.BillingMode == BillingExtendable && *in.BillingMode == BillingFixed {
			return nil, errf("InvalidParameterException", "The billing mode cannot change from EXTENDABLE_RETENTION_PRICING to FIXED_RETENTION_PRICING.")
		}
		e.BillingMode = *in.BillingMode
	}
	if in.RetentionPeriod != nil {
		e.RetentionPeriod = *in.RetentionPeriod
	}
	if err := checkRetention(e.BillingMode, e.RetentionPeriod); err != nil {
		return nil, err
	}
	if in.KmsKeyId != nil {
		if e.KmsKeyId != "" && *in.KmsKeyId != e.KmsKeyId {
			return nil, errf("InvalidParameterException", "The KMS key of an event data store cannot be removed or changed once set.")
		}
		e.KmsKeyId = *in.KmsKeyId
	}
	if in.AdvancedEventSelectors != nil {
		if err := checkSelectors(in.AdvancedEventSelectors); err != nil {
			return nil, err
		}
		next := &EventDataStore{AdvancedEventSelectors: in.AdvancedEventSelectors}
		if next.AcceptsActivityAuditLog() != e.AcceptsActivityAuditLog() {
			return nil, errf("InvalidEventSelectorsException", "The event category of an event data store cannot change between ActivityAuditLog and other categories.")
		}
		e.AdvancedEventSelectors = in.AdvancedEventSelectors
	}
	if in.MultiRegionEnabled != nil {
		e.MultiRegionEnabled = *in.MultiRegionEnabled
	}
	if in.TerminationProtectionEnabled != nil {
		e.TerminationProtectionEnabled = *in.TerminationProtectionEnabled
	}
	e.UpdatedTimestamp = c.Time.UTC()
	if err := saveEDS(ctx, c, e, res.Tags, res.Created); err != nil {
		return nil, err
	}
	return &cloudtrail.UpdateEventDataStoreResponse{EventDataStoreArn: aws.String(e.EventDataStoreArn), Name: aws.String(e.Name),
		Status: aws.String(e.Status), AdvancedEventSelectors: e.AdvancedEventSelectors, MultiRegionEnabled: aws.Bool(e.MultiRegionEnabled),
		OrganizationEnabled: aws.Bool(e.OrganizationEnabled), RetentionPeriod: aws.Int32(e.RetentionPeriod),
		TerminationProtectionEnabled: aws.Bool(e.TerminationProtectionEnabled),
		CreatedTimestamp:             aws.Time(e.CreatedTimestamp), UpdatedTimestamp: aws.Time(e.UpdatedTimestamp),
		KmsKeyId: opt(e.KmsKeyId), BillingMode: aws.String(e.BillingMode), FederationStatus: aws.String("DISABLED")}, nil
}

// channelsTo returns the ARNs of the caller's channels in the region that deliver to the
// event data store arn.
func channelsTo(ctx context.Context, c *call.Call, arn string) ([]string, error) {
	rs, err := all(ctx, c, ChannelType)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, r := range rs {
		ch, _, err := loadChannel(ctx, c.Tx, ref{region: r.Region, account: r.Account, id: r.ID})
		if err != nil {
			return nil, err
		}
		for _, d := range ch.Destinations {
			if aws.ToString(d.Location) == arn {
				out = append(out, ch.ChannelArn)
				break
			}
		}
	}
	return out, nil
}

// DeleteEventDataStore puts an event data store in PENDING_DELETION; it is gone after
// DeletionWait unless RestoreEventDataStore brings it back.
func (s *Service) DeleteEventDataStore(ctx context.Context, in *cloudtrail.DeleteEventDataStoreRequest) (*cloudtrail.DeleteEventDataStoreResponse, error) {
	c := call.From(ctx)
	e, res, err := findEDS(ctx, c, aws.ToString(in.EventDataStore))
	if err != nil {
		return nil, err
	}
	if e.Status == StatusPendingDeletion {
		return nil, errf("InactiveEventDataStoreException", "The event data store %s is already pending deletion.", e.EventDataStoreArn)
	}
	if e.TerminationProtectionEnabled {
		return nil, errf("EventDataStoreTerminationProtectedException", "The event data store %s cannot be deleted because termination protection is enabled for it.", e.EventDataStoreArn)
	}
	chs, err := channelsTo(ctx, c, e.EventDataStoreArn)
	if err != nil {
		return nil, err
	}
	if len(chs) > 0 {
		return nil, errf("ChannelExistsForEDSException", "The event data store %s cannot be deleted because it is the destination of channel %s.", e.EventDataStoreArn, strings.Join(chs, ", "))
	}
	now := c.Time.UTC()
	e.StatusBeforeDeletion, e.Status, e.DeletedTimestamp, e.UpdatedTimestamp = e.Status, StatusPendingDeletion, &now, now
	if err := saveEDS(ctx, c, e, res.Tags, res.Created); err != nil {
		return nil, err
	}
	return &cloudtrail.DeleteEventDataStoreResponse{}, nil
}

// RestoreEventDataStore brings back an event data store that is pending deletion.
func (s *Service) RestoreEventDataStore(ctx context.Context, in *cloudtrail.RestoreEventDataStoreRequest) (*cloudtrail.RestoreEventDataStoreResponse, error) {
	c := call.From(ctx)
	e, res, err := findEDS(ctx, c, aws.ToString(in.EventDataStore))
	if err != nil {
		return nil, err
	}
	if e.Status != StatusPendingDeletion {
		return nil, errf("InvalidEventDataStoreStatusException", "The event data store %s is %s; only an event data store pending deletion can be restored.", e.EventDataStoreArn, e.Status)
	}
	existing, err := storesByName(ctx, c)
	if err != nil {
		return nil, err
	}
	live := 0
	for _, x := range existing {
		if x.Status != StatusPendingDeletion {
			live++
		}
	}
	if live >= MaxEventDataStores {
		return nil, errf("EventDataStoreMaxLimitExceededException", "Your account has reached the maximum of %d event data stores in %s.", MaxEventDataStores, c.Region)
	}
	e.Status = e.StatusBeforeDeletion
	if e.Status == "" {
		e.Status = StatusEnabled
	}
	e.StatusBeforeDeletion, e.DeletedTimestamp, e.UpdatedTimestamp = "", nil, c.Time.UTC()
	if err := saveEDS(ctx, c, e, res.Tags, res.Created); err != nil {
		return nil, err
	}
	return &cloudtrail.RestoreEventDataStoreResponse{EventDataStoreArn: aws.String(e.EventDataStoreArn), Name: aws.String(e.Name),
		Status: aws.String(e.Status), AdvancedEventSelectors: e.AdvancedEventSelectors, MultiRegionEnabled: aws.Bool(e.MultiRegionEnabled),
		OrganizationEnabled: aws.Bool(e.OrganizationEnabled), RetentionPeriod: aws.Int32(e.RetentionPeriod),
		TerminationProtectionEnabled: aws.Bool(e.TerminationProtectionEnabled),
		CreatedTimestamp:             aws.Time(e.CreatedTimestamp), UpdatedTimestamp: aws.Time(e.UpdatedTimestamp),
		KmsKeyId: opt(e.KmsKeyId), BillingMode: aws.String(e.BillingMode)}, nil
}

// StartEventDataStoreIngestion resumes ingestion on a stopped event data store.
func (s *Service) StartEventDataStoreIngestion(ctx context.Context, in *cloudtrail.StartEventDataStoreIngestionRequest) (*cloudtrail.StartEventDataStoreIngestionResponse, error) {
	if err := setIngestion(ctx, aws.ToString(in.EventDataStore), StatusStoppedIngestion, StatusEnabled); err != nil {
		return nil, err
	}
	return &cloudtrail.StartEventDataStoreIngestionResponse{}, nil
}

// StopEventDataStoreIngestion stops ingestion on an enabled event data store.
func (s *Service) StopEventDataStoreIngestion(ctx context.Context, in *cloudtrail.StopEventDataStoreIngestionRequest) (*cloudtrail.StopEventDataStoreIngestionResponse, error) {
	if err := setIngestion(ctx, aws.ToString(in.EventDataStore), StatusEnabled, StatusStoppedIngestion); err != nil {
		return nil, err
	}
	return &cloudtrail.StopEventDataStoreIngestionResponse{}, nil
}

func setIngestion(ctx context.Context, id, from, to string) error {
	c := call.From(ctx)
	e, res, err := findEDS(ctx, c, id)
	if err != nil {
		return err
	}
	if e.Status != from {
		return errf("InvalidEventDataStoreStatusException", "The event data store %s is %s; this operation needs it %s.", e.EventDataStoreArn, e.Status, from)
	}
	e.Status, e.UpdatedTimestamp = to, c.Time.UTC()
	return saveEDS(ctx, c, e, res.Tags, res.Created)
}

// PurgeEventDataStores removes the event data stores whose deletion wait ended before now.
// Reads already treat them as gone; this frees their rows.
func (s *Service) PurgeEventDataStores(ctx context.Context, st store.Store, now time.Time) error {
	return st.Update(ctx, func(tx store.Tx) error {
		next := ""
		for {
			rs, tok, err := tx.ListResources(ctx, store.ResourceQuery{Type: EventDataStoreType, After: next, Limit: 1000})
			if err != nil {
				return fmt.Errorf("lake: purge event data stores: %w", err)
			}
			for _, r := range rs {
				var e EventDataStore
				if err := json.Unmarshal(r.Config, &e); err != nil {
					return fmt.Errorf("lake: purge event data stores: decode %s: %w", r.ID, err)
				}
				if e.expired(now) {
					if err := tx.DeleteResource(ctx, r.Account, r.Region, EventDataStoreType, r.ID); err != nil {
						return fmt.Errorf("lake: purge event data store %s: %w", r.ID, err)
					}
				}
			}
			if tok == "" {
				return nil
			}
			next = tok
		}
	})
}
