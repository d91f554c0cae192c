package recorder

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/bannin/bannin/internal/objects"
	"github.com/bannin/bannin/internal/store"
)

func init() { shapers[bucketType] = shapeBucket }

// groupGrantees are the S3 predefined groups, named as AWS Config's AccessControlList
// names them.
var groupGrantees = map[string]string{
	"http://acs.amazonaws.com/groups/global/AllUsers":           "AllUsers",
	"http://acs.amazonaws.com/groups/global/AuthenticatedUsers": "AuthenticatedUsers",
	"http://acs.amazonaws.com/groups/s3/LogDelivery":            "LogDelivery",
}

// aclPermissions are S3 permissions as AWS Config's AccessControlList spells them.
var aclPermissions = map[string]string{
	"FULL_CONTROL": "FullControl", "READ": "Read", "WRITE": "Write", "READ_ACP": "ReadAcp", "WRITE_ACP": "WriteAcp",
}

func raw(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		return json.RawMessage("null")
	}
	return b
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

// shapeBucket gives an S3 bucket AWS Config's configuration and the supplementary
// configuration that managed rules read (versioning, policy, encryption, public access
// block, ACL, logging).
func shapeBucket(r *store.Resource) (json.RawMessage, map[string]json.RawMessage, []Relationship, error) {
	var b objects.Bucket
	if err := json.Unmarshal(r.Config, &b); err != nil {
		return nil, nil, nil, fmt.Errorf("decode bucket: %w", err)
	}
	owner := map[string]any{"displayName": nil, "id": b.Owner}
	cfg := map[string]any{"name": b.Name, "owner": owner, "creationDate": formatTime(b.CreationDate)}
	supp := map[string]json.RawMessage{}

	var grants []any
	for _, g := range b.Grants {
		perm := deref(g.Permission)
		if p, ok := perm.(string); ok && aclPermissions[p] != "" {
			perm = aclPermissions[p]
		}
		var grantee any
		if g.Grantee != nil {
			if uri, _ := deref(g.Grantee.URI).(string); uri != "" {
				grantee = uri
				if name := groupGrantees[uri]; name != "" {
					grantee = name
				}
			} else {
				grantee = map[string]any{"id": deref(g.Grantee.ID), "displayName": deref(g.Grantee.DisplayName)}
			}
		}
		grants = append(grants, map[string]any{"grantee": grantee, "permission": perm})
	}
	if grants == nil {
		grants = []any{map[string]any{"grantee": map[string]any{"id": b.Owner, "displayName": nil}, "permission": "FullControl"}}
	}
	acl := raw(map[string]any{"grantSet": nil, "grantList": grants, "owner": owner, "isRequesterCharged": false})
	supp["AccessControlList"] = raw(string(acl)) // AWS gives the ACL as a JSON string

	supp["BucketAccelerateConfiguration"] = raw(map[string]any{"status": nil})
	if l := b.Logging; l != nil && l.TargetBucket != nil {
		supp["BucketLoggingConfiguration"] = raw(map[string]any{"destinationBucketName": *l.TargetBucket, "logFilePrefix": l.TargetPrefix})
	} else {
		supp["BucketLoggingConfiguration"] = raw(map[string]any{"destinationBucketName": nil, "logFilePrefix": nil})
	}
	supp["BucketNotificationConfiguration"] = raw(map[string]any{"configurations": map[string]any{}})
	var policy any
	if b.Policy != "" {
		policy = b.Policy
	}
	supp["BucketPolicy"] = raw(map[string]any{"policyText": policy})
	status := b.Versioning
	if status == "" {
		status = "Off"
	}
	var mfa any
	switch strings.ToLower(b.MFADelete) {
	case "enabled":
		mfa = true
	case "disabled":
		mfa = false
	}
	supp["BucketVersioningConfiguration"] = raw(map[string]any{"status": status, "isMfaDeleteEnabled": mfa})
	supp["IsRequesterPaysEnabled"] = raw(false)

	// Since January 2023 every bucket has SSE-S3 default encryption unless set otherwise.
	rules := []any{map[string]any{"applyServerSideEncryptionByDefault": map[string]any{"sseAlgorithm": "AES256", "kmsMasterKeyID": nil}, "bucketKeyEnabled": false}}
	if b.Encryption != nil && len(b.Encryption.Rules) > 0 {
		rules = rules[:0]
		for _, rule := range b.Encryption.Rules {
			var def any
			if d := rule.ApplyServerSideEncryptionByDefault; d != nil {
				def = map[string]any{"sseAlgorithm": deref(d.SSEAlgorithm), "kmsMasterKeyID": deref(d.KMSMasterKeyID)}
			}
			bke := deref(rule.BucketKeyEnabled)
			if bke == nil {
				bke = false
			}
			rules = append(rules, map[string]any{"applyServerSideEncryptionByDefault": def, "bucketKeyEnabled": bke})
		}
	}
	supp["ServerSideEncryptionConfiguration"] = raw(map[string]any{"rules": rules})
	if p := b.PublicAccessBlock; p != nil {
		flag := func(v *bool) bool { return v != nil && *v }
		supp["PublicAccessBlockConfiguration"] = raw(map[string]any{"blockPublicAcls": flag(p.BlockPublicAcls),
			"ignorePublicAcls": flag(p.IgnorePublicAcls), "blockPublicPolicy": flag(p.BlockPublicPolicy),
			"restrictPublicBuckets": flag(p.RestrictPublicBuckets)})
	}
	if b.ObjectLock {
		supp["BucketObjectLockConfiguration"] = raw(map[string]any{"objectLockEnabled": "Enabled"})
	}
	if b.ObjectOwnership != "" {
		supp["BucketOwnershipControls"] = raw(map[string]any{"rules": []any{map[string]any{"objectOwnership": b.ObjectOwnership}}})
	}
	return raw(cfg), supp, nil, nil
}
