package awsjson_test

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"

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

func cloudtrailClient(t *testing.T, h codectest.Handler) (*cloudtrail.Client, *codectest.Server) {
	svc := codectest.Model(t, "cloudtrail", "cloudtrail")
	srv := codectest.Serve(t, svc, codectest.For, h)
	c := cloudtrail.NewFromConfig(awsConfig(), func(o *cloudtrail.Options) { o.BaseEndpoint = aws.String(srv.URL) })
	return c, srv
}

func TestCreateTrailNestedLists(t *testing.T) {
	c, srv := cloudtrailClient(t, func(op *model.Operation, in map[string]any) (map[string]any, error) {
		return map[string]any{
			"Name":                       in["Name"],
			"S3BucketName":               in["S3BucketName"],
			"TrailARN":                   "arn:aws:cloudtrail:us-east-1:123456789012:trail/" + in["Name"].(string),
			"IsMultiRegionTrail":         true,
			"LogFileValidationEnabled":   false,
			"IncludeGlobalServiceEvents": true,
		}, nil
	})
	out, err := c.CreateTrail(context.Background(), &cloudtrail.CreateTrailInput{
		Name:               aws.String("main"),
		S3BucketName:       aws.String("logs"),
		IsMultiRegionTrail: aws.Bool(true),
		TagsList: []cttypes.Tag{
			{Key: aws.String("team"), Value: aws.String("sec")},
			{Key: aws.String("env")},
		},
	})
	if err != nil {
		t.Fatalf("CreateTrail: %v", err)
	}
	call := srv.Last(t)
	if call.Codec != "json" || call.Op != "CreateTrail" {
		t.Errorf("decoded %s %s; want json CreateTrail", call.Codec, call.Op)
	}
	want := map[string]any{
		"Name":               "main",
		"S3BucketName":       "logs",
		"IsMultiRegionTrail": true,
		"TagsList": []any{
			map[string]any{"Key": "team", "Value": "sec"},
			map[string]any{"Key": "env"},
		},
	}
	if !reflect.DeepEqual(call.In, want) {
		t.Errorf("CreateTrail input = %#v; want %#v", call.In, want)
	}
	if got := aws.ToString(out.TrailARN); got != "arn:aws:cloudtrail:us-east-1:123456789012:trail/main" {
		t.Errorf("TrailARN = %q", got)
	}
	if !aws.ToBool(out.IsMultiRegionTrail) || aws.ToBool(out.LogFileValidationEnabled) || !aws.ToBool(out.IncludeGlobalServiceEvents) {
		t.Errorf("booleans = %v %v %v; want true false true", *out.IsMultiRegionTrail, *out.LogFileValidationEnabled, *out.IncludeGlobalServiceEvents)
	}
}

func TestLookupEventsTimestamps(t *testing.T) {
	start := time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)
	end := time.Date(2024, 3, 1, 11, 30, 15, 250e6, time.UTC)
	evTime := time.Date(2024, 3, 1, 10, 5, 7, 123e6, time.UTC)
	c, srv := cloudtrailClient(t, func(op *model.Operation, in map[string]any) (map[string]any, error) {
		return map[string]any{
			"Events": []any{map[string]any{
				"EventId":         "e1",
				"EventName":       "CreateTrail",
				"EventTime":       evTime,
				"ReadOnly":        "false",
				"CloudTrailEvent": `{"eventVersion":"1.09"}`,
				"Resources":       []any{map[string]any{"ResourceType": "AWS::CloudTrail::Trail", "ResourceName": "main"}},
			}},
			"NextToken": "tok2",
		}, nil
	})
	out, err := c.LookupEvents(context.Background(), &cloudtrail.LookupEventsInput{
		StartTime:  aws.Time(start),
		EndTime:    aws.Time(end),
		MaxResults: aws.Int32(5),
		NextToken:  aws.String("tok1"),
		LookupAttributes: []cttypes.LookupAttribute{
			{AttributeKey: cttypes.LookupAttributeKeyEventName, AttributeValue: aws.String("CreateTrail")},
		},
	})
	if err != nil {
		t.Fatalf("LookupEvents: %v", err)
	}
	in := srv.Last(t).In
	if got := in["StartTime"]; got != start {
		t.Errorf("StartTime = %v; want %v", got, start)
	}
	if got := in["EndTime"]; got != end {
		t.Errorf("EndTime = %v; want %v", got, end)
	}
	if got := in["MaxResults"]; got != int64(5) {
		t.Errorf("MaxResults = %#v; want int64(5)", got)
	}
	wantAttrs := []any{map[string]any{"AttributeKey": "EventName", "AttributeValue": "CreateTrail"}}
	if !reflect.DeepEqual(in["LookupAttributes"], wantAttrs) {
		t.Errorf("LookupAttributes = %#v; want %#v", in["LookupAttributes"], wantAttrs)
	}
	if len(out.Events) != 1 {
		t.Fatalf("LookupEvents = %d events; want 1", len(out.Events))
	}
	ev := out.Events[0]
	if !ev.EventTime.Equal(evTime) {
		t.Errorf("EventTime = %v; want %v", ev.EventTime, evTime)
	}
	if aws.ToString(ev.EventName) != "CreateTrail" || len(ev.Resources) != 1 || aws.ToString(ev.Resources[0].ResourceName) != "main" {
		t.Errorf("event = %+v", ev)
	}
	if aws.ToString(out.NextToken) != "tok2" {
		t.Errorf("NextToken = %q; want tok2", aws.ToString(out.NextToken))
	}
}

// trailNotFound is shaped like a generated exception type.
type TrailNotFoundException struct{ Message string }

func (e *TrailNotFoundException) Error() string        { return e.Message }
func (e *TrailNotFoundException) AWSErrorCode() string { return "TrailNotFoundException" }
func (e *TrailNotFoundException) AWSHTTPStatus() int   { return 400 }
func (e *TrailNotFoundException) AWSMessage() string   { return e.Message }
func (e *TrailNotFoundException) AWSSenderFault() bool { return true }

func TestTypedError(t *testing.T) {
	c, _ := cloudtrailClient(t, func(op *model.Operation, in map[string]any) (map[string]any, error) {
		return nil, &TrailNotFoundException{Message: "Unknown trail: nope for the user: 123456789012"}
	})
	_, err := c.GetTrailStatus(context.Background(), &cloudtrail.GetTrailStatusInput{Name: aws.String("nope")})
	var tnf *cttypes.TrailNotFoundException
	if !errors.As(err, &tnf) {
		t.Fatalf("GetTrailStatus error = %T %v; want *types.TrailNotFoundException", err, err)
	}
	if !strings.Contains(tnf.ErrorMessage(), "Unknown trail: nope") {
		t.Errorf("message = %q", tnf.ErrorMessage())
	}
}

func TestInternalErrorHidesDetail(t *testing.T) {
	c, _ := cloudtrailClient(t, func(op *model.Operation, in map[string]any) (map[string]any, error) {
		return nil, errors.New("db password=hunter2 rejected")
	})
	_, err := c.DescribeTrails(context.Background(), &cloudtrail.DescribeTrailsInput{})
	if err == nil || strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), "InternalFailure") {
		t.Errorf("DescribeTrails error = %v; want InternalFailure without detail", err)
	}
}

func TestMalformedAndUnknown(t *testing.T) {
	svc := codectest.Model(t, "cloudtrail", "cloudtrail")
	srv := codectest.Serve(t, svc, codectest.For, func(op *model.Operation, in map[string]any) (map[string]any, error) {
		return map[string]any{}, nil
	})
	cases := []struct {
		target, body string
		wantCode     string
		wantInMsg    string
	}{
		{"com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents", `{"MaxResults":"five"}`, "SerializationException", "MaxResults"},
		{"com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents", `{"StartTime":"yesterday"}`, "SerializationException", "StartTime"},
		{"com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.CreateTrail", `{"TagsList":[{"Key":7}]}`, "SerializationException", "TagsList[0].Key"},
		{"com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.CreateTrail", `{"Name":`, "SerializationException", "malformed"},
		{"com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.FlyToTheMoon", `{}`, "UnknownOperationException", "FlyToTheMoon"},
	}
	for _, tc := range cases {
		req, _ := http.NewRequest("POST", srv.URL+"/", strings.NewReader(tc.body))
		req.Header.Set("X-Amz-Target", tc.target)
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body := codectest.ReadAll(t, resp)
		if resp.StatusCode != 400 || resp.Header.Get("X-Amzn-ErrorType") != tc.wantCode ||
			!strings.Contains(body, `"__type":"`+tc.wantCode+`"`) || !strings.Contains(body, tc.wantInMsg) {
			t.Errorf("%s %s = %d %s %s; want 400 %s mentioning %s", tc.target, tc.body, resp.StatusCode,
				resp.Header.Get("X-Amzn-ErrorType"), body, tc.wantCode, tc.wantInMsg)
		}
	}
}
