package alarm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/bannin/bannin/internal/metric"
	"github.com/bannin/bannin/internal/store"
	"github.com/bannin/bannin/internal/stream"
)

// Consumers returns the consumer that evaluates the alarms watching a metric as soon as
// its datapoints commit. (It hides the embedded metric service's consumers, which the
// server registers through the metric service itself.)
func (s *Service) Consumers() []stream.Consumer {
	return []stream.Consumer{{Name: "alarm.evaluate", Kinds: []string{metric.KindData}, FromNow: true, Handle: s.handleData}}
}

func (s *Service) handleData(ctx context.Context, entries []store.Entry) error {
	if s.opts.Store == nil {
		return errors.New("alarm: evaluate: no store configured")
	}
	type scope struct{ account, region string }
	touched := map[scope][]metric.MetricID{}
	for _, e := range entries {
		var n metric.DataNotice
		if err := json.Unmarshal(e.Payload, &n); err != nil {
			s.opts.Logger.Error("alarm: bad metric data notice", "seq", e.Seq, "err", err)
			continue
		}
		k := scope{n.Account, n.Region}
		touched[k] = append(touched[k], n.Metrics...)
	}
	if len(touched) == 0 {
		return nil
	}
	return s.evaluate(ctx, s.opts.Store, func(a *Alarm) bool {
		for _, m := range touched[scope{a.Account, a.Region}] {
			if a.watches(m) {
				return true
			}
		}
		return false
	})
}

// Run evaluates alarms at each of their period boundaries (checking every second) until
// ctx is done. Alarms also evaluate as soon as their datapoints land (Consumers).
func (s *Service) Run(ctx context.Context) error {
	if s.opts.Store == nil {
		s.opts.Logger.Warn("alarm: no store configured; periodic alarm evaluation is off")
		<-ctx.Done()
		return nil
	}
	t := time.NewTicker(time.Second)
	defer t.Stop()
	var pruned time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		now := s.opts.Clock()
		if now.Sub(pruned) >= pruneEvery || now.Before(pruned) {
			pruned = now
			if _, err := s.pruneHistory(ctx, now); err != nil && ctx.Err() == nil {
				s.opts.Logger.Error("alarm: prune history", "err", err)
			}
		}
		err := s.evaluate(ctx, s.opts.Store, func(a *Alarm) bool {
			ps := int64(a.periodDur() / time.Second)
			start := now.Unix() / ps * ps
			key := stateKey(a.Account, a.Region, a.Name)
			s.dueMu.Lock()
			defer s.dueMu.Unlock()
			if s.due[key] == start {
				return false
			}
			s.due[key] = start
			return true
		})
		if err != nil && ctx.Err() == nil {
			s.opts.Logger.Error("alarm: evaluation failed", "err", err)
		}
	}
}

// Evaluate evaluates every alarm of every account and region now (Options.Clock), making
// the transitions that are due with their history and actions.
func (s *Service) Evaluate(ctx context.Context, st store.Store) error {
	return s.evaluate(ctx, st, func(*Alarm) bool { return true })
}

// evaluate evaluates the metric alarms pick selects, then every composite alarm (until
// no composite changes, for composites of composites).
func (s *Service) evaluate(ctx context.Context, st store.Store, pick func(*Alarm) bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Clock().UTC()
	var alarms []*Alarm
	if err := st.View(ctx, func(tx store.ReadTx) error {
		var err error
		alarms, err = listAlarms(ctx, tx, "", "")
		return err
	}); err != nil {
		return err
	}
	var errs []error
	for _, a := range alarms {
		if a.Type != TypeMetric || !pick(a) {
			continue
		}
		if err := s.evaluateOne(ctx, st, a, now); err != nil {
			errs = append(errs, err)
		}
	}
	for range 5 {
		changed := false
		for _, a := range alarms {
			if a.Type != TypeComposite {
				continue
			}
			var did bool
			err := st.Update(ctx, func(tx store.Tx) error {
				var err error
				if did, err = s.transitionIfChanged(ctx, tx, a.Account, a.Region, a.Name, now); err != nil {
					return err
				}
				return s.upkeepSuppression(ctx, tx, a.Account, a.Region, a.Name, now)
			})
			if err != nil {
				errs = append(errs, err)
			}
			changed = changed || did
		}
		if !changed {
			break
		}
	}
	return errors.Join(errs...)
}

// evaluateOne computes one metric alarm's state on a snapshot and, when it changes, makes
// the transition in a write transaction (computing it again there).
func (s *Service) evaluateOne(ctx context.Context, st store.Store, a *Alarm, now time.Time) error {
	var change, recreate bool
	bandID := ""
	if a.ThresholdMetricID != "" {
		bandID, _ = bandInput(a)
	}
	err := st.View(ctx, func(tx store.ReadTx) error {
		if bandID != "" {
			has, err := s.HasBandDetector(ctx, tx, a.Account, a.Region, a.Metrics, bandID)
			recreate = err == nil && !has
		}
		cur, err := getState(ctx, tx, a.Account, a.Region, a.Name)
		if err != nil {
			return err
		}
		d, err := s.decide(ctx, tx, a, cur, now)
		if err != nil {
			return err
		}
		change = d.decided && d.value != cur.Value
		return nil
	})
	if err == nil && recreate {
		// A band alarm recreates the anomaly detector it uses when it was deleted, as
		// CloudWatch's alarms do.
		err = st.Update(ctx, func(tx store.Tx) error {
			return s.EnsureBandDetector(ctx, tx, a.Account, a.Region, a.Metrics, bandID, now)
		})
	}
	if err != nil || !change {
		return err
	}
	return st.Update(ctx, func(tx store.Tx) error {
		_, err := s.transitionIfChanged(ctx, tx, a.Account, a.Region, a.Name, now)
		return err
	})
}

// transitionIfChanged re-reads an alarm in tx, decides its state and makes the transition
// when the state changes.
func (s *Service) transitionIfChanged(ctx context.Context, tx store.Tx, account, region, name string, now time.Time) (bool, error) {
	a, _, err := getAlarm(ctx, tx, account, region, name)
	if err != nil || a == nil {
		return false, err
	}
	cur, err := getState(ctx, tx, account, region, name)
	if err != nil {
		return false, err
	}
	d, err := s.decide(ctx, tx, a, cur, now)
	if err != nil || !d.decided || d.value == cur.Value {
		return false, err
	}
	return true, s.transition(ctx, tx, a, cur, d.value, d.reason, d.data, now)
}

// decision is the outcome of evaluating an alarm.
type decision struct {
	decided bool // false: keep the current state (ignore, low samples)
	value   string
	reason  string
	data    string
}

func (s *Service) decide(ctx context.Context, tx store.ReadTx, a *Alarm, cur *State, now time.Time) (decision, error) {
	if a.Type == TypeComposite {
		return s.decideComposite(ctx, tx, a, cur.Reason == reasonCreated, now)
	}
	ps := int64(a.periodDur() / time.Second)
	n := int(a.EvaluationPeriods)
	r := 2 * n
	curStart := now.Unix() / ps * ps
	from := time.Unix(curStart-int64(r)*ps, 0).UTC()
	to := time.Unix(curStart+ps, 0).UTC()
	vals, samples, bands, err := s.series(ctx, tx, a, from, to)
	if err != nil {
		return decision{}, err
	}
	if bands != nil {
		// A band alarm judges a datapoint only where the model gives a band.
		for t := range vals {
			if _, ok := bands[t]; !ok {
				delete(vals, t)
			}
		}
	}
	end := curStart
	if _, ok := vals[end]; !ok {
		end -= ps // the current period counts only once it has data
	}
	slots := make([]Point, r)
	for i := range slots {
		t := end - int64(i)*ps
		v, ok := vals[t]
		b := bands[t]
		slots[i] = Point{Time: time.Unix(t, 0).UTC(), Value: v, Present: ok, Samples: samples[t], Lower: b[0], Upper: b[1]}
	}
	if p, ok := metric.ParsePercentile(a.ExtendedStatistic); ok && a.EvaluateLowSample == "ignore" && slots[0].Present &&
		p < 100 && slots[0].Samples < 10/(1-p/100) {
		return decision{}, nil
	}
	return a.judge(slots, cur.Value, now), nil
}

// Point is one period's value in an evaluation, newest first in the slots judge gets.
type Point struct {
	Time    time.Time
	Value   float64
	Present bool
	Samples float64
	// Lower and Upper are the anomaly detection band at Time (band alarms).
	Lower, Upper float64
	filled       bool // a missing datapoint counted per TreatMissingData
}

// judge applies M of N and the missing data treatment to slots (newest first, at least
// EvaluationPeriods of them), as "Evaluating an alarm" describes: evaluate the newest N
// when none is missing; else the newest N real datapoints of the evaluation range when
// there are N; else fill in missing datapoints per TreatMissingData.
func (a *Alarm) judge(slots []Point, current string, now time.Time) decision {
	n := int(a.EvaluationPeriods)
	m := int(a.DatapointsToAlarm)
	if m <= 0 {
		m = n
	}
	var real []Point
	for _, p := range slots {
		if p.Present {
			real = append(real, p)
		}
	}
	allPresent := true
	for _, p := range slots[:n] {
		allPresent = allPresent && p.Present
	}
	var used []Point
	need := m
	switch {
	case allPresent:
		used = slots[:n]
	case len(real) >= n:
		used = real[:n]
	default:
		switch a.TreatMissingData {
		case "breaching", "notBreaching":
			for _, p := range slots[:n] {
				if !p.Present {
					p.filled = true
				}
				used = append(used, p)
			}
		case "ignore":
			return decision{} // fewer than N real datapoints: the state is kept
		default: // missing
			if len(real) == 0 {
				return decision{decided: true, value: StateInsufficient,
					reason: fmt.Sprintf("Insufficient Data: %d datapoint%s unknown.", n, plural(n, " was", "s were")),
					data:   a.reasonData(nil, now)}
			}
			used, need = real, min(m, len(real))
		}
	}
	var breaching []Point
	for _, p := range used {
		if p.filled && a.TreatMissingData == "breaching" || !p.filled && p.Present && a.breaches(p) {
			breaching = append(breaching, p)
		}
	}
	if len(breaching) >= need {
		return decision{decided: true, value: StateAlarm, reason: a.reason(breaching, len(used), need, true), data: a.reasonData(used, now)}
	}
	var shown []Point
	for _, p := range used {
		if p.Present {
			shown = append(shown, p)
		}
	}
	return decision{decided: true, value: StateOK, reason: a.reason(shown, len(used), need, false), data: a.reasonData(used, now)}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func (a *Alarm) breaches(p Point) bool {
	v, t := p.Value, aws.ToFloat64(a.Threshold)
	switch a.ComparisonOperator {
	case "GreaterThanUpperThreshold":
		return v > p.Upper
	case "LessThanLowerThreshold":
		return v < p.Lower
	case "LessThanLowerOrGreaterThanUpperThreshold":
		return v < p.Lower || v > p.Upper
	case "GreaterThanOrEqualToThreshold":
		return v >= t
	case "GreaterThanThreshold":
		return v > t
	case "LessThanThreshold":
		return v < t
	case "LessThanOrEqualToThreshold":
		return v <= t
	}
	return false
}

// opText is the comparison as state reasons word it.
func (a *Alarm) opText() string {
	return map[string]string{"GreaterThanOrEqualToThreshold": "greater than or equal to", "GreaterThanThreshold": "greater than",
		"LessThanThreshold": "less than", "LessThanOrEqualToThreshold": "less than or equal to"}[a.ComparisonOperator]
}

// reason is AWS's StateReason for a threshold decision: e.g. "Threshold Crossed: 1
// datapoint [1.0 (23/11/26 10:05:00)] was greater than or equal to the threshold (1.0)."
func (a *Alarm) reason(points []Point, evaluated, need int, alarm bool) string {
	if a.ThresholdMetricID != "" {
		return a.bandReason(points, evaluated, need, alarm)
	}
	list := make([]string, len(points))
	for i, p := range points {
		list[i] = JavaDouble(p.Value) + " (" + p.Time.Format("02/01/06 15:04:05") + ")"
	}
	op := a.opText()
	if !alarm {
		op = "not " + op
	}
	th := JavaDouble(aws.ToFloat64(a.Threshold))
	if a.EvaluationPeriods == 1 && evaluated == 1 {
		return fmt.Sprintf("Threshold Crossed: 1 datapoint [%s] was %s the threshold (%s).", strings.Join(list, ", "), op, th)
	}
	from, to := "OK", "ALARM"
	if !alarm {
		from, to = "ALARM", "OK"
	}
	return fmt.Sprintf("Threshold Crossed: %d out of the last %d datapoints [%s] %s %s the threshold (%s) (minimum %d datapoint%s for %s -> %s transition).",
		len(points), evaluated, strings.Join(list, ", "), plural(len(points), "was", "were"), op, th, need, plural(need, "", "s"), from, to)
}

// bandReason is AWS's StateReason for a band alarm decision: e.g. "Thresholds Crossed: 1
// out of the last 1 datapoints [239.0 (25/07/24 07:21:00)] was greater than the upper
// thresholds [225.71426732099445] (minimum 1 datapoint for OK -> ALARM transition)."; for
// LessThanLowerOrGreaterThanUpperThreshold back to OK, "... was not less than the lower
// thresholds [l] or not greater than the upper thresholds [u] ...".
func (a *Alarm) bandReason(points []Point, evaluated, need int, alarm bool) string {
	list := make([]string, len(points))
	lows := make([]string, len(points))
	highs := make([]string, len(points))
	for i, p := range points {
		list[i] = JavaDouble(p.Value) + " (" + p.Time.Format("02/01/06 15:04:05") + ")"
		lows[i], highs[i] = JavaDouble(p.Lower), JavaDouble(p.Upper)
	}
	var cmp string
	switch a.ComparisonOperator {
	case "GreaterThanUpperThreshold":
		cmp = "greater than the upper thresholds [" + strings.Join(highs, ", ") + "]"
	case "LessThanLowerThreshold":
		cmp = "less than the lower thresholds [" + strings.Join(lows, ", ") + "]"
	default:
		not := ""
		if !alarm {
			not = "not "
		}
		cmp = "less than the lower thresholds [" + strings.Join(lows, ", ") + "] or " + not + "greater than the upper thresholds [" + strings.Join(highs, ", ") + "]"
	}
	if !alarm {
		cmp = "not " + cmp
	}
	from, to := "OK", "ALARM"
	if !alarm {
		from, to = "ALARM", "OK"
	}
	return fmt.Sprintf("Thresholds Crossed: %d out of the last %d datapoints [%s] %s %s (minimum %d datapoint%s for %s -> %s transition).",
		len(points), evaluated, strings.Join(list, ", "), plural(len(points), "was", "were"), cmp, need, plural(need, "", "s"), from, to)
}

// jsonNumber is a float that JSON-encodes as Java prints doubles (1.0, 0.5, 1.0E7).
type jsonNumber float64

func (f jsonNumber) MarshalJSON() ([]byte, error) { return []byte(JavaDouble(float64(f))), nil }

// JavaDouble formats v as Java's Double.toString does, as CloudWatch's texts show numbers.
func JavaDouble(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	a := math.Abs(v)
	if a == 0 || (a >= 1e-3 && a < 1e7) {
		s := strconv.FormatFloat(v, 'f', -1, 64)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		return s
	}
	s := strconv.FormatFloat(v, 'E', -1, 64)
	mant, exp, _ := strings.Cut(s, "E")
	if !strings.Contains(mant, ".") {
		mant += ".0"
	}
	if exp[0] == '+' {
		exp = exp[1:]
	}
	exp = strings.TrimLeft(exp, "0")
	if strings.HasPrefix(exp, "-") {
		exp = "-" + strings.TrimLeft(exp[1:], "0")
	}
	return mant + "E" + exp
}

// awsTime is the timestamp format of CloudWatch's JSON texts (2026-11-23T10:05:00.000+0000).
func awsTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000-0700") }

// reasonData is StateReasonData for a metric alarm decision.
func (a *Alarm) reasonData(used []Point, now time.Time) string {
	if a.ThresholdMetricID != "" {
		return a.bandReasonData(used, now)
	}
	type evaluated struct {
		Timestamp   string      `json:"timestamp"`
		SampleCount *jsonNumber `json:"sampleCount,omitempty"`
		Value       *jsonNumber `json:"value,omitempty"`
	}
	doc := struct {
		Version             string       `json:"version"`
		QueryDate           string       `json:"queryDate"`
		StartDate           string       `json:"startDate,omitempty"`
		Statistic           string       `json:"statistic,omitempty"`
		Unit                string       `json:"unit,omitempty"`
		Period              int64        `json:"period"`
		RecentDatapoints    []jsonNumber `json:"recentDatapoints"`
		Threshold           jsonNumber   `json:"threshold"`
		EvaluatedDatapoints []evaluated  `json:"evaluatedDatapoints,omitempty"`
	}{Version: "1.0", QueryDate: awsTime(now), Statistic: a.Statistic + a.ExtendedStatistic, Unit: a.Unit,
		Period: int64(a.periodDur() / time.Second), RecentDatapoints: []jsonNumber{}, Threshold: jsonNumber(aws.ToFloat64(a.Threshold))}
	for i := len(used) - 1; i >= 0; i-- {
		if used[i].Present {
			doc.RecentDatapoints = append(doc.RecentDatapoints, jsonNumber(used[i].Value))
		}
	}
	for _, p := range used {
		e := evaluated{Timestamp: awsTime(p.Time)}
		if p.Present {
			v, sc := jsonNumber(p.Value), jsonNumber(p.Samples)
			e.Value = &v
			if p.Samples > 0 {
				e.SampleCount = &sc
			}
		}
		doc.EvaluatedDatapoints = append(doc.EvaluatedDatapoints, e)
	}
	if len(used) > 0 {
		doc.StartDate = awsTime(used[len(used)-1].Time)
	}
	b, _ := json.Marshal(doc)
	return string(b)
}

// bandReasonData is StateReasonData for a band alarm decision: the recent datapoints with
// the band edges the operator compares with (recentUpperThresholds and/or
// recentLowerThresholds), and each evaluated datapoint's threshold (lowerThreshold and
// upperThreshold for LessThanLowerOrGreaterThanUpperThreshold).
func (a *Alarm) bandReasonData(used []Point, now time.Time) string {
	type evaluated struct {
		Timestamp      string      `json:"timestamp"`
		Value          *jsonNumber `json:"value,omitempty"`
		Threshold      *jsonNumber `json:"threshold,omitempty"`
		LowerThreshold *jsonNumber `json:"lowerThreshold,omitempty"`
		UpperThreshold *jsonNumber `json:"upperThreshold,omitempty"`
	}
	lower := a.ComparisonOperator != "GreaterThanUpperThreshold"
	upper := a.ComparisonOperator != "LessThanLowerThreshold"
	doc := struct {
		Version               string       `json:"version"`
		QueryDate             string       `json:"queryDate"`
		StartDate             string       `json:"startDate,omitempty"`
		Period                int64        `json:"period"`
		RecentDatapoints      []jsonNumber `json:"recentDatapoints"`
		RecentLowerThresholds []jsonNumber `json:"recentLowerThresholds,omitempty"`
		RecentUpperThresholds []jsonNumber `json:"recentUpperThresholds,omitempty"`
		EvaluatedDatapoints   []evaluated  `json:"evaluatedDatapoints,omitempty"`
	}{Version: "1.0", QueryDate: awsTime(now), Period: int64(a.periodDur() / time.Second), RecentDatapoints: []jsonNumber{}}
	for i := len(used) - 1; i >= 0; i-- {
		if p := used[i]; p.Present {
			doc.RecentDatapoints = append(doc.RecentDatapoints, jsonNumber(p.Value))
			if lower {
				doc.RecentLowerThresholds = append(doc.RecentLowerThresholds, jsonNumber(p.Lower))
			}
			if upper {
				doc.RecentUpperThresholds = append(doc.RecentUpperThresholds, jsonNumber(p.Upper))
			}
		}
	}
	for _, p := range used {
		e := evaluated{Timestamp: awsTime(p.Time)}
		if p.Present {
			v, lo, hi := jsonNumber(p.Value), jsonNumber(p.Lower), jsonNumber(p.Upper)
			e.Value = &v
			switch {
			case lower && upper:
				e.LowerThreshold, e.UpperThreshold = &lo, &hi
			case lower:
				e.Threshold = &lo
			default:
				e.Threshold = &hi
			}
		}
		doc.EvaluatedDatapoints = append(doc.EvaluatedDatapoints, e)
	}
	if len(used) > 0 {
		doc.StartDate = awsTime(used[len(used)-1].Time)
	}
	b, _ := json.Marshal(doc)
	return string(b)
}

// series returns the alarm's values per period start (unix seconds) over [from, to), and
// the sample counts behind them (single-metric alarms).
func (s *Service) series(ctx context.Context, tx store.ReadTx, a *Alarm, from, to time.Time) (vals, samples map[int64]float64, bands map[int64][2]float64, err error) {
	vals, samples = map[int64]float64{}, map[int64]float64{}
	if a.MetricName != "" {
		m := metric.MetricID{Namespace: a.Namespace, MetricName: a.MetricName, Dimensions: a.Dimensions}
		buckets, err := s.Service.Query(ctx, tx, a.Account, a.Region, m, from, to, a.periodDur())
		if err != nil {
			return nil, nil, nil, err
		}
		for _, b := range buckets {
			agg := b.Total(a.Unit)
			if v, ok := agg.Statistic(a.Statistic + a.ExtendedStatistic); ok {
				vals[b.Start.Unix()] = v
				samples[b.Start.Unix()] = agg.N
			}
		}
		return vals, samples, nil, nil
	}
	results, err := s.Service.RunQueries(ctx, tx, a.Account, a.Region, a.Metrics, from, to)
	if err != nil {
		return nil, nil, nil, err
	}
	if a.ThresholdMetricID != "" {
		bands = map[int64][2]float64{}
		lo, hi := map[int64]float64{}, map[int64]float64{}
		for _, r := range results {
			if r.ID != a.ThresholdMetricID {
				continue
			}
			edge := hi
			if r.Edge == "Lower" {
				edge = lo
			}
			for i, t := range r.Timestamps {
				edge[t.Unix()] = r.Values[i]
			}
		}
		for t, l := range lo {
			if h, ok := hi[t]; ok {
				bands[t] = [2]float64{l, h}
			}
		}
	}
	for _, r := range results {
		if !r.ReturnData || r.ID == a.ThresholdMetricID {
			continue
		}
		for i, t := range r.Timestamps {
			vals[t.Unix()] = r.Values[i]
		}
	}
	return vals, samples, bands, nil
}

// decideComposite evaluates a composite alarm's rule on its children's current states.
// Its first evaluation after creation (created) says so, as CloudWatch does: "<arn> was
// created and its alarm rule evaluates to OK", with every child in triggeringAlarms.
func (s *Service) decideComposite(ctx context.Context, tx store.ReadTx, a *Alarm, created bool, now time.Time) (decision, error) {
	rule, err := ParseRule(a.AlarmRule)
	if err != nil {
		return decision{}, nil
	}
	states := map[string]*State{}
	arns := map[string]string{}
	for _, ref := range rule.Alarms() {
		name, ok := resolveRef(a, ref)
		if !ok {
			continue
		}
		st, err := getState(ctx, tx, a.Account, a.Region, name)
		if err != nil {
			return decision{}, err
		}
		ch, _, err := getAlarm(ctx, tx, a.Account, a.Region, name)
		if err != nil {
			return decision{}, err
		}
		if ch == nil {
			st = &State{Value: StateInsufficient}
		}
		states[ref], arns[ref] = st, ARN(a.Region, a.Account, name)
	}
	value := StateOK
	if rule.Eval(func(ref string) string {
		if st := states[ref]; st != nil {
			return st.Value
		}
		return StateInsufficient
	}) {
		value = StateAlarm
	}
	// The triggering child: the most recent transition among the children.
	refs := rule.Alarms()
	sort.SliceStable(refs, func(i, j int) bool {
		return states[refs[i]] != nil && states[refs[j]] != nil && states[refs[i]].Transitioned.After(states[refs[j]].Transitioned)
	})
	var t []triggeringAlarm
	reason := "No alarm in the alarm rule has changed state."
	for _, ref := range refs {
		st := states[ref]
		if st == nil || st.Transitioned.IsZero() {
			continue
		}
		var x triggeringAlarm
		x.ARN, x.State.Value, x.State.Timestamp = arns[ref], st.Value, awsTime(st.Transitioned)
		t = append(t, x)
		if len(t) == 1 {
			reason = fmt.Sprintf("%s transitioned to %s at %s", arns[ref], st.Value, st.Transitioned.UTC().Format("Monday 02 January, 2006 15:04:05 MST"))
		}
	}
	if created {
		reason = fmt.Sprintf("%s was created and its alarm rule evaluates to %s", a.ARN, value)
	} else if len(t) > 1 {
		t = t[:1]
	}
	b, _ := json.Marshal(map[string]any{"triggeringAlarms": t})
	return decision{decided: true, value: value, reason: reason, data: string(b)}, nil
}
