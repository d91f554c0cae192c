package recorder_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/configservice"
	"github.com/aws/aws-sdk-go-v2/service/configservice/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/bannin/bannin/internal/testenv"
)

// skewSigner signs requests as of the test server's skewed clock, or SigV4 would refuse
// them once the skew passes 15 minutes.
type skewSigner struct {
	signer *v4.Signer
	skew   *atomic.Int64
}

func (s skewSigner) SignHTTP(ctx context.Context, creds aws.Credentials, r *http.Request, payloadHash, service, region string, t time.Time, optFns ...func(*v4.SignerOptions)) error {
	return s.signer.SignHTTP(ctx, creds, r, payloadHash, service, region, t.Add(time.Duration(s.skew.Load())), optFns...)
}

// historyItem is what the test reads of a history file's items.
type historyItem struct {
	ResourceType  string          `json:"resourceType"`
	ResourceID    string          `json:"resourceId"`
	Status        string          `json:"configurationItemStatus"`
	Configuration json.RawMessage `json:"configuration"`
}

// TestHistoryFiles moves the server's clock six hours at a time and reads the
// configuration history files AWS Config delivers to the channel's bucket: one per
// resource type that changed, with the items since the previous file.
func TestHistoryFiles(t *testing.T) {
	var skew atomic.Int64
	e := testenv.New(t, testenv.Options{Clock: func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }})
	ctx := context.Background()
	signer := skewSigner{v4.NewSigner(), &skew}
	cs := configservice.NewFromConfig(e.Config, func(o *configservice.Options) { o.HTTPSignerV4 = signer })
	s3c := s3.NewFromConfig(e.Config, func(o *s3.Options) { o.HTTPSignerV4 = signer; o.UsePathStyle = true })
	ct := cloudtrail.NewFromConfig(e.Config, func(o *cloudtrail.Options) { o.HTTPSignerV4 = signer })
	eb := eventbridge.NewFromConfig(e.Config, func(o *eventbridge.Options) { o.HTTPSignerV4 = signer })
	cwl := cloudwatchlogs.NewFromConfig(e.Config, func(o *cloudwatchlogs.Options) { o.HTTPSignerV4 = signer })

	group := "/aws/events/config-history"
	if _, err := cwl.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(group)}); err != nil {
		t.Fatal(err)
	}
	pattern := `{"source":["aws.config"],"detail-type":["Config Configuration History Delivery Status"]}`
	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("history"), EventPattern: aws.String(pattern)}); err != nil {
		t.Fatal(err)
	}
	if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("history"), Targets: []ebtypes.Target{{
		Id: aws.String("logs"), Arn: aws.String("arn:aws:logs:us-east-1:" + e.Account + ":log-group:" + group)}}}); err != nil {
		t.Fatal(err)
	}
	setUp(t, e, cs, &types.RecordingGroup{ResourceTypes: []types.ResourceType{types.ResourceTypeBucket, types.ResourceTypeTrail}})
	mkBucket(t, e, "audit-logs")
	if _, err := ct.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("main"), S3BucketName: aws.String("audit-logs")}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "trail recorded", func() bool { return len(history(t, cs, types.ResourceTypeTrail, "main")) == 1 })
	eventually(t, "buckets recorded", func() bool { return len(history(t, cs, types.ResourceTypeBucket, "audit-logs")) == 1 })

	prefix := "cfg/AWSLogs/" + e.Account + "/Config/us-east-1/"
	historyKeys := func() []string {
		t.Helper()
		var keys []string
		p := s3.NewListObjectsV2Paginator(s3c, &s3.ListObjectsV2Input{Bucket: aws.String("config-bucket"), Prefix: aws.String(prefix)})
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				t.Fatalf("ListObjectsV2: %v", err)
			}
			for _, o := range out.Contents {
				if strings.Contains(aws.ToString(o.Key), "/ConfigHistory/") {
					keys = append(keys, aws.ToString(o.Key))
				}
			}
		}
		slices.Sort(keys)
		return keys
	}
	read := func(key string) []historyItem {
		t.Helper()
		obj, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("config-bucket"), Key: aws.String(key)})
		if err != nil {
			t.Fatalf("GetObject %s: %v", key, err)
		}
		body, _ := io.ReadAll(obj.Body)
		obj.Body.Close()
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatalf("history file %s is not gzip: %v", key, err)
		}
		var file struct {
			FileVersion        string        `json:"fileVersion"`
			ConfigurationItems []historyItem `json:"configurationItems"`
		}
		if err := json.NewDecoder(zr).Decode(&file); err != nil {
			t.Fatalf("history file %s: %v", key, err)
		}
		if file.FileVersion != "1.0" {
			t.Errorf("history file %s fileVersion = %q; want 1.0", key, file.FileVersion)
		}
		return file.ConfigurationItems
	}
	ofType := func(keys []string, typ string) []string {
		var out []string
		for _, k := range keys {
			if strings.Contains(k, "_ConfigHistory_"+typ+"_") {
				out = append(out, k)
			}
		}
		return out
	}

	if keys := historyKeys(); len(keys) != 0 {
		t.Fatalf("history files before six hours = %v; want none", keys)
	}
	skew.Add(int64(6*time.Hour + time.Minute))
	var keys []string
	eventually(t, "first history files", func() bool { keys = historyKeys(); return len(keys) == 2 })
	day := time.Now().Add(time.Duration(skew.Load())).UTC()
	wantDir := prefix + day.Format("2006/1/2") + "/ConfigHistory/" + e.Account + "_Config_us-east-1_ConfigHistory_"
	for _, k := range keys {
		if !strings.HasPrefix(k, wantDir) || !strings.HasSuffix(k, "_1.json.gz") {
			t.Errorf("history file key %s; want %s<type>_<start>_<end>_1.json.gz", k, wantDir)
		}
	}
	buckets, trails := ofType(keys, "AWS::S3::Bucket"), ofType(keys, "AWS::CloudTrail::Trail")
	if len(buckets) != 1 || len(trails) != 1 {
		t.Fatalf("history files = %v; want one for buckets and one for trails", keys)
	}
	var ids []string
	for _, it := range read(buckets[0]) {
		if it.ResourceType != "AWS::S3::Bucket" {
			t.Errorf("bucket history file holds a %s", it.ResourceType)
		}
		ids = append(ids, it.ResourceID)
	}
	slices.Sort(ids)
	if want := []string{"audit-logs", "config-bucket"}; !slices.Equal(ids, want) {
		t.Errorf("bucket history file items = %v; want %v", ids, want)
	}
	if items := read(trails[0]); len(items) != 1 || items[0].ResourceID != "main" || items[0].Status != "ResourceDiscovered" {
		t.Errorf("trail history file items = %+v; want main ResourceDiscovered", items)
	}
	// The files are put first, the delivery's status is recorded after them.
	var h *types.ConfigExportDeliveryInfo
	eventually(t, "history delivery status", func() bool {
		st, err := cs.DescribeDeliveryChannelStatus(ctx, &configservice.DescribeDeliveryChannelStatusInput{})
		if err != nil {
			t.Fatal(err)
		}
		h = st.DeliveryChannelsStatus[0].ConfigHistoryDeliveryInfo
		return h != nil && h.LastStatus != ""
	})
	if h.LastStatus != types.DeliveryStatusSuccess || h.LastSuccessfulTime == nil {
		t.Errorf("configHistoryDeliveryInfo = %+v; want Success with a time", h)
	}
	var notified []string
	eventually(t, "history delivery events", func() bool {
		out, err := cwl.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String(group)})
		if err != nil {
			t.Fatal(err)
		}
		notified = notified[:0]
		for _, ev := range out.Events {
			var m struct {
				Detail struct {
					MessageType string `json:"messageType"`
					S3ObjectKey string `json:"s3ObjectKey"`
					S3Bucket    string `json:"s3Bucket"`
				} `json:"detail"`
			}
			if json.Unmarshal([]byte(aws.ToString(ev.Message)), &m) == nil && m.Detail.MessageType == "ConfigurationHistoryDeliveryCompleted" &&
				m.Detail.S3Bucket == "config-bucket" {
				notified = append(notified, m.Detail.S3ObjectKey)
			}
		}
		slices.Sort(notified)
		return len(notified) == 2
	})
	if !slices.Equal(notified, keys) {
		t.Errorf("ConfigurationHistoryDeliveryCompleted keys = %v; want %v", notified, keys)
	}

	// Six hours later only the trail changed: one more file, with just its new item.
	if _, err := ct.StartLogging(ctx, &cloudtrail.StartLoggingInput{Name: aws.String("main")}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "StartLogging recorded", func() bool { return len(history(t, cs, types.ResourceTypeTrail, "main")) == 2 })
	skew.Add(int64(6*time.Hour + time.Minute))
	var more []string
	eventually(t, "second history file", func() bool { more = historyKeys(); return len(more) == 3 })
	if got := ofType(more, "AWS::S3::Bucket"); len(got) != 1 {
		t.Errorf("bucket history files after an unchanged period = %v; want still one", got)
	}
	trails = ofType(more, "AWS::CloudTrail::Trail")
	if len(trails) != 2 {
		t.Fatalf("trail history files = %v; want two", trails)
	}
	newest := trails[0]
	if slices.Contains(keys, newest) {
		newest = trails[1]
	}
	items := read(newest)
	var cfg struct{ IsLogging bool }
	if len(items) == 1 {
		_ = json.Unmarshal(items[0].Configuration, &cfg)
	}
	if len(items) != 1 || items[0].Status != "OK" || !cfg.IsLogging {
		t.Errorf("second trail history file items = %+v; want the one OK item with IsLogging", items)
	}
}
