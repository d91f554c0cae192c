package metric_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/bannin/bannin/internal/testenv"
)

// putHistory puts values one minute apart from start into App/Latency (Host=a).
func putHistory(t *testing.T, cw *cloudwatch.Client, start time.Time, values ...float64) {
	t.Helper()
	var data []types.MetricDatum
	for i, v := range values {
		data = append(data, types.MetricDatum{MetricName: aws.String("Latency"), Dimensions: []types.Dimension{dim("Host", "a")},
			Timestamp: aws.Time(start.Add(time.Duration(i) * time.Minute)), Value: aws.Float64(v)})
	}
	if _, err := cw.PutMetricData(context.Background(), &cloudwatch.PutMetricDataInput{Namespace: aws.String("App"), MetricData: data}); err != nil {
		t.Fatalf("PutMetricData: %v", err)
	}
}

func describeDetectors(t *testing.T, cw *cloudwatch.Client, in *cloudwatch.DescribeAnomalyDetectorsInput) *cloudwatch.DescribeAnomalyDetectorsOutput {
	t.Helper()
	out, err := cw.DescribeAnomalyDetectors(context.Background(), in)
	if err != nil {
		t.Fatalf("DescribeAnomalyDetectors: %v", err)
	}
	return out
}

func TestAnomalyDetectors(t *testing.T) {
	e, cw, _ := setup(t)
	ctx := context.Background()
	latency := func(stat string) *types.SingleMetricAnomalyDetector {
		return &types.SingleMetricAnomalyDetector{Namespace: aws.String("App"), MetricName: aws.String("Latency"),
			Dimensions: []types.Dimension{dim("Host", "a")}, Stat: aws.String(stat)}
	}
	// The legacy form, with a configuration.
	excludedFrom, excludedTo := t0.Add(-24*time.Hour), t0.Add(-23*time.Hour)
	_, err := cw.PutAnomalyDetector(ctx, &cloudwatch.PutAnomalyDetectorInput{Namespace: aws.String("App"), MetricName: aws.String("Latency"),
		Dimensions: []types.Dimension{dim("Host", "a")}, Stat: aws.String("Average"),
		Configuration: &types.AnomalyDetectorConfiguration{MetricTimezone: aws.String("Europe/Paris"),
			ExcludedTimeRanges: []types.Range{{StartTime: aws.Time(excludedFrom), EndTime: aws.Time(excludedTo)}}}})
	if err != nil {
		t.Fatalf("PutAnomalyDetector: %v", err)
	}
	// Invalid requests fail and change nothing.
	put := func(in *cloudwatch.PutAnomalyDetectorInput) error {
		_, err := cw.PutAnomalyDetector(ctx, in)
		return err
	}
	testenv.WantCode(t, "no Stat", put(&cloudwatch.PutAnomalyDetectorInput{Namespace: aws.String("App"), MetricName: aws.String("Latency")}), "MissingParameter")
	testenv.WantCode(t, "both forms", put(&cloudwatch.PutAnomalyDetectorInput{Namespace: aws.String("App"), MetricName: aws.String("Latency"),
		Stat: aws.String("Sum"), SingleMetricAnomalyDetector: latency("Sum")}), "InvalidParameterCombination")
	testenv.WantCode(t, "bad stat", put(&cloudwatch.PutAnomalyDetectorInput{SingleMetricAnomalyDetector: latency("Median")}), "InvalidParameterValue")
	testenv.WantCode(t, "bad time zone", put(&cloudwatch.PutAnomalyDetectorInput{SingleMetricAnomalyDetector: latency("Sum"),
		Configuration: &types.AnomalyDetectorConfiguration{MetricTimezone: aws.String("Mars/Olympus")}}), "InvalidParameterValue")
	testenv.WantCode(t, "empty range", put(&cloudwatch.PutAnomalyDetectorInput{SingleMetricAnomalyDetector: latency("Sum"),
		Configuration: &types.AnomalyDetectorConfiguration{ExcludedTimeRanges: []types.Range{{StartTime: aws.Time(t0), EndTime: aws.Time(t0)}}}}), "InvalidParameterValue")
	math := func(qs ...types.MetricDataQuery) *cloudwatch.PutAnomalyDetectorInput {
		return &cloudwatch.PutAnomalyDetectorInput{MetricMathAnomalyDetector: &types.MetricMathAnomalyDetector{MetricDataQueries: qs}}
	}
	m1 := types.MetricDataQuery{Id: aws.String("m1"), ReturnData: aws.Bool(false), MetricStat: &types.MetricStat{Metric: &types.Metric{Namespace: aws.String("App"),
		MetricName: aws.String("Latency"), Dimensions: []types.Dimension{dim("Host", "a")}}, Period: aws.Int32(60), Stat: aws.String("Average")}}
	e1 := types.MetricDataQuery{Id: aws.String("e1"), Expression: aws.String("m1 * 2"), ReturnData: aws.Bool(true)}
	both := math(m1, e1)
	both.Namespace = aws.String("App")
	testenv.WantCode(t, "metric math and a namespace", put(both), "InvalidParameterCombination")
	m1returning := m1
	m1returning.ReturnData = nil
	testenv.WantCode(t, "metric math, two series returned", put(math(m1returning, e1)), "InvalidParameterValue")
	testenv.WantCode(t, "metric math of a band", put(math(m1, types.MetricDataQuery{Id: aws.String("e2"), Expression: aws.String("ANOMALY_DETECTION_BAND(m1)")})), "InvalidParameterValue")
	testenv.WantCode(t, "metric math, bad expression", put(math(m1, types.MetricDataQuery{Id: aws.String("e2"), Expression: aws.String("m1 +")})), "InvalidParameterValue")
	out := describeDetectors(t, cw, &cloudwatch.DescribeAnomalyDetectorsInput{})
	if len(out.AnomalyDetectors) != 1 {
		t.Fatalf("DescribeAnomalyDetectors after failed puts = %d detectors; want 1", len(out.AnomalyDetectors))
	}
	d := out.AnomalyDetectors[0]
	if string(d.StateValue) != "PENDING_TRAINING" || aws.ToString(d.Stat) != "Average" || aws.ToString(d.SingleMetricAnomalyDetector.MetricName) != "Latency" ||
		aws.ToString(d.Configuration.MetricTimezone) != "Europe/Paris" || len(d.Configuration.ExcludedTimeRanges) != 1 ||
		!d.Configuration.ExcludedTimeRanges[0].StartTime.Equal(excludedFrom) || len(d.Dimensions) != 1 {
		b, _ := json.Marshal(d)
		t.Fatalf("detector = %s; want App/Latency Average, PENDING_TRAINING, with its configuration", b)
	}

	// Twelve minutes of history (10, 12, 10, ...): mean 11, standard deviation 1.
	putHistory(t, cw, t0, 10, 12, 10, 12, 10, 12, 10, 12, 10, 12, 10, 12)
	if got := string(describeDetectors(t, cw, &cloudwatch.DescribeAnomalyDetectorsInput{}).AnomalyDetectors[0].StateValue); got != "TRAINED" {
		t.Errorf("StateValue with 12 datapoints = %s; want TRAINED", got)
	}
	// A second detector whose excluded range hides half the history stays untrained.
	if err := put(&cloudwatch.PutAnomalyDetectorInput{SingleMetricAnomalyDetector: latency("Maximum"),
		Configuration: &types.AnomalyDetectorConfiguration{ExcludedTimeRanges: []types.Range{{StartTime: aws.Time(t0), EndTime: aws.Time(t0.Add(6 * time.Minute))}}}}); err != nil {
		t.Fatalf("PutAnomalyDetector Maximum: %v", err)
	}
	states := map[string]string{}
	for _, d := range describeDetectors(t, cw, &cloudwatch.DescribeAnomalyDetectorsInput{Namespace: aws.String("App"), MetricName: aws.String("Latency"),
		Dimensions: []types.Dimension{dim("Host", "a")}}).AnomalyDetectors {
		states[aws.ToString(d.Stat)] = string(d.StateValue)
	}
	if states["Average"] != "TRAINED" || states["Maximum"] != "PENDING_TRAINING" {
		t.Errorf("detector states = %v; want Average TRAINED, Maximum PENDING_TRAINING (6 of 12 datapoints excluded)", states)
	}

	// The band after the history: 11 +- 2*1 for the Average detector, none for Maximum.
	m := func(stat string) *types.MetricStat {
		return &types.MetricStat{Metric: &types.Metric{Namespace: aws.String("App"), MetricName: aws.String("Latency"),
			Dimensions: []types.Dimension{dim("Host", "a")}}, Period: aws.Int32(60), Stat: aws.String(stat)}
	}
	gd, err := cw.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{StartTime: aws.Time(t0.Add(12 * time.Minute)), EndTime: aws.Time(t0.Add(14 * time.Minute)),
		MetricDataQueries: []types.MetricDataQuery{{Id: aws.String("m1"), MetricStat: m("Average"), ReturnData: aws.Bool(false)},
			{Id: aws.String("ad1"), Expression: aws.String("ANOMALY_DETECTION_BAND(m1)"), Label: aws.String("expected")},
			{Id: aws.String("m2"), MetricStat: m("Maximum"), ReturnData: aws.Bool(false)},
			{Id: aws.String("ad2"), Expression: aws.String("ANOMALY_DETECTION_BAND(m2, 3)")}}})
	if err != nil {
		t.Fatalf("GetMetricData with bands: %v", err)
	}
	got := map[string][]float64{}
	for _, r := range gd.MetricDataResults {
		got[aws.ToString(r.Id)+" "+aws.ToString(r.Label)] = r.Values
	}
	if v := got["ad1 expected Upper"]; len(v) != 2 || v[0] != 13 || v[1] != 13 {
		t.Errorf("upper band = %v; want [13 13] (results %v)", v, got)
	}
	if v := got["ad1 expected Lower"]; len(v) != 2 || v[0] != 9 {
		t.Errorf("lower band = %v; want [9 9] (results %v)", v, got)
	}
	if v, ok := got["ad2 ad2 Upper"]; !ok || len(v) != 0 {
		t.Errorf("band of the untrained Maximum detector = %v (present %v); want no values", v, ok)
	}
	_, err = cw.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{StartTime: aws.Time(t0), EndTime: aws.Time(t0.Add(time.Hour)),
		MetricDataQueries: []types.MetricDataQuery{{Id: aws.String("e1"), Expression: aws.String("ANOMALY_DETECTION_BAND(m1) * 2")},
			{Id: aws.String("m1"), MetricStat: m("Average"), ReturnData: aws.Bool(false)}}})
	testenv.WantCode(t, "arithmetic on a band", err, "InvalidParameterValue")

	// Filters and pages.
	if n := len(describeDetectors(t, cw, &cloudwatch.DescribeAnomalyDetectorsInput{Namespace: aws.String("Other")}).AnomalyDetectors); n != 0 {
		t.Errorf("detectors of namespace Other = %d; want 0", n)
	}
	if n := len(describeDetectors(t, cw, &cloudwatch.DescribeAnomalyDetectorsInput{Namespace: aws.String("App"), MetricName: aws.String("Latency"),
		Dimensions: []types.Dimension{dim("Host", "b")}}).AnomalyDetectors); n != 0 {
		t.Errorf("detectors with Host=b = %d; want 0", n)
	}
	if n := len(describeDetectors(t, cw, &cloudwatch.DescribeAnomalyDetectorsInput{AnomalyDetectorTypes: []types.AnomalyDetectorType{types.AnomalyDetectorTypeMetricMath}}).AnomalyDetectors); n != 0 {
		t.Errorf("METRIC_MATH detectors = %d; want 0", n)
	}
	if n := len(describeDetectors(t, cw, &cloudwatch.DescribeAnomalyDetectorsInput{Dimensions: []types.Dimension{dim("Host", "a")}}).AnomalyDetectors); n != 2 {
		t.Errorf("detectors with Host=a in any namespace = %d; want 2", n)
	}
	if n := len(describeDetectors(t, cw, &cloudwatch.DescribeAnomalyDetectorsInput{MetricName: aws.String("Latency")}).AnomalyDetectors); n != 2 {
		t.Errorf("detectors of metrics named Latency = %d; want 2", n)
	}
	_, err = cw.DescribeAnomalyDetectors(ctx, &cloudwatch.DescribeAnomalyDetectorsInput{MaxResults: aws.Int32(101)})
	testenv.WantCode(t, "MaxResults 101", err, "InvalidParameterValue")
	// A metric math detector of m1 * 2: mean 22, standard deviation 2.
	if err := put(math(m1, e1)); err != nil {
		t.Fatalf("PutAnomalyDetector metric math: %v", err)
	}
	md := describeDetectors(t, cw, &cloudwatch.DescribeAnomalyDetectorsInput{AnomalyDetectorTypes: []types.AnomalyDetectorType{types.AnomalyDetectorTypeMetricMath}})
	if len(md.AnomalyDetectors) != 1 || md.AnomalyDetectors[0].MetricMathAnomalyDetector == nil ||
		len(md.AnomalyDetectors[0].MetricMathAnomalyDetector.MetricDataQueries) != 2 || md.AnomalyDetectors[0].StateValue != types.AnomalyDetectorStateValueTrained {
		b, _ := json.Marshal(md)
		t.Errorf("METRIC_MATH detectors = %s; want the m1 * 2 detector, TRAINED", b)
	}
	gd, err = cw.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{StartTime: aws.Time(t0.Add(12 * time.Minute)), EndTime: aws.Time(t0.Add(13 * time.Minute)),
		MetricDataQueries: []types.MetricDataQuery{m1, {Id: aws.String("e1"), Expression: aws.String("m1 * 2"), ReturnData: aws.Bool(false)},
			{Id: aws.String("ad1"), Expression: aws.String("ANOMALY_DETECTION_BAND(e1)")}}})
	if err != nil {
		t.Fatalf("GetMetricData with a band of an expression: %v", err)
	}
	if r := gd.MetricDataResults; len(r) != 2 || len(r[0].Values) != 1 || r[0].Values[0] != 26 || len(r[1].Values) != 1 || r[1].Values[0] != 18 {
		b, _ := json.Marshal(r)
		t.Errorf("band of m1 * 2 = %s; want upper 26, lower 18", b)
	}
	if n := len(describeDetectors(t, cw, &cloudwatch.DescribeAnomalyDetectorsInput{}).AnomalyDetectors); n != 2 {
		t.Errorf("detectors without AnomalyDetectorTypes = %d; want the 2 single-metric ones", n)
	}
	seen := map[string]bool{}
	var token *string
	for page := 0; ; page++ {
		p := describeDetectors(t, cw, &cloudwatch.DescribeAnomalyDetectorsInput{MaxResults: aws.Int32(1), NextToken: token,
			AnomalyDetectorTypes: []types.AnomalyDetectorType{types.AnomalyDetectorTypeSingleMetric, types.AnomalyDetectorTypeMetricMath}})
		if len(p.AnomalyDetectors) != 1 || page > 3 {
			t.Fatalf("page %d = %d detectors; want 1", page, len(p.AnomalyDetectors))
		}
		d := p.AnomalyDetectors[0]
		seen[aws.ToString(d.Stat)+fmt.Sprint(d.MetricMathAnomalyDetector != nil)] = true
		if token = p.NextToken; token == nil {
			break
		}
	}
	if len(seen) != 3 {
		t.Errorf("pages of one, both types = %v; want the 3 detectors once each", seen)
	}
	if _, err := cw.DeleteAnomalyDetector(ctx, &cloudwatch.DeleteAnomalyDetectorInput{MetricMathAnomalyDetector: &types.MetricMathAnomalyDetector{
		MetricDataQueries: []types.MetricDataQuery{m1, e1}}}); err != nil {
		t.Fatalf("DeleteAnomalyDetector metric math: %v", err)
	}

	// Delete, then delete again.
	if _, err := cw.DeleteAnomalyDetector(ctx, &cloudwatch.DeleteAnomalyDetectorInput{SingleMetricAnomalyDetector: latency("Maximum")}); err != nil {
		t.Fatalf("DeleteAnomalyDetector: %v", err)
	}
	_, err = cw.DeleteAnomalyDetector(ctx, &cloudwatch.DeleteAnomalyDetectorInput{SingleMetricAnomalyDetector: latency("Maximum")})
	testenv.WantCode(t, "delete twice", err, "ResourceNotFoundException")
	if n := len(describeDetectors(t, cw, &cloudwatch.DescribeAnomalyDetectorsInput{}).AnomalyDetectors); n != 1 {
		t.Errorf("detectors after delete = %d; want 1", n)
	}

	// MetricCharacteristics shows only when it was given.
	if _, err := cw.PutAnomalyDetector(ctx, &cloudwatch.PutAnomalyDetectorInput{SingleMetricAnomalyDetector: &types.SingleMetricAnomalyDetector{
		Namespace: aws.String("Chars"), MetricName: aws.String("Spiky"), Stat: aws.String("Sum")},
		MetricCharacteristics: &types.MetricCharacteristics{PeriodicSpikes: aws.Bool(true)}}); err != nil {
		t.Fatalf("PutAnomalyDetector with MetricCharacteristics: %v", err)
	}
	if _, err := cw.PutAnomalyDetector(ctx, &cloudwatch.PutAnomalyDetectorInput{SingleMetricAnomalyDetector: &types.SingleMetricAnomalyDetector{
		Namespace: aws.String("Chars"), MetricName: aws.String("Plain"), Stat: aws.String("Sum")}}); err != nil {
		t.Fatalf("PutAnomalyDetector: %v", err)
	}
	for _, d := range describeDetectors(t, cw, &cloudwatch.DescribeAnomalyDetectorsInput{Namespace: aws.String("Chars")}).AnomalyDetectors {
		name, mc := aws.ToString(d.SingleMetricAnomalyDetector.MetricName), d.MetricCharacteristics
		if name == "Spiky" && (mc == nil || !aws.ToBool(mc.PeriodicSpikes)) || name == "Plain" && mc != nil {
			t.Errorf("detector %s MetricCharacteristics = %+v; want PeriodicSpikes only where it was given", name, mc)
		}
	}

	// The aws CLI v2 (query protocol) puts and lists a detector.
	e.Run(t, testenv.V2, "cloudwatch", "put-anomaly-detector", "--single-metric-anomaly-detector",
		`{"Namespace":"Cli","MetricName":"Requests","Dimensions":[{"Name":"Stage","Value":"prod"}],"Stat":"Sum"}`,
		"--configuration", `{"MetricTimezone":"UTC"}`)
	// A second page: the v2 CLI (XML) follows NextToken, which must be XML-safe.
	e.Run(t, testenv.V2, "cloudwatch", "put-anomaly-detector", "--namespace", "Cli", "--metric-name", "Errors", "--stat", "Sum")
	paged := e.Run(t, testenv.V2, "cloudwatch", "describe-anomaly-detectors", "--namespace", "Cli", "--page-size", "1",
		"--query", "AnomalyDetectors[].MetricName", "--output", "text")
	if got := strings.Fields(paged); len(got) != 2 || got[0] != "Errors" || got[1] != "Requests" {
		t.Errorf("describe-anomaly-detectors --page-size 1 = %q; want Errors and Requests over two pages", paged)
	}
	e.Run(t, testenv.V2, "cloudwatch", "delete-anomaly-detector", "--namespace", "Cli", "--metric-name", "Errors", "--stat", "Sum")
	cli := e.Run(t, testenv.V2, "cloudwatch", "describe-anomaly-detectors", "--namespace", "Cli")
	var listed struct {
		AnomalyDetectors []struct {
			Stat, StateValue            string
			SingleMetricAnomalyDetector struct{ MetricName string }
			Configuration               struct{ MetricTimezone string }
		}
	}
	if err := json.Unmarshal([]byte(cli), &listed); err != nil || len(listed.AnomalyDetectors) != 1 {
		t.Fatalf("describe-anomaly-detectors = %s (%v); want one detector", cli, err)
	}
	if d := listed.AnomalyDetectors[0]; d.Stat != "Sum" || d.StateValue != "PENDING_TRAINING" || d.SingleMetricAnomalyDetector.MetricName != "Requests" ||
		d.Configuration.MetricTimezone != "UTC" {
		t.Errorf("describe-anomaly-detectors = %+v", d)
	}
}
