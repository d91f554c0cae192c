// Command startup measures how fast `bannin serve` becomes ready and how much memory it
// holds when idle: it starts the binary on a fresh and on an existing data dir, polls
// GET /_bannin/health every 2 ms, reports the median time to the first 200 of several
// starts, and reads VmRSS after the server has been idle for a while.
//
//	go build -o /tmp/bannin ./cmd/bannin && go run ./bench/startup
package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"slices"
	"syscall"
	"time"

	"github.com/bannin/bannin/bench/internal/harness"
	"github.com/bannin/bannin/internal/model"
	"github.com/bannin/bannin/internal/wire/cloudtrail"
	"github.com/bannin/bannin/internal/wire/cloudtraildata"
	"github.com/bannin/bannin/internal/wire/cloudwatch"
	"github.com/bannin/bannin/internal/wire/config"
	"github.com/bannin/bannin/internal/wire/ec2"
	"github.com/bannin/bannin/internal/wire/events"
	"github.com/bannin/bannin/internal/wire/iam"
	"github.com/bannin/bannin/internal/wire/kms"
	"github.com/bannin/bannin/internal/wire/logs"
	"github.com/bannin/bannin/internal/wire/organizations"
	"github.com/bannin/bannin/internal/wire/s3"
	"github.com/bannin/bannin/internal/wire/sns"
	"github.com/bannin/bannin/internal/wire/ssm"
	"github.com/bannin/bannin/internal/wire/sts"
)

func main() {
	bin := flag.String("bin", "/tmp/bannin", "bannin binary")
	starts := flag.Int("starts", 10, "starts per data-dir kind")
	idle := flag.Duration("idle", 2*time.Second, "idle time before reading VmRSS")
	heap := flag.String("heapprofile", "", "also build a server in this process (internal/server.New), let it idle, and write its heap profile here")
	flag.Parse()
	fmt.Println("command:", harness.CommandLine())
	fmt.Println("machine:", harness.Machine())
	if *heap != "" {
		modelSizes()
		if err := heapProfile(*heap, *idle); err != nil {
			fmt.Fprintln(os.Stderr, "startup:", err)
			os.Exit(1)
		}
	}
	if err := run(*bin, *starts, *idle); err != nil {
		fmt.Fprintln(os.Stderr, "startup:", err)
		os.Exit(1)
	}
}

type sample struct {
	ready            time.Duration
	rss, hwm         int64
	rssAnon, rssFile int64
	polls            int
	exitErr          error
}

func run(bin string, starts int, idle time.Duration) error {
	root, err := os.MkdirTemp("", "bannin-bench-startup-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(root)
	existing := root + "/existing"
	// The existing data dir has been used once: a server created it, idled and stopped.
	if _, err := start(bin, existing, idle/4); err != nil {
		return err
	}
	fmt.Printf("\n%-9s %6s %10s %10s %10s %11s %11s %11s %11s\n", "data dir", "starts", "ready p50", "ready min", "ready max", "VmRSS p50", "RssAnon", "RssFile", "VmHWM p50")
	for _, kind := range []string{"fresh", "existing"} {
		var ss []sample
		for i := range starts {
			dir := existing
			if kind == "fresh" {
				dir = fmt.Sprintf("%s/fresh-%d", root, i)
			}
			s, err := start(bin, dir, idle)
			if err != nil {
				return err
			}
			ss = append(ss, s)
		}
		ready := make([]time.Duration, len(ss))
		rss := make([]int64, len(ss))
		hwm := make([]int64, len(ss))
		anon := make([]int64, len(ss))
		file := make([]int64, len(ss))
		for i, s := range ss {
			ready[i], rss[i], hwm[i], anon[i], file[i] = s.ready, s.rss, s.hwm, s.rssAnon, s.rssFile
		}
		for _, x := range [][]int64{rss, hwm, anon, file} {
			slices.Sort(x)
		}
		slices.Sort(ready)
		fmt.Printf("%-9s %6d %8sms %8sms %8sms %9.1fMB %9.1fMB %9.1fMB %9.1fMB\n", kind, len(ss), harness.Ms(ready[len(ready)/2]), harness.Ms(ready[0]),
			harness.Ms(ready[len(ready)-1]), mb(rss[len(rss)/2]), mb(anon[len(anon)/2]), mb(file[len(file)/2]), mb(hwm[len(hwm)/2]))
	}
	fmt.Printf("(ready = from exec of the binary to the first 200 of GET /_bannin/health, polled every 2 ms; memory after %s idle,\n medians; MB = 10^6 bytes; RssFile is mostly the binary's own pages, RssAnon the heap and stacks)\n", idle)
	return nil
}

func mb(b int64) float64 { return float64(b) / 1e6 }

// start runs one server on dir, times it to ready, lets it idle, reads its memory and stops it.
func start(bin, dir string, idle time.Duration) (sample, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return sample{}, err
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin, "serve", "--addr", addr, "--data-dir", dir)
	cmd.Env = append(os.Environ(), "BANNIN_ROOT_ACCESS_KEY_ID="+harness.AccessKeyID, "BANNIN_ROOT_SECRET_ACCESS_KEY="+harness.SecretAccessKey)
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	c := &http.Client{Timeout: 500 * time.Millisecond, Transport: &http.Transport{DisableKeepAlives: true}}
	url := "http://" + addr + "/_bannin/health"
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return sample{}, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var s sample
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(30 * time.Second)
poll:
	for {
		select {
		case err := <-done:
			return s, fmt.Errorf("bannin serve exited before ready: %v", err)
		case <-deadline:
			cmd.Process.Kill()
			return s, fmt.Errorf("bannin serve not ready after 30 s")
		case <-tick.C:
			s.polls++
			resp, err := c.Get(url)
			if err != nil {
				continue
			}
			resp.Body.Close()
			if resp.StatusCode == 200 {
				s.ready = time.Since(t0)
				break poll
			}
		}
	}
	time.Sleep(idle)
	s.rss, _ = harness.Status(cmd.Process.Pid, "VmRSS")
	s.hwm, _ = harness.Status(cmd.Process.Pid, "VmHWM")
	s.rssAnon, _ = harness.Status(cmd.Process.Pid, "RssAnon")
	s.rssFile, _ = harness.Status(cmd.Process.Pid, "RssFile")
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case s.exitErr = <-done:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		return s, fmt.Errorf("bannin serve did not stop on SIGTERM")
	}
	return s, nil
}

// modelSizes reports the live heap each service model holds once parsed (the gateway
// parses all of them at start).
func modelSizes() {
	models := []struct {
		name string
		load func() *model.Service
	}{{"cloudtrail", cloudtrail.Model}, {"cloudtrail-data", cloudtraildata.Model}, {"cloudwatch", cloudwatch.Model},
		{"config", config.Model}, {"ec2", ec2.Model}, {"events", events.Model}, {"iam", iam.Model}, {"kms", kms.Model},
		{"logs", logs.Model}, {"organizations", organizations.Model}, {"s3", s3.Model}, {"sns", sns.Model}, {"ssm", ssm.Model}, {"sts", sts.Model}}
	var ms runtime.MemStats
	var keep []*model.Service
	total := 0.0
	fmt.Printf("live heap of each parsed service model (what an idle server keeps):\n")
	for _, m := range models {
		runtime.GC()
		runtime.ReadMemStats(&ms)
		before := ms.HeapAlloc
		keep = append(keep, m.load())
		runtime.GC()
		runtime.ReadMemStats(&ms)
		d := mb(int64(ms.HeapAlloc) - int64(before))
		total += d
		fmt.Printf("  %-16s %5.2f MB  (%d operations)\n", m.name, d, len(keep[len(keep)-1].Operations))
	}
	fmt.Printf("  %-16s %5.2f MB\n", "all 14", total)
	runtime.KeepAlive(keep)
}

// heapProfile serves an in-process server on a fresh data dir, lets it idle, collects
// garbage and writes the live heap profile, to see what an idle server holds.
func heapProfile(path string, idle time.Duration) error {
	dir, err := os.MkdirTemp("", "bannin-bench-heap-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	srv, err := harness.StartInProcess(dir, "111122223333", 0)
	if err != nil {
		return err
	}
	defer srv.Stop()
	time.Sleep(idle)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := pprof.WriteHeapProfile(f); err != nil {
		return err
	}
	fmt.Printf("in-process idle server: HeapInuse %.1f MB, HeapAlloc %.1f MB, Sys %.1f MB, StackInuse %.1f MB; heap profile in %s\n",
		mb(int64(ms.HeapInuse)), mb(int64(ms.HeapAlloc)), mb(int64(ms.Sys)), mb(int64(ms.StackInuse)), path)
	return nil
}
