package metric

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"time"
	_ "time/tzdata" // MetricTimezone names must resolve on machines without a zoneinfo database

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/bannin/bannin/internal/call"
	"github.com/bannin/bannin/internal/store"
	"github.com/bannin/bannin/internal/wire/cloudwatch"
)

// This file is anomaly detection: the detectors of PutAnomalyDetector and the model behind
// ANOMALY_DETECTION_BAND. CloudWatch trains a machine-learning model; bannin's model is a
// deterministic statistic of the metric's own history, so that the same datapoints always
// give the same band:
//
// For a period starting at t, with the metric's statistic Stat at the query's period P, the
// training set is every period value in the 14 days before t ([t-14d, t)) whose period start
// is outside every ExcludedTimeRange [StartTime, EndTime). With fewer than 10 values there is
// no band (the model is still training). Otherwise, when the training set spans at least 3
// calendar days and holds at least 3 values at t's hour of day (in MetricTimezone, UTC when
// unset), only those same-hour values are used, so that a daily rhythm is expected; else all
// of them. The expected value is their mean and the spread their population standard
// deviation; ANOMALY_DETECTION_BAND(m, k) is mean - k*spread .. mean + k*spread (k defaults
// to 2).
//
// A detector is TRAINED (DescribeAnomalyDetectors StateValue) when its metric has at least 10
// one-minute values of Stat in the last 14 days outside its excluded ranges (a metric math
// detector: 10 values of its series at its period), and PENDING_TRAINING before.
// ANOMALY_DETECTION_BAND needs no detector; when one exists for its input (same metric and
// statistic, or same queries), its ExcludedTimeRanges and MetricTimezone apply.
// MetricCharacteristics.PeriodicSpikes is kept and shown, but this model does not use it.

const bucketAnomaly = "metric.anomaly"

// Model parameters (see the comment above).
const (
	trainingWindow = 14 * 24 * time.Hour
	minTraining    = 10
	minSameHour    = 3
	minSpanDays    = 3
	// DefaultBandWidth is the number of standard deviations of ANOMALY_DETECTION_BAND(m).
	DefaultBandWidth = 2.0
)

// Detector states (AnomalyDetector StateValue).
const (
	DetectorPending = "PENDING_TRAINING"
	DetectorTrained = "TRAINED"
)

// TimeRange is an excluded training range, [Start, End).
type TimeRange struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// Detector is a stored anomaly detector of one metric and statistic.
type Detector struct {
	MetricID
	Stat string `json:"stat"`
	// Queries are a metric math detector's MetricDataQueries (MetricID and Stat are then
	// empty); the one with ReturnData is the series it models.
	Queries        []cloudwatch.MetricDataQuery `json:"metricDataQueries,omitempty"`
	Excluded       []TimeRange                  `json:"excludedTimeRanges,omitempty"`
	Timezone       string                       `json:"metricTimezone,omitempty"`
	PeriodicSpikes *bool                        `json:"periodicSpikes,omitempty"`
	Created        time.Time                    `json:"created"`
}

func detectorKey(account, region string, m MetricID, stat string) string {
	return seriesKey(account, region, m) + "\x00" + stat
}

// getDetector reads a detector; nil when there is none.
func getDetector(ctx context.Context, tx store.ReadTx, account, region string, m MetricID, stat string) (*Detector, error) {
	return getDetectorAt(ctx, tx, detectorKey(account, region, m, stat))
}

func getDetectorAt(ctx context.Context, tx store.ReadTx, key string) (*Detector, error) {
	b, err := tx.Get(ctx, bucketAnomaly, key)
	if err != nil {
		return nil, fmt.Errorf("metric: get anomaly detector: %w", err)
	}
	if b == nil {
		return nil, nil
	}
	var d Detector
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("metric: decode anomaly detector: %w", err)
	}
	return &d, nil
}

func putDetector(ctx context.Context, tx store.Tx, account, region string, d *Detector) error {
	b, _ := json.Marshal(d)
	key := detectorKey(account, region, d.MetricID, d.Stat)
	if d.Queries != nil {
		key = mathDetectorKey(account, region, d.Queries)
	}
	if err := tx.Put(ctx, bucketAnomaly, key, b); err != nil {
		return fmt.Errorf("metric: put anomaly detector: %w", err)
	}
	return nil
}

// EnsureDetector creates the anomaly detector of metric m and stat in tx unless it exists,
// as CloudWatch does when an alarm uses ANOMALY_DETECTION_BAND on a metric.
func (s *Service) EnsureDetector(ctx context.Context, tx store.Tx, account, region string, m MetricID, stat string, at time.Time) error {
	d, err := getDetector(ctx, tx, account, region, m, stat)
	if err != nil || d != nil {
		return err
	}
	return putDetector(ctx, tx, account, region, &Detector{MetricID: m, Stat: stat, Created: at.UTC()})
}

// detectorInput is the metric a detector call names, from either form of the request, or
// the queries of a metric math detector.
type detectorInput struct {
	m       MetricID
	stat    string
	queries []cloudwatch.MetricDataQuery
}

// key is where the detector is stored.
func (t detectorInput) key(account, region string) string {
	if t.queries != nil {
		return mathDetectorKey(account, region, t.queries)
	}
	return detectorKey(account, region, t.m, t.stat)
}

func detectorTarget(ns, name *string, dims []cloudwatch.Dimension, stat *string, single *cloudwatch.SingleMetricAnomalyDetector,
	math *cloudwatch.MetricMathAnomalyDetector, account string) (detectorInput, error) {
	legacy := ns != nil || name != nil || len(dims) > 0 || stat != nil
	switch {
	case math != nil && (legacy || single != nil):
		return detectorInput{}, combination("MetricMathAnomalyDetector cannot be combined with SingleMetricAnomalyDetector or with Namespace, MetricName, Dimensions and Stat.")
	case math != nil:
		qs, err := checkMathDetector(math.MetricDataQueries)
		if err != nil {
			return detectorInput{}, err
		}
		return detectorInput{queries: qs}, nil
	case legacy && single != nil:
		return detectorInput{}, combination("SingleMetricAnomalyDetector cannot be combined with Namespace, MetricName, Dimensions and Stat.")
	case single != nil:
		if a := aws.ToString(single.AccountId); a != "" && a != account {
			return detectorInput{}, invalid("The value %s for parameter SingleMetricAnomalyDetector.AccountId is invalid: cross-account anomaly detectors are not supported.", a)
		}
		ns, name, dims, stat = single.Namespace, single.MetricName, single.Dimensions, single.Stat
	case !legacy:
		return detectorInput{}, missing("Either SingleMetricAnomalyDetector or MetricMathAnomalyDetector must be specified.")
	}
	switch {
	case aws.ToString(ns) == "":
		return detectorInput{}, missing("The parameter Namespace is required.")
	case aws.ToString(name) == "":
		return detectorInput{}, missing("The parameter MetricName is required.")
	case aws.ToString(stat) == "":
		return detectorInput{}, missing("The parameter Stat is required.")
	}
	if len(dims) > 30 {
		return detectorInput{}, invalid("The collection Dimensions must not have a size greater than 30.")
	}
	for i, d := range dims {
		if aws.ToString(d.Name) == "" || aws.ToString(d.Value) == "" {
			return detectorInput{}, missing("The parameters Dimensions.member.%d.Name and Value are required.", i+1)
		}
	}
	st := *stat
	if !isStatistic(st) {
		if _, ok := ParsePercentile(st); !ok {
			return detectorInput{}, invalid("The value %s for parameter Stat is invalid.", st)
		}
	}
	return detectorInput{m: MetricID{Namespace: *ns, MetricName: *name, Dimensions: Dims(dims)}, stat: st}, nil
}

// PutAnomalyDetector creates an anomaly detector, or replaces the configuration of one.
func (s *Service) PutAnomalyDetector(ctx context.Context, in *cloudwatch.PutAnomalyDetectorInput) (*cloudwatch.PutAnomalyDetectorOutput, error) {
	c := call.From(ctx)
	t, err := detectorTarget(in.Namespace, in.MetricName, in.Dimensions, in.Stat, in.SingleMetricAnomalyDetector, in.MetricMathAnomalyDetector, c.Account)
	if err != nil {
		return nil, err
	}
	d := &Detector{MetricID: t.m, Stat: t.stat, Queries: t.queries, Created: c.Time.UTC()}
	if cfg := in.Configuration; cfg != nil {
		if len(cfg.ExcludedTimeRanges) > 10 {
			return nil, invalid("The collection Configuration.ExcludedTimeRanges must not have a size greater than 10.")
		}
		for i, r := range cfg.ExcludedTimeRanges {
			if r.StartTime == nil || r.EndTime == nil {
				return nil, missing("The parameters Configuration.ExcludedTimeRanges.member.%d.StartTime and EndTime are required.", i+1)
			}
			if !r.StartTime.Before(*r.EndTime) {
				return nil, invalid("The value of Configuration.ExcludedTimeRanges.member.%d.StartTime must be before its EndTime.", i+1)
			}
			d.Excluded = append(d.Excluded, TimeRange{Start: r.StartTime.UTC(), End: r.EndTime.UTC()})
		}
		if tz := aws.ToString(cfg.MetricTimezone); tz != "" {
			if len(tz) > 50 {
				return nil, invalid("The value for parameter Configuration.MetricTimezone must be at most 50 characters long.")
			}
			if _, err := time.LoadLocation(tz); err != nil || tz == "Local" {
				return nil, invalid("The value %s for parameter Configuration.MetricTimezone is invalid: it is not a time zone of the tz database.", tz)
			}
			d.Timezone = tz
		}
	}
	if mc := in.MetricCharacteristics; mc != nil {
		d.PeriodicSpikes = mc.PeriodicSpikes
	}
	tx := c.Write()
	old, err := getDetectorAt(ctx, tx, t.key(c.Account, c.Region))
	if err != nil {
		return nil, err
	}
	if old != nil {
		d.Created = old.Created
	}
	return &cloudwatch.PutAnomalyDetectorOutput{}, putDetector(ctx, tx, c.Account, c.Region, d)
}

// DeleteAnomalyDetector deletes an anomaly detector.
func (s *Service) DeleteAnomalyDetector(ctx context.Context, in *cloudwatch.DeleteAnomalyDetectorInput) (*cloudwatch.DeleteAnomalyDetectorOutput, error) {
	c := call.From(ctx)
	t, err := detectorTarget(in.Namespace, in.MetricName, in.Dimensions, in.Stat, in.SingleMetricAnomalyDetector, in.MetricMathAnomalyDetector, c.Account)
	if err != nil {
		return nil, err
	}
	tx := c.Write()
	key := t.key(c.Account, c.Region)
	old, err := getDetectorAt(ctx, tx, key)
	if err != nil {
		return nil, err
	}
	if old == nil {
		id := t.m.Namespace + "/" + t.m.MetricName + "/" + t.stat
		if t.queries != nil {
			id = "MetricMathAnomalyDetector"
		}
		return nil, &cloudwatch.ResourceNotFoundException{Message: aws.String("No anomaly detection model found for the given metric and statistic."),
			ResourceType: aws.String("AnomalyDetector"), ResourceId: aws.String(id)}
	}
	if err := tx.Delete(ctx, bucketAnomaly, key); err != nil {
		return nil, fmt.Errorf("metric: delete anomaly detector: %w", err)
	}
	return &cloudwatch.DeleteAnomalyDetectorOutput{}, nil
}

// DescribeAnomalyDetectors lists anomaly detectors, filtered by metric.
func (s *Service) DescribeAnomalyDetectors(ctx context.Context, in *cloudwatch.DescribeAnomalyDetectorsInput) (*cloudwatch.DescribeAnomalyDetectorsOutput, error) {
	c := call.From(ctx)
	limit := int(aws.ToInt32(in.MaxResults))
	if in.MaxResults != nil && (limit < 1 || limit > 100) {
		return nil, invalid("The value %d for parameter MaxResults is invalid; it must be between 1 and 100.", limit)
	}
	if limit == 0 {
		limit = 100
	}
	// Without AnomalyDetectorTypes only single-metric detectors are listed; METRIC_MATH adds
	// every metric math detector (they have no namespace, name or dimensions to filter on).
	single, mathTypes := len(in.AnomalyDetectorTypes) == 0, false
	for _, t := range in.AnomalyDetectorTypes {
		switch t {
		case "SINGLE_METRIC":
			single = true
		case "METRIC_MATH":
			mathTypes = true
		default:
			return nil, invalid("The value %s for parameter AnomalyDetectorTypes is invalid. Valid values are SINGLE_METRIC and METRIC_MATH.", t)
		}
	}
	if len(in.Dimensions) > 30 {
		return nil, invalid("The collection Dimensions must not have a size greater than 30.")
	}
	want := Dims(in.Dimensions)
	prefix := c.Account + "/" + c.Region + "/"
	after, err := tokenKey(in.NextToken, prefix)
	if err != nil {
		return nil, err
	}
	out := &cloudwatch.DescribeAnomalyDetectorsOutput{AnomalyDetectors: []cloudwatch.AnomalyDetector{}}
	ns, name := aws.ToString(in.Namespace), aws.ToString(in.MetricName)
	keep := func(d *Detector) bool {
		if d.Queries != nil {
			return mathTypes
		}
		return single && (ns == "" || d.Namespace == ns) && (name == "" || d.MetricName == name) && hasDims(d.Dimensions, want)
	}
	lastKey := ""
	now := c.Time
	if now.IsZero() {
		now = s.opts.Clock()
	}
	for {
		kvs, err := c.Tx.List(ctx, bucketAnomaly, prefix, after, 1000)
		if err != nil {
			return nil, fmt.Errorf("metric: list anomaly detectors: %w", err)
		}
		for _, kv := range kvs {
			after = kv.Key
			var d Detector
			if err := json.Unmarshal(kv.Value, &d); err != nil {
				return nil, fmt.Errorf("metric: decode anomaly detector %q: %w", kv.Key, err)
			}
			if !keep(&d) {
				continue
			}
			if len(out.AnomalyDetectors) == limit {
				out.NextToken = aws.String(keyToken(lastKey))
				return out, nil
			}
			detState := s.detectorState
			if d.Queries != nil {
				detState = s.mathDetectorState
			}
			state, err := detState(ctx, c.Tx, c.Account, c.Region, &d, now)
			if err != nil {
				return nil, err
			}
			out.AnomalyDetectors = append(out.AnomalyDetectors, wireDetector(&d, state))
			lastKey = kv.Key
		}
		if len(kvs) < 1000 {
			return out, nil
		}
	}
}

// hasDims reports whether have holds every dimension of want.
func hasDims(have, want map[string]string) bool {
	for k, v := range want {
		if hv, ok := have[k]; !ok || hv != v {
			return false
		}
	}
	return true
}

func wireDetector(d *Detector, state string) cloudwatch.AnomalyDetector {
	if d.Queries != nil {
		return cloudwatch.AnomalyDetector{StateValue: aws.String(state), MetricMathAnomalyDetector: &cloudwatch.MetricMathAnomalyDetector{MetricDataQueries: d.Queries},
			Configuration: wireConfig(d), MetricCharacteristics: characteristics(d)}
	}
	dims := WireDims(d.Dimensions)
	w := cloudwatch.AnomalyDetector{Namespace: aws.String(d.Namespace), MetricName: aws.String(d.MetricName), Dimensions: dims,
		Stat: aws.String(d.Stat), StateValue: aws.String(state),
		SingleMetricAnomalyDetector: &cloudwatch.SingleMetricAnomalyDetector{Namespace: aws.String(d.Namespace),
			MetricName: aws.String(d.MetricName), Dimensions: dims, Stat: aws.String(d.Stat)},
		Configuration:         wireConfig(d),
		MetricCharacteristics: characteristics(d)}
	return w
}

// characteristics is a detector's MetricCharacteristics; none when PutAnomalyDetector gave
// none, so that every protocol shows the same (an empty structure is dropped by some).
func characteristics(d *Detector) *cloudwatch.MetricCharacteristics {
	if d.PeriodicSpikes == nil {
		return nil
	}
	return &cloudwatch.MetricCharacteristics{PeriodicSpikes: d.PeriodicSpikes}
}

func wireConfig(d *Detector) *cloudwatch.AnomalyDetectorConfiguration {
	c := &cloudwatch.AnomalyDetectorConfiguration{ExcludedTimeRanges: []cloudwatch.Range{}}
	for _, r := range d.Excluded {
		c.ExcludedTimeRanges = append(c.ExcludedTimeRanges, cloudwatch.Range{StartTime: aws.Time(r.Start), EndTime: aws.Time(r.End)})
	}
	if d.Timezone != "" {
		c.MetricTimezone = aws.String(d.Timezone)
	}
	return c
}

// excluded reports whether a period starting at t is left out of training.
func (d *Detector) excluded(t time.Time) bool {
	if d == nil {
		return false
	}
	for _, r := range d.Excluded {
		if !t.Before(r.Start) && t.Before(r.End) {
			return true
		}
	}
	return false
}

func (d *Detector) location() *time.Location {
	if d != nil && d.Timezone != "" {
		if loc, err := time.LoadLocation(d.Timezone); err == nil {
			return loc
		}
	}
	return time.UTC
}

// detectorState is TRAINED once the detector's metric has minTraining one-minute values of
// its statistic in the training window before now, outside the excluded ranges.
func (s *Service) detectorState(ctx context.Context, tx store.ReadTx, account, region string, d *Detector, now time.Time) (string, error) {
	end := now.UTC().Truncate(time.Minute).Add(time.Minute)
	buckets, err := s.Query(ctx, tx, account, region, d.MetricID, end.Add(-trainingWindow), end, time.Minute)
	if err != nil {
		return "", err
	}
	n := 0
	for _, b := range buckets {
		if _, ok := b.Total("").Statistic(d.Stat); ok && !d.excluded(b.Start) {
			n++
		}
	}
	if n >= minTraining {
		return DetectorTrained, nil
	}
	return DetectorPending, nil
}

// Band computes the anomaly detection band of metric m at statistic stat (unit "" for every
// unit) with k standard deviations, for the n periods of the given length starting at
// start: lower[i] and upper[i] are NaN where the model has too little history. The model is
// described at the top of this file; the detector's configuration applies when one exists.
func (s *Service) Band(ctx context.Context, tx store.ReadTx, account, region string, m MetricID, stat, unit string, k float64,
	start time.Time, period time.Duration, n int) (lower, upper []float64, err error) {
	d, err := getDetector(ctx, tx, account, region, m, stat)
	if err != nil {
		return nil, nil, err
	}
	p := int64(period / time.Second)
	if p <= 0 || n < 0 {
		return nil, nil, fmt.Errorf("metric: band with period %v", period)
	}
	steps := (int64(trainingWindow/time.Second) + p - 1) / p
	histStart := start.Add(-time.Duration(steps*p) * time.Second)
	total := int(steps) + n
	buckets, err := s.Query(ctx, tx, account, region, m, histStart, histStart.Add(time.Duration(int64(total)*p)*time.Second), period)
	if err != nil {
		return nil, nil, err
	}
	vals := make([]float64, total)
	for i := range vals {
		vals[i] = math.NaN()
	}
	for _, b := range buckets {
		i := int((b.Start.Unix() - histStart.Unix()) / p)
		if i < 0 || i >= total || d.excluded(b.Start) {
			continue
		}
		if v, ok := b.Total(unit).Statistic(stat); ok {
			vals[i] = v
		}
	}
	lower, upper = train(vals, histStart, p, int(steps), n, d, k)
	return lower, upper, nil
}

// train runs the model over vals, the values of the periods histStart + i*p (NaN where
// there is none or the period is excluded), the first steps of them history only, and
// returns the band of the n periods after them.
func train(vals []float64, histStart time.Time, p int64, steps, n int, d *Detector, k float64) (lower, upper []float64) {
	total := len(vals)
	loc := d.location()
	hour := make([]int, total)
	day := make([]int64, total)
	for i := range vals {
		t := histStart.Add(time.Duration(int64(i)*p) * time.Second).In(loc)
		hour[i] = t.Hour()
		y, mo, dd := t.Date()
		day[i] = int64(y)*10000 + int64(mo)*100 + int64(dd)
	}
	// A sliding window over vals[i : i+steps] for the period i+steps.
	var cnt, sum, sq float64
	var hcnt, hsum, hsq [24]float64
	days := map[int64]int{}
	add := func(j int, sign float64) {
		v := vals[j]
		if math.IsNaN(v) {
			return
		}
		cnt, sum, sq = cnt+sign, sum+sign*v, sq+sign*v*v
		h := hour[j]
		hcnt[h], hsum[h], hsq[h] = hcnt[h]+sign, hsum[h]+sign*v, hsq[h]+sign*v*v
		days[day[j]] += int(sign)
		if days[day[j]] == 0 {
			delete(days, day[j])
		}
	}
	for j := 0; j < steps; j++ {
		add(j, 1)
	}
	lower, upper = make([]float64, n), make([]float64, n)
	for i := 0; i < n; i++ {
		if i > 0 {
			add(i-1, -1)
			add(i+steps-1, 1)
		}
		lower[i], upper[i] = math.NaN(), math.NaN()
		if cnt < minTraining {
			continue
		}
		c, sm, q := cnt, sum, sq
		if h := hour[i+steps]; len(days) >= minSpanDays && hcnt[h] >= minSameHour {
			c, sm, q = hcnt[h], hsum[h], hsq[h]
		}
		mean := sm / c
		sd := math.Sqrt(math.Max(q/c-mean*mean, 0))
		lower[i], upper[i] = mean-k*sd, mean+k*sd
	}
	return lower, upper
}
