package filterpattern

import (
	"reflect"
	"sort"
	"testing"
)

func TestSelectors(t *testing.T) {
	for _, tc := range []struct {
		pattern string
		want    []string
	}{
		{`{ ($.eventName = "StopLogging") || ($.userIdentity.type = "Root" && $.eventName = "X") }`, []string{"$.eventName", "$.userIdentity.type"}},
		{`[ip, user, ..., status = 4* || status = 5*, bytes > 1000]`, []string{"$bytes", "$ip", "$status", "$user"}},
		{`ERROR -debug`, nil},
		{``, nil},
	} {
		p, err := Parse(tc.pattern)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tc.pattern, err)
		}
		if got := sortedSelectors(p); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Selectors(%q) = %q; want %q", tc.pattern, got, tc.want)
		}
	}
}

// sortedSelectors is Selectors in lexical order.
func sortedSelectors(p *Pattern) []string {
	s := p.Selectors()
	sort.Strings(s)
	return s
}
