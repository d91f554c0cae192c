package compliance_test

import (
	"context"
	"testing"

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
