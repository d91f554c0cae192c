package bus

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// targetInput is what a target receives for an event: its constant Input, the part of
// the event its InputPath selects, the output of its InputTransformer, or the event.
func targetInput(d *delivery) (string, error) {
	t := d.Target
	switch {
	case t.Input != nil:
		return *t.Input, nil
	case t.InputPath != nil:
		v, err := jsonPath(d.Event, *t.InputPath)
		if err != nil {
			return "", err
		}
		if v == nil {
			return "", nil
		}
		return string(v), nil
	case t.InputTransformer != nil:
		return transform(d.Event, t.InputTransformer.InputPathsMap, aws.ToString(t.InputTransformer.InputTemplate),
			d.RuleName, d.RuleArn, d.Ingested)
	}
	return string(d.Event), nil
}

var pathStep = regexp.MustCompile(`^(?:\.([^.\[\]]+)|\[(\d+|\*)\]|\['([^']*)'\])`)

// jsonPath evaluates the JSONPath subset EventBridge supports ($, dot notation with
// dashes, underscores, slashes and alphanumerics, array indexes, * wildcards) on doc.
// A path that selects nothing gives nil; wildcards give a JSON array of what they select.
func jsonPath(doc []byte, path string) (json.RawMessage, error) {
	if !strings.HasPrefix(path, "$") {
		return nil, fmt.Errorf("%q is not a JSON path", path)
	}
	cur := []json.RawMessage{json.RawMessage(doc)}
	rest, wild := path[1:], false
	for rest != "" {
		m := pathStep.FindStringSubmatch(rest)
		if m == nil {
			return nil, fmt.Errorf("%q is not a JSON path EventBridge supports", path)
		}
		rest = rest[len(m[0]):]
		var next []json.RawMessage
		for _, v := range cur {
			switch {
			case m[1] == "*" || m[2] == "*":
				wild = true
				var arr []json.RawMessage
				var obj map[string]json.RawMessage
				if json.Unmarshal(v, &arr) == nil {
					next = append(next, arr...)
				} else if json.Unmarshal(v, &obj) == nil {
					for _, k := range sortedRawKeys(obj) {
						next = append(next, obj[k])
					}
				}
			case m[2] != "":
				i, _ := strconv.Atoi(m[2])
				var arr []json.RawMessage
				if json.Unmarshal(v, &arr) == nil && i < len(arr) {
					next = append(next, arr[i])
				}
			default:
				name := m[1]
				if m[3] != "" {
					name = m[3]
				}
				var obj map[string]json.RawMessage
				if json.Unmarshal(v, &obj) == nil {
					if x, ok := obj[name]; ok {
						next = append(next, x)
					}
				}
			}
		}
		cur = next
	}
	if wild {
		raw, err := json.Marshal(cur)
		return raw, err
	}
	if len(cur) == 0 {
		return nil, nil
	}
	return cur[0], nil
}

func sortedRawKeys(m map[string]json.RawMessage) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	return keys
}

var placeholder = regexp.MustCompile(`<([A-Za-z0-9_.\-]+)>`)

// Predefined input transformer variables.
const (
	varRuleArn   = "aws.events.rule-arn"
	varRuleName  = "aws.events.rule-name"
	varIngestion = "aws.events.event.ingestion-time"
	varEvent     = "aws.events.event"
	varEventJSON = "aws.events.event.json"
)

// transform fills an input template as "Amazon EventBridge input transformation"
// describes. A template that is JSON (it starts with {, [ or ") gets JSON: a variable
// outside quotes becomes its JSON value (strings quoted, a missing value null), inside
// quotes its text escaped for a JSON string. Any other template is text: string values
// go in without quotes, others as JSON, missing ones as nothing. aws.events.event and
// aws.events.event.json always go in as unescaped JSON.
func transform(event []byte, paths map[string]string, template, ruleName, ruleArn string, ingested time.Time) (string, error) {
	vals := map[string]json.RawMessage{}
	for name, p := range paths {
		v, err := jsonPath(event, p)
		if err != nil {
			return "", fmt.Errorf("input path %s: %w", name, err)
		}
		vals[name] = v
	}
	str := func(s string) json.RawMessage { b, _ := json.Marshal(s); return b }
	vals[varRuleArn] = str(ruleArn)
	vals[varRuleName] = str(ruleName)
	vals[varIngestion] = str(ingested.UTC().Format(timeLayout))
	vals[varEventJSON] = json.RawMessage(event)
	var env map[string]json.RawMessage
	if err := json.Unmarshal(event, &env); err == nil {
		delete(env, "detail")
		b, _ := json.Marshal(orderedEnvelope(env))
		vals[varEvent] = b
	}

	trimmed := strings.TrimSpace(template)
	jsonMode := strings.HasPrefix(trimmed, "{") || strings.HasPrefix(trimmed, "[") || strings.HasPrefix(trimmed, `"`)
	var out strings.Builder
	inString := false
	last := 0
	// scan copies template[last:i] and tracks whether i is inside a JSON string.
	scan := func(i int) {
		for j := last; j < i; j++ {
			c := template[j]
			if c == '"' {
				bs := 0
				for k := j - 1; k >= 0 && template[k] == '\\'; k-- {
					bs++
				}
				if bs%2 == 0 {
					inString = !inString
				}
			}
		}
		out.WriteString(template[last:i])
		last = i
	}
	for _, loc := range placeholder.FindAllStringSubmatchIndex(template, -1) {
		name := template[loc[2]:loc[3]]
		v, ok := vals[name]
		if !ok {
			continue
		}
		scan(loc[0])
		last = loc[1]
		var s string
		var isStr bool
		if v != nil {
			isStr = json.Unmarshal(v, &s) == nil
		}
		switch {
		case name == varEvent || name == varEventJSON:
			out.Write(v)
		case jsonMode && inString:
			if !isStr {
				s = string(v)
			}
			b, _ := json.Marshal(s)
			out.Write(b[1 : len(b)-1])
		case jsonMode:
			if v == nil {
				out.WriteString("null")
			} else {
				out.Write(v)
			}
		case isStr:
			out.WriteString(s)
		default:
			out.Write(v)
		}
	}
	scan(len(template))
	return out.String(), nil
}

// envelope keeps an event's members (without detail) in EventBridge's order.
type envelope struct {
	Version    json.RawMessage `json:"version,omitempty"`
	ID         json.RawMessage `json:"id,omitempty"`
	DetailType json.RawMessage `json:"detail-type,omitempty"`
	Source     json.RawMessage `json:"source,omitempty"`
	Account    json.RawMessage `json:"account,omitempty"`
	Time       json.RawMessage `json:"time,omitempty"`
	Region     json.RawMessage `json:"region,omitempty"`
	Resources  json.RawMessage `json:"resources,omitempty"`
}

func orderedEnvelope(m map[string]json.RawMessage) envelope {
	return envelope{Version: m["version"], ID: m["id"], DetailType: m["detail-type"], Source: m["source"],
		Account: m["account"], Time: m["time"], Region: m["region"], Resources: m["resources"]}
}
