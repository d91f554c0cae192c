package sqlite

import (
	"context"
	"testing"

	"github.com/bannin/bannin/internal/store"
)

func TestListKV(t *testing.T) {
	s, _ := openTest(t, t.TempDir())
	ctx := context.Background()
	keys := []string{"a/1", "a/2", "a/3", "ab", "b/1", "a/é"}
	err := s.Update(ctx, func(tx store.Tx) error {
		for _, k := range keys {
			if err := tx.Put(ctx, "objs", k, []byte(k)); err != nil {
				return err
			}
		}
		return tx.Put(ctx, "other", "a/9", []byte("x"))
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		prefix, after string
		limit         int
		want          []string
	}{
		{"a/", "", 0, []string{"a/1", "a/2", "a/3", "a/é"}},
		{"a/", "a/1", 2, []string{"a/2", "a/3"}},
		{"a", "", 0, []string{"a/1", "a/2", "a/3", "a/é", "ab"}},
		{"", "a/é", 0, []string{"ab", "b/1"}},
		{"c", "", 0, nil},
	} {
		var got []store.KV
		s.View(ctx, func(tx store.ReadTx) error {
			var err error
			got, err = tx.List(ctx, "objs", c.prefix, c.after, c.limit)
			return err
		})
		var names []string
		for _, kv := range got {
			names = append(names, kv.Key)
			if string(kv.Value) != kv.Key {
				t.Errorf("List value of %s = %q", kv.Key, kv.Value)
			}
		}
		if len(names) != len(c.want) {
			t.Errorf("List(%q after %q limit %d) = %v; want %v", c.prefix, c.after, c.limit, names, c.want)
			continue
		}
		for i := range names {
			if names[i] != c.want[i] {
				t.Errorf("List(%q after %q limit %d) = %v; want %v", c.prefix, c.after, c.limit, names, c.want)
				break
			}
		}
	}
}
