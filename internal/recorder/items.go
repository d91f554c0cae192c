package recorder

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/bannin/bannin/internal/store"
)

// Buckets of the store's key-value space that hold configuration items.
const (
	// historyBucket holds every configuration item, keyed by resource and resource
	// version, so that recording one version twice (at-least-once delivery) is a no-op.
	historyBucket = "config.history"
	// currentBucket holds each resource's latest configuration item (deleted ones too),
	// keyed account, region, type, id: the inventory and what advanced queries read.
	currentBucket = "config.current"
	// indexBucket holds the secondary keys of live current items (resource id, name, tag
	// keys and key=value pairs) for advanced queries; values are empty.
	indexBucket = "config.index"
	// stateBucket holds the last configurationStateId issued per account and region.
	stateBucket = "config.state"
)

// sep separates the parts of keys; it cannot appear in names AWS accepts.
const sep = "\x1f"

// record is a stored configuration item with the store version of the resource it
// describes.
type record struct {
	ResourceVersion int64 `json:"resourceVersion"`
	Item            *Item `json:"item"`
}

func scopeKey(account, region string) string { return account + sep + region + sep }

func resourceKey(account, region, typ, id string) string {
	return account + sep + region + sep + typ + sep + id
}

func historyKey(account, region, typ, id string, version int64) string {
	return resourceKey(account, region, typ, id) + sep + fmt.Sprintf("%020d", version)
}

// indexEntries returns the index keys of a live item (none for a deleted one).
func indexEntries(it *Item) []string {
	if isDeleted(it.Status) {
		return nil
	}
	tail := sep + it.ResourceType + sep + it.ResourceID
	base := scopeKey(it.AccountID, it.Region)
	keys := []string{base + "resourceId" + sep + it.ResourceID + tail}
	if it.ResourceName != "" {
		keys = append(keys, base+"resourceName"+sep+it.ResourceName+tail)
	}
	for k, v := range it.Tags {
		keys = append(keys, base+"tags.key"+sep+k+tail, base+"tags.tag"+sep+k+"="+v+tail)
	}
	return keys
}

func isDeleted(status string) bool {
	return status == store.StatusDeleted || status == "ResourceDeletedNotRecorded"
}

// currentRecord returns the stored latest item of a resource, or nil.
func currentRecord(ctx context.Context, tx store.ReadTx, account, region, typ, id string) (*record, error) {
	b, err := tx.Get(ctx, currentBucket, resourceKey(account, region, typ, id))
	if err != nil || b == nil {
		return nil, err
	}
	var r record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("recorder: decode item of %s %s: %w", typ, id, err)
	}
	return &r, nil
}

// nextStateID issues the next configurationStateId of an account and region: increasing,
// and like AWS's, near the capture time in epoch milliseconds.
func nextStateID(ctx context.Context, tx store.Tx, account, region string, nowMilli int64) (string, error) {
	key := account + sep + region
	b, err := tx.Get(ctx, stateBucket, key)
	if err != nil {
		return "", err
	}
	last, _ := strconv.ParseInt(string(b), 10, 64)
	next := max(last+1, nowMilli)
	if err := tx.Put(ctx, stateBucket, key, []byte(strconv.FormatInt(next, 10))); err != nil {
		return "", err
	}
	return strconv.FormatInt(next, 10), nil
}

// saveItem stores it as version `version` of its resource, replacing the current item and
// its index entries, marks it pending for the next history file, and announces it with a
// KindItem stream entry.
func saveItem(ctx context.Context, tx store.Tx, prev *record, it *Item, version int64) error {
	body, err := json.Marshal(it)
	if err != nil {
		return fmt.Errorf("recorder: encode item: %w", err)
	}
	rec, err := json.Marshal(record{ResourceVersion: version, Item: it})
	if err != nil {
		return fmt.Errorf("recorder: encode item: %w", err)
	}
	if err := tx.Put(ctx, historyBucket, historyKey(it.AccountID, it.Region, it.ResourceType, it.ResourceID, version), rec); err != nil {
		return fmt.Errorf("recorder: save item: %w", err)
	}
	if err := tx.Put(ctx, currentBucket, resourceKey(it.AccountID, it.Region, it.ResourceType, it.ResourceID), rec); err != nil {
		return fmt.Errorf("recorder: save item: %w", err)
	}
	if prev != nil {
		for _, k := range indexEntries(prev.Item) {
			if err := tx.Delete(ctx, indexBucket, k); err != nil {
				return fmt.Errorf("recorder: save item index: %w", err)
			}
		}
	}
	for _, k := range indexEntries(it) {
		if err := tx.Put(ctx, indexBucket, k, nil); err != nil {
			return fmt.Errorf("recorder: save item index: %w", err)
		}
	}
	hk := historyKey(it.AccountID, it.Region, it.ResourceType, it.ResourceID, version)
	if err := tx.Put(ctx, pendingBucket, pendingKey(it), []byte(hk)); err != nil {
		return fmt.Errorf("recorder: save pending item: %w", err)
	}
	if _, err := tx.Append(ctx, KindItem, body); err != nil {
		return fmt.Errorf("recorder: append item: %w", err)
	}
	return nil
}

// scanCurrent calls f with the current records of an account and region whose key starts
// with the given type ("" = any), in key order, until f returns false or an error.
func scanCurrent(ctx context.Context, tx store.ReadTx, account, region, typ string, f func(key string, raw []byte) (bool, error)) error {
	prefix := scopeKey(account, region)
	if typ != "" {
		prefix += typ + sep
	}
	after := ""
	for {
		kvs, err := tx.List(ctx, currentBucket, prefix, after, 500)
		if err != nil {
			return fmt.Errorf("recorder: list items: %w", err)
		}
		for _, kv := range kvs {
			more, err := f(kv.Key, kv.Value)
			if err != nil || !more {
				return err
			}
		}
		if len(kvs) < 500 {
			return nil
		}
		after = kvs[len(kvs)-1].Key
	}
}

// CurrentItems returns the latest configuration items of the live recorded resources of an
// account and region whose type is one of types (none: every type). The items may be
// shared with other callers: they must not be changed.
func (s *Service) CurrentItems(ctx context.Context, tx store.ReadTx, account, region string, types []string) ([]*Item, error) {
	if len(types) == 0 {
		types = []string{""}
	}
	var out []*Item
	for _, typ := range types {
		err := scanCurrent(ctx, tx, account, region, typ, func(k string, raw []byte) (bool, error) {
			it, err := s.decodeCurrent(k, raw)
			if err != nil {
				return false, err
			}
			if it != nil && !isDeleted(it.Status) {
				out = append(out, it)
			}
			return true, nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// decodedItem is a current item decoded from raw.
type decodedItem struct {
	raw  string
	item *Item
}

// maxDecoded bounds the decoded items kept (about 5 KB each): past it, the cache starts over.
const maxDecoded = 200000

// decodeCurrent decodes a current-item record, reusing the item decoded last time when the
// stored bytes are the same.
func (s *Service) decodeCurrent(k string, raw []byte) (*Item, error) {
	s.decodedMu.Lock()
	d, ok := s.decoded[k]
	s.decodedMu.Unlock()
	if ok && d.raw == string(raw) {
		return d.item, nil
	}
	var r record
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, fmt.Errorf("recorder: decode item: %w", err)
	}
	s.decodedMu.Lock()
	if s.decoded == nil || len(s.decoded) >= maxDecoded {
		s.decoded = map[string]decodedItem{}
	}
	s.decoded[k] = decodedItem{raw: string(raw), item: r.Item}
	s.decodedMu.Unlock()
	return r.Item, nil
}

// history returns the stored versions of one resource, oldest first.
func history(ctx context.Context, tx store.ReadTx, account, region, typ, id string) ([]*record, error) {
	prefix := resourceKey(account, region, typ, id) + sep
	var out []*record
	after := ""
	for {
		kvs, err := tx.List(ctx, historyBucket, prefix, after, 500)
		if err != nil {
			return nil, fmt.Errorf("recorder: list history: %w", err)
		}
		for _, kv := range kvs {
			var r record
			if err := json.Unmarshal(kv.Value, &r); err != nil {
				return nil, fmt.Errorf("recorder: decode history: %w", err)
			}
			out = append(out, &r)
		}
		if len(kvs) < 500 {
			return out, nil
		}
		after = kvs[len(kvs)-1].Key
	}
}

// splitKey splits a current-item key into account, region, type, id.
func splitKey(k string) []string { return strings.SplitN(k, sep, 4) }
