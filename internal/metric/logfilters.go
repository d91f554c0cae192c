package metric

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/bannin/bannin/internal/logs"
	"github.com/bannin/bannin/internal/store"
	"github.com/bannin/bannin/internal/stream"
)

// logFiltersPos is the metric.state key holding the Seq of the last logs.KindPut entry
// whose datapoints are stored. It is written in the same transaction as the datapoints,
// so a replayed entry (the stream is at-least-once) is recognised and not counted twice.
const logFiltersPos = "logfilters.pos"

// Consumers returns the stream consumer that turns log events into metric filter
// datapoints.
func (s *Service) Consumers() []stream.Consumer {
	return []stream.Consumer{{Name: "metric.logfilters", Kinds: []string{logs.KindPut}, Handle: s.handleLogPuts}}
}

// handleLogPuts applies the metric filters of each announced batch's log group to its
// events and stores the datapoints, timestamped as the log events are.
func (s *Service) handleLogPuts(ctx context.Context, entries []store.Entry) error {
	if s.opts.Store == nil {
		return errors.New("metric: log filters: no store configured")
	}
	return s.opts.Store.Update(ctx, func(tx store.Tx) error {
		raw, err := tx.Get(ctx, bucketState, logFiltersPos)
		if err != nil {
			return fmt.Errorf("metric: log filters: %w", err)
		}
		var pos int64
		if raw != nil {
			pos, _ = strconv.ParseInt(string(raw), 10, 64)
		}
		last := pos
		for _, e := range entries {
			if e.Seq <= pos {
				continue
			}
			last = max(last, e.Seq)
			var n logs.PutNotice
			if err := json.Unmarshal(e.Payload, &n); err != nil {
				s.opts.Logger.Error("metric: log filters: bad notice", "seq", e.Seq, "err", err)
				continue
			}
			if err := s.applyFilters(ctx, tx, n); err != nil {
				return err
			}
		}
		if last == pos {
			return nil
		}
		return tx.Put(ctx, bucketState, logFiltersPos, []byte(strconv.FormatInt(last, 10)))
	})
}

func (s *Service) applyFilters(ctx context.Context, tx store.Tx, n logs.PutNotice) error {
	filters, err := logs.MetricFilters(ctx, tx, n.Account, n.Region, n.Group)
	if err != nil || len(filters) == 0 {
		return err
	}
	events, err := logs.NoticeEvents(ctx, tx, n)
	if err != nil {
		return err
	}
	var data []Datum
	for _, f := range filters {
		for _, ev := range events {
			dp, ok, err := f.Apply(ev.Message)
			if err != nil {
				s.opts.Logger.Warn("metric: metric filter cannot be applied", "group", n.Group, "filter", f.FilterName, "err", err)
				break
			}
			if !ok {
				continue
			}
			v := dp.Value
			data = append(data, Datum{MetricID: MetricID{Namespace: dp.Namespace, MetricName: dp.MetricName, Dimensions: dp.Dimensions},
				Timestamp: time.UnixMilli(ev.Timestamp).UTC(), Value: &v, Unit: dp.Unit, HighResolution: true})
		}
	}
	return s.PutData(ctx, tx, n.Account, n.Region, data)
}
