package recorder

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/bannin/bannin/internal/store"
)

// tickEvery is how often Run looks at the clock for periodic work: often, because the
// clock may be a test's, which moves without waking anyone; a look that finds nothing
// due is a read-only transaction.
const tickEvery = time.Second

// snapshotPeriods are the delivery channel's deliveryFrequency values.
var snapshotPeriods = map[string]time.Duration{
	"One_Hour": time.Hour, "Three_Hours": 3 * time.Hour, "Six_Hours": 6 * time.Hour,
	"Twelve_Hours": 12 * time.Hour, "TwentyFour_Hours": 24 * time.Hour,
}

// Run does the recorder's periodic work until ctx is done: snapshots at the delivery
// channel's deliveryFrequency, history files every six hours and the daily recording of
// DAILY resource types.
func (s *Service) Run(ctx context.Context) error {
	if s.opts.Store == nil {
		return nil
	}
	t := time.NewTicker(tickEvery)
	defer t.Stop()
	for {
		if err := s.tick(ctx); err != nil && ctx.Err() == nil {
			s.opts.Logger.Error("recorder: periodic work", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// tick requests the snapshots, history files and daily recordings that are due: it
// finds the scopes with work due in a read transaction, then does it in one write.
func (s *Service) tick(ctx context.Context) error {
	now := s.opts.Clock().UTC()
	var due [][2]string
	err := s.opts.Store.View(ctx, func(tx store.ReadTx) error {
		after := ""
		for {
			kvs, err := tx.List(ctx, recordersBucket, "", after, 500)
			if err != nil {
				return fmt.Errorf("recorder: list recorders: %w", err)
			}
			for _, kv := range kvs {
				account, region, ok := strings.Cut(kv.Key, sep)
				if !ok {
					continue
				}
				var r recorderState
				if err := json.Unmarshal(kv.Value, &r); err != nil {
					return fmt.Errorf("recorder: decode recorder: %w", err)
				}
				if !r.Recording {
					continue
				}
				ch, err := loadChannel(ctx, tx, account, region)
				if err != nil {
					return err
				}
				if dailyDue(&r, now) || snapshotDue(ch, now) || ch != nil && historyDue(ch, now) {
					due = append(due, [2]string{account, region})
				}
			}
			if len(kvs) < 500 {
				return nil
			}
			after = kvs[len(kvs)-1].Key
		}
	})
	if err != nil || len(due) == 0 {
		return err
	}
	return s.opts.Store.Update(ctx, func(tx store.Tx) error {
		for _, sc := range due {
			if err := s.tickScope(ctx, tx, sc[0], sc[1], now); err != nil {
				return err
			}
		}
		return nil
	})
}

func dailyDue(r *recorderState, now time.Time) bool {
	return r.hasDaily() && (r.LastDaily == nil || now.Sub(*r.LastDaily) >= 24*time.Hour)
}

func snapshotDue(ch *channelState, now time.Time) bool {
	if ch == nil || ch.Channel.ConfigSnapshotDeliveryProperties == nil {
		return false
	}
	period := snapshotPeriods[aws.ToString(ch.Channel.ConfigSnapshotDeliveryProperties.DeliveryFrequency)]
	return period != 0 && (ch.LastPeriodic == nil || now.Sub(*ch.LastPeriodic) >= period)
}

func (s *Service) tickScope(ctx context.Context, tx store.Tx, account, region string, now time.Time) error {
	r, err := loadRecorder(ctx, tx, account, region)
	if err != nil || r == nil || !r.Recording {
		return err
	}
	if err := tickDaily(ctx, tx, r, account, region, now); err != nil {
		return err
	}
	if err := tickSnapshot(ctx, tx, account, region, now); err != nil {
		return err
	}
	return tickHistory(ctx, tx, account, region, now)
}

// tickDaily requests the daily recording of DAILY types once a day.
func tickDaily(ctx context.Context, tx store.Tx, r *recorderState, account, region string, now time.Time) error {
	if !dailyDue(r, now) {
		return nil
	}
	if r.LastDaily != nil {
		b, _ := json.Marshal(scope{Account: account, Region: region, Daily: true})
		if _, err := tx.Append(ctx, kindDiscover, b); err != nil {
			return fmt.Errorf("recorder: append daily recording: %w", err)
		}
	}
	r.LastDaily = &now
	return saveRecorder(ctx, tx, account, region, r)
}

// tickSnapshot requests a snapshot when the channel's deliveryFrequency has passed.
func tickSnapshot(ctx context.Context, tx store.Tx, account, region string, now time.Time) error {
	ch, err := loadChannel(ctx, tx, account, region)
	if err != nil || !snapshotDue(ch, now) {
		return err
	}
	if ch.LastPeriodic != nil {
		b, _ := json.Marshal(snapshotRequest{Account: account, Region: region, ID: newUUID(), Time: now})
		if _, err := tx.Append(ctx, kindSnapshot, b); err != nil {
			return fmt.Errorf("recorder: append snapshot request: %w", err)
		}
	}
	ch.LastPeriodic = &now
	return saveChannel(ctx, tx, account, region, ch)
}

// hasDaily reports whether any type is recorded DAILY.
func (st *recorderState) hasDaily() bool {
	m := st.Recorder.RecordingMode
	if m == nil {
		return false
	}
	if aws.ToString(m.RecordingFrequency) == "DAILY" {
		return true
	}
	for _, o := range m.RecordingModeOverrides {
		if aws.ToString(o.RecordingFrequency) == "DAILY" {
			return true
		}
	}
	return false
}
