package recorder

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/bannin/bannin/internal/store"
	"github.com/bannin/bannin/internal/store/sqlite"
	"github.com/bannin/bannin/internal/wire/config"
)

// openStore opens a store in a temporary directory.
func openStore(t testing.TB) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatalf("sqlite.Open: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// drain hands every stream entry after *pos to the recorder's consumers, as the stream
// runner would, until none is left.
func drain(t *testing.T, s *Service, st store.Store, pos *int64) []store.Entry {
	t.Helper()
	ctx := context.Background()
	var all []store.Entry
	for {
		var es []store.Entry
		if err := st.View(ctx, func(tx store.ReadTx) error {
			var err error
			es, err = tx.ReadStream(ctx, *pos, 100)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if len(es) == 0 {
			return all
		}
		all = append(all, es...)
		*pos = es[len(es)-1].Seq
		for _, e := range es {
			var h func(context.Context, []store.Entry) error
			switch e.Kind {
			case store.KindResource, kindDiscover:
				h = s.handleChanges
			case KindItem:
				h = s.handleItems
			default:
				continue
			}
			if err := h(ctx, []store.Entry{e}); err != nil {
				t.Fatalf("handle %s: %v", e.Kind, err)
			}
		}
	}
}

func putRecorder(t *testing.T, st store.Store, account, region string, recording bool, g *config.RecordingGroup) {
	t.Helper()
	err := st.Update(context.Background(), func(tx store.Tx) error {
		r := &recorderState{Recorder: config.ConfigurationRecorder{Name: aws.String("default"), RecordingGroup: g}, Recording: recording}
		if err := saveRecorder(context.Background(), tx, account, region, r); err != nil {
			return err
		}
		if recording {
			return appendDiscover(context.Background(), tx, account, region)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestItemsFromChanges(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	s := New(Options{Store: st})
	var pos int64
	const acct, region = "111122223333", "us-east-1"
	put := func(typ, id, cfg string, tags map[string]string) {
		t.Helper()
		err := st.Update(ctx, func(tx store.Tx) error {
			return tx.PutResource(store.WithEventID(ctx, "ev-"+id+cfg), &store.Resource{Account: acct, Region: region, Type: typ, ID: id,
				Name: id, ARN: "arn:aws:x:::" + id, Config: json.RawMessage(cfg), Tags: tags})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	// Before recording starts: no items, but discovery will find this one.
	put("AWS::Logs::LogGroup", "early", `{"a":1}`, nil)
	drain(t, s, st, &pos)
	putRecorder(t, st, acct, region, true, &config.RecordingGroup{ResourceTypes: []string{"AWS::Logs::LogGroup", "MyCo::Thing::Widget"}})
	drain(t, s, st, &pos)
	put("AWS::Logs::LogGroup", "g1", `{"a":1}`, map[string]string{"env": "prod"})
	put("AWS::Logs::LogGroup", "g1", `{"a":2}`, map[string]string{"env": "dev"})
	put("AWS::Events::EventBus", "ignored", `{}`, nil) // type not recorded
	es := drain(t, s, st, &pos)

	items := 0
	for _, e := range es {
		if e.Kind == KindItem {
			items++
		}
	}
	if items != 2 {
		t.Errorf("KindItem entries = %d; want 2 (g1 twice)", items)
	}
	// At-least-once: handling the same entries again records nothing new.
	if err := s.handleChanges(ctx, es); err != nil {
		t.Fatal(err)
	}
	var again []store.Entry
	st.View(ctx, func(tx store.ReadTx) error {
		again, _ = tx.ReadStream(ctx, pos, 100)
		return nil
	})
	for _, e := range again {
		if e.Kind == KindItem {
			t.Errorf("replayed changes made a new item: %s", e.Payload)
		}
	}

	var cur []*Item
	st.View(ctx, func(tx store.ReadTx) error {
		var err error
		cur, err = s.CurrentItems(ctx, tx, acct, region, nil)
		return err
	})
	if len(cur) != 2 {
		t.Fatalf("CurrentItems = %d items; want 2", len(cur))
	}
	var g1 *Item
	for _, it := range cur {
		if it.ResourceID == "g1" {
			g1 = it
		}
	}
	if g1 == nil || g1.Status != "OK" || string(g1.Configuration) != `{"a":2}` || g1.Tags["env"] != "dev" ||
		len(g1.RelatedEvents) != 1 || g1.RelatedEvents[0] != `ev-g1{"a":2}` || g1.Version != "1.3" {
		t.Errorf("CurrentItems g1 = %+v; want status OK, configuration {\"a\":2}, env=dev, related event", g1)
	}

	// Deletion makes a ResourceDeleted item, and CurrentItems forgets the resource.
	st.Update(ctx, func(tx store.Tx) error { return tx.DeleteResource(ctx, acct, region, "AWS::Logs::LogGroup", "g1") })
	drain(t, s, st, &pos)
	st.View(ctx, func(tx store.ReadTx) error {
		cur, _ = s.CurrentItems(ctx, tx, acct, region, []string{"AWS::Logs::LogGroup"})
		hs, err := history(ctx, tx, acct, region, "AWS::Logs::LogGroup", "g1")
		if err != nil {
			t.Fatal(err)
		}
		var statuses []string
		for _, h := range hs {
			statuses = append(statuses, h.Item.Status)
		}
		if want := []string{"ResourceDiscovered", "OK", "ResourceDeleted"}; !equal(statuses, want) {
			t.Errorf("history statuses = %v; want %v", statuses, want)
		}
		if hs[0].Item.StateID >= hs[1].Item.StateID && len(hs[0].Item.StateID) == len(hs[1].Item.StateID) {
			t.Errorf("state ids %s, %s are not increasing", hs[0].Item.StateID, hs[1].Item.StateID)
		}
		return nil
	})
	if len(cur) != 1 || cur[0].ResourceID != "early" {
		t.Errorf("CurrentItems after delete = %v; want only early", cur)
	}
}

func TestStoppedRecorderRecordsNothing(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	s := New(Options{Store: st, Clock: func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }})
	var pos int64
	putRecorder(t, st, "1", "r", false, nil)
	st.Update(ctx, func(tx store.Tx) error {
		return tx.PutResource(ctx, &store.Resource{Account: "1", Region: "r", Type: "AWS::S3::Bucket", ID: "b"})
	})
	for _, e := range drain(t, s, st, &pos) {
		if e.Kind == KindItem {
			t.Errorf("stopped recorder made an item: %s", e.Payload)
		}
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
