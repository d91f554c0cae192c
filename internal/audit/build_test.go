package audit

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/bannin/bannin/internal/awserr"
	"github.com/bannin/bannin/internal/call"
	"github.com/bannin/bannin/internal/wire/cloudtrail"
	"github.com/bannin/bannin/internal/wire/cloudwatch"
	wires3 "github.com/bannin/bannin/internal/wire/s3"
	wiresns "github.com/bannin/bannin/internal/wire/sns"
)

// TestFinishEncodesWholeRecord checks that Prepare+Finish write exactly the bytes
// json.Marshal writes for the whole Record, for outcomes with and without errors,
// response elements, resources, TLS details, odd characters and assumed roles.
func TestFinishEncodesWholeRecord(t *testing.T) {
	ct, s3m, sns, cw := cloudtrail.Model(), wires3.Model(), wiresns.Model(), cloudwatch.Model()
	root := call.Principal{Type: "Root", Account: "111122223333", ARN: "arn:aws:iam::111122223333:root", AccessKeyID: "AKIAEXAMPLE"}
	role := call.Principal{Type: "AssumedRole", Account: "111122223333", ARN: "arn:aws:sts::111122223333:assumed-role/r/s",
		PrincipalID: "AROAX:s", IssuerARN: "arn:aws:iam::111122223333:role/r", IssuerName: "r", SessionIssued: time.Unix(1700000000, 0)}
	service := call.Principal{Type: "AWSService", InvokedBy: "config.amazonaws.com"}
	newCall := func(op string, p call.Principal) *call.Call {
		return &call.Call{RequestID: "req-1", EventID: "ev-1", Time: time.Unix(1700000123, 0), Operation: op,
			Account: "111122223333", Region: "us-east-1", Caller: p, SourceIP: "127.0.0.1", UserAgent: "ua <&> \"quoted\"\u2028"}
	}
	touched := func(c *call.Call) *call.Call {
		c.Touch("AWS::CloudTrail::Trail", "arn:aws:cloudtrail:us-east-1:111122223333:trail/t", "arn:aws:cloudtrail:us-east-1:111122223333:trail/t")
		return c
	}
	cases := []struct {
		name string
		c    *call.Call
		o    Outcome
	}{
		{"AddTags", touched(newCall("AddTags", root)), Outcome{Service: ct, Op: ct.Operations["AddTags"],
			In:  map[string]any{"ResourceId": "arn:aws:cloudtrail:us-east-1:111122223333:trail/t", "TagsList": []any{map[string]any{"Key": "k<", "Value": "v&"}}},
			Out: map[string]any{}}},
		{"CreateTrail with response", touched(newCall("CreateTrail", role)), Outcome{Service: ct, Op: ct.Operations["CreateTrail"],
			In:  map[string]any{"Name": "t", "S3BucketName": "b"},
			Out: map[string]any{"Name": "t", "S3BucketName": "b", "TrailARN": "arn:aws:cloudtrail:us-east-1:111122223333:trail/t"},
			TLS: &TLSDetails{TLSVersion: "TLSv1.3", CipherSuite: "TLS_AES_128_GCM_SHA256", ClientProvidedHostHeader: "localhost"}}},
		{"failed with AWS error", newCall("CreateTrail", root), Outcome{Service: ct, Op: ct.Operations["CreateTrail"],
			In: map[string]any{"Name": "t"}, Err: awserr.New("InvalidTrailNameException", 400, "Trail name %q is bad <here>.", "t")}},
		{"failed with internal error", newCall("DeleteTrail", service), Outcome{Service: ct, Op: ct.Operations["DeleteTrail"],
			In: map[string]any{"Name": "t"}, Err: errors.New("boom")}},
		{"read-only", newCall("DescribeTrails", root), Outcome{Service: ct, Op: ct.Operations["DescribeTrails"],
			In: map[string]any{}, Out: map[string]any{"trailList": []any{}}}},
		{"no operation", newCall("Nope", root), Outcome{Service: ct, Err: awserr.New("UnknownOperationException", 400, "no")}},
		{"s3 data event", newCall("PutObject", root), Outcome{Service: s3m, Op: s3m.Operations["PutObject"],
			In: map[string]any{"Bucket": "b", "Key": "k/1"}, Out: map[string]any{"ETag": "\"x\""}, Host: "b.s3.localhost"}},
		{"sns subscribe password", newCall("Subscribe", root), Outcome{Service: sns, Op: sns.Operations["Subscribe"],
			In:  map[string]any{"TopicArn": "arn:aws:sns:us-east-1:111122223333:t", "Protocol": "https", "Endpoint": "https://u:p@h/x"},
			Out: map[string]any{"SubscriptionArn": "arn:aws:sns:us-east-1:111122223333:t:1"}}},
		{"cloudwatch data event", newCall("PutMetricData", root), Outcome{Service: cw, Op: cw.Operations["PutMetricData"],
			In: map[string]any{"Namespace": "App"}}},
		{"no event id", func() *call.Call { c := newCall("AddTags", root); c.EventID = ""; return c }(),
			Outcome{Service: ct, Op: ct.Operations["AddTags"], In: map[string]any{"ResourceId": "x"}}},
	}
	for _, tc := range cases {
		p, err := Prepare(tc.c, tc.o)
		if err != nil {
			t.Fatalf("%s: Prepare: %v", tc.name, err)
		}
		ev, err := p.Finish(tc.c, tc.o)
		if err != nil {
			t.Fatalf("%s: Finish: %v", tc.name, err)
		}
		rec, wantEv := p.record(tc.c, tc.o)
		want, err := json.Marshal(rec)
		if err != nil {
			t.Fatal(err)
		}
		if string(ev.Record) != string(want) {
			t.Errorf("%s: Finish wrote\n%s\nwant\n%s", tc.name, ev.Record, want)
		}
		if !json.Valid(ev.Record) {
			t.Errorf("%s: record is not valid JSON: %s", tc.name, ev.Record)
		}
		wantEv.Record = ev.Record
		if !reflect.DeepEqual(ev, wantEv) {
			t.Errorf("%s: event = %+v; want %+v", tc.name, ev, wantEv)
		}
		if tc.c.EventID != "" && (ev.EventID != tc.c.EventID || rec.EventID != tc.c.EventID) {
			t.Errorf("%s: event id %q, record's %q; want %q", tc.name, ev.EventID, rec.EventID, tc.c.EventID)
		}
		if tc.c.EventID == "" && (ev.EventID == "" || ev.EventID != rec.EventID) {
			t.Errorf("%s: event id %q, record's %q; want the same new id", tc.name, ev.EventID, rec.EventID)
		}
		// Build is Prepare+Finish.
		b, err := Build(tc.c, tc.o)
		if err != nil {
			t.Fatalf("%s: Build: %v", tc.name, err)
		}
		if tc.c.EventID != "" && string(b.Record) != string(want) {
			t.Errorf("%s: Build wrote\n%s\nwant\n%s", tc.name, b.Record, want)
		}
	}
}

// TestFinishOutcomeOnly checks that what Finish adds depends on the outcome it is given:
// one Prepared finished as a success and as a failure gives each record its own outcome.
func TestFinishOutcomeOnly(t *testing.T) {
	ct := cloudtrail.Model()
	c := &call.Call{RequestID: "r", EventID: "e", Time: time.Unix(1700000000, 0), Operation: "CreateTrail", Account: "111122223333",
		Region: "us-east-1", Caller: call.Principal{Type: "Root", Account: "111122223333"}}
	o := Outcome{Service: ct, Op: ct.Operations["CreateTrail"], In: map[string]any{"Name": "t"}}
	p, err := Prepare(c, o)
	if err != nil {
		t.Fatal(err)
	}
	o.Out = map[string]any{"Name": "t"}
	c.Touch("AWS::CloudTrail::Trail", "t", "arn:t")
	ok, _ := p.Finish(c, o)
	o.Out, o.Err = nil, awserr.New("TrailAlreadyExistsException", 400, "exists")
	c.Resources = nil
	failed, _ := p.Finish(c, o)
	var a, b Record
	if err := json.Unmarshal(ok.Record, &a); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(failed.Record, &b); err != nil {
		t.Fatal(err)
	}
	if a.ErrorCode != "" || a.ResponseElements == nil || len(a.Resources) != 1 || len(ok.Resources) != 1 {
		t.Errorf("success record = %s; want response elements, one resource, no error", ok.Record)
	}
	if b.ErrorCode != "TrailAlreadyExistsException" || b.ErrorMessage != "exists" || b.ResponseElements != nil || len(b.Resources) != 0 || len(failed.Resources) != 0 {
		t.Errorf("failure record = %s; want the error, no response elements, no resources", failed.Record)
	}
}

// BenchmarkBuild compares building a whole AddTags record with finishing a prepared one
// (what the store's writer runs).
func BenchmarkBuild(b *testing.B) {
	ct := cloudtrail.Model()
	c := &call.Call{RequestID: "0b0a0c0d-0000-0000-0000-000000000000", EventID: NewEventID(), Time: time.Now(), Service: "cloudtrail",
		Operation: "AddTags", Account: "111122223333", Region: "us-east-1", SourceIP: "127.0.0.1", UserAgent: "aws-sdk-go-v2/1.0",
		Caller: call.Principal{Type: "Root", Account: "111122223333", ARN: "arn:aws:iam::111122223333:root", AccessKeyID: "AKIAEXAMPLE"}}
	arn := "arn:aws:cloudtrail:us-east-1:111122223333:trail/bench"
	c.Touch("AWS::CloudTrail::Trail", arn, arn)
	o := Outcome{Service: ct, Op: ct.Operations["AddTags"], Out: map[string]any{},
		In: map[string]any{"ResourceId": arn, "TagsList": []any{map[string]any{"Key": "k", "Value": "v"}}}}
	b.Run("build", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Build(c, o); err != nil {
				b.Fatal(err)
			}
		}
	})
	p, err := Prepare(c, o)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("finish", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := p.Finish(c, o); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestAppendStringMatchesEncodingJSON checks the hand-written string encoder against
// json.Marshal: every ASCII byte, HTML characters, line and paragraph separators,
// invalid and truncated UTF-8, and random byte strings.
func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	cases := []string{"", "plain", "a\"b\\c", "<script>&</script>", "\u2028\u2029", "\xff", "a\xc3", "\xe2\x80", "é日本\U0001F600",
		"\x00\x01\x1f\x7f", "\b\f\n\r\t", "tail\xed\xa0\x80"}
	var all []byte
	for b := 0; b < 256; b++ {
		all = append(all, byte(b))
	}
	cases = append(cases, string(all))
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 2000; i++ {
		b := make([]byte, rng.IntN(24))
		for j := range b {
			switch rng.IntN(4) {
			case 0:
				b[j] = byte(rng.IntN(256))
			case 1:
				b[j] = byte(0x80 + rng.IntN(64)) // continuation bytes
			default:
				b[j] = byte(0x20 + rng.IntN(0x60))
			}
		}
		cases = append(cases, string(b))
	}
	for _, s := range cases {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendString(nil, s); string(got) != string(want) {
			t.Errorf("appendString(%q) = %s; json.Marshal = %s", s, got, want)
		}
	}
	rs := []RecordResource{{}, {ARN: "arn:<x>"}, {AccountID: "1", Type: "T"}, {ARN: "a", AccountID: "b", Type: "c\n"}}
	want, _ := json.Marshal(rs)
	if got := appendResources(nil, rs); string(got) != string(want) {
		t.Errorf("appendResources = %s; json.Marshal = %s", got, want)
	}
	for _, u := range []UserIdentity{{}, {Type: "IAMUser", PrincipalID: "AIDA", ARN: "arn:aws:iam::1:user/a&b", AccountID: "1",
		AccessKeyID: "AKIA", UserName: "a&b"}, {Type: "AWSService", InvokedBy: "config.amazonaws.com"},
		{Type: "AssumedRole", SessionContext: &SessionContext{Attributes: SessionAttribute{MFAAuthenticated: "false"}}}} {
		want, _ := json.Marshal(u)
		got, err := appendIdentity(nil, &u)
		if err != nil || string(got) != string(want) {
			t.Errorf("appendIdentity(%+v) = %s, %v; json.Marshal = %s", u, got, err, want)
		}
	}
}

// TestMarshalParamsMatchesEncodingJSON checks the parameter tree encoder against
// json.Marshal, including the values it leaves to encoding/json.
func TestMarshalParamsMatchesEncodingJSON(t *testing.T) {
	many := map[string]any{}
	for i := 0; i < 40; i++ {
		many[string(rune('z'-i%26))+strings.Repeat("k", i%3)+"<&>"[i%3:i%3+1]] = int64(i)
	}
	for _, v := range []any{
		nil, "s", true, false, int64(-5), 7, int32(3), map[string]any{}, []any{}, map[string]any(nil), []any(nil),
		map[string]any{"b": "x", "a": []any{int64(1), "two", map[string]any{"é": nil, "<": true}}, "A": map[string]any{}},
		many,
		map[string]any{"f": 1.5e21, "g": 0.000001, "n": json.Number("12.50")}, // floats and numbers: encoding/json's
		[]any{map[string]any{"t": time.Unix(0, 0).UTC()}},                     // unusual: encoding/json's
	} {
		want, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		got, err := marshalParams([]byte("prefix:"), v)
		if err != nil || string(got) != "prefix:"+string(want) {
			t.Errorf("marshalParams(%v) = %s, %v; want prefix:%s", v, got, err, want)
		}
	}
}
