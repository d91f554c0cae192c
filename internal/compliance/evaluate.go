package compliance

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/bannin/bannin/internal/compliance/guard"
	"github.com/bannin/bannin/internal/recorder"
	"github.com/bannin/bannin/internal/store"
	"github.com/bannin/bannin/internal/stream"
)

// KindEvaluate is the stream entry kind that asks for an evaluation of rules against every
// current item in their scope (PutConfigRule, StartConfigRulesEvaluation); the payload is
// an evaluateRequest as JSON.
const KindEvaluate = "config.evaluate"

type evaluateRequest struct {
	Account string   `json:"account"`
	Region  string   `json:"region"`
	Rules   []string `json:"rules"`
}

// historyLen is how many earlier results an evaluation record keeps.
const historyLen = 10

// evalRecord is the latest evaluation of one rule for one resource, with earlier results.
type evalRecord struct {
	Rule         string       `json:"rule"`
	ResourceType string       `json:"type"`
	ResourceID   string       `json:"id"`
	Compliance   string       `json:"compliance"`
	Annotation   string       `json:"annotation,omitempty"`
	Ordering     time.Time    `json:"ordering"`
	Recorded     time.Time    `json:"recorded"`
	Invoked      time.Time    `json:"invoked"`
	History      []pastResult `json:"history,omitempty"`
}

type pastResult struct {
	Compliance string    `json:"compliance"`
	Annotation string    `json:"annotation,omitempty"`
	Recorded   time.Time `json:"recorded"`
}

// compiled is a rule ready to evaluate.
type compiled struct {
	rule     *storedRule
	def      *Managed       // AWS managed rules
	params   Params         // managed rule parameters
	policy   *guard.RuleSet // custom policy rules
	onChange bool
	periodic bool
	freq     time.Duration
}

// ruleIndex is the compiled rules of one account and region, by resource type.
type ruleIndex struct {
	gen     string
	rules   map[string]*compiled
	byType  map[string][]*compiled // change-triggered per-resource rules with types
	anyType []*compiled            // change-triggered per-resource rules for every type
	// accountByType are the account-level managed rules (EvaluateAll) by the types they read.
	// AWS runs them only periodically; bannin also runs them when one of those resources
	// changes, so that stopping the only trail is seen in seconds, not at the next period.
	accountByType map[string][]*compiled
}

func compile(r *storedRule) (*compiled, error) {
	c := &compiled{rule: r, freq: 24 * time.Hour}
	if r.MaxFrequency != "" {
		c.freq = frequencies[r.MaxFrequency]
	}
	for _, d := range r.SourceDetails {
		switch d.MessageType {
		case ChangeNotification, OversizedChangeNotification:
			c.onChange = true
		case ScheduledNotification:
			c.periodic = true
			if f, ok := frequencies[d.MaxFrequency]; ok {
				c.freq = f
			}
		}
	}
	switch r.Owner {
	case OwnerAWS:
		c.def = managed[r.SourceIdentifier]
		if c.def == nil {
			return nil, fmt.Errorf("unknown managed rule %s", r.SourceIdentifier)
		}
		p, err := c.def.params(r.InputParameters)
		if err != nil {
			return nil, err
		}
		c.params = p
		c.onChange = c.def.Trigger&OnChange != 0 && c.def.EvaluateAll == nil
		c.periodic = c.def.Trigger&Periodic != 0
	case OwnerCustomPolicy:
		rs, err := guard.Parse(r.PolicyText)
		if err != nil {
			return nil, err
		}
		c.policy = rs
	}
	return c, nil
}

// types are the resource types a per-resource rule evaluates (nil: every type).
func (c *compiled) types() []string {
	if c.rule.Scope != nil && len(c.rule.Scope.Types) > 0 {
		return c.rule.Scope.Types
	}
	if c.def != nil {
		return c.def.Types
	}
	return nil
}

// inScope says whether a per-resource rule applies to an item.
func (c *compiled) inScope(ci *CI) bool {
	if ts := c.types(); ts != nil && !contains(ts, ci.ResourceType) {
		return false
	}
	sc := c.rule.Scope
	if sc == nil {
		return true
	}
	if sc.ResourceID != "" && sc.ResourceID != ci.ResourceID {
		return false
	}
	if sc.TagKey != "" {
		v, has := ci.Tags[sc.TagKey]
		if !has || (sc.TagValue != "" && v != sc.TagValue) {
			return false
		}
	}
	return true
}

// evaluate judges one resource.
func (c *compiled) evaluate(ci *CI) Result {
	switch {
	case c.def != nil && c.def.Evaluate != nil:
		return c.def.Evaluate(ci, c.params)
	case c.policy != nil:
		results := c.policy.Evaluate(ci.Doc())
		st := guard.Overall(results)
		r := Result{Compliance: guard.ComplianceType(st)}
		if st == guard.Fail {
			var msgs []string
			for _, res := range results {
				if res.Status == guard.Fail {
					msgs = append(msgs, res.Rule+": "+strings.Join(res.Messages, "; "))
				}
			}
			r.Annotation = truncate(strings.Join(msgs, " | "), 256)
		}
		return r
	}
	return notApplicable("")
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-3] + "..."
}

// rulesFor returns the compiled rules of an account and region, reusing the cached index
// while the rule generation is unchanged.
func (s *Service) rulesFor(ctx context.Context, tx store.ReadTx, account, region string) (*ruleIndex, error) {
	genB, err := tx.Get(ctx, bucketRuleGen, key(account, region))
	if err != nil {
		return nil, fmt.Errorf("compliance: rule generation: %w", err)
	}
	gen, k := string(genB), key(account, region)
	s.mu.Lock()
	idx := s.index[k]
	s.mu.Unlock()
	if idx != nil && idx.gen == gen {
		return idx, nil
	}
	rules, err := listRules(ctx, tx, account, region)
	if err != nil {
		return nil, err
	}
	idx = &ruleIndex{gen: gen, rules: map[string]*compiled{}, byType: map[string][]*compiled{}, accountByType: map[string][]*compiled{}}
	for _, r := range rules {
		c, err := compile(r)
		if err != nil {
			s.log().Warn("compliance: rule does not compile", "rule", r.Name, "err", err)
			continue
		}
		idx.rules[r.Name] = c
		if c.def != nil && c.def.EvaluateAll != nil {
			for _, t := range c.def.Types {
				idx.accountByType[t] = append(idx.accountByType[t], c)
			}
		}
		if !c.onChange {
			continue
		}
		if ts := c.types(); ts != nil {
			for _, t := range ts {
				idx.byType[t] = append(idx.byType[t], c)
			}
		} else {
			idx.anyType = append(idx.anyType, c)
		}
	}
	s.mu.Lock()
	s.index[k] = idx
	s.mu.Unlock()
	return idx, nil
}

// requestEvaluation queues a full evaluation of rules in tx.
func (s *Service) requestEvaluation(ctx context.Context, tx store.Tx, account, region string, rules []string) error {
	b, _ := json.Marshal(evaluateRequest{Account: account, Region: region, Rules: rules})
	if _, err := tx.Append(ctx, KindEvaluate, b); err != nil {
		return fmt.Errorf("compliance: append %s: %w", KindEvaluate, err)
	}
	return nil
}

// Consumers evaluates rules on every configuration item the recorder records and on
// evaluation requests.
func (s *Service) Consumers() []stream.Consumer {
	return []stream.Consumer{{
		Name:   "config.rules",
		Kinds:  []string{recorder.KindItem, KindEvaluate},
		Batch:  500,
		Handle: s.handle,
	}}
}

func (s *Service) handle(ctx context.Context, entries []store.Entry) error {
	if s.opts.Store == nil {
		return fmt.Errorf("compliance: no store")
	}
	return s.opts.Store.Update(ctx, func(tx store.Tx) error { return s.HandleEntries(ctx, tx, entries) })
}

// HandleEntries evaluates what a batch of stream entries asks for, in tx.
func (s *Service) HandleEntries(ctx context.Context, tx store.Tx, entries []store.Entry) error {
	ev := s.newRun(tx)
	// Account-level rules touched by the batch's items run once, after the items.
	type accountRule struct {
		account, region string
		c               *compiled
	}
	var accountRules []accountRule
	seen := map[string]bool{}
	for _, e := range entries {
		switch e.Kind {
		case recorder.KindItem:
			var it recorder.Item
			if err := json.Unmarshal(e.Payload, &it); err != nil {
				s.log().Warn("compliance: undecodable configuration item", "seq", e.Seq, "err", err)
				continue
			}
			if err := ev.item(ctx, &it); err != nil {
				return err
			}
			idx, err := s.rulesFor(ctx, tx, it.AccountID, it.Region)
			if err != nil {
				return err
			}
			for _, c := range idx.accountByType[it.ResourceType] {
				if k := key(it.AccountID, it.Region, c.rule.Name); !seen[k] {
					seen[k] = true
					accountRules = append(accountRules, accountRule{it.AccountID, it.Region, c})
				}
			}
		case KindEvaluate:
			var req evaluateRequest
			if err := json.Unmarshal(e.Payload, &req); err != nil {
				s.log().Warn("compliance: undecodable evaluation request", "seq", e.Seq, "err", err)
				continue
			}
			idx, err := s.rulesFor(ctx, tx, req.Account, req.Region)
			if err != nil {
				return err
			}
			for _, name := range req.Rules {
				if c := idx.rules[name]; c != nil {
					if err := ev.full(ctx, req.Account, req.Region, c, false); err != nil {
						return err
					}
				}
			}
		}
	}
	for _, a := range accountRules {
		if err := ev.full(ctx, a.account, a.region, a.c, false); err != nil {
			return err
		}
	}
	return ev.finish(ctx)
}

// run is one transaction's evaluations: it remembers which rules ran, to update their
// status once at the end.
type run struct {
	s   *Service
	tx  store.Tx
	now time.Time
	ran map[string]*ranRule // account|region|rule
}

type ranRule struct {
	account, region, rule string
	periodic              bool
}

func (s *Service) newRun(tx store.Tx) *run {
	return &run{s: s, tx: tx, now: s.opts.Clock().UTC(), ran: map[string]*ranRule{}}
}

func (ev *run) mark(account, region, rule string, periodic bool) {
	k := key(account, region, rule)
	if r := ev.ran[k]; r != nil {
		r.periodic = r.periodic || periodic
		return
	}
	ev.ran[k] = &ranRule{account: account, region: region, rule: rule, periodic: periodic}
}

// finish records when each rule ran.
func (ev *run) finish(ctx context.Context) error {
	for _, r := range ev.ran {
		st, err := loadStatus(ctx, ev.tx, r.account, r.region, r.rule)
		if err != nil {
			return err
		}
		if st.FirstActivated.IsZero() {
			st.FirstActivated = ev.now
		}
		st.Started, st.LastInvoked, st.LastEvaluated = true, ev.now, ev.now
		if r.periodic {
			st.LastPeriodic = ev.now
		}
		if err := saveStatus(ctx, ev.tx, r.account, r.region, r.rule, st); err != nil {
			return err
		}
	}
	return nil
}

// item evaluates the change-triggered rules in scope of one configuration item.
func (ev *run) item(ctx context.Context, it *recorder.Item) error {
	idx, err := ev.s.rulesFor(ctx, ev.tx, it.AccountID, it.Region)
	if err != nil {
		return err
	}
	cands := idx.byType[it.ResourceType]
	if len(cands) == 0 && len(idx.anyType) == 0 {
		return nil
	}
	deleted := strings.HasPrefix(it.Status, "ResourceDeleted")
	ci := NewCI(it)
	for _, list := range [][]*compiled{cands, idx.anyType} {
		for _, c := range list {
			ev.mark(it.AccountID, it.Region, c.rule.Name, false)
			if deleted {
				if err := ev.s.remove(ctx, ev.tx, it.AccountID, it.Region, c.rule, it.ResourceType, it.ResourceID, ev.now); err != nil {
					return err
				}
				continue
			}
			if !c.inScope(ci) {
				if c.rule.Scope != nil && (c.rule.Scope.TagKey != "" || c.rule.Scope.ResourceID != "") {
					// Out of scope now: an earlier result no longer applies.
					if err := ev.s.remove(ctx, ev.tx, it.AccountID, it.Region, c.rule, it.ResourceType, it.ResourceID, ev.now); err != nil {
						return err
					}
				}
				continue
			}
			e := Evaluation{ResourceType: it.ResourceType, ResourceID: it.ResourceID, Result: c.evaluate(ci)}
			if err := ev.s.record(ctx, ev.tx, it.AccountID, it.Region, c.rule, e, it.CaptureTime, ev.now); err != nil {
				return err
			}
		}
	}
	return nil
}

// full evaluates one rule against every current item in its scope, and removes the
// results of resources that are gone.
func (ev *run) full(ctx context.Context, account, region string, c *compiled, periodic bool) error {
	ev.mark(account, region, c.rule.Name, periodic)
	var evals []Evaluation
	switch {
	case c.rule.Owner == OwnerCustomLambda:
		return nil // fed by PutEvaluations only
	case c.def != nil && c.def.EvaluateAll != nil:
		items, err := ev.s.opts.Items(ctx, ev.tx, account, region, c.def.Types)
		if err != nil {
			return fmt.Errorf("compliance: current items for %s: %w", c.rule.Name, err)
		}
		cis := make([]*CI, len(items))
		for i, it := range items {
			cis[i] = NewCI(it)
		}
		evals = c.def.EvaluateAll(account, cis, c.params)
	default:
		items, err := ev.s.opts.Items(ctx, ev.tx, account, region, c.types())
		if err != nil {
			return fmt.Errorf("compliance: current items for %s: %w", c.rule.Name, err)
		}
		for _, it := range items {
			ci := NewCI(it)
			if c.inScope(ci) {
				evals = append(evals, Evaluation{ResourceType: it.ResourceType, ResourceID: it.ResourceID, Result: c.evaluate(ci)})
			}
		}
	}
	seen := map[string]bool{}
	for _, e := range evals {
		seen[key(e.ResourceType, e.ResourceID)] = true
		if err := ev.s.record(ctx, ev.tx, account, region, c.rule, e, ev.now, ev.now); err != nil {
			return err
		}
	}
	prefix := key(account, region, c.rule.ID, "")
	kvs, err := store.ListAll(ctx, ev.tx, bucketEval, prefix)
	if err != nil {
		return err
	}
	for _, kv := range kvs {
		var rec evalRecord
		if json.Unmarshal(kv.Value, &rec) != nil || seen[key(rec.ResourceType, rec.ResourceID)] {
			continue
		}
		if err := ev.s.remove(ctx, ev.tx, account, region, c.rule, rec.ResourceType, rec.ResourceID, ev.now); err != nil {
			return err
		}
	}
	return nil
}

func evalKey(account, region string, r *storedRule, typ, id string) string {
	return key(account, region, r.ID, typ, id)
}

func loadEval(ctx context.Context, tx store.ReadTx, k string) (*evalRecord, error) {
	b, err := tx.Get(ctx, bucketEval, k)
	if err != nil || b == nil {
		return nil, err
	}
	var rec evalRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, fmt.Errorf("compliance: decode evaluation %s: %w", k, err)
	}
	return &rec, nil
}

// record stores a rule's result for a resource, notifies a change of compliance, and
// starts or settles remediation.
func (s *Service) record(ctx context.Context, tx store.Tx, account, region string, r *storedRule, e Evaluation, ordering, now time.Time) error {
	k := evalKey(account, region, r, e.ResourceType, e.ResourceID)
	prev, err := loadEval(ctx, tx, k)
	if err != nil {
		return err
	}
	if prev != nil && ordering.Before(prev.Ordering) {
		return nil // an older result arriving late
	}
	rec := &evalRecord{Rule: r.Name, ResourceType: e.ResourceType, ResourceID: e.ResourceID, Compliance: e.Compliance,
		Annotation: truncate(e.Annotation, 256), Ordering: ordering.UTC(), Recorded: now, Invoked: now}
	if rec.Compliance == "" {
		rec.Compliance = NotApplicable
	}
	if prev != nil {
		rec.History = prev.History
		if prev.Compliance != rec.Compliance || prev.Annotation != rec.Annotation {
			rec.History = append(rec.History, pastResult{Compliance: prev.Compliance, Annotation: prev.Annotation, Recorded: prev.Recorded})
			if len(rec.History) > historyLen {
				rec.History = rec.History[len(rec.History)-historyLen:]
			}
		}
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	if err := tx.Put(ctx, bucketEval, k, b); err != nil {
		return fmt.Errorf("compliance: save evaluation: %w", err)
	}
	if prev != nil && prev.Compliance == rec.Compliance {
		return nil
	}
	s.notifyChange(ctx, tx, account, region, r, prev, rec)
	return s.remediationOnChange(ctx, tx, account, region, r, rec)
}

// remove deletes a rule's result for a resource (the resource was deleted or left the
// rule's scope): it becomes NOT_APPLICABLE and is removed, as AWS does.
func (s *Service) remove(ctx context.Context, tx store.Tx, account, region string, r *storedRule, typ, id string, now time.Time) error {
	k := evalKey(account, region, r, typ, id)
	prev, err := loadEval(ctx, tx, k)
	if err != nil || prev == nil {
		return err
	}
	if err := tx.Delete(ctx, bucketEval, k); err != nil {
		return fmt.Errorf("compliance: delete evaluation: %w", err)
	}
	if prev.Compliance != NotApplicable {
		s.notifyChange(ctx, tx, account, region, r, prev, &evalRecord{Rule: r.Name, ResourceType: typ, ResourceID: id,
			Compliance: NotApplicable, Ordering: now, Recorded: now, Invoked: now})
	}
	return nil
}

// notifyChange sends a ComplianceChangeNotification through the recorder's delivery
// channel. Its failure does not undo the evaluation: it is logged.
func (s *Service) notifyChange(ctx context.Context, tx store.Tx, account, region string, r *storedRule, prev, cur *evalRecord) {
	n := map[string]any{
		"awsAccountId": account, "configRuleName": r.Name, "configRuleARN": r.ARN, "awsRegion": region,
		"resourceType": cur.ResourceType, "resourceId": cur.ResourceID,
		"newEvaluationResult":      notificationResult(r, cur),
		"oldEvaluationResult":      nil,
		"notificationCreationTime": cur.Recorded.Format(time.RFC3339Nano),
		"messageType":              "ComplianceChangeNotification",
		"recordVersion":            "1.0",
	}
	if prev != nil {
		n["oldEvaluationResult"] = notificationResult(r, prev)
	}
	if err := s.opts.Notify(ctx, tx, account, region, "ComplianceChangeNotification", n); err != nil {
		s.log().Debug("compliance: compliance change notification not sent", "rule", r.Name, "resource", cur.ResourceID, "err", err)
	}
}

func notificationResult(r *storedRule, e *evalRecord) map[string]any {
	out := map[string]any{
		"evaluationResultIdentifier": map[string]any{
			"evaluationResultQualifier": map[string]any{"configRuleName": r.Name, "resourceType": e.ResourceType,
				"resourceId": e.ResourceID, "evaluationMode": "DETECTIVE"},
			"orderingTimestamp": e.Ordering.Format(time.RFC3339Nano),
		},
		"complianceType":        e.Compliance,
		"resultRecordedTime":    e.Recorded.Format(time.RFC3339Nano),
		"configRuleInvokedTime": e.Invoked.Format(time.RFC3339Nano),
	}
	if e.Annotation != "" {
		out["annotation"] = e.Annotation
	}
	return out
}

// Run evaluates periodic rules when they are due (per MaximumExecutionFrequency, on the
// injected clock) and follows remediation executions, until ctx is done.
func (s *Service) Run(ctx context.Context) error {
	t := time.NewTicker(s.opts.Tick)
	defer t.Stop()
	for {
		if err := s.Tick(ctx); err != nil && ctx.Err() == nil {
			s.log().Warn("compliance: periodic work", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Tick runs the periodic rules that are due and polls running remediations once.
func (s *Service) Tick(ctx context.Context) error {
	if s.opts.Store == nil {
		return nil
	}
	if err := s.opts.Store.Update(ctx, func(tx store.Tx) error { return s.periodic(ctx, tx) }); err != nil {
		return err
	}
	return s.opts.Store.Update(ctx, func(tx store.Tx) error { return s.pollRemediations(ctx, tx) })
}

// periodic evaluates every periodic rule whose last periodic run is older than its
// frequency.
func (s *Service) periodic(ctx context.Context, tx store.Tx) error {
	kvs, err := store.ListAll(ctx, tx, bucketRule, "")
	if err != nil {
		return err
	}
	ev := s.newRun(tx)
	done := map[string]bool{}
	for _, kv := range kvs {
		parts := splitKey(kv.Key, 3)
		if len(parts) != 3 {
			continue
		}
		account, region, name := parts[0], parts[1], parts[2]
		idx, err := s.rulesFor(ctx, tx, account, region)
		if err != nil {
			return err
		}
		c := idx.rules[name]
		if c == nil || !c.periodic || done[kv.Key] {
			continue
		}
		st, err := loadStatus(ctx, tx, account, region, name)
		if err != nil {
			return err
		}
		last := st.LastPeriodic
		if last.IsZero() {
			last = st.FirstActivated
		}
		if ev.now.Sub(last) < c.freq {
			continue
		}
		done[kv.Key] = true
		if err := ev.full(ctx, account, region, c, true); err != nil {
			return err
		}
	}
	return ev.finish(ctx)
}
