package audit

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"
)

// checkParser parses raw with recordParser and with parseRecordJSON (encoding/json) and
// fails if the fast path accepts a record encoding/json rejects or gives a different event;
// ParseRecord must give exactly what parseRecordJSON gives. It returns whether the fast
// path took the record.
func checkParser(t *testing.T, p *recordParser, raw []byte) bool {
	t.Helper()
	want, wantErr := parseRecordJSON(raw)
	ev, end, ok := p.parse(raw, 0)
	// A record that ends early (more follows it) is the log file's to reject, not ParseRecord's.
	ok = ok && end == len(raw)
	if ok {
		if wantErr != nil {
			t.Fatalf("recordParser took %s; encoding/json: %v", raw, wantErr)
		}
		if !reflect.DeepEqual(ev, want) {
			t.Fatalf("recordParser(%s) =\n%+v; encoding/json:\n%+v", raw, ev, want)
		}
	}
	got, err := ParseRecord(raw)
	if fmt.Sprint(err) != fmt.Sprint(wantErr) || !reflect.DeepEqual(got, want) {
		t.Fatalf("ParseRecord(%s) = %+v, %v; want %+v, %v", raw, got, err, want, wantErr)
	}
	return ok
}

// parserCases are records recordParser must parse itself (fast) and ones it must leave to
// encoding/json (slow), each checked against encoding/json.
func parserCases() (fast, slow []string) {
	const base = `"eventID":"e-1","eventTime":"2026-11-01T10:00:00Z","eventName":"PutObject","eventSource":"s3.amazonaws.com","awsRegion":"us-east-1"`
	fast = []string{
		`{` + base + `}`,
		`{` + base + `,"recipientAccountId":"111122223333","userIdentity":{"type":"IAMUser","userName":"alice","accountId":"9"}}`,
		`{` + base + `,"userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::1:assumed-role/R/sess","accountId":"1","accessKeyId":"ASIA1",` +
			`"sessionContext":{"sessionIssuer":{"type":"Role","userName":"R"},"webIdFederationData":{},"attributes":{"creationDate":"x","mfaAuthenticated":"false"}}}}`,
		`{` + base + `,"userIdentity":{"type":"Root","arn":"arn:aws:iam::1:root"},"readOnly":true}`,
		`{` + base + `,"userIdentity":{"type":"AWSService","invokedBy":"config.amazonaws.com"},"readOnly":false}`,
		`{` + base + `,"userIdentity":null,"readOnly":null,"eventCategory":null,"resources":null,"insightDetails":null}`,
		`{` + base + `,"userIdentity":{"type":null,"sessionContext":null,"principalId":null},"recipientAccountId":null}`,
		`{` + base + `,"userIdentity":{"sessionContext":{"sessionIssuer":null,"attributes":null}}}`,
		// Nested objects with top-level key names are not the record's fields.
		`{` + base + `,"requestParameters":{"eventID":"x","eventName":"y","userIdentity":{"type":"Root"},"readOnly":"no","resources":7}}`,
		`{"requestParameters":{"eventTime":"bad"},` + base + `,"responseElements":[{"eventSource":1},null,true,false,-0.5e+3,0,1E9,"\u00e9"]}`,
		// Escapes and non-ASCII bytes in values.
		`{"eventID":"e\"1\\","eventTime":"2026-11-01T10:00:00Z","eventName":"Put\u004fbject","eventSource":"s3.amazonaws.com","awsRegion":"us-east-1"}`,
		`{` + base + `,"userIdentity":{"type":"IAMUser","userName":"j\u00f6rg \ud83d\ude00","accessKeyId":"AK\/IA"}}`,
		"{" + base + `,"userIdentity":{"type":"IAMUser","userName":"bad` + "\xff" + `utf8 ok"}}`,
		"{" + base + `,"errorMessage":"tab\tin\\tstring? no: escaped \\t, quote \" and \u2028"}`,
		`{` + base + `,"resources":[{"ARN":"arn:aws:s3:::b\u0031","type":"AWS::S3::Bucket"},{"ARN":"arn:aws:s3:::b/k","type":"AWS::S3::Object","accountId":"1"}]}`,
		`{` + base + `,"resources":[null,{},{"ARN":null,"type":null},{"ARN":"arn:aws:ec2:us-east-1:1:instance/i-1"}]}`,
		`{` + base + `,"resources":[]}`,
		// Whitespace everywhere.
		" {\n\t\"eventID\" : \"e-2\" ,\r\n \"eventTime\":\"2026-11-01T10:00:00Z\",\"eventName\" :\"X\", \"eventSource\": \"x.amazonaws.com\" , \"resources\" : [ { \"ARN\" : \"a\" } , null ] , \"o\" : { } , \"a\" : [ ] }"[1:],
		// Categories and insights.
		`{` + base + `,"eventCategory":"Data"}`,
		`{` + base + `,"eventCategory":"data"}`,
		`{` + base + `,"eventCategory":"NetworkActivity"}`,
		`{"eventID":"i-1","eventTime":"2026-11-01T10:00:00Z","insightDetails":{"eventName":"PutObject","eventSource":"s3.amazonaws.com","insightContext":{"eventName":"no"}}}`,
		`{"eventID":"i-1","eventTime":"2026-11-01T10:00:00Z","eventCategory":"Insight","insightDetails":{"eventName":"PutObject","eventSource":"s3.amazonaws.com"}}`,
		`{` + base + `,"insightDetails":{"eventName":"Other","eventSource":"other.amazonaws.com"}}`,
		// Times.
		`{"eventID":"t","eventTime":"2024-02-29T23:59:59Z","eventName":"X","eventSource":"x"}`,
		`{"eventID":"t","eventTime":"2026-11-01T10:00:00.123Z","eventName":"X","eventSource":"x"}`,
		`{"eventID":"t","eventTime":"2026-11-01T10:00:00+01:00","eventName":"X","eventSource":"x"}`,
		`{"eventID":"t","eventTime":"0000-01-01T00:00:00Z","eventName":"X","eventSource":"x"}`,
		// Read-only from the operation's name.
		`{"eventID":"r","eventTime":"2026-11-01T10:00:00Z","eventName":"DescribeTrails","eventSource":"cloudtrail.amazonaws.com"}`,
	}
	slow = []string{
		// Rejected records (the errors are encoding/json's and ParseRecord's).
		`{"eventTime":"2026-11-01T10:00:00Z","eventName":"X","eventSource":"x"}`,
		`{"eventID":"","eventTime":"2026-11-01T10:00:00Z","eventName":"X","eventSource":"x"}`,
		`{"eventID":"a","eventTime":"2026-11-01T10:00:00Z","eventSource":"x"}`,
		`{"eventID":"a","eventTime":"2026-11-01T10:00:00Z","eventName":"X"}`,
		`{"eventID":"t","eventTime":"2023-02-29T10:00:00Z","eventName":"X","eventSource":"x"}`,
		`{"eventID":"t","eventTime":"2026-11-01T24:00:00Z","eventName":"X","eventSource":"x"}`,
		`{"eventID":"t","eventTime":"2026-11-01T23:59:60Z","eventName":"X","eventSource":"x"}`,
		`{"eventID":"t","eventTime":"2026-13-01T10:00:00Z","eventName":"X","eventSource":"x"}`,
		`{"eventID":"t","eventTime":"2026-11-01 10:00:00Z","eventName":"X","eventSource":"x"}`,
		`{"eventID":"t","eventTime":"","eventName":"X","eventSource":"x"}`,
		`{` + base + `,"eventCategory":"bogus"}`,
		`{"eventID":"i-1","eventTime":"2026-11-01T10:00:00Z","insightDetails":{"eventName":"PutObject"}}`,
		`{"eventID":"i-1","eventTime":"2026-11-01T10:00:00Z","insightDetails":{}}`,
		// Wrong types.
		`{"eventID":5,"eventTime":"2026-11-01T10:00:00Z","eventName":"X","eventSource":"x"}`,
		`{` + base + `,"readOnly":"true"}`,
		`{` + base + `,"userIdentity":"x"}`,
		`{` + base + `,"userIdentity":{"principalId":5}}`,
		`{` + base + `,"userIdentity":{"sessionContext":5}}`,
		`{` + base + `,"userIdentity":{"sessionContext":{"sessionIssuer":{"type":5}}}}`,
		`{` + base + `,"userIdentity":{"sessionContext":{"attributes":[]}}}`,
		`{` + base + `,"resources":{}}`,
		`{` + base + `,"resources":[5]}`,
		`{` + base + `,"resources":[{"ARN":["a"]}]}`,
		`{` + base + `,"insightDetails":"x"}`,
		`{` + base + `,"eventCategory":true}`,
		`"str"`, `null`, `[]`, `5`,
		// Keys encoding/json matches case-insensitively, keys given twice, escaped keys.
		`{` + base + `,"EventID":"other"}`,
		`{` + base + `,"eventid":"other"}`,
		`{` + base + `,"userIdentity":{"Type":"Root"}}`,
		`{` + base + `,"resources":[{"arn":"x"}]}`,
		`{` + base + `,"eventName":"Again"}`,
		`{` + base + `,"userIdentity":{"type":"IAMUser","userName":"a"},"userIdentity":{"type":"Root"}}`,
		`{` + base + `,"resources":[{"ARN":"a"}],"resources":null}`,
		`{` + base + `,"event\u0049D":"x"}`,
		"{" + base + `,"eventſource":"x"}`,
		// Invalid JSON.
		`{` + base + `,}`,
		`{` + base + `,"n":01}`,
		`{` + base + `,"n":1.}`,
		`{` + base + `,"n":-}`,
		`{` + base + `,"n":.5}`,
		`{` + base + `,"n":1e}`,
		`{` + base + `,"n":+1}`,
		`{` + base + `,"n":tru}`,
		`{` + base + `,"n":nul}`,
		`{` + base + `,"n":truex}`,
		`{` + base + `,"s":"\x"}`,
		`{` + base + `,"s":"\u12G4"}`,
		"{" + base + ",\"s\":\"a\tb\"}",
		"{" + base + ",\"s\":\"a\nb\"}",
		`{` + base + `,"s":"abc}`,
		`{` + base + `,"o":{"a":1,}}`,
		`{` + base + `,"o":{"a" 1}}`,
		`{` + base + `,"o":{1:1}}`,
		`{` + base + `,"o":[1,]}`,
		`{` + base + `,"o":[1 2]}`,
		`{` + base + `,"o":{"a":[}]}`,
		`{` + base + `,"o":[{]}`,
		`{` + base,
		`{` + base + `}}`,
		`{` + base + `} `,
		` {` + base + `}`,
		`{` + base + `,"o":` + strings.Repeat("[", 10001) + strings.Repeat("]", 10001) + `}`,
	}
	return fast, slow
}

func TestRecordParserMatchesJSON(t *testing.T) {
	const base = `"eventID":"e-1","eventTime":"2026-11-01T10:00:00Z","eventName":"PutObject","eventSource":"s3.amazonaws.com","awsRegion":"us-east-1"`
	fast, slow := parserCases()
	p := &recordParser{}
	for _, r := range fast {
		if !checkParser(t, p, []byte(r)) {
			t.Errorf("recordParser left %s to encoding/json; want it parsed on the fast path", r)
		}
	}
	for _, r := range slow {
		if checkParser(t, p, []byte(r)) {
			t.Errorf("recordParser parsed %s; want it left to encoding/json", r)
		}
	}
	// Deep but legal nesting is skipped on the fast path.
	deep := `{` + base + `,"o":` + strings.Repeat(`{"a":[`, 500) + strings.Repeat(`]}`, 500) + `}`
	if !checkParser(t, p, []byte(deep)) {
		t.Errorf("recordParser left a deeply nested record to encoding/json")
	}
}

// TestRecordParserMutations breaks realistic records at random (bytes dropped, doubled or
// replaced by JSON's syntax characters) and checks each against encoding/json.
func TestRecordParserMutations(t *testing.T) {
	g := &benchGen{rng: rand.New(rand.NewPCG(3, 4))}
	rng := rand.New(rand.NewPCG(5, 6))
	p := &recordParser{}
	const chars = "{}[]\":,\\ \t\n0123456789-+.eEtrufalsn\x00\x1f\xff\u00e9Aa"
	fastN := 0
	for i := range 6000 {
		raw := g.record(time.Date(2026, 11, 1, 0, 0, i%60, 0, time.UTC), "111122223333", "us-east-1")
		for range 1 + rng.IntN(2) {
			j := rng.IntN(len(raw))
			switch rng.IntN(4) {
			case 0:
				raw = append(raw[:j:j], raw[j+1:]...)
			case 1:
				raw = append(raw[:j+1:j+1], raw[j:]...)
			default:
				raw = bytes.Clone(raw)
				raw[j] = chars[rng.IntN(len(chars))]
			}
		}
		if checkParser(t, p, raw) {
			fastN++
		}
	}
	if fastN == 0 {
		t.Errorf("no mutated record was parsed on the fast path")
	}
}

func FuzzParseRecord(f *testing.F) {
	g := &benchGen{rng: rand.New(rand.NewPCG(7, 8))}
	for i := range 5 {
		f.Add(g.record(time.Date(2026, 11, 1, 0, 0, i, 0, time.UTC), "111122223333", "us-east-1"))
	}
	fast, slow := parserCases()
	for _, r := range append(fast, slow...) {
		if len(r) < 4096 {
			f.Add([]byte(r))
		}
	}
	p := &recordParser{}
	f.Fuzz(func(t *testing.T, raw []byte) { checkParser(t, p, raw) })
}

// TestParseEventTime checks the eventTime fast path against time.Parse(time.RFC3339) on
// every month and day edge, leap years and out-of-range fields included.
func TestParseEventTime(t *testing.T) {
	n := 0
	for _, y := range []int{0, 1900, 2000, 2023, 2024, 2026, 2100, 9999} {
		for mo := 0; mo <= 13; mo++ {
			for d := 0; d <= 32; d++ {
				for _, hms := range [][3]int{{0, 0, 0}, {23, 59, 59}, {24, 0, 0}, {12, 60, 0}, {12, 0, 60}} {
					s := fmt.Sprintf("%04d-%02d-%02dT%02d:%02d:%02dZ", y, mo, d, hms[0], hms[1], hms[2])
					want, err := time.Parse(time.RFC3339, s)
					got, ok := parseEventTime(jstr{q: []byte(`"` + s + `"`)})
					if ok != (err == nil) || ok && !reflect.DeepEqual(got, want.UTC()) {
						t.Fatalf("parseEventTime(%s) = %v, %v; time.Parse: %v, %v", s, got, ok, want, err)
					}
					if ok {
						n++
					}
				}
			}
		}
	}
	for _, s := range []string{"2026-11-01T10:00:00z", "2026-11-01t10:00:00Z", "2026-11-01T10:00:0aZ", "2026-1a-01T10:00:00Z", "-026-11-01T10:00:00Z"} {
		if _, ok := parseEventTime(jstr{q: []byte(`"` + s + `"`)}); ok {
			t.Errorf("parseEventTime(%s) took it; want it left to time.Parse", s)
		}
	}
	if n == 0 {
		t.Fatal("no valid time checked")
	}
}
