package logs_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/bannin/bannin/internal/logs"
	"github.com/bannin/bannin/internal/store"
	"github.com/bannin/bannin/internal/testenv"
	wirelogs "github.com/bannin/bannin/internal/wire/logs"
)

func setup(t *testing.T) (*testenv.Env, *cloudwatchlogs.Client) {
	e := testenv.New(t)
	return e, cloudwatchlogs.NewFromConfig(e.Config)
}

func mkGroup(t *testing.T, cw *cloudwatchlogs.Client, group string, streams ...string) {
	t.Helper()
	ctx := context.Background()
	if _, err := cw.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(group)}); err != nil {
		t.Fatalf("CreateLogGroup(%s): %v", group, err)
	}
	for _, s := range streams {
		if _, err := cw.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String(group), LogStreamName: aws.String(s)}); err != nil {
			t.Fatalf("CreateLogStream(%s): %v", s, err)
		}
	}
}

func put(t *testing.T, cw *cloudwatchlogs.Client, group, stream string, evs ...types.InputLogEvent) *cloudwatchlogs.PutLogEventsOutput {
	t.Helper()
	out, err := cw.PutLogEvents(context.Background(), &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String(group),
		LogStreamName: aws.String(stream), LogEvents: evs})
	if err != nil {
		t.Fatalf("PutLogEvents: %v", err)
	}
	return out
}

func ev(ts int64, msg string) types.InputLogEvent {
	return types.InputLogEvent{Timestamp: aws.Int64(ts), Message: aws.String(msg)}
}

func messages[E any](evs []E, msg func(E) *string) []string {
	out := []string{}
	for _, e := range evs {
		out = append(out, aws.ToString(msg(e)))
	}
	return out
}

func getMsgs(evs []types.OutputLogEvent) []string {
	return messages(evs, func(e types.OutputLogEvent) *string { return e.Message })
}

func filterMsgs(evs []types.FilteredLogEvent) []string {
	return messages(evs, func(e types.FilteredLogEvent) *string { return e.Message })
}

func TestGroupsAndStreams(t *testing.T) {
	e, cw := setup(t)
	ctx := context.Background()
	mkGroup(t, cw, "/aws/cloudtrail/main", "s1", "s2")
	mkGroup(t, cw, "/aws/lambda/fn")
	mkGroup(t, cw, "app")

	_, err := cw.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("app")})
	testenv.WantCode(t, "CreateLogGroup twice", err, "ResourceAlreadyExistsException")
	_, err = cw.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String("/aws/cloudtrail/main"), LogStreamName: aws.String("s1")})
	testenv.WantCode(t, "CreateLogStream twice", err, "ResourceAlreadyExistsException")
	_, err = cw.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String("nope"), LogStreamName: aws.String("s1")})
	testenv.WantCode(t, "CreateLogStream in missing group", err, "ResourceNotFoundException")

	out, err := cw.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("/aws/")})
	if err != nil {
		t.Fatalf("DescribeLogGroups: %v", err)
	}
	if len(out.LogGroups) != 2 || *out.LogGroups[0].LogGroupName != "/aws/cloudtrail/main" || *out.LogGroups[1].LogGroupName != "/aws/lambda/fn" {
		t.Fatalf("DescribeLogGroups prefix = %+v", out.LogGroups)
	}
	g := out.LogGroups[0]
	wantARN := "arn:aws:logs:us-east-1:" + e.Account + ":log-group:/aws/cloudtrail/main"
	if aws.ToString(g.Arn) != wantARN+":*" || aws.ToString(g.LogGroupArn) != wantARN || g.CreationTime == nil || g.RetentionInDays != nil {
		t.Fatalf("log group = %+v", g)
	}
	out, err = cw.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePattern: aws.String("LAMBDA")})
	if err != nil || len(out.LogGroups) != 1 || *out.LogGroups[0].LogGroupName != "/aws/lambda/fn" {
		t.Fatalf("DescribeLogGroups pattern = %+v, %v", out, err)
	}
	// Pagination, one group per page.
	var names []string
	p := cloudwatchlogs.NewDescribeLogGroupsPaginator(cw, &cloudwatchlogs.DescribeLogGroupsInput{Limit: aws.Int32(1)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("DescribeLogGroups page: %v", err)
		}
		for _, g := range page.LogGroups {
			names = append(names, *g.LogGroupName)
		}
	}
	if want := []string{"/aws/cloudtrail/main", "/aws/lambda/fn", "app"}; !reflect.DeepEqual(names, want) {
		t.Fatalf("paged groups = %q; want %q", names, want)
	}

	// Streams ordered by last event time, descending.
	now := time.Now().UnixMilli()
	put(t, cw, "/aws/cloudtrail/main", "s1", ev(now-2000, "a"))
	put(t, cw, "/aws/cloudtrail/main", "s2", ev(now-1000, "b"))
	ds, err := cw.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String("/aws/cloudtrail/main"),
		OrderBy: types.OrderByLastEventTime, Descending: aws.Bool(true)})
	if err != nil {
		t.Fatalf("DescribeLogStreams: %v", err)
	}
	if len(ds.LogStreams) != 2 || *ds.LogStreams[0].LogStreamName != "s2" || aws.ToInt64(ds.LogStreams[0].LastEventTimestamp) != now-1000 ||
		aws.ToInt64(ds.LogStreams[1].StoredBytes) != 1 {
		t.Fatalf("DescribeLogStreams = %+v", ds.LogStreams)
	}
	_, err = cw.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String("/aws/cloudtrail/main"),
		OrderBy: types.OrderByLastEventTime, LogStreamNamePrefix: aws.String("s")})
	testenv.WantCode(t, "DescribeLogStreams LastEventTime with prefix", err, "InvalidParameterException")
	ds, err = cw.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String("/aws/cloudtrail/main"), Limit: aws.Int32(1)})
	if err != nil || len(ds.LogStreams) != 1 || *ds.LogStreams[0].LogStreamName != "s1" || ds.NextToken == nil {
		t.Fatalf("DescribeLogStreams page 1 = %+v, %v", ds, err)
	}
	ds, err = cw.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String("/aws/cloudtrail/main"), Limit: aws.Int32(1), NextToken: ds.NextToken})
	if err != nil || len(ds.LogStreams) != 1 || *ds.LogStreams[0].LogStreamName != "s2" || ds.NextToken != nil {
		t.Fatalf("DescribeLogStreams page 2 = %+v, %v", ds, err)
	}

	// Deletion protection.
	if _, err := cw.PutLogGroupDeletionProtection(ctx, &cloudwatchlogs.PutLogGroupDeletionProtectionInput{LogGroupIdentifier: aws.String("app"),
		DeletionProtectionEnabled: aws.Bool(true)}); err != nil {
		t.Fatalf("PutLogGroupDeletionProtection: %v", err)
	}
	_, err = cw.DeleteLogGroup(ctx, &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: aws.String("app")})
	testenv.WantCode(t, "DeleteLogGroup protected", err, "ValidationException")
	if _, err := cw.PutLogGroupDeletionProtection(ctx, &cloudwatchlogs.PutLogGroupDeletionProtectionInput{LogGroupIdentifier: aws.String("app"),
		DeletionProtectionEnabled: aws.Bool(false)}); err != nil {
		t.Fatalf("PutLogGroupDeletionProtection off: %v", err)
	}
	if _, err := cw.DeleteLogGroup(ctx, &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: aws.String("app")}); err != nil {
		t.Fatalf("DeleteLogGroup unprotected: %v", err)
	}

	// Deleting a stream deletes its events; deleting a group deletes its streams.
	if _, err := cw.DeleteLogStream(ctx, &cloudwatchlogs.DeleteLogStreamInput{LogGroupName: aws.String("/aws/cloudtrail/main"), LogStreamName: aws.String("s1")}); err != nil {
		t.Fatalf("DeleteLogStream: %v", err)
	}
	_, err = cw.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("/aws/cloudtrail/main"), LogStreamName: aws.String("s1")})
	testenv.WantCode(t, "GetLogEvents on deleted stream", err, "ResourceNotFoundException")
	if _, err := cw.DeleteLogGroup(ctx, &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: aws.String("/aws/cloudtrail/main")}); err != nil {
		t.Fatalf("DeleteLogGroup: %v", err)
	}
	_, err = cw.DeleteLogGroup(ctx, &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: aws.String("/aws/cloudtrail/main")})
	testenv.WantCode(t, "DeleteLogGroup twice", err, "ResourceNotFoundException")
	mkGroup(t, cw, "/aws/cloudtrail/main")
	ds, err = cw.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String("/aws/cloudtrail/main")})
	if err != nil || len(ds.LogStreams) != 0 {
		t.Fatalf("streams of re-created group = %+v, %v", ds, err)
	}
}

func TestPutAndGetLogEvents(t *testing.T) {
	_, cw := setup(t)
	ctx := context.Background()
	mkGroup(t, cw, "g", "s")
	now := time.Now().UnixMilli()

	_, err := cw.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("nope"),
		LogEvents: []types.InputLogEvent{ev(now, "x")}})
	testenv.WantCode(t, "PutLogEvents to missing stream", err, "ResourceNotFoundException")
	_, err = cw.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String("nope"), LogStreamName: aws.String("s"),
		LogEvents: []types.InputLogEvent{ev(now, "x")}})
	testenv.WantCode(t, "PutLogEvents to missing group", err, "ResourceNotFoundException")
	_, err = cw.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s"),
		LogEvents: []types.InputLogEvent{ev(now, "x"), ev(now-1, "y")}})
	testenv.WantCode(t, "PutLogEvents out of order", err, "InvalidParameterException")
	_, err = cw.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s"),
		LogEvents: []types.InputLogEvent{ev(now-25*3600*1000, "x"), ev(now, "y")}})
	testenv.WantCode(t, "PutLogEvents spanning 25 hours", err, "InvalidParameterException")
	// The span counts only the events not refused: a 15-day-old event does not make it.
	out0 := put(t, cw, "g", "s", ev(now-15*24*3600*1000, "refused"), ev(now-10, "kept"))
	if r := out0.RejectedLogEventsInfo; r == nil || aws.ToInt32(r.TooOldLogEventEndIndex) != 1 {
		t.Fatalf("rejected = %+v", r)
	}
	// 1,048,576 bytes counting 26 per event: two events of 524,262 bytes fit, one byte more does not.
	big := strings.Repeat("x", 1048576/2-26)
	put(t, cw, "g", "s", ev(now-10, big), ev(now-10, big))
	_, err = cw.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s"),
		LogEvents: []types.InputLogEvent{ev(now, big), ev(now, big+"x")}})
	testenv.WantCode(t, "PutLogEvents over 1 MiB", err, "InvalidParameterException")
	if _, err := cw.DeleteLogStream(ctx, &cloudwatchlogs.DeleteLogStreamInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s")}); err != nil {
		t.Fatal(err)
	}
	mkGroupStream(t, cw, "g", "s")

	// Too old, too new: rejected, the rest stored.
	day := int64(24 * 3600 * 1000)
	hour := int64(3600 * 1000)
	out := put(t, cw, "g", "s", ev(now-14*day-hour, "old"), ev(now-14*day-hour/2, "old2"), ev(now-14*day+hour, "ok-old"))
	if r := out.RejectedLogEventsInfo; r == nil || aws.ToInt32(r.TooOldLogEventEndIndex) != 2 || r.TooNewLogEventStartIndex != nil {
		t.Fatalf("rejected = %+v", r)
	}
	out = put(t, cw, "g", "s", ev(now, "e1"), ev(now+1, "e2"), ev(now+3*3600*1000, "future"))
	if r := out.RejectedLogEventsInfo; r == nil || aws.ToInt32(r.TooNewLogEventStartIndex) != 2 || r.TooOldLogEventEndIndex != nil {
		t.Fatalf("rejected = %+v", r)
	}
	put(t, cw, "g", "s", ev(now+2, "e3"), ev(now+2, "e4"))

	get := func(in *cloudwatchlogs.GetLogEventsInput) *cloudwatchlogs.GetLogEventsOutput {
		t.Helper()
		in.LogGroupName, in.LogStreamName = aws.String("g"), aws.String("s")
		out, err := cw.GetLogEvents(ctx, in)
		if err != nil {
			t.Fatalf("GetLogEvents: %v", err)
		}
		return out
	}
	all := get(&cloudwatchlogs.GetLogEventsInput{StartFromHead: aws.Bool(true)})
	if got, want := getMsgs(all.Events), []string{"ok-old", "e1", "e2", "e3", "e4"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("all events = %q; want %q", got, want)
	}
	if aws.ToInt64(all.Events[1].IngestionTime) < now-60000 {
		t.Fatalf("ingestion time = %d", aws.ToInt64(all.Events[1].IngestionTime))
	}
	// Tail (default): the newest two; then backward and forward.
	tail := get(&cloudwatchlogs.GetLogEventsInput{Limit: aws.Int32(2)})
	if got := getMsgs(tail.Events); !reflect.DeepEqual(got, []string{"e3", "e4"}) {
		t.Fatalf("tail = %q", got)
	}
	back := get(&cloudwatchlogs.GetLogEventsInput{Limit: aws.Int32(2), NextToken: tail.NextBackwardToken})
	if got := getMsgs(back.Events); !reflect.DeepEqual(got, []string{"e1", "e2"}) {
		t.Fatalf("backward = %q", got)
	}
	fwd := get(&cloudwatchlogs.GetLogEventsInput{Limit: aws.Int32(2), NextToken: back.NextForwardToken})
	if got := getMsgs(fwd.Events); !reflect.DeepEqual(got, []string{"e3", "e4"}) {
		t.Fatalf("forward = %q", got)
	}
	end := get(&cloudwatchlogs.GetLogEventsInput{NextToken: fwd.NextForwardToken})
	if len(end.Events) != 0 || aws.ToString(end.NextForwardToken) != aws.ToString(fwd.NextForwardToken) {
		t.Fatalf("past the end = %+v", end)
	}
	put(t, cw, "g", "s", ev(now+5, "e5"))
	if got := getMsgs(get(&cloudwatchlogs.GetLogEventsInput{NextToken: fwd.NextForwardToken}).Events); !reflect.DeepEqual(got, []string{"e5"}) {
		t.Fatalf("new events after the forward token = %q", got)
	}
	// The tail reaches back across days.
	if got := getMsgs(get(&cloudwatchlogs.GetLogEventsInput{}).Events); !reflect.DeepEqual(got, []string{"ok-old", "e1", "e2", "e3", "e4", "e5"}) {
		t.Fatalf("whole tail = %q", got)
	}
	// Time range: startTime inclusive, endTime exclusive.
	rng := get(&cloudwatchlogs.GetLogEventsInput{StartFromHead: aws.Bool(true), StartTime: aws.Int64(now + 1), EndTime: aws.Int64(now + 5)})
	if got := getMsgs(rng.Events); !reflect.DeepEqual(got, []string{"e2", "e3", "e4"}) {
		t.Fatalf("range = %q", got)
	}
	_, err = cw.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s"), NextToken: aws.String("garbage")})
	testenv.WantCode(t, "GetLogEvents bad token", err, "InvalidParameterException")
}

func TestPageBytes(t *testing.T) {
	_, cw := setup(t)
	ctx := context.Background()
	mkGroup(t, cw, "big", "s")
	now := time.Now().UnixMilli()
	chunk := strings.Repeat("y", 400*1024)
	put(t, cw, "big", "s", ev(now, "1"+chunk), ev(now+1, "2"+chunk))
	put(t, cw, "big", "s", ev(now+2, "3"+chunk))
	first := func(ss []string) string {
		out := ""
		for _, s := range ss {
			out += s[:1]
		}
		return out
	}
	g, err := cw.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("big"), LogStreamName: aws.String("s"), StartFromHead: aws.Bool(true)})
	if err != nil || first(getMsgs(g.Events)) != "12" {
		t.Fatalf("GetLogEvents head page = %q, %v", first(getMsgs(g.Events)), err)
	}
	g, err = cw.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("big"), LogStreamName: aws.String("s"), NextToken: g.NextForwardToken})
	if err != nil || first(getMsgs(g.Events)) != "3" {
		t.Fatalf("GetLogEvents next page = %q, %v", first(getMsgs(g.Events)), err)
	}
	g, err = cw.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("big"), LogStreamName: aws.String("s")})
	if err != nil || first(getMsgs(g.Events)) != "23" {
		t.Fatalf("GetLogEvents tail page = %q, %v", first(getMsgs(g.Events)), err)
	}
	f, err := cw.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("big")})
	if err != nil || first(filterMsgs(f.Events)) != "12" || f.NextToken == nil {
		t.Fatalf("FilterLogEvents page = %q, %v", first(filterMsgs(f.Events)), err)
	}
	f, err = cw.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("big"), NextToken: f.NextToken})
	if err != nil || first(filterMsgs(f.Events)) != "3" || f.NextToken != nil {
		t.Fatalf("FilterLogEvents next page = %q, %v", first(filterMsgs(f.Events)), err)
	}
}

func TestPutNotice(t *testing.T) {
	e, cw := setup(t)
	ctx := context.Background()
	mkGroup(t, cw, "n", "s")
	now := time.Now().UnixMilli()
	put(t, cw, "n", "s", ev(now-10, "between"))
	put(t, cw, "n", "s", ev(now-20, "first"), ev(now, "second"), ev(now+3*3600*1000, "too new"))
	var got [][]string
	err := e.Server.Storage().View(ctx, func(tx store.ReadTx) error {
		entries, err := tx.ReadStream(ctx, 0, 10000)
		if err != nil {
			return err
		}
		for _, en := range entries {
			if en.Kind != logs.KindPut {
				continue
			}
			var n logs.PutNotice
			if err := json.Unmarshal(en.Payload, &n); err != nil {
				return err
			}
			if n.Group != "n" || n.Stream != "s" || n.Account != e.Account {
				return fmt.Errorf("notice = %+v", n)
			}
			evs, err := logs.NoticeEvents(ctx, tx, n)
			if err != nil {
				return err
			}
			var msgs []string
			for _, ev := range evs {
				msgs = append(msgs, ev.Message)
			}
			got = append(got, msgs)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := [][]string{{"between"}, {"first", "second"}}; !reflect.DeepEqual(got, want) {
		t.Fatalf("notices = %q; want %q", got, want)
	}
}

func TestAppend(t *testing.T) {
	e, cw := setup(t)
	ctx := context.Background()
	mkGroup(t, cw, "delivery")
	now := time.Now()
	nowMs := now.UnixMilli()
	var n int
	err := e.Server.Storage().Update(ctx, func(tx store.Tx) error {
		var err error
		n, err = logs.Append(ctx, tx, e.Account, e.Region, "delivery", e.Account+"_CloudTrail_us-east-1", now, []logs.InputEvent{
			{Timestamp: nowMs, Message: "second"}, {Timestamp: nowMs - 1000, Message: "first"},
			{Timestamp: nowMs - 15*24*3600*1000, Message: "too old"}})
		return err
	})
	if err != nil || n != 2 {
		t.Fatalf("Append = %d, %v; want 2", n, err)
	}
	out, err := cw.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("delivery"),
		LogStreamName: aws.String(e.Account + "_CloudTrail_us-east-1"), StartFromHead: aws.Bool(true)})
	if err != nil || !reflect.DeepEqual(getMsgs(out.Events), []string{"first", "second"}) {
		t.Fatalf("GetLogEvents after Append = %+v, %v", out, err)
	}
	err = e.Server.Storage().Update(ctx, func(tx store.Tx) error {
		_, err := logs.Append(ctx, tx, e.Account, e.Region, "missing", "s", now, []logs.InputEvent{{Timestamp: nowMs, Message: "x"}})
		return err
	})
	if !errors.Is(err, logs.ErrNoGroup) {
		t.Fatalf("Append to a missing group = %v; want ErrNoGroup", err)
	}
}

func mkGroupStream(t *testing.T, cw *cloudwatchlogs.Client, group, stream string) {
	t.Helper()
	if _, err := cw.CreateLogStream(context.Background(), &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String(group), LogStreamName: aws.String(stream)}); err != nil {
		t.Fatalf("CreateLogStream: %v", err)
	}
}

// ctRecord is a CloudTrail-shaped log message.
func ctRecord(name, user string) string {
	b, _ := json.Marshal(map[string]any{"eventVersion": "1.08", "eventSource": "cloudtrail.amazonaws.com", "eventName": name,
		"userIdentity": map[string]any{"type": "IAMUser", "userName": user}, "requestParameters": map[string]any{"name": "main"}})
	return string(b)
}

func TestFilterLogEvents(t *testing.T) {
	_, cw := setup(t)
	ctx := context.Background()
	mkGroup(t, cw, "CloudTrail/logs", "acct_us-east-1", "acct_eu-west-1", "other")
	now := time.Now().UnixMilli()
	put(t, cw, "CloudTrail/logs", "acct_us-east-1", ev(now-50, ctRecord("StopLogging", "mallory")), ev(now-30, ctRecord("DescribeTrails", "alice")),
		ev(now-10, ctRecord("PutBucketPolicy", "bob")))
	put(t, cw, "CloudTrail/logs", "acct_eu-west-1", ev(now-40, ctRecord("PutBucketPolicy", "carol")), ev(now-20, ctRecord("GetObject", "dave")))
	put(t, cw, "CloudTrail/logs", "other", ev(now-45, "plain ERROR text"), ev(now-5, ctRecord("StopLogging", "eve")))

	filter := func(in *cloudwatchlogs.FilterLogEventsInput) *cloudwatchlogs.FilterLogEventsOutput {
		t.Helper()
		in.LogGroupName = aws.String("CloudTrail/logs")
		out, err := cw.FilterLogEvents(ctx, in)
		if err != nil {
			t.Fatalf("FilterLogEvents: %v", err)
		}
		return out
	}
	pat := `{ ($.eventName = "StopLogging") || ($.eventName = "PutBucketPolicy") }`
	out := filter(&cloudwatchlogs.FilterLogEventsInput{FilterPattern: aws.String(pat)})
	var got []string
	for _, e := range out.Events {
		var rec struct {
			EventName    string
			UserIdentity struct{ UserName string }
		}
		if err := json.Unmarshal([]byte(aws.ToString(e.Message)), &rec); err != nil {
			t.Fatalf("message %q: %v", aws.ToString(e.Message), err)
		}
		got = append(got, fmt.Sprintf("%s/%s/%s", aws.ToString(e.LogStreamName), rec.EventName, rec.UserIdentity.UserName))
		if aws.ToString(e.EventId) == "" {
			t.Fatalf("event without eventId: %+v", e)
		}
	}
	want := []string{"acct_us-east-1/StopLogging/mallory", "acct_eu-west-1/PutBucketPolicy/carol",
		"acct_us-east-1/PutBucketPolicy/bob", "other/StopLogging/eve"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("filtered = %q; want %q", got, want)
	}
	// Stream prefix and time range (both ends inclusive).
	out = filter(&cloudwatchlogs.FilterLogEventsInput{FilterPattern: aws.String(pat), LogStreamNamePrefix: aws.String("acct_"),
		StartTime: aws.Int64(now - 40), EndTime: aws.Int64(now - 10)})
	if len(out.Events) != 2 || *out.Events[0].LogStreamName != "acct_eu-west-1" || *out.Events[1].Timestamp != now-10 {
		t.Fatalf("prefix+range = %q", filterMsgs(out.Events))
	}
	out = filter(&cloudwatchlogs.FilterLogEventsInput{FilterPattern: aws.String("ERROR"), LogStreamNames: []string{"other", "acct_us-east-1"}})
	if got := filterMsgs(out.Events); !reflect.DeepEqual(got, []string{"plain ERROR text"}) {
		t.Fatalf("terms = %q", got)
	}
	// Pagination: two at a time over all seven events.
	var pages [][]string
	var tok *string
	for {
		out = filter(&cloudwatchlogs.FilterLogEventsInput{Limit: aws.Int32(2), NextToken: tok})
		pages = append(pages, filterMsgs(out.Events))
		if tok = out.NextToken; tok == nil {
			break
		}
	}
	if len(pages) != 4 || len(pages[3]) != 1 || pages[0][1] != "plain ERROR text" {
		t.Fatalf("pages = %q", pages)
	}

	// Equal timestamps across streams: by stream, then arrival, across page boundaries.
	mkGroup(t, cw, "ties", "b", "a", "c")
	put(t, cw, "ties", "b", ev(now, "b1"), ev(now, "b2"))
	put(t, cw, "ties", "a", ev(now-1, "a0"), ev(now, "a1"), ev(now, "a2"))
	put(t, cw, "ties", "c", ev(now, "c1"), ev(now+1, "c2"))
	var seen []string
	tok = nil
	for {
		out, err := cw.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("ties"), Limit: aws.Int32(2), NextToken: tok})
		if err != nil {
			t.Fatalf("FilterLogEvents ties: %v", err)
		}
		seen = append(seen, filterMsgs(out.Events)...)
		if tok = out.NextToken; tok == nil {
			break
		}
	}
	if want := []string{"a0", "a1", "a2", "b1", "b2", "c1", "c2"}; !reflect.DeepEqual(seen, want) {
		t.Fatalf("ties = %q; want %q", seen, want)
	}

	_, err := cw.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("CloudTrail/logs"), FilterPattern: aws.String(`{ $.eventName = }`)})
	testenv.WantCode(t, "FilterLogEvents bad pattern", err, "InvalidParameterException")
	_, err = cw.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("CloudTrail/logs"),
		LogStreamNames: []string{"other"}, LogStreamNamePrefix: aws.String("o")})
	testenv.WantCode(t, "FilterLogEvents names and prefix", err, "InvalidParameterException")
	_, err = cw.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("missing")})
	testenv.WantCode(t, "FilterLogEvents missing group", err, "ResourceNotFoundException")
}

func TestRetention(t *testing.T) {
	e, cw := setup(t)
	ctx := context.Background()
	mkGroup(t, cw, "r", "s")
	now := time.Now().UnixMilli()
	day := int64(24 * 3600 * 1000)
	put(t, cw, "r", "s", ev(now-3*day, "three days"), ev(now-3*day+1, "three days too"))
	put(t, cw, "r", "s", ev(now, "today"))

	_, err := cw.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String("r"), RetentionInDays: aws.Int32(2)})
	testenv.WantCode(t, "PutRetentionPolicy 2 days", err, "InvalidParameterException")
	_, err = cw.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String("nope"), RetentionInDays: aws.Int32(1)})
	testenv.WantCode(t, "PutRetentionPolicy missing group", err, "ResourceNotFoundException")
	if _, err := cw.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String("r"), RetentionInDays: aws.Int32(1)}); err != nil {
		t.Fatalf("PutRetentionPolicy: %v", err)
	}
	gs, err := cw.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("r")})
	if err != nil || aws.ToInt32(gs.LogGroups[0].RetentionInDays) != 1 {
		t.Fatalf("DescribeLogGroups = %+v, %v", gs, err)
	}
	out, err := cw.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("r"), LogStreamName: aws.String("s"), StartFromHead: aws.Bool(true)})
	if err != nil || !reflect.DeepEqual(getMsgs(out.Events), []string{"today"}) {
		t.Fatalf("GetLogEvents under retention = %+v, %v", out, err)
	}
	// Events older than the retention period are now refused as expired.
	pr := put(t, cw, "r", "s", ev(now-day-60000, "expired"), ev(now-day/2, "fresh"))
	if r := pr.RejectedLogEventsInfo; r == nil || aws.ToInt32(r.ExpiredLogEventEndIndex) != 1 || r.TooOldLogEventEndIndex != nil {
		t.Fatalf("rejected = %+v", r)
	}

	// Purge deletes them for good: after the policy is removed they stay gone.
	var n int
	err = e.Server.Storage().Update(ctx, func(tx store.Tx) error {
		var err error
		n, err = logs.New(logs.Options{}).PurgeTx(ctx, tx, e.Account, e.Region, time.Now())
		return err
	})
	if err != nil || n != 2 {
		t.Fatalf("Purge = %d, %v; want 2", n, err)
	}
	ds, err := cw.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String("r")})
	if err != nil || aws.ToInt64(ds.LogStreams[0].StoredBytes) != int64(len("today")+len("fresh")) ||
		aws.ToInt64(ds.LogStreams[0].FirstEventTimestamp) != now-day/2 {
		t.Fatalf("stream after purge = %+v, %v", ds, err)
	}
	if _, err := cw.DeleteRetentionPolicy(ctx, &cloudwatchlogs.DeleteRetentionPolicyInput{LogGroupName: aws.String("r")}); err != nil {
		t.Fatalf("DeleteRetentionPolicy: %v", err)
	}
	fl, err := cw.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("r")})
	if err != nil || !reflect.DeepEqual(filterMsgs(fl.Events), []string{"fresh", "today"}) {
		t.Fatalf("FilterLogEvents after purge = %q, %v", filterMsgs(fl.Events), err)
	}
}

func TestTags(t *testing.T) {
	e, cw := setup(t)
	ctx := context.Background()
	if _, err := cw.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("t"), Tags: map[string]string{"team": "sec"}}); err != nil {
		t.Fatal(err)
	}
	arn := "arn:aws:logs:us-east-1:" + e.Account + ":log-group:t"
	if _, err := cw.TagResource(ctx, &cloudwatchlogs.TagResourceInput{ResourceArn: aws.String(arn), Tags: map[string]string{"env": "prod"}}); err != nil {
		t.Fatalf("TagResource: %v", err)
	}
	if _, err := cw.UntagResource(ctx, &cloudwatchlogs.UntagResourceInput{ResourceArn: aws.String(arn), TagKeys: []string{"team"}}); err != nil {
		t.Fatalf("UntagResource: %v", err)
	}
	lt, err := cw.ListTagsForResource(ctx, &cloudwatchlogs.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
	if err != nil || !reflect.DeepEqual(lt.Tags, map[string]string{"env": "prod"}) {
		t.Fatalf("ListTagsForResource = %+v, %v", lt, err)
	}
	if _, err := cw.TagLogGroup(ctx, &cloudwatchlogs.TagLogGroupInput{LogGroupName: aws.String("t"), Tags: map[string]string{"a": "b"}}); err != nil {
		t.Fatalf("TagLogGroup: %v", err)
	}
	ltg, err := cw.ListTagsLogGroup(ctx, &cloudwatchlogs.ListTagsLogGroupInput{LogGroupName: aws.String("t")})
	if err != nil || !reflect.DeepEqual(ltg.Tags, map[string]string{"env": "prod", "a": "b"}) {
		t.Fatalf("ListTagsLogGroup = %+v, %v", ltg, err)
	}
	_, err = cw.TagResource(ctx, &cloudwatchlogs.TagResourceInput{ResourceArn: aws.String(arn + "x"), Tags: map[string]string{"a": "b"}})
	testenv.WantCode(t, "TagResource missing group", err, "ResourceNotFoundException")
	_, err = cw.TagResource(ctx, &cloudwatchlogs.TagResourceInput{ResourceArn: aws.String("not-an-arn"), Tags: map[string]string{"a": "b"}})
	testenv.WantCode(t, "TagResource bad arn", err, "InvalidParameterException")
	many := map[string]string{}
	for i := 0; i < 49; i++ {
		many[fmt.Sprintf("k%d", i)] = "v"
	}
	_, err = cw.TagResource(ctx, &cloudwatchlogs.TagResourceInput{ResourceArn: aws.String(arn), Tags: many})
	testenv.WantCode(t, "TagResource over 50 tags", err, "TooManyTagsException")
}

func TestMetricFilters(t *testing.T) {
	_, cw := setup(t)
	ctx := context.Background()
	mkGroup(t, cw, "ct")
	mf := func(name, pattern, metric string) error {
		_, err := cw.PutMetricFilter(ctx, &cloudwatchlogs.PutMetricFilterInput{LogGroupName: aws.String("ct"), FilterName: aws.String(name),
			FilterPattern: aws.String(pattern), MetricTransformations: []types.MetricTransformation{{MetricName: aws.String(metric),
				MetricNamespace: aws.String("CloudTrailMetrics"), MetricValue: aws.String("1")}}})
		return err
	}
	if err := mf("stop-logging", `{ $.eventName = "StopLogging" }`, "StopLoggingCount"); err != nil {
		t.Fatalf("PutMetricFilter: %v", err)
	}
	if err := mf("root", `{ $.userIdentity.type = "Root" }`, "RootCount"); err != nil {
		t.Fatalf("PutMetricFilter: %v", err)
	}
	testenv.WantCode(t, "PutMetricFilter bad pattern", mf("bad", `{ $.eventName = `, "X"), "InvalidParameterException")
	_, err := cw.PutMetricFilter(ctx, &cloudwatchlogs.PutMetricFilterInput{LogGroupName: aws.String("nope"), FilterName: aws.String("f"),
		FilterPattern: aws.String("ERROR"), MetricTransformations: []types.MetricTransformation{{MetricName: aws.String("m"),
			MetricNamespace: aws.String("n"), MetricValue: aws.String("1")}}})
	testenv.WantCode(t, "PutMetricFilter missing group", err, "ResourceNotFoundException")

	_, err = cw.PutMetricFilter(ctx, &cloudwatchlogs.PutMetricFilterInput{LogGroupName: aws.String("ct"), FilterName: aws.String("f"),
		FilterPattern: aws.String("[ip, user, bytes]"), MetricTransformations: []types.MetricTransformation{{MetricName: aws.String("m"),
			MetricNamespace: aws.String("n"), MetricValue: aws.String("$size")}}})
	testenv.WantCode(t, "PutMetricFilter unnamed field", err, "InvalidParameterException")

	out, err := cw.DescribeMetricFilters(ctx, &cloudwatchlogs.DescribeMetricFiltersInput{LogGroupName: aws.String("ct")})
	if err != nil || len(out.MetricFilters) != 2 || *out.MetricFilters[0].FilterName != "root" ||
		*out.MetricFilters[1].FilterPattern != `{ $.eventName = "StopLogging" }` || *out.MetricFilters[1].MetricTransformations[0].MetricName != "StopLoggingCount" {
		t.Fatalf("DescribeMetricFilters = %+v, %v", out, err)
	}
	out, err = cw.DescribeMetricFilters(ctx, &cloudwatchlogs.DescribeMetricFiltersInput{MetricName: aws.String("RootCount"), MetricNamespace: aws.String("CloudTrailMetrics")})
	if err != nil || len(out.MetricFilters) != 1 || *out.MetricFilters[0].FilterName != "root" {
		t.Fatalf("DescribeMetricFilters by metric = %+v, %v", out, err)
	}
	gs, err := cw.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{})
	if err != nil || aws.ToInt32(gs.LogGroups[0].MetricFilterCount) != 2 {
		t.Fatalf("metricFilterCount = %+v, %v", gs, err)
	}
	if _, err := cw.DeleteMetricFilter(ctx, &cloudwatchlogs.DeleteMetricFilterInput{LogGroupName: aws.String("ct"), FilterName: aws.String("root")}); err != nil {
		t.Fatalf("DeleteMetricFilter: %v", err)
	}
	_, err = cw.DeleteMetricFilter(ctx, &cloudwatchlogs.DeleteMetricFilterInput{LogGroupName: aws.String("ct"), FilterName: aws.String("root")})
	testenv.WantCode(t, "DeleteMetricFilter twice", err, "ResourceNotFoundException")
	out, err = cw.DescribeMetricFilters(ctx, &cloudwatchlogs.DescribeMetricFiltersInput{LogGroupName: aws.String("ct"), FilterNamePrefix: aws.String("stop")})
	if err != nil || len(out.MetricFilters) != 1 {
		t.Fatalf("DescribeMetricFilters prefix = %+v, %v", out, err)
	}
}

func TestTestMetricFilter(t *testing.T) {
	_, cw := setup(t)
	ctx := context.Background()
	msgs := []string{ctRecord("StopLogging", "mallory"), ctRecord("DescribeTrails", "alice"), ctRecord("PutBucketPolicy", "bob")}
	out, err := cw.TestMetricFilter(ctx, &cloudwatchlogs.TestMetricFilterInput{
		FilterPattern: aws.String(`{ ($.eventName = "StopLogging") || ($.eventName = "PutBucketPolicy") }`), LogEventMessages: msgs})
	if err != nil {
		t.Fatalf("TestMetricFilter: %v", err)
	}
	if len(out.Matches) != 2 || out.Matches[0].EventNumber != 1 || out.Matches[1].EventNumber != 3 ||
		aws.ToString(out.Matches[1].EventMessage) != msgs[2] ||
		!reflect.DeepEqual(out.Matches[1].ExtractedValues, map[string]string{"$.eventName": "PutBucketPolicy"}) {
		t.Fatalf("matches = %+v", out.Matches)
	}
	out, err = cw.TestMetricFilter(ctx, &cloudwatchlogs.TestMetricFilterInput{FilterPattern: aws.String(`[ip, user, status = 5*, bytes > 1000]`),
		LogEventMessages: []string{"10.0.0.1 alice 503 2048", "10.0.0.2 bob 200 4096", "10.0.0.3 carol 500 10"}})
	if err != nil || len(out.Matches) != 1 || !reflect.DeepEqual(out.Matches[0].ExtractedValues,
		map[string]string{"$ip": "10.0.0.1", "$user": "alice", "$status": "503", "$bytes": "2048"}) {
		t.Fatalf("delimited matches = %+v, %v", out, err)
	}
	_, err = cw.TestMetricFilter(ctx, &cloudwatchlogs.TestMetricFilterInput{FilterPattern: aws.String(`{ $.a = `), LogEventMessages: []string{"x"}})
	testenv.WantCode(t, "TestMetricFilter bad pattern", err, "InvalidParameterException")
}

func wirelogsTransformation(ns, name, value string, def *float64, dims map[string]string) wirelogs.MetricTransformation {
	return wirelogs.MetricTransformation{MetricNamespace: aws.String(ns), MetricName: aws.String(name), MetricValue: aws.String(value),
		DefaultValue: def, Dimensions: dims}
}

func TestApply(t *testing.T) {
	mf := &logs.MetricFilter{FilterName: "bytes", FilterPattern: `[ip, user, status = 5*, bytes]`}
	mf.MetricTransformations = append(mf.MetricTransformations, wirelogsTransformation("Web", "Bytes", "$bytes", nil, map[string]string{"User": "$user"}))
	dp, ok, err := mf.Apply("10.0.0.1 alice 503 2048")
	if err != nil || !ok || dp.Value != 2048 || dp.Namespace != "Web" || dp.MetricName != "Bytes" || dp.Dimensions["User"] != "alice" {
		t.Fatalf("Apply match = %+v, %v, %v", dp, ok, err)
	}
	if _, ok, _ := mf.Apply("10.0.0.1 alice 200 2048"); ok {
		t.Fatal("Apply published for a non-matching event without a default value")
	}
	zero := 0.0
	cnt := &logs.MetricFilter{FilterName: "stops", FilterPattern: `{ $.eventName = "StopLogging" }`}
	cnt.MetricTransformations = append(cnt.MetricTransformations, wirelogsTransformation("CT", "Stops", "1", &zero, nil))
	if dp, ok, err := cnt.Apply(ctRecord("StopLogging", "x")); err != nil || !ok || dp.Value != 1 {
		t.Fatalf("Apply count = %+v, %v, %v", dp, ok, err)
	}
	if dp, ok, err := cnt.Apply(ctRecord("GetObject", "x")); err != nil || !ok || dp.Value != 0 {
		t.Fatalf("Apply default = %+v, %v, %v", dp, ok, err)
	}
}

func TestCLI(t *testing.T) {
	e, cw := setup(t)
	mkGroup(t, cw, "cli", "s")
	now := time.Now().UnixMilli()
	put(t, cw, "cli", "s", ev(now-2, ctRecord("StopLogging", "mallory")), ev(now-1, ctRecord("DescribeTrails", "alice")))
	for _, cli := range []testenv.CLI{testenv.V1, testenv.V2} {
		out := e.Run(t, cli, "logs", "filter-log-events", "--log-group-name", "cli", "--filter-pattern", `{ $.eventName = "StopLogging" }`)
		var resp struct {
			Events []struct{ LogStreamName, Message string }
		}
		if err := json.Unmarshal([]byte(out), &resp); err != nil {
			t.Fatalf("%s output %q: %v", cli, out, err)
		}
		if len(resp.Events) != 1 || resp.Events[0].LogStreamName != "s" || !strings.Contains(resp.Events[0].Message, "mallory") {
			t.Fatalf("%s filter-log-events = %s", cli, out)
		}
	}
	out := e.Run(t, testenv.V2, "logs", "get-log-events", "--log-group-name", "cli", "--log-stream-name", "s", "--start-from-head")
	var gr struct {
		Events           []struct{ Message string }
		NextForwardToken string
	}
	if err := json.Unmarshal([]byte(out), &gr); err != nil || len(gr.Events) != 2 || !strings.HasPrefix(gr.NextForwardToken, "f/") {
		t.Fatalf("get-log-events = %s (%v)", out, err)
	}
	out = e.Run(t, testenv.V1, "logs", "describe-log-groups", "--log-group-name-prefix", "cl")
	if !strings.Contains(out, `"logGroupName": "cli"`) {
		t.Fatalf("describe-log-groups = %s", out)
	}
	if out, err := e.RunErr(t, testenv.V1, "logs", "create-log-group", "--log-group-name", "cli"); err == nil || !strings.Contains(out, "ResourceAlreadyExistsException") {
		t.Fatalf("create-log-group twice = %s (%v)", out, err)
	}
}
