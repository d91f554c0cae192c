package compliance

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/bannin/bannin/internal/recorder"
	"github.com/bannin/bannin/internal/store"
	"github.com/bannin/bannin/internal/wire/config"
)

// BenchmarkEvaluate measures change-triggered evaluation: 100 rules on S3 buckets (managed
// rules with varied parameters and Guard rules), configuration items of 10,000 buckets
// handed to the consumer in batches of 500. It reports evaluations per second (goal:
// at least 20,000).
func BenchmarkEvaluate(b *testing.B) {
	h := newHarness(b)
	putBenchRules(b, h)
	const buckets, batch = 10000, 500
	entries := make([]store.Entry, buckets)
	for i := range entries {
		entries[i] = benchBucketEntry(int64(i+1), fmt.Sprintf("bucket-%05d", i), []string{"Enabled", "Off"}[i%2], time.Now())
	}
	ctx := context.Background()
	b.ResetTimer()
	start := time.Now()
	n := 0
	for n < b.N {
		for off := 0; off < buckets && n < b.N; off += batch {
			end := min(off+batch, buckets, off+(b.N-n))
			if err := h.st.Update(ctx, func(tx store.Tx) error { return h.s.HandleEntries(ctx, tx, entries[off:end]) }); err != nil {
				b.Fatal(err)
			}
			n += end - off
		}
	}
	b.ReportMetric(float64(n*100)/time.Since(start).Seconds(), "evals/s")
}

// putBenchRules puts the 100 rules of BenchmarkEvaluate and BenchmarkReevaluate on S3
// buckets: nine managed rules in turn, with every ninth of ten a REQUIRED_TAGS rule with
// its own parameters and every tenth a Guard rule.
func putBenchRules(b *testing.B, h *harness) {
	b.Helper()
	ids := []string{"S3_BUCKET_VERSIONING_ENABLED", "S3_BUCKET_SERVER_SIDE_ENCRYPTION_ENABLED", "S3_BUCKET_LOGGING_ENABLED",
		"S3_BUCKET_LEVEL_PUBLIC_ACCESS_PROHIBITED", "S3_BUCKET_PUBLIC_READ_PROHIBITED", "S3_BUCKET_PUBLIC_WRITE_PROHIBITED",
		"S3_BUCKET_SSL_REQUESTS_ONLY", "S3_BUCKET_ACL_PROHIBITED", "S3_DEFAULT_ENCRYPTION_KMS"}
	policy := `rule v when resourceType == "AWS::S3::Bucket" { supplementaryConfiguration.BucketVersioningConfiguration.status == "Enabled" }`
	for i := 0; i < 100; i++ {
		var r config.ConfigRule
		switch {
		case i%10 == 9:
			r = config.ConfigRule{ConfigRuleName: ptr(fmt.Sprintf("guard-%d", i)), Source: &config.Source{Owner: ptr(OwnerCustomPolicy),
				SourceDetails:       []config.SourceDetail{{MessageType: ptr(ChangeNotification)}},
				CustomPolicyDetails: &config.CustomPolicyDetails{PolicyRuntime: ptr(GuardRuntime), PolicyText: &policy}},
				Scope: &config.Scope{ComplianceResourceTypes: []string{"AWS::S3::Bucket"}}}
		case i%10 == 8:
			r = managedRule(fmt.Sprintf("tags-%d", i), "REQUIRED_TAGS")
			r.InputParameters = ptr(fmt.Sprintf(`{"tag1Key":"team","tag2Key":"k%d"}`, i))
			r.Scope = &config.Scope{ComplianceResourceTypes: []string{"AWS::S3::Bucket"}}
		default:
			r = managedRule(fmt.Sprintf("rule-%d", i), ids[i%len(ids)])
		}
		if err := h.putRule(r); err != nil {
			b.Fatal(err)
		}
	}
}

// benchBucketEntry is the recorder's stream entry at seq for a configuration item of
// bucket name with the versioning status given, tagged and with an owner-only ACL.
func benchBucketEntry(seq int64, name, versioning string, captured time.Time) store.Entry {
	it := bucket(name, versioning)
	it.AccountID, it.Region, it.CaptureTime, it.Status = acct, reg, captured, "OK"
	it.Tags = map[string]string{"team": "core"}
	it.Supplementary["AccessControlList"] = json.RawMessage(`"{\"grantList\":[{\"grantee\":{\"id\":\"o\"},\"permission\":\"FullControl\"}],\"owner\":{\"id\":\"o\"}}"`)
	raw, _ := json.Marshal(it)
	return store.Entry{Seq: seq, Kind: recorder.KindItem, Payload: raw}
}

// BenchmarkFirstEvaluation measures the first evaluation of new rules: 20 change-triggered
// managed rules put one after another over 10,000 current buckets, each evaluated in full
// through the consumer's Handle (bounded transactions). It reports evaluations per second.
func BenchmarkFirstEvaluation(b *testing.B) {
	ids := []string{"S3_BUCKET_VERSIONING_ENABLED", "S3_BUCKET_SERVER_SIDE_ENCRYPTION_ENABLED", "S3_BUCKET_LOGGING_ENABLED",
		"S3_BUCKET_PUBLIC_READ_PROHIBITED", "S3_BUCKET_SSL_REQUESTS_ONLY"}
	const buckets, rules = 10000, 20
	total := time.Duration(0)
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		h := newHarness(b)
		for j := 0; j < buckets; j++ {
			it := bucket(fmt.Sprintf("bucket-%05d", j), []string{"Enabled", "Off"}[j%2])
			it.AccountID, it.Region, it.CaptureTime, it.Status = acct, reg, time.Now(), "OK"
			h.items[key(it.ResourceType, it.ResourceID)] = it
		}
		var seq int64
		b.StartTimer()
		start := time.Now()
		for r := 0; r < rules; r++ {
			if err := h.putRule(managedRule(fmt.Sprintf("rule-%d", r), ids[r%len(ids)])); err != nil {
				b.Fatal(err)
			}
			h.handleAll(&seq)
		}
		total += time.Since(start)
		b.StopTimer()
		h.notes = nil
	}
	b.ReportMetric(float64(b.N*buckets*rules)/total.Seconds(), "evals/s")
}
