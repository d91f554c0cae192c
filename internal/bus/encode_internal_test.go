package bus

import (
	"encoding/json"
	"testing"
	"time"
)

// encodeEvent and the busEntry encoding write what json.Marshal writes, without re-encoding
// the detail: same bytes for compact details, and they decode back to the same values.
func TestEncodeLikeMarshal(t *testing.T) {
	details := []string{`{}`, `{"a":1,"b":[true,null,"x\"y"],"c":{"d":"é"}}`, `{"eventVersion":"1.11","requestParameters":{"bucketName":"audit-logs"}}`}
	for _, d := range details {
		ev := &Event{Version: "0", ID: "id-1", DetailType: "AWS API Call via CloudTrail", Source: "aws.s3", Account: "123456789012",
			Time: "2026-11-23T10:00:00Z", Region: "us-east-1", Resources: []string{}}
		got, err := encodeEvent(ev, []byte(d))
		if err != nil {
			t.Fatal(err)
		}
		full := *ev
		full.Detail = json.RawMessage(d)
		want, _ := json.Marshal(&full)
		if string(got) != string(want) {
			t.Errorf("encodeEvent = %s; want %s", got, want)
		}
		if ev.Detail != nil {
			t.Errorf("encodeEvent changed its argument's Detail to %s", ev.Detail)
		}
		e := &busEntry{Account: "123456789012", Region: "us-east-1", Bus: "default", Ingested: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC),
			Rule: "arn:aws:events:us-east-1:123456789012:rule/r", Event: got}
		head := *e
		head.Event = nil
		raw, err := withRaw(&head, e.Event)
		if err != nil {
			t.Fatal(err)
		}
		var back busEntry
		if err := json.Unmarshal(raw, &back); err != nil {
			t.Fatalf("busEntry %s does not decode: %v", raw, err)
		}
		if back.Rule != e.Rule || !back.Ingested.Equal(e.Ingested) || string(back.Event) != string(got) {
			t.Errorf("busEntry round trip = %+v; want %+v", back, e)
		}
	}
	if _, err := withRaw(&struct{ A string }{"x"}, []byte(`{}`)); err == nil {
		t.Errorf("withRaw of a struct without a trailing raw member = nil error; want an error")
	}
}

// entryBus names the bus of entries written by appendEvent, and declines others.
func TestEntryBus(t *testing.T) {
	e := &busEntry{Account: "123456789012", Region: "eu-west-1", Bus: "orders", Ingested: time.Now(), AllManagement: true, Rule: "r",
		Event: json.RawMessage(`{"detail":{"x":[1,2]}}`)}
	head := *e
	head.Event = nil
	raw, err := withRaw(&head, e.Event)
	if err != nil {
		t.Fatal(err)
	}
	if a, r, b, ok := entryBus(raw); !ok || a != e.Account || r != e.Region || b != e.Bus {
		t.Errorf("entryBus(%s) = %q %q %q %v", raw, a, r, b, ok)
	}
	// An older entry with the event before the bus: decoded in full by the caller.
	old := []byte(`{"account":"123456789012","region":"eu-west-1","event":{"a":1},"bus":"orders"}`)
	if _, _, _, ok := entryBus(old); ok {
		t.Errorf("entryBus of an entry naming its bus after the event = ok; want not ok")
	}
	for _, bad := range []string{``, `[]`, `{"account":{"x":1},"event":{}}`, `{"account":"a"`} {
		if _, _, _, ok := entryBus([]byte(bad)); ok {
			t.Errorf("entryBus(%q) = ok; want not ok", bad)
		}
	}
}
