package filterpattern

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestScannerAgreesWithEncodingJSON checks that every scalar of the testdata records,
// reached through its own selector, is what encoding/json decodes there.
func TestScannerAgreesWithEncodingJSON(t *testing.T) {
	files, _ := filepath.Glob("testdata/ct-*.json")
	docs := []string{
		`{"a":"short \"q\"","b":"a long string of more than twenty-four bytes with \"escapes\" \\ and \u00e9","c":[1,-2.5e3,true,false,null,{"d":"x"}],"e":{}}`,
		`[{"k":"v"},["n",2]]`,
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, strings.TrimSpace(string(b)))
	}
	checked := 0
	for _, doc := range docs {
		var v any
		dec := json.NewDecoder(strings.NewReader(doc))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("decode %q: %v", short(doc), err)
		}
		walk("$", v, func(sel string, want string) {
			checked++
			got, ok := jsonField(doc, sel)
			if !ok || got != want {
				t.Errorf("jsonField(%q, %q) = %q, %v; want %q", short(doc), sel, got, ok, want)
			}
		})
	}
	if checked < 100 {
		t.Errorf("checked %d values; want at least 100", checked)
	}
}

func walk(sel string, v any, f func(sel, want string)) {
	switch v := v.(type) {
	case map[string]any:
		for k, c := range v {
			if strings.ContainsAny(k, ".[]") {
				continue
			}
			walk(sel+"."+k, c, f)
		}
	case []any:
		for i, c := range v {
			walk(sel+"["+strconv.Itoa(i)+"]", c, f)
		}
	case string:
		f(sel, v)
	case json.Number:
		f(sel, string(v))
	case bool:
		f(sel, strconv.FormatBool(v))
	case nil:
		f(sel, "null")
	}
}
