package bus

import (
	"encoding/json"
	"os"
	"testing"
	"time"
)

// TestTransform runs the input transformer cases of testdata/transform.json (the
// examples of "Amazon EventBridge input transformation" and the quoting rules).
func TestTransform(t *testing.T) {
	raw, err := os.ReadFile("testdata/transform.json")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Event json.RawMessage `json:"event"`
		Cases []struct {
			Name     string            `json:"name"`
			Paths    map[string]string `json:"paths"`
			Template string            `json:"template"`
			Want     string            `json:"want"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	ingested := time.Date(2015, 11, 11, 21, 29, 55, 0, time.UTC)
	for _, c := range file.Cases {
		got, err := transform(file.Event, c.Paths, c.Template, "my-rule", "arn:aws:events:us-east-1:123456789012:rule/my-rule", ingested)
		if err != nil || got != c.Want {
			t.Errorf("%s: transform(%s) = %s, %v; want %s", c.Name, c.Template, got, err, c.Want)
		}
	}
}

func TestJSONPath(t *testing.T) {
	doc := []byte(`{"a":{"b-c":[1,{"d":"x"}]},"e":[{"f":1},{"f":2}]}`)
	for _, c := range []struct{ path, want string }{
		{"$", string(doc)}, {"$.a.b-c[1].d", `"x"`}, {"$.a.b-c[0]", "1"}, {"$.e[*].f", "[1,2]"}, {"$.nope", ""},
	} {
		got, err := jsonPath(doc, c.path)
		if err != nil || string(got) != c.want {
			t.Errorf("jsonPath(%s) = %s, %v; want %s", c.path, got, err, c.want)
		}
	}
	if _, err := jsonPath(doc, "a.b"); err == nil {
		t.Errorf("jsonPath(a.b) succeeded; want an error")
	}
}

func TestNextFire(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, c := range []struct{ expr, after, want string }{
		{"rate(5 minutes)", "2026-11-23T10:02:30Z", "2026-11-23T10:07:00Z"},
		{"rate(1 hour)", "2026-11-23T10:00:00Z", "2026-11-23T11:00:00Z"},
		{"cron(0 12 * * ? *)", "2026-11-23T12:00:00Z", "2026-11-24T12:00:00Z"},
		{"cron(15 10 ? * 6L 2026)", "2026-11-01T00:00:00Z", "2026-11-27T10:15:00Z"},  // last Friday
		{"cron(0/15 * * * ? *)", "2026-11-23T10:16:00Z", "2026-11-23T10:30:00Z"},     // every 15 minutes
		{"cron(0 8 1 * ? *)", "2026-11-23T10:00:00Z", "2026-12-01T08:00:00Z"},        // first of the month
		{"cron(0 18 ? * MON-FRI *)", "2026-11-27T18:00:00Z", "2026-11-30T18:00:00Z"}, // Friday to Monday
		{"cron(0 9 ? * 2#1 *)", "2026-11-23T00:00:00Z", "2026-12-07T09:00:00Z"},      // first Monday
		{"cron(0 9 L * ? *)", "2026-02-01T00:00:00Z", "2026-02-28T09:00:00Z"},
		{"cron(0 9 LW * ? *)", "2026-05-01T00:00:00Z", "2026-05-29T09:00:00Z"}, // May 31 2026 is a Sunday
	} {
		got, ok := nextFire(c.expr, at(c.after), false)
		if !ok || !got.Equal(at(c.want)) {
			t.Errorf("nextFire(%s, %s) = %v, %v; want %s", c.expr, c.after, got, ok, c.want)
		}
	}
	if _, ok := nextFire("cron(0 0 1 1 ? 2020)", at("2026-01-01T00:00:00Z"), false); ok {
		t.Errorf("nextFire of a cron in the past reported a time")
	}
}
