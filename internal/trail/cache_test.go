package trail

import (
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/bannin/bannin/internal/store"
	"github.com/bannin/bannin/internal/wire/cloudtrail"
)

// trailARNPattern is the trail ARN syntax parseTrailARN implements by hand.
var trailARNPattern = regexp.MustCompile(`^arn:aws[a-z-]*:cloudtrail:([a-z0-9-]+):(\d{12}):trail/(.+)$`)

func TestParseTrailARNMatchesPattern(t *testing.T) {
	for _, s := range []string{
		"arn:aws:cloudtrail:us-east-1:123456789012:trail/main",
		"arn:aws-us-gov:cloudtrail:us-gov-west-1:123456789012:trail/a.b_c-d",
		"arn:aws-cn:cloudtrail:cn-north-1:123456789012:trail/x",
		"arn:aws:cloudtrail:us-east-1:123456789012:trail/with/slash:and:colons",
		"arn:aws:cloudtrail:us-east-1:123456789012:trail/",
		"arn:aws:cloudtrail:us-east-1:123456789012:trail/a\nb",
		"arn:aws:cloudtrail:us-east-1:123456789012:trail/\xff\xfe",
		"arn:aws:cloudtrail::123456789012:trail/main",
		"arn:aws:cloudtrail:US-EAST-1:123456789012:trail/main",
		"arn:aws:cloudtrail:us-east-1:12345678901:trail/main",
		"arn:aws:cloudtrail:us-east-1:1234567890123:trail/main",
		"arn:aws:cloudtrail:us-east-1:12345678901x:trail/main",
		"arn:aws:cloudtrail:us-east-1:123456789012:eventdatastore/main",
		"arn:aws:cloudtrail:us-east-1:123456789012:trail",
		"arn:aws:s3:us-east-1:123456789012:trail/main",
		"arn:aws1:cloudtrail:us-east-1:123456789012:trail/main",
		"arn:aws-:cloudtrail:us-east-1:123456789012:trail/main",
		"arn:awsx:cloudtrail:us-east-1:123456789012:trail/main",
		"arn:aws:cloudtrail:us-east-1:123456789012:trail/main\n",
		"xarn:aws:cloudtrail:us-east-1:123456789012:trail/main",
		"arn:aws:cloudtrail:us-east-1",
		"arn:aws",
		"main",
		"",
	} {
		region, account, name, ok := parseTrailARN(s)
		m := trailARNPattern.FindStringSubmatch(s)
		if ok != (m != nil) {
			t.Errorf("parseTrailARN(%q) ok = %v; the pattern matches: %v", s, ok, m != nil)
			continue
		}
		if ok && (region != m[1] || account != m[2] || name != m[3]) {
			t.Errorf("parseTrailARN(%q) = %q %q %q; the pattern gives %q %q %q", s, region, account, name, m[1], m[2], m[3])
		}
	}
}

func resource(t *testing.T, account, region string, tr *Trail, tags map[string]string) *store.Resource {
	t.Helper()
	b, err := json.Marshal(tr)
	if err != nil {
		t.Fatal(err)
	}
	return &store.Resource{Account: account, Region: region, Type: ResourceType, ID: tr.Name, Name: tr.Name, Config: b, Tags: tags}
}

func withoutStored(t *Trail) Trail {
	c := *t
	c.stored = nil
	return c
}

func mustDecode(t *testing.T, r *store.Resource) *Trail {
	t.Helper()
	tr, err := decode(r)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	return tr
}

// TestDecodeCache checks that a cached decode answers exactly what decoding the stored
// document answers: after the trail changes, in another account or region, and after the
// caller has changed the trail it was given.
func TestDecodeCache(t *testing.T) {
	decodedTrails = &decodedCache{}
	start := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	orig := &Trail{Name: "cached", TrailARN: ARN("us-east-1", "111111111111", "cached"), HomeRegion: "us-east-1",
		S3BucketName: "bucket-a", IsLogging: true, StartLoggingTime: &start,
		EventSelectors: []cloudtrail.EventSelector{{ReadWriteType: aws.String("All"), IncludeManagementEvents: aws.Bool(true),
			DataResources: []cloudtrail.DataResource{{Type: aws.String("AWS::S3::Object"), Values: []string{"arn:aws:s3"}}}}},
		InsightSelectors: []cloudtrail.InsightSelector{{InsightType: aws.String("ApiCallRateInsight")}}}
	r := resource(t, "111111111111", "us-east-1", orig, map[string]string{"team": "sec"})

	first := mustDecode(t, r)
	second := mustDecode(t, r) // from the cache
	if first == second {
		t.Fatal("decode returned the same *Trail twice; callers must get their own")
	}
	want := *orig
	want.tags = map[string]string{"team": "sec"}
	if string(second.stored) != string(r.Config) {
		t.Fatalf("cached decode keeps document %s; want the one read, %s", second.stored, r.Config)
	}
	if !reflect.DeepEqual(withoutStored(second), want) {
		t.Fatalf("cached decode = %+v; want %+v", *second, want)
	}

	// A caller changing what it was given does not change what the next caller gets.
	later := start.Add(time.Hour)
	*second.StartLoggingTime = later
	*second.EventSelectors[0].ReadWriteType = "ReadOnly"
	second.EventSelectors[0].DataResources[0].Values[0] = "changed"
	*second.InsightSelectors[0].InsightType = "changed"
	second.S3BucketName = "changed"
	second.tags["team"] = "changed"
	third := mustDecode(t, resource(t, "111111111111", "us-east-1", orig, map[string]string{"team": "sec"}))
	if !reflect.DeepEqual(withoutStored(third), want) {
		t.Fatalf("decode after a caller changed its copy = %+v; want %+v", *third, want)
	}

	// The stored trail changes: the next decode sees the change.
	changed := *orig
	changed.S3BucketName = "bucket-b"
	changed.IsLogging = false
	changed.EventSelectors = nil
	got := mustDecode(t, resource(t, "111111111111", "us-east-1", &changed, nil))
	if got.S3BucketName != "bucket-b" || got.IsLogging || got.EventSelectors != nil || got.tags != nil {
		t.Fatalf("decode after change = %+v; want bucket-b, not logging, no selectors, no tags", *got)
	}

	// Same name in another account and another region: each decodes its own document,
	// and neither evicts the other's answer.
	otherAcct := *orig
	otherAcct.S3BucketName = "bucket-other-account"
	otherRegion := *orig
	otherRegion.S3BucketName = "bucket-other-region"
	otherRegion.HomeRegion = "eu-west-1"
	for i := 0; i < 2; i++ {
		if got := mustDecode(t, resource(t, "222222222222", "us-east-1", &otherAcct, nil)); got.S3BucketName != "bucket-other-account" {
			t.Errorf("other account: bucket %q", got.S3BucketName)
		}
		if got := mustDecode(t, resource(t, "111111111111", "eu-west-1", &otherRegion, nil)); got.S3BucketName != "bucket-other-region" || got.HomeRegion != "eu-west-1" {
			t.Errorf("other region: bucket %q home %q", got.S3BucketName, got.HomeRegion)
		}
		if got := mustDecode(t, resource(t, "111111111111", "us-east-1", &changed, nil)); got.S3BucketName != "bucket-b" {
			t.Errorf("first account and region: bucket %q", got.S3BucketName)
		}
	}

	// A document that does not decode is still an error, cached neighbour or not.
	bad := resource(t, "111111111111", "us-east-1", orig, nil)
	bad.Config = []byte(`{"Name":`)
	if _, err := decode(bad); err == nil {
		t.Error("decode of a truncated document succeeded")
	}
}

// TestDecodeCacheBounded checks that the cache starts over instead of growing past its bound.
func TestDecodeCacheBounded(t *testing.T) {
	decodedTrails = &decodedCache{}
	for i := 0; i < maxDecodedTrails+10; i++ {
		tr := &Trail{Name: fmt.Sprintf("trail-%05d", i), HomeRegion: "us-east-1"}
		mustDecode(t, resource(t, "111111111111", "us-east-1", tr, nil))
	}
	if n := len(decodedTrails.m); n > maxDecodedTrails {
		t.Errorf("cache holds %d trails; bound is %d", n, maxDecodedTrails)
	}
}

// BenchmarkDecode compares decoding a stored trail with answering it from decodedTrails.
func BenchmarkDecode(b *testing.B) {
	tr := &Trail{Name: "bench", TrailARN: ARN("us-east-1", "111111111111", "bench"), HomeRegion: "us-east-1",
		S3BucketName: "bench-trail-logs", IncludeGlobalServiceEvents: true}
	cfg, _ := json.Marshal(tr)
	r := &store.Resource{Account: "111111111111", Region: "us-east-1", Type: ResourceType, ID: "bench", Config: cfg}
	b.Run("json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var t Trail
			if err := json.Unmarshal(r.Config, &t); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("cached", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := decode(r); err != nil {
				b.Fatal(err)
			}
		}
	})
}
