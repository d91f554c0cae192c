package server_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/bannin/bannin/internal/server"
	"github.com/bannin/bannin/internal/store"
	"github.com/bannin/bannin/internal/testenv"
)

func TestDevModeAcceptsAnyCredentials(t *testing.T) {
	e := testenv.New(t, testenv.Options{Dev: true})
	cfg := e.Config.Copy()
	cfg.Credentials = credentials.NewStaticCredentialsProvider("AKIAANYTHINGGOES0001", "any-secret-at-all", "")
	ctx := context.Background()
	id, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil || aws.ToString(id.Arn) != "arn:aws:iam::"+e.Account+":root" {
		t.Fatalf("GetCallerIdentity in dev mode = %v, %v; want the default account's root", id, err)
	}
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("dev-bucket")}); err != nil {
		t.Fatalf("CreateBucket in dev mode: %v", err)
	}
	if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("dev-bucket"), Key: aws.String("k"), Body: strings.NewReader("hello")}); err != nil {
		t.Fatalf("PutObject in dev mode: %v", err)
	}
	out, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("dev-bucket"), Key: aws.String("k")})
	if err != nil {
		t.Fatalf("GetObject in dev mode: %v", err)
	}
	b := make([]byte, 16)
	n, _ := out.Body.Read(b)
	if string(b[:n]) != "hello" {
		t.Errorf("GetObject body = %q; want hello", b[:n])
	}
	ranged, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("dev-bucket"), Key: aws.String("k"), Range: aws.String("bytes=1-3")})
	if err != nil {
		t.Fatalf("ranged GetObject: %v", err)
	}
	raw := awsmiddleware.GetRawResponse(ranged.ResultMetadata).(*smithyhttp.Response)
	n, _ = ranged.Body.Read(b)
	if raw.StatusCode != 206 || string(b[:n]) != "ell" || aws.ToString(ranged.ContentRange) != "bytes 1-3/5" {
		t.Errorf("ranged GetObject = %d %q %s; want 206 \"ell\" bytes 1-3/5", raw.StatusCode, b[:n], aws.ToString(ranged.ContentRange))
	}
	// Every protocol family: JSON (CloudTrail, Logs), CBOR (CloudWatch), query (SNS).
	if _, err := cloudtrail.NewFromConfig(cfg).DescribeTrails(ctx, &cloudtrail.DescribeTrailsInput{}); err != nil {
		t.Errorf("CloudTrail DescribeTrails in dev mode: %v", err)
	}
	if _, err := cloudwatchlogs.NewFromConfig(cfg).DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{}); err != nil {
		t.Errorf("Logs DescribeLogGroups in dev mode: %v", err)
	}
	if _, err := cloudwatch.NewFromConfig(cfg).ListMetrics(ctx, &cloudwatch.ListMetricsInput{}); err != nil {
		t.Errorf("CloudWatch ListMetrics in dev mode: %v", err)
	}
	if _, err := sns.NewFromConfig(cfg).ListTopics(ctx, &sns.ListTopicsInput{}); err != nil {
		t.Errorf("SNS ListTopics in dev mode: %v", err)
	}
	// Without dev mode the same key is refused.
	strict := testenv.New(t)
	cfg.BaseEndpoint = aws.String(strict.URL)
	if _, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err == nil {
		t.Error("GetCallerIdentity with an unknown key succeeded without dev mode")
	}
}

func TestRetentionPurgesOldEvents(t *testing.T) {
	e := testenv.New(t)
	ctx := context.Background()
	old := time.Now().Add(-91 * 24 * time.Hour)
	rec, _ := json.Marshal(map[string]any{"eventID": "old-1", "eventName": "StopLogging"})
	err := e.Server.Store.Update(ctx, func(tx store.Tx) error {
		_, err := tx.AppendEvents(ctx, []*store.Event{{EventID: "old-1", Time: old, Account: e.Account, Region: e.Region,
			EventName: "StopLogging", EventSource: "cloudtrail.amazonaws.com", Username: "root", Record: rec}})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.STS().GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatal(err)
	}
	count := func() int {
		out, err := e.CloudTrail().LookupEvents(ctx, &cloudtrail.LookupEventsInput{})
		if err != nil {
			t.Fatal(err)
		}
		return len(out.Events)
	}
	if n := count(); n != 2 {
		t.Fatalf("events before purge = %d; want 2", n)
	}
	if err := e.Server.Purge(ctx); err != nil {
		t.Fatal(err)
	}
	// The purge leaves the recent call and the LookupEvents calls made since.
	out, err := e.CloudTrail().LookupEvents(ctx, &cloudtrail.LookupEventsInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range out.Events {
		if aws.ToString(ev.EventId) == "old-1" {
			t.Errorf("a 91-day-old event is still in the history after the purge")
		}
	}
}

func TestS3KeysThatLookLikePaths(t *testing.T) {
	e := testenv.New(t)
	ctx := context.Background()
	s3c := e.S3()
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("paths")}); err != nil {
		t.Fatal(err)
	}
	keys := []string{"a//b", "x/../y", "/lead", "./dot", "sp ace+plus%"}
	for _, k := range keys {
		if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("paths"), Key: aws.String(k), Body: strings.NewReader(k)}); err != nil {
			t.Errorf("PutObject(%q): %v", k, err)
		}
	}
	out, err := s3c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("paths")})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, o := range out.Contents {
		got[aws.ToString(o.Key)] = true
	}
	for _, k := range keys {
		if !got[k] {
			t.Errorf("ListObjectsV2 lacks key %q (got %v)", k, got)
		}
	}
}

func TestOneServerPerDataDir(t *testing.T) {
	e := testenv.New(t)
	if _, err := server.New(server.Config{DataDir: e.DataDir}); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Errorf("a second server on the same data dir = %v; want an in-use error", err)
	}
}
