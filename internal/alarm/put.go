package alarm

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/bannin/bannin/internal/awserr"
	"github.com/bannin/bannin/internal/call"
	"github.com/bannin/bannin/internal/metric"
	"github.com/bannin/bannin/internal/store"
	"github.com/bannin/bannin/internal/wire/cloudwatch"
)

func invalid(format string, args ...any) error {
	return &cloudwatch.InvalidParameterValueException{Message: aws.String(fmt.Sprintf(format, args...))}
}

func missing(format string, args ...any) error {
	return &cloudwatch.MissingRequiredParameterException{Message: aws.String(fmt.Sprintf(format, args...))}
}

func combination(format string, args ...any) error {
	return &cloudwatch.InvalidParameterCombinationException{Message: aws.String(fmt.Sprintf(format, args...))}
}

func validation(format string, args ...any) error {
	return awserr.New("ValidationError", http.StatusBadRequest, format, args...)
}

func notFound(format string, args ...any) error {
	return &cloudwatch.ResourceNotFound{Message: aws.String(fmt.Sprintf(format, args...))}
}

// Comparison operators.
var (
	thresholdOps = map[string]bool{"GreaterThanOrEqualToThreshold": true, "GreaterThanThreshold": true,
		"LessThanThreshold": true, "LessThanOrEqualToThreshold": true}
	bandOps = map[string]bool{"LessThanLowerOrGreaterThanUpperThreshold": true, "LessThanLowerThreshold": true,
		"GreaterThanUpperThreshold": true}
	missingTreatments = map[string]bool{"breaching": true, "notBreaching": true, "ignore": true, "missing": true}
)

const maxActions = 5

func checkActions(field string, arns []string) error {
	if len(arns) > maxActions {
		return invalid("The collection %s must not have a size greater than %d.", field, maxActions)
	}
	for _, a := range arns {
		parts := strings.SplitN(a, ":", 6)
		if len(parts) < 6 || parts[0] != "arn" || len(a) > 1024 {
			return invalid("Invalid arn syntax: %s", a)
		}
	}
	return nil
}

func checkName(name string) error {
	if name == "" {
		return missing("The parameter AlarmName is required.")
	}
	if len(name) > 255 {
		return invalid("The value for parameter AlarmName must be at most 255 characters long.")
	}
	return nil
}

// alarmPeriod reports whether p (seconds) is a period alarms accept: 10, 20, 30, or a
// multiple of 60.
func alarmPeriod(p int32) bool {
	return p == 10 || p == 20 || p == 30 || (p >= 60 && p%60 == 0)
}

// PutMetricAlarm creates or updates an alarm on one metric or on metric math.
func (s *Service) PutMetricAlarm(ctx context.Context, in *cloudwatch.PutMetricAlarmInput) (*cloudwatch.PutMetricAlarmOutput, error) {
	c := call.From(ctx)
	name := aws.ToString(in.AlarmName)
	if err := checkName(name); err != nil {
		return nil, err
	}
	a := &Alarm{Account: c.Account, Region: c.Region, Type: TypeMetric, Name: name, ARN: ARN(c.Region, c.Account, name),
		Description: aws.ToString(in.AlarmDescription), ActionsEnabled: in.ActionsEnabled == nil || *in.ActionsEnabled,
		AlarmActions: nonNil(in.AlarmActions), OKActions: nonNil(in.OKActions), InsufficientDataActions: nonNil(in.InsufficientDataActions),
		Namespace: aws.ToString(in.Namespace), MetricName: aws.ToString(in.MetricName), Dimensions: metric.Dims(in.Dimensions),
		Statistic: aws.ToString(in.Statistic), ExtendedStatistic: aws.ToString(in.ExtendedStatistic), Period: aws.ToInt32(in.Period),
		Unit: aws.ToString(in.Unit), EvaluationPeriods: aws.ToInt32(in.EvaluationPeriods), DatapointsToAlarm: aws.ToInt32(in.DatapointsToAlarm),
		Threshold: in.Threshold, ComparisonOperator: aws.ToString(in.ComparisonOperator), TreatMissingData: aws.ToString(in.TreatMissingData),
		EvaluateLowSample: aws.ToString(in.EvaluateLowSampleCountPercentile), Metrics: in.Metrics, ConfigUpdated: c.Time.UTC()}
	if a.Description != "" && len(a.Description) > 1024 {
		return nil, invalid("The value for parameter AlarmDescription must be at most 1024 characters long.")
	}
	for _, f := range []struct {
		n string
		v []string
	}{{"AlarmActions", a.AlarmActions}, {"OKActions", a.OKActions}, {"InsufficientDataActions", a.InsufficientDataActions}} {
		if err := checkActions(f.n, f.v); err != nil {
			return nil, err
		}
	}
	if in.EvaluationPeriods == nil {
		return nil, missing("The parameter EvaluationPeriods is required.")
	}
	if a.EvaluationPeriods < 1 {
		return nil, invalid("The value %d for parameter EvaluationPeriods is invalid; it must be at least 1.", a.EvaluationPeriods)
	}
	if a.ComparisonOperator == "" {
		return nil, missing("The parameter ComparisonOperator is required.")
	}
	a.ThresholdMetricID = aws.ToString(in.ThresholdMetricId)
	band := bandOps[a.ComparisonOperator]
	switch {
	case !band && !thresholdOps[a.ComparisonOperator]:
		return nil, invalid("The value %s for parameter ComparisonOperator is invalid.", a.ComparisonOperator)
	case band && in.ThresholdMetricId == nil:
		return nil, validation("ComparisonOperators for ranges require ThresholdMetricId to be set")
	case !band && in.ThresholdMetricId != nil:
		return nil, validation("ThresholdMetricId can only be used with ComparisonOperators for ranges (LessThanLowerOrGreaterThanUpperThreshold, LessThanLowerThreshold, GreaterThanUpperThreshold)")
	case band && a.Threshold != nil:
		return nil, validation("Threshold cannot be set when ThresholdMetricId is used")
	case band && len(a.Metrics) == 0:
		return nil, validation("ThresholdMetricId requires the Metrics parameter, with the anomaly detection band and the metric it is computed on")
	case !band && a.Threshold == nil:
		return nil, missing("The parameter Threshold is required.")
	}
	if in.EvaluationCriteria != nil || in.EvaluationInterval != nil {
		return nil, invalid("PromQL alarms (EvaluationCriteria) are not supported by bannin.")
	}
	if in.DatapointsToAlarm != nil && (a.DatapointsToAlarm < 1 || a.DatapointsToAlarm > a.EvaluationPeriods) {
		return nil, invalid("DatapointsToAlarm must be between 1 and EvaluationPeriods (%d).", a.EvaluationPeriods)
	}
	if a.TreatMissingData != "" && !missingTreatments[a.TreatMissingData] {
		return nil, invalid("The value %s for parameter TreatMissingData is invalid. Valid values are breaching, notBreaching, ignore and missing.", a.TreatMissingData)
	}
	if a.EvaluateLowSample != "" {
		if a.EvaluateLowSample != "evaluate" && a.EvaluateLowSample != "ignore" {
			return nil, invalid("The value %s for parameter EvaluateLowSampleCountPercentile is invalid. Valid values are evaluate and ignore.", a.EvaluateLowSample)
		}
		if a.ExtendedStatistic == "" {
			return nil, combination("EvaluateLowSampleCountPercentile can only be used with a percentile ExtendedStatistic.")
		}
	}
	var bandID string // the query whose anomaly detector a band alarm uses
	single := a.MetricName != "" || a.Namespace != "" || a.Statistic != "" || a.ExtendedStatistic != "" || len(a.Dimensions) > 0 || in.Period != nil
	if len(a.Metrics) > 0 {
		if single {
			return nil, combination("The Metrics parameter cannot be used with MetricName, Namespace, Statistic, ExtendedStatistic, Dimensions or Period.")
		}
		if err := metric.CheckQueries(a.Metrics, "Metrics"); err != nil {
			return nil, err
		}
		returning := 0
		for _, q := range a.Metrics {
			if (q.ReturnData == nil || *q.ReturnData) && aws.ToString(q.Id) != a.ThresholdMetricID {
				returning++
			}
			if q.MetricStat != nil && !alarmPeriod(aws.ToInt32(q.MetricStat.Period)) {
				return nil, invalid("The period of the metrics of an alarm must be 10, 20, 30 or a multiple of 60.")
			}
			// "For anomaly detection alarms, the value must be one minute or longer."
			if band && q.MetricStat != nil && aws.ToInt32(q.MetricStat.Period) < 60 {
				return nil, validation("The period of the metrics of an anomaly detection alarm must be at least 60 seconds.")
			}
		}
		if returning != 1 {
			return nil, validation("Exactly one element of the metrics list should return data.")
		}
		if band {
			var err error
			if bandID, err = bandInput(a); err != nil {
				return nil, err
			}
		}
	} else {
		switch {
		case a.MetricName == "":
			return nil, missing("The parameter MetricName is required.")
		case a.Namespace == "":
			return nil, missing("The parameter Namespace is required.")
		case a.Statistic == "" && a.ExtendedStatistic == "":
			return nil, missing("Either Statistic or ExtendedStatistic must be specified.")
		case a.Statistic != "" && a.ExtendedStatistic != "":
			return nil, combination("The parameters Statistic and ExtendedStatistic are mutually exclusive and you have specified both.")
		case in.Period == nil:
			return nil, missing("The parameter Period is required.")
		}
		if a.Statistic != "" && !isStatistic(a.Statistic) {
			return nil, invalid("The value %s for parameter Statistic is invalid.", a.Statistic)
		}
		if a.ExtendedStatistic != "" {
			if _, ok := metric.ParsePercentile(a.ExtendedStatistic); !ok {
				return nil, invalid("The value %s for parameter ExtendedStatistic is invalid.", a.ExtendedStatistic)
			}
		}
		if !alarmPeriod(a.Period) {
			return nil, invalid("The parameter Period must be 10, 20, 30, or a multiple of 60.")
		}
		if a.Unit != "" && !metric.Units[a.Unit] {
			return nil, invalid("The value %s for parameter Unit is invalid.", a.Unit)
		}
	}
	limit := int64(7 * 24 * 3600)
	if a.periodDur() < time.Minute {
		limit = 24 * 3600
	}
	if int64(a.periodDur()/time.Second)*int64(a.EvaluationPeriods) > limit {
		return nil, invalid("The evaluation period (Period x EvaluationPeriods) must not exceed %d seconds.", limit)
	}
	if err := s.putAlarm(ctx, c, a, in.Tags); err != nil {
		return nil, err
	}
	if band {
		// CloudWatch creates the anomaly detector an alarm's band needs.
		if err := s.EnsureBandDetector(ctx, c.Write(), c.Account, c.Region, a.Metrics, bandID, c.Time); err != nil {
			return nil, err
		}
	}
	return &cloudwatch.PutMetricAlarmOutput{}, nil
}

// reasonCreated is the StateReason of a new alarm, before its first evaluation.
const reasonCreated = "Unchecked: Initial alarm creation"

// bandExpr matches an ANOMALY_DETECTION_BAND expression: the metric id and the optional
// number of standard deviations.
var bandExpr = regexp.MustCompile(`^\s*(?i:ANOMALY_DETECTION_BAND)\s*\(\s*([a-z][a-zA-Z0-9_]*)\s*(?:,\s*([0-9.eE+-]+)\s*)?\)\s*$`)

// bandInput checks the band query a band alarm's ThresholdMetricId names and returns the id
// of the query (metric or expression) its anomaly detector models.
func bandInput(a *Alarm) (string, error) {
	var th *cloudwatch.MetricDataQuery
	byID := map[string]*cloudwatch.MetricDataQuery{}
	for i := range a.Metrics {
		byID[aws.ToString(a.Metrics[i].Id)] = &a.Metrics[i]
	}
	th = byID[a.ThresholdMetricID]
	if th == nil {
		return "", validation("ThresholdMetricId %s does not match the Id of any element of Metrics", a.ThresholdMetricID)
	}
	sub := bandExpr.FindStringSubmatch(aws.ToString(th.Expression))
	if sub == nil {
		return "", validation("The Metrics element %s named by ThresholdMetricId must be an ANOMALY_DETECTION_BAND expression", a.ThresholdMetricID)
	}
	src := byID[sub[1]]
	if src == nil {
		return "", validation("The ANOMALY_DETECTION_BAND expression of %s must reference a metric or expression in Metrics; %s is not one", a.ThresholdMetricID, sub[1])
	}
	if src.ReturnData != nil && !*src.ReturnData {
		return "", validation("The metric %s of the anomaly detection band must return data", sub[1])
	}
	return sub[1], nil
}

func isStatistic(s string) bool {
	for _, x := range metric.Statistics {
		if x == s {
			return true
		}
	}
	return false
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func tagMap(tags []cloudwatch.Tag) (map[string]string, error) {
	if len(tags) > 50 {
		return nil, invalid("The collection Tags must not have a size greater than 50.")
	}
	var m map[string]string
	for _, t := range tags {
		k := aws.ToString(t.Key)
		if k == "" || len(k) > 128 || len(aws.ToString(t.Value)) > 256 || strings.HasPrefix(k, "aws:") {
			return nil, invalid("The tag key %q or its value is invalid.", k)
		}
		if m == nil {
			m = map[string]string{}
		}
		m[k] = aws.ToString(t.Value)
	}
	return m, nil
}

// putAlarm creates or replaces an alarm: a new alarm starts in INSUFFICIENT_DATA; an
// updated one keeps its state (and its tags, as CloudWatch ignores Tags on update).
func (s *Service) putAlarm(ctx context.Context, c *call.Call, a *Alarm, tags []cloudwatch.Tag) error {
	tx := c.Write()
	old, r, err := getAlarm(ctx, tx, a.Account, a.Region, a.Name)
	if err != nil {
		return err
	}
	if old != nil && old.Type != a.Type {
		return invalid("An alarm named %s of type %s already exists.", a.Name, old.Type)
	}
	tm, err := tagMap(tags)
	if err != nil {
		return err
	}
	c.Touch(ResourceType, a.Name, a.ARN)
	s.dueMu.Lock()
	delete(s.due, stateKey(a.Account, a.Region, a.Name)) // evaluate at the next tick
	s.dueMu.Unlock()
	if old != nil {
		if err := saveAlarm(ctx, tx, a, r.Tags); err != nil {
			return err
		}
		return s.history(ctx, tx, a, "ConfigurationUpdate", fmt.Sprintf("Alarm %q updated", a.Name),
			map[string]any{"version": "1.0", "type": "Update", "updatedAlarm": alarmDoc(a), "originalUpdatedFields": alarmDoc(old)}, c.Time)
	}
	if err := saveAlarm(ctx, tx, a, tm); err != nil {
		return err
	}
	st := &State{Value: StateInsufficient, Reason: reasonCreated, Updated: c.Time.UTC(), Transitioned: c.Time.UTC()}
	if err := putState(ctx, tx, a, st); err != nil {
		return err
	}
	return s.history(ctx, tx, a, "ConfigurationUpdate", fmt.Sprintf("Alarm %q created", a.Name),
		map[string]any{"version": "1.0", "type": "Create", "createdAlarm": alarmDoc(a)}, c.Time)
}

// alarmDoc is the alarm as history data shows it.
func alarmDoc(a *Alarm) map[string]any {
	b, _ := json.Marshal(a)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	delete(m, "account")
	delete(m, "region")
	delete(m, "alarmType") // the history item has AlarmType; CloudWatch's document does not
	// As CloudWatch writes them: "alarmConfigurationUpdatedTimestamp":"2022-11-02T15:55:30.959+0000",
	// "dimensions":[{"value":"PutItem","name":"Operation"}], "threshold":1.0.
	m["alarmConfigurationUpdatedTimestamp"] = awsTime(a.ConfigUpdated)
	if a.Type == TypeMetric && len(a.Metrics) == 0 {
		dims := []map[string]string{}
		for _, d := range sortedDims(a.Dimensions) {
			dims = append(dims, map[string]string{"value": a.Dimensions[d], "name": d})
		}
		m["dimensions"] = dims
	}
	if a.Threshold != nil {
		m["threshold"] = jsonNumber(*a.Threshold)
	}
	return m
}

// PutCompositeAlarm creates or updates a composite alarm.
func (s *Service) PutCompositeAlarm(ctx context.Context, in *cloudwatch.PutCompositeAlarmInput) (*cloudwatch.PutCompositeAlarmOutput, error) {
	c := call.From(ctx)
	name := aws.ToString(in.AlarmName)
	if err := checkName(name); err != nil {
		return nil, err
	}
	src := aws.ToString(in.AlarmRule)
	if src == "" {
		return nil, missing("The parameter AlarmRule is required.")
	}
	if len(src) > 10240 {
		return nil, validation("AlarmRule must be at most 10240 characters long.")
	}
	rule, err := ParseRule(src)
	if err != nil {
		return nil, validation("Error in AlarmRule [%s]: %s", src, err.Error())
	}
	a := &Alarm{Account: c.Account, Region: c.Region, Type: TypeComposite, Name: name, ARN: ARN(c.Region, c.Account, name),
		Description: aws.ToString(in.AlarmDescription), ActionsEnabled: in.ActionsEnabled == nil || *in.ActionsEnabled,
		AlarmActions: nonNil(in.AlarmActions), OKActions: nonNil(in.OKActions), InsufficientDataActions: nonNil(in.InsufficientDataActions),
		AlarmRule: src, ActionsSuppressor: aws.ToString(in.ActionsSuppressor), ActionsSuppressorWaitPeriod: aws.ToInt32(in.ActionsSuppressorWaitPeriod),
		ActionsSuppressorExtensionPeriod: aws.ToInt32(in.ActionsSuppressorExtensionPeriod), ConfigUpdated: c.Time.UTC()}
	for _, f := range []struct {
		n string
		v []string
	}{{"AlarmActions", a.AlarmActions}, {"OKActions", a.OKActions}, {"InsufficientDataActions", a.InsufficientDataActions}} {
		if err := checkActions(f.n, f.v); err != nil {
			return nil, err
		}
	}
	if err := s.checkSuppressor(ctx, c, a, in); err != nil {
		return nil, err
	}
	var absent []string
	for _, ref := range rule.Alarms() {
		child, ok := resolveRef(a, ref)
		if !ok {
			absent = append(absent, ref)
			continue
		}
		if child == name {
			return nil, validation("The composite alarm %s cannot refer to itself in its AlarmRule.", name)
		}
		ch, _, err := getAlarm(ctx, c.Tx, a.Account, a.Region, child)
		if err != nil {
			return nil, err
		}
		if ch == nil {
			absent = append(absent, ref)
			continue
		}
		if ch.Type == TypeComposite {
			if cyc, err := reaches(ctx, c.Tx, ch, name, 0); err != nil {
				return nil, err
			} else if cyc {
				return nil, validation("The AlarmRule of %s creates a cycle through %s.", name, child)
			}
		}
	}
	if len(absent) > 0 {
		return nil, validation("Could not save the composite alarm as alarms [%s] in the alarm rule do not exist", strings.Join(absent, ", "))
	}
	return &cloudwatch.PutCompositeAlarmOutput{}, s.putAlarm(ctx, c, a, in.Tags)
}

// checkSuppressor validates a composite alarm's ActionsSuppressor and its periods.
func (s *Service) checkSuppressor(ctx context.Context, c *call.Call, a *Alarm, in *cloudwatch.PutCompositeAlarmInput) error {
	if a.ActionsSuppressor == "" {
		if in.ActionsSuppressorWaitPeriod != nil || in.ActionsSuppressorExtensionPeriod != nil {
			return validation("ActionsSuppressorWaitPeriod and ActionsSuppressorExtensionPeriod can only be used with ActionsSuppressor")
		}
		return nil
	}
	if len(a.ActionsSuppressor) > 1600 {
		return invalid("The value for parameter ActionsSuppressor must be at most 1600 characters long.")
	}
	switch {
	case in.ActionsSuppressorWaitPeriod == nil:
		return missing("The parameter ActionsSuppressorWaitPeriod is required when ActionsSuppressor is specified.")
	case in.ActionsSuppressorExtensionPeriod == nil:
		return missing("The parameter ActionsSuppressorExtensionPeriod is required when ActionsSuppressor is specified.")
	case a.ActionsSuppressorWaitPeriod < 0:
		return invalid("The value %d for parameter ActionsSuppressorWaitPeriod is invalid; it must not be negative.", a.ActionsSuppressorWaitPeriod)
	case a.ActionsSuppressorExtensionPeriod < 0:
		return invalid("The value %d for parameter ActionsSuppressorExtensionPeriod is invalid; it must not be negative.", a.ActionsSuppressorExtensionPeriod)
	}
	name, ok := resolveRef(a, a.ActionsSuppressor)
	if ok && name == a.Name {
		return validation("The composite alarm %s cannot be its own ActionsSuppressor.", a.Name)
	}
	var sup *Alarm
	if ok {
		var err error
		if sup, _, err = getAlarm(ctx, c.Tx, a.Account, a.Region, name); err != nil {
			return err
		}
	}
	if sup == nil {
		return validation("Could not save the composite alarm as the ActionsSuppressor alarm %s does not exist", a.ActionsSuppressor)
	}
	return nil
}

// reaches reports whether composite a refers, directly or through other composites, to
// the alarm named target.
func reaches(ctx context.Context, tx store.ReadTx, a *Alarm, target string, depth int) (bool, error) {
	if depth > 20 {
		return true, nil
	}
	rule, err := ParseRule(a.AlarmRule)
	if err != nil {
		return false, nil
	}
	for _, ref := range rule.Alarms() {
		child, ok := resolveRef(a, ref)
		if !ok {
			continue
		}
		if child == target {
			return true, nil
		}
		ch, _, err := getAlarm(ctx, tx, a.Account, a.Region, child)
		if err != nil {
			return false, err
		}
		if ch != nil && ch.Type == TypeComposite {
			if ok, err := reaches(ctx, tx, ch, target, depth+1); ok || err != nil {
				return ok, err
			}
		}
	}
	return false, nil
}

// historyItem is one stored AlarmHistoryItem.
type historyItem struct {
	Name      string    `json:"alarmName"`
	Type      string    `json:"alarmType"`
	Timestamp time.Time `json:"timestamp"`
	ItemType  string    `json:"historyItemType"`
	Summary   string    `json:"historySummary"`
	Data      string    `json:"historyData"`
}

var historySeq atomic.Uint32

// history records one history item of alarm a.
func (s *Service) history(ctx context.Context, tx store.Tx, a *Alarm, itemType, summary string, data any, at time.Time) error {
	b, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("alarm: encode history: %w", err)
	}
	h := historyItem{Name: a.Name, Type: a.Type, Timestamp: at.UTC(), ItemType: itemType, Summary: summary, Data: string(b)}
	v, _ := json.Marshal(h)
	key := fmt.Sprintf("%s\x00%016x%04x", stateKey(a.Account, a.Region, a.Name), uint64(at.UnixNano()), historySeq.Add(1)&0xffff)
	if err := tx.Put(ctx, bucketHistory, key, v); err != nil {
		return fmt.Errorf("alarm: put history: %w", err)
	}
	return nil
}
