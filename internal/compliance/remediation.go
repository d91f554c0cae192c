package compliance

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/bannin/bannin/internal/call"
	"github.com/bannin/bannin/internal/store"
	"github.com/bannin/bannin/internal/wire/config"
)

// Remediation: a rule's remediation configuration names an SSM Automation document; an
// automatic one starts it (through Options.StartAutomation, in the transaction of the
// evaluation) when a resource becomes NON_COMPLIANT and is not excepted. Executions are
// followed from Run: a failed attempt is retried until MaximumAutomaticAttempts, then the
// execution is FAILED with the reason; a resource that becomes COMPLIANT settles it.

// Remediation execution states (RemediationExecutionState).
const (
	ExecQueued     = "QUEUED"
	ExecInProgress = "IN_PROGRESS"
	ExecSucceeded  = "SUCCEEDED"
	ExecFailed     = "FAILED"
)

// resourceIDParam is the ResourceValue that stands for the evaluated resource's id.
const resourceIDParam = "RESOURCE_ID"

type storedRemedy struct {
	Rule             string                 `json:"rule"`
	TargetType       string                 `json:"targetType"`
	TargetID         string                 `json:"targetId"`
	TargetVersion    string                 `json:"targetVersion,omitempty"`
	ResourceType     string                 `json:"resourceType,omitempty"`
	Params           map[string]remedyParam `json:"params,omitempty"`
	Automatic        bool                   `json:"automatic"`
	MaxAttempts      int32                  `json:"maxAttempts"`
	RetrySeconds     int64                  `json:"retrySeconds"`
	Concurrency      *int32                 `json:"concurrency,omitempty"`
	ErrorPercentage  *int32                 `json:"errorPercentage,omitempty"`
	ARN              string                 `json:"arn"`
	CreatedByService string                 `json:"createdByService,omitempty"`
}

type remedyParam struct {
	ResourceValue string   `json:"resourceValue,omitempty"`
	Static        []string `json:"static,omitempty"`
}

type storedException struct {
	Rule         string     `json:"rule"`
	ResourceType string     `json:"type"`
	ResourceID   string     `json:"id"`
	Message      string     `json:"message,omitempty"`
	Expires      *time.Time `json:"expires,omitempty"`
}

type execution struct {
	Rule         string    `json:"rule"`
	ResourceType string    `json:"type"`
	ResourceID   string    `json:"id"`
	State        string    `json:"state"`
	ExecutionID  string    `json:"executionId,omitempty"`
	Automatic    bool      `json:"automatic"`
	Attempts     int32     `json:"attempts"`
	FirstAttempt time.Time `json:"firstAttempt"`
	Invoked      time.Time `json:"invoked"`
	Updated      time.Time `json:"updated"`
	Stopped      time.Time `json:"stopped,omitempty"`
	Error        string    `json:"error,omitempty"`
	Document     string    `json:"document"`
}

func remedyFromWire(account, region string, in config.RemediationConfiguration) (*storedRemedy, error) {
	r := &storedRemedy{Rule: str(in.ConfigRuleName), TargetType: str(in.TargetType), TargetID: str(in.TargetId),
		TargetVersion: str(in.TargetVersion), ResourceType: str(in.ResourceType), Automatic: in.Automatic != nil && *in.Automatic,
		MaxAttempts: 5, RetrySeconds: 60, Params: map[string]remedyParam{}}
	if r.TargetType != "SSM_DOCUMENT" {
		return nil, badParam("The TargetType %q is not valid; only SSM_DOCUMENT is supported.", r.TargetType)
	}
	if r.TargetID == "" {
		return nil, badParam("TargetId must name the SSM document of the remediation.")
	}
	if in.MaximumAutomaticAttempts != nil {
		if n := *in.MaximumAutomaticAttempts; n < 1 || n > 25 {
			return nil, badParam("MaximumAutomaticAttempts must be between 1 and 25, got %d.", n)
		}
		r.MaxAttempts = *in.MaximumAutomaticAttempts
	}
	if in.RetryAttemptSeconds != nil {
		if n := *in.RetryAttemptSeconds; n < 1 || n > 2678000 {
			return nil, badParam("RetryAttemptSeconds must be between 1 and 2678000, got %d.", n)
		}
		r.RetrySeconds = *in.RetryAttemptSeconds
	}
	if ec := in.ExecutionControls; ec != nil && ec.SsmControls != nil {
		r.Concurrency, r.ErrorPercentage = ec.SsmControls.ConcurrentExecutionRatePercentage, ec.SsmControls.ErrorPercentage
		for _, v := range []*int32{r.Concurrency, r.ErrorPercentage} {
			if v != nil && (*v < 1 || *v > 100) {
				return nil, badParam("SsmControls percentages must be between 1 and 100, got %d.", *v)
			}
		}
	}
	resourceParams := 0
	for name, v := range in.Parameters {
		switch {
		case v.ResourceValue != nil && v.StaticValue != nil:
			return nil, badParam("Parameter %s must have either a ResourceValue or a StaticValue, not both.", name)
		case v.ResourceValue != nil:
			if str(v.ResourceValue.Value) != resourceIDParam {
				return nil, badParam("Parameter %s: the only ResourceValue is RESOURCE_ID, got %q.", name, str(v.ResourceValue.Value))
			}
			resourceParams++
			r.Params[name] = remedyParam{ResourceValue: resourceIDParam}
		case v.StaticValue != nil:
			r.Params[name] = remedyParam{Static: v.StaticValue.Values}
		default:
			return nil, badParam("Parameter %s must have a ResourceValue or a StaticValue.", name)
		}
	}
	if resourceParams > 1 {
		return nil, badParam("Only one parameter can take the value RESOURCE_ID.")
	}
	// AWS: "for automatic remediation configuration, the only valid assumeRole field value is
	// AutomationAssumeRole and you need to provide a value for AutomationAssumeRole".
	if p, ok := r.Params["AutomationAssumeRole"]; r.Automatic && (!ok || len(p.Static) == 0) {
		return nil, badParam("An automatic remediation needs a StaticValue for the parameter AutomationAssumeRole.")
	}
	r.ARN = fmt.Sprintf("arn:aws:config:%s:%s:remediation-configuration/%s/%s", region, account, r.Rule, randomID("", 8))
	return r, nil
}

func (r *storedRemedy) wire() config.RemediationConfiguration {
	out := config.RemediationConfiguration{ConfigRuleName: ptr(r.Rule), TargetType: ptr(r.TargetType), TargetId: ptr(r.TargetID),
		TargetVersion: opt(r.TargetVersion), ResourceType: opt(r.ResourceType), Automatic: ptr(r.Automatic),
		MaximumAutomaticAttempts: ptr(r.MaxAttempts), RetryAttemptSeconds: ptr(r.RetrySeconds), Arn: ptr(r.ARN),
		CreatedByService: opt(r.CreatedByService), Parameters: map[string]config.RemediationParameterValue{}}
	for k, v := range r.Params {
		if v.ResourceValue != "" {
			out.Parameters[k] = config.RemediationParameterValue{ResourceValue: &config.ResourceValue{Value: ptr(v.ResourceValue)}}
		} else {
			out.Parameters[k] = config.RemediationParameterValue{StaticValue: &config.StaticValue{Values: v.Static}}
		}
	}
	if r.Concurrency != nil || r.ErrorPercentage != nil {
		out.ExecutionControls = &config.ExecutionControls{SsmControls: &config.SsmControls{
			ConcurrentExecutionRatePercentage: r.Concurrency, ErrorPercentage: r.ErrorPercentage}}
	}
	return out
}

// existingRemedy loads the remediation of the call's rule, or answers AWS's error for none.
func existingRemedy(ctx context.Context, c *call.Call, rule string) (*storedRemedy, error) {
	r, err := loadRemedy(ctx, c.Tx, c.Account, c.Region, rule)
	if err == nil && r == nil {
		err = &config.NoSuchRemediationConfigurationException{Message: ptr(fmt.Sprintf("No RemediationConfiguration for rule %s exists.", rule))}
	}
	return r, err
}

func loadRemedy(ctx context.Context, tx store.ReadTx, account, region, rule string) (*storedRemedy, error) {
	b, err := tx.Get(ctx, bucketRemedy, key(account, region, rule))
	if err != nil || b == nil {
		return nil, err
	}
	var r storedRemedy
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("compliance: decode remediation %s: %w", rule, err)
	}
	return &r, nil
}

func saveJSON(ctx context.Context, tx store.Tx, bucket, k string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if err := tx.Put(ctx, bucket, k, b); err != nil {
		return fmt.Errorf("compliance: save %s: %w", bucket, err)
	}
	return nil
}

// PutRemediationConfigurations adds or replaces the remediation of rules.
func (s *Service) PutRemediationConfigurations(ctx context.Context, in *config.PutRemediationConfigurationsRequest) (*config.PutRemediationConfigurationsResponse, error) {
	c := call.From(ctx)
	if len(in.RemediationConfigurations) == 0 || len(in.RemediationConfigurations) > 25 {
		return nil, badParam("RemediationConfigurations must hold between 1 and 25 configurations.")
	}
	for _, rc := range in.RemediationConfigurations {
		if err := s.putRemedy(ctx, c.Write(), c.Account, c.Region, rc, ""); err != nil {
			return nil, err
		}
	}
	return &config.PutRemediationConfigurationsResponse{FailedBatches: []config.FailedRemediationBatch{}}, nil
}

func (s *Service) putRemedy(ctx context.Context, tx store.Tx, account, region string, rc config.RemediationConfiguration, createdBy string) error {
	r, err := remedyFromWire(account, region, rc)
	if err != nil {
		return err
	}
	rule, err := loadRule(ctx, tx, account, region, r.Rule)
	if err != nil {
		return err
	}
	if rule == nil {
		return badParam("The ConfigRule %s does not exist; create the rule before its remediation.", r.Rule)
	}
	if prev, err := loadRemedy(ctx, tx, account, region, r.Rule); err != nil {
		return err
	} else if prev != nil {
		r.ARN = prev.ARN
	}
	r.CreatedByService = createdBy
	return saveJSON(ctx, tx, bucketRemedy, key(account, region, r.Rule), r)
}

// DescribeRemediationConfigurations returns the remediation of each named rule that has one.
func (s *Service) DescribeRemediationConfigurations(ctx context.Context, in *config.DescribeRemediationConfigurationsRequest) (*config.DescribeRemediationConfigurationsResponse, error) {
	c := call.From(ctx)
	out := &config.DescribeRemediationConfigurationsResponse{RemediationConfigurations: []config.RemediationConfiguration{}}
	for _, name := range in.ConfigRuleNames {
		r, err := loadRemedy(ctx, c.Tx, c.Account, c.Region, name)
		if err != nil {
			return nil, err
		}
		if r != nil {
			out.RemediationConfigurations = append(out.RemediationConfigurations, r.wire())
		}
	}
	return out, nil
}

// DeleteRemediationConfiguration removes a rule's remediation.
func (s *Service) DeleteRemediationConfiguration(ctx context.Context, in *config.DeleteRemediationConfigurationRequest) (*config.DeleteRemediationConfigurationResponse, error) {
	c := call.From(ctx)
	name := str(in.ConfigRuleName)
	r, err := existingRemedy(ctx, c, name)
	if err != nil {
		return nil, err
	}
	if r.CreatedByService != "" && call.From(ctx).Caller.InvokedBy == "" {
		return nil, badParam("The remediation of %s was created by a conformance pack; delete the conformance pack instead.", name)
	}
	if err := c.Write().Delete(ctx, bucketRemedy, key(c.Account, c.Region, name)); err != nil {
		return nil, err
	}
	return &config.DeleteRemediationConfigurationResponse{}, nil
}

// PutRemediationExceptions keeps resources out of a rule's remediation.
func (s *Service) PutRemediationExceptions(ctx context.Context, in *config.PutRemediationExceptionsRequest) (*config.PutRemediationExceptionsResponse, error) {
	c := call.From(ctx)
	rule := str(in.ConfigRuleName)
	if len(in.ResourceKeys) == 0 || len(in.ResourceKeys) > 100 {
		return nil, badParam("ResourceKeys must hold between 1 and 100 resource keys.")
	}
	if in.ExpirationTime != nil && !in.ExpirationTime.After(s.opts.Clock()) {
		return nil, badParam("ExpirationTime must be in the future.")
	}
	for _, k := range in.ResourceKeys {
		e := storedException{Rule: rule, ResourceType: str(k.ResourceType), ResourceID: str(k.ResourceId), Message: str(in.Message), Expires: in.ExpirationTime}
		if err := saveJSON(ctx, c.Write(), bucketException, key(c.Account, c.Region, rule, e.ResourceType, e.ResourceID), e); err != nil {
			return nil, err
		}
	}
	return &config.PutRemediationExceptionsResponse{FailedBatches: []config.FailedRemediationExceptionBatch{}}, nil
}

func (e *storedException) wire() config.RemediationException {
	return config.RemediationException{ConfigRuleName: ptr(e.Rule), ResourceType: ptr(e.ResourceType), ResourceId: ptr(e.ResourceID),
		Message: opt(e.Message), ExpirationTime: e.Expires}
}

// DescribeRemediationExceptions lists a rule's exceptions (those of ResourceKeys, or all).
func (s *Service) DescribeRemediationExceptions(ctx context.Context, in *config.DescribeRemediationExceptionsRequest) (*config.DescribeRemediationExceptionsResponse, error) {
	c := call.From(ctx)
	rule := str(in.ConfigRuleName)
	kvs, err := store.ListAll(ctx, c.Tx, bucketException, key(c.Account, c.Region, rule, ""))
	if err != nil {
		return nil, err
	}
	want := map[string]bool{}
	for _, k := range in.ResourceKeys {
		want[key(str(k.ResourceType), str(k.ResourceId))] = true
	}
	out := &config.DescribeRemediationExceptionsResponse{RemediationExceptions: []config.RemediationException{}}
	for _, kv := range kvs {
		var e storedException
		if json.Unmarshal(kv.Value, &e) != nil {
			continue
		}
		if len(want) > 0 && !want[key(e.ResourceType, e.ResourceID)] {
			continue
		}
		out.RemediationExceptions = append(out.RemediationExceptions, e.wire())
	}
	return out, nil
}

// DeleteRemediationExceptions removes exceptions; absent ones are reported as failed.
func (s *Service) DeleteRemediationExceptions(ctx context.Context, in *config.DeleteRemediationExceptionsRequest) (*config.DeleteRemediationExceptionsResponse, error) {
	c := call.From(ctx)
	rule := str(in.ConfigRuleName)
	out := &config.DeleteRemediationExceptionsResponse{FailedBatches: []config.FailedDeleteRemediationExceptionsBatch{}}
	var missing []config.RemediationExceptionResourceKey
	for _, k := range in.ResourceKeys {
		kk := key(c.Account, c.Region, rule, str(k.ResourceType), str(k.ResourceId))
		b, err := c.Tx.Get(ctx, bucketException, kk)
		if err != nil {
			return nil, err
		}
		if b == nil {
			missing = append(missing, k)
			continue
		}
		if err := c.Write().Delete(ctx, bucketException, kk); err != nil {
			return nil, err
		}
	}
	if len(missing) > 0 {
		out.FailedBatches = append(out.FailedBatches, config.FailedDeleteRemediationExceptionsBatch{
			FailureMessage: ptr("No remediation exception exists for these resources."), FailedItems: missing})
	}
	return out, nil
}

// excepted says whether a resource has a remediation exception in force.
func (s *Service) excepted(ctx context.Context, tx store.ReadTx, account, region, rule, typ, id string) (bool, error) {
	b, err := tx.Get(ctx, bucketException, key(account, region, rule, typ, id))
	if err != nil || b == nil {
		return false, err
	}
	var e storedException
	if err := json.Unmarshal(b, &e); err != nil {
		return false, err
	}
	return e.Expires == nil || e.Expires.After(s.opts.Clock()), nil
}

// remediationOnChange starts an automatic remediation when a resource becomes
// NON_COMPLIANT, and settles one when it becomes COMPLIANT.
func (s *Service) remediationOnChange(ctx context.Context, rs *results, account, region string, r *storedRule, rec *evalRecord) error {
	tx := rs.tx
	rem, err := rs.remedy(ctx, account, region, r.Name)
	if err != nil || rem == nil {
		return err
	}
	ek := key(account, region, r.Name, rec.ResourceType, rec.ResourceID)
	switch rec.Compliance {
	case Compliant:
		ex, err := loadExecution(ctx, tx, ek)
		if err != nil || ex == nil || ex.State == ExecSucceeded {
			return err
		}
		now := s.opts.Clock().UTC()
		ex.State, ex.Updated, ex.Stopped, ex.Error = ExecSucceeded, now, now, ""
		return saveJSON(ctx, tx, bucketExecution, ek, ex)
	case NonCompliant:
		if !rem.Automatic {
			return nil
		}
		if rem.ResourceType != "" && rem.ResourceType != rec.ResourceType {
			return nil
		}
		if ex, err := s.excepted(ctx, tx, account, region, r.Name, rec.ResourceType, rec.ResourceID); err != nil || ex {
			return err
		}
		now := s.opts.Clock().UTC()
		ex := &execution{Rule: r.Name, ResourceType: rec.ResourceType, ResourceID: rec.ResourceID, Automatic: true,
			FirstAttempt: now, Invoked: now, Document: rem.TargetID}
		s.attempt(ctx, tx, account, region, rem, ex)
		return saveJSON(ctx, tx, bucketExecution, ek, ex)
	}
	return nil
}

func loadExecution(ctx context.Context, tx store.ReadTx, k string) (*execution, error) {
	b, err := tx.Get(ctx, bucketExecution, k)
	if err != nil || b == nil {
		return nil, err
	}
	var ex execution
	if err := json.Unmarshal(b, &ex); err != nil {
		return nil, fmt.Errorf("compliance: decode remediation execution: %w", err)
	}
	return &ex, nil
}

// attempt starts the remediation document once for ex; a failure to start counts as a
// failed attempt.
func (s *Service) attempt(ctx context.Context, tx store.Tx, account, region string, rem *storedRemedy, ex *execution) {
	now := s.opts.Clock().UTC()
	params := map[string][]string{}
	for k, v := range rem.Params {
		if v.ResourceValue == resourceIDParam {
			params[k] = []string{ex.ResourceID}
		} else {
			params[k] = v.Static
		}
	}
	ex.Attempts++
	ex.Updated = now
	if s.opts.StartAutomation == nil {
		s.failed(ex, rem, "SSM Automation is not available")
		return
	}
	id, err := s.opts.StartAutomation(ctx, tx, account, region, rem.TargetID, rem.TargetVersion, params)
	if err != nil {
		s.failed(ex, rem, "StartAutomationExecution failed: "+err.Error())
		return
	}
	ex.ExecutionID, ex.State, ex.Error = id, ExecInProgress, ""
}

// failed records a failed attempt: QUEUED for a retry while attempts remain within the
// retry window, else FAILED with the reason.
func (s *Service) failed(ex *execution, rem *storedRemedy, reason string) {
	now := s.opts.Clock().UTC()
	ex.Error, ex.Updated = reason, now
	window := time.Duration(rem.RetrySeconds) * time.Second
	if ex.Automatic && ex.Attempts < rem.MaxAttempts && now.Sub(ex.FirstAttempt) <= window {
		ex.State = ExecQueued
		return
	}
	ex.State, ex.Stopped = ExecFailed, now
	ex.Error = fmt.Sprintf("remediation failed after %d attempt(s): %s", ex.Attempts, reason)
}

// pollRemediations follows running executions and retries queued ones.
func (s *Service) pollRemediations(ctx context.Context, tx store.Tx) error {
	kvs, err := store.ListAll(ctx, tx, bucketExecution, "")
	if err != nil {
		return err
	}
	for _, kv := range kvs {
		var ex execution
		if json.Unmarshal(kv.Value, &ex) != nil || (ex.State != ExecInProgress && ex.State != ExecQueued) {
			continue
		}
		parts := splitKey(kv.Key, 3)
		if len(parts) != 3 {
			continue
		}
		account, region := parts[0], parts[1]
		rem, err := loadRemedy(ctx, tx, account, region, ex.Rule)
		if err != nil {
			return err
		}
		if rem == nil {
			ex.State, ex.Error, ex.Stopped = ExecFailed, "the remediation configuration was deleted", s.opts.Clock().UTC()
		} else if ex.State == ExecQueued {
			s.attempt(ctx, tx, account, region, rem, &ex)
		} else if s.opts.AutomationStatus != nil {
			status, msg, err := s.opts.AutomationStatus(ctx, tx, account, region, ex.ExecutionID)
			if err != nil {
				s.log().Debug("compliance: automation status", "execution", ex.ExecutionID, "err", err)
				continue
			}
			switch status {
			case "Success", "CompletedWithSuccess":
				now := s.opts.Clock().UTC()
				ex.State, ex.Updated, ex.Stopped, ex.Error = ExecSucceeded, now, now, ""
			case "Failed", "TimedOut", "Cancelled", "Rejected", "CompletedWithFailure":
				s.failed(&ex, rem, fmt.Sprintf("automation execution %s %s: %s", ex.ExecutionID, status, msg))
				if ex.State == ExecQueued {
					s.attempt(ctx, tx, account, region, rem, &ex)
				}
			default:
				continue
			}
		}
		if err := saveJSON(ctx, tx, bucketExecution, kv.Key, &ex); err != nil {
			return err
		}
	}
	return nil
}

// StartRemediationExecution runs a rule's remediation now for the given resources.
func (s *Service) StartRemediationExecution(ctx context.Context, in *config.StartRemediationExecutionRequest) (*config.StartRemediationExecutionResponse, error) {
	c := call.From(ctx)
	name := str(in.ConfigRuleName)
	rem, err := existingRemedy(ctx, c, name)
	if err != nil {
		return nil, err
	}
	if len(in.ResourceKeys) == 0 || len(in.ResourceKeys) > 100 {
		return nil, badParam("ResourceKeys must hold between 1 and 100 resource keys.")
	}
	out := &config.StartRemediationExecutionResponse{FailedItems: []config.ResourceKey{}}
	var reasons []string
	now := s.opts.Clock().UTC()
	for _, k := range in.ResourceKeys {
		ex := &execution{Rule: name, ResourceType: str(k.ResourceType), ResourceID: str(k.ResourceId), FirstAttempt: now, Invoked: now, Document: rem.TargetID}
		s.attempt(ctx, c.Write(), c.Account, c.Region, rem, ex)
		if ex.State == ExecFailed {
			out.FailedItems = append(out.FailedItems, k)
			reasons = append(reasons, ex.Error)
		}
		if err := saveJSON(ctx, c.Write(), bucketExecution, key(c.Account, c.Region, name, ex.ResourceType, ex.ResourceID), ex); err != nil {
			return nil, err
		}
	}
	if len(reasons) > 0 {
		out.FailureMessage = ptr(reasons[0])
	}
	return out, nil
}

// DescribeRemediationExecutionStatus reports a rule's remediation executions.
func (s *Service) DescribeRemediationExecutionStatus(ctx context.Context, in *config.DescribeRemediationExecutionStatusRequest) (*config.DescribeRemediationExecutionStatusResponse, error) {
	c := call.From(ctx)
	name := str(in.ConfigRuleName)
	if _, err := existingRemedy(ctx, c, name); err != nil {
		return nil, err
	}
	after, err := decodeToken(in.NextToken)
	if err != nil {
		return nil, err
	}
	kvs, err := store.ListAll(ctx, c.Tx, bucketExecution, key(c.Account, c.Region, name, ""))
	if err != nil {
		return nil, err
	}
	want := map[string]bool{}
	for _, k := range in.ResourceKeys {
		want[key(str(k.ResourceType), str(k.ResourceId))] = true
	}
	limit := 100
	if in.Limit != nil && *in.Limit > 0 && int(*in.Limit) < limit {
		limit = int(*in.Limit)
	}
	out := &config.DescribeRemediationExecutionStatusResponse{RemediationExecutionStatuses: []config.RemediationExecutionStatus{}}
	for _, kv := range kvs {
		if kv.Key <= after {
			continue
		}
		var ex execution
		if json.Unmarshal(kv.Value, &ex) != nil || (len(want) > 0 && !want[key(ex.ResourceType, ex.ResourceID)]) {
			continue
		}
		if len(out.RemediationExecutionStatuses) == limit {
			out.NextToken = encodeToken(after)
			break
		}
		after = kv.Key
		step := config.RemediationExecutionStep{Name: ptr(ex.Document), State: ptr(stepState(ex.State)), ErrorMessage: opt(ex.Error),
			StartTime: ptr(ex.Invoked), StopTime: timePtr(ex.Stopped)}
		out.RemediationExecutionStatuses = append(out.RemediationExecutionStatuses, config.RemediationExecutionStatus{
			ResourceKey: &config.ResourceKey{ResourceType: ptr(ex.ResourceType), ResourceId: ptr(ex.ResourceID)},
			State:       ptr(ex.State), StepDetails: []config.RemediationExecutionStep{step},
			InvocationTime: ptr(ex.Invoked), LastUpdatedTime: ptr(ex.Updated)})
	}
	return out, nil
}

// stepState maps an execution state to RemediationExecutionStepState.
func stepState(s string) string {
	switch s {
	case ExecSucceeded:
		return "SUCCEEDED"
	case ExecFailed:
		return "FAILED"
	}
	return "PENDING"
}
