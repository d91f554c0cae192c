package runbook

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/google/uuid"

	"github.com/bannin/bannin/internal/call"
	"github.com/bannin/bannin/internal/iam"
	"github.com/bannin/bannin/internal/store"
	"github.com/bannin/bannin/internal/wire/ssm"
)

// Execution and step statuses (AutomationExecutionStatus).
const (
	StatusPending    = "Pending"
	StatusInProgress = "InProgress"
	StatusWaiting    = "Waiting"
	StatusSuccess    = "Success"
	StatusTimedOut   = "TimedOut"
	StatusCancelling = "Cancelling"
	StatusCancelled  = "Cancelled"
	StatusFailed     = "Failed"
)

// KindAutomation is the stream entry kind announcing that an execution has work to do (it
// was started or stopped); its payload is the execution's key.
const KindAutomation = "ssm.automation"

// Buckets of the store's key-value space: executions by account/region/id, and the keys of
// those not yet finished with the time they next have work (RFC 3339, "" = now).
const (
	executionBucket = "ssm.automation-execution"
	activeBucket    = "ssm.automation-active"
)

// execution is an automation execution's durable state.
type execution struct {
	ID              string              `json:"id"`
	Account         string              `json:"account"`
	Region          string              `json:"region"`
	DocumentName    string              `json:"documentName"`
	DocumentVersion string              `json:"documentVersion"`
	Def             *Definition         `json:"definition"`
	Parameters      map[string][]string `json:"parameters"`
	// Vars are the typed values of parameters, built-in variables and step outputs.
	Vars           map[string]any      `json:"vars"`
	Status         string              `json:"status"`
	Start          time.Time           `json:"start"`
	End            *time.Time          `json:"end,omitempty"`
	Steps          []*stepRun          `json:"steps"`
	Next           string              `json:"next,omitempty"` // the step to run next
	WakeAt         *time.Time          `json:"wakeAt,omitempty"`
	Caller         call.Principal      `json:"caller"`
	FailureMessage string              `json:"failureMessage,omitempty"`
	Outputs        map[string][]string `json:"outputs,omitempty"`
	// CriticalFailed is set when a critical step failed and the execution went on.
	CriticalFailed bool `json:"criticalFailed,omitempty"`
	// Cancelling is set by StopAutomationExecution while a step runs.
	Cancelling bool `json:"cancelling,omitempty"`
	// CancelFlow is set while the step named by the cancelled step's onCancel (and the
	// steps it leads to) runs; the execution then ends Cancelled.
	CancelFlow bool `json:"cancelFlow,omitempty"`
}

// stepRun is one step's execution.
type stepRun struct {
	ID             string              `json:"id"`
	Name           string              `json:"name"`
	Action         string              `json:"action"`
	Status         string              `json:"status"`
	Start          *time.Time          `json:"start,omitempty"`
	End            *time.Time          `json:"end,omitempty"`
	Inputs         map[string]string   `json:"inputs,omitempty"`
	Outputs        map[string][]string `json:"outputs,omitempty"`
	Response       string              `json:"response,omitempty"`
	FailureMessage string              `json:"failureMessage,omitempty"`
	FailureType    string              `json:"failureType,omitempty"`
	Attempts       int                 `json:"attempts,omitempty"`
	WakeAt         *time.Time          `json:"wakeAt,omitempty"`
	NextStep       string              `json:"nextStep,omitempty"`
}

func execKey(account, region, id string) string { return account + "/" + region + "/" + id }

func (e *execution) key() string { return execKey(e.Account, e.Region, e.ID) }

func (e *execution) terminal() bool {
	switch e.Status {
	case StatusSuccess, StatusFailed, StatusCancelled, StatusTimedOut:
		return true
	}
	return false
}

func (e *execution) step(name string) *Step {
	for i := range e.Def.Steps {
		if e.Def.Steps[i].Name == name {
			return &e.Def.Steps[i]
		}
	}
	return nil
}

func loadExecution(ctx context.Context, tx store.ReadTx, key string) (*execution, error) {
	b, err := tx.Get(ctx, executionBucket, key)
	if err != nil {
		return nil, fmt.Errorf("runbook: read execution %s: %w", key, err)
	}
	if b == nil {
		return nil, nil
	}
	var e execution
	if err := json.Unmarshal(b, &e); err != nil {
		return nil, fmt.Errorf("runbook: decode execution %s: %w", key, err)
	}
	e.Def.params = paramIndex{}
	for i, p := range e.Def.Params {
		e.Def.params[p.Name] = i
	}
	return &e, nil
}

// saveExecution writes e and keeps the active index in step with it.
func saveExecution(ctx context.Context, tx store.Tx, e *execution) error {
	b, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("runbook: encode execution: %w", err)
	}
	if err := tx.Put(ctx, executionBucket, e.key(), b); err != nil {
		return fmt.Errorf("runbook: save execution: %w", err)
	}
	if e.terminal() {
		return tx.Delete(ctx, activeBucket, e.key())
	}
	wake := ""
	if e.WakeAt != nil && !e.Cancelling {
		wake = e.WakeAt.UTC().Format(time.RFC3339Nano)
	}
	return tx.Put(ctx, activeBucket, e.key(), []byte(wake))
}

// announce appends the stream entry that wakes the runner for e.
func announce(ctx context.Context, tx store.Tx, e *execution) error {
	if _, err := tx.Append(ctx, KindAutomation, []byte(e.key())); err != nil {
		return fmt.Errorf("runbook: append %s: %w", KindAutomation, err)
	}
	return nil
}

// StartAutomation starts an execution in tx and returns its id; the steps run after tx
// commits.
func (s *Service) StartAutomation(ctx context.Context, tx store.Tx, r StartRequest) (string, error) {
	d, err := loadDocument(ctx, tx, r.Account, r.Region, r.DocumentName)
	if err != nil {
		if _, ok := err.(*ssm.InvalidDocument); ok {
			return "", &ssm.AutomationDefinitionNotFoundException{Message: msg("Automation definition %s not found.", docName(r.DocumentName))}
		}
		return "", err
	}
	if d.DocumentType != DocAutomation {
		return "", &ssm.InvalidDocumentType{Message: msg("Document %s is of type %s; only Automation documents can be started.", d.Name, d.DocumentType)}
	}
	v, err := pickVersion(ctx, tx, r.Account, r.Region, d, r.DocumentVersion, "")
	if err != nil {
		if _, ok := err.(*ssm.InvalidDocumentVersion); ok {
			return "", &ssm.AutomationDefinitionVersionNotFoundException{Message: msg("Automation definition %s version %s not found.", d.Name, r.DocumentVersion)}
		}
		return "", err
	}
	def, err := parseDefinition(v.Content, v.Format, d.DocumentType)
	if err != nil {
		return "", fmt.Errorf("runbook: stored document %s does not parse: %w", d.Name, err)
	}
	now := s.opts.Clock().UTC()
	e := &execution{ID: uuid.NewString(), Account: r.Account, Region: r.Region, DocumentName: d.Name,
		DocumentVersion: fmt.Sprint(v.Version), Def: def, Status: StatusPending, Start: now, Caller: r.Caller,
		Steps: []*stepRun{}, Next: def.Steps[0].Name, Parameters: map[string][]string{}}
	if e.Vars, err = bindParameters(def, r.Parameters); err != nil {
		return "", &ssm.InvalidAutomationExecutionParametersException{Message: msg("%v", err)}
	}
	for _, p := range def.Params {
		if val, ok := e.Vars[p.Name]; ok {
			e.Parameters[p.Name] = toStrings(val)
		}
	}
	maps.Copy(e.Vars, map[string]any{
		"automation:EXECUTION_ID": e.ID, "automation:AUTOMATION_EXECUTION_ID": e.ID,
		"global:ACCOUNT_ID": r.Account, "global:REGION": r.Region, "global:AWS_PARTITION": "aws",
		"global:DATE_TIME": now.Format("2006-01-02_15.04.05"), "global:DATE": now.Format("2006-01-02"),
	})
	if def.AssumeRole != "" {
		role, err := interpolate(def.AssumeRole, e.Vars)
		if err != nil {
			return "", &ssm.InvalidAutomationExecutionParametersException{Message: msg("assumeRole: %v", err)}
		}
		if rs := scalarString(role); rs != "" {
			if _, err := iam.AssumedRole(rs, "check", "ssm.amazonaws.com", now); err != nil {
				return "", &ssm.InvalidAutomationExecutionParametersException{Message: msg("The assumeRole %s is not a valid IAM role ARN.", rs)}
			}
		}
	}
	if err := saveExecution(ctx, tx, e); err != nil {
		return "", err
	}
	if err := announce(ctx, tx, e); err != nil {
		return "", err
	}
	return e.ID, nil
}

// bindParameters checks the given parameters against the document's and types them.
func bindParameters(def *Definition, given map[string][]string) (map[string]any, error) {
	vars := map[string]any{}
	for _, name := range slices.Sorted(maps.Keys(given)) {
		if _, ok := def.params[name]; !ok {
			return nil, fmt.Errorf("Parameter %q is not defined in the document.", name)
		}
	}
	for i := range def.Params {
		p := &def.Params[i]
		vs, ok := given[p.Name]
		if !ok {
			if !p.HasDefault {
				return nil, fmt.Errorf("Parameter %q is required but was not given.", p.Name)
			}
			vars[p.Name] = p.Default
			continue
		}
		val, err := p.fromStrings(vs)
		if err != nil {
			return nil, fmt.Errorf("Parameter %q is not valid: %v", p.Name, err)
		}
		vars[p.Name] = val
	}
	return vars, nil
}

// AutomationStatus returns an execution's AutomationExecutionStatus and, when it failed,
// its failure message.
func (s *Service) AutomationStatus(ctx context.Context, tx store.ReadTx, account, region, executionID string) (status, message string, err error) {
	e, err := loadExecution(ctx, tx, execKey(account, region, executionID))
	if err != nil {
		return "", "", err
	}
	if e == nil {
		return "", "", &ssm.AutomationExecutionNotFoundException{Message: msg("Automation execution %s not found.", executionID)}
	}
	return e.Status, e.FailureMessage, nil
}

// StartAutomationExecution starts a document as the caller.
func (s *Service) StartAutomationExecution(ctx context.Context, in *ssm.StartAutomationExecutionRequest) (*ssm.StartAutomationExecutionResult, error) {
	c := call.From(ctx)
	if m := aws.ToString(in.Mode); m != "" && m != "Auto" {
		return nil, &ssm.InvalidAutomationExecutionParametersException{Message: msg("Mode %s is not supported by bannin; use Auto.", m)}
	}
	if len(in.Targets) > 0 || len(in.TargetMaps) > 0 || len(in.TargetLocations) > 0 || in.TargetLocationsURL != nil {
		return nil, &ssm.InvalidAutomationExecutionParametersException{Message: msg("Rate-controlled and multi-account executions (Targets, TargetMaps, TargetLocations) are not supported by bannin.")}
	}
	id, err := s.StartAutomation(ctx, c.Write(), StartRequest{Account: c.Account, Region: c.Region,
		DocumentName: aws.ToString(in.DocumentName), DocumentVersion: aws.ToString(in.DocumentVersion),
		Parameters: in.Parameters, Caller: c.Caller})
	if err != nil {
		return nil, err
	}
	c.Touch("AWS::SSM::AutomationExecution", id, "")
	return &ssm.StartAutomationExecutionResult{AutomationExecutionId: aws.String(id)}, nil
}

func (s *Service) getExecution(ctx context.Context, c *call.Call, id string) (*execution, error) {
	e, err := loadExecution(ctx, c.Tx, execKey(c.Account, c.Region, id))
	if err != nil {
		return nil, err
	}
	if e == nil {
		return nil, &ssm.AutomationExecutionNotFoundException{Message: msg("Automation execution %s not found.", id)}
	}
	return e, nil
}

// StopAutomationExecution cancels an execution: the running step is let finish (or is
// interrupted, for aws:sleep and waits), then the execution ends Cancelled.
func (s *Service) StopAutomationExecution(ctx context.Context, in *ssm.StopAutomationExecutionRequest) (*ssm.StopAutomationExecutionResult, error) {
	c := call.From(ctx)
	if t := aws.ToString(in.Type); t != "" && t != "Cancel" {
		return nil, &ssm.InvalidAutomationStatusUpdateException{Message: msg("Stop type %s is not supported by bannin; use Cancel.", t)}
	}
	e, err := s.getExecution(ctx, c, aws.ToString(in.AutomationExecutionId))
	if err != nil {
		return nil, err
	}
	if e.terminal() {
		return nil, &ssm.InvalidAutomationStatusUpdateException{Message: msg("The execution %s is already %s.", e.ID, e.Status)}
	}
	if !e.Cancelling {
		e.Cancelling = true
		e.Status = StatusCancelling
		if err := saveExecution(ctx, c.Write(), e); err != nil {
			return nil, err
		}
		if err := announce(ctx, c.Write(), e); err != nil {
			return nil, err
		}
	}
	return &ssm.StopAutomationExecutionResult{}, nil
}

func (e *execution) executedBy() string {
	if e.Caller.ARN != "" {
		return e.Caller.ARN
	}
	if e.Caller.Type == "AWSService" {
		return e.Caller.InvokedBy
	}
	return ""
}

func (e *execution) currentStep() *stepRun {
	if len(e.Steps) == 0 {
		return nil
	}
	return e.Steps[len(e.Steps)-1]
}

func (e *execution) wire() *ssm.AutomationExecution {
	out := &ssm.AutomationExecution{AutomationExecutionId: aws.String(e.ID), DocumentName: aws.String(e.DocumentName),
		DocumentVersion: aws.String(e.DocumentVersion), ExecutionStartTime: aws.Time(e.Start), ExecutionEndTime: e.End,
		AutomationExecutionStatus: aws.String(e.Status), Parameters: e.Parameters, Outputs: e.outputs(),
		Mode: aws.String("Auto"), StepExecutionsTruncated: aws.Bool(false), StepExecutions: []ssm.StepExecution{},
		Targets: []ssm.Target{}, ResolvedTargets: noTargets()}
	if by := e.executedBy(); by != "" {
		out.ExecutedBy = aws.String(by)
	}
	if e.FailureMessage != "" {
		out.FailureMessage = aws.String(e.FailureMessage)
	}
	if cur := e.currentStep(); cur != nil && !e.terminal() {
		out.CurrentStepName, out.CurrentAction = aws.String(cur.Name), aws.String(cur.Action)
	}
	for _, r := range e.Steps {
		out.StepExecutions = append(out.StepExecutions, e.wireStep(r))
	}
	return out
}

// outputs are the document's outputs, or every step output when it declares none.
func (e *execution) outputs() map[string][]string {
	out := map[string][]string{}
	if len(e.Def.Outputs) == 0 {
		for _, r := range e.Steps {
			maps.Copy(out, r.Outputs)
		}
		return out
	}
	for _, o := range e.Def.Outputs {
		if v, ok := e.Vars[o]; ok {
			out[o] = toStrings(v)
		} else if e.terminal() {
			out[o] = []string{"No output available yet because the step is not successfully executed"}
		}
	}
	return out
}

func (e *execution) wireStep(r *stepRun) ssm.StepExecution {
	st := e.step(r.Name)
	out := ssm.StepExecution{StepName: aws.String(r.Name), Action: aws.String(r.Action), StepStatus: aws.String(r.Status),
		StepExecutionId: aws.String(r.ID), ExecutionStartTime: r.Start, ExecutionEndTime: r.End, Inputs: r.Inputs,
		Outputs: r.Outputs}
	if r.Response != "" {
		out.Response = aws.String(r.Response)
	}
	if r.FailureMessage != "" {
		out.FailureMessage = aws.String(r.FailureMessage)
		out.FailureDetails = &ssm.FailureDetails{FailureStage: aws.String("Invocation"), FailureType: aws.String(orElse(r.FailureType, "Verification"))}
	}
	if st != nil {
		out.OnFailure = aws.String(orElse(st.OnFailure, "Abort"))
		out.MaxAttempts = aws.Int32(int32(max(st.MaxAttempts, 1)))
		if st.TimeoutSeconds > 0 {
			out.TimeoutSeconds = aws.Int64(int64(st.TimeoutSeconds))
		}
		out.IsEnd = aws.Bool(st.IsEnd)
		out.IsCritical = aws.Bool(st.IsCritical == nil || *st.IsCritical)
		if st.NextStep != "" {
			out.NextStep = aws.String(st.NextStep)
		}
		if st.Action == ActionBranch {
			out.ValidNextSteps = branchTargets(st)
		}
	}
	if r.NextStep != "" {
		out.NextStep = aws.String(r.NextStep)
	}
	return out
}

// noTargets is the ResolvedTargets of an execution without targets (every execution
// bannin runs: rate control is not supported), as AWS gives it.
func noTargets() *ssm.ResolvedTargets {
	return &ssm.ResolvedTargets{ParameterValues: []string{}, Truncated: aws.Bool(false)}
}

func branchTargets(st *Step) []string {
	var out []string
	choices, _ := st.Inputs["Choices"].([]any)
	for _, c := range choices {
		if m, ok := c.(map[string]any); ok {
			if n, ok := m["NextStep"].(string); ok && !slices.Contains(out, n) {
				out = append(out, n)
			}
		}
	}
	if d, ok := st.Inputs["Default"].(string); ok && !slices.Contains(out, d) {
		out = append(out, d)
	}
	return out
}

func orElse(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// GetAutomationExecution describes an execution and its steps.
func (s *Service) GetAutomationExecution(ctx context.Context, in *ssm.GetAutomationExecutionRequest) (*ssm.GetAutomationExecutionResult, error) {
	c := call.From(ctx)
	e, err := s.getExecution(ctx, c, aws.ToString(in.AutomationExecutionId))
	if err != nil {
		return nil, err
	}
	return &ssm.GetAutomationExecutionResult{AutomationExecution: e.wire()}, nil
}

// listExecutions reads the executions of an account and region.
func listExecutions(ctx context.Context, tx store.ReadTx, account, region string) ([]*execution, error) {
	var out []*execution
	prefix, after := account+"/"+region+"/", ""
	for {
		kvs, err := tx.List(ctx, executionBucket, prefix, after, 500)
		if err != nil {
			return nil, fmt.Errorf("runbook: list executions: %w", err)
		}
		for _, kv := range kvs {
			e, err := loadExecution(ctx, tx, kv.Key)
			if err != nil {
				return nil, err
			}
			out = append(out, e)
		}
		if len(kvs) < 500 {
			return out, nil
		}
		after = kvs[len(kvs)-1].Key
	}
}

// DescribeAutomationExecutions lists executions, newest first.
func (s *Service) DescribeAutomationExecutions(ctx context.Context, in *ssm.DescribeAutomationExecutionsRequest) (*ssm.DescribeAutomationExecutionsResult, error) {
	c := call.From(ctx)
	all, err := listExecutions(ctx, c.Tx, c.Account, c.Region)
	if err != nil {
		return nil, err
	}
	var keep []*execution
	for _, e := range all {
		ok, err := matchExecution(e, in.Filters)
		if err != nil {
			return nil, err
		}
		if ok {
			keep = append(keep, e)
		}
	}
	slices.SortFunc(keep, func(a, b *execution) int {
		if c := b.Start.Compare(a.Start); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	page, next, err := pageOf(keep, aws.ToString(in.NextToken), int(aws.ToInt32(in.MaxResults)), 50)
	if err != nil {
		return nil, err
	}
	out := &ssm.DescribeAutomationExecutionsResult{AutomationExecutionMetadataList: []ssm.AutomationExecutionMetadata{}, NextToken: next}
	for _, e := range page {
		m := ssm.AutomationExecutionMetadata{AutomationExecutionId: aws.String(e.ID), DocumentName: aws.String(e.DocumentName),
			DocumentVersion: aws.String(e.DocumentVersion), AutomationExecutionStatus: aws.String(e.Status),
			ExecutionStartTime: aws.Time(e.Start), ExecutionEndTime: e.End, Outputs: e.outputs(), Mode: aws.String("Auto"),
			AutomationType: aws.String("Local"), Targets: []ssm.Target{}, ResolvedTargets: noTargets()}
		if by := e.executedBy(); by != "" {
			m.ExecutedBy = aws.String(by)
		}
		if e.FailureMessage != "" {
			m.FailureMessage = aws.String(e.FailureMessage)
		}
		if cur := e.currentStep(); cur != nil && !e.terminal() {
			m.CurrentStepName, m.CurrentAction = aws.String(cur.Name), aws.String(cur.Action)
		}
		out.AutomationExecutionMetadataList = append(out.AutomationExecutionMetadataList, m)
	}
	return out, nil
}

// pageOf pages a list with a numeric offset token.
func pageOf[T any](list []T, token string, limit, max int) ([]T, *string, error) {
	if limit <= 0 || limit > max {
		limit = max
	}
	start := 0
	if token != "" {
		if _, err := fmt.Sscanf(token, "%d", &start); err != nil || start < 0 || start > len(list) {
			return nil, nil, &ssm.InvalidNextToken{Message: msg("The specified token is not valid.")}
		}
	}
	end := min(start+limit, len(list))
	var next *string
	if end < len(list) {
		next = aws.String(fmt.Sprint(end))
	}
	return list[start:end], next, nil
}

func parseFilterTime(key, v string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return t, &ssm.InvalidFilterValue{Message: msg("The %s filter value %s is not a valid timestamp (use ISO 8601, e.g. 2024-01-02T15:04:05Z).", key, v)}
	}
	return t, nil
}

func matchExecution(e *execution, filters []ssm.AutomationExecutionFilter) (bool, error) {
	for _, f := range filters {
		k := aws.ToString(f.Key)
		ok := false
		for _, v := range f.Values {
			switch k {
			case "DocumentNamePrefix":
				ok = ok || strings.HasPrefix(e.DocumentName, v)
			case "ExecutionStatus":
				ok = ok || e.Status == v
			case "ExecutionId":
				ok = ok || e.ID == v
			case "CurrentAction":
				cur := e.currentStep()
				ok = ok || (cur != nil && !e.terminal() && cur.Action == v)
			case "AutomationType":
				ok = ok || v == "Local"
			case "StartTimeBefore", "StartTimeAfter":
				t, err := parseFilterTime(k, v)
				if err != nil {
					return false, err
				}
				if k == "StartTimeBefore" {
					ok = ok || e.Start.Before(t)
				} else {
					ok = ok || !e.Start.Before(t)
				}
			case "ParentExecutionId", "TagKey", "TargetResourceGroup", "AutomationSubtype", "OpsItemId":
				// bannin's executions have no parents, tags, targets, subtypes or OpsItems.
			default:
				return false, &ssm.InvalidFilterKey{Message: msg("The filter key %s is not valid.", k)}
			}
		}
		if !ok {
			return false, nil
		}
	}
	return true, nil
}

// DescribeAutomationStepExecutions lists an execution's steps.
func (s *Service) DescribeAutomationStepExecutions(ctx context.Context, in *ssm.DescribeAutomationStepExecutionsRequest) (*ssm.DescribeAutomationStepExecutionsResult, error) {
	c := call.From(ctx)
	e, err := s.getExecution(ctx, c, aws.ToString(in.AutomationExecutionId))
	if err != nil {
		return nil, err
	}
	var keep []ssm.StepExecution
	for _, r := range e.Steps {
		ok, err := matchStep(r, in.Filters)
		if err != nil {
			return nil, err
		}
		if ok {
			keep = append(keep, e.wireStep(r))
		}
	}
	if aws.ToBool(in.ReverseOrder) {
		slices.Reverse(keep)
	}
	page, next, err := pageOf(keep, aws.ToString(in.NextToken), int(aws.ToInt32(in.MaxResults)), 50)
	if err != nil {
		return nil, err
	}
	if page == nil {
		page = []ssm.StepExecution{}
	}
	return &ssm.DescribeAutomationStepExecutionsResult{StepExecutions: page, NextToken: next}, nil
}

func matchStep(r *stepRun, filters []ssm.StepExecutionFilter) (bool, error) {
	for _, f := range filters {
		k := aws.ToString(f.Key)
		ok := false
		for _, v := range f.Values {
			switch k {
			case "StepExecutionStatus":
				ok = ok || r.Status == v
			case "StepExecutionId":
				ok = ok || r.ID == v
			case "StepName":
				ok = ok || r.Name == v
			case "Action":
				ok = ok || r.Action == v
			case "StartTimeBefore", "StartTimeAfter":
				t, err := parseFilterTime(k, v)
				if err != nil {
					return false, err
				}
				if r.Start != nil {
					if k == "StartTimeBefore" {
						ok = ok || r.Start.Before(t)
					} else {
						ok = ok || !r.Start.Before(t)
					}
				}
			case "ParentStepExecutionId", "ParentStepIteration", "ParentStepIteratorValue":
			default:
				return false, &ssm.InvalidFilterKey{Message: msg("The filter key %s is not valid.", k)}
			}
		}
		if !ok {
			return false, nil
		}
	}
	return true, nil
}
