package objects

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"

	"github.com/bannin/bannin/internal/awserr"
	"github.com/bannin/bannin/internal/wire/s3"
)

// S3 predefined groups that ACLs grant to.
const (
	groupAllUsers      = "http://acs.amazonaws.com/groups/global/AllUsers"
	groupAuthenticated = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
	groupLogDelivery   = "http://acs.amazonaws.com/groups/s3/LogDelivery"
)

func ownerGrant(account, perm string) s3.Grant {
	return s3.Grant{Grantee: &s3.Grantee{Type: ptr("CanonicalUser"), ID: ptr(CanonicalUserID(account))}, Permission: ptr(perm)}
}

func groupGrant(uri, perm string) s3.Grant {
	return s3.Grant{Grantee: &s3.Grantee{Type: ptr("Group"), URI: ptr(uri)}, Permission: ptr(perm)}
}

// cannedGrants expands a canned ACL into the grants it stands for.
func cannedGrants(account, acl string) ([]s3.Grant, error) {
	gs := []s3.Grant{ownerGrant(account, "FULL_CONTROL")}
	switch acl {
	case "", "private", "bucket-owner-read", "bucket-owner-full-control", "aws-exec-read":
	case "public-read":
		gs = append(gs, groupGrant(groupAllUsers, "READ"))
	case "public-read-write":
		gs = append(gs, groupGrant(groupAllUsers, "READ"), groupGrant(groupAllUsers, "WRITE"))
	case "authenticated-read":
		gs = append(gs, groupGrant(groupAuthenticated, "READ"))
	case "log-delivery-write":
		gs = append(gs, groupGrant(groupLogDelivery, "WRITE"), groupGrant(groupLogDelivery, "READ_ACP"))
	default:
		return nil, errInvalidArgument("Invalid canned ACL: %s", acl)
	}
	return gs, nil
}

// ownerOnly reports whether grants give access to the owner alone, the only ACL a bucket
// with ACLs disabled (BucketOwnerEnforced) accepts.
func ownerOnly(account string, grants []s3.Grant) bool {
	id := CanonicalUserID(account)
	for _, g := range grants {
		if g.Grantee == nil || str(g.Grantee.ID) != id || str(g.Permission) != "FULL_CONTROL" {
			return false
		}
	}
	return true
}

// publicGrants reports whether grants give access to everyone or every AWS account.
func publicGrants(grants []s3.Grant) bool {
	for _, g := range grants {
		if g.Grantee != nil && (str(g.Grantee.URI) == groupAllUsers || str(g.Grantee.URI) == groupAuthenticated) {
			return true
		}
	}
	return false
}

var granteeItem = regexp.MustCompile(`^\s*(id|uri|emailAddress)\s*=\s*"?([^",]*)"?\s*$`)

// headerGrants parses the x-amz-grant-* headers ("id=..., uri=...").
func headerGrants(perm, h string) ([]s3.Grant, error) {
	if h == "" {
		return nil, nil
	}
	var gs []s3.Grant
	for _, item := range strings.Split(h, ",") {
		m := granteeItem.FindStringSubmatch(item)
		if m == nil {
			return nil, errInvalidArgument("Invalid grant header: %s", item)
		}
		g := &s3.Grantee{}
		switch m[1] {
		case "id":
			g.Type, g.ID = ptr("CanonicalUser"), ptr(m[2])
		case "uri":
			g.Type, g.URI = ptr("Group"), ptr(m[2])
		default:
			g.Type, g.EmailAddress = ptr("AmazonCustomerByEmail"), ptr(m[2])
		}
		gs = append(gs, s3.Grant{Grantee: g, Permission: ptr(perm)})
	}
	return gs, nil
}

// GetBucketAcl implements s3.API.
func (s *Service) GetBucketAcl(ctx context.Context, in *s3.GetBucketAclRequest) (*s3.GetBucketAclOutput, error) {
	c := callOf(ctx)
	b, err := s.bucket(ctx, c, in.Bucket, in.ExpectedBucketOwner)
	if err != nil {
		return nil, err
	}
	grants := b.cfg.Grants
	if len(grants) == 0 {
		grants = []s3.Grant{ownerGrant(b.res.Account, "FULL_CONTROL")}
	}
	return &s3.GetBucketAclOutput{Owner: owner(b.res.Account), Grants: grants}, nil
}

// PutBucketAcl implements s3.API: a canned ACL, grant headers or an AccessControlPolicy body.
func (s *Service) PutBucketAcl(ctx context.Context, in *s3.PutBucketAclRequest) (*s3.PutBucketAclOutput, error) {
	c := callOf(ctx)
	b, err := s.bucket(ctx, c, in.Bucket, in.ExpectedBucketOwner)
	if err != nil {
		return nil, err
	}
	var grants []s3.Grant
	headers := []struct{ perm, h string }{{"FULL_CONTROL", str(in.GrantFullControl)}, {"READ", str(in.GrantRead)},
		{"READ_ACP", str(in.GrantReadACP)}, {"WRITE", str(in.GrantWrite)}, {"WRITE_ACP", str(in.GrantWriteACP)}}
	hasHeaders := false
	for _, h := range headers {
		gs, err := headerGrants(h.perm, h.h)
		if err != nil {
			return nil, err
		}
		hasHeaders = hasHeaders || len(gs) > 0
		grants = append(grants, gs...)
	}
	n := 0
	for _, set := range []bool{in.ACL != nil, hasHeaders, in.AccessControlPolicy != nil} {
		if set {
			n++
		}
	}
	switch {
	case n == 0:
		return nil, awserr.New("MissingSecurityHeader", http.StatusBadRequest, "Your request was missing a required header")
	case n > 1:
		return nil, errInvalidArgument("Specifying both Canned ACLs and Header Grants is not allowed")
	case in.ACL != nil:
		if grants, err = cannedGrants(b.res.Account, *in.ACL); err != nil {
			return nil, err
		}
	case in.AccessControlPolicy != nil:
		grants = in.AccessControlPolicy.Grants
		for _, g := range grants {
			if g.Grantee == nil || g.Permission == nil {
				return nil, errMalformedXML()
			}
		}
	}
	if b.cfg.ObjectOwnership == "BucketOwnerEnforced" && !ownerOnly(b.res.Account, grants) {
		return nil, awserr.New("AccessControlListNotSupported", http.StatusBadRequest, "The bucket does not allow ACLs")
	}
	if pab := b.cfg.PublicAccessBlock; pab != nil && pab.BlockPublicAcls != nil && *pab.BlockPublicAcls && publicGrants(grants) {
		return nil, errAccessDenied()
	}
	b.cfg.Grants = grants
	return &s3.PutBucketAclOutput{}, s.save(ctx, c, b)
}

// policyBucket is the bucket a GetBucketPolicy or GetBucketPolicyStatus call names, which
// must have a policy (NoSuchBucketPolicy).
func (s *Service) policyBucket(ctx context.Context, name, expectedOwner *string) (*bucketRef, error) {
	b, err := s.bucket(ctx, callOf(ctx), name, expectedOwner)
	if err != nil {
		return nil, err
	}
	if b.cfg.Policy == "" {
		return nil, detail(awserr.New("NoSuchBucketPolicy", http.StatusNotFound, "The bucket policy does not exist"), "BucketName", b.name())
	}
	return b, nil
}

// GetBucketPolicy implements s3.API.
func (s *Service) GetBucketPolicy(ctx context.Context, in *s3.GetBucketPolicyRequest) (*s3.GetBucketPolicyOutput, error) {
	b, err := s.policyBucket(ctx, in.Bucket, in.ExpectedBucketOwner)
	if err != nil {
		return nil, err
	}
	return &s3.GetBucketPolicyOutput{Policy: ptr(b.cfg.Policy)}, nil
}

// GetBucketPolicyStatus implements s3.API: whether the bucket's policy is public (grants
// access to every principal without a restricting condition), as S3 judges it.
func (s *Service) GetBucketPolicyStatus(ctx context.Context, in *s3.GetBucketPolicyStatusRequest) (*s3.GetBucketPolicyStatusOutput, error) {
	b, err := s.policyBucket(ctx, in.Bucket, in.ExpectedBucketOwner)
	if err != nil {
		return nil, err
	}
	public, err := checkPolicy(b.cfg.Policy, b.name())
	if err != nil {
		return nil, fmt.Errorf("objects: bucket %s: stored policy: %w", b.name(), err)
	}
	return &s3.GetBucketPolicyStatusOutput{PolicyStatus: &s3.PolicyStatus{IsPublic: &public}}, nil
}

// PutBucketPolicy implements s3.API. The policy must be a JSON policy document; a public one
// is refused while the bucket blocks public policies.
func (s *Service) PutBucketPolicy(ctx context.Context, in *s3.PutBucketPolicyRequest) (*s3.PutBucketPolicyOutput, error) {
	c := callOf(ctx)
	b, err := s.bucket(ctx, c, in.Bucket, in.ExpectedBucketOwner)
	if err != nil {
		return nil, err
	}
	doc := strings.TrimSpace(str(in.Policy))
	public, err := checkPolicy(doc, b.name())
	if err != nil {
		return nil, err
	}
	if pab := b.cfg.PublicAccessBlock; public && pab != nil && pab.BlockPublicPolicy != nil && *pab.BlockPublicPolicy {
		return nil, errAccessDenied()
	}
	b.cfg.Policy = doc
	return &s3.PutBucketPolicyOutput{}, s.save(ctx, c, b)
}

func errMalformedPolicy(msg string) error {
	return awserr.New("MalformedPolicy", http.StatusBadRequest, "%s", msg)
}

// checkPolicy validates a bucket policy document as S3 does and reports whether it grants
// public access (an unconditional Allow to every principal).
func checkPolicy(doc, bucket string) (public bool, err error) {
	if !strings.HasPrefix(doc, "{") {
		return false, errMalformedPolicy("Policies must be valid JSON and the first byte must be '{'")
	}
	var p struct {
		Version   string          `json:"Version"`
		Statement json.RawMessage `json:"Statement"`
	}
	if err := json.Unmarshal([]byte(doc), &p); err != nil {
		return false, errMalformedPolicy("Policies must be valid JSON and the first byte must be '{'")
	}
	if p.Version != "" && p.Version != "2012-10-17" && p.Version != "2008-10-17" {
		return false, errMalformedPolicy("Policy has an invalid version")
	}
	if len(p.Statement) == 0 {
		return false, errMalformedPolicy("Missing required field Statement")
	}
	type statement struct {
		Effect    string          `json:"Effect"`
		Principal json.RawMessage `json:"Principal"`
		Action    json.RawMessage `json:"Action"`
		NotAction json.RawMessage `json:"NotAction"`
		Resource  json.RawMessage `json:"Resource"`
		Condition json.RawMessage `json:"Condition"`
	}
	var sts []statement
	if err := json.Unmarshal(p.Statement, &sts); err != nil {
		var one statement
		if err := json.Unmarshal(p.Statement, &one); err != nil {
			return false, errMalformedPolicy("Statement is not well-formed")
		}
		sts = []statement{one}
	}
	for _, st := range sts {
		if st.Effect != "Allow" && st.Effect != "Deny" {
			return false, errMalformedPolicy("Invalid effect: " + st.Effect)
		}
		if len(st.Action) == 0 && len(st.NotAction) == 0 {
			return false, errMalformedPolicy("Missing required field Action")
		}
		if len(st.Principal) == 0 {
			return false, errMalformedPolicy("Missing required field Principal")
		}
		if len(st.Resource) == 0 {
			return false, errMalformedPolicy("Missing required field Resource")
		}
		var resources []string
		if json.Unmarshal(st.Resource, &resources) != nil {
			var r string
			if json.Unmarshal(st.Resource, &r) != nil {
				return false, errMalformedPolicy("Invalid policy syntax.")
			}
			resources = []string{r}
		}
		for _, r := range resources {
			if r != "*" && !strings.HasPrefix(r, BucketARN(bucket)) {
				return false, errMalformedPolicy("Policy has invalid resource")
			}
		}
		if st.Effect == "Allow" && len(st.Condition) == 0 && everyone(st.Principal) {
			public = true
		}
	}
	return public, nil
}

// everyone reports whether a policy principal is "*" or {"AWS":"*"}.
func everyone(p json.RawMessage) bool {
	var s string
	if json.Unmarshal(p, &s) == nil {
		return s == "*"
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(p, &m) != nil {
		return false
	}
	var one string
	if json.Unmarshal(m["AWS"], &one) == nil {
		return one == "*"
	}
	var many []string
	if json.Unmarshal(m["AWS"], &many) == nil {
		for _, a := range many {
			if a == "*" {
				return true
			}
		}
	}
	return false
}

// DeleteBucketPolicy implements s3.API; deleting an absent policy succeeds.
func (s *Service) DeleteBucketPolicy(ctx context.Context, in *s3.DeleteBucketPolicyRequest) (*s3.DeleteBucketPolicyOutput, error) {
	c := callOf(ctx)
	b, err := s.bucket(ctx, c, in.Bucket, in.ExpectedBucketOwner)
	if err != nil {
		return nil, err
	}
	b.cfg.Policy = ""
	return &s3.DeleteBucketPolicyOutput{}, s.save(ctx, c, b)
}

// GetBucketVersioning implements s3.API; a bucket that never had versioning has no status.
func (s *Service) GetBucketVersioning(ctx context.Context, in *s3.GetBucketVersioningRequest) (*s3.GetBucketVersioningOutput, error) {
	c := callOf(ctx)
	b, err := s.bucket(ctx, c, in.Bucket, in.ExpectedBucketOwner)
	if err != nil {
		return nil, err
	}
	return &s3.GetBucketVersioningOutput{Status: opt(b.cfg.Versioning), MFADelete: opt(b.cfg.MFADelete)}, nil
}

// PutBucketVersioning implements s3.API. Versioning once enabled can only be suspended.
func (s *Service) PutBucketVersioning(ctx context.Context, in *s3.PutBucketVersioningRequest) (*s3.PutBucketVersioningOutput, error) {
	c := callOf(ctx)
	b, err := s.bucket(ctx, c, in.Bucket, in.ExpectedBucketOwner)
	if err != nil {
		return nil, err
	}
	vc := in.VersioningConfiguration
	if vc == nil {
		return nil, errMalformedXML()
	}
	switch st := str(vc.Status); st {
	case "":
	case "Enabled", "Suspended":
		if st == "Suspended" && b.cfg.ObjectLock {
			return nil, awserr.New("InvalidBucketState", http.StatusConflict,
				"An Object Lock configuration is present on this bucket, so the versioning state cannot be changed.")
		}
		if st == "Suspended" && b.cfg.Versioning == "" {
			// Suspending versioning on a bucket that never had it changes nothing.
			break
		}
		if st == "Enabled" && b.cfg.Versioning == "" {
			tx, err := writeTx(c)
			if err != nil {
				return nil, err
			}
			if err := s.enableVersions(ctx, tx, b.name()); err != nil {
				return nil, err
			}
		}
		b.cfg.Versioning = st
	default:
		return nil, errMalformedXML()
	}
	switch m := str(vc.MFADelete); m {
	case "":
	case "Enabled", "Disabled":
		if m == "Enabled" && in.MFA == nil {
			return nil, errInvalidArgument("MFA Authentication must be used for this request")
		}
		b.cfg.MFADelete = m
	default:
		return nil, errMalformedXML()
	}
	return &s3.PutBucketVersioningOutput{}, s.save(ctx, c, b)
}

// GetBucketEncryption implements s3.API.
func (s *Service) GetBucketEncryption(ctx context.Context, in *s3.GetBucketEncryptionRequest) (*s3.GetBucketEncryptionOutput, error) {
	c := callOf(ctx)
	b, err := s.bucket(ctx, c, in.Bucket, in.ExpectedBucketOwner)
	if err != nil {
		return nil, err
	}
	if b.cfg.Encryption == nil {
		return nil, awserr.New("ServerSideEncryptionConfigurationNotFoundError", http.StatusNotFound,
			"The server side encryption configuration was not found")
	}
	return &s3.GetBucketEncryptionOutput{ServerSideEncryptionConfiguration: b.cfg.Encryption}, nil
}

// PutBucketEncryption implements s3.API.
func (s *Service) PutBucketEncryption(ctx context.Context, in *s3.PutBucketEncryptionRequest) (*s3.PutBucketEncryptionOutput, error) {
	c := callOf(ctx)
	b, err := s.bucket(ctx, c, in.Bucket, in.ExpectedBucketOwner)
	if err != nil {
		return nil, err
	}
	sc := in.ServerSideEncryptionConfiguration
	if sc == nil || len(sc.Rules) == 0 {
		return nil, errMalformedXML()
	}
	for _, r := range sc.Rules {
		d := r.ApplyServerSideEncryptionByDefault
		if d == nil {
			continue
		}
		switch str(d.SSEAlgorithm) {
		case "AES256":
			if d.KMSMasterKeyID != nil {
				return nil, errInvalidArgument("a KMSMasterKeyID is not applicable if the default sse algorithm is not aws:kms or aws:kms:dsse")
			}
		case "aws:kms", "aws:kms:dsse":
		default:
			return nil, errMalformedXML()
		}
	}
	b.cfg.Encryption = sc
	return &s3.PutBucketEncryptionOutput{}, s.save(ctx, c, b)
}

// DeleteBucketEncryption implements s3.API. As in S3 since 2023, the bucket's default
// encryption goes back to SSE-S3 rather than away.
func (s *Service) DeleteBucketEncryption(ctx context.Context, in *s3.DeleteBucketEncryptionRequest) (*s3.DeleteBucketEncryptionOutput, error) {
	c := callOf(ctx)
	b, err := s.bucket(ctx, c, in.Bucket, in.ExpectedBucketOwner)
	if err != nil {
		return nil, err
	}
	b.cfg.Encryption = defaultEncryption()
	return &s3.DeleteBucketEncryptionOutput{}, s.save(ctx, c, b)
}

// tagMap validates a bucket tag set and returns it as a map.
func tagMap(tags []s3.Tag) (map[string]string, error) {
	if len(tags) > 50 {
		return nil, awserr.New("InvalidTag", http.StatusBadRequest, "Bucket tag count cannot be greater than 50")
	}
	m := map[string]string{}
	for _, t := range tags {
		k, v := str(t.Key), str(t.Value)
		switch {
		case t.Key == nil || len(k) == 0 || len(k) > 128:
			return nil, awserr.New("InvalidTag", http.StatusBadRequest, "The TagKey you have provided is invalid")
		case len(v) > 256:
			return nil, awserr.New("InvalidTag", http.StatusBadRequest, "The TagValue you have provided is invalid")
		case strings.HasPrefix(strings.ToLower(k), "aws:"):
			return nil, awserr.New("InvalidTag", http.StatusBadRequest, "System tags cannot be added/updated by requester")
		}
		if _, dup := m[k]; dup {
			return nil, awserr.New("InvalidTag", http.StatusBadRequest, "Cannot provide multiple Tags with the same key")
		}
		m[k] = v
	}
	if len(m) == 0 {
		return nil, nil
	}
	return m, nil
}

// GetBucketTagging implements s3.API.
func (s *Service) GetBucketTagging(ctx context.Context, in *s3.GetBucketTaggingRequest) (*s3.GetBucketTaggingOutput, error) {
	c := callOf(ctx)
	b, err := s.bucket(ctx, c, in.Bucket, in.ExpectedBucketOwner)
	if err != nil {
		return nil, err
	}
	if len(b.res.Tags) == 0 {
		return nil, detail(awserr.New("NoSuchTagSet", http.StatusNotFound, "The TagSet does not exist"), "BucketName", b.name())
	}
	return &s3.GetBucketTaggingOutput{TagSet: tagList(b.res.Tags)}, nil
}

func tagList(m map[string]string) []s3.Tag {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]s3.Tag, 0, len(keys))
	for _, k := range keys {
		out = append(out, s3.Tag{Key: ptr(k), Value: ptr(m[k])})
	}
	return out
}

// PutBucketTagging implements s3.API: the tag set replaces the bucket's tags.
func (s *Service) PutBucketTagging(ctx context.Context, in *s3.PutBucketTaggingRequest) (*s3.PutBucketTaggingOutput, error) {
	c := callOf(ctx)
	b, err := s.bucket(ctx, c, in.Bucket, in.ExpectedBucketOwner)
	if err != nil {
		return nil, err
	}
	if in.Tagging == nil {
		return nil, errMalformedXML()
	}
	tags, err := tagMap(in.Tagging.TagSet)
	if err != nil {
		return nil, err
	}
	b.res.Tags = tags
	return &s3.PutBucketTaggingOutput{}, s.save(ctx, c, b)
}

// DeleteBucketTagging implements s3.API.
func (s *Service) DeleteBucketTagging(ctx context.Context, in *s3.DeleteBucketTaggingRequest) (*s3.DeleteBucketTaggingOutput, error) {
	c := callOf(ctx)
	b, err := s.bucket(ctx, c, in.Bucket, in.ExpectedBucketOwner)
	if err != nil {
		return nil, err
	}
	b.res.Tags = nil
	return &s3.DeleteBucketTaggingOutput{}, s.save(ctx, c, b)
}

// GetPublicAccessBlock implements s3.API.
func (s *Service) GetPublicAccessBlock(ctx context.Context, in *s3.GetPublicAccessBlockRequest) (*s3.GetPublicAccessBlockOutput, error) {
	c := callOf(ctx)
	b, err := s.bucket(ctx, c, in.Bucket, in.ExpectedBucketOwner)
	if err != nil {
		return nil, err
	}
	if b.cfg.PublicAccessBlock == nil {
		return nil, awserr.New("NoSuchPublicAccessBlockConfiguration", http.StatusNotFound,
			"The public access block configuration was not found")
	}
	return &s3.GetPublicAccessBlockOutput{PublicAccessBlockConfiguration: b.cfg.PublicAccessBlock}, nil
}

// PutPublicAccessBlock implements s3.API; settings left out are false.
func (s *Service) PutPublicAccessBlock(ctx context.Context, in *s3.PutPublicAccessBlockRequest) (*s3.PutPublicAccessBlockOutput, error) {
	c := callOf(ctx)
	b, err := s.bucket(ctx, c, in.Bucket, in.ExpectedBucketOwner)
	if err != nil {
		return nil, err
	}
	p := in.PublicAccessBlockConfiguration
	if p == nil {
		return nil, errMalformedXML()
	}
	f := func(v *bool) *bool { return ptr(v != nil && *v) }
	b.cfg.PublicAccessBlock = &s3.PublicAccessBlockConfiguration{BlockPublicAcls: f(p.BlockPublicAcls),
		IgnorePublicAcls: f(p.IgnorePublicAcls), BlockPublicPolicy: f(p.BlockPublicPolicy), RestrictPublicBuckets: f(p.RestrictPublicBuckets)}
	return &s3.PutPublicAccessBlockOutput{}, s.save(ctx, c, b)
}

// DeletePublicAccessBlock implements s3.API.
func (s *Service) DeletePublicAccessBlock(ctx context.Context, in *s3.DeletePublicAccessBlockRequest) (*s3.DeletePublicAccessBlockOutput, error) {
	c := callOf(ctx)
	b, err := s.bucket(ctx, c, in.Bucket, in.ExpectedBucketOwner)
	if err != nil {
		return nil, err
	}
	b.cfg.PublicAccessBlock = nil
	return &s3.DeletePublicAccessBlockOutput{}, s.save(ctx, c, b)
}
