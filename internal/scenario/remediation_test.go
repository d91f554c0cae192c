package scenario_test

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bannin/bannin/internal/testenv"
)

// poll runs the aws CLI until ok accepts its output, failing the test after timeout.
func poll(t *testing.T, e *testenv.Env, timeout time.Duration, what string, ok func(out string) bool, args ...string) string {
	t.Helper()
	var out string
	for deadline := time.Now().Add(timeout); ; {
		out = e.Run(t, testenv.V2, args...)
		if ok(out) {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still %s after %s", what, out, timeout)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func compliance(rule string) func(string) bool {
	return func(out string) bool {
		var r struct {
			ComplianceByConfigRules []struct {
				ConfigRuleName string
				Compliance     struct{ ComplianceType string }
			}
		}
		_ = json.Unmarshal([]byte(out), &r)
		return len(r.ComplianceByConfigRules) == 1 && r.ComplianceByConfigRules[0].Compliance.ComplianceType == rule
	}
}

// TestStopLoggingIsRemediated is the Config issue's story, with the aws CLI v2: a trail
// watched by CLOUD_TRAIL_ENABLED with automatic remediation through an SSM Automation
// runbook; stopping the trail's logging is put right within seconds, and the history says
// who did what.
func TestStopLoggingIsRemediated(t *testing.T) {
	e := testenv.New(t)
	run := func(args ...string) string { return e.Run(t, testenv.V2, args...) }
	runbook, err := filepath.Abs("../../examples/runbooks/enable-cloudtrail.yaml")
	if err != nil {
		t.Fatal(err)
	}
	role := "arn:aws:iam::" + e.Account + ":role/RemediationRole"

	// 1. A bucket and a logging trail; the recorder records everything.
	run("s3", "mb", "s3://audit-logs")
	run("cloudtrail", "create-trail", "--name", "main", "--s3-bucket-name", "audit-logs")
	run("cloudtrail", "start-logging", "--name", "main")
	run("configservice", "put-configuration-recorder", "--configuration-recorder",
		"name=default,roleARN=arn:aws:iam::"+e.Account+":role/config-role", "--recording-group", "allSupported=true,includeGlobalResourceTypes=true")
	run("configservice", "put-delivery-channel", "--delivery-channel", "name=default,s3BucketName=audit-logs")
	run("configservice", "start-configuration-recorder", "--configuration-recorder-name", "default")

	// 2. The managed rule finds the trail logging.
	run("configservice", "put-config-rule", "--config-rule",
		`{"ConfigRuleName":"cloudtrail-enabled","Source":{"Owner":"AWS","SourceIdentifier":"CLOUD_TRAIL_ENABLED"}}`)
	poll(t, e, 20*time.Second, "cloudtrail-enabled after put-config-rule", compliance("COMPLIANT"),
		"configservice", "describe-compliance-by-config-rule", "--config-rule-names", "cloudtrail-enabled")

	// 3. The runbook, and 4. automatic remediation with it.
	run("ssm", "create-document", "--name", "EnableCloudTrail", "--document-type", "Automation",
		"--document-format", "YAML", "--content", "file://"+runbook)
	static := func(v string) map[string]any {
		return map[string]any{"StaticValue": map[string]any{"Values": []string{v}}}
	}
	rem, _ := json.Marshal([]map[string]any{{
		"ConfigRuleName": "cloudtrail-enabled", "TargetType": "SSM_DOCUMENT", "TargetId": "EnableCloudTrail",
		"Automatic": true, "MaximumAutomaticAttempts": 3, "RetryAttemptSeconds": 30,
		"Parameters": map[string]any{
			"AutomationAssumeRole": static(role), "CloudTrailName": static("main"), "CloudTrailS3BucketName": static("audit-logs"),
			"IsMultiRegionTrail": static("false"), "IsOrganizationTrail": static("false"),
			"IncludeGlobalServiceEvents": static("true"), "EnableLogFileValidation": static("true"),
		},
	}})
	out := run("configservice", "put-remediation-configurations", "--remediation-configurations", string(rem))
	if strings.Contains(out, "FailedBatches\": [{") {
		t.Fatalf("put-remediation-configurations: %s", out)
	}

	// 5. Someone stops the trail: the rule turns NON_COMPLIANT, the remediation runs, the
	// trail logs again and the rule is COMPLIANT again.
	run("cloudtrail", "stop-logging", "--name", "main")
	poll(t, e, 30*time.Second, "remediation execution", func(out string) bool {
		return strings.Contains(out, `"State": "SUCCEEDED"`)
	}, "configservice", "describe-remediation-execution-status", "--config-rule-name", "cloudtrail-enabled")
	poll(t, e, 20*time.Second, "trail status", func(out string) bool { return strings.Contains(out, `"IsLogging": true`) },
		"cloudtrail", "get-trail-status", "--name", "main")
	poll(t, e, 20*time.Second, "cloudtrail-enabled after remediation", compliance("COMPLIANT"),
		"configservice", "describe-compliance-by-config-rule", "--config-rule-names", "cloudtrail-enabled")

	// 6. The event history: StopLogging by the user, then StartLogging by the remediation role.
	var lookup struct {
		Events []struct{ EventName, Username, CloudTrailEvent string }
	}
	for _, name := range []string{"StopLogging", "StartLogging"} {
		if err := json.Unmarshal([]byte(run("cloudtrail", "lookup-events", "--lookup-attributes",
			"AttributeKey=EventName,AttributeValue="+name)), &lookup); err != nil {
			t.Fatal(err)
		}
		var who []string
		for _, ev := range lookup.Events {
			var rec struct {
				UserIdentity struct{ Type, InvokedBy, ARN string } `json:"userIdentity"`
			}
			_ = json.Unmarshal([]byte(ev.CloudTrailEvent), &rec)
			who = append(who, fmt.Sprintf("%s/%s/%s", rec.UserIdentity.Type, rec.UserIdentity.InvokedBy, rec.UserIdentity.ARN))
		}
		want := map[string]string{
			"StopLogging":  "Root//arn:aws:iam::" + e.Account + ":root",
			"StartLogging": "AssumedRole/ssm.amazonaws.com/arn:aws:sts::" + e.Account + ":assumed-role/RemediationRole/",
		}[name]
		if len(who) == 0 || !strings.HasPrefix(who[0], want) {
			t.Errorf("latest %s made by %v; want %s...", name, who, want)
		}
	}

	// The trail's configuration history: each version, with the calls that caused them.
	var hist struct {
		ConfigurationItems []struct {
			ConfigurationItemStatus string
			Configuration           string
			RelatedEvents           []string
		}
	}
	if err := json.Unmarshal([]byte(run("configservice", "get-resource-config-history", "--resource-type", "AWS::CloudTrail::Trail",
		"--resource-id", "main", "--chronological-order", "Forward")), &hist); err != nil {
		t.Fatal(err)
	}
	var logging []string
	related := 0
	for _, ci := range hist.ConfigurationItems {
		var conf struct{ IsLogging bool }
		if err := json.Unmarshal([]byte(ci.Configuration), &conf); err != nil {
			t.Fatalf("trail configuration %q: %v", ci.Configuration, err)
		}
		// Consecutive versions with the same logging state (UpdateTrail) count once.
		if v := fmt.Sprint(conf.IsLogging); len(logging) == 0 || logging[len(logging)-1] != v {
			logging = append(logging, v)
		}
		related += len(ci.RelatedEvents)
	}
	if got := strings.Join(logging, ","); !strings.HasSuffix(got, "true,false,true") {
		t.Errorf("trail history IsLogging = %s; want it logging, then not, then logging again", got)
	}
	if related == 0 {
		t.Errorf("trail history has no relatedEvents; want the calls that changed it")
	}
}
