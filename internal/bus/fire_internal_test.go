package bus

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/bannin/bannin/internal/store"
	"github.com/bannin/bannin/internal/store/sqlite"
)

// openStore returns a fresh SQLite store that is closed when the test ends.
func openStore(t *testing.T) store.Store {
	t.Helper()
	st, err := sqlite.Open(t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatalf("sqlite.Open: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// putRule stores a rule of the default bus of 123456789012/us-east-1.
func putRule(t *testing.T, st store.Store, r *storedRule) {
	t.Helper()
	raw, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	err = st.Update(ctx, func(tx store.Tx) error {
		if err := bumpRules(ctx, tx, "123456789012", "us-east-1", r.EventBusName); err != nil {
			return err
		}
		return tx.PutResource(ctx, &store.Resource{Account: "123456789012", Region: "us-east-1", Type: RuleType,
			ID: ruleID(r.EventBusName, r.Name), ARN: r.Arn, Name: r.Name, Config: raw})
	})
	if err != nil {
		t.Fatalf("put rule %s: %v", r.Name, err)
	}
}

func busEvents(t *testing.T, st store.Store) int {
	t.Helper()
	var es []store.Entry
	err := st.View(context.Background(), func(tx store.ReadTx) error {
		var err error
		es, err = tx.ReadStream(context.Background(), 0, 1000)
		return err
	})
	if err != nil {
		t.Fatalf("ReadStream: %v", err)
	}
	n := 0
	for _, e := range es {
		if e.Kind == KindEvent {
			n++
		}
	}
	return n
}

// A scheduled rule deleted or disabled after fireSchedules listed it does not fire: fire
// decides on the rule as it is in its own transaction.
func TestFireRereadsRule(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	for _, change := range []string{"deleted", "disabled"} {
		st := openStore(t)
		s := New(Options{Clock: func() time.Time { return t0 }, Store: st, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		r := storedRule{Name: "tick", Arn: RuleARN("us-east-1", "123456789012", DefaultBus, "tick"), EventBusName: DefaultBus,
			ScheduleExpression: "rate(1 minute)", State: Enabled}
		putRule(t, st, &r)
		sr := scheduledRule{account: "123456789012", region: "us-east-1", rule: r}
		if err := s.fire(ctx, sr, t0); err != nil {
			t.Fatalf("fire (first sight): %v", err)
		}
		switch change {
		case "deleted":
			err := st.Update(ctx, func(tx store.Tx) error {
				return tx.DeleteResource(ctx, "123456789012", "us-east-1", RuleType, ruleID(DefaultBus, "tick"))
			})
			if err != nil {
				t.Fatal(err)
			}
		case "disabled":
			d := r
			d.State = Disabled
			putRule(t, st, &d)
		}
		// sr is what fireSchedules read before the change.
		if err := s.fire(ctx, sr, t0.Add(2*time.Minute)); err != nil {
			t.Fatalf("fire (rule %s): %v", change, err)
		}
		if n := busEvents(t, st); n != 0 {
			t.Errorf("rule %s, then due: %d scheduled events; want 0", change, n)
		}
		// Control: an enabled rule fires at that time.
		if change == "disabled" {
			putRule(t, st, &r)
			if err := s.fire(ctx, sr, t0.Add(3*time.Minute)); err != nil {
				t.Fatal(err)
			}
			if n := busEvents(t, st); n != 1 {
				t.Errorf("rule enabled again: %d scheduled events; want 1", n)
			}
		}
	}
}
