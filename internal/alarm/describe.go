package alarm

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/bannin/bannin/internal/call"
	"github.com/bannin/bannin/internal/metric"
	"github.com/bannin/bannin/internal/store"
	"github.com/bannin/bannin/internal/wire/cloudwatch"
)

func sortedDims(m map[string]string) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func ptr[T any](v T) *T { return &v }

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func wireMetric(a *Alarm, st *State) cloudwatch.MetricAlarm {
	m := cloudwatch.MetricAlarm{AlarmName: ptr(a.Name), AlarmArn: ptr(a.ARN), AlarmDescription: optString(a.Description),
		AlarmConfigurationUpdatedTimestamp: ptr(a.ConfigUpdated), ActionsEnabled: ptr(a.ActionsEnabled),
		OKActions: nonNil(a.OKActions), AlarmActions: nonNil(a.AlarmActions), InsufficientDataActions: nonNil(a.InsufficientDataActions),
		StateValue: ptr(st.Value), StateReason: ptr(st.Reason), StateReasonData: optString(st.ReasonData),
		StateUpdatedTimestamp: ptr(st.Updated), StateTransitionedTimestamp: ptr(st.Transitioned),
		MetricName: optString(a.MetricName), Namespace: optString(a.Namespace), Statistic: optString(a.Statistic),
		ExtendedStatistic: optString(a.ExtendedStatistic), Unit: optString(a.Unit),
		EvaluationPeriods: ptr(a.EvaluationPeriods), Threshold: a.Threshold, ComparisonOperator: ptr(a.ComparisonOperator),
		TreatMissingData: optString(a.TreatMissingData), EvaluateLowSampleCountPercentile: optString(a.EvaluateLowSample),
		Metrics: a.Metrics, ThresholdMetricId: optString(a.ThresholdMetricID)}
	if a.MetricName != "" {
		m.Dimensions = metric.WireDims(a.Dimensions)
		m.Period = ptr(a.Period)
	}
	if a.DatapointsToAlarm > 0 {
		m.DatapointsToAlarm = ptr(a.DatapointsToAlarm)
	}
	return m
}

func wireComposite(a *Alarm, st *State) cloudwatch.CompositeAlarm {
	c := cloudwatch.CompositeAlarm{AlarmName: ptr(a.Name), AlarmArn: ptr(a.ARN), AlarmDescription: optString(a.Description),
		AlarmConfigurationUpdatedTimestamp: ptr(a.ConfigUpdated), ActionsEnabled: ptr(a.ActionsEnabled), AlarmRule: ptr(a.AlarmRule),
		OKActions: nonNil(a.OKActions), AlarmActions: nonNil(a.AlarmActions), InsufficientDataActions: nonNil(a.InsufficientDataActions),
		StateValue: ptr(st.Value), StateReason: ptr(st.Reason), StateReasonData: optString(st.ReasonData),
		StateUpdatedTimestamp: ptr(st.Updated), StateTransitionedTimestamp: ptr(st.Transitioned),
		ActionsSuppressor: optString(a.ActionsSuppressor)}
	if a.ActionsSuppressor != "" {
		c.ActionsSuppressorWaitPeriod = ptr(a.ActionsSuppressorWaitPeriod)
		c.ActionsSuppressorExtensionPeriod = ptr(a.ActionsSuppressorExtensionPeriod)
		if st.PendingFrom != "" {
			c.ActionsSuppressedBy, c.ActionsSuppressedReason = optString(st.SuppressedBy), optString(st.SuppressedReason)
		}
	}
	return c
}

func validState(v string) bool { return v == StateOK || v == StateAlarm || v == StateInsufficient }

// DescribeAlarms lists alarms, metric alarms only unless AlarmTypes says otherwise.
func (s *Service) DescribeAlarms(ctx context.Context, in *cloudwatch.DescribeAlarmsInput) (*cloudwatch.DescribeAlarmsOutput, error) {
	c := call.From(ctx)
	limit := int(aws.ToInt32(in.MaxRecords))
	if in.MaxRecords != nil && (limit < 1 || limit > 100) {
		return nil, invalid("The value %d for parameter MaxRecords is invalid; it must be between 1 and 100.", limit)
	}
	if limit == 0 {
		limit = 50
	}
	types := map[string]bool{}
	for _, t := range in.AlarmTypes {
		if t != TypeMetric && t != TypeComposite {
			return nil, invalid("The value %s for parameter AlarmTypes is invalid.", t)
		}
		types[t] = true
	}
	if len(types) == 0 {
		types[TypeMetric] = true
	}
	if v := aws.ToString(in.StateValue); v != "" && !validState(v) {
		return nil, invalid("The value %s for parameter StateValue is invalid.", v)
	}
	if len(in.AlarmNames) > 100 {
		return nil, invalid("The collection AlarmNames must not have a size greater than 100.")
	}
	children, parents := aws.ToString(in.ChildrenOfAlarmName), aws.ToString(in.ParentsOfAlarmName)
	if children != "" && parents != "" {
		return nil, combination("ChildrenOfAlarmName and ParentsOfAlarmName cannot be specified together.")
	}
	if (children != "" || parents != "") && (len(in.AlarmNames) > 0 || in.AlarmNamePrefix != nil || in.StateValue != nil || in.ActionPrefix != nil) {
		return nil, combination("ChildrenOfAlarmName and ParentsOfAlarmName can only be used with AlarmTypes, MaxRecords and NextToken.")
	}
	if len(in.AlarmNames) > 0 && in.AlarmNamePrefix != nil {
		return nil, combination("AlarmNames and AlarmNamePrefix cannot be specified together.")
	}
	all, err := listAlarms(ctx, c.Tx, c.Account, c.Region)
	if err != nil {
		return nil, err
	}
	byName := map[string]*Alarm{}
	for _, a := range all {
		byName[a.Name] = a
	}
	var only map[string]bool
	switch {
	case len(in.AlarmNames) > 0:
		only = map[string]bool{}
		for _, n := range in.AlarmNames {
			only[n] = true
		}
	case children != "":
		only = map[string]bool{}
		if p := byName[children]; p != nil && p.Type == TypeComposite {
			if rule, err := ParseRule(p.AlarmRule); err == nil {
				for _, ref := range rule.Alarms() {
					if n, ok := resolveRef(p, ref); ok {
						only[n] = true
					}
				}
			}
		}
	case parents != "":
		only = map[string]bool{}
		for _, a := range all {
			if a.Type != TypeComposite {
				continue
			}
			if rule, err := ParseRule(a.AlarmRule); err == nil {
				for _, ref := range rule.Alarms() {
					if n, ok := resolveRef(a, ref); ok && n == parents {
						only[a.Name] = true
					}
				}
			}
		}
	}
	after := aws.ToString(in.NextToken)
	out := &cloudwatch.DescribeAlarmsOutput{MetricAlarms: []cloudwatch.MetricAlarm{}, CompositeAlarms: []cloudwatch.CompositeAlarm{}}
	count := 0
	for _, a := range all {
		if after != "" && a.Name <= after {
			continue
		}
		if !types[a.Type] || (only != nil && !only[a.Name]) || !strings.HasPrefix(a.Name, aws.ToString(in.AlarmNamePrefix)) {
			continue
		}
		if p := aws.ToString(in.ActionPrefix); p != "" && !hasActionPrefix(a, p) {
			continue
		}
		st, err := getState(ctx, c.Tx, a.Account, a.Region, a.Name)
		if err != nil {
			return nil, err
		}
		if v := aws.ToString(in.StateValue); v != "" && st.Value != v {
			continue
		}
		if count == limit {
			out.NextToken = aws.String(after)
			break
		}
		count++
		after = a.Name
		if a.Type == TypeMetric {
			out.MetricAlarms = append(out.MetricAlarms, wireMetric(a, st))
		} else {
			out.CompositeAlarms = append(out.CompositeAlarms, wireComposite(a, st))
		}
	}
	return out, nil
}

func hasActionPrefix(a *Alarm, p string) bool {
	for _, l := range [][]string{a.AlarmActions, a.OKActions, a.InsufficientDataActions} {
		for _, arn := range l {
			if strings.HasPrefix(arn, p) {
				return true
			}
		}
	}
	return false
}

// DescribeAlarmsForMetric lists the metric alarms on one metric.
func (s *Service) DescribeAlarmsForMetric(ctx context.Context, in *cloudwatch.DescribeAlarmsForMetricInput) (*cloudwatch.DescribeAlarmsForMetricOutput, error) {
	c := call.From(ctx)
	if aws.ToString(in.MetricName) == "" || aws.ToString(in.Namespace) == "" {
		return nil, missing("The parameters MetricName and Namespace are required.")
	}
	all, err := listAlarms(ctx, c.Tx, c.Account, c.Region)
	if err != nil {
		return nil, err
	}
	m := metric.MetricID{Namespace: *in.Namespace, MetricName: *in.MetricName, Dimensions: metric.Dims(in.Dimensions)}
	out := &cloudwatch.DescribeAlarmsForMetricOutput{MetricAlarms: []cloudwatch.MetricAlarm{}}
	for _, a := range all {
		if a.Type != TypeMetric || !a.watches(m) {
			continue
		}
		if (in.Statistic != nil && a.Statistic != *in.Statistic) || (in.ExtendedStatistic != nil && a.ExtendedStatistic != *in.ExtendedStatistic) ||
			(in.Period != nil && a.Period != *in.Period) || (in.Unit != nil && a.Unit != *in.Unit) {
			continue
		}
		st, err := getState(ctx, c.Tx, a.Account, a.Region, a.Name)
		if err != nil {
			return nil, err
		}
		out.MetricAlarms = append(out.MetricAlarms, wireMetric(a, st))
	}
	return out, nil
}

// DescribeAlarmHistory lists history items, newest first unless ScanBy says otherwise.
func (s *Service) DescribeAlarmHistory(ctx context.Context, in *cloudwatch.DescribeAlarmHistoryInput) (*cloudwatch.DescribeAlarmHistoryOutput, error) {
	c := call.From(ctx)
	limit := int(aws.ToInt32(in.MaxRecords))
	if in.MaxRecords != nil && (limit < 1 || limit > 100) {
		return nil, invalid("The value %d for parameter MaxRecords is invalid; it must be between 1 and 100.", limit)
	}
	if limit == 0 {
		limit = 100
	}
	it := aws.ToString(in.HistoryItemType)
	switch it {
	case "", "ConfigurationUpdate", "StateUpdate", "Action", "AlarmContributorStateUpdate", "AlarmContributorAction":
	default:
		return nil, invalid("The value %s for parameter HistoryItemType is invalid.", it)
	}
	scan := aws.ToString(in.ScanBy)
	if scan != "" && scan != "TimestampDescending" && scan != "TimestampAscending" {
		return nil, invalid("The value %s for parameter ScanBy is invalid.", scan)
	}
	types := map[string]bool{}
	for _, t := range in.AlarmTypes {
		types[t] = true
	}
	if len(types) == 0 {
		types[TypeMetric] = true
	}
	if in.AlarmName != nil {
		// A named alarm's history is shown whatever its type.
		types[TypeMetric], types[TypeComposite] = true, true
	}
	prefix := c.Account + "/" + c.Region + "/"
	if n := aws.ToString(in.AlarmName); n != "" {
		prefix += n + "\x00"
	}
	type keyed struct {
		key string
		h   historyItem
	}
	var items []keyed
	after := ""
	for {
		kvs, err := c.Tx.List(ctx, bucketHistory, prefix, after, 1000)
		if err != nil {
			return nil, fmt.Errorf("alarm: list history: %w", err)
		}
		for _, kv := range kvs {
			var h historyItem
			if err := json.Unmarshal(kv.Value, &h); err != nil {
				return nil, fmt.Errorf("alarm: decode history %q: %w", kv.Key, err)
			}
			if (it != "" && h.ItemType != it) || !types[h.Type] ||
				(in.StartDate != nil && h.Timestamp.Before(*in.StartDate)) || (in.EndDate != nil && h.Timestamp.After(*in.EndDate)) {
				continue
			}
			_, ts, _ := strings.Cut(kv.Key, "\x00")
			items = append(items, keyed{ts + "\x00" + h.Name, h})
		}
		if len(kvs) < 1000 {
			break
		}
		after = kvs[len(kvs)-1].Key
	}
	asc := scan == "TimestampAscending"
	sort.Slice(items, func(i, j int) bool {
		if asc {
			return items[i].key < items[j].key
		}
		return items[i].key > items[j].key
	})
	start := 0
	if t := aws.ToString(in.NextToken); t != "" {
		// The token is the key in base64url: keys hold NUL, which XML cannot carry.
		b, _ := base64.RawURLEncoding.DecodeString(t)
		start = -1
		for i, x := range items {
			if x.key == string(b) {
				start = i + 1
				break
			}
		}
		if start < 0 {
			return nil, &cloudwatch.InvalidNextToken{Message: aws.String("The service couldn't process the token.")}
		}
	}
	out := &cloudwatch.DescribeAlarmHistoryOutput{AlarmHistoryItems: []cloudwatch.AlarmHistoryItem{}}
	for i := start; i < len(items); i++ {
		if len(out.AlarmHistoryItems) == limit {
			out.NextToken = aws.String(base64.RawURLEncoding.EncodeToString([]byte(items[i-1].key)))
			break
		}
		h := items[i].h
		out.AlarmHistoryItems = append(out.AlarmHistoryItems, cloudwatch.AlarmHistoryItem{AlarmName: ptr(h.Name), AlarmType: ptr(h.Type),
			Timestamp: ptr(h.Timestamp), HistoryItemType: ptr(h.ItemType), HistorySummary: ptr(h.Summary), HistoryData: ptr(h.Data)})
	}
	return out, nil
}

// DeleteAlarms deletes alarms; a name that does not exist fails the call, and so does a
// metric alarm still named by a composite alarm's rule (unless that composite goes too).
func (s *Service) DeleteAlarms(ctx context.Context, in *cloudwatch.DeleteAlarmsInput) (*cloudwatch.DeleteAlarmsOutput, error) {
	c := call.From(ctx)
	tx := c.Write()
	if len(in.AlarmNames) > 100 {
		return nil, invalid("The collection AlarmNames must not have a size greater than 100.")
	}
	going := map[string]bool{}
	var targets []*Alarm
	for _, n := range in.AlarmNames {
		a, _, err := getAlarm(ctx, tx, c.Account, c.Region, n)
		if err != nil {
			return nil, err
		}
		if a == nil {
			// "If you specify any incorrect alarm names, the alarms you specify with correct
			// names are still deleted"; CloudWatch answers success for a name it does not know.
			continue
		}
		if !going[n] {
			going[n] = true
			targets = append(targets, a)
		}
	}
	composites := 0
	for _, a := range targets {
		if a.Type == TypeComposite {
			composites++
		}
	}
	if composites > 1 {
		// "this total can include no more than one composite alarm"
		return nil, validation("A DeleteAlarms call can delete at most one composite alarm; this one names %d.", composites)
	}
	all, err := listAlarms(ctx, tx, c.Account, c.Region)
	if err != nil {
		return nil, err
	}
	// An alarm that a composite alarm (not deleted with it) names in its rule or as its
	// ActionsSuppressor cannot be deleted; CloudWatch refuses the whole call.
	needed := map[string]bool{}
	for _, p := range all {
		if p.Type != TypeComposite || going[p.Name] {
			continue
		}
		if rule, err := ParseRule(p.AlarmRule); err == nil {
			for _, ref := range rule.Alarms() {
				if n, ok := resolveRef(p, ref); ok && going[n] {
					needed[n] = true
				}
			}
		}
		if n, ok := resolveRef(p, p.ActionsSuppressor); ok && p.ActionsSuppressor != "" && going[n] {
			needed[n] = true
		}
	}
	if len(needed) > 0 {
		var names []string
		for _, a := range targets {
			if needed[a.Name] {
				names = append(names, a.Name)
			}
		}
		return nil, validation("Cannot delete %s as there are composite alarm(s) depending on %s.", strings.Join(names, ","), plural(len(names), "it", "them"))
	}
	for _, a := range targets {
		c.Touch(ResourceType, a.Name, a.ARN)
		if err := tx.DeleteResource(ctx, a.Account, a.Region, ResourceType, a.Name); err != nil {
			return nil, fmt.Errorf("alarm: delete %s: %w", a.Name, err)
		}
		if err := tx.Delete(ctx, bucketState, stateKey(a.Account, a.Region, a.Name)); err != nil {
			return nil, fmt.Errorf("alarm: delete state %s: %w", a.Name, err)
		}
		if err := s.history(ctx, tx, a, "ConfigurationUpdate", fmt.Sprintf("Alarm %q deleted", a.Name),
			map[string]any{"version": "1.0", "type": "Delete", "deletedAlarm": alarmDoc(a)}, c.Time); err != nil {
			return nil, err
		}
	}
	return &cloudwatch.DeleteAlarmsOutput{}, nil
}

// SetAlarmState sets an alarm's state until its next evaluation, with history and
// actions as a real transition has.
func (s *Service) SetAlarmState(ctx context.Context, in *cloudwatch.SetAlarmStateInput) (*cloudwatch.SetAlarmStateOutput, error) {
	c := call.From(ctx)
	tx := c.Write()
	name, value, reason := aws.ToString(in.AlarmName), aws.ToString(in.StateValue), aws.ToString(in.StateReason)
	if err := checkName(name); err != nil {
		return nil, err
	}
	if !validState(value) {
		return nil, invalid("The value %s for parameter StateValue is invalid.", value)
	}
	if reason == "" {
		return nil, missing("The parameter StateReason is required.")
	}
	if len(reason) > 1023 {
		return nil, invalid("The value for parameter StateReason must be at most 1023 characters long.")
	}
	data := aws.ToString(in.StateReasonData)
	if data != "" && !json.Valid([]byte(data)) {
		return nil, &cloudwatch.InvalidFormatFault{Message: aws.String("Invalid JSON in StateReasonData: " + data)}
	}
	a, _, err := getAlarm(ctx, tx, c.Account, c.Region, name)
	if err != nil {
		return nil, err
	}
	if a == nil {
		return nil, notFound("An alarm named %s does not exist.", name)
	}
	if a.Type == TypeComposite && value == StateInsufficient {
		return nil, invalid("A composite alarm cannot be set to INSUFFICIENT_DATA.")
	}
	cur, err := getState(ctx, tx, c.Account, c.Region, name)
	if err != nil {
		return nil, err
	}
	c.Touch(ResourceType, a.Name, a.ARN)
	if cur.Value == value {
		st := *cur
		st.Reason, st.ReasonData, st.Updated = reason, data, c.Time.UTC()
		return &cloudwatch.SetAlarmStateOutput{}, putState(ctx, tx, a, &st)
	}
	return &cloudwatch.SetAlarmStateOutput{}, s.transition(ctx, tx, a, cur, value, reason, data, c.Time)
}

// EnableAlarmActions turns alarms' actions on.
func (s *Service) EnableAlarmActions(ctx context.Context, in *cloudwatch.EnableAlarmActionsInput) (*cloudwatch.EnableAlarmActionsOutput, error) {
	return &cloudwatch.EnableAlarmActionsOutput{}, s.setActions(ctx, in.AlarmNames, true)
}

// DisableAlarmActions turns alarms' actions off.
func (s *Service) DisableAlarmActions(ctx context.Context, in *cloudwatch.DisableAlarmActionsInput) (*cloudwatch.DisableAlarmActionsOutput, error) {
	return &cloudwatch.DisableAlarmActionsOutput{}, s.setActions(ctx, in.AlarmNames, false)
}

func (s *Service) setActions(ctx context.Context, names []string, on bool) error {
	c := call.From(ctx)
	tx := c.Write()
	if len(names) > 100 {
		return invalid("The collection AlarmNames must not have a size greater than 100.")
	}
	for _, n := range names {
		a, r, err := getAlarm(ctx, tx, c.Account, c.Region, n)
		if err != nil {
			return err
		}
		if a == nil || a.ActionsEnabled == on {
			continue // CloudWatch ignores names it does not know
		}
		old := *a
		a.ActionsEnabled = on
		a.ConfigUpdated = c.Time.UTC()
		c.Touch(ResourceType, a.Name, a.ARN)
		if err := saveAlarm(ctx, tx, a, r.Tags); err != nil {
			return err
		}
		if err := s.history(ctx, tx, a, "ConfigurationUpdate", fmt.Sprintf("Alarm %q updated", a.Name),
			map[string]any{"version": "1.0", "type": "Update", "updatedAlarm": alarmDoc(a), "originalUpdatedFields": map[string]any{"actionsEnabled": old.ActionsEnabled}}, c.Time); err != nil {
			return err
		}
	}
	return nil
}

// alarmByARN finds the alarm an ARN names in the caller's account and region.
func alarmByARN(ctx context.Context, c *call.Call, arn string) (*Alarm, *store.Resource, error) {
	prefix := ARN(c.Region, c.Account, "")
	if arn == "" {
		return nil, nil, missing("The parameter ResourceARN is required.")
	}
	if !strings.HasPrefix(arn, prefix) {
		if strings.HasPrefix(arn, "arn:aws:cloudwatch:") {
			return nil, nil, &cloudwatch.ResourceNotFoundException{Message: aws.String("The specified resource does not exist."),
				ResourceType: aws.String("alarm"), ResourceId: aws.String(arn)}
		}
		return nil, nil, invalid("The value %s for parameter ResourceARN is invalid.", arn)
	}
	a, r, err := getAlarm(ctx, c.Tx, c.Account, c.Region, arn[len(prefix):])
	if err != nil {
		return nil, nil, err
	}
	if a == nil {
		return nil, nil, &cloudwatch.ResourceNotFoundException{Message: aws.String("The specified resource does not exist."),
			ResourceType: aws.String("alarm"), ResourceId: aws.String(arn)}
	}
	return a, r, nil
}

// TagResource adds or replaces tags of an alarm.
func (s *Service) TagResource(ctx context.Context, in *cloudwatch.TagResourceInput) (*cloudwatch.TagResourceOutput, error) {
	c := call.From(ctx)
	a, r, err := alarmByARN(ctx, c, aws.ToString(in.ResourceARN))
	if err != nil {
		return nil, err
	}
	add, err := tagMap(in.Tags)
	if err != nil {
		return nil, err
	}
	tags := map[string]string{}
	for k, v := range r.Tags {
		tags[k] = v
	}
	for k, v := range add {
		tags[k] = v
	}
	if len(tags) > 50 {
		return nil, &cloudwatch.LimitExceededFault{Message: aws.String("An alarm can have at most 50 tags.")}
	}
	c.Touch(ResourceType, a.Name, a.ARN)
	return &cloudwatch.TagResourceOutput{}, saveAlarm(ctx, c.Write(), a, tags)
}

// UntagResource removes tags of an alarm.
func (s *Service) UntagResource(ctx context.Context, in *cloudwatch.UntagResourceInput) (*cloudwatch.UntagResourceOutput, error) {
	c := call.From(ctx)
	a, r, err := alarmByARN(ctx, c, aws.ToString(in.ResourceARN))
	if err != nil {
		return nil, err
	}
	tags := map[string]string{}
	for k, v := range r.Tags {
		tags[k] = v
	}
	for _, k := range in.TagKeys {
		delete(tags, k)
	}
	c.Touch(ResourceType, a.Name, a.ARN)
	return &cloudwatch.UntagResourceOutput{}, saveAlarm(ctx, c.Write(), a, tags)
}

// ListTagsForResource lists an alarm's tags.
func (s *Service) ListTagsForResource(ctx context.Context, in *cloudwatch.ListTagsForResourceInput) (*cloudwatch.ListTagsForResourceOutput, error) {
	c := call.From(ctx)
	_, r, err := alarmByARN(ctx, c, aws.ToString(in.ResourceARN))
	if err != nil {
		return nil, err
	}
	out := &cloudwatch.ListTagsForResourceOutput{Tags: []cloudwatch.Tag{}}
	for _, k := range sortedDims(r.Tags) {
		out.Tags = append(out.Tags, cloudwatch.Tag{Key: aws.String(k), Value: aws.String(r.Tags[k])})
	}
	return out, nil
}
