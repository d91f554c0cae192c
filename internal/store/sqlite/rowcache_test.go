package sqlite

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/bannin/bannin/internal/store"
)

// TestWriterResourceCache checks that write functions reading through the writer's
// resource cache see what a View reads from the database, whatever the functions before
// them did: changed their copies, failed after writing, deleted, or another connection wrote.
func TestWriterResourceCache(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, _ := openTest(t, dir)
	rs := []*store.Resource{bucket(0), bucket(1), bucket(2)}
	rs[0].Config, rs[0].Tags = nil, nil
	rs[1].Config, rs[1].Tags = json.RawMessage(`{}`), map[string]string{}
	for _, r := range rs {
		update(t, s, func(tx store.Tx) error { return tx.PutResource(ctx, r) })
	}
	// check compares, for each resource, a write function's read with a View's.
	check := func(when string) {
		t.Helper()
		for _, r := range rs {
			var fromWriter, fromView *store.Resource
			for range 2 { // the second read is served by the cache
				update(t, s, func(tx store.Tx) error {
					var err error
					fromWriter, err = tx.GetResource(ctx, r.Account, r.Region, r.Type, r.ID)
					return err
				})
			}
			view(t, s, func(tx store.ReadTx) error {
				var err error
				fromView, err = tx.GetResource(ctx, r.Account, r.Region, r.Type, r.ID)
				return err
			})
			if !reflect.DeepEqual(fromWriter, fromView) {
				t.Fatalf("%s: %s read by a write function = %+v; a View reads %+v", when, r.ID, fromWriter, fromView)
			}
		}
	}
	check("after puts")

	update(t, s, func(tx store.Tx) error { // changes its copies without writing them
		r, err := tx.GetResource(ctx, rs[2].Account, rs[2].Region, rs[2].Type, rs[2].ID)
		if err != nil {
			return err
		}
		r.Tags["i"] = "changed"
		r.Config[0] = '['
		return nil
	})
	check("after a function changed what it read")

	boom := errors.New("boom")
	if err := s.Update(ctx, func(tx store.Tx) error {
		r, err := tx.GetResource(ctx, rs[2].Account, rs[2].Region, rs[2].Type, rs[2].ID)
		if err != nil {
			return err
		}
		r.Tags = map[string]string{"failed": "yes"}
		return errors.Join(tx.PutResource(ctx, r), boom)
	}); !errors.Is(err, boom) {
		t.Fatalf("Update = %v; want boom", err)
	}
	check("after a function failed after writing")

	update(t, s, func(tx store.Tx) error {
		return tx.DeleteResource(ctx, rs[1].Account, rs[1].Region, rs[1].Type, rs[1].ID)
	})
	check("after a delete")

	other, _ := openTest(t, dir) // another connection writes
	b := bucket(2)
	b.Tags = map[string]string{"by": "other"}
	update(t, other, func(tx store.Tx) error { return tx.PutResource(ctx, b) })
	check("after another connection wrote")
}
