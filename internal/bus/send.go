package bus

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/bannin/bannin/internal/store"
)

// API destination calls are never made by the stream consumer: it queues them in
// pendingBucket (in order), and Run's sender makes them, one destination's calls one at
// a time and in order, at most maxSenders destinations at once, each at its
// InvocationRateLimitPerSecond. So an endpoint that hangs, or a destination with a low
// rate, delays only its own calls, never the other targets of any rule.
const (
	// pendingBucket holds API destination deliveries waiting for their first or next
	// attempt, keyed by pendingKey: due time (Unix nanoseconds of the injected clock), the
	// event's stream position, the delivery key.
	pendingBucket = "bus.pending"
	// destinationTimeout bounds one API destination call (its OAuth token included), as
	// EventBridge's 5 seconds do, whatever the HTTP client's own timeout.
	destinationTimeout = 5 * time.Second
	// maxSenders is how many destinations are called at once.
	maxSenders = 16
	// pendingScan bounds the queued deliveries one look at the queue reads.
	pendingScan = 5000
	// senderBatch bounds the deliveries one sender takes for its destination at a time.
	senderBatch = 100
)

func pendingKey(due time.Time, seq int64, key string) string {
	return fmt.Sprintf("%020d|%020d|%s", due.UnixNano(), seq, key)
}

// pendingDue returns the due time, in Unix nanoseconds, of a pendingBucket key.
func pendingDue(key string) (int64, bool) {
	ns, _, _ := strings.Cut(key, "|")
	n, err := strconv.ParseInt(ns, 10, 64)
	return n, err == nil
}

// enqueue queues an API destination delivery for the sender, due when its event came
// (so that a re-read stream entry queues the same key again, not a second delivery),
// unless it was delivered already; a stored retry of it (retryKey, in retryBucket, as
// deliveries were retried before they were queued) moves to the queue.
func (s *Service) enqueue(ctx context.Context, d *delivery, retryKey string) error {
	due := d.Ingested
	if retryKey != "" {
		due = s.opts.Clock()
	}
	raw, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("bus: encode api destination delivery: %w", err)
	}
	err = s.opts.Store.Update(ctx, func(tx store.Tx) error {
		if retryKey != "" {
			if err := tx.Delete(ctx, retryBucket, retryKey); err != nil {
				return err
			}
		}
		if v, err := tx.Get(ctx, deliveredBucket, d.key()); err != nil || v != nil {
			return err
		}
		return tx.Put(ctx, pendingBucket, pendingKey(due, d.Seq, d.key()), raw)
	})
	if err != nil {
		return fmt.Errorf("bus: queue api destination delivery: %w", err)
	}
	s.wakeSender()
	return nil
}

// wakeSender makes the sender look at the queue now rather than at its next tick.
func (s *Service) wakeSender() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// pendingItem is a queued delivery and its key.
type pendingItem struct {
	key string
	d   delivery
}

// sendPending sends queued API destination deliveries as they become due, until ctx is
// done; it returns once the calls it started have returned.
func (s *Service) sendPending(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	var mu sync.Mutex
	busy := map[string]bool{} // destination ARNs being sent to
	t := time.NewTicker(s.opts.Tick)
	defer t.Stop()
	for {
		mu.Lock()
		skip := make(map[string]bool, len(busy))
		for k := range busy {
			skip[k] = true
		}
		mu.Unlock()
		groups, order, err := s.duePending(ctx, s.opts.Clock(), skip)
		if err != nil && ctx.Err() == nil {
			s.opts.Logger.Error("bus: read queued api destination deliveries", "err", err)
		}
		for _, dest := range order {
			mu.Lock()
			if len(busy) >= maxSenders {
				mu.Unlock()
				break
			}
			busy[dest] = true
			mu.Unlock()
			wg.Add(1)
			go func(items []pendingItem) {
				defer wg.Done()
				s.sendAll(ctx, items)
				mu.Lock()
				delete(busy, dest)
				mu.Unlock()
				s.wakeSender()
			}(groups[dest])
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.wake:
		}
	}
}

// duePending reads the queued deliveries due at now, by destination (in queue order),
// leaving out the destinations in skip.
func (s *Service) duePending(ctx context.Context, now time.Time, skip map[string]bool) (map[string][]pendingItem, []string, error) {
	groups := map[string][]pendingItem{}
	var order []string
	var bad []string
	err := s.opts.Store.View(ctx, func(tx store.ReadTx) error {
		after := ""
		for read := 0; read < pendingScan; {
			kvs, err := tx.List(ctx, pendingBucket, "", after, 500)
			if err != nil {
				return err
			}
			for _, kv := range kvs {
				if n, ok := pendingDue(kv.Key); ok && n > now.UnixNano() {
					return nil
				}
				var it pendingItem
				if err := json.Unmarshal(kv.Value, &it.d); err != nil {
					bad = append(bad, kv.Key)
					continue
				}
				it.key = kv.Key
				dest := aws.ToString(it.d.Target.Arn)
				if skip[dest] || len(groups[dest]) >= senderBatch {
					continue
				}
				if groups[dest] == nil {
					order = append(order, dest)
				}
				groups[dest] = append(groups[dest], it)
			}
			if len(kvs) < 500 {
				return nil
			}
			read += len(kvs)
			after = kvs[len(kvs)-1].Key
		}
		return nil
	})
	for _, k := range bad {
		s.opts.Logger.Error("bus: undecodable queued api destination delivery dropped", "key", k)
		if err := s.opts.Store.Update(ctx, func(tx store.Tx) error { return tx.Delete(ctx, pendingBucket, k) }); err != nil {
			return nil, nil, err
		}
	}
	return groups, order, err
}

// sendAll makes the calls of one destination's queued deliveries, in order.
func (s *Service) sendAll(ctx context.Context, items []pendingItem) {
	for i := range items {
		if ctx.Err() != nil {
			return
		}
		if err := s.send(ctx, &items[i].d, items[i].key); err != nil && ctx.Err() == nil {
			s.opts.Logger.Error("bus: api destination delivery", "err", err)
		}
	}
}

// send makes one attempt of a queued API destination delivery; a failure is queued
// again for a retry (or dropped once the target's RetryPolicy is spent). Only store
// failures are returned.
func (s *Service) send(ctx context.Context, d *delivery, key string) error {
	err := s.callDestination(ctx, d, key)
	if err == nil || ctx.Err() != nil {
		return ctx.Err()
	}
	return s.failed(ctx, d, key, err, retryable(err))
}
