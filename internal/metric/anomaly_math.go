package metric

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/bannin/bannin/internal/store"
	"github.com/bannin/bannin/internal/wire/cloudwatch"
)

// This file is metric math anomaly detection: a detector (MetricMathAnomalyDetector) or an
// ANOMALY_DETECTION_BAND whose input is an expression. The model is the one of anomaly.go,
// trained on the expression's own values at its period. A detector is identified by its
// queries: their ids, metrics, expressions and periods, with ReturnData on the modelled one
// only (labels do not count), so that the band of an alarm or a GetMetricData call finds
// the detector whose queries compute the same series.

// canonical returns the identity of queries: labels and account ids dropped, ReturnData
// explicit.
func canonical(qs []cloudwatch.MetricDataQuery) []cloudwatch.MetricDataQuery {
	out := make([]cloudwatch.MetricDataQuery, len(qs))
	for i, q := range qs {
		q.Label, q.AccountId = nil, nil
		q.ReturnData = aws.Bool(q.ReturnData == nil || *q.ReturnData)
		out[i] = q
	}
	return out
}

func mathDetectorKey(account, region string, qs []cloudwatch.MetricDataQuery) string {
	b, _ := json.Marshal(canonical(qs))
	h := sha256.Sum256(b)
	return account + "/" + region + "/\x00math\x00" + hex.EncodeToString(h[:16])
}

// designated is the id of the query with ReturnData.
func designated(qs []cloudwatch.MetricDataQuery) string {
	for _, q := range qs {
		if q.ReturnData == nil || *q.ReturnData {
			return aws.ToString(q.Id)
		}
	}
	return ""
}

// checkMathDetector validates a MetricMathAnomalyDetector's queries.
func checkMathDetector(qs []cloudwatch.MetricDataQuery) ([]cloudwatch.MetricDataQuery, error) {
	const field = "MetricMathAnomalyDetector.MetricDataQueries"
	if err := CheckQueries(qs, field); err != nil {
		return nil, err
	}
	returning := 0
	for _, q := range qs {
		if q.ReturnData == nil || *q.ReturnData {
			returning++
		}
		if strings.Contains(strings.ToUpper(aws.ToString(q.Expression)), "ANOMALY_DETECTION_BAND") {
			return nil, invalid("The %s of a metric math anomaly detector cannot use ANOMALY_DETECTION_BAND.", field)
		}
	}
	if returning != 1 {
		return nil, invalid("Exactly one element of %s must have ReturnData set to true: the series the detector models.", field)
	}
	return qs, nil
}

// inputQueries returns the queries of qs that the series id is computed from (id and what
// it refers to, in the order of qs), with ReturnData on id only: the identity of the
// detector that models it.
func inputQueries(qs []cloudwatch.MetricDataQuery, id string) ([]cloudwatch.MetricDataQuery, error) {
	byID := map[string]*cloudwatch.MetricDataQuery{}
	for i := range qs {
		byID[aws.ToString(qs[i].Id)] = &qs[i]
	}
	need := map[string]bool{}
	allMetrics := false
	var walk func(id string) error
	walk = func(id string) error {
		if need[id] {
			return nil
		}
		q := byID[id]
		if q == nil {
			return mathErr("Unknown metric or expression id %s.", id)
		}
		need[id] = true
		if q.Expression == nil {
			return nil
		}
		n, err := parseExpression(*q.Expression)
		if err != nil {
			return err
		}
		used := map[string]bool{}
		if refs(n, used) {
			allMetrics = true
		}
		if strings.Contains(strings.ToUpper(*q.Expression), "ANOMALY_DETECTION_BAND") {
			return mathErr("The input of ANOMALY_DETECTION_BAND cannot itself use ANOMALY_DETECTION_BAND.")
		}
		for u := range used {
			if up := strings.ToUpper(u); up == "REPEAT" || up == "LINEAR" {
				continue
			}
			if err := walk(u); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(id); err != nil {
		return nil, err
	}
	var out []cloudwatch.MetricDataQuery
	for _, q := range qs {
		qid := aws.ToString(q.Id)
		if need[qid] || allMetrics && q.MetricStat != nil {
			q.ReturnData = aws.Bool(qid == id)
			out = append(out, q)
		}
	}
	return out, nil
}

// queryPeriod is the period of the series id of qs: its own, or that of the first metric
// it is computed from.
func queryPeriod(qs []cloudwatch.MetricDataQuery, id string) int64 {
	for _, q := range qs {
		if aws.ToString(q.Id) != id {
			continue
		}
		if q.MetricStat != nil {
			return int64(aws.ToInt32(q.MetricStat.Period))
		}
		if q.Period != nil {
			return int64(*q.Period)
		}
	}
	for _, q := range qs {
		if q.MetricStat != nil {
			return int64(aws.ToInt32(q.MetricStat.Period))
		}
	}
	return 60
}

// mathBand is the band of the expression id of qs, with k standard deviations, over the n
// periods of p seconds from start.
func (s *Service) mathBand(ctx context.Context, tx store.ReadTx, account, region string, qs []cloudwatch.MetricDataQuery, id string, k float64,
	start time.Time, p int64, n int) (lower, upper []float64, err error) {
	in, err := inputQueries(qs, id)
	if err != nil {
		return nil, nil, err
	}
	d, err := getDetectorAt(ctx, tx, mathDetectorKey(account, region, in))
	if err != nil {
		return nil, nil, err
	}
	vals, histStart, steps, err := s.mathHistory(ctx, tx, account, region, in, id, d, start, p, n)
	if err != nil {
		return nil, nil, err
	}
	lower, upper = train(vals, histStart, p, steps, n, d, k)
	return lower, upper, nil
}

// mathHistory evaluates the series id of in over the training window before start and the
// n periods from it.
func (s *Service) mathHistory(ctx context.Context, tx store.ReadTx, account, region string, in []cloudwatch.MetricDataQuery, id string, d *Detector,
	start time.Time, p int64, n int) (vals []float64, histStart time.Time, steps int, err error) {
	steps = int((int64(trainingWindow/time.Second) + p - 1) / p)
	histStart = start.Add(-time.Duration(int64(steps)*p) * time.Second)
	total := steps + n
	results, err := s.RunQueries(ctx, tx, account, region, in, histStart, histStart.Add(time.Duration(int64(total)*p)*time.Second))
	if err != nil {
		return nil, time.Time{}, 0, err
	}
	vals = make([]float64, total)
	for i := range vals {
		vals[i] = math.NaN()
	}
	for _, r := range results {
		if r.ID != id || r.Edge != "" {
			continue
		}
		for j, t := range r.Timestamps {
			i := int((t.Unix() - histStart.Unix()) / p)
			if i >= 0 && i < total && !d.excluded(t) {
				vals[i] = r.Values[j]
			}
		}
	}
	return vals, histStart, steps, nil
}

// mathDetectorState is TRAINED once the detector's series has minTraining values at its
// period in the training window before now, outside the excluded ranges.
func (s *Service) mathDetectorState(ctx context.Context, tx store.ReadTx, account, region string, d *Detector, now time.Time) (string, error) {
	id := designated(d.Queries)
	in, err := inputQueries(d.Queries, id)
	if err != nil {
		return DetectorPending, nil // a detector whose queries no longer evaluate never trains
	}
	p := queryPeriod(in, id)
	end := time.Unix(now.Unix()/p*p+p, 0).UTC()
	vals, _, _, err := s.mathHistory(ctx, tx, account, region, in, id, d, end, p, 0)
	if err != nil {
		return "", err
	}
	count := 0
	for _, v := range vals {
		if !math.IsNaN(v) {
			count++
		}
	}
	if count >= minTraining {
		return DetectorTrained, nil
	}
	return DetectorPending, nil
}

// EnsureBandDetector creates, unless it exists, the anomaly detector that
// ANOMALY_DETECTION_BAND(id) of qs uses, as CloudWatch does when an alarm uses a band: the
// single-metric detector of a metric query, or the metric math detector of an expression.
func (s *Service) EnsureBandDetector(ctx context.Context, tx store.Tx, account, region string, qs []cloudwatch.MetricDataQuery, id string, at time.Time) error {
	d, err := bandDetector(qs, id, at)
	if err != nil {
		return err
	}
	key := detectorKey(account, region, d.MetricID, d.Stat)
	if d.Queries != nil {
		key = mathDetectorKey(account, region, d.Queries)
	}
	old, err := getDetectorAt(ctx, tx, key)
	if err != nil || old != nil {
		return err
	}
	return putDetector(ctx, tx, account, region, d)
}

// HasBandDetector reports whether the anomaly detector that ANOMALY_DETECTION_BAND(id) of
// qs uses exists: an alarm whose detector was deleted recreates it ("If you delete the
// model without deleting the alarm, the alarm automatically recreates the model").
func (s *Service) HasBandDetector(ctx context.Context, tx store.ReadTx, account, region string, qs []cloudwatch.MetricDataQuery, id string) (bool, error) {
	d, err := bandDetector(qs, id, time.Time{})
	if err != nil {
		return false, err
	}
	key := detectorKey(account, region, d.MetricID, d.Stat)
	if d.Queries != nil {
		key = mathDetectorKey(account, region, d.Queries)
	}
	old, err := getDetectorAt(ctx, tx, key)
	return old != nil, err
}

// bandDetector is the detector, with default configuration, that ANOMALY_DETECTION_BAND(id)
// of qs uses.
func bandDetector(qs []cloudwatch.MetricDataQuery, id string, at time.Time) (*Detector, error) {
	for _, q := range qs {
		if aws.ToString(q.Id) == id && q.MetricStat != nil && q.MetricStat.Metric != nil {
			ms := q.MetricStat
			m := MetricID{Namespace: aws.ToString(ms.Metric.Namespace), MetricName: aws.ToString(ms.Metric.MetricName), Dimensions: Dims(ms.Metric.Dimensions)}
			return &Detector{MetricID: m, Stat: aws.ToString(ms.Stat), Created: at.UTC()}, nil
		}
	}
	in, err := inputQueries(qs, id)
	if err != nil {
		return nil, invalid("Error in expression '%s': %s", id, err.Error())
	}
	return &Detector{Queries: in, Created: at.UTC()}, nil
}
