package sqlite

import (
	"context"
	"errors"
	"fmt"
	"reflect"
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

	boom := errors.New("boom")
	for i := range 30 {
		err := s.Update(ctx, func(tx store.Tx) error {
			if _, err := tx.Append(ctx, "k", fmt.Appendf(nil, "entry %d", i)); err != nil {
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
			}
		}
	}
	check("after appends")
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
