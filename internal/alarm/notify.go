package alarm

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/bannin/bannin/internal/awserr"
	"github.com/bannin/bannin/internal/store"
)

// regionNames are the names CloudWatch notifications give regions.
var regionNames = map[string]string{
	"us-east-1": "US East (N. Virginia)", "us-east-2": "US East (Ohio)", "us-west-1": "US West (N. California)",
	"us-west-2": "US West (Oregon)", "af-south-1": "Africa (Cape Town)", "ap-east-1": "Asia Pacific (Hong Kong)",
	"ap-south-1": "Asia Pacific (Mumbai)", "ap-northeast-1": "Asia Pacific (Tokyo)", "ap-northeast-2": "Asia Pacific (Seoul)",
	"ap-northeast-3": "Asia Pacific (Osaka)", "ap-southeast-1": "Asia Pacific (Singapore)", "ap-southeast-2": "Asia Pacific (Sydney)",
	"ca-central-1": "Canada (Central)", "eu-central-1": "EU (Frankfurt)", "eu-west-1": "EU (Ireland)", "eu-west-2": "EU (London)",
	"eu-west-3": "EU (Paris)", "eu-north-1": "EU (Stockholm)", "eu-south-1": "EU (Milan)", "me-south-1": "Middle East (Bahrain)",
	"sa-east-1": "South America (Sao Paulo)",
}

// RegionName is a region's name as alarm notifications show it.
func RegionName(region string) string {
	if n, ok := regionNames[region]; ok {
		return n
	}
	return region
}

// transition moves alarm a from cur to a new state in tx: the state, a StateUpdate history
// item, and the actions of the new state (each with an Action history item).
func (s *Service) transition(ctx context.Context, tx store.Tx, a *Alarm, cur *State, value, reason, data string, now time.Time) error {
	st := &State{Value: value, Reason: reason, ReasonData: data, Updated: now.UTC(), Transitioned: now.UTC(),
		SuppressorInAlarm: cur.SuppressorInAlarm, ExtensionUntil: cur.ExtensionUntil}
	suppressed, err := s.suppressOnTransition(ctx, tx, a, cur.Value, st, now)
	if err != nil {
		return err
	}
	if err := putState(ctx, tx, a, st); err != nil {
		return err
	}
	newState := map[string]any{"stateValue": value, "stateReason": reason}
	if data != "" && json.Valid([]byte(data)) {
		newState["stateReasonData"] = json.RawMessage(data)
	}
	hist := map[string]any{"version": "1.0", "oldState": map[string]any{"stateValue": cur.Value, "stateReason": cur.Reason}, "newState": newState}
	if err := s.history(ctx, tx, a, "StateUpdate", fmt.Sprintf("Alarm updated from %s to %s", cur.Value, value), hist, now); err != nil {
		return err
	}
	if suppressed {
		return s.suppressedHistory(ctx, tx, a, st, now)
	}
	return s.act(ctx, tx, a, cur.Value, st, now)
}

// act runs the actions of alarm a for its new state st, at (history time) now: at the
// transition, or when a suppression of its actions ends.
func (s *Service) act(ctx context.Context, tx store.Tx, a *Alarm, oldValue string, st *State, now time.Time) error {
	if !a.ActionsEnabled {
		return nil
	}
	var arns []string
	switch st.Value {
	case StateAlarm:
		arns = a.AlarmActions
	case StateOK:
		arns = a.OKActions
	case StateInsufficient:
		arns = a.InsufficientDataActions
	}
	if len(arns) == 0 {
		return nil
	}
	subject := fmt.Sprintf("%s: %q in %s", st.Value, a.Name, RegionName(a.Region))
	if len(subject) > 100 {
		subject = subject[:100]
	}
	message := Notification(a, oldValue, st)
	for _, arn := range arns {
		var err error
		switch {
		case !strings.HasPrefix(arn, "arn:aws:sns:"):
			err = fmt.Errorf("bannin does not execute actions of this type")
		case s.opts.Publish == nil:
			err = fmt.Errorf("no SNS publisher is configured")
		default:
			_, err = s.opts.Publish(ctx, tx, arn, subject, message)
			if _, aws := awserr.As(err); err != nil && !aws {
				return err // the store failed: the transition must not commit half-published
			}
		}
		if err != nil {
			s.opts.Logger.Warn("alarm: action failed", "alarm", a.Name, "action", arn, "err", err)
			if herr := s.history(ctx, tx, a, "Action", fmt.Sprintf("Failed to execute action %s. Received error: %q", arn, err.Error()),
				map[string]any{"actionState": "Failed", "stateUpdateTimestamp": st.Updated.UnixMilli(), "notificationResource": arn,
					"error": err.Error()}, now); herr != nil {
				return herr
			}
			continue
		}
		if err := s.history(ctx, tx, a, "Action", "Successfully executed action "+arn,
			map[string]any{"actionState": "Succeeded", "stateUpdateTimestamp": st.Updated.UnixMilli(), "notificationResource": arn,
				"publishedMessage": json.RawMessage(message)}, now); err != nil {
			return err
		}
	}
	return nil
}

// child is a TriggeringChildren entry of a composite alarm's notification.
type child struct {
	Arn   string `json:"Arn"`
	State struct {
		Value     string `json:"Value"`
		Timestamp string `json:"Timestamp"`
	} `json:"State"`
}

// triggeringAlarm is an entry of triggeringAlarms in a composite alarm's StateReasonData:
// the child whose transition the composite's state followed.
type triggeringAlarm struct {
	ARN   string `json:"arn"`
	State struct {
		Value     string `json:"value"`
		Timestamp string `json:"timestamp"`
	} `json:"state"`
}

// triggeringChildren reads the triggeringAlarms of a composite alarm's StateReasonData as
// a notification's TriggeringChildren; [] when there are none (SetAlarmState).
func triggeringChildren(reasonData string) []child {
	var d struct {
		TriggeringAlarms []triggeringAlarm `json:"triggeringAlarms"`
	}
	out := []child{}
	if json.Unmarshal([]byte(reasonData), &d) != nil {
		return out
	}
	for _, t := range d.TriggeringAlarms {
		var c child
		c.Arn, c.State.Value, c.State.Timestamp = t.ARN, t.State.Value, t.State.Timestamp
		out = append(out, c)
	}
	return out
}

// Notification is the JSON message CloudWatch publishes to SNS when alarm a enters st.
func Notification(a *Alarm, oldValue string, st *State) string {
	type dim struct {
		Value string `json:"value"`
		Name  string `json:"name"`
	}
	// evaluation is what every trigger says of how the alarm evaluates; a metric alarm's
	// trigger puts the metric before it, a metric math one its Metrics after it.
	type evaluation struct {
		Period                           int64       `json:"Period"`
		EvaluationPeriods                int32       `json:"EvaluationPeriods"`
		DatapointsToAlarm                int32       `json:"DatapointsToAlarm"`
		ComparisonOperator               string      `json:"ComparisonOperator"`
		Threshold                        *jsonNumber `json:"Threshold,omitempty"`
		ThresholdMetricID                string      `json:"ThresholdMetricId,omitempty"`
		TreatMissingData                 string      `json:"TreatMissingData"`
		EvaluateLowSampleCountPercentile string      `json:"EvaluateLowSampleCountPercentile"`
	}
	type trigger struct {
		MetricName        string  `json:"MetricName,omitempty"`
		Namespace         string  `json:"Namespace,omitempty"`
		StatisticType     string  `json:"StatisticType,omitempty"`
		Statistic         string  `json:"Statistic,omitempty"`
		ExtendedStatistic string  `json:"ExtendedStatistic,omitempty"`
		Unit              *string `json:"Unit"`
		Dimensions        []dim   `json:"Dimensions"`
		evaluation
	}
	msg := struct {
		AlarmName                          string   `json:"AlarmName"`
		AlarmDescription                   *string  `json:"AlarmDescription"`
		AWSAccountID                       string   `json:"AWSAccountId"`
		AlarmConfigurationUpdatedTimestamp string   `json:"AlarmConfigurationUpdatedTimestamp,omitempty"`
		NewStateValue                      string   `json:"NewStateValue"`
		NewStateReason                     string   `json:"NewStateReason"`
		StateChangeTime                    string   `json:"StateChangeTime"`
		Region                             string   `json:"Region"`
		AlarmArn                           string   `json:"AlarmArn"`
		OldStateValue                      string   `json:"OldStateValue"`
		OKActions                          []string `json:"OKActions"`
		AlarmActions                       []string `json:"AlarmActions"`
		InsufficientDataActions            []string `json:"InsufficientDataActions"`
		AlarmRule                          string   `json:"AlarmRule,omitempty"`
		TriggeringChildren                 any      `json:"TriggeringChildren,omitempty"` // []child; [] shown
		Trigger                            any      `json:"Trigger,omitempty"`
	}{AlarmName: a.Name, AWSAccountID: a.Account,
		NewStateValue: st.Value, NewStateReason: st.Reason, StateChangeTime: awsTime(st.Updated), Region: RegionName(a.Region),
		AlarmArn: a.ARN, OldStateValue: oldValue, OKActions: nonNil(a.OKActions), AlarmActions: nonNil(a.AlarmActions),
		InsufficientDataActions: nonNil(a.InsufficientDataActions)}
	if a.Description != "" {
		msg.AlarmDescription = aws.String(a.Description)
	}
	if a.Type == TypeComposite {
		// A composite alarm's notification has no AlarmConfigurationUpdatedTimestamp and
		// names the child whose transition it followed (TriggeringChildren), as "Schema when
		// a composite alarm changes state" shows.
		msg.AlarmRule, msg.TriggeringChildren = a.AlarmRule, triggeringChildren(st.ReasonData)
	} else {
		msg.AlarmConfigurationUpdatedTimestamp = awsTime(a.ConfigUpdated)
		t := &trigger{MetricName: a.MetricName, Namespace: a.Namespace, Dimensions: []dim{}, evaluation: evaluation{
			Period: int64(a.periodDur() / time.Second), EvaluationPeriods: a.EvaluationPeriods, DatapointsToAlarm: a.DatapointsToAlarm,
			ComparisonOperator: a.ComparisonOperator, ThresholdMetricID: a.ThresholdMetricID,
			TreatMissingData: a.TreatMissingData, EvaluateLowSampleCountPercentile: a.EvaluateLowSample}}
		if a.ThresholdMetricID == "" {
			th := jsonNumber(aws.ToFloat64(a.Threshold))
			t.Threshold = &th
		}
		if t.DatapointsToAlarm == 0 {
			t.DatapointsToAlarm = a.EvaluationPeriods
		}
		if t.TreatMissingData == "" {
			t.TreatMissingData = "missing"
		}
		switch {
		case a.Statistic != "":
			t.StatisticType, t.Statistic = "Statistic", strings.ToUpper(a.Statistic)
			if a.Statistic == "SampleCount" {
				t.Statistic = "SAMPLE_COUNT"
			}
		case a.ExtendedStatistic != "":
			t.StatisticType, t.ExtendedStatistic = "ExtendedStatistic", a.ExtendedStatistic
		}
		if a.Unit != "" {
			t.Unit = aws.String(a.Unit)
		}
		for _, d := range sortedDims(a.Dimensions) {
			t.Dimensions = append(t.Dimensions, dim{Value: a.Dimensions[d], Name: d})
		}
		msg.Trigger = t
		if len(a.Metrics) > 0 {
			// A metric math (or band) alarm's trigger names no metric, as CloudWatch sends it:
			// {"Period":60,...,"ComparisonOperator":"LessThanLowerOrGreaterThanUpperThreshold",
			// "ThresholdMetricId":"ad1","TreatMissingData":"missing",...,"Metrics":[...]}.
			msg.Trigger = struct {
				evaluation
				Metrics json.RawMessage `json:"Metrics"`
			}{t.evaluation, metricsDoc(a)}
		}
	}
	b, _ := json.Marshal(msg)
	return string(b)
}

// metricsDoc is an alarm's Metrics as notifications show them (lowerCamel members).
func metricsDoc(a *Alarm) json.RawMessage {
	var out []map[string]any
	for _, q := range a.Metrics {
		m := map[string]any{"Id": aws.ToString(q.Id), "ReturnData": q.ReturnData == nil || *q.ReturnData}
		if q.Label != nil {
			m["Label"] = *q.Label
		}
		if q.Expression != nil {
			m["Expression"] = *q.Expression
		}
		if ms := q.MetricStat; ms != nil && ms.Metric != nil {
			var dims []map[string]string
			for _, d := range ms.Metric.Dimensions {
				dims = append(dims, map[string]string{"value": aws.ToString(d.Value), "name": aws.ToString(d.Name)})
			}
			m["MetricStat"] = map[string]any{"Metric": map[string]any{"Dimensions": dims, "MetricName": aws.ToString(ms.Metric.MetricName),
				"Namespace": aws.ToString(ms.Metric.Namespace)}, "Period": aws.ToInt32(ms.Period), "Stat": aws.ToString(ms.Stat)}
		}
		out = append(out, m)
	}
	b, _ := json.Marshal(out)
	return b
}
