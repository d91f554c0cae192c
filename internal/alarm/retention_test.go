package alarm

import (
	"context"
	"testing"
	"time"

	"github.com/bannin/bannin/internal/store"
)

// History older than two weeks is dropped, of live and deleted alarms alike; newer stays.
func TestHistoryRetention(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	old := &Alarm{Account: "123456789012", Region: "us-east-1", Type: TypeMetric, Name: "old"}
	gone := &Alarm{Account: "123456789012", Region: "us-east-1", Type: TypeMetric, Name: "deleted-long-ago"}
	start := h.now()
	err := h.st.Update(ctx, func(tx store.Tx) error {
		for i, at := range []time.Time{start, start.Add(24 * time.Hour), start.Add(13 * 24 * time.Hour)} {
			if err := h.s.history(ctx, tx, old, "StateUpdate", "change", map[string]int{"n": i}, at); err != nil {
				return err
			}
		}
		return h.s.history(ctx, tx, gone, "ConfigurationUpdate", "Alarm \"deleted-long-ago\" deleted", map[string]int{}, start)
	})
	if err != nil {
		t.Fatal(err)
	}
	keys := func() []string {
		var out []string
		h.st.View(ctx, func(tx store.ReadTx) error {
			kvs, err := tx.List(ctx, bucketHistory, "", "", 100)
			for _, kv := range kvs {
				out = append(out, kv.Key)
			}
			return err
		})
		return out
	}
	if n, err := h.s.pruneHistory(ctx, start.Add(historyRetention)); err != nil || n != 0 {
		t.Fatalf("prune at exactly two weeks = %d, %v; want nothing dropped", n, err)
	}
	if n, err := h.s.pruneHistory(ctx, start.Add(historyRetention+25*time.Hour)); err != nil || n != 3 {
		t.Fatalf("prune two weeks and a day later = %d, %v; want the 3 items older than two weeks", n, err)
	}
	left := keys()
	if len(left) != 1 {
		t.Fatalf("history left = %q; want only the item of day 13", left)
	}
	if at, ok := historyTime(left[0]); !ok || !at.Equal(start.Add(13*24*time.Hour)) {
		t.Errorf("item left recorded at %v (%v); want day 13", at, ok)
	}
	if _, ok := historyTime("no-separator"); ok {
		t.Errorf("historyTime of a key without a time = ok")
	}
}
