package gateway_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/bannin/bannin/internal/testenv"
)

// BenchmarkAddTags runs recorded write calls (CloudTrail AddTags, as bench/calls makes
// them) through the server's handler without a network in between, 50 at a time, and
// reports the process's CPU time per call (cpu-ns/op) besides the wall time.
func BenchmarkAddTags(b *testing.B) {
	e := testenv.New(b)
	ctx := context.Background()
	if _, err := e.S3().CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("bench-logs")}); err != nil {
		b.Fatal(err)
	}
	tr, err := e.CloudTrail().CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("bench"), S3BucketName: aws.String("bench-logs")})
	if err != nil {
		b.Fatal(err)
	}
	body := []byte(`{"ResourceId":"` + aws.ToString(tr.TrailARN) + `","TagsList":[{"Key":"bench","Value":"1"}]}`)
	req, _ := http.NewRequest("POST", e.URL+"/", bytes.NewReader(body))
	req.Header.Set("X-Amz-Target", ctTarget+"AddTags")
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	creds, _ := e.Config.Credentials.Retrieve(ctx)
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "cloudtrail", e.Region, time.Now()); err != nil {
		b.Fatal(err)
	}
	h := e.Server.Handler()
	b.SetParallelism(25)
	b.ReportAllocs()
	cpu0 := cpuTime()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r := req.Clone(ctx)
			r.Body = io.NopCloser(bytes.NewReader(body))
			r.RemoteAddr = "127.0.0.1:1234"
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != http.StatusOK {
				b.Errorf("AddTags: %d %s", w.Code, w.Body)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
