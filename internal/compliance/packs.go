package compliance

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/bannin/bannin/internal/call"
	"github.com/bannin/bannin/internal/jsontree"
	"github.com/bannin/bannin/internal/store"
	"github.com/bannin/bannin/internal/wire/config"
)

// Conformance packs: a template (YAML or JSON, CloudFormation style) of
// AWS::Config::ConfigRule and AWS::Config::RemediationConfiguration resources with
// Parameters and !Ref. The pack's rules are named as AWS names them: the template's rule
// name, "-conformance-pack-" and a suffix of the pack.

type storedPack struct {
	Name    string            `json:"name"`
	ARN     string            `json:"arn"`
	ID      string            `json:"id"`
	Params  map[string]string `json:"params,omitempty"`
	Rules   []string          `json:"rules"` // deployed rule names
	Updated time.Time         `json:"updated"`
	Bucket  string            `json:"bucket,omitempty"`
	Prefix  string            `json:"prefix,omitempty"`
}

func templateError(format string, a ...any) error {
	return &config.ConformancePackTemplateValidationException{Message: ptr(fmt.Sprintf(format, a...))}
}

// parseTemplate decodes a template, turning !Ref and !Sub tags into their long forms.
func parseTemplate(body string) (map[string]any, error) {
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(body), &n); err != nil {
		return nil, templateError("The template is not valid YAML or JSON: %v", err)
	}
	v := nodeValue(&n)
	m, ok := v.(map[string]any)
	if !ok {
		return nil, templateError("The template must be a mapping with a Resources section.")
	}
	return m, nil
}

func nodeValue(n *yaml.Node) any {
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil
		}
		return nodeValue(n.Content[0])
	case yaml.MappingNode:
		m := map[string]any{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			m[n.Content[i].Value] = nodeValue(n.Content[i+1])
		}
		return tagged(n.Tag, m)
	case yaml.SequenceNode:
		l := make([]any, len(n.Content))
		for i, c := range n.Content {
			l[i] = nodeValue(c)
		}
		return tagged(n.Tag, l)
	case yaml.AliasNode:
		return nodeValue(n.Alias)
	}
	var v any
	_ = n.Decode(&v)
	return tagged(n.Tag, v)
}

func tagged(tag string, v any) any {
	switch tag {
	case "!Ref":
		return map[string]any{"Ref": v}
	case "!Sub":
		return map[string]any{"Fn::Sub": v}
	}
	return v
}

// resolve replaces Ref and Fn::Sub of parameters with their values.
func resolve(v any, params map[string]string) (any, error) {
	return jsontree.Rewrite(v, func(v any) (any, bool, error) {
		x, ok := v.(map[string]any)
		if !ok || len(x) != 1 {
			return nil, false, nil
		}
		if r, ok := x["Ref"]; ok {
			name := fmt.Sprint(r)
			val, ok := params[name]
			if !ok {
				if name == "AWS::Region" || name == "AWS::AccountId" || name == "AWS::Partition" {
					return params[name], true, nil
				}
				return nil, true, templateError("!Ref %s names no parameter of the template.", name)
			}
			return val, true, nil
		}
		if s, ok := x["Fn::Sub"].(string); ok {
			for k, val := range params {
				s = strings.ReplaceAll(s, "${"+k+"}", val)
			}
			return s, true, nil
		}
		return nil, false, nil
	})
}

// packResources validates a template and returns its rules and remediations with
// parameters resolved.
func packResources(body string, input []config.ConformancePackInputParameter, account, region string) ([]config.ConfigRule, []config.RemediationConfiguration, map[string]string, error) {
	tpl, err := parseTemplate(body)
	if err != nil {
		return nil, nil, nil, err
	}
	params := map[string]string{"AWS::Region": region, "AWS::AccountId": account, "AWS::Partition": "aws"}
	given := map[string]string{}
	for _, p := range input {
		given[str(p.ParameterName)] = str(p.ParameterValue)
	}
	decl, _ := tpl["Parameters"].(map[string]any)
	for name, d := range decl {
		if v, ok := given[name]; ok {
			params[name] = v
			continue
		}
		if def, ok := lookup(d, "Default").(any); ok && def != nil {
			params[name] = fmt.Sprint(def)
			continue
		}
		return nil, nil, nil, templateError("Parameter %s has no value and no Default.", name)
	}
	for name := range given {
		if _, ok := decl[name]; !ok {
			return nil, nil, nil, templateError("ConformancePackInputParameters names %s, which the template does not declare.", name)
		}
	}
	res, _ := tpl["Resources"].(map[string]any)
	if len(res) == 0 {
		return nil, nil, nil, templateError("The template has no Resources.")
	}
	names := make([]string, 0, len(res))
	for k := range res {
		names = append(names, k)
	}
	sort.Strings(names)
	var rules []config.ConfigRule
	var rems []config.RemediationConfiguration
	for _, logical := range names {
		r, err := resolve(res[logical], params)
		if err != nil {
			return nil, nil, nil, err
		}
		typ := asString(lookup(r, "Type"))
		props, _ := lookup(r, "Properties").(map[string]any)
		if props == nil {
			return nil, nil, nil, templateError("Resource %s has no Properties.", logical)
		}
		if ip, ok := props["InputParameters"].(map[string]any); ok {
			for k, v := range ip {
				ip[k] = fmt.Sprint(v)
			}
			b, _ := json.Marshal(ip)
			props["InputParameters"] = string(b)
		}
		for _, k := range []string{"MaximumAutomaticAttempts", "RetryAttemptSeconds"} {
			if f, ok := asFloat(props[k]); ok {
				props[k] = f
			}
		}
		if a, ok := props["Automatic"].(string); ok {
			props["Automatic"] = strings.EqualFold(a, "true")
		}
		b, _ := json.Marshal(props)
		switch typ {
		case "AWS::Config::ConfigRule":
			var cr config.ConfigRule
			if err := decodeWire(b, &cr); err != nil {
				return nil, nil, nil, templateError("Resource %s: %v", logical, err)
			}
			if str(cr.ConfigRuleName) == "" {
				cr.ConfigRuleName = ptr(logical)
			}
			rules = append(rules, cr)
		case "AWS::Config::RemediationConfiguration":
			var rc config.RemediationConfiguration
			if err := decodeWire(b, &rc); err != nil {
				return nil, nil, nil, templateError("Resource %s: %v", logical, err)
			}
			rems = append(rems, rc)
		default:
			return nil, nil, nil, templateError("Resource %s has type %q; conformance packs hold only AWS::Config::ConfigRule and AWS::Config::RemediationConfiguration.", logical, typ)
		}
	}
	if len(rules) == 0 {
		return nil, nil, nil, templateError("The template has no AWS::Config::ConfigRule resource.")
	}
	return rules, rems, params, nil
}

// decodeWire decodes CloudFormation property JSON into a wire shape (same member names).
func decodeWire(b []byte, v any) error {
	dec := json.NewDecoder(strings.NewReader(string(b)))
	return dec.Decode(v)
}

// packRuleName is the name AWS gives a pack's rule.
func packRuleName(rule, packID string) string {
	suffix := strings.TrimPrefix(packID, "conformance-pack-")
	if len(suffix) > 8 {
		suffix = suffix[:8]
	}
	return rule + "-conformance-pack-" + suffix
}

func loadPack(ctx context.Context, tx store.ReadTx, account, region, name string) (*storedPack, error) {
	b, err := tx.Get(ctx, bucketPack, key(account, region, name))
	if err != nil || b == nil {
		return nil, err
	}
	var p storedPack
	return &p, json.Unmarshal(b, &p)
}

// PutConformancePack deploys (or redeploys) a pack's rules and remediations.
func (s *Service) PutConformancePack(ctx context.Context, in *config.PutConformancePackRequest) (*config.PutConformancePackResponse, error) {
	c := call.From(ctx)
	tx := c.Write()
	name := str(in.ConformancePackName)
	if str(in.TemplateBody) == "" {
		if str(in.TemplateS3Uri) != "" || in.TemplateSSMDocumentDetails != nil {
			return nil, badParam("bannin reads conformance pack templates from TemplateBody only.")
		}
		return nil, badParam("TemplateBody is required.")
	}
	rules, rems, params, err := packResources(str(in.TemplateBody), in.ConformancePackInputParameters, c.Account, c.Region)
	if err != nil {
		return nil, err
	}
	p, err := loadPack(ctx, tx, c.Account, c.Region, name)
	if err != nil {
		return nil, err
	}
	if p == nil {
		id := randomID("conformance-pack-", 9)
		p = &storedPack{Name: name, ID: id, ARN: fmt.Sprintf("arn:aws:config:%s:%s:conformance-pack/%s/%s", c.Region, c.Account, name, id)}
	}
	old := map[string]bool{}
	for _, r := range p.Rules {
		old[r] = true
	}
	p.Rules, p.Params, p.Updated = nil, map[string]string{}, s.opts.Clock().UTC()
	p.Bucket, p.Prefix = str(in.DeliveryS3Bucket), str(in.DeliveryS3KeyPrefix)
	for _, ip := range in.ConformancePackInputParameters {
		p.Params[str(ip.ParameterName)] = str(ip.ParameterValue)
	}
	_ = params
	renamed := map[string]string{}
	for _, cr := range rules {
		orig := str(cr.ConfigRuleName)
		cr.ConfigRuleName = ptr(packRuleName(orig, p.ID))
		renamed[orig] = *cr.ConfigRuleName
		if _, err := s.putRule(ctx, tx, c.Account, c.Region, &cr, nil, name, "config-conforms.amazonaws.com"); err != nil {
			return nil, templateError("Rule %s: %v", orig, err)
		}
		p.Rules = append(p.Rules, *cr.ConfigRuleName)
		delete(old, *cr.ConfigRuleName)
	}
	for _, rc := range rems {
		orig := str(rc.ConfigRuleName)
		if n, ok := renamed[orig]; ok {
			rc.ConfigRuleName = &n
		}
		if err := s.putRemedy(ctx, tx, c.Account, c.Region, rc, "config-conforms.amazonaws.com"); err != nil {
			return nil, templateError("Remediation of %s: %v", orig, err)
		}
	}
	for gone := range old {
		if err := s.dropPackRule(ctx, tx, c.Account, c.Region, gone); err != nil {
			return nil, err
		}
	}
	if err := saveJSON(ctx, tx, bucketPack, key(c.Account, c.Region, name), p); err != nil {
		return nil, err
	}
	c.Touch("AWS::Config::ConformancePack", name, p.ARN)
	return &config.PutConformancePackResponse{ConformancePackArn: ptr(p.ARN)}, nil
}

func (s *Service) dropPackRule(ctx context.Context, tx store.Tx, account, region, name string) error {
	if err := tx.Delete(ctx, bucketRemedy, key(account, region, name)); err != nil {
		return err
	}
	r, err := loadRule(ctx, tx, account, region, name)
	if err != nil || r == nil {
		return err
	}
	return s.deleteRule(ctx, tx, account, region, r)
}

// DeleteConformancePack removes a pack with its rules and remediations.
func (s *Service) DeleteConformancePack(ctx context.Context, in *config.DeleteConformancePackRequest) (*config.DeleteConformancePackOutput, error) {
	c := call.From(ctx)
	p, err := loadPack(ctx, c.Tx, c.Account, c.Region, str(in.ConformancePackName))
	if err != nil {
		return nil, err
	}
	if p == nil {
		return nil, noSuchPack(str(in.ConformancePackName))
	}
	for _, r := range p.Rules {
		if err := s.dropPackRule(ctx, c.Write(), c.Account, c.Region, r); err != nil {
			return nil, err
		}
	}
	return &config.DeleteConformancePackOutput{}, c.Write().Delete(ctx, bucketPack, key(c.Account, c.Region, p.Name))
}

func noSuchPack(name string) error {
	return &config.NoSuchConformancePackException{Message: ptr(fmt.Sprintf("Could not find a conformance pack with the name %s.", name))}
}

// packs returns the named packs (all when none are named).
func packs(ctx context.Context, tx store.ReadTx, account, region string, names []string) ([]*storedPack, error) {
	var out []*storedPack
	if len(names) == 0 {
		kvs, err := store.ListAll(ctx, tx, bucketPack, key(account, region, ""))
		if err != nil {
			return nil, err
		}
		for _, kv := range kvs {
			var p storedPack
			if json.Unmarshal(kv.Value, &p) == nil {
				out = append(out, &p)
			}
		}
		return out, nil
	}
	for _, n := range names {
		p, err := loadPack(ctx, tx, account, region, n)
		if err != nil {
			return nil, err
		}
		if p == nil {
			return nil, noSuchPack(n)
		}
		out = append(out, p)
	}
	return out, nil
}

// DescribeConformancePacks lists packs.
func (s *Service) DescribeConformancePacks(ctx context.Context, in *config.DescribeConformancePacksRequest) (*config.DescribeConformancePacksResponse, error) {
	c := call.From(ctx)
	ps, err := packs(ctx, c.Tx, c.Account, c.Region, in.ConformancePackNames)
	if err != nil {
		return nil, err
	}
	out := &config.DescribeConformancePacksResponse{ConformancePackDetails: []config.ConformancePackDetail{}}
	for _, p := range ps {
		d := config.ConformancePackDetail{ConformancePackName: ptr(p.Name), ConformancePackArn: ptr(p.ARN), ConformancePackId: ptr(p.ID),
			LastUpdateRequestedTime: ptr(p.Updated), DeliveryS3Bucket: opt(p.Bucket), DeliveryS3KeyPrefix: opt(p.Prefix)}
		for k, v := range p.Params {
			d.ConformancePackInputParameters = append(d.ConformancePackInputParameters, config.ConformancePackInputParameter{ParameterName: ptr(k), ParameterValue: ptr(v)})
		}
		out.ConformancePackDetails = append(out.ConformancePackDetails, d)
	}
	return out, nil
}

// DescribeConformancePackStatus reports packs as deployed: bannin deploys in the call.
func (s *Service) DescribeConformancePackStatus(ctx context.Context, in *config.DescribeConformancePackStatusRequest) (*config.DescribeConformancePackStatusResponse, error) {
	c := call.From(ctx)
	ps, err := packs(ctx, c.Tx, c.Account, c.Region, in.ConformancePackNames)
	if err != nil {
		return nil, err
	}
	out := &config.DescribeConformancePackStatusResponse{ConformancePackStatusDetails: []config.ConformancePackStatusDetail{}}
	for _, p := range ps {
		out.ConformancePackStatusDetails = append(out.ConformancePackStatusDetails, config.ConformancePackStatusDetail{
			ConformancePackName: ptr(p.Name), ConformancePackId: ptr(p.ID), ConformancePackArn: ptr(p.ARN),
			ConformancePackState: ptr("CREATE_COMPLETE"), StackArn: ptr(strings.Replace(p.ARN, ":config:", ":cloudformation:", 1)),
			LastUpdateRequestedTime: ptr(p.Updated), LastUpdateCompletedTime: ptr(p.Updated)})
	}
	return out, nil
}

// packRuleCompliance folds a pack rule's results.
func packRuleCompliance(ctx context.Context, tx store.ReadTx, account, region, name string) (string, []*evalRecord, error) {
	r, err := loadRule(ctx, tx, account, region, name)
	if err != nil || r == nil {
		return InsufficientData, nil, err
	}
	recs, err := ruleResults(ctx, tx, account, region, r)
	if err != nil {
		return "", nil, err
	}
	var a aggregate
	for _, rec := range recs {
		a.add(rec.Compliance)
	}
	return *a.wire().ComplianceType, recs, nil
}

// DescribeConformancePackCompliance reports each rule of a pack.
func (s *Service) DescribeConformancePackCompliance(ctx context.Context, in *config.DescribeConformancePackComplianceRequest) (*config.DescribeConformancePackComplianceResponse, error) {
	c := call.From(ctx)
	ps, err := packs(ctx, c.Tx, c.Account, c.Region, []string{str(in.ConformancePackName)})
	if err != nil {
		return nil, err
	}
	out := &config.DescribeConformancePackComplianceResponse{ConformancePackName: in.ConformancePackName, ConformancePackRuleComplianceList: []config.ConformancePackRuleCompliance{}}
	for _, name := range ps[0].Rules {
		ct, _, err := packRuleCompliance(ctx, c.Tx, c.Account, c.Region, name)
		if err != nil {
			return nil, err
		}
		if f := in.Filters; f != nil && ((len(f.ConfigRuleNames) > 0 && !contains(f.ConfigRuleNames, name)) || (str(f.ComplianceType) != "" && str(f.ComplianceType) != ct)) {
			continue
		}
		out.ConformancePackRuleComplianceList = append(out.ConformancePackRuleComplianceList, config.ConformancePackRuleCompliance{
			ConfigRuleName: ptr(name), ComplianceType: ptr(ct), Controls: []string{}})
	}
	return out, nil
}

// GetConformancePackComplianceSummary says whether each pack is compliant.
func (s *Service) GetConformancePackComplianceSummary(ctx context.Context, in *config.GetConformancePackComplianceSummaryRequest) (*config.GetConformancePackComplianceSummaryResponse, error) {
	c := call.From(ctx)
	ps, err := packs(ctx, c.Tx, c.Account, c.Region, in.ConformancePackNames)
	if err != nil {
		return nil, err
	}
	out := &config.GetConformancePackComplianceSummaryResponse{ConformancePackComplianceSummaryList: []config.ConformancePackComplianceSummary{}}
	for _, p := range ps {
		status := InsufficientData
		for _, name := range p.Rules {
			ct, _, err := packRuleCompliance(ctx, c.Tx, c.Account, c.Region, name)
			if err != nil {
				return nil, err
			}
			if ct == NonCompliant || (ct == Compliant && status == InsufficientData) {
				status = ct
			}
		}
		out.ConformancePackComplianceSummaryList = append(out.ConformancePackComplianceSummaryList, config.ConformancePackComplianceSummary{
			ConformancePackName: ptr(p.Name), ConformancePackComplianceStatus: ptr(status)})
	}
	return out, nil
}

// GetConformancePackComplianceDetails lists the results of a pack's rules.
func (s *Service) GetConformancePackComplianceDetails(ctx context.Context, in *config.GetConformancePackComplianceDetailsRequest) (*config.GetConformancePackComplianceDetailsResponse, error) {
	c := call.From(ctx)
	ps, err := packs(ctx, c.Tx, c.Account, c.Region, []string{str(in.ConformancePackName)})
	if err != nil {
		return nil, err
	}
	out := &config.GetConformancePackComplianceDetailsResponse{ConformancePackName: in.ConformancePackName, ConformancePackRuleEvaluationResults: []config.ConformancePackEvaluationResult{}}
	f := in.Filters
	for _, name := range ps[0].Rules {
		if f != nil && len(f.ConfigRuleNames) > 0 && !contains(f.ConfigRuleNames, name) {
			continue
		}
		_, recs, err := packRuleCompliance(ctx, c.Tx, c.Account, c.Region, name)
		if err != nil {
			return nil, err
		}
		r, err := loadRule(ctx, c.Tx, c.Account, c.Region, name)
		if err != nil {
			return nil, err
		}
		for _, rec := range recs {
			if rec.Compliance == NotApplicable || (f != nil && ((str(f.ComplianceType) != "" && str(f.ComplianceType) != rec.Compliance) ||
				(str(f.ResourceType) != "" && str(f.ResourceType) != rec.ResourceType) || (len(f.ResourceIds) > 0 && !contains(f.ResourceIds, rec.ResourceID)))) {
				continue
			}
			full, err := fullRecord(ctx, c.Tx, c.Account, c.Region, r, rec.ResourceType, rec.ResourceID)
			if err != nil {
				return nil, err
			}
			if full == nil {
				continue
			}
			w := full.wire()
			out.ConformancePackRuleEvaluationResults = append(out.ConformancePackRuleEvaluationResults, config.ConformancePackEvaluationResult{
				ComplianceType: w.ComplianceType, EvaluationResultIdentifier: w.EvaluationResultIdentifier,
				ConfigRuleInvokedTime: w.ConfigRuleInvokedTime, ResultRecordedTime: w.ResultRecordedTime, Annotation: w.Annotation})
		}
	}
	return out, nil
}
