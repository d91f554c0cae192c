package query

import (
	"errors"
	"slices"
	"testing"
)

// FuzzParse checks that any expression either parses and runs or is refused with an
// *Error, never a panic or another kind of error.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"SELECT resourceId WHERE resourceType='AWS::EC2::Instance'",
		"SELECT configuration.complianceType, COUNT(*) WHERE resourceType = 'x' GROUP BY configuration.complianceType ORDER BY COUNT(*) DESC",
		"SELECT * WHERE NOT (a IN (1, 'b') OR c BETWEEN -1 AND 2.5) AND d LIKE 'abc%'",
		"SELECT tags WHERE tags.tag = 'a=b'",
		"SELECT (", "SELECT a WHERE (", "SELECT COUNT(", "SELECT a WHERE b NOT", "SELECT a ORDER BY", "'",
	} {
		f.Add(s)
	}
	items := []map[string]any{
		{"resourceType": "x", "resourceId": "1", "tags": map[string]any{"a": "b"}, "configuration": map[string]any{"complianceType": "C", "list": []any{1.0, "s", true, nil, map[string]any{"k": "v"}}}},
		{"resourceType": "y", "configuration": "{\"a\":[1,2]}", "configurationItemStatus": "OK"},
	}
	f.Fuzz(func(t *testing.T, sql string) {
		q, err := Parse(sql)
		if err != nil {
			var qe *Error
			if !errors.As(err, &qe) {
				t.Fatalf("Parse(%q) = %v; want *Error", sql, err)
			}
			return
		}
		q.Plan()
		if _, _, err := q.Run(slices.Values(items), 1, ""); err != nil {
			t.Fatalf("Run(%q) = %v", sql, err)
		}
	})
}
