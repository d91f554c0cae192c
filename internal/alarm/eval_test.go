package alarm

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// TestJudge runs the M of N and missing data cases of testdata/missing.txt.
func TestJudge(t *testing.T) {
	f, err := os.Open("testdata/missing.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	now := time.Date(2026, 11, 23, 10, 5, 30, 0, time.UTC)
	for line := 1; sc.Scan(); line++ {
		text := sc.Text()
		if strings.HasPrefix(text, "#") || strings.TrimSpace(text) == "" {
			continue
		}
		p := strings.Split(text, "|")
		for i := range p {
			p[i] = strings.TrimSpace(p[i])
		}
		nm := strings.Fields(p[1])
		n, _ := strconv.Atoi(nm[0])
		m, _ := strconv.Atoi(nm[1])
		a := &Alarm{Type: TypeMetric, EvaluationPeriods: int32(n), DatapointsToAlarm: int32(m), TreatMissingData: p[2],
			Threshold: aws.Float64(1), ComparisonOperator: "GreaterThanOrEqualToThreshold", Statistic: "Sum", Period: 60}
		var slots []Point
		for i, c := range p[0] {
			pt := Point{Time: now.Truncate(time.Minute).Add(-time.Duration(i) * time.Minute), Present: c != '-', Samples: 1}
			if c == 'X' {
				pt.Value = 5
			}
			slots = append(slots, pt)
		}
		d := a.judge(slots, p[3], now)
		got := d.value
		if !d.decided {
			got = "keep"
		}
		if got != p[4] {
			t.Errorf("missing.txt:%d: %s %d of %d %s from %s = %s (%s); want %s", line, p[0], m, n, p[2], p[3], got, d.reason, p[4])
		}
	}
}

func TestReasonText(t *testing.T) {
	a := &Alarm{Type: TypeMetric, EvaluationPeriods: 1, Threshold: aws.Float64(1), ComparisonOperator: "GreaterThanOrEqualToThreshold", Statistic: "Sum", Period: 300}
	at := time.Date(2026, 11, 23, 10, 5, 0, 0, time.UTC)
	d := a.judge([]Point{{Time: at, Value: 1, Present: true, Samples: 1}, {Time: at.Add(-5 * time.Minute)}}, StateInsufficient, at.Add(30*time.Second))
	want := "Threshold Crossed: 1 datapoint [1.0 (23/11/26 10:05:00)] was greater than or equal to the threshold (1.0)."
	if d.value != StateAlarm || d.reason != want {
		t.Errorf("judge = %s %q; want ALARM %q", d.value, d.reason, want)
	}
	if !strings.Contains(d.data, `"recentDatapoints":[1.0]`) || !strings.Contains(d.data, `"startDate":"2026-11-23T10:05:00.000+0000"`) {
		t.Errorf("StateReasonData = %s", d.data)
	}
	a.EvaluationPeriods, a.DatapointsToAlarm = 3, 2
	d = a.judge([]Point{{Time: at, Value: 2, Present: true}, {Time: at.Add(-5 * time.Minute), Value: 0, Present: true},
		{Time: at.Add(-10 * time.Minute), Value: 3, Present: true}}, StateOK, at)
	want = "Threshold Crossed: 2 out of the last 3 datapoints [2.0 (23/11/26 10:05:00), 3.0 (23/11/26 09:55:00)] were greater than or equal to the threshold (1.0) (minimum 2 datapoints for OK -> ALARM transition)."
	if d.reason != want {
		t.Errorf("reason = %q; want %q", d.reason, want)
	}
	for v, want := range map[float64]string{1: "1.0", 0.5: "0.5", 1e7: "1.0E7", 123456.25: "123456.25", -2: "-2.0", 1.5e-5: "1.5E-5"} {
		if got := JavaDouble(v); got != want {
			t.Errorf("JavaDouble(%v) = %s; want %s", v, got, want)
		}
	}
}
