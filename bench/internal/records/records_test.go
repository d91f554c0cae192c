package records

import (
	"testing"
	"time"

	"github.com/bannin/bannin/internal/audit"
)

// TestHeadMatchesImport checks that what the generator says a record's lookup attributes
// are is what bannin's importer reads from it, so the benchmarks query values that exist.
func TestHeadMatchesImport(t *testing.T) {
	g := New(Options{Accounts: []string{"111122223333", "444455556666"}, Regions: []string{"us-east-1", "eu-west-1"}, Weights: []int{3, 1}, Seed: 1})
	at := time.Date(2026, 3, 21, 10, 0, 0, 0, time.UTC)
	total := 0
	for i := range 5000 {
		b, h := g.Next(at.Add(time.Duration(i) * time.Second))
		total += len(b)
		e, err := audit.ParseRecord(b)
		if err != nil {
			t.Fatalf("ParseRecord(record %d) = %v", i, err)
		}
		if e.EventID != h.EventID || e.EventName != h.EventName || e.EventSource != h.EventSource || e.Username != h.Username ||
			e.AccessKeyID != h.AccessKeyID || e.ReadOnly != h.ReadOnly || e.Account != h.Account || e.Region != h.Region || !e.Time.Equal(h.Time) {
			t.Fatalf("record %d: imported %+v; generator said %+v", i, e, h)
		}
		if h.ResourceName != "" && (len(e.Resources) == 0 || e.Resources[0].Name != h.ResourceName) {
			t.Fatalf("record %d: imported resources %+v; generator said %q", i, e.Resources, h.ResourceName)
		}
	}
	if mean := total / 5000; mean < 900 || mean > 2500 {
		t.Errorf("mean record size = %d bytes; want about 1.5 KB", mean)
	}
	t.Logf("mean record size %d bytes", total/5000)
}
