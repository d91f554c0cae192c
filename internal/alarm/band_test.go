package alarm

import (
	"testing"
	"time"
)

// TestBandJudge checks each band operator's decision and state reason on one datapoint.
func TestBandJudge(t *testing.T) {
	at := time.Date(2026, 11, 23, 10, 5, 0, 0, time.UTC)
	for _, tc := range []struct {
		op     string
		value  float64
		state  string
		reason string
	}{
		{"GreaterThanUpperThreshold", 14, StateAlarm, "Thresholds Crossed: 1 out of the last 1 datapoints [14.0 (23/11/26 10:05:00)] was greater than the upper thresholds [13.0] (minimum 1 datapoint for OK -> ALARM transition)."},
		{"GreaterThanUpperThreshold", 8, StateOK, "Thresholds Crossed: 1 out of the last 1 datapoints [8.0 (23/11/26 10:05:00)] was not greater than the upper thresholds [13.0] (minimum 1 datapoint for ALARM -> OK transition)."},
		{"LessThanLowerThreshold", 8, StateAlarm, "Thresholds Crossed: 1 out of the last 1 datapoints [8.0 (23/11/26 10:05:00)] was less than the lower thresholds [9.0] (minimum 1 datapoint for OK -> ALARM transition)."},
		{"LessThanLowerThreshold", 14, StateOK, "Thresholds Crossed: 1 out of the last 1 datapoints [14.0 (23/11/26 10:05:00)] was not less than the lower thresholds [9.0] (minimum 1 datapoint for ALARM -> OK transition)."},
		{"LessThanLowerOrGreaterThanUpperThreshold", 14, StateAlarm, "Thresholds Crossed: 1 out of the last 1 datapoints [14.0 (23/11/26 10:05:00)] was less than the lower thresholds [9.0] or greater than the upper thresholds [13.0] (minimum 1 datapoint for OK -> ALARM transition)."},
		{"LessThanLowerOrGreaterThanUpperThreshold", 11, StateOK, "Thresholds Crossed: 1 out of the last 1 datapoints [11.0 (23/11/26 10:05:00)] was not less than the lower thresholds [9.0] or not greater than the upper thresholds [13.0] (minimum 1 datapoint for ALARM -> OK transition)."},
	} {
		a := &Alarm{Type: TypeMetric, EvaluationPeriods: 1, ComparisonOperator: tc.op, ThresholdMetricID: "ad1", Period: 60}
		slots := []Point{{Time: at, Value: tc.value, Present: true, Lower: 9, Upper: 13}, {Time: at.Add(-time.Minute)}}
		d := a.judge(slots, StateInsufficient, at)
		if d.value != tc.state || d.reason != tc.reason {
			t.Errorf("%s on %v = %s %q; want %s %q", tc.op, tc.value, d.value, d.reason, tc.state, tc.reason)
		}
	}
}
