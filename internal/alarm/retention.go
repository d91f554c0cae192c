package alarm

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/bannin/bannin/internal/store"
)

// historyRetention is how long alarm history is kept: "Amazon CloudWatch retains the
// history of active and deleted alarms for two weeks."
const historyRetention = 14 * 24 * time.Hour

// pruneEvery is how often Run drops history older than historyRetention.
const pruneEvery = time.Hour

// historyTime is when the history item under key was recorded (see history: the key ends
// with 16 hex digits of Unix nanoseconds and 4 of a sequence number).
func historyTime(key string) (time.Time, bool) {
	i := strings.LastIndexByte(key, 0)
	if i < 0 || len(key)-i-1 != 20 {
		return time.Time{}, false
	}
	ns, err := strconv.ParseUint(key[i+1:i+17], 16, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(0, int64(ns)), true
}

// pruneHistory deletes the history items of every alarm recorded before now minus
// historyRetention, a page of keys at a time, and reports how many it deleted.
func (s *Service) pruneHistory(ctx context.Context, now time.Time) (int, error) {
	cutoff := now.Add(-historyRetention)
	deleted, after := 0, ""
	for {
		var kvs []store.KV
		if err := s.opts.Store.View(ctx, func(tx store.ReadTx) error {
			var err error
			kvs, err = tx.List(ctx, bucketHistory, "", after, 1000)
			return err
		}); err != nil {
			return deleted, fmt.Errorf("alarm: list history: %w", err)
		}
		var expired []string
		for _, kv := range kvs {
			if at, ok := historyTime(kv.Key); ok && at.Before(cutoff) {
				expired = append(expired, kv.Key)
			}
		}
		if len(expired) > 0 {
			if err := s.opts.Store.Update(ctx, func(tx store.Tx) error {
				for _, k := range expired {
					if err := tx.Delete(ctx, bucketHistory, k); err != nil {
						return err
					}
				}
				return nil
			}); err != nil {
				return deleted, fmt.Errorf("alarm: drop old history: %w", err)
			}
			deleted += len(expired)
		}
		if len(kvs) < 1000 {
			return deleted, nil
		}
		after = kvs[len(kvs)-1].Key
	}
}
