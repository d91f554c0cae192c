package rpcv2cbor_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/fxamacker/cbor/v2"

	"github.com/bannin/bannin/internal/awserr"
	"github.com/bannin/bannin/internal/model"
	"github.com/bannin/bannin/internal/protocol/codectest"
)

// ResourceNotFound is shaped like the generated CloudWatch exception type.
type ResourceNotFound struct{ Message string }

func (e *ResourceNotFound) Error() string        { return e.Message }
func (e *ResourceNotFound) AWSErrorCode() string { return "ResourceNotFound" }
func (e *ResourceNotFound) AWSHTTPStatus() int   { return 404 }
func (e *ResourceNotFound) AWSMessage() string   { return e.Message }
func (e *ResourceNotFound) AWSSenderFault() bool { return true }

func TestCloudWatchSDK(t *testing.T) {
	svc := codectest.Model(t, "cloudwatch", "cloudwatch")
	ts := time.Date(2024, 2, 3, 4, 5, 6, 500e6, time.UTC)
	srv := codectest.Serve(t, svc, codectest.For, func(op *model.Operation, in map[string]any) (map[string]any, error) {
		switch op.Name {
		case "PutMetricData":
			return nil, nil
		case "GetMetricStatistics":
			return map[string]any{"Label": "Errors", "Datapoints": []any{
				map[string]any{"Timestamp": ts, "Sum": 3.0, "SampleCount": 2.0, "Unit": "Count"},
				map[string]any{"Timestamp": ts.Add(time.Minute), "Sum": 0.5, "Maximum": 0.25},
			}}, nil
		case "DescribeAlarmHistory":
			return nil, &ResourceNotFound{Message: "alarm nope does not exist"}
		}
		return nil, awserr.New("InvalidAction", 400, "no")
	})
	c := cloudwatch.NewFromConfig(aws.Config{
		Region: "us-east-1", RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
	}, func(o *cloudwatch.Options) { o.BaseEndpoint = aws.String(srv.URL) })
	ctx := context.Background()
	_, err := c.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{
		Namespace: aws.String("App"),
		MetricData: []cwtypes.MetricDatum{{
			MetricName: aws.String("Errors"), Value: aws.Float64(2.5), Timestamp: aws.Time(ts), Unit: cwtypes.StandardUnitCount,
			Dimensions: []cwtypes.Dimension{{Name: aws.String("Service"), Value: aws.String("api")}},
			Values:     []float64{1, 2}, Counts: []float64{3, 4}, StorageResolution: aws.Int32(60),
		}},
	})
	if err != nil {
		t.Fatalf("PutMetricData: %v", err)
	}
	call := srv.Last(t)
	want := map[string]any{"Namespace": "App", "MetricData": []any{map[string]any{
		"MetricName": "Errors", "Value": 2.5, "Timestamp": ts, "Unit": "Count",
		"Dimensions": []any{map[string]any{"Name": "Service", "Value": "api"}},
		"Values":     []any{1.0, 2.0}, "Counts": []any{3.0, 4.0}, "StorageResolution": int64(60),
	}}}
	if call.Codec != "smithy-rpc-v2-cbor" || !reflect.DeepEqual(call.In, want) {
		t.Errorf("PutMetricData decoded by %s = %#v; want %#v", call.Codec, call.In, want)
	}
	out, err := c.GetMetricStatistics(ctx, &cloudwatch.GetMetricStatisticsInput{
		Namespace: aws.String("App"), MetricName: aws.String("Errors"),
		StartTime: aws.Time(ts.Add(-time.Hour)), EndTime: aws.Time(ts), Period: aws.Int32(300),
		Statistics: []cwtypes.Statistic{cwtypes.StatisticSum, cwtypes.StatisticMaximum},
	})
	if err != nil {
		t.Fatalf("GetMetricStatistics: %v", err)
	}
	in := srv.Last(t).In
	if in["StartTime"] != ts.Add(-time.Hour) || in["EndTime"] != ts || in["Period"] != int64(300) ||
		!reflect.DeepEqual(in["Statistics"], []any{"Sum", "Maximum"}) {
		t.Errorf("GetMetricStatistics input = %#v", in)
	}
	if aws.ToString(out.Label) != "Errors" || len(out.Datapoints) != 2 || !out.Datapoints[0].Timestamp.Equal(ts) ||
		aws.ToFloat64(out.Datapoints[0].Sum) != 3 || aws.ToFloat64(out.Datapoints[1].Maximum) != 0.25 || out.Datapoints[0].Unit != cwtypes.StandardUnitCount {
		t.Errorf("GetMetricStatistics = %+v", out)
	}
	_, err = c.DescribeAlarmHistory(ctx, &cloudwatch.DescribeAlarmHistoryInput{AlarmName: aws.String("nope")})
	var rnf *cwtypes.ResourceNotFound
	if !errors.As(err, &rnf) || rnf.ErrorCode() != "ResourceNotFound" || !strings.Contains(rnf.ErrorMessage(), "alarm nope") {
		t.Errorf("DescribeAlarmHistory error = %T %v; want *types.ResourceNotFound", err, err)
	}
}

func TestMalformedCBOR(t *testing.T) {
	svc := codectest.Model(t, "cloudwatch", "cloudwatch")
	srv := codectest.Serve(t, svc, codectest.For, func(op *model.Operation, in map[string]any) (map[string]any, error) {
		return map[string]any{}, nil
	})
	bad, _ := cbor.Marshal(map[string]any{"Namespace": "App", "MetricData": []any{map[string]any{"MetricName": 7}}})
	for _, tc := range []struct {
		path   string
		body   []byte
		status int
		code   string
		inMsg  string
	}{
		{"/service/GraniteServiceVersion20100801/operation/PutMetricData", bad, 400, "SerializationException", "MetricData[0].MetricName"},
		{"/service/GraniteServiceVersion20100801/operation/PutMetricData", []byte{0xbf, 0x61}, 400, "SerializationException", "malformed"},
		{"/service/GraniteServiceVersion20100801/operation/Teleport", nil, 404, "UnknownOperationException", "Teleport"},
	} {
		req, _ := http.NewRequest("POST", srv.URL+tc.path, bytes.NewReader(tc.body))
		req.Header.Set("Smithy-Protocol", "rpc-v2-cbor")
		req.Header.Set("Content-Type", "application/cbor")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var got map[string]any
		raw := codectest.ReadAll(t, resp)
		if err := cbor.Unmarshal([]byte(raw), &got); err != nil {
			t.Fatalf("error body is not CBOR: %v", err)
		}
		msg, _ := got["message"].(string)
		if resp.StatusCode != tc.status || got["__type"] != tc.code || !strings.Contains(msg, tc.inMsg) ||
			resp.Header.Get("Smithy-Protocol") != "rpc-v2-cbor" {
			t.Errorf("%s = %d %v; want %d %s mentioning %s", tc.path, resp.StatusCode, got, tc.status, tc.code, tc.inMsg)
		}
	}
}
