package sqlite

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
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
	inserted, err := t.insertEvent(ctx, e)
	if err != nil {
		return fmt.Errorf("store: append event %s: %w", e.EventID, err)
	}
	if inserted {
		// The entry's time is the call's, so consumers can tell what was in force when it was made.
		at := e.Time
		if at.IsZero() {
			at = t.now()
		}
		if _, err := t.append(ctx, store.KindAPICall, at, e.Record); err != nil {
			return fmt.Errorf("store: append event %s: %w", e.EventID, err)
		}
	}
	return nil
}

// AppendEvents implements store.Tx.
func (t *wtx) AppendEvents(ctx context.Context, es []*store.Event) (int, error) {
	if err := t.check(ctx); err != nil {
		return 0, err
	}
	n := 0
	for _, e := range es {
		inserted, err := t.insertEvent(ctx, e)
		if err != nil {
			return n, fmt.Errorf("store: append events: %s: %w", e.EventID, err)
		}
		if inserted {
			n++
		}
	}
	return n, nil
}

const insertEventSQL = `INSERT INTO events (scope, event_id, time, account, region, category, event_name, event_source,
	username, access_key_id, read_only, resources, record) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT (event_id) DO NOTHING`

// eventScope is the scope column of events: a 63-bit FNV-1a hash of account, region and
// category, the equality prefix of every LookupEvents index.
func eventScope(account, region, category string) int64 {
	h := fnv.New64a()
	h.Write([]byte(account))
	h.Write([]byte{0})
	h.Write([]byte(region))
	h.Write([]byte{0})
	h.Write([]byte(category))
	return int64(h.Sum64() &^ (1 << 63))
}

// insertEvent stores e and its resource side rows; it reports false if e.EventID was stored
// already.
func (t *wtx) insertEvent(ctx context.Context, e *store.Event) (bool, error) {
	if e.EventID == "" {
		return false, errors.New("event id is required")
	}
	if e.Time.IsZero() {
		return false, errors.New("event time is required")
	}
	cat := store.NormalizeCategory(e.Category)
	if cat == "" {
		return false, fmt.Errorf("unknown category %q", e.Category)
	}
	var resources []byte
	if len(e.Resources) > 0 {
		var err error
		if resources, err = json.Marshal(e.Resources); err != nil {
			return false, err
		}
	}
	record := packJSON(e.Record)
	ts := e.Time.UnixNano()
	scope := eventScope(e.Account, e.Region, cat)
	res, err := t.exec(ctx, insertEventSQL, scope, e.EventID, ts, e.Account, e.Region, cat, e.EventName, e.EventSource,
		e.Username, e.AccessKeyID, e.ReadOnly, resources, record)
	if err != nil {
		return false, err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return false, err
	}
	seq, err := res.LastInsertId()
	if err != nil {
		return false, err
	}
	if len(e.Resources) > 0 {
		if err := t.insertEventResources(ctx, scope, ts, seq, e.Resources); err != nil {
			return false, err
		}
	}
	return true, nil
}

// Side table attr values.
const (
	attrType = 0
	attrName = 1
)

// insertEventResources writes the side rows of one event, one per distinct type and name.
// (One row per statement: a multi-row INSERT needs a statement journal, which costs more.)
func (t *wtx) insertEventResources(ctx context.Context, scope, ts, seq int64, rs []store.EventResource) error {
	const ins = "INSERT INTO event_resources (scope, attr, value, time, seq) VALUES (?, ?, ?, ?, ?)"
	for i, r := range rs {
		if r.Type != "" && !seenBefore(rs[:i], r.Type, func(x store.EventResource) string { return x.Type }) {
			if _, err := t.exec(ctx, ins, scope, attrType, r.Type, ts, seq); err != nil {
				return err
			}
		}
		if r.Name != "" && !seenBefore(rs[:i], r.Name, func(x store.EventResource) string { return x.Name }) {
			if _, err := t.exec(ctx, ins, scope, attrName, r.Name, ts, seq); err != nil {
				return err
			}
		}
	}
	return nil
}

func seenBefore(rs []store.EventResource, v string, f func(store.EventResource) string) bool {
	for _, r := range rs {
		if f(r) == v {
			return true
		}
	}
	return false
}

// PurgeEvents implements store.Tx. It works scope by scope, in chunks, through the
// events_by_time index, and deletes each event's side rows by their primary key.
func (t *wtx) PurgeEvents(ctx context.Context, before time.Time) (int64, error) {
	if err := t.check(ctx); err != nil {
		return 0, err
	}
	fail := func(err error) error {
		return fmt.Errorf("store: purge events before %s: %w", before.Format(time.RFC3339), err)
	}
	var scopes []int64
	rows, err := t.query(ctx, "SELECT DISTINCT scope FROM events INDEXED BY events_by_time")
	if err != nil {
		return 0, fail(err)
	}
	for rows.Next() {
		var sc int64
		if err := rows.Scan(&sc); err != nil {
			rows.Close()
			return 0, fail(err)
		}
		scopes = append(scopes, sc)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fail(err)
	}
	var total int64
	for _, sc := range scopes {
		for {
			n, err := t.purgeChunk(ctx, sc, before.UnixNano(), 5000)
			total += n
			if err != nil {
				return total, fail(err)
			}
			if n == 0 {
				break
			}
		}
	}
	return total, nil
}

func (t *wtx) purgeChunk(ctx context.Context, scope, before int64, chunk int) (int64, error) {
	type doomed struct {
		seq, time int64
		resources []store.EventResource
	}
	rows, err := t.query(ctx, `SELECT seq, time, resources FROM events INDEXED BY events_by_time
		WHERE scope = ? AND time < ? ORDER BY time LIMIT ?`, scope, before, chunk)
	if err != nil {
		return 0, err
	}
	var ds []doomed
	for rows.Next() {
		var d doomed
		var res []byte
		if err := rows.Scan(&d.seq, &d.time, &res); err != nil {
			rows.Close()
			return 0, err
		}
		if len(res) > 0 {
			if err := json.Unmarshal(res, &d.resources); err != nil {
				rows.Close()
				return 0, fmt.Errorf("event %d resources: %w", d.seq, err)
			}
		}
		ds = append(ds, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	const del = "DELETE FROM event_resources WHERE scope = ? AND attr = ? AND value = ? AND time = ? AND seq = ?"
	for _, d := range ds {
		for _, r := range d.resources {
			if r.Type != "" {
				if _, err := t.exec(ctx, del, scope, attrType, r.Type, d.time, d.seq); err != nil {
					return 0, err
				}
			}
			if r.Name != "" {
				if _, err := t.exec(ctx, del, scope, attrName, r.Name, d.time, d.seq); err != nil {
					return 0, err
				}
			}
		}
		if _, err := t.exec(ctx, "DELETE FROM events WHERE seq = ?", d.seq); err != nil {
			return 0, err
		}
	}
	return int64(len(ds)), nil
}

// eventColumn maps the single-valued LookupEvents attributes to their column and index.
var eventColumn = map[string]struct{ col, index string }{
	store.AttrEventName:   {"event_name", "events_by_name"},
	store.AttrEventSource: {"event_source", "events_by_source"},
	store.AttrUsername:    {"username", "events_by_user"},
	store.AttrAccessKeyID: {"access_key_id", "events_by_key"},
	store.AttrReadOnly:    {"read_only", "events_by_readonly"},
	store.AttrEventID:     {"event_id", ""},
}

const eventCols = "seq, event_id, time, account, region, category, event_name, event_source, username, access_key_id, read_only, resources, record"

// lookupSQL builds the LookupEvents statement. With account and region set, every variant is
// an equality prefix (scope, attribute) on one index followed by a time range, read backwards;
// see TestLookupQueryPlans. Without them it scans and sorts, which is slow on large histories
// and meant for occasional cross-account views.
func lookupSQL(q store.EventQuery, cat string, tok *pageToken) (string, []any, error) {
	var from, p string // p prefixes the time and seq columns of the driving table
	var where []string
	var args []any
	fast := q.Account != "" && q.Region != ""
	scope := eventScope(q.Account, q.Region, cat)
	switch q.AttributeKey {
	case store.AttrResourceType, store.AttrResourceName:
		attr := attrType
		if q.AttributeKey == store.AttrResourceName {
			attr = attrName
		}
		// CROSS JOIN keeps the side table as the outer loop: its primary key gives the order.
		from = "event_resources AS r CROSS JOIN events AS e ON e.seq = r.seq"
		p = "r."
		if fast {
			where = append(where, "r.scope = ?")
			args = append(args, scope)
		}
		where = append(where, "r.attr = ? AND r.value = ?")
		args = append(args, attr, q.AttributeValue)
	case "":
		from = "events AS e"
		if fast {
			from = "events AS e INDEXED BY events_by_time"
			where = append(where, "e.scope = ?")
			args = append(args, scope)
		}
		p = "e."
	default:
		c, ok := eventColumn[q.AttributeKey]
		if !ok {
			return "", nil, fmt.Errorf("%w: unknown attribute key %q", store.ErrInvalidQuery, q.AttributeKey)
		}
		from = "events AS e"
		if fast && c.index != "" {
			from += " INDEXED BY " + c.index
			where = append(where, "e.scope = ?")
			args = append(args, scope)
		}
		p = "e."
		var v any = q.AttributeValue
		if q.AttributeKey == store.AttrReadOnly {
			switch strings.ToLower(q.AttributeValue) {
			case "true":
				v = 1
			case "false":
				v = 0
			default:
				return "", nil, fmt.Errorf("%w: ReadOnly must be true or false, not %q", store.ErrInvalidQuery, q.AttributeValue)
			}
		}
		where = append(where, "e."+c.col+" = ?")
		args = append(args, v)
	}
	if !q.Start.IsZero() {
		where = append(where, p+"time >= ?")
		args = append(args, q.Start.UnixNano())
	}
	upper, hasUpper := int64(0), false
	if !q.End.IsZero() {
		upper, hasUpper = q.End.UnixNano(), true
	}
	if tok != nil {
		if !hasUpper || tok.T < upper {
			upper, hasUpper = tok.T, true
		}
	}
	if hasUpper {
		where = append(where, p+"time <= ?")
		args = append(args, upper)
	}
	if tok != nil {
		where = append(where, "("+p+"time < ? OR "+p+"seq < ?)")
		args = append(args, tok.T, tok.S)
	}
	// Checked on the row: the scope hash narrows, these decide.
	if q.Account != "" {
		where = append(where, "e.account = ?")
		args = append(args, q.Account)
	}
	if q.Region != "" {
		where = append(where, "e.region = ?")
		args = append(args, q.Region)
	}
	where = append(where, "e.category = ?")
	args = append(args, cat)
	cols := "e." + strings.ReplaceAll(eventCols, ", ", ", e.")
	return "SELECT " + cols + " FROM " + from + " WHERE " + strings.Join(where, " AND ") +
		" ORDER BY " + p + "time DESC, " + p + "seq DESC LIMIT ?", args, nil
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
	query, args, err := lookupSQL(q, cat, tok)
	if err != nil {
		return nil, "", fmt.Errorf("store: lookup events: %w", err)
	}
	args = append(args, limit+1)
	rows, err := t.query(ctx, query, args...)
	if err != nil {
		return nil, "", fmt.Errorf("store: lookup events: %w", err)
	}
	defer rows.Close()
	var es []*store.Event
	var seqs []int64
	for rows.Next() {
		var e store.Event
		var seq, ts int64
		var resources, record []byte
		if err := rows.Scan(&seq, &e.EventID, &ts, &e.Account, &e.Region, &e.Category, &e.EventName, &e.EventSource,
			&e.Username, &e.AccessKeyID, &e.ReadOnly, &resources, &record); err != nil {
			return nil, "", fmt.Errorf("store: lookup events: %w", err)
		}
		e.Time = fromNanos(ts)
		if len(resources) > 0 {
			if err := json.Unmarshal(resources, &e.Resources); err != nil {
				return nil, "", fmt.Errorf("store: lookup events: event %s resources: %w", e.EventID, err)
			}
		}
		if e.Record, err = unpackJSON(record); err != nil {
			return nil, "", fmt.Errorf("store: lookup events: event %s record: %w", e.EventID, err)
		}
		es = append(es, &e)
		seqs = append(seqs, seq)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("store: lookup events: %w", err)
	}
	next := ""
	if len(es) > limit {
		es = es[:limit]
		next = encodeToken(pageToken{Q: h, T: es[limit-1].Time.UnixNano(), S: seqs[limit-1]})
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

// packStream is how a stream payload is stored, and whether it is compressed.
func packStream(payload []byte) ([]byte, bool) {
	if p := pack(nil, payload); p != nil {
		return p, true
	}
	return payload, false
}

// unpackStream reads a stream payload stored by packStream.
func unpackStream(b []byte, packed bool) ([]byte, error) {
	if !packed || b == nil {
		return b, nil
	}
	return s2.Decode(nil, b)
}
