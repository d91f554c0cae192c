package compliance

import (
	"strconv"
	"strings"
)

// REQUIRED_TAGS: resources must carry tag1Key..tag6Key, with one of the comma-separated
// tagNValue values when given.

// taggedTypes are the resource types REQUIRED_TAGS evaluates when the rule has no scope.
var taggedTypes = []string{
	"AWS::S3::Bucket", "AWS::CloudTrail::Trail", "AWS::Logs::LogGroup", "AWS::SNS::Topic",
	"AWS::CloudWatch::Alarm", "AWS::Events::Rule", "AWS::Events::EventBus", "AWS::SSM::Document",
	"AWS::EC2::Instance", "AWS::EC2::SecurityGroup", "AWS::EC2::Volume", "AWS::EC2::VPC",
	"AWS::KMS::Key", "AWS::IAM::Role", "AWS::IAM::User", "AWS::Lambda::Function", "AWS::DynamoDB::Table",
}

func init() {
	var params []Param
	for i := 1; i <= 6; i++ {
		params = append(params, Param{Name: "tag" + strconv.Itoa(i) + "Key", Type: "String", Required: i == 1},
			Param{Name: "tag" + strconv.Itoa(i) + "Value", Type: "String"})
	}
	register(&Managed{
		Identifier: "REQUIRED_TAGS", Types: taggedTypes, Trigger: OnChange, Params: params,
		Evaluate: func(r *CI, p Params) Result {
			for i := 1; i <= 6; i++ {
				k := p.Str("tag" + strconv.Itoa(i) + "Key")
				if k == "" {
					continue
				}
				v, has := r.Tags[k]
				if !has {
					return fail("Required tag %s is missing", k)
				}
				if want := p.List("tag" + strconv.Itoa(i) + "Value"); len(want) > 0 && !contains(want, v) {
					return fail("Tag %s is %q, not one of %s", k, v, strings.Join(want, ", "))
				}
			}
			return ok()
		},
	})
}
