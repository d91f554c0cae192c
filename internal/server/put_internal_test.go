package server

import (
	"context"
	"fmt"
	"testing"

	"github.com/bannin/bannin/internal/gateway"
	"github.com/bannin/bannin/internal/iam"
)

// TestPutObjectAsConfig writes a delivery channel file the way the recorder does.
func TestPutObjectAsConfig(t *testing.T) {
	s, err := New(Config{DataDir: t.TempDir(), Account: "123456789012"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if err := s.putObject(ctx, "123456789012", "us-east-1", "nobucket", "k", []byte("x")); err == nil {
		t.Error("putObject into a missing bucket succeeded")
	}
	root := iam.Root("123456789012", "AKIA")
	if _, err := s.gateway.Invoke(ctx, gateway.Invocation{Service: "s3", Operation: "CreateBucket", Region: "us-east-1", Caller: root, Params: map[string]any{"Bucket": "cfg-bucket"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.putObject(ctx, "123456789012", "us-east-1", "cfg-bucket", "dir/k.json.gz", []byte("hello")); err != nil {
		t.Fatalf("putObject: %v", err)
	}
	out, err := s.gateway.Invoke(ctx, gateway.Invocation{Service: "s3", Operation: "GetObject", Region: "us-east-1", Caller: root, Params: map[string]any{"Bucket": "cfg-bucket", "Key": "dir/k.json.gz"}})
	if err != nil || fmt.Sprint(out["ContentLength"]) != "5" || out["ETag"] != `"5d41402abc4b2a76b9719d911017c592"` {
		t.Errorf("GetObject of the delivered file = %v, %v; want 5 bytes with hello's ETag", out, err)
	}
}
