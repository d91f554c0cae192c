package compliance

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bannin/bannin/internal/recorder"
)

// managedCase is one case of a testdata/managed/*.json file: a managed rule with input
// parameters, one configuration item (per-resource rules) or several (account-level
// rules), and the expected compliance (of the item, or of the account, or per resource
// in wantAll keyed "type|id").
type managedCase struct {
	Name       string            `json:"name"`
	Rule       string            `json:"rule"`
	Params     map[string]any    `json:"params"`
	Item       *recorder.Item    `json:"item"`
	Items      []*recorder.Item  `json:"items"`
	Want       string            `json:"want"`
	WantAll    map[string]string `json:"wantAll"`
	Annotation string            `json:"annotation"`
	// RootAccessKeys are the account's facts for EvaluateAccount rules.
	RootAccessKeys []string `json:"rootAccessKeys"`
	// ParamError, when set, is a substring of the error the parameters must be refused with.
	ParamError string `json:"paramError"`
}

func TestManagedRules(t *testing.T) {
	files, err := filepath.Glob("testdata/managed/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no managed rule cases: %v", err)
	}
	covered := map[string]bool{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var cases []managedCase
		if err := json.Unmarshal(raw, &cases); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, c := range cases {
			t.Run(filepath.Base(f)+"/"+c.Name, func(t *testing.T) {
				m := ManagedRule(c.Rule)
				if m == nil {
					t.Fatalf("no managed rule %s", c.Rule)
				}
				covered[c.Rule] = true
				in := ""
				if c.Params != nil {
					b, _ := json.Marshal(c.Params)
					in = string(b)
				}
				p, err := m.params(in)
				if c.ParamError != "" {
					if err == nil || !strings.Contains(err.Error(), c.ParamError) {
						t.Fatalf("params(%s) error = %v; want one containing %q", in, err, c.ParamError)
					}
					return
				}
				if err != nil {
					t.Fatalf("params(%s): %v", in, err)
				}
				got := map[string]Result{}
				if m.Evaluate != nil {
					if c.Item == nil {
						t.Fatal("case has no item")
					}
					r := m.Evaluate(NewCI(c.Item), p)
					got[key(c.Item.ResourceType, c.Item.ResourceID)] = r
					check(t, r, c.Want, c.Annotation)
					return
				}
				var evs []Evaluation
				if m.EvaluateAccount != nil {
					evs = m.EvaluateAccount("123456789012", AccountFacts{RootAccessKeys: c.RootAccessKeys}, p)
				} else {
					var cis []*CI
					for _, it := range c.Items {
						cis = append(cis, NewCI(it))
					}
					evs = m.EvaluateAll("123456789012", cis, p)
				}
				for _, e := range evs {
					got[key(e.ResourceType, e.ResourceID)] = e.Result
				}
				if c.Want != "" {
					check(t, got[key(AccountType, "123456789012")], c.Want, c.Annotation)
				}
				for k, want := range c.WantAll {
					check(t, got[k], want, "")
				}
			})
		}
	}
	t.Run("coverage", func(t *testing.T) {
		for _, id := range ManagedRules() {
			if !covered[id] {
				t.Errorf("managed rule %s has no testdata case", id)
			}
		}
		if n := len(ManagedRules()); n < 30 {
			t.Errorf("len(ManagedRules()) = %d; want at least 30", n)
		}
	})
}

func check(t *testing.T, got Result, want, annotation string) {
	t.Helper()
	if got.Compliance != want {
		t.Errorf("compliance = %q (%s); want %q", got.Compliance, got.Annotation, want)
	}
	if annotation != "" && !strings.Contains(got.Annotation, annotation) {
		t.Errorf("annotation = %q; want it to contain %q", got.Annotation, annotation)
	}
}
