package query

import (
	"bufio"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// testCase is one record of a testdata/*.cases file:
//
//	case: name
//	source: where the query comes from (an AWS documentation page)
//	query: SELECT ...          (continuation lines are indented)
//	fields: a | b              (QueryInfo.SelectFields, optional)
//	row: {"json":"row"}        (expected rows, in order; none means no rows)
//	error: substring           (the *Error reason Parse must give)
//	plan: resourceType=A,B; tags.key=Name   (optional: the expected Plan constraints)
type testCase struct {
	name, source, query, errSub, plan string
	fields                            []string
	rows                              []string
	hasFields, hasPlan                bool
	line                              int
}

func readCases(t *testing.T, file string) []testCase {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cases []testCase
	var cur *testCase
	last := ""
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			if cur == nil || last != "query" {
				t.Fatalf("%s:%d: continuation line outside a query", file, n)
			}
			cur.query += "\n" + line
			continue
		}
		key, val, ok := strings.Cut(line, ":")
		if !ok {
			t.Fatalf("%s:%d: want key: value", file, n)
		}
		val = strings.TrimSpace(val)
		last = key
		if key == "case" {
			cases = append(cases, testCase{name: val, line: n})
			cur = &cases[len(cases)-1]
			continue
		}
		if cur == nil {
			t.Fatalf("%s:%d: %s before the first case", file, n, key)
		}
		switch key {
		case "source":
			cur.source = val
		case "query":
			cur.query = val
		case "fields":
			cur.hasFields = true
			for _, f := range strings.Split(val, "|") {
				cur.fields = append(cur.fields, strings.TrimSpace(f))
			}
		case "row":
			cur.rows = append(cur.rows, val)
		case "error":
			cur.errSub = val
		case "plan":
			cur.hasPlan = true
			cur.plan = val
		default:
			t.Fatalf("%s:%d: unknown key %q", file, n, key)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return cases
}

func loadItems(t testing.TB) []map[string]any {
	t.Helper()
	b, err := os.ReadFile("testdata/items.json")
	if err != nil {
		t.Fatal(err)
	}
	var items []map[string]any
	if err := json.Unmarshal(b, &items); err != nil {
		t.Fatal(err)
	}
	return items
}

// runAll runs q page by page with the given limit and returns every row.
func runAll(t *testing.T, q *Query, items []map[string]any, limit int) []string {
	t.Helper()
	var all []string
	token := ""
	for pages := 0; ; pages++ {
		if pages > 1000 {
			t.Fatalf("Run(%q): more than 1000 pages", q.Expression())
		}
		rows, next, err := q.Run(slices.Values(items), limit, token)
		if err != nil {
			t.Fatalf("Run(%q) = %v", q.Expression(), err)
		}
		if limit > 0 && len(rows) > limit {
			t.Fatalf("Run(%q, limit %d) = %d rows", q.Expression(), limit, len(rows))
		}
		all = append(all, rows...)
		if next == "" {
			return all
		}
		token = next
	}
}

func sameJSON(a, b string) bool {
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

func formatPlan(p Plan) string {
	var parts []string
	for _, c := range p.Constraints {
		parts = append(parts, c.Field+"="+strings.Join(c.Values, ","))
	}
	return strings.Join(parts, "; ")
}

func TestCases(t *testing.T) {
	items := loadItems(t)
	files, err := filepath.Glob("testdata/*.cases")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata/*.cases files (%v)", err)
	}
	for _, file := range files {
		for _, tc := range readCases(t, file) {
			t.Run(filepath.Base(file)+"/"+tc.name, func(t *testing.T) {
				q, err := Parse(tc.query)
				if tc.errSub != "" {
					var qe *Error
					if !errors.As(err, &qe) {
						t.Fatalf("%s:%d: Parse(%q) = %v; want *Error containing %q", file, tc.line, tc.query, err, tc.errSub)
					}
					if !strings.Contains(qe.Reason, tc.errSub) {
						t.Fatalf("%s:%d: Parse(%q) reason = %q; want it to contain %q", file, tc.line, tc.query, qe.Reason, tc.errSub)
					}
					return
				}
				if err != nil {
					t.Fatalf("%s:%d: Parse(%q) = %v", file, tc.line, tc.query, err)
				}
				if tc.hasFields && !slices.Equal(q.SelectFields(), tc.fields) {
					t.Errorf("%s:%d: SelectFields() = %q; want %q", file, tc.line, q.SelectFields(), tc.fields)
				}
				if tc.hasPlan {
					if got := formatPlan(q.Plan()); got != tc.plan {
						t.Errorf("%s:%d: Plan() = %q; want %q", file, tc.line, got, tc.plan)
					}
				}
				// Every page size must give the same rows in the same order.
				// (except aggregate queries ordered by an aggregate, which AWS does not paginate).
				limits := []int{0, 1, 2, 3}
				if slices.ContainsFunc(q.orderBy, func(o orderItem) bool { return o.agg >= 0 }) {
					limits = []int{0}
				}
				for _, limit := range limits {
					got := runAll(t, q, items, limit)
					ok := len(got) == len(tc.rows)
					for i := 0; ok && i < len(got); i++ {
						ok = sameJSON(got[i], tc.rows[i])
					}
					if !ok {
						t.Fatalf("%s:%d: Run(%q, limit %d) rows =\n  %s\nwant\n  %s", file, tc.line, tc.query, limit,
							strings.Join(got, "\n  "), strings.Join(tc.rows, "\n  "))
					}
				}
			})
		}
	}
}
