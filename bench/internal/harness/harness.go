// Package harness starts bannin for the benchmarks (as a subprocess of the built binary, or
// in-process through internal/server), builds aws-sdk-go-v2 configurations for it, and
// measures latencies, CPU time and resident memory.
package harness

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/bannin/bannin/internal/server"
)

// The root key the benchmarks seed, so that requests are really SigV4-verified.
const (
	AccessKeyID     = "AKIABENCHROOT0000001"
	SecretAccessKey = "benchsecretbenchsecretbenchsecretbench00"
	Region          = "us-east-1"
)

// Server is a running bannin, either a child process or in this process.
type Server struct {
	URL string
	// Pid is the child's process id (0 in-process).
	Pid int
	// Inner is the in-process server (nil for a child).
	Inner *server.Server
	cmd   *exec.Cmd
	stop  func() error
	done  chan error
}

// StartProcess runs `bin serve` on a free loopback port with dataDir and waits until
// GET /_bannin/health answers 200 (at most 60 s). extra are more serve flags.
func StartProcess(bin, dataDir, account string, extra ...string) (*Server, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	args := append([]string{"serve", "--addr", addr, "--data-dir", dataDir, "--account-id", account, "--region", Region}, extra...)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "BANNIN_ROOT_ACCESS_KEY_ID="+AccessKeyID, "BANNIN_ROOT_SECRET_ACCESS_KEY="+SecretAccessKey)
	cmd.Stdout = io.Discard
	logf, err := os.Create(filepath.Join(os.TempDir(), "bannin-bench-server.log"))
	if err != nil {
		return nil, err
	}
	cmd.Stderr = logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("harness: start %s: %w", bin, err)
	}
	s := &Server{URL: "http://" + addr, Pid: cmd.Process.Pid, cmd: cmd, done: make(chan error, 1)}
	go func() { s.done <- cmd.Wait(); logf.Close() }()
	s.stop = func() error {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-s.done:
			return err
		case <-time.After(60 * time.Second):
			cmd.Process.Kill()
			return errors.New("harness: server did not stop within 60 s; killed")
		}
	}
	if err := s.waitHealthy(60 * time.Second); err != nil {
		s.stop()
		return nil, fmt.Errorf("%w (server log: %s)", err, logf.Name())
	}
	return s, nil
}

// StartInProcess builds the server with internal/server and serves it on a free loopback
// port in this process.
func StartInProcess(dataDir, account string, retention time.Duration) (*Server, error) {
	srv, err := server.New(server.Config{DataDir: dataDir, Region: Region, Account: account, EventRetention: retention,
		Logger:          slog.New(slog.NewTextHandler(io.Discard, nil)),
		RootAccessKeyID: AccessKeyID, RootSecretAccessKey: SecretAccessKey})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		srv.Close()
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{URL: "http://" + ln.Addr().String(), Inner: srv, done: make(chan error, 1)}
	go func() { s.done <- srv.Run(ctx, ln) }()
	s.stop = func() error {
		cancel()
		err := <-s.done
		if cerr := srv.Close(); err == nil {
			err = cerr
		}
		return err
	}
	if err := s.waitHealthy(10 * time.Second); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

// Stop shuts the server down gracefully (SIGTERM for a child) and waits for it.
func (s *Server) Stop() error { return s.stop() }

func (s *Server) waitHealthy(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	c := &http.Client{Timeout: time.Second}
	for time.Now().Before(deadline) {
		select {
		case err := <-s.done:
			return fmt.Errorf("harness: server exited before it was ready: %v", err)
		default:
		}
		resp, err := c.Get(s.URL + "/_bannin/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	return fmt.Errorf("harness: %s not healthy after %s", s.URL, limit)
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// Config is an aws-sdk-go-v2 configuration for the server with the bench root key, at most
// attempts tries per call (1: a failed call counts as failed and a write is never sent
// twice) and a connection pool big enough for conns concurrent callers (the SDK's default
// keeps 10 idle connections per host, so 50 callers would keep opening new ones).
//
// With attempts 1 the SDK does not retry its own known client-side race
// (aws/aws-sdk-go-v2#2737: smithy-go closes the request body early, net/http's write loop
// then closes the connection while the response body is read, and the call fails with
// "use of closed network connection" although the server answered 200); the SDK's default
// retryer retries that error (aws/aws-sdk-go-v2#2949), so read benchmarks allow 3 attempts.
// Retries are immediate: the SDK's default backoff (up to seconds) would measure the
// retryer, not the server.
func (s *Server) Config(conns, attempts int) aws.Config {
	hc := awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
		t.MaxIdleConns = conns + 10
		t.MaxIdleConnsPerHost = conns + 10
	})
	return aws.Config{
		Region:       Region,
		Credentials:  credentials.NewStaticCredentialsProvider(AccessKeyID, SecretAccessKey, ""),
		BaseEndpoint: aws.String(s.URL),
		HTTPClient:   hc,
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = attempts
				o.RateLimiter = ratelimit.None
				o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
			})
		},
	}
}

// Percentiles of latencies (sorted in place): p50 p90 p99 max.
func Percentiles(d []time.Duration) (p50, p90, p99, mx time.Duration) {
	if len(d) == 0 {
		return
	}
	slices.Sort(d)
	at := func(q float64) time.Duration {
		i := int(q*float64(len(d))+0.5) - 1
		return d[min(max(i, 0), len(d)-1)]
	}
	return at(0.50), at(0.90), at(0.99), d[len(d)-1]
}

// Ms formats a duration in milliseconds with two decimals.
func Ms(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e6, 'f', 2, 64) }

// CPUTime is the user+system CPU time a process has used (pid 0: this process).
func CPUTime(pid int) (time.Duration, error) {
	if pid == 0 {
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			return 0, err
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command name (which is in parentheses and may contain spaces).
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	const hz = 100 // USER_HZ on Linux
	return time.Duration(ut+st) * time.Second / hz, nil
}

// Status reads a kB field of /proc/<pid>/status (VmRSS, VmHWM) in bytes.
func Status(pid int, field string) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && k == field {
			n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n * 1024, err
		}
	}
	return 0, fmt.Errorf("harness: /proc/%d/status has no %s", pid, field)
}

// Machine describes where a benchmark ran.
func Machine() string {
	mem := "?"
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		if line, _, ok := strings.Cut(string(b), "\n"); ok {
			mem = strings.Join(strings.Fields(line)[1:], " ")
		}
	}
	load := "?"
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		load = strings.Join(strings.Fields(string(b))[:3], " ")
	}
	return fmt.Sprintf("nproc=%d GOMAXPROCS=%d MemTotal=%s %s load-avg(1/5/15m)=%s", runtime.NumCPU(), runtime.GOMAXPROCS(0), mem, runtime.Version(), load)
}

// CommandLine is how this program was run, for the result table.
func CommandLine() string { return strings.Join(os.Args, " ") }
