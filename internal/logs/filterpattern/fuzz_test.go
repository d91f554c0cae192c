package filterpattern

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParseMatch checks that no pattern or message panics, and that Parse fails only
// with an *Error. The seeds are the patterns and messages of testdata.
func FuzzParseMatch(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.txt")
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		pattern := ""
		for _, l := range strings.Split(string(data), "\n") {
			if v, ok := strings.CutPrefix(l, "pattern: "); ok {
				pattern = v
			} else if v, ok := strings.CutPrefix(l, "match: "); ok {
				f.Add(pattern, v)
			} else if v, ok := strings.CutPrefix(l, "nomatch: "); ok {
				f.Add(pattern, v)
			}
		}
	}
	f.Fuzz(func(t *testing.T, pattern, message string) {
		p, err := Parse(pattern)
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("Parse(%q) error %T; want *Error", pattern, err)
			}
			return
		}
		p.Match(message)
		p.Field(message, "$.a")
		p.Field(message, "$ip")
	})
}
