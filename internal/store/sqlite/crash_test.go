package sqlite

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bannin/bannin/internal/store"
)

// crashDirEnv makes the test binary a crash child (see crashChild) instead of running tests.
const crashDirEnv = "BANNIN_STORE_CRASH_CHILD_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(crashDirEnv); dir != "" {
		crashChild(dir)
		os.Exit(3) // crashChild only ends by being killed
	}
	os.Exit(m.Run())
}

// crashChild writes from 8 goroutines as fast as it can and prints "acked N" after every
// Update that returned nil, until the parent kills it.
func crashChild(dir string) {
	s, err := Open(dir, Options{})
	if err != nil {
		fmt.Println("open:", err)
		return
	}
	ctx := context.Background()
	var next atomic.Int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				n := next.Add(1)
				err := s.Update(ctx, func(tx store.Tx) error {
					if err := tx.Put(ctx, "crash", strconv.FormatInt(n, 10), []byte("v")); err != nil {
						return err
					}
					return tx.AppendEvent(ctx, &store.Event{EventID: fmt.Sprintf("crash-%d", n), Time: time.Now(),
						Account: "111111111111", Region: "us-east-1", EventName: "PutItem", Record: json.RawMessage(`{}`)})
				})
				if err != nil {
					fmt.Println("update:", err)
					return
				}
				mu.Lock()
				os.Stdout.WriteString("acked " + strconv.FormatInt(n, 10) + "\n")
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
}

// TestCrashDurability kills a writing process with SIGKILL and checks that everything it was
// told had committed is there after reopening.
func TestCrashDurability(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := map[int64]bool{}
	sc := bufio.NewScanner(out)
	killed := false
	for sc.Scan() {
		line := sc.Text()
		v, ok := strings.CutPrefix(line, "acked ")
		if !ok {
			t.Errorf("child said %q", line)
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			t.Fatalf("child said %q", line)
		}
		acked[n] = true
		if len(acked) == 2000 && !killed {
			if err := cmd.Process.Kill(); err != nil { // SIGKILL
				t.Fatal(err)
			}
			killed = true
		}
	}
	err = cmd.Wait()
	if !killed {
		t.Fatalf("child ended by itself after %d acks: %v", len(acked), err)
	}
	s, _ := openTest(t, dir)
	ctx := context.Background()
	missing := 0
	view(t, s, func(tx store.ReadTx) error {
		for n := range acked {
			v, err := tx.Get(ctx, "crash", strconv.FormatInt(n, 10))
			if err != nil {
				return err
			}
			es, _, err := tx.LookupEvents(ctx, store.EventQuery{AttributeKey: store.AttrEventID, AttributeValue: fmt.Sprintf("crash-%d", n)})
			if err != nil {
				return err
			}
			if v == nil || len(es) != 1 {
				missing++
			}
		}
		return nil
	})
	if missing > 0 {
		t.Errorf("after SIGKILL, %d of %d acknowledged Updates are missing; want 0", missing, len(acked))
	}
	t.Logf("%d acknowledged Updates survived SIGKILL", len(acked))
}
