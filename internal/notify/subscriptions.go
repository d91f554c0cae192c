package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"net/mail"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/bannin/bannin/internal/call"
	"github.com/bannin/bannin/internal/store"
	"github.com/bannin/bannin/internal/wire/sns"
)

// Subscription is a subscription's stored configuration.
type Subscription struct {
	SubscriptionArn string `json:"SubscriptionArn"`
	TopicArn        string `json:"TopicArn"`
	Protocol        string `json:"Protocol"`
	Endpoint        string `json:"Endpoint"`
	Owner           string `json:"Owner"`
	Confirmed       bool   `json:"Confirmed"`
	// ConfirmedAt is when it was confirmed: messages published earlier are not for it.
	ConfirmedAt time.Time `json:"ConfirmedAt,omitzero"`
	// Authenticated is ConfirmationWasAuthenticated: confirmed through the signed API.
	Authenticated bool `json:"Authenticated,omitempty"`
	// AuthOnUnsubscribe refuses the unauthenticated unsubscribe link
	// (ConfirmSubscription's AuthenticateOnUnsubscribe).
	AuthOnUnsubscribe bool `json:"AuthOnUnsubscribe,omitempty"`
	// Token confirms the subscription (ConfirmSubscription, the confirmation link).
	Token string `json:"Token"`
	// Attributes are the settable attributes (FilterPolicy, RawMessageDelivery, ...).
	Attributes map[string]string `json:"Attributes,omitempty"`
	Created    time.Time         `json:"Created"`

	account, region string
}

// protocols are the delivery protocols bannin serves.
var protocols = map[string]bool{"email": true, "email-json": true, "http": true, "https": true}

// settableSubscriptionAttributes are the attributes Subscribe and
// SetSubscriptionAttributes accept.
var settableSubscriptionAttributes = map[string]bool{
	"DeliveryPolicy": true, "FilterPolicy": true, "FilterPolicyScope": true, "RawMessageDelivery": true,
	"RedrivePolicy": true, "SubscriptionRoleArn": true, "ReplayPolicy": true,
}

const pendingConfirmation = "pending confirmation"

func decodeSubscription(r *store.Resource) (*Subscription, error) {
	var sub Subscription
	if err := json.Unmarshal(r.Config, &sub); err != nil {
		return nil, fmt.Errorf("notify: decode subscription %s: %w", r.ID, err)
	}
	sub.account, sub.region = r.Account, r.Region
	if sub.Attributes == nil {
		sub.Attributes = map[string]string{}
	}
	return &sub, nil
}

// getSubscription returns the subscription an ARN names, or nil.
func getSubscription(ctx context.Context, tx store.ReadTx, arn string) (*Subscription, error) {
	p, ok := parseSubARN(arn)
	if !ok {
		return nil, nil
	}
	r, err := tx.GetResource(ctx, p.Account, p.Region, SubscriptionType, arn)
	if err != nil {
		return nil, fmt.Errorf("notify: get subscription %s: %w", arn, err)
	}
	if r == nil {
		return nil, nil
	}
	return decodeSubscription(r)
}

// topicSubscriptions returns the subscriptions of a topic, in ARN order.
func topicSubscriptions(ctx context.Context, tx store.ReadTx, topicARN string) ([]*Subscription, error) {
	var out []*Subscription
	after := ""
	for {
		kvs, err := tx.List(ctx, topicSubsBucket, topicARN+"|", after, 1000)
		if err != nil {
			return nil, fmt.Errorf("notify: list subscriptions of %s: %w", topicARN, err)
		}
		for _, kv := range kvs {
			sub, err := getSubscription(ctx, tx, strings.TrimPrefix(kv.Key, topicARN+"|"))
			if err != nil {
				return nil, err
			}
			if sub != nil {
				out = append(out, sub)
			}
		}
		if len(kvs) < 1000 {
			return out, nil
		}
		after = kvs[len(kvs)-1].Key
	}
}

func saveSubscription(ctx context.Context, tx store.Tx, sub *Subscription) error {
	raw, err := json.Marshal(sub)
	if err != nil {
		return err
	}
	if err := tx.PutResource(ctx, &store.Resource{Account: sub.account, Region: sub.region, Type: SubscriptionType,
		ID: sub.SubscriptionArn, ARN: sub.SubscriptionArn, Config: raw}); err != nil {
		return fmt.Errorf("notify: save subscription %s: %w", sub.SubscriptionArn, err)
	}
	return tx.Put(ctx, topicSubsBucket, sub.TopicArn+"|"+sub.SubscriptionArn, []byte{})
}

func deleteSubscription(ctx context.Context, tx store.Tx, sub *Subscription) error {
	if err := tx.DeleteResource(ctx, sub.account, sub.region, SubscriptionType, sub.SubscriptionArn); err != nil {
		return fmt.Errorf("notify: delete subscription %s: %w", sub.SubscriptionArn, err)
	}
	return tx.Delete(ctx, topicSubsBucket, sub.TopicArn+"|"+sub.SubscriptionArn)
}

// checkEndpoint validates a subscription endpoint for its protocol.
func checkEndpoint(protocol, endpoint string) error {
	switch protocol {
	case "email", "email-json":
		a, err := mail.ParseAddress(endpoint)
		if err != nil || a.Address != endpoint || !strings.Contains(endpoint, "@") {
			return invalidParameter("Invalid parameter: Email address")
		}
	case "http", "https":
		u, err := url.Parse(endpoint)
		if err != nil || u.Scheme != protocol || u.Host == "" {
			return invalidParameter("Invalid parameter: Endpoint must match the specified protocol")
		}
	}
	return nil
}

// checkSubscriptionAttribute validates one attribute value.
func checkSubscriptionAttribute(protocol, name, value string) error {
	switch name {
	case "RawMessageDelivery":
		if value != "true" && value != "false" {
			return invalidParameter("Invalid parameter: Attributes Reason: RawMessageDelivery: Invalid value [%s]. Must be true or false.", value)
		}
		if value == "true" && strings.HasPrefix(protocol, "email") {
			return invalidParameter("Invalid parameter: Attributes Reason: Delivery protocol [%s] does not support raw message delivery.", protocol)
		}
	case "FilterPolicy":
		if value != "" {
			if _, err := compileFilterPolicy(value); err != nil {
				return invalidParameter("Invalid parameter: FilterPolicy: %v", err)
			}
		}
	case "FilterPolicyScope":
		if value != "MessageAttributes" && value != "MessageBody" {
			return invalidParameter("Invalid parameter: Attributes Reason: FilterPolicyScope: Invalid value [%s]. Please use either MessageBody or MessageAttributes", value)
		}
	case "DeliveryPolicy":
		if value != "" {
			if _, err := parseDeliveryPolicy(value, false); err != nil {
				return invalidParameter("Invalid parameter: DeliveryPolicy: %v", err)
			}
		}
	case "RedrivePolicy", "ReplayPolicy":
		var v map[string]any
		if value != "" && json.Unmarshal([]byte(value), &v) != nil {
			return invalidParameter("Invalid parameter: %s: not a JSON object", name)
		}
	}
	return nil
}

// Subscribe subscribes an endpoint to a topic. The subscription stays pending until it is
// confirmed (by the link in the confirmation message, or ConfirmSubscription); nothing is
// delivered to it before that.
func (s *Service) Subscribe(ctx context.Context, in *sns.SubscribeInput) (*sns.SubscribeResponse, error) {
	c := call.From(ctx)
	t, err := callerTopic(ctx, c, aws.ToString(in.TopicArn), "Subscribe")
	if err != nil {
		return nil, err
	}
	protocol, endpoint := aws.ToString(in.Protocol), aws.ToString(in.Endpoint)
	if !protocols[protocol] {
		return nil, invalidParameter("Invalid parameter: Amazon SNS does not support this protocol string: %s", protocol)
	}
	if err := checkEndpoint(protocol, endpoint); err != nil {
		return nil, err
	}
	attrs := map[string]string{}
	for k, v := range in.Attributes {
		if !settableSubscriptionAttributes[k] {
			return nil, invalidParameter("Invalid parameter: Attributes Reason: Unknown attribute %s", k)
		}
		if err := checkSubscriptionAttribute(protocol, k, v); err != nil {
			return nil, err
		}
		attrs[k] = v
	}
	if attrs["FilterPolicy"] != "" && attrs["FilterPolicyScope"] == "" {
		attrs["FilterPolicyScope"] = "MessageAttributes"
	}
	tx := c.Write()
	subs, err := topicSubscriptions(ctx, tx, t.TopicArn)
	if err != nil {
		return nil, err
	}
	for _, sub := range subs {
		if sub.Protocol != protocol || sub.Endpoint != endpoint {
			continue
		}
		for k, v := range attrs {
			if sub.Attributes[k] != v {
				return nil, invalidParameter("Invalid parameter: Attributes Reason: Subscription already exists with different attributes")
			}
		}
		c.Touch(SubscriptionType, sub.SubscriptionArn, sub.SubscriptionArn)
		if sub.Confirmed || aws.ToBool(in.ReturnSubscriptionArn) {
			if !sub.Confirmed {
				if err := s.queueConfirmation(ctx, tx, t, sub); err != nil {
					return nil, err
				}
			}
			return &sns.SubscribeResponse{SubscriptionArn: aws.String(sub.SubscriptionArn)}, nil
		}
		if err := s.queueConfirmation(ctx, tx, t, sub); err != nil {
			return nil, err
		}
		return &sns.SubscribeResponse{SubscriptionArn: aws.String(pendingConfirmation)}, nil
	}
	sub := &Subscription{SubscriptionArn: t.TopicArn + ":" + newID(), TopicArn: t.TopicArn, Protocol: protocol,
		Endpoint: endpoint, Owner: c.Account, Token: newToken(), Attributes: attrs, Created: c.Time,
		account: t.account, region: t.region}
	c.Touch(SubscriptionType, sub.SubscriptionArn, sub.SubscriptionArn)
	if err := saveSubscription(ctx, tx, sub); err != nil {
		return nil, err
	}
	if err := s.queueConfirmation(ctx, tx, t, sub); err != nil {
		return nil, err
	}
	if aws.ToBool(in.ReturnSubscriptionArn) {
		return &sns.SubscribeResponse{SubscriptionArn: aws.String(sub.SubscriptionArn)}, nil
	}
	return &sns.SubscribeResponse{SubscriptionArn: aws.String(pendingConfirmation)}, nil
}

// queueConfirmation queues the confirmation message of a pending subscription.
func (s *Service) queueConfirmation(ctx context.Context, tx store.Tx, t *Topic, sub *Subscription) error {
	return s.enqueue(ctx, tx, &delivery{ID: newID(), Type: typeConfirmation, MessageID: newID(),
		SubscriptionArn: sub.SubscriptionArn, TopicArn: t.TopicArn, Protocol: sub.Protocol, Endpoint: sub.Endpoint,
		Token: sub.Token, Timestamp: s.opts.Clock().UTC()}, s.opts.Clock())
}

// confirm confirms the subscription of topicARN whose token is token, and returns it.
func confirm(ctx context.Context, tx store.Tx, topicARN, token string, authenticated bool, now time.Time) (*Subscription, error) {
	subs, err := topicSubscriptions(ctx, tx, topicARN)
	if err != nil {
		return nil, err
	}
	for _, sub := range subs {
		if sub.Token != token || token == "" {
			continue
		}
		if !sub.Confirmed {
			sub.Confirmed, sub.Authenticated, sub.ConfirmedAt = true, authenticated, now.UTC()
			if err := saveSubscription(ctx, tx, sub); err != nil {
				return nil, err
			}
		}
		return sub, nil
	}
	return nil, invalidParameter("Invalid token")
}

// ConfirmSubscription confirms a subscription with the token its confirmation message
// carried.
func (s *Service) ConfirmSubscription(ctx context.Context, in *sns.ConfirmSubscriptionInput) (*sns.ConfirmSubscriptionResponse, error) {
	c := call.From(ctx)
	t, err := callerTopic(ctx, c, aws.ToString(in.TopicArn), "ConfirmSubscription")
	if err != nil {
		return nil, err
	}
	if v := aws.ToString(in.AuthenticateOnUnsubscribe); v != "" && v != "true" && v != "false" {
		return nil, invalidParameter("Invalid parameter: AuthenticateOnUnsubscribe")
	}
	sub, err := confirm(ctx, c.Write(), t.TopicArn, aws.ToString(in.Token), true, c.Time)
	if err != nil {
		return nil, err
	}
	if aws.ToString(in.AuthenticateOnUnsubscribe) == "true" && !sub.AuthOnUnsubscribe {
		sub.AuthOnUnsubscribe = true
		if err := saveSubscription(ctx, c.Write(), sub); err != nil {
			return nil, err
		}
	}
	c.Touch(SubscriptionType, sub.SubscriptionArn, sub.SubscriptionArn)
	return &sns.ConfirmSubscriptionResponse{SubscriptionArn: aws.String(sub.SubscriptionArn)}, nil
}

// callerSubscription returns the subscription an ARN names for the caller.
func callerSubscription(ctx context.Context, c *call.Call, arn string) (*Subscription, error) {
	p, ok := parseSubARN(arn)
	if !ok {
		return nil, invalidParameter("Invalid parameter: SubscriptionArn Reason: An ARN must have at least 6 elements, not 1")
	}
	sub, err := getSubscription(ctx, c.Tx, arn)
	if err != nil {
		return nil, err
	}
	if sub == nil || p.Region != c.Region {
		return nil, notFound("Subscription does not exist")
	}
	if p.Account != c.Account && sub.Owner != c.Account {
		return nil, authorizationError(c, "Unsubscribe", arn)
	}
	return sub, nil
}

// Unsubscribe deletes a subscription; an http/https endpoint is told with an
// UnsubscribeConfirmation message.
func (s *Service) Unsubscribe(ctx context.Context, in *sns.UnsubscribeInput) (*sns.UnsubscribeOutput, error) {
	c := call.From(ctx)
	sub, err := callerSubscription(ctx, c, aws.ToString(in.SubscriptionArn))
	if err != nil {
		return nil, err
	}
	c.Touch(SubscriptionType, sub.SubscriptionArn, sub.SubscriptionArn)
	if err := s.unsubscribe(ctx, c.Write(), sub); err != nil {
		return nil, err
	}
	return &sns.UnsubscribeOutput{}, nil
}

func (s *Service) unsubscribe(ctx context.Context, tx store.Tx, sub *Subscription) error {
	if err := deleteSubscription(ctx, tx, sub); err != nil {
		return err
	}
	if err := countDeleted(ctx, tx, sub.TopicArn); err != nil {
		return err
	}
	if sub.Confirmed && (sub.Protocol == "http" || sub.Protocol == "https") {
		return s.enqueue(ctx, tx, &delivery{ID: newID(), Type: typeUnsubscribe, MessageID: newID(),
			SubscriptionArn: sub.SubscriptionArn, TopicArn: sub.TopicArn, Protocol: sub.Protocol, Endpoint: sub.Endpoint,
			Token: sub.Token, Timestamp: s.opts.Clock().UTC()}, s.opts.Clock())
	}
	return nil
}

func (sub *Subscription) listed() sns.Subscription {
	arn := sub.SubscriptionArn
	if !sub.Confirmed {
		arn = "PendingConfirmation"
	}
	return sns.Subscription{SubscriptionArn: aws.String(arn), Owner: aws.String(sub.Owner), Protocol: aws.String(sub.Protocol),
		Endpoint: aws.String(sub.Endpoint), TopicArn: aws.String(sub.TopicArn)}
}

// ListSubscriptions lists the account's subscriptions in the region, 100 a page.
func (s *Service) ListSubscriptions(ctx context.Context, in *sns.ListSubscriptionsInput) (*sns.ListSubscriptionsResponse, error) {
	c := call.From(ctx)
	after, err := decodeToken(aws.ToString(in.NextToken))
	if err != nil {
		return nil, err
	}
	rs, next, err := c.Tx.ListResources(ctx, store.ResourceQuery{Account: c.Account, Region: c.Region, Type: SubscriptionType, After: after, Limit: pageSize})
	if err != nil {
		return nil, fmt.Errorf("notify: list subscriptions: %w", err)
	}
	out := &sns.ListSubscriptionsResponse{Subscriptions: []sns.Subscription{}}
	for _, r := range rs {
		sub, err := decodeSubscription(r)
		if err != nil {
			return nil, err
		}
		out.Subscriptions = append(out.Subscriptions, sub.listed())
	}
	out.NextToken = encodeToken(next)
	return out, nil
}

// ListSubscriptionsByTopic lists a topic's subscriptions, 100 a page.
func (s *Service) ListSubscriptionsByTopic(ctx context.Context, in *sns.ListSubscriptionsByTopicInput) (*sns.ListSubscriptionsByTopicResponse, error) {
	c := call.From(ctx)
	t, err := callerTopic(ctx, c, aws.ToString(in.TopicArn), "ListSubscriptionsByTopic")
	if err != nil {
		return nil, err
	}
	after, err := decodeToken(aws.ToString(in.NextToken))
	if err != nil {
		return nil, err
	}
	subs, err := topicSubscriptions(ctx, c.Tx, t.TopicArn)
	if err != nil {
		return nil, err
	}
	out := &sns.ListSubscriptionsByTopicResponse{Subscriptions: []sns.Subscription{}}
	last := ""
	for _, sub := range subs {
		if sub.SubscriptionArn <= after {
			continue
		}
		if len(out.Subscriptions) == pageSize {
			out.NextToken = encodeToken(last)
			break
		}
		out.Subscriptions = append(out.Subscriptions, sub.listed())
		last = sub.SubscriptionArn
	}
	return out, nil
}

// GetSubscriptionAttributes returns a subscription's attributes with the computed ones.
func (s *Service) GetSubscriptionAttributes(ctx context.Context, in *sns.GetSubscriptionAttributesInput) (*sns.GetSubscriptionAttributesResponse, error) {
	c := call.From(ctx)
	sub, err := callerSubscription(ctx, c, aws.ToString(in.SubscriptionArn))
	if err != nil {
		return nil, err
	}
	attrs := map[string]string{
		"SubscriptionArn":              sub.SubscriptionArn,
		"TopicArn":                     sub.TopicArn,
		"Owner":                        sub.Owner,
		"Protocol":                     sub.Protocol,
		"Endpoint":                     sub.Endpoint,
		"ConfirmationWasAuthenticated": fmt.Sprint(sub.Authenticated),
		"PendingConfirmation":          fmt.Sprint(!sub.Confirmed),
		"RawMessageDelivery":           "false",
		"SubscriptionPrincipal":        "arn:aws:iam::" + sub.Owner + ":root",
	}
	if sub.Protocol == "http" || sub.Protocol == "https" {
		t, err := getTopic(ctx, c.Tx, sub.TopicArn)
		if err != nil {
			return nil, err
		}
		topicPolicy := ""
		if t != nil {
			topicPolicy = t.Attributes["DeliveryPolicy"]
		}
		attrs["EffectiveDeliveryPolicy"] = effectiveSubscriptionDeliveryPolicy(topicPolicy, sub.Attributes["DeliveryPolicy"])
	}
	for k, v := range sub.Attributes {
		attrs[k] = v
	}
	return &sns.GetSubscriptionAttributesResponse{Attributes: attrs}, nil
}

// SetSubscriptionAttributes sets one attribute of a subscription.
func (s *Service) SetSubscriptionAttributes(ctx context.Context, in *sns.SetSubscriptionAttributesInput) (*sns.SetSubscriptionAttributesOutput, error) {
	c := call.From(ctx)
	sub, err := callerSubscription(ctx, c, aws.ToString(in.SubscriptionArn))
	if err != nil {
		return nil, err
	}
	name, value := aws.ToString(in.AttributeName), aws.ToString(in.AttributeValue)
	if !settableSubscriptionAttributes[name] {
		return nil, invalidParameter("Invalid parameter: AttributeName")
	}
	if err := checkSubscriptionAttribute(sub.Protocol, name, value); err != nil {
		return nil, err
	}
	if value == "" {
		delete(sub.Attributes, name)
	} else {
		sub.Attributes[name] = value
	}
	if name == "FilterPolicy" && value != "" && sub.Attributes["FilterPolicyScope"] == "" {
		sub.Attributes["FilterPolicyScope"] = "MessageAttributes"
	}
	c.Touch(SubscriptionType, sub.SubscriptionArn, sub.SubscriptionArn)
	if err := saveSubscription(ctx, c.Write(), sub); err != nil {
		return nil, err
	}
	return &sns.SetSubscriptionAttributesOutput{}, nil
}
