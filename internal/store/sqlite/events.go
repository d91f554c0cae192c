package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/bannin/bannin/internal/store"
	"github.com/klauspost/compress/s2"
)

// AppendEvent implements store.Tx.
func (t *wtx) AppendEvent(ctx context.Context, e *store.Event) error {
	if err := t.check(ctx); err != nil {
		return err
	}
	col := packJSON(e.Record)
	seq, err := t.insertEvent(ctx, e, col)
	if err != nil {
		return fmt.Errorf("store: append event %s: %w", e.EventID, err)
	}
	if seq == 0 {
		return nil // a duplicate
	}
	// The entry's time is the call's (the row's), so consumers can tell what was in force
	// when it was made.
	if len(col) > 0 {
		_, err = t.appendRef(ctx, store.KindAPICall, e.Time, e.Record, streamEvent, seq)
	} else {
		_, err = t.append(ctx, store.KindAPICall, e.Time, e.Record)
	}
	if err != nil {
		return fmt.Errorf("store: append event %s: %w", e.EventID, err)
	}
	return nil
}

// AppendEvents implements store.Tx. The events go into a block of their own at once (with
// any tail before them), so that an import leaves no tail behind. Their records are
// compressed on another goroutine, a chunk ahead of the inserts: the writer is an import's
// bottleneck.
func (t *wtx) AppendEvents(ctx context.Context, es []*store.Event) (int, error) {
	if err := t.check(ctx); err != nil {
		return 0, err
	}
	t.bulk = true
	const chunk = 256
	packed := make([][]byte, len(es))
	ready := make(chan struct{}, (len(es)+chunk-1)/chunk)
	go func() {
		for i, e := range es {
			packed[i] = packJSON(e.Record)
			if (i+1)%chunk == 0 || i == len(es)-1 {
				ready <- struct{}{}
			}
		}
	}()
	n := 0
	for i, e := range es {
		if i%chunk == 0 {
			<-ready
		}
		seq, err := t.insertEvent(ctx, e, packed[i])
		if err != nil {
			return n, fmt.Errorf("store: append events: %s: %w", e.EventID, err)
		}
		if seq != 0 {
			n++
		}
	}
	if n > 0 {
		for {
			k, err := t.indexEvents(ctx, indexChunk, t.fresh)
			if err != nil {
				return n, fmt.Errorf("store: append events: %w", err)
			}
			if k < indexChunk {
				break
			}
		}
		t.fresh = nil
	}
	return n, nil
}

const insertEventSQL = `INSERT INTO events (scope, event_id, time, account, region, category, event_name, event_source,
	username, access_key_id, read_only, resources, record) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT DO NOTHING`

// eventDay is the day of an event's time, the leading column of the event id index.
const eventDay = "time / 86400000000000"

const nanosPerDay = 86400_000_000_000

// eventScope is the scope column of events: a 63-bit FNV-1a hash of account, region and
// category, the leading key of every posting row.
func eventScope(account, region, category string) int64 {
	h := fnv.New64a()
	h.Write([]byte(account))
	h.Write([]byte{0})
	h.Write([]byte(region))
	h.Write([]byte{0})
	h.Write([]byte(category))
	return int64(h.Sum64() &^ (1 << 63))
}

// insertEvent stores e with its record as packJSON stored it and returns its seq, or 0 if
// e.EventID was stored already.
func (t *wtx) insertEvent(ctx context.Context, e *store.Event, record []byte) (int64, error) {
	if e.EventID == "" {
		return 0, errors.New("event id is required")
	}
	if e.Time.IsZero() {
		return 0, errors.New("event time is required")
	}
	cat := store.NormalizeCategory(e.Category)
	if cat == "" {
		return 0, fmt.Errorf("unknown category %q", e.Category)
	}
	var resources []byte
	if len(e.Resources) > 0 {
		var err error
		if resources, err = json.Marshal(e.Resources); err != nil {
			return 0, err
		}
	}
	ts := e.Time.UnixNano()
	scope := eventScope(e.Account, e.Region, cat)
	res, err := t.exec(ctx, insertEventSQL, scope, e.EventID, ts, e.Account, e.Region, cat, e.EventName, e.EventSource,
		e.Username, e.AccessKeyID, e.ReadOnly, resources, record)
	if err != nil {
		return 0, err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return 0, err
	}
	seq, err := res.LastInsertId()
	if err != nil {
		return 0, err
	}
	t.fresh = append(t.fresh, indexedRow{seq: seq, scope: scope, time: ts, account: e.Account, region: e.Region, category: cat, name: e.EventName, source: e.EventSource,
		user: e.Username, key: e.AccessKeyID, readOnly: readOnlyValue(e.ReadOnly), resources: e.Resources})
	return seq, nil
}

// PurgeEvents implements store.Tx. Blocks older than before go whole; a block that straddles
// before loses its older events and has its postings rewritten; the tail is purged by
// scanning.
func (t *wtx) PurgeEvents(ctx context.Context, before time.Time) (int64, error) {
	if err := t.check(ctx); err != nil {
		return 0, err
	}
	fail := func(err error) error {
		return fmt.Errorf("store: purge events before %s: %w", before.Format(time.RFC3339), err)
	}
	cut := before.UnixNano()
	upto, err := t.indexedUpTo(ctx)
	if err != nil {
		return 0, fail(err)
	}
	type blockRow struct{ block, last int64 }
	var blocks []blockRow
	rows, err := t.query(ctx, "SELECT block, last FROM event_blocks WHERE mintime < ? ORDER BY block", cut)
	if err != nil {
		return 0, fail(err)
	}
	for rows.Next() {
		var b blockRow
		if err := rows.Scan(&b.block, &b.last); err != nil {
			rows.Close()
			return 0, fail(err)
		}
		blocks = append(blocks, b)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fail(err)
	}
	var total int64
	for _, b := range blocks {
		evs, err := t.indexedRows(ctx, "SELECT "+indexedCols+" FROM events WHERE seq BETWEEN ? AND ? ORDER BY seq", b.block, b.last)
		if err != nil {
			return total, fail(err)
		}
		if err := t.deletePostings(ctx, b.block, evs); err != nil {
			return total, fail(err)
		}
		res, err := t.exec(ctx, "DELETE FROM events WHERE seq BETWEEN ? AND ? AND time < ?", b.block, b.last, cut)
		if err != nil {
			return total, fail(err)
		}
		n, _ := res.RowsAffected()
		total += n
		kept := slices.DeleteFunc(evs, func(r indexedRow) bool { return r.time < cut })
		if err := t.writeBlock(ctx, b.block, kept); err != nil {
			return total, fail(err)
		}
	}
	res, err := t.exec(ctx, "DELETE FROM events WHERE seq > ? AND time < ?", upto, cut)
	if err != nil {
		return total, fail(err)
	}
	n, _ := res.RowsAffected()
	return total + n, nil
}

// eventColumn maps the single-valued LookupEvents attributes to their column.
var eventColumn = map[string]string{
	store.AttrEventName:   "event_name",
	store.AttrEventSource: "event_source",
	store.AttrUsername:    "username",
	store.AttrAccessKeyID: "access_key_id",
	store.AttrReadOnly:    "read_only",
	store.AttrEventID:     "event_id",
}

const eventCols = "seq, event_id, time, account, region, category, event_name, event_source, username, access_key_id, read_only, resources, record"

// eventFilter is a LookupEvents query in the store's terms.
type eventFilter struct {
	q     store.EventQuery
	cat   string
	scope int64
	// fast: account and region are set, so the scope narrows (and postings serve) the lookup.
	fast bool
	// value is the attribute's value as stored (ReadOnly as 0 or 1).
	value any
	// lo and hi bound the time (inclusive), after the page token's cursor is applied to hi.
	lo, hi int64
	// days are the days (eventDay) an EventId lookup probes.
	days []any
	tok  *pageToken
}

func newEventFilter(q store.EventQuery, cat string, tok *pageToken) (*eventFilter, error) {
	f := &eventFilter{q: q, cat: cat, scope: eventScope(q.Account, q.Region, cat), fast: q.Account != "" && q.Region != "",
		value: q.AttributeValue, lo: math.MinInt64, hi: math.MaxInt64, tok: tok}
	if _, ok := postingAttr[q.AttributeKey]; !ok && q.AttributeKey != store.AttrEventID {
		return nil, fmt.Errorf("%w: unknown attribute key %q", store.ErrInvalidQuery, q.AttributeKey)
	}
	if q.AttributeKey == store.AttrReadOnly {
		switch strings.ToLower(q.AttributeValue) {
		case "true":
			f.value = 1
		case "false":
			f.value = 0
		default:
			return nil, fmt.Errorf("%w: ReadOnly must be true or false, not %q", store.ErrInvalidQuery, q.AttributeValue)
		}
	}
	if !q.Start.IsZero() {
		f.lo = q.Start.UnixNano()
	}
	if !q.End.IsZero() {
		f.hi = q.End.UnixNano()
	}
	if tok != nil {
		f.hi = min(f.hi, tok.T)
	}
	return f, nil
}

// keeps reports whether a posting is in the filter's time range and after its cursor.
func (f *eventFilter) keeps(p posting) bool {
	if p.time < f.lo || p.time > f.hi {
		return false
	}
	return f.tok == nil || p.time < f.tok.T || p.seq < f.tok.S
}

// scanSQL selects the filter's events newest first by reading the events table itself: for
// EventId (the event id index, per day), and for the tail (seq > after, a rowid range).
func (f *eventFilter) scanSQL(after *int64) (string, []any) {
	var where []string
	var args []any
	if after != nil {
		where = append(where, "e.seq > ?")
		args = append(args, *after)
	}
	if f.fast {
		where = append(where, "e.scope = ?")
		args = append(args, f.scope)
	}
	switch f.q.AttributeKey {
	case "":
	case store.AttrResourceType, store.AttrResourceName:
		field := "$.type"
		if f.q.AttributeKey == store.AttrResourceName {
			field = "$.name"
		}
		where = append(where, "EXISTS (SELECT 1 FROM json_each(e.resources) AS r WHERE json_extract(r.value, '"+field+"') = ?)")
		args = append(args, f.value)
	case store.AttrEventID:
		if len(f.days) == 0 {
			where = append(where, "0") // no day to probe: nothing
			break
		}
		where = append(where, "e."+eventDay+" IN (?"+strings.Repeat(", ?", len(f.days)-1)+") AND e.event_id = ?")
		args = append(append(args, f.days...), f.value)
	default:
		where = append(where, "e."+eventColumn[f.q.AttributeKey]+" = ?")
		args = append(args, f.value)
	}
	if f.lo != math.MinInt64 {
		where = append(where, "e.time >= ?")
		args = append(args, f.lo)
	}
	if f.hi != math.MaxInt64 {
		where = append(where, "e.time <= ?")
		args = append(args, f.hi)
	}
	if f.tok != nil {
		where = append(where, "(e.time < ? OR e.seq < ?)")
		args = append(args, f.tok.T, f.tok.S)
	}
	// Checked on the row: the scope hash narrows, these decide.
	if f.q.Account != "" {
		where = append(where, "e.account = ?")
		args = append(args, f.q.Account)
	}
	if f.q.Region != "" {
		where = append(where, "e.region = ?")
		args = append(args, f.q.Region)
	}
	where = append(where, "e.category = ?")
	args = append(args, f.cat)
	cols := "e." + strings.ReplaceAll(eventCols, ", ", ", e.")
	return "SELECT " + cols + " FROM events AS e WHERE " + strings.Join(where, " AND ") +
		" ORDER BY e.time DESC, e.seq DESC LIMIT ?", args
}

// found is a looked-up event and its seq.
type found struct {
	seq int64
	e   *store.Event
}

// scanEvents reads rows of eventCols.
func scanEvents(rows *sql.Rows) ([]found, error) {
	defer rows.Close()
	var out []found
	for rows.Next() {
		var e store.Event
		var seq, ts int64
		var resources, record []byte
		if err := rows.Scan(&seq, &e.EventID, &ts, &e.Account, &e.Region, &e.Category, &e.EventName, &e.EventSource,
			&e.Username, &e.AccessKeyID, &e.ReadOnly, &resources, &record); err != nil {
			return nil, err
		}
		e.Time = fromNanos(ts)
		if len(resources) > 0 {
			if err := json.Unmarshal(resources, &e.Resources); err != nil {
				return nil, fmt.Errorf("event %s resources: %w", e.EventID, err)
			}
		}
		var err error
		if e.Record, err = unpackJSON(record); err != nil {
			return nil, fmt.Errorf("event %s record: %w", e.EventID, err)
		}
		out = append(out, found{seq, &e})
	}
	return out, rows.Err()
}

// scan runs scanSQL.
func (t *rtx) scan(ctx context.Context, f *eventFilter, after *int64, limit int) ([]found, error) {
	q, args := f.scanSQL(after)
	rows, err := t.query(ctx, q, append(args, limit)...)
	if err != nil {
		return nil, err
	}
	return scanEvents(rows)
}

// lookupIndexed answers a lookup through the postings and the tail: the newest limit events
// of the tail, merged with the posting lists of the blocks whose time span meets the range,
// read newest block first until no unread block can hold anything newer than the limit-th
// event found. Without account and region it reads the postings of every scope that
// matches (event_scopes).
func (t *rtx) lookupIndexed(ctx context.Context, f *eventFilter, limit int) ([]found, error) {
	upto, err := t.indexedUpTo(ctx)
	if err != nil {
		return nil, err
	}
	tail, err := t.scan(ctx, f, &upto, limit)
	if err != nil {
		return nil, err
	}
	scopes := []int64{f.scope}
	if !f.fast {
		if scopes, err = t.eventScopes(ctx, f); err != nil {
			return nil, err
		}
	}
	attr, value := postingAttr[f.q.AttributeKey], fmt.Sprint(f.value)
	type blockRef struct{ block, maxtime, list int64 }
	var blocks []blockRef
	for _, scope := range scopes {
		rows, err := t.query(ctx, "SELECT block, maxtime, list FROM event_postings WHERE scope = ? AND attr = ? AND value = ? AND maxtime >= ? AND mintime <= ?",
			scope, attr, value, f.lo, f.hi)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var b blockRef
			if err := rows.Scan(&b.block, &b.maxtime, &b.list); err != nil {
				rows.Close()
				return nil, err
			}
			blocks = append(blocks, b)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	slices.SortFunc(blocks, func(a, b blockRef) int { return cmp.Compare(b.maxtime, a.maxtime) })
	best := make([]posting, 0, 2*limit)
	for _, fe := range tail {
		best = append(best, posting{fe.e.Time.UnixNano(), fe.seq})
	}
	var list []byte
	for _, b := range blocks {
		if len(best) >= limit && best[limit-1].time > b.maxtime {
			break
		}
		if _, err := t.queryRow(ctx, "SELECT postings FROM event_lists WHERE id = ?", []any{b.list}, &list); err != nil {
			return nil, err
		}
		if best, err = decodePostings(best, list, b.block, b.maxtime, f.keeps); err != nil {
			return nil, fmt.Errorf("block %d: %w", b.block, err)
		}
		slices.SortFunc(best, newer)
		best = best[:min(len(best), limit)]
	}
	slices.SortFunc(best, newer)
	best = best[:min(len(best), limit)]
	fromTail := make(map[int64]*store.Event, len(tail))
	for _, fe := range tail {
		fromTail[fe.seq] = fe.e
	}
	byID := make(map[int64]*store.Event, len(best))
	var seqs []any
	for _, p := range best {
		if e, ok := fromTail[p.seq]; ok {
			byID[p.seq] = e
		} else {
			seqs = append(seqs, p.seq)
		}
	}
	if len(seqs) > 0 {
		rows, err := t.query(ctx, "SELECT "+eventCols+" FROM events WHERE seq IN (?"+strings.Repeat(", ?", len(seqs)-1)+")", seqs...)
		if err != nil {
			return nil, err
		}
		fs, err := scanEvents(rows)
		if err != nil {
			return nil, err
		}
		for _, fe := range fs {
			// A scope hash shared by two scopes would show here; the row decides.
			if (f.q.Account == "" || fe.e.Account == f.q.Account) && (f.q.Region == "" || fe.e.Region == f.q.Region) && fe.e.Category == f.cat {
				byID[fe.seq] = fe.e
			}
		}
	}
	out := make([]found, 0, len(best))
	for _, p := range best {
		if e, ok := byID[p.seq]; ok {
			out = append(out, found{p.seq, e})
		}
	}
	return out, nil
}

// eventScopes returns the scopes of the events a lookup without account or region may
// find: those of its category in the account or region it names, if any.
func (t *rtx) eventScopes(ctx context.Context, f *eventFilter) ([]int64, error) {
	rows, err := t.query(ctx, "SELECT scope FROM event_scopes WHERE category = ? AND (? = '' OR account = ?) AND (? = '' OR region = ?)",
		f.cat, f.q.Account, f.q.Account, f.q.Region, f.q.Region)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var scopes []int64
	for rows.Next() {
		var sc int64
		if err := rows.Scan(&sc); err != nil {
			return nil, err
		}
		scopes = append(scopes, sc)
	}
	return scopes, rows.Err()
}

// lookupEventID probes the event id index for each day of the filter's time range that the
// store has events of, a thousand days per statement.
func (t *rtx) lookupEventID(ctx context.Context, f *eventFilter, limit int) ([]found, error) {
	var first, last sql.NullInt64
	if _, err := t.queryRow(ctx, "SELECT (SELECT MIN("+eventDay+") FROM events), (SELECT MAX("+eventDay+") FROM events)", nil, &first, &last); err != nil {
		return nil, err
	}
	if !first.Valid {
		return nil, nil
	}
	from, to := max(first.Int64, f.lo/nanosPerDay), min(last.Int64, f.hi/nanosPerDay)
	var out []found
	for d := to; d >= from; d -= 1000 {
		f.days = f.days[:0]
		for day := d; day > d-1000 && day >= from; day-- {
			f.days = append(f.days, day)
		}
		fs, err := t.scan(ctx, f, nil, limit)
		if err != nil {
			return nil, err
		}
		out = append(out, fs...)
	}
	slices.SortFunc(out, func(a, b found) int {
		return newer(posting{a.e.Time.UnixNano(), a.seq}, posting{b.e.Time.UnixNano(), b.seq})
	})
	return out[:min(len(out), limit)], nil
}

// LookupEvents implements store.ReadTx.
func (t *rtx) LookupEvents(ctx context.Context, q store.EventQuery) ([]*store.Event, string, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = 50
	}
	cat := store.NormalizeCategory(q.Category)
	if cat == "" {
		return nil, "", fmt.Errorf("store: lookup events: %w: unknown category %q", store.ErrInvalidQuery, q.Category)
	}
	h := queryHash("events", q.Account, q.Region, q.AttributeKey, q.AttributeValue, nanos(q.Start), nanos(q.End), cat)
	var tok *pageToken
	if q.NextToken != "" {
		pt, err := decodeToken(q.NextToken, h)
		if err != nil {
			return nil, "", fmt.Errorf("store: lookup events: %w", err)
		}
		tok = &pt
	}
	f, err := newEventFilter(q, cat, tok)
	if err != nil {
		return nil, "", fmt.Errorf("store: lookup events: %w", err)
	}
	var fs []found
	switch {
	case q.AttributeKey == store.AttrEventID:
		fs, err = t.lookupEventID(ctx, f, limit+1)
	default:
		fs, err = t.lookupIndexed(ctx, f, limit+1)
	}
	if err != nil {
		return nil, "", fmt.Errorf("store: lookup events: %w", err)
	}
	es := make([]*store.Event, 0, min(len(fs), limit))
	for _, fe := range fs[:min(len(fs), limit)] {
		es = append(es, fe.e)
	}
	next := ""
	if len(fs) > limit {
		next = encodeToken(pageToken{Q: h, T: es[limit-1].Time.UnixNano(), S: fs[limit-1].seq})
	}
	return es, next, nil
}

// Records, resource history documents and stream payloads are stored S2-compressed when
// that saves space: a CloudTrail record or a resource's configuration is a kilobyte or more
// of JSON that compresses two to three times, and the bytes a commit writes are a large part
// of the writer's time per call. A compressed JSON value (packJSON) starts with packedRecord,
// which no JSON text starts with; anything else is stored, and read back, as is. Stream
// payloads can be any bytes, so their rows carry a packed flag instead (packStream).
const packedRecord = 0x00

// packRecordMin is the size below which compressing is not worth its cost.
const packRecordMin = 256

// pack returns b compressed, or nil when that does not save space.
func pack(prefix, b []byte) []byte {
	if len(b) < packRecordMin {
		return nil
	}
	out := append(make([]byte, 0, len(prefix)+s2.MaxEncodedLen(len(b))), prefix...)
	out = append(out, s2.Encode(out[len(prefix):cap(out)], b)...)
	if len(out) >= len(b) {
		return nil
	}
	return out
}

// packJSON is how a JSON value (a record, a history document) is stored.
func packJSON(rec []byte) []byte {
	if p := pack([]byte{packedRecord}, rec); p != nil {
		return p
	}
	return rec
}

// How a stream row holds its payload (stream.packed): as appended, S2-compressed
// (packStream), or as the document of the row that stream.ref names (appendRef): a call's
// record in events, a resource change in resource_versions. A named row's time is the
// entry's: events seqs can be reused after a purge of the newest events, and an entry then
// finds no row instead of another event.
const (
	streamPlain   = 0
	streamS2      = 1
	streamEvent   = 2
	streamHistory = 3
)

// streamPayload reads a stream row's payload (table alias s) for unpackStream.
var streamPayload = fmt.Sprintf(`CASE s.packed
	WHEN %d THEN (SELECT record FROM events WHERE seq = s.ref AND time = s.time)
	WHEN %d THEN (SELECT doc FROM resource_versions WHERE rowid = s.ref AND time = s.time)
	ELSE s.payload END`, streamEvent, streamHistory)

// unpackJSON reads what packJSON stored (or a plain value stored before compression).
func unpackJSON(b []byte) (json.RawMessage, error) {
	if len(b) == 0 || b[0] != packedRecord {
		if b == nil {
			return nil, nil
		}
		return json.RawMessage(b), nil
	}
	return s2.Decode(nil, b[1:])
}

// packStream is how a stream payload is stored, and how (streamPlain or streamS2).
func packStream(payload []byte) ([]byte, int) {
	if p := pack(nil, payload); p != nil {
		return p, streamS2
	}
	return payload, streamPlain
}

// unpackStream reads a payload selected with streamPayload. ok is false for an entry whose
// row is gone (events purged by retention while the entry waited): it is left out, as a
// trimmed entry would be.
func unpackStream(b []byte, packed int) (payload []byte, ok bool, err error) {
	switch packed {
	case streamEvent, streamHistory:
		if b == nil {
			return nil, false, nil
		}
		payload, err = unpackJSON(b)
		return payload, err == nil, err
	case streamS2:
		if b == nil {
			return nil, true, nil
		}
		payload, err = s2.Decode(nil, b)
		return payload, err == nil, err
	}
	return b, true, nil
}
