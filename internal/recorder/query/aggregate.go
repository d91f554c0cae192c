package query

import (
	"encoding/json"
	"iter"
	"slices"
	"strconv"
	"strings"
)

// aggState accumulates one aggregate over one group.
type aggState struct {
	count    int // COUNT: rows (with a value, for COUNT(prop))
	sum      float64
	nums     int // numeric values seen, for AVG
	min, max any
}

// group is one GROUP BY bucket.
type group struct {
	key  []any
	id   string
	rows int
	aggs []aggState
}

// runAggregate evaluates a query with aggregates or GROUP BY. A row whose group property
// has several values (an array) counts in each value's group; a row with none is left
// out. Groups come largest first (then by key) unless ORDER BY says otherwise.
func (q *Query) runAggregate(items iter.Seq[map[string]any], offset, limit int) ([]string, string, error) {
	groups := map[string]*group{}
	var order []*group
	get := func(key []any) *group {
		id := groupID(key)
		g, ok := groups[id]
		if !ok {
			g = &group{key: key, id: id, aggs: make([]aggState, len(q.aggs))}
			groups[id] = g
			order = append(order, g)
		}
		return g
	}
	var all *group // the one group when there is no GROUP BY
	if len(q.groupBy) == 0 {
		all = get([]any{})
	}
	d := &doc{}
	for m := range items {
		d.reset(m)
		if !q.match(d) {
			continue
		}
		if all != nil {
			all.rows++
			for i, a := range q.aggs {
				accumulate(&all.aggs[i], a, d)
			}
			continue
		}
		for _, key := range groupKeys(d, q.groupBy) {
			g := get(key)
			g.rows++
			for i, a := range q.aggs {
				accumulate(&g.aggs[i], a, d)
			}
		}
	}
	orderByAgg := false
	for _, o := range q.orderBy {
		orderByAgg = orderByAgg || o.agg >= 0
	}
	slices.SortStableFunc(order, func(a, b *group) int {
		for _, o := range q.orderBy {
			var av, bv any
			if o.agg >= 0 {
				av, bv = result(q.aggs[o.agg], a.aggs[o.agg]), result(q.aggs[o.agg], b.aggs[o.agg])
			} else {
				i := slices.IndexFunc(q.groupBy, func(g path) bool { return g.raw == o.prop.raw })
				av, bv = a.key[i], b.key[i]
			}
			if c := compareSortKeys(av, bv, o.desc); c != 0 {
				return c
			}
		}
		if a.rows != b.rows {
			return b.rows - a.rows
		}
		return strings.Compare(a.id, b.id)
	})
	var rows []string
	for i := offset; i < len(order) && i < offset+limit; i++ {
		g := order[i]
		n := newNode()
		for _, s := range q.selects {
			if s.agg >= 0 {
				if v := result(q.aggs[s.agg], g.aggs[s.agg]); v != nil {
					n.put([]string{s.name}, v)
				}
				continue
			}
			gi := slices.IndexFunc(q.groupBy, func(p path) bool { return p.raw == s.prop.raw })
			n.put(s.prop.parts, g.key[gi])
		}
		row, err := q.render(n)
		if err != nil {
			return nil, "", err
		}
		rows = append(rows, row)
	}
	next := ""
	// AWS does not paginate aggregate queries ordered by an aggregate.
	if offset+limit < len(order) && !orderByAgg {
		next = q.encodeToken(offset + limit)
	}
	return rows, next, nil
}

// groupID is a map key for a group: its values, each tagged with its JSON type.
func groupID(key []any) string {
	var b strings.Builder
	for _, v := range key {
		switch x := v.(type) {
		case string:
			b.WriteString("s")
			b.WriteString(strconv.Quote(x))
		default:
			j, _ := json.Marshal(x)
			b.WriteString("v")
			b.Write(j)
		}
		b.WriteByte(0)
	}
	return b.String()
}

// groupKeys is every combination of the group properties' values in d.
func groupKeys(d *doc, by []path) [][]any {
	keys := [][]any{{}}
	for _, p := range by {
		var vals []any
		d.values(p, func(v any) bool {
			if !slices.ContainsFunc(vals, func(w any) bool { return compareValues(v, w) == 0 && rank(v) == rank(w) }) {
				vals = append(vals, v)
			}
			return true
		})
		if len(vals) == 0 {
			return nil
		}
		var nk [][]any
		for _, k := range keys {
			for _, v := range vals {
				nk = append(nk, append(slices.Clip(k), v))
			}
		}
		keys = nk
	}
	return keys
}

func accumulate(s *aggState, a aggregate, d *doc) {
	if a.prop.raw == "" { // COUNT(*)
		s.count++
		return
	}
	seen := false
	d.values(a.prop, func(v any) bool {
		seen = true
		if rank(v) == 0 {
			s.sum += toFloat(v)
			s.nums++
		}
		if rank(v) < 3 {
			if s.min == nil || compareValues(v, s.min) < 0 {
				s.min = v
			}
			if s.max == nil || compareValues(v, s.max) > 0 {
				s.max = v
			}
		}
		return true
	})
	if seen {
		s.count++
	}
}

// result is an aggregate's value for a group; nil when it has none (MIN, MAX and AVG
// of no values).
func result(a aggregate, s aggState) any {
	switch a.fn {
	case "COUNT":
		return s.count
	case "SUM":
		return s.sum
	case "AVG":
		if s.nums == 0 {
			return nil
		}
		return s.sum / float64(s.nums)
	case "MIN":
		return s.min
	case "MAX":
		return s.max
	}
	return nil
}
