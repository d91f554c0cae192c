package audit

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/bannin/bannin/internal/call"
	"github.com/bannin/bannin/internal/model"
	"github.com/bannin/bannin/internal/wire/cloudtrail"
	"github.com/bannin/bannin/internal/wire/cloudwatch"
	"github.com/bannin/bannin/internal/wire/iam"
	"github.com/bannin/bannin/internal/wire/kms"
	wires3 "github.com/bannin/bannin/internal/wire/s3"
	wiresns "github.com/bannin/bannin/internal/wire/sns"
)

func TestLowerCamel(t *testing.T) {
	for in, want := range map[string]string{
		"S3BucketName": "s3BucketName", "Name": "name", "IsMultiRegionTrail": "isMultiRegionTrail",
		"DBInstanceIdentifier": "dBInstanceIdentifier", "SAMLMetadataDocument": "sAMLMetadataDocument",
		"name": "name", "": "",
	} {
		if got := LowerCamel(in); got != want {
			t.Errorf("LowerCamel(%q) = %q; want %q", in, got, want)
		}
	}
}

func TestParamsHidesSecretsAndBinary(t *testing.T) {
	op := iam.Model().Operations["CreateLoginProfile"]
	got := Params(op.Input, map[string]any{"UserName": "alice", "Password": "hunter2", "PasswordResetRequired": true})
	b, _ := json.Marshal(got)
	if string(b) != `{"password":"HIDDEN_DUE_TO_SECURITY_REASONS","passwordResetRequired":true,"userName":"alice"}` {
		t.Errorf("CreateLoginProfile parameters = %s", b)
	}
	enc := kms.Model().Operations["Encrypt"]
	got = Params(enc.Input, map[string]any{"KeyId": "alias/a", "Plaintext": []byte("secret")})
	if b, _ := json.Marshal(got); string(b) != `{"keyId":"alias/a","plaintext":"HIDDEN_DUE_TO_SECURITY_REASONS"}` {
		t.Errorf("Encrypt parameters = %s", b)
	}
	dec := kms.Model().Operations["Decrypt"]
	got = Params(dec.Input, map[string]any{"CiphertextBlob": []byte{1, 2, 3}})
	if got != nil {
		t.Errorf("Decrypt parameters = %v; want none (binary is left out)", got)
	}
}

func TestParamsNonFiniteNumbers(t *testing.T) {
	op := cloudwatch.Model().Operations["PutMetricData"]
	got := Params(op.Input, map[string]any{"Namespace": "App", "MetricData": []any{
		map[string]any{"MetricName": "m", "Value": math.NaN()}, map[string]any{"MetricName": "n", "Value": math.Inf(1)}}})
	b, err := json.Marshal(got)
	if err != nil || !strings.Contains(string(b), `"value":"NaN"`) || !strings.Contains(string(b), `"value":"+Inf"`) {
		t.Errorf("PutMetricData parameters = %s, %v; want NaN and +Inf as strings", b, err)
	}
}

// Data events are the ones CloudTrail's data events table lists; everything else is a
// management event.
func TestCategory(t *testing.T) {
	s3m, snsm, ct, cw := wires3.Model(), wiresns.Model(), cloudtrail.Model(), cloudwatch.Model()
	for _, c := range []struct {
		svc  *model.Service
		op   string
		want string
	}{
		{s3m, "PutObject", "Data"}, {s3m, "ListObjectsV2", "Data"}, {s3m, "PutBucketPolicy", "Management"},
		{snsm, "Publish", "Data"}, {snsm, "PublishBatch", "Data"}, {snsm, "CreateTopic", "Management"}, {snsm, "Subscribe", "Management"},
		{ct, "LookupEvents", "Management"},
		{cw, "PutMetricData", "Data"}, {cw, "GetMetricData", "Data"}, {cw, "ListMetrics", "Data"}, {cw, "PutMetricAlarm", "Management"},
	} {
		if got := Category(c.svc, c.svc.Operations[c.op]); got != c.want {
			t.Errorf("Category(%s, %s) = %s; want %s", c.svc.Name, c.op, got, c.want)
		}
	}
}

func TestReadOnly(t *testing.T) {
	for _, c := range []struct {
		service, op string
		want        bool
	}{
		{"cloudtrail", "LookupEvents", true}, {"cloudtrail", "StartLogging", false}, {"s3", "HeadObject", true},
		{"kms", "Encrypt", true}, {"kms", "CreateKey", false}, {"sts", "GetCallerIdentity", true},
		{"logs", "FilterLogEvents", true}, {"config", "SelectResourceConfig", true}, {"config", "PutConfigRule", false},
	} {
		if got := ReadOnly(c.service, c.op); got != c.want {
			t.Errorf("ReadOnly(%s, %s) = %v; want %v", c.service, c.op, got, c.want)
		}
	}
}

func TestParseRecord(t *testing.T) {
	insight := `{"eventVersion":"1.08","eventTime":"2026-11-20T10:00:00Z","awsRegion":"us-east-1","eventID":"ins-1",
		"eventType":"AwsCloudTrailInsight","recipientAccountId":"111122223333","sharedEventID":"s-1",
		"insightDetails":{"state":"Start","eventSource":"ec2.amazonaws.com","eventName":"RunInstances","insightType":"ApiCallRateInsight"},
		"eventCategory":"Insight"}`
	ev, err := ParseRecord(json.RawMessage(insight))
	if err != nil || ev.EventName != "RunInstances" || ev.EventSource != "ec2.amazonaws.com" || ev.Category != "Insight" || ev.Account != "111122223333" {
		t.Errorf("ParseRecord(insight) = %+v, %v", ev, err)
	}
	assumed := `{"eventID":"e-2","eventTime":"2026-11-20T10:00:00Z","eventSource":"s3.amazonaws.com","eventName":"CreateBucket",
		"awsRegion":"eu-west-1","userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/Ops/alice",
		"accountId":"111122223333","accessKeyId":"ASIAX"},"resources":[{"ARN":"arn:aws:s3:::logs","type":"AWS::S3::Bucket"}]}`
	ev, err = ParseRecord(json.RawMessage(assumed))
	if err != nil || ev.Username != "alice" || ev.ReadOnly || ev.Category != "Management" || len(ev.Resources) != 1 || ev.Resources[0].Name != "logs" {
		t.Errorf("ParseRecord(assumed role) = %+v, %v", ev, err)
	}
	for _, bad := range []string{`{"eventTime":"2026-11-20T10:00:00Z"}`, `{"eventID":"x","eventName":"A","eventSource":"s","eventTime":"yesterday"}`,
		`{"eventID":"x","eventName":"A","eventSource":"s","eventTime":"2026-11-20T10:00:00Z","eventCategory":"Gossip"}`} {
		if _, err := ParseRecord(json.RawMessage(bad)); err == nil {
			t.Errorf("ParseRecord(%s) = nil error; want one", bad)
		}
	}
}

func TestS3Params(t *testing.T) {
	svc := wires3.Model()
	params := func(op string, in map[string]any) string {
		t.Helper()
		b, err := json.Marshal(s3RequestParams(svc.Operations[op], in, "127.0.0.1:4566"))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	for _, c := range []struct {
		op   string
		in   map[string]any
		want string
	}{
		{"GetObject", map[string]any{"Bucket": "logs", "Key": "a.txt"},
			`{"Host":"127.0.0.1:4566","bucketName":"logs","key":"a.txt"}`},
		// Query and header parameters keep their wire names; user metadata stays out.
		{"ListObjectsV2", map[string]any{"Bucket": "logs", "Prefix": "AWSLogs/", "MaxKeys": int64(10)},
			`{"Host":"127.0.0.1:4566","bucketName":"logs","list-type":"2","max-keys":10,"prefix":"AWSLogs/"}`},
		{"PutObject", map[string]any{"Bucket": "logs", "Key": "a.txt", "ACL": "private", "Metadata": map[string]any{"team": "sec"},
			"ContentLength": int64(3), "ContentType": "text/plain", "ChecksumCRC32": "DUoRhQ=="},
			`{"Host":"127.0.0.1:4566","bucketName":"logs","key":"a.txt","x-amz-acl":"private"}`},
		// As CloudTrail records PutBucketPolicy: the policy parsed, the subresource marked.
		{"PutBucketPolicy", map[string]any{"Bucket": "logs", "ContentMD5": "x==", "Policy": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*"}]}`},
			`{"Host":"127.0.0.1:4566","bucketName":"logs","bucketPolicy":{"Statement":[{"Effect":"Allow","Principal":"*"}],"Version":"2012-10-17"},"policy":[""]}`},
		{"PutBucketVersioning", map[string]any{"Bucket": "logs", "VersioningConfiguration": map[string]any{"Status": "Enabled"}},
			`{"Host":"127.0.0.1:4566","VersioningConfiguration":{"Status":"Enabled","xmlns":"http://s3.amazonaws.com/doc/2006-03-01/"},"bucketName":"logs","versioning":[""]}`},
		// A flattened list of one is the element itself; element names keep their case.
		{"PutBucketEncryption", map[string]any{"Bucket": "logs", "ServerSideEncryptionConfiguration": map[string]any{"Rules": []any{
			map[string]any{"ApplyServerSideEncryptionByDefault": map[string]any{"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": true}}}},
			`{"Host":"127.0.0.1:4566","ServerSideEncryptionConfiguration":{"Rule":{"ApplyServerSideEncryptionByDefault":{"SSEAlgorithm":"AES256"},"BucketKeyEnabled":true},"xmlns":"http://s3.amazonaws.com/doc/2006-03-01/"},"bucketName":"logs","encryption":[""]}`},
		{"PutBucketTagging", map[string]any{"Bucket": "logs", "Tagging": map[string]any{"TagSet": []any{
			map[string]any{"Key": "a", "Value": "1"}, map[string]any{"Key": "b", "Value": "2"}}}},
			`{"Host":"127.0.0.1:4566","Tagging":{"TagSet":{"Tag":[{"Key":"a","Value":"1"},{"Key":"b","Value":"2"}]},"xmlns":"http://s3.amazonaws.com/doc/2006-03-01/"},"bucketName":"logs","tagging":[""]}`},
		{"PutPublicAccessBlock", map[string]any{"Bucket": "logs", "PublicAccessBlockConfiguration": map[string]any{"BlockPublicAcls": true, "RestrictPublicBuckets": false}},
			`{"Host":"127.0.0.1:4566","PublicAccessBlockConfiguration":{"BlockPublicAcls":true,"RestrictPublicBuckets":false,"xmlns":"http://s3.amazonaws.com/doc/2006-03-01/"},"bucketName":"logs","publicAccessBlock":[""]}`},
	} {
		if got := params(c.op, c.in); got != c.want {
			t.Errorf("%s requestParameters =\n %s\nwant\n %s", c.op, got, c.want)
		}
	}
	for op, want := range map[string]string{"PutPublicAccessBlock": "PutBucketPublicAccessBlock",
		"GetBucketLifecycleConfiguration": "GetBucketLifecycle", "PutBucketPolicy": "PutBucketPolicy"} {
		if got := EventName("s3", op); got != want {
			t.Errorf("EventName(s3, %s) = %s, want %s", op, got, want)
		}
	}
	if got := EventName("cloudtrail", "GetPublicAccessBlock"); got != "GetPublicAccessBlock" {
		t.Errorf("EventName outside S3 = %s", got)
	}
}

func TestRedactURLPassword(t *testing.T) {
	for in, want := range map[string]string{
		"https://user:s3cret@hooks.example.com/a?b=c": "https://user:****@hooks.example.com/a?b=c",
		"https://hooks.example.com/a@b":               "https://hooks.example.com/a@b",
		"https://user@hooks.example.com/":             "https://user@hooks.example.com/",
		"ops@example.com":                             "ops@example.com",
	} {
		if got := RedactURLPassword(in); got != want {
			t.Errorf("RedactURLPassword(%q) = %q; want %q", in, got, want)
		}
	}
}

// A CloudWatch metric data event names the resource type alone, as CloudTrail shows it.
func TestCloudWatchDataEventResources(t *testing.T) {
	svc := cloudwatch.Model()
	c := &call.Call{Operation: "PutMetricData", Account: "111122223333", Region: "us-east-1", Time: time.Unix(1700000000, 0),
		Caller: call.Principal{Type: "Root", Account: "111122223333", ARN: "arn:aws:iam::111122223333:root"}}
	ev, err := Build(c, Outcome{Service: svc, Op: svc.Operations["PutMetricData"], In: map[string]any{"Namespace": "App"}})
	if err != nil {
		t.Fatal(err)
	}
	var rec struct {
		EventCategory   string           `json:"eventCategory"`
		ManagementEvent bool             `json:"managementEvent"`
		Resources       []map[string]any `json:"resources"`
	}
	if err := json.Unmarshal(ev.Record, &rec); err != nil {
		t.Fatal(err)
	}
	if rec.EventCategory != "Data" || rec.ManagementEvent || len(rec.Resources) != 1 || len(rec.Resources[0]) != 1 ||
		rec.Resources[0]["type"] != "AWS::CloudWatch::Metric" {
		t.Errorf("PutMetricData record = %s; want a data event with resources [{type: AWS::CloudWatch::Metric}]", ev.Record)
	}
}
