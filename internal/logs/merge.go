package logs

import (
	"container/heap"
	"context"
	"fmt"

	"github.com/bannin/bannin/internal/store"
)

// streamCursor reads one stream's events in key order, a page at a time.
type streamCursor struct {
	stream string
	prefix string // the stream's event key prefix
	pos    string // last key read
	to     int64
	buf    []event
	done   bool
}

// fill reads the next page when the buffer is empty.
func (sc *streamCursor) fill(ctx context.Context, tx store.ReadTx) error {
	if len(sc.buf) > 0 || sc.done {
		return nil
	}
	kvs, err := tx.List(ctx, bucketEvents, sc.prefix, sc.pos, 256)
	if err != nil {
		return fmt.Errorf("logs: list events: %w", err)
	}
	if len(kvs) < 256 {
		sc.done = true
	}
	for _, kv := range kvs {
		e := decodeEvent(kv.Key[len(sc.prefix):], kv.Value)
		if e.ts >= sc.to {
			sc.done = true
			break
		}
		sc.buf = append(sc.buf, e)
	}
	if len(kvs) > 0 {
		sc.pos = kvs[len(kvs)-1].Key
	}
	return nil
}

// cursorHeap orders cursors by their next event: timestamp, then stream name.
type cursorHeap []*streamCursor

func (h cursorHeap) Len() int { return len(h) }
func (h cursorHeap) Less(i, j int) bool {
	a, b := h[i].buf[0], h[j].buf[0]
	if a.ts != b.ts {
		return a.ts < b.ts
	}
	return h[i].stream < h[j].stream
}
func (h cursorHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *cursorHeap) Push(x any)   { *h = append(*h, x.(*streamCursor)) }
func (h *cursorHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// mergeStreams returns the events of the streams with from <= timestamp < to that match,
// interleaved in (timestamp, stream, arrival) order and starting after the position
// `after`: at most n of them and no more than maxPageBytes of messages (always at least
// one). more reports that another match follows. It reads the streams lazily, so a page
// costs what it returns.
func mergeStreams(ctx context.Context, tx store.ReadTx, account, region, group string, streams []*Stream,
	from, to int64, after *filterToken, n int, match func(string) bool) (out []filtered, more bool, err error) {
	h := make(cursorHeap, 0, len(streams))
	for _, st := range streams {
		prefix := streamKey(account, region, group, st.Name) + "\x00"
		sc := &streamCursor{stream: st.Name, prefix: prefix, pos: prefix + timeKey(from), to: to}
		if after != nil {
			// Resume after the token: past its timestamp in streams that sort before
			// its stream, past its event in its stream, at its timestamp in the others.
			ts := suffixTime(after.Suffix)
			var pos string
			switch {
			case st.Name < after.Stream:
				pos = prefix + after.Suffix[:16] + "ffffffff"
			case st.Name == after.Stream:
				pos = prefix + after.Suffix
			default:
				pos = prefix + timeKey(ts)
			}
			if pos > sc.pos {
				sc.pos = pos
			}
		}
		if err := sc.fill(ctx, tx); err != nil {
			return nil, false, err
		}
		if len(sc.buf) > 0 {
			h = append(h, sc)
		}
	}
	heap.Init(&h)
	size := 0
	for len(h) > 0 {
		sc := h[0]
		e := sc.buf[0]
		if match(e.message) {
			if len(out) == n || len(out) > 0 && size+len(e.message) > maxPageBytes {
				return out, true, nil
			}
			out = append(out, filtered{stream: sc.stream, event: e})
			size += len(e.message)
		}
		sc.buf = sc.buf[1:]
		if err := sc.fill(ctx, tx); err != nil {
			return nil, false, err
		}
		if len(sc.buf) == 0 {
			heap.Pop(&h)
		} else {
			heap.Fix(&h, 0)
		}
	}
	return out, false, nil
}
