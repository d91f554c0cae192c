package compliance

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/bannin/bannin/internal/call"
	"github.com/bannin/bannin/internal/compliance/guard"
	"github.com/bannin/bannin/internal/store"
	"github.com/bannin/bannin/internal/wire/config"
)

// Rule owners (Source.Owner).
const (
	OwnerAWS          = "AWS"
	OwnerCustomLambda = "CUSTOM_LAMBDA"
	OwnerCustomPolicy = "CUSTOM_POLICY"
)

// Message types of SourceDetails.
const (
	ChangeNotification          = "ConfigurationItemChangeNotification"
	OversizedChangeNotification = "OversizedConfigurationItemChangeNotification"
	ScheduledNotification       = "ScheduledNotification"
)

// GuardRuntime is the only PolicyRuntime of custom policy rules.
const GuardRuntime = "guard-2.x.x"

// frequencies are the MaximumExecutionFrequency values.
var frequencies = map[string]time.Duration{
	"One_Hour": time.Hour, "Three_Hours": 3 * time.Hour, "Six_Hours": 6 * time.Hour,
	"Twelve_Hours": 12 * time.Hour, "TwentyFour_Hours": 24 * time.Hour,
}

// storedRule is a Config rule as kept in the store.
type storedRule struct {
	Name             string            `json:"name"`
	ARN              string            `json:"arn"`
	ID               string            `json:"id"`
	Description      string            `json:"description,omitempty"`
	Owner            string            `json:"owner"`
	SourceIdentifier string            `json:"sourceIdentifier,omitempty"`
	SourceDetails    []sourceDetail    `json:"sourceDetails,omitempty"`
	PolicyRuntime    string            `json:"policyRuntime,omitempty"`
	PolicyText       string            `json:"policyText,omitempty"`
	DebugLogDelivery bool              `json:"debugLogDelivery,omitempty"`
	Scope            *ruleScope        `json:"scope,omitempty"`
	InputParameters  string            `json:"inputParameters,omitempty"`
	MaxFrequency     string            `json:"maxFrequency,omitempty"`
	State            string            `json:"state"`
	CreatedBy        string            `json:"createdBy,omitempty"`
	Pack             string            `json:"pack,omitempty"`
	Tags             map[string]string `json:"tags,omitempty"`
	Created          time.Time         `json:"created"`
}

type sourceDetail struct {
	EventSource  string `json:"eventSource,omitempty"`
	MessageType  string `json:"messageType,omitempty"`
	MaxFrequency string `json:"maxFrequency,omitempty"`
}

type ruleScope struct {
	Types      []string `json:"types,omitempty"`
	TagKey     string   `json:"tagKey,omitempty"`
	TagValue   string   `json:"tagValue,omitempty"`
	ResourceID string   `json:"resourceId,omitempty"`
}

// ruleStatus is a rule's evaluation status (DescribeConfigRuleEvaluationStatus) and when
// its periodic evaluation last ran.
type ruleStatus struct {
	FirstActivated time.Time `json:"firstActivated"`
	LastInvoked    time.Time `json:"lastInvoked,omitempty"`
	LastEvaluated  time.Time `json:"lastEvaluated,omitempty"`
	LastFailed     time.Time `json:"lastFailed,omitempty"`
	LastErrorCode  string    `json:"lastErrorCode,omitempty"`
	LastErrorMsg   string    `json:"lastErrorMessage,omitempty"`
	Started        bool      `json:"started"`
	LastPeriodic   time.Time `json:"lastPeriodic,omitempty"`
}

func ruleARN(region, account, id string) string {
	return fmt.Sprintf("arn:aws:config:%s:%s:config-rule/%s", region, account, id)
}

func randomID(prefix string, n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return prefix + string(b)
}

func badParam(format string, a ...any) error {
	return &config.InvalidParameterValueException{Message: ptr(fmt.Sprintf(format, a...))}
}

func noSuchRule(name string) error {
	return &config.NoSuchConfigRuleException{Message: ptr(fmt.Sprintf("The ConfigRule '%s' provided in the request is invalid. Please check the configRule name.", name))}
}

// loadRule reads a rule by name (nil if absent).
func loadRule(ctx context.Context, tx store.ReadTx, account, region, name string) (*storedRule, error) {
	b, err := tx.Get(ctx, bucketRule, key(account, region, name))
	if err != nil || b == nil {
		return nil, err
	}
	var r storedRule
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("compliance: decode rule %s: %w", name, err)
	}
	return &r, nil
}

// listRules returns the rules of an account and region, sorted by name.
func listRules(ctx context.Context, tx store.ReadTx, account, region string) ([]*storedRule, error) {
	var out []*storedRule
	prefix, after := key(account, region, ""), ""
	for {
		kvs, err := tx.List(ctx, bucketRule, prefix, after, 1000)
		if err != nil {
			return nil, fmt.Errorf("compliance: list rules: %w", err)
		}
		for _, kv := range kvs {
			var r storedRule
			if err := json.Unmarshal(kv.Value, &r); err != nil {
				return nil, fmt.Errorf("compliance: decode rule %s: %w", kv.Key, err)
			}
			out = append(out, &r)
		}
		if len(kvs) < 1000 {
			return out, nil
		}
		after = kvs[len(kvs)-1].Key
	}
}

// findRule finds a rule by name, ARN or id (ResultTokens, updates by ARN).
func findRule(ctx context.Context, tx store.ReadTx, account, region, ref string) (*storedRule, error) {
	if r, err := loadRule(ctx, tx, account, region, ref); r != nil || err != nil {
		return r, err
	}
	rules, err := listRules(ctx, tx, account, region)
	if err != nil {
		return nil, err
	}
	for _, r := range rules {
		if r.ARN == ref || r.ID == ref {
			return r, nil
		}
	}
	return nil, nil
}

func saveRule(ctx context.Context, tx store.Tx, account, region string, r *storedRule) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if err := tx.Put(ctx, bucketRule, key(account, region, r.Name), b); err != nil {
		return fmt.Errorf("compliance: save rule %s: %w", r.Name, err)
	}
	return bumpGen(ctx, tx, account, region)
}

// bumpGen changes the rule generation of an account and region, so that evaluators
// recompile its rules. A generation is random rather than counted: an index cached from a
// transaction that then failed to commit must never match a later generation.
func bumpGen(ctx context.Context, tx store.Tx, account, region string) error {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return tx.Put(ctx, bucketRuleGen, key(account, region), []byte(hex.EncodeToString(b[:])))
}

func loadStatus(ctx context.Context, tx store.ReadTx, account, region, name string) (*ruleStatus, error) {
	b, err := tx.Get(ctx, bucketRuleStatus, key(account, region, name))
	if err != nil || b == nil {
		return &ruleStatus{}, err
	}
	var st ruleStatus
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("compliance: decode rule status %s: %w", name, err)
	}
	return &st, nil
}

func saveStatus(ctx context.Context, tx store.Tx, account, region, name string, st *ruleStatus) error {
	b, _ := json.Marshal(st)
	return tx.Put(ctx, bucketRuleStatus, key(account, region, name), b)
}

// ruleFromWire validates a PutConfigRule rule and makes its stored form (without
// name, ARN, id, created: the caller fills those).
func ruleFromWire(in *config.ConfigRule) (*storedRule, error) {
	r := &storedRule{Description: str(in.Description), InputParameters: str(in.InputParameters),
		MaxFrequency: str(in.MaximumExecutionFrequency), State: "ACTIVE"}
	if st := str(in.ConfigRuleState); st != "" && st != "ACTIVE" {
		return nil, badParam("The ConfigRuleState %s cannot be set with PutConfigRule; only ACTIVE is allowed.", st)
	}
	if in.Source == nil {
		return nil, badParam("Source must be specified for the rule.")
	}
	r.Owner = str(in.Source.Owner)
	r.SourceIdentifier = str(in.Source.SourceIdentifier)
	for _, d := range in.Source.SourceDetails {
		sd := sourceDetail{EventSource: str(d.EventSource), MessageType: str(d.MessageType), MaxFrequency: str(d.MaximumExecutionFrequency)}
		switch sd.MessageType {
		case ChangeNotification, OversizedChangeNotification, ScheduledNotification, "ConfigurationSnapshotDeliveryCompleted":
		default:
			return nil, badParam("The MessageType %q is not valid. Valid values: %s, %s, %s, ConfigurationSnapshotDeliveryCompleted.", sd.MessageType, ChangeNotification, OversizedChangeNotification, ScheduledNotification)
		}
		if sd.EventSource != "" && sd.EventSource != "aws.config" {
			return nil, badParam("The EventSource %q is not valid; it must be aws.config.", sd.EventSource)
		}
		if sd.MaxFrequency != "" {
			if _, ok := frequencies[sd.MaxFrequency]; !ok {
				return nil, badParam("The MaximumExecutionFrequency %q is not valid.", sd.MaxFrequency)
			}
		}
		r.SourceDetails = append(r.SourceDetails, sd)
	}
	if r.MaxFrequency != "" {
		if _, ok := frequencies[r.MaxFrequency]; !ok {
			return nil, badParam("The MaximumExecutionFrequency %q is not valid. Valid values: One_Hour, Three_Hours, Six_Hours, Twelve_Hours, TwentyFour_Hours.", r.MaxFrequency)
		}
	}
	if s := in.Scope; s != nil {
		sc := &ruleScope{Types: s.ComplianceResourceTypes, TagKey: str(s.TagKey), TagValue: str(s.TagValue), ResourceID: str(s.ComplianceResourceId)}
		if sc.ResourceID != "" && len(sc.Types) != 1 {
			return nil, badParam("Scope with ComplianceResourceId requires exactly one ComplianceResourceTypes value.")
		}
		if sc.TagValue != "" && sc.TagKey == "" {
			return nil, badParam("Scope with TagValue requires TagKey.")
		}
		if sc.TagKey != "" && (len(sc.Types) > 0 || sc.ResourceID != "") {
			return nil, badParam("Scope cannot combine TagKey with ComplianceResourceTypes or ComplianceResourceId.")
		}
		if len(sc.Types) > 0 || sc.TagKey != "" || sc.ResourceID != "" {
			r.Scope = sc
		}
	}
	switch r.Owner {
	case OwnerAWS:
		m := managed[r.SourceIdentifier]
		if m == nil {
			return nil, badParam("The sourceIdentifier %s is invalid. Please refer to the documentation for a list of valid sourceIdentifiers that can be used when AWS is the Owner.", r.SourceIdentifier)
		}
		if _, err := m.params(r.InputParameters); err != nil {
			return nil, badParam("Blank or invalid input parameters for managed rule %s: %v", m.Identifier, err)
		}
		if r.MaxFrequency != "" && m.Trigger&Periodic == 0 {
			return nil, badParam("A maximum execution frequency is not allowed for the managed rule %s, which is triggered by configuration changes.", m.Identifier)
		}
	case OwnerCustomPolicy:
		d := in.Source.CustomPolicyDetails
		if d == nil || str(d.PolicyText) == "" {
			return nil, badParam("CustomPolicyDetails with PolicyRuntime and PolicyText are required when Owner is CUSTOM_POLICY.")
		}
		if rt := str(d.PolicyRuntime); rt != GuardRuntime {
			return nil, badParam("The PolicyRuntime %q is not supported; use %s.", rt, GuardRuntime)
		}
		if r.SourceIdentifier != "" {
			return nil, badParam("SourceIdentifier must not be specified when Owner is CUSTOM_POLICY.")
		}
		if _, err := guard.Parse(str(d.PolicyText)); err != nil {
			return nil, badParam("The policy text of the rule is invalid: %v", err)
		}
		for _, sd := range r.SourceDetails {
			if sd.MessageType == ScheduledNotification {
				return nil, badParam("Custom policy rules support only configuration change triggers (%s).", ChangeNotification)
			}
		}
		if len(r.SourceDetails) == 0 {
			return nil, badParam("SourceDetails are required when Owner is CUSTOM_POLICY.")
		}
		r.PolicyRuntime, r.PolicyText = GuardRuntime, str(d.PolicyText)
		r.DebugLogDelivery = d.EnableDebugLogDelivery != nil && *d.EnableDebugLogDelivery
	case OwnerCustomLambda:
		if !strings.HasPrefix(r.SourceIdentifier, "arn:") {
			return nil, badParam("SourceIdentifier must be the ARN of the rule's AWS Lambda function when Owner is CUSTOM_LAMBDA.")
		}
		if len(r.SourceDetails) == 0 {
			return nil, badParam("SourceDetails are required when Owner is CUSTOM_LAMBDA.")
		}
		if in.Source.CustomPolicyDetails != nil {
			return nil, badParam("CustomPolicyDetails can only be specified when Owner is CUSTOM_POLICY.")
		}
	default:
		return nil, badParam("The Owner %q is not valid. Valid values: AWS, CUSTOM_LAMBDA, CUSTOM_POLICY.", r.Owner)
	}
	if r.InputParameters != "" && r.Owner != OwnerAWS {
		var obj map[string]any
		if err := json.Unmarshal([]byte(r.InputParameters), &obj); err != nil {
			return nil, badParam("InputParameters must be a JSON object: %v", err)
		}
	}
	return r, nil
}

// PutConfigRule creates or updates a rule and starts its evaluation of every resource in
// scope.
func (s *Service) PutConfigRule(ctx context.Context, in *config.PutConfigRuleRequest) (*config.PutConfigRuleOutput, error) {
	c := call.From(ctx)
	if in.ConfigRule == nil {
		return nil, badParam("ConfigRule must be specified.")
	}
	if _, err := s.putRule(ctx, c.Write(), c.Account, c.Region, in.ConfigRule, in.Tags, "", ""); err != nil {
		return nil, err
	}
	return &config.PutConfigRuleOutput{}, nil
}

// putRule validates and stores a rule and queues its evaluation; pack and createdBy mark
// rules of conformance packs.
func (s *Service) putRule(ctx context.Context, tx store.Tx, account, region string, in *config.ConfigRule, tags []config.Tag, pack, createdBy string) (*storedRule, error) {
	r, err := ruleFromWire(in)
	if err != nil {
		return nil, err
	}
	name := str(in.ConfigRuleName)
	var prev *storedRule
	switch {
	case name != "":
		prev, err = loadRule(ctx, tx, account, region, name)
	case str(in.ConfigRuleArn) != "":
		prev, err = findRule(ctx, tx, account, region, str(in.ConfigRuleArn))
	case str(in.ConfigRuleId) != "":
		prev, err = findRule(ctx, tx, account, region, str(in.ConfigRuleId))
	default:
		return nil, badParam("One or more identifiers needs to be provided. Provide Name or Id or Arn")
	}
	if err != nil {
		return nil, err
	}
	if prev == nil && name == "" {
		return nil, noSuchRule(orWord(str(in.ConfigRuleArn), str(in.ConfigRuleId)))
	}
	if len(name) > 128 {
		return nil, badParam("The ConfigRuleName must be at most 128 characters.")
	}
	if prev != nil && prev.Pack != "" && pack == "" {
		return nil, badParam("The rule %s was created by conformance pack %s and can only be changed through it.", prev.Name, prev.Pack)
	}
	if prev != nil {
		r.Name, r.ARN, r.ID, r.Created, r.Tags = prev.Name, prev.ARN, prev.ID, prev.Created, prev.Tags
		if prev.Owner != r.Owner || prev.SourceIdentifier != r.SourceIdentifier && r.Owner == OwnerAWS {
			return nil, badParam("The Source of the rule %s cannot be changed from %s %s.", prev.Name, prev.Owner, prev.SourceIdentifier)
		}
	} else {
		r.Name, r.ID, r.Created = name, randomID("config-rule-", 6), s.opts.Clock().UTC()
		r.ARN = ruleARN(region, account, r.ID)
		st := &ruleStatus{FirstActivated: r.Created}
		if err := saveStatus(ctx, tx, account, region, r.Name, st); err != nil {
			return nil, err
		}
	}
	r.Pack, r.CreatedBy = pack, createdBy
	if len(tags) > 0 {
		if r.Tags == nil {
			r.Tags = map[string]string{}
		}
		for _, t := range tags {
			r.Tags[str(t.Key)] = str(t.Value)
		}
	}
	if err := saveRule(ctx, tx, account, region, r); err != nil {
		return nil, err
	}
	if c := call.From(ctx); c != nil {
		c.Touch("AWS::Config::ConfigRule", r.Name, r.ARN)
	}
	return r, s.requestEvaluation(ctx, tx, account, region, []string{r.Name})
}

func (r *storedRule) wire() config.ConfigRule {
	out := config.ConfigRule{ConfigRuleName: ptr(r.Name), ConfigRuleArn: ptr(r.ARN), ConfigRuleId: ptr(r.ID),
		Description: opt(r.Description), InputParameters: opt(r.InputParameters),
		MaximumExecutionFrequency: opt(r.MaxFrequency), ConfigRuleState: ptr(r.State), CreatedBy: opt(r.CreatedBy),
		EvaluationModes: []config.EvaluationModeConfiguration{{Mode: ptr("DETECTIVE")}},
		Source:          &config.Source{Owner: ptr(r.Owner), SourceIdentifier: opt(r.SourceIdentifier)}}
	if r.Owner == OwnerCustomPolicy {
		out.Source.CustomPolicyDetails = &config.CustomPolicyDetails{PolicyRuntime: ptr(r.PolicyRuntime),
			PolicyText: ptr(r.PolicyText), EnableDebugLogDelivery: ptr(r.DebugLogDelivery)}
	}
	for _, d := range r.SourceDetails {
		out.Source.SourceDetails = append(out.Source.SourceDetails, config.SourceDetail{EventSource: opt(orWord(d.EventSource, "aws.config")),
			MessageType: opt(d.MessageType), MaximumExecutionFrequency: opt(d.MaxFrequency)})
	}
	if sc := r.Scope; sc != nil {
		out.Scope = &config.Scope{ComplianceResourceTypes: sc.Types, TagKey: opt(sc.TagKey), TagValue: opt(sc.TagValue), ComplianceResourceId: opt(sc.ResourceID)}
	}
	return out
}

// page tokens are the base64 of the last key or name returned.
func encodeToken(last string) *string {
	if last == "" {
		return nil
	}
	return ptr(base64.RawURLEncoding.EncodeToString([]byte(last)))
}

func decodeToken(tok *string) (string, error) {
	if tok == nil || *tok == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(*tok)
	if err != nil {
		return "", &config.InvalidNextTokenException{Message: ptr("The nextToken provided is invalid")}
	}
	return string(b), nil
}

// selectRules returns the named rules (all when names is empty) after the token's name,
// NoSuchConfigRuleException for a missing one.
func selectRules(ctx context.Context, tx store.ReadTx, account, region string, names []string, after string) ([]*storedRule, error) {
	all, err := listRules(ctx, tx, account, region)
	if err != nil {
		return nil, err
	}
	if len(names) > 0 {
		by := map[string]*storedRule{}
		for _, r := range all {
			by[r.Name] = r
		}
		all = all[:0]
		sorted := append([]string(nil), names...)
		sort.Strings(sorted)
		for _, n := range sorted {
			r := by[n]
			if r == nil {
				return nil, noSuchRule(n)
			}
			if len(all) == 0 || all[len(all)-1].Name != n {
				all = append(all, r)
			}
		}
	}
	out := all[:0:0]
	for _, r := range all {
		if r.Name > after {
			out = append(out, r)
		}
	}
	return out, nil
}

// DescribeConfigRules lists rules, 25 a page.
func (s *Service) DescribeConfigRules(ctx context.Context, in *config.DescribeConfigRulesRequest) (*config.DescribeConfigRulesResponse, error) {
	c := call.From(ctx)
	after, err := decodeToken(in.NextToken)
	if err != nil {
		return nil, err
	}
	rules, err := selectRules(ctx, c.Tx, c.Account, c.Region, in.ConfigRuleNames, after)
	if err != nil {
		return nil, err
	}
	out := &config.DescribeConfigRulesResponse{ConfigRules: []config.ConfigRule{}}
	for i, r := range rules {
		if i == 25 {
			out.NextToken = encodeToken(rules[i-1].Name)
			break
		}
		out.ConfigRules = append(out.ConfigRules, r.wire())
	}
	return out, nil
}

// DeleteConfigRule deletes a rule and its evaluation results; a rule with a remediation
// configuration is in use.
func (s *Service) DeleteConfigRule(ctx context.Context, in *config.DeleteConfigRuleRequest) (*config.DeleteConfigRuleOutput, error) {
	c := call.From(ctx)
	tx := c.Write()
	r, err := loadRule(ctx, tx, c.Account, c.Region, str(in.ConfigRuleName))
	if err != nil {
		return nil, err
	}
	if r == nil {
		return nil, noSuchRule(str(in.ConfigRuleName))
	}
	if r.Pack != "" {
		return nil, badParam("The rule %s was created by conformance pack %s; delete the conformance pack instead.", r.Name, r.Pack)
	}
	if rem, err := tx.Get(ctx, bucketRemedy, key(c.Account, c.Region, r.Name)); err != nil {
		return nil, err
	} else if rem != nil {
		return nil, &config.ResourceInUseException{Message: ptr(fmt.Sprintf("The rule %s is in use by a remediation configuration; delete the remediation configuration first.", r.Name))}
	}
	c.Touch("AWS::Config::ConfigRule", r.Name, r.ARN)
	return &config.DeleteConfigRuleOutput{}, s.deleteRule(ctx, tx, c.Account, c.Region, r)
}

// deleteRule removes a rule, its status and its evaluation results.
func (s *Service) deleteRule(ctx context.Context, tx store.Tx, account, region string, r *storedRule) error {
	if err := tx.Delete(ctx, bucketRule, key(account, region, r.Name)); err != nil {
		return err
	}
	if err := tx.Delete(ctx, bucketRuleStatus, key(account, region, r.Name)); err != nil {
		return err
	}
	if err := dropRuleResults(ctx, tx, account, region, r); err != nil {
		return err
	}
	return bumpGen(ctx, tx, account, region)
}

// deletePrefix deletes every key of bucket under prefix.
func deletePrefix(ctx context.Context, tx store.Tx, bucket, prefix string) error {
	for {
		kvs, err := tx.List(ctx, bucket, prefix, "", 1000)
		if err != nil {
			return fmt.Errorf("compliance: list %s: %w", bucket, err)
		}
		for _, kv := range kvs {
			if err := tx.Delete(ctx, bucket, kv.Key); err != nil {
				return fmt.Errorf("compliance: delete %s: %w", bucket, err)
			}
		}
		if len(kvs) < 1000 {
			return nil
		}
	}
}

// StartConfigRulesEvaluation queues an evaluation of the named rules (at most 25).
func (s *Service) StartConfigRulesEvaluation(ctx context.Context, in *config.StartConfigRulesEvaluationRequest) (*config.StartConfigRulesEvaluationResponse, error) {
	c := call.From(ctx)
	if len(in.ConfigRuleNames) > 25 {
		return nil, &config.LimitExceededException{Message: ptr("StartConfigRulesEvaluation accepts at most 25 rules.")}
	}
	if len(in.ConfigRuleNames) == 0 {
		return nil, badParam("ConfigRuleNames must name at least one rule.")
	}
	rules, err := selectRules(ctx, c.Tx, c.Account, c.Region, in.ConfigRuleNames, "")
	if err != nil {
		return nil, err
	}
	names := make([]string, len(rules))
	for i, r := range rules {
		names[i] = r.Name
	}
	return &config.StartConfigRulesEvaluationResponse{}, s.requestEvaluation(ctx, c.Write(), c.Account, c.Region, names)
}

// DescribeConfigRuleEvaluationStatus reports when rules last ran.
func (s *Service) DescribeConfigRuleEvaluationStatus(ctx context.Context, in *config.DescribeConfigRuleEvaluationStatusRequest) (*config.DescribeConfigRuleEvaluationStatusResponse, error) {
	c := call.From(ctx)
	after, err := decodeToken(in.NextToken)
	if err != nil {
		return nil, err
	}
	rules, err := selectRules(ctx, c.Tx, c.Account, c.Region, in.ConfigRuleNames, after)
	if err != nil {
		return nil, err
	}
	limit := 50
	if in.Limit != nil && *in.Limit > 0 && int(*in.Limit) < limit {
		limit = int(*in.Limit)
	}
	out := &config.DescribeConfigRuleEvaluationStatusResponse{ConfigRulesEvaluationStatus: []config.ConfigRuleEvaluationStatus{}}
	for i, r := range rules {
		if i == limit {
			out.NextToken = encodeToken(rules[i-1].Name)
			break
		}
		st, err := loadStatus(ctx, c.Tx, c.Account, c.Region, r.Name)
		if err != nil {
			return nil, err
		}
		w := config.ConfigRuleEvaluationStatus{ConfigRuleName: ptr(r.Name), ConfigRuleArn: ptr(r.ARN), ConfigRuleId: ptr(r.ID),
			FirstActivatedTime: timePtr(st.FirstActivated), LastSuccessfulInvocationTime: timePtr(st.LastInvoked),
			LastSuccessfulEvaluationTime: timePtr(st.LastEvaluated), LastFailedInvocationTime: timePtr(st.LastFailed),
			LastErrorCode: opt(st.LastErrorCode), LastErrorMessage: opt(st.LastErrorMsg), FirstEvaluationStarted: ptr(st.Started)}
		out.ConfigRulesEvaluationStatus = append(out.ConfigRulesEvaluationStatus, w)
	}
	return out, nil
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
