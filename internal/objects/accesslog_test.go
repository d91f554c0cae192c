package objects_test

import (
	"context"
	"io"
	"regexp"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/configservice"
	cfgtypes "github.com/aws/aws-sdk-go-v2/service/configservice/types"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/bannin/bannin/internal/objects"
	"github.com/bannin/bannin/internal/store"
	"github.com/bannin/bannin/internal/testenv"
)

// offsetClock is a server clock that runs with real time plus an offset the test moves
// forward, so that delivery intervals pass without sleeping (and signatures stay in skew).
type offsetClock struct{ off atomic.Int64 }

func (c *offsetClock) now() time.Time          { return time.Now().Add(time.Duration(c.off.Load())) }
func (c *offsetClock) advance(d time.Duration) { c.off.Add(int64(d)) }

func mkBuckets(t *testing.T, c *awss3.Client, in ...*awss3.CreateBucketInput) {
	t.Helper()
	for _, b := range in {
		if _, err := c.CreateBucket(context.Background(), b); err != nil {
			t.Fatalf("CreateBucket %s: %v", aws.ToString(b.Bucket), err)
		}
	}
}

func getLogging(t *testing.T, c *awss3.Client, bucket string) *types.LoggingEnabled {
	t.Helper()
	out, err := c.GetBucketLogging(context.Background(), &awss3.GetBucketLoggingInput{Bucket: aws.String(bucket)})
	if err != nil {
		t.Fatalf("GetBucketLogging %s: %v", bucket, err)
	}
	return out.LoggingEnabled
}

func TestBucketLoggingConfiguration(t *testing.T) {
	e := testenv.New(t)
	ctx := context.Background()
	c := e.S3()
	mkBuckets(t, c, &awss3.CreateBucketInput{Bucket: aws.String("src")},
		&awss3.CreateBucketInput{Bucket: aws.String("logs-enforced")},
		&awss3.CreateBucketInput{Bucket: aws.String("logs-acl"), ObjectOwnership: types.ObjectOwnershipBucketOwnerPreferred},
		&awss3.CreateBucketInput{Bucket: aws.String("logs-eu"),
			CreateBucketConfiguration: &types.CreateBucketConfiguration{LocationConstraint: types.BucketLocationConstraintEuWest1}})
	if got := getLogging(t, c, "src"); got != nil {
		t.Fatalf("GetBucketLogging of a new bucket = %+v; want no LoggingEnabled", got)
	}
	put := func(bucket string, le *types.LoggingEnabled) error {
		_, err := c.PutBucketLogging(ctx, &awss3.PutBucketLoggingInput{Bucket: aws.String(bucket),
			BucketLoggingStatus: &types.BucketLoggingStatus{LoggingEnabled: le}})
		return err
	}
	grant := []types.TargetGrant{{Permission: types.BucketLogsPermissionRead,
		Grantee: &types.Grantee{Type: types.TypeGroup, URI: aws.String("http://acs.amazonaws.com/groups/global/AuthenticatedUsers")}}}
	for _, tc := range []struct {
		what, bucket string
		le           *types.LoggingEnabled
		code         string
	}{
		{"an absent target", "src", &types.LoggingEnabled{TargetBucket: aws.String("nope-absent"), TargetPrefix: aws.String("x/")}, "InvalidTargetBucketForLogging"},
		{"a target in another Region", "src", &types.LoggingEnabled{TargetBucket: aws.String("logs-eu"), TargetPrefix: aws.String("x/")}, "CrossLocationLoggingProhibitted"},
		{"target grants on a BucketOwnerEnforced target", "src", &types.LoggingEnabled{TargetBucket: aws.String("logs-enforced"),
			TargetPrefix: aws.String("x/"), TargetGrants: grant}, "AccessControlListNotSupported"},
		{"two key formats", "src", &types.LoggingEnabled{TargetBucket: aws.String("logs-acl"), TargetPrefix: aws.String("x/"),
			TargetObjectKeyFormat: &types.TargetObjectKeyFormat{SimplePrefix: &types.SimplePrefix{},
				PartitionedPrefix: &types.PartitionedPrefix{PartitionDateSource: types.PartitionDateSourceEventTime}}}, "MalformedXML"},
		{"an absent source", "src-absent", &types.LoggingEnabled{TargetBucket: aws.String("logs-acl"), TargetPrefix: aws.String("x/")}, "NoSuchBucket"},
	} {
		testenv.WantCode(t, "PutBucketLogging with "+tc.what, put(tc.bucket, tc.le), tc.code)
		if got := getLogging(t, c, "src"); got != nil {
			t.Fatalf("GetBucketLogging after PutBucketLogging with %s = %+v; want none", tc.what, got)
		}
	}

	if err := put("src", &types.LoggingEnabled{TargetBucket: aws.String("logs-acl"), TargetPrefix: aws.String("src/"), TargetGrants: grant,
		TargetObjectKeyFormat: &types.TargetObjectKeyFormat{PartitionedPrefix: &types.PartitionedPrefix{PartitionDateSource: types.PartitionDateSourceDeliveryTime}}}); err != nil {
		t.Fatalf("PutBucketLogging: %v", err)
	}
	got := getLogging(t, c, "src")
	if got == nil || aws.ToString(got.TargetBucket) != "logs-acl" || aws.ToString(got.TargetPrefix) != "src/" ||
		got.TargetObjectKeyFormat == nil || got.TargetObjectKeyFormat.PartitionedPrefix == nil ||
		got.TargetObjectKeyFormat.PartitionedPrefix.PartitionDateSource != types.PartitionDateSourceDeliveryTime ||
		len(got.TargetGrants) != 1 || got.TargetGrants[0].Permission != types.BucketLogsPermissionRead ||
		aws.ToString(got.TargetGrants[0].Grantee.URI) != "http://acs.amazonaws.com/groups/global/AuthenticatedUsers" {
		t.Fatalf("GetBucketLogging = %+v; want target logs-acl, prefix src/, partitioned by delivery time, one READ grant", got)
	}
	// A failed change leaves the configuration as it was.
	testenv.WantCode(t, "PutBucketLogging with an absent target", put("src", &types.LoggingEnabled{TargetBucket: aws.String("nope-absent"), TargetPrefix: aws.String("x/")}), "InvalidTargetBucketForLogging")
	if got := getLogging(t, c, "src"); got == nil || aws.ToString(got.TargetBucket) != "logs-acl" {
		t.Fatalf("GetBucketLogging after a failed change = %+v; want target logs-acl still", got)
	}
	// The aws CLI v2 sets it too (a bucket may log into itself).
	e.Run(t, testenv.V2, "s3api", "put-bucket-logging", "--bucket", "src", "--bucket-logging-status",
		`{"LoggingEnabled":{"TargetBucket":"src","TargetPrefix":"self/"}}`)
	if got := getLogging(t, c, "src"); got == nil || aws.ToString(got.TargetBucket) != "src" || aws.ToString(got.TargetPrefix) != "self/" ||
		got.TargetObjectKeyFormat != nil || len(got.TargetGrants) != 0 {
		t.Fatalf("GetBucketLogging after the CLI = %+v; want target src, prefix self/", got)
	}
	// An empty BucketLoggingStatus turns logging off.
	if err := put("src", nil); err != nil {
		t.Fatalf("PutBucketLogging off: %v", err)
	}
	if got := getLogging(t, c, "src"); got != nil {
		t.Fatalf("GetBucketLogging after turning logging off = %+v; want none", got)
	}
}

// logRecord is one parsed server access log record.
type logRecord struct {
	fields []string
}

func (r logRecord) get(name string) string {
	for i, n := range logFields {
		if n == name {
			return r.fields[i]
		}
	}
	panic("no log field " + name)
}

var logFields = []string{"owner", "bucket", "time", "ip", "requester", "requestID", "operation", "key", "requestURI",
	"status", "errorCode", "bytesSent", "objectSize", "totalTime", "turnAround", "referer", "userAgent", "versionID",
	"hostID", "signature", "cipher", "authType", "host", "tls", "accessPoint", "aclRequired"}

var logToken = regexp.MustCompile(`\[[^\]]*\]|"(?:[^"\\]|\\.)*"|[^ ]+`)

// parseLog parses a log object into records, failing on a record of the wrong shape.
func parseLog(t *testing.T, body string) []logRecord {
	t.Helper()
	var rs []logRecord
	for _, line := range strings.Split(strings.TrimSuffix(body, "\n"), "\n") {
		f := logToken.FindAllString(line, -1)
		if len(f) != len(logFields) {
			t.Fatalf("log record %q has %d fields; want %d", line, len(f), len(logFields))
		}
		rs = append(rs, logRecord{fields: f})
	}
	return rs
}

// logObjects returns the bodies of the objects under prefix in bucket, by key.
func logObjects(t *testing.T, c *awss3.Client, bucket, prefix string) map[string]string {
	t.Helper()
	ctx := context.Background()
	out, err := c.ListObjectsV2(ctx, &awss3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	if err != nil {
		t.Fatalf("ListObjectsV2 %s: %v", bucket, err)
	}
	m := map[string]string{}
	for _, o := range out.Contents {
		g, err := c.GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String(bucket), Key: o.Key})
		if err != nil {
			t.Fatalf("GetObject %s: %v", aws.ToString(o.Key), err)
		}
		b, _ := io.ReadAll(g.Body)
		g.Body.Close()
		m[aws.ToString(o.Key)] = string(b)
	}
	return m
}

// pendingLines returns the pending log records the server holds.
func pendingLines(t *testing.T, e *testenv.Env) []string {
	t.Helper()
	var lines []string
	err := e.Server.Store.View(context.Background(), func(tx store.ReadTx) error {
		rows, err := tx.List(context.Background(), "s3log.pending", "", "", 10000)
		for _, r := range rows {
			lines = append(lines, string(r.Value))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return lines
}

func waitFor(t *testing.T, what string, f func() bool) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); !f(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not reached within 15s", what)
		}
	}
}

// waitPending waits until a pending log record contains marker (the consumer queues in
// stream order, so every earlier call's record is then queued too).
func waitPending(t *testing.T, e *testenv.Env, marker string) {
	t.Helper()
	waitFor(t, "a pending log record with "+marker, func() bool {
		for _, l := range pendingLines(t, e) {
			if strings.Contains(l, marker) {
				return true
			}
		}
		return false
	})
}

func TestAccessLogDelivery(t *testing.T) {
	clk := &offsetClock{}
	e := testenv.New(t, testenv.Options{Clock: clk.now})
	ctx := context.Background()
	c := e.S3()
	mkBuckets(t, c, &awss3.CreateBucketInput{Bucket: aws.String("src")}, &awss3.CreateBucketInput{Bucket: aws.String("src2")},
		&awss3.CreateBucketInput{Bucket: aws.String("unlogged")}, &awss3.CreateBucketInput{Bucket: aws.String("logs")})
	for _, s := range []struct {
		bucket string
		le     *types.LoggingEnabled
	}{
		{"src", &types.LoggingEnabled{TargetBucket: aws.String("logs"), TargetPrefix: aws.String("simple/")}},
		{"src2", &types.LoggingEnabled{TargetBucket: aws.String("logs"), TargetPrefix: aws.String("part/"),
			TargetObjectKeyFormat: &types.TargetObjectKeyFormat{PartitionedPrefix: &types.PartitionedPrefix{PartitionDateSource: types.PartitionDateSourceEventTime}}}},
	} {
		if _, err := c.PutBucketLogging(ctx, &awss3.PutBucketLoggingInput{Bucket: aws.String(s.bucket),
			BucketLoggingStatus: &types.BucketLoggingStatus{LoggingEnabled: s.le}}); err != nil {
			t.Fatalf("PutBucketLogging %s: %v", s.bucket, err)
		}
	}
	body := "hello, access logs"
	if _, err := c.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("src"), Key: aws.String("dir/a b.txt"), Body: strings.NewReader(body)}); err != nil {
		t.Fatal(err)
	}
	g, err := c.GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String("src"), Key: aws.String("dir/a b.txt")})
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, g.Body)
	g.Body.Close()
	if _, err := c.GetBucketVersioning(ctx, &awss3.GetBucketVersioningInput{Bucket: aws.String("src")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("unlogged"), Key: aws.String("u"), Body: strings.NewReader("u")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("src2"), Key: aws.String("k2"), Body: strings.NewReader("x")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String("src"), Key: aws.String("missing")})
	testenv.WantCode(t, "GetObject of a missing key", err, "NoSuchKey")
	waitPending(t, e, "NoSuchKey")
	if got := logObjects(t, c, "logs", ""); len(got) != 0 {
		t.Fatalf("log objects before the delivery interval = %v; want none", got)
	}

	// The delivery interval (5 minutes) passes.
	clk.advance(6 * time.Minute)
	var simple, part map[string]string
	waitFor(t, "log objects in logs", func() bool {
		simple, part = logObjects(t, c, "logs", "simple/"), logObjects(t, c, "logs", "part/")
		return len(simple) > 0 && len(part) > 0
	})
	if n := len(pendingLines(t, e)); n != 0 {
		t.Errorf("pending log records after delivery = %d; want 0", n)
	}
	simpleKey := regexp.MustCompile(`^simple/\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}-[0-9A-F]{16}$`)
	var recs []logRecord
	for k, b := range simple {
		if !simpleKey.MatchString(k) {
			t.Errorf("log object key %q; want simple/YYYY-mm-DD-HH-MM-SS-UniqueString", k)
		}
		recs = append(recs, parseLog(t, b)...)
	}
	byOp := map[string]logRecord{}
	for _, r := range recs {
		if r.get("bucket") != "src" || r.get("owner") != objects.CanonicalUserID(e.Account) {
			t.Errorf("record %v: bucket/owner = %s/%s; want src/%s", r.fields, r.get("bucket"), r.get("owner"), objects.CanonicalUserID(e.Account))
		}
		byOp[r.get("operation")+" "+r.get("key")] = r
	}
	ops := make([]string, 0, len(byOp))
	for k := range byOp {
		ops = append(ops, k)
	}
	sort.Strings(ops)
	want := map[string]map[string]string{
		"REST.PUT.OBJECT dir/a%20b.txt": {"status": "200", "errorCode": "-", "objectSize": "18",
			"requestURI": `"PUT /src/dir/a%20b.txt HTTP/1.1"`, "ip": "127.0.0.1", "requester": objects.CanonicalUserID(e.Account),
			"signature": "SigV4", "authType": "AuthHeader"},
		"REST.GET.OBJECT dir/a%20b.txt": {"status": "200", "bytesSent": "18", "objectSize": "18"},
		"REST.GET.VERSIONING -":         {"status": "200", "requestURI": `"GET /src?versioning HTTP/1.1"`},
		"REST.GET.OBJECT missing":       {"status": "404", "errorCode": "NoSuchKey", "bytesSent": "-", "objectSize": "-"},
	}
	for op, fields := range want {
		r, ok := byOp[op]
		if !ok {
			t.Errorf("log records of src: %v; want one for %s", ops, op)
			continue
		}
		for f, v := range fields {
			if got := r.get(f); got != v {
				t.Errorf("%s: %s = %s; want %s", op, f, got, v)
			}
		}
		tm, err := time.Parse("[02/Jan/2006:15:04:05 -0700]", r.get("time"))
		if err != nil || tm.Sub(clk.now()) > 0 || clk.now().Sub(tm) > time.Hour {
			t.Errorf("%s: time = %s (%v); want the request's time as [02/Jan/2006:15:04:05 +0000]", op, r.get("time"), err)
		}
		if ua := r.get("userAgent"); !strings.HasPrefix(ua, `"aws-sdk-go-v2/`) {
			t.Errorf("%s: user agent = %s; want the SDK's, quoted", op, ua)
		}
		if r.get("requestID") == "-" {
			t.Errorf("%s: no request ID", op)
		}
	}
	for _, r := range recs {
		if r.get("key") == "u" {
			t.Errorf("src's logs hold a call on another bucket: %v", r.fields)
		}
	}
	partKey := regexp.MustCompile(`^part/` + e.Account + `/us-east-1/src2/(\d{4}/\d{2}/\d{2})/(\d{4})-(\d{2})-(\d{2})-\d{2}-\d{2}-\d{2}-[0-9A-F]{16}$`)
	found := false
	for k, b := range part {
		m := partKey.FindStringSubmatch(k)
		if m == nil {
			t.Errorf("log object key %q; want part/account/region/src2/YYYY/mm/DD/YYYY-mm-DD-HH-MM-SS-UniqueString", k)
			continue
		}
		for _, r := range parseLog(t, b) {
			if r.get("bucket") != "src2" {
				t.Errorf("src2's log holds %v", r.fields)
			}
			tm, _ := time.Parse("[02/Jan/2006:15:04:05 -0700]", r.get("time"))
			if tm.UTC().Format("2006/01/02") != m[1] {
				t.Errorf("record at %s in the partition of %s; want its event date", r.get("time"), m[1])
			}
			found = found || (r.get("operation") == "REST.PUT.OBJECT" && r.get("key") == "k2")
		}
	}
	if !found {
		t.Errorf("src2's log objects %v; want the PutObject of k2", part)
	}
}

// Records not yet delivered survive a restart, and are delivered once.
func TestAccessLogsSurviveRestart(t *testing.T) {
	clk := &offsetClock{}
	dir := t.TempDir()
	e := testenv.New(t, testenv.Options{Clock: clk.now, DataDir: dir})
	ctx := context.Background()
	c := e.S3()
	mkBuckets(t, c, &awss3.CreateBucketInput{Bucket: aws.String("src")}, &awss3.CreateBucketInput{Bucket: aws.String("logs")})
	if _, err := c.PutBucketLogging(ctx, &awss3.PutBucketLoggingInput{Bucket: aws.String("src"),
		BucketLoggingStatus: &types.BucketLoggingStatus{LoggingEnabled: &types.LoggingEnabled{TargetBucket: aws.String("logs"), TargetPrefix: aws.String("l/")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("src"), Key: aws.String("before-restart"), Body: strings.NewReader("x")}); err != nil {
		t.Fatal(err)
	}
	waitPending(t, e, "before-restart")
	e.Stop()

	e = testenv.New(t, testenv.Options{Clock: clk.now, DataDir: dir})
	c = e.S3()
	clk.advance(6 * time.Minute)
	var recs []logRecord
	waitFor(t, "the log object after the restart", func() bool {
		recs = nil
		for _, b := range logObjects(t, c, "logs", "l/") {
			recs = append(recs, parseLog(t, b)...)
		}
		return len(recs) > 0
	})
	n := 0
	for _, r := range recs {
		if r.get("key") == "before-restart" {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("log records of the PutObject before the restart = %d; want 1 (records: %v)", n, recs)
	}
}

// S3_BUCKET_LOGGING_ENABLED and CLOUDTRAIL_S3_BUCKET_ACCESS_LOGGING turn COMPLIANT once the
// bucket (the trail's bucket) logs its access.
func TestLoggingRuleCompliant(t *testing.T) {
	e := testenv.New(t)
	ctx := context.Background()
	c := e.S3()
	cs := configservice.NewFromConfig(e.Config)
	mkBuckets(t, c, &awss3.CreateBucketInput{Bucket: aws.String("src")}, &awss3.CreateBucketInput{Bucket: aws.String("logs")})
	if _, err := e.CloudTrail().CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("main"), S3BucketName: aws.String("src")}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.PutConfigurationRecorder(ctx, &configservice.PutConfigurationRecorderInput{ConfigurationRecorder: &cfgtypes.ConfigurationRecorder{
		Name: aws.String("default"), RoleARN: aws.String("arn:aws:iam::" + e.Account + ":role/config")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.PutDeliveryChannel(ctx, &configservice.PutDeliveryChannelInput{DeliveryChannel: &cfgtypes.DeliveryChannel{
		Name: aws.String("default"), S3BucketName: aws.String("logs")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.StartConfigurationRecorder(ctx, &configservice.StartConfigurationRecorderInput{ConfigurationRecorderName: aws.String("default")}); err != nil {
		t.Fatal(err)
	}
	rules := map[string]string{"s3-logging": "S3_BUCKET_LOGGING_ENABLED", "trail-bucket-logging": "CLOUDTRAIL_S3_BUCKET_ACCESS_LOGGING"}
	for name, id := range rules {
		if _, err := cs.PutConfigRule(ctx, &configservice.PutConfigRuleInput{ConfigRule: &cfgtypes.ConfigRule{ConfigRuleName: aws.String(name),
			Source: &cfgtypes.Source{Owner: cfgtypes.OwnerAws, SourceIdentifier: aws.String(id)}}}); err != nil {
			t.Fatal(err)
		}
	}
	compliance := func(rule, resource string) cfgtypes.ComplianceType {
		out, err := cs.GetComplianceDetailsByConfigRule(ctx, &configservice.GetComplianceDetailsByConfigRuleInput{ConfigRuleName: aws.String(rule)})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range out.EvaluationResults {
			if aws.ToString(r.EvaluationResultIdentifier.EvaluationResultQualifier.ResourceId) == resource {
				return r.ComplianceType
			}
		}
		return ""
	}
	waitFor(t, "src NON_COMPLIANT", func() bool { return compliance("s3-logging", "src") == cfgtypes.ComplianceTypeNonCompliant })
	waitFor(t, "trail NON_COMPLIANT", func() bool {
		return compliance("trail-bucket-logging", "main") == cfgtypes.ComplianceTypeNonCompliant
	})
	if _, err := c.PutBucketLogging(ctx, &awss3.PutBucketLoggingInput{Bucket: aws.String("src"),
		BucketLoggingStatus: &types.BucketLoggingStatus{LoggingEnabled: &types.LoggingEnabled{TargetBucket: aws.String("logs"), TargetPrefix: aws.String("src/")}}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "src COMPLIANT after PutBucketLogging", func() bool { return compliance("s3-logging", "src") == cfgtypes.ComplianceTypeCompliant })
	// The trail rule is periodic: evaluate it now.
	if _, err := cs.StartConfigRulesEvaluation(ctx, &configservice.StartConfigRulesEvaluationInput{ConfigRuleNames: []string{"trail-bucket-logging"}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "trail COMPLIANT after PutBucketLogging on its bucket", func() bool {
		return compliance("trail-bucket-logging", "main") == cfgtypes.ComplianceTypeCompliant
	})
}
