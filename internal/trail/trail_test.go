package trail_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/bannin/bannin/internal/testenv"
)

func mkBucket(t *testing.T, e *testenv.Env, name string) {
	t.Helper()
	if _, err := e.S3().CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatalf("CreateBucket(%s): %v", name, err)
	}
}

func TestTrailLifecycle(t *testing.T) {
	e := testenv.New(t)
	ctx := context.Background()
	ct := e.CloudTrail()

	_, err := ct.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("main"), S3BucketName: aws.String("audit-logs")})
	testenv.WantCode(t, "CreateTrail without bucket", err, "S3BucketDoesNotExistException")

	mkBucket(t, e, "audit-logs")
	out, err := ct.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("main"), S3BucketName: aws.String("audit-logs"),
		TagsList: []types.Tag{{Key: aws.String("team"), Value: aws.String("sec")}}})
	if err != nil {
		t.Fatalf("CreateTrail: %v", err)
	}
	wantARN := "arn:aws:cloudtrail:us-east-1:" + e.Account + ":trail/main"
	if aws.ToString(out.TrailARN) != wantARN || !aws.ToBool(out.IncludeGlobalServiceEvents) || aws.ToBool(out.IsMultiRegionTrail) {
		t.Errorf("CreateTrail = ARN %s, global %v, multi-region %v; want %s, true, false",
			aws.ToString(out.TrailARN), aws.ToBool(out.IncludeGlobalServiceEvents), aws.ToBool(out.IsMultiRegionTrail), wantARN)
	}
	_, err = ct.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("main"), S3BucketName: aws.String("audit-logs")})
	testenv.WantCode(t, "CreateTrail twice", err, "TrailAlreadyExistsException")

	st, err := ct.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: aws.String("main")})
	if err != nil || aws.ToBool(st.IsLogging) {
		t.Fatalf("GetTrailStatus after create = %v, %v; want not logging", st, err)
	}
	// As CloudTrail answers a trail that never logged: the string times present and empty.
	if st.TimeLoggingStarted == nil || *st.TimeLoggingStarted != "" || st.LatestDeliveryAttemptTime == nil || *st.LatestDeliveryAttemptTime != "" {
		t.Errorf("GetTrailStatus after create: TimeLoggingStarted %v, LatestDeliveryAttemptTime %v; want both \"\"", st.TimeLoggingStarted, st.LatestDeliveryAttemptTime)
	}
	if _, err := ct.StartLogging(ctx, &cloudtrail.StartLoggingInput{Name: aws.String(wantARN)}); err != nil {
		t.Fatalf("StartLogging: %v", err)
	}
	st, _ = ct.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: aws.String("main")})
	if !aws.ToBool(st.IsLogging) || st.StartLoggingTime == nil {
		t.Errorf("GetTrailStatus after StartLogging: IsLogging %v, StartLoggingTime %v; want true and set", aws.ToBool(st.IsLogging), st.StartLoggingTime)
	}
	if want := aws.ToTime(st.StartLoggingTime).UTC().Format("2006-01-02T15:04:05Z"); aws.ToString(st.TimeLoggingStarted) != want || aws.ToString(st.TimeLoggingStopped) != "" {
		t.Errorf("GetTrailStatus after StartLogging: TimeLoggingStarted %q, TimeLoggingStopped %q; want %q and \"\"", aws.ToString(st.TimeLoggingStarted), aws.ToString(st.TimeLoggingStopped), want)
	}
	if _, err := ct.StopLogging(ctx, &cloudtrail.StopLoggingInput{Name: aws.String("main")}); err != nil {
		t.Fatalf("StopLogging: %v", err)
	}
	st, _ = ct.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: aws.String("main")})
	if aws.ToBool(st.IsLogging) || st.StopLoggingTime == nil {
		t.Errorf("GetTrailStatus after StopLogging: IsLogging %v, StopLoggingTime %v; want false and set", aws.ToBool(st.IsLogging), st.StopLoggingTime)
	}

	up, err := ct.UpdateTrail(ctx, &cloudtrail.UpdateTrailInput{Name: aws.String("main"), IsMultiRegionTrail: aws.Bool(true), EnableLogFileValidation: aws.Bool(true)})
	if err != nil || !aws.ToBool(up.IsMultiRegionTrail) || !aws.ToBool(up.LogFileValidationEnabled) {
		t.Fatalf("UpdateTrail = %+v, %v; want multi-region with validation", up, err)
	}
	_, err = ct.UpdateTrail(ctx, &cloudtrail.UpdateTrailInput{Name: aws.String("main"), S3BucketName: aws.String("nope-bucket")})
	testenv.WantCode(t, "UpdateTrail to a missing bucket", err, "S3BucketDoesNotExistException")

	d, err := ct.DescribeTrails(ctx, &cloudtrail.DescribeTrailsInput{})
	if err != nil || len(d.TrailList) != 1 || aws.ToString(d.TrailList[0].HomeRegion) != "us-east-1" || aws.ToString(d.TrailList[0].S3BucketName) != "audit-logs" {
		t.Fatalf("DescribeTrails = %+v, %v; want the one trail in us-east-1 on audit-logs", d, err)
	}
	// A multi-region trail is visible (as a shadow) from other regions.
	west := e.Config.Copy()
	west.Region = "us-west-2"
	g, err := cloudtrail.NewFromConfig(west).GetTrail(ctx, &cloudtrail.GetTrailInput{Name: aws.String("main")})
	if err != nil || aws.ToString(g.Trail.HomeRegion) != "us-east-1" {
		t.Fatalf("GetTrail from us-west-2 = %+v, %v; want the us-east-1 trail", g, err)
	}
	_, err = cloudtrail.NewFromConfig(west).StopLogging(ctx, &cloudtrail.StopLoggingInput{Name: aws.String("main")})
	testenv.WantCode(t, "StopLogging outside the home region", err, "InvalidHomeRegionException")

	l, err := ct.ListTrails(ctx, &cloudtrail.ListTrailsInput{})
	if err != nil || len(l.Trails) != 1 || aws.ToString(l.Trails[0].TrailARN) != wantARN {
		t.Fatalf("ListTrails = %+v, %v", l, err)
	}
	tags, err := ct.ListTags(ctx, &cloudtrail.ListTagsInput{ResourceIdList: []string{wantARN}})
	if err != nil || len(tags.ResourceTagList) != 1 || len(tags.ResourceTagList[0].TagsList) != 1 {
		t.Fatalf("ListTags = %+v, %v; want the team tag", tags, err)
	}
	if _, err := ct.AddTags(ctx, &cloudtrail.AddTagsInput{ResourceId: aws.String(wantARN), TagsList: []types.Tag{{Key: aws.String("env"), Value: aws.String("prod")}}}); err != nil {
		t.Fatalf("AddTags: %v", err)
	}
	if _, err := ct.RemoveTags(ctx, &cloudtrail.RemoveTagsInput{ResourceId: aws.String(wantARN), TagsList: []types.Tag{{Key: aws.String("team")}}}); err != nil {
		t.Fatalf("RemoveTags: %v", err)
	}
	tags, _ = ct.ListTags(ctx, &cloudtrail.ListTagsInput{ResourceIdList: []string{wantARN}})
	if got := tags.ResourceTagList[0].TagsList; len(got) != 1 || aws.ToString(got[0].Key) != "env" {
		t.Errorf("tags after add env, remove team = %+v; want only env", got)
	}

	if _, err := ct.DeleteTrail(ctx, &cloudtrail.DeleteTrailInput{Name: aws.String("main")}); err != nil {
		t.Fatalf("DeleteTrail: %v", err)
	}
	_, err = ct.GetTrail(ctx, &cloudtrail.GetTrailInput{Name: aws.String("main")})
	testenv.WantCode(t, "GetTrail after delete", err, "TrailNotFoundException")
}

func TestTrailValidation(t *testing.T) {
	e := testenv.New(t)
	ctx := context.Background()
	ct := e.CloudTrail()
	mkBucket(t, e, "audit-logs")
	for _, name := range []string{"ab", "-main", "main-", "my--trail", "my_-trail", "has space", "192.168.0.1"} {
		_, err := ct.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String(name), S3BucketName: aws.String("audit-logs")})
		testenv.WantCode(t, "CreateTrail("+name+")", err, "InvalidTrailNameException")
	}
	_, err := ct.CreateTrail(ctx, &cloudtrail.CreateTrailInput{S3BucketName: aws.String("audit-logs")})
	if err == nil {
		t.Fatal("CreateTrail without Name succeeded")
	}
	_, err = ct.GetTrail(ctx, &cloudtrail.GetTrailInput{Name: aws.String("arn:aws:cloudtrail:oops")})
	testenv.WantCode(t, "GetTrail(bad ARN)", err, "CloudTrailARNInvalidException")
	_, err = ct.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("cw-trail"), S3BucketName: aws.String("audit-logs"),
		CloudWatchLogsLogGroupArn: aws.String("arn:aws:logs:us-east-1:123456789012:log-group:ct:*")})
	testenv.WantCode(t, "CreateTrail with a log group and no role", err, "InvalidCloudWatchLogsRoleArnException")
	l, _ := ct.ListTrails(ctx, &cloudtrail.ListTrailsInput{})
	if len(l.Trails) != 0 {
		t.Errorf("ListTrails after only failed creates = %d trails; want 0", len(l.Trails))
	}
}

func TestSelectors(t *testing.T) {
	e := testenv.New(t)
	ctx := context.Background()
	ct := e.CloudTrail()
	mkBucket(t, e, "audit-logs")
	if _, err := ct.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("main"), S3BucketName: aws.String("audit-logs")}); err != nil {
		t.Fatal(err)
	}
	g, err := ct.GetEventSelectors(ctx, &cloudtrail.GetEventSelectorsInput{TrailName: aws.String("main")})
	if err != nil || len(g.EventSelectors) != 1 || g.EventSelectors[0].ReadWriteType != types.ReadWriteTypeAll || !aws.ToBool(g.EventSelectors[0].IncludeManagementEvents) {
		t.Fatalf("default GetEventSelectors = %+v, %v; want one All selector with management events", g, err)
	}
	_, err = ct.PutEventSelectors(ctx, &cloudtrail.PutEventSelectorsInput{TrailName: aws.String("main"),
		EventSelectors: []types.EventSelector{{DataResources: []types.DataResource{{Type: aws.String("AWS::S3::Bucket"), Values: []string{"arn:aws:s3:::x/"}}}}}})
	testenv.WantCode(t, "PutEventSelectors with a bad data resource type", err, "InvalidEventSelectorsException")
	// Data events are chosen by resource type, which only Equals can name.
	for name, fs := range map[string][]types.AdvancedFieldSelector{
		"data without resources.type": {{Field: aws.String("eventCategory"), Equals: []string{"Data"}}},
		"resources.type by prefix": {{Field: aws.String("eventCategory"), Equals: []string{"Data"}},
			{Field: aws.String("resources.type"), StartsWith: []string{"AWS::S3::"}}},
	} {
		_, err = ct.PutEventSelectors(ctx, &cloudtrail.PutEventSelectorsInput{TrailName: aws.String("main"),
			AdvancedEventSelectors: []types.AdvancedEventSelector{{FieldSelectors: fs}}})
		testenv.WantCode(t, "PutEventSelectors "+name, err, "InvalidEventSelectorsException")
	}
	_, err = ct.PutEventSelectors(ctx, &cloudtrail.PutEventSelectorsInput{TrailName: aws.String("main"),
		AdvancedEventSelectors: []types.AdvancedEventSelector{{FieldSelectors: []types.AdvancedFieldSelector{
			{Field: aws.String("eventCategory"), Equals: []string{"Data"}}, {Field: aws.String("resources.type"), Equals: []string{"AWS::S3::Object"}}}}}})
	if err != nil {
		t.Fatalf("PutEventSelectors(advanced): %v", err)
	}
	g, _ = ct.GetEventSelectors(ctx, &cloudtrail.GetEventSelectorsInput{TrailName: aws.String("main")})
	if len(g.AdvancedEventSelectors) != 1 || len(g.EventSelectors) != 0 {
		t.Errorf("GetEventSelectors after advanced put = %+v; want one advanced selector only", g)
	}
	_, err = ct.GetInsightSelectors(ctx, &cloudtrail.GetInsightSelectorsInput{TrailName: aws.String("main")})
	testenv.WantCode(t, "GetInsightSelectors before any", err, "InsightNotEnabledException")
	_, err = ct.PutInsightSelectors(ctx, &cloudtrail.PutInsightSelectorsInput{TrailName: aws.String("main"),
		InsightSelectors: []types.InsightSelector{{InsightType: types.InsightTypeApiCallRateInsight}}})
	testenv.WantCode(t, "PutInsightSelectors on a data-only trail", err, "InvalidInsightSelectorsException")
	_, err = ct.PutEventSelectors(ctx, &cloudtrail.PutEventSelectorsInput{TrailName: aws.String("main"),
		EventSelectors: []types.EventSelector{{ReadWriteType: types.ReadWriteTypeWriteOnly, IncludeManagementEvents: aws.Bool(true)}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ct.PutInsightSelectors(ctx, &cloudtrail.PutInsightSelectorsInput{TrailName: aws.String("main"),
		InsightSelectors: []types.InsightSelector{{InsightType: types.InsightTypeApiCallRateInsight}}}); err != nil {
		t.Fatalf("PutInsightSelectors: %v", err)
	}
	gi, err := ct.GetInsightSelectors(ctx, &cloudtrail.GetInsightSelectorsInput{TrailName: aws.String("main")})
	if err != nil || len(gi.InsightSelectors) != 1 {
		t.Fatalf("GetInsightSelectors = %+v, %v", gi, err)
	}
	tr, _ := ct.GetTrail(ctx, &cloudtrail.GetTrailInput{Name: aws.String("main")})
	if !aws.ToBool(tr.Trail.HasCustomEventSelectors) || !aws.ToBool(tr.Trail.HasInsightSelectors) {
		t.Errorf("GetTrail flags = custom %v, insights %v; want both true", aws.ToBool(tr.Trail.HasCustomEventSelectors), aws.ToBool(tr.Trail.HasInsightSelectors))
	}
}

// record is the part of a CloudTrail record the tests check.
type record struct {
	EventSource  string `json:"eventSource"`
	EventName    string `json:"eventName"`
	ErrorCode    string `json:"errorCode"`
	UserIdentity struct {
		Type        string `json:"type"`
		ARN         string `json:"arn"`
		AccountID   string `json:"accountId"`
		AccessKeyID string `json:"accessKeyId"`
	} `json:"userIdentity"`
	RequestParameters map[string]any `json:"requestParameters"`
	ReadOnly          bool           `json:"readOnly"`
	EventType         string         `json:"eventType"`
	RecipientAccount  string         `json:"recipientAccountId"`
}

func lookup(t *testing.T, ct *cloudtrail.Client, key types.LookupAttributeKey, value string) []types.Event {
	t.Helper()
	out, err := ct.LookupEvents(context.Background(), &cloudtrail.LookupEventsInput{
		LookupAttributes: []types.LookupAttribute{{AttributeKey: key, AttributeValue: aws.String(value)}}})
	if err != nil {
		t.Fatalf("LookupEvents(%s=%s): %v", key, value, err)
	}
	return out.Events
}

func TestLookupEvents(t *testing.T) {
	e := testenv.New(t)
	ctx := context.Background()
	ct := e.CloudTrail()
	mkBucket(t, e, "audit-logs")
	if _, err := ct.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("main"), S3BucketName: aws.String("audit-logs")}); err != nil {
		t.Fatal(err)
	}
	if _, err := ct.StartLogging(ctx, &cloudtrail.StartLoggingInput{Name: aws.String("main")}); err != nil {
		t.Fatal(err)
	}
	_, err := ct.StartLogging(ctx, &cloudtrail.StartLoggingInput{Name: aws.String("missing")})
	testenv.WantCode(t, "StartLogging(missing)", err, "TrailNotFoundException")

	evs := lookup(t, ct, types.LookupAttributeKeyEventName, "StartLogging")
	if len(evs) != 2 {
		t.Fatalf("LookupEvents(EventName=StartLogging) = %d events; want 2", len(evs))
	}
	var failed, ok record
	json.Unmarshal([]byte(aws.ToString(evs[0].CloudTrailEvent)), &failed)
	json.Unmarshal([]byte(aws.ToString(evs[1].CloudTrailEvent)), &ok)
	if failed.ErrorCode != "TrailNotFoundException" || ok.ErrorCode != "" {
		t.Errorf("errorCodes newest first = %q, %q; want TrailNotFoundException, none", failed.ErrorCode, ok.ErrorCode)
	}
	if ok.EventSource != "cloudtrail.amazonaws.com" || ok.UserIdentity.Type != "Root" || ok.UserIdentity.AccountID != e.Account ||
		ok.UserIdentity.ARN != "arn:aws:iam::"+e.Account+":root" || ok.RequestParameters["name"] != "main" ||
		ok.ReadOnly || ok.EventType != "AwsApiCall" || ok.RecipientAccount != e.Account {
		t.Errorf("StartLogging record = %+v", ok)
	}
	if aws.ToString(evs[1].Username) != "root" || aws.ToString(evs[1].ReadOnly) != "false" || aws.ToString(evs[1].EventSource) != "cloudtrail.amazonaws.com" {
		t.Errorf("StartLogging event = user %q, readOnly %q, source %q", aws.ToString(evs[1].Username), aws.ToString(evs[1].ReadOnly), aws.ToString(evs[1].EventSource))
	}
	creds, _ := e.Config.Credentials.Retrieve(ctx)
	trailARN := "arn:aws:cloudtrail:us-east-1:" + e.Account + ":trail/main"
	for _, c := range []struct {
		key   types.LookupAttributeKey
		value string
		min   int
	}{
		{types.LookupAttributeKeyEventId, aws.ToString(evs[1].EventId), 1},
		{types.LookupAttributeKeyEventSource, "cloudtrail.amazonaws.com", 4},
		{types.LookupAttributeKeyEventSource, "s3.amazonaws.com", 1},
		{types.LookupAttributeKeyUsername, "root", 5},
		{types.LookupAttributeKeyAccessKeyId, creds.AccessKeyID, 5},
		{types.LookupAttributeKeyReadOnly, "false", 4},
		{types.LookupAttributeKeyResourceType, "AWS::CloudTrail::Trail", 2},
		{types.LookupAttributeKeyResourceName, trailARN, 2},
		{types.LookupAttributeKeyResourceName, "audit-logs", 1},
	} {
		if got := lookup(t, ct, c.key, c.value); len(got) < c.min {
			t.Errorf("LookupEvents(%s=%s) = %d events; want at least %d", c.key, c.value, len(got), c.min)
		}
	}
	if got := lookup(t, ct, types.LookupAttributeKeyEventName, "DeleteTrail"); len(got) != 0 {
		t.Errorf("LookupEvents(EventName=DeleteTrail) = %d events; want 0", len(got))
	}

	// Pagination: one event a page, newest first, no repeats.
	seen := map[string]bool{}
	var token *string
	var times []time.Time
	for pages := 0; ; pages++ {
		out, err := ct.LookupEvents(ctx, &cloudtrail.LookupEventsInput{MaxResults: aws.Int32(1), NextToken: token})
		if err != nil {
			t.Fatalf("LookupEvents page %d: %v", pages, err)
		}
		for _, ev := range out.Events {
			if seen[aws.ToString(ev.EventId)] {
				t.Fatalf("event %s seen twice", aws.ToString(ev.EventId))
			}
			seen[aws.ToString(ev.EventId)] = true
			times = append(times, aws.ToTime(ev.EventTime))
		}
		if out.NextToken == nil {
			break
		}
		token = out.NextToken
	}
	if len(seen) < 5 {
		t.Errorf("paged LookupEvents = %d events; want at least 5", len(seen))
	}
	for i := 1; i < len(times); i++ {
		if times[i].After(times[i-1]) {
			t.Errorf("event %d is newer than event %d: not newest first", i, i-1)
		}
	}

	_, err = ct.LookupEvents(ctx, &cloudtrail.LookupEventsInput{LookupAttributes: []types.LookupAttribute{
		{AttributeKey: types.LookupAttributeKeyEventName, AttributeValue: aws.String("a")},
		{AttributeKey: types.LookupAttributeKeyUsername, AttributeValue: aws.String("b")}}})
	testenv.WantCode(t, "LookupEvents with two attributes", err, "InvalidLookupAttributesException")
	_, err = ct.LookupEvents(ctx, &cloudtrail.LookupEventsInput{StartTime: aws.Time(time.Now()), EndTime: aws.Time(time.Now().Add(-time.Hour))})
	testenv.WantCode(t, "LookupEvents with start after end", err, "InvalidTimeRangeException")
	_, err = ct.LookupEvents(ctx, &cloudtrail.LookupEventsInput{MaxResults: aws.Int32(51)})
	testenv.WantCode(t, "LookupEvents MaxResults 51", err, "ValidationException") // the model bounds it before the handler
	_, err = ct.LookupEvents(ctx, &cloudtrail.LookupEventsInput{NextToken: aws.String("garbage")})
	testenv.WantCode(t, "LookupEvents with a bad token", err, "InvalidNextTokenException")
	old, err := ct.LookupEvents(ctx, &cloudtrail.LookupEventsInput{EndTime: aws.Time(time.Now().Add(-time.Hour))})
	if err != nil || len(old.Events) != 0 {
		t.Errorf("LookupEvents ending an hour ago = %d events, %v; want 0", len(old.Events), err)
	}
}

func TestTrailRules(t *testing.T) {
	e := testenv.New(t)
	ctx := context.Background()
	ct := e.CloudTrail()
	west := e.Config.Copy()
	west.Region = "us-west-2"
	ctWest := cloudtrail.NewFromConfig(west)
	mkBucket(t, e, "audit-logs")
	if _, err := ct.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("single"), S3BucketName: aws.String("audit-logs")}); err != nil {
		t.Fatal(err)
	}
	// The same name in another region is fine while both are single-region...
	if _, err := ctWest.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("single"), S3BucketName: aws.String("audit-logs")}); err != nil {
		t.Fatalf("CreateTrail(single) in us-west-2: %v", err)
	}
	// ...but neither may then become multi-region.
	_, err := ctWest.UpdateTrail(ctx, &cloudtrail.UpdateTrailInput{Name: aws.String("single"), IsMultiRegionTrail: aws.Bool(true)})
	testenv.WantCode(t, "UpdateTrail to multi-region over a same-named trail", err, "TrailAlreadyExistsException")
	_, err = ct.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("everywhere"), S3BucketName: aws.String("audit-logs"),
		IsMultiRegionTrail: aws.Bool(true), IncludeGlobalServiceEvents: aws.Bool(false)})
	testenv.WantCode(t, "multi-region trail without global events", err, "InvalidParameterCombinationException")
	// The topic a trail notifies must exist.
	for _, topic := range []string{"alerts", "arn:aws:sns:us-east-1:" + e.Account + ":alerts"} {
		_, err = ct.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("everywhere"), S3BucketName: aws.String("audit-logs"),
			IsMultiRegionTrail: aws.Bool(true), SnsTopicName: aws.String(topic)})
		testenv.WantCode(t, "CreateTrail with a missing topic "+topic, err, "InsufficientSnsTopicPolicyException")
	}
	if _, err := sns.NewFromConfig(e.Config).CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("alerts")}); err != nil {
		t.Fatal(err)
	}
	if _, err := ct.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("everywhere"), S3BucketName: aws.String("audit-logs"),
		IsMultiRegionTrail: aws.Bool(true), SnsTopicName: aws.String("arn:aws:sns:us-east-1:" + e.Account + ":alerts")}); err != nil {
		t.Fatal(err)
	}
	g, _ := ct.GetTrail(ctx, &cloudtrail.GetTrailInput{Name: aws.String("everywhere")})
	if aws.ToString(g.Trail.SnsTopicName) != "alerts" || aws.ToString(g.Trail.SnsTopicARN) != "arn:aws:sns:us-east-1:"+e.Account+":alerts" {
		t.Errorf("SNS topic given as ARN = name %q, ARN %q", aws.ToString(g.Trail.SnsTopicName), aws.ToString(g.Trail.SnsTopicARN))
	}
	arn := aws.ToString(g.Trail.TrailARN)
	_, err = ctWest.AddTags(ctx, &cloudtrail.AddTagsInput{ResourceId: aws.String(arn), TagsList: []types.Tag{{Key: aws.String("k")}}})
	testenv.WantCode(t, "AddTags outside the home region", err, "InvalidHomeRegionException")
	if _, err := ct.AddTags(ctx, &cloudtrail.AddTagsInput{ResourceId: aws.String(arn), TagsList: []types.Tag{{Key: aws.String("k")}}}); err != nil {
		t.Fatal(err)
	}
	lt, _ := ct.ListTags(ctx, &cloudtrail.ListTagsInput{ResourceIdList: []string{arn}})
	if tags := lt.ResourceTagList[0].TagsList; len(tags) != 1 || tags[0].Value != nil {
		t.Errorf("a tag without a value = %+v; want no value", tags)
	}

	for _, c := range []struct {
		name string
		sel  types.EventSelector
		code string
	}{
		{"all S3 objects", types.EventSelector{DataResources: []types.DataResource{{Type: aws.String("AWS::S3::Object"), Values: []string{"arn:aws:s3"}}}}, ""},
		{"exclude KMS", types.EventSelector{ExcludeManagementEventSources: []string{"kms.amazonaws.com"}}, ""},
		{"exclude S3", types.EventSelector{ExcludeManagementEventSources: []string{"s3.amazonaws.com"}}, "InvalidEventSelectorsException"},
	} {
		_, err := ct.PutEventSelectors(ctx, &cloudtrail.PutEventSelectorsInput{TrailName: aws.String("everywhere"), EventSelectors: []types.EventSelector{c.sel}})
		if c.code == "" && err != nil {
			t.Errorf("PutEventSelectors(%s): %v", c.name, err)
		} else if c.code != "" {
			testenv.WantCode(t, "PutEventSelectors("+c.name+")", err, c.code)
		}
	}
	_, err = ct.PutEventSelectors(ctx, &cloudtrail.PutEventSelectorsInput{TrailName: aws.String("everywhere"),
		AdvancedEventSelectors: []types.AdvancedEventSelector{{FieldSelectors: []types.AdvancedFieldSelector{{Field: aws.String("eventCategory"), Equals: []string{"Bogus"}}}}}})
	testenv.WantCode(t, "advanced selector with eventCategory Bogus", err, "InvalidEventSelectorsException")
	_, err = ct.ListTrails(ctx, &cloudtrail.ListTrailsInput{NextToken: aws.String("not-a-token")})
	testenv.WantCode(t, "ListTrails with a bad token", err, "InvalidNextTokenException")
}

// TestTagsFollowTrailChanges tags trails by ARN (the path whose decoded trails are
// cached) while the trails change under it: an update, a delete and re-create, and a
// trail of the same name in another region.
func TestTagsFollowTrailChanges(t *testing.T) {
	e := testenv.New(t)
	ctx := context.Background()
	east := e.CloudTrail()
	west := cloudtrail.NewFromConfig(e.Config, func(o *cloudtrail.Options) { o.Region = "us-west-2" })
	mkBucket(t, e, "logs-a")
	mkBucket(t, e, "logs-b")
	mkBucket(t, e, "logs-c")
	eastARN := "arn:aws:cloudtrail:us-east-1:" + e.Account + ":trail/tagged"
	westARN := "arn:aws:cloudtrail:us-west-2:" + e.Account + ":trail/tagged"
	if _, err := east.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("tagged"), S3BucketName: aws.String("logs-a")}); err != nil {
		t.Fatalf("CreateTrail us-east-1: %v", err)
	}
	if _, err := west.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("tagged"), S3BucketName: aws.String("logs-b")}); err != nil {
		t.Fatalf("CreateTrail us-west-2: %v", err)
	}
	addTag := func(c *cloudtrail.Client, arn, k, v string) {
		t.Helper()
		if _, err := c.AddTags(ctx, &cloudtrail.AddTagsInput{ResourceId: aws.String(arn), TagsList: []types.Tag{{Key: aws.String(k), Value: aws.String(v)}}}); err != nil {
			t.Fatalf("AddTags(%s, %s): %v", arn, k, err)
		}
	}
	check := func(what string, c *cloudtrail.Client, arn, bucket, prefix string, tags map[string]string) {
		t.Helper()
		g, err := c.GetTrail(ctx, &cloudtrail.GetTrailInput{Name: aws.String(arn)})
		if err != nil {
			t.Fatalf("%s: GetTrail(%s): %v", what, arn, err)
		}
		if aws.ToString(g.Trail.S3BucketName) != bucket || aws.ToString(g.Trail.S3KeyPrefix) != prefix {
			t.Errorf("%s: trail %s bucket %q prefix %q; want %q %q", what, arn, aws.ToString(g.Trail.S3BucketName), aws.ToString(g.Trail.S3KeyPrefix), bucket, prefix)
		}
		l, err := c.ListTags(ctx, &cloudtrail.ListTagsInput{ResourceIdList: []string{arn}})
		if err != nil {
			t.Fatalf("%s: ListTags(%s): %v", what, arn, err)
		}
		got := map[string]string{}
		for _, tag := range l.ResourceTagList[0].TagsList {
			got[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
		}
		if len(got) != len(tags) {
			t.Errorf("%s: tags of %s = %v; want %v", what, arn, got, tags)
		}
		for k, v := range tags {
			if got[k] != v {
				t.Errorf("%s: tags of %s = %v; want %v", what, arn, got, tags)
				break
			}
		}
	}

	addTag(east, eastARN, "n", "1")
	addTag(east, eastARN, "n", "2")
	addTag(west, westARN, "w", "1")
	check("tagged twice", east, eastARN, "logs-a", "", map[string]string{"n": "2"})
	check("other region", west, westARN, "logs-b", "", map[string]string{"w": "1"})

	if _, err := east.UpdateTrail(ctx, &cloudtrail.UpdateTrailInput{Name: aws.String("tagged"), S3KeyPrefix: aws.String("p/")}); err != nil {
		t.Fatalf("UpdateTrail: %v", err)
	}
	addTag(east, eastARN, "after", "update")
	check("after update", east, eastARN, "logs-a", "p/", map[string]string{"n": "2", "after": "update"})

	if _, err := east.DeleteTrail(ctx, &cloudtrail.DeleteTrailInput{Name: aws.String(eastARN)}); err != nil {
		t.Fatalf("DeleteTrail: %v", err)
	}
	_, err := east.AddTags(ctx, &cloudtrail.AddTagsInput{ResourceId: aws.String(eastARN), TagsList: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
	testenv.WantCode(t, "AddTags on a deleted trail", err, "ResourceNotFoundException")
	if _, err := east.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("tagged"), S3BucketName: aws.String("logs-c")}); err != nil {
		t.Fatalf("CreateTrail again: %v", err)
	}
	addTag(east, eastARN, "new", "1")
	check("re-created", east, eastARN, "logs-c", "", map[string]string{"new": "1"})
	check("other region untouched", west, westARN, "logs-b", "", map[string]string{"w": "1"})

	// Another account's ARN is not found, whatever is cached for this one.
	_, err = east.AddTags(ctx, &cloudtrail.AddTagsInput{ResourceId: aws.String("arn:aws:cloudtrail:us-east-1:999999999999:trail/tagged"),
		TagsList: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
	testenv.WantCode(t, "AddTags on another account's trail", err, "ResourceNotFoundException")
}
