package recorder

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/bannin/bannin/internal/awserr"
	"github.com/bannin/bannin/internal/store"
	"github.com/bannin/bannin/internal/wire/config"
)

// selectCase is one record of testdata/select.cases.
type selectCase struct {
	name, query, err string
	limit            int
	rows             []string
	next             bool
	line             int
}

func readSelectCases(t *testing.T, file string) []selectCase {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cases []selectCase
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, val, ok := strings.Cut(line, ":")
		if !ok {
			t.Fatalf("%s:%d: want key: value", file, n)
		}
		val = strings.TrimSpace(val)
		if key == "case" {
			cases = append(cases, selectCase{name: val, line: n})
			continue
		}
		if len(cases) == 0 {
			t.Fatalf("%s:%d: %s before any case", file, n, key)
		}
		c := &cases[len(cases)-1]
		switch key {
		case "query":
			c.query = val
		case "limit":
			if c.limit, err = strconv.Atoi(val); err != nil {
				t.Fatalf("%s:%d: %v", file, n, err)
			}
		case "row":
			c.rows = append(c.rows, val)
		case "next":
			c.next = val == "yes"
		case "error":
			c.err = val
		default:
			t.Fatalf("%s:%d: unknown key %s", file, n, key)
		}
	}
	return cases
}

// fixture is one resource of testdata/resources.json.
type fixture struct {
	Type    string            `json:"type"`
	ID      string            `json:"id"`
	Name    string            `json:"name"`
	ARN     string            `json:"arn"`
	Config  json.RawMessage   `json:"config"`
	Tags    map[string]string `json:"tags"`
	Deleted bool              `json:"deleted"`
}

const fixtureAccount, fixtureRegion = "111122223333", "us-east-1"

// loadFixtures records the resources of testdata/resources.json through the recorder.
func loadFixtures(t *testing.T) (*Service, store.Store) {
	t.Helper()
	b, err := os.ReadFile("testdata/resources.json")
	if err != nil {
		t.Fatal(err)
	}
	var fs []fixture
	if err := json.Unmarshal(b, &fs); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st := openStore(t)
	s := New(Options{Store: st})
	var pos int64
	putRecorder(t, st, fixtureAccount, fixtureRegion, true, nil)
	drain(t, s, st, &pos)
	err = st.Update(ctx, func(tx store.Tx) error {
		for _, f := range fs {
			r := &store.Resource{Account: fixtureAccount, Region: fixtureRegion, Type: f.Type, ID: f.ID, Name: f.Name, ARN: f.ARN, Config: f.Config, Tags: f.Tags}
			if err := tx.PutResource(ctx, r); err != nil {
				return err
			}
			if f.Deleted {
				if err := tx.DeleteResource(ctx, fixtureAccount, fixtureRegion, f.Type, f.ID); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	drain(t, s, st, &pos)
	return s, st
}

func TestSelectCases(t *testing.T) {
	_, st := loadFixtures(t)
	ctx := context.Background()
	for _, c := range readSelectCases(t, "testdata/select.cases") {
		t.Run(c.name, func(t *testing.T) {
			for _, indexed := range []bool{true, false} {
				var out *config.SelectResourceConfigResponse
				var err error
				st.View(ctx, func(tx store.ReadTx) error {
					out, err = runSelect(ctx, tx, fixtureAccount, fixtureRegion, c.query, c.limit, "", indexed)
					return nil
				})
				if c.err != "" {
					code, sub, _ := strings.Cut(c.err, ":")
					ae, ok := awserr.As(err)
					if !ok || ae.AWSErrorCode() != code || !strings.Contains(ae.AWSMessage(), strings.TrimSpace(sub)) {
						t.Errorf("line %d: %s (indexed %v) = %v; want %s", c.line, c.query, indexed, err, c.err)
					}
					continue
				}
				if err != nil {
					t.Fatalf("line %d: %s (indexed %v): %v", c.line, c.query, indexed, err)
				}
				got, want := out.Results, c.rows
				if want == nil {
					want = []string{}
				}
				if !strings.Contains(strings.ToUpper(c.query), "ORDER BY") {
					got, want = slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want))
				}
				if !slices.Equal(got, want) {
					t.Errorf("line %d: %s (indexed %v) = %q; want %q", c.line, c.query, indexed, got, want)
				}
				if (out.NextToken != nil) != c.next {
					t.Errorf("line %d: %s (indexed %v) next token %v; want %v", c.line, c.query, indexed, out.NextToken != nil, c.next)
				}
			}
		})
	}
}

// TestSelectPaging walks every page of a query and gets every row once.
func TestSelectPaging(t *testing.T) {
	_, st := loadFixtures(t)
	ctx := context.Background()
	var all []string
	token := ""
	for range 10 {
		var out *config.SelectResourceConfigResponse
		var err error
		st.View(ctx, func(tx store.ReadTx) error {
			out, err = runSelect(ctx, tx, fixtureAccount, fixtureRegion, "SELECT resourceId", 3, token, true)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, out.Results...)
		if out.NextToken == nil {
			break
		}
		token = *out.NextToken
	}
	if len(all) != 7 {
		t.Errorf("paged SELECT resourceId = %d rows %v; want the 7 live resources", len(all), all)
	}
	var err error
	st.View(ctx, func(tx store.ReadTx) error {
		_, err = runSelect(ctx, tx, fixtureAccount, fixtureRegion, "SELECT resourceType", 3, token, true)
		return nil
	})
	var nt *config.InvalidNextTokenException
	if !errors.As(err, &nt) {
		t.Errorf("a token of another query = %v; want InvalidNextTokenException", err)
	}
}
