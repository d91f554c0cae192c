package logs

import (
	"container/heap"
	"context"
	"runtime"
	"strings"

	"github.com/bannin/bannin/internal/store"
)

// streamCursor is one stream's matching events, read ahead by one.
type streamCursor struct {
	stream string
	scan   *eventScan
	next   event
}

// advance reads the stream's next matching event; ok is false at the end.
func (sc *streamCursor) advance(ctx context.Context) (ok bool, err error) {
	sc.next, ok, err = sc.scan.next(ctx)
	return ok, err
}

// cursorHeap orders cursors by their next event: timestamp, then stream name.
type cursorHeap []*streamCursor

func (h cursorHeap) Len() int { return len(h) }
func (h cursorHeap) Less(i, j int) bool {
	a, b := h[i].next, h[j].next
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
// one). more reports that another match follows. It reads the streams' blocks lazily, so a
// page costs about what it scans; events are matched in the blocks as read and only the
// matches are copied.
func mergeStreams(ctx context.Context, tx store.ReadTx, account, region, group string, streams []*Stream,
	from, to int64, after *filterToken, n int, match func(string) bool, may func([]byte) bool) (out []filtered, more bool, err error) {
	h := make(cursorHeap, 0, len(streams))
	// Blocks are matched on goroutines, a few per core: a group of many streams starts with
	// a block or two of each.
	sem := make(chan struct{}, 4*runtime.GOMAXPROCS(0))
	for _, st := range streams {
		prefix := streamKey(account, region, group, st.Name) + "\x00"
		sfrom := from
		var ap *pos
		if after != nil {
			// Resume after the token: past its timestamp in streams that sort before
			// its stream, past its event in its stream, at its timestamp in the others.
			p := parseSuffix(after.Suffix)
			switch {
			case st.Name < after.Stream:
				ap = &pos{ts: p.ts, seq: 1<<32 - 1}
			case st.Name == after.Stream:
				ap = &p
			default:
				sfrom = max(sfrom, p.ts)
			}
		}
		sc := &streamCursor{stream: st.Name, scan: newEventScan(tx, prefix, st.BlockSpan, sfrom, to, ap, match, may)}
		sc.scan.sem = sem
		ok, err := sc.advance(ctx)
		if err != nil {
			return nil, false, err
		}
		if ok {
			h = append(h, sc)
		}
	}
	heap.Init(&h)
	size := 0
	for len(h) > 0 {
		sc := h[0]
		e := sc.next
		if len(out) == n || len(out) > 0 && size+len(e.message) > maxPageBytes {
			return out, true, nil
		}
		// The message is a substring of its whole block: keep a copy of its own.
		e.message = strings.Clone(e.message)
		out = append(out, filtered{stream: sc.stream, event: e})
		size += len(e.message)
		ok, err := sc.advance(ctx)
		if err != nil {
			return nil, false, err
		}
		if ok {
			heap.Fix(&h, 0)
		} else {
			heap.Pop(&h)
		}
	}
	return out, false, nil
}
