package guard

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse checks that any input either parses or yields a *ParseError (never a panic),
// and that a parsed set evaluates against a small document without panicking.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.txt")
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		_, secs := sections(string(raw))
		f.Add(secs["rules.guard"])
	}
	doc := map[string]any{"resourceType": "AWS::S3::Bucket", "configuration": map[string]any{
		"a": []any{1.0, "x", map[string]any{"b": true}}, "tags": map[string]any{}}}
	f.Fuzz(func(t *testing.T, src string) {
		rs, err := Parse(src)
		if err != nil {
			if _, ok := err.(*ParseError); !ok {
				t.Fatalf("error %T %v is not a *ParseError", err, err)
			}
			return
		}
		rs.Evaluate(doc)
	})
}
