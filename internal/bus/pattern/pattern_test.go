package pattern

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// scriptCase is one pattern of a testdata file with its expectations.
type scriptCase struct {
	line    int
	pattern string
	err     string   // expected reason, for an invalid pattern
	match   []string // events the pattern must match
	nomatch []string // events it must not match
}

// readScript parses a testdata file: "pattern JSON", then any number of
// "match JSON" and "nomatch JSON" lines, or one "error REASON" line. Lines
// starting with whitespace continue the previous one; '#' starts a comment.
func readScript(t *testing.T, path string) []*scriptCase {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	type entry struct {
		line       int
		verb, text string
	}
	var entries []entry
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		l := sc.Text()
		if strings.TrimSpace(l) == "" || strings.HasPrefix(l, "#") {
			continue
		}
		if l[0] == ' ' || l[0] == '\t' {
			if len(entries) == 0 {
				t.Fatalf("%s:%d: continuation line without an entry", path, n)
			}
			entries[len(entries)-1].text += "\n" + l
			continue
		}
		verb, text, _ := strings.Cut(l, " ")
		entries = append(entries, entry{n, verb, text})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	var cases []*scriptCase
	for _, e := range entries {
		if e.verb == "pattern" {
			cases = append(cases, &scriptCase{line: e.line, pattern: e.text})
			continue
		}
		if len(cases) == 0 {
			t.Fatalf("%s:%d: %s before any pattern", path, e.line, e.verb)
		}
		c := cases[len(cases)-1]
		switch e.verb {
		case "match":
			c.match = append(c.match, e.text)
		case "nomatch":
			c.nomatch = append(c.nomatch, e.text)
		case "error":
			c.err = e.text
		default:
			t.Fatalf("%s:%d: unknown verb %q", path, e.line, e.verb)
		}
	}
	return cases
}

func TestScripts(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			cases := readScript(t, file)
			// One Matcher holds every valid pattern of the file, so that
			// patterns share its index as they would in an event bus.
			m := NewMatcher()
			ids := map[*scriptCase]string{}
			for _, c := range cases {
				p, err := Compile(c.pattern)
				if c.err != "" {
					var perr *Error
					if !errors.As(err, &perr) {
						t.Errorf("%s:%d: Compile(%s) = %v; want error %q", file, c.line, c.pattern, err, c.err)
						continue
					}
					if perr.Reason != c.err {
						t.Errorf("%s:%d: Compile(%s) reason = %q; want %q", file, c.line, c.pattern, perr.Reason, c.err)
					}
					if want := "Event pattern is not valid. Reason: " + c.err; err.Error() != want {
						t.Errorf("%s:%d: message = %q; want %q", file, c.line, err.Error(), want)
					}
					continue
				}
				if err != nil {
					t.Errorf("%s:%d: Compile(%s): %v", file, c.line, c.pattern, err)
					continue
				}
				if len(c.match)+len(c.nomatch) == 0 {
					t.Errorf("%s:%d: pattern without events", file, c.line)
				}
				id := file + ":" + c.pattern
				ids[c] = id
				m.Add(id, p)
				for _, want := range []bool{true, false} {
					events := c.nomatch
					if want {
						events = c.match
					}
					for _, ev := range events {
						got, err := p.Matches([]byte(ev))
						if err != nil || got != want {
							t.Errorf("%s:%d: Matches(%s) = %v, %v; want %v", file, c.line, ev, got, err, want)
						}
					}
				}
			}
			for c, id := range ids {
				for _, want := range []bool{true, false} {
					events := c.nomatch
					if want {
						events = c.match
					}
					for _, ev := range events {
						got, err := m.Match([]byte(ev))
						if err != nil {
							t.Errorf("%s:%d: Matcher.Match(%s): %v", file, c.line, ev, err)
							continue
						}
						if slices.Contains(got, id) != want {
							t.Errorf("%s:%d: Matcher.Match(%s) = %q; want pattern included = %v", file, c.line, ev, got, want)
						}
						seen := map[string]bool{}
						for _, g := range got {
							if seen[g] {
								t.Errorf("%s:%d: Matcher.Match(%s) reports %s twice", file, c.line, ev, g)
							}
							seen[g] = true
						}
					}
				}
			}
		})
	}
}
