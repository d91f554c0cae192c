package lake

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/bannin/bannin/internal/awserr"
	"github.com/bannin/bannin/internal/call"
	"github.com/bannin/bannin/internal/store"
	"github.com/bannin/bannin/internal/store/sqlite"
	"github.com/bannin/bannin/internal/wire/cloudtrail"
)

const (
	account = "123456789012"
	region  = "us-east-1"
)

// env is a store and the Lake services, with a clock and a caller tests can change.
type env struct {
	t      *testing.T
	st     *sqlite.Store
	svc    *Service
	data   *Data
	now    time.Time
	caller call.Principal
	region string
	ids    int
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, now: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC), region: region,
		caller: call.Principal{Type: "Root", Account: account, ARN: "arn:aws:iam::" + account + ":root", PrincipalID: account}}
	st, err := sqlite.Open(t.TempDir(), sqlite.Options{Now: func() time.Time { return e.now }})
	if err != nil {
		t.Fatalf("sqlite.Open: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	e.st = st
	// Sequential ids keep failures readable; they are UUID-shaped like CloudTrail's.
	next := func() string {
		e.ids++
		return fmt.Sprintf("00000000-0000-4000-8000-%012d", e.ids)
	}
	e.svc = New(Options{NewID: next})
	e.data = NewData(Options{NewID: next})
	return e
}

// call runs fn as the gateway runs a handler: in a write transaction when write is set,
// else on a read snapshot.
func (e *env) call(op string, write bool, fn func(ctx context.Context) error) error {
	c := &call.Call{RequestID: "req", Time: e.now, Service: "cloudtrail", Operation: op, Account: e.caller.Account,
		Region: e.region, Caller: e.caller}
	ctx := call.With(context.Background(), c)
	if write {
		return e.st.Update(context.Background(), func(tx store.Tx) error {
			c.Tx = tx
			return fn(ctx)
		})
	}
	return e.st.View(context.Background(), func(tx store.ReadTx) error {
		c.Tx = tx
		return fn(ctx)
	})
}

// code is the AWS error code of err, or "" for nil.
func code(err error) string {
	if err == nil {
		return ""
	}
	if c, ok := awserr.As(err); ok {
		return c.AWSErrorCode()
	}
	return "not an AWS error: " + err.Error()
}

func activitySelectors() []cloudtrail.AdvancedEventSelector {
	return []cloudtrail.AdvancedEventSelector{{Name: aws.String("Select all external events"),
		FieldSelectors: []cloudtrail.AdvancedFieldSelector{{Field: aws.String("eventCategory"), Equals: []string{Category}}}}}
}

func (e *env) createEDS(in *cloudtrail.CreateEventDataStoreRequest) (*cloudtrail.CreateEventDataStoreResponse, error) {
	var out *cloudtrail.CreateEventDataStoreResponse
	err := e.call("CreateEventDataStore", true, func(ctx context.Context) (err error) {
		out, err = e.svc.CreateEventDataStore(ctx, in)
		return err
	})
	return out, err
}

// activityStore creates a single-region event data store for events from outside AWS.
func (e *env) activityStore(name string) string {
	e.t.Helper()
	out, err := e.createEDS(&cloudtrail.CreateEventDataStoreRequest{Name: aws.String(name), MultiRegionEnabled: aws.Bool(false),
		TerminationProtectionEnabled: aws.Bool(false), AdvancedEventSelectors: activitySelectors()})
	if err != nil {
		e.t.Fatalf("CreateEventDataStore(%s) = %v", name, err)
	}
	return aws.ToString(out.EventDataStoreArn)
}

func (e *env) createChannel(name string, stores ...string) (*cloudtrail.CreateChannelResponse, error) {
	in := &cloudtrail.CreateChannelRequest{Name: aws.String(name), Source: aws.String(SourceCustom)}
	for _, s := range stores {
		in.Destinations = append(in.Destinations, cloudtrail.Destination{Type: aws.String(DestinationEventDataStore), Location: aws.String(s)})
	}
	var out *cloudtrail.CreateChannelResponse
	err := e.call("CreateChannel", true, func(ctx context.Context) (err error) {
		out, err = e.svc.CreateChannel(ctx, in)
		return err
	})
	return out, err
}

func (e *env) getEDS(id string) (*cloudtrail.GetEventDataStoreResponse, error) {
	var out *cloudtrail.GetEventDataStoreResponse
	err := e.call("GetEventDataStore", false, func(ctx context.Context) (err error) {
		out, err = e.svc.GetEventDataStore(ctx, &cloudtrail.GetEventDataStoreRequest{EventDataStore: aws.String(id)})
		return err
	})
	return out, err
}

func (e *env) deleteEDS(id string) error {
	return e.call("DeleteEventDataStore", true, func(ctx context.Context) error {
		_, err := e.svc.DeleteEventDataStore(ctx, &cloudtrail.DeleteEventDataStoreRequest{EventDataStore: aws.String(id)})
		return err
	})
}

func TestCreateEventDataStoreDefaults(t *testing.T) {
	e := newEnv(t)
	out, err := e.createEDS(&cloudtrail.CreateEventDataStoreRequest{Name: aws.String("mgmt"),
		TagsList: []cloudtrail.Tag{{Key: aws.String("team"), Value: aws.String("sec")}}})
	if err != nil {
		t.Fatalf("CreateEventDataStore = %v", err)
	}
	arn := aws.ToString(out.EventDataStoreArn)
	if !strings.HasPrefix(arn, "arn:aws:cloudtrail:us-east-1:123456789012:eventdatastore/") {
		t.Errorf("EventDataStoreArn = %s; want an eventdatastore ARN of the caller", arn)
	}
	if got := aws.ToString(out.Status); got != StatusCreated {
		t.Errorf("Create Status = %s; want CREATED", got)
	}
	if !aws.ToBool(out.MultiRegionEnabled) || !aws.ToBool(out.TerminationProtectionEnabled) || aws.ToInt32(out.RetentionPeriod) != 366 ||
		aws.ToString(out.BillingMode) != BillingExtendable {
		t.Errorf("defaults = multi-region %v, protection %v, retention %d, billing %s; want true, true, 366, %s",
			aws.ToBool(out.MultiRegionEnabled), aws.ToBool(out.TerminationProtectionEnabled), aws.ToInt32(out.RetentionPeriod),
			aws.ToString(out.BillingMode), BillingExtendable)
	}
	if len(out.AdvancedEventSelectors) != 1 || out.AdvancedEventSelectors[0].FieldSelectors[0].Equals[0] != "Management" {
		t.Errorf("default selectors = %+v; want management events", out.AdvancedEventSelectors)
	}
	if len(out.TagsList) != 1 || aws.ToString(out.TagsList[0].Key) != "team" {
		t.Errorf("TagsList = %+v; want team=sec", out.TagsList)
	}
	// By id as well as by ARN.
	for _, id := range []string{arn, arn[strings.LastIndexByte(arn, '/')+1:]} {
		got, err := e.getEDS(id)
		if err != nil {
			t.Fatalf("GetEventDataStore(%s) = %v", id, err)
		}
		if aws.ToString(got.Status) != StatusEnabled || aws.ToString(got.Name) != "mgmt" {
			t.Errorf("GetEventDataStore(%s) = %s %s; want mgmt ENABLED", id, aws.ToString(got.Name), aws.ToString(got.Status))
		}
	}
	if _, err := e.createEDS(&cloudtrail.CreateEventDataStoreRequest{Name: aws.String("mgmt")}); code(err) != "EventDataStoreAlreadyExistsException" {
		t.Errorf("second CreateEventDataStore(mgmt) = %v; want EventDataStoreAlreadyExistsException", err)
	}
	if _, err := e.getEDS("arn:aws:cloudtrail:us-east-1:123456789012:eventdatastore/nope-nope"); code(err) != "EventDataStoreNotFoundException" {
		t.Errorf("GetEventDataStore(missing) = %v; want EventDataStoreNotFoundException", err)
	}
	if _, err := e.getEDS("arn:aws:cloudtrail:us-east-1:123456789012:trail/x"); code(err) != "EventDataStoreARNInvalidException" {
		t.Errorf("GetEventDataStore(trail ARN) = %v; want EventDataStoreARNInvalidException", err)
	}
}

func TestCreateEventDataStoreRejects(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		name string
		in   *cloudtrail.CreateEventDataStoreRequest
		want string
	}{
		{"mixed categories", &cloudtrail.CreateEventDataStoreRequest{Name: aws.String("a1x"), AdvancedEventSelectors: []cloudtrail.AdvancedEventSelector{
			{FieldSelectors: []cloudtrail.AdvancedFieldSelector{{Field: aws.String("eventCategory"), Equals: []string{Category, "Management"}}}}}},
			"InvalidEventSelectorsException"},
		{"no category", &cloudtrail.CreateEventDataStoreRequest{Name: aws.String("a2x"), AdvancedEventSelectors: []cloudtrail.AdvancedEventSelector{
			{FieldSelectors: []cloudtrail.AdvancedFieldSelector{{Field: aws.String("eventName"), Equals: []string{"X"}}}}}},
			"InvalidEventSelectorsException"},
		{"bad category", &cloudtrail.CreateEventDataStoreRequest{Name: aws.String("a3x"), AdvancedEventSelectors: []cloudtrail.AdvancedEventSelector{
			{FieldSelectors: []cloudtrail.AdvancedFieldSelector{{Field: aws.String("eventCategory"), Equals: []string{"Nope"}}}}}},
			"InvalidEventSelectorsException"},
		{"fixed retention too long", &cloudtrail.CreateEventDataStoreRequest{Name: aws.String("a4x"), BillingMode: aws.String(BillingFixed),
			RetentionPeriod: aws.Int32(3000)}, "InvalidParameterException"},
		{"organization", &cloudtrail.CreateEventDataStoreRequest{Name: aws.String("a5x"), OrganizationEnabled: aws.Bool(true)},
			"OrganizationsNotInUseException"},
	}
	for _, tc := range cases {
		if _, err := e.createEDS(tc.in); code(err) != tc.want {
			t.Errorf("CreateEventDataStore(%s) = %v; want %s", tc.name, err, tc.want)
		}
	}
	for i := 0; i < MaxEventDataStores; i++ {
		e.activityStore(fmt.Sprintf("store-%d", i))
	}
	if _, err := e.createEDS(&cloudtrail.CreateEventDataStoreRequest{Name: aws.String("one-too-many")}); code(err) != "EventDataStoreMaxLimitExceededException" {
		t.Errorf("CreateEventDataStore beyond the limit = %v; want EventDataStoreMaxLimitExceededException", err)
	}
}

func TestDeleteRestoreEventDataStore(t *testing.T) {
	e := newEnv(t)
	out, err := e.createEDS(&cloudtrail.CreateEventDataStoreRequest{Name: aws.String("protected")})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(out.EventDataStoreArn)
	if err := e.deleteEDS(arn); code(err) != "EventDataStoreTerminationProtectedException" {
		t.Fatalf("DeleteEventDataStore(protected) = %v; want EventDataStoreTerminationProtectedException", err)
	}
	err = e.call("UpdateEventDataStore", true, func(ctx context.Context) error {
		_, err := e.svc.UpdateEventDataStore(ctx, &cloudtrail.UpdateEventDataStoreRequest{EventDataStore: aws.String(arn),
			TerminationProtectionEnabled: aws.Bool(false), RetentionPeriod: aws.Int32(90)})
		return err
	})
	if err != nil {
		t.Fatalf("UpdateEventDataStore = %v", err)
	}
	if err := e.deleteEDS(arn); err != nil {
		t.Fatalf("DeleteEventDataStore = %v", err)
	}
	got, err := e.getEDS(arn)
	if err != nil {
		t.Fatalf("GetEventDataStore after delete = %v", err)
	}
	if aws.ToString(got.Status) != StatusPendingDeletion || aws.ToInt32(got.RetentionPeriod) != 90 {
		t.Errorf("after delete: Status %s, retention %d; want PENDING_DELETION, 90", aws.ToString(got.Status), aws.ToInt32(got.RetentionPeriod))
	}
	if err := e.deleteEDS(arn); code(err) != "InactiveEventDataStoreException" {
		t.Errorf("second DeleteEventDataStore = %v; want InactiveEventDataStoreException", err)
	}
	err = e.call("RestoreEventDataStore", true, func(ctx context.Context) error {
		out, err := e.svc.RestoreEventDataStore(ctx, &cloudtrail.RestoreEventDataStoreRequest{EventDataStore: aws.String(arn)})
		if err == nil && aws.ToString(out.Status) != StatusEnabled {
			return fmt.Errorf("restored Status = %s; want ENABLED", aws.ToString(out.Status))
		}
		return err
	})
	if err != nil {
		t.Fatalf("RestoreEventDataStore = %v", err)
	}
	if err := e.deleteEDS(arn); err != nil {
		t.Fatalf("DeleteEventDataStore again = %v", err)
	}
	// After the wait the store is gone, for reads at once and for the rows after a purge.
	e.now = e.now.Add(DeletionWait)
	if _, err := e.getEDS(arn); code(err) != "EventDataStoreNotFoundException" {
		t.Errorf("GetEventDataStore after the wait = %v; want EventDataStoreNotFoundException", err)
	}
	if err := e.svc.PurgeEventDataStores(context.Background(), e.st, e.now); err != nil {
		t.Fatalf("PurgeEventDataStores = %v", err)
	}
	err = e.st.View(context.Background(), func(tx store.ReadTx) error {
		r, err := tx.GetResource(context.Background(), account, region, EventDataStoreType, arn[strings.LastIndexByte(arn, '/')+1:])
		if err == nil && r != nil {
			return fmt.Errorf("resource still live after purge")
		}
		return err
	})
	if err != nil {
		t.Error(err)
	}
	var list *cloudtrail.ListEventDataStoresResponse
	if err := e.call("ListEventDataStores", false, func(ctx context.Context) (err error) {
		list, err = e.svc.ListEventDataStores(ctx, &cloudtrail.ListEventDataStoresRequest{})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(list.EventDataStores) != 0 {
		t.Errorf("ListEventDataStores after purge = %d stores; want 0", len(list.EventDataStores))
	}
}

func TestCreateChannel(t *testing.T) {
	e := newEnv(t)
	activity := e.activityStore("external")
	mgmt, err := e.createEDS(&cloudtrail.CreateEventDataStoreRequest{Name: aws.String("mgmt"), MultiRegionEnabled: aws.Bool(false)})
	if err != nil {
		t.Fatal(err)
	}
	multi, err := e.createEDS(&cloudtrail.CreateEventDataStoreRequest{Name: aws.String("multi"), AdvancedEventSelectors: activitySelectors()})
	if err != nil {
		t.Fatal(err)
	}
	missing := "arn:aws:cloudtrail:us-east-1:123456789012:eventdatastore/00000000-0000-4000-8000-999999999999"
	for _, tc := range []struct {
		name, dest, want string
	}{
		{"missing store", missing, "EventDataStoreNotFoundException"},
		{"management store", aws.ToString(mgmt.EventDataStoreArn), "InvalidEventDataStoreCategoryException"},
		{"multi-region store", aws.ToString(multi.EventDataStoreArn), "InvalidParameterException"},
		{"not an ARN", "arn:aws:s3:::bucket", "EventDataStoreARNInvalidException"},
	} {
		if _, err := e.createChannel("chan-"+strings.ReplaceAll(tc.name, " ", "-"), tc.dest); code(err) != tc.want {
			t.Errorf("CreateChannel(%s) = %v; want %s", tc.name, err, tc.want)
		}
	}
	err = e.call("CreateChannel", true, func(ctx context.Context) error {
		_, err := e.svc.CreateChannel(ctx, &cloudtrail.CreateChannelRequest{Name: aws.String("okta"), Source: aws.String("NoSuchPartner"),
			Destinations: []cloudtrail.Destination{{Type: aws.String(DestinationEventDataStore), Location: aws.String(activity)}}})
		return err
	})
	if code(err) != "InvalidSourceException" {
		t.Errorf("CreateChannel(unknown source) = %v; want InvalidSourceException", err)
	}

	ch, err := e.createChannel("my-app", activity)
	if err != nil {
		t.Fatalf("CreateChannel = %v", err)
	}
	chARN := aws.ToString(ch.ChannelArn)
	if !strings.HasPrefix(chARN, "arn:aws:cloudtrail:us-east-1:123456789012:channel/") || aws.ToString(ch.Source) != SourceCustom {
		t.Errorf("CreateChannel = %s source %s; want a channel ARN, Custom", chARN, aws.ToString(ch.Source))
	}
	if _, err := e.createChannel("my-app", activity); code(err) != "ChannelAlreadyExistsException" {
		t.Errorf("CreateChannel(same name) = %v; want ChannelAlreadyExistsException", err)
	}
	// A store that is a channel's destination cannot be deleted.
	if err := e.deleteEDS(activity); code(err) != "ChannelExistsForEDSException" {
		t.Errorf("DeleteEventDataStore(destination) = %v; want ChannelExistsForEDSException", err)
	}
	var got *cloudtrail.GetChannelResponse
	if err := e.call("GetChannel", false, func(ctx context.Context) (err error) {
		got, err = e.svc.GetChannel(ctx, &cloudtrail.GetChannelRequest{Channel: aws.String(chARN)})
		return err
	}); err != nil {
		t.Fatalf("GetChannel = %v", err)
	}
	if aws.ToString(got.Name) != "my-app" || len(got.Destinations) != 1 || aws.ToString(got.Destinations[0].Location) != activity {
		t.Errorf("GetChannel = %s %+v; want my-app to %s", aws.ToString(got.Name), got.Destinations, activity)
	}
	// Rename, then list.
	if err := e.call("UpdateChannel", true, func(ctx context.Context) error {
		_, err := e.svc.UpdateChannel(ctx, &cloudtrail.UpdateChannelRequest{Channel: aws.String(chARN), Name: aws.String("renamed")})
		return err
	}); err != nil {
		t.Fatalf("UpdateChannel = %v", err)
	}
	var list *cloudtrail.ListChannelsResponse
	if err := e.call("ListChannels", false, func(ctx context.Context) (err error) {
		list, err = e.svc.ListChannels(ctx, &cloudtrail.ListChannelsRequest{})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(list.Channels) != 1 || aws.ToString(list.Channels[0].Name) != "renamed" {
		t.Errorf("ListChannels = %+v; want the one channel, renamed", list.Channels)
	}
	if err := e.call("DeleteChannel", true, func(ctx context.Context) error {
		_, err := e.svc.DeleteChannel(ctx, &cloudtrail.DeleteChannelRequest{Channel: aws.String(chARN)})
		return err
	}); err != nil {
		t.Fatalf("DeleteChannel = %v", err)
	}
	if err := e.call("GetChannel", false, func(ctx context.Context) error {
		_, err := e.svc.GetChannel(ctx, &cloudtrail.GetChannelRequest{Channel: aws.String(chARN)})
		return err
	}); code(err) != "ChannelNotFoundException" {
		t.Errorf("GetChannel after delete = %v; want ChannelNotFoundException", err)
	}
	if err := e.deleteEDS(activity); err != nil {
		t.Errorf("DeleteEventDataStore once its channel is gone = %v", err)
	}
	// A store pending deletion is no destination.
	if _, err := e.createChannel("late", activity); code(err) != "InactiveEventDataStoreException" {
		t.Errorf("CreateChannel(pending deletion store) = %v; want InactiveEventDataStoreException", err)
	}
}
