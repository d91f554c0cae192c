package alarm

import (
	"bufio"
	"os"
	"strings"
	"testing"
)

// TestRules runs the AlarmRule cases of testdata/rules.txt.
func TestRules(t *testing.T) {
	f, err := os.Open("testdata/rules.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for line := 1; sc.Scan(); line++ {
		text := sc.Text()
		if strings.HasPrefix(text, "#") || strings.TrimSpace(text) == "" {
			continue
		}
		parts := strings.Split(text, "|")
		if len(parts) != 3 {
			t.Fatalf("rules.txt:%d: want 3 fields", line)
		}
		src, want := strings.TrimSpace(parts[0]), strings.TrimSpace(parts[2])
		states := map[string]string{}
		for _, kv := range strings.Fields(strings.ReplaceAll(parts[1], "name with spaces", "name_with_spaces")) {
			k, v, _ := strings.Cut(kv, "=")
			states[strings.ReplaceAll(k, "_", " ")] = v
		}
		n++
		r, err := ParseRule(src)
		if strings.HasPrefix(want, "error:") {
			if err == nil || !strings.Contains(err.Error(), strings.TrimSpace(strings.TrimPrefix(want, "error:"))) {
				t.Errorf("rules.txt:%d: ParseRule(%q) error = %v; want %s", line, src, err, want)
			}
			continue
		}
		if err != nil {
			t.Errorf("rules.txt:%d: ParseRule(%q): %v", line, src, err)
			continue
		}
		a := &Alarm{Account: "123456789012", Region: "us-east-1"}
		got := r.Eval(func(ref string) string {
			name, _ := resolveRef(a, ref)
			if s, ok := states[name]; ok {
				return s
			}
			return StateInsufficient
		})
		if (want == "true") != got {
			t.Errorf("rules.txt:%d: %q with %v = %v; want %s", line, src, states, got, want)
		}
	}
	if n < 10 {
		t.Fatalf("rules.txt has %d cases", n)
	}
}
