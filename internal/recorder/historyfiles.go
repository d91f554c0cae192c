package recorder

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/bannin/bannin/internal/store"
)

// Configuration history files: AWS Config delivers, every six hours, one file per resource
// type that changed, holding the configuration items of that type recorded since the
// previous file.

const (
	// kindHistoryFiles asks for the history files of an account and region to be delivered
	// (historyRequest JSON); Run appends it every historyPeriod.
	kindHistoryFiles = "config.historyfiles"
	// pendingBucket holds the items recorded since the last history delivery, keyed
	// account, region, zero-padded configurationStateId; the value is the item's
	// historyBucket key.
	pendingBucket = "config.pending"
	// historyDeliveriesBucket marks handled history requests by id, so a redelivered
	// request is a no-op.
	historyDeliveriesBucket = "config.historydeliveries"
)

// historyPeriod is how often AWS Config delivers configuration history files.
const historyPeriod = 6 * time.Hour

// historyRequest is the payload of kindHistoryFiles entries.
type historyRequest struct {
	Account string    `json:"account"`
	Region  string    `json:"region"`
	ID      string    `json:"id"`
	Time    time.Time `json:"time"`
}

// historyFile is the content of a configuration history file.
type historyFile struct {
	FileVersion        string  `json:"fileVersion"`
	ConfigurationItems []*Item `json:"configurationItems"`
}

func pendingKey(it *Item) string {
	return scopeKey(it.AccountID, it.Region) + fmt.Sprintf("%020s", it.StateID)
}

// tickHistory requests a history delivery when historyPeriod has passed since the last
// one (or since the channel was first seen).
func tickHistory(ctx context.Context, tx store.Tx, account, region string, now time.Time) error {
	ch, err := loadChannel(ctx, tx, account, region)
	if err != nil || ch == nil || !historyDue(ch, now) {
		return err
	}
	if ch.LastHistory != nil {
		b, _ := json.Marshal(historyRequest{Account: account, Region: region, ID: newUUID(), Time: now})
		if _, err := tx.Append(ctx, kindHistoryFiles, b); err != nil {
			return fmt.Errorf("recorder: append history request: %w", err)
		}
	}
	ch.LastHistory = &now
	return saveChannel(ctx, tx, account, region, ch)
}

func historyDue(ch *channelState, now time.Time) bool {
	return ch.LastHistory == nil || now.Sub(*ch.LastHistory) >= historyPeriod
}

// historyFileKey is the object key of a history file, in AWS Config's layout:
// ..._ConfigHistory_TYPE_FIRSTCAPTURE_LASTCAPTURE_N.json.gz.
func historyFileKey(prefix string, req historyRequest, typ string, first, last time.Time, n int) string {
	t := req.Time.UTC()
	key := fmt.Sprintf("AWSLogs/%s/Config/%s/%d/%d/%d/ConfigHistory/%s_Config_%s_ConfigHistory_%s_%s_%s_%d.json.gz",
		req.Account, req.Region, t.Year(), int(t.Month()), t.Day(), req.Account, req.Region, typ,
		first.UTC().Format("20060102T150405Z"), last.UTC().Format("20060102T150405Z"), n)
	if prefix != "" {
		key = prefix + "/" + key
	}
	return key
}

// historyBatch is the pending items of one resource type.
type historyBatch struct {
	typ   string
	items []*Item
	keys  []string // their pendingBucket keys
}

// maxHistoryItems bounds the items read for one delivery; the rest wait for the next.
const maxHistoryItems = 10000

// handleHistoryFiles writes the history files of each request, one per resource type with
// pending items, outside any transaction; then it drops the delivered items from the
// pending set, records the outcome and notifies. Items whose file could not be written
// stay pending for the next delivery.
func (s *Service) handleHistoryFiles(ctx context.Context, entries []store.Entry) error {
	st, err := s.storeOrErr()
	if err != nil {
		return err
	}
	for _, e := range entries {
		var req historyRequest
		if err := json.Unmarshal(e.Payload, &req); err != nil {
			s.opts.Logger.Error("recorder: undecodable history request", "seq", e.Seq, "err", err)
			continue
		}
		var ch *channelState
		batches := map[string]*historyBatch{}
		var stale []string // pending keys whose item is gone or unreadable
		done := false
		err := st.View(ctx, func(tx store.ReadTx) error {
			mark, err := tx.Get(ctx, historyDeliveriesBucket, req.ID)
			if err != nil || mark != nil {
				done = mark != nil
				return err
			}
			if ch, err = loadChannel(ctx, tx, req.Account, req.Region); err != nil || ch == nil {
				return err
			}
			kvs, err := tx.List(ctx, pendingBucket, scopeKey(req.Account, req.Region), "", maxHistoryItems)
			if err != nil {
				return fmt.Errorf("recorder: list pending items: %w", err)
			}
			for _, kv := range kvs {
				raw, err := tx.Get(ctx, historyBucket, string(kv.Value))
				if err != nil {
					return fmt.Errorf("recorder: load pending item: %w", err)
				}
				var r record
				if raw == nil || json.Unmarshal(raw, &r) != nil || r.Item == nil {
					stale = append(stale, kv.Key)
					continue
				}
				b := batches[r.Item.ResourceType]
				if b == nil {
					b = &historyBatch{typ: r.Item.ResourceType}
					batches[b.typ] = b
				}
				b.items = append(b.items, r.Item)
				b.keys = append(b.keys, kv.Key)
			}
			return nil
		})
		if err != nil {
			return err
		}
		if done || ch == nil {
			continue
		}
		types := make([]string, 0, len(batches))
		for t := range batches {
			types = append(types, t)
		}
		sort.Strings(types)
		bucket := aws.ToString(ch.Channel.S3BucketName)
		var files []string
		drop := stale
		var lastErr error
		for _, typ := range types {
			b := batches[typ]
			sort.SliceStable(b.items, func(i, j int) bool { return b.items[i].CaptureTime.Before(b.items[j].CaptureTime) })
			key := historyFileKey(aws.ToString(ch.Channel.S3KeyPrefix), req, typ, b.items[0].CaptureTime, b.items[len(b.items)-1].CaptureTime, 1)
			putErr, err := s.putFile(ctx, req.Account, req.Region, bucket, key, historyFile{FileVersion: "1.0", ConfigurationItems: b.items})
			if err != nil {
				return err
			}
			if putErr != nil {
				s.opts.Logger.Warn("recorder: history delivery failed", "bucket", bucket, "key", key, "err", putErr)
				lastErr = putErr
				continue
			}
			files = append(files, key)
			drop = append(drop, b.keys...)
		}
		now := s.opts.Clock().UTC()
		err = st.Update(ctx, func(tx store.Tx) error {
			if err := tx.Put(ctx, historyDeliveriesBucket, req.ID, []byte(now.Format(time.RFC3339))); err != nil {
				return fmt.Errorf("recorder: mark history delivery: %w", err)
			}
			for _, k := range drop {
				if err := tx.Delete(ctx, pendingBucket, k); err != nil {
					return fmt.Errorf("recorder: drop delivered item: %w", err)
				}
			}
			if len(types) == 0 {
				return nil
			}
			cur, err := loadChannel(ctx, tx, req.Account, req.Region)
			if err != nil {
				return err
			}
			if cur != nil {
				cur.History.record(now, lastErr)
				if err := saveChannel(ctx, tx, req.Account, req.Region, cur); err != nil {
					return err
				}
			}
			for _, key := range files {
				msg := map[string]any{"s3ObjectKey": key, "s3Bucket": bucket, "notificationCreationTime": formatTime(now),
					"messageType": MessageHistoryCompleted, "recordVersion": "1.1"}
				if err := s.Notify(ctx, tx, req.Account, req.Region, MessageHistoryCompleted, msg); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// clearPending forgets the items waiting for a history delivery in an account and region
// (the delivery channel is gone).
func clearPending(ctx context.Context, tx store.Tx, account, region string) error {
	prefix := scopeKey(account, region)
	for {
		kvs, err := tx.List(ctx, pendingBucket, prefix, "", 500)
		if err != nil {
			return fmt.Errorf("recorder: list pending items: %w", err)
		}
		for _, kv := range kvs {
			if err := tx.Delete(ctx, pendingBucket, kv.Key); err != nil {
				return fmt.Errorf("recorder: clear pending items: %w", err)
			}
		}
		if len(kvs) < 500 {
			return nil
		}
	}
}
