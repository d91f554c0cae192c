package filterpattern

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// benchRecords reads the CloudTrail records of testdata (about 0.7 to 1.6 KB each).
func benchRecords(b *testing.B) []string {
	files, err := filepath.Glob("testdata/ct-*.json")
	if err != nil || len(files) == 0 {
		b.Fatalf("no records: %v", err)
	}
	var out []string
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		out = append(out, strings.TrimSpace(string(data)))
	}
	return out
}

func benchMatch(b *testing.B, pattern string, records []string) {
	p, err := Parse(pattern)
	if err != nil {
		b.Fatal(err)
	}
	bytes := 0
	for _, r := range records {
		bytes += len(r)
	}
	b.SetBytes(int64(bytes / len(records)))
	b.ReportAllocs()
	b.ResetTimer()
	matched := 0
	for i := 0; i < b.N; i++ {
		if p.Match(records[i%len(records)]) {
			matched++
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	if matched == b.N+1 {
		b.Log(matched)
	}
}

// BenchmarkJSONConsoleLoginNoMFA runs the CIS "console sign-in without MFA" pattern over
// CloudTrail records, the main one 1.5 KB.
func BenchmarkJSONConsoleLoginNoMFA(b *testing.B) {
	all := benchRecords(b)
	benchMatch(b, `{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes") && ($.userIdentity.type = "IAMUser") && ($.responseElements.ConsoleLogin = "Success") }`, all)
}

// BenchmarkJSONRootUsage1500B runs the CIS root-usage pattern over one 1.5 KB record.
func BenchmarkJSONRootUsage1500B(b *testing.B) {
	data, err := os.ReadFile("testdata/ct-create-tags.json")
	if err != nil {
		b.Fatal(err)
	}
	benchMatch(b, `{$.userIdentity.type="Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType !="AwsServiceEvent"}`, []string{strings.TrimSpace(string(data))})
}

// BenchmarkTerms runs a plain term pattern over the same records.
func BenchmarkTerms(b *testing.B) {
	benchMatch(b, `ERROR -DEBUG ?AccessDenied ?UnauthorizedOperation`, benchRecords(b))
}
