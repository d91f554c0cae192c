package compliance_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/configservice"
	"github.com/aws/aws-sdk-go-v2/service/configservice/types"
	"github.com/aws/smithy-go"

	"github.com/bannin/bannin/internal/testenv"
)

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("%s: error = %v; want %s", what, err, code)
	}
	if ae.ErrorCode() != code {
		t.Fatalf("%s: error code = %s (%s); want %s", what, ae.ErrorCode(), ae.ErrorMessage(), code)
	}
}

func TestErrors(t *testing.T) {
	e := testenv.New(t)
	ctx := context.Background()
	cs := configservice.NewFromConfig(e.Config)
	_, err := cs.PutConfigRule(ctx, &configservice.PutConfigRuleInput{ConfigRule: &types.ConfigRule{ConfigRuleName: aws.String("x"),
		Source: &types.Source{Owner: types.OwnerAws, SourceIdentifier: aws.String("NOT_A_RULE")}}})
	wantCode(t, "PutConfigRule with an unknown identifier", err, "InvalidParameterValueException")
	_, err = cs.PutConfigRule(ctx, &configservice.PutConfigRuleInput{ConfigRule: &types.ConfigRule{ConfigRuleName: aws.String("x"),
		InputParameters: aws.String(`{"MinRetentionTime":"long"}`),
		Source:          &types.Source{Owner: types.OwnerAws, SourceIdentifier: aws.String("CW_LOGGROUP_RETENTION_PERIOD_CHECK")}}})
	wantCode(t, "PutConfigRule with a bad parameter", err, "InvalidParameterValueException")
	_, err = cs.DescribeConfigRules(ctx, &configservice.DescribeConfigRulesInput{ConfigRuleNames: []string{"absent"}})
	wantCode(t, "DescribeConfigRules of an absent rule", err, "NoSuchConfigRuleException")
	_, err = cs.DeleteConfigRule(ctx, &configservice.DeleteConfigRuleInput{ConfigRuleName: aws.String("absent")})
	wantCode(t, "DeleteConfigRule of an absent rule", err, "NoSuchConfigRuleException")
	_, err = cs.PutEvaluations(ctx, &configservice.PutEvaluationsInput{ResultToken: aws.String("nothing")})
	wantCode(t, "PutEvaluations with a bad token", err, "InvalidResultTokenException")
	_, err = cs.DeleteRemediationConfiguration(ctx, &configservice.DeleteRemediationConfigurationInput{ConfigRuleName: aws.String("absent")})
	wantCode(t, "DeleteRemediationConfiguration of an absent rule", err, "NoSuchRemediationConfigurationException")
}
