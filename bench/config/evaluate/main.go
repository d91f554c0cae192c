// Command evaluate measures change-triggered Config rule evaluation end to end with
// aws-sdk-go-v2: a recorder records 10,000 S3 buckets created through the S3 API, then 100
// change-triggered managed rules on AWS::S3::Bucket are put (their first full evaluation,
// 1,000,000 evaluations, is timed), then buckets are changed through the S3 API
// (PutBucketVersioning) and the time from the change to its evaluations being visible
// through GetComplianceDetailsByResource is measured: one change at a time (latency), at a
// paced rate (latency under load) and as fast as the clients can (sustained evaluations/s;
// goal at least 20,000).
//
//	go build -o /tmp/bannin ./cmd/bannin && go run ./bench/config/evaluate
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/configservice"
	cstypes "github.com/aws/aws-sdk-go-v2/service/configservice/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/bannin/bannin/bench/internal/harness"
)

const account = "123456789012"

// s3Rules are the change-triggered managed rules on AWS::S3::Bucket that need no parameter.
var s3Rules = []string{"S3_BUCKET_VERSIONING_ENABLED", "S3_BUCKET_SERVER_SIDE_ENCRYPTION_ENABLED", "S3_DEFAULT_ENCRYPTION_KMS",
	"S3_BUCKET_LOGGING_ENABLED", "S3_BUCKET_LEVEL_PUBLIC_ACCESS_PROHIBITED", "S3_BUCKET_PUBLIC_READ_PROHIBITED",
	"S3_BUCKET_PUBLIC_WRITE_PROHIBITED", "S3_BUCKET_SSL_REQUESTS_ONLY", "S3_BUCKET_ACL_PROHIBITED", "S3_BUCKET_DEFAULT_LOCK_ENABLED",
	"S3_BUCKET_POLICY_GRANTEE_CHECK", "S3_BUCKET_REPLICATION_ENABLED", "S3_LIFECYCLE_POLICY_CHECK", "S3_VERSION_LIFECYCLE_POLICY_CHECK",
	"S3_EVENT_NOTIFICATIONS_ENABLED"}

func main() {
	mode := flag.String("mode", "subprocess", "subprocess (bannin binary) or inprocess (internal/server in this process)")
	bin := flag.String("bin", "/tmp/bannin", "bannin binary for -mode subprocess")
	buckets := flag.Int("buckets", 10000, "S3 buckets recorded")
	rules := flag.Int("rules", 100, "change-triggered managed rules on AWS::S3::Bucket")
	samples := flag.Int("samples", 200, "changes made one at a time (latency when idle)")
	paced := flag.Int("paced", 2000, "changes in each paced phase (0: skip)")
	rates := flag.String("rate", "100,200", "changes per second in the paced phases, comma-separated (each change is 100 evaluations with 100 rules)")
	sustained := flag.Int("sustained", 5000, "changes made as fast as the clients can (0: skip)")
	clients := flag.Int("clients", 16, "concurrent clients for bucket creation and the sustained phase")
	poll := flag.Duration("poll", 5*time.Millisecond, "GetComplianceDetailsByResource polling interval")
	cpuProfile := flag.String("cpuprofile", "", "write CPU profiles of this process to FILE.setup (buckets, rules, first evaluation) and FILE.changes (useful with -mode inprocess)")
	flag.Parse()
	fmt.Println("command:", harness.CommandLine())
	fmt.Println("machine:", harness.Machine())
	b := &bench{buckets: *buckets, rules: *rules, clients: *clients, poll: *poll}
	var rs []float64
	for _, f := range strings.Split(*rates, ",") {
		r, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || r <= 0 {
			fmt.Fprintln(os.Stderr, "evaluate: -rate: want positive numbers, got", f)
			os.Exit(2)
		}
		rs = append(rs, r)
	}
	if err := b.run(*mode, *bin, *samples, *paced, rs, *sustained, *cpuProfile); err != nil {
		fmt.Fprintln(os.Stderr, "evaluate:", err)
		os.Exit(1)
	}
	fmt.Println("machine after:", harness.Machine())
}

type bench struct {
	buckets, rules, clients int
	poll                    time.Duration
	cfg                     *configservice.Client
	s3                      *s3.Client
	srv                     *harness.Server
	// versioning is each bucket's versioning status as last set (the next change flips it).
	versioning []bool
	next       atomic.Int64 // next bucket to change
	probe      atomic.Int64 // the prober's changes
}

// obs is one change: sent and seen on the client's clock, recorded (the latest
// ResultRecordedTime of its evaluations) on the server's.
type obs struct{ sent, seen, recorded time.Time }

func bucketName(i int) string { return fmt.Sprintf("bench-bucket-%05d", i) }

func (b *bench) run(mode, bin string, samples, paced int, rates []float64, sustained int, cpuProfile string) error {
	dir, err := os.MkdirTemp("", "bannin-bench-evaluate-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if mode == "inprocess" {
		b.srv, err = harness.StartInProcess(filepath.Join(dir, "data"), account, 0)
	} else {
		b.srv, err = harness.StartProcess(bin, filepath.Join(dir, "data"), account)
	}
	if err != nil {
		return err
	}
	defer b.srv.Stop()
	cfg := b.srv.Config(b.clients+4, 3)
	b.cfg = configservice.NewFromConfig(cfg)
	b.s3 = s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	b.versioning = make([]bool, b.buckets)
	ctx := context.Background()

	stop, err := profile(cpuProfile, ".setup")
	if err != nil {
		return err
	}
	if err := b.setup(ctx); err != nil {
		return fmt.Errorf("setup: %w", err)
	}
	stop()
	if stop, err = profile(cpuProfile, ".changes"); err != nil {
		return err
	}
	defer stop()
	fmt.Printf("\n%-34s %6s %7s %9s %9s %9s %9s %9s %11s %11s\n", "phase", "changes", "evals", "p50 ms", "p90 ms", "p99 ms", "max ms", "(server p99)", "evals/s", "changes/s")
	if samples > 0 {
		if err := b.phase(ctx, "one at a time", samples, 1, 0); err != nil {
			return err
		}
	}
	for _, rate := range rates {
		if paced == 0 {
			break
		}
		if err := b.phase(ctx, fmt.Sprintf("paced %.0f changes/s", rate), paced, b.clients, rate); err != nil {
			return err
		}
	}
	if sustained > 0 {
		if err := b.phase(ctx, fmt.Sprintf("unpaced, %d clients", b.clients), sustained, b.clients, 0); err != nil {
			return err
		}
	}
	return nil
}

// setup starts the recorder, creates and records the buckets, then puts the rules and
// waits for their first evaluation.
func (b *bench) setup(ctx context.Context) error {
	if _, err := b.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("config-delivery")}); err != nil {
		return err
	}
	if _, err := b.cfg.PutConfigurationRecorder(ctx, &configservice.PutConfigurationRecorderInput{ConfigurationRecorder: &cstypes.ConfigurationRecorder{
		Name: aws.String("default"), RoleARN: aws.String("arn:aws:iam::" + account + ":role/config-role"),
		RecordingGroup: &cstypes.RecordingGroup{AllSupported: true, IncludeGlobalResourceTypes: true}}}); err != nil {
		return err
	}
	if _, err := b.cfg.PutDeliveryChannel(ctx, &configservice.PutDeliveryChannelInput{DeliveryChannel: &cstypes.DeliveryChannel{
		Name: aws.String("default"), S3BucketName: aws.String("config-delivery")}}); err != nil {
		return err
	}
	if _, err := b.cfg.StartConfigurationRecorder(ctx, &configservice.StartConfigurationRecorderInput{ConfigurationRecorderName: aws.String("default")}); err != nil {
		return err
	}

	t0 := time.Now()
	var next atomic.Int64
	err := parallel(b.clients, func() error {
		for {
			i := int(next.Add(1)) - 1
			if i >= b.buckets {
				return nil
			}
			if _, err := b.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucketName(i))}); err != nil {
				return fmt.Errorf("CreateBucket %s: %w", bucketName(i), err)
			}
		}
	})
	if err != nil {
		return err
	}
	created := time.Since(t0)
	for deadline := time.Now().Add(5 * time.Minute); ; time.Sleep(100 * time.Millisecond) {
		out, err := b.cfg.GetDiscoveredResourceCounts(ctx, &configservice.GetDiscoveredResourceCountsInput{ResourceTypes: []string{"AWS::S3::Bucket"}})
		if err != nil {
			return err
		}
		if out.TotalDiscoveredResources >= int64(b.buckets+1) {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("only %d buckets recorded", out.TotalDiscoveredResources)
		}
	}
	fmt.Printf("%d buckets created in %s (%d clients, %.0f/s); all recorded %s after the first\n", b.buckets, created.Round(time.Millisecond),
		b.clients, float64(b.buckets)/created.Seconds(), time.Since(t0).Round(time.Millisecond))

	// The rules, then their first evaluation: every rule against every bucket.
	t0 = time.Now()
	var names []string
	for i := range b.rules {
		r := cstypes.ConfigRule{ConfigRuleName: aws.String(fmt.Sprintf("rule-%03d", i))}
		if i%10 == 9 {
			r.Source = &cstypes.Source{Owner: cstypes.OwnerAws, SourceIdentifier: aws.String("REQUIRED_TAGS")}
			r.InputParameters = aws.String(fmt.Sprintf(`{"tag1Key":"team","tag2Key":"k%d"}`, i))
			r.Scope = &cstypes.Scope{ComplianceResourceTypes: []string{"AWS::S3::Bucket"}}
		} else {
			r.Source = &cstypes.Source{Owner: cstypes.OwnerAws, SourceIdentifier: aws.String(s3Rules[i%len(s3Rules)])}
		}
		if _, err := b.cfg.PutConfigRule(ctx, &configservice.PutConfigRuleInput{ConfigRule: &r}); err != nil {
			return fmt.Errorf("PutConfigRule %s: %w", *r.ConfigRuleName, err)
		}
		names = append(names, *r.ConfigRuleName)
	}
	put := time.Since(t0)
	for deadline := time.Now().Add(10 * time.Minute); ; time.Sleep(200 * time.Millisecond) {
		done := 0
		for chunk := range slices.Chunk(names, 25) {
			out, err := b.cfg.DescribeConfigRuleEvaluationStatus(ctx, &configservice.DescribeConfigRuleEvaluationStatusInput{ConfigRuleNames: chunk})
			if err != nil {
				return err
			}
			for _, st := range out.ConfigRulesEvaluationStatus {
				if st.LastSuccessfulEvaluationTime != nil {
					done++
				}
			}
		}
		if done == len(names) {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d rules evaluated after 10 minutes", done, len(names))
		}
	}
	took := time.Since(t0)
	// Check: one bucket has a result of every rule.
	res, err := b.results(ctx, bucketName(b.buckets-1))
	if err != nil {
		return err
	}
	if len(res) != b.rules {
		return fmt.Errorf("%s has %d evaluation results; want %d", bucketName(b.buckets-1), len(res), b.rules)
	}
	n := b.rules * (b.buckets + 1)
	fmt.Printf("%d rules put in %s; their first evaluation (%d rules x %d buckets = %d evaluations) done %s after the first put: %.0f evaluations/s\n",
		b.rules, put.Round(time.Millisecond), b.rules, b.buckets+1, n, took.Round(time.Millisecond), float64(n)/took.Seconds())
	return nil
}

// results is every rule's latest evaluation of a bucket: ResultRecordedTime by rule.
func (b *bench) results(ctx context.Context, bucket string) (map[string]time.Time, error) {
	out := map[string]time.Time{}
	in := &configservice.GetComplianceDetailsByResourceInput{ResourceType: aws.String("AWS::S3::Bucket"), ResourceId: aws.String(bucket),
		ComplianceTypes: []cstypes.ComplianceType{cstypes.ComplianceTypeCompliant, cstypes.ComplianceTypeNonCompliant, cstypes.ComplianceTypeNotApplicable}}
	for {
		page, err := b.cfg.GetComplianceDetailsByResource(ctx, in)
		if err != nil {
			return nil, err
		}
		for _, r := range page.EvaluationResults {
			if q := r.EvaluationResultIdentifier; q != nil && q.EvaluationResultQualifier != nil {
				out[aws.ToString(q.EvaluationResultQualifier.ConfigRuleName)] = aws.ToTime(r.ResultRecordedTime)
			}
		}
		if page.NextToken == nil {
			return out, nil
		}
		in.NextToken = page.NextToken
	}
}

// change flips a bucket's versioning and waits until every rule has evaluated the bucket
// since; it returns when the change was sent, when the evaluations were seen, and the
// latest ResultRecordedTime (the server's time of the evaluations).
func (b *bench) change(ctx context.Context, i int) (sent, seen, recorded time.Time, err error) {
	st := s3types.BucketVersioningStatusEnabled
	if b.versioning[i] {
		st = s3types.BucketVersioningStatusSuspended
	}
	b.versioning[i] = !b.versioning[i]
	sent = time.Now()
	if _, err = b.s3.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(bucketName(i)),
		VersioningConfiguration: &s3types.VersioningConfiguration{Status: st}}); err != nil {
		return
	}
	since := sent.Truncate(time.Millisecond)
	for deadline := sent.Add(5 * time.Minute); ; time.Sleep(b.poll) {
		var res map[string]time.Time
		if res, err = b.results(ctx, bucketName(i)); err != nil {
			return
		}
		seen = time.Now()
		fresh := 0
		recorded = time.Time{}
		for _, t := range res {
			if !t.Before(since) {
				fresh++
			}
			if t.After(recorded) {
				recorded = t
			}
		}
		if fresh == b.rules {
			return
		}
		if seen.After(deadline) {
			err = fmt.Errorf("%s: %d of %d rules evaluated the change after 5 minutes", bucketName(i), fresh, b.rules)
			return
		}
	}
}

// phase makes n changes of distinct buckets. One at a time: each change waits until its
// evaluations are visible. Otherwise conc clients send the changes, paced at rate changes/s
// in total or as fast as they can (rate 0), without waiting for the evaluations; meanwhile
// a prober changes one more bucket every 200 ms and waits for its evaluations (the latency
// a user sees under that load, without adding polling load), and afterwards every change's
// evaluations are read back (ResultRecordedTime: when the server evaluated it).
func (b *bench) phase(ctx context.Context, name string, n, conc int, rate float64) error {
	if b.next.Load()+int64(n) > int64(b.buckets-500) {
		b.next.Store(0)
	}
	first := int(b.next.Load())
	b.next.Add(int64(n))
	got := make([]obs, n)
	start := time.Now()
	if name == "one at a time" {
		for k := range n {
			sent, seen, rec, err := b.change(ctx, first+k)
			if err != nil {
				return err
			}
			got[k] = obs{sent, seen, rec}
		}
		b.report(name, n, start, time.Now(), got, func(o obs) (time.Duration, time.Duration) { return o.seen.Sub(o.sent), o.recorded.Sub(o.sent) })
		return nil
	}
	// The prober.
	var probes []time.Duration
	probeDone, probeStop := make(chan error, 1), make(chan struct{})
	go func() {
		for j := 0; ; j++ {
			select {
			case <-probeStop:
				probeDone <- nil
				return
			case <-time.After(200 * time.Millisecond):
			}
			i := b.buckets - 1 - int(b.probe.Add(1))%500
			sent, seen, _, err := b.change(ctx, i)
			if err != nil {
				probeDone <- err
				return
			}
			probes = append(probes, seen.Sub(sent))
		}
	}()
	var idx atomic.Int64
	err := parallel(conc, func() error {
		for {
			k := int(idx.Add(1)) - 1
			if k >= n {
				return nil
			}
			if rate > 0 {
				if d := time.Until(start.Add(time.Duration(float64(k) / rate * float64(time.Second)))); d > 0 {
					time.Sleep(d)
				}
			}
			i := first + k
			st := s3types.BucketVersioningStatusEnabled
			if b.versioning[i] {
				st = s3types.BucketVersioningStatusSuspended
			}
			b.versioning[i] = !b.versioning[i]
			got[k].sent = time.Now()
			if _, err := b.s3.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(bucketName(i)),
				VersioningConfiguration: &s3types.VersioningConfiguration{Status: st}}); err != nil {
				return err
			}
		}
	})
	if err != nil {
		close(probeStop)
		<-probeDone
		return err
	}
	sentAll := time.Now()
	// Wait for the last changes (the stream is processed in order).
	fresh := func(k int) (int, time.Time, error) {
		res, err := b.results(ctx, bucketName(first+k))
		if err != nil {
			return 0, time.Time{}, err
		}
		var rec time.Time
		f := 0
		for _, t := range res {
			if !t.Before(got[k].sent.Truncate(time.Millisecond)) {
				f++
			}
			if t.After(rec) {
				rec = t
			}
		}
		return f, rec, nil
	}
	for k := n - 1; k >= max(0, n-conc); k-- {
		for deadline := time.Now().Add(10 * time.Minute); ; time.Sleep(b.poll) {
			f, _, err := fresh(k)
			if err != nil {
				return err
			}
			if f == b.rules {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s: %d of %d rules evaluated after 10 minutes", bucketName(first+k), f, b.rules)
			}
		}
	}
	allSeen := time.Now()
	close(probeStop)
	if err := <-probeDone; err != nil {
		return fmt.Errorf("prober: %w", err)
	}
	idx.Store(0)
	err = parallel(conc, func() error {
		for {
			k := int(idx.Add(1)) - 1
			if k >= n {
				return nil
			}
			f, rec, err := fresh(k)
			if err != nil {
				return err
			}
			if f != b.rules {
				return fmt.Errorf("%s: %d of %d rules evaluated its change", bucketName(first+k), f, b.rules)
			}
			got[k].seen, got[k].recorded = allSeen, rec
		}
	})
	if err != nil {
		return err
	}
	fmt.Printf("  (%d changes sent in %s, %.0f/s; all %d evaluations visible %s after the first change)\n",
		n, sentAll.Sub(start).Round(time.Millisecond), float64(n)/sentAll.Sub(start).Seconds(), n*b.rules, allSeen.Sub(start).Round(time.Millisecond))
	p50, p90, p99, mx := harness.Percentiles(probes)
	fmt.Printf("  prober (one change every 200 ms, waited for): n=%d p50 %s p90 %s p99 %s max %s ms\n", len(probes), harness.Ms(p50), harness.Ms(p90), harness.Ms(p99), harness.Ms(mx))
	b.report(name, n, start, allSeen, got, func(o obs) (time.Duration, time.Duration) { return -1, o.recorded.Sub(o.sent) })
	b.perSecond(got, func(o obs) time.Time { return o.recorded })
	return nil
}

func (b *bench) report(name string, n int, start, end time.Time, got []obs, f func(obs) (time.Duration, time.Duration)) {
	var seen, server []time.Duration
	for _, o := range got {
		a, s := f(o)
		if a >= 0 {
			seen = append(seen, a)
		}
		server = append(server, s)
	}
	p50, p90, p99, mx := harness.Percentiles(seen)
	_, _, sp99, _ := harness.Percentiles(server)
	col := func(d time.Duration) string {
		if len(seen) == 0 {
			return "-"
		}
		return harness.Ms(d)
	}
	wall := end.Sub(start).Seconds()
	fmt.Printf("%-34s %6d %7d %9s %9s %9s %9s %9s %11.0f %11.0f\n", name, n, n*b.rules, col(p50), col(p90), col(p99), col(mx), harness.Ms(sp99),
		float64(n*b.rules)/wall, float64(n)/wall)
	if len(seen) == 0 {
		sp50, sp90, sp99, smx := harness.Percentiles(server)
		fmt.Printf("  (server ResultRecordedTime - sent: p50 %s p90 %s p99 %s max %s ms: from the call to the start of the transaction that evaluated it)\n",
			harness.Ms(sp50), harness.Ms(sp90), harness.Ms(sp99), harness.Ms(smx))
	}
}

// perSecond prints how many evaluations the server recorded in each second of the phase
// (by ResultRecordedTime, the start of the consumer's batch).
func (b *bench) perSecond(got []obs, at func(obs) time.Time) {
	counts := map[int64]int{}
	var lo, hi int64 = 1 << 62, 0
	for _, o := range got {
		s := at(o).Unix()
		counts[s] += b.rules
		lo, hi = min(lo, s), max(hi, s)
	}
	var parts []string
	var inner []int
	for s := lo; s <= hi; s++ {
		parts = append(parts, strconv.Itoa(counts[s]))
		if s > lo && s < hi {
			inner = append(inner, counts[s])
		}
	}
	line := "  evaluations recorded per second (by ResultRecordedTime): " + strings.Join(parts, " ")
	if len(inner) > 0 {
		sum := 0
		for _, c := range inner {
			sum += c
		}
		line += fmt.Sprintf("; mean of the full seconds %d/s", sum/len(inner))
	}
	fmt.Println(line)
}

// profile writes a CPU profile of this process to name+suffix until stop is called (nothing
// if name is "").
func profile(name, suffix string) (stop func(), err error) {
	if name == "" {
		return func() {}, nil
	}
	f, err := os.Create(name + suffix)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// parallel runs f on n goroutines and returns the first error.
func parallel(n int, f func() error) error {
	var wg sync.WaitGroup
	errs := make([]error, n)
	for g := range n {
		wg.Add(1)
		go func() { defer wg.Done(); errs[g] = f() }()
	}
	wg.Wait()
	return errors.Join(errs...)
}
