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
	// LegacyToken is the confirmation token as versions before tokenBucket stored it in
	// the resource; saveSubscription moves it to tokenBucket and drops it.
	LegacyToken string `json:"Token,omitempty"`
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
	if sub.LegacyToken != "" {
		if !sub.Confirmed {
			rec := tokenRecord{SubscriptionArn: sub.SubscriptionArn, TopicArn: sub.TopicArn, Expires: sub.Created.UTC().Add(tokenLifetime)}
			if err := putToken(ctx, tx, sub.LegacyToken, &rec); err != nil {
				return err
			}
		}
		sub.LegacyToken = ""
	}
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
	if err := clearTokens(ctx, tx, sub.SubscriptionArn); err != nil {
		return err
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
	case "RedrivePolicy":
		if value != "" {
			return invalidParameter("Invalid parameter: Attributes Reason: RedrivePolicy: bannin has no Amazon SQS, so there is no dead-letter queue to redrive to")
		}
	case "SubscriptionRoleArn":
		if value != "" {
			return invalidParameter("Invalid parameter: Attributes Reason: SubscriptionRoleArn: only firehose subscriptions use a role, and bannin has neither Amazon Data Firehose nor Amazon SQS")
		}
	case "ReplayPolicy":
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
	if t.fifo() {
		// FIFO topics deliver to SQS queues only (AWS's answer for any other protocol).
		return nil, invalidParameter("Invalid parameter: Invalid protocol type: %s", protocol)
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
		Endpoint: endpoint, Owner: c.Account, Attributes: attrs, Created: c.Time,
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

// queueConfirmation queues the confirmation message of a pending subscription, with a new
// token.
func (s *Service) queueConfirmation(ctx context.Context, tx store.Tx, t *Topic, sub *Subscription) error {
	now := s.opts.Clock()
	token, err := issueToken(ctx, tx, sub, now, false)
	if err != nil {
		return err
	}
	return s.enqueue(ctx, tx, &delivery{ID: newID(), Type: typeConfirmation, MessageID: newID(),
		SubscriptionArn: sub.SubscriptionArn, TopicArn: t.TopicArn, Protocol: sub.Protocol, Endpoint: sub.Endpoint,
		Token: token, Timestamp: now.UTC()}, now)
}

var errInvalidToken = invalidParameter("Invalid token")

// confirm confirms the subscription of topicARN whose token is token, and returns it. A
// token is good once, for tokenLifetime; confirming clears every token of the
// subscription. A restore token (see tokenRecord.Restore) brings an unsubscribed
// subscription back, confirmed.
func confirm(ctx context.Context, tx store.Tx, topicARN, token string, authenticated bool, now time.Time) (*Subscription, error) {
	rec, err := lookupToken(ctx, tx, token)
	if err != nil {
		return nil, err
	}
	if rec == nil {
		return confirmLegacy(ctx, tx, topicARN, token, authenticated, now)
	}
	if rec.TopicArn != topicARN {
		return nil, errInvalidToken
	}
	if !now.Before(rec.Expires) {
		if err := dropToken(ctx, tx, token, rec); err != nil {
			return nil, err
		}
		return nil, errInvalidToken
	}
	sub, err := getSubscription(ctx, tx, rec.SubscriptionArn)
	if err != nil {
		return nil, err
	}
	if sub == nil && rec.Restore != nil {
		if sub, err = restored(rec); err != nil {
			return nil, err
		}
		// Subscribed again meanwhile: that subscription stands, no second one.
		subs, err := topicSubscriptions(ctx, tx, topicARN)
		if err != nil {
			return nil, err
		}
		for _, other := range subs {
			if other.Protocol == sub.Protocol && other.Endpoint == sub.Endpoint {
				sub = other
				break
			}
		}
		if sub.SubscriptionArn == rec.SubscriptionArn {
			sub.Confirmed, sub.Authenticated, sub.ConfirmedAt = false, false, time.Time{}
		}
	}
	if err := dropToken(ctx, tx, token, rec); err != nil {
		return nil, err
	}
	if sub == nil {
		return nil, errInvalidToken // unsubscribed since the token was issued.
	}
	if !sub.Confirmed {
		sub.Confirmed, sub.Authenticated, sub.ConfirmedAt = true, authenticated, now.UTC()
		if err := saveSubscription(ctx, tx, sub); err != nil {
			return nil, err
		}
	}
	if err := clearTokens(ctx, tx, sub.SubscriptionArn); err != nil {
		return nil, err
	}
	return sub, nil
}

// restored decodes the subscription a restore token keeps.
func restored(rec *tokenRecord) (*Subscription, error) {
	var sub Subscription
	if err := json.Unmarshal(rec.Restore, &sub); err != nil {
		return nil, fmt.Errorf("notify: decode unsubscribed %s: %w", rec.SubscriptionArn, err)
	}
	p, ok := parseSubARN(sub.SubscriptionArn)
	if !ok {
		return nil, fmt.Errorf("notify: unsubscribed %s: bad ARN", rec.SubscriptionArn)
	}
	sub.account, sub.region = p.Account, p.Region
	if sub.Attributes == nil {
		sub.Attributes = map[string]string{}
	}
	return &sub, nil
}

// confirmLegacy confirms a subscription whose token is still in its stored resource (see
// Subscription.LegacyToken).
func confirmLegacy(ctx context.Context, tx store.Tx, topicARN, token string, authenticated bool, now time.Time) (*Subscription, error) {
	if token == "" {
		return nil, errInvalidToken
	}
	subs, err := topicSubscriptions(ctx, tx, topicARN)
	if err != nil {
		return nil, err
	}
	for _, sub := range subs {
		if sub.LegacyToken != token || sub.Confirmed || !now.Before(sub.Created.Add(tokenLifetime)) {
			continue
		}
		sub.Confirmed, sub.Authenticated, sub.ConfirmedAt = true, authenticated, now.UTC()
		if err := saveSubscription(ctx, tx, sub); err != nil {
			return nil, err
		}
		if err := clearTokens(ctx, tx, sub.SubscriptionArn); err != nil {
			return nil, err
		}
		return sub, nil
	}
	return nil, errInvalidToken
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
		// SNS rejects what is not an ARN ("pending confirmation", a topic name) by its
		// element count; an ARN that names no subscription bannin could have made does
		// not exist.
		if n := len(strings.Split(arn, ":")); n < 6 {
			return nil, invalidParameter("Invalid parameter: SubscriptionArn Reason: An ARN must have at least 6 elements, not %d", n)
		}
		return nil, notFound("Subscription does not exist")
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
	if _, err := s.unsubscribe(ctx, c.Write(), sub); err != nil {
		return nil, err
	}
	return &sns.UnsubscribeOutput{}, nil
}

// unsubscribe deletes a subscription. A confirmed one leaves a restore token (returned)
// that brings it back when confirmed (see tokenRecord.Restore); an http/https endpoint gets
// it in an UnsubscribeConfirmation message's SubscribeURL.
func (s *Service) unsubscribe(ctx context.Context, tx store.Tx, sub *Subscription) (restoreToken string, err error) {
	if err := deleteSubscription(ctx, tx, sub); err != nil {
		return "", err
	}
	if err := countDeleted(ctx, tx, sub.TopicArn); err != nil {
		return "", err
	}
	if !sub.Confirmed {
		return "", nil
	}
	now := s.opts.Clock()
	token, err := issueToken(ctx, tx, sub, now, true)
	if err != nil {
		return "", err
	}
	if sub.Protocol == "http" || sub.Protocol == "https" {
		err := s.enqueue(ctx, tx, &delivery{ID: newID(), Type: typeUnsubscribe, MessageID: newID(),
			SubscriptionArn: sub.SubscriptionArn, TopicArn: sub.TopicArn, Protocol: sub.Protocol, Endpoint: sub.Endpoint,
			Token: token, Timestamp: now.UTC()}, now)
		if err != nil {
			return "", err
		}
	}
	return token, nil
}

func (sub *Subscription) listed() sns.Subscription {
	arn := sub.SubscriptionArn
	if !sub.Confirmed {
		arn = "PendingConfirmation"
	}
	// AWS hides an HTTP/S endpoint's password here: only GetSubscriptionAttributes shows it.
	return sns.Subscription{SubscriptionArn: aws.String(arn), Owner: aws.String(sub.Owner), Protocol: aws.String(sub.Protocol),
		Endpoint: aws.String(RedactURL(sub.Endpoint)), TopicArn: aws.String(sub.TopicArn)}
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
