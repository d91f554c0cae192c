package protocol_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/bannin/bannin/internal/model"
	"github.com/bannin/bannin/internal/protocol"
	"github.com/bannin/bannin/internal/protocol/codectest"
)

// DashboardNotFoundError is shaped like the generated CloudWatch exception type, whose
// code ResourceNotFound it shares with the ResourceNotFound shape.
type DashboardNotFoundError struct{ Message string }

func (e *DashboardNotFoundError) Error() string        { return e.Message }
func (e *DashboardNotFoundError) AWSErrorCode() string { return "ResourceNotFound" }
func (e *DashboardNotFoundError) AWSHTTPStatus() int   { return 404 }
func (e *DashboardNotFoundError) AWSMessage() string   { return e.Message }
func (e *DashboardNotFoundError) AWSSenderFault() bool { return true }

func cloudwatchServer(t *testing.T) (*codectest.Server, time.Time) {
	svc := codectest.Model(t, "cloudwatch", "cloudwatch")
	ts := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	srv := codectest.Serve(t, svc, codectest.For, func(op *model.Operation, in map[string]any) (map[string]any, error) {
		switch op.Name {
		case "PutMetricData":
			return nil, nil
		case "GetMetricStatistics":
			return map[string]any{"Label": "E", "Datapoints": []any{map[string]any{"Timestamp": ts, "Sum": 3.0, "Unit": "Count"}}}, nil
		case "GetDashboard":
			return nil, &DashboardNotFoundError{Message: "Dashboard main does not exist"}
		}
		return map[string]any{}, nil
	})
	return srv, ts
}

func TestForChoosesByRequest(t *testing.T) {
	svc := codectest.Model(t, "cloudwatch", "cloudwatch")
	for _, tc := range []struct {
		path   string
		header map[string]string
		want   string
	}{
		{"/service/GraniteServiceVersion20100801/operation/PutMetricData", map[string]string{"Smithy-Protocol": "rpc-v2-cbor"}, "smithy-rpc-v2-cbor"},
		{"/service/GraniteServiceVersion20100801/operation/PutMetricData", nil, "smithy-rpc-v2-cbor"},
		{"/", map[string]string{"X-Amz-Target": "GraniteServiceVersion20100801.PutMetricData", "X-Amzn-Query-Mode": "true"}, "json"},
		{"/", nil, "query"},
	} {
		r, _ := http.NewRequest("POST", "http://127.0.0.1"+tc.path, nil)
		for k, v := range tc.header {
			r.Header.Set(k, v)
		}
		c, err := protocol.For(svc, r)
		if err != nil || c.Name() != tc.want {
			t.Errorf("For(%s %v) = %v, %v; want %s", tc.path, tc.header, c, err, tc.want)
		}
	}
	s3 := codectest.Model(t, "s3", "s3")
	r, _ := http.NewRequest("GET", "http://127.0.0.1/", nil)
	if c, err := protocol.For(s3, r); err != nil || c.Name() != "rest-xml" {
		t.Errorf("For(s3) = %v, %v; want rest-xml", c, err)
	}
}

func TestCloudWatchQueryCompatibleJSON(t *testing.T) {
	srv, _ := cloudwatchServer(t)
	send := func(op, body string) (*http.Response, string) {
		req, _ := http.NewRequest("POST", srv.URL+"/", strings.NewReader(body))
		req.Header.Set("X-Amz-Target", "GraniteServiceVersion20100801."+op)
		req.Header.Set("Content-Type", "application/x-amz-json-1.0")
		req.Header.Set("X-Amzn-Query-Mode", "true")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp, codectest.ReadAll(t, resp)
	}
	resp, body := send("PutMetricData", `{"Namespace":"App","MetricData":[{"MetricName":"E","Value":1.5,"Timestamp":1700000000.5,"Dimensions":[{"Name":"Service","Value":"api"}]}]}`)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/x-amz-json-1.0" {
		t.Errorf("PutMetricData = %d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	want := map[string]any{"Namespace": "App", "MetricData": []any{map[string]any{
		"MetricName": "E", "Value": 1.5, "Timestamp": time.UnixMilli(1700000000500).UTC(),
		"Dimensions": []any{map[string]any{"Name": "Service", "Value": "api"}},
	}}}
	if call := srv.Last(t); call.Codec != "json" || !reflect.DeepEqual(call.In, want) {
		t.Errorf("PutMetricData decoded by %s = %#v; want %#v", call.Codec, call.In, want)
	}
	resp, body = send("GetMetricStatistics", `{"Namespace":"App","MetricName":"E","StartTime":1704067200,"EndTime":1704070800,"Period":60,"Statistics":["Sum"]}`)
	var out map[string]any
	if err := json.Unmarshal([]byte(body), &out); err != nil || resp.StatusCode != 200 {
		t.Fatalf("GetMetricStatistics = %d %s", resp.StatusCode, body)
	}
	dp := out["Datapoints"].([]any)[0].(map[string]any)
	if dp["Timestamp"] != 1704067200.0 || dp["Sum"] != 3.0 || out["Label"] != "E" {
		t.Errorf("GetMetricStatistics body = %s", body)
	}
	resp, body = send("GetDashboard", `{"DashboardName":"main"}`)
	if resp.StatusCode != 404 || resp.Header.Get("X-Amzn-Query-Error") != "ResourceNotFound;Sender" ||
		resp.Header.Get("X-Amzn-ErrorType") != "DashboardNotFoundError" || !strings.Contains(body, `"__type":"DashboardNotFoundError"`) ||
		!strings.Contains(body, "Dashboard main does not exist") {
		t.Errorf("GetDashboard error = %d %v %s", resp.StatusCode, resp.Header, body)
	}
}

func TestCloudWatchQuery(t *testing.T) {
	srv, _ := cloudwatchServer(t)
	post := func(form url.Values) (*http.Response, string) {
		resp, err := http.Post(srv.URL+"/", "application/x-www-form-urlencoded; charset=utf-8", strings.NewReader(form.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		return resp, codectest.ReadAll(t, resp)
	}
	resp, body := post(url.Values{
		"Action": {"GetMetricStatistics"}, "Version": {"2010-08-01"},
		"Namespace": {"App"}, "MetricName": {"E"},
		"StartTime": {"2024-01-01T00:00:00Z"}, "EndTime": {"2024-01-01T01:00:00.250Z"}, "Period": {"60"},
		"Statistics.member.1": {"Sum"}, "Statistics.member.2": {"Maximum"},
		"Dimensions.member.1.Name": {"Service"}, "Dimensions.member.1.Value": {"api"},
	})
	want := map[string]any{
		"Namespace": "App", "MetricName": "E", "Period": int64(60),
		"StartTime":  time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC),
		"EndTime":    time.Date(2024, 1, 1, 1, 0, 0, 250e6, time.UTC),
		"Statistics": []any{"Sum", "Maximum"},
		"Dimensions": []any{map[string]any{"Name": "Service", "Value": "api"}},
	}
	if call := srv.Last(t); call.Codec != "query" || !reflect.DeepEqual(call.In, want) {
		t.Errorf("GetMetricStatistics decoded by %s = %#v; want %#v", call.Codec, call.In, want)
	}
	wantBody := `<GetMetricStatisticsResponse xmlns="http://monitoring.amazonaws.com/doc/2010-08-01/"><GetMetricStatisticsResult><Label>E</Label>` +
		`<Datapoints><member><Timestamp>2024-01-01T00:00:00Z</Timestamp><Sum>3</Sum><Unit>Count</Unit></member></Datapoints></GetMetricStatisticsResult>` +
		`<ResponseMetadata><RequestId>` + codectest.RequestID + `</RequestId></ResponseMetadata></GetMetricStatisticsResponse>`
	if resp.StatusCode != 200 || !strings.Contains(body, wantBody) {
		t.Errorf("GetMetricStatistics = %d %s; want %s", resp.StatusCode, body, wantBody)
	}
	resp, body = post(url.Values{"Action": {"GetDashboard"}, "Version": {"2010-08-01"}, "DashboardName": {"main"}})
	if resp.StatusCode != 404 || !strings.Contains(body, "<Error><Type>Sender</Type><Code>ResourceNotFound</Code><Message>Dashboard main does not exist</Message></Error>") {
		t.Errorf("GetDashboard = %d %s", resp.StatusCode, body)
	}
}
