package objects

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/bannin/bannin/internal/store"
)

// Sweep removes the bytes of deleted and replaced objects (and of aborted or unused parts)
// whose metadata has been gone for longer than the grace period, and returns how many blobs
// it removed. Handlers only queue blobs, in their transaction, because a handler's writes may
// still roll back after it returns.
func (s *Service) Sweep(ctx context.Context, st store.Store) (int, error) {
	cutoff := s.opts.Clock().Add(-s.opts.Grace)
	var due []string
	err := st.View(ctx, func(tx store.ReadTx) error {
		after := ""
		for {
			rows, err := tx.List(ctx, gcBucket, "", after, 1000)
			if err != nil {
				return err
			}
			for _, r := range rows {
				var t time.Time
				if err := json.Unmarshal(r.Value, &t); err != nil || !t.After(cutoff) {
					due = append(due, r.Key)
				}
			}
			if len(rows) < 1000 {
				return nil
			}
			after = rows[len(rows)-1].Key
		}
	})
	if err != nil {
		return 0, fmt.Errorf("objects: sweep: %w", err)
	}
	for _, id := range due {
		if err := s.blobs.Remove(id); err != nil {
			return 0, fmt.Errorf("objects: sweep: %w", err)
		}
	}
	removed := len(due)
	for len(due) > 0 {
		batch := due[:min(len(due), 500)]
		due = due[len(batch):]
		err := st.Update(ctx, func(tx store.Tx) error {
			for _, id := range batch {
				if err := tx.Delete(ctx, gcBucket, id); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return 0, fmt.Errorf("objects: sweep: %w", err)
		}
	}
	return removed, nil
}

// Run sweeps every interval, and delivers pending server access logs, until ctx ends. Log
// delivery is checked every second (the clock may be a test's), and it is due by the
// service's clock and Options.LogInterval.
func (s *Service) Run(ctx context.Context, st store.Store, interval time.Duration, log *slog.Logger) error {
	if log == nil {
		log = slog.Default()
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	logs := time.NewTicker(min(time.Second, s.opts.LogInterval))
	defer logs.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if _, err := s.Sweep(ctx, st); err != nil && ctx.Err() == nil {
				log.Error("objects: sweep", "err", err)
			}
		case <-logs.C:
			if _, err := s.deliverAccessLogs(ctx, st); err != nil && ctx.Err() == nil {
				log.Error("objects: access logs", "err", err)
			}
		}
	}
}
