package main

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bannin/bannin/internal/testenv"
)

// lookupOut is the aws CLI's lookup-events output.
type lookupOut struct {
	Events []struct {
		EventName       string
		Username        string
		EventSource     string
		ReadOnly        string
		CloudTrailEvent string
		Resources       []struct{ ResourceType, ResourceName string }
	}
}

type ctRecord struct {
	EventSource  string `json:"eventSource"`
	EventName    string `json:"eventName"`
	UserAgent    string `json:"userAgent"`
	ErrorCode    string `json:"errorCode"`
	UserIdentity struct {
		Type      string `json:"type"`
		ARN       string `json:"arn"`
		AccountID string `json:"accountId"`
	} `json:"userIdentity"`
	RequestParameters map[string]any `json:"requestParameters"`
}

func decodeLookup(t *testing.T, out string) lookupOut {
	t.Helper()
	var l lookupOut
	if err := json.Unmarshal([]byte(out), &l); err != nil {
		t.Fatalf("lookup-events output %q: %v", out, err)
	}
	return l
}

// TestQuickStartWithBothCLIs runs the story with aws CLI v2 and v1: a bucket, a
// trail, start logging, and the StartLogging call found in the event history.
func TestQuickStartWithBothCLIs(t *testing.T) {
	e := testenv.New(t, testenv.Options{Account: "111122223333"})
	for _, c := range []struct {
		cli    testenv.CLI
		bucket string
		trail  string
		agent  string
	}{
		{testenv.V2, "audit-logs", "main", "aws-cli/2."},
		{testenv.V1, "audit-logs-v1", "main-v1", "aws-cli/1."},
	} {
		e.Run(t, c.cli, "s3", "mb", "s3://"+c.bucket)
		e.Run(t, c.cli, "cloudtrail", "create-trail", "--name", c.trail, "--s3-bucket-name", c.bucket)
		e.Run(t, c.cli, "cloudtrail", "start-logging", "--name", c.trail)
		st := e.Run(t, c.cli, "cloudtrail", "get-trail-status", "--name", c.trail)
		if !strings.Contains(st, `"IsLogging": true`) {
			t.Errorf("%s get-trail-status = %s; want IsLogging true", c.cli, st)
		}
		out := e.Run(t, c.cli, "cloudtrail", "lookup-events", "--lookup-attributes", "AttributeKey=EventName,AttributeValue=StartLogging")
		var found bool
		for _, ev := range decodeLookup(t, out).Events {
			var rec ctRecord
			if err := json.Unmarshal([]byte(ev.CloudTrailEvent), &rec); err != nil {
				t.Fatalf("CloudTrailEvent %q: %v", ev.CloudTrailEvent, err)
			}
			if rec.RequestParameters["name"] != c.trail {
				continue
			}
			found = true
			if ev.Username != "root" || ev.EventSource != "cloudtrail.amazonaws.com" || rec.UserIdentity.Type != "Root" ||
				rec.UserIdentity.ARN != "arn:aws:iam::111122223333:root" || !strings.HasPrefix(rec.UserAgent, c.agent) || rec.ErrorCode != "" {
				t.Errorf("%s StartLogging event = %+v / %+v", c.cli, ev, rec)
			}
		}
		if !found {
			t.Errorf("%s lookup-events: no StartLogging event for %s in %s", c.cli, c.trail, out)
		}
	}
	// An error is recorded with its code, and the CLI sees AWS's error.
	out, err := e.RunErr(t, testenv.V2, "cloudtrail", "start-logging", "--name", "missing")
	if err == nil || !strings.Contains(out, "TrailNotFoundException") {
		t.Errorf("start-logging on a missing trail = %v, %s; want TrailNotFoundException", err, out)
	}
	l := decodeLookup(t, e.Run(t, testenv.V1, "cloudtrail", "lookup-events", "--max-results", "1",
		"--lookup-attributes", "AttributeKey=EventName,AttributeValue=StartLogging"))
	var rec ctRecord
	if len(l.Events) != 1 || json.Unmarshal([]byte(l.Events[0].CloudTrailEvent), &rec) != nil || rec.ErrorCode != "TrailNotFoundException" {
		t.Errorf("newest StartLogging event = %+v; want the failed one with errorCode TrailNotFoundException", l.Events)
	}

	// S3 with the high-level commands of both CLIs.
	src := filepath.Join(t.TempDir(), "report.txt")
	os.WriteFile(src, []byte("quarterly audit\n"), 0o644)
	e.Run(t, testenv.V1, "s3", "cp", src, "s3://audit-logs/reports/report.txt")
	if ls := e.Run(t, testenv.V2, "s3", "ls", "s3://audit-logs/reports/"); !strings.Contains(ls, "report.txt") {
		t.Errorf("s3 ls = %q; want report.txt", ls)
	}
	dst := filepath.Join(t.TempDir(), "copy.txt")
	e.Run(t, testenv.V2, "s3", "cp", "s3://audit-logs/reports/report.txt", dst)
	if b, _ := os.ReadFile(dst); string(b) != "quarterly audit\n" {
		t.Errorf("downloaded object = %q; want what was uploaded", b)
	}
}

// stageLogs copies testdata/AWSLogs with its event dates moved to the last few days, so the
// events are inside the retention period whenever the test runs.
func stageLogs(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	now := time.Now().UTC()
	shift := strings.NewReplacer("2026-11-20", now.AddDate(0, 0, -3).Format("2006-01-02"), "2026-11-21", now.AddDate(0, 0, -2).Format("2006-01-02"))
	err := filepath.Walk("testdata/AWSLogs", func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if strings.HasSuffix(path, ".gz") {
			b, err = gunzip(b)
			if err != nil {
				return err
			}
			b, err = gzipBytes([]byte(shift.Replace(string(b))))
		} else {
			b = []byte(shift.Replace(string(b)))
		}
		if err != nil {
			return err
		}
		out := filepath.Join(dir, path[len("testdata/"):])
		os.MkdirAll(filepath.Dir(out), 0o755)
		return os.WriteFile(out, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, "AWSLogs")
}

// TestImportAndExport loads real-shaped CloudTrail log files with bannin import, finds them
// with both CLIs, re-imports idempotently and exports CSV and JSON.
func TestImportAndExport(t *testing.T) {
	e := testenv.New(t, testenv.Options{Account: "111122223333"})
	logs := stageLogs(t)
	bin := binary(t)
	out, err := exec.Command(bin, "import", "--data-dir", e.DataDir, logs).CombinedOutput()
	if err == nil {
		t.Errorf("bannin import with a malformed file exited 0; want a failure status")
	}
	if !strings.Contains(string(out), "imported 5 new events (0 already present) from 2 files") ||
		!strings.Contains(string(out), "broken000000000.json: record 1") {
		t.Errorf("bannin import output = %s; want 5 new events from 2 files and the broken file named with its reason", out)
	}
	out, _ = exec.Command(bin, "import", "--data-dir", e.DataDir, logs).CombinedOutput()
	if !strings.Contains(string(out), "imported 0 new events (5 already present)") {
		t.Errorf("second bannin import = %s; want 0 new, 5 already present", out)
	}

	l := decodeLookup(t, e.Run(t, testenv.V2, "--region", "eu-west-1", "cloudtrail", "lookup-events",
		"--lookup-attributes", "AttributeKey=EventName,AttributeValue=AuthorizeSecurityGroupIngress"))
	if len(l.Events) != 1 || l.Events[0].Username != "ops-session" || !strings.Contains(l.Events[0].CloudTrailEvent, `"cidrIp":"0.0.0.0/0"`) {
		t.Errorf("imported AuthorizeSecurityGroupIngress = %+v; want one event by ops-session with its request", l.Events)
	}
	l = decodeLookup(t, e.Run(t, testenv.V1, "cloudtrail", "lookup-events",
		"--lookup-attributes", "AttributeKey=ResourceName,AttributeValue=audit-logs"))
	if len(l.Events) != 1 || l.Events[0].EventName != "PutBucketPolicy" || l.Events[0].Username != "Alice" {
		t.Errorf("imported events on audit-logs = %+v; want Alice's PutBucketPolicy", l.Events)
	}

	start := time.Now().UTC().AddDate(0, 0, -10).Format(time.RFC3339)
	csvOut, err := exec.Command(bin, "events", "export", "--data-dir", e.DataDir, "--format", "csv", "--start-time", start).Output()
	if err != nil {
		t.Fatalf("bannin events export: %v", err)
	}
	rows, err := csv.NewReader(strings.NewReader(string(csvOut))).ReadAll()
	if err != nil {
		t.Fatalf("export CSV: %v", err)
	}
	names := map[string]bool{}
	for _, r := range rows[1:] {
		names[r[3]] = true
	}
	if rows[0][0] != "Event ID" || !names["StopLogging"] || !names["AuthorizeSecurityGroupIngress"] || !names["StartInstances"] {
		t.Errorf("CSV export = %v; want a header and the imported events", rows)
	}
	jsonOut, err := exec.Command(bin, "events", "export", "--data-dir", e.DataDir, "--format", "json", "--lookup-attribute", "Username=Alice").Output()
	if err != nil {
		t.Fatalf("bannin events export json: %v", err)
	}
	var doc struct{ Records []map[string]any }
	if err := json.Unmarshal(jsonOut, &doc); err != nil || len(doc.Records) != 2 {
		t.Fatalf("JSON export for Alice = %d records, %v; want 2", len(doc.Records), err)
	}
	// A directory without a store is an error, not an empty history (and stays empty).
	empty := t.TempDir()
	out, err = exec.Command(bin, "events", "export", "--data-dir", empty).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "no bannin data in") {
		t.Errorf("export from an empty dir = %v, %s; want an error naming the missing data", err, out)
	}
	if ents, _ := os.ReadDir(empty); len(ents) != 0 {
		t.Errorf("export from an empty dir left %d files there", len(ents))
	}
	// The JSON export is a log file: it imports into a fresh data dir.
	f := filepath.Join(t.TempDir(), "export.json")
	os.WriteFile(f, jsonOut, 0o644)
	out, err = exec.Command(bin, "import", "--data-dir", t.TempDir(), f).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "imported 2 new events") {
		t.Errorf("re-import of the JSON export = %v, %s; want 2 new events", err, out)
	}
}

// TestImportIntoLogGroup loads real CloudTrail files into a log group, where the issue's
// filter pattern finds exactly the matching events; a second import adds nothing.
func TestImportIntoLogGroup(t *testing.T) {
	e := testenv.New(t, testenv.Options{Account: "111122223333"})
	logs := stageLogs(t)
	bin := binary(t)
	e.Run(t, testenv.V2, "logs", "create-log-group", "--log-group-name", "cloudtrail-history")
	out, err := exec.Command(bin, "import", "--data-dir", e.DataDir, "--log-group", "cloudtrail-history", logs).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "in use by another bannin serve") {
		t.Errorf("import --log-group beside a running server = %v, %s; want a refusal (the server would not see the events)", err, out)
	}
	e.Stop()
	out, err = exec.Command(bin, "import", "--data-dir", e.DataDir, "--log-group", "missing-group", logs).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "log group missing-group does not exist") {
		t.Errorf("import into a missing log group = %v, %s; want a failure naming the group", err, out)
	}
	out, _ = exec.Command(bin, "import", "--data-dir", e.DataDir, "--log-group", "cloudtrail-history", logs).CombinedOutput()
	if !strings.Contains(string(out), "imported 5 new events (0 already present)") {
		t.Errorf("bannin import --log-group = %s; want 5 new events", out)
	}
	out, _ = exec.Command(bin, "import", "--data-dir", e.DataDir, "--log-group", "cloudtrail-history", logs).CombinedOutput()
	if !strings.Contains(string(out), "imported 0 new events (5 already present)") {
		t.Errorf("second bannin import --log-group = %s; want 0 new", out)
	}
	e = testenv.New(t, testenv.Options{Account: "111122223333", DataDir: e.DataDir})
	var res struct {
		Events []struct{ LogStreamName, Message string }
	}
	raw := e.Run(t, testenv.V2, "logs", "filter-log-events", "--log-group-name", "cloudtrail-history",
		"--filter-pattern", `{ ($.eventName = "StopLogging") || ($.eventName = "PutBucketPolicy") }`)
	if err := json.Unmarshal([]byte(raw), &res); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ev := range res.Events {
		var rec ctRecord
		if err := json.Unmarshal([]byte(ev.Message), &rec); err != nil {
			t.Fatalf("log event %q: %v", ev.Message, err)
		}
		got = append(got, ev.LogStreamName+" "+rec.EventName)
	}
	want := "111122223333_CloudTrail_us-east-1 StopLogging,111122223333_CloudTrail_us-east-1 PutBucketPolicy"
	if strings.Join(got, ",") != want {
		t.Errorf("filter-log-events = %v; want %s", got, want)
	}
	// The event history is untouched by a log group import.
	l := decodeLookup(t, e.Run(t, testenv.V2, "cloudtrail", "lookup-events",
		"--lookup-attributes", "AttributeKey=EventName,AttributeValue=StopLogging"))
	if len(l.Events) != 0 {
		t.Errorf("lookup-events after a log group import = %d StopLogging events; want 0", len(l.Events))
	}
}

// TestCISInstallCommand runs `bannin cis install` against a server with the data dir's root
// credentials, then checks what it made with the aws CLI.
func TestCISInstallCommand(t *testing.T) {
	e := testenv.New(t)
	cmd := exec.Command(binary(t), "cis", "install", "--email", "secops@example.com", "--endpoint-url", e.URL,
		"--data-dir", e.DataDir, "--period", "60")
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=", "AWS_SECRET_ACCESS_KEY=", "AWS_EC2_METADATA_DISABLED=true")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "15 alarms notify arn:aws:sns:us-east-1:"+e.Account+":cis-alarms") {
		t.Fatalf("bannin cis install = %v\n%s", err, out)
	}
	var alarms struct {
		MetricAlarms []struct {
			AlarmName, MetricName string
			Period                int
			AlarmActions          []string
		}
	}
	if err := json.Unmarshal([]byte(e.Run(t, testenv.V2, "cloudwatch", "describe-alarms", "--alarm-name-prefix", "CIS-")), &alarms); err != nil {
		t.Fatal(err)
	}
	if len(alarms.MetricAlarms) != 15 || alarms.MetricAlarms[0].Period != 60 || len(alarms.MetricAlarms[0].AlarmActions) != 1 {
		t.Errorf("describe-alarms = %+v; want 15 CIS alarms of 60 s notifying the topic", alarms.MetricAlarms)
	}
	out, err = exec.Command(binary(t), "cis", "install", "--endpoint-url", e.URL).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "--email is required") {
		t.Errorf("cis install without --email = %v, %s; want a failure saying --email is required", err, out)
	}
}
