package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bannin/bannin/internal/store"
)

// benchGen makes CloudTrail-like events with skewed attribute distributions: a few event
// names, users and keys are very common, most are rare, as in real trails.
type benchGen struct {
	rng  *rand.Rand
	zipf map[int]*rand.Zipf
	span time.Duration
	base time.Time
}

var benchBase = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

const (
	benchAccounts  = 4
	benchRegions   = 4
	benchNames     = 300
	benchSources   = 40
	benchUsers     = 100
	benchKeys      = 200
	benchRTypes    = 50
	benchRNames    = 20000
	benchSpan      = 90 * 24 * time.Hour
	benchLookupMil = 1_000_000
)

func newBenchGen(seed uint64) *benchGen {
	g := &benchGen{rng: rand.New(rand.NewPCG(seed, 99)), zipf: map[int]*rand.Zipf{}, span: benchSpan, base: benchBase}
	for _, n := range []int{benchNames, benchSources, benchUsers, benchKeys, benchRTypes, benchRNames} {
		g.zipf[n] = rand.NewZipf(g.rng, 1.2, 1, uint64(n-1))
	}
	return g
}

func (g *benchGen) pick(n int) int { return int(g.zipf[n].Uint64()) }

func benchAccount(i int) string { return fmt.Sprintf("%012d", 100000000000+i) }

var benchRegionNames = []string{"us-east-1", "us-west-2", "eu-west-1", "ap-northeast-1"}

func (g *benchGen) event(at time.Time) *store.Event {
	id := fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", g.rng.Uint32(), g.rng.Uint32()&0xffff, g.rng.Uint32()&0xfff, g.rng.Uint32()&0xfff, g.rng.Uint64()&0xffffffffffff)
	e := &store.Event{
		EventID:     id,
		Time:        at,
		Account:     benchAccount(g.rng.IntN(benchAccounts)),
		Region:      benchRegionNames[g.rng.IntN(benchRegions)],
		EventName:   fmt.Sprintf("Action%03d", g.pick(benchNames)),
		EventSource: fmt.Sprintf("service%02d.amazonaws.com", g.pick(benchSources)),
		Username:    fmt.Sprintf("user%03d", g.pick(benchUsers)),
		AccessKeyID: fmt.Sprintf("AKIA%016d", g.pick(benchKeys)),
		ReadOnly:    g.rng.IntN(10) < 7,
		Category:    store.CategoryManagement,
	}
	if g.rng.IntN(100) == 0 {
		e.Category = store.CategoryInsight
	}
	for range g.rng.IntN(3) {
		e.Resources = append(e.Resources, store.EventResource{
			Type: fmt.Sprintf("AWS::Service%02d::Thing", g.pick(benchRTypes)),
			Name: fmt.Sprintf("arn:aws:svc:us-east-1:%s:thing/name-%05d", e.Account, g.pick(benchRNames)),
		})
	}
	// A record of realistic size (~900 bytes).
	e.Record = json.RawMessage(fmt.Sprintf(`{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","principalId":"AIDA%016d","arn":"arn:aws:iam::%s:user/%s","accountId":"%s","accessKeyId":"%s","userName":"%s"},"eventTime":"%s","eventSource":"%s","eventName":"%s","awsRegion":"%s","sourceIPAddress":"203.0.113.%d","userAgent":"aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64 prompt/off command/svc.op","requestParameters":{"name":"thing-%d","includeShadowTrails":true,"filter":{"values":["a","b","c"]}},"responseElements":null,"requestID":"%s","eventID":"%s","readOnly":%t,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"%s","eventCategory":"%s","tlsDetails":{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"svc.us-east-1.amazonaws.com"}}`,
		g.rng.IntN(1e9), e.Account, e.Username, e.Account, e.AccessKeyID, e.Username, at.Format(time.RFC3339), e.EventSource, e.EventName, e.Region,
		g.rng.IntN(255), g.rng.IntN(1e6), id, id, e.ReadOnly, e.Account, e.Category))
	return e
}

// cpuTime is the CPU time (user + system) the process has used: with other work on the
// machine, CPU per operation says more about cost than wall-clock throughput does.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func percentiles(ds []time.Duration) (p50, p99 time.Duration) {
	slices.Sort(ds)
	at := func(p float64) time.Duration { return ds[int(math.Ceil(p*float64(len(ds))))-1] }
	return at(0.50), at(0.99)
}

// BenchmarkUpdateConcurrent measures recorded write calls: 50 callers each doing one resource
// put and one event append per Update, group-committed.
func BenchmarkUpdateConcurrent(b *testing.B) {
	s, err := Open(b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	const callers = 50
	b.SetParallelism((callers + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
	var mu sync.Mutex
	var lat []time.Duration
	var seed uint64
	before := s.Stats()
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	b.RunParallel(func(pb *testing.PB) {
		mu.Lock()
		seed++
		g := newBenchGen(seed)
		mu.Unlock()
		local := make([]time.Duration, 0, 1024)
		i := 0
		for pb.Next() {
			i++
			e := g.event(time.Now())
			r := &store.Resource{Account: e.Account, Region: e.Region, Type: "AWS::S3::Bucket",
				ID: fmt.Sprintf("bucket-%d-%d", g.rng.IntN(1000), i%50), Config: json.RawMessage(`{"versioning":"Enabled","encryption":{"sse":"AES256"}}`)}
			t0 := time.Now()
			err := s.Update(ctx, func(tx store.Tx) error {
				if err := tx.PutResource(ctx, r); err != nil {
					return err
				}
				return tx.AppendEvent(ctx, e)
			})
			local = append(local, time.Since(t0))
			if err != nil {
				b.Error(err)
				return
			}
		}
		mu.Lock()
		lat = append(lat, local...)
		mu.Unlock()
	})
	elapsed, cpu := time.Since(start), cpuTime()-cpu0
	b.StopTimer()
	if len(lat) == 0 {
		return
	}
	b.ReportMetric(float64(cpu.Microseconds())/float64(len(lat)), "cpu-us/update")
	p50, p99 := percentiles(lat)
	st := s.Stats()
	b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "updates/s")
	b.ReportMetric(float64(p50.Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(st.Updates-before.Updates)/float64(max(1, st.Batches-before.Batches)), "updates/batch")
}

// BenchmarkUpdateRate offers a fixed rate of recorded write calls (2,000 and 5,000 a second)
// from 50 callers, each calling at rate/50 per second, staggered: the same call as
// BenchmarkUpdateConcurrent. It reports the latency from each call's scheduled start, so a call
// delayed by a slow predecessor counts its wait. Run it with -benchtime=Nx; N calls take N/rate
// seconds.
func BenchmarkUpdateRate(b *testing.B) {
	for _, rate := range []int{2000, 5000} {
		b.Run(fmt.Sprintf("rate=%d", rate), func(b *testing.B) { benchUpdateRate(b, rate) })
	}
}

func benchUpdateRate(b *testing.B, rate int) {
	s, err := Open(b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	const callers = 50
	every := time.Second * callers / time.Duration(rate)
	lat := make([][]time.Duration, callers)
	var wg sync.WaitGroup
	before := s.Stats()
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	for c := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			g := newBenchGen(uint64(100 + c))
			n := b.N / callers
			if c < b.N%callers {
				n++
			}
			for i := range n {
				due := start.Add(time.Duration(i)*every + time.Duration(c)*every/callers)
				e := g.event(due)
				r := &store.Resource{Account: e.Account, Region: e.Region, Type: "AWS::S3::Bucket",
					ID: fmt.Sprintf("bucket-%d-%d", c, i%50), Config: json.RawMessage(`{"versioning":"Enabled","encryption":{"sse":"AES256"}}`)}
				time.Sleep(time.Until(due))
				err := s.Update(ctx, func(tx store.Tx) error {
					if err := tx.PutResource(ctx, r); err != nil {
						return err
					}
					return tx.AppendEvent(ctx, e)
				})
				lat[c] = append(lat[c], time.Since(due))
				if err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed, cpu := time.Since(start), cpuTime()-cpu0
	b.StopTimer()
	b.ReportMetric(float64(cpu.Microseconds())/float64(max(1, b.N)), "cpu-us/update")
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	if len(all) == 0 {
		return
	}
	p50, p99 := percentiles(all)
	st := s.Stats()
	b.ReportMetric(float64(len(all))/elapsed.Seconds(), "updates/s")
	b.ReportMetric(float64(p50.Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(st.Updates-before.Updates)/float64(max(1, st.Batches-before.Batches)), "updates/batch")
}

// benchLookupStore opens the 1M-event store, building it once and caching it under
// os.TempDir() keyed by the schema version.
func benchLookupStore(b *testing.B) *Store {
	dir := filepath.Join(os.TempDir(), "bannin-bench-lookup-"+SchemaVersion())
	done := filepath.Join(dir, "complete")
	if _, err := os.Stat(done); err != nil {
		os.RemoveAll(dir)
		s, err := Open(dir, Options{})
		if err != nil {
			b.Fatal(err)
		}
		g := newBenchGen(1)
		ctx := context.Background()
		start := time.Now()
		const batch = 10000
		for n := 0; n < benchLookupMil; n += batch {
			es := make([]*store.Event, batch)
			for i := range es {
				es[i] = g.event(benchBase.Add(time.Duration(g.rng.Int64N(int64(benchSpan)))))
			}
			if err := s.Update(ctx, func(tx store.Tx) error { _, err := tx.AppendEvents(ctx, es); return err }); err != nil {
				b.Fatal(err)
			}
		}
		b.Logf("built %d events in %v", benchLookupMil, time.Since(start))
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(done, nil, 0o600); err != nil {
			b.Fatal(err)
		}
	}
	s, err := Open(dir, Options{})
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkLookupEvents1M runs single-attribute lookups with a time range on 1,000,000 events:
// a random attribute key and value, a window of one hour to 30 days, 50 events per page, and
// every fourth query fetching the next page too.
func BenchmarkLookupEvents1M(b *testing.B) {
	s := benchLookupStore(b)
	defer s.Close()
	ctx := context.Background()
	g := newBenchGen(2)
	keys := []string{store.AttrEventID, store.AttrEventName, store.AttrReadOnly, store.AttrUsername, store.AttrResourceType,
		store.AttrResourceName, store.AttrEventSource, store.AttrAccessKeyID, ""}
	// Real event ids to look up.
	var ids []string
	s.View(ctx, func(tx store.ReadTx) error {
		es, _, err := tx.LookupEvents(ctx, store.EventQuery{Account: benchAccount(0), Region: benchRegionNames[0], Limit: 1000})
		for _, e := range es {
			ids = append(ids, e.EventID)
		}
		return err
	})
	if len(ids) == 0 {
		b.Fatal("no events in the benchmark store")
	}
	query := func() store.EventQuery {
		key := keys[g.rng.IntN(len(keys))]
		q := store.EventQuery{Account: benchAccount(g.rng.IntN(benchAccounts)), Region: benchRegionNames[g.rng.IntN(benchRegions)],
			AttributeKey: key, Limit: 50}
		switch key {
		case store.AttrEventID:
			q.Account, q.Region, q.AttributeValue = benchAccount(0), benchRegionNames[0], ids[g.rng.IntN(len(ids))]
		case store.AttrEventName:
			q.AttributeValue = fmt.Sprintf("Action%03d", g.pick(benchNames))
		case store.AttrReadOnly:
			q.AttributeValue = []string{"true", "false"}[g.rng.IntN(2)]
		case store.AttrUsername:
			q.AttributeValue = fmt.Sprintf("user%03d", g.pick(benchUsers))
		case store.AttrResourceType:
			q.AttributeValue = fmt.Sprintf("AWS::Service%02d::Thing", g.pick(benchRTypes))
		case store.AttrResourceName:
			q.AttributeValue = fmt.Sprintf("arn:aws:svc:us-east-1:%s:thing/name-%05d", q.Account, g.pick(benchRNames))
		case store.AttrEventSource:
			q.AttributeValue = fmt.Sprintf("service%02d.amazonaws.com", g.pick(benchSources))
		case store.AttrAccessKeyID:
			q.AttributeValue = fmt.Sprintf("AKIA%016d", g.pick(benchKeys))
		}
		window := time.Hour + time.Duration(g.rng.Int64N(int64(30*24*time.Hour)))
		q.End = benchBase.Add(window + time.Duration(g.rng.Int64N(int64(benchSpan-window))))
		q.Start = q.End.Add(-window)
		return q
	}
	lat := make([]time.Duration, 0, b.N)
	returned := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		q := query()
		t0 := time.Now()
		err := s.View(ctx, func(tx store.ReadTx) error {
			es, next, err := tx.LookupEvents(ctx, q)
			returned += len(es)
			if err == nil && next != "" && i%4 == 0 {
				q.NextToken = next
				es, _, err = tx.LookupEvents(ctx, q)
				returned += len(es)
			}
			return err
		})
		lat = append(lat, time.Since(t0))
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	p50, p99 := percentiles(lat)
	b.ReportMetric(float64(p50.Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(returned)/float64(b.N), "events/op")
}

// BenchmarkAppendEventsBulk imports batches of 10,000 events, one transaction each.
func BenchmarkAppendEventsBulk(b *testing.B) {
	s, err := Open(b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	g := newBenchGen(3)
	const batch = 10000
	var elapsed, cpu time.Duration
	at := benchBase
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		es := make([]*store.Event, batch)
		for j := range es {
			// Log files are imported in time order: ~100 events a second across the accounts
			// and regions, with the jitter of files from several sources interleaving.
			at = at.Add(10 * time.Millisecond)
			es[j] = g.event(at.Add(-time.Duration(g.rng.Int64N(int64(5 * time.Minute)))))
		}
		b.StartTimer()
		t0, c0 := time.Now(), cpuTime()
		var n int
		if err := s.Update(ctx, func(tx store.Tx) error { var err error; n, err = tx.AppendEvents(ctx, es); return err }); err != nil {
			b.Fatal(err)
		}
		elapsed, cpu = elapsed+time.Since(t0), cpu+cpuTime()-c0
		if n != batch {
			b.Fatalf("AppendEvents = %d; want %d", n, batch)
		}
	}
	b.ReportMetric(float64(b.N*batch)/elapsed.Seconds(), "events/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N*batch), "cpu-us/event")
}
