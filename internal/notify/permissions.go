package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/bannin/bannin/internal/call"
	"github.com/bannin/bannin/internal/store"
	"github.com/bannin/bannin/internal/wire/sns"
)

// permissionActions are the action names AddPermission grants (AWS refuses others as out
// of the service's scope).
var permissionActions = map[string]bool{
	"GetTopicAttributes": true, "SetTopicAttributes": true, "AddPermission": true, "RemovePermission": true,
	"DeleteTopic": true, "Subscribe": true, "ListSubscriptionsByTopic": true, "Publish": true, "Receive": true,
}

var (
	labelRe   = regexp.MustCompile(`^[A-Za-z0-9_-]{1,80}$`)
	accountRe = regexp.MustCompile(`^\d{12}$`)
)

// policyDocument is a topic's access policy with its statements kept as written.
type policyDocument struct {
	Version   string            `json:"Version,omitempty"`
	ID        string            `json:"Id,omitempty"`
	Statement []json.RawMessage `json:"Statement"`
}

// topicPolicy returns the topic's access policy (AWS's default one until it is set).
func topicPolicy(t *Topic) (*policyDocument, error) {
	raw := t.Attributes["Policy"]
	if raw == "" {
		raw = defaultPolicy(t.account, t.TopicArn)
	}
	var doc struct {
		Version   string          `json:"Version"`
		ID        string          `json:"Id"`
		Statement json.RawMessage `json:"Statement"`
	}
	if err := json.Unmarshal([]byte(raw), &doc); err != nil {
		return nil, fmt.Errorf("notify: topic %s policy: %w", t.TopicArn, err)
	}
	p := &policyDocument{Version: doc.Version, ID: doc.ID}
	if len(doc.Statement) > 0 && doc.Statement[0] == '{' {
		p.Statement = []json.RawMessage{doc.Statement}
	} else if len(doc.Statement) > 0 && json.Unmarshal(doc.Statement, &p.Statement) != nil {
		return nil, fmt.Errorf("notify: topic %s policy: Statement is neither an object nor a list", t.TopicArn)
	}
	return p, nil
}

// statementIndex returns the index of the statement whose Sid is label, or -1.
func (p *policyDocument) statementIndex(label string) int {
	for i, raw := range p.Statement {
		var st struct{ Sid string }
		if json.Unmarshal(raw, &st) == nil && st.Sid == label {
			return i
		}
	}
	return -1
}

// oneOrMany is a policy element: a single string, or a list of them.
func oneOrMany(v []string) any {
	if len(v) == 1 {
		return v[0]
	}
	return v
}

// AddPermission adds a statement labelled Label to the topic's policy that allows the
// accounts the actions, as AWS writes it: principals as account root ARNs, actions
// prefixed SNS:, the topic as resource.
func (s *Service) AddPermission(ctx context.Context, in *sns.AddPermissionInput) (*sns.AddPermissionOutput, error) {
	c := call.From(ctx)
	t, err := callerTopic(ctx, c, aws.ToString(in.TopicArn), "AddPermission")
	if err != nil {
		return nil, err
	}
	label := aws.ToString(in.Label)
	if !labelRe.MatchString(label) {
		return nil, invalidParameter("Invalid parameter: Label")
	}
	if len(in.AWSAccountId) == 0 {
		return nil, invalidParameter("Invalid parameter: AWSAccountId")
	}
	if len(in.ActionName) == 0 {
		return nil, invalidParameter("Invalid parameter: ActionName")
	}
	principals := make([]string, 0, len(in.AWSAccountId))
	for _, a := range in.AWSAccountId {
		if !accountRe.MatchString(a) {
			return nil, invalidParameter("Invalid parameter: AWSAccountId")
		}
		principals = append(principals, "arn:aws:iam::"+a+":root")
	}
	actions := make([]string, 0, len(in.ActionName))
	for _, a := range in.ActionName {
		if !permissionActions[a] {
			return nil, invalidParameter("Invalid parameter: Policy statement action out of service scope!")
		}
		actions = append(actions, "SNS:"+a)
	}
	p, err := topicPolicy(t)
	if err != nil {
		return nil, err
	}
	if p.statementIndex(label) >= 0 {
		return nil, invalidParameter("Invalid parameter: Statement already exists")
	}
	st, err := json.Marshal(struct {
		Sid       string         `json:"Sid"`
		Effect    string         `json:"Effect"`
		Principal map[string]any `json:"Principal"`
		Action    any            `json:"Action"`
		Resource  string         `json:"Resource"`
	}{label, "Allow", map[string]any{"AWS": oneOrMany(principals)}, oneOrMany(actions), t.TopicArn})
	if err != nil {
		return nil, err
	}
	p.Statement = append(p.Statement, st)
	if err := s.savePolicy(ctx, c, t, p); err != nil {
		return nil, err
	}
	return &sns.AddPermissionOutput{}, nil
}

// RemovePermission removes the statement labelled Label from the topic's policy.
func (s *Service) RemovePermission(ctx context.Context, in *sns.RemovePermissionInput) (*sns.RemovePermissionOutput, error) {
	c := call.From(ctx)
	t, err := callerTopic(ctx, c, aws.ToString(in.TopicArn), "RemovePermission")
	if err != nil {
		return nil, err
	}
	label := aws.ToString(in.Label)
	p, err := topicPolicy(t)
	if err != nil {
		return nil, err
	}
	i := p.statementIndex(label)
	if label == "" || i < 0 {
		return nil, invalidParameter("Invalid parameter: Label Reason: No statement with label %s", label)
	}
	p.Statement = append(p.Statement[:i], p.Statement[i+1:]...)
	if err := s.savePolicy(ctx, c, t, p); err != nil {
		return nil, err
	}
	return &sns.RemovePermissionOutput{}, nil
}

func (s *Service) savePolicy(ctx context.Context, c *call.Call, t *Topic, p *policyDocument) error {
	t.Attributes["Policy"] = marshalNoEscape(p)
	c.Touch(TopicType, t.Name, t.TopicArn)
	return saveTopic(ctx, c.Write(), t)
}

// deletedBucket counts, per topic ARN, the subscriptions deleted from it
// (GetTopicAttributes' SubscriptionsDeleted); kept apart from the topic so that an
// unsubscribe does not change the topic's recorded configuration.
const deletedBucket = "sns-topic-deleted"

// countDeleted adds one to the topic's deleted subscriptions.
func countDeleted(ctx context.Context, tx store.Tx, topicARN string) error {
	n, err := deletedCount(ctx, tx, topicARN)
	if err != nil {
		return err
	}
	if err := tx.Put(ctx, deletedBucket, topicARN, []byte(strconv.Itoa(n+1))); err != nil {
		return fmt.Errorf("notify: count deleted subscription of %s: %w", topicARN, err)
	}
	return nil
}

func deletedCount(ctx context.Context, tx store.ReadTx, topicARN string) (int, error) {
	v, err := tx.Get(ctx, deletedBucket, topicARN)
	if err != nil {
		return 0, fmt.Errorf("notify: deleted subscriptions of %s: %w", topicARN, err)
	}
	n, _ := strconv.Atoi(string(v))
	return n, nil
}

// dataProtectionTopic returns the caller's topic ResourceArn names, for the data
// protection policy operations.
func dataProtectionTopic(ctx context.Context, c *call.Call, arn string) (*Topic, error) {
	if _, ok := parseTopicARN(arn); !ok {
		return nil, invalidParameter("Invalid parameter: ResourceArn")
	}
	return callerTopic(ctx, c, arn, "GetDataProtectionPolicy")
}

// GetDataProtectionPolicy returns the topic's data protection policy ("" when none).
func (s *Service) GetDataProtectionPolicy(ctx context.Context, in *sns.GetDataProtectionPolicyInput) (*sns.GetDataProtectionPolicyResponse, error) {
	t, err := dataProtectionTopic(ctx, call.From(ctx), aws.ToString(in.ResourceArn))
	if err != nil {
		return nil, err
	}
	return &sns.GetDataProtectionPolicyResponse{DataProtectionPolicy: aws.String(t.Attributes["DataProtectionPolicy"])}, nil
}

// PutDataProtectionPolicy sets (or, with "", removes) the topic's data protection policy.
// bannin keeps it but does not audit or mask messages by it.
func (s *Service) PutDataProtectionPolicy(ctx context.Context, in *sns.PutDataProtectionPolicyInput) (*sns.PutDataProtectionPolicyOutput, error) {
	c := call.From(ctx)
	t, err := dataProtectionTopic(ctx, c, aws.ToString(in.ResourceArn))
	if err != nil {
		return nil, err
	}
	policy := aws.ToString(in.DataProtectionPolicy)
	if policy == "" {
		delete(t.Attributes, "DataProtectionPolicy")
	} else {
		var v map[string]any
		if json.Unmarshal([]byte(policy), &v) != nil {
			return nil, invalidParameter("Invalid parameter: DataProtectionPolicy")
		}
		t.Attributes["DataProtectionPolicy"] = policy
	}
	c.Touch(TopicType, t.Name, t.TopicArn)
	if err := saveTopic(ctx, c.Write(), t); err != nil {
		return nil, err
	}
	return &sns.PutDataProtectionPolicyOutput{}, nil
}
