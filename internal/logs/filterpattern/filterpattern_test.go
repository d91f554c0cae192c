package filterpattern

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The cases live in testdata/*.txt, one file per AWS documentation page (the page is
// cited at the top of each file). Format, one directive a line, '#' starts a comment:
//
//	pattern: <filter pattern>        starts a case (the rest of the line, verbatim)
//	match: <message>                 the pattern must match this message
//	nomatch: <message>               the pattern must not match it
//	match-file: <file>               as match:, message read from testdata/<file>
//	nomatch-file: <file>             as nomatch:, message read from testdata/<file>
//	field <selector>: <value>        Field(last message, selector) must be value
//	nofield <selector>               Field(last message, selector) must report false
//	invalid: <reason substring>      Parse must fail with an *Error whose Reason holds it
func TestCases(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	total := 0
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var (
			pat     *Pattern
			src     string
			lastMsg string
			line    int
		)
		where := func() string { return file + ":" + strconv.Itoa(line) }
		for n, raw := range strings.Split(string(data), "\n") {
			line = n + 1
			l := strings.TrimRight(raw, "\r")
			if strings.TrimSpace(l) == "" || strings.HasPrefix(strings.TrimSpace(l), "#") {
				continue
			}
			key, val, ok := strings.Cut(l, ": ")
			if !ok && strings.HasSuffix(l, ":") {
				key, val, ok = strings.TrimSuffix(l, ":"), "", true
			}
			if !ok && strings.HasPrefix(l, "nofield ") {
				key, val = l, ""
			} else if !ok {
				t.Fatalf("%s: cannot read %q", where(), l)
			}
			switch {
			case key == "pattern":
				src = val
				pat, err = Parse(val)
				if err != nil {
					pat = nil
					var pe *Error
					if !errors.As(err, &pe) {
						t.Errorf("%s: Parse(%q) error %T; want *Error", where(), val, err)
					}
					// An invalid: line must follow; otherwise report.
					if !nextIsInvalid(data, n) {
						t.Errorf("%s: Parse(%q) = %v; want no error", where(), val, err)
					}
				}
			case key == "invalid":
				total++
				_, err := Parse(src)
				var pe *Error
				if !errors.As(err, &pe) {
					t.Errorf("%s: Parse(%q) error = %v; want *Error containing %q", where(), src, err, val)
				} else if !strings.Contains(pe.Reason, val) {
					t.Errorf("%s: Parse(%q) reason = %q; want it to contain %q", where(), src, pe.Reason, val)
				}
			case key == "match" || key == "nomatch" || key == "match-file" || key == "nomatch-file":
				total++
				msg := val
				if strings.HasSuffix(key, "-file") {
					b, err := os.ReadFile(filepath.Join("testdata", val))
					if err != nil {
						t.Fatalf("%s: %v", where(), err)
					}
					msg = strings.TrimSpace(string(b))
				}
				lastMsg = msg
				if pat == nil {
					continue // the parse error was reported above
				}
				want := !strings.HasPrefix(key, "nomatch")
				if got := pat.Match(msg); got != want {
					t.Errorf("%s: Parse(%q).Match(%q) = %v; want %v", where(), src, short(msg), got, want)
				}
				// The pre-check may only rule out what does not match.
				if pat.Match(msg) && !pat.MayMatch(msg) {
					t.Errorf("%s: Parse(%q).MayMatch(%q) = false for a message it matches (literals %q)", where(), src, short(msg), pat.lits)
				}
			case strings.HasPrefix(key, "field "):
				total++
				sel := strings.TrimPrefix(key, "field ")
				if pat == nil {
					continue
				}
				got, ok := pat.Field(lastMsg, sel)
				if !ok || got != val {
					t.Errorf("%s: Parse(%q).Field(%q, %q) = %q, %v; want %q, true", where(), src, short(lastMsg), sel, got, ok, val)
				}
			case strings.HasPrefix(key, "nofield "):
				total++
				sel := strings.TrimPrefix(key, "nofield ")
				if pat == nil {
					continue
				}
				if got, ok := pat.Field(lastMsg, sel); ok {
					t.Errorf("%s: Parse(%q).Field(%q, %q) = %q, true; want false", where(), src, short(lastMsg), sel, got)
				}
			default:
				t.Fatalf("%s: unknown directive %q", where(), key)
			}
		}
	}
	t.Logf("%d checks in %d files", total, len(files))
}

func nextIsInvalid(data []byte, after int) bool {
	lines := strings.Split(string(data), "\n")
	for _, l := range lines[after+1:] {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		return strings.HasPrefix(l, "invalid:")
	}
	return false
}

func short(s string) string {
	if len(s) > 120 {
		return s[:117] + "..."
	}
	return s
}

// TestErrorType checks the error a bad pattern returns is an *Error that says where it
// came from, so that the service can put its Reason in InvalidParameterException.
func TestErrorType(t *testing.T) {
	_, err := Parse("{ $.a = }")
	var pe *Error
	if !errors.As(err, &pe) {
		t.Fatalf("Parse error = %v; want *Error", err)
	}
	if pe.Reason == "" || !strings.HasPrefix(err.Error(), "filterpattern: ") {
		t.Errorf("error = %q, reason %q; want a prefixed message with a reason", err.Error(), pe.Reason)
	}
}

func TestMayMatch(t *testing.T) {
	for _, c := range []struct {
		pattern, text string
		want          bool
	}{
		{`{ ($.eventName = "StopLogging") || ($.eventName = "PutBucketPolicy") }`, `{"eventName":"GetObject"}`, false},
		{`{ ($.eventName = "StopLogging") || ($.eventName = "PutBucketPolicy") }`, `{"eventName":"PutBucketPolicy"}`, true},
		{`{ ($.eventName = "StopLogging") || ($.eventName = "PutBucketPolicy") }`, `{"eventName":"Stop\u004cogging"}`, true},
		{`{ ($.eventName = "StopLogging") || ($.latency > 5) }`, `{"eventName":"GetObject"}`, true},
		{`{ ($.eventSource = "s3.amazonaws.com") && ($.eventName = "Put*Policy") }`, `{"eventSource":"ec2.amazonaws.com"}`, false},
		{`{ $.eventName != "StopLogging" }`, `{"eventName":"GetObject"}`, true},
		{`{ $.path = "/a/b" }`, `{"path":"\/a\/b"}`, true},
		{`ERROR "disk full"`, `WARN all fine`, false},
		{`?ERROR ?FATAL`, `FATAL: boom`, true},
		{`-DEBUG`, `anything`, true},
		{`[ip, user, status = 500]`, `1.2.3.4 bob 200`, true},
	} {
		p, err := Parse(c.pattern)
		if err != nil {
			t.Fatalf("Parse(%q): %v", c.pattern, err)
		}
		if got := p.MayMatch(c.text); got != c.want {
			t.Errorf("Parse(%q).MayMatch(%q) = %v; want %v", c.pattern, c.text, got, c.want)
		}
		if got := p.MayMatchBytes([]byte(c.text)); got != c.want {
			t.Errorf("Parse(%q).MayMatchBytes(%q) = %v; want %v", c.pattern, c.text, got, c.want)
		}
	}
}
