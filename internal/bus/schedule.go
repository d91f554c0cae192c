package bus

import (
	"regexp"
	"strconv"
	"strings"
)

var (
	rateExpr = regexp.MustCompile(`^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$`)
	cronExpr = regexp.MustCompile(`^cron\((.*)\)$`)
)

var months = map[string]int{"JAN": 1, "FEB": 2, "MAR": 3, "APR": 4, "MAY": 5, "JUN": 6, "JUL": 7, "AUG": 8, "SEP": 9, "OCT": 10, "NOV": 11, "DEC": 12}
var weekdays = map[string]int{"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}

// validSchedule tells whether a ScheduleExpression is a well-formed rate(...) or cron(...)
// expression as EventBridge documents them: rate(value unit) with a positive value and a
// singular unit exactly when the value is 1; cron(minutes hours day-of-month month
// day-of-week year) with a ? in exactly one of the two day fields. Years beyond the
// documented 2199 are accepted, as EventBridge accepts them.
func validSchedule(expr string) bool {
	if m := rateExpr.FindStringSubmatch(expr); m != nil {
		n, err := strconv.Atoi(m[1])
		if err != nil || n <= 0 {
			return false
		}
		return (n == 1) == !strings.HasSuffix(m[2], "s")
	}
	m := cronExpr.FindStringSubmatch(expr)
	if m == nil {
		return false
	}
	f := strings.Split(m[1], " ")
	if len(f) != 6 {
		return false
	}
	if (f[2] == "?") == (f[4] == "?") {
		return false
	}
	return cronField(f[0], 0, 59, nil, "") && cronField(f[1], 0, 23, nil, "") &&
		(f[2] == "?" || cronField(f[2], 1, 31, nil, "LW")) &&
		cronField(f[3], 1, 12, months, "") &&
		(f[4] == "?" || cronField(f[4], 1, 7, weekdays, "L#")) &&
		cronField(f[5], 1970, 9999, nil, "")
}

// cronField checks one cron field: a comma-separated list of *, values and ranges, each
// optionally with a /step, within [lo, hi]; names maps month or weekday names; special
// holds the extra characters the field allows (L and W for days of the month, L and #
// for days of the week).
func cronField(s string, lo, hi int, names map[string]int, special string) bool {
	if s == "" {
		return false
	}
	value := func(v string) bool {
		if n, ok := names[strings.ToUpper(v)]; ok {
			return n >= lo && n <= hi
		}
		n, err := strconv.Atoi(v)
		return err == nil && n >= lo && n <= hi
	}
	for _, item := range strings.Split(s, ",") {
		if strings.ContainsRune(special, 'L') && item == "L" {
			continue
		}
		if strings.ContainsRune(special, 'W') {
			if item == "LW" || (strings.HasSuffix(item, "W") && value(strings.TrimSuffix(item, "W"))) {
				continue
			}
		}
		if strings.ContainsRune(special, '#') {
			if d, k, ok := strings.Cut(item, "#"); ok {
				n, err := strconv.Atoi(k)
				if !value(d) || err != nil || n < 1 || n > 5 {
					return false
				}
				continue
			}
			if strings.HasSuffix(item, "L") && value(strings.TrimSuffix(item, "L")) {
				continue
			}
		}
		base, step, hasStep := strings.Cut(item, "/")
		if hasStep {
			n, err := strconv.Atoi(step)
			if err != nil || n <= 0 {
				return false
			}
		}
		if base == "*" {
			continue
		}
		if a, b, ok := strings.Cut(base, "-"); ok {
			if !value(a) || !value(b) {
				return false
			}
			continue
		}
		if !value(base) {
			return false
		}
	}
	return true
}
