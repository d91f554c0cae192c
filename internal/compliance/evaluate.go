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

// historyLen is how many earlier results an evaluation's history keeps.
const historyLen = 10

// evalRecord is the latest evaluation of one rule for one resource, as queries return it
// (stored as a storedResult in the resource's resultSet, see evalstore.go).
type evalRecord struct {
	Rule         string    `json:"rule"`
	ResourceType string    `json:"type"`
	ResourceID   string    `json:"id"`
	Compliance   string    `json:"compliance"`
	Annotation   string    `json:"annotation,omitempty"`
	Ordering     time.Time `json:"ordering"`
	Recorded     time.Time `json:"recorded"`
	Invoked      time.Time `json:"invoked"`
}

// pastResult is a result a rule had for a resource before its latest change.
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
	gen string
	// all are the stored rules in name order, compiled or not (they are read-only).
	all     []*storedRule
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
		c.onChange = c.def.Trigger&OnChange != 0 && c.def.Evaluate != nil
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
	idx = &ruleIndex{gen: gen, all: rules, rules: map[string]*compiled{}, byType: map[string][]*compiled{}, accountByType: map[string][]*compiled{}}
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

// txBudget bounds the time the consumer holds the store's single writer in one transaction:
// once a transaction has evaluated for that long it commits, and the rest of the batch
// goes on in the next one, so that API calls' transactions get their turn in between.
const txBudget = 50 * time.Millisecond

// work is one unit of a batch: the change-triggered evaluation of one configuration item,
// or the full evaluation of one rule.
type work struct {
	item            *recorder.Item
	account, region string
	rule            string // full evaluation of this rule
}

// parseEntries turns stream entries into units of work; undecodable entries are logged and
// skipped.
func (s *Service) parseEntries(entries []store.Entry) []work {
	var out []work
	for _, e := range entries {
		switch e.Kind {
		case recorder.KindItem:
			it := &recorder.Item{}
			if err := json.Unmarshal(e.Payload, it); err != nil {
				s.log().Warn("compliance: undecodable configuration item", "seq", e.Seq, "err", err)
				continue
			}
			out = append(out, work{item: it})
		case KindEvaluate:
			var req evaluateRequest
			if err := json.Unmarshal(e.Payload, &req); err != nil {
				s.log().Warn("compliance: undecodable evaluation request", "seq", e.Seq, "err", err)
				continue
			}
			for _, name := range req.Rules {
				out = append(out, work{account: req.Account, region: req.Region, rule: name})
			}
		}
	}
	return out
}

func (s *Service) handle(ctx context.Context, entries []store.Entry) error {
	if s.opts.Store == nil {
		return fmt.Errorf("compliance: no store")
	}
	if err := s.convert(ctx); err != nil {
		return err
	}
	units := s.parseEntries(entries)
	for len(units) > 0 {
		var done int
		err := s.opts.Store.Update(ctx, func(tx store.Tx) error {
			n, err := s.process(ctx, tx, units, s.budget)
			done = n
			return err
		})
		if err != nil {
			return err
		}
		units = units[done:]
	}
	return nil
}

// convert converts stored results of an earlier layout once per process (see
// convertResults).
func (s *Service) convert(ctx context.Context) error {
	if s.converted.Load() || s.opts.Store == nil {
		return nil
	}
	if err := s.opts.Store.Update(ctx, func(tx store.Tx) error { return convertResults(ctx, tx) }); err != nil {
		return fmt.Errorf("compliance: convert stored results: %w", err)
	}
	s.converted.Store(true)
	return nil
}

// HandleEntries evaluates what a batch of stream entries asks for, in tx.
func (s *Service) HandleEntries(ctx context.Context, tx store.Tx, entries []store.Entry) error {
	_, err := s.process(ctx, tx, s.parseEntries(entries), 0)
	return err
}

// process evaluates units in tx and returns how many it did: all of them, or (budget > 0)
// those done before the budget of time ran out (at least one).
func (s *Service) process(ctx context.Context, tx store.Tx, units []work, budget time.Duration) (int, error) {
	start := time.Now()
	ctx = recorder.WithChannelCache(ctx) // compliance changes are sent through one channel read
	ev := s.newRun(tx)
	// Account-level rules touched by the units' items run once, after the items.
	type accountRule struct {
		account, region string
		c               *compiled
	}
	var accountRules []accountRule
	seen := map[string]bool{}
	n := 0
	for n < len(units) {
		if budget > 0 && n > 0 && time.Since(start) >= budget {
			break
		}
		u := units[n]
		n++
		if it := u.item; it != nil {
			if err := ev.item(ctx, it); err != nil {
				return 0, err
			}
			idx, err := s.rulesFor(ctx, tx, it.AccountID, it.Region)
			if err != nil {
				return 0, err
			}
			for _, c := range idx.accountByType[it.ResourceType] {
				if k := key(it.AccountID, it.Region, c.rule.Name); !seen[k] {
					seen[k] = true
					accountRules = append(accountRules, accountRule{it.AccountID, it.Region, c})
				}
			}
			continue
		}
		idx, err := s.rulesFor(ctx, tx, u.account, u.region)
		if err != nil {
			return 0, err
		}
		if c := idx.rules[u.rule]; c != nil {
			if err := ev.full(ctx, u.account, u.region, c, false); err != nil {
				return 0, err
			}
		}
	}
	for _, a := range accountRules {
		if err := ev.full(ctx, a.account, a.region, a.c, false); err != nil {
			return 0, err
		}
	}
	return n, ev.finish(ctx)
}

// run is one transaction's evaluations: it remembers which rules ran, to update their
// status once at the end, keeps the results it changes until then, and decodes the current
// items a full evaluation reads once for all the rules that read them.
type run struct {
	s     *Service
	tx    store.Tx
	now   time.Time
	ran   map[string]*ranRule // account|region|rule
	res   *results
	items map[string][]*CI // account|region|types -> current items
}

type ranRule struct {
	account, region, rule string
	periodic              bool
}

func (s *Service) newRun(tx store.Tx) *run {
	return &run{s: s, tx: tx, now: s.opts.Clock().UTC(), ran: map[string]*ranRule{}, res: newResults(tx), items: map[string][]*CI{}}
}

func (ev *run) mark(account, region, rule string, periodic bool) {
	k := key(account, region, rule)
	if r := ev.ran[k]; r != nil {
		r.periodic = r.periodic || periodic
		return
	}
	ev.ran[k] = &ranRule{account: account, region: region, rule: rule, periodic: periodic}
}

// finish writes the changed results and records when each rule ran.
func (ev *run) finish(ctx context.Context) error {
	if err := ev.res.flush(ctx); err != nil {
		return err
	}
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
				if err := ev.s.remove(ctx, ev.res, it.AccountID, it.Region, c.rule, it.ResourceType, it.ResourceID, ev.now); err != nil {
					return err
				}
				continue
			}
			if !c.inScope(ci) {
				if c.rule.Scope != nil && (c.rule.Scope.TagKey != "" || c.rule.Scope.ResourceID != "") {
					// Out of scope now: an earlier result no longer applies.
					if err := ev.s.remove(ctx, ev.res, it.AccountID, it.Region, c.rule, it.ResourceType, it.ResourceID, ev.now); err != nil {
						return err
					}
				}
				continue
			}
			e := Evaluation{ResourceType: it.ResourceType, ResourceID: it.ResourceID, Result: c.evaluate(ci)}
			if err := ev.s.record(ctx, ev.res, it.AccountID, it.Region, c.rule, e, it.CaptureTime, ev.now); err != nil {
				return err
			}
		}
	}
	return nil
}

// current returns the current items of types (all: none), decoded once per run.
func (ev *run) current(ctx context.Context, account, region string, types []string) ([]*CI, error) {
	k := key(append([]string{account, region}, types...)...)
	if cis, ok := ev.items[k]; ok {
		return cis, nil
	}
	items, err := ev.s.opts.Items(ctx, ev.tx, account, region, types)
	if err != nil {
		return nil, err
	}
	cis := make([]*CI, len(items))
	ev.s.cisMu.Lock()
	if ev.s.cis == nil || len(ev.s.cis) > maxCIs {
		ev.s.cis = map[*recorder.Item]*CI{}
	}
	for i, it := range items {
		ci := ev.s.cis[it]
		if ci == nil {
			ci = NewCI(it)
			ev.s.cis[it] = ci
		}
		cis[i] = ci
	}
	ev.s.cisMu.Unlock()
	ev.items[k] = cis
	return cis, nil
}

// maxCIs bounds the wrapped items kept across transactions; past it, they start over.
const maxCIs = 200000

// full evaluates one rule against every current item in its scope, and removes the
// results of resources that are gone.
func (ev *run) full(ctx context.Context, account, region string, c *compiled, periodic bool) error {
	ev.mark(account, region, c.rule.Name, periodic)
	var evals []Evaluation
	switch {
	case c.rule.Owner == OwnerCustomLambda:
		return nil // fed by PutEvaluations only
	case c.def != nil && c.def.EvaluateAccount != nil:
		if ev.s.opts.RootAccessKeys == nil {
			ev.s.log().Debug("compliance: no account facts to evaluate with", "rule", c.rule.Name)
			break // no results: INSUFFICIENT_DATA
		}
		keys, err := ev.s.opts.RootAccessKeys(ctx, account)
		if err != nil {
			return fmt.Errorf("compliance: root access keys for %s: %w", c.rule.Name, err)
		}
		evals = c.def.EvaluateAccount(account, AccountFacts{RootAccessKeys: keys}, c.params)
	case c.def != nil && c.def.EvaluateAll != nil:
		cis, err := ev.current(ctx, account, region, c.def.Types)
		if err != nil {
			return fmt.Errorf("compliance: current items for %s: %w", c.rule.Name, err)
		}
		evals = c.def.EvaluateAll(account, cis, c.params)
	default:
		cis, err := ev.current(ctx, account, region, c.types())
		if err != nil {
			return fmt.Errorf("compliance: current items for %s: %w", c.rule.Name, err)
		}
		for _, ci := range cis {
			if c.inScope(ci) {
				evals = append(evals, Evaluation{ResourceType: ci.ResourceType, ResourceID: ci.ResourceID, Result: c.evaluate(ci)})
			}
		}
	}
	seen := map[string]bool{}
	for _, e := range evals {
		seen[key(e.ResourceType, e.ResourceID)] = true
		if err := ev.s.record(ctx, ev.res, account, region, c.rule, e, ev.now, ev.now); err != nil {
			return err
		}
	}
	idx, err := ruleIndexed(ctx, ev.tx, account, region, c.rule)
	if err != nil {
		return err
	}
	for _, e := range idx {
		if seen[key(e.typ, e.id)] {
			continue
		}
		if err := ev.s.remove(ctx, ev.res, account, region, c.rule, e.typ, e.id, ev.now); err != nil {
			return err
		}
	}
	return nil
}

// evalKey is a rule's index key for a resource.
func evalKey(account, region string, r *storedRule, typ, id string) string {
	return key(account, region, r.ID, typ, id)
}

// record stores a rule's result for a resource, notifies a change of compliance, and
// starts or settles remediation.
func (s *Service) record(ctx context.Context, rs *results, account, region string, r *storedRule, e Evaluation, ordering, now time.Time) error {
	rec := &evalRecord{Rule: r.Name, ResourceType: e.ResourceType, ResourceID: e.ResourceID, Compliance: e.Compliance,
		Annotation: truncate(e.Annotation, 256), Ordering: ordering.UTC(), Recorded: now, Invoked: now}
	if rec.Compliance == "" {
		rec.Compliance = NotApplicable
	}
	prev, stored, err := rs.put(ctx, account, region, r, rec)
	if err != nil || !stored {
		return err
	}
	if prev != nil && prev.Compliance == rec.Compliance {
		return nil
	}
	s.notifyChange(ctx, rs.tx, account, region, r, prev, rec)
	return s.remediationOnChange(ctx, rs, account, region, r, rec)
}

// remove deletes a rule's result for a resource (the resource was deleted or left the
// rule's scope): it becomes NOT_APPLICABLE and is removed, as AWS does.
func (s *Service) remove(ctx context.Context, rs *results, account, region string, r *storedRule, typ, id string, now time.Time) error {
	prev, err := rs.drop(ctx, account, region, r, typ, id)
	if err != nil || prev == nil {
		return err
	}
	if prev.Compliance != NotApplicable {
		s.notifyChange(ctx, rs.tx, account, region, r, prev, &evalRecord{Rule: r.Name, ResourceType: typ, ResourceID: id,
			Compliance: NotApplicable, Ordering: now, Recorded: now, Invoked: now})
	}
	return nil
}

// complianceNotification is AWS Config's ComplianceChangeNotification. Its fields are in
// the order of their JSON names, as a map's would be.
type complianceNotification struct {
	Account      string              `json:"awsAccountId"`
	Region       string              `json:"awsRegion"`
	RuleARN      string              `json:"configRuleARN"`
	RuleName     string              `json:"configRuleName"`
	MessageType  string              `json:"messageType"`
	New          *notificationResult `json:"newEvaluationResult"`
	CreationTime string              `json:"notificationCreationTime"`
	Old          *notificationResult `json:"oldEvaluationResult"`
	Version      string              `json:"recordVersion"`
	ResourceID   string              `json:"resourceId"`
	ResourceType string              `json:"resourceType"`
}

type notificationResult struct {
	Annotation string                 `json:"annotation,omitempty"`
	Compliance string                 `json:"complianceType"`
	Invoked    string                 `json:"configRuleInvokedTime"`
	Identifier notificationIdentifier `json:"evaluationResultIdentifier"`
	Recorded   string                 `json:"resultRecordedTime"`
}

type notificationIdentifier struct {
	Qualifier notificationQualifier `json:"evaluationResultQualifier"`
	Ordering  string                `json:"orderingTimestamp"`
}

type notificationQualifier struct {
	RuleName     string `json:"configRuleName"`
	Mode         string `json:"evaluationMode"`
	ResourceID   string `json:"resourceId"`
	ResourceType string `json:"resourceType"`
}

// notifyChange sends a ComplianceChangeNotification through the recorder's delivery
// channel. Its failure does not undo the evaluation: it is logged.
func (s *Service) notifyChange(ctx context.Context, tx store.Tx, account, region string, r *storedRule, prev, cur *evalRecord) {
	n := &complianceNotification{Account: account, Region: region, RuleARN: r.ARN, RuleName: r.Name,
		MessageType: recorder.MessageCompliance, New: notifiedResult(r, cur),
		CreationTime: cur.Recorded.Format(time.RFC3339Nano), Version: "1.0",
		ResourceID: cur.ResourceID, ResourceType: cur.ResourceType}
	if prev != nil {
		n.Old = notifiedResult(r, prev)
	}
	body, err := json.Marshal(n)
	if err == nil {
		err = s.opts.Notify(ctx, tx, account, region, recorder.MessageCompliance, json.RawMessage(body))
	}
	if err != nil {
		s.log().Debug("compliance: compliance change notification not sent", "rule", r.Name, "resource", cur.ResourceID, "err", err)
	}
}

func notifiedResult(r *storedRule, e *evalRecord) *notificationResult {
	return &notificationResult{Annotation: e.Annotation, Compliance: e.Compliance,
		Invoked: e.Invoked.Format(time.RFC3339Nano), Recorded: e.Recorded.Format(time.RFC3339Nano),
		Identifier: notificationIdentifier{Ordering: e.Ordering.Format(time.RFC3339Nano),
			Qualifier: notificationQualifier{RuleName: r.Name, Mode: "DETECTIVE", ResourceID: e.ResourceID, ResourceType: e.ResourceType}}}
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
	if err := s.convert(ctx); err != nil {
		return err
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
