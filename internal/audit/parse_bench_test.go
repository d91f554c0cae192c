package audit

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/bannin/bannin/internal/store"
)

// benchRecord is a CloudTrail record in the field order AWS writes, for the benchmarks' tree.
type benchRecord struct {
	EventVersion        string         `json:"eventVersion"`
	UserIdentity        map[string]any `json:"userIdentity"`
	EventTime           string         `json:"eventTime"`
	EventSource         string         `json:"eventSource"`
	EventName           string         `json:"eventName"`
	AWSRegion           string         `json:"awsRegion"`
	SourceIPAddress     string         `json:"sourceIPAddress"`
	UserAgent           string         `json:"userAgent"`
	ErrorCode           string         `json:"errorCode,omitempty"`
	ErrorMessage        string         `json:"errorMessage,omitempty"`
	RequestParameters   map[string]any `json:"requestParameters"`
	ResponseElements    map[string]any `json:"responseElements"`
	AdditionalEventData map[string]any `json:"additionalEventData,omitempty"`
	RequestID           string         `json:"requestID"`
	EventID             string         `json:"eventID"`
	ReadOnly            bool           `json:"readOnly"`
	Resources           []any          `json:"resources,omitempty"`
	EventType           string         `json:"eventType"`
	ManagementEvent     bool           `json:"managementEvent"`
	RecipientAccountID  string         `json:"recipientAccountId"`
	EventCategory       string         `json:"eventCategory"`
	TLSDetails          map[string]any `json:"tlsDetails,omitempty"`
}

var benchAgents = []string{
	"aws-cli/2.15.30 Python/3.11.8 Linux/6.5.0 exe/x86_64.ubuntu.22 prompt/off command/ec2.describe-instances",
	"Boto3/1.34.69 md/Botocore#1.34.69 ua/2.0 os/linux#5.10.210 md/arch#x86_64 lang/python#3.12.2 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.69",
	"APN/1.0 HashiCorp/1.0 Terraform/1.7.5 (+https://www.terraform.io) terraform-provider-aws/5.42.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.25.3 os/linux lang/go#1.22.1",
}

// benchGen makes realistic records (~1,300 bytes: userIdentity with a session context,
// requestParameters, responseElements, resources, additionalEventData, tlsDetails).
type benchGen struct{ rng *rand.Rand }

func (g *benchGen) hex(n int) string {
	const digits = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = digits[g.rng.IntN(16)]
	}
	return string(b)
}

func (g *benchGen) uuid() string {
	return g.hex(8) + "-" + g.hex(4) + "-4" + g.hex(3) + "-a" + g.hex(3) + "-" + g.hex(12)
}

func (g *benchGen) record(t time.Time, account, region string) []byte {
	people := []string{"alice", "bob", "carol", "dave", "erin"}
	roles := []string{"Admin", "DeployRole", "ci-github-actions", "terraform"}
	var ui map[string]any
	switch g.rng.IntN(4) {
	case 0:
		u := people[g.rng.IntN(len(people))]
		ui = map[string]any{"type": "IAMUser", "principalId": "AIDA" + g.hex(17), "arn": "arn:aws:iam::" + account + ":user/" + u,
			"accountId": account, "accessKeyId": "AKIA" + g.hex(16), "userName": u}
	case 1, 2:
		r := roles[g.rng.IntN(len(roles))]
		sess := people[g.rng.IntN(len(people))] + "@example.com"
		ui = map[string]any{"type": "AssumedRole", "principalId": "AROA" + g.hex(17) + ":" + sess,
			"arn": "arn:aws:sts::" + account + ":assumed-role/" + r + "/" + sess, "accountId": account, "accessKeyId": "ASIA" + g.hex(16),
			"sessionContext": map[string]any{"sessionIssuer": map[string]any{"type": "Role", "principalId": "AROA" + g.hex(17),
				"arn": "arn:aws:iam::" + account + ":role/" + r, "accountId": account, "userName": r},
				"webIdFederationData": map[string]any{},
				"attributes":          map[string]any{"creationDate": t.Add(-time.Hour).UTC().Format(time.RFC3339), "mfaAuthenticated": "false"}}}
	default:
		ui = map[string]any{"type": "AWSService", "invokedBy": "config.amazonaws.com"}
	}
	rec := benchRecord{EventVersion: "1.09", UserIdentity: ui, EventTime: t.UTC().Format(time.RFC3339), AWSRegion: region,
		SourceIPAddress: fmt.Sprintf("%d.%d.%d.%d", 3+g.rng.IntN(200), g.rng.IntN(256), g.rng.IntN(256), 1+g.rng.IntN(254)),
		UserAgent:       benchAgents[g.rng.IntN(len(benchAgents))], RequestID: g.uuid(), EventID: g.uuid(),
		EventType: "AwsApiCall", ManagementEvent: true, RecipientAccountID: account, EventCategory: "Management"}
	switch g.rng.IntN(3) {
	case 0:
		id := fmt.Sprintf("i-0%015x", 0xabc000000000+g.rng.IntN(2000))
		rec.EventSource, rec.EventName, rec.ReadOnly = "ec2.amazonaws.com", "DescribeInstances", true
		rec.RequestParameters = map[string]any{"instancesSet": map[string]any{"items": []any{map[string]any{"instanceId": id}}},
			"filterSet": map[string]any{"items": []any{map[string]any{"name": "instance-state-name", "valueSet": map[string]any{"items": []any{map[string]any{"value": "running"}}}}}}}
		rec.Resources = []any{map[string]any{"accountId": account, "type": "AWS::EC2::Instance", "ARN": "arn:aws:ec2:" + region + ":" + account + ":instance/" + id}}
	case 1:
		b := fmt.Sprintf("acme-logs-%02d", g.rng.IntN(40))
		key := "2026/11/" + g.hex(8) + ".json"
		rec.EventSource, rec.EventName = "s3.amazonaws.com", "PutObject"
		rec.RequestParameters = map[string]any{"bucketName": b, "Host": b + ".s3.amazonaws.com", "key": key, "x-amz-acl": "private"}
		rec.ResponseElements = map[string]any{"x-amz-server-side-encryption": "AES256", "x-amz-version-id": g.hex(32)}
		rec.AdditionalEventData = map[string]any{"SignatureVersion": "SigV4", "CipherSuite": "TLS_AES_128_GCM_SHA256",
			"bytesTransferredIn": 1234, "AuthenticationMethod": "AuthHeader", "x-amz-id-2": g.hex(56), "bytesTransferredOut": 0}
		rec.Resources = []any{map[string]any{"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::" + b + "/" + key},
			map[string]any{"accountId": account, "type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::" + b}}
	default:
		fn := fmt.Sprintf("orders-api-%03d", g.rng.IntN(100))
		rec.EventSource, rec.EventName = "lambda.amazonaws.com", "UpdateFunctionConfiguration20150331v2"
		rec.RequestParameters = map[string]any{"functionName": fn, "timeout": 30, "memorySize": 512,
			"environment": map[string]any{"variables": map[string]any{"STAGE": "prod", "TABLE": "orders"}}}
		rec.ResponseElements = map[string]any{"functionName": fn, "functionArn": "arn:aws:lambda:" + region + ":" + account + ":function:" + fn,
			"runtime": "python3.12", "role": "arn:aws:iam::" + account + ":role/lambda-exec", "handler": "app.handler", "codeSize": 52311,
			"timeout": 30, "memorySize": 512, "lastModified": t.UTC().Format("2006-01-02T15:04:05.000+0000"), "version": "$LATEST",
			"state": "Active", "lastUpdateStatus": "InProgress"}
		rec.Resources = []any{map[string]any{"accountId": account, "type": "AWS::Lambda::Function", "ARN": "arn:aws:lambda:" + region + ":" + account + ":function:" + fn}}
	}
	if ui["type"] != "AWSService" {
		rec.TLSDetails = map[string]any{"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256",
			"clientProvidedHostHeader": rec.EventSource[:len(rec.EventSource)-len(".amazonaws.com")] + "." + region + ".amazonaws.com"}
	}
	b, err := json.Marshal(rec)
	if err != nil {
		panic(err)
	}
	return b
}

// writeBenchTree writes files of perFile records each, gzipped, in CloudTrail's
// AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/ layout, and returns the number of events
// and their JSON bytes.
func writeBenchTree(tb testing.TB, dir string, files, perFile int) (int, int64) {
	tb.Helper()
	g := &benchGen{rng: rand.New(rand.NewPCG(1, 2))}
	accounts := []string{"111122223333", "444455556666"}
	regions := []string{"us-east-1", "eu-west-1"}
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	var events int
	var jsonBytes int64
	for f := range files {
		account, region := accounts[f%len(accounts)], regions[f/len(accounts)%len(regions)]
		t := start.Add(time.Duration(f/4) * 5 * time.Minute)
		var doc bytes.Buffer
		doc.WriteString(`{"Records":[`)
		for i := range perFile {
			if i > 0 {
				doc.WriteByte(',')
			}
			doc.Write(g.record(t.Add(time.Duration(i)*time.Second), account, region))
			events++
		}
		doc.WriteString(`]}`)
		jsonBytes += int64(doc.Len())
		p := filepath.Join(dir, "AWSLogs", account, "CloudTrail", region, t.Format("2006/01/02"),
			fmt.Sprintf("%s_CloudTrail_%s_%sZ_%s.json.gz", account, region, t.Format("20060102T1504"), g.hex(16)))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			tb.Fatal(err)
		}
		var gz bytes.Buffer
		zw := gzip.NewWriter(&gz)
		zw.Write(doc.Bytes())
		zw.Close()
		if err := os.WriteFile(p, gz.Bytes(), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	return events, jsonBytes
}

// cpuTime is the process's user+system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchPerEvent runs fn b.N times and reports wall, CPU, allocations and bytes per event.
func benchPerEvent(b *testing.B, events, jsonBytes int, fn func()) {
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	c0 := cpuTime()
	b.SetBytes(int64(jsonBytes))
	b.ResetTimer()
	for range b.N {
		fn()
	}
	b.StopTimer()
	c1 := cpuTime()
	runtime.ReadMemStats(&m1)
	n := float64(b.N) * float64(events)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/event")
	b.ReportMetric(float64((c1-c0).Nanoseconds())/n, "cpu-ns/event")
	b.ReportMetric(float64(m1.Mallocs-m0.Mallocs)/n, "allocs/event")
	b.ReportMetric(float64(m1.TotalAlloc-m0.TotalAlloc)/n, "B/event")
	b.ReportMetric(float64(m1.NumGC-m0.NumGC)/float64(b.N), "gc/op")
}

// BenchmarkImportParse imports a tree of realistic gzipped log files through Import with a
// Write that only counts, so it measures everything an import spends outside the store
// writer: reading, gunzip, splitting and parsing records, building events, batching, GC.
// cpu-ns/event is the CPU of all goroutines (parsing runs on several).
func BenchmarkImportParse(b *testing.B) {
	dir := b.TempDir()
	events, jsonBytes := writeBenchTree(b, dir, 400, 30)
	var got atomic.Int64
	opts := ImportOptions{Store: funcStore{},
		Write: func(ctx context.Context, _ store.Tx, evs []*store.Event) (int, error) {
			got.Add(int64(len(evs)))
			return len(evs), nil
		}}
	benchPerEvent(b, events, int(jsonBytes), func() {
		got.Store(0)
		sum, err := Import(context.Background(), []string{dir}, opts)
		if err != nil || len(sum.Malformed) > 0 || got.Load() != int64(events) {
			b.Fatalf("Import = %+v, %v; %d events written, want %d", sum, err, got.Load(), events)
		}
	})
}

// BenchmarkReadLogFile parses the same tree's files one after the other on one goroutine
// with one recordParser, as an import's parse worker does: the per-event CPU of one worker.
func BenchmarkReadLogFile(b *testing.B) {
	dir := b.TempDir()
	events, jsonBytes := writeBenchTree(b, dir, 400, 30)
	files, _, err := LogFiles([]string{dir})
	if err != nil {
		b.Fatal(err)
	}
	p := new(recordParser)
	benchPerEvent(b, events, int(jsonBytes), func() {
		n := 0
		for _, f := range files {
			evs, _, err := p.readLogFile(f)
			if err != nil {
				b.Fatal(err)
			}
			n += len(evs)
		}
		if n != events {
			b.Fatalf("read %d events; want %d", n, events)
		}
	})
}

// TestBenchRecordsParse checks that the benchmarks' records are what ParseRecord expects, so
// the benchmarks measure the common path, and that they are realistically sized.
func TestBenchRecordsParse(t *testing.T) {
	g := &benchGen{rng: rand.New(rand.NewPCG(1, 2))}
	total := 0
	for i := range 300 {
		raw := g.record(time.Date(2026, 11, 1, 0, 0, i, 0, time.UTC), "111122223333", "us-east-1")
		total += len(raw)
		ev, err := ParseRecord(raw)
		if err != nil {
			t.Fatal(err)
		}
		if ev.EventID == "" || ev.Account != "111122223333" || len(ev.Resources) == 0 || ev.Category != store.CategoryManagement {
			t.Fatalf("ParseRecord(%s) = %+v", raw, ev)
		}
	}
	if avg := total / 300; avg < 900 || avg > 1800 {
		t.Errorf("records average %d bytes; want about 1,300", avg)
	}
}

// BenchmarkRecordParser parses records already in memory (no file, no gzip): the cost of
// recordParser alone, against ParseRecord through encoding/json.
func BenchmarkRecordParser(b *testing.B) {
	g := &benchGen{rng: rand.New(rand.NewPCG(1, 2))}
	var recs [][]byte
	size := 0
	for i := range 1000 {
		recs = append(recs, g.record(time.Date(2026, 11, 1, 0, 0, i%60, 0, time.UTC), "111122223333", "us-east-1"))
		size += len(recs[i])
	}
	b.Run("fast", func(b *testing.B) {
		p := new(recordParser)
		benchPerEvent(b, len(recs), size, func() {
			for _, r := range recs {
				if _, _, ok := p.parse(r, 0); !ok {
					b.Fatalf("recordParser left %s", r)
				}
			}
		})
	})
	b.Run("encoding-json", func(b *testing.B) {
		benchPerEvent(b, len(recs), size, func() {
			for _, r := range recs {
				if _, err := parseRecordJSON(r); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}
