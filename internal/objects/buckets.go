package objects

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/bannin/bannin/internal/awserr"
	"github.com/bannin/bannin/internal/call"
	"github.com/bannin/bannin/internal/store"
	"github.com/bannin/bannin/internal/wire/s3"
)

// Bucket is a bucket's stored configuration: the Config document of its store resource.
// Its tags are the resource's Tags.
type Bucket struct {
	Name         string    `json:"name"`
	Region       string    `json:"region"`
	CreationDate time.Time `json:"creationDate"`
	// OwnerAccount is the account that owns the bucket; Owner is its canonical user ID.
	OwnerAccount string `json:"ownerAccount"`
	Owner        string `json:"owner"`
	// Versioning is "" (never enabled), "Enabled" or "Suspended".
	Versioning string `json:"versioning,omitempty"`
	MFADelete  string `json:"mfaDelete,omitempty"`
	// Policy is the bucket policy document as given.
	Policy            string                                `json:"policy,omitempty"`
	Encryption        *s3.ServerSideEncryptionConfiguration `json:"encryption,omitempty"`
	Grants            []s3.Grant                            `json:"grants,omitempty"`
	PublicAccessBlock *s3.PublicAccessBlockConfiguration    `json:"publicAccessBlock,omitempty"`
	ObjectOwnership   string                                `json:"objectOwnership,omitempty"`
	ObjectLock        bool                                  `json:"objectLockEnabled,omitempty"`
	// Logging is the server access logging configuration; nil when logging is off.
	Logging *s3.LoggingEnabled `json:"logging,omitempty"`
	// LoggingSince is when logging was last turned on: earlier requests are not logged.
	LoggingSince time.Time `json:"loggingSince,omitzero"`
}

// bucketRef is a bucket loaded for a call: its resource and decoded configuration.
type bucketRef struct {
	res *store.Resource
	cfg Bucket
}

func (b *bucketRef) name() string { return b.cfg.Name }

// versioned reports whether versioning was ever enabled, so that versions are kept in
// the version index.
func (b *bucketRef) versioned() bool { return b.cfg.Versioning != "" }

// findBucket returns the live bucket named name in any account, or nil.
func findBucket(ctx context.Context, tx store.ReadTx, name string) (*bucketRef, error) {
	rs, err := tx.FindResources(ctx, ResourceType, name)
	if err != nil {
		return nil, fmt.Errorf("objects: find bucket %s: %w", name, err)
	}
	if len(rs) == 0 {
		return nil, nil
	}
	b := &bucketRef{res: rs[0]}
	if err := json.Unmarshal(rs[0].Config, &b.cfg); err != nil {
		return nil, fmt.Errorf("objects: bucket %s: %w", name, err)
	}
	return b, nil
}

// bucket returns the caller's bucket: NoSuchBucket if none has that name, AccessDenied if
// another account owns it or it is not the expected owner's.
func (s *Service) bucket(ctx context.Context, c *call.Call, name *string, expectedOwner *string) (*bucketRef, error) {
	n := str(name)
	if n == "" {
		return nil, errNoSuchBucket(n)
	}
	b, err := findBucket(ctx, c.Tx, n)
	if err != nil {
		return nil, err
	}
	if b == nil {
		return nil, errNoSuchBucket(n)
	}
	if b.res.Account != c.Account || (expectedOwner != nil && *expectedOwner != b.res.Account) {
		return nil, errAccessDenied()
	}
	return b, nil
}

// writeBucket returns the call's write transaction and the bucket it names, checked as
// bucket checks it: how every handler that changes what a bucket holds begins.
func (s *Service) writeBucket(ctx context.Context, c *call.Call, name, expectedOwner *string) (store.Tx, *bucketRef, error) {
	tx, err := writeTx(c)
	if err != nil {
		return nil, nil, err
	}
	b, err := s.bucket(ctx, c, name, expectedOwner)
	if err != nil {
		return nil, nil, err
	}
	return tx, b, nil
}

// save stores the bucket's new configuration and reports the call touched it.
func (s *Service) save(ctx context.Context, c *call.Call, b *bucketRef) error {
	tx, err := writeTx(c)
	if err != nil {
		return err
	}
	doc, err := json.Marshal(b.cfg)
	if err != nil {
		return fmt.Errorf("objects: save bucket %s: %w", b.name(), err)
	}
	b.res.Config = doc
	if err := tx.PutResource(ctx, b.res); err != nil {
		return fmt.Errorf("objects: save bucket %s: %w", b.name(), err)
	}
	c.Touch(ResourceType, b.name(), BucketARN(b.name()))
	return nil
}

// validBucketName applies S3's general purpose bucket naming rules.
func validBucketName(n string) bool {
	if len(n) < 3 || len(n) > 63 {
		return false
	}
	for i := 0; i < len(n); i++ {
		ch := n[i]
		if !(ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' || ch == '.' || ch == '-') {
			return false
		}
	}
	alnum := func(ch byte) bool { return ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' }
	if !alnum(n[0]) || !alnum(n[len(n)-1]) || strings.Contains(n, "..") ||
		strings.Contains(n, ".-") || strings.Contains(n, "-.") {
		return false
	}
	if ip := net.ParseIP(n); ip != nil && ip.To4() != nil {
		return false
	}
	for _, p := range []string{"xn--", "sthree-", "amzn-s3-demo-"} {
		if strings.HasPrefix(n, p) {
			return false
		}
	}
	for _, sfx := range []string{"-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"} {
		if strings.HasSuffix(n, sfx) {
			return false
		}
	}
	return true
}

// CreateBucket implements s3.API.
func (s *Service) CreateBucket(ctx context.Context, in *s3.CreateBucketRequest) (*s3.CreateBucketOutput, error) {
	c := callOf(ctx)
	tx, err := writeTx(c)
	if err != nil {
		return nil, err
	}
	name := str(in.Bucket)
	if !validBucketName(name) {
		return nil, detail(awserr.New("InvalidBucketName", http.StatusBadRequest, "The specified bucket is not valid."), "BucketName", name)
	}
	region := c.Region
	if c.Region != "us-east-1" && (in.CreateBucketConfiguration == nil || str(in.CreateBucketConfiguration.LocationConstraint) == "") {
		// Outside us-east-1 the bucket's region must be named, as S3's regional endpoints
		// require (aws s3 mb adds it; s3api create-bucket does not).
		return nil, awserr.New("IllegalLocationConstraintException", http.StatusBadRequest,
			"The unspecified location constraint is incompatible for the region specific endpoint this request was sent to.")
	}
	var cfgTags []s3.Tag
	if cb := in.CreateBucketConfiguration; cb != nil {
		cfgTags = cb.Tags
		switch lc := str(cb.LocationConstraint); {
		case lc == "":
		case lc == "us-east-1":
			return nil, awserr.New("InvalidLocationConstraint", http.StatusBadRequest, "The specified location-constraint is not valid")
		case c.Region != "us-east-1" && lc != c.Region && !(lc == "EU" && c.Region == "eu-west-1"):
			return nil, awserr.New("IllegalLocationConstraintException", http.StatusBadRequest,
				"The %s location constraint is incompatible for the region specific endpoint this request was sent to.", lc)
		case lc == "EU":
			region = "eu-west-1"
		default:
			region = lc
		}
	}
	ownership := str(in.ObjectOwnership)
	switch ownership {
	case "":
		ownership = "BucketOwnerEnforced"
	case "BucketOwnerEnforced", "BucketOwnerPreferred", "ObjectWriter":
	default:
		return nil, errInvalidArgument("Invalid x-amz-object-ownership header: %s", ownership)
	}
	grants, err := cannedGrants(c.Account, str(in.ACL))
	if err != nil {
		return nil, err
	}
	if ownership == "BucketOwnerEnforced" && !ownerOnly(c.Account, grants) {
		return nil, awserr.New("InvalidBucketAclWithObjectOwnership", http.StatusBadRequest,
			"Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting")
	}
	existing, err := findBucket(ctx, tx, name)
	if err != nil {
		return nil, err
	}
	if existing != nil {
		if existing.res.Account != c.Account {
			return nil, detail(&s3.BucketAlreadyExists{Message: ptr("The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.")}, "BucketName", name)
		}
		if c.Region == "us-east-1" && existing.cfg.Region == "us-east-1" {
			// S3's legacy us-east-1 behaviour: re-creating your own bucket succeeds and
			// resets its ACL.
			existing.cfg.Grants = grants
			if err := s.save(ctx, c, existing); err != nil {
				return nil, err
			}
			return &s3.CreateBucketOutput{Location: ptr("/" + name)}, nil
		}
		return nil, detail(&s3.BucketAlreadyOwnedByYou{Message: ptr("Your previous request to create the named bucket succeeded and you already own it.")}, "BucketName", name)
	}
	tags, err := tagMap(cfgTags)
	if err != nil {
		return nil, err
	}
	b := &bucketRef{
		res: &store.Resource{Account: c.Account, Region: region, Type: ResourceType, ID: name,
			ARN: BucketARN(name), Name: name, Tags: tags, Created: c.Time},
		cfg: Bucket{Name: name, Region: region, CreationDate: c.Time.UTC(), OwnerAccount: c.Account,
			Owner: CanonicalUserID(c.Account), ObjectOwnership: ownership, Grants: grants,
			ObjectLock: in.ObjectLockEnabledForBucket != nil && *in.ObjectLockEnabledForBucket,
			// New buckets encrypt with SSE-S3 and block public access by default.
			Encryption: defaultEncryption(),
			PublicAccessBlock: &s3.PublicAccessBlockConfiguration{BlockPublicAcls: ptr(true),
				IgnorePublicAcls: ptr(true), BlockPublicPolicy: ptr(true), RestrictPublicBuckets: ptr(true)},
		},
	}
	if b.cfg.ObjectLock {
		b.cfg.Versioning = "Enabled"
	}
	if err := s.save(ctx, c, b); err != nil {
		return nil, err
	}
	loc := "/" + name
	if region != "us-east-1" {
		loc = "http://" + name + ".s3.amazonaws.com/"
	}
	return &s3.CreateBucketOutput{Location: &loc}, nil
}

func defaultEncryption() *s3.ServerSideEncryptionConfiguration {
	return &s3.ServerSideEncryptionConfiguration{Rules: []s3.ServerSideEncryptionRule{{
		ApplyServerSideEncryptionByDefault: &s3.ServerSideEncryptionByDefault{SSEAlgorithm: ptr("AES256")},
		BucketKeyEnabled:                   ptr(false),
	}}}
}

// DeleteBucket implements s3.API. Only an empty bucket (no objects, no versions) can be
// deleted; multipart uploads still in progress are aborted with it.
func (s *Service) DeleteBucket(ctx context.Context, in *s3.DeleteBucketRequest) (*s3.DeleteBucketOutput, error) {
	c := callOf(ctx)
	tx, b, err := s.writeBucket(ctx, c, in.Bucket, in.ExpectedBucketOwner)
	if err != nil {
		return nil, err
	}
	for _, kv := range []string{objBucket(b.name()), verBucket(b.name())} {
		rows, err := tx.List(ctx, kv, "", "", 1)
		if err != nil {
			return nil, fmt.Errorf("objects: delete bucket %s: %w", b.name(), err)
		}
		if len(rows) > 0 {
			return nil, detail(awserr.New("BucketNotEmpty", http.StatusConflict, "The bucket you tried to delete is not empty"), "BucketName", b.name())
		}
	}
	if err := s.abortAllUploads(ctx, c, tx, b); err != nil {
		return nil, err
	}
	if err := tx.DeleteResource(ctx, b.res.Account, b.res.Region, ResourceType, b.name()); err != nil {
		return nil, fmt.Errorf("objects: delete bucket %s: %w", b.name(), err)
	}
	c.Touch(ResourceType, b.name(), BucketARN(b.name()))
	return &s3.DeleteBucketOutput{}, nil
}

// HeadBucket implements s3.API.
func (s *Service) HeadBucket(ctx context.Context, in *s3.HeadBucketRequest) (*s3.HeadBucketOutput, error) {
	c := callOf(ctx)
	b, err := s.bucket(ctx, c, in.Bucket, in.ExpectedBucketOwner)
	if err != nil {
		return nil, err
	}
	return &s3.HeadBucketOutput{BucketRegion: &b.cfg.Region}, nil
}

// GetBucketLocation implements s3.API: us-east-1 buckets have no location constraint.
func (s *Service) GetBucketLocation(ctx context.Context, in *s3.GetBucketLocationRequest) (*s3.GetBucketLocationOutput, error) {
	c := callOf(ctx)
	b, err := s.bucket(ctx, c, in.Bucket, in.ExpectedBucketOwner)
	if err != nil {
		return nil, err
	}
	out := &s3.GetBucketLocationOutput{}
	if b.cfg.Region != "us-east-1" {
		out.LocationConstraint = ptr(b.cfg.Region)
	}
	return out, nil
}

// ListBuckets implements s3.API: the caller's buckets in name order.
func (s *Service) ListBuckets(ctx context.Context, in *s3.ListBucketsRequest) (*s3.ListBucketsOutput, error) {
	c := callOf(ctx)
	after := ""
	if t := str(in.ContinuationToken); t != "" {
		raw, err := base64.RawURLEncoding.DecodeString(t)
		if err != nil {
			return nil, errInvalidArgument("The continuation token provided is incorrect")
		}
		after = string(raw)
	}
	limit := 10000
	if in.MaxBuckets != nil {
		if *in.MaxBuckets < 1 || *in.MaxBuckets > 10000 {
			return nil, errInvalidArgument("Argument max-buckets must be an integer between 1 and 10000")
		}
		limit = int(*in.MaxBuckets)
	}
	var all []*store.Resource
	tok := ""
	for {
		rs, next, err := c.Tx.ListResources(ctx, store.ResourceQuery{Account: c.Account, Type: ResourceType, After: tok, Limit: 1000})
		if err != nil {
			return nil, fmt.Errorf("objects: list buckets: %w", err)
		}
		all = append(all, rs...)
		if next == "" {
			break
		}
		tok = next
	}
	sort.Slice(all, func(i, j int) bool { return all[i].ID < all[j].ID })
	out := &s3.ListBucketsOutput{Owner: owner(c.Account), Prefix: in.Prefix, Buckets: []s3.Bucket{}}
	for _, r := range all {
		if r.ID <= after || !strings.HasPrefix(r.ID, str(in.Prefix)) ||
			(in.BucketRegion != nil && r.Region != *in.BucketRegion) {
			continue
		}
		if len(out.Buckets) == limit {
			out.ContinuationToken = ptr(base64.RawURLEncoding.EncodeToString([]byte(*out.Buckets[limit-1].Name)))
			break
		}
		var cfg Bucket
		if err := json.Unmarshal(r.Config, &cfg); err != nil {
			return nil, fmt.Errorf("objects: bucket %s: %w", r.ID, err)
		}
		created := cfg.CreationDate
		out.Buckets = append(out.Buckets, s3.Bucket{Name: ptr(r.ID), CreationDate: &created,
			BucketRegion: ptr(r.Region), BucketArn: ptr(BucketARN(r.ID))})
	}
	return out, nil
}
