package query

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"iter"
	"slices"
	"strconv"
	"strings"
)

// unqueryableStatus are configurationItemStatus values advanced query does not return:
// resources not configured for recording, and deleted resources.
var unqueryableStatus = map[string]bool{
	"ResourceNotRecorded":        true,
	"ResourceDeleted":            true,
	"ResourceDeletedNotRecorded": true,
}

// Run evaluates the query over items, the current configuration items (decoded JSON
// objects), and returns one page of result rows, each a JSON object of the selected
// properties nested as in the item, plus the token of the next page ("" on the last).
//
// limit is the page size, 0..100 (0 means DefaultLimit); token is "" or a token an
// earlier Run of the same query returned. Pages are positions in the result, so items
// must come in a stable order between calls (the store's natural order is fine): rows
// without ORDER BY come in item order. The whole WHERE clause is always applied, so items
// may be pre-filtered with Plan or not at all.
func (q *Query) Run(items iter.Seq[map[string]any], limit int, token string) (rows []string, next string, err error) {
	if limit < 0 || limit > 100 {
		return nil, "", fmt.Errorf("%w: got %d", ErrInvalidLimit, limit)
	}
	if limit == 0 {
		limit = DefaultLimit
	}
	offset, err := q.decodeToken(token)
	if err != nil {
		return nil, "", err
	}
	if q.aggregate {
		return q.runAggregate(items, offset, limit)
	}
	sel := q.selectTree()
	if len(q.orderBy) == 0 {
		// Stream: project only the rows of this page and stop one match past it.
		n := 0
		more := false
		d := &doc{}
		for m := range items {
			d.reset(m)
			if !q.match(d) {
				continue
			}
			if n >= offset+limit {
				more = true
				break
			}
			if n >= offset {
				row, err := q.render(sel.projectDoc(d))
				if err != nil {
					return nil, "", err
				}
				rows = append(rows, row)
			}
			n++
		}
		if more {
			next = q.encodeToken(offset + limit)
		}
		return rows, next, nil
	}
	type keyed struct {
		d    *doc
		keys []any
	}
	var all []keyed
	scratch := &doc{}
	for m := range items {
		scratch.reset(m)
		if !q.match(scratch) {
			continue
		}
		d := &doc{m: m, norm: scratch.norm}
		scratch.norm = nil
		k := keyed{d: d, keys: make([]any, len(q.orderBy))}
		for i, o := range q.orderBy {
			k.keys[i] = sortKey(d, o)
		}
		all = append(all, k)
	}
	slices.SortStableFunc(all, func(a, b keyed) int {
		for i, o := range q.orderBy {
			if c := compareSortKeys(a.keys[i], b.keys[i], o.desc); c != 0 {
				return c
			}
		}
		return 0
	})
	for i := offset; i < len(all) && i < offset+limit; i++ {
		row, err := q.render(sel.projectDoc(all[i].d))
		if err != nil {
			return nil, "", err
		}
		rows = append(rows, row)
	}
	if offset+limit < len(all) {
		next = q.encodeToken(offset + limit)
	}
	return rows, next, nil
}

// match reports whether a configuration item is queryable and satisfies WHERE.
func (q *Query) match(d *doc) bool {
	if q.where != nil && !q.where.eval(d) {
		return false
	}
	s, ok := d.m["configurationItemStatus"].(string)
	return !ok || !unqueryableStatus[s]
}

func (q *Query) selectTree() *ptree {
	t := &ptree{}
	for _, s := range q.selects {
		if s.agg < 0 {
			t.add(s.prop.parts)
		}
	}
	return t
}

func (q *Query) render(n *node) (string, error) {
	b, err := json.Marshal(n)
	if err != nil {
		return "", fmt.Errorf("query: render row: %w", err)
	}
	return string(b), nil
}

// sortKey is the value a row sorts by: the least value of the property ascending, the
// greatest descending, nil when the row has none.
func sortKey(d *doc, o orderItem) any {
	var best any
	d.values(o.prop, func(v any) bool {
		if best == nil {
			best = v
			return true
		}
		c := compareValues(v, best)
		if (!o.desc && c < 0) || (o.desc && c > 0) {
			best = v
		}
		return true
	})
	return best
}

// compareSortKeys orders two keys, missing values last in either direction.
func compareSortKeys(a, b any, desc bool) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return 1
	case b == nil:
		return -1
	}
	c := compareValues(a, b)
	if desc {
		c = -c
	}
	return c
}

// compareValues orders JSON scalars: numbers numerically, strings bytewise, false before
// true; across types numbers < strings < booleans.
func compareValues(a, b any) int {
	ra, rb := rank(a), rank(b)
	if ra != rb {
		return ra - rb
	}
	switch ra {
	case 0:
		return cmpFloat(toFloat(a), toFloat(b))
	case 1:
		return strings.Compare(a.(string), b.(string))
	case 2:
		ab, bb := a.(bool), b.(bool)
		switch {
		case ab == bb:
			return 0
		case !ab:
			return -1
		}
		return 1
	}
	return 0
}

func rank(v any) int {
	switch v.(type) {
	case float64, json.Number, int, int64:
		return 0
	case string:
		return 1
	case bool:
		return 2
	}
	return 3
}

func toFloat(v any) float64 {
	switch x := v.(type) {
	case float64:
		return x
	case json.Number:
		f, _ := x.Float64()
		return f
	case int:
		return float64(x)
	case int64:
		return float64(x)
	}
	return 0
}

func (q *Query) hash() string {
	h := fnv.New64a()
	h.Write([]byte(q.src))
	return strconv.FormatUint(h.Sum64(), 36)
}

// encodeToken makes the opaque NextToken for the page starting at offset.
func (q *Query) encodeToken(offset int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("v1:" + q.hash() + ":" + strconv.Itoa(offset)))
}

func (q *Query) decodeToken(token string) (int, error) {
	if token == "" {
		return 0, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return 0, fmt.Errorf("%w: not a token", ErrInvalidNextToken)
	}
	parts := strings.Split(string(b), ":")
	if len(parts) != 3 || parts[0] != "v1" {
		return 0, fmt.Errorf("%w: not a token", ErrInvalidNextToken)
	}
	if parts[1] != q.hash() {
		return 0, fmt.Errorf("%w: issued for a different expression", ErrInvalidNextToken)
	}
	n, err := strconv.Atoi(parts[2])
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%w: bad position", ErrInvalidNextToken)
	}
	return n, nil
}
