package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/bannin/bannin/internal/store"
)

// TestStreamRefs checks the entries of recorded calls and resource changes, which name the
// row holding their document instead of carrying it: read from the database they equal what
// the tail holds, and only the plain entries keep a payload of their own.
func TestStreamRefs(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, _ := openTest(t, dir)
	es := genEvents(12, 3)
	for i, e := range es {
		if i%3 == 0 { // large enough to be stored compressed
			e.Record = json.RawMessage(fmt.Sprintf(`{"eventID": %q, "pad": %q}`, e.EventID, strings.Repeat("compressible ", 60)))
		}
	}
	for i, e := range es {
		update(t, s, func(tx store.Tx) error {
			if err := tx.AppendEvent(ctx, e); err != nil {
				return err
			}
			r := bucket(i % 4)
			if i%2 == 0 {
				r.Config = json.RawMessage(fmt.Sprintf(`{"n": %d, "pad": %q}`, i, strings.Repeat("compressible ", 60)))
			}
			if i == 9 {
				return tx.DeleteResource(ctx, r.Account, r.Region, r.Type, r.ID)
			}
			if err := tx.PutResource(ctx, r); err != nil {
				return err
			}
			_, err := tx.Append(ctx, "plain", fmt.Appendf(nil, "entry %d", i))
			return err
		})
	}
	// A duplicate event appends nothing.
	update(t, s, func(tx store.Tx) error { return tx.AppendEvent(ctx, es[0]) })

	tail, db := readBoth(t, s, 0, 1000)
	if !reflect.DeepEqual(tail, db) || len(db) != 12*3-1 {
		t.Fatalf("ReadStream from the tail = %d entries %v;\nfrom the database %d entries %v; want the same %d", len(tail), tail, len(db), db, 12*3-1)
	}
	var calls []string
	for _, e := range db {
		if e.Kind == store.KindAPICall {
			calls = append(calls, string(e.Payload))
		}
	}
	for i, e := range es {
		if i >= len(calls) || calls[i] != string(e.Record) {
			t.Fatalf("api-call entries = %q; want the records in call order", calls)
		}
	}
	for _, kinds := range [][]string{{store.KindResource}, {store.KindAPICall, "plain"}} {
		tailK, tailLast, dbK, dbLast := readKindsBoth(t, s, 0, 1000, kinds)
		if !reflect.DeepEqual(tailK, dbK) || tailLast != dbLast || len(dbK) == 0 {
			t.Errorf("ReadStreamKinds(%v) from the tail = %v (last %d); from the database %v (last %d)", kinds, tailK, tailLast, dbK, dbLast)
		}
	}
	var own, refs int
	if err := s.rdb.QueryRow(`SELECT COUNT(*) FILTER (WHERE payload IS NOT NULL),
		COUNT(*) FILTER (WHERE payload IS NULL AND ref IS NOT NULL AND packed = CASE kind WHEN 'api-call' THEN 2 ELSE 3 END)
		FROM stream`).Scan(&own, &refs); err != nil {
		t.Fatal(err)
	}
	if own != 11 || refs != 24 {
		t.Errorf("stream rows with a payload = %d, naming a row = %d; want 11 (the plain entries) and 24", own, refs)
	}

	// Events purged while their entries wait are left out of what the entries read; a seq
	// that the purge frees and a new event takes is not mistaken for the old one.
	update(t, s, func(tx store.Tx) error {
		_, err := tx.PurgeEvents(ctx, eventBase.Add(1000*time.Hour))
		return err
	})
	late := genEvents(1, 4)[0]
	late.Time = eventBase.Add(2000 * time.Hour)
	update(t, s, func(tx store.Tx) error { return tx.AppendEvent(ctx, late) })
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, _ = openTest(t, dir) // an empty tail: everything is read from the database
	_, db2 := readBoth(t, s, 0, 1000)
	var want []store.Entry
	for _, e := range db {
		if e.Kind != store.KindAPICall {
			want = append(want, e)
		}
	}
	if len(db2) != len(want)+1 || !reflect.DeepEqual(db2[:len(want)], want) {
		t.Fatalf("after the purge, ReadStream = %v; want the entries other than api-call, %v, and the new call's", db2, want)
	}
	if got := db2[len(want)]; got.Kind != store.KindAPICall || string(got.Payload) != string(late.Record) {
		t.Errorf("new call's entry = %s %s; want api-call %s", got.Kind, got.Payload, late.Record)
	}
	// A read whose entries were all purged goes on to the next entries there are, so that a
	// consumer reading one at a time is never stuck before them.
	if _, one := readBoth(t, s, 0, 1); len(one) != 1 || !reflect.DeepEqual(one[0], want[0]) {
		t.Errorf("ReadStream(0, 1) after the purge = %v; want %v", one, want[0])
	}
}

// oldStore creates a store of schema version in dir, for a test to fill with rows of that
// schema and then open with Open.
func oldStore(t *testing.T, dir string, version int) (*sql.DB, *sql.Conn) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	c, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := migrateTo(context.Background(), c, time.Now(), version); err != nil {
		t.Fatal(err)
	}
	return db, c
}

// TestMigrateHistoryRows opens a store of schema 3, whose history rows have no rowid and
// whose stream entries carry their documents, and checks that both read as before.
func TestMigrateHistoryRows(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, c := oldStore(t, dir, 3)
	base := time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC)
	var docs []string
	for v := 1; v <= 3; v++ {
		doc := fmt.Sprintf(`{"account":"111111111111","type":"AWS::S3::Bucket","id":"b","version":%d,"pad":%q}`, v, strings.Repeat("x", 100*v))
		docs = append(docs, doc)
		at := base.Add(time.Duration(v) * time.Hour).UnixNano()
		if _, err := c.ExecContext(ctx, `INSERT INTO resource_versions (account, region, type, id, version, time, status, doc)
			VALUES ('111111111111', 'us-east-1', 'AWS::S3::Bucket', 'b', ?, ?, 'OK', ?)`, v, at, packJSON([]byte(doc))); err != nil {
			t.Fatal(err)
		}
		stored, packed := packStream([]byte(doc))
		if _, err := c.ExecContext(ctx, "INSERT INTO stream (kind, time, payload, packed) VALUES ('resource', ?, ?, ?)", at, stored, packed); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.ExecContext(ctx, `INSERT INTO resources (account, region, type, id, arn, name, config, tags, version, created, updated)
		VALUES ('111111111111', 'us-east-1', 'AWS::S3::Bucket', 'b', 'arn:aws:s3:::b', 'b', NULL, NULL, 3, ?, ?)`, base.UnixNano(), base.UnixNano()); err != nil {
		t.Fatal(err)
	}
	c.Close()
	db.Close()

	s, _ := openTest(t, dir)
	r := &store.Resource{Account: "111111111111", Region: "us-east-1", Type: "AWS::S3::Bucket", ID: "b", Name: "b"}
	update(t, s, func(tx store.Tx) error { return tx.PutResource(ctx, r) })
	var hist []*store.ResourceChange
	view(t, s, func(tx store.ReadTx) error {
		var err error
		hist, _, err = tx.ResourceHistory(ctx, store.HistoryQuery{Account: r.Account, Region: r.Region, Type: r.Type, ID: r.ID, Chronological: true})
		return err
	})
	if len(hist) != 4 {
		t.Fatalf("history after migration = %d versions; want 4", len(hist))
	}
	for i, c := range hist {
		if c.Version != int64(i+1) {
			t.Errorf("history[%d].Version = %d; want %d", i, c.Version, i+1)
		}
	}
	_, es := readBoth(t, s, 0, 100)
	if len(es) != 4 {
		t.Fatalf("stream after migration = %d entries; want 4", len(es))
	}
	for i, doc := range docs {
		if string(es[i].Payload) != doc {
			t.Errorf("entry %d = %s; want %s", i, es[i].Payload, doc)
		}
	}
	var got store.ResourceChange
	if err := json.Unmarshal(es[3].Payload, &got); err != nil || got.Version != 4 {
		t.Errorf("new entry = %s (%v); want version 4", es[3].Payload, err)
	}
	// History reads one index range, in version order.
	if p := queryPlan(t, s, `SELECT doc FROM resource_versions WHERE account = ? AND region = ? AND type = ? AND id = ?
		AND time >= ? ORDER BY version DESC LIMIT ?`, r.Account, r.Region, r.Type, r.ID, 0, 10); !strings.Contains(p, "USING INDEX resource_versions_by_key") || strings.Contains(p, "TEMP B-TREE") {
		t.Errorf("history query plan = %s; want a range of resource_versions_by_key", p)
	}
}

// TestMigrateStreamSeq opens stores of schema 4 (AUTOINCREMENT seqs): one whose stream
// trimming had emptied and one with entries. Seqs continue past every seq handed out.
func TestMigrateStreamSeq(t *testing.T) {
	ctx := context.Background()
	for _, emptied := range []bool{true, false} {
		dir := t.TempDir()
		db, c := oldStore(t, dir, 4)
		for i := range 5 {
			if _, err := c.ExecContext(ctx, "INSERT INTO stream (kind, time, payload) VALUES ('k', ?, ?)", i, fmt.Sprint(i)); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := c.ExecContext(ctx, "DELETE FROM stream WHERE seq > 3"); err != nil { // seqs 4 and 5 were handed out
			t.Fatal(err)
		}
		if emptied {
			if _, err := c.ExecContext(ctx, "DELETE FROM stream"); err != nil {
				t.Fatal(err)
			}
		}
		c.Close()
		db.Close()

		s, _ := openTest(t, dir)
		var seq int64
		update(t, s, func(tx store.Tx) error { var err error; seq, err = tx.Append(ctx, "k", []byte("new")); return err })
		if seq != 6 {
			t.Errorf("emptied=%v: first Append after migration = seq %d; want 6", emptied, seq)
		}
		_, _, es, _ := readKindsBoth(t, s, 0, 100, []string{"k"})
		var got []string
		for _, e := range es {
			got = append(got, fmt.Sprintf("%d:%s", e.Seq, e.Payload))
		}
		want := "[1:0 2:1 3:2 6:new]"
		if emptied {
			want = "[6:new]"
		}
		if fmt.Sprint(got) != want {
			t.Errorf("emptied=%v: entries after migration = %v; want %s", emptied, got, want)
		}
		if _, all := readBoth(t, s, 0, 100); len(all) != len(es) { // the high-water mark's entry is never read
			t.Errorf("emptied=%v: ReadStream after migration = %v; want only the k entries", emptied, all)
		}
		s.Close()
	}
}
