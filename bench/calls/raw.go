package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/bannin/bannin/bench/internal/harness"
)

// rawClient makes CloudTrail AddTags calls as plain HTTP requests signed with the SDK's
// SigV4 signer, without the SDK's middleware stack: what a lean load generator sends, so
// that the two cores the client shares with the server go mostly to the server. The wire
// request is what the SDK sends (awsJson1_1, X-Amz-Target, SigV4 header signature).
type rawClient struct {
	url    string
	hc     *http.Client
	creds  aws.Credentials
	signer *v4.Signer
}

func newRawClient(srv *harness.Server, conns int) *rawClient {
	return &rawClient{url: srv.URL + "/", signer: v4.NewSigner(),
		creds: aws.Credentials{AccessKeyID: harness.AccessKeyID, SecretAccessKey: harness.SecretAccessKey},
		hc: &http.Client{Transport: &http.Transport{MaxIdleConns: conns + 10, MaxIdleConnsPerHost: conns + 10,
			IdleConnTimeout: time.Minute}}}
}

// rawError is a call the server answered with an AWS error.
type rawError struct{ code string }

func (e *rawError) Error() string { return e.code }

// addTags tags the trail arn with key=value.
func (c *rawClient) addTags(ctx context.Context, arn, key, value string) error {
	body, err := json.Marshal(map[string]any{"ResourceId": arn, "TagsList": []map[string]string{{"Key": key, "Value": value}}})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.AddTags")
	sum := sha256.Sum256(body)
	if err := c.signer.SignHTTP(ctx, c.creds, req, hex.EncodeToString(sum[:]), "cloudtrail", harness.Region, time.Now()); err != nil {
		return err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Type string `json:"__type"`
		}
		if json.Unmarshal(out, &e) != nil || e.Type == "" {
			return fmt.Errorf("HTTP %d: %.200s", resp.StatusCode, out)
		}
		return &rawError{code: e.Type}
	}
	return nil
}
