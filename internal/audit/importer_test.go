package audit

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/bannin/bannin/internal/store"
)

func testRecord(i int, extra string) string {
	return fmt.Sprintf(`{"eventVersion":"1.08","eventID":"e-%04d","eventTime":"2026-11-01T10:%02d:00Z",`+
		`"eventName":"PutObject","eventSource":"s3.amazonaws.com","awsRegion":"us-east-1",`+
		`"recipientAccountId":"111122223333","userIdentity":{"type":"IAMUser","userName":"alice"},`+
		`"resources":[{"type":"AWS::S3::Bucket","ARN":"arn:aws:s3:::b%d"}]%s}`, i, i%60, i, extra)
}

// wantEvents decodes a log file the plain way (encoding/json, parseRecordJSON), for
// comparison with readLogFile.
func wantEvents(t *testing.T, doc string) []*store.Event {
	t.Helper()
	var f struct{ Records []json.RawMessage }
	if err := json.Unmarshal([]byte(doc), &f); err != nil {
		t.Fatalf("test document does not decode: %v", err)
	}
	var evs []*store.Event
	for _, r := range f.Records {
		ev, err := parseRecordJSON(r)
		if err != nil {
			t.Fatalf("parseRecordJSON: %v", err)
		}
		evs = append(evs, ev)
	}
	return evs
}

func readFile(t *testing.T, name string, data []byte) ([]*store.Event, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	var evs []*store.Event
	_, err := readLogFile(path, func(ev *store.Event) { evs = append(evs, ev) })
	return evs, err
}

func TestReadLogFile(t *testing.T) {
	tricky := []string{
		`,"requestParameters":{"key":"a]b}c{[d","q":"say \"hi\" ]","path":"C:\\dir\\"}`,
		`,"errorMessage":"\\\"\\","list":[[],[{}],"]"],"n":-1.5e3,"t":true,"z":null`,
		`,"u":"\u00e9\u2028 \ud83d\ude00"`,
		"",
		// Records recordParser leaves to encoding/json (a key it would fold into eventID,
		// a key given twice), between ones it parses.
		`,"eventid":"e-folded"`,
		`,"eventName":"GetObject"`,
		`,"userIdentity":{"type":"Root","sessionContext":{"attributes":{"mfaAuthenticated":"true"}}}`,
	}
	var recs []string
	for i, x := range tricky {
		recs = append(recs, testRecord(i, x))
	}
	docs := map[string]string{
		"plain":        `{"Records":[` + strings.Join(recs, ",") + `]}`,
		"spaced":       " \n{ \"Records\" :\t[\n  " + strings.Join(recs, " ,\n  ") + "\n ] \n}\n",
		"other keys":   `{"Digest":{"x":[1,2,{"y":"]"}]},"Records":[` + strings.Join(recs, ",") + `],"Trailer":"}"}`,
		"escaped key":  `{"Rec\u006frds":[` + recs[0] + `]}`,
		"empty":        `{"Records":[]}`,
		"empty spaced": `{ "Records" : [ ] }`,
	}
	for name, doc := range docs {
		want := wantEvents(t, doc)
		got, err := readFile(t, "f.json", []byte(doc))
		if err != nil {
			t.Errorf("%s: readLogFile = %v; want no error", name, err)
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: readLogFile = %d events %+v; want %d %+v", name, len(got), got, len(want), want)
		}
		var gz bytes.Buffer
		zw := gzip.NewWriter(&gz)
		zw.Write([]byte(doc))
		zw.Close()
		got, err = readFile(t, "f.json.gz", gz.Bytes())
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s gzipped: readLogFile = %d events, %v; want %d events", name, len(got), err, len(want))
		}
		// Two gzip members, as concatenated .gz files are.
		gz.Reset()
		for _, part := range []string{doc[:len(doc)/3], doc[len(doc)/3:]} {
			zw := gzip.NewWriter(&gz)
			zw.Write([]byte(part))
			zw.Close()
		}
		got, err = readFile(t, "f.json.gz", gz.Bytes())
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s in two gzip members: readLogFile = %d events, %v; want %d events", name, len(got), err, len(want))
		}
	}

	bad := map[string]string{
		"no records":         `{"Other":[]}`,
		"not an object":      `[` + recs[0] + `]`,
		"truncated":          `{"Records":[` + recs[0],
		"truncated string":   `{"Records":[{"eventID":"abc`,
		"missing comma":      `{"Records":[` + recs[0] + recs[1] + `]}`,
		"trailing comma":     `{"Records":[` + recs[0] + `,]}`,
		"trailing data":      `{"Records":[` + recs[0] + `]} x`,
		"bad record":         `{"Records":[` + recs[0] + `,{"eventName":"X"}]}`,
		"record not object":  `{"Records":[` + recs[0] + `,"str"]}`,
		"mismatched bracket": `{"Records":[{"eventID":"a"]]}`,
		"bad other value":    `{"x":tru,"Records":[` + recs[0] + `]}`,
		"missing colon":      `{"Records" [` + recs[0] + `]}`,
		"bad key":            `{Records:[]}`,
		"empty file":         ``,
		"records not array":  `{"Records":{}}`,
	}
	for name, doc := range bad {
		got, err := readFile(t, "f.json", []byte(doc))
		if err == nil {
			t.Errorf("%s: readLogFile(%s) = %d events, no error; want an error", name, doc, len(got))
		}
		if json.Valid([]byte(doc)) && strings.Contains(doc, `"Records":[`) && name != "bad record" && name != "record not object" {
			t.Errorf("%s: test document is valid JSON; want a malformed one", name)
		}
	}
	if _, err := readFile(t, "f.json", []byte(`{"Records":[`+recs[0]+`,{"eventName":"X"}]}`)); err == nil || !strings.Contains(err.Error(), "record 2") {
		t.Errorf("readLogFile with a bad second record = %v; want an error naming record 2", err)
	}
}

// TestImportKeepsFileOrder imports many small files with several parsers and checks that the
// events arrive in file order.
func TestImportKeepsFileOrder(t *testing.T) {
	dir := t.TempDir()
	n := 0
	for f := range 40 {
		var recs []string
		for range f % 4 {
			recs = append(recs, testRecord(n, ""))
			n++
		}
		doc := `{"Records":[` + strings.Join(recs, ",") + `]}`
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%03d.json", f)), []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(dir, "f999.json"), []byte(`{"Records":[{]}`), 0o644)
	var got []string
	write := func(evs []*store.Event) (int, error) {
		for _, ev := range evs {
			got = append(got, ev.EventID)
		}
		return len(evs), nil
	}
	sum, err := importWith(t, dir, 7, write)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != n || sum.Inserted != n || len(sum.Malformed) != 1 || sum.Files != 41 {
		t.Fatalf("Import = %d events, summary %+v; want %d events, 41 files, 1 malformed", len(got), sum, n)
	}
	for i, id := range got {
		if want := fmt.Sprintf("e-%04d", i); id != want {
			t.Fatalf("event %d = %s; want %s (file order)", i, id, want)
		}
	}
}

// funcStore runs each Update function at once with no transaction: the test's Write does
// not use one.
type funcStore struct{}

func (funcStore) Update(ctx context.Context, fn func(tx store.Tx) error) error { return fn(nil) }
func (funcStore) View(ctx context.Context, fn func(tx store.ReadTx) error) error {
	return fn(nil)
}
func (funcStore) Close() error { return nil }

func importWith(t *testing.T, dir string, batch int, write func([]*store.Event) (int, error)) (*ImportSummary, error) {
	t.Helper()
	return Import(context.Background(), []string{dir}, ImportOptions{Store: funcStore{}, BatchSize: batch,
		Write: func(ctx context.Context, _ store.Tx, evs []*store.Event) (int, error) { return write(evs) }})
}
