// Package objects is bannin's S3 subset: buckets with their policy, versioning, encryption,
// ACL, tags and public access block, and objects with multipart upload. Buckets are store
// resources (so AWS Config records them and CloudTrail finds them), object metadata lives in
// the store's key-value space, and object bytes live in a blob store beside it.
package objects

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"time"

	"github.com/bannin/bannin/internal/awserr"
	"github.com/bannin/bannin/internal/call"
	"github.com/bannin/bannin/internal/protocol/restxml"
	"github.com/bannin/bannin/internal/store"
	"github.com/bannin/bannin/internal/wire/s3"
)

// ResourceType is the CloudFormation type buckets are stored and recorded under.
const ResourceType = "AWS::S3::Bucket"

// Options configure the service.
type Options struct {
	// Dir holds object bytes when Blobs is nil (the server passes <data-dir>/objects).
	Dir string
	// Blobs stores object bytes; default a directory store in Dir.
	Blobs Blobs
	// Clock tells the time for the blob sweeper's grace period (default time.Now).
	Clock func() time.Time
	// Grace is how long the bytes of a deleted or replaced object are kept before Sweep
	// removes them, so that reads already under way can finish (default 5 minutes).
	Grace time.Duration
	// Store is the store the service's stream consumer (server access logging) reads and
	// writes; without it server access logs are not collected.
	Store store.Store
	// LogInterval is how long a server access log record waits at most before it is
	// delivered to the target bucket (default 5 minutes; S3 itself takes up to hours).
	LogInterval time.Duration
}

// Service implements s3.API.
type Service struct {
	s3.Unimplemented
	opts  Options
	blobs Blobs
}

var _ s3.API = (*Service)(nil)

// New returns the S3 service, creating opts.Dir if it stores the bytes.
func New(opts Options) (*Service, error) {
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.Grace == 0 {
		opts.Grace = 5 * time.Minute
	}
	if opts.LogInterval <= 0 {
		opts.LogInterval = 5 * time.Minute
	}
	b := opts.Blobs
	if b == nil {
		if opts.Dir == "" {
			return nil, fmt.Errorf("objects: new: no blob directory")
		}
		d, err := NewDirBlobs(opts.Dir)
		if err != nil {
			return nil, err
		}
		b = d
	}
	return &Service{opts: opts, blobs: b}, nil
}

// BucketARN is a bucket's ARN; bucket names are global, so it has neither region nor account.
func BucketARN(name string) string { return "arn:aws:s3:::" + name }

// CanonicalUserID is the S3 canonical user ID that bannin gives an account: S3 shows owners
// by this 64-hex-digit ID rather than by account ID.
func CanonicalUserID(account string) string {
	h := sha256.Sum256([]byte("bannin canonical user " + account))
	return hex.EncodeToString(h[:])
}

func owner(account string) *s3.Owner {
	id := CanonicalUserID(account)
	return &s3.Owner{ID: &id}
}

func newID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// S3 errors, with the codes, statuses and messages S3 answers.
var (
	errNoSuchUpload = func(uploadID string) error {
		return detail(&s3.NoSuchUpload{Message: ptr("The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.")},
			"UploadId", uploadID)
	}
)

func errNoSuchKey(key *string) error {
	return detail(&s3.NoSuchKey{Message: ptr("The specified key does not exist.")}, "Key", str(key))
}

func errNoSuchBucket(bucket string) error {
	return detail(&s3.NoSuchBucket{Message: ptr("The specified bucket does not exist")}, "BucketName", bucket)
}

// detailed is an S3 error with the elements S3 adds to its <Error> document (BucketName,
// Key, UploadId...), written by the rest-xml codec after the message.
type detailed struct {
	awserr.Coded
	details []restxml.Detail
}

func (e *detailed) ErrorDetails() []restxml.Detail { return e.details }
func (e *detailed) Unwrap() error                  { return e.Coded }

// detail adds name/value element pairs to err; empty values are left out.
func detail(err awserr.Coded, nameValues ...string) error {
	d := &detailed{Coded: err}
	for i := 0; i+1 < len(nameValues); i += 2 {
		if nameValues[i+1] != "" {
			d.details = append(d.details, restxml.Detail{Name: nameValues[i], Value: nameValues[i+1]})
		}
	}
	return d
}

func errAccessDenied() error {
	return awserr.New("AccessDenied", http.StatusForbidden, "Access Denied")
}

func errInvalidArgument(format string, args ...any) error {
	return awserr.New("InvalidArgument", http.StatusBadRequest, format, args...)
}

func errMalformedXML() error {
	return awserr.New("MalformedXML", http.StatusBadRequest, "The XML you provided was not well-formed or did not validate against our published schema")
}

func errPreconditionFailed() error {
	return awserr.New("PreconditionFailed", http.StatusPreconditionFailed, "At least one of the pre-conditions you specified did not hold")
}

func errNotModified() error { return awserr.New("NotModified", http.StatusNotModified, "Not Modified") }

func ptr[T any](v T) *T { return &v }

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func opt(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// callOf returns the call ctx carries; the gateway always provides one.
func callOf(ctx context.Context) *call.Call {
	c := call.From(ctx)
	if c == nil {
		panic("objects: handler called without a call context")
	}
	return c
}

// writeTx returns the call's write transaction.
func writeTx(c *call.Call) (store.Tx, error) {
	tx := c.Write()
	if tx == nil {
		return nil, fmt.Errorf("objects: %s: no write transaction", c.Operation)
	}
	return tx, nil
}
