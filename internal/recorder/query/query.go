// Package query parses and evaluates AWS Config advanced queries, the SQL SELECT subset
// behind SelectResourceConfig and SelectAggregateResourceConfig, over configuration
// items given as decoded JSON documents.
//
// The language and its limits follow the AWS Config Developer Guide pages "Querying the
// Current Configuration State of AWS Resources" (limitations, CIDR behaviour, arrays) and
// "Query Components": SELECT property [, ...] [WHERE condition] [GROUP BY property [, ...]]
// [ORDER BY property [ASC|DESC] [, ...]], with no FROM clause. Keywords are
// case-insensitive; property names match the configuration item's keys exactly, or
// case-insensitively when no exact key exists (AWS does not support mismatched
// identifiers, so a query that spells one property two ways is refused).
//
// A condition on a path that crosses an array holds when any element satisfies it, and
// each condition is applied to all elements separately, as AWS documents under "Multiple
// properties within an array".
package query

import (
	"errors"
	"strings"
)

// Error is a query AWS Config would refuse; Reason names what is wrong. The Config
// service returns it as InvalidExpressionException with Reason as the message.
type Error struct {
	Reason string
}

func (e *Error) Error() string { return "query: " + e.Reason }

// ErrInvalidNextToken is returned (wrapped) by Run when the token was not issued for this
// query. The Config service returns it as InvalidNextTokenException.
var ErrInvalidNextToken = errors.New("query: invalid next token")

// ErrInvalidLimit is returned (wrapped) by Run for a limit outside 0..100. The Config
// service returns it as InvalidLimitException.
var ErrInvalidLimit = errors.New("query: limit must be between 0 and 100")

// DefaultLimit is the page size when the caller passes a limit of 0.
const DefaultLimit = 100

// MaxExpressionLength is the longest expression SelectResourceConfig accepts.
const MaxExpressionLength = 4096

// scalarFields are the top-level scalar properties SELECT * returns, in AWS's order.
var scalarFields = []string{"accountId", "awsRegion", "arn", "availabilityZone",
	"configurationItemCaptureTime", "resourceCreationTime", "resourceId", "resourceName",
	"resourceType", "version"}

// Query is a parsed advanced query, safe for concurrent Run calls.
type Query struct {
	src     string
	selects []selectItem
	where   expr // nil when there is no WHERE clause
	groupBy []path
	orderBy []orderItem
	// aggs are the distinct aggregates computed per group: those selected and those
	// ORDER BY refers to.
	aggs      []aggregate
	aggregate bool // an aggregate appears, or GROUP BY is present
}

// selectItem is one output column: a property or an aggregate (agg >= 0 indexes Query.aggs).
type selectItem struct {
	name string // the QueryInfo.SelectFields name
	prop path
	agg  int
}

// orderItem is one ORDER BY key.
type orderItem struct {
	prop path
	agg  int // >= 0: order by this aggregate
	desc bool
}

// aggregate is COUNT/MIN/MAX/SUM/AVG over a property, or COUNT(*) when prop is empty.
type aggregate struct {
	fn   string
	prop path
	name string
}

// path is a dotted property path, split into its parts.
type path struct {
	raw   string
	parts []string
}

// SelectFields names the result columns, as QueryInfo.SelectFields reports them.
func (q *Query) SelectFields() []string {
	out := make([]string, len(q.selects))
	for i, s := range q.selects {
		out[i] = s.name
	}
	return out
}

// Expression is the source text the query was parsed from.
func (q *Query) Expression() string { return q.src }

func newPath(raw string) path {
	return path{raw: raw, parts: strings.Split(raw, ".")}
}
