// Command lookup measures LookupEvents end to end (aws-sdk-go-v2 over HTTP on loopback,
// SigV4-verified, through the gateway, the CloudTrail handler and the SQLite store) over an
// event history of a million realistic CloudTrail records spread over 90 days. The store is
// built once with internal/store/sqlite AppendEvents and cached in the temp dir; each run
// serves a copy of it, so runs do not change the cache.
//
//	go build -o /tmp/bannin ./cmd/bannin && go run ./bench/lookup -calls 2000
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"

	"github.com/bannin/bannin/bench/internal/harness"
	"github.com/bannin/bannin/bench/internal/records"
	"github.com/bannin/bannin/internal/audit"
	"github.com/bannin/bannin/internal/store"
	"github.com/bannin/bannin/internal/store/sqlite"
)

const account = "111122223333"

// end is the newest event time of the data set; events span the 90 days before it.
var end = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

const span = 90 * 24 * time.Hour

var attrs = []string{"EventName", "Username", "ResourceName", "ResourceType", "EventSource", "AccessKeyId", "ReadOnly", "EventId"}

var widths = []time.Duration{time.Hour, 24 * time.Hour, 7 * 24 * time.Hour, 30 * 24 * time.Hour, span}

func main() {
	mode := flag.String("mode", "subprocess", "subprocess or inprocess")
	bin := flag.String("bin", "/tmp/bannin", "bannin binary for -mode subprocess")
	events := flag.Int("events", 1_000_000, "events in the store")
	calls := flag.Int("calls", 2000, "LookupEvents calls per attribute key")
	perAttr := flag.Duration("max-time", 20*time.Second, "time limit per attribute key")
	conc := flag.Int("concurrency", 1, "concurrent callers")
	warmup := flag.Int("warmup", 300, "untimed lookups before measuring")
	cache := flag.String("cache", "", "cache directory (default <tmp>/bannin-bench-lookup-<events>)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the timed lookups to this file (use with -mode inprocess to see the server)")
	flag.Parse()
	fmt.Println("command:", harness.CommandLine())
	fmt.Println("machine:", harness.Machine())
	if *cache == "" {
		*cache = filepath.Join(os.TempDir(), fmt.Sprintf("bannin-bench-lookup-%d", *events))
	}
	if err := run(*mode, *bin, *cache, *events, *calls, *perAttr, *conc, *warmup, *cpuprofile); err != nil {
		fmt.Fprintln(os.Stderr, "lookup:", err)
		os.Exit(1)
	}
}

func run(mode, bin, cache string, events, calls int, perAttr time.Duration, conc, warmup int, cpuprofile string) error {
	sample, err := ensureStore(cache, events)
	if err != nil {
		return err
	}
	fi, _ := os.Stat(filepath.Join(cache, "data", sqlite.FileName))
	fmt.Printf("store: %d events over 90 days (to %s), %.0f MiB; %d sampled events choose the query values\n",
		events, end.Format(time.DateOnly), float64(fi.Size())/(1<<20), len(sample))

	dir, err := os.MkdirTemp("", "bannin-bench-lookup-run-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	t0 := time.Now()
	if err := copyFile(filepath.Join(cache, "data", sqlite.FileName), filepath.Join(dir, sqlite.FileName)); err != nil {
		return err
	}
	fmt.Printf("copied the store for this run in %s\n", time.Since(t0).Round(time.Millisecond))

	// Retention far beyond the data set's age: the server purges old events at start.
	var srv *harness.Server
	if mode == "inprocess" {
		srv, err = harness.StartInProcess(dir, account, 100*365*24*time.Hour)
	} else {
		srv, err = harness.StartProcess(bin, dir, account, "--event-retention", "876000h")
	}
	if err != nil {
		return err
	}
	defer srv.Stop()
	ct := cloudtrail.NewFromConfig(srv.Config(conc, 3))
	ctx := context.Background()
	// Warm up: connections, the server's statement caches and the page cache.
	warm := time.Now()
	for i := range warmup {
		h := sample[i%len(sample)]
		ct.LookupEvents(ctx, &cloudtrail.LookupEventsInput{StartTime: aws.Time(h.Time.Add(-24 * time.Hour)), EndTime: aws.Time(h.Time.Add(time.Hour)),
			LookupAttributes: []cttypes.LookupAttribute{{AttributeKey: cttypes.LookupAttributeKeyEventName, AttributeValue: aws.String(h.EventName)}}})
	}
	fmt.Printf("warm-up: %d untimed lookups in %s\n", warmup, time.Since(warm).Round(time.Millisecond))

	if cpuprofile != "" {
		f, err := os.Create(cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	rng := rand.New(rand.NewPCG(7, 7))
	fmt.Printf("\nLookupEvents, one attribute and a time range (width 1h, 1d, 7d, 30d or 90d, chosen at random around a sampled event), first page of up to 50, %d caller(s)\n\n", conc)
	fmt.Printf("%-13s %6s %8s %8s %8s %8s %9s %7s %7s\n", "attribute", "calls", "p50 ms", "p90 ms", "p99 ms", "max ms", "events/pg", "retried", "errors")
	byWidth := map[time.Duration][]time.Duration{}
	var all []time.Duration
	for _, key := range attrs {
		qs := make([]*cloudtrail.LookupEventsInput, 0, calls)
		wantIDs := make([]string, 0, calls)
		qw := make([]time.Duration, 0, calls)
		for len(qs) < calls {
			h := sample[rng.IntN(len(sample))]
			var v string
			switch key {
			case "EventName":
				v = h.EventName
			case "Username":
				v = h.Username
			case "ResourceName":
				v = h.ResourceName
			case "ResourceType":
				v = h.ResourceType
			case "EventSource":
				v = h.EventSource
			case "AccessKeyId":
				v = h.AccessKeyID
			case "ReadOnly":
				v = fmt.Sprint(h.ReadOnly)
			case "EventId":
				v = h.EventID
			}
			if v == "" {
				continue
			}
			w := widths[rng.IntN(len(widths))]
			from := h.Time.Add(-time.Duration(rng.Int64N(int64(w))))
			qs = append(qs, &cloudtrail.LookupEventsInput{StartTime: aws.Time(from), EndTime: aws.Time(from.Add(w)),
				LookupAttributes: []cttypes.LookupAttribute{{AttributeKey: cttypes.LookupAttributeKey(key), AttributeValue: aws.String(v)}}})
			wantIDs = append(wantIDs, h.EventID)
			qw = append(qw, w)
		}
		lats := make([]time.Duration, len(qs))
		got := make([]int, len(qs))
		errs := make([]error, len(qs))
		retried := make([]bool, len(qs))
		ran := make([]bool, len(qs))
		deadline := time.Now().Add(perAttr)
		var next int
		var mu sync.Mutex
		var wg sync.WaitGroup
		for range conc {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					mu.Lock()
					i := next
					next++
					mu.Unlock()
					if i >= len(qs) || time.Now().After(deadline) {
						return
					}
					ran[i] = true
					t := time.Now()
					out, err := ct.LookupEvents(ctx, qs[i])
					lats[i] = time.Since(t)
					if err != nil {
						errs[i] = err
						continue
					}
					got[i] = len(out.Events)
					if ar, ok := retry.GetAttemptResults(out.ResultMetadata); ok && len(ar.Results) > 1 {
						retried[i] = true
					}
					if key == "EventId" && (len(out.Events) != 1 || aws.ToString(out.Events[0].EventId) != wantIDs[i]) {
						errs[i] = fmt.Errorf("EventId %s: got %d events", wantIDs[i], len(out.Events))
					}
				}
			}()
		}
		wg.Wait()
		var ls []time.Duration
		done, nerr, nev, nretry := 0, 0, 0, 0
		var firstErr error
		for i := range qs {
			if !ran[i] {
				continue
			}
			done++
			if errs[i] != nil {
				nerr++
				if firstErr == nil {
					firstErr = errs[i]
				}
				continue
			}
			if got[i] == 0 {
				// Every query's range holds its sampled event, so an empty page is wrong.
				nerr++
				if firstErr == nil {
					firstErr = errors.New("empty page for a range that holds the sampled event")
				}
			}
			nev += got[i]
			if retried[i] {
				nretry++
			}
			ls = append(ls, lats[i])
			byWidth[qw[i]] = append(byWidth[qw[i]], lats[i])
		}
		all = append(all, ls...)
		p50, p90, p99, mx := harness.Percentiles(ls)
		fmt.Printf("%-13s %6d %8s %8s %8s %8s %9.1f %7d %7d\n", key, done, harness.Ms(p50), harness.Ms(p90), harness.Ms(p99), harness.Ms(mx), float64(nev)/float64(max(len(ls), 1)), nretry, nerr)
		if firstErr != nil {
			fmt.Printf("              first error: %v\n", firstErr)
		}
	}
	p50, p90, p99, mx := harness.Percentiles(all)
	fmt.Printf("%-13s %6d %8s %8s %8s %8s\n", "all", len(all), harness.Ms(p50), harness.Ms(p90), harness.Ms(p99), harness.Ms(mx))
	fmt.Println("(retried: calls the SDK retried, without backoff, after its known client-side \"use of closed network connection\"\n race, aws/aws-sdk-go-v2#2737; their latency includes the retry)")
	fmt.Printf("\nby time-range width (all attributes):\n%-13s %6s %8s %8s %8s %8s\n", "width", "calls", "p50 ms", "p90 ms", "p99 ms", "max ms")
	for _, w := range widths {
		p50, p90, p99, mx := harness.Percentiles(byWidth[w])
		fmt.Printf("%-13s %6d %8s %8s %8s %8s\n", w, len(byWidth[w]), harness.Ms(p50), harness.Ms(p90), harness.Ms(p99), harness.Ms(mx))
	}
	return nil
}

// head is a sampled event with the values a lookup can name.
type head struct {
	records.Head
	ResourceType string `json:"resourceType,omitempty"`
}

// ensureStore builds the cached store (unless complete) and returns the sampled events.
func ensureStore(cache string, events int) ([]head, error) {
	samplePath := filepath.Join(cache, "sample.json")
	// The cache is rebuilt when the store's schema changes, so that it measures today's index.
	stamp := fmt.Sprintf("%d %s", events, sqlite.SchemaVersion())
	if b, err := os.ReadFile(filepath.Join(cache, "complete")); err == nil && strings.TrimSpace(string(b)) == stamp {
		var s []head
		b, err := os.ReadFile(samplePath)
		if err != nil {
			return nil, err
		}
		return s, json.Unmarshal(b, &s)
	}
	os.RemoveAll(cache)
	t0 := time.Now()
	st, err := sqlite.Open(filepath.Join(cache, "data"), sqlite.Options{})
	if err != nil {
		return nil, err
	}
	g := records.New(records.Options{Accounts: []string{account}, Regions: []string{"us-east-1", "eu-west-1"}, Weights: []int{9, 1}, Seed: 1})
	start := end.Add(-span)
	step := span / time.Duration(events)
	every := max(events/2000, 1)
	var sample []head
	const batch = 5000
	// Generate and parse in one goroutine, store in another.
	ch := make(chan []*store.Event, 2)
	errc := make(chan error, 1)
	go func() {
		defer close(ch)
		es := make([]*store.Event, 0, batch)
		for i := range events {
			rec, h := g.Next(start.Add(time.Duration(i) * step))
			e, err := audit.ParseRecord(rec)
			if err != nil {
				errc <- err
				return
			}
			if i%every == every/2 && h.Region == "us-east-1" {
				s := head{Head: h}
				if len(e.Resources) > 0 {
					s.ResourceType = e.Resources[0].Type
				}
				sample = append(sample, s)
			}
			es = append(es, e)
			if len(es) == batch {
				ch <- es
				es = make([]*store.Event, 0, batch)
			}
		}
		ch <- es
		errc <- nil
	}()
	n := 0
	for es := range ch {
		err := st.Update(context.Background(), func(tx store.Tx) error {
			k, err := tx.AppendEvents(context.Background(), es)
			n += k
			return err
		})
		if err != nil {
			st.Close()
			return nil, err
		}
		if n%100000 < batch {
			fmt.Printf("  built %d events (%.0f/s)\n", n, float64(n)/time.Since(t0).Seconds())
		}
	}
	if err := <-errc; err != nil {
		st.Close()
		return nil, err
	}
	if err := st.Close(); err != nil {
		return nil, err
	}
	if n != events {
		return nil, fmt.Errorf("built %d events; want %d", n, events)
	}
	fmt.Printf("built the store: %d events in %s (%.0f events/s through AppendEvents in batches of %d)\n", n, time.Since(t0).Round(time.Millisecond), float64(n)/time.Since(t0).Seconds(), batch)
	b, err := json.Marshal(sample)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(samplePath, b, 0o644); err != nil {
		return nil, err
	}
	return sample, os.WriteFile(filepath.Join(cache, "complete"), []byte(stamp), 0o644)
}

func copyFile(from, to string) error {
	if _, err := os.Stat(from + "-wal"); err == nil {
		return fmt.Errorf("%s-wal exists: the cached store was not closed cleanly; delete %s", from, filepath.Dir(filepath.Dir(from)))
	}
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	// Flushed now, so that writing back 2 GB of dirty pages does not compete with the
	// measured calls' own commits.
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
