package bus

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/bannin/bannin/internal/store"
)

// Delivered marks (deliveredBucket) only guard against delivering an event twice while
// it may still be delivered: from a re-read of the stream or a retry, at most the
// maximum event age (24 hours) after it came. Run drops older marks so that the bucket
// does not grow for ever.
const (
	// deliveredIndexBucket indexes the marks by when they were made: key
	// markedUnixNano (20 digits) + "|" + the mark's key, empty value.
	deliveredIndexBucket = "bus.delivered-by-time"
	// marksMetaBucket's key marksIndexedKey records that the marks made before the index
	// existed have been indexed (or dropped).
	marksMetaBucket = "bus.delivered-meta"
	marksIndexedKey = "indexed"
	// markTTL is how long a mark is kept.
	markTTL = defaultEventAge
	// markBatch bounds the marks one transaction drops.
	markBatch = 500
)

func markIndexKey(at time.Time, key string) string {
	return fmt.Sprintf("%020d|%s", at.UnixNano(), key)
}

// expireMarks drops the delivered marks made more than markTTL before now, oldest first.
func (s *Service) expireMarks(ctx context.Context, now time.Time) error {
	if !s.marksIndexed {
		if err := s.indexOldMarks(ctx, now); err != nil {
			return err
		}
		s.marksIndexed = true
	}
	cutoff := now.Add(-markTTL).UnixNano()
	for {
		more := false
		err := s.opts.Store.Update(ctx, func(tx store.Tx) error {
			kvs, err := tx.List(ctx, deliveredIndexBucket, "", "", markBatch)
			if err != nil {
				return err
			}
			for _, kv := range kvs {
				ns, key, _ := strings.Cut(kv.Key, "|")
				if n, err := strconv.ParseInt(ns, 10, 64); err == nil && n > cutoff {
					return nil
				}
				if err := tx.Delete(ctx, deliveredBucket, key); err != nil {
					return err
				}
				if err := tx.Delete(ctx, deliveredIndexBucket, kv.Key); err != nil {
					return err
				}
			}
			more = len(kvs) == markBatch
			return nil
		})
		if err != nil || !more {
			return err
		}
	}
}

// indexOldMarks indexes (or, when expired, drops) the marks made before the index
// existed, once per store.
func (s *Service) indexOldMarks(ctx context.Context, now time.Time) error {
	var done bool
	err := s.opts.Store.View(ctx, func(tx store.ReadTx) error {
		v, err := tx.Get(ctx, marksMetaBucket, marksIndexedKey)
		done = v != nil
		return err
	})
	if err != nil || done {
		return err
	}
	indexed := map[string]bool{}
	after := ""
	for {
		kvs, err := listBucket(ctx, s.opts.Store, deliveredIndexBucket, after)
		if err != nil {
			return err
		}
		for _, kv := range kvs {
			_, key, _ := strings.Cut(kv.Key, "|")
			indexed[key] = true
		}
		if len(kvs) < markBatch {
			break
		}
		after = kvs[len(kvs)-1].Key
	}
	cutoff := now.Add(-markTTL)
	after = ""
	for {
		kvs, err := listBucket(ctx, s.opts.Store, deliveredBucket, after)
		if err != nil {
			return err
		}
		err = s.opts.Store.Update(ctx, func(tx store.Tx) error {
			for _, kv := range kvs {
				if indexed[kv.Key] {
					continue
				}
				at, err := time.Parse(time.RFC3339, string(kv.Value))
				if err != nil || at.Before(cutoff) {
					if err := tx.Delete(ctx, deliveredBucket, kv.Key); err != nil {
						return err
					}
					continue
				}
				if err := tx.Put(ctx, deliveredIndexBucket, markIndexKey(at, kv.Key), nil); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("bus: index delivered marks: %w", err)
		}
		if len(kvs) < markBatch {
			break
		}
		after = kvs[len(kvs)-1].Key
	}
	return s.opts.Store.Update(ctx, func(tx store.Tx) error {
		return tx.Put(ctx, marksMetaBucket, marksIndexedKey, []byte(now.UTC().Format(time.RFC3339)))
	})
}

func listBucket(ctx context.Context, st store.Store, bucket, after string) ([]store.KV, error) {
	var kvs []store.KV
	err := st.View(ctx, func(tx store.ReadTx) error {
		var err error
		kvs, err = tx.List(ctx, bucket, "", after, markBatch)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("bus: list %s: %w", bucket, err)
	}
	return kvs, nil
}
