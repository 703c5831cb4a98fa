package source

// This file reads a YAML CloudFormation template into the same plain values encoding/json
// gives, with the short-form intrinsics (!Ref, !GetAtt, !Sub, …) turned into their long
// forms ("Template format: YAML" and each function's "Syntax for the short form" in the
// CloudFormation User Guide). "!GetAtt A.B" is the string form of Fn::GetAtt.

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// shortForms maps each short-form tag to its long form.
var shortForms = map[string]string{
	"!Ref": "Ref", "!Condition": "Condition",
	"!GetAtt": "Fn::GetAtt", "!Sub": "Fn::Sub", "!Join": "Fn::Join", "!Select": "Fn::Select",
	"!Split": "Fn::Split", "!If": "Fn::If", "!Equals": "Fn::Equals", "!Not": "Fn::Not",
	"!And": "Fn::And", "!Or": "Fn::Or", "!FindInMap": "Fn::FindInMap", "!Base64": "Fn::Base64",
	"!GetAZs": "Fn::GetAZs", "!ImportValue": "Fn::ImportValue", "!Cidr": "Fn::Cidr",
	"!Transform": "Fn::Transform", "!ToJsonString": "Fn::ToJsonString", "!Length": "Fn::Length",
}

// maxYAMLNodes bounds the work of a template with aliases that expand without end
// ("billion laughs"); CloudFormation itself caps templates at 1 MB (quotas page).
const maxYAMLNodes = 1 << 20

func decodeYAML(data []byte) (any, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("YAML: %w", err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil, fmt.Errorf("YAML: want one document")
	}
	budget := maxYAMLNodes
	return yamlValue(doc.Content[0], &budget, 0)
}

func yamlValue(n *yaml.Node, budget *int, depth int) (any, error) {
	*budget--
	if *budget < 0 || depth > 200 {
		return nil, fmt.Errorf("YAML: template too large or too deeply nested")
	}
	var v any
	switch n.Kind {
	case yaml.AliasNode:
		return yamlValue(n.Alias, budget, depth+1)
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind != yaml.ScalarNode {
				return nil, fmt.Errorf("YAML line %d: a key must be a scalar", k.Line)
			}
			val, err := yamlValue(n.Content[i+1], budget, depth+1)
			if err != nil {
				return nil, err
			}
			m[k.Value] = val
		}
		v = m
	case yaml.SequenceNode:
		l := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			val, err := yamlValue(c, budget, depth+1)
			if err != nil {
				return nil, err
			}
			l = append(l, val)
		}
		v = l
	case yaml.ScalarNode:
		v = yamlScalar(n)
	default:
		return nil, fmt.Errorf("YAML line %d: unexpected node", n.Line)
	}
	if long, ok := shortForms[n.Tag]; ok {
		if long == "Fn::GetAtt" {
			if s, ok := v.(string); ok {
				logical, attr, found := strings.Cut(s, ".")
				if !found {
					return nil, fmt.Errorf("YAML line %d: !GetAtt %q: want Resource.Attribute", n.Line, s)
				}
				v = []any{logical, attr}
			}
		}
		return map[string]any{long: v}, nil
	}
	if strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!") {
		return nil, fmt.Errorf("YAML line %d: unknown tag %s", n.Line, n.Tag)
	}
	return v, nil
}

// yamlScalar types a plain scalar as YAML 1.1 core schema readers (and CloudFormation) do;
// a quoted or tagged-string scalar stays a string.
func yamlScalar(n *yaml.Node) any {
	if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		return n.Value
	}
	switch n.ShortTag() {
	case "!!null":
		return nil
	case "!!bool":
		b, err := strconv.ParseBool(strings.ToLower(n.Value))
		if err == nil {
			return b
		}
	case "!!int":
		if i, err := strconv.ParseInt(n.Value, 0, 64); err == nil && math.Abs(float64(i)) < 1<<53 {
			return float64(i)
		}
	case "!!float":
		if f, err := strconv.ParseFloat(n.Value, 64); err == nil {
			return f
		}
	}
	return n.Value
}
