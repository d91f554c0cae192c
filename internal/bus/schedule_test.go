package bus

import "testing"

func TestValidSchedule(t *testing.T) {
	for expr, want := range map[string]bool{
		"rate(1 minute)":                 true,
		"rate(1 minutes)":                false,
		"rate(5 minute)":                 false,
		"rate(5 minutes)":                true,
		"rate(12 hours)":                 true,
		"rate(1 day)":                    true,
		"rate(0 days)":                   false,
		"rate(-1 days)":                  false,
		"rate(5 weeks)":                  false,
		"rate(5minutes)":                 false,
		"cron(0 12 * * ? *)":             true,
		"cron(15 10 ? * 6L 2026-2030)":   true,
		"cron(0/10 * ? * MON-FRI *)":     true,
		"cron(0 8 1 JAN,JUL ? *)":        true,
		"cron(0 9 ? * 2#1 *)":            true,
		"cron(0 9 15W * ? *)":            true,
		"cron(0 9 L * ? *)":              true,
		"cron(0 20 * * ? 2500)":          true,
		"cron(0 12 * * * *)":             false, // neither day field is ?
		"cron(0 12 ? * ? *)":             false, // both are
		"cron(60 12 * * ? *)":            false,
		"cron(0 24 * * ? *)":             false,
		"cron(0 12 32 * ? *)":            false,
		"cron(0 12 * 13 ? *)":            false,
		"cron(0 12 ? * 8 *)":             false,
		"cron(0 12 1#2 * ? *)":           false, // # only in day-of-week
		"cron(0 12 * * ?)":               false,
		"cron(0 12 * * ? * *)":           false,
		"cron(0/0 * * * ? *)":            false,
		"cron(a 12 * * ? *)":             false,
		"every 5 minutes":                false,
		"":                               false,
		"cron(0 12 * * ? 1969)":          false,
		"cron(0,15,30,45 * * * ? *)":     true,
		"cron(0 12 ? * SUN,SAT *)":       true,
		"cron(0 12 ? * MON#6 *)":         false,
		"cron(0 12 ? JAN-DEC MON-SUN *)": true,
	} {
		if got := validSchedule(expr); got != want {
			t.Errorf("validSchedule(%q) = %v; want %v", expr, got, want)
		}
	}
}
