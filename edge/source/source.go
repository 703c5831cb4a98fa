// Package source reads a CloudFront distribution from what a team already has: the JSON that
// `aws cloudfront get-distribution-config` prints (or a bare DistributionConfig), or a
// CloudFormation template, JSON or YAML — hand-written, SAM, or `cdk synth` output — holding
// an AWS::CloudFront::Distribution and the resources it refers to in the same template
// (CloudFront Functions with their code, cache, origin request and response headers
// policies, origin access controls, key value stores).
//
// The result is what edge.New takes: the DistributionConfig in the API's shape and the
// objects it refers to, keyed as the config refers to them. References that only a deployed
// stack could resolve become placeholders and are listed in Distribution.Unresolved.
package source

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
)

// Function is a CloudFront Function defined in the template.
type Function struct {
	// Name is the function's name, the last element of its ARN.
	Name string
	// Runtime is FunctionConfig.Runtime, e.g. "cloudfront-js-2.0".
	Runtime string
	// Code is FunctionCode.
	Code string
	// KeyValueStoreARNs are the stores associated with the function.
	KeyValueStoreARNs []string
}

// KeyValueStore is an AWS::CloudFront::KeyValueStore of the template.
type KeyValueStore struct {
	Name string
	ARN  string
	// ImportSource is the S3 ARN of the store's initial data, if any.
	ImportSource string
}

// Unresolved is a reference that only a deployed stack can resolve. Placeholder is the
// string that stands for it in the config; Why says what it was and how to give it.
type Unresolved struct {
	Placeholder string
	Why         string
}

// Distribution is a distribution read from a source, ready for edge.New.
type Distribution struct {
	// LogicalID is the template resource it came from ("" for API JSON).
	LogicalID string
	// Config is the distribution config in the API's shape.
	Config *types.DistributionConfig
	// ETag is the ETag of get-distribution-config output ("" otherwise).
	ETag string

	CachePolicies           map[string]types.CachePolicyConfig
	OriginRequestPolicies   map[string]types.OriginRequestPolicyConfig
	ResponseHeadersPolicies map[string]types.ResponseHeadersPolicyConfig
	OriginAccessControls    map[string]types.OriginAccessControlConfig
	// Functions are keyed by function name.
	Functions      map[string]Function
	KeyValueStores map[string]KeyValueStore

	Unresolved []Unresolved
}

// Options tune how a source is read. The zero value reads a template with one distribution.
type Options struct {
	// Resource picks the AWS::CloudFront::Distribution by logical id when a template has
	// several (required then).
	Resource string
	// Params gives values to template parameters (by name) and to Fn::ImportValue names.
	Params map[string]string
	// Region is AWS::Region while evaluating (default us-east-1).
	Region string
	// Account is AWS::AccountId (default 000000000000, the local account).
	Account string
}

// ErrNoDistribution is returned for a template without an AWS::CloudFront::Distribution.
var ErrNoDistribution = errors.New("no AWS::CloudFront::Distribution in the template")

// maxSource is the largest source read. CloudFormation's own limit for a template is 1 MB
// (CloudFormation quotas page, "Template body size in an Amazon S3 object").
const maxSource = 1 << 20

// Load reads a distribution from data, whose form is detected: API JSON (an object with
// DistributionConfig, or one with Origins and DefaultCacheBehavior) or a template (JSON or
// YAML, with Resources).
func Load(data []byte, opts Options) (*Distribution, error) {
	if len(data) > maxSource {
		return nil, fmt.Errorf("source is %d bytes; CloudFormation's limit for a template is 1 MB", len(data))
	}
	if opts.Region == "" {
		opts.Region = "us-east-1"
	}
	if opts.Account == "" {
		opts.Account = "000000000000"
	}
	trimmed := bytes.TrimSpace(data)
	var doc any
	if len(trimmed) > 0 && trimmed[0] == '{' {
		dec := json.NewDecoder(bytes.NewReader(trimmed))
		if err := dec.Decode(&doc); err != nil {
			return nil, fmt.Errorf("JSON: %w", err)
		}
		if dec.More() {
			return nil, fmt.Errorf("JSON: data after the document")
		}
	} else {
		var err error
		if doc, err = decodeYAML(data); err != nil {
			return nil, err
		}
	}
	m, ok := doc.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("source is not an object")
	}
	if _, ok := m["Resources"]; ok {
		return loadTemplate(m, opts)
	}
	if dc, ok := m["DistributionConfig"]; ok {
		d, err := loadAPI(dc)
		if err != nil {
			return nil, err
		}
		d.ETag, _ = m["ETag"].(string)
		return d, nil
	}
	if _, ok := m["Origins"]; ok {
		return loadAPI(m)
	}
	if dist, ok := m["Distribution"].(map[string]any); ok { // get-distribution output
		if dc, ok := dist["DistributionConfig"]; ok {
			return loadAPI(dc)
		}
	}
	return nil, fmt.Errorf("source is neither a CloudFormation template (no Resources) nor a DistributionConfig (no Origins)")
}

// loadAPI reads a DistributionConfig already in the API's shape (the aws CLI's JSON).
func loadAPI(v any) (*Distribution, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	cfg := new(types.DistributionConfig)
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(cfg); err != nil {
		return nil, fmt.Errorf("DistributionConfig: %w", err)
	}
	return newDistribution("", cfg), nil
}

func newDistribution(logical string, cfg *types.DistributionConfig) *Distribution {
	return &Distribution{
		LogicalID:               logical,
		Config:                  cfg,
		CachePolicies:           map[string]types.CachePolicyConfig{},
		OriginRequestPolicies:   map[string]types.OriginRequestPolicyConfig{},
		ResponseHeadersPolicies: map[string]types.ResponseHeadersPolicyConfig{},
		OriginAccessControls:    map[string]types.OriginAccessControlConfig{},
		Functions:               map[string]Function{},
		KeyValueStores:          map[string]KeyValueStore{},
	}
}

func loadTemplate(m map[string]any, opts Options) (*Distribution, error) {
	t, err := parseTemplate(m)
	if err != nil {
		return nil, err
	}
	ev := newEvaluator(t, opts.Params, opts.Region, opts.Account)
	var dists []string
	for id, r := range t.Resources {
		if r.Type != "AWS::CloudFront::Distribution" {
			continue
		}
		ok, err := ev.included(r)
		if err != nil {
			return nil, fmt.Errorf("resource %s: %w", id, err)
		}
		if ok {
			dists = append(dists, id)
		}
	}
	sort.Strings(dists)
	logical := opts.Resource
	switch {
	case logical != "":
		r, ok := t.Resources[logical]
		if !ok || r.Type != "AWS::CloudFront::Distribution" {
			return nil, fmt.Errorf("no AWS::CloudFront::Distribution %q in the template (it has: %s)", logical, listOrNone(dists))
		}
	case len(dists) == 0:
		return nil, ErrNoDistribution
	case len(dists) > 1:
		return nil, fmt.Errorf("the template has %d distributions (%s): pick one with --resource ID", len(dists), strings.Join(dists, ", "))
	default:
		logical = dists[0]
	}

	props, err := ev.eval(t.Resources[logical].Properties)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", logical, err)
	}
	raw, ok := props.(map[string]any)["DistributionConfig"].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: DistributionConfig is required", logical)
	}
	cfg, err := distributionConfig(raw, logical)
	if err != nil {
		return nil, err
	}
	d := newDistribution(logical, cfg)
	if err := collectResources(ev, t, d); err != nil {
		return nil, err
	}
	d.Unresolved = ev.unresolvedLines()
	return d, nil
}

func listOrNone(l []string) string {
	if len(l) == 0 {
		return "none"
	}
	return strings.Join(l, ", ")
}

func parseTemplate(m map[string]any) (*template, error) {
	t := &template{Resources: map[string]resource{}}
	t.Parameters, _ = m["Parameters"].(map[string]any)
	t.Mappings, _ = m["Mappings"].(map[string]any)
	t.Conditions, _ = m["Conditions"].(map[string]any)
	res, ok := m["Resources"].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("Resources must be an object")
	}
	for id, v := range res {
		rm, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("resource %s is not an object", id)
		}
		r := resource{}
		r.Type, _ = rm["Type"].(string)
		if r.Type == "" {
			return nil, fmt.Errorf("resource %s has no Type", id)
		}
		r.Properties, _ = rm["Properties"].(map[string]any)
		if r.Properties == nil {
			r.Properties = map[string]any{}
		}
		r.Condition, _ = rm["Condition"].(string)
		t.Resources[id] = r
	}
	return t, nil
}

// distributionConfig converts CloudFormation's DistributionConfig into the API's.
func distributionConfig(raw map[string]any, logical string) (*types.DistributionConfig, error) {
	raw = cloneMap(raw)
	if dcb, ok := raw["DefaultCacheBehavior"].(map[string]any); ok {
		raw["DefaultCacheBehavior"] = behaviourToAPI(dcb)
	}
	if cbs, ok := raw["CacheBehaviors"].([]any); ok {
		out := make([]any, len(cbs))
		for i, cb := range cbs {
			if m, ok := cb.(map[string]any); ok {
				out[i] = behaviourToAPI(m)
			} else {
				out[i] = cb
			}
		}
		raw["CacheBehaviors"] = out
	}
	if lg, ok := raw["Logging"].(map[string]any); ok {
		lg = cloneMap(lg)
		lg["Enabled"] = true // CloudFormation has no Enabled: a Logging block enables it
		if _, ok := lg["IncludeCookies"]; !ok {
			lg["IncludeCookies"] = false
		}
		if _, ok := lg["Prefix"]; !ok {
			lg["Prefix"] = ""
		}
		raw["Logging"] = lg
	}
	cfg, err := decodeAs[types.DistributionConfig](raw, logical+".DistributionConfig")
	if err != nil {
		return nil, err
	}
	// CloudFormation has no CallerReference (the stack owns the distribution), and leaves
	// lists out that the API requires with a zero Quantity.
	if cfg.CallerReference == nil {
		ref := "cfn-" + logical
		cfg.CallerReference = &ref
	}
	if cfg.Comment == nil {
		empty := ""
		cfg.Comment = &empty
	}
	if cfg.Origins == nil {
		cfg.Origins = &types.Origins{Quantity: ptr[int32](0)}
	}
	return cfg, nil
}

// behaviourToAPI moves CloudFormation's CachedMethods into AllowedMethods, with
// CloudFormation's defaults for both: GET and HEAD.
func behaviourToAPI(b map[string]any) map[string]any {
	b = cloneMap(b)
	allowed, ok := b["AllowedMethods"]
	if !ok {
		allowed = []any{"GET", "HEAD"}
	}
	cached, ok := b["CachedMethods"]
	if !ok {
		cached = []any{"GET", "HEAD"}
	}
	delete(b, "CachedMethods")
	b["AllowedMethods"] = map[string]any{"Items": allowed, "CachedMethods": cached}
	return b
}

// collectResources reads the CloudFront resources of the template the edge needs.
func collectResources(ev *evaluator, t *template, d *Distribution) error {
	ids := make([]string, 0, len(t.Resources))
	for id := range t.Resources {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		r := t.Resources[id]
		if !strings.HasPrefix(r.Type, "AWS::CloudFront::") || r.Type == "AWS::CloudFront::Distribution" {
			continue
		}
		if ok, err := ev.included(r); err != nil {
			return fmt.Errorf("resource %s: %w", id, err)
		} else if !ok {
			continue
		}
		pv, err := ev.eval(r.Properties)
		if err != nil {
			return fmt.Errorf("%s: %w", id, err)
		}
		p := pv.(map[string]any)
		path := id + ".Properties"
		switch r.Type {
		case "AWS::CloudFront::CachePolicy":
			c, err := decodeAs[types.CachePolicyConfig](p["CachePolicyConfig"], path+".CachePolicyConfig")
			if err != nil {
				return err
			}
			d.CachePolicies[id] = *c
		case "AWS::CloudFront::OriginRequestPolicy":
			c, err := decodeAs[types.OriginRequestPolicyConfig](p["OriginRequestPolicyConfig"], path+".OriginRequestPolicyConfig")
			if err != nil {
				return err
			}
			d.OriginRequestPolicies[id] = *c
		case "AWS::CloudFront::ResponseHeadersPolicy":
			c, err := decodeAs[types.ResponseHeadersPolicyConfig](p["ResponseHeadersPolicyConfig"], path+".ResponseHeadersPolicyConfig")
			if err != nil {
				return err
			}
			d.ResponseHeadersPolicies[id] = *c
		case "AWS::CloudFront::OriginAccessControl":
			c, err := decodeAs[types.OriginAccessControlConfig](p["OriginAccessControlConfig"], path+".OriginAccessControlConfig")
			if err != nil {
				return err
			}
			d.OriginAccessControls[id] = *c
		case "AWS::CloudFront::Function":
			f := Function{Name: ev.functionName(id, r)}
			code, ok := p["FunctionCode"].(string)
			if !ok {
				return fmt.Errorf("%s.FunctionCode: want the function's source as a string", path)
			}
			f.Code = code
			if fc, ok := p["FunctionConfig"].(map[string]any); ok {
				f.Runtime, _ = fc["Runtime"].(string)
				if kvs, ok := fc["KeyValueStoreAssociations"].([]any); ok {
					for _, a := range kvs {
						if am, ok := a.(map[string]any); ok {
							if arn, ok := am["KeyValueStoreARN"].(string); ok {
								f.KeyValueStoreARNs = append(f.KeyValueStoreARNs, arn)
							}
						}
					}
				}
			}
			d.Functions[f.Name] = f
		case "AWS::CloudFront::KeyValueStore":
			k := KeyValueStore{Name: ev.resourceRef(id, r).(string)}
			if v, err := ev.getAtt(id, "Arn"); err == nil {
				k.ARN, _ = v.(string)
			}
			if is, ok := p["ImportSource"].(map[string]any); ok {
				k.ImportSource, _ = is["SourceArn"].(string)
			}
			d.KeyValueStores[k.Name] = k
		}
	}
	return nil
}

func cloneMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func ptr[T any](v T) *T { return &v }
