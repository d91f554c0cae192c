package timefmt_test

import (
	"testing"
	"time"

	"github.com/bannin/bannin/internal/protocol/timefmt"
)

func TestFormatAndParse(t *testing.T) {
	ts := time.Date(2024, 3, 1, 10, 5, 7, 123e6, time.UTC)
	for _, tc := range []struct{ format, want string }{
		{timefmt.ISO8601, "2024-03-01T10:05:07.123Z"},
		{timefmt.RFC822, "Fri, 01 Mar 2024 10:05:07 GMT"},
		{timefmt.Unix, "1709287507.123"},
	} {
		if got := timefmt.Format(ts, tc.format); got != tc.want {
			t.Errorf("Format(%s) = %q; want %q", tc.format, got, tc.want)
		}
	}
	if got := timefmt.EpochString(time.UnixMilli(-1500)); got != "-1.5" {
		t.Errorf("EpochString(-1.5s) = %q; want -1.5", got)
	}
	for in, want := range map[string]time.Time{
		"2024-03-01T10:05:07.123Z":      ts,
		"2024-03-01T12:05:07.123+02:00": ts,
		"1709287507.123":                ts,
		"Fri, 01 Mar 2024 10:05:07 GMT": ts.Truncate(time.Second),
		"2024-03-01T10:05:07":           ts.Truncate(time.Second),
	} {
		got, err := timefmt.Parse(in)
		if err != nil || !got.Equal(want) {
			t.Errorf("Parse(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "yesterday", "1e400"} {
		if _, err := timefmt.Parse(bad); err == nil {
			t.Errorf("Parse(%q) = nil error; want one", bad)
		}
	}
}
