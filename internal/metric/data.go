package metric

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/bannin/bannin/internal/store"
)

// Key-value buckets. A series is one metric (namespace, name, dimensions); its datapoints
// are aggregated per second (high resolution) or per minute (standard resolution), so a
// time range of one series is one ordered prefix scan:
//
//	metric.series  <account>/<region>/<namespace>\x00<name>\x00<dims>   -> seriesInfo
//	metric.data    <account>/<region>/<series id>/<12-hex unix seconds>/<unit> -> Agg
const (
	bucketSeries = "metric.series"
	bucketData   = "metric.data"
	bucketState  = "metric.state"
)

// KindData is the stream entry kind PutData appends: a DataNotice as JSON, so that alarm
// evaluation learns of new datapoints as soon as they commit.
const KindData = "metric.data"

// DataNotice names the metrics one PutData call wrote to.
type DataNotice struct {
	Account string     `json:"account"`
	Region  string     `json:"region"`
	Metrics []MetricID `json:"metrics"`
}

// MetricID names one metric: a namespace, a name and its dimensions.
type MetricID struct {
	Namespace  string            `json:"namespace"`
	MetricName string            `json:"metricName"`
	Dimensions map[string]string `json:"dimensions,omitempty"`
}

// Datum is one datapoint (or a set of them) to store, as PutMetricData and metric filters
// give it. Exactly one of Value, Values (with optional Counts) or Stats is used.
type Datum struct {
	MetricID
	Timestamp time.Time
	Value     *float64
	Values    []float64
	Counts    []float64
	Stats     *Agg // a statistic set: SampleCount, Sum, Min, Max (no distribution)
	Unit      string
	// HighResolution stores the datum at one-second granularity (StorageResolution 1);
	// otherwise it is aggregated per minute.
	HighResolution bool
}

// Agg is the aggregate of the datapoints of one series, unit and time bucket. Values and
// Counts hold the distribution (sorted values and how often each was put) while it is
// exact; a statistic set makes it inexact and percentiles are then unavailable.
type Agg struct {
	N       float64   `json:"n"`
	Sum     float64   `json:"sum"`
	Min     float64   `json:"min"`
	Max     float64   `json:"max"`
	Values  []float64 `json:"v,omitempty"`
	Counts  []float64 `json:"c,omitempty"`
	Inexact bool      `json:"x,omitempty"`
}

// maxDistinct bounds the distribution kept per bucket; beyond it percentiles are estimated
// from a merged distribution.
const maxDistinct = 2000

// add merges one value seen count times.
func (a *Agg) add(v, count float64) {
	if a.N == 0 {
		a.Min, a.Max = v, v
	} else {
		a.Min, a.Max = math.Min(a.Min, v), math.Max(a.Max, v)
	}
	a.N += count
	a.Sum += v * count
	i, found := slices.BinarySearch(a.Values, v)
	if found {
		a.Counts[i] += count
		return
	}
	a.Values = slices.Insert(a.Values, i, v)
	a.Counts = slices.Insert(a.Counts, i, count)
	if len(a.Values) > maxDistinct {
		a.compact()
	}
}

// compact halves the distribution by merging neighbours (count-weighted means).
func (a *Agg) compact() {
	var vs, cs []float64
	for i := 0; i < len(a.Values); i += 2 {
		if i+1 == len(a.Values) {
			vs, cs = append(vs, a.Values[i]), append(cs, a.Counts[i])
			break
		}
		c := a.Counts[i] + a.Counts[i+1]
		vs = append(vs, (a.Values[i]*a.Counts[i]+a.Values[i+1]*a.Counts[i+1])/c)
		cs = append(cs, c)
	}
	a.Values, a.Counts = vs, cs
}

// Merge adds b's datapoints to a.
func (a *Agg) Merge(b *Agg) {
	if b == nil || b.N == 0 {
		return
	}
	if a.N == 0 {
		a.Min, a.Max = b.Min, b.Max
	} else {
		a.Min, a.Max = math.Min(a.Min, b.Min), math.Max(a.Max, b.Max)
	}
	a.Inexact = a.Inexact || b.Inexact
	n, sum := a.N+b.N, a.Sum+b.Sum
	if !b.Inexact {
		for i, v := range b.Values {
			a.add(v, b.Counts[i])
		}
	}
	a.N, a.Sum = n, sum
	if a.Inexact {
		a.Values, a.Counts = nil, nil
	}
}

// Statistic returns the value of one statistic (SampleCount, Average, Sum, Minimum,
// Maximum, or a percentile pNN / pNN.NN) of the aggregate; ok is false when the
// aggregate has no data or the statistic cannot be computed from it.
func (a *Agg) Statistic(stat string) (float64, bool) {
	if a == nil || a.N == 0 {
		return 0, false
	}
	switch stat {
	case "SampleCount":
		return a.N, true
	case "Sum":
		return a.Sum, true
	case "Average":
		return a.Sum / a.N, true
	case "Minimum":
		return a.Min, true
	case "Maximum":
		return a.Max, true
	}
	p, ok := ParsePercentile(stat)
	if !ok || a.Inexact || len(a.Values) == 0 {
		return 0, false
	}
	return a.percentile(p), true
}

// percentile is the nearest-rank p-th percentile of the distribution.
func (a *Agg) percentile(p float64) float64 {
	if p <= 0 {
		return a.Values[0]
	}
	rank := math.Ceil(p / 100 * a.N)
	var seen float64
	for i, c := range a.Counts {
		seen += c
		if seen >= rank {
			return a.Values[i]
		}
	}
	return a.Values[len(a.Values)-1]
}

// ParsePercentile parses an extended statistic "pNN" or "pNN.NN" (0 to 100).
func ParsePercentile(s string) (float64, bool) {
	if len(s) < 2 || (s[0] != 'p' && s[0] != 'P') {
		return 0, false
	}
	num := s[1:]
	if i := strings.IndexByte(num, '.'); i >= 0 && len(num)-i-1 > 2 {
		return 0, false
	}
	p, err := strconv.ParseFloat(num, 64)
	if err != nil || p < 0 || p > 100 || strings.ContainsAny(num, "eE+-") {
		return 0, false
	}
	return p, true
}

// seriesInfo is what metric.series holds for one metric.
type seriesInfo struct {
	Namespace  string            `json:"namespace"`
	MetricName string            `json:"metricName"`
	Dimensions map[string]string `json:"dimensions,omitempty"`
	// LastPut is when a datapoint was last put (unix seconds), for RecentlyActive.
	LastPut int64 `json:"lastPut"`
}

// dimsKey is the canonical form of a dimension set: name=value pairs sorted by name.
func dimsKey(d map[string]string) string {
	names := make([]string, 0, len(d))
	for n := range d {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for i, n := range names {
		if i > 0 {
			b.WriteByte('\x01')
		}
		b.WriteString(n)
		b.WriteByte('=')
		b.WriteString(d[n])
	}
	return b.String()
}

func seriesKey(account, region string, m MetricID) string {
	return account + "/" + region + "/" + m.Namespace + "\x00" + m.MetricName + "\x00" + dimsKey(m.Dimensions)
}

// seriesID is the short stable id of a series that its datapoint keys carry.
func seriesID(account, region string, m MetricID) string {
	h := sha256.Sum256([]byte(seriesKey(account, region, m)))
	return hex.EncodeToString(h[:10])
}

func dataPrefix(account, region string, m MetricID) string {
	return account + "/" + region + "/" + seriesID(account, region, m) + "/"
}

// PutData stores datapoints of account and region in tx, updates the metrics' catalogue
// and announces them with a KindData stream entry. Timestamps are taken as given; callers
// check AWS's limits on them.
func (s *Service) PutData(ctx context.Context, tx store.Tx, account, region string, data []Datum) error {
	if len(data) == 0 {
		return nil
	}
	aggs := map[string]*Agg{}
	var order []string
	seen := map[string]bool{}
	notice := DataNotice{Account: account, Region: region}
	now := s.opts.Clock().Unix()
	for _, d := range data {
		sk := seriesKey(account, region, d.MetricID)
		if !seen[sk] {
			seen[sk] = true
			info := seriesInfo{Namespace: d.Namespace, MetricName: d.MetricName, Dimensions: d.Dimensions, LastPut: now}
			b, _ := json.Marshal(info)
			if err := tx.Put(ctx, bucketSeries, sk, b); err != nil {
				return fmt.Errorf("metric: put series: %w", err)
			}
			notice.Metrics = append(notice.Metrics, d.MetricID)
		}
		ts := d.Timestamp.Unix()
		if !d.HighResolution {
			ts -= ts % 60
		}
		unit := d.Unit
		if unit == "" {
			unit = "None"
		}
		key := dataPrefix(account, region, d.MetricID) + fmt.Sprintf("%012x", ts) + "/" + unit
		a := aggs[key]
		if a == nil {
			a = &Agg{}
			aggs[key] = a
			order = append(order, key)
		}
		switch {
		case d.Stats != nil:
			a.Merge(&Agg{N: d.Stats.N, Sum: d.Stats.Sum, Min: d.Stats.Min, Max: d.Stats.Max, Inexact: true})
		case len(d.Values) > 0:
			for i, v := range d.Values {
				c := 1.0
				if i < len(d.Counts) {
					c = d.Counts[i]
				}
				if c > 0 {
					a.add(v, c)
				}
			}
		case d.Value != nil:
			a.add(*d.Value, 1)
		}
	}
	for _, key := range order {
		old, err := tx.Get(ctx, bucketData, key)
		if err != nil {
			return fmt.Errorf("metric: get datapoints: %w", err)
		}
		a := aggs[key]
		if old != nil {
			var prev Agg
			if err := json.Unmarshal(old, &prev); err != nil {
				return fmt.Errorf("metric: decode datapoints %q: %w", key, err)
			}
			prev.Merge(a)
			a = &prev
		}
		if a.N == 0 {
			continue
		}
		b, _ := json.Marshal(a)
		if err := tx.Put(ctx, bucketData, key, b); err != nil {
			return fmt.Errorf("metric: put datapoints: %w", err)
		}
	}
	b, _ := json.Marshal(notice)
	if _, err := tx.Append(ctx, KindData, b); err != nil {
		return fmt.Errorf("metric: append %s: %w", KindData, err)
	}
	return nil
}

// Bucket is the aggregate of one period of a query, per unit.
type Bucket struct {
	Start time.Time
	// Units maps each unit the period's datapoints were put with to their aggregate.
	Units map[string]*Agg
}

// Total merges the bucket's units, keeping only unit when it is not "".
func (b *Bucket) Total(unit string) *Agg {
	var a Agg
	for u, x := range b.Units {
		if unit == "" || u == unit {
			a.Merge(x)
		}
	}
	if a.N == 0 {
		return nil
	}
	return &a
}

// Query returns the aggregates of one metric in [start, end), grouped into periods that
// begin at start (start should be aligned by the caller), oldest first. Periods without
// datapoints are left out.
func (s *Service) Query(ctx context.Context, tx store.ReadTx, account, region string, m MetricID, start, end time.Time, period time.Duration) ([]Bucket, error) {
	prefix := dataPrefix(account, region, m)
	from, to := start.Unix(), end.Unix()
	step := int64(period / time.Second)
	if step <= 0 {
		return nil, fmt.Errorf("metric: query with period %v", period)
	}
	var out []Bucket
	after := prefix + fmt.Sprintf("%012x", max(from, 0))
	for {
		kvs, err := tx.List(ctx, bucketData, prefix, after, 1000)
		if err != nil {
			return nil, fmt.Errorf("metric: query: %w", err)
		}
		for _, kv := range kvs {
			rest := kv.Key[len(prefix):]
			slash := strings.IndexByte(rest, '/')
			if slash < 0 {
				continue
			}
			ts, err := strconv.ParseInt(rest[:slash], 16, 64)
			if err != nil {
				continue
			}
			if ts >= to {
				return out, nil
			}
			if ts < from {
				continue
			}
			var a Agg
			if err := json.Unmarshal(kv.Value, &a); err != nil {
				return nil, fmt.Errorf("metric: decode datapoints %q: %w", kv.Key, err)
			}
			bs := from + (ts-from)/step*step
			if len(out) == 0 || out[len(out)-1].Start.Unix() != bs {
				out = append(out, Bucket{Start: time.Unix(bs, 0).UTC(), Units: map[string]*Agg{}})
			}
			b := &out[len(out)-1]
			unit := rest[slash+1:]
			if b.Units[unit] == nil {
				b.Units[unit] = &Agg{}
			}
			b.Units[unit].Merge(&a)
		}
		if len(kvs) < 1000 {
			return out, nil
		}
		after = kvs[len(kvs)-1].Key
	}
}
