package sqlite

import (
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/bannin/bannin/internal/store"
)

// The event history's lookup index is made of block postings. One B-tree entry per event per
// lookup attribute (seven per event) cost ~37 µs of SQLite per event (BENCHMARKS.md, "Where
// the floor is"); instead, consecutive events (by seq) are indexed together as a block, and
// for each distinct (scope, attribute, value) of a block one event_postings row names the
// list (event_lists) of the block's events with that value, newest first, as (time, seq)
// pairs. A block is written in
// one go, after its events were committed: by the writer between transactions once
// indexEvery events are waiting (recorded calls), and at the end of each AppendEvents
// (imports). Events after the newest block, the tail, are found by scanning them. The events
// table stays the truth: a crash loses at most unwritten blocks, and Open indexes the tail.

// Posting attributes (the attr column).
const (
	attrAll = iota // every event of the scope, value ""
	attrEventName
	attrEventSource
	attrUsername
	attrAccessKeyID
	attrReadOnly // value "0" or "1"
	attrResourceType
	attrResourceName
)

// postingAttr maps the LookupEvents attributes served by postings to their attr.
var postingAttr = map[string]int{
	"":                     attrAll,
	store.AttrEventName:    attrEventName,
	store.AttrEventSource:  attrEventSource,
	store.AttrUsername:     attrUsername,
	store.AttrAccessKeyID:  attrAccessKeyID,
	store.AttrReadOnly:     attrReadOnly,
	store.AttrResourceType: attrResourceType,
	store.AttrResourceName: attrResourceName,
}

// indexEvery is how many recorded events may wait in the tail before the writer indexes
// them: each lookup scans the tail, and each block costs one posting row per distinct value.
const indexEvery = 512

// indexChunk bounds the events one indexing transaction puts in a block.
const indexChunk = 1 << 16

// posting is one event in a posting list.
type posting struct{ time, seq int64 }

// newer orders postings newest first: by time, then by seq.
func newer(a, b posting) int {
	if c := cmp.Compare(b.time, a.time); c != 0 {
		return c
	}
	return cmp.Compare(b.seq, a.seq)
}

type postingKey struct {
	scope int64
	attr  int
	value string
}

// indexedRow is what indexing needs of an event row.
type indexedRow struct {
	seq, scope, time                  int64
	account, region, category         string
	name, source, user, key, readOnly string
	resources                         []store.EventResource
}

const indexedCols = "seq, scope, time, account, region, category, event_name, event_source, username, access_key_id, read_only, resources"

// indexedRows reads event rows for indexing; q selects indexedCols.
func (t *rtx) indexedRows(ctx context.Context, q string, args ...any) ([]indexedRow, error) {
	rows, err := t.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []indexedRow
	var res []byte
	for rows.Next() {
		var r indexedRow
		var ro bool
		if err := rows.Scan(&r.seq, &r.scope, &r.time, &r.account, &r.region, &r.category, &r.name, &r.source, &r.user, &r.key, &ro, &res); err != nil {
			return nil, err
		}
		r.readOnly = readOnlyValue(ro)
		if len(res) > 0 {
			if err := json.Unmarshal(res, &r.resources); err != nil {
				return nil, fmt.Errorf("event %d resources: %w", r.seq, err)
			}
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// readOnlyValue is the posting value of the ReadOnly attribute.
func readOnlyValue(ro bool) string {
	if ro {
		return "1"
	}
	return "0"
}

// postingsOf groups rows into posting lists, one per distinct (scope, attribute, value).
func postingsOf(rows []indexedRow) map[postingKey][]posting {
	m := map[postingKey][]posting{}
	for _, r := range rows {
		p := posting{r.time, r.seq}
		add := func(attr int, v string) {
			k := postingKey{r.scope, attr, v}
			m[k] = append(m[k], p)
		}
		add(attrAll, "")
		add(attrEventName, r.name)
		add(attrEventSource, r.source)
		add(attrUsername, r.user)
		add(attrAccessKeyID, r.key)
		add(attrReadOnly, r.readOnly)
		for i, res := range r.resources {
			if res.Type != "" && !seenBefore(r.resources[:i], res.Type, func(x store.EventResource) string { return x.Type }) {
				add(attrResourceType, res.Type)
			}
			if res.Name != "" && !seenBefore(r.resources[:i], res.Name, func(x store.EventResource) string { return x.Name }) {
				add(attrResourceName, res.Name)
			}
		}
	}
	return m
}

func seenBefore(rs []store.EventResource, v string, f func(store.EventResource) string) bool {
	for _, r := range rs {
		if f(r) == v {
			return true
		}
	}
	return false
}

// encodePostings sorts ps newest first and encodes them: per posting the time's distance
// below the previous one (the first's below maxtime) as a uvarint and the seq's difference
// from the previous one (the first's from block) as a varint.
func encodePostings(ps []posting, block int64) (list []byte, mintime, maxtime int64) {
	slices.SortFunc(ps, newer)
	maxtime, mintime = ps[0].time, ps[len(ps)-1].time
	list = make([]byte, 0, 4*len(ps))
	pt, ps0 := maxtime, block
	for _, p := range ps {
		list = binary.AppendUvarint(list, uint64(pt-p.time))
		list = binary.AppendVarint(list, p.seq-ps0)
		pt, ps0 = p.time, p.seq
	}
	return list, mintime, maxtime
}

// decodePostings appends to dst the postings of list that keep says to keep.
func decodePostings(dst []posting, list []byte, block, maxtime int64, keep func(posting) bool) ([]posting, error) {
	pt, ps0 := maxtime, block
	for len(list) > 0 {
		dt, n := binary.Uvarint(list)
		if n <= 0 {
			return dst, errors.New("corrupt posting list")
		}
		list = list[n:]
		ds, m := binary.Varint(list)
		if m <= 0 {
			return dst, errors.New("corrupt posting list")
		}
		list = list[m:]
		p := posting{pt - int64(dt), ps0 + ds}
		pt, ps0 = p.time, p.seq
		if keep(p) {
			dst = append(dst, p)
		}
	}
	return dst, nil
}

// indexedUpTo returns the last seq of the newest block (0: none).
func (t *rtx) indexedUpTo(ctx context.Context) (int64, error) {
	var last int64
	if _, err := t.queryRow(ctx, "SELECT last FROM event_blocks ORDER BY block DESC LIMIT 1", nil, &last); err != nil {
		return 0, fmt.Errorf("indexed events: %w", err)
	}
	return last, nil
}

// indexEvents puts the events of the tail, at most max of them, into a new block and
// reports how many it indexed. fresh are rows inserted since the tail was last indexed, as
// far as the caller knows (see tailRows).
func (t *wtx) indexEvents(ctx context.Context, max int, fresh []indexedRow) (int, error) {
	upto, err := t.indexedUpTo(ctx)
	if err != nil {
		return 0, err
	}
	rows, err := t.tailRows(ctx, upto, max, fresh)
	if err != nil {
		return 0, fmt.Errorf("index events: %w", err)
	}
	if len(rows) == 0 {
		return 0, nil
	}
	if err := t.writeBlock(ctx, rows[0].seq, rows); err != nil {
		return 0, fmt.Errorf("index events: %w", err)
	}
	return len(rows), nil
}

// tailRows returns the first max events after upto. They are fresh when fresh is exactly
// the tail (consecutive seqs from upto+1 to the newest event: nobody else, no other process,
// inserted in between), and are read from the table otherwise.
func (t *wtx) tailRows(ctx context.Context, upto int64, max int, fresh []indexedRow) ([]indexedRow, error) {
	if n := len(fresh); n > 0 && n <= max && fresh[0].seq == upto+1 && fresh[n-1].seq == upto+int64(n) {
		var newest int64
		if _, err := t.queryRow(ctx, "SELECT MAX(seq) FROM events", nil, &newest); err != nil {
			return nil, err
		}
		if newest == fresh[n-1].seq {
			return fresh, nil
		}
	}
	return t.indexedRows(ctx, "SELECT "+indexedCols+" FROM events WHERE seq > ? ORDER BY seq LIMIT ?", upto, max)
}

// writeBlock writes the postings and the block row of rows, the events of block (all of
// them, or those a purge kept: none deletes the block). The block's last seq is the newest
// row's, so that the seqs SQLite hands out after a purge of the newest events are in the tail.
func (t *wtx) writeBlock(ctx context.Context, block int64, rows []indexedRow) error {
	if len(rows) == 0 {
		_, err := t.exec(ctx, "DELETE FROM event_blocks WHERE block = ?", block)
		return err
	}
	bmin, bmax, last := rows[0].time, rows[0].time, rows[0].seq
	scopes := map[int64]*indexedRow{}
	for i, r := range rows {
		bmin, bmax, last = min(bmin, r.time), max(bmax, r.time), max(last, r.seq)
		scopes[r.scope] = &rows[i]
	}
	for sc, r := range scopes {
		if _, err := t.exec(ctx, "INSERT OR IGNORE INTO event_scopes (scope, account, region, category) VALUES (?, ?, ?, ?)",
			sc, r.account, r.region, r.category); err != nil {
			return err
		}
	}
	for k, ps := range postingsOf(rows) {
		list, lo, hi := encodePostings(ps, block)
		res, err := t.exec(ctx, "INSERT INTO event_lists (postings) VALUES (?)", list)
		if err != nil {
			return err
		}
		id, err := res.LastInsertId()
		if err != nil {
			return err
		}
		if _, err := t.exec(ctx, "INSERT INTO event_postings (scope, attr, value, block, mintime, maxtime, list) VALUES (?, ?, ?, ?, ?, ?, ?)",
			k.scope, k.attr, k.value, block, lo, hi, id); err != nil {
			return err
		}
	}
	_, err := t.exec(ctx, "INSERT OR REPLACE INTO event_blocks (block, last, mintime, maxtime) VALUES (?, ?, ?, ?)", block, last, bmin, bmax)
	return err
}

// deletePostings deletes the posting rows of block that rows' values have.
func (t *wtx) deletePostings(ctx context.Context, block int64, rows []indexedRow) error {
	for k := range postingsOf(rows) {
		if _, err := t.exec(ctx, "DELETE FROM event_lists WHERE id = (SELECT list FROM event_postings WHERE scope = ? AND attr = ? AND value = ? AND block = ?)",
			k.scope, k.attr, k.value, block); err != nil {
			return err
		}
		if _, err := t.exec(ctx, "DELETE FROM event_postings WHERE scope = ? AND attr = ? AND value = ? AND block = ?",
			k.scope, k.attr, k.value, block); err != nil {
			return err
		}
	}
	return nil
}

// indexTail indexes the tail in transactions of its own, on the writer's connection (the
// writer goroutine, or Open before it starts).
func (s *Store) indexTail() error {
	for {
		n, err := s.indexTx()
		if err != nil {
			return fmt.Errorf("store: %w", err)
		}
		if n < indexChunk {
			s.unindexed, s.fresh = 0, s.fresh[:0]
			return nil
		}
	}
}

func (s *Store) indexTx() (int, error) {
	if _, err := s.wexec("BEGIN IMMEDIATE"); err != nil {
		return 0, err
	}
	t := &wtx{rtx: rtx{s: s, write: true, stmt: s.writeStmtCtx}}
	n, err := t.indexEvents(context.Background(), indexChunk, s.fresh)
	if err == nil {
		_, err = s.wexec("COMMIT")
	}
	if err != nil {
		s.wconn.ExecContext(context.Background(), "ROLLBACK")
		return 0, err
	}
	return n, nil
}
