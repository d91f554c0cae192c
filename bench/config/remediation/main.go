// Command remediation measures the Config issue's story end to end with aws-sdk-go-v2: a
// logging trail watched by the managed rule CLOUD_TRAIL_ENABLED with automatic remediation
// through the SSM Automation runbook examples/runbooks/enable-cloudtrail.yaml. Each run
// stops the trail's logging and polls DescribeComplianceByConfigRule until the rule has been
// NON_COMPLIANT and is COMPLIANT again (goal: p99 < 2 s over 100 runs). The server's own
// timestamps (StopLoggingTime, the remediation's InvocationTime, the automation's step
// times, StartLoggingTime, the evaluation's ResultRecordedTime) split each run into phases.
//
//	go build -o /tmp/bannin ./cmd/bannin && go run ./bench/config/remediation -runs 100
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/configservice"
	cstypes "github.com/aws/aws-sdk-go-v2/service/configservice/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/bannin/bannin/bench/internal/harness"
)

// debug prints every poll (BANNIN_BENCH_DEBUG=1).
var debug = os.Getenv("BANNIN_BENCH_DEBUG") != ""

const (
	account = "123456789012"
	rule    = "cloudtrail-enabled"
	trail   = "main"
	bucket  = "audit-logs"
)

func main() {
	mode := flag.String("mode", "subprocess", "subprocess (bannin binary) or inprocess (internal/server in this process)")
	bin := flag.String("bin", "/tmp/bannin", "bannin binary for -mode subprocess")
	runs := flag.Int("runs", 100, "StopLogging -> COMPLIANT runs")
	poll := flag.Duration("poll", 20*time.Millisecond, "DescribeComplianceByConfigRule polling interval")
	gap := flag.Duration("gap", 300*time.Millisecond, "random pause (0 to gap) between runs, so that StopLogging does not keep the same phase against the server's tickers")
	timeout := flag.Duration("timeout", 60*time.Second, "give up on a run after this long")
	runbook := flag.String("runbook", "examples/runbooks/enable-cloudtrail.yaml", "the remediation runbook")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of this process during the runs (useful with -mode inprocess)")
	flag.Parse()
	fmt.Println("command:", harness.CommandLine())
	fmt.Println("machine:", harness.Machine())
	if err := run(*mode, *bin, *runs, *poll, *gap, *timeout, *runbook, *cpuProfile); err != nil {
		fmt.Fprintln(os.Stderr, "remediation:", err)
		os.Exit(1)
	}
	fmt.Println("machine after:", harness.Machine())
}

type clients struct {
	ct  *cloudtrail.Client
	cfg *configservice.Client
	ssm *ssm.Client
	s3  *s3.Client
}

// sample is one run's timestamps: client clock (t0, seenNon, seenComp) and server clock
// (the rest); both are this machine's clock, the server's at millisecond precision.
type sample struct {
	t0, seenNon, seenComp               time.Time
	stopped, invoked, autoStart         time.Time
	firstStep, started, recorded, autoE time.Time
	execID                              string
}

func run(mode, bin string, runs int, poll, gap, timeout time.Duration, runbook, cpuProfile string) error {
	doc, err := os.ReadFile(runbook)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "bannin-bench-remediation-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	var srv *harness.Server
	if mode == "inprocess" {
		srv, err = harness.StartInProcess(filepath.Join(dir, "data"), account, 0)
	} else {
		srv, err = harness.StartProcess(bin, filepath.Join(dir, "data"), account)
	}
	if err != nil {
		return err
	}
	defer srv.Stop()
	cfg := srv.Config(4, 3)
	c := clients{ct: cloudtrail.NewFromConfig(cfg), cfg: configservice.NewFromConfig(cfg), ssm: ssm.NewFromConfig(cfg),
		s3: s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })}
	ctx := context.Background()
	setupStart := time.Now()
	if err := setup(ctx, c, string(doc)); err != nil {
		return fmt.Errorf("setup: %w", err)
	}
	fmt.Printf("setup (bucket, trail, recorder, rule COMPLIANT, document, remediation): %s\n", time.Since(setupStart).Round(time.Millisecond))
	fmt.Printf("%d runs, %s server, polling every %s, 0-%s between runs\n\n", runs, mode, poll, gap)

	if cpuProfile != "" {
		f, err := os.Create(cpuProfile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	cpu0, _ := harness.CPUTime(srv.Pid)
	wall0 := time.Now()
	var samples []sample
	ids := map[string]bool{}
	fmt.Printf("%4s %9s %9s %9s %9s %9s %9s %9s %9s  %s\n", "run", "total ms", "->NONms", "stop", "->invoke", "->step1", "->logging", "->recorded", "->seen", "execution")
	for i := range runs {
		time.Sleep(time.Duration(rand.Int64N(int64(gap) + 1)))
		s, err := once(ctx, c, poll, timeout)
		if err != nil {
			return fmt.Errorf("run %d: %w", i+1, err)
		}
		if ids[s.execID] {
			return fmt.Errorf("run %d: automation execution %s already seen: the remediation did not start a new one", i+1, s.execID)
		}
		ids[s.execID] = true
		samples = append(samples, s)
		fmt.Printf("%4d %9s %9s %9s %9s %9s %9s %9s %9s  %s\n", i+1, harness.Ms(s.seenComp.Sub(s.t0)), msOr(s.seenNon, s.t0),
			harness.Ms(s.stopped.Sub(s.t0.Truncate(time.Millisecond))), harness.Ms(s.invoked.Sub(s.stopped)), harness.Ms(s.firstStep.Sub(s.invoked)),
			harness.Ms(s.started.Sub(s.firstStep)), harness.Ms(s.recorded.Sub(s.started)), harness.Ms(s.seenComp.Sub(s.recorded)), s.execID)
	}
	wall := time.Since(wall0)
	cpu1, _ := harness.CPUTime(srv.Pid)
	report(samples)
	if srv.Pid != 0 {
		fmt.Printf("\nserver CPU during the runs: %s in %s wall (%.0f%% of one core)\n", (cpu1 - cpu0).Round(time.Millisecond), wall.Round(time.Millisecond), 100*float64(cpu1-cpu0)/float64(wall))
	}
	return nil
}

func msOr(t, t0 time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return harness.Ms(t.Sub(t0))
}

func report(samples []sample) {
	phase := func(name string, f func(s sample) time.Duration) {
		var ds []time.Duration
		for _, s := range samples {
			if d := f(s); d >= 0 {
				ds = append(ds, d)
			}
		}
		p50, p90, p99, mx := harness.Percentiles(ds)
		var sum time.Duration
		for _, d := range ds {
			sum += d
		}
		mean := time.Duration(0)
		if len(ds) > 0 {
			mean = sum / time.Duration(len(ds))
		}
		fmt.Printf("%-52s %5d %9s %9s %9s %9s %9s %9s\n", name, len(ds), harness.Ms(slices.Min(ds)), harness.Ms(p50), harness.Ms(p90), harness.Ms(p99), harness.Ms(mx), harness.Ms(mean))
	}
	fmt.Printf("\n%-52s %5s %9s %9s %9s %9s %9s %9s\n", "phase (ms)", "n", "min", "p50", "p90", "p99", "max", "mean")
	phase("StopLogging sent -> COMPLIANT seen (the figure)", func(s sample) time.Duration { return s.seenComp.Sub(s.t0) })
	phase("StopLogging sent -> NON_COMPLIANT seen", func(s sample) time.Duration {
		if s.seenNon.IsZero() {
			return -1
		}
		return s.seenNon.Sub(s.t0)
	})
	fmt.Println("server timestamps:")
	phase("  sent -> StopLoggingTime (call, commit)", func(s sample) time.Duration { return s.stopped.Sub(s.t0.Truncate(time.Millisecond)) })
	phase("  StopLoggingTime -> NON_COMPLIANT + remediation", func(s sample) time.Duration { return s.invoked.Sub(s.stopped) })
	phase("  remediation -> automation's first step starts", func(s sample) time.Duration { return s.firstStep.Sub(s.invoked) })
	phase("  first step -> StartLoggingTime (4 steps)", func(s sample) time.Duration { return s.started.Sub(s.firstStep) })
	phase("  StartLoggingTime -> COMPLIANT evaluation", func(s sample) time.Duration { return s.recorded.Sub(s.started) })
	phase("  COMPLIANT evaluation -> seen by the poller", func(s sample) time.Duration { return s.seenComp.Sub(s.recorded) })
	phase("  (automation start -> end, incl. VerifyLogging)", func(s sample) time.Duration { return s.autoE.Sub(s.autoStart) })
}

// once stops logging and waits for the rule to have been NON_COMPLIANT and to be COMPLIANT
// again, then reads the server's timestamps of the run and waits for the automation to end.
func once(ctx context.Context, c clients, poll, timeout time.Duration) (sample, error) {
	var s sample
	s.t0 = time.Now()
	if _, err := c.ct.StopLogging(ctx, &cloudtrail.StopLoggingInput{Name: aws.String(trail)}); err != nil {
		return s, err
	}
	deadline := s.t0.Add(timeout)
	invokedSeen := false
	for {
		state, err := compliance(ctx, c)
		if err != nil {
			return s, err
		}
		now := time.Now()
		if debug {
			ts, _ := c.ct.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: aws.String(trail)})
			fmt.Fprintf(os.Stderr, "%s %s logging=%v\n", harness.Ms(now.Sub(s.t0)), state, aws.ToBool(ts.IsLogging))
		}
		if state == "NON_COMPLIANT" && s.seenNon.IsZero() {
			s.seenNon = now
		}
		if state == "COMPLIANT" {
			if !s.seenNon.IsZero() || invokedSeen {
				s.seenComp = now
				break
			}
			// NON_COMPLIANT may fall between two polls: a remediation invoked after t0 says it
			// was committed, so the next COMPLIANT read is the end of the cycle.
			inv, err := remediationInvoked(ctx, c)
			if err != nil {
				return s, err
			}
			invokedSeen = !inv.Before(s.t0.Truncate(time.Millisecond))
			if invokedSeen {
				continue
			}
		}
		if now.After(deadline) {
			return s, fmt.Errorf("rule still %s %s after StopLogging", state, timeout)
		}
		time.Sleep(poll)
	}
	// Server timestamps.
	ts, err := c.ct.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: aws.String(trail)})
	if err != nil {
		return s, err
	}
	if ts.StopLoggingTime == nil || ts.StartLoggingTime == nil || !aws.ToBool(ts.IsLogging) {
		return s, fmt.Errorf("trail status after the run: logging %v, stop %v, start %v", aws.ToBool(ts.IsLogging), ts.StopLoggingTime, ts.StartLoggingTime)
	}
	s.stopped, s.started = *ts.StopLoggingTime, *ts.StartLoggingTime
	if s.invoked, err = remediationInvoked(ctx, c); err != nil {
		return s, err
	}
	det, err := c.cfg.GetComplianceDetailsByConfigRule(ctx, &configservice.GetComplianceDetailsByConfigRuleInput{ConfigRuleName: aws.String(rule)})
	if err != nil {
		return s, err
	}
	if len(det.EvaluationResults) != 1 || det.EvaluationResults[0].ComplianceType != cstypes.ComplianceTypeCompliant {
		return s, fmt.Errorf("GetComplianceDetailsByConfigRule: %d results; want one COMPLIANT", len(det.EvaluationResults))
	}
	s.recorded = aws.ToTime(det.EvaluationResults[0].ResultRecordedTime)
	// The automation: the newest execution, which must have started after StopLogging.
	for {
		ex, err := newestExecution(ctx, c)
		if err != nil {
			return s, err
		}
		if ex == nil || aws.ToTime(ex.ExecutionStartTime).Before(s.stopped) {
			return s, fmt.Errorf("no automation execution started after StopLogging (%s)", s.stopped.Format(time.RFC3339Nano))
		}
		s.execID, s.autoStart = aws.ToString(ex.AutomationExecutionId), aws.ToTime(ex.ExecutionStartTime)
		switch ex.AutomationExecutionStatus {
		case ssmtypes.AutomationExecutionStatusSuccess:
			s.autoE = aws.ToTime(ex.ExecutionEndTime)
			got, err := c.ssm.GetAutomationExecution(ctx, &ssm.GetAutomationExecutionInput{AutomationExecutionId: ex.AutomationExecutionId})
			if err != nil {
				return s, err
			}
			steps := got.AutomationExecution.StepExecutions
			if len(steps) == 0 || steps[0].ExecutionStartTime == nil {
				return s, fmt.Errorf("automation %s has no started step", s.execID)
			}
			s.firstStep = *steps[0].ExecutionStartTime
			return s, nil
		case ssmtypes.AutomationExecutionStatusPending, ssmtypes.AutomationExecutionStatusInprogress, ssmtypes.AutomationExecutionStatusWaiting:
		default:
			return s, fmt.Errorf("automation %s ended %s: %s", s.execID, ex.AutomationExecutionStatus, aws.ToString(ex.FailureMessage))
		}
		if time.Now().After(deadline) {
			return s, fmt.Errorf("automation %s still %s", s.execID, ex.AutomationExecutionStatus)
		}
		time.Sleep(poll)
	}
}

func compliance(ctx context.Context, c clients) (string, error) {
	out, err := c.cfg.DescribeComplianceByConfigRule(ctx, &configservice.DescribeComplianceByConfigRuleInput{ConfigRuleNames: []string{rule}})
	if err != nil {
		return "", err
	}
	if len(out.ComplianceByConfigRules) != 1 || out.ComplianceByConfigRules[0].Compliance == nil {
		return "", fmt.Errorf("DescribeComplianceByConfigRule: %d rules", len(out.ComplianceByConfigRules))
	}
	return string(out.ComplianceByConfigRules[0].Compliance.ComplianceType), nil
}

// remediationInvoked is the InvocationTime of the rule's remediation execution (the time of
// the evaluation that found the account NON_COMPLIANT and started it).
func remediationInvoked(ctx context.Context, c clients) (time.Time, error) {
	out, err := c.cfg.DescribeRemediationExecutionStatus(ctx, &configservice.DescribeRemediationExecutionStatusInput{ConfigRuleName: aws.String(rule)})
	if err != nil {
		return time.Time{}, err
	}
	if len(out.RemediationExecutionStatuses) == 0 {
		return time.Time{}, nil
	}
	return aws.ToTime(out.RemediationExecutionStatuses[0].InvocationTime), nil
}

func newestExecution(ctx context.Context, c clients) (*ssmtypes.AutomationExecutionMetadata, error) {
	var newest *ssmtypes.AutomationExecutionMetadata
	p := ssm.NewDescribeAutomationExecutionsPaginator(c.ssm, &ssm.DescribeAutomationExecutionsInput{MaxResults: aws.Int32(50)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for i := range page.AutomationExecutionMetadataList {
			m := &page.AutomationExecutionMetadataList[i]
			if newest == nil || aws.ToTime(m.ExecutionStartTime).After(aws.ToTime(newest.ExecutionStartTime)) {
				newest = m
			}
		}
		// Newest first: the first page has it.
		break
	}
	return newest, nil
}

// setup makes the story's resources once: a bucket and a logging trail, the recorder, the
// rule (waited for COMPLIANT), the runbook and the automatic remediation.
func setup(ctx context.Context, c clients, doc string) error {
	role := "arn:aws:iam::" + account + ":role/RemediationRole"
	if _, err := c.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		return err
	}
	if _, err := c.ct.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String(trail), S3BucketName: aws.String(bucket)}); err != nil {
		return err
	}
	if _, err := c.ct.StartLogging(ctx, &cloudtrail.StartLoggingInput{Name: aws.String(trail)}); err != nil {
		return err
	}
	if _, err := c.cfg.PutConfigurationRecorder(ctx, &configservice.PutConfigurationRecorderInput{ConfigurationRecorder: &cstypes.ConfigurationRecorder{
		Name: aws.String("default"), RoleARN: aws.String("arn:aws:iam::" + account + ":role/config-role"),
		RecordingGroup: &cstypes.RecordingGroup{AllSupported: true, IncludeGlobalResourceTypes: true}}}); err != nil {
		return err
	}
	if _, err := c.cfg.PutDeliveryChannel(ctx, &configservice.PutDeliveryChannelInput{DeliveryChannel: &cstypes.DeliveryChannel{
		Name: aws.String("default"), S3BucketName: aws.String(bucket)}}); err != nil {
		return err
	}
	if _, err := c.cfg.StartConfigurationRecorder(ctx, &configservice.StartConfigurationRecorderInput{ConfigurationRecorderName: aws.String("default")}); err != nil {
		return err
	}
	if _, err := c.cfg.PutConfigRule(ctx, &configservice.PutConfigRuleInput{ConfigRule: &cstypes.ConfigRule{ConfigRuleName: aws.String(rule),
		Source: &cstypes.Source{Owner: cstypes.OwnerAws, SourceIdentifier: aws.String("CLOUD_TRAIL_ENABLED")}}}); err != nil {
		return err
	}
	for deadline := time.Now().Add(30 * time.Second); ; {
		state, err := compliance(ctx, c)
		if err == nil && state == "COMPLIANT" {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("rule not COMPLIANT 30 s after PutConfigRule: %q %v", state, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := c.ssm.CreateDocument(ctx, &ssm.CreateDocumentInput{Name: aws.String("EnableCloudTrail"), Content: aws.String(doc),
		DocumentType: ssmtypes.DocumentTypeAutomation, DocumentFormat: ssmtypes.DocumentFormatYaml}); err != nil {
		return err
	}
	static := func(v string) cstypes.RemediationParameterValue {
		return cstypes.RemediationParameterValue{StaticValue: &cstypes.StaticValue{Values: []string{v}}}
	}
	out, err := c.cfg.PutRemediationConfigurations(ctx, &configservice.PutRemediationConfigurationsInput{RemediationConfigurations: []cstypes.RemediationConfiguration{{
		ConfigRuleName: aws.String(rule), TargetType: cstypes.RemediationTargetTypeSsmDocument, TargetId: aws.String("EnableCloudTrail"),
		Automatic: true, MaximumAutomaticAttempts: aws.Int32(3), RetryAttemptSeconds: aws.Int64(30),
		Parameters: map[string]cstypes.RemediationParameterValue{
			"AutomationAssumeRole": static(role), "CloudTrailName": static(trail), "CloudTrailS3BucketName": static(bucket),
			"IsMultiRegionTrail": static("false"), "IsOrganizationTrail": static("false"),
			"IncludeGlobalServiceEvents": static("true"), "EnableLogFileValidation": static("true"),
		},
	}}})
	if err != nil {
		return err
	}
	if len(out.FailedBatches) > 0 {
		return errors.New("PutRemediationConfigurations: " + aws.ToString(out.FailedBatches[0].FailureMessage))
	}
	return nil
}
