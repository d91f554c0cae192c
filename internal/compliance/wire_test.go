package compliance_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/configservice"
	"github.com/aws/aws-sdk-go-v2/service/configservice/types"

	"github.com/bannin/bannin/internal/testenv"
)

func TestErrors(t *testing.T) {
	e := testenv.New(t)
	ctx := context.Background()
	cs := configservice.NewFromConfig(e.Config)
	_, err := cs.PutConfigRule(ctx, &configservice.PutConfigRuleInput{ConfigRule: &types.ConfigRule{ConfigRuleName: aws.String("x"),
		Source: &types.Source{Owner: types.OwnerAws, SourceIdentifier: aws.String("NOT_A_RULE")}}})
	testenv.WantCode(t, "PutConfigRule with an unknown identifier", err, "InvalidParameterValueException")
	_, err = cs.PutConfigRule(ctx, &configservice.PutConfigRuleInput{ConfigRule: &types.ConfigRule{ConfigRuleName: aws.String("x"),
		InputParameters: aws.String(`{"MinRetentionTime":"long"}`),
		Source:          &types.Source{Owner: types.OwnerAws, SourceIdentifier: aws.String("CW_LOGGROUP_RETENTION_PERIOD_CHECK")}}})
	testenv.WantCode(t, "PutConfigRule with a bad parameter", err, "InvalidParameterValueException")
	_, err = cs.DescribeConfigRules(ctx, &configservice.DescribeConfigRulesInput{ConfigRuleNames: []string{"absent"}})
	testenv.WantCode(t, "DescribeConfigRules of an absent rule", err, "NoSuchConfigRuleException")
	_, err = cs.DeleteConfigRule(ctx, &configservice.DeleteConfigRuleInput{ConfigRuleName: aws.String("absent")})
	testenv.WantCode(t, "DeleteConfigRule of an absent rule", err, "NoSuchConfigRuleException")
	_, err = cs.PutEvaluations(ctx, &configservice.PutEvaluationsInput{ResultToken: aws.String("nothing")})
	testenv.WantCode(t, "PutEvaluations with a bad token", err, "InvalidResultTokenException")
	_, err = cs.DeleteRemediationConfiguration(ctx, &configservice.DeleteRemediationConfigurationInput{ConfigRuleName: aws.String("absent")})
	testenv.WantCode(t, "DeleteRemediationConfiguration of an absent rule", err, "NoSuchRemediationConfigurationException")
}

// IAM_ROOT_ACCESS_KEY_CHECK judges the account by the root key the server holds (the one
// these calls are signed with): NON_COMPLIANT.
func TestRootAccessKeyCheckOverTheWire(t *testing.T) {
	e := testenv.New(t)
	ctx := context.Background()
	cs := configservice.NewFromConfig(e.Config)
	if _, err := cs.PutConfigRule(ctx, &configservice.PutConfigRuleInput{ConfigRule: &types.ConfigRule{ConfigRuleName: aws.String("root-keys"),
		Source: &types.Source{Owner: types.OwnerAws, SourceIdentifier: aws.String("IAM_ROOT_ACCESS_KEY_CHECK")}}}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, err := cs.GetComplianceDetailsByConfigRule(ctx, &configservice.GetComplianceDetailsByConfigRuleInput{ConfigRuleName: aws.String("root-keys")})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.EvaluationResults) > 0 {
			r := out.EvaluationResults[0]
			q := r.EvaluationResultIdentifier.EvaluationResultQualifier
			if len(out.EvaluationResults) != 1 || r.ComplianceType != types.ComplianceTypeNonCompliant ||
				aws.ToString(q.ResourceType) != "AWS::::Account" || aws.ToString(q.ResourceId) != e.Account {
				t.Fatalf("results = %+v; want the account %s NON_COMPLIANT", out.EvaluationResults, e.Account)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("no result for IAM_ROOT_ACCESS_KEY_CHECK after 10s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
