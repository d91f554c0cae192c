package bus

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/bannin/bannin/internal/call"
	"github.com/bannin/bannin/internal/wire/events"
)

// targetID is what a target Id may be.
var targetID = regexp.MustCompile(`^[.\-_A-Za-z0-9]{1,64}$`)

// maxTargets is how many targets a rule can have at one time.
const maxTargets = 5

// checkTarget refuses a target the whole request fails for: more than one of Input,
// InputPath and InputTransformer, an Input that is not JSON, an InputPath that is not a
// JSON path.
func checkTarget(t *events.Target) error {
	n := 0
	for _, set := range []bool{t.Input != nil, t.InputPath != nil, t.InputTransformer != nil} {
		if set {
			n++
		}
	}
	id := aws.ToString(t.Id)
	switch {
	case n > 1:
		return errf("ValidationException", "Only one of Input, InputPath, or InputTransformer must be provided for target %s.", id)
	case t.Input != nil && !json.Valid([]byte(*t.Input)):
		return errf("ValidationException", "Input for target %s is not valid JSON text.", id)
	case t.InputPath != nil && !strings.HasPrefix(*t.InputPath, "$"):
		return errf("ValidationException", "InputPath for target %s is not a valid JSON path.", id)
	}
	return nil
}

// targetFailure returns why one target is not put while the others are (a
// FailedEntries entry), or "" if it can be put: a FIFO queue needs SqsParameters (its
// message group), as EventBridge says; and bannin refuses a target of a service it does
// not deliver to, rather than accept it and drop every event meant for it.
func targetFailure(t *events.Target) string {
	arn := aws.ToString(t.Arn)
	if strings.Contains(arn, ":sqs:") && strings.HasSuffix(arn, ".fifo") && t.SqsParameters == nil {
		return "Parameter(s) SqsParameters must be specified for target: " + aws.ToString(t.Id) + "."
	}
	if !deliverable(arn) {
		service := "this service"
		if parts := strings.SplitN(arn, ":", 4); len(parts) == 4 && parts[0] == "arn" && parts[2] != "" {
			service = parts[2]
		}
		return fmt.Sprintf("Target %s (%s): bannin does not deliver to %s targets yet; it delivers to SNS topics, "+
			"CloudWatch Logs log groups, event buses, SSM Automation documents and API destinations.", aws.ToString(t.Id), arn, service)
	}
	return ""
}

// deliverable tells whether attempt knows how to deliver to a target ARN.
func deliverable(arn string) bool {
	for _, re := range []*regexp.Regexp{busARN, snsARN, logGroupARN, automationARN, apiDestARN} {
		if re.MatchString(arn) {
			return true
		}
	}
	return false
}

// PutTargets adds targets to a rule or replaces those with the same Id. Targets
// EventBridge refuses one by one are reported in FailedEntries and the others are put;
// malformed ones fail the whole request.
func (s *Service) PutTargets(ctx context.Context, in *events.PutTargetsRequest) (*events.PutTargetsResponse, error) {
	c := call.From(ctx)
	r, err := mustRule(ctx, c, in.EventBusName, "rule", aws.ToString(in.Rule))
	if err != nil {
		return nil, err
	}
	for i, t := range in.Targets {
		if err := checkTarget(&t); err != nil {
			return nil, err
		}
		if !targetID.MatchString(aws.ToString(t.Id)) {
			return nil, errf("ValidationException", "1 validation error detected: Value '%s' at 'targets.%d.member.id' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+ and have length between 1 and 64", aws.ToString(t.Id), i+1)
		}
	}
	out := &events.PutTargetsResponse{FailedEntries: []events.PutTargetsResultEntry{}}
	targets := append([]events.Target(nil), r.Targets...)
	index := map[string]int{}
	for i, t := range targets {
		index[aws.ToString(t.Id)] = i
	}
	for _, t := range in.Targets {
		if msg := targetFailure(&t); msg != "" {
			out.FailedEntries = append(out.FailedEntries, events.PutTargetsResultEntry{TargetId: t.Id,
				ErrorCode: aws.String("ValidationException"), ErrorMessage: aws.String(msg)})
			continue
		}
		if i, ok := index[aws.ToString(t.Id)]; ok {
			targets[i] = t
			continue
		}
		index[aws.ToString(t.Id)] = len(targets)
		targets = append(targets, t)
	}
	if len(targets) > maxTargets {
		return nil, errf("LimitExceededException", "The requested resource exceeds the maximum number allowed.")
	}
	out.FailedEntryCount = aws.Int32(int32(len(out.FailedEntries)))
	if len(out.FailedEntries) == len(in.Targets) {
		return out, nil
	}
	r.Targets = targets
	if err := saveRule(ctx, c, r); err != nil {
		return nil, err
	}
	return out, nil
}

// RemoveTargets removes targets from a rule by Id; Ids the rule does not have are ignored.
func (s *Service) RemoveTargets(ctx context.Context, in *events.RemoveTargetsRequest) (*events.RemoveTargetsResponse, error) {
	c := call.From(ctx)
	r, err := mustRule(ctx, c, in.EventBusName, "rule", aws.ToString(in.Rule))
	if err != nil {
		return nil, err
	}
	drop := map[string]bool{}
	for _, id := range in.Ids {
		drop[id] = true
	}
	var kept []events.Target
	for _, t := range r.Targets {
		if !drop[aws.ToString(t.Id)] {
			kept = append(kept, t)
		}
	}
	out := &events.RemoveTargetsResponse{FailedEntryCount: aws.Int32(0), FailedEntries: []events.RemoveTargetsResultEntry{}}
	if len(kept) == len(r.Targets) {
		return out, nil
	}
	r.Targets = kept
	if err := saveRule(ctx, c, r); err != nil {
		return nil, err
	}
	return out, nil
}

// ListTargetsByRule lists a rule's targets by Id.
func (s *Service) ListTargetsByRule(ctx context.Context, in *events.ListTargetsByRuleRequest) (*events.ListTargetsByRuleResponse, error) {
	c := call.From(ctx)
	r, err := mustRule(ctx, c, in.EventBusName, "rule", aws.ToString(in.Rule))
	if err != nil {
		return nil, err
	}
	byID := map[string]events.Target{}
	ids := make([]string, 0, len(r.Targets))
	for _, t := range r.Targets {
		byID[aws.ToString(t.Id)] = t
		ids = append(ids, aws.ToString(t.Id))
	}
	sort.Strings(ids)
	page, next, err := paginate(ids, in.NextToken, in.Limit)
	if err != nil {
		return nil, err
	}
	out := &events.ListTargetsByRuleResponse{Targets: []events.Target{}, NextToken: next}
	for _, id := range page {
		out.Targets = append(out.Targets, byID[id])
	}
	return out, nil
}

// ListRuleNamesByTarget lists the rules of a bus that have a target with the given ARN.
func (s *Service) ListRuleNamesByTarget(ctx context.Context, in *events.ListRuleNamesByTargetRequest) (*events.ListRuleNamesByTargetResponse, error) {
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
	for _, r := range rs {
		for _, t := range r.Targets {
			if aws.ToString(t.Arn) == aws.ToString(in.TargetArn) {
				names = append(names, r.Name)
				break
			}
		}
	}
	page, next, err := paginate(names, in.NextToken, in.Limit)
	if err != nil {
		return nil, err
	}
	return &events.ListRuleNamesByTargetResponse{RuleNames: append([]string{}, page...), NextToken: next}, nil
}
