package notify

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/bannin/bannin/internal/call"
	"github.com/bannin/bannin/internal/store"
	"github.com/bannin/bannin/internal/wire/sns"
)

// Topic is a topic's stored configuration.
type Topic struct {
	TopicArn string `json:"TopicArn"`
	Name     string `json:"Name"`
	// Attributes are the attributes set at creation or with SetTopicAttributes (not the
	// computed ones GetTopicAttributes adds).
	Attributes map[string]string `json:"Attributes,omitempty"`

	account, region string
	tags            map[string]string
}

var topicNameRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`)

// settableTopicAttributes are the attributes CreateTopic and SetTopicAttributes accept
// (FifoTopic only at creation).
var settableTopicAttributes = map[string]bool{
	"DeliveryPolicy": true, "DisplayName": true, "Policy": true, "TracingConfig": true,
	"KmsMasterKeyId": true, "SignatureVersion": true, "ContentBasedDeduplication": true,
	"ArchivePolicy": true, "FifoThroughputScope": true,
	"ApplicationSuccessFeedbackRoleArn": true, "ApplicationSuccessFeedbackSampleRate": true, "ApplicationFailureFeedbackRoleArn": true,
	"HTTPSuccessFeedbackRoleArn": true, "HTTPSuccessFeedbackSampleRate": true, "HTTPFailureFeedbackRoleArn": true,
	"LambdaSuccessFeedbackRoleArn": true, "LambdaSuccessFeedbackSampleRate": true, "LambdaFailureFeedbackRoleArn": true,
	"SQSSuccessFeedbackRoleArn": true, "SQSSuccessFeedbackSampleRate": true, "SQSFailureFeedbackRoleArn": true,
	"FirehoseSuccessFeedbackRoleArn": true, "FirehoseSuccessFeedbackSampleRate": true, "FirehoseFailureFeedbackRoleArn": true,
}

func (t *Topic) fifo() bool { return t.Attributes["FifoTopic"] == "true" }

// checkTopicAttribute validates one attribute value.
func checkTopicAttribute(name, value string, fifo bool) error {
	switch name {
	case "DeliveryPolicy":
		if value != "" {
			if _, err := parseDeliveryPolicy(value, true); err != nil {
				return invalidParameter("Invalid parameter: DeliveryPolicy: %v", err)
			}
		}
	case "Policy":
		var v map[string]any
		if err := json.Unmarshal([]byte(value), &v); err != nil {
			return invalidParameter("Invalid parameter: Policy Error: null")
		}
	case "SignatureVersion":
		if value != "1" && value != "2" {
			return invalidParameter("Invalid parameter: SignatureVersion")
		}
	case "DisplayName":
		if len(value) > 100 {
			return invalidParameter("Invalid parameter: DisplayName")
		}
	case "TracingConfig":
		if value != "PassThrough" && value != "Active" {
			return invalidParameter("Invalid parameter: TracingConfig")
		}
	case "ContentBasedDeduplication":
		if !fifo {
			return invalidParameter("Invalid parameter: ContentBasedDeduplication Reason: Content-based deduplication can only be set for FIFO topics")
		}
		if value != "true" && value != "false" {
			return invalidParameter("Invalid parameter: ContentBasedDeduplication")
		}
	}
	return nil
}

func decodeTopic(r *store.Resource) (*Topic, error) {
	var t Topic
	if err := json.Unmarshal(r.Config, &t); err != nil {
		return nil, fmt.Errorf("notify: decode topic %s: %w", r.ID, err)
	}
	t.account, t.region, t.tags = r.Account, r.Region, r.Tags
	if t.Attributes == nil {
		t.Attributes = map[string]string{}
	}
	return &t, nil
}

// getTopic returns the topic an ARN names, or nil if there is none.
func getTopic(ctx context.Context, tx store.ReadTx, arn string) (*Topic, error) {
	p, ok := parseTopicARN(arn)
	if !ok {
		return nil, nil
	}
	r, err := tx.GetResource(ctx, p.Account, p.Region, TopicType, p.Topic)
	if err != nil {
		return nil, fmt.Errorf("notify: get topic %s: %w", arn, err)
	}
	if r == nil {
		return nil, nil
	}
	return decodeTopic(r)
}

// callerTopic returns the topic TopicArn names for the caller: InvalidParameter for a
// malformed ARN, NotFound for a topic that does not exist, AuthorizationError for
// another account's topic whose policy does not allow the action.
func callerTopic(ctx context.Context, c *call.Call, arn, action string) (*Topic, error) {
	p, ok := parseTopicARN(arn)
	if !ok {
		return nil, invalidParameter("Invalid parameter: TopicArn")
	}
	t, err := getTopic(ctx, c.Tx, arn)
	if err != nil {
		return nil, err
	}
	if p.Account != c.Account && (t == nil || !policyAllows(t.Attributes["Policy"], c.Account, action)) {
		return nil, authorizationError(c, action, arn)
	}
	if t == nil || p.Region != c.Region {
		return nil, errTopicNotFound
	}
	return t, nil
}

func authorizationError(c *call.Call, action, arn string) error {
	who := c.Caller.ARN
	if who == "" {
		who = "arn:aws:iam::" + c.Account + ":root"
	}
	return &sns.AuthorizationErrorException{Message: aws.String(fmt.Sprintf(
		"User: %s is not authorized to perform: SNS:%s on resource: %s", who, action, arn))}
}

// policyAllows reports whether a topic policy has an unconditional Allow statement for
// account (or everyone) and the action.
func policyAllows(policy, account, action string) bool {
	var doc struct {
		Statement json.RawMessage
	}
	if json.Unmarshal([]byte(policy), &doc) != nil {
		return false
	}
	var stmts []map[string]json.RawMessage
	if json.Unmarshal(doc.Statement, &stmts) != nil {
		var one map[string]json.RawMessage
		if json.Unmarshal(doc.Statement, &one) != nil {
			return false
		}
		stmts = []map[string]json.RawMessage{one}
	}
	for _, st := range stmts {
		var effect string
		json.Unmarshal(st["Effect"], &effect)
		if effect != "Allow" || st["Condition"] != nil {
			continue
		}
		if !matchesAny(st["Action"], func(a string) bool {
			a = strings.ToLower(a)
			return a == "*" || a == "sns:*" || a == "sns:"+strings.ToLower(action)
		}) {
			continue
		}
		principal := st["Principal"]
		var star string
		if json.Unmarshal(principal, &star) == nil && star == "*" {
			return true
		}
		var p map[string]json.RawMessage
		if json.Unmarshal(principal, &p) == nil && matchesAny(p["AWS"], func(a string) bool {
			return a == "*" || a == account || a == "arn:aws:iam::"+account+":root"
		}) {
			return true
		}
	}
	return false
}

// matchesAny reports whether a JSON string or list of strings has an element f accepts.
func matchesAny(raw json.RawMessage, f func(string) bool) bool {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return f(one)
	}
	var many []string
	json.Unmarshal(raw, &many)
	for _, s := range many {
		if f(s) {
			return true
		}
	}
	return false
}

func saveTopic(ctx context.Context, tx store.Tx, t *Topic) error {
	raw, err := json.Marshal(t)
	if err != nil {
		return err
	}
	return tx.PutResource(ctx, &store.Resource{Account: t.account, Region: t.region, Type: TopicType,
		ID: t.Name, ARN: t.TopicArn, Name: t.Name, Config: raw, Tags: t.tags})
}

// CreateTopic creates a topic, or returns the existing one of the same name when the
// attributes and tags asked for do not contradict it.
func (s *Service) CreateTopic(ctx context.Context, in *sns.CreateTopicInput) (*sns.CreateTopicResponse, error) {
	c := call.From(ctx)
	name := aws.ToString(in.Name)
	fifo := in.Attributes["FifoTopic"] == "true"
	if v, ok := in.Attributes["FifoTopic"]; ok && v != "true" && v != "false" {
		return nil, invalidParameter("Invalid parameter: FifoTopic Reason: FifoTopic must be true or false")
	}
	base := name
	if fifo {
		if !strings.HasSuffix(name, ".fifo") {
			return nil, invalidParameter("Invalid parameter: Fifo Topic names must end with .fifo and must be made up of only uppercase and lowercase ASCII letters, numbers, underscores, and hyphens, and must be between 1 and 256 characters long.")
		}
		base = strings.TrimSuffix(name, ".fifo")
	}
	if !topicNameRe.MatchString(base) || len(name) > 256 {
		if fifo {
			return nil, invalidParameter("Invalid parameter: Fifo Topic names must end with .fifo and must be made up of only uppercase and lowercase ASCII letters, numbers, underscores, and hyphens, and must be between 1 and 256 characters long.")
		}
		return nil, invalidParameter("Invalid parameter: Topic Name")
	}
	attrs := map[string]string{}
	for k, v := range in.Attributes {
		if k == "FifoTopic" {
			if fifo {
				attrs[k] = v
			}
			continue
		}
		if !settableTopicAttributes[k] {
			return nil, invalidParameter("Invalid parameter: Attributes Reason: Unknown attribute %s", k)
		}
		if err := checkTopicAttribute(k, v, fifo); err != nil {
			return nil, err
		}
		attrs[k] = v
	}
	if fifo {
		if _, ok := attrs["ContentBasedDeduplication"]; !ok {
			attrs["ContentBasedDeduplication"] = "false"
		}
	}
	if in.DataProtectionPolicy != nil {
		attrs["DataProtectionPolicy"] = aws.ToString(in.DataProtectionPolicy)
	}
	tags, err := tagMap(nil, in.Tags)
	if err != nil {
		return nil, err
	}
	arn := TopicARN(c.Region, c.Account, name)
	existing, err := getTopic(ctx, c.Tx, arn)
	if err != nil {
		return nil, err
	}
	c.Touch(TopicType, name, arn)
	if existing != nil {
		for k, v := range attrs {
			if existing.Attributes[k] != v {
				return nil, invalidParameter("Invalid parameter: Attributes Reason: Topic already exists with different attributes")
			}
		}
		for k, v := range tags {
			if old, ok := existing.tags[k]; ok && old != v {
				return nil, invalidParameter("Invalid parameter: Tags Reason: Topic already exists with different tags")
			}
		}
		if len(tags) > 0 && !maps.Equal(existing.tags, tags) {
			merged, err := tagMap(existing.tags, in.Tags)
			if err != nil {
				return nil, err
			}
			existing.tags = merged
			if err := saveTopic(ctx, c.Write(), existing); err != nil {
				return nil, err
			}
		}
		return &sns.CreateTopicResponse{TopicArn: aws.String(arn)}, nil
	}
	t := &Topic{TopicArn: arn, Name: name, Attributes: attrs, account: c.Account, region: c.Region, tags: tags}
	if err := saveTopic(ctx, c.Write(), t); err != nil {
		return nil, err
	}
	return &sns.CreateTopicResponse{TopicArn: aws.String(arn)}, nil
}

// DeleteTopic deletes a topic and its subscriptions. Deleting a topic that does not exist
// succeeds, as in AWS.
func (s *Service) DeleteTopic(ctx context.Context, in *sns.DeleteTopicInput) (*sns.DeleteTopicOutput, error) {
	c := call.From(ctx)
	arn := aws.ToString(in.TopicArn)
	t, err := callerTopic(ctx, c, arn, "DeleteTopic")
	if err == errTopicNotFound {
		return &sns.DeleteTopicOutput{}, nil
	}
	if err != nil {
		return nil, err
	}
	tx := c.Write()
	subs, err := topicSubscriptions(ctx, tx, arn)
	if err != nil {
		return nil, err
	}
	for _, sub := range subs {
		if err := deleteSubscription(ctx, tx, sub); err != nil {
			return nil, err
		}
	}
	if err := tx.Delete(ctx, deletedBucket, arn); err != nil {
		return nil, fmt.Errorf("notify: delete topic %s: %w", arn, err)
	}
	c.Touch(TopicType, t.Name, arn)
	if err := tx.DeleteResource(ctx, t.account, t.region, TopicType, t.Name); err != nil {
		return nil, fmt.Errorf("notify: delete topic %s: %w", arn, err)
	}
	return &sns.DeleteTopicOutput{}, nil
}

const pageSize = 100

// ListTopics lists the account's topics in the region, 100 a page.
func (s *Service) ListTopics(ctx context.Context, in *sns.ListTopicsInput) (*sns.ListTopicsResponse, error) {
	c := call.From(ctx)
	after, err := decodeToken(aws.ToString(in.NextToken))
	if err != nil {
		return nil, err
	}
	rs, next, err := c.Tx.ListResources(ctx, store.ResourceQuery{Account: c.Account, Region: c.Region, Type: TopicType, After: after, Limit: pageSize})
	if err != nil {
		return nil, fmt.Errorf("notify: list topics: %w", err)
	}
	out := &sns.ListTopicsResponse{Topics: []sns.Topic{}}
	for _, r := range rs {
		out.Topics = append(out.Topics, sns.Topic{TopicArn: aws.String(r.ARN)})
	}
	out.NextToken = encodeToken(next)
	return out, nil
}

// Pagination tokens wrap the store's tokens so that a token from elsewhere is refused.
const tokenPrefix = "sns1:"

func decodeToken(t string) (string, error) {
	if t == "" {
		return "", nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(t)
	if err != nil || !strings.HasPrefix(string(raw), tokenPrefix) {
		return "", invalidParameter("Invalid parameter: NextToken")
	}
	return strings.TrimPrefix(string(raw), tokenPrefix), nil
}

func encodeToken(next string) *string {
	if next == "" {
		return nil
	}
	return aws.String(base64.RawURLEncoding.EncodeToString([]byte(tokenPrefix + next)))
}

// defaultPolicy is the access policy AWS gives a new topic.
func defaultPolicy(account, arn string) string {
	return fmt.Sprintf(`{"Version":"2008-10-17","Id":"__default_policy_ID","Statement":[{"Sid":"__default_statement_ID","Effect":"Allow","Principal":{"AWS":"*"},"Action":["SNS:GetTopicAttributes","SNS:SetTopicAttributes","SNS:AddPermission","SNS:RemovePermission","SNS:DeleteTopic","SNS:Subscribe","SNS:ListSubscriptionsByTopic","SNS:Publish"],"Resource":"%s","Condition":{"StringEquals":{"AWS:SourceOwner":"%s"}}}]}`, arn, account)
}

// GetTopicAttributes returns the topic's attributes with the ones AWS computes.
func (s *Service) GetTopicAttributes(ctx context.Context, in *sns.GetTopicAttributesInput) (*sns.GetTopicAttributesResponse, error) {
	c := call.From(ctx)
	t, err := callerTopic(ctx, c, aws.ToString(in.TopicArn), "GetTopicAttributes")
	if err != nil {
		return nil, err
	}
	subs, err := topicSubscriptions(ctx, c.Tx, t.TopicArn)
	if err != nil {
		return nil, err
	}
	deleted, err := deletedCount(ctx, c.Tx, t.TopicArn)
	if err != nil {
		return nil, err
	}
	confirmed, pending := 0, 0
	for _, sub := range subs {
		if sub.Confirmed {
			confirmed++
		} else {
			pending++
		}
	}
	attrs := map[string]string{
		"TopicArn":                t.TopicArn,
		"Owner":                   t.account,
		"Policy":                  defaultPolicy(t.account, t.TopicArn),
		"DisplayName":             "",
		"SubscriptionsConfirmed":  strconv.Itoa(confirmed),
		"SubscriptionsPending":    strconv.Itoa(pending),
		"SubscriptionsDeleted":    strconv.Itoa(deleted),
		"EffectiveDeliveryPolicy": effectiveTopicDeliveryPolicy(t.Attributes["DeliveryPolicy"]),
	}
	for k, v := range t.Attributes {
		if k != "DataProtectionPolicy" { // GetDataProtectionPolicy's, not an attribute.
			attrs[k] = v
		}
	}
	return &sns.GetTopicAttributesResponse{Attributes: attrs}, nil
}

// SetTopicAttributes sets one attribute of a topic.
func (s *Service) SetTopicAttributes(ctx context.Context, in *sns.SetTopicAttributesInput) (*sns.SetTopicAttributesOutput, error) {
	c := call.From(ctx)
	t, err := callerTopic(ctx, c, aws.ToString(in.TopicArn), "SetTopicAttributes")
	if err != nil {
		return nil, err
	}
	name, value := aws.ToString(in.AttributeName), aws.ToString(in.AttributeValue)
	if !settableTopicAttributes[name] {
		return nil, invalidParameter("Invalid parameter: AttributeName")
	}
	if err := checkTopicAttribute(name, value, t.fifo()); err != nil {
		return nil, err
	}
	if value == "" && name != "DisplayName" {
		delete(t.Attributes, name)
	} else {
		t.Attributes[name] = value
	}
	c.Touch(TopicType, t.Name, t.TopicArn)
	if err := saveTopic(ctx, c.Write(), t); err != nil {
		return nil, err
	}
	return &sns.SetTopicAttributesOutput{}, nil
}

// maxTags is how many tags a topic can have.
const maxTags = 50

// tagMap applies tags to base (a copy), checking SNS's tag rules.
func tagMap(base map[string]string, tags []sns.Tag) (map[string]string, error) {
	out := maps.Clone(base)
	if out == nil {
		out = map[string]string{}
	}
	for _, t := range tags {
		k, v := aws.ToString(t.Key), aws.ToString(t.Value)
		if k == "" || len(k) > 128 || len(v) > 256 {
			return nil, invalidParameter("Invalid parameter: Tags")
		}
		if strings.HasPrefix(strings.ToLower(k), "aws:") {
			return nil, invalidParameter("Invalid parameter: Tags Reason: Keys can't start with 'aws:'")
		}
		out[k] = v
	}
	if len(out) > maxTags {
		return nil, &sns.TagLimitExceededException{Message: aws.String("Could not complete request: tag quota of per resource exceeded")}
	}
	return out, nil
}

func taggedTopic(ctx context.Context, c *call.Call, arn string) (*Topic, error) {
	p, ok := parseTopicARN(arn)
	if !ok {
		return nil, invalidParameter("Invalid parameter: ResourceArn")
	}
	t, err := getTopic(ctx, c.Tx, arn)
	if err != nil {
		return nil, err
	}
	if t == nil || p.Account != c.Account || p.Region != c.Region {
		return nil, &sns.ResourceNotFoundException{Message: aws.String("Resource does not exist")}
	}
	return t, nil
}

// TagResource adds or replaces tags of a topic.
func (s *Service) TagResource(ctx context.Context, in *sns.TagResourceRequest) (*sns.TagResourceResponse, error) {
	c := call.From(ctx)
	t, err := taggedTopic(ctx, c, aws.ToString(in.ResourceArn))
	if err != nil {
		return nil, err
	}
	tags, err := tagMap(t.tags, in.Tags)
	if err != nil {
		return nil, err
	}
	t.tags = tags
	c.Touch(TopicType, t.Name, t.TopicArn)
	return &sns.TagResourceResponse{}, saveTopic(ctx, c.Write(), t)
}

// UntagResource removes tags of a topic.
func (s *Service) UntagResource(ctx context.Context, in *sns.UntagResourceRequest) (*sns.UntagResourceResponse, error) {
	c := call.From(ctx)
	t, err := taggedTopic(ctx, c, aws.ToString(in.ResourceArn))
	if err != nil {
		return nil, err
	}
	t.tags = maps.Clone(t.tags)
	for _, k := range in.TagKeys {
		delete(t.tags, k)
	}
	c.Touch(TopicType, t.Name, t.TopicArn)
	return &sns.UntagResourceResponse{}, saveTopic(ctx, c.Write(), t)
}

// ListTagsForResource lists a topic's tags, sorted by key.
func (s *Service) ListTagsForResource(ctx context.Context, in *sns.ListTagsForResourceRequest) (*sns.ListTagsForResourceResponse, error) {
	c := call.From(ctx)
	t, err := taggedTopic(ctx, c, aws.ToString(in.ResourceArn))
	if err != nil {
		return nil, err
	}
	out := &sns.ListTagsForResourceResponse{Tags: []sns.Tag{}}
	keys := make([]string, 0, len(t.tags))
	for k := range t.tags {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		out.Tags = append(out.Tags, sns.Tag{Key: aws.String(k), Value: aws.String(t.tags[k])})
	}
	return out, nil
}
