package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/bannin/bannin/internal/testenv"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// binary builds bannin once per test run.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "bannin-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "bannin")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

const (
	testKeyID  = "AKIAPROCESSTEST00001"
	testSecret = "processtestsecretprocesstestsecret000001"
)

// startServe runs `bannin serve` on dataDir and waits until /_bannin/health answers.
func startServe(t *testing.T, dataDir string) (*exec.Cmd, string) {
	t.Helper()
	addr := freeAddr(t)
	cmd := exec.Command(binary(t), "serve", "--addr", addr, "--data-dir", dataDir, "--account-id", "111122223333")
	cmd.Env = append(os.Environ(), "BANNIN_ROOT_ACCESS_KEY_ID="+testKeyID, "BANNIN_ROOT_SECRET_ACCESS_KEY="+testSecret)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if os.Getenv("BANNIN_TEST_LOG") != "" {
				t.Log(sc.Text())
			}
		}
	}()
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	url := "http://" + addr
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(url + "/_bannin/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return cmd, url
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("bannin serve did not become healthy: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func sdkConfig(url string) aws.Config {
	return aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(url), RetryMaxAttempts: 1, HTTPClient: testenv.HTTPClient(),
		Credentials: credentials.NewStaticCredentialsProvider(testKeyID, testSecret, "")}
}

// TestKill9KeepsAcknowledgedCalls kills the server with SIGKILL while clients are calling
// it and checks that every call that got an answer is in the event history after a restart.
func TestKill9KeepsAcknowledgedCalls(t *testing.T) {
	dir := t.TempDir()
	cmd, url := startServe(t, dir)
	cfg := sdkConfig(url)
	ct := cloudtrail.NewFromConfig(cfg)

	var mu sync.Mutex
	acked := map[string]bool{} // trail names whose failed CreateTrail was answered
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				name := fmt.Sprintf("t%d-%d", w, i)
				_, err := ct.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String(name), S3BucketName: aws.String("no-such-bucket")})
				if err != nil && strings.Contains(err.Error(), "S3BucketDoesNotExistException") {
					mu.Lock()
					acked[name] = true
					mu.Unlock()
				}
			}
		}(w)
	}
	time.Sleep(700 * time.Millisecond)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	cancel()
	wg.Wait()
	mu.Lock()
	n := len(acked)
	mu.Unlock()
	if n == 0 {
		t.Fatal("no call was answered before the kill")
	}

	_, url = startServe(t, dir)
	ct = cloudtrail.NewFromConfig(sdkConfig(url))
	found := map[string]bool{}
	var token *string
	for {
		out, err := ct.LookupEvents(context.Background(), &cloudtrail.LookupEventsInput{NextToken: token,
			LookupAttributes: []types.LookupAttribute{{AttributeKey: types.LookupAttributeKeyEventName, AttributeValue: aws.String("CreateTrail")}}})
		if err != nil {
			t.Fatalf("LookupEvents after restart: %v", err)
		}
		for _, ev := range out.Events {
			rec := aws.ToString(ev.CloudTrailEvent)
			if i := strings.Index(rec, `"requestParameters":{"name":"`); i >= 0 {
				rest := rec[i+len(`"requestParameters":{"name":"`):]
				found[rest[:strings.IndexByte(rest, '"')]] = true
			}
		}
		if out.NextToken == nil {
			break
		}
		token = out.NextToken
	}
	missing := 0
	for name := range acked {
		if !found[name] {
			missing++
		}
	}
	if missing > 0 {
		t.Errorf("%d of %d answered CreateTrail calls are missing from the event history after kill -9", missing, n)
	}
	t.Logf("%d answered calls before kill -9, all in the history after restart", n)
}

// TestGracefulShutdown stops the server with SIGTERM and checks it exits cleanly and
// keeps what it answered.
func TestGracefulShutdown(t *testing.T) {
	dir := t.TempDir()
	cmd, url := startServe(t, dir)
	id, err := sts.NewFromConfig(sdkConfig(url)).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(id.Account) != "111122223333" || aws.ToString(id.Arn) != "arn:aws:iam::111122223333:root" {
		t.Errorf("GetCallerIdentity = %s, %s; want the root of 111122223333", aws.ToString(id.Account), aws.ToString(id.Arn))
	}
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("bannin serve exited with %v after SIGTERM; want 0", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("bannin serve did not exit after SIGTERM")
	}
	_, url = startServe(t, dir)
	out, err := cloudtrail.NewFromConfig(sdkConfig(url)).LookupEvents(context.Background(), &cloudtrail.LookupEventsInput{
		LookupAttributes: []types.LookupAttribute{{AttributeKey: types.LookupAttributeKeyEventName, AttributeValue: aws.String("GetCallerIdentity")}}})
	if err != nil || len(out.Events) != 1 {
		t.Fatalf("LookupEvents(GetCallerIdentity) after restart = %v, %v; want 1 event", out, err)
	}
}
