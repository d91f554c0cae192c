package query

import (
	"fmt"
	"slices"
	"testing"
)

var resourceTypes = []string{"AWS::EC2::Instance", "AWS::EC2::Volume", "AWS::EC2::SecurityGroup",
	"AWS::S3::Bucket", "AWS::IAM::Role", "AWS::Lambda::Function", "AWS::RDS::DBInstance",
	"AWS::EC2::NetworkInterface", "AWS::EC2::Subnet", "AWS::EC2::VPC"}

// syntheticItems makes n configuration items shaped like real ones: ten resource types,
// three regions, two accounts, tags and a nested configuration.
func syntheticItems(n int) []map[string]any {
	regions := []string{"us-east-1", "us-west-2", "eu-west-1"}
	items := make([]map[string]any, n)
	for i := range items {
		rt := resourceTypes[i%len(resourceTypes)]
		items[i] = map[string]any{
			"version":                      "1.3",
			"accountId":                    fmt.Sprintf("%012d", 111111111111*(1+i%2)),
			"configurationItemCaptureTime": "2026-01-10T10:00:00.000Z",
			"configurationItemStatus":      "OK",
			"configurationStateId":         fmt.Sprint(i),
			"arn":                          fmt.Sprintf("arn:aws:x:%s:1:r/%d", regions[i%3], i),
			"resourceType":                 rt,
			"resourceId":                   fmt.Sprintf("res-%07d", i),
			"resourceName":                 fmt.Sprintf("name-%d", i),
			"awsRegion":                    regions[i%3],
			"availabilityZone":             regions[i%3] + "a",
			"resourceCreationTime":         "2025-06-01T00:00:00.000Z",
			"tags":                         map[string]any{"env": []string{"prod", "dev", "test"}[i%3], "team": fmt.Sprint("t", i%17)},
			"relationships":                []any{map[string]any{"resourceType": "AWS::EC2::VPC", "resourceId": fmt.Sprint("vpc-", i%50)}},
			"configuration": map[string]any{
				"instanceType": []string{"t3.micro", "m5.large"}[i%2],
				"size":         float64(i % 500),
				"state":        map[string]any{"name": "running", "value": "available"},
				"placement":    map[string]any{"tenancy": "default"},
			},
			"supplementaryConfiguration": map[string]any{},
		}
	}
	return items
}

// BenchmarkEqualityFilter runs an equality filter over 100,000 items with no index: the
// full scan a store without one would do, for one page of results.
func BenchmarkEqualityFilter(b *testing.B) {
	items := syntheticItems(100_000)
	q := mustParse(b, "SELECT resourceId, configuration.instanceType WHERE resourceType = 'AWS::RDS::DBInstance' AND awsRegion = 'us-west-2' AND configuration.size > 400")
	b.ResetTimer()
	for b.Loop() {
		rows, _, err := q.Run(slices.Values(items), 100, "")
		if err != nil || len(rows) == 0 {
			b.Fatalf("Run = %d rows, %v", len(rows), err)
		}
	}
}

// BenchmarkEqualityFilterCount is the same filter counted over all 100,000 items, so
// every item is evaluated (no early stop at the end of the page).
func BenchmarkEqualityFilterCount(b *testing.B) {
	items := syntheticItems(100_000)
	q := mustParse(b, "SELECT COUNT(*) WHERE resourceType = 'AWS::RDS::DBInstance' AND awsRegion = 'us-west-2'")
	b.ResetTimer()
	for b.Loop() {
		rows, _, err := q.Run(slices.Values(items), 100, "")
		if err != nil || len(rows) != 1 || rows[0] != `{"COUNT(*)":3333}` {
			b.Fatalf("Run = %q, %v", rows, err)
		}
	}
}

// BenchmarkEqualityFilterPlanned narrows the items with Plan().ResourceTypes through a
// map index first, as a store with a resourceType index would.
func BenchmarkEqualityFilterPlanned(b *testing.B) {
	items := syntheticItems(100_000)
	byType := map[string][]map[string]any{}
	for _, it := range items {
		rt := it["resourceType"].(string)
		byType[rt] = append(byType[rt], it)
	}
	q := mustParse(b, "SELECT COUNT(*) WHERE resourceType = 'AWS::RDS::DBInstance' AND awsRegion = 'us-west-2'")
	b.ResetTimer()
	for b.Loop() {
		plan := q.Plan()
		seq := func(yield func(map[string]any) bool) {
			for _, rt := range plan.ResourceTypes {
				for _, it := range byType[rt] {
					if !yield(it) {
						return
					}
				}
			}
		}
		rows, _, err := q.Run(seq, 100, "")
		if err != nil || len(rows) != 1 || rows[0] != `{"COUNT(*)":3333}` {
			b.Fatalf("Run = %q, %v", rows, err)
		}
	}
}
