package compliance

import (
	"context"
	"sort"

	"github.com/bannin/bannin/internal/call"
	"github.com/bannin/bannin/internal/store"
	"github.com/bannin/bannin/internal/wire/config"
)

// Compliance queries over the stored evaluation results, and PutEvaluations for custom
// Lambda rules.

// capCount is where AWS caps ComplianceContributorCount.
const capCount = 100

// ruleResults returns the compliance of a rule for every resource it has a result for,
// from the rule's index: the records carry the rule, resource and compliance only (see
// fullRecord for the rest).
func ruleResults(ctx context.Context, tx store.ReadTx, account, region string, r *storedRule) ([]*evalRecord, error) {
	idx, err := ruleIndexed(ctx, tx, account, region, r)
	if err != nil {
		return nil, err
	}
	out := make([]*evalRecord, len(idx))
	for i, e := range idx {
		out[i] = &evalRecord{Rule: r.Name, ResourceType: e.typ, ResourceID: e.id, Compliance: e.compliance}
	}
	return out, nil
}

// aggregate folds results into one compliance: NON_COMPLIANT if any is (with the count),
// else COMPLIANT if any is, else INSUFFICIENT_DATA.
type aggregate struct{ compliant, noncompliant int }

func (a *aggregate) add(c string) {
	switch c {
	case Compliant:
		a.compliant++
	case NonCompliant:
		a.noncompliant++
	}
}

func (a aggregate) wire() *config.Compliance {
	switch {
	case a.noncompliant > 0:
		return &config.Compliance{ComplianceType: ptr(NonCompliant), ComplianceContributorCount: count(a.noncompliant)}
	case a.compliant > 0:
		return &config.Compliance{ComplianceType: ptr(Compliant)}
	}
	return &config.Compliance{ComplianceType: ptr(InsufficientData)}
}

func count(n int) *config.ComplianceContributorCount {
	c := min(n, capCount)
	return &config.ComplianceContributorCount{CappedCount: ptr(int32(c)), CapExceeded: ptr(n > capCount)}
}

func wantType(types []string, c string) bool { return len(types) == 0 || contains(types, c) }

func checkComplianceTypes(types []string, allowed ...string) error {
	for _, t := range types {
		if !contains(allowed, t) {
			return badParam("The ComplianceType %q is not valid here. Valid values: %v.", t, allowed)
		}
	}
	return nil
}

// DescribeComplianceByConfigRule says whether each rule is compliant.
func (s *Service) DescribeComplianceByConfigRule(ctx context.Context, in *config.DescribeComplianceByConfigRuleRequest) (*config.DescribeComplianceByConfigRuleResponse, error) {
	c := call.From(ctx)
	if err := checkComplianceTypes(in.ComplianceTypes, Compliant, NonCompliant, InsufficientData); err != nil {
		return nil, err
	}
	after, err := decodeToken(in.NextToken)
	if err != nil {
		return nil, err
	}
	rules, err := selectRules(ctx, c.Tx, c.Account, c.Region, in.ConfigRuleNames, after)
	if err != nil {
		return nil, err
	}
	out := &config.DescribeComplianceByConfigRuleResponse{ComplianceByConfigRules: []config.ComplianceByConfigRule{}}
	for _, r := range rules {
		if len(out.ComplianceByConfigRules) == 25 {
			out.NextToken = encodeTokenPtr(out.ComplianceByConfigRules[24].ConfigRuleName)
			break
		}
		recs, err := ruleResults(ctx, c.Tx, c.Account, c.Region, r)
		if err != nil {
			return nil, err
		}
		var a aggregate
		for _, rec := range recs {
			a.add(rec.Compliance)
		}
		w := a.wire()
		if !wantType(in.ComplianceTypes, *w.ComplianceType) {
			continue
		}
		out.ComplianceByConfigRules = append(out.ComplianceByConfigRules, config.ComplianceByConfigRule{ConfigRuleName: ptr(r.Name), Compliance: w})
	}
	return out, nil
}

func encodeTokenPtr(p *string) *string { return encodeToken(str(p)) }

// resourceResults gathers the results of every rule for resources of typ (and id), keyed
// by type|id, each resource's in rule name order.
func (s *Service) resourceResults(ctx context.Context, tx store.ReadTx, account, region, typ, id string) (map[string][]*evalRecord, error) {
	idx, err := s.rulesFor(ctx, tx, account, region)
	if err != nil {
		return nil, err
	}
	rules := idx.all
	out := map[string][]*evalRecord{}
	add := func(t, i string, set *resultSet) {
		for _, r := range rules {
			if res := set.get(r.ID); res != nil {
				out[key(t, i)] = append(out[key(t, i)], res.record(r.Name, t, i))
			}
		}
	}
	if typ != "" && id != "" {
		set, err := loadResultSet(ctx, tx, account, region, typ, id)
		if err != nil || set == nil {
			return out, err
		}
		add(typ, id, set)
		return out, nil
	}
	base := key(account, region, "")
	prefix := base
	if typ != "" {
		prefix = key(account, region, typ, "")
	}
	kvs, err := store.ListAll(ctx, tx, bucketResult, prefix)
	if err != nil {
		return nil, err
	}
	for _, kv := range kvs {
		parts := splitKey(kv.Key[len(base):], 2)
		if len(parts) != 2 || (id != "" && parts[1] != id) {
			continue
		}
		set, err := decodeResultSet(kv.Key, kv.Value)
		if err != nil {
			continue
		}
		add(parts[0], parts[1], set)
	}
	return out, nil
}

// DescribeComplianceByResource says whether resources comply with all their rules.
func (s *Service) DescribeComplianceByResource(ctx context.Context, in *config.DescribeComplianceByResourceRequest) (*config.DescribeComplianceByResourceResponse, error) {
	c := call.From(ctx)
	if err := checkComplianceTypes(in.ComplianceTypes, Compliant, NonCompliant, InsufficientData); err != nil {
		return nil, err
	}
	if str(in.ResourceId) != "" && str(in.ResourceType) == "" {
		return nil, badParam("ResourceType is required when ResourceId is given.")
	}
	after, err := decodeToken(in.NextToken)
	if err != nil {
		return nil, err
	}
	byRes, err := s.resourceResults(ctx, c.Tx, c.Account, c.Region, str(in.ResourceType), str(in.ResourceId))
	if err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(byRes))
	for k := range byRes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	limit := 100
	if in.Limit != nil && *in.Limit > 0 && int(*in.Limit) < limit {
		limit = int(*in.Limit)
	}
	out := &config.DescribeComplianceByResourceResponse{ComplianceByResources: []config.ComplianceByResource{}}
	if len(keys) == 0 && str(in.ResourceId) != "" && wantType(in.ComplianceTypes, InsufficientData) {
		out.ComplianceByResources = append(out.ComplianceByResources, config.ComplianceByResource{ResourceType: in.ResourceType,
			ResourceId: in.ResourceId, Compliance: &config.Compliance{ComplianceType: ptr(InsufficientData)}})
	}
	last := ""
	for _, k := range keys {
		if k <= after {
			continue
		}
		var a aggregate
		for _, rec := range byRes[k] {
			a.add(rec.Compliance)
		}
		w := a.wire()
		if !wantType(in.ComplianceTypes, *w.ComplianceType) {
			continue
		}
		if len(out.ComplianceByResources) == limit {
			out.NextToken = encodeToken(last)
			break
		}
		last = k
		parts := splitKey(k, 2)
		out.ComplianceByResources = append(out.ComplianceByResources, config.ComplianceByResource{ResourceType: ptr(parts[0]), ResourceId: ptr(parts[1]), Compliance: w})
	}
	return out, nil
}

func (rec *evalRecord) wire() config.EvaluationResult {
	return config.EvaluationResult{
		EvaluationResultIdentifier: &config.EvaluationResultIdentifier{
			EvaluationResultQualifier: &config.EvaluationResultQualifier{ConfigRuleName: ptr(rec.Rule), ResourceType: ptr(rec.ResourceType),
				ResourceId: ptr(rec.ResourceID), EvaluationMode: ptr("DETECTIVE")},
			OrderingTimestamp: ptr(rec.Ordering)},
		ComplianceType: ptr(rec.Compliance), ResultRecordedTime: ptr(rec.Recorded), ConfigRuleInvokedTime: ptr(rec.Invoked),
		Annotation: opt(rec.Annotation)}
}

// GetComplianceDetailsByConfigRule lists a rule's results.
func (s *Service) GetComplianceDetailsByConfigRule(ctx context.Context, in *config.GetComplianceDetailsByConfigRuleRequest) (*config.GetComplianceDetailsByConfigRuleResponse, error) {
	c := call.From(ctx)
	if err := checkComplianceTypes(in.ComplianceTypes, Compliant, NonCompliant, NotApplicable); err != nil {
		return nil, err
	}
	r, err := loadRule(ctx, c.Tx, c.Account, c.Region, str(in.ConfigRuleName))
	if err != nil {
		return nil, err
	}
	if r == nil {
		return nil, noSuchRule(str(in.ConfigRuleName))
	}
	after, err := decodeToken(in.NextToken)
	if err != nil {
		return nil, err
	}
	types := in.ComplianceTypes
	if len(types) == 0 {
		types = []string{Compliant, NonCompliant} // AWS's default leaves NOT_APPLICABLE out
	}
	limit := 100
	if in.Limit != nil && *in.Limit > 0 && int(*in.Limit) < limit {
		limit = int(*in.Limit)
	}
	idx, err := ruleIndexed(ctx, c.Tx, c.Account, c.Region, r)
	if err != nil {
		return nil, err
	}
	out := &config.GetComplianceDetailsByConfigRuleResponse{EvaluationResults: []config.EvaluationResult{}}
	last := after
	for _, e := range idx {
		if e.key <= after || !contains(types, e.compliance) {
			continue
		}
		if len(out.EvaluationResults) == limit {
			out.NextToken = encodeToken(last)
			break
		}
		rec, err := fullRecord(ctx, c.Tx, c.Account, c.Region, r, e.typ, e.id)
		if err != nil {
			return nil, err
		}
		if rec == nil {
			continue
		}
		last = e.key
		out.EvaluationResults = append(out.EvaluationResults, rec.wire())
	}
	return out, nil
}

// GetComplianceDetailsByResource lists every rule's result for one resource.
func (s *Service) GetComplianceDetailsByResource(ctx context.Context, in *config.GetComplianceDetailsByResourceRequest) (*config.GetComplianceDetailsByResourceResponse, error) {
	c := call.From(ctx)
	if err := checkComplianceTypes(in.ComplianceTypes, Compliant, NonCompliant, NotApplicable); err != nil {
		return nil, err
	}
	if str(in.ResourceType) == "" || str(in.ResourceId) == "" {
		return nil, badParam("ResourceType and ResourceId are required.")
	}
	types := in.ComplianceTypes
	if len(types) == 0 {
		types = []string{Compliant, NonCompliant}
	}
	byRes, err := s.resourceResults(ctx, c.Tx, c.Account, c.Region, str(in.ResourceType), str(in.ResourceId))
	if err != nil {
		return nil, err
	}
	out := &config.GetComplianceDetailsByResourceResponse{EvaluationResults: []config.EvaluationResult{}}
	for _, rec := range byRes[key(str(in.ResourceType), str(in.ResourceId))] {
		if contains(types, rec.Compliance) {
			out.EvaluationResults = append(out.EvaluationResults, rec.wire())
		}
	}
	return out, nil
}

// GetComplianceSummaryByConfigRule counts compliant and noncompliant rules.
func (s *Service) GetComplianceSummaryByConfigRule(ctx context.Context, in *config.GetComplianceSummaryByConfigRuleInput) (*config.GetComplianceSummaryByConfigRuleResponse, error) {
	c := call.From(ctx)
	rules, err := listRules(ctx, c.Tx, c.Account, c.Region)
	if err != nil {
		return nil, err
	}
	var comp, non int
	for _, r := range rules {
		recs, err := ruleResults(ctx, c.Tx, c.Account, c.Region, r)
		if err != nil {
			return nil, err
		}
		var a aggregate
		for _, rec := range recs {
			a.add(rec.Compliance)
		}
		switch *a.wire().ComplianceType {
		case Compliant:
			comp++
		case NonCompliant:
			non++
		}
	}
	return &config.GetComplianceSummaryByConfigRuleResponse{ComplianceSummary: &config.ComplianceSummary{
		CompliantResourceCount: count(comp), NonCompliantResourceCount: count(non), ComplianceSummaryTimestamp: ptr(s.opts.Clock().UTC())}}, nil
}

// GetComplianceSummaryByResourceType counts compliant and noncompliant resources, per
// type when types are given (at most 100), else over all of them.
func (s *Service) GetComplianceSummaryByResourceType(ctx context.Context, in *config.GetComplianceSummaryByResourceTypeRequest) (*config.GetComplianceSummaryByResourceTypeResponse, error) {
	c := call.From(ctx)
	if len(in.ResourceTypes) > 100 {
		return nil, badParam("ResourceTypes can name at most 100 types.")
	}
	byRes, err := s.resourceResults(ctx, c.Tx, c.Account, c.Region, "", "")
	if err != nil {
		return nil, err
	}
	type counts struct{ comp, non int }
	per := map[string]*counts{}
	total := &counts{}
	for k, recs := range byRes {
		var a aggregate
		for _, rec := range recs {
			a.add(rec.Compliance)
		}
		typ := splitKey(k, 2)[0]
		if per[typ] == nil {
			per[typ] = &counts{}
		}
		switch *a.wire().ComplianceType {
		case Compliant:
			per[typ].comp++
			total.comp++
		case NonCompliant:
			per[typ].non++
			total.non++
		}
	}
	now := ptr(s.opts.Clock().UTC())
	summary := func(c *counts) *config.ComplianceSummary {
		return &config.ComplianceSummary{CompliantResourceCount: count(c.comp), NonCompliantResourceCount: count(c.non), ComplianceSummaryTimestamp: now}
	}
	out := &config.GetComplianceSummaryByResourceTypeResponse{ComplianceSummariesByResourceType: []config.ComplianceSummaryByResourceType{}}
	if len(in.ResourceTypes) == 0 {
		out.ComplianceSummariesByResourceType = append(out.ComplianceSummariesByResourceType, config.ComplianceSummaryByResourceType{ComplianceSummary: summary(total)})
		return out, nil
	}
	for _, t := range in.ResourceTypes {
		cn := per[t]
		if cn == nil {
			cn = &counts{}
		}
		out.ComplianceSummariesByResourceType = append(out.ComplianceSummariesByResourceType, config.ComplianceSummaryByResourceType{ResourceType: ptr(t), ComplianceSummary: summary(cn)})
	}
	return out, nil
}

// PutEvaluations records results of a custom rule. The ResultToken names the rule (its
// name, ARN or id): bannin invokes no Lambda functions, so whoever evaluates a custom
// Lambda rule reports through this call.
func (s *Service) PutEvaluations(ctx context.Context, in *config.PutEvaluationsRequest) (*config.PutEvaluationsResponse, error) {
	c := call.From(ctx)
	r, err := findRule(ctx, c.Tx, c.Account, c.Region, str(in.ResultToken))
	if err != nil {
		return nil, err
	}
	if r == nil {
		return nil, &config.InvalidResultTokenException{Message: ptr("The resultToken provided is invalid")}
	}
	if len(in.Evaluations) > 100 {
		return nil, badParam("Evaluations can hold at most 100 evaluations.")
	}
	for i, e := range in.Evaluations {
		ct := str(e.ComplianceType)
		switch {
		case str(e.ComplianceResourceType) == "" || str(e.ComplianceResourceId) == "":
			return nil, badParam("Evaluations[%d] needs ComplianceResourceType and ComplianceResourceId.", i)
		case ct != Compliant && ct != NonCompliant && ct != NotApplicable:
			return nil, badParam("Evaluations[%d]: ComplianceType %q is not valid for PutEvaluations; use COMPLIANT, NON_COMPLIANT or NOT_APPLICABLE.", i, ct)
		case e.OrderingTimestamp == nil:
			return nil, badParam("Evaluations[%d] needs an OrderingTimestamp.", i)
		case len(str(e.Annotation)) > 256:
			return nil, badParam("Evaluations[%d]: Annotation is longer than 256 characters.", i)
		}
	}
	out := &config.PutEvaluationsResponse{FailedEvaluations: []config.Evaluation{}}
	if in.TestMode != nil && *in.TestMode {
		return out, nil
	}
	now := s.opts.Clock().UTC()
	rs := newResults(c.Write())
	for _, e := range in.Evaluations {
		ev := Evaluation{ResourceType: str(e.ComplianceResourceType), ResourceID: str(e.ComplianceResourceId),
			Result: Result{Compliance: str(e.ComplianceType), Annotation: str(e.Annotation)}}
		if err := s.record(ctx, rs, c.Account, c.Region, r, ev, *e.OrderingTimestamp, now); err != nil {
			return nil, err
		}
	}
	if err := rs.flush(ctx); err != nil {
		return nil, err
	}
	st, err := loadStatus(ctx, c.Tx, c.Account, c.Region, r.Name)
	if err != nil {
		return nil, err
	}
	st.Started, st.LastInvoked, st.LastEvaluated = true, now, now
	return out, saveStatus(ctx, c.Write(), c.Account, c.Region, r.Name, st)
}

// DeleteEvaluationResults deletes a rule's results; the rule evaluates afresh.
func (s *Service) DeleteEvaluationResults(ctx context.Context, in *config.DeleteEvaluationResultsRequest) (*config.DeleteEvaluationResultsResponse, error) {
	c := call.From(ctx)
	r, err := loadRule(ctx, c.Tx, c.Account, c.Region, str(in.ConfigRuleName))
	if err != nil {
		return nil, err
	}
	if r == nil {
		return nil, noSuchRule(str(in.ConfigRuleName))
	}
	if err := dropRuleResults(ctx, c.Write(), c.Account, c.Region, r); err != nil {
		return nil, err
	}
	return &config.DeleteEvaluationResultsResponse{}, nil
}
