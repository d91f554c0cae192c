package bus

import (
	"context"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bannin/bannin/internal/store"
	"github.com/bannin/bannin/internal/store/sqlite"
)

// Run drops delivered marks older than the maximum event age, and keeps younger ones;
// marks made before the index existed are indexed or dropped the same way.
func TestDeliveredMarksExpire(t *testing.T) {
	st, err := sqlite.Open(t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatalf("sqlite.Open: %v", err)
	}
	defer st.Close()
	ctx := context.Background()
	t0 := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	var now atomic.Int64
	now.Store(t0.UnixNano())
	clock := func() time.Time { return time.Unix(0, now.Load()).UTC() }
	err = st.Update(ctx, func(tx store.Tx) error {
		if err := markDelivered(ctx, tx, "old|rule|t", "", t0); err != nil {
			return err
		}
		if err := markDelivered(ctx, tx, "young|rule|t", "", t0.Add(12*time.Hour)); err != nil {
			return err
		}
		// Marks from before the index: one expired, one not.
		if err := tx.Put(ctx, deliveredBucket, "legacy-old|rule|t", []byte(t0.Format(time.RFC3339))); err != nil {
			return err
		}
		return tx.Put(ctx, deliveredBucket, "legacy-young|rule|t", []byte(t0.Add(20*time.Hour).Format(time.RFC3339)))
	})
	if err != nil {
		t.Fatalf("mark: %v", err)
	}
	marks := func() map[string]bool {
		out := map[string]bool{}
		err := st.View(ctx, func(tx store.ReadTx) error {
			kvs, err := tx.List(ctx, deliveredBucket, "", "", 100)
			for _, kv := range kvs {
				out[kv.Key] = true
			}
			return err
		})
		if err != nil {
			t.Fatalf("list marks: %v", err)
		}
		return out
	}
	s := New(Options{Clock: clock, Store: st, Tick: 10 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Run(runCtx)
	}()
	defer func() { cancel(); <-done }()

	// 25 hours after the first marks: "old" and "legacy-old" have expired.
	now.Store(t0.Add(25 * time.Hour).UnixNano())
	waitMarks(t, marks, map[string]bool{"young|rule|t": true, "legacy-young|rule|t": true})
	// 45 hours after: "young" (made at 12 h) and "legacy-young" (20 h) have expired too.
	now.Store(t0.Add(45 * time.Hour).UnixNano())
	waitMarks(t, marks, map[string]bool{})
	var index int
	st.View(ctx, func(tx store.ReadTx) error {
		kvs, err := tx.List(ctx, deliveredIndexBucket, "", "", 100)
		index = len(kvs)
		return err
	})
	if index != 0 {
		t.Errorf("index entries left = %d; want 0", index)
	}
}

func waitMarks(t *testing.T, marks func() map[string]bool, want map[string]bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got := marks()
		same := len(got) == len(want)
		for k := range want {
			same = same && got[k]
		}
		if same {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("delivered marks = %v; want %v", got, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
