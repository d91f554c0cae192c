package compliance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bannin/bannin/internal/awserr"
	"github.com/bannin/bannin/internal/call"
	"github.com/bannin/bannin/internal/recorder"
	"github.com/bannin/bannin/internal/store"
	"github.com/bannin/bannin/internal/store/sqlite"
	"github.com/bannin/bannin/internal/wire/config"
)

const (
	acct = "123456789012"
	reg  = "us-east-1"
)

// harness is a Service on a real store with items, notifications and automation faked.
type harness struct {
	t     testing.TB
	st    *sqlite.Store
	s     *Service
	now   time.Time
	mu    sync.Mutex
	items map[string]*recorder.Item // type|id -> current item
	notes []map[string]any
	runs  []automationRun
	// status answers AutomationStatus for every execution.
	status string
}

type automationRun struct {
	doc    string
	params map[string][]string
}

func newHarness(t testing.TB) *harness {
	st, err := sqlite.Open(t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	h := &harness{t: t, st: st, now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), items: map[string]*recorder.Item{}, status: "InProgress"}
	h.s = New(Options{Store: st, Clock: func() time.Time { h.mu.Lock(); defer h.mu.Unlock(); return h.now },
		Items: func(ctx context.Context, tx store.ReadTx, account, region string, types []string) ([]*recorder.Item, error) {
			h.mu.Lock()
			defer h.mu.Unlock()
			var out []*recorder.Item
			for _, it := range h.items {
				if types == nil || contains(types, it.ResourceType) {
					out = append(out, it)
				}
			}
			return out, nil
		},
		Notify: func(ctx context.Context, tx store.Tx, account, region, messageType string, n any) error {
			var m map[string]any
			if err := json.Unmarshal(n.(json.RawMessage), &m); err != nil {
				return err
			}
			h.mu.Lock()
			defer h.mu.Unlock()
			h.notes = append(h.notes, m)
			return nil
		},
		StartAutomation: func(ctx context.Context, tx store.Tx, account, region, doc, version string, params map[string][]string) (string, error) {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.runs = append(h.runs, automationRun{doc: doc, params: params})
			return fmt.Sprintf("exec-%d", len(h.runs)), nil
		},
		AutomationStatus: func(ctx context.Context, tx store.ReadTx, account, region, id string) (string, string, error) {
			h.mu.Lock()
			defer h.mu.Unlock()
			return h.status, "step failed", nil
		},
	})
	return h
}

func (h *harness) advance(d time.Duration) { h.mu.Lock(); h.now = h.now.Add(d); h.mu.Unlock() }

// do runs a handler in a write transaction as the account's caller.
func (h *harness) do(f func(ctx context.Context) error) error {
	return h.st.Update(context.Background(), func(tx store.Tx) error {
		return f(call.With(context.Background(), &call.Call{Account: acct, Region: reg, Tx: tx}))
	})
}

// read runs a handler on a read snapshot.
func (h *harness) read(f func(ctx context.Context) error) error {
	return h.st.View(context.Background(), func(tx store.ReadTx) error {
		return f(call.With(context.Background(), &call.Call{Account: acct, Region: reg, Tx: tx}))
	})
}

// pump hands every pending stream entry of the consumer's kinds to the evaluator, as the
// stream runner would.
func (h *harness) pump(after *int64) {
	h.t.Helper()
	es := h.pending(after)
	if len(es) == 0 {
		return
	}
	if err := h.st.Update(context.Background(), func(tx store.Tx) error {
		return h.s.HandleEntries(context.Background(), tx, selectEntries(es))
	}); err != nil {
		h.t.Fatal(err)
	}
}

// pending reads the stream entries after *after and moves *after past them.
func (h *harness) pending(after *int64) []store.Entry {
	h.t.Helper()
	var es []store.Entry
	if err := h.st.View(context.Background(), func(tx store.ReadTx) error {
		var err error
		es, err = tx.ReadStream(context.Background(), *after, 100000)
		return err
	}); err != nil {
		h.t.Fatal(err)
	}
	if len(es) > 0 {
		*after = es[len(es)-1].Seq
	}
	return es
}

func selectEntries(es []store.Entry) []store.Entry {
	var out []store.Entry
	for _, e := range es {
		if e.Kind == recorder.KindItem || e.Kind == KindEvaluate {
			out = append(out, e)
		}
	}
	return out
}

// record makes an item current and appends it to the stream as the recorder does.
func (h *harness) record(it *recorder.Item) {
	h.t.Helper()
	it.AccountID, it.Region = acct, reg
	if it.Status == "" {
		it.Status = "OK"
	}
	h.mu.Lock()
	it.CaptureTime = h.now
	if it.Status == "ResourceDeleted" {
		delete(h.items, key(it.ResourceType, it.ResourceID))
	} else {
		h.items[key(it.ResourceType, it.ResourceID)] = it
	}
	h.mu.Unlock()
	b, _ := json.Marshal(it)
	if err := h.st.Update(context.Background(), func(tx store.Tx) error {
		_, err := tx.Append(context.Background(), recorder.KindItem, b)
		return err
	}); err != nil {
		h.t.Fatal(err)
	}
}

func bucket(name string, versioning string) *recorder.Item {
	return &recorder.Item{ResourceType: "AWS::S3::Bucket", ResourceID: name, ResourceName: name,
		Configuration: json.RawMessage(`{"name":"` + name + `"}`),
		Supplementary: map[string]json.RawMessage{"BucketVersioningConfiguration": json.RawMessage(`{"status":"` + versioning + `"}`)}}
}

func (h *harness) putRule(r config.ConfigRule) error {
	return h.do(func(ctx context.Context) error {
		_, err := h.s.PutConfigRule(ctx, &config.PutConfigRuleRequest{ConfigRule: &r})
		return err
	})
}

// results returns a rule's results by resource id.
func (h *harness) results(rule string) map[string]string {
	h.t.Helper()
	out := map[string]string{}
	err := h.read(func(ctx context.Context) error {
		r, err := h.s.GetComplianceDetailsByConfigRule(ctx, &config.GetComplianceDetailsByConfigRuleRequest{ConfigRuleName: &rule,
			ComplianceTypes: []string{Compliant, NonCompliant, NotApplicable}})
		if err != nil {
			return err
		}
		for _, e := range r.EvaluationResults {
			out[*e.EvaluationResultIdentifier.EvaluationResultQualifier.ResourceId] = *e.ComplianceType
		}
		return nil
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return out
}

func managedRule(name, id string) config.ConfigRule {
	return config.ConfigRule{ConfigRuleName: &name, Source: &config.Source{Owner: ptr(OwnerAWS), SourceIdentifier: &id}}
}

func TestChangeTriggeredRule(t *testing.T) {
	h := newHarness(t)
	var seq int64
	h.record(bucket("old", "Enabled"))
	if err := h.putRule(managedRule("versioning", "S3_BUCKET_VERSIONING_ENABLED")); err != nil {
		t.Fatal(err)
	}
	h.pump(&seq) // PutConfigRule evaluates what exists
	if got := h.results("versioning"); got["old"] != Compliant {
		t.Fatalf("results after PutConfigRule = %v; want old COMPLIANT", got)
	}
	h.record(bucket("new", "Off"))
	h.record(&recorder.Item{ResourceType: "AWS::SNS::Topic", ResourceID: "t"}) // out of scope
	h.pump(&seq)
	got := h.results("versioning")
	if got["new"] != NonCompliant || got["t"] != "" || len(got) != 2 {
		t.Fatalf("results = %v; want old COMPLIANT, new NON_COMPLIANT", got)
	}
	// Rule compliance folds to NON_COMPLIANT with the count.
	h.read(func(ctx context.Context) error {
		r, err := h.s.DescribeComplianceByConfigRule(ctx, &config.DescribeComplianceByConfigRuleRequest{})
		if err != nil {
			t.Fatal(err)
		}
		c := r.ComplianceByConfigRules[0].Compliance
		if *c.ComplianceType != NonCompliant || *c.ComplianceContributorCount.CappedCount != 1 {
			t.Errorf("DescribeComplianceByConfigRule = %s %d; want NON_COMPLIANT 1", *c.ComplianceType, *c.ComplianceContributorCount.CappedCount)
		}
		res, err := h.s.DescribeComplianceByResource(ctx, &config.DescribeComplianceByResourceRequest{ResourceType: ptr("AWS::S3::Bucket")})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.ComplianceByResources) != 2 {
			t.Errorf("DescribeComplianceByResource = %d resources; want 2", len(res.ComplianceByResources))
		}
		sum, err := h.s.GetComplianceSummaryByResourceType(ctx, &config.GetComplianceSummaryByResourceTypeRequest{ResourceTypes: []string{"AWS::S3::Bucket"}})
		if err != nil {
			t.Fatal(err)
		}
		cs := sum.ComplianceSummariesByResourceType[0].ComplianceSummary
		if *cs.CompliantResourceCount.CappedCount != 1 || *cs.NonCompliantResourceCount.CappedCount != 1 {
			t.Errorf("summary = %d compliant, %d noncompliant; want 1, 1", *cs.CompliantResourceCount.CappedCount, *cs.NonCompliantResourceCount.CappedCount)
		}
		return nil
	})
	// Fixing the bucket changes the result and notifies the change.
	before := len(h.notes)
	h.record(bucket("new", "Enabled"))
	h.pump(&seq)
	if got := h.results("versioning"); got["new"] != Compliant {
		t.Fatalf("after enabling versioning: %v; want new COMPLIANT", got)
	}
	if len(h.notes) != before+1 {
		t.Fatalf("notifications = %d; want %d", len(h.notes), before+1)
	}
	n := h.notes[len(h.notes)-1]
	if n["messageType"] != "ComplianceChangeNotification" || n["resourceId"] != "new" ||
		n["oldEvaluationResult"].(map[string]any)["complianceType"] != NonCompliant {
		t.Errorf("notification = %v", n)
	}
	// Deleting the bucket removes its result.
	h.record(&recorder.Item{ResourceType: "AWS::S3::Bucket", ResourceID: "new", Status: "ResourceDeleted"})
	h.pump(&seq)
	if got := h.results("versioning"); got["new"] != "" {
		t.Fatalf("after deletion: %v; want no result for new", got)
	}
}

func TestPeriodicAccountRule(t *testing.T) {
	h := newHarness(t)
	var seq int64
	trail := &recorder.Item{ResourceType: "AWS::CloudTrail::Trail", ResourceID: "main", ResourceName: "main",
		Configuration: json.RawMessage(`{"name":"main","s3BucketName":"logs","isLogging":true}`)}
	h.record(trail)
	r := managedRule("trail-on", "CLOUD_TRAIL_ENABLED")
	r.MaximumExecutionFrequency = ptr("One_Hour")
	if err := h.putRule(r); err != nil {
		t.Fatal(err)
	}
	h.pump(&seq)
	if got := h.results("trail-on"); got[acct] != Compliant {
		t.Fatalf("results = %v; want account COMPLIANT", got)
	}
	// Logging stops: the account-level rule reads trails, so the trail's change runs it at
	// once (AWS would wait for the period).
	stopped := *trail
	stopped.Configuration = json.RawMessage(`{"name":"main","s3BucketName":"logs","isLogging":false}`)
	h.record(&stopped)
	h.pump(&seq)
	if err := h.s.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := h.results("trail-on"); got[acct] != NonCompliant {
		t.Fatalf("after the trail changed: %v; want NON_COMPLIANT", got)
	}
	h.advance(61 * time.Minute)
	if err := h.s.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := h.results("trail-on"); got[acct] != NonCompliant {
		t.Fatalf("after the hour: %v; want NON_COMPLIANT", got)
	}
	h.read(func(ctx context.Context) error {
		st, err := h.s.DescribeConfigRuleEvaluationStatus(ctx, &config.DescribeConfigRuleEvaluationStatusRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if len(st.ConfigRulesEvaluationStatus) != 1 || !*st.ConfigRulesEvaluationStatus[0].FirstEvaluationStarted ||
			!st.ConfigRulesEvaluationStatus[0].LastSuccessfulEvaluationTime.Equal(h.now) {
			t.Errorf("evaluation status = %+v", st.ConfigRulesEvaluationStatus)
		}
		return nil
	})
}

func TestGuardRule(t *testing.T) {
	h := newHarness(t)
	var seq int64
	policy := `rule versioned when resourceType == "AWS::S3::Bucket" {
    supplementaryConfiguration.BucketVersioningConfiguration.status == "Enabled" << versioning must be on >>
}`
	rule := config.ConfigRule{ConfigRuleName: ptr("guarded"), Source: &config.Source{Owner: ptr(OwnerCustomPolicy),
		SourceDetails:       []config.SourceDetail{{EventSource: ptr("aws.config"), MessageType: ptr(ChangeNotification)}},
		CustomPolicyDetails: &config.CustomPolicyDetails{PolicyRuntime: ptr(GuardRuntime), PolicyText: &policy}},
		Scope: &config.Scope{ComplianceResourceTypes: []string{"AWS::S3::Bucket"}}}
	if err := h.putRule(rule); err != nil {
		t.Fatal(err)
	}
	h.record(bucket("a", "Enabled"))
	h.record(bucket("b", "Suspended"))
	h.pump(&seq)
	if got := h.results("guarded"); got["a"] != Compliant || got["b"] != NonCompliant {
		t.Fatalf("results = %v; want a COMPLIANT, b NON_COMPLIANT", got)
	}
	bad := "rule broken { configuration.x == }"
	rule.Source.CustomPolicyDetails.PolicyText = &bad
	err := h.putRule(rule)
	var ipv *config.InvalidParameterValueException
	if !errors.As(err, &ipv) {
		t.Fatalf("PutConfigRule(bad policy) = %v; want InvalidParameterValueException", err)
	}
	if c, _ := awserr.As(err); c == nil || !contains([]string{"InvalidParameterValueException"}, c.AWSErrorCode()) {
		t.Errorf("error code = %v", err)
	}
}

func TestRuleErrors(t *testing.T) {
	h := newHarness(t)
	cases := []struct {
		name string
		rule config.ConfigRule
		code string
	}{
		{"unknown managed rule", managedRule("x", "NO_SUCH_RULE"), "InvalidParameterValueException"},
		{"bad parameter", func() config.ConfigRule {
			r := managedRule("x", "CW_LOGGROUP_RETENTION_PERIOD_CHECK")
			r.InputParameters = ptr(`{"MinRetentionTime":"forever"}`)
			return r
		}(), "InvalidParameterValueException"},
		{"frequency on change rule", func() config.ConfigRule {
			r := managedRule("x", "S3_BUCKET_VERSIONING_ENABLED")
			r.MaximumExecutionFrequency = ptr("One_Hour")
			return r
		}(), "InvalidParameterValueException"},
		{"bad owner", config.ConfigRule{ConfigRuleName: ptr("x"), Source: &config.Source{Owner: ptr("ME")}}, "InvalidParameterValueException"},
		{"lambda without details", config.ConfigRule{ConfigRuleName: ptr("x"), Source: &config.Source{Owner: ptr(OwnerCustomLambda), SourceIdentifier: ptr("arn:aws:lambda:us-east-1:123456789012:function:f")}}, "InvalidParameterValueException"},
	}
	for _, c := range cases {
		err := h.putRule(c.rule)
		if ce, ok := awserr.As(err); !ok || ce.AWSErrorCode() != c.code {
			t.Errorf("%s: PutConfigRule = %v; want %s", c.name, err, c.code)
		}
	}
	err := h.do(func(ctx context.Context) error {
		_, err := h.s.DeleteConfigRule(ctx, &config.DeleteConfigRuleRequest{ConfigRuleName: ptr("absent")})
		return err
	})
	if ce, ok := awserr.As(err); !ok || ce.AWSErrorCode() != "NoSuchConfigRuleException" {
		t.Errorf("DeleteConfigRule(absent) = %v; want NoSuchConfigRuleException", err)
	}
}

func TestPutEvaluations(t *testing.T) {
	h := newHarness(t)
	rule := config.ConfigRule{ConfigRuleName: ptr("lambda"), Source: &config.Source{Owner: ptr(OwnerCustomLambda),
		SourceIdentifier: ptr("arn:aws:lambda:us-east-1:123456789012:function:f"),
		SourceDetails:    []config.SourceDetail{{EventSource: ptr("aws.config"), MessageType: ptr(ChangeNotification)}}}}
	if err := h.putRule(rule); err != nil {
		t.Fatal(err)
	}
	at := h.now
	put := func(token string, ct string) error {
		return h.do(func(ctx context.Context) error {
			_, err := h.s.PutEvaluations(ctx, &config.PutEvaluationsRequest{ResultToken: &token, Evaluations: []config.Evaluation{{
				ComplianceResourceType: ptr("AWS::S3::Bucket"), ComplianceResourceId: ptr("b"), ComplianceType: &ct, OrderingTimestamp: &at}}})
			return err
		})
	}
	if err := put("lambda", NonCompliant); err != nil {
		t.Fatal(err)
	}
	if got := h.results("lambda"); got["b"] != NonCompliant {
		t.Fatalf("results = %v; want b NON_COMPLIANT", got)
	}
	if ce, ok := awserr.As(put("nope", Compliant)); !ok || ce.AWSErrorCode() != "InvalidResultTokenException" {
		t.Errorf("PutEvaluations(bad token) error = %v", ce)
	}
	if ce, ok := awserr.As(put("lambda", InsufficientData)); !ok || ce.AWSErrorCode() != "InvalidParameterValueException" {
		t.Errorf("PutEvaluations(INSUFFICIENT_DATA) error = %v", ce)
	}
}

func TestAutomaticRemediation(t *testing.T) {
	h := newHarness(t)
	var seq int64
	if err := h.putRule(managedRule("versioning", "S3_BUCKET_VERSIONING_ENABLED")); err != nil {
		t.Fatal(err)
	}
	err := h.do(func(ctx context.Context) error {
		_, err := h.s.PutRemediationConfigurations(ctx, &config.PutRemediationConfigurationsRequest{RemediationConfigurations: []config.RemediationConfiguration{{
			ConfigRuleName: ptr("versioning"), TargetType: ptr("SSM_DOCUMENT"), TargetId: ptr("AWS-ConfigureS3BucketVersioning"),
			Automatic: ptr(true), MaximumAutomaticAttempts: ptr(int32(2)), RetryAttemptSeconds: ptr(int64(600)),
			Parameters: map[string]config.RemediationParameterValue{
				"BucketName":           {ResourceValue: &config.ResourceValue{Value: ptr("RESOURCE_ID")}},
				"VersioningState":      {StaticValue: &config.StaticValue{Values: []string{"Enabled"}}},
				"AutomationAssumeRole": {StaticValue: &config.StaticValue{Values: []string{"arn:aws:iam::123456789012:role/r"}}},
			}}}})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	// A rule with a remediation is in use.
	err = h.do(func(ctx context.Context) error {
		_, err := h.s.DeleteConfigRule(ctx, &config.DeleteConfigRuleRequest{ConfigRuleName: ptr("versioning")})
		return err
	})
	if ce, ok := awserr.As(err); !ok || ce.AWSErrorCode() != "ResourceInUseException" {
		t.Errorf("DeleteConfigRule with remediation = %v; want ResourceInUseException", err)
	}
	// An excepted bucket is left alone.
	h.do(func(ctx context.Context) error {
		_, err := h.s.PutRemediationExceptions(ctx, &config.PutRemediationExceptionsRequest{ConfigRuleName: ptr("versioning"),
			ResourceKeys: []config.RemediationExceptionResourceKey{{ResourceType: ptr("AWS::S3::Bucket"), ResourceId: ptr("keep")}}})
		return err
	})
	h.record(bucket("keep", "Off"))
	h.record(bucket("fix", "Off"))
	h.pump(&seq)
	if len(h.runs) != 1 || h.runs[0].doc != "AWS-ConfigureS3BucketVersioning" || h.runs[0].params["BucketName"][0] != "fix" ||
		h.runs[0].params["VersioningState"][0] != "Enabled" {
		t.Fatalf("automation runs = %+v; want one for fix", h.runs)
	}
	state := func() (string, string) {
		var st, msg string
		h.read(func(ctx context.Context) error {
			r, err := h.s.DescribeRemediationExecutionStatus(ctx, &config.DescribeRemediationExecutionStatusRequest{ConfigRuleName: ptr("versioning"),
				ResourceKeys: []config.ResourceKey{{ResourceType: ptr("AWS::S3::Bucket"), ResourceId: ptr("fix")}}})
			if err != nil {
				t.Fatal(err)
			}
			if len(r.RemediationExecutionStatuses) == 1 {
				st = *r.RemediationExecutionStatuses[0].State
				msg = str(r.RemediationExecutionStatuses[0].StepDetails[0].ErrorMessage)
			}
			return nil
		})
		return st, msg
	}
	if st, _ := state(); st != ExecInProgress {
		t.Fatalf("state = %s; want IN_PROGRESS", st)
	}
	// The automation fails: one retry, then FAILED with the reason.
	h.status = "Failed"
	h.s.Tick(context.Background())
	if len(h.runs) != 2 {
		t.Fatalf("automation runs after a failure = %d; want 2 (a retry)", len(h.runs))
	}
	h.s.Tick(context.Background())
	if st, msg := state(); st != ExecFailed || msg == "" {
		t.Fatalf("state = %s (%q); want FAILED with a reason", st, msg)
	}
	if len(h.runs) != 2 {
		t.Fatalf("automation runs = %d; want no more than MaximumAutomaticAttempts 2", len(h.runs))
	}
	// The bucket is fixed by hand: the remediation is done.
	h.record(bucket("fix", "Enabled"))
	h.pump(&seq)
	if st, _ := state(); st != ExecSucceeded {
		t.Fatalf("state after compliance = %s; want SUCCEEDED", st)
	}
}

func TestRemediationValidation(t *testing.T) {
	h := newHarness(t)
	if err := h.putRule(managedRule("versioning", "S3_BUCKET_VERSIONING_ENABLED")); err != nil {
		t.Fatal(err)
	}
	for _, rc := range []config.RemediationConfiguration{
		{ConfigRuleName: ptr("versioning"), TargetType: ptr("SSM_DOCUMENT"), TargetId: ptr("d"), MaximumAutomaticAttempts: ptr(int32(26))},
		{ConfigRuleName: ptr("versioning"), TargetType: ptr("SSM_DOCUMENT"), TargetId: ptr("d"), RetryAttemptSeconds: ptr(int64(0))},
		{ConfigRuleName: ptr("versioning"), TargetType: ptr("LAMBDA"), TargetId: ptr("d")},
		{ConfigRuleName: ptr("absent"), TargetType: ptr("SSM_DOCUMENT"), TargetId: ptr("d")},
		{ConfigRuleName: ptr("versioning"), TargetType: ptr("SSM_DOCUMENT"), TargetId: ptr("d"),
			Parameters: map[string]config.RemediationParameterValue{"x": {ResourceValue: &config.ResourceValue{Value: ptr("ARN")}}}},
		// Automatic remediation without AutomationAssumeRole.
		{ConfigRuleName: ptr("versioning"), TargetType: ptr("SSM_DOCUMENT"), TargetId: ptr("d"), Automatic: ptr(true),
			Parameters: map[string]config.RemediationParameterValue{"BucketName": {ResourceValue: &config.ResourceValue{Value: ptr("RESOURCE_ID")}}}},
	} {
		err := h.do(func(ctx context.Context) error {
			_, err := h.s.PutRemediationConfigurations(ctx, &config.PutRemediationConfigurationsRequest{RemediationConfigurations: []config.RemediationConfiguration{rc}})
			return err
		})
		if ce, ok := awserr.As(err); !ok || ce.AWSErrorCode() != "InvalidParameterValueException" {
			t.Errorf("PutRemediationConfigurations(%+v) = %v; want InvalidParameterValueException", rc, err)
		}
	}
}

func TestConformancePack(t *testing.T) {
	h := newHarness(t)
	body, err := os.ReadFile("../../examples/conformance-packs/control-tower-detective.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var seq int64
	h.record(bucket("plain", "Off"))
	err = h.do(func(ctx context.Context) error {
		_, err := h.s.PutConformancePack(ctx, &config.PutConformancePackRequest{ConformancePackName: ptr("control-tower"),
			TemplateBody: ptr(string(body)), ConformancePackInputParameters: []config.ConformancePackInputParameter{{ParameterName: ptr("MinRetentionDays"), ParameterValue: ptr("30")}}})
		return err
	})
	if err != nil {
		t.Fatalf("PutConformancePack: %v", err)
	}
	h.pump(&seq)
	h.read(func(ctx context.Context) error {
		rules, err := h.s.DescribeConfigRules(ctx, &config.DescribeConfigRulesRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if len(rules.ConfigRules) != 9 {
			t.Fatalf("pack rules = %d; want 9", len(rules.ConfigRules))
		}
		for _, r := range rules.ConfigRules {
			if !strings.Contains(*r.ConfigRuleName, "-conformance-pack-") || str(r.CreatedBy) != "config-conforms.amazonaws.com" {
				t.Errorf("pack rule %s created by %s", *r.ConfigRuleName, str(r.CreatedBy))
			}
			if strings.HasPrefix(*r.ConfigRuleName, "cw-loggroup") && str(r.InputParameters) != `{"MinRetentionTime":"30"}` {
				t.Errorf("InputParameters = %s; want the !Ref resolved to 30", str(r.InputParameters))
			}
		}
		sum, err := h.s.GetConformancePackComplianceSummary(ctx, &config.GetConformancePackComplianceSummaryRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if got := *sum.ConformancePackComplianceSummaryList[0].ConformancePackComplianceStatus; got != NonCompliant {
			t.Errorf("pack compliance = %s; want NON_COMPLIANT (unversioned bucket, no trail)", got)
		}
		return nil
	})
	bad := []string{"Resources: [", "Resources:\n  X:\n    Type: AWS::S3::Bucket\n    Properties: {}\n",
		"Resources:\n  X:\n    Type: AWS::Config::ConfigRule\n    Properties:\n      InputParameters: {a: !Ref Missing}\n      Source: {Owner: AWS, SourceIdentifier: REQUIRED_TAGS}\n"}
	for _, b := range bad {
		err := h.do(func(ctx context.Context) error {
			_, err := h.s.PutConformancePack(ctx, &config.PutConformancePackRequest{ConformancePackName: ptr("bad"), TemplateBody: ptr(b)})
			return err
		})
		if ce, ok := awserr.As(err); !ok || ce.AWSErrorCode() != "ConformancePackTemplateValidationException" {
			t.Errorf("PutConformancePack(%q) = %v; want ConformancePackTemplateValidationException", b, err)
		}
	}
	if err := h.do(func(ctx context.Context) error {
		_, err := h.s.DeleteConformancePack(ctx, &config.DeleteConformancePackRequest{ConformancePackName: ptr("control-tower")})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	h.read(func(ctx context.Context) error {
		rules, err := h.s.DescribeConfigRules(ctx, &config.DescribeConfigRulesRequest{})
		if err != nil || len(rules.ConfigRules) != 0 {
			t.Errorf("rules after DeleteConformancePack = %d, %v; want none", len(rules.ConfigRules), err)
		}
		return nil
	})
}
