package lake

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/bannin/bannin/internal/call"
	"github.com/bannin/bannin/internal/wire/cloudtrail"
)

// putAuditEventsAction is the one action a channel's resource policy may grant.
const putAuditEventsAction = "cloudtrail-data:PutAuditEvents"

// externalIDKey is the condition key that carries PutAuditEvents' externalId.
const externalIDKey = "cloudtrail:ExternalId"

// policy is a channel's resource-based policy.
type policy struct {
	Version   string      `json:"Version"`
	Statement []statement `json:"Statement"`
}

type statement struct {
	Sid       string                           `json:"Sid,omitempty"`
	Effect    string                           `json:"Effect"`
	Principal json.RawMessage                  `json:"Principal"`
	Action    stringList                       `json:"Action"`
	Resource  stringList                       `json:"Resource"`
	Condition map[string]map[string]stringList `json:"Condition,omitempty"`
	principal []string                         // the AWS principals, or ["*"]
}

// stringList is a policy value that is a string or a list of strings.
type stringList []string

func (s *stringList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*s = stringList{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*s = many
	return nil
}

var principalRE = regexp.MustCompile(`^(\d{12}|arn:aws[a-z-]*:(iam|sts)::\d{12}:.+)$`)

// parsePolicy checks a channel resource policy as CloudTrail does: 1 to 20 statements, each
// with 1 to 50 principals, the one action cloudtrail-data:PutAuditEvents and the channel's
// ARN as resource. The only condition bannin evaluates is StringEquals on
// cloudtrail:ExternalId, so a policy with any other is refused rather than misread.
func parsePolicy(doc, channelARN string) (*policy, error) {
	bad := func(format string, args ...any) error {
		return errf("ResourcePolicyNotValidException", "The resource policy is not valid: "+format, args...)
	}
	var p policy
	if err := json.Unmarshal([]byte(doc), &p); err != nil {
		return nil, bad("it is not a JSON policy document (%v).", err)
	}
	if len(p.Statement) < 1 || len(p.Statement) > 20 {
		return nil, bad("it must have 1 to 20 statements; it has %d.", len(p.Statement))
	}
	for i := range p.Statement {
		st := &p.Statement[i]
		if st.Effect != "Allow" && st.Effect != "Deny" {
			return nil, bad("statement %d has Effect %q; use Allow or Deny.", i+1, st.Effect)
		}
		ps, err := principals(st.Principal)
		if err != nil {
			return nil, bad("statement %d: %v", i+1, err)
		}
		if len(ps) < 1 || len(ps) > 50 {
			return nil, bad("statement %d must name 1 to 50 principals; it names %d.", i+1, len(ps))
		}
		st.principal = ps
		if len(st.Action) != 1 || st.Action[0] != putAuditEventsAction {
			return nil, bad("statement %d must have the one action %s.", i+1, putAuditEventsAction)
		}
		for _, r := range st.Resource {
			if r != channelARN {
				return nil, bad("statement %d names resource %s; the resource must be the channel's ARN %s.", i+1, r, channelARN)
			}
		}
		if len(st.Resource) == 0 {
			return nil, bad("statement %d has no Resource; it must be the channel's ARN %s.", i+1, channelARN)
		}
		for op, kv := range st.Condition {
			for k := range kv {
				if op != "StringEquals" || k != externalIDKey {
					return nil, bad("statement %d has condition %s %s; bannin evaluates only StringEquals on %s.", i+1, op, k, externalIDKey)
				}
			}
		}
	}
	return &p, nil
}

// principals reads a statement's Principal: "*" or {"AWS": account ids or ARNs}.
func principals(raw json.RawMessage) ([]string, error) {
	var star string
	if err := json.Unmarshal(raw, &star); err == nil {
		if star != "*" {
			return nil, errf("ResourcePolicyNotValidException", "Principal %q is not valid.", star)
		}
		return []string{"*"}, nil
	}
	var m map[string]stringList
	if err := json.Unmarshal(raw, &m); err != nil || len(m) == 0 {
		return nil, errf("ResourcePolicyNotValidException", "Principal must be \"*\" or {\"AWS\": [...]}.")
	}
	for k, vs := range m {
		if k != "AWS" {
			return nil, errf("ResourcePolicyNotValidException", "Principal type %q is not valid for a channel policy; use AWS.", k)
		}
		for _, v := range vs {
			if v != "*" && !principalRE.MatchString(v) {
				return nil, errf("ResourcePolicyNotValidException", "Principal %q is not an account id or an IAM ARN.", v)
			}
		}
	}
	return m["AWS"], nil
}

// matches reports whether a statement names the caller.
func (st *statement) matches(p call.Principal) bool {
	for _, v := range st.principal {
		switch {
		case v == "*", v == p.Account, v == "arn:aws:iam::"+p.Account+":root", p.ARN != "" && v == p.ARN:
			return true
		}
	}
	return false
}

// conditionsHold reports whether the statement's conditions hold for the request's
// external id.
func (st *statement) conditionsHold(externalID string) bool {
	for _, kv := range st.Condition {
		for _, want := range kv {
			ok := false
			for _, w := range want {
				if externalID != "" && w == externalID {
					ok = true
				}
			}
			if !ok {
				return false
			}
		}
	}
	return true
}

// mayPut reports whether caller may call PutAuditEvents on ch with externalID: the owner
// may unless a statement denies it; anyone else needs a statement that allows it, with
// the external id that statement requires.
func mayPut(ch *Channel, caller call.Principal, externalID string) bool {
	var p *policy
	if ch.ResourcePolicy != "" {
		var err error
		if p, err = parsePolicy(ch.ResourcePolicy, ch.ChannelArn); err != nil {
			return false
		}
	}
	if p != nil {
		for i := range p.Statement {
			st := &p.Statement[i]
			if st.Effect == "Deny" && st.matches(caller) && st.conditionsHold(externalID) {
				return false
			}
		}
	}
	if caller.Account == ch.Account() {
		return true
	}
	if p == nil {
		return false
	}
	for i := range p.Statement {
		st := &p.Statement[i]
		if st.Effect == "Allow" && st.matches(caller) && st.conditionsHold(externalID) {
			return true
		}
	}
	return false
}

// policyChannel finds the channel a resource policy call names; bannin keeps resource
// policies on channels only.
func policyChannel(ctx context.Context, c *call.Call, arn string) (*Channel, error) {
	if m := arnRE.FindStringSubmatch(arn); m != nil && m[3] == "eventdatastore" {
		return nil, errf("ResourceTypeNotSupportedException", "bannin keeps resource policies on channels only; %s is an event data store.", arn)
	}
	if !strings.HasPrefix(arn, "arn:") {
		return nil, errf("ResourceARNNotValidException", "Resource ARN %q is not valid.", arn)
	}
	r, ok := parseRef(c, "channel", arn)
	if !ok {
		return nil, errf("ResourceARNNotValidException", "Resource ARN %q is not a valid channel ARN.", arn)
	}
	ch, _, err := loadChannel(ctx, c.Tx, r)
	if err != nil {
		return nil, err
	}
	if ch == nil || r.account != c.Account || r.region != c.Region {
		return nil, errf("ResourceNotFoundException", "The channel %s was not found.", arn)
	}
	return ch, nil
}

// PutResourcePolicy sets a channel's resource-based policy, which says who else may call
// PutAuditEvents on it and with which external id.
func (s *Service) PutResourcePolicy(ctx context.Context, in *cloudtrail.PutResourcePolicyRequest) (*cloudtrail.PutResourcePolicyResponse, error) {
	c := call.From(ctx)
	ch, err := policyChannel(ctx, c, aws.ToString(in.ResourceArn))
	if err != nil {
		return nil, err
	}
	doc := aws.ToString(in.ResourcePolicy)
	if _, err := parsePolicy(doc, ch.ChannelArn); err != nil {
		return nil, err
	}
	res, err := c.Tx.GetResource(ctx, ch.Account(), ch.Region(), ChannelType, ch.ID())
	if err != nil {
		return nil, err
	}
	ch.ResourcePolicy = doc
	if err := saveChannel(ctx, c, ch, res.Tags); err != nil {
		return nil, err
	}
	return &cloudtrail.PutResourcePolicyResponse{ResourceArn: aws.String(ch.ChannelArn), ResourcePolicy: aws.String(doc)}, nil
}

// GetResourcePolicy returns a channel's resource-based policy.
func (s *Service) GetResourcePolicy(ctx context.Context, in *cloudtrail.GetResourcePolicyRequest) (*cloudtrail.GetResourcePolicyResponse, error) {
	c := call.From(ctx)
	ch, err := policyChannel(ctx, c, aws.ToString(in.ResourceArn))
	if err != nil {
		return nil, err
	}
	if ch.ResourcePolicy == "" {
		return nil, errf("ResourcePolicyNotFoundException", "The channel %s has no resource policy.", ch.ChannelArn)
	}
	return &cloudtrail.GetResourcePolicyResponse{ResourceArn: aws.String(ch.ChannelArn), ResourcePolicy: aws.String(ch.ResourcePolicy)}, nil
}

// DeleteResourcePolicy removes a channel's resource-based policy.
func (s *Service) DeleteResourcePolicy(ctx context.Context, in *cloudtrail.DeleteResourcePolicyRequest) (*cloudtrail.DeleteResourcePolicyResponse, error) {
	c := call.From(ctx)
	ch, err := policyChannel(ctx, c, aws.ToString(in.ResourceArn))
	if err != nil {
		return nil, err
	}
	if ch.ResourcePolicy == "" {
		return nil, errf("ResourcePolicyNotFoundException", "The channel %s has no resource policy.", ch.ChannelArn)
	}
	res, err := c.Tx.GetResource(ctx, ch.Account(), ch.Region(), ChannelType, ch.ID())
	if err != nil {
		return nil, err
	}
	ch.ResourcePolicy = ""
	if err := saveChannel(ctx, c, ch, res.Tags); err != nil {
		return nil, err
	}
	return &cloudtrail.DeleteResourcePolicyResponse{}, nil
}
