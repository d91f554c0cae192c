// Package timefmt formats and parses the timestamp encodings of the AWS protocols:
// "iso8601" (RFC 3339 in UTC), "rfc822" (the HTTP date) and "unixTimestamp" (epoch
// seconds, with a fraction). Parsing is lenient, as AWS servers are: a value in any of
// the three encodings is accepted whatever the member's declared format.
package timefmt

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/bannin/bannin/internal/model"
)

// The timestampFormat trait values.
const (
	ISO8601 = "iso8601"
	RFC822  = "rfc822"
	Unix    = "unixTimestamp"
)

// Of returns the timestamp format of member m (its own trait, else its shape's), or def.
func Of(m *model.Member, def string) string {
	if m != nil {
		if m.TimestampFormat != "" {
			return m.TimestampFormat
		}
		if m.Shape != nil && m.Shape.TimestampFormat != "" {
			return m.Shape.TimestampFormat
		}
	}
	return def
}

// Format renders t in format (ISO8601 when format is unknown).
func Format(t time.Time, format string) string {
	t = t.UTC()
	switch format {
	case RFC822:
		return t.Format(http1123)
	case Unix:
		return EpochString(t)
	default:
		if t.Nanosecond()/int(time.Millisecond) == 0 {
			return t.Format("2006-01-02T15:04:05Z")
		}
		return t.Format("2006-01-02T15:04:05.000Z")
	}
}

const http1123 = "Mon, 02 Jan 2006 15:04:05 GMT"

// EpochString renders t as epoch seconds with up to millisecond precision ("1700000000.123").
func EpochString(t time.Time) string {
	ms := t.UnixMilli()
	sign := ""
	if ms < 0 {
		sign, ms = "-", -ms
	}
	sec, frac := ms/1000, ms%1000
	if frac == 0 {
		return sign + strconv.FormatInt(sec, 10)
	}
	return sign + strings.TrimRight(fmt.Sprintf("%d.%03d", sec, frac), "0")
}

// Epoch returns t as fractional epoch seconds, millisecond precision.
func Epoch(t time.Time) float64 {
	return float64(t.UnixMilli()) / 1000
}

// FromEpoch converts fractional epoch seconds to a time, rounded to the millisecond.
func FromEpoch(f float64) (time.Time, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > 1e14 {
		return time.Time{}, fmt.Errorf("epoch seconds %v out of range", f)
	}
	return time.UnixMilli(int64(math.Round(f * 1000))).UTC(), nil
}

var layouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05Z0700",
	"2006-01-02T15:04:05.999999999Z0700",
	"2006-01-02T15:04:05",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02T15:04Z07:00",
	"2006-01-02",
	http1123,
	time.RFC1123,
	time.RFC1123Z,
	time.RFC850,
	time.ANSIC,
}

// Parse reads a timestamp in any of the three encodings.
func Parse(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, fmt.Errorf("empty timestamp")
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && !strings.ContainsAny(s, "eE") {
		return FromEpoch(f)
	}
	for _, l := range layouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a timestamp", s)
}
