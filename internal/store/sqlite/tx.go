package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/bannin/bannin/internal/store"
)

// rtx implements store.ReadTx on either a read snapshot (View) or the write transaction.
type rtx struct {
	s *Store
	// stmt returns the prepared statement for q on this transaction's connection.
	stmt func(ctx context.Context, q string) (*sql.Stmt, error)
	// write is set on the writer's transaction: statements then run without cancellation
	// (see Store.wexec).
	write bool
	// tail is set on a View that has run no statement yet: ReadStream may then answer from
	// the store's in-memory stream tail (see streamTail). The first such answer pins the
	// View's stream head (tailHead >= 0), so that further tail reads in the same View see the
	// same entries, as a snapshot would. (Statements that the View runs afterwards read a
	// SQLite snapshot taken then, which is at least as new.)
	tail     bool
	tailHead int64
}

func (t *rtx) qctx(ctx context.Context) context.Context {
	if t.write {
		return context.WithoutCancel(ctx)
	}
	return ctx
}

func (t *rtx) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	st, err := t.stmt(ctx, q)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(t.qctx(ctx), args...)
}

// queryRow runs q and scans its first row into dest; it reports false if there is none.
func (t *rtx) queryRow(ctx context.Context, q string, args []any, dest ...any) (bool, error) {
	st, err := t.stmt(ctx, q)
	if err != nil {
		return false, err
	}
	err = st.QueryRowContext(t.qctx(ctx), args...).Scan(dest...)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

func (t *rtx) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	st, err := t.stmt(ctx, q)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(t.qctx(ctx), args...)
}

// ReadStream implements store.ReadTx.
func (t *rtx) ReadStream(ctx context.Context, after int64, limit int) ([]store.Entry, error) {
	if limit <= 0 {
		limit = 100
	}
	if t.tail {
		if es, head, ok := t.s.tail.read(after, t.tailHead, limit); ok {
			if t.tailHead < 0 {
				t.tailHead = head
			}
			return es, nil
		}
	}
	// Entries whose row retention purged are left out; a read that found only such entries
	// goes on past them, so that a caller always gets the next entries there are.
	for {
		es, last, err := t.readStream(ctx, after, limit)
		if err != nil || len(es) > 0 || last == after {
			return es, err
		}
		after = last
	}
}

// readStream is one read of ReadStream from SQLite; last is the Seq of the last row read.
func (t *rtx) readStream(ctx context.Context, after int64, limit int) ([]store.Entry, int64, error) {
	rows, err := t.query(ctx, "SELECT s.seq, s.kind, s.time, "+streamPayload+", s.packed FROM stream s WHERE s.seq > ? ORDER BY s.seq LIMIT ?", after, limit)
	if err != nil {
		return nil, after, fmt.Errorf("store: read stream after %d: %w", after, err)
	}
	defer rows.Close()
	var es []store.Entry
	last := after
	for rows.Next() {
		var e store.Entry
		var ns int64
		var packed int
		if err := rows.Scan(&e.Seq, &e.Kind, &ns, &e.Payload, &packed); err != nil {
			return nil, after, fmt.Errorf("store: read stream after %d: %w", after, err)
		}
		last = e.Seq
		if e.Kind == streamHeadKind {
			continue
		}
		var ok bool
		if e.Payload, ok, err = unpackStream(e.Payload, packed); err != nil {
			return nil, after, fmt.Errorf("store: read stream entry %d: %w", e.Seq, err)
		} else if !ok {
			continue
		}
		e.Time = fromNanos(ns)
		es = append(es, e)
	}
	if err := rows.Err(); err != nil {
		return nil, after, fmt.Errorf("store: read stream after %d: %w", after, err)
	}
	return es, last, nil
}

// streamHeadKind marks the entry that keeps the high-water mark of a stream that trimming
// had emptied before migration 0005; no read returns it.
const streamHeadKind = "stream.head"

// ReadStreamKinds implements store.ReadTx.
func (t *rtx) ReadStreamKinds(ctx context.Context, after int64, limit int, kinds []string) ([]store.Entry, int64, error) {
	if limit <= 0 {
		limit = 100
	}
	if kinds == nil {
		kinds = []string{}
	}
	if t.tail {
		if es, last, head, ok := t.s.tail.readKinds(after, t.tailHead, limit, kinds); ok {
			if t.tailHead < 0 {
				t.tailHead = head
			}
			return es, last, nil
		}
	}
	// Other kinds' payloads are left in the database.
	q := "SELECT s.seq, s.kind, s.time, CASE WHEN s.kind IN (" + strings.TrimSuffix(strings.Repeat("?, ", len(kinds)), ", ") +
		") THEN " + streamPayload + " END, s.packed FROM stream s WHERE s.seq > ? ORDER BY s.seq LIMIT ?"
	if len(kinds) == 0 {
		q = "SELECT seq, kind, time, NULL, packed FROM stream WHERE seq > ? ORDER BY seq LIMIT ?"
	}
	args := make([]any, 0, len(kinds)+2)
	for _, k := range kinds {
		args = append(args, k)
	}
	rows, err := t.query(ctx, q, append(args, after, max(limit, streamScan))...)
	if err != nil {
		return nil, 0, fmt.Errorf("store: read stream after %d: %w", after, err)
	}
	defer rows.Close()
	var es []store.Entry
	last := after
	for len(es) < limit && rows.Next() {
		var e store.Entry
		var ns int64
		var packed int
		if err := rows.Scan(&e.Seq, &e.Kind, &ns, &e.Payload, &packed); err != nil {
			return nil, 0, fmt.Errorf("store: read stream after %d: %w", after, err)
		}
		last = e.Seq
		if !slices.Contains(kinds, e.Kind) {
			continue
		}
		var ok bool
		if e.Payload, ok, err = unpackStream(e.Payload, packed); err != nil {
			return nil, 0, fmt.Errorf("store: read stream entry %d: %w", e.Seq, err)
		} else if !ok {
			continue
		}
		e.Time = fromNanos(ns)
		es = append(es, e)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("store: read stream after %d: %w", after, err)
	}
	return es, last, nil
}

// StreamHead implements store.ReadTx.
func (t *rtx) StreamHead(ctx context.Context) (int64, error) {
	var seq int64
	if _, err := t.queryRow(ctx, "SELECT COALESCE(MAX(seq), 0) FROM stream", nil, &seq); err != nil {
		return 0, fmt.Errorf("store: stream head: %w", err)
	}
	return seq, nil
}

// Checkpoint implements store.ReadTx.
func (t *rtx) Checkpoint(ctx context.Context, consumer string) (int64, error) {
	var seq int64
	if _, err := t.queryRow(ctx, "SELECT seq FROM checkpoints WHERE consumer = ?", []any{consumer}, &seq); err != nil {
		return 0, fmt.Errorf("store: checkpoint %s: %w", consumer, err)
	}
	return seq, nil
}

// Get implements store.ReadTx.
func (t *rtx) Get(ctx context.Context, bucket, key string) ([]byte, error) {
	var v []byte
	found, err := t.queryRow(ctx, "SELECT value FROM kv WHERE bucket = ? AND key = ?", []any{bucket, key}, &v)
	if err != nil {
		return nil, fmt.Errorf("store: get %s/%s: %w", bucket, key, err)
	}
	if !found {
		return nil, nil
	}
	if v == nil {
		v = []byte{}
	}
	return v, nil
}

// wtx implements store.Tx inside one savepoint of the writer's batch transaction.
type wtx struct {
	rtx
	// done is set when the Update function has returned; the tx is unusable after.
	done bool
	// appended records that this function appended stream entries, bulk that it appended
	// events with AppendEvents.
	appended, bulk bool
	// pending are the entries appended, and trimTo the highest TrimStream bound, for the
	// stream tail once the transaction commits.
	pending []pendingEntry
	trimTo  int64
	// fresh are the events this function added to the tail, for indexing them without
	// reading them back (see tailRows).
	fresh []indexedRow
	// touched is what this function read or wrote of resources (see live).
	touched map[resKey]*store.Resource
}

var _ store.Tx = (*wtx)(nil)

// run calls fn, turning a panic into an error so that one caller's bug does not take the
// writer (and every other caller) down.
func (t *wtx) run(fn func(store.Tx) error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("store: update function panicked: %v\n%s", p, debug.Stack())
		}
	}()
	return fn(t)
}

func (t *wtx) check(ctx context.Context) error {
	if t.done {
		return errors.New("store: transaction used after its Update function returned")
	}
	return ctx.Err()
}

func (t *wtx) now() time.Time { return t.s.now().UTC() }

// Append implements store.Tx.
func (t *wtx) Append(ctx context.Context, kind string, payload []byte) (int64, error) {
	if err := t.check(ctx); err != nil {
		return 0, err
	}
	seq, err := t.append(ctx, kind, t.now(), payload)
	if err != nil {
		return 0, fmt.Errorf("store: append %s: %w", kind, err)
	}
	return seq, nil
}

func (t *wtx) append(ctx context.Context, kind string, at time.Time, payload []byte) (int64, error) {
	stored, packed := packStream(payload)
	return t.appendRow(ctx, kind, at, payload, stored, packed, 0)
}

// appendRef appends an entry whose payload is the document of row ref of the table that
// packed names (streamEvent, streamHistory); the row's time must be at. payload is that
// document, for the tail.
func (t *wtx) appendRef(ctx context.Context, kind string, at time.Time, payload []byte, packed int, ref int64) (int64, error) {
	return t.appendRow(ctx, kind, at, payload, nil, packed, ref)
}

// appendRow inserts a stream row (stored and packed as packStream or appendRef make them)
// and keeps payload for the tail.
func (t *wtx) appendRow(ctx context.Context, kind string, at time.Time, payload, stored []byte, packed int, ref int64) (int64, error) {
	if kind == "" {
		return 0, errors.New("empty kind")
	}
	var refArg any
	if ref != 0 {
		refArg = ref
	}
	res, err := t.exec(ctx, "INSERT INTO stream (kind, time, payload, packed, ref) VALUES (?, ?, ?, ?, ?)", kind, at.UnixNano(), stored, packed, refArg)
	if err != nil {
		return 0, err
	}
	seq, err := res.LastInsertId()
	if err != nil {
		return 0, err
	}
	t.appended = true
	var p []byte
	if payload != nil {
		p = append(make([]byte, 0, len(payload)), payload...)
	}
	t.pending = append(t.pending, pendingEntry{Seq: seq, Kind: kind, Time: fromNanos(at.UnixNano()), Payload: p})
	return seq, nil
}

// SetCheckpoint implements store.Tx.
func (t *wtx) SetCheckpoint(ctx context.Context, consumer string, seq int64) error {
	if err := t.check(ctx); err != nil {
		return err
	}
	if _, err := t.exec(ctx, `INSERT INTO checkpoints (consumer, seq, updated) VALUES (?, ?, ?)
		ON CONFLICT (consumer) DO UPDATE SET seq = excluded.seq, updated = excluded.updated`,
		consumer, seq, t.now().UnixNano()); err != nil {
		return fmt.Errorf("store: set checkpoint %s: %w", consumer, err)
	}
	return nil
}

// TrimStream implements store.Tx.
func (t *wtx) TrimStream(ctx context.Context, upTo int64) (int64, error) {
	if err := t.check(ctx); err != nil {
		return 0, err
	}
	// The newest entry stays: it keeps the stream's high-water mark (migration 0005).
	res, err := t.exec(ctx, "DELETE FROM stream WHERE seq <= ? AND seq < (SELECT MAX(seq) FROM stream)", upTo)
	if err != nil {
		return 0, fmt.Errorf("store: trim stream to %d: %w", upTo, err)
	}
	t.trimTo = max(t.trimTo, upTo)
	return res.RowsAffected()
}

// Put implements store.Tx.
func (t *wtx) Put(ctx context.Context, bucket, key string, value []byte) error {
	if err := t.check(ctx); err != nil {
		return err
	}
	if value == nil {
		value = []byte{}
	}
	if _, err := t.exec(ctx, `INSERT INTO kv (bucket, key, value) VALUES (?, ?, ?)
		ON CONFLICT (bucket, key) DO UPDATE SET value = excluded.value`, bucket, key, value); err != nil {
		return fmt.Errorf("store: put %s/%s: %w", bucket, key, err)
	}
	return nil
}

// Delete implements store.Tx.
func (t *wtx) Delete(ctx context.Context, bucket, key string) error {
	if err := t.check(ctx); err != nil {
		return err
	}
	if _, err := t.exec(ctx, "DELETE FROM kv WHERE bucket = ? AND key = ?", bucket, key); err != nil {
		return fmt.Errorf("store: delete %s/%s: %w", bucket, key, err)
	}
	return nil
}

func fromNanos(ns int64) time.Time { return time.Unix(0, ns).UTC() }

// nanos stores t; the zero time is stored as 0.
func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}
