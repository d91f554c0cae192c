package sqlite

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/bannin/bannin/internal/store"
)

// readBoth reads the stream after `after` twice: from a fresh View (which may answer from the
// in-memory tail) and from a View that has already run a statement (which reads SQLite).
func readBoth(t *testing.T, s *Store, after int64, limit int) (tail, db []store.Entry) {
	t.Helper()
	ctx := context.Background()
	view(t, s, func(tx store.ReadTx) error {
		var err error
		tail, err = tx.ReadStream(ctx, after, limit)
		return err
	})
	view(t, s, func(tx store.ReadTx) error {
		if _, err := tx.StreamHead(ctx); err != nil {
			return err
		}
		var err error
		db, err = tx.ReadStream(ctx, after, limit)
		return err
	})
	return tail, db
}

// readKindsBoth is readBoth for ReadStreamKinds.
func readKindsBoth(t *testing.T, s *Store, after int64, limit int, kinds []string) (tail []store.Entry, tailLast int64, db []store.Entry, dbLast int64) {
	t.Helper()
	ctx := context.Background()
	view(t, s, func(tx store.ReadTx) error {
		var err error
		tail, tailLast, err = tx.ReadStreamKinds(ctx, after, limit, kinds)
		return err
	})
	view(t, s, func(tx store.ReadTx) error {
		if _, err := tx.StreamHead(ctx); err != nil {
			return err
		}
		var err error
		db, dbLast, err = tx.ReadStreamKinds(ctx, after, limit, kinds)
		return err
	})
	return tail, tailLast, db, dbLast
}

func TestStreamTailMatchesDatabase(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, _ := openTest(t, dir)
	// Entries from before this Open are only in the database.
	update(t, s, func(tx store.Tx) error {
		_, err := tx.Append(ctx, "old", []byte("before reopen"))
		return err
	})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, _ = openTest(t, dir)
	s.tail.mu.Lock()
	s.tail.maxEntries = 20
	s.tail.mu.Unlock()
	defer func(n int) { streamScan = n }(streamScan)
	streamScan = 7 // ReadStreamKinds stops looking after 7 entries unless limit is larger

	boom := errors.New("boom")
	for i := range 30 {
		err := s.Update(ctx, func(tx store.Tx) error {
			kind := "k"
			if i%3 == 0 {
				kind = "j"
			}
			payload := fmt.Appendf(nil, "entry %d", i)
			if i%5 == 1 { // large enough to be stored compressed
				payload = fmt.Appendf(nil, "entry %d %s", i, strings.Repeat("compressible ", 50))
			}
			if _, err := tx.Append(ctx, kind, payload); err != nil {
				return err
			}
			if i%7 == 3 {
				return boom // rolled back: neither in the database nor in the tail
			}
			return nil
		})
		if i%7 == 3 {
			if !errors.Is(err, boom) {
				t.Fatalf("Update %d = %v; want %v", i, err, boom)
			}
		} else if err != nil {
			t.Fatalf("Update %d = %v", i, err)
		}
	}
	check := func(when string) {
		t.Helper()
		for after := int64(0); after <= 40; after++ {
			for _, limit := range []int{1, 5, 100} {
				tail, db := readBoth(t, s, after, limit)
				if !reflect.DeepEqual(tail, db) {
					t.Fatalf("%s: ReadStream(%d, %d) from a fresh View = %v; the database has %v", when, after, limit, tail, db)
				}
				for _, kinds := range [][]string{{"j"}, {"k", "j"}, {"x"}, {}} {
					// What ReadStream gives, filtered, and the last Seq it looked at.
					var want []store.Entry
					wantLast := after
					_, all := readBoth(t, s, after, 1000)
					for _, e := range all[:min(len(all), max(limit, streamScan))] {
						if len(want) == limit {
							break
						}
						wantLast = e.Seq
						if slices.Contains(kinds, e.Kind) {
							want = append(want, e)
						}
					}
					tailK, tailLast, dbK, dbLast := readKindsBoth(t, s, after, limit, kinds)
					if !reflect.DeepEqual(tailK, want) || tailLast != wantLast || !reflect.DeepEqual(dbK, want) || dbLast != wantLast {
						t.Fatalf("%s: ReadStreamKinds(%d, %d, %v) = tail %v (last %d), database %v (last %d); want %v (last %d)",
							when, after, limit, kinds, tailK, tailLast, dbK, dbLast, want, wantLast)
					}
				}
			}
		}
	}
	check("after appends")
	var packed int
	if err := s.rdb.QueryRow("SELECT COUNT(*) FROM stream WHERE packed = 1").Scan(&packed); err != nil || packed == 0 {
		t.Errorf("compressed stream rows = %d, %v; want the large payloads compressed", packed, err)
	}
	if s.tail.floor == 0 {
		t.Errorf("tail floor = 0 after 30 appends with room for 20; want eviction")
	}
	update(t, s, func(tx store.Tx) error {
		_, err := tx.TrimStream(ctx, 15)
		return err
	})
	check("after trim")
	update(t, s, func(tx store.Tx) error {
		_, err := tx.Append(ctx, "k", nil)
		return err
	})
	check("after a nil payload")
}

// TestStreamTailPinsView checks that repeated tail reads in one View see the same entries
// even when more commit in between, as reads of one snapshot would.
func TestStreamTailPinsView(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t, t.TempDir())
	appendOne := func(p string) {
		update(t, s, func(tx store.Tx) error {
			_, err := tx.Append(ctx, "k", []byte(p))
			return err
		})
	}
	appendOne("a")
	appendOne("b")
	view(t, s, func(tx store.ReadTx) error {
		first, err := tx.ReadStream(ctx, 0, 1)
		if err != nil || len(first) != 1 || string(first[0].Payload) != "a" {
			t.Fatalf("first ReadStream = %v, %v; want entry a", first, err)
		}
		appendOne("c") // commits while the View is open
		rest, err := tx.ReadStream(ctx, first[0].Seq, 10)
		if err != nil || len(rest) != 1 || string(rest[0].Payload) != "b" {
			t.Errorf("second ReadStream in the same View = %v, %v; want only entry b", rest, err)
		}
		return nil
	})
	view(t, s, func(tx store.ReadTx) error {
		all, err := tx.ReadStream(ctx, 0, 10)
		if err != nil || len(all) != 3 {
			t.Errorf("ReadStream in a new View = %d entries, %v; want 3", len(all), err)
		}
		return nil
	})
}

// TestFirstUpdateOfBatchFails checks that when the first function of a transaction (which
// runs without a savepoint) fails, its writes and stream entries are undone and the Updates
// queued behind it still commit.
func TestFirstUpdateOfBatchFails(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t, t.TempDir())
	boom := errors.New("boom")
	const n = 3
	errs := make(chan error, n)
	err := s.Update(ctx, func(tx store.Tx) error {
		if err := tx.Put(ctx, "b", "zero", []byte("0")); err != nil {
			return err
		}
		if _, err := tx.Append(ctx, "k", []byte("from the failed update")); err != nil {
			return err
		}
		for i := range n {
			go func() {
				errs <- s.Update(ctx, func(tx store.Tx) error {
					if err := tx.Put(ctx, "b", fmt.Sprint(i), []byte("v")); err != nil {
						return err
					}
					_, err := tx.Append(ctx, "k", []byte(fmt.Sprint(i)))
					return err
				})
			}()
		}
		for len(s.reqs) < n {
			runtime.Gosched()
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("first Update = %v; want %v", err, boom)
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatalf("queued Update = %v", err)
		}
	}
	view(t, s, func(tx store.ReadTx) error {
		if v, err := tx.Get(ctx, "b", "zero"); err != nil || v != nil {
			t.Errorf("Get(zero) = %q, %v; want nothing (its Update failed)", v, err)
		}
		for i := range n {
			if v, err := tx.Get(ctx, "b", fmt.Sprint(i)); err != nil || string(v) != "v" {
				t.Errorf("Get(%d) = %q, %v; want v", i, v, err)
			}
		}
		return nil
	})
	tail, db := readBoth(t, s, 0, 100)
	if len(db) != n || !reflect.DeepEqual(tail, db) {
		t.Errorf("stream = %v from the tail, %v in the database; want the %d entries of the committed Updates in both", tail, db, n)
	}
}

// TestStreamTailSeesForeignAppends checks that entries appended by another Store on the same
// database (another process, which a data dir lock normally prevents) are not hidden by the
// tail once this Store writes again.
func TestStreamTailSeesForeignAppends(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	a, _ := openTest(t, dir)
	b, _ := openTest(t, dir)
	appendTo := func(s *Store, p string) {
		update(t, s, func(tx store.Tx) error {
			_, err := tx.Append(ctx, "k", []byte(p))
			return err
		})
	}
	appendTo(a, "a1")
	appendTo(b, "b1")
	appendTo(a, "a2")
	tail, db := readBoth(t, a, 0, 100)
	if len(db) != 3 || !reflect.DeepEqual(tail, db) {
		t.Errorf("stream read through the tail = %v; the database has %v; want the same 3 entries", tail, db)
	}
}
