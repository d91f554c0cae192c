package awsquery_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/bannin/bannin/internal/awserr"
	"github.com/bannin/bannin/internal/model"
	"github.com/bannin/bannin/internal/protocol/codectest"
)

func awsConfig() aws.Config {
	return aws.Config{
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		RetryMaxAttempts: 1,
	}
}

func TestSNSCreateTopic(t *testing.T) {
	svc := codectest.Model(t, "sns", "sns")
	srv := codectest.Serve(t, svc, codectest.For, func(op *model.Operation, in map[string]any) (map[string]any, error) {
		return map[string]any{"TopicArn": "arn:aws:sns:us-east-1:123456789012:" + in["Name"].(string)}, nil
	})
	c := sns.NewFromConfig(awsConfig(), func(o *sns.Options) { o.BaseEndpoint = aws.String(srv.URL) })
	out, err := c.CreateTopic(context.Background(), &sns.CreateTopicInput{
		Name:       aws.String("alarms"),
		Attributes: map[string]string{"DisplayName": "Alarms & more", "FifoTopic": "false"},
		Tags:       []snstypes.Tag{{Key: aws.String("team"), Value: aws.String("sec")}, {Key: aws.String("env"), Value: aws.String("prod")}},
	})
	if err != nil {
		t.Fatalf("CreateTopic: %v", err)
	}
	call := srv.Last(t)
	want := map[string]any{
		"Name":       "alarms",
		"Attributes": map[string]any{"DisplayName": "Alarms & more", "FifoTopic": "false"},
		"Tags": []any{
			map[string]any{"Key": "team", "Value": "sec"},
			map[string]any{"Key": "env", "Value": "prod"},
		},
	}
	if call.Codec != "query" || !reflect.DeepEqual(call.In, want) {
		t.Errorf("CreateTopic decoded by %s = %#v; want %#v", call.Codec, call.In, want)
	}
	if got := aws.ToString(out.TopicArn); got != "arn:aws:sns:us-east-1:123456789012:alarms" {
		t.Errorf("TopicArn = %q", got)
	}
}

func TestSNSListAndMapOutput(t *testing.T) {
	svc := codectest.Model(t, "sns", "sns")
	srv := codectest.Serve(t, svc, codectest.For, func(op *model.Operation, in map[string]any) (map[string]any, error) {
		switch op.Name {
		case "ListTopics":
			return map[string]any{"Topics": []any{map[string]any{"TopicArn": "arn:1"}, map[string]any{"TopicArn": "arn:2"}}, "NextToken": "n"}, nil
		case "GetTopicAttributes":
			return map[string]any{"Attributes": map[string]any{"Owner": "123456789012", "Policy": `{"a":"<b>"}`}}, nil
		}
		return nil, awserr.New("NotFound", 404, "Topic does not exist")
	})
	c := sns.NewFromConfig(awsConfig(), func(o *sns.Options) { o.BaseEndpoint = aws.String(srv.URL) })
	lt, err := c.ListTopics(context.Background(), &sns.ListTopicsInput{NextToken: aws.String("m")})
	if err != nil {
		t.Fatalf("ListTopics: %v", err)
	}
	if len(lt.Topics) != 2 || aws.ToString(lt.Topics[1].TopicArn) != "arn:2" || aws.ToString(lt.NextToken) != "n" {
		t.Errorf("ListTopics = %+v", lt)
	}
	if got := srv.Last(t).In; !reflect.DeepEqual(got, map[string]any{"NextToken": "m"}) {
		t.Errorf("ListTopics input = %#v", got)
	}
	ga, err := c.GetTopicAttributes(context.Background(), &sns.GetTopicAttributesInput{TopicArn: aws.String("arn:1")})
	if err != nil {
		t.Fatalf("GetTopicAttributes: %v", err)
	}
	if ga.Attributes["Owner"] != "123456789012" || ga.Attributes["Policy"] != `{"a":"<b>"}` {
		t.Errorf("Attributes = %v", ga.Attributes)
	}
	_, err = c.DeleteTopic(context.Background(), &sns.DeleteTopicInput{TopicArn: aws.String("arn:3")})
	var nf *snstypes.NotFoundException
	if !errors.As(err, &nf) || nf.ErrorCode() != "NotFound" || !strings.Contains(nf.ErrorMessage(), "Topic does not exist") {
		t.Errorf("DeleteTopic error = %T %v; want *types.NotFoundException", err, err)
	}
}

func TestSTSGetCallerIdentity(t *testing.T) {
	svc := codectest.Model(t, "sts", "sts")
	exp := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	srv := codectest.Serve(t, svc, codectest.For, func(op *model.Operation, in map[string]any) (map[string]any, error) {
		switch op.Name {
		case "GetCallerIdentity":
			return map[string]any{"Account": "123456789012", "Arn": "arn:aws:iam::123456789012:root", "UserId": "123456789012"}, nil
		case "AssumeRole":
			return map[string]any{"Credentials": map[string]any{
				"AccessKeyId": "ASIA", "SecretAccessKey": "s", "SessionToken": "t", "Expiration": exp,
			}}, nil
		}
		return nil, awserr.New("InvalidAction", 400, "no")
	})
	c := sts.NewFromConfig(awsConfig(), func(o *sts.Options) { o.BaseEndpoint = aws.String(srv.URL) })
	out, err := c.GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("GetCallerIdentity: %v", err)
	}
	if aws.ToString(out.Account) != "123456789012" || aws.ToString(out.Arn) != "arn:aws:iam::123456789012:root" {
		t.Errorf("GetCallerIdentity = %+v", out)
	}
	ar, err := c.AssumeRole(context.Background(), &sts.AssumeRoleInput{
		RoleArn: aws.String("arn:aws:iam::123456789012:role/r"), RoleSessionName: aws.String("s"), DurationSeconds: aws.Int32(900),
	})
	if err != nil {
		t.Fatalf("AssumeRole: %v", err)
	}
	if !ar.Credentials.Expiration.Equal(exp) {
		t.Errorf("Expiration = %v; want %v", ar.Credentials.Expiration, exp)
	}
	if got := srv.Last(t).In["DurationSeconds"]; got != int64(900) {
		t.Errorf("DurationSeconds = %#v; want int64(900)", got)
	}
}

func post(t *testing.T, u string, form url.Values) (*http.Response, string) {
	t.Helper()
	resp, err := http.Post(u, "application/x-www-form-urlencoded; charset=utf-8", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	return resp, codectest.ReadAll(t, resp)
}

func TestQueryErrors(t *testing.T) {
	svc := codectest.Model(t, "sns", "sns")
	srv := codectest.Serve(t, svc, codectest.For, func(op *model.Operation, in map[string]any) (map[string]any, error) {
		return map[string]any{}, nil
	})
	resp, body := post(t, srv.URL, url.Values{"Action": {"Frobnicate"}, "Version": {"2010-03-31"}})
	if resp.StatusCode != 400 || !strings.Contains(body, "<Code>InvalidAction</Code>") || !strings.Contains(body, "Frobnicate") ||
		!strings.Contains(body, "<Type>Sender</Type>") || !strings.Contains(body, "<RequestId>"+codectest.RequestID+"</RequestId>") {
		t.Errorf("unknown action = %d %s", resp.StatusCode, body)
	}
	resp, body = post(t, srv.URL, url.Values{"Action": {"ListTopics"}, "Version": {"2010-03-31"}, "NextToken": {"x"}})
	if resp.StatusCode != 200 || !strings.HasPrefix(body, "<?xml") || !strings.Contains(body, `<ListTopicsResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><ListTopicsResult></ListTopicsResult><ResponseMetadata><RequestId>`) {
		t.Errorf("ListTopics = %d %s", resp.StatusCode, body)
	}
	svc = codectest.Model(t, "sts", "sts")
	srv = codectest.Serve(t, svc, codectest.For, func(op *model.Operation, in map[string]any) (map[string]any, error) {
		return map[string]any{}, nil
	})
	resp, body = post(t, srv.URL, url.Values{"Action": {"AssumeRole"}, "Version": {"2011-06-15"}, "DurationSeconds": {"ten"}})
	if resp.StatusCode != 400 || !strings.Contains(body, "<Code>ValidationError</Code>") || !strings.Contains(body, "DurationSeconds") {
		t.Errorf("bad number = %d %s", resp.StatusCode, body)
	}
}

func TestEC2(t *testing.T) {
	svc := codectest.Model(t, "ec2", "ec2")
	srv := codectest.Serve(t, svc, codectest.For, func(op *model.Operation, in map[string]any) (map[string]any, error) {
		if op.Name == "DescribeInstances" {
			return nil, awserr.New("InvalidInstanceID.NotFound", 400, "The instance ID 'i-1' does not exist")
		}
		return map[string]any{
			"SecurityGroups": []any{map[string]any{
				"GroupId": "sg-1", "GroupName": "default",
				"IpPermissions": []any{map[string]any{"IpProtocol": "tcp", "FromPort": int64(22), "ToPort": int64(22),
					"IpRanges": []any{map[string]any{"CidrIp": "0.0.0.0/0"}}}},
			}},
		}, nil
	})
	resp, body := post(t, srv.URL, url.Values{
		"Action": {"DescribeSecurityGroups"}, "Version": {"2016-11-15"},
		"GroupId.1": {"sg-1"}, "GroupId.2": {"sg-2"},
		"Filter.1.Name": {"vpc-id"}, "Filter.1.Value.1": {"vpc-a"}, "Filter.1.Value.2": {"vpc-b"},
		"DryRun": {"false"}, "MaxResults": {"10"},
	})
	if resp.StatusCode != 200 {
		t.Fatalf("DescribeSecurityGroups = %d %s", resp.StatusCode, body)
	}
	want := map[string]any{
		"GroupIds": []any{"sg-1", "sg-2"},
		"Filters":  []any{map[string]any{"Name": "vpc-id", "Values": []any{"vpc-a", "vpc-b"}}},
		"DryRun":   false, "MaxResults": int64(10),
	}
	if got := srv.Last(t).In; !reflect.DeepEqual(got, want) {
		t.Errorf("DescribeSecurityGroups input = %#v; want %#v", got, want)
	}
	// Members in model order, lists as <item>, names by locationName, as EC2 documents.
	wantBody := `<DescribeSecurityGroupsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>` + codectest.RequestID +
		`</requestId><securityGroupInfo><item><groupId>sg-1</groupId><groupName>default</groupName><ipPermissions><item><ipProtocol>tcp</ipProtocol>` +
		`<fromPort>22</fromPort><toPort>22</toPort><ipRanges><item><cidrIp>0.0.0.0/0</cidrIp></item></ipRanges></item></ipPermissions></item></securityGroupInfo></DescribeSecurityGroupsResponse>`
	if !strings.Contains(body, wantBody) {
		t.Errorf("DescribeSecurityGroups body = %s; want %s", body, wantBody)
	}
	resp, body = post(t, srv.URL, url.Values{"Action": {"DescribeInstances"}, "Version": {"2016-11-15"}, "InstanceId.1": {"i-1"}})
	wantErr := `<Response><Errors><Error><Code>InvalidInstanceID.NotFound</Code><Message>The instance ID &#39;i-1&#39; does not exist</Message></Error></Errors><RequestID>` + codectest.RequestID + `</RequestID></Response>`
	if resp.StatusCode != 400 || !strings.Contains(body, wantErr) {
		t.Errorf("DescribeInstances error = %d %s; want %s", resp.StatusCode, body, wantErr)
	}
}
