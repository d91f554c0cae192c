package notify

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/bannin/bannin/internal/call"
	"github.com/bannin/bannin/internal/store"
	"github.com/bannin/bannin/internal/wire/sns"
)

// Attribute is one message attribute as published.
type Attribute struct {
	Type  string `json:"Type"`
	Value string `json:"Value"` // base64 for Binary
}

// message is a published message: the payload of a KindPublish stream entry.
type message struct {
	MessageID        string               `json:"MessageId"`
	TopicArn         string               `json:"TopicArn"`
	Subject          string               `json:"Subject,omitempty"`
	Message          string               `json:"Message"`
	MessageStructure string               `json:"MessageStructure,omitempty"`
	Attributes       map[string]Attribute `json:"MessageAttributes,omitempty"`
	Timestamp        time.Time            `json:"Timestamp"`
	GroupID          string               `json:"MessageGroupId,omitempty"`
	DeduplicationID  string               `json:"MessageDeduplicationId,omitempty"`
	SequenceNumber   string               `json:"SequenceNumber,omitempty"`
}

// forProtocol is the text a subscription of protocol receives: with MessageStructure json,
// the protocol's own entry or the default one.
func (m *message) forProtocol(protocol string) string {
	if m.MessageStructure != "json" {
		return m.Message
	}
	var per map[string]string
	json.Unmarshal([]byte(m.Message), &per)
	if v, ok := per[protocol]; ok {
		return v
	}
	return per["default"]
}

// maxMessageBytes is the largest message (with its attributes) SNS accepts.
const maxMessageBytes = 256 * 1024

var attrNameRe = regexp.MustCompile(`^[A-Za-z0-9_\-.]{1,256}$`)

// checkMessage validates a message's fields and returns its attributes in stored form.
func checkMessage(msg, subject, structure string, attrs map[string]sns.MessageAttributeValue) (map[string]Attribute, error) {
	if msg == "" {
		return nil, invalidParameter("Invalid parameter: Empty message")
	}
	if subject != "" {
		if len(subject) > 100 || strings.ContainsAny(subject, "\r\n") || !printableASCII(subject) {
			return nil, invalidParameter("Invalid parameter: Subject")
		}
	}
	size := len(msg)
	switch structure {
	case "":
	case "json":
		var per map[string]any
		if err := json.Unmarshal([]byte(msg), &per); err != nil {
			return nil, invalidParameter("Invalid parameter: Message Structure - JSON message body failed to parse")
		}
		if _, ok := per["default"]; !ok {
			return nil, invalidParameter("Invalid parameter: Message Structure - No default entry in JSON message body")
		}
		for k, v := range per {
			if _, ok := v.(string); !ok {
				return nil, invalidParameter("Invalid parameter: Message Structure - JSON message body failed to parse: the value of %q is not a string", k)
			}
		}
	default:
		return nil, invalidParameter("Invalid parameter: MessageStructure")
	}
	out := map[string]Attribute{}
	for name, a := range attrs {
		if !attrNameRe.MatchString(name) || strings.HasPrefix(strings.ToLower(name), "aws.") || strings.HasPrefix(strings.ToLower(name), "amazon.") {
			return nil, invalidParameter("Invalid parameter: MessageAttributes Reason: The message attribute name '%s' is invalid.", name)
		}
		typ := aws.ToString(a.DataType)
		base, _, _ := strings.Cut(typ, ".")
		if typ == "String.Array" {
			base = "String.Array"
		}
		switch base {
		case "String", "Number", "String.Array":
			v := aws.ToString(a.StringValue)
			if a.StringValue == nil || v == "" {
				return nil, invalidParameter("The message attribute '%s' must contain non-empty message attribute value for message attribute type '%s'.", name, base)
			}
			if base == "Number" {
				if _, err := strconv.ParseFloat(v, 64); err != nil {
					return nil, invalidParameter("An error occurred while trying to convert message attribute '%s' value '%s' to a Number.", name, v)
				}
			}
			if base == "String.Array" {
				var arr []any
				if json.Unmarshal([]byte(v), &arr) != nil {
					return nil, invalidParameter("Invalid parameter: MessageAttributes Reason: The message attribute '%s' with type 'String.Array' has an invalid value %s.", name, v)
				}
			}
			out[name] = Attribute{Type: typ, Value: v}
			size += len(name) + len(typ) + len(v)
		case "Binary":
			if len(a.BinaryValue) == 0 {
				return nil, invalidParameter("The message attribute '%s' must contain non-empty message attribute value for message attribute type 'Binary'.", name)
			}
			v := base64.StdEncoding.EncodeToString(a.BinaryValue)
			out[name] = Attribute{Type: typ, Value: v}
			size += len(name) + len(typ) + len(a.BinaryValue)
		default:
			return nil, invalidParameter("The message attribute '%s' has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String.", name)
		}
	}
	if size > maxMessageBytes {
		return nil, invalidParameter("Invalid parameter: Message too long")
	}
	if len(out) > 10 {
		return nil, invalidParameter("Invalid parameter: MessageAttributes Reason: Number of message attributes [%d] exceeds the allowed maximum [10].", len(out))
	}
	return out, nil
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// publishRequest is one message to publish, as Publish or a PublishBatch entry carries it.
type publishRequest struct {
	Message, Subject, Structure string
	Attributes                  map[string]sns.MessageAttributeValue
	GroupID, DeduplicationID    string
}

// publish validates and stores one message for t in tx.
func (s *Service) publish(ctx context.Context, tx store.Tx, t *Topic, req publishRequest, now time.Time) (*message, error) {
	attrs, err := checkMessage(req.Message, req.Subject, req.Structure, req.Attributes)
	if err != nil {
		return nil, err
	}
	m := &message{MessageID: newID(), TopicArn: t.TopicArn, Subject: req.Subject, Message: req.Message,
		MessageStructure: req.Structure, Attributes: attrs, Timestamp: now.UTC()}
	if t.fifo() {
		if req.GroupID == "" {
			return nil, invalidParameter("Invalid parameter: The MessageGroupId parameter is required for FIFO topics")
		}
		dedup := req.DeduplicationID
		if dedup == "" {
			if t.Attributes["ContentBasedDeduplication"] != "true" {
				return nil, invalidParameter("Invalid parameter: The topic should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly")
			}
			sum := sha256.Sum256([]byte(req.Message))
			dedup = hex.EncodeToString(sum[:])
		}
		m.GroupID, m.DeduplicationID = req.GroupID, dedup
	} else if req.GroupID != "" || req.DeduplicationID != "" {
		if req.DeduplicationID != "" {
			return nil, invalidParameter("Invalid parameter: MessageDeduplicationId Reason: The request includes MessageDeduplicationId parameter that is not valid for this topic type")
		}
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	seq, err := tx.Append(ctx, KindPublish, raw)
	if err != nil {
		return nil, fmt.Errorf("notify: append %s: %w", KindPublish, err)
	}
	if t.fifo() {
		m.SequenceNumber = fmt.Sprintf("%020d", seq)
	}
	return m, nil
}

// publishTopic resolves the TopicArn (or TargetArn) of a Publish call.
func publishTopic(ctx context.Context, c *call.Call, topicARN, targetARN, phone string) (*Topic, error) {
	switch {
	case phone != "":
		return nil, invalidParameter("Invalid parameter: PhoneNumber Reason: SMS delivery is not supported by bannin")
	case topicARN != "" && targetARN != "":
		return nil, invalidParameter("Invalid parameter: TopicArn or TargetArn Reason: Only one of TopicArn and TargetArn can be specified")
	case topicARN == "" && targetARN == "":
		return nil, invalidParameter("Invalid parameter: TopicArn or TargetArn Reason: no value for required parameter")
	case targetARN != "":
		topicARN = targetARN
	}
	return callerTopic(ctx, c, topicARN, "Publish")
}

// Publish publishes a message to a topic; deliveries follow once the call commits.
func (s *Service) Publish(ctx context.Context, in *sns.PublishInput) (*sns.PublishResponse, error) {
	c := call.From(ctx)
	t, err := publishTopic(ctx, c, aws.ToString(in.TopicArn), aws.ToString(in.TargetArn), aws.ToString(in.PhoneNumber))
	if err != nil {
		return nil, err
	}
	c.Touch(TopicType, t.Name, t.TopicArn)
	m, err := s.publish(ctx, c.Write(), t, publishRequest{Message: aws.ToString(in.Message), Subject: aws.ToString(in.Subject),
		Structure: aws.ToString(in.MessageStructure), Attributes: in.MessageAttributes,
		GroupID: aws.ToString(in.MessageGroupId), DeduplicationID: aws.ToString(in.MessageDeduplicationId)}, c.Time)
	if err != nil {
		return nil, err
	}
	out := &sns.PublishResponse{MessageId: aws.String(m.MessageID)}
	if m.SequenceNumber != "" {
		out.SequenceNumber = aws.String(m.SequenceNumber)
	}
	return out, nil
}

var batchIDRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,80}$`)

// PublishBatch publishes up to 10 messages to a topic; each entry succeeds or fails alone.
func (s *Service) PublishBatch(ctx context.Context, in *sns.PublishBatchInput) (*sns.PublishBatchResponse, error) {
	c := call.From(ctx)
	t, err := callerTopic(ctx, c, aws.ToString(in.TopicArn), "Publish")
	if err != nil {
		return nil, err
	}
	entries := in.PublishBatchRequestEntries
	switch {
	case len(entries) == 0:
		return nil, &sns.EmptyBatchRequestException{Message: aws.String("The batch request doesn't contain any entries")}
	case len(entries) > 10:
		return nil, &sns.TooManyEntriesInBatchRequestException{Message: aws.String("The batch request contains more entries than permissible")}
	}
	seen := map[string]bool{}
	total := 0
	for _, e := range entries {
		id := aws.ToString(e.Id)
		if !batchIDRe.MatchString(id) {
			return nil, &sns.InvalidBatchEntryIdException{Message: aws.String("A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.")}
		}
		if seen[id] {
			return nil, &sns.BatchEntryIdsNotDistinctException{Message: aws.String("Two or more batch entries in the request have the same Id.")}
		}
		seen[id] = true
		total += len(aws.ToString(e.Message))
	}
	if total > maxMessageBytes {
		return nil, &sns.BatchRequestTooLongException{Message: aws.String("The length of all the messages put together is more than the limit.")}
	}
	c.Touch(TopicType, t.Name, t.TopicArn)
	out := &sns.PublishBatchResponse{Successful: []sns.PublishBatchResultEntry{}, Failed: []sns.BatchResultErrorEntry{}}
	for _, e := range entries {
		m, err := s.publish(ctx, c.Write(), t, publishRequest{Message: aws.ToString(e.Message), Subject: aws.ToString(e.Subject),
			Structure: aws.ToString(e.MessageStructure), Attributes: e.MessageAttributes,
			GroupID: aws.ToString(e.MessageGroupId), DeduplicationID: aws.ToString(e.MessageDeduplicationId)}, c.Time)
		if err != nil {
			code, msg := "InternalError", err.Error()
			var ip *sns.InvalidParameterException
			if asInvalid(err, &ip) {
				code, msg = "InvalidParameter", ip.AWSMessage()
			} else {
				return nil, err
			}
			out.Failed = append(out.Failed, sns.BatchResultErrorEntry{Id: e.Id, Code: aws.String(code), Message: aws.String(msg), SenderFault: aws.Bool(true)})
			continue
		}
		r := sns.PublishBatchResultEntry{Id: e.Id, MessageId: aws.String(m.MessageID)}
		if m.SequenceNumber != "" {
			r.SequenceNumber = aws.String(m.SequenceNumber)
		}
		out.Successful = append(out.Successful, r)
	}
	return out, nil
}

func asInvalid(err error, target **sns.InvalidParameterException) bool {
	ip, ok := err.(*sns.InvalidParameterException)
	if ok {
		*target = ip
	}
	return ok
}

// PublishMessage publishes a message to a topic from inside bannin (alarm actions, event rule
// targets, Config notifications) in tx, exactly as the Publish API would, and returns the
// message id. Deliveries happen after tx commits.
func (s *Service) PublishMessage(ctx context.Context, tx store.Tx, topicARN, subject, message string) (string, error) {
	if _, ok := parseTopicARN(topicARN); !ok {
		return "", invalidParameter("Invalid parameter: TopicArn")
	}
	t, err := getTopic(ctx, tx, topicARN)
	if err != nil {
		return "", err
	}
	if t == nil {
		return "", errTopicNotFound
	}
	req := publishRequest{Message: message, Subject: cleanSubject(subject)}
	if t.fifo() {
		// Services publishing to a FIFO topic use one group and content deduplication.
		req.GroupID = "bannin"
		sum := sha256.Sum256([]byte(message))
		req.DeduplicationID = hex.EncodeToString(sum[:])
	}
	m, err := s.publish(ctx, tx, t, req, s.opts.Clock())
	if err != nil {
		return "", err
	}
	return m.MessageID, nil
}

// cleanSubject makes a subject from inside bannin acceptable to SNS: printable ASCII on
// one line, at most 100 characters.
func cleanSubject(subject string) string {
	b := []byte(subject)
	for i, c := range b {
		if c < 0x20 || c > 0x7e {
			b[i] = ' '
		}
	}
	if len(b) > 100 {
		b = b[:100]
	}
	return strings.TrimSpace(string(b))
}
