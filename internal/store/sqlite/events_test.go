package sqlite

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bannin/bannin/internal/store"
)

var (
	testAccounts = []string{"111111111111", "222222222222"}
	testRegions  = []string{"us-east-1", "eu-west-1"}
	testNames    = []string{"CreateTrail", "StartLogging", "DescribeTrails", "PutObject", "GetObject"}
	testSources  = []string{"cloudtrail.amazonaws.com", "s3.amazonaws.com"}
	testUsers    = []string{"alice", "bob", "root", ""}
	testKeys     = []string{"AKIAALICE", "AKIABOB", "ASIATEMP"}
	testRTypes   = []string{"AWS::CloudTrail::Trail", "AWS::S3::Bucket", "AWS::S3::Object"}
	testRNames   = []string{"main", "logs", "logs/a.json", "other"}
)

var eventBase = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// genEvents makes n reproducible events. Times are whole minutes so that many events share a
// time and pagination has to break ties.
func genEvents(n int, seed uint64) []*store.Event {
	rng := rand.New(rand.NewPCG(seed, 1))
	pick := func(xs []string) string { return xs[rng.IntN(len(xs))] }
	es := make([]*store.Event, 0, n)
	for i := range n {
		e := &store.Event{
			EventID:     fmt.Sprintf("%08d-0000-4000-8000-%012d", seed, i),
			Time:        eventBase.Add(time.Duration(rng.IntN(n/3+1)) * time.Minute),
			Account:     pick(testAccounts),
			Region:      pick(testRegions),
			EventName:   pick(testNames),
			EventSource: pick(testSources),
			Username:    pick(testUsers),
			AccessKeyID: pick(testKeys),
			ReadOnly:    rng.IntN(3) == 0,
		}
		switch rng.IntN(10) {
		case 0:
			e.Category = store.CategoryInsight
		case 1:
			e.Category = store.CategoryData
		case 2:
			e.Category = "" // stored as Management
		default:
			e.Category = store.CategoryManagement
		}
		for range rng.IntN(4) {
			// Repeats within one event are allowed and must not duplicate lookup results.
			e.Resources = append(e.Resources, store.EventResource{Type: pick(testRTypes), Name: pick(testRNames)})
		}
		e.Record = json.RawMessage(fmt.Sprintf(`{"eventID": %q, "eventName": %q}`, e.EventID, e.EventName))
		es = append(es, e)
	}
	return es
}

// oracle answers a lookup by brute force over events in insertion order.
func oracle(es []*store.Event, q store.EventQuery) []string {
	cat := store.NormalizeCategory(q.Category)
	type hit struct {
		t   time.Time
		i   int
		eid string
	}
	var hits []hit
	for i, e := range es {
		if q.Account != "" && e.Account != q.Account || q.Region != "" && e.Region != q.Region || store.NormalizeCategory(e.Category) != cat {
			continue
		}
		if !q.Start.IsZero() && e.Time.Before(q.Start) || !q.End.IsZero() && e.Time.After(q.End) {
			continue
		}
		v := q.AttributeValue
		ok := true
		switch q.AttributeKey {
		case store.AttrEventID:
			ok = e.EventID == v
		case store.AttrEventName:
			ok = e.EventName == v
		case store.AttrEventSource:
			ok = e.EventSource == v
		case store.AttrUsername:
			ok = e.Username == v
		case store.AttrAccessKeyID:
			ok = e.AccessKeyID == v
		case store.AttrReadOnly:
			ok = fmt.Sprint(e.ReadOnly) == strings.ToLower(v)
		case store.AttrResourceType:
			ok = slices.ContainsFunc(e.Resources, func(r store.EventResource) bool { return r.Type == v })
		case store.AttrResourceName:
			ok = slices.ContainsFunc(e.Resources, func(r store.EventResource) bool { return r.Name == v })
		}
		if ok {
			hits = append(hits, hit{e.Time, i, e.EventID})
		}
	}
	slices.SortFunc(hits, func(a, b hit) int {
		if c := b.t.Compare(a.t); c != 0 {
			return c
		}
		return b.i - a.i
	})
	ids := []string{}
	for _, h := range hits {
		ids = append(ids, h.eid)
	}
	return ids
}

// lookupAll pages through a lookup and returns the event ids in order.
func lookupAll(t *testing.T, tx store.ReadTx, q store.EventQuery) []string {
	t.Helper()
	ids := []string{}
	for pages := 0; ; pages++ {
		if pages > 10000 {
			t.Fatalf("LookupEvents(%+v): pagination does not end", q)
		}
		es, next, err := tx.LookupEvents(context.Background(), q)
		if err != nil {
			t.Fatalf("LookupEvents(%+v) = %v", q, err)
		}
		if len(es) > q.Limit {
			t.Fatalf("LookupEvents(%+v) = %d events; want at most %d", q, len(es), q.Limit)
		}
		for _, e := range es {
			ids = append(ids, e.EventID)
		}
		if next == "" {
			return ids
		}
		if len(es) == 0 {
			t.Fatalf("LookupEvents(%+v) = an empty page with a next token", q)
		}
		q.NextToken = next
	}
}

func TestLookupEvents(t *testing.T) {
	s, _ := openTest(t, t.TempDir())
	ctx := context.Background()
	es := genEvents(1500, 7)
	var inserted int
	update(t, s, func(tx store.Tx) error {
		var err error
		inserted, err = tx.AppendEvents(ctx, es)
		return err
	})
	if inserted != len(es) {
		t.Fatalf("AppendEvents = %d inserted; want %d", inserted, len(es))
	}
	checkLookups(t, s, es)
}

// TestLookupEventsBlocksAndTail checks lookups over several blocks (of overlapping times)
// and a tail of events not indexed yet, before and after the store is reopened.
func TestLookupEventsBlocksAndTail(t *testing.T) {
	dir := t.TempDir()
	s, _ := openTest(t, dir)
	ctx := context.Background()
	es := genEvents(1500, 9)
	appendOne := func(es []*store.Event) {
		for _, e := range es {
			update(t, s, func(tx store.Tx) error { return tx.AppendEvent(ctx, e) })
		}
	}
	appendMany := func(es []*store.Event) {
		update(t, s, func(tx store.Tx) error { _, err := tx.AppendEvents(ctx, es); return err })
	}
	// Fewer than indexEvery single appends in all, so that only AppendEvents makes blocks.
	appendMany(es[:400])
	appendOne(es[400:600]) // the tail, then indexed with the next batch
	appendMany(es[600:1000])
	appendOne(es[1000:1200])
	appendMany(es[1200:1400])
	appendOne(es[1400:]) // stays the tail
	var blocks, tail int
	if err := s.rdb.QueryRow("SELECT COUNT(*) FROM event_blocks").Scan(&blocks); err != nil {
		t.Fatal(err)
	}
	if err := s.rdb.QueryRow("SELECT COUNT(*) FROM events WHERE seq > (SELECT MAX(last) FROM event_blocks)").Scan(&tail); err != nil {
		t.Fatal(err)
	}
	if blocks != 3 || tail != 100 {
		t.Fatalf("%d blocks and a tail of %d events; want 3 and 100", blocks, tail)
	}
	checkLookups(t, s, es)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, _ = openTest(t, dir)
	if err := s.rdb.QueryRow("SELECT COUNT(*) FROM events WHERE seq > (SELECT MAX(last) FROM event_blocks)").Scan(&tail); err != nil {
		t.Fatal(err)
	}
	if tail != 0 {
		t.Errorf("after reopening, a tail of %d events; want 0 (indexed by Open)", tail)
	}
	checkLookups(t, s, es)
}

// TestWriterIndexesTail checks that recorded events do not pile up in the tail: the writer
// indexes them once indexEvery are waiting.
func TestWriterIndexesTail(t *testing.T) {
	s, _ := openTest(t, t.TempDir())
	ctx := context.Background()
	es := genEvents(indexEvery+100, 13)
	for _, e := range es {
		update(t, s, func(tx store.Tx) error { return tx.AppendEvent(ctx, e) })
	}
	var tail int
	if err := s.rdb.QueryRow("SELECT COUNT(*) FROM events WHERE seq > (SELECT COALESCE(MAX(last), 0) FROM event_blocks)").Scan(&tail); err != nil {
		t.Fatal(err)
	}
	if tail >= indexEvery {
		t.Errorf("tail of %d events after %d AppendEvent; want fewer than %d", tail, len(es), indexEvery)
	}
	view(t, s, func(tx store.ReadTx) error {
		q := store.EventQuery{Account: testAccounts[1], Region: testRegions[0], AttributeKey: store.AttrEventName, AttributeValue: testNames[2], Limit: 13}
		if got, want := lookupAll(t, tx, q), oracle(es, q); !slices.Equal(got, want) {
			t.Errorf("LookupEvents = %d events; want %d", len(got), len(want))
		}
		return nil
	})
}

// checkLookups compares every kind of lookup over s with the oracle over es, the events
// stored in order.
func checkLookups(t *testing.T, s *Store, es []*store.Event) {
	t.Helper()
	ctx := context.Background()
	type attr struct{ key, value string }
	attrs := []attr{{"", ""}, {store.AttrEventID, es[42].EventID}, {store.AttrEventID, "no-such-id"}, {store.AttrReadOnly, "true"}, {store.AttrReadOnly, "False"}}
	for _, v := range testNames {
		attrs = append(attrs, attr{store.AttrEventName, v})
	}
	for _, v := range testSources {
		attrs = append(attrs, attr{store.AttrEventSource, v})
	}
	for _, v := range testUsers[:3] {
		attrs = append(attrs, attr{store.AttrUsername, v})
	}
	for _, v := range testKeys {
		attrs = append(attrs, attr{store.AttrAccessKeyID, v})
	}
	for _, v := range testRTypes {
		attrs = append(attrs, attr{store.AttrResourceType, v})
	}
	for _, v := range testRNames {
		attrs = append(attrs, attr{store.AttrResourceName, v})
	}
	ranges := []struct{ start, end time.Time }{
		{},
		{eventBase.Add(100 * time.Minute), time.Time{}},
		{time.Time{}, eventBase.Add(200 * time.Minute)},
		{eventBase.Add(120 * time.Minute), eventBase.Add(240 * time.Minute)},
		{eventBase.Add(150 * time.Minute), eventBase.Add(150 * time.Minute)}, // one instant, inclusive
	}
	scopes := []struct{ account, region, category string }{
		{testAccounts[0], testRegions[0], ""},
		{testAccounts[1], testRegions[1], "insight"},
		{testAccounts[0], testRegions[1], "Data"},
		{"", "", ""}, // any account and region: every matching scope's postings
		{testAccounts[1], "", "data"},
		{"", testRegions[0], ""},
	}
	view(t, s, func(tx store.ReadTx) error {
		nonEmpty := 0
		for _, a := range attrs {
			for _, r := range ranges {
				for _, sc := range scopes {
					q := store.EventQuery{Account: sc.account, Region: sc.region, Category: sc.category,
						AttributeKey: a.key, AttributeValue: a.value, Start: r.start, End: r.end, Limit: 7}
					got := lookupAll(t, tx, q)
					want := oracle(es, q)
					if !slices.Equal(got, want) {
						t.Errorf("LookupEvents(%s=%q, %v..%v, %s/%s/%s) = %d events; want %d (%v... vs %v...)",
							a.key, a.value, r.start, r.end, sc.account, sc.region, sc.category, len(got), len(want), head(got), head(want))
					}
					if len(want) > 0 {
						nonEmpty++
					}
				}
			}
		}
		if nonEmpty < len(attrs)*len(ranges) {
			t.Errorf("only %d of the lookups had results; the data does not exercise the queries", nonEmpty)
		}
		// The event itself round-trips.
		got, _, err := tx.LookupEvents(ctx, store.EventQuery{AttributeKey: store.AttrEventID, AttributeValue: es[42].EventID,
			Account: es[42].Account, Region: es[42].Region, Category: es[42].Category})
		if err != nil {
			return err
		}
		want := *es[42]
		want.Category = store.NormalizeCategory(want.Category)
		if len(got) != 1 || !eventEqual(got[0], &want) {
			t.Errorf("LookupEvents(EventId) = %+v; want %+v", got, want)
		}
		return nil
	})
}

func head(xs []string) []string { return xs[:min(3, len(xs))] }

func eventEqual(a, b *store.Event) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb) && a.Time.Equal(b.Time)
}

func TestLookupEventsErrors(t *testing.T) {
	s, _ := openTest(t, t.TempDir())
	ctx := context.Background()
	update(t, s, func(tx store.Tx) error { _, err := tx.AppendEvents(ctx, genEvents(100, 3)); return err })
	view(t, s, func(tx store.ReadTx) error {
		q := store.EventQuery{Account: testAccounts[0], Region: testRegions[0], Limit: 2}
		_, next, err := tx.LookupEvents(ctx, q)
		if err != nil || next == "" {
			t.Fatalf("LookupEvents = %q, %v; want a next token", next, err)
		}
		bad := []struct {
			name string
			q    store.EventQuery
			want error
		}{
			{"garbage token", store.EventQuery{NextToken: "!!"}, store.ErrInvalidToken},
			{"token of another query", store.EventQuery{Account: testAccounts[1], Region: testRegions[0], NextToken: next}, store.ErrInvalidToken},
			{"unknown key", store.EventQuery{AttributeKey: "Color", AttributeValue: "red"}, store.ErrInvalidQuery},
			{"bad read-only", store.EventQuery{AttributeKey: store.AttrReadOnly, AttributeValue: "yes"}, store.ErrInvalidQuery},
			{"bad category", store.EventQuery{Category: "audit"}, store.ErrInvalidQuery},
		}
		for _, b := range bad {
			if _, _, err := tx.LookupEvents(ctx, b.q); !errors.Is(err, b.want) {
				t.Errorf("LookupEvents(%s) = %v; want %v", b.name, err, b.want)
			}
		}
		return nil
	})
}

func TestAppendEventDuplicates(t *testing.T) {
	s, _ := openTest(t, t.TempDir())
	ctx := context.Background()
	es := genEvents(50, 11)
	update(t, s, func(tx store.Tx) error {
		for _, e := range es[:10] {
			if err := tx.AppendEvent(ctx, e); err != nil {
				return err
			}
		}
		return tx.AppendEvent(ctx, es[0]) // duplicate: ignored, no stream entry
	})
	var inserted int
	update(t, s, func(tx store.Tx) error {
		var err error
		inserted, err = tx.AppendEvents(ctx, append(es[5:], es[20], es[0])) // 5 stored already, 2 repeated in the batch
		return err
	})
	if inserted != 40 {
		t.Errorf("AppendEvents with duplicates = %d inserted; want 40", inserted)
	}
	view(t, s, func(tx store.ReadTx) error {
		got := lookupAll(t, tx, store.EventQuery{Category: "insight", Limit: 50})
		got = append(got, lookupAll(t, tx, store.EventQuery{Category: "data", Limit: 50})...)
		got = append(got, lookupAll(t, tx, store.EventQuery{Limit: 50})...)
		if len(got) != 50 {
			t.Errorf("events stored = %d; want 50", len(got))
		}
		entries, err := tx.ReadStream(ctx, 0, 100)
		if err != nil {
			return err
		}
		if len(entries) != 10 {
			t.Errorf("stream entries = %d; want 10 (one per new AppendEvent, none for AppendEvents)", len(entries))
		}
		for i, e := range entries {
			if e.Kind != store.KindAPICall || string(e.Payload) != string(es[i].Record) {
				t.Errorf("entry %d = %s %s; want %s %s", i, e.Kind, e.Payload, store.KindAPICall, es[i].Record)
			}
		}
		var n int
		if err := s.rdb.QueryRow("SELECT COUNT(*) FROM event_postings WHERE attr = ?", attrAll).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			t.Errorf("no posting rows after AppendEvents; want the events indexed")
		}
		return nil
	})
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.AppendEvent(ctx, &store.Event{Time: eventBase}) }); err == nil {
		t.Errorf("AppendEvent without an event id = nil; want an error")
	}
}

func TestPurgeEvents(t *testing.T) {
	s, _ := openTest(t, t.TempDir())
	ctx := context.Background()
	es := genEvents(600, 5)
	update(t, s, func(tx store.Tx) error { _, err := tx.AppendEvents(ctx, es[:300]); return err })
	update(t, s, func(tx store.Tx) error { _, err := tx.AppendEvents(ctx, es[300:500]); return err })
	for _, e := range es[500:] { // the tail
		update(t, s, func(tx store.Tx) error { return tx.AppendEvent(ctx, e) })
	}
	cut := eventBase.Add(100 * time.Minute)
	want := 0
	for _, e := range es {
		if e.Time.Before(cut) {
			want++
		}
	}
	var purged int64
	update(t, s, func(tx store.Tx) error {
		var err error
		purged, err = tx.PurgeEvents(ctx, cut)
		return err
	})
	if purged != int64(want) {
		t.Errorf("PurgeEvents = %d; want %d", purged, want)
	}
	view(t, s, func(tx store.ReadTx) error {
		for _, rt := range append([]string{""}, testRTypes...) {
			q := store.EventQuery{Account: testAccounts[0], Region: testRegions[0], AttributeKey: store.AttrResourceType, AttributeValue: rt, Limit: 50}
			if rt == "" {
				q.AttributeKey = ""
			}
			got := lookupAll(t, tx, q)
			var kept []*store.Event
			for _, e := range es {
				if !e.Time.Before(cut) {
					kept = append(kept, e)
				}
			}
			if w := oracle(kept, q); !slices.Equal(got, w) {
				t.Errorf("LookupEvents(ResourceType=%s) after purge = %d events; want %d", rt, len(got), len(w))
			}
		}
		var stale int
		if err := s.rdb.QueryRow("SELECT COUNT(*) FROM event_postings WHERE mintime < ?", cut.UnixNano()).Scan(&stale); err != nil {
			return err
		}
		if stale != 0 {
			t.Errorf("%d posting rows list purged events; want 0", stale)
		}
		return nil
	})
}

// TestPurgeNewestSeqs purges the events with the highest seqs (imported late, but old), so
// that SQLite hands their seqs out again: the new events must be found.
func TestPurgeNewestSeqs(t *testing.T) {
	s, _ := openTest(t, t.TempDir())
	ctx := context.Background()
	es := genEvents(300, 17)
	cut := eventBase.Add(1000 * time.Hour)
	for _, e := range es {
		e.Time = e.Time.Add(2000 * time.Hour) // kept
	}
	old := genEvents(200, 18)
	// One block whose newest seqs are purged, one block purged whole, and a tail.
	update(t, s, func(tx store.Tx) error {
		_, err := tx.AppendEvents(ctx, append(slices.Clone(es[:100]), old[:50]...))
		return err
	})
	update(t, s, func(tx store.Tx) error { _, err := tx.AppendEvents(ctx, old[50:150]); return err })
	for _, e := range old[150:] {
		update(t, s, func(tx store.Tx) error { return tx.AppendEvent(ctx, e) })
	}
	update(t, s, func(tx store.Tx) error {
		n, err := tx.PurgeEvents(ctx, cut)
		if n != 200 {
			t.Errorf("PurgeEvents = %d; want 200", n)
		}
		return err
	})
	update(t, s, func(tx store.Tx) error { _, err := tx.AppendEvents(ctx, es[100:200]); return err })
	for _, e := range es[200:] {
		update(t, s, func(tx store.Tx) error { return tx.AppendEvent(ctx, e) })
	}
	checkLookups(t, s, es)
}

// queryPlan is SQLite's plan for query, its steps joined by "; ".
func queryPlan(t *testing.T, s *Store, query string, args ...any) string {
	t.Helper()
	rows, err := s.rdb.Query("EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		t.Fatalf("EXPLAIN %s: %v", query, err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	return strings.Join(plan, "; ")
}

// TestLookupQueryPlans checks that the statements of a lookup are range reads: the tail by
// rowid, the postings by primary key, EventId by its index. (Only lookups without account and
// region scan the whole table.)
func TestLookupQueryPlans(t *testing.T) {
	s, _ := openTest(t, t.TempDir())
	ctx := context.Background()
	update(t, s, func(tx store.Tx) error { _, err := tx.AppendEvents(ctx, genEvents(200, 1)); return err })
	plan := func(query string, args ...any) string { t.Helper(); return queryPlan(t, s, query, args...) }
	tok := &pageToken{T: eventBase.Add(time.Hour).UnixNano(), S: 100}
	for key := range postingAttr {
		for _, tk := range []*pageToken{nil, tok} {
			q := store.EventQuery{Account: testAccounts[0], Region: testRegions[0], AttributeKey: key, AttributeValue: "true",
				Start: eventBase, End: eventBase.Add(24 * time.Hour)}
			f, err := newEventFilter(q, store.CategoryManagement, tk)
			if err != nil {
				t.Fatal(err)
			}
			after := int64(100)
			query, args := f.scanSQL(&after)
			want := "SEARCH e USING INTEGER PRIMARY KEY (rowid>?)"
			if key == store.AttrResourceType || key == store.AttrResourceName {
				want += "; SCAN r EXISTS VIRTUAL TABLE INDEX 1:"
			}
			want += "; USE TEMP B-TREE FOR ORDER BY"
			if p := plan(query, append(args, 50)...); p != want {
				t.Errorf("plan of the tail of LookupEvents(%q, token %v) = %q; want %q", key, tk != nil, p, want)
			}
		}
	}
	for _, q := range []string{
		"SELECT block, maxtime FROM event_postings WHERE scope = ? AND attr = ? AND value = ? AND maxtime >= ? AND mintime <= ?",
		"SELECT list FROM event_postings WHERE scope = ? AND attr = ? AND value = ? AND block = ?",
	} {
		if p, want := plan(q, 1, 1, "x", 1, 1), "SEARCH event_postings USING PRIMARY KEY (scope=? AND attr=? AND value=?"; !strings.HasPrefix(p, want) {
			t.Errorf("plan of %s = %q; want %q...", q, p, want)
		}
	}
	q := store.EventQuery{Account: testAccounts[0], Region: testRegions[0], AttributeKey: store.AttrEventID, AttributeValue: "x"}
	f, err := newEventFilter(q, store.CategoryManagement, tok)
	if err != nil {
		t.Fatal(err)
	}
	f.days = []any{int64(20000), int64(20001)}
	query, args := f.scanSQL(nil)
	if p, want := plan(query, append(args, 50)...), "SEARCH e USING INDEX events_by_event_id (<expr>=? AND event_id=?); USE TEMP B-TREE FOR ORDER BY"; p != want {
		t.Errorf("plan of LookupEvents(EventId) = %q; want %q", p, want)
	}
	if p, want := plan("SELECT (SELECT MIN("+eventDay+") FROM events), (SELECT MAX("+eventDay+") FROM events)"),
		"SCAN CONSTANT ROW; SCALAR SUBQUERY 1; SEARCH events USING COVERING INDEX events_by_event_id; SCALAR SUBQUERY 2; SEARCH events USING COVERING INDEX events_by_event_id"; p != want {
		t.Errorf("plan of the event id index's day range = %q; want %q", p, want)
	}
}

// TestEventRecordsPacked checks that records come back byte for byte whether they were
// stored compressed (large), as they are (small, or incompressible), or written plainly by
// an older version of the store.
func TestEventRecordsPacked(t *testing.T) {
	s, _ := openTest(t, t.TempDir())
	ctx := context.Background()
	big := `{"eventVersion":"1.11","requestParameters":{"tags":[` + strings.Repeat(`{"key":"team","value":"platform"},`, 40) + `{"key":"k","value":"v"}]}}`
	noise := make([]byte, 600)
	for i := range noise {
		noise[i] = byte('a' + (i*7919+i*i)%26)
	}
	records := map[string]string{"big": big, "small": `{"eventVersion":"1.11"}`, "noise": `{"x":"` + string(noise) + `"}`, "none": ""}
	update(t, s, func(tx store.Tx) error {
		for id, rec := range records {
			e := &store.Event{EventID: id, Time: time.Date(2025, 3, 1, 11, 0, 0, 0, time.UTC), Account: "123456789012",
				Region: "us-east-1", EventName: "AddTags", EventSource: "cloudtrail.amazonaws.com"}
			if rec != "" {
				e.Record = json.RawMessage(rec)
			}
			if err := tx.AppendEvent(ctx, e); err != nil {
				return err
			}
		}
		return nil
	})
	// A row as the store wrote it before records were compressed.
	if _, err := s.wconn.ExecContext(ctx, `INSERT INTO events (scope, event_id, time, account, region, category, event_name,
		event_source, username, access_key_id, read_only, resources, record) VALUES (?, 'old', ?, '123456789012', 'us-east-1',
		'Management', 'AddTags', 'cloudtrail.amazonaws.com', '', '', 0, NULL, ?)`,
		eventScope("123456789012", "us-east-1", "Management"), time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC).UnixNano(), []byte(big)); err != nil {
		t.Fatal(err)
	}
	records["old"] = big
	var stored int
	if err := s.rdb.QueryRow("SELECT length(record) FROM events WHERE event_id = 'big'").Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if stored >= len(big)/2 {
		t.Errorf("big record stored in %d bytes; want it compressed (%d bytes of JSON)", stored, len(big))
	}
	view(t, s, func(tx store.ReadTx) error {
		for id, want := range records {
			es, _, err := tx.LookupEvents(ctx, store.EventQuery{Account: "123456789012", Region: "us-east-1",
				AttributeKey: store.AttrEventID, AttributeValue: id, Limit: 50})
			if err != nil {
				return err
			}
			if len(es) != 1 {
				t.Fatalf("lookup %s: %d events", id, len(es))
			}
			if got := string(es[0].Record); got != want {
				t.Errorf("record %s = %.80q…; want %.80q…", id, got, want)
			}
		}
		return nil
	})
}

// TestHistoryDocsPacked: a large configuration's history document is stored compressed and
// read back as it was.
func TestHistoryDocsPacked(t *testing.T) {
	s, _ := openTest(t, t.TempDir())
	ctx := context.Background()
	config := json.RawMessage(`{"name":"big","rules":[` + strings.TrimSuffix(strings.Repeat(`{"id":"rule","enabled":true},`, 60), ",") + `]}`)
	update(t, s, func(tx store.Tx) error {
		return tx.PutResource(ctx, &store.Resource{Account: "123456789012", Region: "us-east-1", Type: "AWS::Test::Thing",
			ID: "big", ARN: "arn:test:big", Name: "big", Config: config})
	})
	var first []byte
	if err := s.rdb.QueryRow("SELECT substr(doc, 1, 1) FROM resource_versions WHERE id = 'big'").Scan(&first); err != nil {
		t.Fatal(err)
	}
	if len(first) != 1 || first[0] != packedRecord {
		t.Errorf("history document starts with %q; want it compressed", first)
	}
	view(t, s, func(tx store.ReadTx) error {
		cs, _, err := tx.ResourceHistory(ctx, store.HistoryQuery{Account: "123456789012", Region: "us-east-1", Type: "AWS::Test::Thing", ID: "big"})
		if err != nil {
			return err
		}
		if len(cs) != 1 || string(cs[0].Config) != string(config) {
			t.Errorf("history = %v; want one version with the configuration as put", cs)
		}
		return nil
	})
}
