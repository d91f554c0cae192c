package metric

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/bannin/bannin/internal/call"
	"github.com/bannin/bannin/internal/wire/cloudwatch"
)

// AWS's limits on PutMetricData.
const (
	maxMetricData  = 1000
	maxDimensions  = 30
	maxValues      = 150
	maxFuture      = 2 * time.Hour
	maxPast        = 14 * 24 * time.Hour
	maxNameLength  = 255
	maxValueLength = 1024
)

// Units are the units CloudWatch accepts (StandardUnit).
var Units = map[string]bool{
	"Seconds": true, "Microseconds": true, "Milliseconds": true, "Bytes": true, "Kilobytes": true,
	"Megabytes": true, "Gigabytes": true, "Terabytes": true, "Bits": true, "Kilobits": true,
	"Megabits": true, "Gigabits": true, "Terabits": true, "Percent": true, "Count": true,
	"Bytes/Second": true, "Kilobytes/Second": true, "Megabytes/Second": true, "Gigabytes/Second": true,
	"Terabytes/Second": true, "Bits/Second": true, "Kilobits/Second": true, "Megabits/Second": true,
	"Gigabits/Second": true, "Terabits/Second": true, "Count/Second": true, "None": true,
}

func invalid(format string, args ...any) error {
	return &cloudwatch.InvalidParameterValueException{Message: aws.String(fmt.Sprintf(format, args...))}
}

func missing(format string, args ...any) error {
	return &cloudwatch.MissingRequiredParameterException{Message: aws.String(fmt.Sprintf(format, args...))}
}

func combination(format string, args ...any) error {
	return &cloudwatch.InvalidParameterCombinationException{Message: aws.String(fmt.Sprintf(format, args...))}
}

// validNumber reports whether v is a value CloudWatch stores: finite and, unless zero,
// within 2^-360 .. 2^360 in magnitude.
func validNumber(v float64) bool {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return false
	}
	a := math.Abs(v)
	return a == 0 || (a >= 8.515920e-109 && a <= 1.174271e+108)
}

// ValidateNamespace checks a namespace as PutMetricData does (publishing to AWS/ is refused).
func ValidateNamespace(ns string) error {
	if ns == "" {
		return missing("The parameter Namespace is required.")
	}
	if len(ns) > maxNameLength || strings.HasPrefix(ns, "AWS/") || strings.ContainsAny(ns, "\x00") || strings.TrimSpace(ns) == "" {
		return invalid("The value %s for parameter Namespace is invalid.", ns)
	}
	return nil
}

// PutMetricData stores datapoints in the caller's account and region.
func (s *Service) PutMetricData(ctx context.Context, in *cloudwatch.PutMetricDataInput) (*cloudwatch.PutMetricDataOutput, error) {
	c := call.From(ctx)
	ns := aws.ToString(in.Namespace)
	if err := ValidateNamespace(ns); err != nil {
		return nil, err
	}
	if len(in.EntityMetricData) > 0 {
		return nil, invalid("EntityMetricData is not supported by bannin; use MetricData.")
	}
	if len(in.MetricData) == 0 {
		return nil, missing("The parameter MetricData is required.")
	}
	if len(in.MetricData) > maxMetricData {
		return nil, invalid("The collection MetricData must not have a size greater than %d.", maxMetricData)
	}
	now := c.Time
	if now.IsZero() {
		now = s.opts.Clock()
	}
	data := make([]Datum, 0, len(in.MetricData))
	for i, md := range in.MetricData {
		d, err := datum(ns, i+1, md, now)
		if err != nil {
			return nil, err
		}
		data = append(data, d)
	}
	if err := s.PutData(ctx, c.Write(), c.Account, c.Region, data); err != nil {
		return nil, err
	}
	return &cloudwatch.PutMetricDataOutput{}, nil
}

// datum checks one MetricDatum (member n of MetricData) and converts it.
func datum(ns string, n int, md cloudwatch.MetricDatum, now time.Time) (Datum, error) {
	p := fmt.Sprintf("MetricData.member.%d", n)
	name := aws.ToString(md.MetricName)
	if name == "" {
		return Datum{}, missing("The parameter %s.MetricName is required.", p)
	}
	if len(name) > maxNameLength {
		return Datum{}, invalid("The value for parameter %s.MetricName is too long.", p)
	}
	d := Datum{MetricID: MetricID{Namespace: ns, MetricName: name}, Unit: aws.ToString(md.Unit)}
	if d.Unit != "" && !Units[d.Unit] {
		return Datum{}, invalid("The value %s for parameter %s.Unit is invalid.", d.Unit, p)
	}
	if len(md.Dimensions) > maxDimensions {
		return Datum{}, invalid("The collection %s.Dimensions must not have a size greater than %d.", p, maxDimensions)
	}
	for j, dim := range md.Dimensions {
		dn, dv := aws.ToString(dim.Name), aws.ToString(dim.Value)
		dp := fmt.Sprintf("%s.Dimensions.member.%d", p, j+1)
		if dn == "" {
			return Datum{}, missing("The parameter %s.Name is required.", dp)
		}
		if dim.Value == nil {
			return Datum{}, missing("The parameter %s.Value is required.", dp)
		}
		if len(dn) > maxNameLength || len(dv) > maxValueLength || dv == "" {
			return Datum{}, invalid("The value %s for parameter %s is invalid.", dv, dp)
		}
		if d.Dimensions == nil {
			d.Dimensions = map[string]string{}
		}
		if _, dup := d.Dimensions[dn]; dup {
			return Datum{}, invalid("No metric may have duplicate dimension names; %s repeats %s.", p, dn)
		}
		d.Dimensions[dn] = dv
	}
	d.Timestamp = now
	if md.Timestamp != nil {
		d.Timestamp = *md.Timestamp
		if d.Timestamp.After(now.Add(maxFuture)) {
			return Datum{}, invalid("The parameter %s.Timestamp must specify a time no more than two hours in the future.", p)
		}
		if d.Timestamp.Before(now.Add(-maxPast)) {
			return Datum{}, invalid("The parameter %s.Timestamp must specify a time no more than two weeks in the past.", p)
		}
	}
	switch r := aws.ToInt32(md.StorageResolution); {
	case md.StorageResolution == nil || r == 60:
	case r == 1:
		d.HighResolution = true
	default:
		return Datum{}, invalid("The value %d for parameter %s.StorageResolution is invalid. Valid values are 1 and 60.", r, p)
	}
	given := 0
	for _, b := range []bool{md.Value != nil, len(md.Values) > 0, md.StatisticValues != nil} {
		if b {
			given++
		}
	}
	if given > 1 {
		return Datum{}, combination("The parameters %s.Value, %s.Values and %s.StatisticValues are mutually exclusive and you have specified more than one.", p, p, p)
	}
	if len(md.Counts) > 0 && len(md.Values) == 0 {
		return Datum{}, combination("The parameter %s.Counts can only be specified with %s.Values.", p, p)
	}
	switch {
	case md.Value != nil:
		if !validNumber(*md.Value) {
			return Datum{}, invalid("The value %v for parameter %s.Value is invalid.", *md.Value, p)
		}
		d.Value = md.Value
	case len(md.Values) > 0:
		if len(md.Values) > maxValues {
			return Datum{}, invalid("The collection %s.Values must not have a size greater than %d.", p, maxValues)
		}
		if len(md.Counts) > 0 && len(md.Counts) != len(md.Values) {
			return Datum{}, invalid("The parameters %s.Values and %s.Counts must be of the same size.", p, p)
		}
		for j, v := range md.Values {
			if !validNumber(v) {
				return Datum{}, invalid("The value %v for parameter %s.Values.member.%d is invalid.", v, p, j+1)
			}
		}
		for j, c := range md.Counts {
			if !validNumber(c) || c < 0 {
				return Datum{}, invalid("The value %v for parameter %s.Counts.member.%d is invalid.", c, p, j+1)
			}
		}
		d.Values, d.Counts = md.Values, md.Counts
	case md.StatisticValues != nil:
		sv := md.StatisticValues
		for _, f := range []struct {
			name string
			v    *float64
		}{{"SampleCount", sv.SampleCount}, {"Sum", sv.Sum}, {"Minimum", sv.Minimum}, {"Maximum", sv.Maximum}} {
			if f.v == nil {
				return Datum{}, missing("The parameter %s.StatisticValues.%s is required.", p, f.name)
			}
			if !validNumber(*f.v) {
				return Datum{}, invalid("The value %v for parameter %s.StatisticValues.%s is invalid.", *f.v, p, f.name)
			}
		}
		if *sv.SampleCount <= 0 || *sv.Minimum > *sv.Maximum {
			return Datum{}, invalid("The parameter %s.StatisticValues is invalid: SampleCount must be positive and Minimum not greater than Maximum.", p)
		}
		d.Stats = &Agg{N: *sv.SampleCount, Sum: *sv.Sum, Min: *sv.Minimum, Max: *sv.Maximum, Inexact: true}
	default:
		return Datum{}, missing("The parameter %s.Value is required.", p)
	}
	return d, nil
}
