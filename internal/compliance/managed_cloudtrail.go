package compliance

import (
	"strings"
)

// CloudTrail managed rules. Trails are AWS::CloudTrail::Trail items whose configuration
// holds the trail as DescribeTrails shows it plus its logging status (isLogging) and
// event selectors.

const trailType = "AWS::CloudTrail::Trail"

// trailParams are the optional filters CLOUD_TRAIL_ENABLED and
// MULTI_REGION_CLOUD_TRAIL_ENABLED share.
var trailParams = []Param{
	{Name: "s3BucketName", Type: "String"},
	{Name: "snsTopicArn", Type: "String"},
	{Name: "cloudWatchLogsLogGroupArn", Type: "String"},
}

func init() {
	register(&Managed{
		Identifier: "CLOUD_TRAIL_ENABLED", Types: []string{trailType}, Trigger: Periodic,
		Params: trailParams,
		EvaluateAll: func(account string, items []*CI, p Params) []Evaluation {
			return accountResult(account, anyTrail(items, p, func(t *CI) string {
				if !trailLogging(t) {
					return "logging is off"
				}
				return ""
			}, "No AWS CloudTrail trail is logging"))
		},
	})
	register(&Managed{
		Identifier: "MULTI_REGION_CLOUD_TRAIL_ENABLED", Types: []string{trailType}, Trigger: Periodic,
		Params: append(append([]Param{}, trailParams...),
			Param{Name: "includeManagementEvents", Type: "boolean"},
			Param{Name: "readWriteType", Type: "String", Check: oneOf("ReadOnly", "WriteOnly", "ALL", "All", "NONE")}),
		EvaluateAll: func(account string, items []*CI, p Params) []Evaluation {
			return accountResult(account, anyTrail(items, p, func(t *CI) string {
				switch {
				case !asBool(t.Conf("isMultiRegionTrail")):
					return "not multi-Region"
				case !trailLogging(t):
					return "logging is off"
				}
				if p.Set("includeManagementEvents") || p.Set("readWriteType") {
					if !managementSelector(t, p.Bool("includeManagementEvents", true), p.Str("readWriteType")) {
						return "event selectors do not match"
					}
				}
				return ""
			}, "No multi-Region AWS CloudTrail trail is logging"))
		},
	})
	register(&Managed{
		Identifier: "CLOUD_TRAIL_LOG_FILE_VALIDATION_ENABLED", Types: []string{trailType}, Trigger: Periodic,
		Evaluate: func(t *CI, p Params) Result {
			return verdict(asBool(t.Conf("logFileValidationEnabled")), "Log file validation is not enabled")
		},
	})
	register(&Managed{
		Identifier: "CLOUD_TRAIL_ENCRYPTION_ENABLED", Types: []string{trailType}, Trigger: Periodic,
		Evaluate: func(t *CI, p Params) Result {
			return verdict(asString(t.Conf("kmsKeyId")) != "", "The trail is not encrypted with an AWS KMS key")
		},
	})
	register(&Managed{
		Identifier: "CLOUD_TRAIL_CLOUD_WATCH_LOGS_ENABLED", Types: []string{trailType}, Trigger: Periodic,
		Params: []Param{{Name: "expectedDeliveryWindowAge", Type: "int", Check: atLeast(1)}},
		Evaluate: func(t *CI, p Params) Result {
			return verdict(asString(t.Conf("cloudWatchLogsLogGroupArn")) != "", "The trail does not send logs to CloudWatch Logs")
		},
	})
	register(&Managed{
		Identifier: "CLOUDTRAIL_S3_DATAEVENTS_ENABLED", Types: []string{trailType}, Trigger: Periodic,
		Params: []Param{{Name: "S3BucketNames", Type: "CSV"}},
		EvaluateAll: func(account string, items []*CI, p Params) []Evaluation {
			buckets := p.List("S3BucketNames")
			return accountResult(account, anyTrail(items, nil, func(t *CI) string {
				if !trailLogging(t) {
					return "logging is off"
				}
				if len(buckets) == 0 {
					if !s3DataEvents(t, "", "") {
						return "does not log S3 data events for all buckets"
					}
					return ""
				}
				for _, b := range buckets {
					if !s3DataEvents(t, b, "") {
						return "does not log S3 data events for " + b
					}
				}
				return ""
			}, "No trail logs Amazon S3 data events"))
		},
	})
	for _, rw := range []struct{ id, mode string }{
		{"CLOUDTRAIL_ALL_READ_S3_DATA_EVENT_CHECK", "ReadOnly"},
		{"CLOUDTRAIL_ALL_WRITE_S3_DATA_EVENT_CHECK", "WriteOnly"},
	} {
		register(&Managed{
			Identifier: rw.id, Types: []string{trailType}, Trigger: Periodic,
			EvaluateAll: func(account string, items []*CI, p Params) []Evaluation {
				return accountResult(account, anyTrail(items, nil, func(t *CI) string {
					switch {
					case !asBool(t.Conf("isMultiRegionTrail")):
						return "not multi-Region"
					case !trailLogging(t):
						return "logging is off"
					case !s3DataEvents(t, "", rw.mode):
						return "does not log all S3 data events"
					}
					return ""
				}, "No multi-Region trail logs all "+strings.TrimSuffix(rw.mode, "Only")+" S3 data events"))
			},
		})
	}
	register(&Managed{
		Identifier: "CLOUDTRAIL_SECURITY_TRAIL_ENABLED", Types: []string{trailType}, Trigger: Periodic,
		EvaluateAll: func(account string, items []*CI, p Params) []Evaluation {
			return accountResult(account, anyTrail(items, nil, func(t *CI) string {
				switch {
				case !trailLogging(t):
					return "logging is off"
				case !asBool(t.Conf("isMultiRegionTrail")):
					return "not multi-Region"
				case !asBool(t.Conf("includeGlobalServiceEvents")):
					return "does not include global service events"
				case !asBool(t.Conf("logFileValidationEnabled")):
					return "log file validation is off"
				case asString(t.Conf("kmsKeyId")) == "":
					return "not encrypted with KMS"
				case !managementSelector(t, true, "All"):
					return "does not record all management events"
				}
				return ""
			}, "No trail follows the security best practices"))
		},
	})
}

// accountResult makes the one account-level evaluation of a rule.
func accountResult(account string, r Result) []Evaluation {
	return []Evaluation{{ResourceType: AccountType, ResourceID: account, Result: r}}
}

// anyTrail is COMPLIANT when one trail passes check (which returns why a trail fails, ""
// when it passes) and matches the s3BucketName/snsTopicArn/cloudWatchLogsLogGroupArn
// parameters when p has them.
func anyTrail(items []*CI, p Params, check func(t *CI) string, none string) Result {
	var why []string
	for _, t := range items {
		if t.ResourceType != trailType {
			continue
		}
		reason := check(t)
		if reason == "" && p != nil {
			switch {
			case p.Set("s3BucketName") && asString(t.Conf("s3BucketName")) != p.Str("s3BucketName"):
				reason = "delivers to another S3 bucket"
			case p.Set("snsTopicArn") && asString(t.Conf("snsTopicARN")) != p.Str("snsTopicArn"):
				reason = "notifies another SNS topic"
			case p.Set("cloudWatchLogsLogGroupArn") && !sameLogGroup(asString(t.Conf("cloudWatchLogsLogGroupArn")), p.Str("cloudWatchLogsLogGroupArn")):
				reason = "sends to another log group"
			}
		}
		if reason == "" {
			return ok()
		}
		why = append(why, t.ResourceName+": "+reason)
	}
	if len(why) > 0 {
		return fail("%s (%s)", none, strings.Join(why, "; "))
	}
	return fail("%s", none)
}

// sameLogGroup compares log group ARNs with or without the trailing ":*".
func sameLogGroup(a, b string) bool {
	return a != "" && strings.TrimSuffix(a, ":*") == strings.TrimSuffix(b, ":*")
}

// trailLogging reads a trail's logging status.
func trailLogging(t *CI) bool {
	for _, v := range []any{t.Conf("isLogging"), t.Supp("TrailStatus", "isLogging"), t.Supp("isLogging")} {
		if v != nil {
			return asBool(v)
		}
	}
	return false
}

// managementSelector says whether a trail records management events of readWrite
// ("" or All: all of them) with no excluded event sources. A trail without selectors
// records all management events.
func managementSelector(t *CI, include bool, readWrite string) bool {
	sels := asList(t.Conf("eventSelectors"))
	adv := asList(t.Conf("advancedEventSelectors"))
	if len(sels) == 0 && len(adv) == 0 {
		return include
	}
	want := strings.ToLower(readWrite)
	if want == "" || want == "all" {
		want = "all"
	}
	for _, s := range sels {
		m, _ := s.(map[string]any)
		inc := lookup(m, "includeManagementEvents")
		if inc != nil && !asBool(inc) {
			continue
		}
		if len(asList(lookup(m, "excludeManagementEventSources"))) > 0 {
			continue
		}
		rw := strings.ToLower(asString(lookup(m, "readWriteType")))
		if rw == "" {
			rw = "all"
		}
		if rw == "all" || rw == want {
			return include
		}
	}
	for _, s := range adv {
		fields := selectorFields(s)
		if !contains(fields["eventCategory"], "Management") {
			continue
		}
		ro := fields["readOnly"]
		if len(ro) == 0 || (want == "readonly" && contains(ro, "true")) || (want == "writeonly" && contains(ro, "false")) {
			if len(fields["eventSource"]) == 0 {
				return include
			}
		}
	}
	return !include
}

// s3DataEvents says whether a trail logs S3 data events for bucket ("" = every bucket) of
// readWrite ("" = both, ReadOnly, WriteOnly).
func s3DataEvents(t *CI, bucket, readWrite string) bool {
	for _, s := range asList(t.Conf("eventSelectors")) {
		m, _ := s.(map[string]any)
		rw := asString(lookup(m, "readWriteType"))
		if rw != "" && rw != "All" && (readWrite == "" || rw != readWrite) {
			continue
		}
		for _, d := range asList(lookup(m, "dataResources")) {
			if asString(lookup(d, "type")) != "AWS::S3::Object" {
				continue
			}
			for _, v := range asList(lookup(d, "values")) {
				if coversBucket(asString(v), bucket) {
					return true
				}
			}
		}
	}
	for _, s := range asList(t.Conf("advancedEventSelectors")) {
		f := selectorFields(s)
		if !contains(f["eventCategory"], "Data") || !contains(f["resources.type"], "AWS::S3::Object") {
			continue
		}
		if ro := f["readOnly"]; len(ro) > 0 && (readWrite == "" || (readWrite == "ReadOnly") != contains(ro, "true")) {
			continue
		}
		arns := f["resources.ARN"]
		if len(arns) == 0 {
			return true
		}
		for _, a := range arns {
			if coversBucket(a, bucket) {
				return true
			}
		}
	}
	return false
}

// coversBucket says whether a data resource value selects bucket's objects ("" = all).
func coversBucket(value, bucket string) bool {
	if value == "arn:aws:s3" || value == "arn:aws:s3:::" {
		return true
	}
	if bucket == "" {
		return false
	}
	return value == "arn:aws:s3:::"+bucket+"/" || strings.HasPrefix(value, "arn:aws:s3:::"+bucket+"/")
}

// selectorFields flattens an advanced event selector to field -> Equals/StartsWith values.
func selectorFields(s any) map[string][]string {
	out := map[string][]string{}
	for _, f := range asList(lookup(s, "fieldSelectors")) {
		name := asString(lookup(f, "field"))
		for _, v := range asList(lookup(f, "equals")) {
			out[name] = append(out[name], asString(v))
		}
		for _, v := range asList(lookup(f, "startsWith")) {
			out[name] = append(out[name], asString(v))
		}
	}
	return out
}
