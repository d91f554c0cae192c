package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync/atomic"
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

// request is an AddTags request tagging the trail arn with key=value, signed now.
func (c *rawClient) request(ctx context.Context, arn, key, value string) (*http.Request, error) {
	body, err := json.Marshal(map[string]any{"ResourceId": arn, "TagsList": []map[string]string{{"Key": key, "Value": value}}})
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.AddTags")
	sum := sha256.Sum256(body)
	if err := c.signer.SignHTTP(ctx, c.creds, req, hex.EncodeToString(sum[:]), "cloudtrail", harness.Region, time.Now()); err != nil {
		return nil, err
	}
	return req, nil
}

// answer is nil for a 200, else the AWS error the body names.
func answer(status int, out []byte) error {
	if status == http.StatusOK {
		return nil
	}
	var e struct {
		Type string `json:"__type"`
	}
	if json.Unmarshal(out, &e) != nil || e.Type == "" {
		return fmt.Errorf("HTTP %d: %.200s", status, out)
	}
	return &rawError{code: e.Type}
}

// rawError is a call the server answered with an AWS error.
type rawError struct{ code string }

func (e *rawError) Error() string { return e.code }

// addTags tags the trail arn with key=value.
func (c *rawClient) addTags(ctx context.Context, arn, key, value string) error {
	req, err := c.request(ctx, arn, key, value)
	if err != nil {
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
	return answer(resp.StatusCode, out)
}

// presigned holds AddTags requests signed before the run, as bytes ready for the wire, and
// sends them over one kept-alive connection per caller: a load generator that spends its
// CPU on little more than the sockets (signing 100,000 requests ahead costs ~2 s; the server
// checks every signature as usual, and a signature stays valid for minutes).
type presigned struct {
	reqs [][]byte
	next atomic.Int64
}

// presign signs n AddTags requests of arn.
func (c *rawClient) presign(arn string, n int) (*presigned, error) {
	p := &presigned{reqs: make([][]byte, n)}
	ctx := context.Background()
	for i := range p.reqs {
		req, err := c.request(ctx, arn, fmt.Sprintf("bench-%02d", i%40), fmt.Sprintf("presigned-%d", i))
		if err != nil {
			return nil, err
		}
		var b bytes.Buffer
		if err := req.Write(&b); err != nil {
			return nil, err
		}
		p.reqs[i] = b.Bytes()
	}
	return p, nil
}

// wireConn is one caller's connection for presigned requests.
type wireConn struct {
	addr string
	conn net.Conn
	br   *bufio.Reader
}

// do sends the next presigned request and reads the answer.
func (p *presigned) do(w *wireConn) error {
	i := p.next.Add(1) - 1
	if i >= int64(len(p.reqs)) {
		return errors.New("out of presigned requests")
	}
	if w.conn == nil {
		c, err := net.Dial("tcp", w.addr)
		if err != nil {
			return err
		}
		w.conn, w.br = c, bufio.NewReader(c)
	}
	fail := func(err error) error {
		w.conn.Close()
		w.conn = nil
		return err
	}
	if _, err := w.conn.Write(p.reqs[i]); err != nil {
		return fail(err)
	}
	resp, err := http.ReadResponse(w.br, nil)
	if err != nil {
		return fail(err)
	}
	out, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return fail(err)
	}
	if resp.Close {
		fail(nil)
	}
	return answer(resp.StatusCode, out)
}
