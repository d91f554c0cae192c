package logs

import (
	"container/heap"
	"context"
	"encoding/binary"
	"fmt"

	"github.com/bannin/bannin/internal/store"
)

// Log events are stored in blocks: one key-value pair holds up to blockBytes of messages of
// one stream, all from one PutLogEvents call (or Append), in (timestamp, sequence) order, and
// spanning at most maxBlockSpan. A scan then costs one row per block rather than one per
// event, and the events are decoded from the block in place.
//
// The block's key is its stream's event prefix and a position no later than its first event's
// (the first event's suffix when written; a purge that drops a block's oldest events keeps
// the key). A block's events all lie within its stream's BlockSpan of its key's timestamp,
// so a scan from time t starts at the blocks keyed from t - BlockSpan. Blocks of different
// calls may overlap in time; scans merge them.
//
// Value: a header, then the events.
//
//	header  version (1 byte, blockVersion), count (uint32), last timestamp (int64)
//	event   timestamp (int64), seq (uint32), ingestion time (int64), message length (uint32), message
//
// Integers are big-endian.
const (
	blockVersion    = 1
	blockHeaderLen  = 1 + 4 + 8
	blockEventLen   = 8 + 4 + 8 + 4
	blockBytes      = 64 << 10
	maxBlockSpan    = 60 * 1000 // milliseconds
	blockListMax    = 32
	blockPurgeBatch = 64
)

// pos is an event's position in its stream: its timestamp, then its sequence number.
type pos struct {
	ts  int64
	seq uint32
}

func (p pos) less(q pos) bool { return p.ts < q.ts || p.ts == q.ts && p.seq < q.seq }

// suffix is the position as an event key suffix (eventId, tokens, notices).
func (p pos) suffix() string { return eventSuffix(p.ts, p.seq) }

// parseSuffix reads a 24-hex suffix; validSuffix has checked it or the store wrote it.
func parseSuffix(s string) pos {
	if len(s) < suffixLen {
		return pos{ts: int64(parseHex(s))}
	}
	return pos{ts: int64(parseHex(s[:16])), seq: uint32(parseHex(s[16:suffixLen]))}
}

func parseHex(s string) uint64 {
	var v uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		default:
			c = 0
		}
		v = v<<4 | uint64(c)
	}
	return v
}

// encodeBlock encodes events (in position order) as a block value.
func encodeBlock(evs []event) []byte {
	n := blockHeaderLen
	for _, e := range evs {
		n += blockEventLen + len(e.message)
	}
	b := make([]byte, blockHeaderLen, n)
	b[0] = blockVersion
	binary.BigEndian.PutUint32(b[1:], uint32(len(evs)))
	binary.BigEndian.PutUint64(b[5:], uint64(evs[len(evs)-1].ts))
	for _, e := range evs {
		b = binary.BigEndian.AppendUint64(b, uint64(e.ts))
		b = binary.BigEndian.AppendUint32(b, e.seq)
		b = binary.BigEndian.AppendUint64(b, uint64(e.ingestion))
		b = binary.BigEndian.AppendUint32(b, uint32(len(e.message)))
		b = append(b, e.message...)
	}
	return b
}

// decodeBlock calls fn for each event of a block value, in order, until fn returns false.
// The messages are substrings of one copy of the value.
func decodeBlock(key string, v []byte, fn func(event) bool) error {
	if len(v) < blockHeaderLen || v[0] != blockVersion {
		return fmt.Errorf("logs: malformed event block %q", key)
	}
	s := string(v)
	n := int(binary.BigEndian.Uint32(v[1:]))
	off := blockHeaderLen
	for range n {
		if off+blockEventLen > len(v) {
			return fmt.Errorf("logs: truncated event block %q", key)
		}
		h := v[off : off+blockEventLen]
		l := int(binary.BigEndian.Uint32(h[20:]))
		off += blockEventLen
		if off+l > len(v) {
			return fmt.Errorf("logs: truncated event block %q", key)
		}
		e := event{ts: int64(binary.BigEndian.Uint64(h)), seq: binary.BigEndian.Uint32(h[8:]),
			ingestion: int64(binary.BigEndian.Uint64(h[12:])), message: s[off : off+l]}
		off += l
		if !fn(e) {
			return nil
		}
	}
	return nil
}

// blockLast is the last timestamp of a block value.
func blockLast(v []byte) int64 {
	if len(v) < blockHeaderLen {
		return 1<<63 - 1
	}
	return int64(binary.BigEndian.Uint64(v[5:]))
}

// splitBlocks cuts position-ordered events into blocks: at most blockBytes of messages
// (at least one event) spanning at most maxBlockSpan each.
func splitBlocks(evs []event) [][]event {
	var out [][]event
	start, size := 0, 0
	for i, e := range evs {
		if i > start && (size+len(e.message) > blockBytes || e.ts-evs[start].ts > maxBlockSpan) {
			out = append(out, evs[start:i])
			start, size = i, 0
		}
		size += len(e.message)
	}
	if start < len(evs) {
		out = append(out, evs[start:])
	}
	return out
}

// blockCursor is the remaining events of one opened block.
type blockCursor struct {
	evs []event
}

type blockHeap []*blockCursor

func (h blockHeap) Len() int           { return len(h) }
func (h blockHeap) Less(i, j int) bool { return h[i].evs[0].pos().less(h[j].evs[0].pos()) }
func (h blockHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *blockHeap) Push(x any)        { *h = append(*h, x.(*blockCursor)) }
func (h *blockHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// eventScan reads one stream's events with from <= timestamp < to and position after
// `after`, in position order, merging blocks that overlap. keep, when set, is asked about
// every such event as its block is opened; only those it keeps are returned.
type eventScan struct {
	tx       store.ReadTx
	prefix   string // the stream's event key prefix
	from, to int64
	after    pos
	hasAfter bool
	keep     func(string) bool

	listPos string     // last key listed
	listN   int        // blocks to list next
	pending []store.KV // listed, not yet opened
	done    bool       // nothing more to list
	open    blockHeap
}

// newEventScan starts a scan of the stream whose event key prefix is prefix and whose
// blocks span at most span milliseconds.
func newEventScan(tx store.ReadTx, prefix string, span, from, to int64, after *pos, keep func(string) bool) *eventScan {
	sc := &eventScan{tx: tx, prefix: prefix, from: from, to: to, keep: keep, listN: 2}
	start := from
	if after != nil {
		sc.after, sc.hasAfter = *after, true
		start = max(start, after.ts)
	}
	sc.listPos = prefix + timeKey(start-max(span, 0))
	return sc
}

// list reads the next blocks' keys and values.
func (sc *eventScan) list(ctx context.Context) error {
	kvs, err := sc.tx.List(ctx, bucketEvents, sc.prefix, sc.listPos, sc.listN)
	if err != nil {
		return fmt.Errorf("logs: list events: %w", err)
	}
	if len(kvs) < sc.listN {
		sc.done = true
	}
	sc.listN = min(sc.listN*2, blockListMax)
	if len(kvs) > 0 {
		sc.listPos = kvs[len(kvs)-1].Key
	}
	sc.pending = kvs
	return nil
}

// openBlock decodes a block's events in the scan's range into a cursor.
func (sc *eventScan) openBlock(kv store.KV) error {
	if blockLast(kv.Value) < sc.from {
		return nil
	}
	var evs []event
	err := decodeBlock(kv.Key, kv.Value, func(e event) bool {
		if e.ts >= sc.to {
			return false
		}
		if e.ts < sc.from || sc.hasAfter && !sc.after.less(e.pos()) {
			return true
		}
		if sc.keep != nil && !sc.keep(e.message) {
			return true
		}
		evs = append(evs, e)
		return true
	})
	if err != nil {
		return err
	}
	if len(evs) > 0 {
		heap.Push(&sc.open, &blockCursor{evs: evs})
	}
	return nil
}

// next returns the scan's next event; ok is false at the end.
func (sc *eventScan) next(ctx context.Context) (e event, ok bool, err error) {
	for {
		if len(sc.pending) == 0 && !sc.done {
			if err := sc.list(ctx); err != nil {
				return event{}, false, err
			}
		}
		if len(sc.pending) == 0 {
			break
		}
		kp := parseSuffix(sc.pending[0].Key[len(sc.prefix):])
		if kp.ts >= sc.to {
			sc.pending, sc.done = nil, true
			break
		}
		// A block whose key is after the earliest open event cannot hold an earlier one.
		if len(sc.open) > 0 && sc.open[0].evs[0].pos().less(kp) {
			break
		}
		kv := sc.pending[0]
		sc.pending[0] = store.KV{}
		sc.pending = sc.pending[1:]
		if err := sc.openBlock(kv); err != nil {
			return event{}, false, err
		}
	}
	if len(sc.open) == 0 {
		return event{}, false, nil
	}
	bc := sc.open[0]
	e = bc.evs[0]
	bc.evs = bc.evs[1:]
	if len(bc.evs) == 0 {
		heap.Pop(&sc.open)
	} else {
		heap.Fix(&sc.open, 0)
	}
	return e, true, nil
}

// putBlocks stores position-ordered events of a stream as new blocks and returns the
// longest span of one of them.
func putBlocks(ctx context.Context, tx store.Tx, streamKey string, evs []event) (int64, error) {
	var span int64
	for _, b := range splitBlocks(evs) {
		span = max(span, b[len(b)-1].ts-b[0].ts)
		if err := tx.Put(ctx, bucketEvents, streamKey+"\x00"+b[0].pos().suffix(), encodeBlock(b)); err != nil {
			return 0, fmt.Errorf("logs: put events: %w", err)
		}
	}
	return span, nil
}

// purgeBlocks deletes a stream's events older than cut, rewriting the blocks that keep some
// under their keys, and returns how many events and message bytes it deleted.
func purgeBlocks(ctx context.Context, tx store.Tx, streamKey string, cut int64) (int, int64, error) {
	prefix := streamKey + "\x00"
	after := ""
	deleted, freed := 0, int64(0)
	for {
		kvs, err := tx.List(ctx, bucketEvents, prefix, after, blockPurgeBatch)
		if err != nil {
			return 0, 0, fmt.Errorf("logs: purge: list events: %w", err)
		}
		for _, kv := range kvs {
			if parseSuffix(kv.Key[len(prefix):]).ts >= cut {
				return deleted, freed, nil
			}
			var kept []event
			n := 0
			err := decodeBlock(kv.Key, kv.Value, func(e event) bool {
				if e.ts < cut {
					n++
					freed += int64(len(e.message))
				} else {
					kept = append(kept, e)
				}
				return true
			})
			if err != nil {
				return 0, 0, err
			}
			deleted += n
			switch {
			case n == 0:
			case len(kept) == 0:
				err = tx.Delete(ctx, bucketEvents, kv.Key)
			default:
				err = tx.Put(ctx, bucketEvents, kv.Key, encodeBlock(kept))
			}
			if err != nil {
				return 0, 0, fmt.Errorf("logs: purge: %w", err)
			}
		}
		if len(kvs) < blockPurgeBatch {
			return deleted, freed, nil
		}
		after = kvs[len(kvs)-1].Key
	}
}
