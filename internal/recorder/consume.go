package recorder

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/bannin/bannin/internal/store"
	"github.com/bannin/bannin/internal/stream"
)

// Stream entry kinds the recorder appends for its own consumers.
const (
	// kindDiscover asks for a discovery of an account and region (scope JSON): recording
	// just started, so every live resource of a recorded type gets an item.
	kindDiscover = "config.discover"
	// kindSnapshot asks for a snapshot file to be delivered (snapshotRequest JSON).
	kindSnapshot = "config.snapshot"
)

// homeRegion is where global resources stored without a region are recorded.
const homeRegion = "us-east-1"

// scope is an account and region.
type scope struct {
	Account string `json:"account"`
	Region  string `json:"region"`
	// Daily marks the daily recording of a discovery: changes of DAILY types held back
	// since their last item are recorded now.
	Daily bool `json:"daily,omitempty"`
}

// Consumers are the recorder's stream consumers: items from resource changes and
// discoveries, notifications of new items, and snapshot and history file delivery. (The
// compliance service, which embeds this one, defines its own Consumers, so the server finds
// these once, on the recorder.)
func (s *Service) Consumers() []stream.Consumer {
	return []stream.Consumer{
		{Name: "config.recorder", Kinds: []string{store.KindResource, kindDiscover}, Handle: s.handleChanges},
		{Name: "config.notify", Kinds: []string{KindItem}, Handle: s.handleItems},
		{Name: "config.snapshot", Kinds: []string{kindSnapshot}, Handle: s.handleSnapshots, Batch: 1},
		{Name: "config.history", Kinds: []string{kindHistoryFiles}, Handle: s.handleHistoryFiles, Batch: 1},
	}
}

func (s *Service) storeOrErr() (store.Store, error) {
	if s.opts.Store == nil {
		return nil, errors.New("recorder: no store configured")
	}
	return s.opts.Store, nil
}

// handleChanges records the items of a batch of resource changes and discoveries in one
// transaction.
func (s *Service) handleChanges(ctx context.Context, entries []store.Entry) error {
	st, err := s.storeOrErr()
	if err != nil {
		return err
	}
	// Most changes happen where no recorder records: then nothing is decoded, and the
	// writer is not asked for a turn.
	if any, err := anyRecording(ctx, st); err != nil || !any {
		return err
	}
	// Decode before the transaction: the store's writer is serial and every write waits
	// for it, whereas this runs on the consumer's own goroutine.
	type change struct {
		seq  int64
		time time.Time
		disc bool
		sc   scope
		c    store.ResourceChange
	}
	changes := make([]change, 0, len(entries))
	for _, e := range entries {
		switch e.Kind {
		case store.KindResource:
			ch := change{}
			if err := json.Unmarshal(e.Payload, &ch.c); err != nil {
				s.opts.Logger.Error("recorder: undecodable resource change", "seq", e.Seq, "err", err)
				continue
			}
			ch.sc = scope{Account: ch.c.Account, Region: ch.c.Region}
			if isGlobal(ch.c.Type) && (ch.c.Region == "" || ch.c.Region == "global" || ch.c.Region == "aws-global") {
				ch.sc.Region = homeRegion
				ch.c.Region = homeRegion
			}
			changes = append(changes, ch)
		case kindDiscover:
			ch := change{time: e.Time, disc: true}
			if err := json.Unmarshal(e.Payload, &ch.sc); err != nil {
				s.opts.Logger.Error("recorder: undecodable discovery", "seq", e.Seq, "err", err)
				continue
			}
			changes = append(changes, ch)
		}
	}
	if len(changes) == 0 {
		return nil
	}
	return st.Update(ctx, func(tx store.Tx) error {
		recs := map[scope]*recorderState{}
		get := func(sc scope) (*recorderState, error) {
			if r, ok := recs[sc]; ok {
				return r, nil
			}
			r, err := loadRecorder(ctx, tx, sc.Account, sc.Region)
			recs[sc] = r
			return r, err
		}
		for i := range changes {
			ch := &changes[i]
			if ch.disc {
				r, err := get(scope{Account: ch.sc.Account, Region: ch.sc.Region})
				if err != nil {
					return err
				}
				if r == nil || !r.Recording {
					continue
				}
				if err := s.discover(ctx, tx, r, ch.sc, ch.time); err != nil {
					return err
				}
				continue
			}
			r, err := get(ch.sc)
			if err != nil {
				return err
			}
			if r == nil || !r.Recording || !r.records(ch.c.Type) {
				continue
			}
			if err := s.recordChange(ctx, tx, r, &ch.c, false); err != nil {
				return err
			}
		}
		return nil
	})
}

// anyRecording reports whether a configuration recorder is recording in any account and
// region (or there are too many recorders to tell quickly).
func anyRecording(ctx context.Context, st store.Store) (bool, error) {
	const most = 500
	found := false
	err := st.View(ctx, func(tx store.ReadTx) error {
		kvs, err := tx.List(ctx, recordersBucket, "", "", most)
		if err != nil {
			return fmt.Errorf("recorder: list recorders: %w", err)
		}
		found = len(kvs) == most
		for _, kv := range kvs {
			var r struct {
				Recording bool `json:"recording"`
			}
			if err := json.Unmarshal(kv.Value, &r); err != nil {
				return fmt.Errorf("recorder: decode recorder: %w", err)
			}
			found = found || r.Recording
		}
		return nil
	})
	return found, err
}

// versionAt returns the version of a resource current at a moment, or nil if it did not
// exist then.
func versionAt(ctx context.Context, tx store.ReadTx, res *store.Resource, at time.Time) (*store.ResourceChange, error) {
	vs, _, err := tx.ResourceHistory(ctx, store.HistoryQuery{Account: res.Account, Region: res.Region, Type: res.Type,
		ID: res.ID, Later: at, Limit: 1})
	if err != nil {
		return nil, fmt.Errorf("recorder: discover %s: %w", res.ID, err)
	}
	if len(vs) == 0 || vs[0].Status == store.StatusDeleted {
		return nil, nil
	}
	return vs[0], nil
}

// recordChange writes the item of one resource version unless that version (or a later
// one) is already recorded. A change of a type recorded DAILY to a resource whose last
// item is less than a day old waits for the daily recording (daily set), as AWS Config
// records such types at most once a day.
func (s *Service) recordChange(ctx context.Context, tx store.Tx, r *recorderState, c *store.ResourceChange, daily bool) error {
	prev, err := currentRecord(ctx, tx, c.Account, c.Region, c.Type, c.ID)
	if err != nil {
		return err
	}
	if prev != nil && prev.ResourceVersion >= c.Version {
		return nil
	}
	if !daily && c.Status != store.StatusDeleted && r.frequency(c.Type) == "DAILY" && prev != nil &&
		!isDeleted(prev.Item.Status) && c.Updated.Sub(prev.Item.CaptureTime) < 24*time.Hour {
		return nil
	}
	status := c.Status
	switch {
	case status == store.StatusDeleted:
		if prev == nil || isDeleted(prev.Item.Status) {
			return nil // never recorded alive: nothing to say
		}
	case prev == nil || isDeleted(prev.Item.Status):
		status = store.StatusDiscovered
	default:
		status = store.StatusOK
	}
	stateID, err := nextStateID(ctx, tx, c.Account, c.Region, c.Updated.UnixMilli())
	if err != nil {
		return fmt.Errorf("recorder: state id: %w", err)
	}
	it, err := buildItem(c, status, stateID, r.frequency(c.Type))
	if err != nil {
		s.opts.Logger.Error("recorder: cannot make configuration item", "type", c.Type, "id", c.ID, "err", err)
		return nil
	}
	if err := addSchemaVersion(ctx, tx, it, c.Version); err != nil {
		return err
	}
	return saveItem(ctx, tx, prev, it, c.Version)
}

// discover records every live resource of a recorded type in the scope whose current
// version has no item yet, and the deletion of recorded resources that are gone.
func (s *Service) discover(ctx context.Context, tx store.Tx, r *recorderState, sc scope, at time.Time) error {
	regions := []string{sc.Region}
	if sc.Region == homeRegion {
		regions = append(regions, "", "global", "aws-global")
	}
	now := s.opts.Clock().UTC()
	for _, region := range regions {
		after := ""
		for {
			rs, next, err := tx.ListResources(ctx, store.ResourceQuery{Account: sc.Account, Region: region, After: after, Limit: 500})
			if err != nil {
				return fmt.Errorf("recorder: discover: %w", err)
			}
			for _, res := range rs {
				if region != sc.Region && !isGlobal(res.Type) {
					continue
				}
				if !r.records(res.Type) {
					continue
				}
				c := &store.ResourceChange{Resource: *res, Status: store.StatusOK}
				if res.Updated.After(at) {
					// Changed since recording started: record the version of that moment; the
					// later versions come with their own change entries, after this one.
					old, err := versionAt(ctx, tx, res, at)
					if err != nil {
						return err
					}
					if old == nil {
						continue
					}
					c.Resource = old.Resource
				}
				c.Region = sc.Region
				c.Updated = now
				if err := s.recordChange(ctx, tx, r, c, sc.Daily); err != nil {
					return err
				}
			}
			if next == "" {
				break
			}
			after = next
		}
	}
	// Resources deleted while the recorder was stopped.
	var gone []*record
	err := scanCurrent(ctx, tx, sc.Account, sc.Region, "", func(_ string, raw []byte) (bool, error) {
		var rec record
		if err := json.Unmarshal(raw, &rec); err != nil {
			return false, fmt.Errorf("recorder: decode item: %w", err)
		}
		if rec.Item == nil || isDeleted(rec.Item.Status) || !r.records(rec.Item.ResourceType) {
			return true, nil
		}
		gone = append(gone, &rec)
		return true, nil
	})
	if err != nil {
		return err
	}
	for _, rec := range gone {
		it := rec.Item
		region := it.Region
		res, err := tx.GetResource(ctx, it.AccountID, region, it.ResourceType, it.ResourceID)
		if err != nil {
			return fmt.Errorf("recorder: discover: %w", err)
		}
		if res == nil && isGlobal(it.ResourceType) {
			for _, alt := range []string{"", "global", "aws-global"} {
				if res, err = tx.GetResource(ctx, it.AccountID, alt, it.ResourceType, it.ResourceID); err != nil || res != nil {
					break
				}
			}
			if err != nil {
				return fmt.Errorf("recorder: discover: %w", err)
			}
		}
		if res != nil {
			continue
		}
		c := &store.ResourceChange{Status: store.StatusDeleted, Resource: store.Resource{Account: it.AccountID, Region: it.Region,
			Type: it.ResourceType, ID: it.ResourceID, ARN: it.ARN, Name: it.ResourceName, Version: rec.ResourceVersion + 1, Updated: now}}
		if it.ResourceCreationTime != nil {
			c.Created = *it.ResourceCreationTime
		}
		if err := s.recordChange(ctx, tx, r, c, sc.Daily); err != nil {
			return err
		}
	}
	return nil
}
