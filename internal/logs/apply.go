package logs

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/bannin/bannin/internal/logs/filterpattern"
)

// Datapoint is what a metric filter publishes for one log event.
type Datapoint struct {
	Namespace  string
	MetricName string
	Value      float64
	Unit       string            // "" when the filter names none
	Dimensions map[string]string // nil without dimensions
}

// Apply evaluates a metric filter on one log event message, as metric emission does: a
// matching event publishes metricValue (a number, or a `$.x` / `$field` selector whose value
// must be a number) with the dimensions' selected values; an event that does not match
// publishes defaultValue when the filter has one. ok is false when nothing is published
// (no match and no default, or a selected value that is absent or not a number).
func (f *MetricFilter) Apply(message string) (dp Datapoint, ok bool, err error) {
	p, err := filterpattern.Parse(f.FilterPattern)
	if err != nil {
		return Datapoint{}, false, fmt.Errorf("logs: metric filter %s: %w", f.FilterName, err)
	}
	return applyPattern(f, p, message)
}

func applyPattern(f *MetricFilter, p *filterpattern.Pattern, message string) (Datapoint, bool, error) {
	if len(f.MetricTransformations) == 0 {
		return Datapoint{}, false, fmt.Errorf("logs: metric filter %s has no metric transformation", f.FilterName)
	}
	mt := f.MetricTransformations[0]
	dp := Datapoint{Namespace: aws.ToString(mt.MetricNamespace), MetricName: aws.ToString(mt.MetricName), Unit: aws.ToString(mt.Unit)}
	if !p.Match(message) {
		if mt.DefaultValue == nil {
			return Datapoint{}, false, nil
		}
		dp.Value = *mt.DefaultValue
		return dp, true, nil
	}
	v, ok := selectValue(p, message, aws.ToString(mt.MetricValue))
	if !ok {
		return Datapoint{}, false, nil
	}
	n, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return Datapoint{}, false, nil
	}
	dp.Value = n
	for name, sel := range mt.Dimensions {
		v, ok := selectValue(p, message, sel)
		if !ok || v == "" {
			return Datapoint{}, false, nil
		}
		if dp.Dimensions == nil {
			dp.Dimensions = map[string]string{}
		}
		dp.Dimensions[name] = v
	}
	return dp, true, nil
}

// selectValue is a selector's value in message, or the literal itself when it is not a
// selector.
func selectValue(p *filterpattern.Pattern, message, sel string) (string, bool) {
	sel = strings.TrimSpace(sel)
	if strings.HasPrefix(sel, "$") {
		return p.Field(message, sel)
	}
	return sel, true
}
