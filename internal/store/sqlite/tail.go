package sqlite

import (
	"slices"
	"sort"
	"sync"

	"github.com/bannin/bannin/internal/store"
)

// Bounds of the stream tail kept in memory: enough for consumers that keep up (they read at
// most a few hundred entries at a time); one that lags further reads SQLite.
const (
	tailMaxEntries = 4096
	tailMaxBytes   = 8 << 20
)

// streamTail is an in-memory copy of the newest committed stream entries, so that consumers
// polling the stream after every commit (each one in its own View) do not each start a
// SQLite read transaction: under write load every such transaction finds the WAL changed,
// drops its connection's page cache and re-reads the B-tree, which cost more CPU than the
// writes themselves. The writer publishes a batch's entries after COMMIT and before waking the
// consumers; ReadStream answers from here when the tail covers its range and falls back to
// SQL otherwise.
//
// Invariant: every committed stream entry with Seq > floor that has not been trimmed is in
// entries, in Seq order. It holds while this Store is the only one appending to the stream
// (a data dir is served by one process; see server.LockDataDir). Should another process
// append anyway, the writer notices at its next transaction and empties the tail (reset), so
// those entries are read from SQLite.
type streamTail struct {
	mu      sync.RWMutex
	floor   int64
	entries []store.Entry
	bytes   int
	// maxEntries and maxBytes bound the tail (tailMaxEntries, tailMaxBytes; tests lower them).
	maxEntries, maxBytes int
}

// pendingEntry is a stream entry appended by an Update function that has not committed yet.
type pendingEntry = store.Entry

// publish adds the entries of a committed transaction and applies its trims (trimTo > 0:
// entries with Seq <= trimTo were deleted).
func (t *streamTail) publish(es []pendingEntry, trimTo int64) {
	if len(es) == 0 && trimTo <= t.floorLocked() {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if trimTo > 0 {
		i := sort.Search(len(t.entries), func(i int) bool { return t.entries[i].Seq > trimTo })
		t.drop(i)
		t.floor = max(t.floor, trimTo)
	}
	for _, e := range es {
		if e.Seq <= t.floor {
			continue // trimmed in the same transaction
		}
		t.entries = append(t.entries, e)
		t.bytes += len(e.Payload) + len(e.Kind) + 64
	}
	n := 0
	for b := t.bytes; n < len(t.entries) && (len(t.entries)-n > t.maxEntries || b > t.maxBytes); n++ {
		b -= len(t.entries[n].Payload) + len(t.entries[n].Kind) + 64
	}
	if n > 0 {
		t.floor = max(t.floor, t.entries[n-1].Seq)
		t.drop(n)
	}
}

// reset empties the tail: entries up to seq are only in the database.
func (t *streamTail) reset(seq int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.drop(len(t.entries))
	t.floor = max(t.floor, seq)
}

func (t *streamTail) floorLocked() int64 {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.floor
}

// drop removes the first n entries; the slice is compacted once half of it is dead.
func (t *streamTail) drop(n int) {
	for _, e := range t.entries[:n] {
		t.bytes -= len(e.Payload) + len(e.Kind) + 64
	}
	clear(t.entries[:n])
	t.entries = t.entries[n:]
	if cap(t.entries) > 2*len(t.entries)+1024 {
		t.entries = append(make([]store.Entry, 0, 2*len(t.entries)+64), t.entries...)
	}
}

// read returns up to limit entries with after < Seq <= upTo (upTo < 0: no bound), copied,
// and the newest Seq the tail holds; ok is false when the tail does not cover that range (ask
// SQL).
func (t *streamTail) read(after, upTo int64, limit int) (es []store.Entry, head int64, ok bool) {
	es, _, head, ok = t.readKinds(after, upTo, limit, nil)
	return es, head, ok
}

// streamScan is store.StreamScan (tests lower it).
var streamScan = store.StreamScan

// readKinds is read keeping only the entries of kinds (all when kinds is nil), looking at
// no more than max(limit, streamScan) entries when kinds is set; last is the Seq of
// the last entry looked at (after when none was).
func (t *streamTail) readKinds(after, upTo int64, limit int, kinds []string) (es []store.Entry, last, head int64, ok bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if after < t.floor {
		return nil, 0, 0, false
	}
	head = t.floor
	if len(t.entries) > 0 {
		head = t.entries[len(t.entries)-1].Seq
	}
	i := sort.Search(len(t.entries), func(i int) bool { return t.entries[i].Seq > after })
	scan := limit
	if kinds != nil {
		scan = max(limit, streamScan)
	}
	j := min(len(t.entries), i+scan)
	if upTo >= 0 {
		j = i + sort.Search(j-i, func(k int) bool { return t.entries[i+k].Seq > upTo })
	}
	if i >= j {
		return nil, after, head, true
	}
	last = after
	for _, e := range t.entries[i:j] {
		if len(es) == limit {
			break
		}
		last = e.Seq
		if kinds != nil && !slices.Contains(kinds, e.Kind) {
			continue
		}
		if e.Payload != nil {
			e.Payload = append([]byte(nil), e.Payload...)
			if e.Payload == nil {
				e.Payload = []byte{}
			}
		}
		es = append(es, e)
	}
	return es, last, head, true
}
