package compliance

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/bannin/bannin/internal/store"
)

// BenchmarkReevaluate measures change-triggered evaluation in the steady state, as the end to
// end benchmark (bench/config/evaluate) drives it: the same 100 rules as BenchmarkEvaluate,
// 10,000 buckets evaluated once before the timer starts, then changes to those buckets
// (versioning flipped, so that about a fifth of the rules change compliance) handed to the
// consumer in transactions of 500. Notifications go to a stub that only counts them, so
// this is the evaluation engine and its writes. It reports evaluations per second.
func BenchmarkReevaluate(b *testing.B) {
	h := newHarness(b)
	notes := 0
	h.s.opts.Notify = func(ctx context.Context, tx store.Tx, account, region, messageType string, n any) error {
		notes++
		return nil
	}
	putBenchRules(b, h)
	const buckets, batch = 10000, 500
	// Version v of every bucket is captured v seconds after version 0 (a result ordered
	// before the stored one would be ignored), with versioning flipped each time.
	var versions [4][]store.Entry
	for v := range versions {
		versions[v] = make([]store.Entry, buckets)
		for i := range buckets {
			versions[v][i] = benchBucketEntry(int64(v*buckets+i+1), fmt.Sprintf("bucket-%05d", i),
				[]string{"Enabled", "Suspended"}[(i+v)%2], time.Now().Add(time.Duration(v)*time.Second))
		}
	}
	ctx := context.Background()
	handle := func(es []store.Entry) {
		if err := h.st.Update(ctx, func(tx store.Tx) error { return h.s.HandleEntries(ctx, tx, es) }); err != nil {
			b.Fatal(err)
		}
	}
	for off := 0; off < buckets; off += batch {
		handle(versions[0][off : off+batch])
	}
	notes = 0
	b.ResetTimer()
	start := time.Now()
	n, v := 0, 1
	for n < b.N {
		if v == len(versions) {
			b.Fatalf("b.N = %d: at most %d changes", b.N, (len(versions)-1)*buckets)
		}
		for off := 0; off < buckets && n < b.N; off += batch {
			end := min(off+batch, buckets, off+(b.N-n))
			handle(versions[v][off:end])
			n += end - off
		}
		v++
	}
	b.ReportMetric(float64(n*100)/time.Since(start).Seconds(), "evals/s")
	b.ReportMetric(float64(notes)/float64(n), "notes/change")
}
