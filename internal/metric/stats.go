package metric

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/bannin/bannin/internal/call"
	"github.com/bannin/bannin/internal/store"
	"github.com/bannin/bannin/internal/wire/cloudwatch"
)

// maxDatapoints is how many datapoints one GetMetricStatistics call may ask for.
const maxDatapoints = 1440

// Statistics are the simple statistics (Statistic).
var Statistics = []string{"SampleCount", "Average", "Sum", "Minimum", "Maximum"}

func isStatistic(s string) bool {
	for _, x := range Statistics {
		if x == s {
			return true
		}
	}
	return false
}

// ValidPeriod reports whether p (seconds) is a period CloudWatch accepts: 1, 5, 10, 20, 30,
// or a multiple of 60.
func ValidPeriod(p int32) bool {
	switch p {
	case 1, 5, 10, 20, 30:
		return true
	}
	return p >= 60 && p%60 == 0
}

// alignStart rounds a query's start down to the second for sub-minute periods and to the
// minute otherwise.
func alignStart(t time.Time, period int64) time.Time {
	if period < 60 {
		return t.Truncate(time.Duration(period) * time.Second).UTC()
	}
	return t.Truncate(time.Minute).UTC()
}

// Dims converts wire dimensions to a map.
func Dims(ds []cloudwatch.Dimension) map[string]string {
	if len(ds) == 0 {
		return nil
	}
	m := make(map[string]string, len(ds))
	for _, d := range ds {
		m[aws.ToString(d.Name)] = aws.ToString(d.Value)
	}
	return m
}

// WireDims converts a dimension map to wire dimensions, sorted by name.
func WireDims(m map[string]string) []cloudwatch.Dimension {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]cloudwatch.Dimension, 0, len(names))
	for _, n := range names {
		out = append(out, cloudwatch.Dimension{Name: aws.String(n), Value: aws.String(m[n])})
	}
	return out
}

// GetMetricStatistics answers statistics of one metric per period.
func (s *Service) GetMetricStatistics(ctx context.Context, in *cloudwatch.GetMetricStatisticsInput) (*cloudwatch.GetMetricStatisticsOutput, error) {
	c := call.From(ctx)
	switch {
	case aws.ToString(in.Namespace) == "":
		return nil, missing("The parameter Namespace is required.")
	case aws.ToString(in.MetricName) == "":
		return nil, missing("The parameter MetricName is required.")
	case in.StartTime == nil:
		return nil, missing("The parameter StartTime is required.")
	case in.EndTime == nil:
		return nil, missing("The parameter EndTime is required.")
	case in.Period == nil:
		return nil, missing("The parameter Period is required.")
	}
	if len(in.Statistics) == 0 && len(in.ExtendedStatistics) == 0 {
		return nil, missing("Must specify either Statistics or ExtendedStatistics.")
	}
	if len(in.Statistics) > 0 && len(in.ExtendedStatistics) > 0 {
		return nil, combination("The parameters Statistics and ExtendedStatistics are mutually exclusive and you have specified both.")
	}
	if len(in.Statistics) > 5 || len(in.ExtendedStatistics) > 10 {
		return nil, invalid("The collection Statistics must not have more than 5 members and ExtendedStatistics more than 10.")
	}
	for i, st := range in.Statistics {
		if !isStatistic(st) {
			return nil, invalid("The value %s for parameter Statistics.member.%d is invalid.", st, i+1)
		}
	}
	for i, st := range in.ExtendedStatistics {
		if _, ok := ParsePercentile(st); !ok {
			return nil, invalid("The value %s for parameter ExtendedStatistics.member.%d is invalid.", st, i+1)
		}
	}
	period := aws.ToInt32(in.Period)
	if !ValidPeriod(period) {
		return nil, invalid("The parameter Period must be 1, 5, 10, 20, 30, or a multiple of 60.")
	}
	if u := aws.ToString(in.Unit); u != "" && !Units[u] {
		return nil, invalid("The value %s for parameter Unit is invalid.", u)
	}
	start, end := alignStart(*in.StartTime, int64(period)), in.EndTime.UTC()
	if !start.Before(end) {
		return nil, invalid("The parameter StartTime must be less than the parameter EndTime.")
	}
	span := int64(end.Sub(start) / time.Second)
	if n := (span + int64(period) - 1) / int64(period); n > maxDatapoints {
		return nil, combination("You have requested up to %s datapoints, which exceeds the limit of %s. You may reduce the datapoints requested by increasing Period, or decreasing the time range.", thousands(n), thousands(maxDatapoints))
	}
	m := MetricID{Namespace: *in.Namespace, MetricName: *in.MetricName, Dimensions: Dims(in.Dimensions)}
	buckets, err := s.Query(ctx, c.Tx, c.Account, c.Region, m, start, end, time.Duration(period)*time.Second)
	if err != nil {
		return nil, err
	}
	out := &cloudwatch.GetMetricStatisticsOutput{Label: in.MetricName, Datapoints: []cloudwatch.Datapoint{}}
	want := aws.ToString(in.Unit)
	for _, b := range buckets {
		units := make([]string, 0, len(b.Units))
		for u := range b.Units {
			if want == "" || u == want {
				units = append(units, u)
			}
		}
		sort.Strings(units)
		for _, u := range units {
			a := b.Units[u]
			ts := b.Start
			dp := cloudwatch.Datapoint{Timestamp: &ts, Unit: aws.String(u)}
			for _, st := range in.Statistics {
				v, _ := a.Statistic(st)
				switch st {
				case "SampleCount":
					dp.SampleCount = aws.Float64(v)
				case "Average":
					dp.Average = aws.Float64(v)
				case "Sum":
					dp.Sum = aws.Float64(v)
				case "Minimum":
					dp.Minimum = aws.Float64(v)
				case "Maximum":
					dp.Maximum = aws.Float64(v)
				}
			}
			for _, st := range in.ExtendedStatistics {
				if v, ok := a.Statistic(st); ok {
					if dp.ExtendedStatistics == nil {
						dp.ExtendedStatistics = map[string]float64{}
					}
					dp.ExtendedStatistics[st] = v
				}
			}
			if len(in.ExtendedStatistics) > 0 && dp.ExtendedStatistics == nil {
				continue
			}
			out.Datapoints = append(out.Datapoints, dp)
		}
	}
	return out, nil
}

// thousands formats n with comma separators, as AWS's messages do.
func thousands(n int64) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// listPage is how many metrics ListMetrics returns at a time.
const listPage = 500

// ListMetrics lists the metrics of the caller's account and region that have had datapoints
// in the last two weeks.
func (s *Service) ListMetrics(ctx context.Context, in *cloudwatch.ListMetricsInput) (*cloudwatch.ListMetricsOutput, error) {
	c := call.From(ctx)
	now := c.Time
	if now.IsZero() {
		now = s.opts.Clock()
	}
	ns, name := aws.ToString(in.Namespace), aws.ToString(in.MetricName)
	base := c.Account + "/" + c.Region + "/"
	prefix := base
	if ns != "" {
		prefix += ns + "\x00"
		if name != "" {
			prefix += name + "\x00"
		}
	}
	if len(in.Dimensions) > 10 {
		return nil, invalid("The collection Dimensions must not have a size greater than 10.")
	}
	var since int64
	switch ra := aws.ToString(in.RecentlyActive); ra {
	case "":
		since = now.Add(-maxPast).Unix()
	case "PT3H":
		since = now.Add(-3 * time.Hour).Unix()
	default:
		return nil, invalid("The value %s for parameter RecentlyActive is invalid.", ra)
	}
	after, err := tokenKey(in.NextToken, prefix)
	if err != nil {
		return nil, err
	}
	out := &cloudwatch.ListMetricsOutput{Metrics: []cloudwatch.Metric{}}
	for {
		kvs, err := c.Tx.List(ctx, bucketSeries, prefix, after, 1000)
		if err != nil {
			return nil, fmt.Errorf("metric: list metrics: %w", err)
		}
		for _, kv := range kvs {
			after = kv.Key
			var info seriesInfo
			if err := json.Unmarshal(kv.Value, &info); err != nil {
				return nil, fmt.Errorf("metric: decode series %q: %w", kv.Key, err)
			}
			if info.LastPut < since || (name != "" && info.MetricName != name) || !matchDims(info.Dimensions, in.Dimensions) {
				continue
			}
			out.Metrics = append(out.Metrics, cloudwatch.Metric{Namespace: aws.String(info.Namespace),
				MetricName: aws.String(info.MetricName), Dimensions: WireDims(info.Dimensions)})
			if len(out.Metrics) == listPage {
				out.NextToken = aws.String(keyToken(kv.Key))
				return out, nil
			}
		}
		if len(kvs) < 1000 {
			return out, nil
		}
	}
}

func matchDims(have map[string]string, filters []cloudwatch.DimensionFilter) bool {
	for _, f := range filters {
		v, ok := have[aws.ToString(f.Name)]
		if !ok || (f.Value != nil && v != *f.Value) {
			return false
		}
	}
	return true
}

// Statistic returns one statistic of a metric per period over [start, end), keyed by
// period start: what alarm evaluation reads. unit "" means every unit.
func (s *Service) Statistic(ctx context.Context, tx store.ReadTx, account, region string, m MetricID, stat, unit string, start, end time.Time, period time.Duration) (map[time.Time]float64, error) {
	buckets, err := s.Query(ctx, tx, account, region, m, start, end, period)
	if err != nil {
		return nil, err
	}
	out := make(map[time.Time]float64, len(buckets))
	for _, b := range buckets {
		if v, ok := b.Total(unit).Statistic(stat); ok {
			out[b.Start] = v
		}
	}
	return out, nil
}
