package sqlite

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
)

func TestEncodeTagsMatchesMarshal(t *testing.T) {
	alphabet := []string{"a", "Z", "0", " ", "-", "_", ":", "/", "=", "+", ".", "@", "<", ">", "&", `"`, `\`, "\n", "\t", "\x01", "é", "\u2028", "日", "\xff", "~", "\x7f"}
	rng := rand.New(rand.NewPCG(1, 2))
	word := func() string {
		s := ""
		for range rng.IntN(12) {
			s += alphabet[rng.IntN(len(alphabet))]
		}
		return s
	}
	cases := []map[string]string{nil, {}, {"k": "v"}, {"b": "2", "a": "1", "aa": "", "": "empty key"}}
	for range 500 {
		m := map[string]string{}
		for range rng.IntN(8) {
			m[word()] = word()
		}
		cases = append(cases, m)
	}
	for _, m := range cases {
		got, plain, err := encodeTags(m)
		want, werr := json.Marshal(m)
		if err != nil || werr != nil || string(got) != string(want) {
			t.Fatalf("encodeTags(%q) = %s, %v; want %s, %v", m, got, err, want, werr)
		}
		if plain {
			var back map[string]string
			if err := json.Unmarshal(got, &back); err != nil || !reflect.DeepEqual(back, m) {
				t.Fatalf("encodeTags(%q) = %s, plain; decoding it gives %q, %v", m, got, back, err)
			}
		}
	}
}

func TestTagCacheCopies(t *testing.T) {
	var c tagCache
	b := []byte(`{"a":"1","b":"2"}`)
	for i := range 3 {
		m, err := c.decode(b)
		if err != nil {
			t.Fatal(err)
		}
		if want := map[string]string{"a": "1", "b": "2"}; !reflect.DeepEqual(m, want) {
			t.Fatalf("decode #%d = %v; want %v", i, m, want)
		}
		m["a"] = "changed by the caller" // must not reach the next caller
		m["c"] = "3"
	}
	for i := range 2 * tagCacheMax {
		m, err := c.decode(fmt.Appendf(nil, `{"n":"%d"}`, i))
		if err != nil || m["n"] != fmt.Sprint(i) {
			t.Fatalf("decode %d = %v, %v", i, m, err)
		}
	}
	if len(c.m) > tagCacheMax {
		t.Errorf("cache holds %d entries; want at most %d", len(c.m), tagCacheMax)
	}
	put := map[string]string{"k": "v"}
	c.put([]byte(`{"k":"v"}`), put)
	put["k"] = "changed after put"
	if m, err := c.decode([]byte(`{"k":"v"}`)); err != nil || m["k"] != "v" {
		t.Errorf("decode after put = %v, %v; want k=v", m, err)
	}
	if _, err := c.decode([]byte(`{"a":`)); err == nil {
		t.Errorf("decode of a truncated document = nil error; want one")
	}
}
