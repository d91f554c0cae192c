package bus

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/bannin/bannin/internal/awserr"
	"github.com/bannin/bannin/internal/call"
	"github.com/bannin/bannin/internal/store"
	"github.com/bannin/bannin/internal/wire/events"
)

// KindEvent is the stream entry kind of an event accepted on a bus (payload: busEntry JSON).
// The bus's delivery consumer matches it against the bus's rules.
const KindEvent = "bus.event"

// maxEntries and maxRequestSize are PutEvents' limits: 10 entries, 256 KB in all.
const (
	maxEntries     = 10
	maxRequestSize = 256 * 1024
)

// timeLayout is how events carry their time: RFC 3339 in UTC, whole seconds.
const timeLayout = "2006-01-02T15:04:05Z"

// Event is an EventBridge event as rules match it and targets receive it, members in
// the order EventBridge writes them.
type Event struct {
	Version    string          `json:"version"`
	ID         string          `json:"id"`
	DetailType string          `json:"detail-type"`
	Source     string          `json:"source"`
	Account    string          `json:"account"`
	Time       string          `json:"time"`
	Region     string          `json:"region"`
	Resources  []string        `json:"resources"`
	Detail     json.RawMessage `json:"detail"`
}

// busEntry is the payload of a KindEvent stream entry: an event on one bus.
type busEntry struct {
	Account string `json:"account"`
	Region  string `json:"region"`
	Bus     string `json:"bus"`
	// Ingested is when EventBridge received the event (aws.events.event.ingestion-time).
	Ingested time.Time `json:"ingested"`
	// AllManagement marks a read-only CloudTrail management event: only rules in state
	// ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS see it.
	AllManagement bool `json:"allManagement,omitempty"`
	// Rule, when set, is the ARN of the one rule the event is for (a scheduled event):
	// it goes to that rule's targets without matching.
	Rule string `json:"rule,omitempty"`
	// Event is the event's JSON (compact), as targets receive it. It is the last member:
	// appendEvent writes it with withRaw.
	Event json.RawMessage `json:"event"`
}

// withRaw returns json.Marshal(v) for a struct v whose last member is a json.RawMessage
// left nil, with raw (valid, compact JSON) in that member's place: json.Marshal would
// validate and compact raw once more, which for events of a kilobyte or more is most of
// the encoding's cost.
func withRaw(v any, raw []byte) ([]byte, error) {
	head, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	if !bytes.HasSuffix(head, []byte("null}")) {
		return nil, fmt.Errorf("bus: %T does not end with a nil raw member", v)
	}
	out := make([]byte, 0, len(head)+len(raw))
	out = append(out, head[:len(head)-len("null}")]...)
	out = append(out, raw...)
	return append(out, '}'), nil
}

// encodeEvent encodes ev with detail (valid, compact JSON) as its detail.
func encodeEvent(ev *Event, detail []byte) ([]byte, error) {
	e := *ev
	e.Detail = nil
	return withRaw(&e, detail)
}

// newID returns a random version 4 UUID.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	return formatUUID(b)
}

// nameID returns a UUID derived from name (version 5 style), so that an event made again
// from the same cause has the same id and its deliveries stay idempotent.
func nameID(name string) string {
	sum := sha1.Sum([]byte("bannin-events:" + name))
	var b [16]byte
	copy(b[:], sum[:16])
	b[6] = b[6]&0x0f | 0x50
	return formatUUID(b)
}

func formatUUID(b [16]byte) string {
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// appendEvent writes ev as a stream entry of a bus in tx.
func appendEvent(ctx context.Context, tx store.Tx, e *busEntry) error {
	head := *e
	head.Event = nil
	raw, err := withRaw(&head, e.Event)
	if err != nil {
		return fmt.Errorf("bus: encode event: %w", err)
	}
	if _, err := tx.Append(ctx, KindEvent, raw); err != nil {
		return fmt.Errorf("bus: append event: %w", err)
	}
	return nil
}

// entryError is one PutEvents entry's failure.
type entryError struct{ code, msg string }

// entrySize is an entry's size as EventBridge counts it against the 256 KB limit.
func entrySize(e *events.PutEventsRequestEntry) int {
	n := 0
	if e.Time != nil {
		n += 14
	}
	n += len(aws.ToString(e.Source)) + len(aws.ToString(e.DetailType)) + len(aws.ToString(e.Detail))
	for _, r := range e.Resources {
		n += len(r)
	}
	return n
}

// checkEntry validates a PutEvents entry and returns its compact detail.
func checkEntry(e *events.PutEventsRequestEntry, custom bool) ([]byte, *entryError) {
	switch {
	case aws.ToString(e.Source) == "":
		return nil, &entryError{"InvalidArgument", "Parameter Source is not valid. Reason: Source is a required argument."}
	case aws.ToString(e.DetailType) == "":
		return nil, &entryError{"InvalidArgument", "Parameter DetailType is not valid. Reason: DetailType is a required argument."}
	case e.Detail == nil:
		return nil, &entryError{"InvalidArgument", "Parameter Detail is not valid. Reason: Detail is a required argument."}
	}
	d := strings.TrimSpace(*e.Detail)
	if !strings.HasPrefix(d, "{") || !json.Valid([]byte(d)) {
		return nil, &entryError{"MalformedDetail", "Detail is malformed."}
	}
	if custom && strings.HasPrefix(aws.ToString(e.Source), "aws.") {
		return nil, &entryError{"NotAuthorizedForSourceException", "Not authorized for the source."}
	}
	for _, r := range e.Resources {
		if r == "" {
			return nil, &entryError{"InvalidArgument", "Parameter Resources is not valid. Reason: a resource is empty."}
		}
	}
	var buf bytes.Buffer
	buf.Grow(len(d))
	if err := json.Compact(&buf, []byte(d)); err != nil {
		return nil, &entryError{"MalformedDetail", "Detail is malformed."}
	}
	return buf.Bytes(), nil
}

// PutEvents accepts up to 10 custom events; entries that fail are reported one by one
// and the others are put on their buses in the call's transaction.
func (s *Service) PutEvents(ctx context.Context, in *events.PutEventsRequest) (*events.PutEventsResponse, error) {
	c := call.From(ctx)
	if n := len(in.Entries); n == 0 || n > maxEntries {
		return nil, errf("ValidationException", "1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length less than or equal to %d and greater than or equal to 1", maxEntries)
	}
	total := 0
	for i := range in.Entries {
		total += entrySize(&in.Entries[i])
	}
	if total > maxRequestSize {
		return nil, awserr.New("ValidationException", http.StatusBadRequest, "Total size of the entries in the request is over the limit.")
	}
	if in.EndpointId != nil {
		return nil, errf("ValidationException", "Global endpoints are not supported.")
	}
	out := &events.PutEventsResponse{Entries: make([]events.PutEventsResultEntry, len(in.Entries))}
	failed := int32(0)
	for i := range in.Entries {
		e := &in.Entries[i]
		id, ee, err := s.putEntry(ctx, c, e)
		if err != nil {
			return nil, err
		}
		if ee != nil {
			failed++
			out.Entries[i] = events.PutEventsResultEntry{ErrorCode: aws.String(ee.code), ErrorMessage: aws.String(ee.msg)}
			continue
		}
		out.Entries[i] = events.PutEventsResultEntry{EventId: aws.String(id)}
	}
	out.FailedEntryCount = aws.Int32(failed)
	return out, nil
}

func (s *Service) putEntry(ctx context.Context, c *call.Call, e *events.PutEventsRequestEntry) (string, *entryError, error) {
	detail, ee := checkEntry(e, true)
	if ee != nil {
		return "", ee, nil
	}
	bus, err := busName(c, aws.ToString(e.EventBusName))
	if err != nil {
		if ae, ok := awserr.As(err); ok {
			return "", &entryError{ae.AWSErrorCode(), ae.AWSMessage()}, nil
		}
		return "", nil, err
	}
	b, err := getBus(ctx, c, bus)
	if err != nil {
		return "", nil, err
	}
	if b == nil {
		return "", &entryError{"ResourceNotFoundException", fmt.Sprintf("Event bus %s does not exist.", bus)}, nil
	}
	t := c.Time
	if e.Time != nil {
		t = *e.Time
	}
	ev := &Event{Version: "0", ID: newID(), DetailType: aws.ToString(e.DetailType), Source: aws.ToString(e.Source),
		Account: c.Account, Time: t.UTC().Format(timeLayout), Region: c.Region, Resources: e.Resources}
	if ev.Resources == nil {
		ev.Resources = []string{}
	}
	raw, err := encodeEvent(ev, detail)
	if err != nil {
		return "", nil, fmt.Errorf("bus: encode event: %w", err)
	}
	if err := appendEvent(ctx, c.Write(), &busEntry{Account: c.Account, Region: c.Region, Bus: bus, Event: raw, Ingested: c.Time}); err != nil {
		return "", nil, err
	}
	return ev.ID, nil, nil
}

// PutEvent puts an event from inside bannin (AWS Config's events) on an account's default
// bus in tx, as PutEvents would; rules see it after tx commits. AWS sources are allowed.
func (s *Service) PutEvent(ctx context.Context, tx store.Tx, account, region, source, detailType string, resources []string, detail []byte) error {
	d := string(detail)
	compact, ee := checkEntry(&events.PutEventsRequestEntry{Source: &source, DetailType: &detailType, Detail: &d, Resources: resources}, false)
	if ee != nil {
		return fmt.Errorf("bus: put event %s: %s", detailType, ee.msg)
	}
	now := s.opts.Clock().UTC()
	if resources == nil {
		resources = []string{}
	}
	ev := &Event{Version: "0", ID: newID(), DetailType: detailType, Source: source, Account: account,
		Time: now.Format(timeLayout), Region: region, Resources: resources}
	raw, err := encodeEvent(ev, compact)
	if err != nil {
		return fmt.Errorf("bus: encode event: %w", err)
	}
	return appendEvent(ctx, tx, &busEntry{Account: account, Region: region, Bus: DefaultBus, Event: raw, Ingested: now})
}
