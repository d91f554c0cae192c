package compliance

import "strings"

// Amazon SNS managed rules. Topics are AWS::SNS::Topic items whose configuration holds
// the topic's attributes (TopicArn, KmsMasterKeyId, delivery status logging).

const topicType = "AWS::SNS::Topic"

func init() {
	register(&Managed{
		Identifier: "SNS_ENCRYPTED_KMS", Types: []string{topicType}, Trigger: OnChange,
		Params: []Param{{Name: "kmsKeyIds", Type: "CSV"}},
		Evaluate: func(t *CI, p Params) Result {
			key := asString(t.Conf("KmsMasterKeyId"))
			switch {
			case key == "":
				return fail("The topic is not encrypted with AWS KMS")
			case len(p.List("kmsKeyIds")) > 0 && !contains(p.List("kmsKeyIds"), key):
				return fail("The topic is encrypted with %s, not one of kmsKeyIds", key)
			}
			return ok()
		},
	})
	register(&Managed{
		Identifier: "SNS_TOPIC_MESSAGE_DELIVERY_NOTIFICATION_ENABLED", Types: []string{topicType}, Trigger: OnChange,
		Evaluate: func(t *CI, p Params) Result {
			for _, d := range asList(t.Conf("DeliveryStatusLogging")) {
				if asString(lookup(d, "FailureFeedbackRoleArn")) != "" {
					return ok()
				}
			}
			if m, isMap := t.Conf().(map[string]any); isMap {
				for k, v := range m {
					if strings.HasSuffix(strings.ToLower(k), "failurefeedbackrolearn") && asString(v) != "" {
						return ok()
					}
				}
			}
			return fail("Delivery status logging is not enabled for any protocol")
		},
	})
}
