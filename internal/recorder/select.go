package recorder

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/bannin/bannin/internal/call"
	"github.com/bannin/bannin/internal/recorder/query"
	"github.com/bannin/bannin/internal/store"
	"github.com/bannin/bannin/internal/wire/config"
)

// SelectResourceConfig runs an advanced query over the current configuration items of
// the caller's account and region.
func (s *Service) SelectResourceConfig(ctx context.Context, in *config.SelectResourceConfigRequest) (*config.SelectResourceConfigResponse, error) {
	c := call.From(ctx)
	limit := 0
	if in.Limit != nil {
		limit = int(*in.Limit)
	}
	return runSelect(ctx, c.Tx, c.Account, c.Region, aws.ToString(in.Expression), limit, aws.ToString(in.NextToken), true)
}

// runSelect parses and runs an advanced query; indexed uses the query's pushed-down
// conditions to read fewer items (false: a full scan, for tests that compare the two).
func runSelect(ctx context.Context, tx store.ReadTx, account, region, expr string, limit int, token string, indexed bool) (*config.SelectResourceConfigResponse, error) {
	q, err := query.Parse(expr)
	if err != nil {
		var qe *query.Error
		if errors.As(err, &qe) {
			return nil, &config.InvalidExpressionException{Message: aws.String(qe.Reason)}
		}
		return nil, &config.InvalidExpressionException{Message: aws.String(err.Error())}
	}
	plan := query.Plan{}
	if indexed {
		plan = q.Plan()
	}
	rows, next, err := selectItems(ctx, tx, account, region, q, plan, limit, token)
	if err != nil {
		return nil, err
	}
	out := &config.SelectResourceConfigResponse{Results: rows, QueryInfo: &config.QueryInfo{SelectFields: []config.FieldInfo{}}}
	if out.Results == nil {
		out.Results = []string{}
	}
	for _, f := range q.SelectFields() {
		out.QueryInfo.SelectFields = append(out.QueryInfo.SelectFields, config.FieldInfo{Name: aws.String(f)})
	}
	if next != "" {
		out.NextToken = aws.String(next)
	}
	return out, nil
}

// selectItems runs q over the current items of an account and region, reading only the
// candidates the query's pushed-down conditions allow.
func selectItems(ctx context.Context, tx store.ReadTx, account, region string, q *query.Query, plan query.Plan, limit int, token string) ([]string, string, error) {
	var scanErr error
	items := candidates(ctx, tx, account, region, plan, &scanErr)
	rows, next, err := q.Run(items, limit, token)
	if scanErr != nil {
		return nil, "", scanErr
	}
	switch {
	case errors.Is(err, query.ErrInvalidLimit):
		return nil, "", &config.InvalidLimitException{Message: aws.String(err.Error())}
	case errors.Is(err, query.ErrInvalidNextToken):
		return nil, "", invalidToken()
	case err != nil:
		var qe *query.Error
		if errors.As(err, &qe) {
			return nil, "", &config.InvalidExpressionException{Message: aws.String(qe.Reason)}
		}
		return nil, "", err
	}
	return rows, next, nil
}

// indexPriority orders the indexed fields by how few items one value usually selects.
var indexPriority = []string{"resourceId", "resourceName", "tags.tag", "tags.key"}

// candidates yields the live current items that can satisfy the plan, decoded in the
// ConfigurationItem API shape that package query reads, in a stable order. A scan error
// stops the sequence and is left in *errp.
func candidates(ctx context.Context, tx store.ReadTx, account, region string, plan query.Plan, errp *error) iter.Seq[map[string]any] {
	return func(yield func(map[string]any) bool) {
		for _, c := range plan.Constraints {
			if c.Field == "accountId" && !slices.Contains(c.Values, account) ||
				c.Field == "awsRegion" && !slices.Contains(c.Values, region) {
				return
			}
		}
		emit := func(raw []byte) bool {
			m, live, err := queryDoc(raw)
			if err != nil {
				*errp = err
				return false
			}
			return !live || yield(m)
		}
		for _, field := range indexPriority {
			i := slices.IndexFunc(plan.Constraints, func(c query.Constraint) bool { return c.Field == field })
			if i < 0 {
				continue
			}
			seen := map[string]bool{}
			for _, v := range plan.Constraints[i].Values {
				prefix := scopeKey(account, region) + field + sep + v + sep
				after := ""
				for {
					kvs, err := tx.List(ctx, indexBucket, prefix, after, 500)
					if err != nil {
						*errp = fmt.Errorf("recorder: list index: %w", err)
						return
					}
					for _, kv := range kvs {
						rest := kv.Key[len(prefix):]
						if seen[rest] {
							continue
						}
						seen[rest] = true
						typ, id, ok := cutSep(rest)
						if !ok || plan.ResourceTypes != nil && !slices.Contains(plan.ResourceTypes, typ) {
							continue
						}
						raw, err := tx.Get(ctx, currentBucket, resourceKey(account, region, typ, id))
						if err != nil {
							*errp = fmt.Errorf("recorder: read item: %w", err)
							return
						}
						if raw != nil && !emit(raw) {
							return
						}
					}
					if len(kvs) < 500 {
						break
					}
					after = kvs[len(kvs)-1].Key
				}
			}
			return
		}
		types := []string{""}
		if plan.ResourceTypes != nil {
			types = slices.Clone(plan.ResourceTypes)
			slices.Sort(types)
		}
		for _, typ := range types {
			stopped := false
			err := scanCurrent(ctx, tx, account, region, typ, func(_ string, raw []byte) (bool, error) {
				if !emit(raw) {
					stopped = true
					return false, nil
				}
				return true, nil
			})
			if err != nil {
				*errp = err
				return
			}
			if stopped {
				return
			}
		}
	}
}

func cutSep(s string) (string, string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == sep[0] {
			return s[:i], s[i+1:], true
		}
	}
	return "", "", false
}

// apiNames renames the notification-format keys of an item to the API's.
var apiNames = map[string]string{
	"configurationItemVersion":  "version",
	"awsAccountId":              "accountId",
	"ARN":                       "arn",
	"configurationStateMd5Hash": "configurationItemMD5Hash",
}

// queryDoc decodes a stored record into the document package query evaluates, and
// reports whether the item is live.
func queryDoc(raw []byte) (map[string]any, bool, error) {
	var r struct {
		Item map[string]any `json:"item"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, false, fmt.Errorf("recorder: decode item: %w", err)
	}
	m := r.Item
	if m == nil {
		return nil, false, nil
	}
	if st, _ := m["configurationItemStatus"].(string); isDeleted(st) {
		return nil, false, nil
	}
	for from, to := range apiNames {
		if v, ok := m[from]; ok {
			delete(m, from)
			m[to] = v
		}
	}
	return m, true, nil
}
