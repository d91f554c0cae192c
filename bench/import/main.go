// Command import measures `bannin import` on real-shaped CloudTrail log files: it generates
// (once, cached in the temp dir) an AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/*.json.gz
// tree of realistic records, runs the built binary under /usr/bin/time -v (or polls
// /proc/<pid>/status VmHWM when that is missing) into a new data dir, reports events/s, MiB/s
// and peak resident memory, then imports the same tree again and checks that nothing new is
// inserted.
//
//	go build -o /tmp/bannin ./cmd/bannin && go run ./bench/import -events 500000
package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/bannin/bannin/bench/internal/harness"
	"github.com/bannin/bannin/bench/internal/records"
	"github.com/bannin/bannin/internal/audit"
	"github.com/bannin/bannin/internal/store/sqlite"
)

var accounts = []string{"111122223333", "444455556666", "777788889999"}
var regions = []string{"us-east-1", "eu-west-1", "ap-northeast-1"}

func main() {
	bin := flag.String("bin", "/tmp/bannin", "bannin binary")
	events := flag.Int("events", 500_000, "events in the generated tree")
	days := flag.Int("days", 7, "days the tree spans")
	every := flag.Duration("file-every", 5*time.Minute, "one log file per account, region and this interval (CloudTrail delivers about every 5 minutes)")
	cpuProfile := flag.String("cpuprofile", "", "instead of timing the binary, run audit.Import (what `bannin import` runs) in this process with a CPU profile written here")
	batch := flag.Int("batch", 0, "with -cpuprofile: audit.ImportOptions.BatchSize (0: the importer's default)")
	cache := flag.String("cache", "", "tree directory (default <tmp>/bannin-bench-import-<events>-<days>d)")
	flag.Parse()
	fmt.Println("command:", harness.CommandLine())
	fmt.Println("machine:", harness.Machine())
	if *cache == "" {
		*cache = filepath.Join(os.TempDir(), fmt.Sprintf("bannin-bench-import-%d-%dd-%s", *events, *days, *every))
	}
	if *cpuProfile != "" {
		if err := profile(*cache, *events, *days, *every, *cpuProfile, *batch); err != nil {
			fmt.Fprintln(os.Stderr, "import:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(*bin, *cache, *events, *days, *every); err != nil {
		fmt.Fprintln(os.Stderr, "import:", err)
		os.Exit(1)
	}
}

// profile imports the tree in this process under the CPU profiler.
func profile(tree string, events, days int, every time.Duration, path string, batch int) error {
	if err := ensureTree(tree, events, days, every); err != nil {
		return err
	}
	data, err := os.MkdirTemp("", "bannin-bench-import-data-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(data)
	st, err := sqlite.Open(data, sqlite.Options{})
	if err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	t0 := time.Now()
	pprof.StartCPUProfile(f)
	sum, err := audit.Import(context.Background(), []string{tree}, audit.ImportOptions{Store: st, BatchSize: batch})
	pprof.StopCPUProfile()
	el := time.Since(t0)
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	fmt.Printf("in-process audit.Import: %d events (%d new) in %s, %.0f events/s; CPU profile in %s\n", sum.Events, sum.Inserted, el.Round(time.Millisecond), float64(sum.Events)/el.Seconds(), path)
	return nil
}

func ensureTree(tree string, events, days int, every time.Duration) error {
	if _, err := os.Stat(filepath.Join(tree, "complete")); err == nil {
		fmt.Printf("using cached tree %s\n", tree)
		return nil
	}
	t0 := time.Now()
	if err := generate(tree, events, days, every); err != nil {
		return err
	}
	fmt.Printf("generated %s in %s\n", tree, time.Since(t0).Round(time.Millisecond))
	return nil
}

func run(bin, tree string, events, days int, every time.Duration) error {
	if err := ensureTree(tree, events, days, every); err != nil {
		return err
	}
	var files int
	var gz, raw int64
	filepath.WalkDir(tree, func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, ".json.gz") {
			files++
			if fi, err := d.Info(); err == nil {
				gz += fi.Size()
			}
		}
		return nil
	})
	if b, err := os.ReadFile(filepath.Join(tree, "complete")); err == nil {
		raw, _ = strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	}
	fmt.Printf("tree: %d events in %d .json.gz files, %.1f MiB compressed, %.1f MiB of JSON (%.0f bytes per record)\n",
		events, files, mib(gz), mib(raw), float64(raw)/float64(events))

	data, err := os.MkdirTemp("", "bannin-bench-import-data-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(data)
	first, err := importOnce(bin, data, tree)
	if err != nil {
		return err
	}
	second, err := importOnce(bin, data, tree)
	if err != nil {
		return err
	}
	dbSize := int64(0)
	for _, f := range []string{"bannin.db", "bannin.db-wal"} {
		if fi, err := os.Stat(filepath.Join(data, f)); err == nil {
			dbSize += fi.Size()
		}
	}
	fmt.Printf("\n%-10s %9s %9s %9s %10s %11s %12s %12s  %s\n", "run", "wall s", "inserted", "dups", "events/s", "JSON MiB/s", "max RSS MiB", "CPU s (u+s)", "how RSS was measured")
	for _, r := range []struct {
		name string
		res  *result
	}{{"first", first}, {"re-import", second}} {
		fmt.Printf("%-10s %9.2f %9d %9d %10.0f %11.1f %12.1f %12.2f  %s\n", r.name, r.res.wall.Seconds(), r.res.inserted, r.res.dups,
			float64(events)/r.res.wall.Seconds(), mib(raw)/r.res.wall.Seconds(), mib(r.res.maxRSS), r.res.cpu.Seconds(), r.res.how)
	}
	fmt.Printf("store after import: %.1f MiB (bannin.db + WAL)\n", mib(dbSize))
	fmt.Printf("binary's own summary, first run: %s\n", first.summary)
	if first.inserted != int64(events) {
		return fmt.Errorf("first import inserted %d events; want %d", first.inserted, events)
	}
	if second.inserted != 0 {
		return fmt.Errorf("re-import inserted %d events; want 0", second.inserted)
	}
	fmt.Println("re-import inserted 0 events: OK")
	return nil
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

type result struct {
	wall           time.Duration
	cpu            time.Duration
	maxRSS         int64
	inserted, dups int64
	how, summary   string
}

var summaryRE = regexp.MustCompile(`imported (\d+) new events \((\d+) already present\)`)

// importOnce runs `bin import --data-dir data tree` and measures it.
func importOnce(bin, data, tree string) (*result, error) {
	r := &result{}
	args := []string{"import", "--data-dir", data, tree}
	var cmd *exec.Cmd
	timeV := false
	if _, err := os.Stat("/usr/bin/time"); err == nil {
		timeV = true
		cmd = exec.Command("/usr/bin/time", append([]string{"-v", bin}, args...)...)
		r.how = "/usr/bin/time -v"
	} else {
		cmd = exec.Command(bin, args...)
		r.how = "VmHWM polled every 50 ms"
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	limit := time.After(5 * time.Minute)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
wait:
	for {
		select {
		case err := <-done:
			if err != nil {
				return nil, fmt.Errorf("bannin import: %v\n%s%s", err, stdout.String(), stderr.String())
			}
			break wait
		case <-limit:
			cmd.Process.Kill()
			return nil, fmt.Errorf("bannin import still running after 5 minutes; killed")
		case <-tick.C:
			if !timeV {
				if hwm, err := harness.Status(cmd.Process.Pid, "VmHWM"); err == nil && hwm > r.maxRSS {
					r.maxRSS = hwm
				}
			}
		}
	}
	r.wall = time.Since(t0)
	if ps := cmd.ProcessState; ps != nil {
		r.cpu = ps.UserTime() + ps.SystemTime()
	}
	m := summaryRE.FindStringSubmatch(stdout.String())
	if m == nil {
		return nil, fmt.Errorf("bannin import printed no summary:\n%s", stdout.String())
	}
	r.inserted, _ = strconv.ParseInt(m[1], 10, 64)
	r.dups, _ = strconv.ParseInt(m[2], 10, 64)
	r.summary = strings.TrimSpace(m[0] + stdout.String()[strings.Index(stdout.String(), m[0])+len(m[0]):])
	if timeV {
		sc := bufio.NewScanner(&stderr)
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if v, ok := strings.CutPrefix(line, "Maximum resident set size (kbytes): "); ok {
				kb, _ := strconv.ParseInt(v, 10, 64)
				r.maxRSS = kb * 1024
			}
		}
	}
	return r, nil
}

// generate writes the AWSLogs tree: for each interval of the span, one file per account and
// region that had events in it, named as CloudTrail names them, then a "complete" marker
// holding the total uncompressed JSON size.
func generate(tree string, events, days int, every time.Duration) error {
	os.RemoveAll(tree)
	g := records.New(records.Options{Accounts: accounts, Regions: regions, Weights: []int{6, 3, 1}, Seed: 42})
	end := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	start := end.Add(-time.Duration(days) * 24 * time.Hour)
	step := time.Duration(days) * 24 * time.Hour / time.Duration(events)
	type key struct{ account, region string }
	var raw int64
	buf := map[key][][]byte{}
	window := start.Truncate(every)
	flush := func() error {
		for k, recs := range buf {
			if len(recs) == 0 {
				continue
			}
			var b bytes.Buffer
			b.WriteString(`{"Records":[`)
			b.Write(bytes.Join(recs, []byte(",")))
			b.WriteString("]}")
			raw += int64(b.Len())
			at := window.Add(every)
			dir := filepath.Join(tree, "AWSLogs", k.account, "CloudTrail", k.region, at.Format("2006/01/02"))
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return err
			}
			name := fmt.Sprintf("%s_CloudTrail_%s_%sZ_%016x.json.gz", k.account, k.region, at.Format("20060102T1504"), uint64(at.UnixNano())^hash(k.account+k.region))
			var z bytes.Buffer
			zw, _ := gzip.NewWriterLevel(&z, gzip.DefaultCompression)
			zw.Write(b.Bytes())
			zw.Close()
			if err := os.WriteFile(filepath.Join(dir, name), z.Bytes(), 0o644); err != nil {
				return err
			}
			buf[k] = recs[:0]
		}
		return nil
	}
	for i := range events {
		t := start.Add(time.Duration(i) * step)
		if w := t.Truncate(every); !w.Equal(window) {
			if err := flush(); err != nil {
				return err
			}
			window = w
		}
		rec, h := g.Next(t)
		k := key{h.Account, h.Region}
		buf[k] = append(buf[k], rec)
	}
	if err := flush(); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(tree, "complete"), []byte(strconv.FormatInt(raw, 10)+"\n"), 0o644)
}

func hash(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * 1099511628211
	}
	return h
}
