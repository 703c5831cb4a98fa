// Package awsinfra renders twinedge's topology into CloudFormation and deploys it to two
// regions and the global edge with one command.
//
// The package lives in infra/aws but is named awsinfra: a package named aws would shadow
// github.com/aws/aws-sdk-go-v2/aws, which every file here also imports.
//
// Templates are typed Go values marshalled to JSON, never text templates: a property
// name is spelled once, in a struct tag, and checked against the CloudFormation resource
// schemas that cfn-lint ships (see lint_test.go).
package awsinfra

import (
	"bytes"
	"encoding/json"
)

// Template is a CloudFormation template. Maps marshal with sorted keys, so the JSON of a
// template is deterministic and can be compared with golden files.
type Template struct {
	FormatVersion string               `json:"AWSTemplateFormatVersion"`
	Description   string               `json:"Description,omitempty"`
	Metadata      map[string]any       `json:"Metadata,omitempty"`
	Parameters    map[string]Parameter `json:"Parameters,omitempty"`
	Conditions    map[string]any       `json:"Conditions,omitempty"`
	Resources     map[string]Resource  `json:"Resources"`
	Outputs       map[string]Output    `json:"Outputs,omitempty"`
}

// Parameter is a template parameter.
type Parameter struct {
	Type           string   `json:"Type"`
	Description    string   `json:"Description,omitempty"`
	Default        *string  `json:"Default,omitempty"`
	AllowedPattern string   `json:"AllowedPattern,omitempty"`
	AllowedValues  []string `json:"AllowedValues,omitempty"`
	MinLength      *int     `json:"MinLength,omitempty"`
}

// Resource is one resource of a template. Properties is one of the typed property
// structs of this package.
type Resource struct {
	Type                string         `json:"Type"`
	Condition           string         `json:"Condition,omitempty"`
	DependsOn           []string       `json:"DependsOn,omitempty"`
	DeletionPolicy      string         `json:"DeletionPolicy,omitempty"`
	UpdateReplacePolicy string         `json:"UpdateReplacePolicy,omitempty"`
	Metadata            map[string]any `json:"Metadata,omitempty"`
	Properties          any            `json:"Properties,omitempty"`
}

// Output is a stack output.
type Output struct {
	Description string `json:"Description,omitempty"`
	Condition   string `json:"Condition,omitempty"`
	Value       Value  `json:"Value"`
}

// Value is a property value: a literal (string, number, bool, list, map) or an intrinsic
// function built by Ref, GetAtt, Sub and friends. Fields that CloudFormation may fill from
// another resource are Values; fields that are always literal keep their Go type.
type Value = any

// Ref returns {"Ref": name}.
func Ref(name string) Value { return map[string]any{"Ref": name} }

// GetAtt returns {"Fn::GetAtt": [resource, attribute]}.
func GetAtt(resource, attribute string) Value {
	return map[string]any{"Fn::GetAtt": []string{resource, attribute}}
}

// Sub returns {"Fn::Sub": s}.
func Sub(s string) Value { return map[string]any{"Fn::Sub": s} }

// Join returns {"Fn::Join": [sep, parts]}.
func Join(sep string, parts ...Value) Value { return map[string]any{"Fn::Join": []any{sep, parts}} }

// Select returns {"Fn::Select": [index, list]}.
func Select(index int, list Value) Value { return map[string]any{"Fn::Select": []any{index, list}} }

// Split returns {"Fn::Split": [sep, s]}.
func Split(sep string, s Value) Value { return map[string]any{"Fn::Split": []any{sep, s}} }

// If returns {"Fn::If": [condition, then, else]}.
func If(condition string, then, els Value) Value {
	return map[string]any{"Fn::If": []any{condition, then, els}}
}

// Equals returns the condition {"Fn::Equals": [a, b]}.
func Equals(a, b Value) Value { return map[string]any{"Fn::Equals": []any{a, b}} }

// Not returns the condition {"Fn::Not": [c]}.
func Not(c Value) Value { return map[string]any{"Fn::Not": []any{c}} }

// NoValue removes the property it is assigned to (used in the branches of If).
var NoValue = Ref("AWS::NoValue")

// JSON returns the template as indented JSON with a trailing newline. HTML escaping is
// off so that "<", ">" and "&" in descriptions and function code stay readable.
func (t *Template) JSON() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(t); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// lintIgnore is the Metadata that makes cfn-lint skip the given rules on one resource.
// Every use states its reason next to it.
func lintIgnore(rules ...string) map[string]any {
	return map[string]any{"cfn-lint": map[string]any{"config": map[string]any{"ignore_checks": rules}}}
}

func str(s string) *string { return &s }
