package stream_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/bannin/bannin/internal/store"
	"github.com/bannin/bannin/internal/store/sqlite"
	"github.com/bannin/bannin/internal/stream"
)

// waitFor is how long a test waits for an eventual outcome before failing; it bounds a hang,
// it does not measure anything.
const waitFor = 20 * time.Second

// collector records what a consumer was handed.
type collector struct {
	mu      sync.Mutex
	got     []string
	calls   int
	failN   int // fail this many calls first
	changed chan struct{}
}

func newCollector() *collector { return &collector{changed: make(chan struct{}, 1000)} }

func (c *collector) handle(_ context.Context, es []store.Entry) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	if c.failN > 0 {
		c.failN--
		c.changed <- struct{}{}
		return errors.New("induced failure")
	}
	for _, e := range es {
		c.got = append(c.got, fmt.Sprintf("%s:%s", e.Kind, e.Payload))
	}
	c.changed <- struct{}{}
	return nil
}

func (c *collector) snapshot() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.got...)
}

// await waits until the collector has n entries.
func (c *collector) await(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.After(waitFor)
	for {
		if got := c.snapshot(); len(got) >= n {
			return got
		}
		select {
		case <-c.changed:
		case <-deadline:
			t.Fatalf("consumer has %d entries (%v); want %d", len(c.snapshot()), c.snapshot(), n)
		}
	}
}

func openStore(t *testing.T, dir string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(dir, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func appendEntries(t *testing.T, s store.Store, kind string, payloads ...string) {
	t.Helper()
	ctx := context.Background()
	err := s.Update(ctx, func(tx store.Tx) error {
		for _, p := range payloads {
			if _, err := tx.Append(ctx, kind, []byte(p)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// start runs a runner until the test ends (or stop is called) and returns stop.
func start(t *testing.T, opts stream.Options, cs ...stream.Consumer) (stop func()) {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	r, err := stream.NewRunner(opts, cs...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- r.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run = %v; want nil after cancel", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func checkpoint(t *testing.T, s store.Store, name string) int64 {
	t.Helper()
	var seq int64
	err := s.View(context.Background(), func(tx store.ReadTx) error {
		var err error
		seq, err = tx.Checkpoint(context.Background(), name)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return seq
}

// TestDeliveryAndWakeUp: with a poll interval of an hour, only the store's commit
// notification can deliver the entries in time.
func TestDeliveryAndWakeUp(t *testing.T) {
	s := openStore(t, t.TempDir())
	all, calls := newCollector(), newCollector()
	start(t, stream.Options{Store: s, Poll: time.Hour},
		stream.Consumer{Name: "all", Handle: all.handle, Batch: 3},
		stream.Consumer{Name: "calls", Kinds: []string{store.KindAPICall}, Handle: calls.handle})
	appendEntries(t, s, store.KindAPICall, "a", "b")
	appendEntries(t, s, "other", "x")
	got := all.await(t, 3)
	if want := "[api-call:a api-call:b other:x]"; fmt.Sprint(got) != want {
		t.Errorf("consumer all got %v; want %s", got, want)
	}
	// Later commits wake idle consumers again.
	appendEntries(t, s, store.KindAPICall, "c")
	appendEntries(t, s, "other", "y", "z", "w", "v")
	got = all.await(t, 8)
	if want := "[api-call:a api-call:b other:x api-call:c other:y other:z other:w other:v]"; fmt.Sprint(got) != want {
		t.Errorf("consumer all got %v; want %s", got, want)
	}
	if got := calls.await(t, 3); fmt.Sprint(got) != "[api-call:a api-call:b api-call:c]" {
		t.Errorf("consumer calls got %v; want only the api-call entries", got)
	}
	// Checkpoints reach the last entry, even for the consumer that skipped the tail.
	deadline := time.Now().Add(waitFor)
	for checkpoint(t, s, "all") != 8 || checkpoint(t, s, "calls") != 8 {
		if time.Now().After(deadline) {
			t.Fatalf("checkpoints = %d, %d; want 8, 8", checkpoint(t, s, "all"), checkpoint(t, s, "calls"))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestFailedHandleIsRetried(t *testing.T) {
	s := openStore(t, t.TempDir())
	c := newCollector()
	c.failN = 2
	start(t, stream.Options{Store: s, Poll: time.Hour, Backoff: time.Millisecond},
		stream.Consumer{Name: "flaky", Handle: c.handle})
	appendEntries(t, s, "k", "1", "2")
	if got := c.await(t, 2); fmt.Sprint(got) != "[k:1 k:2]" {
		t.Errorf("after two failures, consumer got %v; want [k:1 k:2] once", got)
	}
	c.mu.Lock()
	calls := c.calls
	c.mu.Unlock()
	if calls != 3 {
		t.Errorf("Handle called %d times; want 3 (two failures, one success)", calls)
	}
}

func TestPanickingHandleDoesNotAdvance(t *testing.T) {
	s := openStore(t, t.TempDir())
	var mu sync.Mutex
	panics := 0
	c := newCollector()
	start(t, stream.Options{Store: s, Poll: time.Hour, Backoff: time.Millisecond},
		stream.Consumer{Name: "p", Handle: func(ctx context.Context, es []store.Entry) error {
			mu.Lock()
			first := panics == 0
			panics++
			mu.Unlock()
			if first {
				panic("bug")
			}
			return c.handle(ctx, es)
		}})
	appendEntries(t, s, "k", "1")
	if got := c.await(t, 1); fmt.Sprint(got) != "[k:1]" {
		t.Errorf("after a panic, consumer got %v; want [k:1]", got)
	}
}

// TestResumeFromCheckpoint restarts the runner: nothing before the checkpoint comes again,
// everything after it does.
func TestResumeFromCheckpoint(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir)
	c1 := newCollector()
	stop := start(t, stream.Options{Store: s, Poll: time.Hour}, stream.Consumer{Name: "c", Handle: c1.handle})
	appendEntries(t, s, "k", "1", "2")
	c1.await(t, 2)
	deadline := time.Now().Add(waitFor)
	for checkpoint(t, s, "c") != 2 {
		if time.Now().After(deadline) {
			t.Fatalf("checkpoint = %d; want 2", checkpoint(t, s, "c"))
		}
		time.Sleep(5 * time.Millisecond)
	}
	stop()
	appendEntries(t, s, "k", "3")
	c2 := newCollector()
	start(t, stream.Options{Store: s, Poll: time.Hour}, stream.Consumer{Name: "c", Handle: c2.handle})
	if got := c2.await(t, 1); fmt.Sprint(got) != "[k:3]" {
		t.Errorf("after restart, consumer got %v; want [k:3]", got)
	}
}

// TestFromNow: a new FromNow consumer skips the history, and keeps its position across a
// restart even when it started on an empty stream.
func TestFromNow(t *testing.T) {
	s := openStore(t, t.TempDir())
	empty := newCollector()
	stop := start(t, stream.Options{Store: s, Poll: time.Hour}, stream.Consumer{Name: "empty", FromNow: true, Handle: empty.handle})
	// Wait until it has registered (it marks itself in the key-value space).
	deadline := time.Now().Add(waitFor)
	for {
		var mark []byte
		s.View(context.Background(), func(tx store.ReadTx) error {
			mark, _ = tx.Get(context.Background(), "stream.from-now", "empty")
			return nil
		})
		if mark != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("FromNow consumer did not register")
		}
		time.Sleep(5 * time.Millisecond)
	}
	stop()
	appendEntries(t, s, "k", "old1", "old2")
	late := newCollector()
	start(t, stream.Options{Store: s, Poll: time.Hour},
		stream.Consumer{Name: "empty", FromNow: true, Handle: empty.handle},
		stream.Consumer{Name: "late", FromNow: true, Handle: late.handle})
	if got := empty.await(t, 2); fmt.Sprint(got) != "[k:old1 k:old2]" {
		t.Errorf("restarted FromNow consumer got %v; want the entries since it first started", got)
	}
	deadline = time.Now().Add(waitFor)
	for checkpoint(t, s, "late") != 2 {
		if time.Now().After(deadline) {
			t.Fatalf("late checkpoint = %d; want 2", checkpoint(t, s, "late"))
		}
		time.Sleep(5 * time.Millisecond)
	}
	appendEntries(t, s, "k", "new")
	if got := late.await(t, 1); fmt.Sprint(got) != "[k:new]" {
		t.Errorf("new FromNow consumer got %v; want only [k:new]", got)
	}
}

func TestNewRunnerRejects(t *testing.T) {
	s := openStore(t, t.TempDir())
	h := func(context.Context, []store.Entry) error { return nil }
	for _, cs := range [][]stream.Consumer{
		{{Name: "", Handle: h}},
		{{Name: "a"}},
		{{Name: "a", Handle: h}, {Name: "a", Handle: h}},
	} {
		if _, err := stream.NewRunner(stream.Options{Store: s}, cs...); err == nil {
			t.Errorf("NewRunner(%d consumers) = nil error; want an error", len(cs))
		}
	}
	if _, err := stream.NewRunner(stream.Options{}); err == nil {
		t.Errorf("NewRunner without a store = nil error; want an error")
	}
}

// TestTrim deletes only what every consumer has finished.
func TestTrim(t *testing.T) {
	s := openStore(t, t.TempDir())
	fast, slow := newCollector(), newCollector()
	appendEntries(t, s, "a", "1", "2", "3")
	r, err := stream.NewRunner(stream.Options{Store: s, TrimEvery: -1, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))},
		stream.Consumer{Name: "fast", Handle: fast.handle},
		stream.Consumer{Name: "slow", Kinds: []string{"b"}, Handle: slow.handle})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if n, err := r.Trim(ctx); err != nil || n != 0 {
		t.Fatalf("Trim before any consumer ran = %d, %v; want 0", n, err)
	}
	// slow has finished up to 1, fast up to 3: entries 2 and 3 must stay.
	if err := s.Update(ctx, func(tx store.Tx) error {
		if err := tx.SetCheckpoint(ctx, "fast", 3); err != nil {
			return err
		}
		return tx.SetCheckpoint(ctx, "slow", 1)
	}); err != nil {
		t.Fatal(err)
	}
	if n, err := r.Trim(ctx); err != nil || n != 1 {
		t.Fatalf("Trim = %d, %v; want 1 (only what both consumers finished)", n, err)
	}
	var left []store.Entry
	s.View(ctx, func(tx store.ReadTx) error {
		var err error
		left, err = tx.ReadStream(ctx, 0, 10)
		return err
	})
	if len(left) != 2 || left[0].Seq != 2 {
		t.Errorf("stream after Trim = %v; want entries 2 and 3", left)
	}
}

// TestSkippedEntriesCheckpointLater: a consumer that only skips entries still commits its
// position, within a second, so that trimming and restarts move on.
func TestSkippedEntriesCheckpointLater(t *testing.T) {
	s := openStore(t, t.TempDir())
	col := newCollector()
	start(t, stream.Options{Store: s, Poll: time.Hour}, stream.Consumer{Name: "b-only", Kinds: []string{"b"}, Handle: col.handle})
	appendEntries(t, s, "a", "1", "2", "3")
	deadline := time.Now().Add(waitFor)
	for checkpoint(t, s, "b-only") != 3 {
		if time.Now().After(deadline) {
			t.Fatalf("checkpoint of a consumer skipping everything = %d; want 3", checkpoint(t, s, "b-only"))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := col.snapshot(); len(got) != 0 {
		t.Errorf("consumer of b was handed %v", got)
	}
}

// countingStore counts write transactions.
type countingStore struct {
	store.Store
	updates int
}

func (c *countingStore) Update(ctx context.Context, fn func(tx store.Tx) error) error {
	c.updates++
	return c.Store.Update(ctx, fn)
}

// TestTrimInSteps deletes a backlog in transactions of at most TrimBatch entries.
func TestTrimInSteps(t *testing.T) {
	s := &countingStore{Store: openStore(t, t.TempDir())}
	payloads := make([]string, 250)
	for i := range payloads {
		payloads[i] = fmt.Sprint(i + 1)
	}
	appendEntries(t, s, "a", payloads...)
	r, err := stream.NewRunner(stream.Options{Store: s, TrimEvery: -1, TrimBatch: 100, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))},
		stream.Consumer{Name: "c", Handle: newCollector().handle})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.SetCheckpoint(ctx, "c", 240) }); err != nil {
		t.Fatal(err)
	}
	s.updates = 0
	if n, err := r.Trim(ctx); err != nil || n != 240 {
		t.Fatalf("Trim = %d, %v; want 240", n, err)
	}
	if s.updates != 3 {
		t.Errorf("Trim used %d transactions; want 3 (100 + 100 + 40 entries)", s.updates)
	}
	var left []store.Entry
	s.View(ctx, func(tx store.ReadTx) error {
		var err error
		left, err = tx.ReadStream(ctx, 0, 100)
		return err
	})
	if len(left) != 10 || left[0].Seq != 241 {
		t.Errorf("stream after Trim = %d entries %v; want 241..250", len(left), left)
	}
	if n, err := r.Trim(ctx); err != nil || n != 0 {
		t.Errorf("second Trim = %d, %v; want 0", n, err)
	}
}

// TestFewKindsSmallBatch: a consumer of a rare kind with a batch of one moves past thousands
// of other entries in a read or two, not one entry per read (at one read per Linger, 3,000
// entries would take two and a half minutes here).
func TestFewKindsSmallBatch(t *testing.T) {
	s := openStore(t, t.TempDir())
	others := make([]string, 3000)
	for i := range others {
		others[i] = fmt.Sprint(i)
	}
	appendEntries(t, s, "a", others...)
	appendEntries(t, s, "b", "rare")
	col := newCollector()
	start(t, stream.Options{Store: s, Poll: time.Hour, Linger: 50 * time.Millisecond},
		stream.Consumer{Name: "b-only", Kinds: []string{"b"}, Batch: 1, Handle: col.handle})
	if got := col.await(t, 1); got[0] != "b:rare" {
		t.Errorf("consumer of b was handed %v; want b:rare", got)
	}
}
