// Command calls measures recorded write calls over HTTP on loopback: N concurrent
// aws-sdk-go-v2 clients call CloudTrail AddTags (a mutating call that changes the trail's
// tags and is recorded as a CloudTrail event in the same transaction) for a fixed time, then
// the benchmark checks that every successful call is in the event history.
//
//	go build -o /tmp/bannin ./cmd/bannin && go run ./bench/calls -duration 20s
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/bannin/bannin/bench/internal/harness"
	"github.com/bannin/bannin/internal/store"
	"github.com/bannin/bannin/internal/store/sqlite"
	"github.com/bannin/bannin/internal/trail"
)

const account = "111122223333"

var stallMin *time.Duration

func main() {
	mode := flag.String("mode", "subprocess", "subprocess (bannin binary, its own GC and scheduler) or inprocess (internal/server in this process)")
	bin := flag.String("bin", "/tmp/bannin", "bannin binary for -mode subprocess")
	clients := flag.Int("clients", 50, "concurrent callers")
	duration := flag.Duration("duration", 20*time.Second, "measured time per client mode")
	warmup := flag.Duration("warmup", 2*time.Second, "calls before measuring (recorded and verified, not in the figures)")
	maxCalls := flag.Int64("max-calls", 2_000_000, "stop after this many calls per client mode")
	clientModes := flag.String("client", "both", "shared (one SDK client for all callers), each (one per caller), both, raw (plain HTTP requests signed with the SDK's SigV4 signer: a lean load generator), or presigned (raw requests signed before the run and written to kept-alive connections: the leanest; needs -rate)")
	rate := flag.Float64("rate", 0, "open loop: offer this many calls/s on a fixed schedule (latency counted from each call's scheduled time, queueing included; -clients bounds the calls in flight); 0: closed loop")
	stallMin = flag.Duration("stall", 50*time.Millisecond, "report stretches of at least this long in which no call completed")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of this process during the measured runs (in-process mode: server and clients)")
	flag.Parse()

	fmt.Println("command:", harness.CommandLine())
	fmt.Println("machine:", harness.Machine())
	if err := run(*mode, *bin, *clients, *duration, *warmup, *maxCalls, *clientModes, *cpuProfile, *rate); err != nil {
		fmt.Fprintln(os.Stderr, "calls:", err)
		os.Exit(1)
	}
}

type result struct {
	name          string
	ok, failed    int64
	warmOK        int64
	window        time.Duration
	lat           []time.Duration
	clientCPU     time.Duration
	serverCPU     time.Duration
	errs          map[string]int64
	batches, upds int64
	// done holds when each measured call completed (since the window opened), for
	// finding stalls: stretches in which no call completed.
	done []time.Duration
}

func run(mode, bin string, clients int, duration, warmup time.Duration, maxCalls int64, clientModes, cpuProfile string, rate float64) error {
	dir, err := os.MkdirTemp("", "bannin-bench-calls-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	start := func() (*harness.Server, error) {
		if mode == "inprocess" {
			return harness.StartInProcess(dir, account, 0)
		}
		return harness.StartProcess(bin, dir, account)
	}
	srv, err := start()
	if err != nil {
		return err
	}
	stopped := false
	defer func() {
		if !stopped {
			srv.Stop()
		}
	}()
	ctx := context.Background()
	cfg := srv.Config(clients, 1)

	// Set up: a bucket and a trail.
	bucket := "bench-trail-logs"
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		fmt.Printf("NOTE: S3 CreateBucket failed (%v);\n      seeding the bucket's resource record directly into the store so CreateTrail can find it.\n", err)
		if err := srv.Stop(); err != nil {
			return fmt.Errorf("stop server: %w", err)
		}
		if err := seedBucket(dir, bucket); err != nil {
			return err
		}
		if srv, err = start(); err != nil {
			return err
		}
		cfg = srv.Config(clients, 1)
	}
	ct := cloudtrail.NewFromConfig(cfg)
	tr, err := ct.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("bench"), S3BucketName: aws.String(bucket)})
	if err != nil {
		return fmt.Errorf("CreateTrail: %w", err)
	}
	arn := aws.ToString(tr.TrailARN)
	histStart := time.Now().Add(-time.Minute)

	if cpuProfile != "" {
		f, err := os.Create(cpuProfile)
		if err != nil {
			return err
		}
		pprof.StartCPUProfile(f)
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}

	var modes []string
	switch clientModes {
	case "both":
		modes = []string{"shared", "each"}
	case "presigned":
		if rate <= 0 {
			return fmt.Errorf("-client presigned needs -rate (the requests are signed ahead, as many as the run offers)")
		}
		modes = []string{clientModes}
	case "shared", "each", "raw":
		modes = []string{clientModes}
	default:
		return fmt.Errorf("-client %q: want shared, each, both, raw or presigned", clientModes)
	}
	var results []*result
	var total int64
	for _, m := range modes {
		r := bench(ctx, srv, cfg, arn, m, clients, duration, warmup, maxCalls, rate)
		results = append(results, r)
		total += r.ok + r.warmOK
	}

	if rate > 0 {
		fmt.Printf("\nrecorded write calls: CloudTrail AddTags on one trail, open loop: %.0f calls/s offered (at most %d in flight), %s server, %s measured after %s warm-up;\nlatency from each call's scheduled start\n\n", rate, clients, mode, duration, warmup)
	} else {
		fmt.Printf("\nrecorded write calls: CloudTrail AddTags on one trail, %d concurrent callers, %s server, %s measured after %s warm-up\n\n", clients, mode, duration, warmup)
	}
	fmt.Printf("%-8s %9s %7s %10s %8s %8s %8s %8s %12s %12s\n", "client", "calls", "failed", "calls/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "client CPU", "server CPU")
	for _, r := range results {
		p50, p90, p99, mx := harness.Percentiles(r.lat)
		cores := float64(runtime.NumCPU())
		srvCPU := "(same proc)"
		if srv.Pid != 0 {
			srvCPU = fmt.Sprintf("%.0f%%", 100*r.serverCPU.Seconds()/r.window.Seconds()/cores)
		}
		fmt.Printf("%-8s %9d %7d %10.0f %8s %8s %8s %8s %11.0f%% %12s\n", r.name, r.ok, r.failed, float64(r.ok)/r.window.Seconds(),
			harness.Ms(p50), harness.Ms(p90), harness.Ms(p99), harness.Ms(mx), 100*r.clientCPU.Seconds()/r.window.Seconds()/cores, srvCPU)
		for e, n := range r.errs {
			fmt.Printf("         error %s: %d\n", e, n)
		}
		if st := stalls(r.done, *stallMin); st != "" {
			fmt.Printf("         stalls (no call completed for >= %s; start s+duration ms): %s\n", *stallMin, st)
		}
		if sl := slowSpread(r.lat, r.done, 10*time.Millisecond, 100*time.Millisecond); sl != "" {
			fmt.Printf("         %s\n", sl)
		}
		if r.upds > 0 {
			fmt.Printf("         group commit: %d updates in %d transactions (%.1f per commit)\n", r.upds, r.batches, float64(r.upds)/float64(r.batches))
		}
	}
	fmt.Println("(CPU shares are of all", runtime.NumCPU(), "cores; the clients run on the same cores as the server)")

	// Every successful call must be in the event history.
	fmt.Printf("\nverify: %d successful AddTags calls (warm-up included)\n", total)
	vstart := time.Now()
	got, pages, retries, plats, err := countAPI(ctx, cloudtrail.NewFromConfig(srv.Config(1, 3)), histStart, 3*time.Minute)
	if err != nil {
		fmt.Printf("  through LookupEvents (API): error after %d events: %v\n", got, err)
	} else {
		fmt.Printf("  through LookupEvents (API, 50 per page): %d AddTags events, %d pages in %s  %s\n", got, pages, time.Since(vstart).Round(time.Millisecond), verdict(got, total))
	}
	if k := len(plats) / 10; k > 0 {
		first, _, _, _ := harness.Percentiles(slices.Clone(plats[:k]))
		last, _, _, _ := harness.Percentiles(slices.Clone(plats[len(plats)-k:]))
		p50, p90, p99, mx := harness.Percentiles(slices.Clone(plats))
		fmt.Printf("  (page time: median of the first tenth of the pages %s ms, of the last tenth %s ms; all pages p50 %s p90 %s p99 %s max %s ms)\n",
			harness.Ms(first), harness.Ms(last), harness.Ms(p50), harness.Ms(p90), harness.Ms(p99), harness.Ms(mx))
	}
	if retries > 0 {
		fmt.Printf("  (%d page requests were retried: the SDK's client-side \"use of closed network connection\" race, see harness.Config)\n", retries)
	}
	if err := srv.Stop(); err != nil {
		return fmt.Errorf("stop server: %w", err)
	}
	stopped = true
	n, err := countStore(dir, histStart)
	if err != nil {
		return err
	}
	fmt.Printf("  in the store after shutdown (internal/store/sqlite): %d AddTags events  %s\n", n, verdict(n, total))
	if n != total || got != total {
		return errors.New("event history does not match the successful calls")
	}
	return nil
}

// stalls lists the stretches of at least `least` in which no call completed, from the sorted
// completion times (at most 20, then how many more).
// slowSpread tells whether the calls slower than over came in bursts (a stall that delays
// every call in flight) or spread out (queueing): how many windows of the given length they
// completed in, and the share of them in the busiest tenth of those windows.
func slowSpread(lat, done []time.Duration, over, window time.Duration) string {
	per := map[int64]int{}
	n := 0
	var last time.Duration
	for i, d := range lat {
		last = max(last, done[i])
		if d >= over {
			per[int64(done[i]/window)]++
			n++
		}
	}
	if n == 0 {
		return ""
	}
	counts := make([]int, 0, len(per))
	for _, c := range per {
		counts = append(counts, c)
	}
	slices.Sort(counts)
	slices.Reverse(counts)
	top := 0
	for _, c := range counts[:max(1, len(counts)/10)] {
		top += c
	}
	return fmt.Sprintf("calls >= %s: %d (%.2f%%), completed in %d of %d %s windows; the busiest tenth of those windows hold %.0f%% of them",
		over, n, 100*float64(n)/float64(len(lat)), len(per), int64(last/window)+1, window, 100*float64(top)/float64(n))
}

func stalls(done []time.Duration, least time.Duration) string {
	slices.Sort(done)
	var out []string
	n := 0
	for i := 1; i < len(done); i++ {
		if gap := done[i] - done[i-1]; gap >= least {
			n++
			if len(out) < 20 {
				out = append(out, fmt.Sprintf("%.2f+%.0f", done[i-1].Seconds(), float64(gap)/1e6))
			}
		}
	}
	if n > len(out) {
		out = append(out, fmt.Sprintf("(%d more)", n-len(out)))
	}
	return strings.Join(out, " ")
}

func verdict(got, want int64) string {
	if got == want {
		return "OK (equal)"
	}
	return fmt.Sprintf("MISMATCH: want %d", want)
}

// bench runs one client mode: warm-up, then the measured window.
func bench(ctx context.Context, srv *harness.Server, cfg aws.Config, arn, mode string, clients int, duration, warmup time.Duration, maxCalls int64, rate float64) *result {
	shared := cloudtrail.NewFromConfig(cfg)
	raw := newRawClient(srv, clients)
	var pre *presigned
	if mode == "presigned" {
		var err error
		if pre, err = raw.presign(arn, int(rate*(warmup+duration).Seconds()*1.02)+4*clients); err != nil {
			return &result{name: mode, errs: map[string]int64{"presign: " + err.Error(): 1}}
		}
	}
	var measuring atomic.Bool
	var calls atomic.Int64
	stop := make(chan struct{})
	// Open loop: a pacer hands out scheduled start times; a call that cannot start on time
	// (every caller busy) waits, and that wait counts in its latency.
	type ticket struct {
		at       time.Time
		measured bool
	}
	var tickets chan ticket
	if rate > 0 {
		tickets = make(chan ticket, 1<<20)
		go func() {
			defer close(tickets)
			t0 := time.Now()
			for k := 0; ; k++ {
				at := t0.Add(time.Duration(float64(k) * float64(time.Second) / rate))
				if d := time.Until(at); d > 0 {
					time.Sleep(d)
				}
				select {
				case <-stop:
					return
				case tickets <- ticket{at: at, measured: measuring.Load()}:
				default: // a million calls behind: the server is far past saturation
				}
			}
		}()
	}
	lats := make([][]time.Duration, clients)
	dones := make([][]time.Duration, clients)
	var window0 atomic.Int64 // UnixNano when the measured window opened
	oks := make([]int64, clients)
	warm := make([]int64, clients)
	fails := make([]int64, clients)
	errs := make([]map[string]int64, clients)
	var wg sync.WaitGroup
	for w := range clients {
		c := shared
		if mode == "each" {
			c = cloudtrail.NewFromConfig(cfg)
		}
		errs[w] = map[string]int64{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := fmt.Sprintf("bench-%02d", w%40)
			wc := &wireConn{addr: strings.TrimPrefix(srv.URL, "http://")}
			defer func() {
				if wc.conn != nil {
					wc.conn.Close()
				}
			}()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				m := false
				var t0 time.Time
				if tickets != nil {
					var tk ticket
					var ok bool
					select {
					case <-stop:
						return
					case tk, ok = <-tickets:
						if !ok {
							return
						}
					}
					t0, m = tk.at, tk.measured
				}
				if calls.Add(1) > maxCalls {
					return
				}
				in := &cloudtrail.AddTagsInput{ResourceId: aws.String(arn),
					TagsList: []cttypes.Tag{{Key: aws.String(key), Value: aws.String(fmt.Sprintf("%s-%d", mode, i))}}}
				if tickets == nil {
					m = measuring.Load()
					t0 = time.Now()
				}
				var err error
				if mode == "presigned" {
					err = pre.do(wc)
				} else if mode == "raw" {
					err = raw.addTags(ctx, arn, key, fmt.Sprintf("%s-%d", mode, i))
				} else {
					_, err = c.AddTags(ctx, in)
				}
				d := time.Since(t0)
				if err != nil {
					fails[w]++
					var ae smithy.APIError
					var re *rawError
					if errors.As(err, &ae) {
						errs[w][ae.ErrorCode()]++
					} else if errors.As(err, &re) {
						errs[w][re.code]++
					} else {
						errs[w][err.Error()]++
					}
					continue
				}
				if m && (tickets != nil || measuring.Load()) {
					oks[w]++
					lats[w] = append(lats[w], d)
					dones[w] = append(dones[w], time.Duration(time.Now().UnixNano()-window0.Load()))
				} else {
					warm[w]++
				}
			}
		}()
	}
	time.Sleep(warmup)
	var st0 sqlite.Stats
	if srv.Inner != nil {
		st0 = srv.Inner.Store.Stats()
	}
	c0, _ := harness.CPUTime(0)
	s0, _ := harness.CPUTime(srv.Pid)
	t0 := time.Now()
	window0.Store(t0.UnixNano())
	measuring.Store(true)
	deadline := time.After(duration)
	tick := time.NewTicker(10 * time.Millisecond)
loop:
	for {
		select {
		case <-deadline:
			break loop
		case <-tick.C:
			if calls.Load() > maxCalls {
				break loop
			}
		}
	}
	tick.Stop()
	measuring.Store(false)
	window := time.Since(t0)
	c1, _ := harness.CPUTime(0)
	s1, _ := harness.CPUTime(srv.Pid)
	close(stop)
	wg.Wait()
	r := &result{name: mode, window: window, clientCPU: c1 - c0, errs: map[string]int64{}}
	if tickets != nil {
		// Calls scheduled in the window that never started: the backlog of a saturated server.
		for tk := range tickets {
			if tk.measured {
				r.errs["not started by the end (open-loop backlog)"]++
			}
		}
	}
	if srv.Pid != 0 {
		r.serverCPU = s1 - s0
	}
	if srv.Inner != nil {
		st1 := srv.Inner.Store.Stats()
		r.batches, r.upds = st1.Batches-st0.Batches, st1.Updates-st0.Updates
	}
	for w := range clients {
		r.ok += oks[w]
		r.warmOK += warm[w]
		r.failed += fails[w]
		r.lat = append(r.lat, lats[w]...)
		r.done = append(r.done, dones[w]...)
		for e, n := range errs[w] {
			r.errs[e] += n
		}
	}
	return r
}

// countAPI counts the AddTags events since start through LookupEvents, page by page. A page
// whose body fails to decode is asked for again with the same token (at most 5 times in a
// row) and counted in retries: the SDK's known client-side race, see harness.Config.
func countAPI(ctx context.Context, ct *cloudtrail.Client, since time.Time, limit time.Duration) (n int64, pages, retries int, lats []time.Duration, err error) {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	in := &cloudtrail.LookupEventsInput{StartTime: aws.Time(since), EndTime: aws.Time(time.Now().Add(time.Minute)), MaxResults: aws.Int32(50),
		LookupAttributes: []cttypes.LookupAttribute{{AttributeKey: cttypes.LookupAttributeKeyEventName, AttributeValue: aws.String("AddTags")}}}
	for again := 0; ; {
		t0 := time.Now()
		out, err := ct.LookupEvents(ctx, in)
		if err != nil {
			if again++; again > 5 || ctx.Err() != nil {
				return n, pages, retries, lats, err
			}
			retries++
			continue
		}
		again = 0
		lats = append(lats, time.Since(t0))
		if ar, ok := retry.GetAttemptResults(out.ResultMetadata); ok && len(ar.Results) > 1 {
			retries += len(ar.Results) - 1
		}
		pages++
		n += int64(len(out.Events))
		if out.NextToken == nil {
			return n, pages, retries, lats, nil
		}
		in.NextToken = out.NextToken
	}
}

// countStore counts the AddTags events since start in the stopped server's store.
func countStore(dir string, since time.Time) (int64, error) {
	st, err := sqlite.Open(dir, sqlite.Options{})
	if err != nil {
		return 0, err
	}
	defer st.Close()
	var n int64
	err = st.View(context.Background(), func(tx store.ReadTx) error {
		q := store.EventQuery{Account: account, Region: harness.Region, AttributeKey: store.AttrEventName, AttributeValue: "AddTags",
			Start: since, Limit: 10000}
		for {
			es, next, err := tx.LookupEvents(context.Background(), q)
			if err != nil {
				return err
			}
			n += int64(len(es))
			if next == "" {
				return nil
			}
			q.NextToken = next
		}
	})
	return n, err
}

// seedBucket records an S3 bucket resource in a stopped server's store, for when S3
// CreateBucket is not served yet; CreateTrail only checks that the bucket exists.
func seedBucket(dir, bucket string) error {
	st, err := sqlite.Open(dir, sqlite.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	return st.Update(context.Background(), func(tx store.Tx) error {
		return tx.PutResource(context.Background(), &store.Resource{Account: account, Region: harness.Region, Type: trail.BucketType,
			ID: bucket, Name: bucket, ARN: "arn:aws:s3:::" + bucket, Config: []byte(`{}`)})
	})
}
