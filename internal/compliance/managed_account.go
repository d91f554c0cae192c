package compliance

// Account-level managed rules that combine resources of several types.

const accountPABType = "AWS::S3::AccountPublicAccessBlock"

func init() {
	pabParams := []Param{
		{Name: "IgnorePublicAcls", Type: "String", Default: "True", Check: oneOf("True", "False", "true", "false")},
		{Name: "BlockPublicPolicy", Type: "String", Default: "True", Check: oneOf("True", "False", "true", "false")},
		{Name: "BlockPublicAcls", Type: "String", Default: "True", Check: oneOf("True", "False", "true", "false")},
		{Name: "RestrictPublicBuckets", Type: "String", Default: "True", Check: oneOf("True", "False", "true", "false")},
	}
	pab := func(c *CI, p Params) Result {
		for _, k := range []string{"IgnorePublicAcls", "BlockPublicPolicy", "BlockPublicAcls", "RestrictPublicBuckets"} {
			if p.Bool(k, true) && !asBool(c.Conf(k)) {
				return fail("Account-level Block Public Access setting %s is not enabled", k)
			}
		}
		return ok()
	}
	register(&Managed{Identifier: "S3_ACCOUNT_LEVEL_PUBLIC_ACCESS_BLOCKS", Types: []string{accountPABType}, Trigger: OnChange,
		Params: pabParams, Evaluate: pab})
	register(&Managed{Identifier: "S3_ACCOUNT_LEVEL_PUBLIC_ACCESS_BLOCKS_PERIODIC", Types: []string{accountPABType}, Trigger: Periodic,
		Params: pabParams,
		EvaluateAll: func(account string, items []*CI, p Params) []Evaluation {
			for _, c := range items {
				if c.ResourceType == accountPABType {
					return accountResult(account, pab(c, p))
				}
			}
			return accountResult(account, fail("Account-level Block Public Access is not configured"))
		}})
	register(&Managed{Identifier: "IAM_ROOT_ACCESS_KEY_CHECK", Trigger: Periodic,
		EvaluateAccount: func(account string, f AccountFacts, _ Params) []Evaluation {
			if n := len(f.RootAccessKeys); n > 0 {
				return accountResult(account, fail("The root user has %d active access key(s)", n))
			}
			return accountResult(account, ok())
		}})
	trailBucket := func(id string, check func(b *CI) string) {
		register(&Managed{Identifier: id, Types: []string{trailType, bucketType}, Trigger: Periodic,
			EvaluateAll: func(account string, items []*CI, p Params) []Evaluation {
				buckets := map[string]*CI{}
				for _, c := range items {
					if c.ResourceType == bucketType {
						buckets[bucketName(c)] = c
					}
				}
				var out []Evaluation
				for _, t := range items {
					if t.ResourceType != trailType {
						continue
					}
					name := asString(t.Conf("s3BucketName"))
					b := buckets[name]
					r := notApplicable("The trail's bucket is not recorded in this account and Region")
					if b != nil {
						r = verdict(check(b) == "", check(b))
					}
					out = append(out, Evaluation{ResourceType: trailType, ResourceID: t.ResourceID, Result: r})
				}
				return out
			}})
	}
	trailBucket("CLOUDTRAIL_S3_BUCKET_ACCESS_LOGGING", func(b *CI) string {
		if asString(b.Supp("BucketLoggingConfiguration", "destinationBucketName")) == "" {
			return "The trail's S3 bucket has no server access logging"
		}
		return ""
	})
	trailBucket("CLOUDTRAIL_S3_BUCKET_PUBLIC_ACCESS_PROHIBITED", func(b *CI) string {
		if why := publicAccess(b, "read"); why != "" {
			return "The trail's S3 bucket is public: " + why
		}
		if why := publicAccess(b, "write"); why != "" {
			return "The trail's S3 bucket is public: " + why
		}
		return ""
	})
}
