package pattern

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// benchServices and benchActions name the CloudTrail sources and event names
// that benchmark rules and events are drawn from.
var benchServices = []string{"ec2", "s3", "iam", "sts", "kms", "lambda", "rds", "dynamodb", "sns", "sqs",
	"cloudtrail", "config", "logs", "monitoring", "events", "ssm", "organizations", "ecs", "eks", "elasticloadbalancing"}

// benchAction names an API action; svc makes most names particular to a
// service, as in CloudTrail, while shared verbs and nouns make some collide.
func benchAction(svc, i int) string {
	verbs := []string{"Create", "Delete", "Describe", "Put", "Get", "Update", "List", "Attach", "Detach", "Start", "Stop", "Modify"}
	nouns := []string{"Bucket", "Instance", "Role", "Policy", "Key", "Function", "Table", "Topic", "Queue", "Trail", "Rule", "Parameter", "Cluster", "Service", "Volume", "Snapshot"}
	return verbs[i%len(verbs)] + nouns[(i/len(verbs)+svc)%len(nouns)] + fmt.Sprint((i+svc)%3)
}

// benchRule returns a rule shaped like those users write on CloudTrail
// events: a source and detail-type, then event sources and names, with some
// content filters.
func benchRule(r *rand.Rand) string { return benchRuleOf(r, true) }

// benchRuleOf returns a rule; without filters it tests exact values only.
func benchRuleOf(r *rand.Rand, filters bool) string {
	si := r.IntN(len(benchServices))
	svc := benchServices[si]
	var names []string
	for range 1 + r.IntN(3) {
		names = append(names, benchAction(si, r.IntN(400)))
	}
	detail := map[string]any{
		"eventSource": []any{svc + ".amazonaws.com"},
		"eventName":   names,
	}
	choice := r.IntN(10)
	if !filters {
		choice = -1
	}
	switch choice {
	case 0:
		detail["requestParameters"] = map[string]any{"bucketName": []any{map[string]any{"prefix": fmt.Sprintf("logs-%d", r.IntN(50))}}}
	case 1:
		detail["userIdentity"] = map[string]any{"type": []any{map[string]any{"anything-but": "AWSService"}}}
	case 2:
		detail["errorCode"] = []any{map[string]any{"exists": false}}
	case 3:
		detail["sourceIPAddress"] = []any{map[string]any{"cidr": fmt.Sprintf("10.%d.0.0/16", r.IntN(256))}}
	case 4:
		detail["$or"] = []any{
			map[string]any{"awsRegion": []any{"us-east-1", "eu-west-1"}},
			map[string]any{"readOnly": []any{false}},
		}
	case 5:
		detail["requestParameters"] = map[string]any{"maxResults": []any{map[string]any{"numeric": []any{">", r.IntN(100)}}}}
	}
	rule := map[string]any{
		"source":      []any{"aws." + svc},
		"detail-type": []any{"AWS API Call via CloudTrail"},
		"detail":      detail,
	}
	b, err := json.Marshal(rule)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// benchEvent returns an EventBridge event carrying a CloudTrail record.
func benchEvent(r *rand.Rand) []byte {
	si := r.IntN(len(benchServices))
	svc := benchServices[si]
	name := benchAction(si, r.IntN(400))
	region := []string{"us-east-1", "us-west-2", "eu-west-1", "ap-northeast-1"}[r.IntN(4)]
	ev := map[string]any{
		"version":     "0",
		"id":          fmt.Sprintf("%08x-8339-4e30-8c35-687ebef853fe", r.Uint32()),
		"detail-type": "AWS API Call via CloudTrail",
		"source":      "aws." + svc,
		"account":     "123456789012",
		"time":        "2026-11-23T12:00:00Z",
		"region":      region,
		"resources":   []any{},
		"detail": map[string]any{
			"eventVersion": "1.09",
			"userIdentity": map[string]any{
				"type":        []string{"IAMUser", "AssumedRole", "Root", "AWSService"}[r.IntN(4)],
				"principalId": "AIDAEXAMPLE",
				"arn":         "arn:aws:iam::123456789012:user/alice",
				"accountId":   "123456789012",
				"accessKeyId": "AKIAEXAMPLE",
				"userName":    "alice",
				"sessionContext": map[string]any{
					"attributes": map[string]any{"creationDate": "2026-11-23T11:00:00Z", "mfaAuthenticated": "false"},
				},
			},
			"eventTime":       "2026-11-23T12:00:00Z",
			"eventSource":     svc + ".amazonaws.com",
			"eventName":       name,
			"awsRegion":       region,
			"sourceIPAddress": fmt.Sprintf("10.%d.%d.%d", r.IntN(256), r.IntN(256), r.IntN(256)),
			"userAgent":       "aws-cli/2.15.0 Python/3.11.6 Linux/6.5.0 exe/x86_64.debian",
			"requestParameters": map[string]any{
				"bucketName": fmt.Sprintf("logs-%d-archive", r.IntN(60)),
				"maxResults": r.IntN(200),
				"filters":    []any{map[string]any{"name": "tag:env", "values": []any{"prod", "dev"}}},
			},
			"responseElements":   nil,
			"requestID":          "c0ffee00-0000-4000-8000-000000000000",
			"eventID":            "deadbeef-0000-4000-8000-000000000000",
			"readOnly":           r.IntN(2) == 0,
			"eventType":          "AwsApiCall",
			"managementEvent":    true,
			"recipientAccountId": "123456789012",
			"eventCategory":      "Management",
			"tlsDetails": map[string]any{
				"tlsVersion":               "TLSv1.3",
				"cipherSuite":              "TLS_AES_128_GCM_SHA256",
				"clientProvidedHostHeader": svc + "." + region + ".amazonaws.com",
			},
		},
	}
	if r.IntN(5) == 0 {
		ev["detail"].(map[string]any)["errorCode"] = "AccessDenied"
	}
	b, err := json.Marshal(ev)
	if err != nil {
		panic(err)
	}
	return b
}

// BenchmarkMatcher matches CloudTrail-shaped events against 10 to 10,000
// rules; the events/s and ns/op figures should stay nearly flat. CPU-ns/op is
// the process's CPU time per event (GC included), which holds on a busy
// machine where ns/op does not.
func BenchmarkMatcher(b *testing.B) { benchmarkMatcher(b, true, false) }

// BenchmarkMatcherExact is BenchmarkMatcher with rules on exact values only
// (source, detail-type, eventSource, eventName).
func BenchmarkMatcherExact(b *testing.B) { benchmarkMatcher(b, false, false) }

// BenchmarkMatcherAppend is BenchmarkMatcher through MatchAppend into one
// reused slice, as a caller matching many events can.
func BenchmarkMatcherAppend(b *testing.B) { benchmarkMatcher(b, true, true) }

// cpuTime is the process's user and system CPU time.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func benchmarkMatcher(b *testing.B, filters, appendIDs bool) {
	events := make([][]byte, 256)
	er := rand.New(rand.NewPCG(7, 7))
	for i := range events {
		events[i] = benchEvent(er)
	}
	for _, n := range []int{10, 100, 1000, 10000} {
		b.Run(fmt.Sprintf("rules=%d", n), func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, uint64(n)))
			m := NewMatcher()
			for i := range n {
				p, err := Compile(benchRuleOf(r, filters))
				if err != nil {
					b.Fatal(err)
				}
				m.Add(fmt.Sprint(i), p)
			}
			matches := 0
			var got []string
			runtime.GC() // not the garbage of compiling the rules
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cpuTime(b)
			for i := 0; b.Loop(); i++ {
				var err error
				if appendIDs {
					got, err = m.MatchAppend(got[:0], events[i%len(events)])
				} else {
					got, err = m.Match(events[i%len(events)])
				}
				if err != nil {
					b.Fatal(err)
				}
				matches += len(got)
			}
			b.ReportMetric(float64((cpuTime(b)-cpu0).Nanoseconds())/float64(b.N), "CPU-ns/op")
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(float64(matches)/float64(b.N), "matches/event")
		})
	}
}

// BenchmarkPatternMatches is the single-pattern path (TestEventPattern).
func BenchmarkPatternMatches(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	p, err := Compile(benchRule(r))
	if err != nil {
		b.Fatal(err)
	}
	ev := benchEvent(r)
	for b.Loop() {
		if _, err := p.Matches(ev); err != nil {
			b.Fatal(err)
		}
	}
}
