package objects

import (
	"testing"

	"github.com/bannin/bannin/internal/wire/s3"
)

func TestBucketSettings(t *testing.T) {
	e := newEnv(t)
	e.createBucket(acct, "conf")
	b := ptr("conf")

	// Policy.
	_, _, err := do(e, acct, "GetBucketPolicy", e.svc.GetBucketPolicy, &s3.GetBucketPolicyRequest{Bucket: b})
	wantErr(t, "GetBucketPolicy(none)", err, "NoSuchBucketPolicy", 404)
	for _, bad := range []string{"not json", `{"Version":"2012-10-17"}`, `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::elsewhere/*"}]}`} {
		_, _, err = do(e, acct, "PutBucketPolicy", e.svc.PutBucketPolicy, &s3.PutBucketPolicyRequest{Bucket: b, Policy: ptr(bad)})
		wantErr(t, "PutBucketPolicy("+bad+")", err, "MalformedPolicy", 400)
	}
	public := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::conf/*"}]}`
	_, _, err = do(e, acct, "PutBucketPolicy", e.svc.PutBucketPolicy, &s3.PutBucketPolicyRequest{Bucket: b, Policy: ptr(public)})
	wantErr(t, "PutBucketPolicy(public, blocked)", err, "AccessDenied", 403)
	trail := `{"Version":"2012-10-17","Statement":[{"Sid":"AWSCloudTrailWrite","Effect":"Allow","Principal":{"Service":"cloudtrail.amazonaws.com"},"Action":"s3:PutObject","Resource":"arn:aws:s3:::conf/AWSLogs/111122223333/*","Condition":{"StringEquals":{"s3:x-amz-acl":"bucket-owner-full-control"}}}]}`
	_, c, err := do(e, acct, "PutBucketPolicy", e.svc.PutBucketPolicy, &s3.PutBucketPolicyRequest{Bucket: b, Policy: ptr(trail)})
	if err != nil {
		t.Fatalf("PutBucketPolicy(CloudTrail) = %v", err)
	}
	if len(c.Resources) != 1 || c.Resources[0].Type != "AWS::S3::Bucket" || c.Resources[0].Name != "conf" {
		t.Errorf("PutBucketPolicy touched %+v; want the bucket", c.Resources)
	}
	pol := ok(e, acct, "GetBucketPolicy", e.svc.GetBucketPolicy, &s3.GetBucketPolicyRequest{Bucket: b})
	if str(pol.Policy) != trail {
		t.Errorf("GetBucketPolicy = %s; want %s", str(pol.Policy), trail)
	}
	ok(e, acct, "DeleteBucketPolicy", e.svc.DeleteBucketPolicy, &s3.DeleteBucketPolicyRequest{Bucket: b})
	_, _, err = do(e, acct, "GetBucketPolicy", e.svc.GetBucketPolicy, &s3.GetBucketPolicyRequest{Bucket: b})
	wantErr(t, "GetBucketPolicy(deleted)", err, "NoSuchBucketPolicy", 404)

	// Public access block: on by default, then gone, then public policies pass.
	pab := ok(e, acct, "GetPublicAccessBlock", e.svc.GetPublicAccessBlock, &s3.GetPublicAccessBlockRequest{Bucket: b})
	if p := pab.PublicAccessBlockConfiguration; !*p.BlockPublicAcls || !*p.BlockPublicPolicy || !*p.IgnorePublicAcls || !*p.RestrictPublicBuckets {
		t.Errorf("GetPublicAccessBlock(new bucket) = %+v; want all true", p)
	}
	ok(e, acct, "DeletePublicAccessBlock", e.svc.DeletePublicAccessBlock, &s3.DeletePublicAccessBlockRequest{Bucket: b})
	_, _, err = do(e, acct, "GetPublicAccessBlock", e.svc.GetPublicAccessBlock, &s3.GetPublicAccessBlockRequest{Bucket: b})
	wantErr(t, "GetPublicAccessBlock(deleted)", err, "NoSuchPublicAccessBlockConfiguration", 404)
	ok(e, acct, "PutBucketPolicy", e.svc.PutBucketPolicy, &s3.PutBucketPolicyRequest{Bucket: b, Policy: ptr(public)})
	ok(e, acct, "PutPublicAccessBlock", e.svc.PutPublicAccessBlock, &s3.PutPublicAccessBlockRequest{Bucket: b,
		PublicAccessBlockConfiguration: &s3.PublicAccessBlockConfiguration{BlockPublicAcls: ptr(true)}})
	pab = ok(e, acct, "GetPublicAccessBlock", e.svc.GetPublicAccessBlock, &s3.GetPublicAccessBlockRequest{Bucket: b})
	if p := pab.PublicAccessBlockConfiguration; !*p.BlockPublicAcls || *p.BlockPublicPolicy {
		t.Errorf("GetPublicAccessBlock = %+v; want BlockPublicAcls only", p)
	}

	// ACL: owner only while ACLs are disabled.
	acl := ok(e, acct, "GetBucketAcl", e.svc.GetBucketAcl, &s3.GetBucketAclRequest{Bucket: b})
	if len(acl.Grants) != 1 || str(acl.Grants[0].Permission) != "FULL_CONTROL" || str(acl.Grants[0].Grantee.ID) != CanonicalUserID(acct) {
		t.Errorf("GetBucketAcl = %+v; want the owner's FULL_CONTROL", acl.Grants)
	}
	_, _, err = do(e, acct, "PutBucketAcl", e.svc.PutBucketAcl, &s3.PutBucketAclRequest{Bucket: b, ACL: ptr("public-read")})
	wantErr(t, "PutBucketAcl(public-read, ACLs disabled)", err, "AccessControlListNotSupported", 400)
	ok(e, acct, "PutBucketAcl", e.svc.PutBucketAcl, &s3.PutBucketAclRequest{Bucket: b, ACL: ptr("private")})
	e.createBucketWith(&s3.CreateBucketRequest{Bucket: ptr("acl-bucket"), ObjectOwnership: ptr("BucketOwnerPreferred")})
	ok(e, acct, "DeletePublicAccessBlock", e.svc.DeletePublicAccessBlock, &s3.DeletePublicAccessBlockRequest{Bucket: ptr("acl-bucket")})
	ok(e, acct, "PutBucketAcl", e.svc.PutBucketAcl, &s3.PutBucketAclRequest{Bucket: ptr("acl-bucket"), ACL: ptr("log-delivery-write")})
	acl = ok(e, acct, "GetBucketAcl", e.svc.GetBucketAcl, &s3.GetBucketAclRequest{Bucket: ptr("acl-bucket")})
	if len(acl.Grants) != 3 || str(acl.Grants[1].Grantee.URI) != groupLogDelivery {
		t.Errorf("GetBucketAcl(log-delivery-write) = %d grants; want owner + 2 LogDelivery", len(acl.Grants))
	}
	ok(e, acct, "PutBucketAcl", e.svc.PutBucketAcl, &s3.PutBucketAclRequest{Bucket: ptr("acl-bucket"),
		GrantRead: ptr(`uri="http://acs.amazonaws.com/groups/global/AllUsers"`), GrantFullControl: ptr(`id="` + CanonicalUserID(acct) + `"`)})
	acl = ok(e, acct, "GetBucketAcl", e.svc.GetBucketAcl, &s3.GetBucketAclRequest{Bucket: ptr("acl-bucket")})
	if len(acl.Grants) != 2 || str(acl.Grants[1].Grantee.URI) != groupAllUsers || str(acl.Grants[1].Permission) != "READ" {
		t.Errorf("GetBucketAcl(grant headers) = %+v; want owner + AllUsers READ", acl.Grants)
	}

	// Encryption: SSE-S3 by default and after delete.
	enc := ok(e, acct, "GetBucketEncryption", e.svc.GetBucketEncryption, &s3.GetBucketEncryptionRequest{Bucket: b})
	if alg := str(enc.ServerSideEncryptionConfiguration.Rules[0].ApplyServerSideEncryptionByDefault.SSEAlgorithm); alg != "AES256" {
		t.Errorf("GetBucketEncryption(new) = %s; want AES256", alg)
	}
	_, _, err = do(e, acct, "PutBucketEncryption", e.svc.PutBucketEncryption, &s3.PutBucketEncryptionRequest{Bucket: b,
		ServerSideEncryptionConfiguration: &s3.ServerSideEncryptionConfiguration{Rules: []s3.ServerSideEncryptionRule{{
			ApplyServerSideEncryptionByDefault: &s3.ServerSideEncryptionByDefault{SSEAlgorithm: ptr("DES")}}}}})
	wantErr(t, "PutBucketEncryption(DES)", err, "MalformedXML", 400)
	ok(e, acct, "PutBucketEncryption", e.svc.PutBucketEncryption, &s3.PutBucketEncryptionRequest{Bucket: b,
		ServerSideEncryptionConfiguration: &s3.ServerSideEncryptionConfiguration{Rules: []s3.ServerSideEncryptionRule{{
			ApplyServerSideEncryptionByDefault: &s3.ServerSideEncryptionByDefault{SSEAlgorithm: ptr("aws:kms"), KMSMasterKeyID: ptr("alias/logs")},
			BucketKeyEnabled:                   ptr(true)}}}})
	put := ok(e, acct, "PutObject", e.svc.PutObject, &s3.PutObjectRequest{Bucket: b, Key: ptr("k"), Body: e.spool("x")})
	if str(put.ServerSideEncryption) != "aws:kms" || str(put.SSEKMSKeyId) != "alias/logs" || put.BucketKeyEnabled == nil {
		t.Errorf("PutObject(KMS default) = %q %q %v; want aws:kms alias/logs bucket key", str(put.ServerSideEncryption), str(put.SSEKMSKeyId), put.BucketKeyEnabled)
	}
	ok(e, acct, "DeleteBucketEncryption", e.svc.DeleteBucketEncryption, &s3.DeleteBucketEncryptionRequest{Bucket: b})
	enc = ok(e, acct, "GetBucketEncryption", e.svc.GetBucketEncryption, &s3.GetBucketEncryptionRequest{Bucket: b})
	if alg := str(enc.ServerSideEncryptionConfiguration.Rules[0].ApplyServerSideEncryptionByDefault.SSEAlgorithm); alg != "AES256" {
		t.Errorf("GetBucketEncryption(after delete) = %s; want AES256", alg)
	}

	// Tagging lives in the resource's tags.
	_, _, err = do(e, acct, "GetBucketTagging", e.svc.GetBucketTagging, &s3.GetBucketTaggingRequest{Bucket: b})
	wantErr(t, "GetBucketTagging(none)", err, "NoSuchTagSet", 404)
	_, _, err = do(e, acct, "PutBucketTagging", e.svc.PutBucketTagging, &s3.PutBucketTaggingRequest{Bucket: b,
		Tagging: &s3.Tagging{TagSet: []s3.Tag{{Key: ptr("a"), Value: ptr("1")}, {Key: ptr("a"), Value: ptr("2")}}}})
	wantErr(t, "PutBucketTagging(duplicate keys)", err, "InvalidTag", 400)
	ok(e, acct, "PutBucketTagging", e.svc.PutBucketTagging, &s3.PutBucketTaggingRequest{Bucket: b,
		Tagging: &s3.Tagging{TagSet: []s3.Tag{{Key: ptr("team"), Value: ptr("sec")}, {Key: ptr("env"), Value: ptr("prod")}}}})
	tags := ok(e, acct, "GetBucketTagging", e.svc.GetBucketTagging, &s3.GetBucketTaggingRequest{Bucket: b})
	if len(tags.TagSet) != 2 || str(tags.TagSet[0].Key) != "env" || str(tags.TagSet[1].Value) != "sec" {
		t.Errorf("GetBucketTagging = %+v; want env=prod team=sec", tags.TagSet)
	}
	found, err := findBucketView(e, "conf")
	if err != nil || found.res.Tags["team"] != "sec" || found.cfg.Policy != public || found.cfg.Encryption == nil {
		t.Errorf("stored bucket = %+v, %v; want tags, policy and encryption in the resource", found, err)
	}
	ok(e, acct, "DeleteBucketTagging", e.svc.DeleteBucketTagging, &s3.DeleteBucketTaggingRequest{Bucket: b})
	_, _, err = do(e, acct, "GetBucketTagging", e.svc.GetBucketTagging, &s3.GetBucketTaggingRequest{Bucket: b})
	wantErr(t, "GetBucketTagging(deleted)", err, "NoSuchTagSet", 404)
}
