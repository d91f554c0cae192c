package logs

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/bannin/bannin/internal/store"
)

// KindPut is the stream entry kind PutLogEvents appends when it stores events: a PutNotice
// as JSON, so that consumers (metric filters, subscription filters) learn of new events
// without polling. The notice names the events; it does not copy them.
const KindPut = "logs.put"

// PutNotice announces the events one PutLogEvents call stored in one stream.
type PutNotice struct {
	Account string `json:"account"`
	Region  string `json:"region"`
	Group   string `json:"logGroupName"`
	Stream  string `json:"logStreamName"`
	// First and Last are the key suffixes (eventId without the stream checksum) of the first
	// and last event stored (inclusive). Events of other calls may sort between them; the
	// batch's are those whose sequence numbers lie between First's and Last's.
	First string `json:"first"`
	Last  string `json:"last"`
	Count int    `json:"count"`
}

// Event is one stored log event, as consumers of PutNotice read it.
type Event struct {
	Timestamp     int64  // milliseconds since the epoch
	IngestionTime int64  // milliseconds since the epoch
	Message       string //
	ID            string // the eventId FilterLogEvents reports
}

// NoticeEvents returns the events a notice announces that are still stored (a stream or
// group deleted since has none), in the order they were put.
func NoticeEvents(ctx context.Context, tx store.ReadTx, n PutNotice) ([]Event, error) {
	prefix := streamKey(n.Account, n.Region, n.Group, n.Stream) + "\x00"
	if len(n.First) != suffixLen || len(n.Last) != suffixLen {
		return nil, fmt.Errorf("logs: notice events: malformed notice %+v", n)
	}
	// The call's events are in blocks of their own, keyed from First to Last by their first
	// event; blocks of other calls keyed in between have sequence numbers outside the call's.
	first, last := parseSuffix(n.First), parseSuffix(n.Last)
	var out []Event
	after := prefix + n.First[:16] // below First: keys are never a prefix of one another
	for {
		kvs, err := tx.List(ctx, bucketEvents, prefix, after, 16)
		if err != nil {
			return nil, fmt.Errorf("logs: notice events: %w", err)
		}
		for _, kv := range kvs {
			k := parseSuffix(kv.Key[len(prefix):])
			if last.less(k) {
				return out, nil
			}
			if k.less(first) || k.seq < first.seq || k.seq > last.seq {
				continue
			}
			err := decodeBlock(kv.Key, kv.Value, nil, func(e event) bool {
				if e.seq >= first.seq && e.seq <= last.seq {
					out = append(out, Event{Timestamp: e.ts, IngestionTime: e.ingestion, Message: e.message, ID: eventID(n.Stream, e.suffix())})
				}
				return true
			})
			if err != nil {
				return nil, fmt.Errorf("logs: notice events: %w", err)
			}
		}
		if len(kvs) < 16 {
			return out, nil
		}
		after = kvs[len(kvs)-1].Key
	}
}

func appendNotice(ctx context.Context, tx store.Tx, n PutNotice) error {
	b, err := json.Marshal(n)
	if err != nil {
		return fmt.Errorf("logs: encode notice: %w", err)
	}
	if _, err := tx.Append(ctx, KindPut, b); err != nil {
		return fmt.Errorf("logs: append notice: %w", err)
	}
	return nil
}
