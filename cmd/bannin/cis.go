package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/bannin/bannin/internal/cis"
	"github.com/bannin/bannin/internal/iam"
)

// cisInstall sets up the CIS monitoring controls on a running server through its API, with
// the credentials of the environment or else the data dir's root credentials.
func cisInstall(args []string) error {
	fs := flag.NewFlagSet("cis install", flag.ExitOnError)
	email := fs.String("email", "", "address that receives the alarm mails (required)")
	endpoint := fs.String("endpoint-url", "http://127.0.0.1:4566", "the bannin server")
	region := fs.String("region", envOr("AWS_REGION", "us-east-1"), "region to install in")
	dataDir := fs.String("data-dir", "./bannin-data", "where to find root credentials when AWS_ACCESS_KEY_ID is not set")
	period := fs.Int("period", 300, "alarm period in seconds")
	fs.Parse(args)
	if *email == "" {
		return fmt.Errorf("cis install: --email is required")
	}
	id, secret := os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
	if id == "" {
		b, err := os.ReadFile(filepath.Join(*dataDir, iam.RootCredentialsFile))
		if err != nil {
			return fmt.Errorf("cis install: no AWS_ACCESS_KEY_ID and no root credentials in %s: %w", *dataDir, err)
		}
		key, err := iam.ParseKey(b)
		if err != nil {
			return err
		}
		id, secret = key.AccessKeyID, key.SecretAccessKey
	}
	cfg := aws.Config{Region: *region, BaseEndpoint: endpoint,
		Credentials: credentials.NewStaticCredentialsProvider(id, secret, os.Getenv("AWS_SESSION_TOKEN"))}
	r, err := cis.Install(context.Background(), cfg, cis.Options{Email: *email, Period: int32(*period)})
	if err != nil {
		return err
	}
	fmt.Printf("trail %s logs to %s\n%d alarms notify %s; %s must confirm the subscription mail\n",
		r.TrailARN, r.LogGroupARN, len(r.Alarms), r.TopicARN, *email)
	return nil
}

func envOr(k, d string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return d
}
