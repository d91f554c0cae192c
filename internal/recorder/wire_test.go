package recorder_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/configservice"
	"github.com/aws/aws-sdk-go-v2/service/configservice/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/bannin/bannin/internal/testenv"
)

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("%s: error = %v; want %s", what, err, code)
	}
	if ae.ErrorCode() != code {
		t.Fatalf("%s: error code = %s (%s); want %s", what, ae.ErrorCode(), ae.ErrorMessage(), code)
	}
}

// eventually polls f until it returns true or the deadline passes: stream consumers run
// asynchronously.
func eventually(t *testing.T, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not reached before the deadline", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func mkBucket(t *testing.T, e *testenv.Env, name string) {
	t.Helper()
	if _, err := e.S3().CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatalf("CreateBucket %s: %v", name, err)
	}
}

const role = "arn:aws:iam::123456789012:role/config-role"

// setUp creates a bucket, the recorder and the delivery channel, and starts recording.
func setUp(t *testing.T, e *testenv.Env, cs *configservice.Client, group *types.RecordingGroup) {
	t.Helper()
	ctx := context.Background()
	mkBucket(t, e, "config-bucket")
	if _, err := cs.PutConfigurationRecorder(ctx, &configservice.PutConfigurationRecorderInput{ConfigurationRecorder: &types.ConfigurationRecorder{
		Name: aws.String("default"), RoleARN: aws.String(role), RecordingGroup: group}}); err != nil {
		t.Fatalf("PutConfigurationRecorder: %v", err)
	}
	if _, err := cs.PutDeliveryChannel(ctx, &configservice.PutDeliveryChannelInput{DeliveryChannel: &types.DeliveryChannel{
		Name: aws.String("default"), S3BucketName: aws.String("config-bucket"), S3KeyPrefix: aws.String("cfg")}}); err != nil {
		t.Fatalf("PutDeliveryChannel: %v", err)
	}
	if _, err := cs.StartConfigurationRecorder(ctx, &configservice.StartConfigurationRecorderInput{ConfigurationRecorderName: aws.String("default")}); err != nil {
		t.Fatalf("StartConfigurationRecorder: %v", err)
	}
}

func TestRecorderAndChannelErrors(t *testing.T) {
	e := testenv.New(t)
	ctx := context.Background()
	cs := configservice.NewFromConfig(e.Config)
	mkBucket(t, e, "config-bucket")

	_, err := cs.StartConfigurationRecorder(ctx, &configservice.StartConfigurationRecorderInput{ConfigurationRecorderName: aws.String("default")})
	wantCode(t, "StartConfigurationRecorder without a recorder", err, "NoSuchConfigurationRecorderException")
	_, err = cs.PutDeliveryChannel(ctx, &configservice.PutDeliveryChannelInput{DeliveryChannel: &types.DeliveryChannel{
		Name: aws.String("default"), S3BucketName: aws.String("config-bucket")}})
	wantCode(t, "PutDeliveryChannel without a recorder", err, "NoAvailableConfigurationRecorderException")
	_, err = cs.PutConfigurationRecorder(ctx, &configservice.PutConfigurationRecorderInput{ConfigurationRecorder: &types.ConfigurationRecorder{
		Name: aws.String("default"), RoleARN: aws.String(role),
		RecordingGroup: &types.RecordingGroup{AllSupported: true, ResourceTypes: []types.ResourceType{"AWS::S3::Bucket"}}}})
	wantCode(t, "PutConfigurationRecorder allSupported with resourceTypes", err, "InvalidRecordingGroupException")
	_, err = cs.PutConfigurationRecorder(ctx, &configservice.PutConfigurationRecorderInput{ConfigurationRecorder: &types.ConfigurationRecorder{
		Name: aws.String("default"), RoleARN: aws.String(role),
		RecordingGroup: &types.RecordingGroup{AllSupported: false, IncludeGlobalResourceTypes: true, ResourceTypes: []types.ResourceType{"AWS::S3::Bucket"}}}})
	wantCode(t, "PutConfigurationRecorder global types without allSupported", err, "InvalidRecordingGroupException")
	if _, err := cs.PutConfigurationRecorder(ctx, &configservice.PutConfigurationRecorderInput{ConfigurationRecorder: &types.ConfigurationRecorder{
		Name: aws.String("default"), RoleARN: aws.String(role)}}); err != nil {
		t.Fatal(err)
	}
	_, err = cs.PutConfigurationRecorder(ctx, &configservice.PutConfigurationRecorderInput{ConfigurationRecorder: &types.ConfigurationRecorder{
		Name: aws.String("second"), RoleARN: aws.String(role)}})
	wantCode(t, "a second recorder", err, "MaxNumberOfConfigurationRecordersExceededException")
	_, err = cs.StartConfigurationRecorder(ctx, &configservice.StartConfigurationRecorderInput{ConfigurationRecorderName: aws.String("default")})
	wantCode(t, "StartConfigurationRecorder without a delivery channel", err, "NoAvailableDeliveryChannelException")
	_, err = cs.PutDeliveryChannel(ctx, &configservice.PutDeliveryChannelInput{DeliveryChannel: &types.DeliveryChannel{
		Name: aws.String("default"), S3BucketName: aws.String("no-such-bucket")}})
	wantCode(t, "PutDeliveryChannel to a missing bucket", err, "NoSuchBucketException")
	_, err = cs.PutDeliveryChannel(ctx, &configservice.PutDeliveryChannelInput{DeliveryChannel: &types.DeliveryChannel{
		Name: aws.String("default"), S3BucketName: aws.String("config-bucket"), SnsTopicARN: aws.String("not-an-arn")}})
	wantCode(t, "PutDeliveryChannel with a bad topic", err, "InvalidSNSTopicARNException")
	if _, err := cs.PutDeliveryChannel(ctx, &configservice.PutDeliveryChannelInput{DeliveryChannel: &types.DeliveryChannel{
		Name: aws.String("default"), S3BucketName: aws.String("config-bucket"),
		ConfigSnapshotDeliveryProperties: &types.ConfigSnapshotDeliveryProperties{DeliveryFrequency: types.MaximumExecutionFrequencySixHours}}}); err != nil {
		t.Fatal(err)
	}
	_, err = cs.PutDeliveryChannel(ctx, &configservice.PutDeliveryChannelInput{DeliveryChannel: &types.DeliveryChannel{
		Name: aws.String("other"), S3BucketName: aws.String("config-bucket")}})
	wantCode(t, "a second delivery channel", err, "MaxNumberOfDeliveryChannelsExceededException")
	_, err = cs.DeliverConfigSnapshot(ctx, &configservice.DeliverConfigSnapshotInput{DeliveryChannelName: aws.String("default")})
	wantCode(t, "DeliverConfigSnapshot while stopped", err, "NoRunningConfigurationRecorderException")
	if _, err := cs.StartConfigurationRecorder(ctx, &configservice.StartConfigurationRecorderInput{ConfigurationRecorderName: aws.String("default")}); err != nil {
		t.Fatal(err)
	}
	st, err := cs.DescribeConfigurationRecorderStatus(ctx, &configservice.DescribeConfigurationRecorderStatusInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(st.ConfigurationRecordersStatus) != 1 || !st.ConfigurationRecordersStatus[0].Recording ||
		st.ConfigurationRecordersStatus[0].LastStatus != types.RecorderStatusSuccess || st.ConfigurationRecordersStatus[0].LastStartTime == nil {
		t.Errorf("DescribeConfigurationRecorderStatus = %+v; want one recording, SUCCESS, with a start time", st.ConfigurationRecordersStatus)
	}
	_, err = cs.DeleteDeliveryChannel(ctx, &configservice.DeleteDeliveryChannelInput{DeliveryChannelName: aws.String("default")})
	wantCode(t, "DeleteDeliveryChannel while recording", err, "LastDeliveryChannelDeleteFailedException")
	recs, err := cs.DescribeConfigurationRecorders(ctx, &configservice.DescribeConfigurationRecordersInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs.ConfigurationRecorders) != 1 || recs.ConfigurationRecorders[0].RecordingGroup == nil || !recs.ConfigurationRecorders[0].RecordingGroup.AllSupported {
		t.Errorf("DescribeConfigurationRecorders = %+v; want the default recorder recording all supported types", recs.ConfigurationRecorders)
	}
	sum, err := cs.ListConfigurationRecorders(ctx, &configservice.ListConfigurationRecordersInput{})
	if err != nil || len(sum.ConfigurationRecorderSummaries) != 1 || aws.ToString(sum.ConfigurationRecorderSummaries[0].Arn) != aws.ToString(recs.ConfigurationRecorders[0].Arn) {
		t.Errorf("ListConfigurationRecorders = %+v, %v; want the default recorder", sum, err)
	}
	_, err = cs.DescribeConfigurationRecorders(ctx, &configservice.DescribeConfigurationRecordersInput{ConfigurationRecorderNames: []string{"nope"}})
	wantCode(t, "DescribeConfigurationRecorders of a missing name", err, "NoSuchConfigurationRecorderException")
	for _, op := range []func() error{
		func() error {
			_, err := cs.StopConfigurationRecorder(ctx, &configservice.StopConfigurationRecorderInput{ConfigurationRecorderName: aws.String("default")})
			return err
		},
		func() error {
			_, err := cs.DeleteConfigurationRecorder(ctx, &configservice.DeleteConfigurationRecorderInput{ConfigurationRecorderName: aws.String("default")})
			return err
		},
		func() error {
			_, err := cs.DeliverConfigSnapshot(ctx, &configservice.DeliverConfigSnapshotInput{DeliveryChannelName: aws.String("default")})
			wantCode(t, "DeliverConfigSnapshot without a recorder", err, "NoAvailableConfigurationRecorderException")
			return nil
		},
		func() error {
			_, err := cs.DeleteDeliveryChannel(ctx, &configservice.DeleteDeliveryChannelInput{DeliveryChannelName: aws.String("default")})
			return err
		},
	} {
		if err := op(); err != nil {
			t.Fatal(err)
		}
	}
	recs, err = cs.DescribeConfigurationRecorders(ctx, &configservice.DescribeConfigurationRecordersInput{})
	if err != nil || len(recs.ConfigurationRecorders) != 0 {
		t.Errorf("DescribeConfigurationRecorders after delete = %v, %v; want none", recs, err)
	}
}

// history returns the forward history of a resource.
func history(t *testing.T, cs *configservice.Client, typ types.ResourceType, id string) []types.ConfigurationItem {
	t.Helper()
	out, err := cs.GetResourceConfigHistory(context.Background(), &configservice.GetResourceConfigHistoryInput{
		ResourceType: typ, ResourceId: aws.String(id), ChronologicalOrder: types.ChronologicalOrderForward, Limit: 100})
	if err != nil {
		var ae smithy.APIError
		if errors.As(err, &ae) && ae.ErrorCode() == "ResourceNotDiscoveredException" {
			return nil
		}
		t.Fatalf("GetResourceConfigHistory %s: %v", id, err)
	}
	return out.ConfigurationItems
}

// TestTrailHistory follows a trail through StartLogging and StopLogging in its
// configuration history, with the CloudTrail event that caused each change.
func TestTrailHistory(t *testing.T) {
	e := testenv.New(t)
	ctx := context.Background()
	cs := configservice.NewFromConfig(e.Config)
	ct := e.CloudTrail()
	_, err := cs.GetResourceConfigHistory(ctx, &configservice.GetResourceConfigHistoryInput{ResourceType: types.ResourceTypeTrail, ResourceId: aws.String("main")})
	wantCode(t, "GetResourceConfigHistory of an unknown trail", err, "ResourceNotDiscoveredException")
	setUp(t, e, cs, nil)
	mkBucket(t, e, "audit-logs")
	if _, err := ct.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("main"), S3BucketName: aws.String("audit-logs")}); err != nil {
		t.Fatal(err)
	}
	if _, err := ct.StartLogging(ctx, &cloudtrail.StartLoggingInput{Name: aws.String("main")}); err != nil {
		t.Fatal(err)
	}
	if _, err := ct.StopLogging(ctx, &cloudtrail.StopLoggingInput{Name: aws.String("main")}); err != nil {
		t.Fatal(err)
	}
	evs, err := ct.LookupEvents(ctx, &cloudtrail.LookupEventsInput{LookupAttributes: []cttypes.LookupAttribute{
		{AttributeKey: cttypes.LookupAttributeKeyEventName, AttributeValue: aws.String("StopLogging")}}})
	if err != nil || len(evs.Events) != 1 {
		t.Fatalf("LookupEvents StopLogging = %v, %v; want one event", evs, err)
	}
	stopID := aws.ToString(evs.Events[0].EventId)

	var items []types.ConfigurationItem
	eventually(t, "trail history with three versions", func() bool {
		items = history(t, cs, types.ResourceTypeTrail, "main")
		return len(items) >= 3
	})
	var logging []bool
	for _, it := range items {
		var cfg struct{ IsLogging bool }
		if err := json.Unmarshal([]byte(aws.ToString(it.Configuration)), &cfg); err != nil {
			t.Fatalf("configuration %q: %v", aws.ToString(it.Configuration), err)
		}
		logging = append(logging, cfg.IsLogging)
	}
	if want := []bool{false, true, false}; !slices.Equal(logging, want) {
		t.Errorf("IsLogging over the history = %v; want %v", logging, want)
	}
	last := items[len(items)-1]
	if !slices.Contains(last.RelatedEvents, stopID) {
		t.Errorf("last item relatedEvents = %v; want the StopLogging event %s", last.RelatedEvents, stopID)
	}
	if items[0].ConfigurationItemStatus != types.ConfigurationItemStatusResourceDiscovered || last.ConfigurationItemStatus != types.ConfigurationItemStatusOk {
		t.Errorf("statuses = %s ... %s; want ResourceDiscovered ... OK", items[0].ConfigurationItemStatus, last.ConfigurationItemStatus)
	}
	if aws.ToString(last.Arn) != "arn:aws:cloudtrail:us-east-1:"+e.Account+":trail/main" || aws.ToString(last.Version) != "1.3" {
		t.Errorf("last item arn %s version %s", aws.ToString(last.Arn), aws.ToString(last.Version))
	}
	// Reverse order (the default) with paging.
	page, err := cs.GetResourceConfigHistory(ctx, &configservice.GetResourceConfigHistoryInput{ResourceType: types.ResourceTypeTrail,
		ResourceId: aws.String("main"), Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.ConfigurationItems) != 2 || aws.ToString(page.ConfigurationItems[0].ConfigurationStateId) != aws.ToString(last.ConfigurationStateId) || page.NextToken == nil {
		t.Fatalf("first reverse page = %d items, next %v; want 2 starting with the newest", len(page.ConfigurationItems), page.NextToken)
	}
	page2, err := cs.GetResourceConfigHistory(ctx, &configservice.GetResourceConfigHistoryInput{ResourceType: types.ResourceTypeTrail,
		ResourceId: aws.String("main"), Limit: 2, NextToken: page.NextToken})
	if err != nil {
		t.Fatal(err)
	}
	if len(page2.ConfigurationItems) != 1 || aws.ToString(page2.ConfigurationItems[0].ConfigurationStateId) != aws.ToString(items[0].ConfigurationStateId) {
		t.Errorf("second reverse page = %d items; want the oldest one", len(page2.ConfigurationItems))
	}
	// Nothing after laterTime before the trail existed.
	before := items[0].ConfigurationItemCaptureTime.Add(-time.Hour)
	old, err := cs.GetResourceConfigHistory(ctx, &configservice.GetResourceConfigHistoryInput{ResourceType: types.ResourceTypeTrail,
		ResourceId: aws.String("main"), LaterTime: &before})
	if err != nil || len(old.ConfigurationItems) != 0 {
		t.Errorf("history up to an hour before creation = %v, %v; want none", old, err)
	}

	// Deleting the trail records a ResourceDeleted item; inventory lists it only with
	// includeDeletedResources.
	if _, err := ct.DeleteTrail(ctx, &cloudtrail.DeleteTrailInput{Name: aws.String("main")}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "deleted trail item", func() bool {
		items = history(t, cs, types.ResourceTypeTrail, "main")
		return items[len(items)-1].ConfigurationItemStatus == types.ConfigurationItemStatusResourceDeleted
	})
	live, err := cs.ListDiscoveredResources(ctx, &configservice.ListDiscoveredResourcesInput{ResourceType: types.ResourceTypeTrail})
	if err != nil || len(live.ResourceIdentifiers) != 0 {
		t.Errorf("ListDiscoveredResources trails = %+v, %v; want none live", live, err)
	}
	all, err := cs.ListDiscoveredResources(ctx, &configservice.ListDiscoveredResourcesInput{ResourceType: types.ResourceTypeTrail, IncludeDeletedResources: true})
	if err != nil || len(all.ResourceIdentifiers) != 1 || all.ResourceIdentifiers[0].ResourceDeletionTime == nil {
		t.Errorf("ListDiscoveredResources trails with deleted = %+v, %v; want main with a deletion time", all, err)
	}
}

// TestBucketItems checks the S3 bucket item's supplementary configuration, inventory and
// counts, and a snapshot delivered to the channel's bucket.
func TestBucketItems(t *testing.T) {
	e := testenv.New(t)
	ctx := context.Background()
	cs := configservice.NewFromConfig(e.Config)
	s3c := e.S3()
	setUp(t, e, cs, &types.RecordingGroup{ResourceTypes: []types.ResourceType{types.ResourceTypeBucket}})
	mkBucket(t, e, "data")
	if _, err := s3c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String("data"),
		VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled}}); err != nil {
		t.Fatal(err)
	}
	var items []types.ConfigurationItem
	eventually(t, "versioning recorded", func() bool {
		items = history(t, cs, types.ResourceTypeBucket, "data")
		return len(items) > 0 && strings.Contains(items[len(items)-1].SupplementaryConfiguration["BucketVersioningConfiguration"], `"Enabled"`)
	})
	first := items[0].SupplementaryConfiguration["BucketVersioningConfiguration"]
	if !strings.Contains(first, `"status":"Off"`) {
		t.Errorf("first BucketVersioningConfiguration = %s; want status Off", first)
	}
	acl := items[len(items)-1].SupplementaryConfiguration["AccessControlList"]
	if !strings.Contains(acl, `"grantList"`) || !strings.Contains(acl, "FullControl") {
		t.Errorf("AccessControlList = %s; want the owner's FullControl grant", acl)
	}

	got, err := cs.BatchGetResourceConfig(ctx, &configservice.BatchGetResourceConfigInput{ResourceKeys: []types.ResourceKey{
		{ResourceType: types.ResourceTypeBucket, ResourceId: aws.String("data")},
		{ResourceType: types.ResourceTypeBucket, ResourceId: aws.String("missing")}}})
	if err != nil || len(got.BaseConfigurationItems) != 1 || aws.ToString(got.BaseConfigurationItems[0].ResourceId) != "data" {
		t.Errorf("BatchGetResourceConfig = %+v, %v; want only data", got, err)
	}
	counts, err := cs.GetDiscoveredResourceCounts(ctx, &configservice.GetDiscoveredResourceCountsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if counts.TotalDiscoveredResources != 2 || len(counts.ResourceCounts) != 1 || counts.ResourceCounts[0].Count != 2 {
		t.Errorf("GetDiscoveredResourceCounts = total %d, %+v; want 2 buckets (config-bucket, data)", counts.TotalDiscoveredResources, counts.ResourceCounts)
	}
	list, err := cs.ListDiscoveredResources(ctx, &configservice.ListDiscoveredResourcesInput{ResourceType: types.ResourceTypeBucket, Limit: 1})
	if err != nil || len(list.ResourceIdentifiers) != 1 || list.NextToken == nil {
		t.Fatalf("ListDiscoveredResources limit 1 = %+v, %v; want one and a next token", list, err)
	}
	list2, err := cs.ListDiscoveredResources(ctx, &configservice.ListDiscoveredResourcesInput{ResourceType: types.ResourceTypeBucket, Limit: 1, NextToken: list.NextToken})
	if err != nil || len(list2.ResourceIdentifiers) != 1 || list2.NextToken != nil ||
		aws.ToString(list2.ResourceIdentifiers[0].ResourceId) == aws.ToString(list.ResourceIdentifiers[0].ResourceId) {
		t.Errorf("ListDiscoveredResources second page = %+v, %v; want the other bucket and no token", list2, err)
	}

	snap, err := cs.DeliverConfigSnapshot(ctx, &configservice.DeliverConfigSnapshotInput{DeliveryChannelName: aws.String("default")})
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(snap.ConfigSnapshotId)
	prefix := "cfg/AWSLogs/" + e.Account + "/Config/us-east-1/"
	var key string
	eventually(t, "snapshot file", func() bool {
		out, err := s3c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("config-bucket"), Prefix: aws.String(prefix)})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range out.Contents {
			if strings.HasSuffix(aws.ToString(o.Key), "_"+id+".json.gz") {
				key = aws.ToString(o.Key)
			}
		}
		return key != ""
	})
	if !strings.Contains(key, "/ConfigSnapshot/"+e.Account+"_Config_us-east-1_ConfigSnapshot_") {
		t.Errorf("snapshot key = %s; want AWS's ConfigSnapshot layout", key)
	}
	obj, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("config-bucket"), Key: aws.String(key)})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(obj.Body)
	obj.Body.Close()
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("snapshot is not gzip: %v", err)
	}
	var file struct {
		FileVersion        string `json:"fileVersion"`
		ConfigSnapshotID   string `json:"configSnapshotId"`
		ConfigurationItems []struct {
			ResourceType string `json:"resourceType"`
			ResourceID   string `json:"resourceId"`
			AccountID    string `json:"awsAccountId"`
		} `json:"configurationItems"`
	}
	if err := json.NewDecoder(zr).Decode(&file); err != nil {
		t.Fatalf("snapshot JSON: %v", err)
	}
	var ids []string
	for _, it := range file.ConfigurationItems {
		ids = append(ids, it.ResourceID)
	}
	slices.Sort(ids)
	if file.ConfigSnapshotID != id || file.FileVersion != "1.0" || !slices.Equal(ids, []string{"config-bucket", "data"}) {
		t.Errorf("snapshot = id %s version %s items %v; want %s 1.0 [config-bucket data]", file.ConfigSnapshotID, file.FileVersion, ids, id)
	}
	eventually(t, "snapshot delivery status", func() bool {
		st, err := cs.DescribeDeliveryChannelStatus(ctx, &configservice.DescribeDeliveryChannelStatusInput{})
		if err != nil {
			t.Fatal(err)
		}
		return len(st.DeliveryChannelsStatus) == 1 && st.DeliveryChannelsStatus[0].ConfigSnapshotDeliveryInfo.LastStatus == types.DeliveryStatusSuccess
	})
}

// TestCustomResources records a third-party resource with PutResourceConfig and deletes it.
func TestCustomResources(t *testing.T) {
	e := testenv.New(t)
	ctx := context.Background()
	cs := configservice.NewFromConfig(e.Config)
	schema := "00000001"
	put := func(typ, id, cfg string) error {
		_, err := cs.PutResourceConfig(ctx, &configservice.PutResourceConfigInput{ResourceType: aws.String(typ), SchemaVersionId: aws.String(schema),
			ResourceId: aws.String(id), ResourceName: aws.String(id + "-name"), Configuration: aws.String(cfg), Tags: map[string]string{"env": "prod"}})
		return err
	}
	wantCode(t, "PutResourceConfig without a recorder", put("MyCompany::Server::Host", "h1", `{"cpu":2}`), "NoRunningConfigurationRecorderException")
	setUp(t, e, cs, nil)
	wantCode(t, "PutResourceConfig of an AWS type", put("AWS::S3::Bucket", "h1", `{}`), "ValidationException")
	wantCode(t, "PutResourceConfig of a Custom:: type", put("Custom::Server::Host", "h1", `{}`), "ValidationException")
	wantCode(t, "PutResourceConfig with bad JSON", put("MyCompany::Server::Host", "h1", `{`), "ValidationException")
	if err := put("MyCompany::Server::Host", "h1", `{"cpu":2}`); err != nil {
		t.Fatal(err)
	}
	schema = "00000002"
	if err := put("MyCompany::Server::Host", "h1", `{"cpu":4}`); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.DeleteResourceConfig(ctx, &configservice.DeleteResourceConfigInput{ResourceType: aws.String("MyCompany::Server::Host"), ResourceId: aws.String("h1")}); err != nil {
		t.Fatal(err)
	}
	// Third-party types have a history like any other (the model's ResourceType enum is open).
	var statuses, schemas []string
	eventually(t, "custom resource history", func() bool {
		out, err := cs.GetResourceConfigHistory(ctx, &configservice.GetResourceConfigHistoryInput{
			ResourceType: types.ResourceType("MyCompany::Server::Host"), ResourceId: aws.String("h1"), ChronologicalOrder: types.ChronologicalOrderForward})
		var ae smithy.APIError
		if errors.As(err, &ae) && ae.ErrorCode() == "ResourceNotDiscoveredException" {
			return false // not recorded yet
		}
		if err != nil {
			t.Fatalf("GetResourceConfigHistory of a custom type: %v", err)
		}
		statuses, schemas = statuses[:0], schemas[:0]
		for _, ci := range out.ConfigurationItems {
			statuses = append(statuses, string(ci.ConfigurationItemStatus))
			schemas = append(schemas, ci.SupplementaryConfiguration["SchemaVersionId"])
		}
		return len(statuses) == 3
	})
	if got := strings.Join(statuses, ","); got != "ResourceDiscovered,OK,ResourceDeleted" {
		t.Errorf("custom resource history = %s; want ResourceDiscovered,OK,ResourceDeleted", got)
	}
	if got := strings.Join(schemas, ","); got != "00000001,00000002," {
		t.Errorf("SchemaVersionId over the history = %s; want 00000001,00000002, (none once deleted)", got)
	}
	sel := func() []string {
		out, err := cs.SelectResourceConfig(ctx, &configservice.SelectResourceConfigInput{Expression: aws.String(
			"SELECT resourceId, resourceName, configuration.cpu, tags WHERE resourceType = 'MyCompany::Server::Host'")})
		if err != nil {
			t.Fatal(err)
		}
		return out.Results
	}
	eventually(t, "custom resource deleted", func() bool { return len(sel()) == 0 })
	if err := put("MyCompany::Server::Host", "h2", `{"cpu":8}`); err != nil {
		t.Fatal(err)
	}
	var rows []string
	eventually(t, "custom resource recorded", func() bool { rows = sel(); return len(rows) == 1 })
	var row struct {
		ResourceID    string `json:"resourceId"`
		ResourceName  string `json:"resourceName"`
		Configuration struct {
			CPU int `json:"cpu"`
		} `json:"configuration"`
		Tags []struct{ Key, Value string } `json:"tags"`
	}
	if err := json.Unmarshal([]byte(rows[0]), &row); err != nil {
		t.Fatal(err)
	}
	if row.ResourceID != "h2" || row.ResourceName != "h2-name" || row.Configuration.CPU != 8 || len(row.Tags) != 1 || row.Tags[0].Value != "prod" {
		t.Errorf("SelectResourceConfig row = %s; want h2, h2-name, cpu 8, env=prod", rows[0])
	}
	_, err := cs.DeleteResourceConfig(ctx, &configservice.DeleteResourceConfigInput{ResourceType: aws.String("MyCompany::Server::Host"), ResourceId: aws.String("nope")})
	wantCode(t, "DeleteResourceConfig of an unknown resource", err, "ValidationException")
}

// TestRecorderCLI puts a recorder with the aws CLI v2.
func TestRecorderCLI(t *testing.T) {
	e := testenv.New(t)
	e.Run(t, testenv.V2, "configservice", "put-configuration-recorder",
		"--configuration-recorder", "name=default,roleARN="+role,
		"--recording-group", "allSupported=false,includeGlobalResourceTypes=false,resourceTypes=AWS::S3::Bucket")
	out, err := configservice.NewFromConfig(e.Config).DescribeConfigurationRecorders(context.Background(), &configservice.DescribeConfigurationRecordersInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.ConfigurationRecorders) != 1 || out.ConfigurationRecorders[0].RecordingGroup == nil ||
		!slices.Equal(out.ConfigurationRecorders[0].RecordingGroup.ResourceTypes, []types.ResourceType{types.ResourceTypeBucket}) {
		t.Errorf("recorder after the CLI = %+v; want one recording AWS::S3::Bucket", out.ConfigurationRecorders)
	}
}
