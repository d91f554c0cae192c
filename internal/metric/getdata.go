package metric

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/bannin/bannin/internal/call"
	"github.com/bannin/bannin/internal/store"
	"github.com/bannin/bannin/internal/wire/cloudwatch"
)

// Result is the time series one MetricDataQuery produced, oldest first, without the
// periods that have no value.
type Result struct {
	ID         string
	Label      string
	ReturnData bool
	// Edge is "Upper" or "Lower" for the two results an ANOMALY_DETECTION_BAND query gives
	// (same ID; the Label ends with it), "" otherwise.
	Edge       string
	Timestamps []time.Time
	Values     []float64
}

var queryID = regexp.MustCompile(`^[a-z][a-zA-Z0-9_]*$`)

// CheckQueries validates MetricDataQueries as GetMetricData and PutMetricAlarm do; field
// names error messages with (e.g. "MetricDataQueries" or "Metrics").
func CheckQueries(qs []cloudwatch.MetricDataQuery, field string) error {
	if len(qs) == 0 {
		return missing("The parameter %s is required.", field)
	}
	if len(qs) > 500 {
		return invalid("The collection %s must not have a size greater than 500.", field)
	}
	ids := map[string]bool{}
	for i, q := range qs {
		p := field + ".member." + itoa(i+1)
		id := aws.ToString(q.Id)
		if !queryID.MatchString(id) || len(id) > 255 {
			return invalid("The value %s for parameter %s.Id is invalid. Ids must start with a lowercase letter and contain only letters, numbers and underscores.", id, p)
		}
		if ids[id] {
			return invalid("The value %s for parameter %s.Id is not unique.", id, p)
		}
		ids[id] = true
		if (q.MetricStat == nil) == (q.Expression == nil) {
			return combination("Exactly one element of the %s.MetricStat or the %s.Expression must be present.", p, p)
		}
		if ms := q.MetricStat; ms != nil {
			if ms.Metric == nil || aws.ToString(ms.Metric.MetricName) == "" || aws.ToString(ms.Metric.Namespace) == "" {
				return missing("The parameter %s.MetricStat.Metric with Namespace and MetricName is required.", p)
			}
			if ms.Period == nil || !ValidPeriod(*ms.Period) {
				return invalid("The parameter %s.MetricStat.Period must be 1, 5, 10, 20, 30, or a multiple of 60.", p)
			}
			if st := aws.ToString(ms.Stat); !isStatistic(st) {
				if _, ok := ParsePercentile(st); !ok {
					return invalid("The value %s for parameter %s.MetricStat.Stat is invalid.", st, p)
				}
			}
		} else {
			if _, err := parseExpression(*q.Expression); err != nil {
				return invalid("Error in expression '%s': %s", id, err.Error())
			}
			if q.Period != nil && !ValidPeriod(*q.Period) {
				return invalid("The parameter %s.Period must be 1, 5, 10, 20, 30, or a multiple of 60.", p)
			}
		}
	}
	return nil
}

func itoa(n int) string { return strconv.Itoa(n) }

// RunQueries evaluates metric data queries (metrics and math expressions) of account and
// region over [start, end) and returns every query's result in the order given. start is
// used as given for the period grid; callers align it.
func (s *Service) RunQueries(ctx context.Context, tx store.ReadTx, account, region string, qs []cloudwatch.MetricDataQuery, start, end time.Time) ([]Result, error) {
	byID := map[string]*cloudwatch.MetricDataQuery{}
	for i := range qs {
		byID[aws.ToString(qs[i].Id)] = &qs[i]
	}
	done := map[string]value{}
	periods := map[string]int64{}
	busy := map[string]bool{}
	var resolve func(id string) (value, error)
	series := func(q *cloudwatch.MetricDataQuery) (value, int64, error) {
		ms := q.MetricStat
		period := int64(aws.ToInt32(ms.Period))
		n := int((end.Sub(start)/time.Second + time.Duration(period) - 1) / time.Duration(period))
		m := MetricID{Namespace: aws.ToString(ms.Metric.Namespace), MetricName: aws.ToString(ms.Metric.MetricName), Dimensions: Dims(ms.Metric.Dimensions)}
		buckets, err := s.Query(ctx, tx, account, region, m, start, end, time.Duration(period)*time.Second)
		if err != nil {
			return value{}, 0, err
		}
		vals := make([]float64, max(n, 0))
		for i := range vals {
			vals[i] = math.NaN()
		}
		for _, b := range buckets {
			i := int((b.Start.Unix() - start.Unix()) / period)
			if v, ok := b.Total(aws.ToString(ms.Unit)).Statistic(aws.ToString(ms.Stat)); ok && i >= 0 && i < len(vals) {
				vals[i] = v
			}
		}
		return value{kind: 't', series: vals}, period, nil
	}
	resolve = func(id string) (value, error) {
		if v, ok := done[id]; ok {
			return v, nil
		}
		q := byID[id]
		if q == nil {
			return value{}, mathErr("Unknown metric or expression id %s.", id)
		}
		if busy[id] {
			return value{}, mathErr("Circular dependency involving %s.", id)
		}
		busy[id] = true
		defer delete(busy, id)
		var v value
		var err error
		if q.MetricStat != nil {
			v, periods[id], err = series(q)
		} else {
			v, periods[id], err = s.expression(ctx, tx, account, region, q, byID, qs, resolve, periods, start, end)
		}
		if err != nil {
			return value{}, err
		}
		done[id] = v
		return v, nil
	}
	out := make([]Result, 0, len(qs))
	for i := range qs {
		q := &qs[i]
		id := aws.ToString(q.Id)
		v, err := resolve(id)
		if err != nil {
			var me *mathError
			if errors.As(err, &me) {
				return nil, invalid("Error in expression '%s': %s", id, me.msg)
			}
			return nil, err
		}
		r := Result{ID: id, Label: aws.ToString(q.Label), ReturnData: q.ReturnData == nil || *q.ReturnData}
		if r.Label == "" {
			r.Label = id
			if q.MetricStat != nil {
				r.Label = aws.ToString(q.MetricStat.Metric.MetricName)
			}
		}
		period := periods[id]
		if period <= 0 {
			period = 60
		}
		switch v.kind {
		case 'b':
			for _, edge := range []struct {
				name   string
				series []float64
			}{{"Upper", v.series}, {"Lower", v.lower}} {
				e := Result{ID: id, Label: r.Label + " " + edge.name, ReturnData: r.ReturnData, Edge: edge.name}
				for j, x := range edge.series {
					if !math.IsNaN(x) && !math.IsInf(x, 0) {
						e.Timestamps = append(e.Timestamps, start.Add(time.Duration(int64(j)*period)*time.Second).UTC())
						e.Values = append(e.Values, x)
					}
				}
				out = append(out, e)
			}
			continue
		case 'a':
			if len(v.array) != 1 {
				return nil, invalid("Error in expression '%s': the expression returns %d time series; bannin returns one per query.", id, len(v.array))
			}
			v = value{kind: 't', series: v.array[0]}
		case 's':
			n := int((end.Sub(start)/time.Second + time.Duration(period) - 1) / time.Duration(period))
			v = value{kind: 't', series: make([]float64, max(n, 0))}
			for j := range v.series {
				v.series[j] = done[id].scalar
			}
		}
		for j, x := range v.series {
			if !math.IsNaN(x) && !math.IsInf(x, 0) {
				r.Timestamps = append(r.Timestamps, start.Add(time.Duration(int64(j)*period)*time.Second).UTC())
				r.Values = append(r.Values, x)
			}
		}
		out = append(out, r)
	}
	return out, nil
}

// expression evaluates a math query; its period is its own Period, else that of the first
// series it uses.
func (s *Service) expression(ctx context.Context, tx store.ReadTx, account, region string, q *cloudwatch.MetricDataQuery, byID map[string]*cloudwatch.MetricDataQuery, qs []cloudwatch.MetricDataQuery,
	resolve func(string) (value, error), periods map[string]int64, start, end time.Time) (value, int64, error) {
	n, err := parseExpression(aws.ToString(q.Expression))
	if err != nil {
		return value{}, 0, err
	}
	used := map[string]bool{}
	usesMetrics := refs(n, used)
	period := int64(aws.ToInt32(q.Period))
	for id := range used {
		if byID[id] == nil {
			if up := strings.ToUpper(id); up == "REPEAT" || up == "LINEAR" {
				continue
			}
			return value{}, 0, mathErr("Unknown metric or expression id %s.", id)
		}
	}
	for id := range used {
		if byID[id] != nil {
			if _, err := resolve(id); err != nil {
				return value{}, 0, err
			}
			if period == 0 {
				period = periods[id]
			}
		}
	}
	if usesMetrics {
		for _, o := range qs {
			if o.MetricStat != nil {
				if _, err := resolve(aws.ToString(o.Id)); err != nil {
					return value{}, 0, err
				}
				if period == 0 {
					period = periods[aws.ToString(o.Id)]
				}
			}
		}
	}
	if period == 0 {
		period = 60
	}
	grid := int((end.Sub(start)/time.Second + time.Duration(period) - 1) / time.Duration(period))
	env := &mathEnv{period: float64(period), n: grid,
		band: func(id string, k float64) (value, error) {
			b := byID[id]
			if b == nil {
				return value{}, mathErr("Unknown metric or expression id %s.", id)
			}
			ms := b.MetricStat
			if ms == nil {
				lo, hi, err := s.mathBand(ctx, tx, account, region, qs, id, k, start, period, grid)
				if err != nil {
					return value{}, err
				}
				return value{kind: 'b', series: hi, lower: lo}, nil
			}
			if p := int64(aws.ToInt32(ms.Period)); p != period {
				return value{}, mathErr("The period of ANOMALY_DETECTION_BAND (%d) must be the period of its metric %s (%d).", period, id, p)
			}
			m := MetricID{Namespace: aws.ToString(ms.Metric.Namespace), MetricName: aws.ToString(ms.Metric.MetricName), Dimensions: Dims(ms.Metric.Dimensions)}
			lo, hi, err := s.Band(ctx, tx, account, region, m, aws.ToString(ms.Stat), aws.ToString(ms.Unit), k, start, time.Duration(period)*time.Second, grid)
			if err != nil {
				return value{}, err
			}
			return value{kind: 'b', series: hi, lower: lo}, nil
		},
		lookup: func(id string) (value, error) {
			if byID[id] == nil {
				return value{}, mathErr("Unknown metric or expression id %s.", id)
			}
			return resolve(id)
		},
		metrics: func(filter string) ([][]float64, error) {
			var arr [][]float64
			for _, o := range qs {
				id := aws.ToString(o.Id)
				if o.MetricStat == nil || !strings.Contains(id, filter) {
					continue
				}
				v, err := resolve(id)
				if err != nil {
					return nil, err
				}
				arr = append(arr, v.series)
			}
			return arr, nil
		}}
	v, err := env.eval(n)
	return v, period, err
}

// pageToken is GetMetricData's NextToken: how many datapoints earlier pages returned.
type pageToken struct {
	Offset int `json:"o"`
}

// GetMetricData answers metric data queries.
func (s *Service) GetMetricData(ctx context.Context, in *cloudwatch.GetMetricDataInput) (*cloudwatch.GetMetricDataOutput, error) {
	c := call.From(ctx)
	if err := CheckQueries(in.MetricDataQueries, "MetricDataQueries"); err != nil {
		return nil, err
	}
	if in.StartTime == nil || in.EndTime == nil {
		return nil, missing("The parameters StartTime and EndTime are required.")
	}
	if !in.StartTime.Before(*in.EndTime) {
		return nil, invalid("The parameter StartTime must be less than the parameter EndTime.")
	}
	scan := aws.ToString(in.ScanBy)
	if scan != "" && scan != "TimestampDescending" && scan != "TimestampAscending" {
		return nil, invalid("The value %s for parameter ScanBy is invalid.", scan)
	}
	limit := int(aws.ToInt32(in.MaxDatapoints))
	if limit <= 0 {
		limit = 100800
	}
	offset := 0
	if t := aws.ToString(in.NextToken); t != "" {
		var pt pageToken
		b, err := base64.RawURLEncoding.DecodeString(t)
		if err != nil || json.Unmarshal(b, &pt) != nil || pt.Offset <= 0 {
			return nil, errInvalidNextToken()
		}
		offset = pt.Offset
	}
	minPeriod := int64(0)
	for _, q := range in.MetricDataQueries {
		p := int64(aws.ToInt32(q.Period))
		if q.MetricStat != nil {
			p = int64(aws.ToInt32(q.MetricStat.Period))
		}
		if p > 0 && (minPeriod == 0 || p < minPeriod) {
			minPeriod = p
		}
	}
	if minPeriod == 0 {
		minPeriod = 60
	}
	start := alignStart(*in.StartTime, minPeriod)
	results, err := s.RunQueries(ctx, c.Tx, c.Account, c.Region, in.MetricDataQueries, start, in.EndTime.UTC())
	if err != nil {
		return nil, err
	}
	out := &cloudwatch.GetMetricDataOutput{MetricDataResults: []cloudwatch.MetricDataResult{}, Messages: []cloudwatch.MessageData{}}
	skipped, taken := 0, 0
	for _, r := range results {
		if !r.ReturnData {
			continue
		}
		ts, vs := r.Timestamps, r.Values
		if scan != "TimestampAscending" {
			ts, vs = reversed(ts), reversedF(vs)
		}
		if skip := min(offset-skipped, len(ts)); skip > 0 {
			ts, vs = ts[skip:], vs[skip:]
			skipped += skip
		}
		status := "Complete"
		if room := limit - taken; len(ts) > room {
			ts, vs = ts[:room], vs[:room]
			status = "PartialData"
		}
		taken += len(ts)
		if status == "PartialData" && out.NextToken == nil {
			b, _ := json.Marshal(pageToken{Offset: offset + taken})
			out.NextToken = aws.String(base64.RawURLEncoding.EncodeToString(b))
		}
		out.MetricDataResults = append(out.MetricDataResults, cloudwatch.MetricDataResult{Id: aws.String(r.ID),
			Label: aws.String(r.Label), Timestamps: ts, Values: vs, StatusCode: aws.String(status), Messages: []cloudwatch.MessageData{}})
	}
	return out, nil
}

func reversed(ts []time.Time) []time.Time {
	out := make([]time.Time, len(ts))
	for i, t := range ts {
		out[len(ts)-1-i] = t
	}
	return out
}

func reversedF(vs []float64) []float64 {
	out := make([]float64, len(vs))
	for i, v := range vs {
		out[len(vs)-1-i] = v
	}
	return out
}
