package logs_test

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/bannin/bannin/internal/logs"
	"github.com/bannin/bannin/internal/store"
)

// TestEventBlocks puts batches large enough to fill several event blocks, and batches
// whose events fall between those of earlier ones, and reads them back every way: events
// come out in timestamp order whatever block they are stored in.
func TestEventBlocks(t *testing.T) {
	e, cw := setup(t)
	ctx := context.Background()
	mkGroup(t, cw, "blocks", "s", "t")
	t0 := time.Now().Add(-time.Hour).UnixMilli()
	type stored struct {
		ts  int64
		msg string
	}
	var all []stored // in put order
	batch := func(stream, name string, n int, ts func(i int) int64) {
		t.Helper()
		var evs []types.InputLogEvent
		for i := range n {
			msg := fmt.Sprintf("%s-%05d", name, i)
			if i%7 == 3 {
				msg += " match"
			}
			msg += " " + strings.Repeat("x", 99-len(msg))
			evs = append(evs, ev(ts(i), msg))
			if stream == "s" {
				all = append(all, stored{ts(i), msg})
			}
		}
		for len(evs) > 0 { // 1 MiB per call
			k := min(len(evs), 8000)
			put(t, cw, "blocks", stream, evs[:k]...)
			evs = evs[k:]
		}
	}
	// a: 3,000 events 50 ms apart (300 KB, 150 s: several blocks); b: between a's events,
	// with ties; c: before everything; t: another stream interleaved with s.
	batch("s", "a", 3000, func(i int) int64 { return t0 + int64(i)*50 })
	batch("s", "b", 1000, func(i int) int64 { return t0 + 1000 + int64(i)*100 })
	batch("s", "c", 1, func(int) int64 { return t0 - 5000 })
	batch("t", "t", 500, func(i int) int64 { return t0 + int64(i)*300 + 1 })
	want := slices.Clone(all)
	slices.SortStableFunc(want, func(x, y stored) int { return int(x.ts - y.ts) })
	wantMsgs := func(keep func(stored) bool) []string {
		var out []string
		for _, s := range want {
			if keep(s) {
				out = append(out, s.msg)
			}
		}
		return out
	}

	// GetLogEvents forward, 7 at a time.
	var got []string
	var tok *string
	in := &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("blocks"), LogStreamName: aws.String("s"), StartFromHead: aws.Bool(true), Limit: aws.Int32(997)}
	for {
		in.NextToken = tok
		out, err := cw.GetLogEvents(ctx, in)
		if err != nil {
			t.Fatalf("GetLogEvents: %v", err)
		}
		if len(out.Events) == 0 {
			break
		}
		got = append(got, getMsgs(out.Events)...)
		tok = out.NextForwardToken
	}
	if w := wantMsgs(func(stored) bool { return true }); !reflect.DeepEqual(got, w) {
		t.Fatalf("GetLogEvents forward = %d events (first %q); want %d (first %q)", len(got), head(got), len(w), head(w))
	}
	// Backward from the tail, 450 at a time.
	got, tok = nil, nil
	in = &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("blocks"), LogStreamName: aws.String("s"), Limit: aws.Int32(450)}
	for {
		in.NextToken = tok
		out, err := cw.GetLogEvents(ctx, in)
		if err != nil {
			t.Fatalf("GetLogEvents backward: %v", err)
		}
		if len(out.Events) == 0 {
			break
		}
		got = append(getMsgs(out.Events), got...)
		tok = out.NextBackwardToken
	}
	if w := wantMsgs(func(stored) bool { return true }); !reflect.DeepEqual(got, w) {
		t.Fatalf("GetLogEvents backward = %d events (first %q); want %d (first %q)", len(got), head(got), len(w), head(w))
	}

	// FilterLogEvents in a time range that starts and ends inside blocks, 13 at a time, and
	// in one page: the same events with the same eventIds.
	from, to := t0+40_000+25, t0+120_000
	filter := func(limit int32, pattern string, streams ...string) (msgs, ids []string) {
		t.Helper()
		var tok *string
		for {
			out, err := cw.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("blocks"), LogStreamNames: streams,
				StartTime: aws.Int64(from), EndTime: aws.Int64(to), Limit: aws.Int32(limit), FilterPattern: aws.String(pattern), NextToken: tok})
			if err != nil {
				t.Fatalf("FilterLogEvents: %v", err)
			}
			msgs = append(msgs, filterMsgs(out.Events)...)
			for _, e := range out.Events {
				ids = append(ids, aws.ToString(e.EventId))
			}
			if tok = out.NextToken; tok == nil {
				return msgs, ids
			}
		}
	}
	inRange := func(s stored) bool { return s.ts >= from && s.ts <= to }
	msgs, ids := filter(13, "", "s")
	if w := wantMsgs(inRange); !reflect.DeepEqual(msgs, w) {
		t.Fatalf("FilterLogEvents range = %d events (first %q); want %d (first %q)", len(msgs), head(msgs), len(w), head(w))
	}
	msgs1, ids1 := filter(10000, "", "s")
	if !reflect.DeepEqual(msgs1, msgs) || !reflect.DeepEqual(ids1, ids) {
		t.Fatalf("FilterLogEvents in one page = %d events; want the %d of 13-event pages with the same ids", len(msgs1), len(msgs))
	}
	msgs, _ = filter(5, "match", "s")
	if w := wantMsgs(func(s stored) bool { return inRange(s) && strings.Contains(s.msg, "match") }); !reflect.DeepEqual(msgs, w) {
		t.Fatalf("FilterLogEvents match = %d events (first %q); want %d (first %q)", len(msgs), head(msgs), len(w), head(w))
	}
	msgs, _ = filter(17, "match")
	n := 0
	for _, m := range msgs {
		if strings.HasPrefix(m, "t-") {
			n++
		}
	}
	if n == 0 || len(msgs)-n != len(wantMsgs(func(s stored) bool { return inRange(s) && strings.Contains(s.msg, "match") })) {
		t.Fatalf("FilterLogEvents both streams = %d events, %d of t", len(msgs), n)
	}

	// The notices name each call's events, in put order, whatever blocks hold them.
	var counts []int
	err := e.Server.Storage().View(ctx, func(tx store.ReadTx) error {
		entries, err := tx.ReadStream(ctx, 0, 10000)
		if err != nil {
			return err
		}
		for _, en := range entries {
			var n logs.PutNotice
			if en.Kind != logs.KindPut || json.Unmarshal(en.Payload, &n) != nil || n.Group != "blocks" || n.Stream != "s" {
				continue
			}
			evs, err := logs.NoticeEvents(ctx, tx, n)
			if err != nil {
				return err
			}
			if len(evs) != n.Count {
				return fmt.Errorf("NoticeEvents(%+v) = %d events", n, len(evs))
			}
			for i, ev := range evs {
				if i > 0 && ev.Message <= evs[i-1].Message || strings.HasPrefix(ev.Message, "b-") != strings.HasPrefix(evs[0].Message, "b-") {
					return fmt.Errorf("NoticeEvents(%+v) event %d = %q after %q", n, i, ev.Message[:10], evs[max(i-1, 0)].Message[:10])
				}
			}
			counts = append(counts, len(evs))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{3000, 1000, 1}; !reflect.DeepEqual(counts, want) {
		t.Fatalf("notice event counts = %v; want %v", counts, want)
	}

	// A purge that cuts through blocks keeps the rest, readable as before.
	cut := t0 + 60_000 + 10
	if _, err := cw.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String("blocks"), RetentionInDays: aws.Int32(1)}); err != nil {
		t.Fatalf("PutRetentionPolicy: %v", err)
	}
	var purged int
	err = e.Server.Storage().Update(ctx, func(tx store.Tx) error {
		var err error
		purged, err = logs.New(logs.Options{}).PurgeTx(ctx, tx, e.Account, e.Region, time.UnixMilli(cut).Add(24*time.Hour))
		return err
	})
	kept := func(s stored) bool { return s.ts >= cut }
	if w := len(want) - len(wantMsgs(kept)); err != nil || purged-countBefore(t0, cut) != w {
		t.Fatalf("PurgeTx = %d, %v; want %d of s and those of t", purged, err, w)
	}
	if _, err := cw.DeleteRetentionPolicy(ctx, &cloudwatchlogs.DeleteRetentionPolicyInput{LogGroupName: aws.String("blocks")}); err != nil {
		t.Fatalf("DeleteRetentionPolicy: %v", err)
	}
	from, to = 0, t0+3_600_000
	msgs, _ = filter(1000, "", "s")
	if w := wantMsgs(kept); !reflect.DeepEqual(msgs, w) {
		t.Fatalf("FilterLogEvents after purge = %d events (first %q); want %d (first %q)", len(msgs), head(msgs), len(w), head(w))
	}
	ds, err := cw.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String("blocks"), LogStreamNamePrefix: aws.String("s")})
	if err != nil || len(ds.LogStreams) != 1 {
		t.Fatalf("DescribeLogStreams = %+v, %v", ds, err)
	}
	if aws.ToInt64(ds.LogStreams[0].StoredBytes) != int64(100*len(msgs)) ||
		aws.ToInt64(ds.LogStreams[0].FirstEventTimestamp) != want[len(want)-len(msgs)].ts {
		t.Fatalf("stream after purge: stored bytes %d, first event %d; want %d, %d",
			aws.ToInt64(ds.LogStreams[0].StoredBytes), aws.ToInt64(ds.LogStreams[0].FirstEventTimestamp), 100*len(msgs), want[len(want)-len(msgs)].ts)
	}
}

// countBefore is how many events of stream t (one every 300 ms from t0+1) are before cut.
func countBefore(t0, cut int64) int {
	n := 0
	for i := range 500 {
		if t0+int64(i)*300+1 < cut {
			n++
		}
	}
	return n
}

func head(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0][:min(len(s[0]), 12)]
}

// TestFilterManyStreams searches a group of more streams than blocks are matched at once.
func TestFilterManyStreams(t *testing.T) {
	_, cw := setup(t)
	ctx := context.Background()
	mkGroup(t, cw, "many")
	now := time.Now().Add(-time.Minute).UnixMilli()
	var want []string
	for i := range 40 {
		name := fmt.Sprintf("s%02d", i)
		mkGroupStream(t, cw, "many", name)
		msg := fmt.Sprintf("event %02d", i)
		if i%3 == 0 {
			msg += " hit"
			want = append(want, msg)
		}
		// Timestamps run backwards with the stream names, so the order is by time.
		put(t, cw, "many", name, ev(now-int64(i), msg))
	}
	slices.Reverse(want)
	var got []string
	var tok *string
	for {
		out, err := cw.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("many"),
			FilterPattern: aws.String("hit"), Limit: aws.Int32(4), NextToken: tok})
		if err != nil {
			t.Fatalf("FilterLogEvents: %v", err)
		}
		got = append(got, filterMsgs(out.Events)...)
		if tok = out.NextToken; tok == nil {
			break
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("FilterLogEvents over 40 streams = %q; want %q", got, want)
	}
}
