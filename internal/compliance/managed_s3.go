package compliance

import (
	"encoding/json"
	"fmt"
	"path"
	"strings"
)

// Amazon S3 managed rules. Buckets are AWS::S3::Bucket items whose
// supplementaryConfiguration holds the bucket's sub-resources as AWS Config records them:
// AccessControlList, BucketPolicy (policyText), BucketVersioningConfiguration,
// ServerSideEncryptionConfiguration, BucketLoggingConfiguration,
// PublicAccessBlockConfiguration, BucketNotificationConfiguration,
// BucketLifecycleConfiguration, BucketReplicationConfiguration, ObjectLockConfiguration.

const bucketType = "AWS::S3::Bucket"

func s3Rule(id string, params []Param, eval func(b *CI, p Params) Result) {
	register(&Managed{Identifier: id, Types: []string{bucketType}, Trigger: OnChange, Params: params, Evaluate: eval})
}

func init() {
	s3Rule("S3_BUCKET_VERSIONING_ENABLED", []Param{{Name: "isMfaDeleteEnabled", Type: "boolean"}}, func(b *CI, p Params) Result {
		if st := asString(b.Supp("BucketVersioningConfiguration", "status")); st != "Enabled" {
			return fail("Versioning is %s", orWord(st, "Off"))
		}
		if p.Set("isMfaDeleteEnabled") && p.Bool("isMfaDeleteEnabled", false) != asBool(b.Supp("BucketVersioningConfiguration", "isMfaDeleteEnabled")) {
			return fail("MFA delete is not %v", p.Bool("isMfaDeleteEnabled", false))
		}
		return ok()
	})
	s3Rule("S3_BUCKET_SERVER_SIDE_ENCRYPTION_ENABLED", nil, func(b *CI, p Params) Result {
		return verdict(len(sseAlgorithms(b)) > 0, "Default server-side encryption is not enabled")
	})
	s3Rule("S3_DEFAULT_ENCRYPTION_KMS", []Param{{Name: "kmsKeyArns", Type: "CSV"}}, func(b *CI, p Params) Result {
		keys := p.List("kmsKeyArns")
		for _, r := range asList(b.Supp("ServerSideEncryptionConfiguration", "rules")) {
			alg := asString(lookup(r, "applyServerSideEncryptionByDefault", "sseAlgorithm"))
			if alg != "aws:kms" && alg != "aws:kms:dsse" {
				continue
			}
			key := asString(lookup(r, "applyServerSideEncryptionByDefault", "kmsMasterKeyID"))
			if len(keys) == 0 || contains(keys, key) {
				return ok()
			}
			return fail("Default encryption uses KMS key %s, not one of kmsKeyArns", orWord(key, "aws/s3"))
		}
		return fail("Default encryption does not use AWS KMS")
	})
	s3Rule("S3_BUCKET_LOGGING_ENABLED", []Param{{Name: "targetBucket", Type: "String"}, {Name: "targetPrefix", Type: "String"}}, func(b *CI, p Params) Result {
		dest := asString(b.Supp("BucketLoggingConfiguration", "destinationBucketName"))
		switch {
		case dest == "":
			return fail("Server access logging is not enabled")
		case p.Set("targetBucket") && dest != p.Str("targetBucket"):
			return fail("Access logs go to %s, not %s", dest, p.Str("targetBucket"))
		case p.Set("targetPrefix") && asString(b.Supp("BucketLoggingConfiguration", "logFilePrefix")) != p.Str("targetPrefix"):
			return fail("Access log prefix is not %s", p.Str("targetPrefix"))
		}
		return ok()
	})
	s3Rule("S3_BUCKET_LEVEL_PUBLIC_ACCESS_PROHIBITED", []Param{{Name: "excludedPublicBuckets", Type: "CSV"}}, func(b *CI, p Params) Result {
		if contains(p.List("excludedPublicBuckets"), bucketName(b)) {
			return notApplicable("")
		}
		pab := b.Supp("PublicAccessBlockConfiguration")
		for _, k := range []string{"blockPublicAcls", "ignorePublicAcls", "blockPublicPolicy", "restrictPublicBuckets"} {
			if !asBool(lookup(pab, k)) {
				return fail("Block Public Access setting %s is not enabled", k)
			}
		}
		return ok()
	})
	s3Rule("S3_BUCKET_PUBLIC_READ_PROHIBITED", nil, func(b *CI, p Params) Result {
		if why := publicAccess(b, "read"); why != "" {
			return fail("%s", why)
		}
		return ok()
	})
	s3Rule("S3_BUCKET_PUBLIC_WRITE_PROHIBITED", nil, func(b *CI, p Params) Result {
		if why := publicAccess(b, "write"); why != "" {
			return fail("%s", why)
		}
		return ok()
	})
	s3Rule("S3_BUCKET_SSL_REQUESTS_ONLY", nil, func(b *CI, p Params) Result {
		for _, st := range policyStatements(b) {
			if asString(lookup(st, "Effect")) != "Deny" || !principalIsEveryone(lookup(st, "Principal")) {
				continue
			}
			if !anyMatch(asStrings(lookup(st, "Action")), "s3:GetObject") {
				continue
			}
			cond := lookup(st, "Condition", "Bool", "aws:SecureTransport")
			if cond == nil {
				continue
			}
			if v := asStrings(cond); len(v) == 1 && strings.EqualFold(v[0], "false") {
				return ok()
			}
		}
		return fail("The bucket policy does not deny requests without SSL (aws:SecureTransport false)")
	})
	s3Rule("S3_BUCKET_ACL_PROHIBITED", nil, func(b *CI, p Params) Result {
		if ownershipEnforced(b) {
			return ok()
		}
		owner := asString(lookup(b.Supp("AccessControlList"), "owner", "id"))
		for _, g := range asList(lookup(b.Supp("AccessControlList"), "grantList")) {
			id := asString(lookup(g, "grantee", "id"))
			if id == "" || id != owner {
				return fail("ACLs grant access to %s", granteeName(lookup(g, "grantee")))
			}
		}
		return ok()
	})
	s3Rule("S3_BUCKET_DEFAULT_LOCK_ENABLED", []Param{{Name: "mode", Type: "String", Check: oneOf("GOVERNANCE", "COMPLIANCE")}}, func(b *CI, p Params) Result {
		lock := b.Supp("BucketObjectLockConfiguration")
		if lock == nil {
			lock = b.Supp("ObjectLockConfiguration")
		}
		if lock == nil {
			lock = b.Conf("objectLockConfiguration")
		}
		if asString(lookup(lock, "objectLockEnabled")) != "Enabled" {
			return fail("Object Lock is not enabled")
		}
		if p.Set("mode") {
			if m := asString(lookup(lock, "rule", "defaultRetention", "mode")); m != p.Str("mode") {
				return fail("Default retention mode is %s, not %s", orWord(m, "unset"), p.Str("mode"))
			}
		}
		return ok()
	})
	s3Rule("S3_BUCKET_POLICY_GRANTEE_CHECK", []Param{
		{Name: "awsPrincipals", Type: "CSV"}, {Name: "servicePrincipals", Type: "CSV"},
		{Name: "federatedUsers", Type: "CSV"}, {Name: "ipAddresses", Type: "CSV"}, {Name: "vpcIds", Type: "CSV"},
	}, func(b *CI, p Params) Result {
		allowed := map[string][]string{"AWS": p.List("awsPrincipals"), "Service": p.List("servicePrincipals"), "Federated": p.List("federatedUsers")}
		for _, st := range policyStatements(b) {
			if asString(lookup(st, "Effect")) != "Allow" {
				continue
			}
			if principalIsEveryone(lookup(st, "Principal")) {
				if conditionLimits(st, p) {
					continue
				}
				return fail("The bucket policy allows access to everyone")
			}
			for kind, ids := range principals(lookup(st, "Principal")) {
				for _, id := range ids {
					if !grantedPrincipal(allowed[kind], id) {
						return fail("The bucket policy grants access to %s principal %s", kind, id)
					}
				}
			}
		}
		return ok()
	})
	s3Rule("S3_BUCKET_POLICY_NOT_MORE_PERMISSIVE", []Param{{Name: "controlPolicy", Type: "String", Required: true, Check: func(v string) error {
		var doc map[string]any
		if err := json.Unmarshal([]byte(v), &doc); err != nil {
			return fmt.Errorf("not a JSON policy document: %v", err)
		}
		return nil
	}}}, func(b *CI, p Params) Result {
		var control map[string]any
		_ = json.Unmarshal([]byte(p.Str("controlPolicy")), &control)
		ctl := asList(control["Statement"])
		for _, st := range policyStatements(b) {
			if asString(lookup(st, "Effect")) != "Allow" {
				continue
			}
			if !coveredBy(st, ctl) {
				return fail("The bucket policy is more permissive than the control policy (statement %s)", orWord(asString(lookup(st, "Sid")), "without Sid"))
			}
		}
		return ok()
	})
	s3Rule("S3_BUCKET_REPLICATION_ENABLED", []Param{{Name: "ReplicationType", Type: "String", Check: oneOf("CROSS-REGION", "SAME-REGION")}}, func(b *CI, p Params) Result {
		repl := b.Supp("BucketReplicationConfiguration")
		rules := asList(lookup(repl, "rules"))
		if m, isMap := lookup(repl, "rules").(map[string]any); isMap {
			rules = rules[:0]
			for _, r := range m {
				rules = append(rules, r)
			}
		}
		for _, r := range rules {
			if asString(lookup(r, "status")) == "Enabled" {
				return ok()
			}
		}
		return fail("Replication is not enabled")
	})
	s3Rule("S3_LIFECYCLE_POLICY_CHECK", []Param{
		{Name: "targetTransitionDays", Type: "int"}, {Name: "targetExpirationDays", Type: "int"},
		{Name: "targetTransitionStorageClass", Type: "String"}, {Name: "targetPrefix", Type: "String"}, {Name: "bucketNames", Type: "CSV"},
	}, func(b *CI, p Params) Result {
		if names := p.List("bucketNames"); len(names) > 0 && !contains(names, bucketName(b)) {
			return notApplicable("")
		}
		for _, r := range asList(b.Supp("BucketLifecycleConfiguration", "rules")) {
			if asString(lookup(r, "status")) != "Enabled" {
				continue
			}
			if p.Set("targetExpirationDays") {
				if d, _ := asFloat(lookup(r, "expirationInDays")); int(d) != p.Int("targetExpirationDays", 0) {
					continue
				}
			}
			return ok()
		}
		return fail("No enabled lifecycle rule matches")
	})
	s3Rule("S3_VERSION_LIFECYCLE_POLICY_CHECK", []Param{{Name: "bucketNames", Type: "CSV"}}, func(b *CI, p Params) Result {
		if names := p.List("bucketNames"); len(names) > 0 && !contains(names, bucketName(b)) {
			return notApplicable("")
		}
		if asString(b.Supp("BucketVersioningConfiguration", "status")) != "Enabled" {
			return notApplicable("Versioning is not enabled")
		}
		for _, r := range asList(b.Supp("BucketLifecycleConfiguration", "rules")) {
			if asString(lookup(r, "status")) == "Enabled" {
				return ok()
			}
		}
		return fail("A versioned bucket has no enabled lifecycle rule")
	})
	s3Rule("S3_EVENT_NOTIFICATIONS_ENABLED", []Param{{Name: "eventTypes", Type: "CSV"}, {Name: "destinationArn", Type: "String"}}, func(b *CI, p Params) Result {
		confs := lookup(b.Supp("BucketNotificationConfiguration"), "configurations")
		var all []any
		switch c := confs.(type) {
		case map[string]any:
			for _, v := range c {
				all = append(all, v)
			}
		case []any:
			all = c
		}
		for _, c := range all {
			if p.Set("destinationArn") {
				dest := asString(lookup(c, "topicARN")) + asString(lookup(c, "queueARN")) + asString(lookup(c, "functionARN"))
				if dest != p.Str("destinationArn") {
					continue
				}
			}
			if evs := p.List("eventTypes"); len(evs) > 0 {
				got := asStrings(lookup(c, "events"))
				missing := false
				for _, e := range evs {
					if !contains(got, e) {
						missing = true
					}
				}
				if missing {
					continue
				}
			}
			return ok()
		}
		return fail("No matching event notification is configured")
	})
}

func orWord(s, w string) string {
	if s == "" {
		return w
	}
	return s
}

// bucketName is the bucket's name (the resource name, else its id).
func bucketName(b *CI) string { return orWord(b.ResourceName, b.ResourceID) }

// sseAlgorithms lists the default encryption algorithms of a bucket.
func sseAlgorithms(b *CI) []string {
	var out []string
	for _, r := range asList(b.Supp("ServerSideEncryptionConfiguration", "rules")) {
		if a := asString(lookup(r, "applyServerSideEncryptionByDefault", "sseAlgorithm")); a != "" {
			out = append(out, a)
		}
	}
	return out
}

// policyStatements returns the statements of the bucket policy (none without a policy).
func policyStatements(b *CI) []any {
	pol := b.Supp("BucketPolicy", "policyText")
	if pol == nil {
		return nil
	}
	return asList(lookup(pol, "Statement"))
}

// asStrings reads a string or list of strings.
func asStrings(v any) []string {
	var out []string
	for _, x := range asList(v) {
		if s := asString(x); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func principalIsEveryone(p any) bool {
	if asString(p) == "*" {
		return true
	}
	return contains(asStrings(lookup(p, "AWS")), "*")
}

// principals groups a statement's principals by kind (AWS, Service, Federated).
func principals(p any) map[string][]string {
	out := map[string][]string{}
	if m, isMap := p.(map[string]any); isMap {
		for k, v := range m {
			out[k] = asStrings(v)
		}
	}
	return out
}

// grantedPrincipal says whether id is one of allowed, comparing account ids with ARNs of
// their account.
func grantedPrincipal(allowed []string, id string) bool {
	for _, a := range allowed {
		if a == id || strings.HasPrefix(id, "arn:aws:iam::"+a+":") || (len(id) == 12 && strings.HasPrefix(a, "arn:aws:iam::"+id+":")) {
			return true
		}
	}
	return false
}

// conditionLimits says whether a statement open to everyone is limited by a condition on
// the source IP or VPC to the given ipAddresses or vpcIds.
func conditionLimits(st any, p Params) bool {
	cond := lookup(st, "Condition")
	if ips := p.List("ipAddresses"); len(ips) > 0 {
		if got := asStrings(lookup(cond, "IpAddress", "aws:SourceIp")); len(got) > 0 && allIn(got, ips) {
			return true
		}
	}
	if vpcs := p.List("vpcIds"); len(vpcs) > 0 {
		if got := asStrings(lookup(cond, "StringEquals", "aws:SourceVpc")); len(got) > 0 && allIn(got, vpcs) {
			return true
		}
	}
	return false
}

func allIn(got, allowed []string) bool {
	for _, g := range got {
		if !contains(allowed, g) {
			return false
		}
	}
	return true
}

// anyMatch says whether one of the policy action patterns matches action.
func anyMatch(patterns []string, action string) bool {
	for _, p := range patterns {
		if wildcard(strings.ToLower(p), strings.ToLower(action)) {
			return true
		}
	}
	return false
}

// wildcard matches IAM-style * and ? patterns.
func wildcard(pattern, s string) bool {
	// path.Match treats / specially; IAM does not, so map / away first.
	ok, err := path.Match(strings.ReplaceAll(pattern, "/", "\x01"), strings.ReplaceAll(s, "/", "\x01"))
	return err == nil && ok
}

// publicAccess says why a bucket allows public read or write ("" if it does not): an ACL
// grant to AllUsers or AuthenticatedUsers or a policy statement allowing everyone without
// a condition, unless the bucket's Block Public Access settings neutralise it.
func publicAccess(b *CI, mode string) string {
	pab := b.Supp("PublicAccessBlockConfiguration")
	if !asBool(lookup(pab, "ignorePublicAcls")) {
		for _, g := range asList(lookup(b.Supp("AccessControlList"), "grantList")) {
			name := granteeName(lookup(g, "grantee"))
			if !strings.Contains(name, "AllUsers") && !strings.Contains(name, "AuthenticatedUsers") {
				continue
			}
			perm := strings.ToLower(strings.ReplaceAll(asString(lookup(g, "permission")), "_", ""))
			if perm == "fullcontrol" || perm == mode {
				return fmt.Sprintf("The bucket ACL grants public %s access to %s", mode, name)
			}
		}
	}
	if asBool(lookup(pab, "restrictPublicBuckets")) {
		return ""
	}
	action := "s3:GetObject"
	if mode == "write" {
		action = "s3:PutObject"
	}
	for _, st := range policyStatements(b) {
		if asString(lookup(st, "Effect")) == "Allow" && principalIsEveryone(lookup(st, "Principal")) &&
			lookup(st, "Condition") == nil && anyMatch(asStrings(lookup(st, "Action")), action) {
			return fmt.Sprintf("The bucket policy allows public %s access", mode)
		}
	}
	return ""
}

// granteeName names an ACL grantee: a group (AllUsers...), a URI, or a canonical id.
func granteeName(g any) string {
	if s := asString(g); s != "" {
		return s
	}
	for _, k := range []string{"uri", "URI", "id", "emailAddress", "displayName"} {
		if s := asString(lookup(g, k)); s != "" {
			return s
		}
	}
	return "unknown grantee"
}

// ownershipEnforced says whether Object Ownership is BucketOwnerEnforced (ACLs disabled).
func ownershipEnforced(b *CI) bool {
	for _, v := range []any{b.Supp("BucketOwnershipControls"), b.Conf("ownershipControls")} {
		if v != nil {
			raw, _ := json.Marshal(v)
			if strings.Contains(string(raw), "BucketOwnerEnforced") {
				return true
			}
		}
	}
	return false
}

// coveredBy says whether every principal/action/resource an Allow statement grants is
// granted by an Allow statement of the control policy.
func coveredBy(st any, control []any) bool {
	acts := asStrings(lookup(st, "Action"))
	ress := asStrings(lookup(st, "Resource"))
	prins := principalList(lookup(st, "Principal"))
	for _, a := range acts {
		for _, r := range ress {
			for _, p := range prins {
				found := false
				for _, c := range control {
					if asString(lookup(c, "Effect")) != "Allow" {
						continue
					}
					if patternCovered(asStrings(lookup(c, "Action")), a) && patternCovered(asStrings(lookup(c, "Resource")), r) &&
						patternCovered(principalList(lookup(c, "Principal")), p) {
						found = true
						break
					}
				}
				if !found {
					return false
				}
			}
		}
	}
	return true
}

func principalList(p any) []string {
	if p == nil {
		return []string{"*"}
	}
	if principalIsEveryone(p) {
		return []string{"*"}
	}
	var out []string
	for k, ids := range principals(p) {
		for _, id := range ids {
			out = append(out, k+":"+id)
		}
	}
	return out
}

// patternCovered says whether value (itself possibly a pattern) is within one of patterns.
func patternCovered(patterns []string, value string) bool {
	for _, p := range patterns {
		if p == "*" || p == value || (!strings.ContainsAny(value, "*?") && wildcard(strings.ToLower(p), strings.ToLower(value))) {
			return true
		}
		if strings.HasSuffix(p, "*") && strings.HasPrefix(value, strings.TrimSuffix(p, "*")) {
			return true
		}
	}
	return false
}
