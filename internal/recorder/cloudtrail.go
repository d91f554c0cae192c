package recorder

import (
	"encoding/json"
	"fmt"

	"github.com/bannin/bannin/internal/store"
)

func init() { shapers["AWS::CloudTrail::Trail"] = shapeTrail }

// shapeTrail gives a trail its configuration as the trail service keeps it (IsLogging
// included) plus the names AWS Config's CloudFormation-schema trail items use
// (TrailName, EnableLogFileValidation, Arn). AWS Config lists no relationships for trails.
func shapeTrail(r *store.Resource) (json.RawMessage, map[string]json.RawMessage, []Relationship, error) {
	var doc map[string]any
	if err := json.Unmarshal(r.Config, &doc); err != nil {
		return nil, nil, nil, fmt.Errorf("decode trail: %w", err)
	}
	if doc == nil {
		doc = map[string]any{}
	}
	alias := func(to, from string) {
		if _, ok := doc[to]; ok {
			return
		}
		if v, ok := doc[from]; ok {
			doc[to] = v
		}
	}
	alias("TrailName", "Name")
	alias("EnableLogFileValidation", "LogFileValidationEnabled")
	alias("Arn", "TrailARN")
	return raw(doc), nil, nil, nil
}
