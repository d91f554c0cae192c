package awsquery_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"

	"github.com/bannin/bannin/internal/awserr"
	"github.com/bannin/bannin/internal/model"
	"github.com/bannin/bannin/internal/protocol/codectest"
)

// TestEC2WithSDK round-trips the ec2 protocol with aws-sdk-go-v2's EC2 client: lists as
// Name.N with locationName members on the way in, <item> lists and a requestId on the
// way out, and the <Response><Errors> error shape.
func TestEC2WithSDK(t *testing.T) {
	svc := codectest.Model(t, "ec2", "ec2")
	launched := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	srv := codectest.Serve(t, svc, codectest.For, func(op *model.Operation, in map[string]any) (map[string]any, error) {
		switch op.Name {
		case "AuthorizeSecurityGroupIngress":
			return map[string]any{"Return": true, "SecurityGroupRules": []any{
				map[string]any{"SecurityGroupRuleId": "sgr-1", "GroupId": "sg-1", "IpProtocol": "tcp", "FromPort": int64(22), "ToPort": int64(22), "CidrIpv4": "0.0.0.0/0"}}}, nil
		case "DescribeInstances":
			return map[string]any{"Reservations": []any{map[string]any{"ReservationId": "r-1", "Instances": []any{
				map[string]any{"InstanceId": "i-1", "LaunchTime": launched, "State": map[string]any{"Code": int64(16), "Name": "running"},
					"Tags": []any{map[string]any{"Key": "team", "Value": "sec"}}}}}}}, nil
		}
		return nil, awserr.New("InvalidGroup.NotFound", 400, "The security group 'sg-404' does not exist")
	})
	c := ec2.NewFromConfig(awsConfig(), func(o *ec2.Options) { o.BaseEndpoint = aws.String(srv.URL) })
	ctx := context.Background()
	out, err := c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String("sg-1"),
		IpPermissions: []ec2types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(22), ToPort: aws.Int32(22),
			IpRanges: []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}}}})
	if err != nil {
		t.Fatalf("AuthorizeSecurityGroupIngress: %v", err)
	}
	if !aws.ToBool(out.Return) || len(out.SecurityGroupRules) != 1 || aws.ToInt32(out.SecurityGroupRules[0].FromPort) != 22 {
		t.Errorf("AuthorizeSecurityGroupIngress = %+v", out)
	}
	in := srv.Last(t).In
	perms, _ := in["IpPermissions"].([]any)
	if len(perms) != 1 {
		t.Fatalf("decoded IpPermissions = %#v; want one", in["IpPermissions"])
	}
	p := perms[0].(map[string]any)
	ranges, _ := p["IpRanges"].([]any)
	if p["FromPort"] != int64(22) || len(ranges) != 1 || ranges[0].(map[string]any)["CidrIp"] != "0.0.0.0/0" || in["GroupId"] != "sg-1" {
		t.Errorf("decoded input = %#v", in)
	}

	d, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{"i-1"},
		Filters: []ec2types.Filter{{Name: aws.String("tag:team"), Values: []string{"sec", "ops"}}}})
	if err != nil {
		t.Fatalf("DescribeInstances: %v", err)
	}
	if len(d.Reservations) != 1 || len(d.Reservations[0].Instances) != 1 {
		t.Fatalf("DescribeInstances = %+v", d)
	}
	inst := d.Reservations[0].Instances[0]
	if aws.ToString(inst.InstanceId) != "i-1" || !aws.ToTime(inst.LaunchTime).Equal(launched) || inst.State.Name != ec2types.InstanceStateNameRunning || len(inst.Tags) != 1 {
		t.Errorf("instance = %+v", inst)
	}
	in = srv.Last(t).In
	filters, _ := in["Filters"].([]any)
	if ids, _ := in["InstanceIds"].([]any); len(ids) != 1 || len(filters) != 1 || len(filters[0].(map[string]any)["Values"].([]any)) != 2 {
		t.Errorf("decoded DescribeInstances input = %#v", in)
	}

	_, err = c.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: aws.String("sg-404")})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "InvalidGroup.NotFound" || ae.ErrorMessage() != "The security group 'sg-404' does not exist" {
		t.Errorf("DeleteSecurityGroup error = %v; want InvalidGroup.NotFound with its message", err)
	}
}
