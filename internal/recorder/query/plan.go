package query

import (
	"slices"
	"strings"
)

// indexedFields are the properties a store may index; their canonical spelling.
var indexedFields = []string{"resourceType", "resourceId", "accountId", "awsRegion", "resourceName", "tags.key", "tags.tag"}

// Plan is what a store can use to narrow the items it hands to Run: equality and IN
// conditions on indexed properties that every matching item satisfies, because they are
// top-level conjuncts of WHERE. A store may pass any superset of the matching items; Run
// applies the whole WHERE clause anyway.
type Plan struct {
	// ResourceTypes, when not nil, lists the only resource types that can match (empty:
	// nothing matches).
	ResourceTypes []string
	// Constraints are all the pushed-down conditions, resourceType ones included: an item
	// matches only if, for each constraint, its Field has one of Values.
	Constraints []Constraint
}

// Constraint says that Field must equal one of Values. Field is one of resourceType,
// resourceId, accountId, awsRegion, resourceName, tags.key and tags.tag (the tag as
// "key=value"); for the tags fields, any of the item's tags may supply the value.
type Constraint struct {
	Field  string
	Values []string
}

// Plan returns the pushed-down conditions of the query.
func (q *Query) Plan() Plan {
	var p Plan
	var conj []expr
	var flatten func(e expr)
	flatten = func(e expr) {
		if a, ok := e.(*andExpr); ok {
			flatten(a.l)
			flatten(a.r)
			return
		}
		if e != nil {
			conj = append(conj, e)
		}
	}
	flatten(q.where)
	for _, e := range conj {
		var prop path
		var lits []literal
		switch e := e.(type) {
		case *cmpExpr:
			if e.op != opEq {
				continue
			}
			prop, lits = e.prop, []literal{e.lit}
		case *inExpr:
			prop, lits = e.prop, e.lits
		default:
			continue
		}
		i := slices.IndexFunc(indexedFields, func(f string) bool { return strings.EqualFold(f, prop.raw) })
		if i < 0 {
			continue
		}
		c := Constraint{Field: indexedFields[i]}
		ok := true
		for _, l := range lits {
			if l.kind != litString {
				ok = false
				break
			}
			if !slices.Contains(c.Values, l.s) {
				c.Values = append(c.Values, l.s)
			}
		}
		if !ok {
			continue
		}
		p.Constraints = append(p.Constraints, c)
		if c.Field == "resourceType" {
			if p.ResourceTypes == nil {
				p.ResourceTypes = slices.Clone(c.Values)
			} else {
				p.ResourceTypes = slices.DeleteFunc(p.ResourceTypes, func(t string) bool { return !slices.Contains(c.Values, t) })
			}
		}
	}
	return p
}
