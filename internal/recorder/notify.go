package recorder

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"time"

	"github.com/bannin/bannin/internal/awserr"
	"github.com/bannin/bannin/internal/store"
)

// notifiedBucket marks the items whose change notification was sent, so that a batch
// handled twice does not notify twice.
const notifiedBucket = "config.notified"

// Message types of AWS Config's notifications.
const (
	MessageItemChange        = "ConfigurationItemChangeNotification"
	MessageCompliance        = "ComplianceChangeNotification"
	MessageSnapshotCompleted = "ConfigurationSnapshotDeliveryCompleted"
	MessageSnapshotStarted   = "ConfigurationSnapshotDeliveryStarted"
	MessageSnapshotFailed    = "ConfigurationSnapshotDeliveryFailed"
	MessageHistoryCompleted  = "ConfigurationHistoryDeliveryCompleted"
	MessageRulesEvalStarted  = "ConfigRulesEvaluationStarted"
)

// detailTypes are the EventBridge detail-types of the message types, as "Amazon
// EventBridge events for AWS Config" names them.
var detailTypes = map[string]string{
	MessageItemChange: "Config Configuration Item Change",
	"OversizedConfigurationItemChangeNotification": "Config Configuration Item Change",
	MessageCompliance:        "Config Rules Compliance Change",
	MessageSnapshotCompleted: "Config Configuration Snapshot Delivery Status",
	MessageSnapshotStarted:   "Config Configuration Snapshot Delivery Status",
	MessageSnapshotFailed:    "Config Configuration Snapshot Delivery Status",
	MessageHistoryCompleted:  "Config Configuration History Delivery Status",
	MessageRulesEvalStarted:  "Config Rules Re-evaluation Status",
}

// Notify sends one of AWS Config's notifications (messageType such as
// "ComplianceChangeNotification") through the account's delivery channel (its SNS topic)
// and as an event on the default bus, in tx. notification is the message body (a
// struct or map marshalled to a JSON object); its messageType is set when missing. A
// json.RawMessage is taken as the encoded message as it is: it must be a JSON object that
// has its messageType (no re-encoding, for callers that send many).
// Failures of SNS or EventBridge are logged, not returned: a notification that cannot be
// sent must not undo the change it reports.
func (s *Service) Notify(ctx context.Context, tx store.Tx, account, region, messageType string, notification any) error {
	var body []byte
	var msg map[string]any // decoded only when the subject or resources need it
	switch n := notification.(type) {
	case json.RawMessage:
		body = n
		if messageType == MessageItemChange {
			if err := json.Unmarshal(body, &msg); err != nil {
				return fmt.Errorf("recorder: %s is not a JSON object: %w", messageType, err)
			}
		}
	case *itemChangeNotification:
		if n.Item == nil || n.Diff == nil {
			return fmt.Errorf("recorder: %s without its item or diff", messageType)
		}
		b, err := json.Marshal(n)
		if err != nil {
			return fmt.Errorf("recorder: encode %s: %w", messageType, err)
		}
		body = b
		msg = map[string]any{"configurationItemDiff": map[string]any{"changeType": n.Diff.ChangeType},
			"configurationItem": map[string]any{"resourceType": n.Item.ResourceType, "resourceId": n.Item.ResourceID, "ARN": n.Item.ARN}}
	default:
		b, err := json.Marshal(notification)
		if err != nil {
			return fmt.Errorf("recorder: encode %s: %w", messageType, err)
		}
		body = b
		if err := json.Unmarshal(body, &msg); err != nil {
			return fmt.Errorf("recorder: %s is not a JSON object: %w", messageType, err)
		}
		if _, ok := msg["messageType"]; !ok {
			msg["messageType"] = messageType
			if body, err = json.Marshal(msg); err != nil {
				return fmt.Errorf("recorder: encode %s: %w", messageType, err)
			}
		}
	}
	ch, err := s.notifyChannel(ctx, tx, account, region)
	if err != nil {
		return err
	}
	if ch != nil && ch.Channel.SnsTopicARN != nil && *ch.Channel.SnsTopicARN != "" && s.opts.Publish != nil {
		subject := subjectOf(region, account, messageType, msg)
		_, perr := s.opts.Publish(ctx, tx, *ch.Channel.SnsTopicARN, subject, string(body))
		if _, aws := awserr.As(perr); perr != nil && !aws {
			return perr // the store failed: nothing of this notification may commit half-written
		}
		if perr != nil {
			s.opts.Logger.Warn("recorder: publish notification", "type", messageType, "topic", *ch.Channel.SnsTopicARN, "err", perr)
		}
		ch.Stream.record(s.opts.Clock().UTC(), perr)
		if err := saveChannel(ctx, tx, account, region, ch); err != nil {
			return err
		}
	}
	if s.opts.EmitEvent != nil {
		dt := detailTypes[messageType]
		if dt == "" {
			dt = "Config Configuration Item Change"
		}
		if err := s.opts.EmitEvent(ctx, tx, account, region, "aws.config", dt, resourcesOf(msg), body); err != nil {
			if _, aws := awserr.As(err); !aws {
				return err
			}
			s.opts.Logger.Warn("recorder: emit event", "type", messageType, "err", err)
		}
	}
	return nil
}

// channelCacheKey is the context key of a channelCache.
type channelCacheKey struct{}

// channelCache holds the delivery channels Notify read under one WithChannelCache context.
type channelCache map[string]*channelState // account|region -> channel (nil: none)

// WithChannelCache returns a context under which Notify reads each account and region's
// delivery channel once instead of once per notification (it still writes the channel's
// delivery status back after each SNS delivery). Use it for a run of notifications inside
// one transaction that changes the delivery channel in no other way, and only there.
func WithChannelCache(ctx context.Context) context.Context {
	return context.WithValue(ctx, channelCacheKey{}, channelCache{})
}

// notifyChannel is the delivery channel Notify sends through (cached under WithChannelCache).
func (s *Service) notifyChannel(ctx context.Context, tx store.Tx, account, region string) (*channelState, error) {
	cache, _ := ctx.Value(channelCacheKey{}).(channelCache)
	if cache == nil {
		return loadChannel(ctx, tx, account, region)
	}
	k := account + sep + region
	if ch, ok := cache[k]; ok {
		return ch, nil
	}
	ch, err := loadChannel(ctx, tx, account, region)
	if err != nil {
		return nil, err
	}
	cache[k] = ch
	return ch, nil
}

// subjectOf is the SNS subject AWS Config gives a notification.
func subjectOf(region, account, messageType string, msg map[string]any) string {
	prefix := "[AWS Config:" + region + "] "
	switch messageType {
	case MessageItemChange:
		ci, _ := msg["configurationItem"].(map[string]any)
		diff, _ := msg["configurationItemDiff"].(map[string]any)
		verb := "Changed"
		switch diff["changeType"] {
		case "CREATE":
			verb = "Created"
		case "DELETE":
			verb = "Deleted"
		}
		return fmt.Sprintf("%s%v %v %s in Account %s", prefix, ci["resourceType"], ci["resourceId"], verb, account)
	case MessageCompliance:
		return fmt.Sprintf("%sConfig Rules Compliance Change in Account %s", prefix, account)
	case MessageSnapshotCompleted:
		return prefix + "Configuration Snapshot Delivery Completed for Account " + account
	case MessageHistoryCompleted:
		return prefix + "Configuration History Delivery Completed for Account " + account
	}
	return prefix + messageType + " for Account " + account
}

// resourcesOf returns the ARN of the item a notification is about, for the event's resources.
func resourcesOf(msg map[string]any) []string {
	if ci, ok := msg["configurationItem"].(map[string]any); ok {
		if arn, _ := ci["ARN"].(string); arn != "" {
			return []string{arn}
		}
	}
	return nil
}

// itemChangeNotification is the ConfigurationItemChangeNotification message.
type itemChangeNotification struct {
	Diff          *itemDiff `json:"configurationItemDiff"`
	Item          *Item     `json:"configurationItem"`
	CreationTime  string    `json:"notificationCreationTime"`
	MessageType   string    `json:"messageType"`
	RecordVersion string    `json:"recordVersion"`
}

type itemDiff struct {
	ChangedProperties map[string]propertyChange `json:"changedProperties"`
	ChangeType        string                    `json:"changeType"`
}

type propertyChange struct {
	PreviousValue any    `json:"previousValue,omitempty"`
	UpdatedValue  any    `json:"updatedValue,omitempty"`
	ChangeType    string `json:"changeType"`
}

// handleItems sends the change notification of each new configuration item.
func (s *Service) handleItems(ctx context.Context, entries []store.Entry) error {
	st, err := s.storeOrErr()
	if err != nil {
		return err
	}
	return st.Update(ctx, func(tx store.Tx) error {
		for _, e := range entries {
			var it Item
			if err := json.Unmarshal(e.Payload, &it); err != nil {
				s.opts.Logger.Error("recorder: undecodable item", "seq", e.Seq, "err", err)
				continue
			}
			mark := it.AccountID + sep + it.Region + sep + it.StateID
			done, err := tx.Get(ctx, notifiedBucket, mark)
			if err != nil {
				return err
			}
			if done != nil {
				continue
			}
			prev, err := previousItem(ctx, tx, &it)
			if err != nil {
				return err
			}
			n := &itemChangeNotification{Diff: diffItems(prev, &it), Item: &it,
				CreationTime: s.opts.Clock().UTC().Format("2006-01-02T15:04:05.000Z"),
				MessageType:  MessageItemChange, RecordVersion: itemVersion}
			if err := s.Notify(ctx, tx, it.AccountID, it.Region, MessageItemChange, n); err != nil {
				return err
			}
			if err := tx.Put(ctx, notifiedBucket, mark, []byte(time.Now().UTC().Format(time.RFC3339))); err != nil {
				return err
			}
		}
		return nil
	})
}

// previousItem returns the item recorded before it for the same resource, or nil.
func previousItem(ctx context.Context, tx store.ReadTx, it *Item) (*Item, error) {
	hs, err := history(ctx, tx, it.AccountID, it.Region, it.ResourceType, it.ResourceID)
	if err != nil {
		return nil, err
	}
	for i, h := range hs {
		if h.Item.StateID == it.StateID {
			if i == 0 {
				return nil, nil
			}
			return hs[i-1].Item, nil
		}
	}
	return nil, nil
}

// diffItems is the configurationItemDiff between two versions of a resource.
func diffItems(prev, cur *Item) *itemDiff {
	d := &itemDiff{ChangedProperties: map[string]propertyChange{}}
	switch {
	case isDeleted(cur.Status):
		d.ChangeType = "DELETE"
	case prev == nil || isDeleted(prev.Status):
		d.ChangeType = "CREATE"
		return d
	default:
		d.ChangeType = "UPDATE"
	}
	if prev == nil {
		return d
	}
	var pc, cc map[string]any
	_ = json.Unmarshal(prev.Configuration, &pc)
	_ = json.Unmarshal(cur.Configuration, &cc)
	diffMaps(d.ChangedProperties, "Configuration.", pc, cc)
	ps, cs := map[string]any{}, map[string]any{}
	for k, v := range prev.Supplementary {
		var x any
		_ = json.Unmarshal(v, &x)
		ps[k] = x
	}
	for k, v := range cur.Supplementary {
		var x any
		_ = json.Unmarshal(v, &x)
		cs[k] = x
	}
	diffMaps(d.ChangedProperties, "SupplementaryConfiguration.", ps, cs)
	pt, ct := map[string]any{}, map[string]any{}
	for k, v := range prev.Tags {
		pt[k] = v
	}
	for k, v := range cur.Tags {
		ct[k] = v
	}
	diffMaps(d.ChangedProperties, "Tags.", pt, ct)
	return d
}

func diffMaps(out map[string]propertyChange, prefix string, a, b map[string]any) {
	keys := map[string]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	sorted := make([]string, 0, len(keys))
	for k := range keys {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	for _, k := range sorted {
		av, inA := a[k]
		bv, inB := b[k]
		switch {
		case inA && !inB:
			out[prefix+k] = propertyChange{PreviousValue: av, ChangeType: "DELETE"}
		case !inA && inB:
			out[prefix+k] = propertyChange{UpdatedValue: bv, ChangeType: "CREATE"}
		case !reflect.DeepEqual(av, bv):
			out[prefix+k] = propertyChange{PreviousValue: av, UpdatedValue: bv, ChangeType: "UPDATE"}
		}
	}
}
