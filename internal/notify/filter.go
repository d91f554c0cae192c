package notify

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"

	"github.com/bannin/bannin/internal/bus/pattern"
)

// SNS subscription filter policies are EventBridge event patterns over a JSON document:
// the message body (scope MessageBody) or an object made of the message attributes (scope
// MessageAttributes: String values as strings, Number values as numbers, String.Array values
// as arrays; Binary attributes are not filterable). The operators SNS documents (exact
// values, prefix, suffix, anything-but, equals-ignore-case, numeric, cidr, exists, $or)
// are the event pattern engine's, with the same semantics.

// maxFilterKeys is how many attribute keys a filter policy can name.
const maxFilterKeys = 5

// compileFilterPolicy compiles a filter policy.
func compileFilterPolicy(policy string) (*pattern.Pattern, error) {
	var top map[string]any
	if err := json.Unmarshal([]byte(policy), &top); err != nil {
		return nil, errors.New("failed to parse JSON")
	}
	if len(top) > maxFilterKeys {
		return nil, errors.New("Filter policy can not have more than 5 keys")
	}
	p, err := pattern.Compile(policy)
	if err != nil {
		var pe *pattern.Error
		if errors.As(err, &pe) {
			return nil, errors.New(pe.Reason)
		}
		return nil, err
	}
	return p, nil
}

// filterMatches reports whether a message passes a subscription's filter policy.
func filterMatches(sub *Subscription, m *message) bool {
	policy := sub.Attributes["FilterPolicy"]
	if policy == "" {
		return true
	}
	p, err := compileFilterPolicy(policy)
	if err != nil {
		return false
	}
	var doc []byte
	if sub.Attributes["FilterPolicyScope"] == "MessageBody" {
		doc = []byte(m.forProtocol(sub.Protocol))
		var obj map[string]any
		if json.Unmarshal(doc, &obj) != nil {
			return false
		}
	} else {
		doc = attributeDocument(m.Attributes)
	}
	ok, err := p.Matches(doc)
	return err == nil && ok
}

// attributeDocument is the JSON object message attributes are filtered as.
func attributeDocument(attrs map[string]Attribute) []byte {
	obj := map[string]json.RawMessage{}
	for name, a := range attrs {
		switch {
		case a.Type == "String.Array":
			obj[name] = json.RawMessage(a.Value)
		case strings.HasPrefix(a.Type, "Number"):
			if f, err := strconv.ParseFloat(a.Value, 64); err == nil {
				obj[name] = json.RawMessage(strconv.FormatFloat(f, 'g', -1, 64))
			}
		case strings.HasPrefix(a.Type, "String"):
			v, _ := json.Marshal(a.Value)
			obj[name] = v
		}
	}
	doc, _ := json.Marshal(obj)
	return doc
}
