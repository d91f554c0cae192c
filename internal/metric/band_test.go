package metric

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/bannin/bannin/internal/store"
	"github.com/bannin/bannin/internal/store/sqlite"
)

// TestBandModel checks the anomaly model on four days of hourly history: 100 at 03:00 UTC
// and 10 at every other hour, so that the band follows the hour of day once the history
// spans three days, and leaves out excluded ranges.
func TestBandModel(t *testing.T) {
	st, err := sqlite.Open(t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	day0 := time.Date(2026, 11, 19, 0, 0, 0, 0, time.UTC)
	s := New(Options{Clock: func() time.Time { return day0.Add(5 * 24 * time.Hour) }, Store: st})
	m := MetricID{Namespace: "App", MetricName: "Jobs"}
	var data []Datum
	for h := 0; h < 4*24; h++ {
		v := 10.0
		if h%24 == 3 {
			v = 100
		}
		data = append(data, Datum{MetricID: m, Timestamp: day0.Add(time.Duration(h) * time.Hour), Value: &v})
	}
	ctx := context.Background()
	if err := st.Update(ctx, func(tx store.Tx) error { return s.PutData(ctx, tx, "123456789012", "us-east-1", data) }); err != nil {
		t.Fatal(err)
	}
	band := func(at time.Time) (float64, float64) {
		t.Helper()
		var lo, hi []float64
		if err := st.View(ctx, func(tx store.ReadTx) error {
			var err error
			lo, hi, err = s.Band(ctx, tx, "123456789012", "us-east-1", m, "Sum", "", 2, at, time.Hour, 1)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return lo[0], hi[0]
	}
	day4 := day0.Add(4 * 24 * time.Hour)
	if lo, hi := band(day4.Add(3 * time.Hour)); lo != 100 || hi != 100 {
		t.Errorf("band at 03:00 after 4 days = %v..%v; want 100..100 (the same hour on earlier days)", lo, hi)
	}
	if lo, hi := band(day4.Add(4 * time.Hour)); lo != 10 || hi != 10 {
		t.Errorf("band at 04:00 after 4 days = %v..%v; want 10..10", lo, hi)
	}
	// On the second day the history spans too few days for the hour of day: all values
	// count (12 values: 11 of 10 and one of 100 at 03:00 on day 0).
	lo, hi := band(day0.Add(12 * time.Hour))
	mean := (11*10 + 100) / 12.0
	sd := math.Sqrt((11*100+10000)/12.0 - mean*mean)
	if math.Abs(lo-(mean-2*sd)) > 1e-9 || math.Abs(hi-(mean+2*sd)) > 1e-9 {
		t.Errorf("band at 12:00 on day 0 = %v..%v; want %v..%v", lo, hi, mean-2*sd, mean+2*sd)
	}
	// Before 10 values there is no band.
	if lo, hi := band(day0.Add(9 * time.Hour)); !math.IsNaN(lo) || !math.IsNaN(hi) {
		t.Errorf("band after 9 values = %v..%v; want none", lo, hi)
	}
	// Excluding two of the four earlier 03:00 values leaves two, fewer than 3: the band at
	// 03:00 after 4 days comes from every value of the window instead.
	if err := st.Update(ctx, func(tx store.Tx) error {
		return putDetector(ctx, tx, "123456789012", "us-east-1", &Detector{MetricID: m, Stat: "Sum",
			Excluded: []TimeRange{{Start: day0, End: day0.Add(4 * time.Hour)}, {Start: day0.Add(27 * time.Hour), End: day0.Add(28 * time.Hour)}}})
	}); err != nil {
		t.Fatal(err)
	}
	if lo, hi := band(day4.Add(3 * time.Hour)); lo == 100 || hi == 100 || lo >= hi {
		t.Errorf("band at 03:00 with two of four same-hour values excluded = %v..%v; want the whole window's band", lo, hi)
	}
}
