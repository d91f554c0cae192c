package sqlite

import (
	"encoding/json"
	"maps"
	"slices"
	"sync"
	"unicode/utf8"
)

// tagCache remembers decoded tags columns by their exact bytes. Services read a resource and
// write it back on every tagging call, so the same few tag sets are decoded over and over on
// the writer; decoding is a pure function of the bytes, so a hit is exact. Each caller gets
// its own copy of the map.
type tagCache struct {
	mu sync.Mutex
	m  map[string]map[string]string
}

const tagCacheMax = 256

func (c *tagCache) decode(b []byte) (map[string]string, error) {
	c.mu.Lock()
	cached, ok := c.m[string(b)]
	c.mu.Unlock()
	if ok {
		return maps.Clone(cached), nil
	}
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	c.put(b, m)
	return m, nil
}

// put remembers that b decodes to m (a copy is kept): a resource written with these tags
// is then read back without decoding them.
func (c *tagCache) put(b []byte, m map[string]string) {
	m = maps.Clone(m)
	c.mu.Lock()
	if c.m == nil || len(c.m) >= tagCacheMax {
		c.m = make(map[string]map[string]string, tagCacheMax)
	}
	c.m[string(b)] = m
	c.mu.Unlock()
}

// encodeTags returns what json.Marshal returns for tags. Keys and values made only of
// printable ASCII that encoding/json writes as is are appended directly (sorted, as
// json.Marshal sorts map keys) and plain is true: decoding the result gives tags back
// exactly. Anything else goes through json.Marshal (which may, for instance, replace
// invalid UTF-8).
func encodeTags(tags map[string]string) (b []byte, plain bool, err error) {
	if tags == nil {
		b, err = json.Marshal(tags)
		return b, false, err
	}
	n := 2
	keys := make([]string, 0, len(tags))
	for k, v := range tags {
		if !plainJSON(k) || !plainJSON(v) {
			b, err = json.Marshal(tags)
			return b, false, err
		}
		keys = append(keys, k)
		n += len(k) + len(v) + 6
	}
	slices.Sort(keys)
	out := make([]byte, 0, n)
	out = append(out, '{')
	for i, k := range keys {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, '"')
		out = append(out, k...)
		out = append(out, `":"`...)
		out = append(out, tags[k]...)
		out = append(out, '"')
	}
	return append(out, '}'), true, nil
}

// plainJSON reports whether encoding/json writes s between quotes unchanged.
func plainJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}
