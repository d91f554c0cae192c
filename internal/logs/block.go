package logs

import (
	"container/heap"
	"context"
	"encoding/binary"
	"fmt"
	"sync"

	"github.com/klauspost/compress/s2"

	"github.com/bannin/bannin/internal/store"
)

// Log events are stored in blocks: one key-value pair holds up to blockBytes of events
// (uncompressed, headers included; always at least one event) of one stream, all from one
// PutLogEvents call (or Append), in (timestamp, sequence) order, and spanning at most
// maxBlockSpan. A scan then costs one row per block rather than one per event, and the
// events' messages are substrings of the block's decompressed contents. 32 KiB keeps that
// string a small object for the allocator (larger ones cost more to allocate and collect).
//
// The block's key is its stream's event prefix and a position no later than its first event's
// (the first event's suffix when written; a purge that drops a block's oldest events keeps
// the key). A block's events all lie within its stream's BlockSpan of its key's timestamp,
// so a scan from time t starts at the blocks keyed from t - BlockSpan. Blocks of different
// calls may overlap in time; scans merge them.
//
// Value: a header, then the events compressed with S2 (github.com/klauspost/compress/s2):
// log messages such as CloudTrail records shrink about five times, so a scan reads and
// copies that much less through SQLite and decompresses on a core of its own.
//
//	header  version (1 byte, blockVersion), count (uint32), last timestamp (int64)
//	event   timestamp (int64), seq (uint32), ingestion time (int64), message length (uint32), message
//
// Integers are big-endian.
const (
	blockVersion    = 2
	blockHeaderLen  = 1 + 4 + 8
	blockEventLen   = 8 + 4 + 8 + 4
	blockBytes      = 32 << 10
	maxBlockSpan    = 60 * 1000 // milliseconds
	blockListMax    = 8
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
	n := 0
	for _, e := range evs {
		n += blockEventLen + len(e.message)
	}
	raw := make([]byte, 0, n)
	for _, e := range evs {
		raw = binary.BigEndian.AppendUint64(raw, uint64(e.ts))
		raw = binary.BigEndian.AppendUint32(raw, e.seq)
		raw = binary.BigEndian.AppendUint64(raw, uint64(e.ingestion))
		raw = binary.BigEndian.AppendUint32(raw, uint32(len(e.message)))
		raw = append(raw, e.message...)
	}
	b := make([]byte, blockHeaderLen, blockHeaderLen+s2.MaxEncodedLen(len(raw)))
	b[0] = blockVersion
	binary.BigEndian.PutUint32(b[1:], uint32(len(evs)))
	binary.BigEndian.PutUint64(b[5:], uint64(evs[len(evs)-1].ts))
	return append(b, s2.Encode(b[blockHeaderLen:cap(b)], raw)...)
}

// decodeBlock calls fn for each event of a block value, in order, until fn returns false.
// The messages are substrings of one string, the decompressed events.
// may, when set, is asked first about the block's decompressed bytes: false skips the
// whole block (no event in it can be wanted).
func decodeBlock(key string, v []byte, may func([]byte) bool, fn func(event) bool) error {
	if len(v) < blockHeaderLen || v[0] != blockVersion {
		return fmt.Errorf("logs: malformed event block %q", key)
	}
	n := int(binary.BigEndian.Uint32(v[1:]))
	bp := decodeBufs.Get().(*[]byte)
	defer decodeBufs.Put(bp)
	v, err := s2.Decode((*bp)[:cap(*bp)], v[blockHeaderLen:])
	if err != nil {
		return fmt.Errorf("logs: event block %q: %w", key, err)
	}
	*bp = v[:0]
	if may != nil && !may(v) {
		return nil
	}
	s := string(v)
	off := 0
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

// decodeBufs holds buffers for decompressing blocks, which are then copied to a string.
var decodeBufs = sync.Pool{New: func() any { b := make([]byte, 0, blockBytes); return &b }}

// blockLast is the last timestamp of a block value.
func blockLast(v []byte) int64 {
	if len(v) < blockHeaderLen {
		return 1<<63 - 1
	}
	return int64(binary.BigEndian.Uint64(v[5:]))
}

// splitBlocks cuts position-ordered events into blocks: at most blockBytes of events
// (at least one event) spanning at most maxBlockSpan each.
func splitBlocks(evs []event) [][]event {
	var out [][]event
	start, size := 0, 0
	for i, e := range evs {
		n := blockEventLen + len(e.message)
		if i > start && (size+n > blockBytes || e.ts-evs[start].ts > maxBlockSpan) {
			out = append(out, evs[start:i])
			start, size = i, 0
		}
		size += n
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
// every such event; only those it keeps are returned. With keep, blocks are decoded and
// matched on goroutines of their own while the scan lists the next ones from the store, so
// a search uses a second core for the matching.
type eventScan struct {
	tx     store.ReadTx
	prefix string // the stream's event key prefix
	rng    blockRange

	sem     chan struct{} // bounds the goroutines decoding blocks (nil: no bound)
	listPos string        // last key listed
	listN   int           // blocks to list next
	queue   []*blockJob   // listed, not yet opened, in key order
	opened  int           // blocks opened so far
	done    bool          // nothing more to list
	open    blockHeap
}

// blockRange is what a scan takes of each block.
type blockRange struct {
	from, to int64
	after    pos
	hasAfter bool
	keep     func(string) bool
	may      func([]byte) bool // a block pre-check for keep (see decodeBlock)
}

// blockJob is one listed block being decoded.
type blockJob struct {
	key  pos
	evs  []event
	err  error
	done chan struct{} // closed when evs and err are set; nil when decoded in place
}

// newEventScan starts a scan of the stream whose event key prefix is prefix and whose
// blocks span at most span milliseconds.
func newEventScan(tx store.ReadTx, prefix string, span, from, to int64, after *pos, keep func(string) bool, may func([]byte) bool) *eventScan {
	sc := &eventScan{tx: tx, prefix: prefix, rng: blockRange{from: from, to: to, keep: keep, may: may}, listN: 2}
	start := from
	if after != nil {
		sc.rng.after, sc.rng.hasAfter = *after, true
		start = max(start, after.ts)
	}
	sc.listPos = prefix + timeKey(start-max(span, 0))
	return sc
}

// list reads the next blocks from the store and queues them for decoding.
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
	for _, kv := range kvs {
		j := &blockJob{key: parseSuffix(kv.Key[len(sc.prefix):])}
		if j.key.ts >= sc.rng.to {
			sc.done = true
			break
		}
		sc.queue = append(sc.queue, j)
		if sc.rng.keep == nil {
			j.evs, j.err = sc.rng.decode(kv)
			continue
		}
		j.done = make(chan struct{})
		if sc.sem != nil {
			sc.sem <- struct{}{}
		}
		go func(rng blockRange, kv store.KV, sem chan struct{}) {
			j.evs, j.err = rng.decode(kv)
			close(j.done)
			if sem != nil {
				<-sem
			}
		}(sc.rng, kv, sc.sem)
	}
	return nil
}

// decode returns a block's events in the range that keep keeps.
func (r blockRange) decode(kv store.KV) ([]event, error) {
	if blockLast(kv.Value) < r.from {
		return nil, nil
	}
	var evs []event
	err := decodeBlock(kv.Key, kv.Value, r.may, func(e event) bool {
		if e.ts >= r.to {
			return false
		}
		if e.ts < r.from || r.hasAfter && !r.after.less(e.pos()) {
			return true
		}
		if r.keep != nil && !r.keep(e.message) {
			return true
		}
		evs = append(evs, e)
		return true
	})
	return evs, err
}

// next returns the scan's next event; ok is false at the end.
func (sc *eventScan) next(ctx context.Context) (e event, ok bool, err error) {
	for {
		// Once the scan is being read (a page over many streams may need one block of
		// most), keep the next blocks listed and being matched ahead of the one opened.
		if !sc.done && (len(sc.queue) == 0 || sc.rng.keep != nil && sc.opened > 0 && len(sc.queue) <= blockListMax) {
			if err := sc.list(ctx); err != nil {
				return event{}, false, err
			}
		}
		if len(sc.queue) == 0 {
			break
		}
		j := sc.queue[0]
		// A block whose key is after the earliest open event cannot hold an earlier one.
		if len(sc.open) > 0 && sc.open[0].evs[0].pos().less(j.key) {
			break
		}
		sc.queue[0] = nil
		sc.queue = sc.queue[1:]
		sc.opened++
		if j.done != nil {
			select {
			case <-j.done:
			case <-ctx.Done():
				return event{}, false, ctx.Err()
			}
		}
		if j.err != nil {
			return event{}, false, j.err
		}
		if len(j.evs) > 0 {
			heap.Push(&sc.open, &blockCursor{evs: j.evs})
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
			err := decodeBlock(kv.Key, kv.Value, nil, func(e event) bool {
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
