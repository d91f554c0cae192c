package bus_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/smithy-go"

	"github.com/bannin/bannin/internal/bus"
	"github.com/bannin/bannin/internal/store"
	"github.com/bannin/bannin/internal/testenv"
)

// wantErr fails the test unless err is the AWS error code whose message contains msg.
func wantErr(t *testing.T, what string, err error, code, msg string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != code || !strings.Contains(ae.ErrorMessage(), msg) {
		t.Errorf("%s: err = %v; want %s mentioning %q", what, err, code, msg)
	}
}

func TestEventBuses(t *testing.T) {
	e := testenv.New(t)
	eb := eventbridge.NewFromConfig(e.Config)
	ctx := context.Background()

	def, err := eb.DescribeEventBus(ctx, &eventbridge.DescribeEventBusInput{})
	if err != nil || aws.ToString(def.Name) != "default" || aws.ToString(def.Arn) != "arn:aws:events:us-east-1:123456789012:event-bus/default" {
		t.Fatalf("DescribeEventBus(default) = %+v, %v", def, err)
	}
	created, err := eb.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String("alerts"), Description: aws.String("audit alerts"),
		Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("sec")}}})
	if err != nil || aws.ToString(created.EventBusArn) != "arn:aws:events:us-east-1:123456789012:event-bus/alerts" {
		t.Fatalf("CreateEventBus = %+v, %v", created, err)
	}
	_, err = eb.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String("alerts")})
	wantErr(t, "CreateEventBus twice", err, "ResourceAlreadyExistsException", "Event bus alerts already exists.")
	_, err = eb.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String("default")})
	wantErr(t, "CreateEventBus default", err, "ResourceAlreadyExistsException", "Event bus default already exists.")

	_, err = eb.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String("a b")})
	wantErr(t, "CreateEventBus with a space", err, "ValidationException", "Value 'a b' at 'name' failed to satisfy constraint")
	_, err = eb.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String("a/b")})
	wantErr(t, "CreateEventBus with a slash", err, "ValidationException", "'/'")

	d, err := eb.DescribeEventBus(ctx, &eventbridge.DescribeEventBusInput{Name: created.EventBusArn})
	if err != nil || aws.ToString(d.Name) != "alerts" || aws.ToString(d.Description) != "audit alerts" || d.CreationTime == nil {
		t.Errorf("DescribeEventBus(alerts by ARN) = %+v, %v", d, err)
	}
	_, err = eb.DescribeEventBus(ctx, &eventbridge.DescribeEventBusInput{Name: aws.String("nope")})
	wantErr(t, "DescribeEventBus missing", err, "ResourceNotFoundException", "Event bus nope does not exist.")

	for _, n := range []string{"b1", "b2", "b3"} {
		if _, err := eb.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String(n)}); err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	var token *string
	for pages := 0; ; pages++ {
		out, err := eb.ListEventBuses(ctx, &eventbridge.ListEventBusesInput{Limit: aws.Int32(2), NextToken: token})
		if err != nil || len(out.EventBuses) > 2 || pages > 5 {
			t.Fatalf("ListEventBuses page %d = %+v, %v", pages, out, err)
		}
		for _, b := range out.EventBuses {
			names = append(names, aws.ToString(b.Name))
		}
		if token = out.NextToken; token == nil {
			break
		}
	}
	if got := strings.Join(names, ","); got != "alerts,b1,b2,b3,default" {
		t.Errorf("ListEventBuses pages = %s", got)
	}
	out, err := eb.ListEventBuses(ctx, &eventbridge.ListEventBusesInput{NamePrefix: aws.String("b")})
	if err != nil || len(out.EventBuses) != 3 {
		t.Errorf("ListEventBuses(prefix b) = %+v, %v", out, err)
	}
	_, err = eb.ListEventBuses(ctx, &eventbridge.ListEventBusesInput{NextToken: aws.String("garbage")})
	wantErr(t, "ListEventBuses bad token", err, "ValidationException", "NextToken")

	_, err = eb.DeleteEventBus(ctx, &eventbridge.DeleteEventBusInput{Name: aws.String("default")})
	wantErr(t, "DeleteEventBus default", err, "ValidationException", "Cannot delete event bus default.")
	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("r"), EventBusName: aws.String("b1"), EventPattern: aws.String(`{"source":["aws.s3"]}`)}); err != nil {
		t.Fatal(err)
	}
	_, err = eb.DeleteEventBus(ctx, &eventbridge.DeleteEventBusInput{Name: aws.String("b1")})
	wantErr(t, "DeleteEventBus with rules", err, "ValidationException", "EventBus can't be deleted since it has rules.")
	if _, err := eb.DeleteRule(ctx, &eventbridge.DeleteRuleInput{Name: aws.String("r"), EventBusName: aws.String("b1")}); err != nil {
		t.Fatal(err)
	}
	if _, err := eb.DeleteEventBus(ctx, &eventbridge.DeleteEventBusInput{Name: aws.String("b1")}); err != nil {
		t.Fatalf("DeleteEventBus(b1) = %v", err)
	}
	_, err = eb.DescribeEventBus(ctx, &eventbridge.DescribeEventBusInput{Name: aws.String("b1")})
	wantErr(t, "DescribeEventBus deleted", err, "ResourceNotFoundException", "Event bus b1 does not exist.")
	_, err = eb.ListRules(ctx, &eventbridge.ListRulesInput{EventBusName: aws.String("b1")})
	wantErr(t, "ListRules on deleted bus", err, "ResourceNotFoundException", "Event bus b1 does not exist.")
	if _, err := eb.DeleteEventBus(ctx, &eventbridge.DeleteEventBusInput{Name: aws.String("b1")}); err != nil {
		t.Errorf("DeleteEventBus(b1) again = %v; want success", err)
	}
	// The same name can be created again after deletion.
	if _, err := eb.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String("b1")}); err != nil {
		t.Errorf("CreateEventBus(b1) after deletion = %v", err)
	}
}

func TestRules(t *testing.T) {
	e := testenv.New(t)
	eb := eventbridge.NewFromConfig(e.Config)
	ctx := context.Background()

	put, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("policy-changes"), EventPattern: aws.String(bucketPolicyPattern), Description: aws.String("d")})
	if err != nil || aws.ToString(put.RuleArn) != "arn:aws:events:us-east-1:123456789012:rule/policy-changes" {
		t.Fatalf("PutRule = %+v, %v", put, err)
	}
	d, err := eb.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String("policy-changes")})
	if err != nil || d.State != types.RuleStateEnabled || aws.ToString(d.EventPattern) != bucketPolicyPattern ||
		aws.ToString(d.EventBusName) != "default" || aws.ToString(d.Description) != "d" || aws.ToString(d.CreatedBy) != "123456789012" {
		t.Errorf("DescribeRule = %+v, %v", d, err)
	}

	if _, err := eb.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String("custom")}); err != nil {
		t.Fatal(err)
	}
	put, err = eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("on-custom"), EventBusName: aws.String("custom"),
		EventPattern: aws.String(`{"source":["app"]}`), State: types.RuleStateDisabled})
	if err != nil || aws.ToString(put.RuleArn) != "arn:aws:events:us-east-1:123456789012:rule/custom/on-custom" {
		t.Fatalf("PutRule(custom bus) = %+v, %v", put, err)
	}
	_, err = eb.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String("on-custom")})
	wantErr(t, "DescribeRule on the wrong bus", err, "ResourceNotFoundException", "Rule on-custom does not exist on EventBus default.")

	for _, c := range []struct {
		name      string
		in        eventbridge.PutRuleInput
		code, msg string
	}{
		{"neither", eventbridge.PutRuleInput{}, "ValidationException", "Parameter(s) EventPattern or ScheduleExpression must be specified."},
		{"bad pattern", eventbridge.PutRuleInput{EventPattern: aws.String(`{"source":"aws.s3"}`)}, "InvalidEventPatternException", "Event pattern is not valid"},
		{"bad rate", eventbridge.PutRuleInput{ScheduleExpression: aws.String("rate(5 minute)")}, "ValidationException", "Parameter ScheduleExpression is not valid."},
		{"zero rate", eventbridge.PutRuleInput{ScheduleExpression: aws.String("rate(0 minutes)")}, "ValidationException", "Parameter ScheduleExpression is not valid."},
		{"bad cron", eventbridge.PutRuleInput{ScheduleExpression: aws.String("cron(0 12 * * * *)")}, "ValidationException", "Parameter ScheduleExpression is not valid."},
		{"schedule off default", eventbridge.PutRuleInput{ScheduleExpression: aws.String("rate(1 hour)"), EventBusName: aws.String("custom")}, "ValidationException", "only on the default event bus"},
		{"missing bus", eventbridge.PutRuleInput{EventPattern: aws.String(`{"source":["x"]}`), EventBusName: aws.String("ghost")}, "ResourceNotFoundException", "Event bus ghost does not exist."},
	} {
		in := c.in
		in.Name = aws.String("bad")
		_, err := eb.PutRule(ctx, &in)
		wantErr(t, "PutRule "+c.name, err, c.code, c.msg)
	}
	_, err = eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("a/b"), EventPattern: aws.String(`{"source":["x"]}`)})
	wantErr(t, "PutRule with a slash in the name", err, "ValidationException", "Value 'a/b' at 'name' failed to satisfy constraint")
	_, err = eb.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String("x"), EventBusName: aws.String("no spaces")})
	wantErr(t, "DescribeRule with a bad bus name", err, "ValidationException", "at 'eventBusName'")
	for _, s := range []string{"rate(1 minute)", "rate(5 minutes)", "rate(2 days)", "cron(0 12 * * ? *)", "cron(0/15 8-17 ? * MON-FRI *)", "cron(0 18 L * ? *)", "cron(0 10 ? * 6#3 *)"} {
		if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("sched"), ScheduleExpression: aws.String(s)}); err != nil {
			t.Errorf("PutRule(%s) = %v", s, err)
		}
	}

	for i := 0; i < 5; i++ {
		if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String(fmt.Sprintf("page-%d", i)), EventPattern: aws.String(`{"source":["x"]}`)}); err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	var token *string
	for pages := 0; ; pages++ {
		out, err := eb.ListRules(ctx, &eventbridge.ListRulesInput{NamePrefix: aws.String("page-"), Limit: aws.Int32(2), NextToken: token})
		if err != nil || len(out.Rules) > 2 || pages > 5 {
			t.Fatalf("ListRules page %d = %+v, %v", pages, out, err)
		}
		for _, r := range out.Rules {
			names = append(names, aws.ToString(r.Name))
		}
		if token = out.NextToken; token == nil {
			break
		}
	}
	if got := strings.Join(names, ","); got != "page-0,page-1,page-2,page-3,page-4" {
		t.Errorf("ListRules pages = %s", got)
	}
	all, err := eb.ListRules(ctx, &eventbridge.ListRulesInput{EventBusName: aws.String("custom")})
	if err != nil || len(all.Rules) != 1 || aws.ToString(all.Rules[0].Name) != "on-custom" || all.Rules[0].State != types.RuleStateDisabled {
		t.Errorf("ListRules(custom) = %+v, %v", all, err)
	}

	if _, err := eb.EnableRule(ctx, &eventbridge.EnableRuleInput{Name: aws.String("on-custom"), EventBusName: aws.String("custom")}); err != nil {
		t.Fatal(err)
	}
	if d, err := eb.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String("on-custom"), EventBusName: aws.String("arn:aws:events:us-east-1:123456789012:event-bus/custom")}); err != nil || d.State != types.RuleStateEnabled {
		t.Errorf("DescribeRule after EnableRule = %+v, %v", d, err)
	}
	if _, err := eb.DisableRule(ctx, &eventbridge.DisableRuleInput{Name: aws.String("policy-changes")}); err != nil {
		t.Fatal(err)
	}
	if d, err := eb.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String("policy-changes")}); err != nil || d.State != types.RuleStateDisabled {
		t.Errorf("DescribeRule after DisableRule = %+v, %v", d, err)
	}
	// Rules belong to their region: another region neither sees nor shares them.
	west := eventbridge.NewFromConfig(e.Config, func(o *eventbridge.Options) { o.Region = "eu-west-1" })
	_, err = west.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String("policy-changes")})
	wantErr(t, "DescribeRule from another region", err, "ResourceNotFoundException", "Rule policy-changes does not exist on EventBus default.")
	if out, err := west.ListRules(ctx, &eventbridge.ListRulesInput{}); err != nil || len(out.Rules) != 0 {
		t.Errorf("ListRules from eu-west-1 = %+v, %v; want none", out, err)
	}
	if d, err := west.DescribeEventBus(ctx, &eventbridge.DescribeEventBusInput{}); err != nil || aws.ToString(d.Arn) != "arn:aws:events:eu-west-1:123456789012:event-bus/default" {
		t.Errorf("DescribeEventBus from eu-west-1 = %+v, %v", d, err)
	}
	_, err = eb.EnableRule(ctx, &eventbridge.EnableRuleInput{Name: aws.String("ghost")})
	wantErr(t, "EnableRule missing", err, "ResourceNotFoundException", "Rule ghost does not exist on EventBus default.")

	if _, err := eb.DeleteRule(ctx, &eventbridge.DeleteRuleInput{Name: aws.String("page-0")}); err != nil {
		t.Fatal(err)
	}
	_, err = eb.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String("page-0")})
	wantErr(t, "DescribeRule deleted", err, "ResourceNotFoundException", "Rule page-0 does not exist on EventBus default.")
	if _, err := eb.DeleteRule(ctx, &eventbridge.DeleteRuleInput{Name: aws.String("page-0")}); err != nil {
		t.Errorf("DeleteRule of a missing rule = %v; want success", err)
	}
}

func TestTargets(t *testing.T) {
	e := testenv.New(t)
	eb := eventbridge.NewFromConfig(e.Config)
	ctx := context.Background()
	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("r"), EventPattern: aws.String(bucketPolicyPattern)}); err != nil {
		t.Fatal(err)
	}
	topic := "arn:aws:sns:us-east-1:123456789012:alerts"
	out, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("r"), Targets: []types.Target{
		{Id: aws.String("sns"), Arn: aws.String(topic), Input: aws.String(`{"a":1}`)},
		{Id: aws.String("logs"), Arn: aws.String("arn:aws:logs:us-east-1:123456789012:log-group:/aws/events/x"), InputPath: aws.String("$.detail")},
		{Id: aws.String("fifo"), Arn: aws.String("arn:aws:sqs:us-east-1:123456789012:q.fifo")},
	}})
	if err != nil || out.FailedEntryCount != 1 || len(out.FailedEntries) != 1 || aws.ToString(out.FailedEntries[0].TargetId) != "fifo" ||
		aws.ToString(out.FailedEntries[0].ErrorCode) != "ValidationException" ||
		aws.ToString(out.FailedEntries[0].ErrorMessage) != "Parameter(s) SqsParameters must be specified for target: fifo." {
		t.Fatalf("PutTargets = %+v, %v", out, err)
	}
	_, err = eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("r"), Targets: []types.Target{
		{Id: aws.String("both"), Arn: aws.String(topic), Input: aws.String(`{}`), InputPath: aws.String("$.detail")}}})
	wantErr(t, "PutTargets with Input and InputPath", err, "ValidationException", "Only one of Input, InputPath, or InputTransformer must be provided for target both.")
	_, err = eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("r"), Targets: []types.Target{
		{Id: aws.String("badjson"), Arn: aws.String(topic), Input: aws.String(`{`)}}})
	wantErr(t, "PutTargets with bad Input", err, "ValidationException", "not valid JSON")
	lt, err := eb.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String("r")})
	if err != nil || len(lt.Targets) != 2 || aws.ToString(lt.Targets[0].Id) != "logs" || aws.ToString(lt.Targets[1].Input) != `{"a":1}` {
		t.Fatalf("ListTargetsByRule = %+v, %v", lt, err)
	}
	// Same Id replaces the target.
	if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("r"), Targets: []types.Target{{Id: aws.String("sns"), Arn: aws.String(topic + "2")}}}); err != nil {
		t.Fatal(err)
	}
	var targets []types.Target
	var token *string
	for {
		lt, err := eb.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String("r"), Limit: aws.Int32(1), NextToken: token})
		if err != nil || len(lt.Targets) > 1 {
			t.Fatalf("ListTargetsByRule(limit 1) = %+v, %v", lt, err)
		}
		targets = append(targets, lt.Targets...)
		if token = lt.NextToken; token == nil {
			break
		}
	}
	if len(targets) != 2 || aws.ToString(targets[1].Arn) != topic+"2" || targets[1].Input != nil {
		t.Errorf("targets after replacement = %+v", targets)
	}

	var many []types.Target
	for i := 0; i < 4; i++ {
		many = append(many, types.Target{Id: aws.String(fmt.Sprintf("t%d", i)), Arn: aws.String(topic)})
	}
	_, err = eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("r"), Targets: many})
	wantErr(t, "PutTargets beyond 5", err, "LimitExceededException", "exceeds the maximum number allowed")
	_, err = eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("ghost"), Targets: many[:1]})
	wantErr(t, "PutTargets missing rule", err, "ResourceNotFoundException", "Rule ghost does not exist on EventBus default.")
	_, err = eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("r"), Targets: []types.Target{{Id: aws.String("bad id"), Arn: aws.String(topic)}}})
	wantErr(t, "PutTargets with a bad Id", err, "ValidationException", "targets.1.member.id")

	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("r2"), EventPattern: aws.String(`{"source":["x"]}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("r2"), Targets: []types.Target{{Id: aws.String("x"), Arn: aws.String(topic + "2")}}}); err != nil {
		t.Fatal(err)
	}
	rn, err := eb.ListRuleNamesByTarget(ctx, &eventbridge.ListRuleNamesByTargetInput{TargetArn: aws.String(topic + "2")})
	if err != nil || strings.Join(rn.RuleNames, ",") != "r,r2" {
		t.Errorf("ListRuleNamesByTarget = %+v, %v", rn, err)
	}

	_, err = eb.DeleteRule(ctx, &eventbridge.DeleteRuleInput{Name: aws.String("r")})
	wantErr(t, "DeleteRule with targets", err, "ValidationException", "Rule can't be deleted since it has targets.")
	rm, err := eb.RemoveTargets(ctx, &eventbridge.RemoveTargetsInput{Rule: aws.String("r"), Ids: []string{"sns", "logs"}})
	if err != nil || rm.FailedEntryCount != 0 {
		t.Fatalf("RemoveTargets = %+v, %v", rm, err)
	}
	if lt, err := eb.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String("r")}); err != nil || len(lt.Targets) != 0 {
		t.Errorf("ListTargetsByRule after RemoveTargets = %+v, %v", lt, err)
	}
	if _, err := eb.DeleteRule(ctx, &eventbridge.DeleteRuleInput{Name: aws.String("r")}); err != nil {
		t.Errorf("DeleteRule without targets = %v", err)
	}
	if _, err := eb.DeleteRule(ctx, &eventbridge.DeleteRuleInput{Name: aws.String("r2"), Force: true}); err != nil {
		t.Errorf("DeleteRule with Force = %v", err)
	}
	rn, err = eb.ListRuleNamesByTarget(ctx, &eventbridge.ListRuleNamesByTargetInput{TargetArn: aws.String(topic + "2")})
	if err != nil || len(rn.RuleNames) != 0 {
		t.Errorf("ListRuleNamesByTarget after deletes = %+v, %v", rn, err)
	}
}

func TestTags(t *testing.T) {
	e := testenv.New(t)
	eb := eventbridge.NewFromConfig(e.Config)
	ctx := context.Background()
	put, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("r"), EventPattern: aws.String(bucketPolicyPattern),
		Tags: []types.Tag{{Key: aws.String("a"), Value: aws.String("1")}}})
	if err != nil {
		t.Fatal(err)
	}
	bus := "arn:aws:events:us-east-1:123456789012:event-bus/default"
	for _, arn := range []string{aws.ToString(put.RuleArn), bus} {
		if _, err := eb.TagResource(ctx, &eventbridge.TagResourceInput{ResourceARN: aws.String(arn),
			Tags: []types.Tag{{Key: aws.String("b"), Value: aws.String("2")}, {Key: aws.String("c"), Value: aws.String("3")}}}); err != nil {
			t.Fatalf("TagResource(%s) = %v", arn, err)
		}
		if _, err := eb.UntagResource(ctx, &eventbridge.UntagResourceInput{ResourceARN: aws.String(arn), TagKeys: []string{"c"}}); err != nil {
			t.Fatalf("UntagResource(%s) = %v", arn, err)
		}
	}
	for arn, want := range map[string]string{aws.ToString(put.RuleArn): "a=1,b=2", bus: "b=2"} {
		out, err := eb.ListTagsForResource(ctx, &eventbridge.ListTagsForResourceInput{ResourceARN: aws.String(arn)})
		if err != nil {
			t.Fatalf("ListTagsForResource(%s) = %v", arn, err)
		}
		var got []string
		for _, tag := range out.Tags {
			got = append(got, aws.ToString(tag.Key)+"="+aws.ToString(tag.Value))
		}
		sort.Strings(got)
		if strings.Join(got, ",") != want {
			t.Errorf("ListTagsForResource(%s) = %v; want %s", arn, got, want)
		}
	}
	// The tagged default bus is still the default bus, listed once and not deletable.
	lb, err := eb.ListEventBuses(ctx, &eventbridge.ListEventBusesInput{})
	if err != nil || len(lb.EventBuses) != 1 {
		t.Errorf("ListEventBuses = %+v, %v", lb, err)
	}
	// Re-putting the rule keeps its tags.
	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("r"), EventPattern: aws.String(`{"source":["x"]}`)}); err != nil {
		t.Fatal(err)
	}
	if out, err := eb.ListTagsForResource(ctx, &eventbridge.ListTagsForResourceInput{ResourceARN: put.RuleArn}); err != nil || len(out.Tags) != 2 {
		t.Errorf("tags after PutRule again = %+v, %v", out, err)
	}
	_, err = eb.ListTagsForResource(ctx, &eventbridge.ListTagsForResourceInput{ResourceARN: aws.String("arn:aws:events:us-east-1:123456789012:rule/ghost")})
	wantErr(t, "ListTagsForResource missing rule", err, "ResourceNotFoundException", "Rule ghost does not exist on EventBus default.")
	_, err = eb.TagResource(ctx, &eventbridge.TagResourceInput{ResourceARN: aws.String("arn:aws:events:us-east-1:123456789012:event-bus/ghost"),
		Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
	wantErr(t, "TagResource missing bus", err, "ResourceNotFoundException", "Event bus ghost does not exist.")
}

func TestRulesCLI(t *testing.T) {
	e := testenv.New(t)
	for i, cli := range []testenv.CLI{testenv.V1, testenv.V2} {
		name := fmt.Sprintf("cli-%d", i)
		out := e.Run(t, cli, "events", "put-rule", "--name", name, "--schedule-expression", "rate(5 minutes)")
		if !strings.Contains(out, "arn:aws:events:us-east-1:123456789012:rule/"+name) {
			t.Errorf("%s events put-rule = %s", cli, out)
		}
		out = e.Run(t, cli, "events", "put-targets", "--rule", name, "--targets", `Id=1,Arn=arn:aws:sns:us-east-1:123456789012:t`)
		if !strings.Contains(out, `"FailedEntryCount": 0`) {
			t.Errorf("%s events put-targets = %s", cli, out)
		}
		out = e.Run(t, cli, "events", "list-targets-by-rule", "--rule", name)
		if !strings.Contains(out, "arn:aws:sns:us-east-1:123456789012:t") {
			t.Errorf("%s events list-targets-by-rule = %s", cli, out)
		}
		if _, err := e.RunErr(t, cli, "events", "delete-rule", "--name", name); err == nil {
			t.Errorf("%s events delete-rule with targets succeeded", cli)
		}
	}
}

func TestRulesForDelivery(t *testing.T) {
	e := testenv.New(t)
	eb := eventbridge.NewFromConfig(e.Config)
	ctx := context.Background()
	topic := "arn:aws:sns:us-east-1:123456789012:alerts"
	for _, r := range []eventbridge.PutRuleInput{
		{Name: aws.String("on"), EventPattern: aws.String(bucketPolicyPattern)},
		{Name: aws.String("off"), EventPattern: aws.String(bucketPolicyPattern), State: types.RuleStateDisabled},
		{Name: aws.String("tick"), ScheduleExpression: aws.String("rate(1 hour)")},
	} {
		if _, err := eb.PutRule(ctx, &r); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := eb.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String("other")}); err != nil {
		t.Fatal(err)
	}
	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("elsewhere"), EventBusName: aws.String("other"), EventPattern: aws.String(`{"source":["x"]}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("on"), Targets: []types.Target{{Id: aws.String("t"), Arn: aws.String(topic), InputPath: aws.String("$.detail")}}}); err != nil {
		t.Fatal(err)
	}
	var rules []bus.Rule
	err := e.Server.Store.View(ctx, func(tx store.ReadTx) error {
		var err error
		rules, err = bus.New(bus.Options{}).Rules(ctx, tx, e.Account, e.Region, bus.DefaultBus)
		if err != nil {
			return err
		}
		r, err := tx.GetResource(ctx, e.Account, e.Region, bus.RuleType, "default/on")
		if err != nil || r == nil {
			return fmt.Errorf("stored rule default/on = %v, %v", r, err)
		}
		if strings.Contains(string(r.Config), "null") || !strings.Contains(string(r.Config), `"InputPath":"$.detail"`) {
			t.Errorf("stored configuration = %s; want the target's set fields only", r.Config)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(rules) != 2 || rules[0].Name != "on" || rules[1].Name != "tick" {
		t.Fatalf("Rules(default) = %+v; want the enabled rules on and tick", rules)
	}
	on := rules[0]
	if on.Arn != "arn:aws:events:us-east-1:123456789012:rule/on" || len(on.Targets) != 1 || aws.ToString(on.Targets[0].Arn) != topic ||
		aws.ToString(on.Targets[0].InputPath) != "$.detail" || on.Pattern == nil {
		t.Fatalf("rule on = %+v", on)
	}
	for bucket, want := range map[string]bool{"audit-logs": true, "other": false} {
		if got, err := on.Pattern.Matches([]byte(event(bucket))); err != nil || got != want {
			t.Errorf("rule on matches event on %s = %v, %v; want %v", bucket, got, err, want)
		}
	}
	if rules[1].Pattern != nil || rules[1].ScheduleExpression != "rate(1 hour)" {
		t.Errorf("rule tick = %+v", rules[1])
	}
}

// PutTargets refuses, one by one, targets of services bannin does not deliver to, and
// puts the others.
func TestUnsupportedTargets(t *testing.T) {
	e := testenv.New(t)
	eb := eventbridge.NewFromConfig(e.Config)
	ctx := context.Background()
	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("r"), EventPattern: aws.String(`{"source":["x"]}`)}); err != nil {
		t.Fatal(err)
	}
	out, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("r"), Targets: []types.Target{
		{Id: aws.String("lambda"), Arn: aws.String("arn:aws:lambda:us-east-1:123456789012:function:f")},
		{Id: aws.String("sns"), Arn: aws.String("arn:aws:sns:us-east-1:123456789012:alerts")},
		{Id: aws.String("sqs"), Arn: aws.String("arn:aws:sqs:us-east-1:123456789012:q")},
		{Id: aws.String("logs"), Arn: aws.String("arn:aws:logs:us-east-1:123456789012:log-group:/aws/events/x")},
		{Id: aws.String("kinesis"), Arn: aws.String("arn:aws:kinesis:us-east-1:123456789012:stream/s")},
		{Id: aws.String("bus"), Arn: aws.String("arn:aws:events:us-east-1:123456789012:event-bus/default")},
		{Id: aws.String("ssm"), Arn: aws.String("arn:aws:ssm:us-east-1:123456789012:automation-definition/AWS-RestartEC2Instance:$DEFAULT")},
		{Id: aws.String("api"), Arn: aws.String("arn:aws:events:us-east-1:123456789012:api-destination/d/0b5cb9a4-4d5c-4a47-9c2d-5c8e2d7e0d11")},
	}})
	if err != nil {
		t.Fatalf("PutTargets: %v", err)
	}
	failed := map[string]string{}
	for _, f := range out.FailedEntries {
		failed[aws.ToString(f.TargetId)] = aws.ToString(f.ErrorCode) + ": " + aws.ToString(f.ErrorMessage)
		if aws.ToString(f.ErrorCode) != "ValidationException" || !strings.Contains(aws.ToString(f.ErrorMessage), "bannin does not deliver to") {
			t.Errorf("failed entry %s = %s; want ValidationException saying bannin does not deliver to it", aws.ToString(f.TargetId), failed[aws.ToString(f.TargetId)])
		}
	}
	if out.FailedEntryCount != 3 || len(failed) != 3 || failed["lambda"] == "" || failed["sqs"] == "" || failed["kinesis"] == "" {
		t.Errorf("PutTargets failed entries = %d %v; want lambda, sqs and kinesis", out.FailedEntryCount, failed)
	}
	lt, err := eb.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String("r")})
	var ids []string
	if err == nil {
		for _, tg := range lt.Targets {
			ids = append(ids, aws.ToString(tg.Id))
		}
	}
	if got := strings.Join(ids, ","); err != nil || got != "api,bus,logs,sns,ssm" {
		t.Errorf("ListTargetsByRule = %s, %v; want api,bus,logs,sns,ssm", got, err)
	}
}
