package recorder

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/bannin/bannin/internal/store"
	"github.com/bannin/bannin/internal/wire/config"
)

// TestDailyRecordingAndPeriodicSnapshots drives Run's tick with a fake clock: a DAILY
// type's change waits for the daily recording, and the channel's deliveryFrequency
// requests snapshots.
func TestDailyRecordingAndPeriodicSnapshots(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	now := time.Now().UTC()
	s := New(Options{Store: st, Clock: func() time.Time { return now }})
	const acct, region, typ = "111122223333", "us-east-1", "AWS::Logs::LogGroup"
	var pos int64
	err := st.Update(ctx, func(tx store.Tx) error {
		r := &recorderState{Recording: true, Recorder: config.ConfigurationRecorder{Name: aws.String("default"),
			RecordingMode: &config.RecordingMode{RecordingFrequency: aws.String("CONTINUOUS"), RecordingModeOverrides: []config.RecordingModeOverride{
				{ResourceTypes: []string{typ}, RecordingFrequency: aws.String("DAILY")}}}}}
		if err := saveRecorder(ctx, tx, acct, region, r); err != nil {
			return err
		}
		return saveChannel(ctx, tx, acct, region, &channelState{Channel: config.DeliveryChannel{Name: aws.String("default"),
			S3BucketName: aws.String("b"), ConfigSnapshotDeliveryProperties: &config.ConfigSnapshotDeliveryProperties{DeliveryFrequency: aws.String("One_Hour")}}})
	})
	if err != nil {
		t.Fatal(err)
	}
	put := func(cfg string) {
		t.Helper()
		if err := st.Update(ctx, func(tx store.Tx) error {
			return tx.PutResource(ctx, &store.Resource{Account: acct, Region: region, Type: typ, ID: "g", Config: json.RawMessage(cfg)})
		}); err != nil {
			t.Fatal(err)
		}
		drain(t, s, st, &pos)
	}
	current := func() string {
		t.Helper()
		var items []*Item
		st.View(ctx, func(tx store.ReadTx) error {
			items, err = s.CurrentItems(ctx, tx, acct, region, []string{typ})
			return err
		})
		if err != nil || len(items) != 1 {
			t.Fatalf("CurrentItems = %v, %v; want one", items, err)
		}
		if items[0].RecordingFrequency != "DAILY" {
			t.Errorf("recordingFrequency = %s; want DAILY", items[0].RecordingFrequency)
		}
		return string(items[0].Configuration)
	}
	put(`{"v":1}`)
	put(`{"v":2}`)
	if got := current(); got != `{"v":1}` {
		t.Errorf("item after a second change the same day = %s; want {\"v\":1} (the change waits a day)", got)
	}
	snapshots := func() int {
		var es []store.Entry
		st.View(ctx, func(tx store.ReadTx) error {
			es, err = tx.ReadStream(ctx, 0, 1000)
			return err
		})
		n := 0
		for _, e := range es {
			if e.Kind == kindSnapshot {
				n++
			}
		}
		return n
	}
	if err := s.tick(ctx); err != nil {
		t.Fatal(err)
	}
	drain(t, s, st, &pos)
	if got := current(); got != `{"v":1}` || snapshots() != 0 {
		t.Errorf("after the first tick: item %s, %d snapshots; want {\"v\":1} and none", got, snapshots())
	}
	now = now.Add(25 * time.Hour)
	if err := s.tick(ctx); err != nil {
		t.Fatal(err)
	}
	drain(t, s, st, &pos)
	if got := current(); got != `{"v":2}` {
		t.Errorf("item after the daily recording = %s; want {\"v\":2}", got)
	}
	if n := snapshots(); n != 1 {
		t.Errorf("snapshot requests after 25 hours = %d; want 1", n)
	}
	if err := s.tick(ctx); err != nil {
		t.Fatal(err)
	}
	if n := snapshots(); n != 1 {
		t.Errorf("snapshot requests after a tick at the same time = %d; want still 1", n)
	}
}
