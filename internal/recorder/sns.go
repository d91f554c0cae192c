package recorder

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/bannin/bannin/internal/notify"
	"github.com/bannin/bannin/internal/store"
)

func init() {
	shapers[notify.TopicType] = shapeTopic
	shapers[notify.SubscriptionType] = shapeSubscription
}

// snsDocument is the part of notify's stored topic and subscription documents the shapers
// read. Anything else stored (a confirmation token of older versions, bookkeeping such as
// confirmation times) stays out of the item.
type snsDocument struct {
	TopicArn        string            `json:"TopicArn"`
	SubscriptionArn string            `json:"SubscriptionArn"`
	Protocol        string            `json:"Protocol"`
	Endpoint        string            `json:"Endpoint"`
	Owner           string            `json:"Owner"`
	Confirmed       bool              `json:"Confirmed"`
	Authenticated   bool              `json:"Authenticated"`
	Attributes      map[string]string `json:"Attributes"`
}

// shapeTopic gives a topic AWS Config's configuration: its attributes at the top level with
// TopicArn and Owner (the AWS::SNS::Topic properties of AWS Config's resource schema), the
// feedback sample rates as integers.
func shapeTopic(r *store.Resource) (json.RawMessage, map[string]json.RawMessage, []Relationship, error) {
	var doc snsDocument
	if err := json.Unmarshal(r.Config, &doc); err != nil {
		return nil, nil, nil, fmt.Errorf("decode topic: %w", err)
	}
	cfg := map[string]any{"TopicArn": doc.TopicArn, "Owner": r.Account}
	for k, v := range doc.Attributes {
		if strings.HasSuffix(k, "SampleRate") {
			if n, err := strconv.Atoi(v); err == nil {
				cfg[k] = n
				continue
			}
		}
		cfg[k] = v
	}
	return raw(cfg), nil, nil, nil
}

// shapeSubscription gives a subscription AWS Config's configuration, with the properties
// of the AWS::SNS::Subscription resource schema (policies as JSON, RawMessageDelivery as a
// boolean) and the state GetSubscriptionAttributes reports. An HTTP/S endpoint's password
// is masked: configuration items go to notifications, snapshots and history files, which
// is not who may read it (AWS shows it through GetSubscriptionAttributes only).
func shapeSubscription(r *store.Resource) (json.RawMessage, map[string]json.RawMessage, []Relationship, error) {
	var doc snsDocument
	if err := json.Unmarshal(r.Config, &doc); err != nil {
		return nil, nil, nil, fmt.Errorf("decode subscription: %w", err)
	}
	cfg := map[string]any{
		"SubscriptionArn":              doc.SubscriptionArn,
		"TopicArn":                     doc.TopicArn,
		"Protocol":                     doc.Protocol,
		"Endpoint":                     notify.RedactURL(doc.Endpoint),
		"Owner":                        doc.Owner,
		"Region":                       r.Region,
		"PendingConfirmation":          !doc.Confirmed,
		"ConfirmationWasAuthenticated": doc.Authenticated,
		"RawMessageDelivery":           false,
	}
	for k, v := range doc.Attributes {
		switch k {
		case "DeliveryPolicy", "FilterPolicy", "RedrivePolicy", "ReplayPolicy":
			var obj any
			if json.Unmarshal([]byte(v), &obj) == nil {
				cfg[k] = obj
			} else {
				cfg[k] = v
			}
		case "RawMessageDelivery":
			cfg[k] = v == "true"
		default:
			cfg[k] = v
		}
	}
	return raw(cfg), nil, nil, nil
}
