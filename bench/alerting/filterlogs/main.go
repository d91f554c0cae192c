// Command filterlogs measures FilterLogEvents with a JSON filter pattern: a log group holds
// N CloudTrail records (put with PutLogEvents in batches as large as the API allows), then
// FilterLogEvents pages through every match of
// { ($.eventName = "StopLogging") || ($.eventName = "PutBucketPolicy") } over the wire,
// and the same pattern runs over the same messages in-process (internal/logs/filterpattern
// alone) for comparison. The figure is events in the group scanned per second.
//
//	go build -o /tmp/bannin ./cmd/bannin && go run ./bench/alerting/filterlogs
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/bannin/bannin/bench/internal/harness"
	"github.com/bannin/bannin/bench/internal/records"
	"github.com/bannin/bannin/internal/logs/filterpattern"
)

const (
	account = "111122223333"
	pattern = `{ ($.eventName = "StopLogging") || ($.eventName = "PutBucketPolicy") }`
	group   = "CloudTrail/bench"
	// PutLogEvents limits: 10,000 events and 1,048,576 bytes (message + 26 each) per batch.
	maxBatchEvents = 10000
	maxBatchBytes  = 1048576
	eventOverhead  = 26
)

func main() {
	mode := flag.String("mode", "subprocess", "subprocess (bannin binary, its own GC and scheduler) or inprocess (internal/server in this process)")
	bin := flag.String("bin", "/tmp/bannin", "bannin binary for -mode subprocess")
	events := flag.Int("events", 200_000, "CloudTrail records in the log group")
	streams := flag.Int("streams", 1, "log streams the records are spread over (round robin)")
	runs := flag.Int("runs", 5, "times the whole group is filtered over the wire (and in-process)")
	limit := flag.Int("limit", 0, "FilterLogEvents Limit per page (0: the server's default)")
	restart := flag.Bool("restart", true, "filter again after restarting the server on the same data dir (the WAL folded into the database file, read through mmap)")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of this process during the last over-the-wire runs (in-process mode: server and client)")
	flag.Parse()

	fmt.Println("command:", harness.CommandLine())
	fmt.Println("machine:", harness.Machine())
	if err := run(*mode, *bin, *events, *streams, *runs, *limit, *restart, *cpuProfile); err != nil {
		fmt.Fprintln(os.Stderr, "filterlogs:", err)
		os.Exit(1)
	}
}

func run(mode, bin string, n, nstreams, runs, limit int, restart bool, cpuProfile string) error {
	stopProfile := func() {}
	// The records: N CloudTrail records over the two hours before now, in time order.
	gen := records.New(records.Options{Accounts: []string{account}, Seed: 4})
	end := time.Now().Add(-time.Minute)
	step := 2 * time.Hour / time.Duration(n)
	msgs := make([]string, n)
	stamps := make([]int64, n)
	bytes := 0
	for i := range msgs {
		t := end.Add(-time.Duration(n-i) * step)
		rec, _ := gen.Next(t)
		msgs[i], stamps[i] = string(rec), t.UnixMilli()
		bytes += len(rec)
	}
	fmt.Printf("data: %d CloudTrail records, %.1f MiB, %d bytes per record on average, %d stream(s)\n", n, float64(bytes)/(1<<20), bytes/n, nstreams)

	// In-process: the filter pattern engine alone, one goroutine.
	p, err := filterpattern.Parse(pattern)
	if err != nil {
		return err
	}
	want := 0
	for _, m := range msgs {
		if p.Match(m) {
			want++
		}
	}
	fmt.Printf("matching records: %d (%.3f%%)\n\n", want, 100*float64(want)/float64(n))
	fmt.Printf("in-process (filterpattern.Pattern.Match, one goroutine):\n")
	fmt.Printf("%-4s %10s %14s %10s %12s %14s\n", "run", "time ms", "events/s", "MiB/s", "CPU ns/ev", "per CPU s")
	for r := range runs {
		cpu0, _ := harness.CPUTime(0)
		start := time.Now()
		got := 0
		for _, m := range msgs {
			if p.Match(m) {
				got++
			}
		}
		el := time.Since(start)
		cpu1, _ := harness.CPUTime(0)
		cpu := cpu1 - cpu0
		if got != want {
			return fmt.Errorf("in-process run %d matched %d; want %d", r, got, want)
		}
		fmt.Printf("%-4d %10.1f %14.0f %10.1f %12.0f %14.0f\n", r+1, float64(el)/1e6, float64(n)/el.Seconds(), float64(bytes)/(1<<20)/el.Seconds(),
			float64(cpu.Nanoseconds())/float64(n), float64(n)/cpu.Seconds())
	}

	// For comparison: what a literal pre-check would leave of the engine's cost. The pattern
	// can only match a message holding one of the two quoted names; messages without a
	// backslash cannot spell them otherwise, so only the others need the JSON scan.
	lits := []string{`"StopLogging"`, `"PutBucketPolicy"`}
	pre := func(m string) bool {
		if strings.IndexByte(m, '\\') < 0 && !strings.Contains(m, lits[0]) && !strings.Contains(m, lits[1]) {
			return false
		}
		return p.Match(m)
	}
	fmt.Printf("\nin-process, literal pre-check (strings.Contains of the quoted names, then Match; not what bannin does today):\n")
	fmt.Printf("%-4s %10s %14s %10s %12s %14s\n", "run", "time ms", "events/s", "MiB/s", "CPU ns/ev", "per CPU s")
	for r := range runs {
		cpu0, _ := harness.CPUTime(0)
		start := time.Now()
		got := 0
		for _, m := range msgs {
			if pre(m) {
				got++
			}
		}
		el := time.Since(start)
		cpu1, _ := harness.CPUTime(0)
		cpu := cpu1 - cpu0
		if got != want {
			return fmt.Errorf("pre-check run %d matched %d; want %d", r, got, want)
		}
		fmt.Printf("%-4d %10.1f %14.0f %10.1f %12.0f %14.0f\n", r+1, float64(el)/1e6, float64(n)/el.Seconds(), float64(bytes)/(1<<20)/el.Seconds(),
			float64(cpu.Nanoseconds())/float64(n), float64(n)/cpu.Seconds())
	}

	dir, err := os.MkdirTemp("", "bannin-bench-filterlogs-")
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
	defer func() {
		if srv != nil {
			srv.Stop()
		}
	}()
	ctx := context.Background()
	put := cloudwatchlogs.NewFromConfig(srv.Config(1, 1))
	if _, err := put.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(group)}); err != nil {
		return fmt.Errorf("CreateLogGroup: %w", err)
	}
	names := make([]string, nstreams)
	for i := range names {
		names[i] = fmt.Sprintf("%s_CloudTrail_us-east-1_%d", account, i+1)
		if _, err := put.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String(group), LogStreamName: aws.String(names[i])}); err != nil {
			return fmt.Errorf("CreateLogStream: %w", err)
		}
	}
	// PutLogEvents, each stream's batches as large as the limits allow.
	began := time.Now()
	batches := 0
	for s := range nstreams {
		var batch []logtypes.InputLogEvent
		size := 0
		flush := func() error {
			if len(batch) == 0 {
				return nil
			}
			if _, err := put.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String(group), LogStreamName: aws.String(names[s]), LogEvents: batch}); err != nil {
				return fmt.Errorf("PutLogEvents: %w", err)
			}
			batches++
			batch, size = nil, 0
			return nil
		}
		for i := s; i < n; i += nstreams {
			sz := len(msgs[i]) + eventOverhead
			if len(batch) == maxBatchEvents || size+sz > maxBatchBytes {
				if err := flush(); err != nil {
					return err
				}
			}
			batch = append(batch, logtypes.InputLogEvent{Message: aws.String(msgs[i]), Timestamp: aws.Int64(stamps[i])})
			size += sz
		}
		if err := flush(); err != nil {
			return err
		}
	}
	el := time.Since(began)
	fmt.Printf("\nput: %d events in %d PutLogEvents batches (up to %d events and 1 MiB each) in %s: %.0f events/s\n\n",
		n, batches, maxBatchEvents, el.Round(time.Millisecond), float64(n)/el.Seconds())

	profile := func() error {
		if cpuProfile == "" {
			return nil
		}
		f, err := os.Create(cpuProfile)
		if err != nil {
			return err
		}
		pprof.StartCPUProfile(f)
		stopProfile = func() { pprof.StopCPUProfile(); f.Close() }
		return nil
	}
	defer func() { stopProfile() }()
	// Over the wire: page through every match.
	if !restart {
		if err := profile(); err != nil {
			return err
		}
	}
	if err := filter(ctx, srv, mode+" server, just after the puts", n, runs, limit, want); err != nil {
		return err
	}
	if restart {
		err := srv.Stop()
		srv = nil
		if err != nil {
			return fmt.Errorf("stop server: %w", err)
		}
		if srv, err = start(); err != nil {
			return err
		}
		if err := profile(); err != nil {
			return err
		}
		if err := filter(ctx, srv, mode+" server, restarted on the same data dir", n, runs, limit, want); err != nil {
			return err
		}
		if srv.Pid != 0 {
			fmt.Println(mapped(srv.Pid, dir))
		}
	}
	fmt.Println("(server CPU is a share of all", runtime.NumCPU(), "cores, client and server share them; srv CPU ns/ev is the server's CPU time")
	fmt.Println(" per event in the group: in-process mode it is the whole process, client included)")
	return nil
}

// filter pages through every match of the pattern runs times and prints a line per run.
func filter(ctx context.Context, srv *harness.Server, what string, n, runs, limit, want int) error {
	c := cloudwatchlogs.NewFromConfig(srv.Config(1, 3))
	fmt.Printf("over the wire (FilterLogEvents, %s, every page until no nextToken):\n", what)
	fmt.Printf("%-4s %10s %14s %8s %8s %10s %10s %12s %14s\n", "run", "time ms", "scanned/s", "pages", "matched", "page p50", "page max", "server CPU", "srv CPU ns/ev")
	var all []time.Duration
	for r := range runs {
		var token *string
		pages, got := 0, 0
		var pl []time.Duration
		cpu0, _ := harness.CPUTime(srv.Pid)
		start := time.Now()
		for {
			in := &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String(group), FilterPattern: aws.String(pattern), NextToken: token}
			if limit > 0 {
				in.Limit = aws.Int32(int32(limit))
			}
			t0 := time.Now()
			out, err := c.FilterLogEvents(ctx, in)
			if err != nil {
				return fmt.Errorf("FilterLogEvents run %d page %d: %w", r, pages, err)
			}
			pl = append(pl, time.Since(t0))
			pages++
			got += len(out.Events)
			if out.NextToken == nil || aws.ToString(out.NextToken) == aws.ToString(token) {
				break
			}
			token = out.NextToken
		}
		el := time.Since(start)
		cpu1, _ := harness.CPUTime(srv.Pid)
		all = append(all, el)
		if got != want {
			return fmt.Errorf("over the wire run %d matched %d events; want %d", r, got, want)
		}
		p50, _, _, mx := harness.Percentiles(pl)
		srvCPU := "(same proc)"
		if srv.Pid != 0 {
			srvCPU = fmt.Sprintf("%.0f%%", 100*(cpu1-cpu0).Seconds()/el.Seconds()/float64(runtime.NumCPU()))
		}
		fmt.Printf("%-4d %10.1f %14.0f %8d %8d %10s %10s %12s %14.0f\n", r+1, float64(el)/1e6, float64(n)/el.Seconds(), pages, got, harness.Ms(p50), harness.Ms(mx), srvCPU,
			float64((cpu1-cpu0).Nanoseconds())/float64(n))
	}
	slices.Sort(all)
	fmt.Printf("median: %.0f scanned/s (goal >= 500,000)\n\n", float64(n)/all[len(all)/2].Seconds())
	return nil
}

// mapped reports how much of the server's database files under dir it has mapped into
// memory (SQLite's mmap_size), from /proc/PID/smaps: mappings and resident kB per file.
func mapped(pid int, dir string) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps", pid))
	if err != nil {
		return "database file mappings: " + err.Error()
	}
	count, rss := map[string]int{}, map[string]int{}
	var files []string
	var cur string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) >= 5 && strings.Contains(f[0], "-") && strings.Count(f[1], "") == 5:
			cur = ""
			if len(f) >= 6 && strings.HasPrefix(f[5], dir) {
				cur = f[5][len(dir):]
				if count[cur] == 0 {
					files = append(files, cur)
				}
				count[cur]++
			}
		case cur != "" && len(f) == 3 && f[0] == "Rss:":
			kb, _ := strconv.Atoi(f[1])
			rss[cur] += kb
		}
	}
	if len(files) == 0 {
		return "database file mappings in the server (/proc/PID/smaps): none (SQLite reads pages with pread)"
	}
	var out []string
	for _, f := range files {
		out = append(out, fmt.Sprintf("%s: %d mappings, %d kB resident", f, count[f], rss[f]))
	}
	return "database file mappings in the server (/proc/PID/smaps): " + strings.Join(out, "; ")
}
