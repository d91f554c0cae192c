package objects

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/bannin/bannin/internal/audit"
	"github.com/bannin/bannin/internal/awserr"
	"github.com/bannin/bannin/internal/call"
	"github.com/bannin/bannin/internal/store"
	"github.com/bannin/bannin/internal/store/sqlite"
	"github.com/bannin/bannin/internal/wire/s3"
)

const (
	acct  = "111122223333"
	other = "444455556666"
)

// env is a store and the service, with handlers run the way the gateway runs them.
type env struct {
	t      *testing.T
	st     *sqlite.Store
	svc    *Service
	dir    string
	now    time.Time
	region string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	dir := t.TempDir()
	st, err := sqlite.Open(filepath.Join(dir, "db"), sqlite.Options{})
	if err != nil {
		t.Fatalf("sqlite.Open = %v", err)
	}
	t.Cleanup(func() { st.Close() })
	e := &env{t: t, st: st, dir: filepath.Join(dir, "objects"), now: time.Date(2025, 6, 1, 10, 0, 0, 0, time.UTC), region: "us-east-1"}
	e.svc, err = New(Options{Dir: e.dir, Clock: func() time.Time { return e.now }})
	if err != nil {
		t.Fatalf("New = %v", err)
	}
	return e
}

// do runs one handler as account in a write transaction or a read snapshot, as the gateway
// decides by the operation's name, and returns the call for its touched resources.
func do[I, O any](e *env, account, op string, f func(context.Context, *I) (*O, error), in *I) (*O, *call.Call, error) {
	e.t.Helper()
	e.now = e.now.Add(time.Second)
	c := &call.Call{RequestID: "req", Time: e.now, Service: "s3", Operation: op, Account: account, Region: e.region,
		Caller: call.Principal{Type: "Root", Account: account}}
	ctx := call.With(context.Background(), c)
	var out *O
	errH := errors.New("handler failed")
	var herr error
	run := func() error {
		o, err := f(ctx, in)
		if err != nil {
			herr = err
			return errH
		}
		out = o
		return nil
	}
	var err error
	if audit.ReadOnly("s3", op) {
		err = e.st.View(ctx, func(tx store.ReadTx) error { c.Tx = tx; return run() })
	} else {
		err = e.st.Update(ctx, func(tx store.Tx) error { c.Tx = tx; return run() })
	}
	c.Tx = nil
	if herr != nil {
		return nil, c, herr
	}
	if err != nil {
		e.t.Fatalf("%s: store: %v", op, err)
	}
	return out, c, nil
}

// ok runs a handler that must succeed.
func ok[I, O any](e *env, account, op string, f func(context.Context, *I) (*O, error), in *I) *O {
	e.t.Helper()
	out, _, err := do(e, account, op, f, in)
	if err != nil {
		e.t.Fatalf("%s = %v; want success", op, err)
	}
	return out
}

func wantErr(t *testing.T, what string, err error, code string, status int) {
	t.Helper()
	ce, ok := awserr.As(err)
	if !ok {
		t.Fatalf("%s = %v; want %s (%d)", what, err, code, status)
	}
	if ce.AWSErrorCode() != code || ce.AWSHTTPStatus() != status {
		t.Errorf("%s = %s (%d) %q; want %s (%d)", what, ce.AWSErrorCode(), ce.AWSHTTPStatus(), ce.AWSMessage(), code, status)
	}
}

func (e *env) createBucket(account, name string) {
	e.t.Helper()
	ok(e, account, "CreateBucket", e.svc.CreateBucket, &s3.CreateBucketRequest{Bucket: &name})
}

// spool writes data to a file the way the gateway spools a streaming payload.
func (e *env) spool(data string) *call.Spool {
	e.t.Helper()
	f, err := os.CreateTemp(e.t.TempDir(), "upload-*")
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := f.WriteString(data); err != nil {
		e.t.Fatal(err)
	}
	if _, err := f.Seek(0, 0); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { f.Close() })
	return &call.Spool{File: f, Path: f.Name(), Size: int64(len(data))}
}

func TestBuckets(t *testing.T) {
	e := newEnv(t)
	e.createBucket(acct, "logs-bucket")

	// CloudTrail finds buckets by name in any account.
	var found []*store.Resource
	if err := e.st.View(context.Background(), func(tx store.ReadTx) error {
		var err error
		found, err = tx.FindResources(context.Background(), "AWS::S3::Bucket", "logs-bucket")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(found) != 1 || found[0].Account != acct || found[0].Region != "us-east-1" || found[0].ARN != "arn:aws:s3:::logs-bucket" {
		t.Fatalf("FindResources(logs-bucket) = %+v; want one bucket of %s in us-east-1", found, acct)
	}

	// us-east-1 legacy: re-creating your own bucket there succeeds.
	_, c, err := do(e, acct, "CreateBucket", e.svc.CreateBucket, &s3.CreateBucketRequest{Bucket: ptr("logs-bucket")})
	if err != nil {
		t.Errorf("CreateBucket(own, us-east-1) = %v; want success", err)
	}
	if len(c.Resources) != 1 || c.Resources[0].ARN != "arn:aws:s3:::logs-bucket" {
		t.Errorf("CreateBucket touched %+v; want the bucket", c.Resources)
	}
	_, _, err = do(e, other, "CreateBucket", e.svc.CreateBucket, &s3.CreateBucketRequest{Bucket: ptr("logs-bucket")})
	wantErr(t, "CreateBucket(other account's)", err, "BucketAlreadyExists", 409)

	e.region = "eu-west-1"
	ok(e, acct, "CreateBucket", e.svc.CreateBucket, &s3.CreateBucketRequest{Bucket: ptr("eu-bucket"),
		CreateBucketConfiguration: &s3.CreateBucketConfiguration{LocationConstraint: ptr("eu-west-1")}})
	_, _, err = do(e, acct, "CreateBucket", e.svc.CreateBucket, &s3.CreateBucketRequest{Bucket: ptr("eu-bucket"),
		CreateBucketConfiguration: &s3.CreateBucketConfiguration{LocationConstraint: ptr("eu-west-1")}})
	wantErr(t, "CreateBucket(own, eu-west-1)", err, "BucketAlreadyOwnedByYou", 409)
	_, _, err = do(e, acct, "CreateBucket", e.svc.CreateBucket, &s3.CreateBucketRequest{Bucket: ptr("x-bucket"),
		CreateBucketConfiguration: &s3.CreateBucketConfiguration{LocationConstraint: ptr("ap-south-1")}})
	wantErr(t, "CreateBucket(constraint for another region)", err, "IllegalLocationConstraintException", 400)
	_, _, err = do(e, acct, "CreateBucket", e.svc.CreateBucket, &s3.CreateBucketRequest{Bucket: ptr("y-bucket")})
	wantErr(t, "CreateBucket(no constraint outside us-east-1)", err, "IllegalLocationConstraintException", 400)
	e.region = "us-east-1"
	_, _, err = do(e, acct, "CreateBucket", e.svc.CreateBucket, &s3.CreateBucketRequest{Bucket: ptr("x-bucket"),
		CreateBucketConfiguration: &s3.CreateBucketConfiguration{LocationConstraint: ptr("us-east-1")}})
	wantErr(t, "CreateBucket(LocationConstraint us-east-1)", err, "InvalidLocationConstraint", 400)

	for _, bad := range []string{"ab", "Upper", "a..b", "-abc", "192.168.1.1", "xn--abc", "abc-s3alias", "under_score"} {
		_, _, err := do(e, acct, "CreateBucket", e.svc.CreateBucket, &s3.CreateBucketRequest{Bucket: ptr(bad)})
		wantErr(t, "CreateBucket("+bad+")", err, "InvalidBucketName", 400)
	}

	loc := ok(e, acct, "GetBucketLocation", e.svc.GetBucketLocation, &s3.GetBucketLocationRequest{Bucket: ptr("eu-bucket")})
	if str(loc.LocationConstraint) != "eu-west-1" {
		t.Errorf("GetBucketLocation(eu-bucket) = %q; want eu-west-1", str(loc.LocationConstraint))
	}
	loc = ok(e, acct, "GetBucketLocation", e.svc.GetBucketLocation, &s3.GetBucketLocationRequest{Bucket: ptr("logs-bucket")})
	if loc.LocationConstraint != nil {
		t.Errorf("GetBucketLocation(logs-bucket) = %q; want none (us-east-1)", *loc.LocationConstraint)
	}
	head := ok(e, acct, "HeadBucket", e.svc.HeadBucket, &s3.HeadBucketRequest{Bucket: ptr("eu-bucket")})
	if str(head.BucketRegion) != "eu-west-1" {
		t.Errorf("HeadBucket(eu-bucket) region = %q; want eu-west-1", str(head.BucketRegion))
	}
	_, _, err = do(e, acct, "HeadBucket", e.svc.HeadBucket, &s3.HeadBucketRequest{Bucket: ptr("nope-bucket")})
	wantErr(t, "HeadBucket(missing)", err, "NoSuchBucket", 404)
	_, _, err = do(e, other, "HeadBucket", e.svc.HeadBucket, &s3.HeadBucketRequest{Bucket: ptr("eu-bucket")})
	wantErr(t, "HeadBucket(other account's)", err, "AccessDenied", 403)

	e.createBucket(other, "theirs-bucket")
	list := ok(e, acct, "ListBuckets", e.svc.ListBuckets, &s3.ListBucketsRequest{})
	var names []string
	for _, b := range list.Buckets {
		names = append(names, *b.Name)
	}
	if len(names) != 2 || names[0] != "eu-bucket" || names[1] != "logs-bucket" {
		t.Errorf("ListBuckets = %v; want [eu-bucket logs-bucket]", names)
	}
	if list.Owner == nil || str(list.Owner.ID) != CanonicalUserID(acct) {
		t.Errorf("ListBuckets owner = %+v; want %s", list.Owner, CanonicalUserID(acct))
	}
	page := ok(e, acct, "ListBuckets", e.svc.ListBuckets, &s3.ListBucketsRequest{MaxBuckets: ptr(int32(1))})
	if len(page.Buckets) != 1 || page.ContinuationToken == nil {
		t.Fatalf("ListBuckets(max 1) = %d buckets, token %v; want 1 and a token", len(page.Buckets), page.ContinuationToken)
	}
	page = ok(e, acct, "ListBuckets", e.svc.ListBuckets, &s3.ListBucketsRequest{ContinuationToken: page.ContinuationToken})
	if len(page.Buckets) != 1 || *page.Buckets[0].Name != "logs-bucket" || page.ContinuationToken != nil {
		t.Errorf("ListBuckets(page 2) = %+v; want logs-bucket alone", page.Buckets)
	}

	// Not empty, then empty.
	ok(e, acct, "PutObject", e.svc.PutObject, &s3.PutObjectRequest{Bucket: ptr("logs-bucket"), Key: ptr("a"), Body: e.spool("x")})
	_, _, err = do(e, acct, "DeleteBucket", e.svc.DeleteBucket, &s3.DeleteBucketRequest{Bucket: ptr("logs-bucket")})
	wantErr(t, "DeleteBucket(not empty)", err, "BucketNotEmpty", 409)
	ok(e, acct, "DeleteObject", e.svc.DeleteObject, &s3.DeleteObjectRequest{Bucket: ptr("logs-bucket"), Key: ptr("a")})
	_, _, err = do(e, other, "DeleteBucket", e.svc.DeleteBucket, &s3.DeleteBucketRequest{Bucket: ptr("logs-bucket")})
	wantErr(t, "DeleteBucket(other account's)", err, "AccessDenied", 403)
	ok(e, acct, "DeleteBucket", e.svc.DeleteBucket, &s3.DeleteBucketRequest{Bucket: ptr("logs-bucket")})
	_, _, err = do(e, acct, "HeadBucket", e.svc.HeadBucket, &s3.HeadBucketRequest{Bucket: ptr("logs-bucket")})
	wantErr(t, "HeadBucket(deleted)", err, "NoSuchBucket", 404)
	// The name is free again, for anyone.
	e.createBucket(other, "logs-bucket")
}

func (e *env) createBucketWith(in *s3.CreateBucketRequest) {
	e.t.Helper()
	ok(e, acct, "CreateBucket", e.svc.CreateBucket, in)
}

func findBucketView(e *env, name string) (*bucketRef, error) {
	var b *bucketRef
	err := e.st.View(context.Background(), func(tx store.ReadTx) error {
		var err error
		b, err = findBucket(context.Background(), tx, name)
		return err
	})
	return b, err
}
