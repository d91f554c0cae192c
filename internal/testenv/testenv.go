// Package testenv runs a whole bannin server on httptest for tests, with real
// aws-sdk-go-v2 clients and the aws CLIs pointed at it.
package testenv

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/bannin/bannin/internal/server"
)

// Env is a running test server and what a client needs to reach it.
type Env struct {
	URL     string
	Region  string
	Account string
	DataDir string
	Server  *server.Server
	Config  aws.Config
	stop    func()
}

// Options change the server a test gets.
type Options struct {
	Region string
	// Clock replaces the server's clock.
	Clock func() time.Time
	// DataDir reuses a data dir (for restart tests); default a new temp dir.
	DataDir string
	// Account is the default account's id (default 123456789012).
	Account string
	// Dev accepts any well-formed credentials as the default account's root.
	Dev bool
	// SMTPURL is where SNS mail goes (see package smtptest for a server to read it from).
	SMTPURL string
	// SMTPTLS is the TLS configuration for the mail server (trust smtptest's RootCAs()).
	SMTPTLS *tls.Config
	// HTTPClient makes the server's outgoing HTTP calls (to trust an httptest TLS server,
	// pass its Client()).
	HTTPClient *http.Client
}

// New starts a server with a fresh data dir; it stops when the test ends.
func New(t testing.TB, opts ...Options) *Env {
	t.Helper()
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	if o.Region == "" {
		o.Region = "us-east-1"
	}
	if o.Account == "" {
		o.Account = "123456789012"
	}
	if o.DataDir == "" {
		o.DataDir = t.TempDir()
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if os.Getenv("BANNIN_TEST_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	url := "http://" + ln.Addr().String()
	srv, err := server.New(server.Config{DataDir: o.DataDir, Region: o.Region, Account: o.Account,
		Logger: log, Clock: o.Clock, Dev: o.Dev, URL: url, SMTPURL: o.SMTPURL, SMTPTLS: o.SMTPTLS, HTTPClient: o.HTTPClient,
		RootAccessKeyID: "AKIATESTROOT00000001", RootSecretAccessKey: "testsecretkeytestsecretkeytestsecretkey0"})
	if err != nil {
		ln.Close()
		t.Fatalf("server.New: %v", err)
	}
	hs := httptest.NewUnstartedServer(srv.Handler())
	hs.Listener.Close()
	hs.Listener = ln
	hs.Start()
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Background(ctx); err != nil {
			t.Errorf("server background: %v", err)
		}
	}()
	var once sync.Once
	shutdown := func() {
		once.Do(func() {
			hs.Close()
			stop()
			<-done
			srv.Close()
		})
	}
	t.Cleanup(shutdown)
	e := &Env{URL: hs.URL, Region: o.Region, Account: srv.RootKey.Account, DataDir: o.DataDir, Server: srv, stop: shutdown}
	e.Config = aws.Config{
		Region:           o.Region,
		Credentials:      credentials.NewStaticCredentialsProvider(srv.RootKey.AccessKeyID, srv.RootKey.SecretAccessKey, ""),
		BaseEndpoint:     aws.String(hs.URL),
		RetryMaxAttempts: 1,
		HTTPClient:       HTTPClient(),
	}
	return e
}

// Stop shuts the server down before the test ends (to reopen its data dir, or to let a
// command that needs the data dir to itself run).
func (e *Env) Stop() { e.stop() }

// CloudTrail returns a CloudTrail client for the server.
func (e *Env) CloudTrail() *cloudtrail.Client { return cloudtrail.NewFromConfig(e.Config) }

// STS returns an STS client for the server.
func (e *Env) STS() *sts.Client { return sts.NewFromConfig(e.Config) }

// S3 returns a path-style S3 client for the server.
func (e *Env) S3() *s3.Client {
	return s3.NewFromConfig(e.Config, func(o *s3.Options) { o.UsePathStyle = true })
}

// CLI names an aws CLI: V1 is the pip one on PATH, V2 the Debian package's.
type CLI string

// The two aws CLIs the end-to-end tests run.
const (
	V1 CLI = "aws"
	V2 CLI = "/usr/bin/aws"
)

// Run runs the aws CLI against the server with the root credentials and returns its
// standard output; a non-zero exit fails the test unless wantErr is set via RunErr.
func (e *Env) Run(t testing.TB, cli CLI, args ...string) string {
	t.Helper()
	out, err := e.RunErr(t, cli, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", cli, strings.Join(args, " "), err, out)
	}
	return out
}

// RunErr is Run that returns the CLI's failure (output then holds stdout and stderr).
func (e *Env) RunErr(t testing.TB, cli CLI, args ...string) (string, error) {
	t.Helper()
	path, err := exec.LookPath(string(cli))
	if err != nil {
		t.Fatalf("aws CLI %s is not installed (.ci/run installs it): %v", cli, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, append([]string{"--endpoint-url", e.URL, "--output", "json"}, args...)...)
	creds, _ := e.Config.Credentials.Retrieve(ctx)
	home := t.TempDir()
	cmd.Env = append(os.Environ(),
		"AWS_ACCESS_KEY_ID="+creds.AccessKeyID, "AWS_SECRET_ACCESS_KEY="+creds.SecretAccessKey,
		"AWS_DEFAULT_REGION="+e.Region, "AWS_EC2_METADATA_DISABLED=true", "AWS_REGION="+e.Region, "AWS_PAGER=",
		"AWS_CONFIG_FILE="+home+"/config", "AWS_SHARED_CREDENTIALS_FILE="+home+"/credentials", "HOME="+home)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String() + stderr.String(), err
	}
	return stdout.String(), nil
}

// HTTPClient is the HTTP client the tests' SDK clients use. It reads each response body
// before handing the response to the SDK: smithy-go closes the request body as soon as the
// response headers arrive, and against a server that answers within microseconds that
// close can race the transport's final check of the request body, which then closes the
// connection under the response (aws-sdk-go-v2 issues 1825 and 2935 show it against AWS).
func HTTPClient() *http.Client {
	return &http.Client{Transport: bufferingTransport{http.DefaultTransport}}
}

type bufferingTransport struct{ rt http.RoundTripper }

func (b bufferingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := b.rt.RoundTrip(r)
	if err != nil || r.Method == http.MethodHead {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}

// WantCode fails the test at once unless err is an AWS API error with the given code.
func WantCode(t testing.TB, what string, err error, code string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("%s: error = %v; want %s", what, err, code)
	}
	if ae.ErrorCode() != code {
		t.Fatalf("%s: error code = %s (%s); want %s", what, ae.ErrorCode(), ae.ErrorMessage(), code)
	}
}
