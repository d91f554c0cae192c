package model_test

import (
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/bannin/bannin/internal/model"
	"github.com/bannin/bannin/internal/wire/cloudtrail"
	"github.com/bannin/bannin/internal/wire/cloudwatch"
	"github.com/bannin/bannin/internal/wire/kms"
	"github.com/bannin/bannin/internal/wire/s3"
	"github.com/bannin/bannin/internal/wire/sns"
	"github.com/bannin/bannin/internal/wire/ssm"
)

func TestBindRoundTrip(t *testing.T) {
	when := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name string
		dst  func() any
		tree map[string]any
	}{
		{"cloudtrail PutEventSelectors", func() any { return new(cloudtrail.PutEventSelectorsRequest) }, map[string]any{
			"TrailName": "main",
			"EventSelectors": []any{
				map[string]any{"ReadWriteType": "All", "IncludeManagementEvents": true,
					"DataResources": []any{map[string]any{"Type": "AWS::S3::Object", "Values": []any{"arn:aws:s3:::b/"}}},
				},
				map[string]any{"ReadWriteType": "ReadOnly", "ExcludeManagementEventSources": []any{}},
			},
		}},
		{"cloudtrail LookupEvents", func() any { return new(cloudtrail.LookupEventsRequest) }, map[string]any{
			"StartTime": when, "MaxResults": int64(50),
			"LookupAttributes": []any{map[string]any{"AttributeKey": "EventName", "AttributeValue": "CreateTrail"}},
		}},
		{"cloudwatch PutMetricData", func() any { return new(cloudwatch.PutMetricDataInput) }, map[string]any{
			"Namespace": "CIS", "MetricData": []any{map[string]any{
				"MetricName": "RootUsage", "Value": 1.5, "Timestamp": when, "Values": []any{1.0, 2.5},
				"StatisticValues":   map[string]any{"SampleCount": 2.0, "Sum": 3.0, "Minimum": 1.0, "Maximum": 2.0},
				"StorageResolution": int64(60),
			}},
		}},
		{"kms Encrypt (blob, map)", func() any { return new(kms.EncryptRequest) }, map[string]any{
			"KeyId": "alias/a", "Plaintext": []byte("secret"), "EncryptionContext": map[string]any{"k": "v"},
		}},
		{"sns Publish (map of structures)", func() any { return new(sns.PublishInput) }, map[string]any{
			"TopicArn": "arn:aws:sns:us-east-1:123456789012:t", "Message": "hi",
			"MessageAttributes": map[string]any{
				"a": map[string]any{"DataType": "String", "StringValue": "x"},
				"b": map[string]any{"DataType": "Binary", "BinaryValue": []byte{1, 2}},
			},
		}},
		{"ssm StartAutomationExecution (map of lists)", func() any { return new(ssm.StartAutomationExecutionRequest) }, map[string]any{
			"DocumentName": "AWS-EnableCloudTrail",
			"Parameters":   map[string]any{"TrailName": []any{"main"}, "Empty": []any{}},
			"TargetMaps":   []any{map[string]any{"k": []any{"v1", "v2"}}},
		}},
		{"empty structure", func() any { return new(cloudtrail.GetTrailRequest) }, map[string]any{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dst := c.dst()
			if err := model.Bind(dst, c.tree); err != nil {
				t.Fatalf("Bind: %v", err)
			}
			if got := model.Unbind(dst); !reflect.DeepEqual(got, c.tree) {
				t.Errorf("Unbind(Bind(tree)) = %#v; want %#v", got, c.tree)
			}
		})
	}
}

func TestBindTypedFields(t *testing.T) {
	var in cloudtrail.PutEventSelectorsRequest
	err := model.Bind(&in, map[string]any{
		"TrailName":      "main",
		"EventSelectors": []any{map[string]any{"ReadWriteType": "WriteOnly", "DataResources": []any{map[string]any{"Values": []any{"a", "b"}}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if *in.TrailName != "main" || len(in.EventSelectors) != 1 || *in.EventSelectors[0].ReadWriteType != "WriteOnly" ||
		!reflect.DeepEqual(in.EventSelectors[0].DataResources[0].Values, []string{"a", "b"}) {
		t.Errorf("Bind = %+v; want the tree's values", in)
	}
	var le cloudtrail.LookupEventsRequest
	if err := model.Bind(&le, map[string]any{"MaxResults": int64(7)}); err != nil || *le.MaxResults != 7 {
		t.Errorf("Bind MaxResults = %v, %v; want 7", le.MaxResults, err)
	}
}

func TestBindStreamingBody(t *testing.T) {
	var in s3.PutObjectRequest
	err := model.Bind(&in, map[string]any{
		"Bucket": "b", "Key": "k/x.json", "ContentLength": int64(5),
		"Body":     strings.NewReader("hello"),
		"Metadata": map[string]any{"owner": "me"},
	})
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(in.Body)
	if err != nil || string(b) != "hello" {
		t.Errorf("Body = %q, %v; want hello", b, err)
	}
	if *in.ContentLength != 5 || in.Metadata["owner"] != "me" {
		t.Errorf("ContentLength, Metadata = %d, %v; want 5, owner=me", *in.ContentLength, in.Metadata)
	}

	out := &s3.GetObjectOutput{Body: io.NopCloser(strings.NewReader("data")), ContentType: ptr("text/plain")}
	tree := model.Unbind(out)
	rc, ok := tree["Body"].(io.ReadCloser)
	if !ok {
		t.Fatalf("Unbind Body = %T; want io.ReadCloser", tree["Body"])
	}
	if b, _ := io.ReadAll(rc); string(b) != "data" || tree["ContentType"] != "text/plain" {
		t.Errorf("Unbind = %q, %v; want data, text/plain", b, tree["ContentType"])
	}
	var back s3.GetObjectOutput
	if err := model.Bind(&back, map[string]any{"Body": []byte("raw")}); err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(back.Body); string(b) != "raw" {
		t.Errorf("Body from []byte = %q; want raw", b)
	}
}

func TestUnbindOmitsNil(t *testing.T) {
	if got := model.Unbind((*cloudtrail.Trail)(nil)); got != nil {
		t.Errorf("Unbind(nil *Trail) = %#v; want nil", got)
	}
	got := model.Unbind(&cloudtrail.Trail{Name: ptr("t"), HasCustomEventSelectors: ptr(false)})
	want := map[string]any{"Name": "t", "HasCustomEventSelectors": false}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Unbind = %#v; want %#v", got, want)
	}
	// A generated exception's extra message field is not a model member.
	if got := model.Unbind(&cloudtrail.TrailNotFoundException{Message: ptr("m")}); len(got) != 0 {
		t.Errorf("Unbind(TrailNotFoundException) = %#v; want empty", got)
	}
}

func TestBindErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		dst  any
		tree map[string]any
		want string
	}{
		{"scalar", new(cloudtrail.GetTrailRequest), map[string]any{"Name": int64(3)},
			"model: bind GetTrailRequest.Name: got int64, want string"},
		{"nested", new(cloudtrail.PutEventSelectorsRequest), map[string]any{"EventSelectors": []any{
			map[string]any{}, map[string]any{"DataResources": []any{map[string]any{"Values": []any{"a", true}}}}}},
			"model: bind PutEventSelectorsRequest.EventSelectors[1].DataResources[0].Values[1]: got bool, want string"},
		{"structure", new(cloudtrail.PutEventSelectorsRequest), map[string]any{"EventSelectors": []any{"x"}},
			"model: bind PutEventSelectorsRequest.EventSelectors[0]: got string, want map[string]any (structure EventSelector)"},
		{"map value", new(kms.EncryptRequest), map[string]any{"EncryptionContext": map[string]any{"k": 1.0}},
			`model: bind EncryptRequest.EncryptionContext["k"]: got float64, want string`},
		{"unknown member", new(cloudtrail.GetTrailRequest), map[string]any{"Nme": "x"},
			"model: bind GetTrailRequest.Nme: no such member in GetTrailRequest"},
		{"int32 overflow", new(cloudtrail.LookupEventsRequest), map[string]any{"MaxResults": int64(1 << 40)},
			"model: bind LookupEventsRequest.MaxResults: value 1099511627776 out of range for int32"},
	} {
		err := model.Bind(c.dst, c.tree)
		if err == nil || err.Error() != c.want {
			t.Errorf("%s: Bind = %v; want %s", c.name, err, c.want)
		}
	}
	if err := model.Bind(cloudtrail.GetTrailRequest{}, nil); err == nil {
		t.Errorf("Bind into a struct value succeeded; want an error")
	}
}

func ptr[T any](v T) *T { return &v }

func BenchmarkBindUnbind(b *testing.B) {
	tree := map[string]any{
		"TrailName": "main",
		"EventSelectors": []any{map[string]any{"ReadWriteType": "All", "IncludeManagementEvents": true,
			"DataResources": []any{map[string]any{"Type": "AWS::S3::Object", "Values": []any{"arn:aws:s3:::b/"}}}}},
	}
	for b.Loop() {
		var in cloudtrail.PutEventSelectorsRequest
		if err := model.Bind(&in, tree); err != nil {
			b.Fatal(err)
		}
		_ = model.Unbind(&in)
	}
}
