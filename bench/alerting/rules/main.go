// Command rules measures EventBridge event pattern matching (internal/bus/pattern's
// Matcher, as the event bus uses it) on one core with rule sets shaped like real use:
// CloudTrail events wrapped as EventBridge delivers them ("AWS API Call via CloudTrail",
// detail = the record), and rules on source, detail-type, eventSource, eventName and
// requestParameters / userIdentity / errorCode values taken from other records of the same
// generator, for 10, 100, 1,000 and 10,000 rules.
//
//	go run ./bench/alerting/rules
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/bannin/bannin/bench/internal/harness"
	"github.com/bannin/bannin/bench/internal/records"
	"github.com/bannin/bannin/internal/bus/pattern"
)

func main() {
	cpus := flag.Int("cpu", 1, "GOMAXPROCS while matching")
	counts := flag.String("rules", "10,100,1000,10000", "rule counts, comma-separated")
	sets := flag.String("sets", "selective,broad", "rule sets to run: selective (matches per event about constant), broad (every rule from a record)")
	nevents := flag.Int("events", 10000, "distinct events matched in turn")
	dur := flag.Duration("duration", 3*time.Second, "matching time per rule count")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the matching of the first rule set")
	interleave := flag.Bool("interleave", false, "match with all rule counts in turn, 2,000 events at a time, so they share the machine's load (ratios between counts hold on a busy machine)")
	appendIDs := flag.Bool("append", false, "match with MatchAppend into one reused slice instead of Match (a new slice per matching event)")
	flag.Parse()
	runtime.GOMAXPROCS(*cpus)
	fmt.Println("command:", harness.CommandLine())
	fmt.Println("machine:", harness.Machine())
	if err := run(*counts, *sets, *nevents, *dur, *cpuProfile, *appendIDs, *interleave); err != nil {
		fmt.Fprintln(os.Stderr, "rules:", err)
		os.Exit(1)
	}
}

// detailTypes are the EventBridge detail-types by CloudTrail eventType (as internal/bus).
var detailTypes = map[string]string{
	"AwsApiCall":       "AWS API Call via CloudTrail",
	"AwsConsoleSignIn": "AWS Console Sign In via CloudTrail",
	"AwsServiceEvent":  "AWS Service Event via CloudTrail",
}

// wrap makes the EventBridge event of a CloudTrail record, as the default bus receives it.
func wrap(rec []byte, id int) ([]byte, map[string]any, error) {
	var r map[string]any
	if err := json.Unmarshal(rec, &r); err != nil {
		return nil, nil, err
	}
	src, _ := r["eventSource"].(string)
	svc, _, _ := strings.Cut(src, ".")
	dt := detailTypes[fmt.Sprint(r["eventType"])]
	if dt == "" {
		dt = detailTypes["AwsApiCall"]
	}
	ev := map[string]any{"version": "0", "id": fmt.Sprintf("%08x-0000-4000-8000-000000000000", id), "detail-type": dt,
		"source": "aws." + svc, "account": r["recipientAccountId"], "time": r["eventTime"], "region": r["awsRegion"],
		"resources": []any{}, "detail": json.RawMessage(rec)}
	b, err := json.Marshal(ev)
	return b, r, err
}

// ruleFrom makes a rule like the ones people write on CloudTrail events, from a record's
// real values: its service and operation (with one or two other operations of the same
// service), and often one more condition on a value of the record.
//
// In a selective set (selective true) most rules watch what this traffic does not touch,
// as most of a large organisation's rules do for any one slice of its events: 99 in 100
// value conditions name another resource or principal (the record's value with a suffix),
// and rules without a value condition name operations of the service that are not in the
// data, so matches per event stay about constant as rules are added. In a broad set every
// rule comes straight from a record, so matches per event grow with the rules.
func ruleFrom(r map[string]any, ops map[string][]string, rng *rand.Rand, i int, selective bool) string {
	src, _ := r["eventSource"].(string)
	svc, _, _ := strings.Cut(src, ".")
	names := []string{fmt.Sprint(r["eventName"])}
	for range rng.IntN(3) {
		names = append(names, ops[src][rng.IntN(len(ops[src]))])
	}
	other := func(v any) any {
		if selective && rng.IntN(100) != 0 {
			return fmt.Sprintf("%v-other-%d", v, i)
		}
		return v
	}
	detail := map[string]any{"eventSource": []any{src}, "eventName": names}
	params, _ := r["requestParameters"].(map[string]any)
	var keys []string
	for k, v := range params {
		if _, ok := v.(string); ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	ui, _ := r["userIdentity"].(map[string]any)
	valued := true
	switch c := rng.IntN(10); {
	case c < 5 && len(keys) > 0: // a particular resource: bucket, role, instance type, ...
		k := keys[rng.IntN(len(keys))]
		detail["requestParameters"] = map[string]any{k: []any{other(params[k])}}
	case c < 7 && ui != nil && ui["arn"] != nil: // a particular principal
		detail["userIdentity"] = map[string]any{"arn": []any{other(ui["arn"])}}
	case c == 7: // failures only
		detail["errorCode"] = []any{map[string]any{"exists": true}}
		valued = false
	case c == 8: // not by AWS services
		detail["userIdentity"] = map[string]any{"type": []any{map[string]any{"anything-but": "AWSService"}}}
		valued = false
	default: // the operations alone
		valued = false
	}
	if !valued && selective && rng.IntN(100) != 0 {
		for j := range names {
			names[j] = fmt.Sprintf("%sV%d", names[j], 2+rng.IntN(400))
		}
	}
	b, _ := json.Marshal(map[string]any{"source": []any{"aws." + svc}, "detail-type": []any{"AWS API Call via CloudTrail"}, "detail": detail})
	return string(b)
}

func run(counts, sets string, nevents int, dur time.Duration, cpuProfile string, appendIDs, interleave bool) error {
	var ns []int
	for _, f := range strings.Split(counts, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return fmt.Errorf("-rules: %w", err)
		}
		ns = append(ns, n)
	}
	// Events: records of one generator; rules: values from another generator's records.
	t0 := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	evGen := records.New(records.Options{Regions: []string{"us-east-1", "eu-west-1"}, Weights: []int{9, 1}, Seed: 11})
	events := make([][]byte, nevents)
	bytes := 0
	for i := range events {
		rec, _ := evGen.Next(t0.Add(time.Duration(i) * time.Second))
		ev, _, err := wrap(rec, i)
		if err != nil {
			return err
		}
		events[i] = ev
		bytes += len(ev)
	}
	ruleGen := records.New(records.Options{Regions: []string{"us-east-1", "eu-west-1"}, Weights: []int{9, 1}, Seed: 12})
	var pool []map[string]any
	ops := map[string][]string{}
	seen := map[string]bool{}
	for i := range 20000 {
		rec, _ := ruleGen.Next(t0.Add(time.Duration(i) * time.Second))
		_, r, err := wrap(rec, i)
		if err != nil {
			return err
		}
		pool = append(pool, r)
		src, name := fmt.Sprint(r["eventSource"]), fmt.Sprint(r["eventName"])
		if !seen[src+" "+name] {
			seen[src+" "+name] = true
			ops[src] = append(ops[src], name)
		}
	}
	fmt.Printf("events: %d CloudTrail records as EventBridge events, %d bytes on average; %d operations of %d services in the data\n",
		nevents, bytes/nevents, len(seen), len(ops))
	fmt.Printf("GOMAXPROCS=%d, %s of matching per rule count; \"CPU ns/ev\" and \"per CPU s\" use this process's CPU time\n", runtime.GOMAXPROCS(0), dur)
	fmt.Printf("(user+system, GC included), so they hold when other processes share the cores; ns/event and events/s are wall time\n")
	if appendIDs {
		fmt.Printf("ids by MatchAppend into one reused slice\n\n")
	} else {
		fmt.Printf("ids by Match (a new slice for each matching event)\n\n")
	}
	fmt.Printf("%-10s %7s %10s %10s %12s %14s %14s %10s %10s\n", "set", "rules", "events", "ns/event", "CPU ns/ev", "events/s", "per CPU s", "matches/ev", "B/event")
	profiled := false
	for _, set := range strings.Split(sets, ",") {
		if set != "selective" && set != "broad" {
			return fmt.Errorf("-sets: unknown set %q", set)
		}
		if err := curve(set, ns, events, pool, ops, dur, cpuProfile, &profiled, appendIDs, interleave); err != nil {
			return err
		}
	}
	return nil
}

// curve matches the events against each count of rules of one set: one count after the
// other, or, with interleave, all counts in turn, 2,000 events at a time, so that every
// count sees the same load from other processes and their ratios hold on a busy machine.
func curve(set string, ns []int, events [][]byte, pool []map[string]any, ops map[string][]string, dur time.Duration, cpuProfile string, profiled *bool, appendIDs, interleave bool) error {
	type run struct {
		n             int
		m             *pattern.Matcher
		matched, done int
		cpu, wall     time.Duration
		alloc         uint64
		ids           []string
		next          int
	}
	runs := make([]*run, len(ns))
	for k, n := range ns {
		rng := rand.New(rand.NewPCG(3, uint64(n)))
		m := pattern.NewMatcher()
		for i := range n {
			p, err := pattern.Compile(ruleFrom(pool[rng.IntN(len(pool))], ops, rng, i, set == "selective"))
			if err != nil {
				return fmt.Errorf("rule %d: %w", i, err)
			}
			m.Add("rule-"+strconv.Itoa(i), p)
		}
		// Warm up (and build the index).
		for _, ev := range events[:min(len(events), 1000)] {
			if _, err := m.Match(ev); err != nil {
				return err
			}
		}
		runs[k] = &run{n: n, m: m}
	}
	var matchChunk func(r *run, count int) error
	// chunk matches count events with r's matcher, adding to its totals; its profile
	// samples carry the label rules=<count> (go tool pprof -tagfocus rules=10000).
	chunk := func(r *run, count int) (err error) {
		pprof.Do(context.Background(), pprof.Labels("rules", strconv.Itoa(r.n)), func(context.Context) { err = matchChunk(r, count) })
		return err
	}
	matchChunk = func(r *run, count int) error {
		var ms0, ms1 runtime.MemStats
		runtime.ReadMemStats(&ms0)
		cpu0, _ := harness.CPUTime(0)
		start := time.Now()
		for range count {
			ev := events[r.next%len(events)]
			r.next++
			var err error
			if appendIDs {
				r.ids, err = r.m.MatchAppend(r.ids[:0], ev)
			} else {
				r.ids, err = r.m.Match(ev)
			}
			if err != nil {
				return err
			}
			r.matched += len(r.ids)
		}
		r.wall += time.Since(start)
		cpu1, _ := harness.CPUTime(0)
		runtime.ReadMemStats(&ms1)
		r.cpu += cpu1 - cpu0
		r.alloc += ms1.TotalAlloc - ms0.TotalAlloc
		r.done += count
		return nil
	}
	if cpuProfile != "" && !*profiled {
		*profiled = true
		f, err := os.Create(cpuProfile)
		if err != nil {
			return err
		}
		pprof.StartCPUProfile(f)
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	runtime.GC()
	if interleave {
		for start := time.Now(); time.Since(start) < dur*time.Duration(len(runs)); {
			for _, r := range runs {
				if err := chunk(r, 2000); err != nil {
					return err
				}
			}
		}
	} else {
		for _, r := range runs {
			for start := time.Now(); time.Since(start) < dur; {
				if err := chunk(r, 1000); err != nil {
					return err
				}
			}
		}
	}
	for _, r := range runs {
		done := float64(r.done)
		fmt.Printf("%-10s %7d %10d %10.0f %12.0f %14.0f %14.0f %10.3f %10.1f\n", set, r.n, r.done, float64(r.wall.Nanoseconds())/done,
			float64(r.cpu.Nanoseconds())/done, done/r.wall.Seconds(), done/r.cpu.Seconds(),
			float64(r.matched)/done, float64(r.alloc)/done)
	}
	return nil
}
