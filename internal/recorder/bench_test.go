package recorder

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/bannin/bannin/internal/store"
)

var benchTypes = []string{"AWS::EC2::Instance", "AWS::EC2::Volume", "AWS::EC2::SecurityGroup",
	"AWS::S3::Bucket", "AWS::IAM::Role", "AWS::Lambda::Function", "AWS::RDS::DBInstance",
	"AWS::EC2::NetworkInterface", "AWS::EC2::Subnet", "AWS::EC2::VPC"}

// fillItems stores n current configuration items (ten types, tags, a nested
// configuration) the way the recorder does, indexes included.
func fillItems(b *testing.B, st store.Store, n int) {
	b.Helper()
	ctx := context.Background()
	const batch = 5000
	for start := 0; start < n; start += batch {
		err := st.Update(ctx, func(tx store.Tx) error {
			for i := start; i < min(start+batch, n); i++ {
				cfg, _ := json.Marshal(map[string]any{"instanceType": []string{"t3.micro", "m5.large"}[i%2], "size": i % 500,
					"state": map[string]any{"name": "running"}})
				it := &Item{Version: itemVersion, CaptureTime: time.Date(2026, 1, 10, 10, 0, 0, 0, time.UTC), StateID: fmt.Sprint(i),
					Status: "OK", AccountID: fixtureAccount, Region: fixtureRegion, AvailabilityZone: "Regional",
					ResourceType: benchTypes[i%len(benchTypes)], ResourceID: fmt.Sprintf("res-%07d", i), ResourceName: fmt.Sprintf("name-%d", i),
					Tags:          map[string]string{"env": []string{"prod", "dev", "test"}[i%3], "team": fmt.Sprint("t", i%17)},
					RelatedEvents: []string{}, Relationships: []Relationship{}, Configuration: cfg, Supplementary: map[string]json.RawMessage{}}
				if err := saveItem(ctx, tx, nil, it, 1); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSelect runs advanced queries over 100,000 current items in SQLite and reports
// the 99th percentile latency of one page (p99-ms) besides the mean.
func BenchmarkSelect(b *testing.B) {
	st := openStore(b)
	fillItems(b, st, 100_000)
	ctx := context.Background()
	for _, c := range []struct{ name, query string }{
		{"resourceType", "SELECT resourceId, configuration.instanceType WHERE resourceType = 'AWS::RDS::DBInstance'"},
		{"resourceId", "SELECT resourceId, tags WHERE resourceId = 'res-0054321'"},
		{"tag", "SELECT resourceId WHERE tags.tag = 'team=t5' AND resourceType = 'AWS::EC2::Volume'"},
		{"resourceName", "SELECT resourceId WHERE resourceName IN ('name-1', 'name-99999')"},
		{"resourceType+config", "SELECT resourceId WHERE resourceType = 'AWS::RDS::DBInstance' AND configuration.size > 400"},
	} {
		b.Run(c.name, func(b *testing.B) {
			var ds []time.Duration
			for b.Loop() {
				t0 := time.Now()
				err := st.View(ctx, func(tx store.ReadTx) error {
					out, err := runSelect(ctx, tx, fixtureAccount, fixtureRegion, c.query, 100, "", true)
					if err == nil && len(out.Results) == 0 {
						err = fmt.Errorf("no rows")
					}
					return err
				})
				if err != nil {
					b.Fatalf("%s: %v", c.query, err)
				}
				ds = append(ds, time.Since(t0))
			}
			slices.Sort(ds)
			b.ReportMetric(float64(ds[len(ds)*99/100])/1e6, "p99-ms")
		})
	}
}
