package metric_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/bannin/bannin/internal/testenv"
)

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

// t0 is an hour boundary shortly before now: requests are signed with the real time, so
// the server's fake clock stays close to it.
var t0 = time.Now().UTC().Truncate(time.Hour).Add(-time.Hour)

func setup(t *testing.T) (*testenv.Env, *cloudwatch.Client, *fakeClock) {
	clk := &fakeClock{t: time.Now().UTC()}
	e := testenv.New(t, testenv.Options{Clock: clk.Now})
	return e, cloudwatch.NewFromConfig(e.Config), clk
}

func dim(n, v string) types.Dimension {
	return types.Dimension{Name: aws.String(n), Value: aws.String(v)}
}

func TestPutMetricDataAndStatistics(t *testing.T) {
	_, cw, _ := setup(t)
	ctx := context.Background()
	_, err := cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("App"), MetricData: []types.MetricDatum{
		{MetricName: aws.String("Latency"), Dimensions: []types.Dimension{dim("Host", "a")}, Timestamp: aws.Time(t0.Add(time.Minute)), Value: aws.Float64(10), Unit: types.StandardUnitMilliseconds},
		{MetricName: aws.String("Latency"), Dimensions: []types.Dimension{dim("Host", "a")}, Timestamp: aws.Time(t0.Add(90 * time.Second)), Values: []float64{20, 30}, Counts: []float64{1, 2}, Unit: types.StandardUnitMilliseconds},
		{MetricName: aws.String("Latency"), Dimensions: []types.Dimension{dim("Host", "a")}, Timestamp: aws.Time(t0.Add(6 * time.Minute)),
			StatisticValues: &types.StatisticSet{SampleCount: aws.Float64(2), Sum: aws.Float64(8), Minimum: aws.Float64(3), Maximum: aws.Float64(5)}, Unit: types.StandardUnitMilliseconds},
	}})
	if err != nil {
		t.Fatalf("PutMetricData: %v", err)
	}
	out, err := cw.GetMetricStatistics(ctx, &cloudwatch.GetMetricStatisticsInput{Namespace: aws.String("App"), MetricName: aws.String("Latency"),
		Dimensions: []types.Dimension{dim("Host", "a")}, StartTime: aws.Time(t0), EndTime: aws.Time(t0.Add(10 * time.Minute)), Period: aws.Int32(300),
		Statistics: []types.Statistic{types.StatisticSum, types.StatisticAverage, types.StatisticMinimum, types.StatisticMaximum, types.StatisticSampleCount}})
	if err != nil {
		t.Fatalf("GetMetricStatistics: %v", err)
	}
	if len(out.Datapoints) != 2 {
		t.Fatalf("GetMetricStatistics = %d datapoints; want 2: %+v", len(out.Datapoints), out.Datapoints)
	}
	first, second := out.Datapoints[0], out.Datapoints[1]
	if first.Timestamp.After(*second.Timestamp) {
		first, second = second, first
	}
	if got := []float64{*first.Sum, *first.SampleCount, *first.Minimum, *first.Maximum, *first.Average}; got[0] != 90 || got[1] != 4 || got[2] != 10 || got[3] != 30 || got[4] != 22.5 {
		t.Errorf("first period Sum, SampleCount, Min, Max, Avg = %v; want [90 4 10 30 22.5]", got)
	}
	if *second.Sum != 8 || *second.SampleCount != 2 || first.Unit != types.StandardUnitMilliseconds {
		t.Errorf("second period = %+v (unit %s); want Sum 8 SampleCount 2, unit Milliseconds", second, first.Unit)
	}
	if !first.Timestamp.Equal(t0) {
		t.Errorf("first timestamp = %v; want %v", first.Timestamp, t0)
	}
	p, err := cw.GetMetricStatistics(ctx, &cloudwatch.GetMetricStatisticsInput{Namespace: aws.String("App"), MetricName: aws.String("Latency"),
		Dimensions: []types.Dimension{dim("Host", "a")}, StartTime: aws.Time(t0), EndTime: aws.Time(t0.Add(5 * time.Minute)), Period: aws.Int32(300),
		ExtendedStatistics: []string{"p50", "p99"}})
	if err != nil {
		t.Fatalf("GetMetricStatistics percentiles: %v", err)
	}
	if len(p.Datapoints) != 1 || p.Datapoints[0].ExtendedStatistics["p50"] != 20 || p.Datapoints[0].ExtendedStatistics["p99"] != 30 {
		t.Errorf("percentiles = %+v; want p50 20, p99 30", p.Datapoints)
	}
	// Another dimension set is another metric.
	none, err := cw.GetMetricStatistics(ctx, &cloudwatch.GetMetricStatisticsInput{Namespace: aws.String("App"), MetricName: aws.String("Latency"),
		StartTime: aws.Time(t0), EndTime: aws.Time(t0.Add(10 * time.Minute)), Period: aws.Int32(60), Statistics: []types.Statistic{types.StatisticSum}})
	if err != nil || len(none.Datapoints) != 0 {
		t.Errorf("GetMetricStatistics without dimensions = %v, %v; want no datapoints", none, err)
	}
}

func TestMetricErrors(t *testing.T) {
	_, cw, _ := setup(t)
	ctx := context.Background()
	put := func(ns string, d types.MetricDatum) error {
		_, err := cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String(ns), MetricData: []types.MetricDatum{d}})
		return err
	}
	testenv.WantCode(t, "AWS/ namespace", put("AWS/EC2", types.MetricDatum{MetricName: aws.String("m"), Value: aws.Float64(1)}), "InvalidParameterValue")
	testenv.WantCode(t, "Value and Values", put("App", types.MetricDatum{MetricName: aws.String("m"), Value: aws.Float64(1), Values: []float64{1}}), "InvalidParameterCombination")
	testenv.WantCode(t, "Values and Counts", put("App", types.MetricDatum{MetricName: aws.String("m"), Values: []float64{1, 2}, Counts: []float64{1}}), "InvalidParameterValue")
	testenv.WantCode(t, "future", put("App", types.MetricDatum{MetricName: aws.String("m"), Value: aws.Float64(1), Timestamp: aws.Time(t0.Add(5 * time.Hour))}), "InvalidParameterValue")
	testenv.WantCode(t, "resolution", put("App", types.MetricDatum{MetricName: aws.String("m"), Value: aws.Float64(1), StorageResolution: aws.Int32(5)}), "InvalidParameterValue")
	_, err := cw.GetMetricStatistics(ctx, &cloudwatch.GetMetricStatisticsInput{Namespace: aws.String("App"), MetricName: aws.String("m"),
		StartTime: aws.Time(t0), EndTime: aws.Time(t0.Add(25 * time.Hour)), Period: aws.Int32(60), Statistics: []types.Statistic{types.StatisticSum}})
	testenv.WantCode(t, "1440 datapoints", err, "InvalidParameterCombination")
	if !strings.Contains(err.Error(), "You have requested up to 1,500 datapoints, which exceeds the limit of 1,440.") {
		t.Errorf("limit error = %v; want AWS's message", err)
	}
	_, err = cw.GetMetricStatistics(ctx, &cloudwatch.GetMetricStatisticsInput{Namespace: aws.String("App"), MetricName: aws.String("m"),
		StartTime: aws.Time(t0), EndTime: aws.Time(t0.Add(time.Hour)), Period: aws.Int32(61), Statistics: []types.Statistic{types.StatisticSum}})
	testenv.WantCode(t, "period 61", err, "InvalidParameterValue")
}

// TestListMetricsPages lists more metrics than one page holds with the aws CLI v2 (query
// protocol, XML): the NextToken must be text XML can carry for the CLI to follow it.
func TestListMetricsPages(t *testing.T) {
	e, cw, _ := setup(t)
	ctx := context.Background()
	var data []types.MetricDatum
	for i := range 501 {
		data = append(data, types.MetricDatum{MetricName: aws.String(fmt.Sprintf("M%03d", i)), Dimensions: []types.Dimension{dim("Host", "a")}, Value: aws.Float64(1)})
	}
	if _, err := cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("Many"), MetricData: data}); err != nil {
		t.Fatalf("PutMetricData: %v", err)
	}
	out, err := cw.ListMetrics(ctx, &cloudwatch.ListMetricsInput{Namespace: aws.String("Many")})
	if err != nil || len(out.Metrics) != 500 || out.NextToken == nil || strings.IndexFunc(*out.NextToken, func(r rune) bool { return r < 0x20 }) >= 0 {
		t.Fatalf("ListMetrics first page = %d metrics, token %q, %v; want 500 and a printable token", len(out.Metrics), aws.ToString(out.NextToken), err)
	}
	got := e.Run(t, testenv.V2, "cloudwatch", "list-metrics", "--namespace", "Many", "--query", "Metrics[].MetricName", "--output", "text")
	if n := len(strings.Fields(got)); n != 501 {
		t.Errorf("aws cloudwatch list-metrics over two pages = %d metrics; want 501", n)
	}
}

func TestListMetrics(t *testing.T) {
	_, cw, _ := setup(t)
	ctx := context.Background()
	_, err := cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("App"), MetricData: []types.MetricDatum{
		{MetricName: aws.String("Errors"), Dimensions: []types.Dimension{dim("Host", "a")}, Value: aws.Float64(1)},
		{MetricName: aws.String("Errors"), Dimensions: []types.Dimension{dim("Host", "b"), dim("Az", "x")}, Value: aws.Float64(1)},
		{MetricName: aws.String("Hits"), Value: aws.Float64(1)},
	}})
	if err != nil {
		t.Fatalf("PutMetricData: %v", err)
	}
	for _, tc := range []struct {
		in   cloudwatch.ListMetricsInput
		want int
	}{
		{cloudwatch.ListMetricsInput{}, 3},
		{cloudwatch.ListMetricsInput{Namespace: aws.String("App"), MetricName: aws.String("Errors")}, 2},
		{cloudwatch.ListMetricsInput{Dimensions: []types.DimensionFilter{{Name: aws.String("Host"), Value: aws.String("b")}}}, 1},
		{cloudwatch.ListMetricsInput{Dimensions: []types.DimensionFilter{{Name: aws.String("Host")}}}, 2},
		{cloudwatch.ListMetricsInput{Namespace: aws.String("Other")}, 0},
		{cloudwatch.ListMetricsInput{RecentlyActive: types.RecentlyActivePt3h}, 3},
	} {
		out, err := cw.ListMetrics(ctx, &tc.in)
		if err != nil {
			t.Fatalf("ListMetrics(%+v): %v", tc.in, err)
		}
		if len(out.Metrics) != tc.want {
			t.Errorf("ListMetrics(%+v) = %d metrics; want %d", tc.in, len(out.Metrics), tc.want)
		}
	}
}

func TestGetMetricData(t *testing.T) {
	_, cw, _ := setup(t)
	ctx := context.Background()
	var data []types.MetricDatum
	for i := range 5 {
		data = append(data, types.MetricDatum{MetricName: aws.String("A"), Timestamp: aws.Time(t0.Add(time.Duration(i) * time.Minute)), Value: aws.Float64(float64(i + 1))})
		if i != 2 {
			data = append(data, types.MetricDatum{MetricName: aws.String("B"), Timestamp: aws.Time(t0.Add(time.Duration(i) * time.Minute)), Value: aws.Float64(10)})
		}
	}
	if _, err := cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("App"), MetricData: data}); err != nil {
		t.Fatalf("PutMetricData: %v", err)
	}
	stat := func(id, name string) types.MetricDataQuery {
		return types.MetricDataQuery{Id: aws.String(id), ReturnData: aws.Bool(false), MetricStat: &types.MetricStat{Metric: &types.Metric{Namespace: aws.String("App"), MetricName: aws.String(name)},
			Period: aws.Int32(60), Stat: aws.String("Sum")}}
	}
	expr := func(id, e string) types.MetricDataQuery {
		return types.MetricDataQuery{Id: aws.String(id), Expression: aws.String(e)}
	}
	out, err := cw.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{StartTime: aws.Time(t0), EndTime: aws.Time(t0.Add(5 * time.Minute)), ScanBy: types.ScanByTimestampAscending,
		MetricDataQueries: []types.MetricDataQuery{stat("a", "A"), stat("b", "B"), expr("s", "a+b"), expr("t", "SUM(METRICS())"), expr("f", "FILL(b, 0)"), expr("avg", "AVG(a)")}})
	if err != nil {
		t.Fatalf("GetMetricData: %v", err)
	}
	got := map[string][]float64{}
	for _, r := range out.MetricDataResults {
		got[*r.Id] = r.Values
		if r.StatusCode != types.StatusCodeComplete {
			t.Errorf("result %s StatusCode = %s; want Complete", *r.Id, r.StatusCode)
		}
	}
	want := map[string][]float64{"s": {11, 12, 14, 15}, "t": {11, 12, 3, 14, 15}, "f": {10, 10, 0, 10, 10}, "avg": {3, 3, 3, 3, 3}}
	for id, w := range want {
		if fmtF(got[id]) != fmtF(w) {
			t.Errorf("result %s = %v; want %v", id, got[id], w)
		}
	}
	if _, ok := got["a"]; ok {
		t.Errorf("result a returned although ReturnData is false")
	}
	// Paging: two datapoints at a time.
	var all []float64
	var token *string
	for range 10 {
		page, err := cw.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{StartTime: aws.Time(t0), EndTime: aws.Time(t0.Add(5 * time.Minute)), MaxDatapoints: aws.Int32(2), NextToken: token,
			MetricDataQueries: []types.MetricDataQuery{expr("s", "a*2"), stat("a", "A")}})
		if err != nil {
			t.Fatalf("GetMetricData page: %v", err)
		}
		for _, r := range page.MetricDataResults {
			all = append(all, r.Values...)
		}
		if token = page.NextToken; token == nil {
			break
		}
	}
	if fmtF(all) != fmtF([]float64{10, 8, 6, 4, 2}) {
		t.Errorf("paged values = %v; want [10 8 6 4 2] (descending)", all)
	}
	_, err = cw.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{StartTime: aws.Time(t0), EndTime: aws.Time(t0.Add(5 * time.Minute)),
		MetricDataQueries: []types.MetricDataQuery{expr("s", "a +")}})
	testenv.WantCode(t, "bad expression", err, "InvalidParameterValue")
}

func fmtF(v []float64) string { return fmt.Sprint(v) }

func TestLogMetricFilterDatapoints(t *testing.T) {
	e, cw, _ := setup(t)
	ctx := context.Background()
	logs := cloudwatchlogs.NewFromConfig(e.Config)
	if _, err := logs.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("trail")}); err != nil {
		t.Fatal(err)
	}
	if _, err := logs.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String("trail"), LogStreamName: aws.String("s")}); err != nil {
		t.Fatal(err)
	}
	_, err := logs.PutMetricFilter(ctx, &cloudwatchlogs.PutMetricFilterInput{LogGroupName: aws.String("trail"), FilterName: aws.String("root"),
		FilterPattern: aws.String(`{ $.userIdentity.type = "Root" }`), MetricTransformations: []logtypes.MetricTransformation{{MetricName: aws.String("RootUsage"),
			MetricNamespace: aws.String("CIS"), MetricValue: aws.String("1"), DefaultValue: aws.Float64(0)}}})
	if err != nil {
		t.Fatalf("PutMetricFilter: %v", err)
	}
	ts := t0.Add(20 * time.Minute)
	_, err = logs.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String("trail"), LogStreamName: aws.String("s"), LogEvents: []logtypes.InputLogEvent{
		{Timestamp: aws.Int64(ts.UnixMilli()), Message: aws.String(`{"userIdentity":{"type":"Root"}}`)},
		{Timestamp: aws.Int64(ts.UnixMilli()), Message: aws.String(`{"userIdentity":{"type":"IAMUser"}}`)},
		{Timestamp: aws.Int64(ts.Add(time.Second).UnixMilli()), Message: aws.String(`{"userIdentity":{"type":"Root"}}`)},
	}})
	if err != nil {
		t.Fatalf("PutLogEvents: %v", err)
	}
	var dp []types.Datapoint
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		out, err := cw.GetMetricStatistics(ctx, &cloudwatch.GetMetricStatisticsInput{Namespace: aws.String("CIS"), MetricName: aws.String("RootUsage"),
			StartTime: aws.Time(t0), EndTime: aws.Time(t0.Add(30 * time.Minute)), Period: aws.Int32(300), Statistics: []types.Statistic{types.StatisticSum, types.StatisticSampleCount}})
		if err != nil {
			t.Fatalf("GetMetricStatistics: %v", err)
		}
		if dp = out.Datapoints; len(dp) > 0 {
			break
		}
	}
	if len(dp) != 1 || *dp[0].Sum != 2 || *dp[0].SampleCount != 3 || !dp[0].Timestamp.Equal(t0.Add(20*time.Minute)) {
		t.Fatalf("metric filter datapoints = %+v; want one period at %v with Sum 2 of 3 samples", dp, t0.Add(20*time.Minute))
	}
}
