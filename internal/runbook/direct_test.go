package runbook_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/bannin/bannin/internal/call"
	"github.com/bannin/bannin/internal/runbook"
	"github.com/bannin/bannin/internal/store"
	"github.com/bannin/bannin/internal/store/sqlite"
	"github.com/bannin/bannin/internal/testenv"
	wssm "github.com/bannin/bannin/internal/wire/ssm"
)

// direct is a runbook service of the test's own, on a store of its own, whose steps call
// a real bannin server's APIs (the server's Invoke, as wiring gives it). It lets a test
// start executions from inside bannin (StartAutomation) and set Options such as a short
// WaitInterval.
type direct struct {
	e   *testenv.Env
	st  store.Store
	svc *runbook.Service
}

const region = "us-east-1"

func newDirect(t *testing.T, waitInterval time.Duration) *direct {
	t.Helper()
	e := testenv.New(t)
	st, err := sqlite.Open(t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatalf("sqlite.Open: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	svc := runbook.New(runbook.Options{Store: st, Invoke: e.Server.Invoke, WaitInterval: waitInterval, Poll: 20 * time.Millisecond})
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := svc.Run(runCtx); err != nil {
			t.Errorf("runbook Run: %v", err)
		}
	}()
	t.Cleanup(func() { stop(); <-done })
	mkTrailBucket(t, e)
	return &direct{e: e, st: st, svc: svc}
}

func mkTrailBucket(t *testing.T, e *testenv.Env) {
	t.Helper()
	if _, err := e.S3().CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("trail-logs")}); err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}
}

func (d *direct) call(tx store.ReadTx) context.Context {
	return call.With(ctx, &call.Call{Account: d.e.Account, Region: region, Tx: tx, Time: time.Now(),
		Caller: call.Principal{Type: "Root", Account: d.e.Account, ARN: "arn:aws:iam::" + d.e.Account + ":root"}})
}

func (d *direct) createDoc(t *testing.T, name, content string) {
	t.Helper()
	err := d.st.Update(ctx, func(tx store.Tx) error {
		_, err := d.svc.CreateDocument(d.call(tx), &wssm.CreateDocumentRequest{Name: aws.String(name), Content: aws.String(content),
			DocumentType: aws.String("Automation"), DocumentFormat: aws.String("YAML")})
		return err
	})
	if err != nil {
		t.Fatalf("CreateDocument(%s): %v", name, err)
	}
}

// start starts a document as AWS Config's remediation does.
func (d *direct) start(t *testing.T, name string, params map[string][]string) string {
	t.Helper()
	var id string
	err := d.st.Update(ctx, func(tx store.Tx) error {
		var err error
		id, err = d.svc.StartAutomation(ctx, tx, runbook.StartRequest{Account: d.e.Account, Region: region, DocumentName: name,
			Parameters: params, Caller: call.Principal{Type: "AWSService", Account: d.e.Account, InvokedBy: "config.amazonaws.com"}})
		return err
	})
	if err != nil {
		t.Fatalf("StartAutomation(%s): %v", name, err)
	}
	return id
}

func (d *direct) get(t *testing.T, id string) *wssm.AutomationExecution {
	t.Helper()
	var out *wssm.GetAutomationExecutionResult
	err := d.st.View(ctx, func(tx store.ReadTx) error {
		var err error
		out, err = d.svc.GetAutomationExecution(d.call(tx), &wssm.GetAutomationExecutionRequest{AutomationExecutionId: aws.String(id)})
		return err
	})
	if err != nil {
		t.Fatalf("GetAutomationExecution(%s): %v", id, err)
	}
	return out.AutomationExecution
}

func (d *direct) waitFor(t *testing.T, id, what string, cond func(*wssm.AutomationExecution) bool) *wssm.AutomationExecution {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ex := d.get(t, id)
		if cond(ex) {
			return ex
		}
		if time.Now().After(deadline) {
			b, _ := json.MarshalIndent(ex, "", " ")
			t.Fatalf("execution %s never became %s:\n%s", id, what, b)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (d *direct) finished(t *testing.T, id string) *wssm.AutomationExecution {
	t.Helper()
	return d.waitFor(t, id, "finished", func(x *wssm.AutomationExecution) bool {
		switch aws.ToString(x.AutomationExecutionStatus) {
		case runbook.StatusSuccess, runbook.StatusFailed, runbook.StatusCancelled, runbook.StatusTimedOut:
			return true
		}
		return false
	})
}

func (d *direct) createTrail(t *testing.T, name string) {
	t.Helper()
	if _, err := d.e.CloudTrail().CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String(name), S3BucketName: aws.String("trail-logs")}); err != nil {
		t.Fatalf("CreateTrail(%s): %v", name, err)
	}
}

// events returns the CloudTrail records of an event name, decoded.
func events(t *testing.T, e *testenv.Env, name string) []map[string]any {
	t.Helper()
	out, err := e.CloudTrail().LookupEvents(ctx, &cloudtrail.LookupEventsInput{LookupAttributes: []cttypes.LookupAttribute{
		{AttributeKey: cttypes.LookupAttributeKeyEventName, AttributeValue: aws.String(name)}}})
	if err != nil {
		t.Fatalf("LookupEvents(%s): %v", name, err)
	}
	var recs []map[string]any
	for _, ev := range out.Events {
		var m map[string]any
		if err := json.Unmarshal([]byte(aws.ToString(ev.CloudTrailEvent)), &m); err != nil {
			t.Fatalf("CloudTrailEvent: %v", err)
		}
		recs = append(recs, m)
	}
	return recs
}

// statusCalls waits until CloudTrail has recorded at least n GetTrailStatus calls.
func statusCalls(t *testing.T, e *testenv.Env, n int) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		got := len(events(t, e, "GetTrailStatus"))
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("GetTrailStatus calls = %d; want at least %d", got, n)
		}
	}
}

const waitDoc = `schemaVersion: "0.3"
parameters:
  TrailName: {type: String}
mainSteps:
  - name: WaitForLogging
    action: aws:waitForAwsResourceProperty
    timeoutSeconds: 60
    inputs:
      Service: cloudtrail
      Api: GetTrailStatus
      Name: "{{ TrailName }}"
      PropertySelector: "$.IsLogging"
      DesiredValues: ["True"]
`

// TestWaitForPropertyUntilDesired polls a trail's status until another goroutine starts
// its logging.
func TestWaitForPropertyUntilDesired(t *testing.T) {
	d := newDirect(t, 20*time.Millisecond)
	d.createTrail(t, "watched")
	d.createDoc(t, "WaitLogging", waitDoc)
	id := d.start(t, "WaitLogging", map[string][]string{"TrailName": {"watched"}})
	d.waitFor(t, id, "waiting", func(x *wssm.AutomationExecution) bool {
		return len(x.StepExecutions) == 1 && aws.ToString(x.StepExecutions[0].StepStatus) == runbook.StatusInProgress
	})
	// Logging starts once the step has seen it off at least once.
	statusCalls(t, d.e, 1)
	started := make(chan error, 1)
	go func() {
		time.Sleep(100 * time.Millisecond)
		_, err := d.e.CloudTrail().StartLogging(ctx, &cloudtrail.StartLoggingInput{Name: aws.String("watched")})
		started <- err
	}()
	ex := d.finished(t, id)
	if err := <-started; err != nil {
		t.Fatalf("StartLogging: %v", err)
	}
	if aws.ToString(ex.AutomationExecutionStatus) != runbook.StatusSuccess {
		t.Fatalf("execution = %s (%s); want Success once logging started", aws.ToString(ex.AutomationExecutionStatus), aws.ToString(ex.FailureMessage))
	}
	statusCalls(t, d.e, 2) // polled before and after logging started
	// The step as DescribeAutomationStepExecutions gives it.
	var steps *wssm.DescribeAutomationStepExecutionsResult
	err := d.st.View(ctx, func(tx store.ReadTx) error {
		var err error
		steps, err = d.svc.DescribeAutomationStepExecutions(d.call(tx), &wssm.DescribeAutomationStepExecutionsRequest{AutomationExecutionId: aws.String(id)})
		return err
	})
	if err != nil || len(steps.StepExecutions) != 1 {
		t.Fatalf("DescribeAutomationStepExecutions = %+v, %v; want one step", steps, err)
	}
	s := steps.StepExecutions[0]
	if aws.ToString(s.StepExecutionId) == "" || s.ExecutionStartTime == nil || s.ExecutionEndTime == nil || s.ExecutionEndTime.Before(*s.ExecutionStartTime) {
		t.Errorf("step id %q start %v end %v; want an id and a start before the end", aws.ToString(s.StepExecutionId), s.ExecutionStartTime, s.ExecutionEndTime)
	}
	if s.Inputs["Name"] != `"watched"` || s.Inputs["DesiredValues"] != `["True"]` || s.Inputs["PropertySelector"] != `"$.IsLogging"` {
		t.Errorf("step inputs = %v; want JSON strings of the resolved inputs", s.Inputs)
	}
	if aws.ToInt64(s.TimeoutSeconds) != 60 || aws.ToString(s.OnFailure) != "Abort" {
		t.Errorf("step timeoutSeconds %d onFailure %s; want 60 and Abort", aws.ToInt64(s.TimeoutSeconds), aws.ToString(s.OnFailure))
	}
	if ex.ResolvedTargets == nil || ex.ResolvedTargets.ParameterValues == nil || ex.Targets == nil {
		t.Errorf("execution ResolvedTargets %+v Targets %v; want both present and empty", ex.ResolvedTargets, ex.Targets)
	}
}

// TestWaitForPropertyTimesOut gives up at timeoutSeconds with a message that says what
// was awaited and what the property was.
func TestWaitForPropertyTimesOut(t *testing.T) {
	d := newDirect(t, 20*time.Millisecond)
	d.createTrail(t, "idle")
	d.createDoc(t, "WaitShort", strings.Replace(waitDoc, "timeoutSeconds: 60", "timeoutSeconds: 1", 1))
	id := d.start(t, "WaitShort", map[string][]string{"TrailName": {"idle"}})
	ex := d.finished(t, id)
	if aws.ToString(ex.AutomationExecutionStatus) != runbook.StatusTimedOut || len(ex.StepExecutions) != 1 ||
		aws.ToString(ex.StepExecutions[0].StepStatus) != runbook.StatusTimedOut {
		b, _ := json.MarshalIndent(ex, "", " ")
		t.Fatalf("execution = %s; want TimedOut with the step TimedOut\n%s", aws.ToString(ex.AutomationExecutionStatus), b)
	}
	msg := aws.ToString(ex.StepExecutions[0].FailureMessage)
	for _, want := range []string{"Timed out after 1s", "$.IsLogging", "[True]", "it is false"} {
		if !strings.Contains(msg, want) {
			t.Errorf("step failure message = %q; want it to contain %q", msg, want)
		}
	}
	if !strings.Contains(aws.ToString(ex.FailureMessage), "WaitForLogging") {
		t.Errorf("execution failure message = %q; want it to name the step", aws.ToString(ex.FailureMessage))
	}
}

const remediationDoc = `schemaVersion: "0.3"
assumeRole: "{{ AutomationAssumeRole }}"
parameters:
  AutomationAssumeRole: {type: String, default: ""}
  TrailName: {type: String}
mainSteps:
  - name: Start
    action: aws:executeAwsApi
    inputs: {Service: cloudtrail, Api: StartLogging, Name: "{{ TrailName }}"}
  - name: Status
    action: aws:executeAwsApi
    inputs: {Service: cloudtrail, Api: GetTrailStatus, Name: "{{ TrailName }}"}
    outputs:
      - {Name: IsLogging, Selector: "$.IsLogging", Type: Boolean}
`

// TestStartAutomationFromInside starts a runbook as AWS Config's remediation does: its
// calls are made as the document's assumeRole, or without one as SSM's service-linked
// role, and CloudTrail records them so.
func TestStartAutomationFromInside(t *testing.T) {
	d := newDirect(t, 20*time.Millisecond)
	d.createTrail(t, "by-role")
	d.createTrail(t, "by-slr")
	d.createDoc(t, "Remediate", remediationDoc)
	role := "arn:aws:iam::" + d.e.Account + ":role/remediation"
	withRole := d.start(t, "Remediate", map[string][]string{"TrailName": {"by-role"}, "AutomationAssumeRole": {role}})
	withoutRole := d.start(t, "Remediate", map[string][]string{"TrailName": {"by-slr"}})
	for _, id := range []string{withRole, withoutRole} {
		ex := d.finished(t, id)
		if aws.ToString(ex.AutomationExecutionStatus) != runbook.StatusSuccess {
			t.Fatalf("execution %s = %s (%s); want Success", id, aws.ToString(ex.AutomationExecutionStatus), aws.ToString(ex.FailureMessage))
		}
		if got := aws.ToString(ex.ExecutedBy); got != "config.amazonaws.com" {
			t.Errorf("ExecutedBy = %q; want config.amazonaws.com", got)
		}
		if got := ex.StepExecutions[1].Outputs["Status.IsLogging"]; len(got) != 1 || got[0] != "true" {
			t.Errorf("Status outputs = %v; want IsLogging [true]", ex.StepExecutions[1].Outputs)
		}
	}
	slr := "arn:aws:iam::" + d.e.Account + ":role/aws-service-role/ssm.amazonaws.com/AWSServiceRoleForAmazonSSM"
	want := map[string]string{"by-role": role, "by-slr": slr}
	seen := map[string]bool{}
	for _, rec := range events(t, d.e, "StartLogging") {
		params, _ := rec["requestParameters"].(map[string]any)
		trail, _ := params["name"].(string)
		issuerARN, ok := want[trail]
		if !ok {
			continue
		}
		seen[trail] = true
		u, _ := rec["userIdentity"].(map[string]any)
		sc, _ := u["sessionContext"].(map[string]any)
		issuer, _ := sc["sessionIssuer"].(map[string]any)
		if u["type"] != "AssumedRole" || issuer["arn"] != issuerARN || u["invokedBy"] != "ssm.amazonaws.com" {
			b, _ := json.MarshalIndent(u, "", " ")
			t.Errorf("StartLogging %s userIdentity = %s; want AssumedRole of %s invoked by ssm.amazonaws.com", trail, b, issuerARN)
		}
	}
	if len(seen) != 2 {
		t.Errorf("StartLogging records for %v; want both trails", seen)
	}

	// A call that fails fails its step, with the API's error and an Action failure.
	ex := d.finished(t, d.start(t, "Remediate", map[string][]string{"TrailName": {"missing"}}))
	if aws.ToString(ex.AutomationExecutionStatus) != runbook.StatusFailed || len(ex.StepExecutions) != 1 {
		t.Fatalf("execution on a missing trail = %s with %d steps; want Failed at the first", aws.ToString(ex.AutomationExecutionStatus), len(ex.StepExecutions))
	}
	s := ex.StepExecutions[0]
	if fd := s.FailureDetails; fd == nil || aws.ToString(fd.FailureType) != "Action" || aws.ToString(fd.FailureStage) != "Invocation" ||
		!strings.Contains(aws.ToString(s.FailureMessage), "TrailNotFoundException") {
		t.Errorf("failed step %q details %+v; want TrailNotFoundException, an Action failure at Invocation", aws.ToString(s.FailureMessage), s.FailureDetails)
	}
}
