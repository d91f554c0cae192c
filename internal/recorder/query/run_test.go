package query

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"
)

func mustParse(t testing.TB, sql string) *Query {
	t.Helper()
	q, err := Parse(sql)
	if err != nil {
		t.Fatalf("Parse(%q) = %v", sql, err)
	}
	return q
}

func TestPagination(t *testing.T) {
	items := loadItems(t)
	q := mustParse(t, "SELECT resourceId WHERE resourceType = 'AWS::EC2::Instance'")
	rows, next, err := q.Run(slices.Values(items), 2, "")
	if err != nil || len(rows) != 2 || next == "" {
		t.Fatalf("Run(limit 2) = %d rows, next %q, %v; want 2 rows and a token", len(rows), next, err)
	}
	rows2, next2, err := q.Run(slices.Values(items), 2, next)
	if err != nil || len(rows2) != 1 || next2 != "" {
		t.Fatalf("Run(limit 2, page 2) = %q, next %q, %v; want 1 row and no token", rows2, next2, err)
	}
	if rows2[0] != `{"resourceId":"i-0003"}` {
		t.Errorf("page 2 = %q; want i-0003", rows2[0])
	}
	// An exact fit leaves no token behind.
	if _, next, _ := q.Run(slices.Values(items), 3, ""); next != "" {
		t.Errorf("Run(limit 3) next = %q; want none (3 rows in all)", next)
	}

	other := mustParse(t, "SELECT resourceId WHERE resourceType = 'AWS::EC2::Volume'")
	if _, _, err := other.Run(slices.Values(items), 2, next); !errors.Is(err, ErrInvalidNextToken) {
		t.Errorf("Run(token of another query) = %v; want ErrInvalidNextToken", err)
	}
	for _, tok := range []string{"garbage!", "djE6eHg6MQ", "dj"} {
		if _, _, err := q.Run(slices.Values(items), 2, tok); !errors.Is(err, ErrInvalidNextToken) {
			t.Errorf("Run(token %q) = %v; want ErrInvalidNextToken", tok, err)
		}
	}
	for _, limit := range []int{-1, 101} {
		if _, _, err := q.Run(slices.Values(items), limit, ""); !errors.Is(err, ErrInvalidLimit) {
			t.Errorf("Run(limit %d) = %v; want ErrInvalidLimit", limit, err)
		}
	}
}

func TestDefaultLimit(t *testing.T) {
	var items []map[string]any
	for i := range 250 {
		items = append(items, map[string]any{"resourceType": "AWS::EC2::Volume", "resourceId": fmt.Sprintf("vol-%03d", i)})
	}
	q := mustParse(t, "SELECT resourceId ORDER BY resourceId DESC")
	rows, next, err := q.Run(slices.Values(items), 0, "")
	if err != nil || len(rows) != DefaultLimit || next == "" {
		t.Fatalf("Run(limit 0) = %d rows, next %q, %v; want %d rows and a token", len(rows), next, err, DefaultLimit)
	}
	if rows[0] != `{"resourceId":"vol-249"}` {
		t.Errorf("first row = %s; want vol-249", rows[0])
	}
	var all []string
	for tok := ""; ; {
		rows, next, err := q.Run(slices.Values(items), 100, tok)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, rows...)
		if next == "" {
			break
		}
		tok = next
	}
	if len(all) != 250 || all[249] != `{"resourceId":"vol-000"}` {
		t.Errorf("all pages = %d rows ending %s; want 250 ending vol-000", len(all), all[len(all)-1])
	}
}

// AWS does not paginate aggregate queries ordered by an aggregate: one page, no token.
func TestAggregateOrderedByAggregateIsNotPaginated(t *testing.T) {
	items := loadItems(t)
	q := mustParse(t, "SELECT resourceType, COUNT(*) GROUP BY resourceType ORDER BY COUNT(*) DESC")
	rows, next, err := q.Run(slices.Values(items), 2, "")
	if err != nil || len(rows) != 2 || next != "" {
		t.Errorf("Run(limit 2) = %d rows, next %q, %v; want 2 rows and no token", len(rows), next, err)
	}
	g := mustParse(t, "SELECT resourceType, COUNT(*) GROUP BY resourceType")
	if _, next, _ := g.Run(slices.Values(items), 2, ""); next == "" {
		t.Errorf("Run(GROUP BY, limit 2) gave no token; want one (10 groups)")
	}
}

// Rows keep the selected properties in the order they were selected.
func TestRowKeyOrder(t *testing.T) {
	items := loadItems(t)
	q := mustParse(t, "SELECT resourceType, configuration.instanceType, resourceId, configuration.imageId WHERE resourceId = 'i-0002'")
	rows, _, err := q.Run(slices.Values(items), 0, "")
	if err != nil {
		t.Fatal(err)
	}
	want := `{"resourceType":"AWS::EC2::Instance","configuration":{"instanceType":"t1.micro","imageId":"ami-12345"},"resourceId":"i-0002"}`
	if len(rows) != 1 || rows[0] != want {
		t.Errorf("rows = %q; want [%s]", rows, want)
	}
}

func TestRunLeavesItemsUnchanged(t *testing.T) {
	items := loadItems(t)
	before, _ := json.Marshal(items)
	q := mustParse(t, "SELECT tags, configuration, supplementaryConfiguration WHERE tags.key = 'env' OR configuration.placement.tenancy = 'dedicated' OR supplementaryConfiguration.BucketVersioningConfiguration.status = 'Off'")
	if _, _, err := q.Run(slices.Values(items), 0, ""); err != nil {
		t.Fatal(err)
	}
	if after, _ := json.Marshal(items); string(after) != string(before) {
		t.Errorf("Run modified its items")
	}
}

func TestPlanResourceTypes(t *testing.T) {
	for _, tc := range []struct {
		sql  string
		want []string
	}{
		{"SELECT resourceId", nil},
		{"SELECT resourceId WHERE resourceType = 'A' OR resourceType = 'B'", nil},
		{"SELECT resourceId WHERE resourceType IN ('A', 'B') AND resourceType IN ('B', 'C')", []string{"B"}},
		{"SELECT resourceId WHERE resourceType = 'A' AND resourceType = 'B'", []string{}},
		{"SELECT resourceId WHERE resourcetype = 'A' AND NOT resourcetype = 'B'", []string{"A"}},
	} {
		got := mustParse(t, tc.sql).Plan().ResourceTypes
		if (got == nil) != (tc.want == nil) || !slices.Equal(got, tc.want) {
			t.Errorf("Plan(%q).ResourceTypes = %#v; want %#v", tc.sql, got, tc.want)
		}
	}
}

func TestExpressionTooLong(t *testing.T) {
	sql := "SELECT resourceId WHERE resourceId IN ('x'"
	for len(sql) <= MaxExpressionLength {
		sql += ", 'x'"
	}
	sql += ")"
	var qe *Error
	if _, err := Parse(sql); !errors.As(err, &qe) {
		t.Errorf("Parse(%d characters) = %v; want *Error", len(sql), err)
	}
}
