package guard

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// A case file in testdata/ is a sequence of sections, each opened by a line `-- name --`:
//
//	rules.guard    the Guard rule file
//	error          (parse-error cases) a substring the parse error must contain
//	NAME.json      a document to evaluate
//	NAME.expect    lines `RULE STATUS`, `overall STATUS` (PASS/FAIL/SKIP) and
//	               `message RULE: TEXT` (TEXT must occur in one of RULE's messages)
//
// Every rule of the file must be listed in each .expect section.
func TestCases(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no test cases: %v", err)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".txt"), func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			names, secs := sections(string(raw))
			src, ok := secs["rules.guard"]
			if !ok {
				t.Fatal("case has no rules.guard section")
			}
			rs, err := Parse(src)
			if want, isErr := secs["error"]; isErr {
				want = strings.TrimSpace(want)
				if err == nil {
					t.Fatalf("parse succeeded, want error containing %q", want)
				}
				if !strings.Contains(err.Error(), want) {
					t.Fatalf("parse error %q does not contain %q", err, want)
				}
				return
			}
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			ran := 0
			for _, name := range names {
				if !strings.HasSuffix(name, ".json") {
					continue
				}
				base := strings.TrimSuffix(name, ".json")
				exp, ok := secs[base+".expect"]
				if !ok {
					t.Fatalf("%s has no %s.expect section", name, base)
				}
				dec := json.NewDecoder(bytes.NewReader([]byte(secs[name])))
				dec.UseNumber()
				var doc any
				if err := dec.Decode(&doc); err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				checkExpect(t, base, rs, rs.Evaluate(doc), exp)
				ran++
			}
			if ran == 0 {
				t.Fatal("case has no documents")
			}
		})
	}
}

func checkExpect(t *testing.T, doc string, rs *RuleSet, got []RuleResult, exp string) {
	t.Helper()
	byRule := map[string]RuleResult{}
	for _, r := range got {
		byRule[r.Rule] = r
	}
	listed := map[string]bool{}
	for _, line := range strings.Split(exp, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if rest, ok := strings.CutPrefix(line, "message "); ok {
			rule, text, _ := strings.Cut(rest, ": ")
			r := byRule[rule]
			found := false
			for _, m := range r.Messages {
				if strings.Contains(m, text) {
					found = true
				}
			}
			if !found {
				t.Errorf("%s: rule %s messages %q lack %q", doc, rule, r.Messages, text)
			}
			continue
		}
		f := strings.Fields(line)
		if len(f) != 2 {
			t.Fatalf("%s: bad expect line %q", doc, line)
		}
		want := Status(f[1])
		if f[0] == "overall" {
			if o := Overall(got); o != want {
				t.Errorf("%s: overall %s, want %s (%+v)", doc, o, want, got)
			}
			continue
		}
		listed[f[0]] = true
		r, ok := byRule[f[0]]
		if !ok {
			t.Errorf("%s: no result for rule %s (rules %v)", doc, f[0], rs.RuleNames())
			continue
		}
		if r.Status != want {
			t.Errorf("%s: rule %s is %s, want %s; failures %+v", doc, f[0], r.Status, want, r.Failures)
		}
	}
	var missing []string
	for _, r := range got {
		if !listed[r.Rule] {
			missing = append(missing, r.Rule)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("%s: rules not listed in expect: %v", doc, missing)
	}
}

func sections(s string) ([]string, map[string]string) {
	var names []string
	secs := map[string]string{}
	cur := ""
	var b strings.Builder
	flush := func() {
		if cur != "" {
			secs[cur] = b.String()
			names = append(names, cur)
		}
		b.Reset()
	}
	for _, line := range strings.SplitAfter(s, "\n") {
		tl := strings.TrimSpace(line)
		if strings.HasPrefix(tl, "-- ") && strings.HasSuffix(tl, " --") && len(tl) > 6 {
			flush()
			cur = strings.TrimSpace(tl[3 : len(tl)-3])
			continue
		}
		if cur != "" {
			b.WriteString(line)
		}
	}
	flush()
	return names, secs
}

// TestParseErrorPosition checks the reported line and column directly.
func TestParseErrorPosition(t *testing.T) {
	_, err := Parse("rule a {\n  configuration.x ==\n}\n")
	pe, ok := err.(*ParseError)
	if !ok {
		t.Fatalf("got %v, want *ParseError", err)
	}
	if pe.Line != 3 || pe.Col != 1 {
		t.Fatalf("position %d:%d, want 3:1 (%v)", pe.Line, pe.Col, pe)
	}
	if !strings.Contains(pe.Msg, "expected a value or a query") {
		t.Fatalf("message %q", pe.Msg)
	}
}

// TestResultDetails checks the failure record: clause text, line, custom message, reason.
func TestResultDetails(t *testing.T) {
	rs, err := Parse(`rule versioning when resourceType == "AWS::S3::Bucket" {
  supplementaryConfiguration.BucketVersioningConfiguration.status == "Enabled"
    << Versioning must be enabled >>
}`)
	if err != nil {
		t.Fatal(err)
	}
	doc := map[string]any{
		"resourceType": "AWS::S3::Bucket",
		"supplementaryConfiguration": map[string]any{
			"BucketVersioningConfiguration": map[string]any{"status": "Suspended"},
		},
	}
	res := rs.Evaluate(doc)
	if len(res) != 1 || res[0].Status != Fail || len(res[0].Failures) != 1 {
		t.Fatalf("got %+v", res)
	}
	f := res[0].Failures[0]
	if f.Line != 2 || f.Message != "Versioning must be enabled" ||
		f.Clause != `supplementaryConfiguration.BucketVersioningConfiguration.status == "Enabled"` ||
		!strings.Contains(f.Reason, `got "Suspended"`) {
		t.Fatalf("failure %+v", f)
	}
	if ComplianceType(Overall(res)) != "NON_COMPLIANT" {
		t.Fatalf("compliance %s", ComplianceType(Overall(res)))
	}
}
