package compliance

import (
	"strconv"
)

// CloudWatch alarm and CloudWatch Logs managed rules. Alarms are AWS::CloudWatch::Alarm
// items (configuration as DescribeAlarms shows a metric alarm, lowerCamel); log groups
// are AWS::Logs::LogGroup items (logGroupName, retentionInDays, kmsKeyId).

const (
	alarmType    = "AWS::CloudWatch::Alarm"
	logGroupType = "AWS::Logs::LogGroup"
)

func init() {
	register(&Managed{
		Identifier: "CW_LOGGROUP_RETENTION_PERIOD_CHECK", Types: []string{logGroupType}, Trigger: Periodic,
		Params: []Param{{Name: "MinRetentionTime", Type: "int", Default: "365", Check: atLeast(1)}},
		Evaluate: func(g *CI, p Params) Result {
			days, set := asFloat(g.Conf("retentionInDays"))
			if !set || days == 0 {
				return ok() // never expire
			}
			min := p.Int("MinRetentionTime", 365)
			return verdict(int(days) >= min, "Retention is "+strconv.Itoa(int(days))+" days, less than "+strconv.Itoa(min))
		},
	})
	register(&Managed{
		Identifier: "CLOUDWATCH_LOG_GROUP_ENCRYPTED", Types: []string{logGroupType}, Trigger: Periodic,
		Params: []Param{{Name: "KmsKeyId", Type: "String"}},
		Evaluate: func(g *CI, p Params) Result {
			key := asString(g.Conf("kmsKeyId"))
			switch {
			case key == "":
				return fail("The log group is not encrypted with an AWS KMS key")
			case p.Set("KmsKeyId") && key != p.Str("KmsKeyId"):
				return fail("The log group is encrypted with %s, not %s", key, p.Str("KmsKeyId"))
			}
			return ok()
		},
	})
	actionParams := []Param{
		{Name: "alarmActionRequired", Type: "String", Default: "true", Check: oneOf("true", "false")},
		{Name: "insufficientDataActionRequired", Type: "String", Default: "true", Check: oneOf("true", "false")},
		{Name: "okActionRequired", Type: "String", Default: "false", Check: oneOf("true", "false")},
	}
	for i := 1; i <= 5; i++ {
		actionParams = append(actionParams, Param{Name: "action" + strconv.Itoa(i), Type: "String"})
	}
	register(&Managed{
		Identifier: "CLOUDWATCH_ALARM_ACTION_CHECK", Types: []string{alarmType}, Trigger: OnChange,
		Params: actionParams,
		Evaluate: func(a *CI, p Params) Result {
			var want []string
			for i := 1; i <= 5; i++ {
				if v := p.Str("action" + strconv.Itoa(i)); v != "" {
					want = append(want, v)
				}
			}
			for _, c := range []struct{ param, field, what string }{
				{"alarmActionRequired", "alarmActions", "ALARM"},
				{"insufficientDataActionRequired", "insufficientDataActions", "INSUFFICIENT_DATA"},
				{"okActionRequired", "okActions", "OK"},
			} {
				if !p.Bool(c.param, false) {
					continue
				}
				acts := asStrings(a.Conf(c.field))
				if len(acts) == 0 {
					return fail("The alarm has no %s action", c.what)
				}
				if len(want) > 0 {
					found := false
					for _, x := range acts {
						found = found || contains(want, x)
					}
					if !found {
						return fail("No %s action of the alarm is one of the expected actions", c.what)
					}
				}
			}
			return ok()
		},
	})
	register(&Managed{
		Identifier: "CLOUDWATCH_ALARM_ACTION_ENABLED_CHECK", Types: []string{alarmType}, Trigger: OnChange,
		Evaluate: func(a *CI, p Params) Result {
			v := a.Conf("actionsEnabled")
			return verdict(v == nil || asBool(v), "Alarm actions are disabled")
		},
	})
	register(&Managed{
		Identifier: "CLOUDWATCH_ALARM_SETTINGS_CHECK", Types: []string{alarmType}, Trigger: OnChange,
		Params: []Param{
			{Name: "metricName", Type: "String", Required: true},
			{Name: "threshold", Type: "int"},
			{Name: "evaluationPeriods", Type: "int"},
			{Name: "period", Type: "int", Default: "300"},
			{Name: "comparisonOperator", Type: "String", Check: oneOf("GreaterThanOrEqualToThreshold", "GreaterThanThreshold", "LessThanThreshold", "LessThanOrEqualToThreshold")},
			{Name: "statistic", Type: "String", Check: oneOf("SampleCount", "Average", "Sum", "Minimum", "Maximum")},
		},
		Evaluate: func(a *CI, p Params) Result {
			if asString(a.Conf("metricName")) != p.Str("metricName") {
				return notApplicable("The alarm watches another metric")
			}
			for _, c := range []struct{ param, field string }{
				{"threshold", "threshold"}, {"evaluationPeriods", "evaluationPeriods"}, {"period", "period"},
			} {
				if !p.Set(c.param) {
					continue
				}
				got, _ := asFloat(a.Conf(c.field))
				if int(got) != p.Int(c.param, 0) {
					return fail("%s is %v, not %s", c.field, got, p.Str(c.param))
				}
			}
			for _, c := range []string{"comparisonOperator", "statistic"} {
				if p.Set(c) && asString(a.Conf(c)) != p.Str(c) {
					return fail("%s is %s, not %s", c, orWord(asString(a.Conf(c)), "unset"), p.Str(c))
				}
			}
			return ok()
		},
	})
}
