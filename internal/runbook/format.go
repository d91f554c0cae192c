package runbook

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"

	"go.yaml.in/yaml/v3"
)

// convertContent rewrites a document's content from one format to another, keeping the
// order of its keys (GetDocument's DocumentFormat).
func convertContent(content, from, to string) (string, error) {
	if from == to || to == "" {
		return content, nil
	}
	root, err := parseNode(content, from)
	if err != nil {
		return "", err
	}
	switch to {
	case FormatJSON:
		var b bytes.Buffer
		if err := nodeJSON(&b, root); err != nil {
			return "", err
		}
		var out bytes.Buffer
		if err := json.Indent(&out, b.Bytes(), "", "  "); err != nil {
			return "", fmt.Errorf("runbook: convert to json: %w", err)
		}
		return out.String(), nil
	case FormatYAML:
		blockStyle(root)
		b, err := yaml.Marshal(root)
		if err != nil {
			return "", fmt.Errorf("runbook: convert to yaml: %w", err)
		}
		return string(b), nil
	}
	return "", fmt.Errorf("runbook: unknown document format %q", to)
}

// blockStyle clears the flow style JSON gives every collection, so YAML output is block
// style, and the quoting of strings that need none.
func blockStyle(n *yaml.Node) {
	if n.Kind == yaml.MappingNode || n.Kind == yaml.SequenceNode {
		n.Style = 0
	}
	if n.Kind == yaml.ScalarNode && n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
		// Keep quotes only where the plain form would read as another type.
		if n.Tag == "!!str" {
			var probe any
			if yaml.Unmarshal([]byte(n.Value), &probe) == nil {
				if s, ok := probe.(string); ok && s == n.Value {
					n.Style = 0
				}
			}
		}
	}
	for _, c := range n.Content {
		blockStyle(c)
	}
}

// nodeJSON writes a YAML node as JSON.
func nodeJSON(b *bytes.Buffer, n *yaml.Node) error {
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			b.WriteString("null")
			return nil
		}
		return nodeJSON(b, n.Content[0])
	case yaml.AliasNode:
		return nodeJSON(b, n.Alias)
	case yaml.MappingNode:
		b.WriteByte('{')
		for i := 0; i+1 < len(n.Content); i += 2 {
			if i > 0 {
				b.WriteByte(',')
			}
			k, _ := json.Marshal(n.Content[i].Value)
			b.Write(k)
			b.WriteByte(':')
			if err := nodeJSON(b, n.Content[i+1]); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	case yaml.SequenceNode:
		b.WriteByte('[')
		for i, c := range n.Content {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := nodeJSON(b, c); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			b.WriteString("null")
		case "!!bool":
			var v bool
			if err := n.Decode(&v); err != nil {
				return err
			}
			b.WriteString(strconv.FormatBool(v))
		case "!!int", "!!float":
			var v any
			if err := n.Decode(&v); err != nil {
				return err
			}
			out, err := json.Marshal(v)
			if err != nil {
				return err
			}
			b.Write(out)
		default:
			s, _ := json.Marshal(n.Value)
			b.Write(s)
		}
	}
	return nil
}
