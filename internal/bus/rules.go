package bus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/bannin/bannin/internal/bus/pattern"
	"github.com/bannin/bannin/internal/call"
	"github.com/bannin/bannin/internal/store"
	"github.com/bannin/bannin/internal/wire/events"
)

// Rule states.
const (
	Enabled  = "ENABLED"
	Disabled = "DISABLED"
)

// Rule is an enabled rule as event delivery sees it: its compiled pattern (nil for a
// schedule-only rule) and its targets.
type Rule struct {
	Name               string
	Arn                string
	EventBusName       string
	EventPattern       string
	Pattern            *pattern.Pattern
	ScheduleExpression string
	RoleArn            string
	State              string
	Targets            []events.Target
}

// storedRule is a rule's stored configuration, targets included.
type storedRule struct {
	Name               string          `json:"Name"`
	Arn                string          `json:"Arn"`
	EventBusName       string          `json:"EventBusName"`
	EventPattern       string          `json:"EventPattern,omitempty"`
	ScheduleExpression string          `json:"ScheduleExpression,omitempty"`
	State              string          `json:"State"`
	Description        string          `json:"Description,omitempty"`
	RoleArn            string          `json:"RoleArn,omitempty"`
	CreatedBy          string          `json:"CreatedBy"`
	Targets            []events.Target `json:"Targets,omitempty"`

	tags map[string]string
}

// RuleARN is a rule's ARN: rules of the default bus omit the bus name.
func RuleARN(region, account, bus, name string) string {
	if bus == DefaultBus {
		return fmt.Sprintf("arn:aws:events:%s:%s:rule/%s", region, account, name)
	}
	return fmt.Sprintf("arn:aws:events:%s:%s:rule/%s/%s", region, account, bus, name)
}

func ruleID(bus, name string) string { return bus + "/" + name }

var (
	ruleNameChars = regexp.MustCompile(`^[.\-_A-Za-z0-9]+$`)
	busNameChars  = regexp.MustCompile(`^[/.\-_A-Za-z0-9]+$`)
)

// badPattern is the ValidationException AWS answers for a parameter that does not match
// its model pattern (which the gateway leaves to handlers).
func badPattern(path, value, pattern string) error {
	return errf("ValidationException", "1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must satisfy regular expression pattern: %s", value, path, pattern)
}

// checkRuleName refuses a rule name outside [.-_A-Za-z0-9]+; path names the parameter.
func checkRuleName(path, name string) error {
	if !ruleNameChars.MatchString(name) {
		return badPattern(path, name, `[\.\-_A-Za-z0-9]+`)
	}
	return nil
}

func ruleNotFound(name, bus string) error {
	return errf("ResourceNotFoundException", "Rule %s does not exist on EventBus %s.", name, bus)
}

// compilePattern compiles an event pattern, answering InvalidEventPatternException.
func compilePattern(src string) (*pattern.Pattern, error) {
	p, err := pattern.Compile(src)
	if err != nil {
		var pe *pattern.Error
		if errors.As(err, &pe) {
			return nil, invalid("%s", pe.Error())
		}
		return nil, err
	}
	return p, nil
}

func decodeRule(r *store.Resource) (*storedRule, error) {
	var sr storedRule
	if err := json.Unmarshal(r.Config, &sr); err != nil {
		return nil, fmt.Errorf("bus: decode rule %s: %w", r.ID, err)
	}
	sr.tags = r.Tags
	return &sr, nil
}

// getRule returns a rule of the call's account and region, or nil if there is none.
func getRule(ctx context.Context, c *call.Call, bus, name string) (*storedRule, error) {
	r, err := c.Tx.GetResource(ctx, c.Account, c.Region, RuleType, ruleID(bus, name))
	if err != nil {
		return nil, fmt.Errorf("bus: get rule %s: %w", name, err)
	}
	if r == nil {
		return nil, nil
	}
	return decodeRule(r)
}

// mustRule resolves EventBusName and returns the named rule, answering
// ResourceNotFoundException when the rule is missing.
func mustRule(ctx context.Context, c *call.Call, busParam *string, path, name string) (*storedRule, error) {
	if err := checkRuleName(path, name); err != nil {
		return nil, err
	}
	bus, err := busName(c, aws.ToString(busParam))
	if err != nil {
		return nil, err
	}
	r, err := getRule(ctx, c, bus, name)
	if err == nil && r == nil {
		err = ruleNotFound(name, bus)
	}
	return r, err
}

// compact re-encodes a JSON document without its null members, so that stored
// configurations (which AWS Config shows) carry only the target fields that are set.
func compact(raw []byte) ([]byte, error) {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, err
	}
	return json.Marshal(prune(v))
}

func prune(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if e == nil {
				delete(x, k)
			} else {
				x[k] = prune(e)
			}
		}
	case []any:
		for i, e := range x {
			x[i] = prune(e)
		}
	}
	return v
}

func saveRule(ctx context.Context, c *call.Call, r *storedRule) error {
	raw, err := json.Marshal(r)
	if err == nil {
		raw, err = compact(raw)
	}
	if err != nil {
		return fmt.Errorf("bus: encode rule %s: %w", r.Name, err)
	}
	c.Touch(RuleType, r.Name, r.Arn)
	if err := bumpRules(ctx, c.Write(), c.Account, c.Region, r.EventBusName); err != nil {
		return err
	}
	return c.Write().PutResource(ctx, &store.Resource{Account: c.Account, Region: c.Region, Type: RuleType,
		ID: ruleID(r.EventBusName, r.Name), ARN: r.Arn, Name: r.Name, Config: raw, Tags: r.tags})
}

// rulesOn returns the rules of one bus, by name.
func rulesOn(ctx context.Context, tx store.ReadTx, account, region, bus string) ([]*storedRule, error) {
	var out []*storedRule
	after := ""
	for {
		rs, next, err := tx.ListResources(ctx, store.ResourceQuery{Account: account, Region: region, Type: RuleType, After: after, Limit: 1000})
		if err != nil {
			return nil, fmt.Errorf("bus: list rules: %w", err)
		}
		for _, r := range rs {
			if !strings.HasPrefix(r.ID, bus+"/") || strings.Contains(r.ID[len(bus)+1:], "/") {
				continue
			}
			sr, err := decodeRule(r)
			if err != nil {
				return nil, err
			}
			out = append(out, sr)
		}
		if next == "" {
			break
		}
		after = next
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Rules returns the enabled rules of a bus with their compiled patterns and targets, for
// event delivery.
func (s *Service) Rules(ctx context.Context, tx store.ReadTx, account, region, bus string) ([]Rule, error) {
	rs, err := rulesOn(ctx, tx, account, region, bus)
	if err != nil {
		return nil, err
	}
	var out []Rule
	for _, r := range rs {
		if r.State == Disabled {
			continue
		}
		rule := Rule{Name: r.Name, Arn: r.Arn, EventBusName: r.EventBusName, EventPattern: r.EventPattern,
			ScheduleExpression: r.ScheduleExpression, RoleArn: r.RoleArn, State: r.State, Targets: r.Targets}
		if r.EventPattern != "" {
			if rule.Pattern, err = pattern.Compile(r.EventPattern); err != nil {
				return nil, fmt.Errorf("bus: rule %s: stored pattern: %w", r.Arn, err)
			}
		}
		out = append(out, rule)
	}
	return out, nil
}

// PutRule creates or replaces a rule; its targets and tags are kept on replacement.
func (s *Service) PutRule(ctx context.Context, in *events.PutRuleRequest) (*events.PutRuleResponse, error) {
	c := call.From(ctx)
	name := aws.ToString(in.Name)
	if err := checkRuleName("name", name); err != nil {
		return nil, err
	}
	bus, err := busName(c, aws.ToString(in.EventBusName))
	if err != nil {
		return nil, err
	}
	src, sched := aws.ToString(in.EventPattern), aws.ToString(in.ScheduleExpression)
	if src == "" && sched == "" {
		return nil, errf("ValidationException", "Parameter(s) EventPattern or ScheduleExpression must be specified.")
	}
	if src != "" {
		if _, err := compilePattern(src); err != nil {
			return nil, err
		}
	}
	if sched != "" {
		if !validSchedule(sched) {
			return nil, errf("ValidationException", "Parameter ScheduleExpression is not valid.")
		}
		if bus != DefaultBus {
			return nil, errf("ValidationException", "ScheduleExpression is supported only on the default event bus.")
		}
	}
	if _, err := mustBus(ctx, c, bus); err != nil {
		return nil, err
	}
	r, err := getRule(ctx, c, bus, name)
	if err != nil {
		return nil, err
	}
	if r == nil {
		tags, err := tagMap(nil, in.Tags)
		if err != nil {
			return nil, err
		}
		r = &storedRule{Name: name, Arn: RuleARN(c.Region, c.Account, bus, name), EventBusName: bus, CreatedBy: c.Account, tags: tags}
	}
	r.EventPattern, r.ScheduleExpression = src, sched
	r.State = aws.ToString(in.State)
	if r.State == "" {
		r.State = Enabled
	}
	r.Description, r.RoleArn = aws.ToString(in.Description), aws.ToString(in.RoleArn)
	if err := saveRule(ctx, c, r); err != nil {
		return nil, err
	}
	return &events.PutRuleResponse{RuleArn: aws.String(r.Arn)}, nil
}

// DescribeRule describes a rule.
func (s *Service) DescribeRule(ctx context.Context, in *events.DescribeRuleRequest) (*events.DescribeRuleResponse, error) {
	c := call.From(ctx)
	r, err := mustRule(ctx, c, in.EventBusName, "name", aws.ToString(in.Name))
	if err != nil {
		return nil, err
	}
	return &events.DescribeRuleResponse{Name: aws.String(r.Name), Arn: aws.String(r.Arn), EventPattern: opt(r.EventPattern),
		ScheduleExpression: opt(r.ScheduleExpression), State: aws.String(r.State), Description: opt(r.Description),
		RoleArn: opt(r.RoleArn), EventBusName: aws.String(r.EventBusName), CreatedBy: aws.String(r.CreatedBy)}, nil
}

// ListRules lists the rules of a bus whose names start with NamePrefix.
func (s *Service) ListRules(ctx context.Context, in *events.ListRulesRequest) (*events.ListRulesResponse, error) {
	c := call.From(ctx)
	bus, err := busName(c, aws.ToString(in.EventBusName))
	if err != nil {
		return nil, err
	}
	if _, err := mustBus(ctx, c, bus); err != nil {
		return nil, err
	}
	rs, err := rulesOn(ctx, c.Tx, c.Account, c.Region, bus)
	if err != nil {
		return nil, err
	}
	var names []string
	byName := map[string]*storedRule{}
	for _, r := range rs {
		if strings.HasPrefix(r.Name, aws.ToString(in.NamePrefix)) {
			names = append(names, r.Name)
			byName[r.Name] = r
		}
	}
	page, next, err := paginate(names, in.NextToken, in.Limit)
	if err != nil {
		return nil, err
	}
	out := &events.ListRulesResponse{Rules: []events.Rule{}, NextToken: next}
	for _, n := range page {
		r := byName[n]
		out.Rules = append(out.Rules, events.Rule{Name: aws.String(r.Name), Arn: aws.String(r.Arn), EventPattern: opt(r.EventPattern),
			State: aws.String(r.State), Description: opt(r.Description), ScheduleExpression: opt(r.ScheduleExpression),
			RoleArn: opt(r.RoleArn), EventBusName: aws.String(r.EventBusName)})
	}
	return out, nil
}

// DeleteRule deletes a rule; a rule with targets is deleted only with Force. Deleting a
// rule that does not exist succeeds.
func (s *Service) DeleteRule(ctx context.Context, in *events.DeleteRuleRequest) (*events.DeleteRuleOutput, error) {
	c := call.From(ctx)
	if err := checkRuleName("name", aws.ToString(in.Name)); err != nil {
		return nil, err
	}
	bus, err := busName(c, aws.ToString(in.EventBusName))
	if err != nil {
		return nil, err
	}
	r, err := getRule(ctx, c, bus, aws.ToString(in.Name))
	if err != nil || r == nil {
		return &events.DeleteRuleOutput{}, err
	}
	if len(r.Targets) > 0 && !aws.ToBool(in.Force) {
		return nil, errf("ValidationException", "Rule can't be deleted since it has targets.")
	}
	c.Touch(RuleType, r.Name, r.Arn)
	if err := bumpRules(ctx, c.Write(), c.Account, c.Region, bus); err != nil {
		return nil, err
	}
	if err := c.Write().DeleteResource(ctx, c.Account, c.Region, RuleType, ruleID(bus, r.Name)); err != nil {
		return nil, fmt.Errorf("bus: delete rule %s: %w", r.Name, err)
	}
	return &events.DeleteRuleOutput{}, nil
}

func (s *Service) setState(ctx context.Context, busParam *string, name, state string) error {
	c := call.From(ctx)
	r, err := mustRule(ctx, c, busParam, "name", name)
	if err != nil {
		return err
	}
	r.State = state
	return saveRule(ctx, c, r)
}

// EnableRule enables a rule.
func (s *Service) EnableRule(ctx context.Context, in *events.EnableRuleRequest) (*events.EnableRuleOutput, error) {
	if err := s.setState(ctx, in.EventBusName, aws.ToString(in.Name), Enabled); err != nil {
		return nil, err
	}
	return &events.EnableRuleOutput{}, nil
}

// DisableRule disables a rule: it stops matching events and schedules.
func (s *Service) DisableRule(ctx context.Context, in *events.DisableRuleRequest) (*events.DisableRuleOutput, error) {
	if err := s.setState(ctx, in.EventBusName, aws.ToString(in.Name), Disabled); err != nil {
		return nil, err
	}
	return &events.DisableRuleOutput{}, nil
}
