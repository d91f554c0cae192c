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
