package logs

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/bannin/bannin/internal/awserr"
	"github.com/bannin/bannin/internal/call"
	"github.com/bannin/bannin/internal/logs/filterpattern"
	"github.com/bannin/bannin/internal/store"
	wirelogs "github.com/bannin/bannin/internal/wire/logs"
)

// PutLogEvents limits, as documented.
const (
	maxBatchEvents   = 10000
	maxBatchBytes    = 1048576
	eventOverhead    = 26
	maxEventBytes    = 1048576 - eventOverhead
	maxBatchSpan     = 24 * time.Hour
	maxEventAge      = 14 * 24 * time.Hour
	maxEventFuture   = 2 * time.Hour
	defaultEventPage = 10000
	// maxPageBytes bounds the messages of one GetLogEvents or FilterLogEvents page.
	maxPageBytes = 1048576
	suffixLen    = 24 // 16-hex timestamp + 8-hex sequence
)

func isNotFound(err error) bool {
	c, ok := awserr.As(err)
	return ok && c.AWSErrorCode() == "ResourceNotFoundException"
}

// eventSuffix is an event's position as 16 hex digits of timestamp and 8 of sequence
// number: it orders events by time (block keys, eventId, tokens, notices).
func eventSuffix(ts int64, seq uint32) string {
	const digits = "0123456789abcdef"
	var b [suffixLen]byte
	v := uint64(ts)
	for i := 15; i >= 0; i-- {
		b[i] = digits[v&15]
		v >>= 4
	}
	w := seq
	for i := suffixLen - 1; i >= 16; i-- {
		b[i] = digits[w&15]
		w >>= 4
	}
	return string(b[:])
}

// suffixTime is the timestamp an event key suffix holds.
func suffixTime(suffix string) int64 {
	v, _ := strconv.ParseUint(suffix[:16], 16, 64)
	return int64(v)
}

// timeKey is a key below every event of ts and above every earlier one.
func timeKey(ts int64) string {
	if ts < 0 {
		ts = 0
	}
	return fmt.Sprintf("%016x", uint64(ts))
}

// event is one stored log event.
type event struct {
	ts        int64
	seq       uint32
	ingestion int64
	message   string
}

func (e event) pos() pos { return pos{ts: e.ts, seq: e.seq} }

// suffix is the event's position as a key suffix.
func (e event) suffix() string { return eventSuffix(e.ts, e.seq) }

// eventID is an event's eventId: its key suffix and a checksum of its stream's name.
func eventID(stream, suffix string) string {
	return fmt.Sprintf("%s%08x", suffix, crc32.ChecksumIEEE([]byte(stream)))
}

// retentionStart is the oldest timestamp a group still shows (0: no retention).
func retentionStart(g *Group, now time.Time) int64 {
	if g.RetentionInDays <= 0 {
		return 0
	}
	return ms(now.Add(-time.Duration(g.RetentionInDays) * 24 * time.Hour))
}

// PutLogEvents appends a batch of events to a log stream.
func (s *Service) PutLogEvents(ctx context.Context, in *wirelogs.PutLogEventsRequest) (*wirelogs.PutLogEventsResponse, error) {
	c := call.From(ctx)
	group, name := aws.ToString(in.LogGroupName), aws.ToString(in.LogStreamName)
	g, err := getGroup(ctx, c, group)
	if err != nil {
		return nil, err
	}
	st, err := getStream(ctx, c, group, name)
	if err != nil {
		return nil, err
	}
	evs := in.LogEvents
	if len(evs) == 0 {
		return nil, errf("InvalidParameterException", "1 validation error detected: Value '[]' at 'logEvents' failed to satisfy constraint: Member must have length greater than or equal to 1")
	}
	if len(evs) > maxBatchEvents {
		return nil, errf("InvalidParameterException", "1 validation error detected: Value at 'logEvents' failed to satisfy constraint: Member must have length less than or equal to %d", maxBatchEvents)
	}
	size := 0
	for i, e := range evs {
		n := len(aws.ToString(e.Message))
		if n == 0 {
			return nil, errf("InvalidParameterException", "Log event message at index %d must not be empty.", i)
		}
		if n > maxEventBytes {
			return nil, errf("InvalidParameterException", "Log event too large: %d bytes exceeds limit of %d", n, maxEventBytes)
		}
		size += n + eventOverhead
		if i > 0 && aws.ToInt64(e.Timestamp) < aws.ToInt64(evs[i-1].Timestamp) {
			return nil, errf("InvalidParameterException", "Log events in a single PutLogEvents request must be in chronological order.")
		}
	}
	if size > maxBatchBytes {
		return nil, errf("InvalidParameterException", "Upload too large: %d bytes exceeds limit of %d", size, maxBatchBytes)
	}

	now := ms(c.Time)
	tooOld := now - maxEventAge.Milliseconds()
	tooNew := now + maxEventFuture.Milliseconds()
	expired := retentionStart(g, c.Time)
	var rej wirelogs.RejectedLogEventsInfo
	rejected := false
	first, last := 0, len(evs) // accepted: evs[first:last]
	for i, e := range evs {
		ts := aws.ToInt64(e.Timestamp)
		// The end indexes are exclusive: one past the last event refused.
		if ts < tooOld {
			rej.TooOldLogEventEndIndex, rejected = aws.Int32(int32(i+1)), true
			first = max(first, i+1)
		}
		if expired > 0 && ts < expired {
			rej.ExpiredLogEventEndIndex, rejected = aws.Int32(int32(i+1)), true
			first = max(first, i+1)
		}
		if ts > tooNew && last == len(evs) {
			rej.TooNewLogEventStartIndex, rejected = aws.Int32(int32(i)), true
			last = i
		}
	}
	// The 24-hour span applies to the events not refused as too old or too new.
	if first < last && aws.ToInt64(evs[last-1].Timestamp)-aws.ToInt64(evs[first].Timestamp) > maxBatchSpan.Milliseconds() {
		return nil, errf("InvalidParameterException", "The batch of log events in a single PutLogEvents request cannot span more than 24 hours.")
	}
	batch := make([]InputEvent, 0, max(0, last-first))
	for _, e := range evs[first:max(first, last)] {
		batch = append(batch, InputEvent{Timestamp: aws.ToInt64(e.Timestamp), Message: aws.ToString(e.Message)})
	}
	if err := storeEvents(ctx, c.Write(), c.Account, c.Region, group, st, now, batch); err != nil {
		return nil, err
	}
	out := &wirelogs.PutLogEventsResponse{NextSequenceToken: aws.String(fmt.Sprintf("%056d", st.Seq))}
	if rejected {
		out.RejectedLogEventsInfo = &rej
	}
	return out, nil
}

// InputEvent is one log event given to Append.
type InputEvent struct {
	Timestamp int64 // milliseconds since the epoch
	Message   string
}

// storeEvents stores chronologically ordered events in a stream, updates the stream's
// state and announces them on the store's stream.
func storeEvents(ctx context.Context, tx store.Tx, account, region, group string, st *Stream, now int64, evs []InputEvent) error {
	key := streamKey(account, region, group, st.Name)
	notice := PutNotice{Account: account, Region: region, Group: group, Stream: st.Name}
	stored := make([]event, 0, len(evs))
	for _, e := range evs {
		st.Seq++
		stored = append(stored, event{ts: e.Timestamp, seq: st.Seq, ingestion: now, message: e.Message})
		notice.Count++
		if st.LastIngestion == 0 || e.Timestamp < st.FirstEvent {
			st.FirstEvent = e.Timestamp
		}
		if st.LastIngestion == 0 || e.Timestamp > st.LastEvent {
			st.LastEvent = e.Timestamp
		}
		st.LastIngestion = now
		st.StoredBytes += int64(len(e.Message))
	}
	if len(stored) > 0 {
		notice.First, notice.Last = stored[0].suffix(), stored[len(stored)-1].suffix()
		span, err := putBlocks(ctx, tx, key, stored)
		if err != nil {
			return err
		}
		st.BlockSpan = max(st.BlockSpan, span)
	}
	b, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("logs: encode stream: %w", err)
	}
	if err := tx.Put(ctx, bucketStreams, key, b); err != nil {
		return fmt.Errorf("logs: put stream: %w", err)
	}
	if notice.Count == 0 {
		return nil
	}
	return appendNotice(ctx, tx, notice)
}

// ErrNoGroup is returned by Append when the log group does not exist.
var ErrNoGroup = errors.New("log group does not exist")

// Append stores events in a log stream from inside bannin rather than through the API
// (CloudTrail delivery to CloudWatch Logs, say), creating the stream if it is missing.
// The group must exist (ErrNoGroup otherwise). Events are put in timestamp order; those
// PutLogEvents would refuse (older than 14 days or the retention period, more than 2
// hours ahead of now) are dropped. It returns how many it stored. Consumers learn of the
// events as of PutLogEvents' (KindPut).
func Append(ctx context.Context, tx store.Tx, account, region, group, stream string, now time.Time, evs []InputEvent) (int, error) {
	return appendEvents(ctx, tx, account, region, group, stream, now, evs, false)
}

// Import is Append for history: events of any age are kept (bannin import --log-group loads
// old CloudTrail files so that searches and metric filters run over them). Events before the
// group's retention period go at the next purge.
func Import(ctx context.Context, tx store.Tx, account, region, group, stream string, now time.Time, evs []InputEvent) (int, error) {
	return appendEvents(ctx, tx, account, region, group, stream, now, evs, true)
}

func appendEvents(ctx context.Context, tx store.Tx, account, region, group, stream string, now time.Time, evs []InputEvent, history bool) (int, error) {
	r, err := tx.GetResource(ctx, account, region, ResourceType, group)
	if err != nil {
		return 0, fmt.Errorf("logs: append: get group %s: %w", group, err)
	}
	if r == nil {
		return 0, fmt.Errorf("logs: append to %s: %w", group, ErrNoGroup)
	}
	g, err := decodeGroup(r)
	if err != nil {
		return 0, err
	}
	if !streamNameRE.MatchString(stream) || strings.ContainsRune(stream, 0) {
		return 0, fmt.Errorf("logs: append: invalid stream name %q", stream)
	}
	key := streamKey(account, region, group, stream)
	st := &Stream{Name: stream, CreationTime: ms(now)}
	b, err := tx.Get(ctx, bucketStreams, key)
	if err != nil {
		return 0, fmt.Errorf("logs: append: get stream: %w", err)
	}
	if b != nil {
		if st, err = decodeStream(store.KV{Key: key, Value: b}); err != nil {
			return 0, err
		}
	}
	oldest := max(ms(now)-maxEventAge.Milliseconds(), retentionStart(g, now))
	newest := ms(now) + maxEventFuture.Milliseconds()
	if history {
		oldest = 0
	}
	kept := make([]InputEvent, 0, len(evs))
	for _, e := range evs {
		if e.Timestamp >= oldest && e.Timestamp <= newest && e.Message != "" {
			kept = append(kept, e)
		}
	}
	sort.SliceStable(kept, func(i, j int) bool { return kept[i].Timestamp < kept[j].Timestamp })
	if err := storeEvents(ctx, tx, account, region, group, st, ms(now), kept); err != nil {
		return 0, err
	}
	return len(kept), nil
}

// scanEvents calls fn for the events of a stream (its key and block span) with
// from <= timestamp < to, in order, starting after the key suffix `after` when it is set.
// fn returns false to stop.
func scanEvents(ctx context.Context, tx store.ReadTx, streamKey string, span, from, to int64, after string, fn func(event) bool) error {
	var ap *pos
	if after != "" {
		p := parseSuffix(after)
		ap = &p
	}
	sc := newEventScan(tx, streamKey+"\x00", span, from, to, ap, nil, nil)
	for {
		e, ok, err := sc.next(ctx)
		if err != nil || !ok || !fn(e) {
			return err
		}
	}
}

func validSuffix(s string) bool {
	if len(s) != suffixLen {
		return false
	}
	_, err := strconv.ParseUint(s[:16], 16, 64)
	_, err2 := strconv.ParseUint(s[16:], 16, 32)
	return err == nil && err2 == nil
}

// GetLogEvents reads one stream's events, from the head or the tail, in pages linked by
// forward ("f/<position>") and backward ("b/<position>") tokens.
func (s *Service) GetLogEvents(ctx context.Context, in *wirelogs.GetLogEventsRequest) (*wirelogs.GetLogEventsResponse, error) {
	c := call.From(ctx)
	group, err := groupName(in.LogGroupName, in.LogGroupIdentifier)
	if err != nil {
		return nil, err
	}
	limit := int(aws.ToInt32(in.Limit))
	if limit <= 0 || limit > defaultEventPage {
		limit = defaultEventPage
	}
	forward, pos := aws.ToBool(in.StartFromHead), ""
	if tok := aws.ToString(in.NextToken); tok != "" {
		dir, p, _ := strings.Cut(tok, "/")
		if (dir != "f" && dir != "b") || (p != "" && !validSuffix(p)) {
			return nil, errf("InvalidParameterException", "The specified nextToken is invalid.")
		}
		forward, pos = dir == "f", p
	}
	g, err := getGroup(ctx, c, group)
	if err != nil {
		return nil, err
	}
	name := aws.ToString(in.LogStreamName)
	st, err := getStream(ctx, c, group, name)
	if err != nil {
		return nil, err
	}
	from, to := aws.ToInt64(in.StartTime), int64(1<<62)
	if in.EndTime != nil {
		to = *in.EndTime
	}
	from = max(from, retentionStart(g, c.Time))
	key := streamKey(c.Account, c.Region, group, name)
	var evs []event
	if forward {
		size := 0
		err = scanEvents(ctx, c.Tx, key, st.BlockSpan, from, to, pos, func(e event) bool {
			if len(evs) > 0 && size+len(e.message) > maxPageBytes {
				return false
			}
			evs = append(evs, e)
			size += len(e.message)
			return len(evs) < limit
		})
	} else {
		end := min(to-1, st.LastEvent)
		if pos != "" {
			end = suffixTime(pos)
		}
		evs, err = backward(ctx, c.Tx, key, st.BlockSpan, from, to, end, pos, limit)
	}
	if err != nil {
		return nil, err
	}
	out := &wirelogs.GetLogEventsResponse{Events: make([]wirelogs.OutputLogEvent, 0, len(evs)),
		NextForwardToken: aws.String("f/" + pos), NextBackwardToken: aws.String("b/" + pos)}
	if len(evs) > 0 {
		out.NextForwardToken = aws.String("f/" + evs[len(evs)-1].suffix())
		out.NextBackwardToken = aws.String("b/" + evs[0].suffix())
	}
	for _, e := range evs {
		out.Events = append(out.Events, wirelogs.OutputLogEvent{Timestamp: aws.Int64(e.ts), Message: aws.String(e.message),
			IngestionTime: aws.Int64(e.ingestion)})
	}
	return out, nil
}

// backward returns the newest events of a stream with from <= timestamp < to that sort
// before the suffix tok ("" for none) and fit in a page: at most limit, at most maxPageBytes of
// messages (at least one). end is the newest timestamp that can qualify. As keys can only
// be listed forward, it scans a time window ending at end and widens it until the page is
// full or the window reaches from, so reading the tail of a long stream costs about a page.
func backward(ctx context.Context, tx store.ReadTx, key string, span, from, to, end int64, tok string, limit int) ([]event, error) {
	before := parseSuffix(tok)
	for width := int64(time.Hour.Milliseconds()); ; width *= 8 {
		lo := max(from, end-width)
		var evs []event
		size, start := 0, 0
		err := scanEvents(ctx, tx, key, span, lo, to, "", func(e event) bool {
			if tok != "" && !e.pos().less(before) {
				return false
			}
			evs = append(evs, e)
			size += len(e.message)
			for len(evs)-start > limit || len(evs)-start > 1 && size > maxPageBytes {
				size -= len(evs[start].message)
				evs[start] = event{}
				start++
			}
			if start > limit {
				evs, start = append(evs[:0], evs[start:]...), 0
			}
			return true
		})
		if err != nil {
			return nil, err
		}
		full := start > 0 || len(evs) == limit
		if full || lo <= from || end-width < from {
			return evs[start:], nil
		}
	}
}

// filterToken is FilterLogEvents' position: the last event returned.
type filterToken struct {
	Stream string `json:"s"`
	Suffix string `json:"k"`
}

type filtered struct {
	stream string
	event
}

// parsePattern parses a filter pattern, answering InvalidParameterException with the
// reason: FilterLogEvents says "Invalid filter pattern: <reason>", the filter
// definitions (PutMetricFilter, TestMetricFilter) give the reason alone.
func parsePattern(src string, search bool) (*filterpattern.Pattern, error) {
	p, err := filterpattern.Parse(src)
	if err == nil {
		return p, nil
	}
	reason := err.Error()
	var pe *filterpattern.Error
	if errors.As(err, &pe) {
		reason = pe.Reason
	}
	if search {
		return nil, errf("InvalidParameterException", "Invalid filter pattern: %s", reason)
	}
	return nil, errf("InvalidParameterException", "%s", reason)
}

// FilterLogEvents searches a group's streams for events matching a filter pattern, in
// timestamp order across streams.
func (s *Service) FilterLogEvents(ctx context.Context, in *wirelogs.FilterLogEventsRequest) (*wirelogs.FilterLogEventsResponse, error) {
	c := call.From(ctx)
	group, err := groupName(in.LogGroupName, in.LogGroupIdentifier)
	if err != nil {
		return nil, err
	}
	prefix := aws.ToString(in.LogStreamNamePrefix)
	if len(in.LogStreamNames) > 0 && prefix != "" {
		return nil, errf("InvalidParameterException", "You cannot specify both LogStreamNames and LogStreamNamePrefix.")
	}
	limit := int(aws.ToInt32(in.Limit))
	if limit <= 0 || limit > defaultEventPage {
		limit = defaultEventPage
	}
	var after *filterToken
	if tok := aws.ToString(in.NextToken); tok != "" {
		b, err := base64.RawURLEncoding.DecodeString(tok)
		var ft filterToken
		if err != nil || json.Unmarshal(b, &ft) != nil || !validSuffix(ft.Suffix) {
			return nil, errf("InvalidParameterException", "The specified nextToken is invalid.")
		}
		after = &ft
	}
	pat, err := parsePattern(aws.ToString(in.FilterPattern), true)
	if err != nil {
		return nil, err
	}
	g, err := getGroup(ctx, c, group)
	if err != nil {
		return nil, err
	}
	streams, err := groupStreams(ctx, c, group, prefix)
	if err != nil {
		return nil, err
	}
	if len(in.LogStreamNames) > 0 {
		want := map[string]bool{}
		for _, n := range in.LogStreamNames {
			want[n] = true
		}
		kept := streams[:0]
		for _, st := range streams {
			if want[st.Name] {
				kept = append(kept, st)
			}
		}
		streams = kept
	}
	from, to := aws.ToInt64(in.StartTime), int64(1<<62)
	if in.EndTime != nil {
		to = *in.EndTime + 1 // endTime is inclusive here
	}
	from = max(from, retentionStart(g, c.Time))
	hits, more, err := mergeStreams(ctx, c.Tx, c.Account, c.Region, group, streams, from, to, after, limit, pat.Match, pat.MayMatchBytes)
	if err != nil {
		return nil, err
	}
	out := &wirelogs.FilterLogEventsResponse{Events: []wirelogs.FilteredLogEvent{}, SearchedLogStreams: []wirelogs.SearchedLogStream{}}
	if more {
		last := hits[len(hits)-1]
		b, _ := json.Marshal(filterToken{Stream: last.stream, Suffix: last.suffix()})
		out.NextToken = aws.String(base64.RawURLEncoding.EncodeToString(b))
	}
	for _, h := range hits {
		out.Events = append(out.Events, wirelogs.FilteredLogEvent{LogStreamName: aws.String(h.stream),
			Timestamp: aws.Int64(h.ts), Message: aws.String(h.message), IngestionTime: aws.Int64(h.ingestion),
			EventId: aws.String(eventID(h.stream, h.suffix()))})
	}
	return out, nil
}

// Purge deletes, in one write transaction, the events that the log groups' retention
// policies no longer keep. Reads already hide them; purging frees their space. The server
// calls it periodically.
func (s *Service) Purge(ctx context.Context, st store.Store) error {
	now := s.opts.Clock()
	return st.Update(ctx, func(tx store.Tx) error {
		_, err := s.PurgeTx(ctx, tx, "", "", now)
		return err
	})
}

// PurgeTx deletes the events that the retention policies of the log groups of account in
// region ("" for any) no longer keep as of now, and returns how many it deleted.
func (s *Service) PurgeTx(ctx context.Context, tx store.Tx, account, region string, now time.Time) (int, error) {
	deleted := 0
	q := store.ResourceQuery{Account: account, Region: region, Type: ResourceType, Limit: 1000}
	for {
		rs, next, err := tx.ListResources(ctx, q)
		if err != nil {
			return deleted, fmt.Errorf("logs: purge: list groups: %w", err)
		}
		for _, r := range rs {
			g, err := decodeGroup(r)
			if err != nil {
				return deleted, err
			}
			cut := retentionStart(g, now)
			if cut == 0 {
				continue
			}
			kvs, err := store.ListAll(ctx, tx, bucketStreams, groupPrefix(r.Account, r.Region, g.Name))
			if err != nil {
				return deleted, err
			}
			for _, kv := range kvs {
				n, err := purgeStream(ctx, tx, kv, cut)
				if err != nil {
					return deleted, err
				}
				deleted += n
			}
		}
		if next == "" {
			return deleted, nil
		}
		q.After = next
	}
}

// purgeStream deletes a stream's events older than cut and updates the stream's stored
// bytes and first event time.
func purgeStream(ctx context.Context, tx store.Tx, kv store.KV, cut int64) (int, error) {
	deleted, freed, err := purgeBlocks(ctx, tx, kv.Key, cut)
	if err != nil || deleted == 0 {
		return 0, err
	}
	st, err := decodeStream(kv)
	if err != nil {
		return 0, err
	}
	st.StoredBytes -= freed
	err = scanEvents(ctx, tx, kv.Key, st.BlockSpan, cut, 1<<62, "", func(e event) bool {
		st.FirstEvent = e.ts
		return false
	})
	if err != nil {
		return 0, err
	}
	b, err := json.Marshal(st)
	if err != nil {
		return 0, fmt.Errorf("logs: encode stream: %w", err)
	}
	if err := tx.Put(ctx, bucketStreams, kv.Key, b); err != nil {
		return 0, fmt.Errorf("logs: purge: put stream: %w", err)
	}
	return deleted, nil
}

// importedKV remembers which CloudTrail events ImportTrailEvents put in which group.
const importedKV = "logs.imported"

// ImportTrailEvents puts CloudTrail events into a log group as a trail delivers them (the
// record as the message, in the stream <account>_CloudTrail_<region>), keeping events of any
// age and skipping those imported into the group before. It returns how many were new.
func ImportTrailEvents(ctx context.Context, tx store.Tx, account, region, group string, now time.Time, evs []*store.Event) (int, error) {
	streams := map[string][]InputEvent{}
	var order []string
	for _, e := range evs {
		key := group + "\x00" + e.EventID
		seen, err := tx.Get(ctx, importedKV, key)
		if err != nil {
			return 0, err
		}
		if seen != nil {
			continue
		}
		if err := tx.Put(ctx, importedKV, key, []byte{1}); err != nil {
			return 0, err
		}
		name := e.Account + "_CloudTrail_" + e.Region
		if _, ok := streams[name]; !ok {
			order = append(order, name)
		}
		streams[name] = append(streams[name], InputEvent{Timestamp: e.Time.UnixMilli(), Message: string(e.Record)})
	}
	n := 0
	for _, name := range order {
		k, err := Import(ctx, tx, account, region, group, name, now, streams[name])
		if err != nil {
			return n, err
		}
		n += k
	}
	return n, nil
}
