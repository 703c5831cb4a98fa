package source

// This file evaluates the parts of a CloudFormation template that a distribution needs:
// parameters, conditions, mappings and the intrinsic functions, over a template already
// decoded into plain JSON values (YAML short forms are turned into their long forms by
// yaml.go first). What cannot be known without a deployed stack (an import from another
// stack, an attribute of a resource type the edge does not model) becomes a placeholder
// string and is reported, so a user can map it with a flag.
//
// Sources: "Intrinsic function reference" and "Pseudo parameters reference" of the
// CloudFormation User Guide (docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/
// intrinsic-function-reference.html, pseudo-parameter-reference.html), and each resource
// type's "Return values" section for what Ref and Fn::GetAtt return.

import (
	"encoding/base64"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// template is a decoded CloudFormation template.
type template struct {
	Parameters map[string]any
	Mappings   map[string]any
	Conditions map[string]any
	Resources  map[string]resource
}

// resource is one entry of Resources.
type resource struct {
	Type       string
	Properties map[string]any
	Condition  string
}

// noValue stands for AWS::NoValue: the property that evaluates to it is removed.
type noValueT struct{}

var noValue = noValueT{}

// evaluator resolves intrinsics for one template.
type evaluator struct {
	t       *template
	params  map[string]string // user-given values of parameters and import names
	region  string
	account string
	// unresolved collects what could not be resolved: placeholder → description.
	unresolved map[string]string
	conds      map[string]bool
	condBusy   map[string]bool
}

func newEvaluator(t *template, params map[string]string, region, account string) *evaluator {
	return &evaluator{t: t, params: params, region: region, account: account,
		unresolved: map[string]string{}, conds: map[string]bool{}, condBusy: map[string]bool{}}
}

// placeholder returns a stand-in for a value only a deployed stack knows, and records it.
// Placeholders are valid host names where they are likely to end up in a domain name.
func (e *evaluator) placeholder(kind, name, why string) string {
	p := "unresolved-" + strings.ToLower(sanitize(kind+"-"+name)) + ".invalid"
	e.unresolved[p] = why
	return p
}

var nonHost = regexp.MustCompile(`[^A-Za-z0-9-]+`)

func sanitize(s string) string { return strings.Trim(nonHost.ReplaceAllString(s, "-"), "-") }

// eval returns v with every intrinsic function applied.
func (e *evaluator) eval(v any) (any, error) {
	switch x := v.(type) {
	case map[string]any:
		if len(x) == 1 {
			for k, arg := range x {
				if k == "Ref" || strings.HasPrefix(k, "Fn::") || k == "Condition" {
					return e.intrinsic(k, arg)
				}
			}
		}
		out := make(map[string]any, len(x))
		for k, sub := range x {
			r, err := e.eval(sub)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			if r == noValue {
				continue
			}
			out[k] = r
		}
		return out, nil
	case []any:
		out := make([]any, 0, len(x))
		for i, sub := range x {
			r, err := e.eval(sub)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			if r == noValue {
				continue
			}
			out = append(out, r)
		}
		return out, nil
	default:
		return v, nil
	}
}

func (e *evaluator) intrinsic(name string, arg any) (any, error) {
	switch name {
	case "Ref":
		s, ok := arg.(string)
		if !ok {
			return nil, fmt.Errorf("Ref takes a name, got %s", describe(arg))
		}
		return e.ref(s)
	case "Condition":
		s, ok := arg.(string)
		if !ok {
			return nil, fmt.Errorf("Condition takes a name, got %s", describe(arg))
		}
		return e.condition(s)
	case "Fn::GetAtt":
		var parts []string
		switch a := arg.(type) {
		case string:
			logical, attr, ok := strings.Cut(a, ".")
			if !ok {
				return nil, fmt.Errorf("Fn::GetAtt %q: want Resource.Attribute", a)
			}
			parts = []string{logical, attr}
		case []any:
			if len(a) != 2 {
				return nil, fmt.Errorf("Fn::GetAtt takes [resource, attribute]")
			}
			for _, p := range a {
				r, err := e.eval(p)
				if err != nil {
					return nil, err
				}
				s, ok := r.(string)
				if !ok {
					return nil, fmt.Errorf("Fn::GetAtt takes strings, got %s", describe(r))
				}
				parts = append(parts, s)
			}
		default:
			return nil, fmt.Errorf("Fn::GetAtt takes [resource, attribute], got %s", describe(arg))
		}
		return e.getAtt(parts[0], parts[1])
	case "Fn::Sub":
		return e.sub(arg)
	case "Fn::Join":
		a, ok := arg.([]any)
		if !ok || len(a) != 2 {
			return nil, fmt.Errorf("Fn::Join takes [delimiter, [values]]")
		}
		delim, ok := a[0].(string)
		if !ok {
			return nil, fmt.Errorf("Fn::Join delimiter must be a string")
		}
		list, err := e.eval(a[1])
		if err != nil {
			return nil, err
		}
		items, ok := list.([]any)
		if !ok {
			return nil, fmt.Errorf("Fn::Join takes a list of values, got %s", describe(list))
		}
		strs := make([]string, len(items))
		for i, it := range items {
			s, err := scalarString(it)
			if err != nil {
				return nil, fmt.Errorf("Fn::Join: %w", err)
			}
			strs[i] = s
		}
		return strings.Join(strs, delim), nil
	case "Fn::Select":
		a, ok := arg.([]any)
		if !ok || len(a) != 2 {
			return nil, fmt.Errorf("Fn::Select takes [index, [values]]")
		}
		iv, err := e.eval(a[0])
		if err != nil {
			return nil, err
		}
		idx, err := toInt(iv)
		if err != nil {
			return nil, fmt.Errorf("Fn::Select index: %w", err)
		}
		list, err := e.eval(a[1])
		if err != nil {
			return nil, err
		}
		items, ok := list.([]any)
		if !ok {
			return nil, fmt.Errorf("Fn::Select takes a list, got %s", describe(list))
		}
		if idx < 0 || idx >= len(items) {
			// A placeholder split like the URL it stands for ("https://x/" → [https:, "", x])
			// has fewer parts: the placeholder stands for the part too.
			for _, it := range items {
				if s, ok := it.(string); ok && e.unresolved[s] != "" {
					return s, nil
				}
			}
			return nil, fmt.Errorf("Fn::Select index %d out of range (list of %d)", idx, len(items))
		}
		return items[idx], nil
	case "Fn::Split":
		a, ok := arg.([]any)
		if !ok || len(a) != 2 {
			return nil, fmt.Errorf("Fn::Split takes [delimiter, string]")
		}
		delim, ok := a[0].(string)
		if !ok || delim == "" {
			return nil, fmt.Errorf("Fn::Split delimiter must be a non-empty string")
		}
		sv, err := e.eval(a[1])
		if err != nil {
			return nil, err
		}
		s, err := scalarString(sv)
		if err != nil {
			return nil, fmt.Errorf("Fn::Split: %w", err)
		}
		var out []any
		for _, p := range strings.Split(s, delim) {
			out = append(out, p)
		}
		return out, nil
	case "Fn::If":
		a, ok := arg.([]any)
		if !ok || len(a) != 3 {
			return nil, fmt.Errorf("Fn::If takes [condition, then, else]")
		}
		cname, ok := a[0].(string)
		if !ok {
			return nil, fmt.Errorf("Fn::If condition must be a name")
		}
		c, err := e.condition(cname)
		if err != nil {
			return nil, err
		}
		if c {
			return e.eval(a[1])
		}
		return e.eval(a[2])
	case "Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or":
		return e.condFunc(name, arg)
	case "Fn::FindInMap":
		a, ok := arg.([]any)
		if !ok || len(a) < 3 {
			return nil, fmt.Errorf("Fn::FindInMap takes [map, top key, second key]")
		}
		var keys []string
		for _, p := range a[:3] {
			r, err := e.eval(p)
			if err != nil {
				return nil, err
			}
			s, err := scalarString(r)
			if err != nil {
				return nil, fmt.Errorf("Fn::FindInMap: %w", err)
			}
			keys = append(keys, s)
		}
		m, _ := e.t.Mappings[keys[0]].(map[string]any)
		top, _ := m[keys[1]].(map[string]any)
		v, ok := top[keys[2]]
		if !ok {
			if len(a) == 4 { // the DefaultValue form of the language extensions
				if d, ok := a[3].(map[string]any); ok {
					if dv, ok := d["DefaultValue"]; ok {
						return e.eval(dv)
					}
				}
			}
			return nil, fmt.Errorf("Fn::FindInMap: no %s/%s/%s in Mappings", keys[0], keys[1], keys[2])
		}
		return e.eval(v)
	case "Fn::Base64":
		r, err := e.eval(arg)
		if err != nil {
			return nil, err
		}
		s, err := scalarString(r)
		if err != nil {
			return nil, fmt.Errorf("Fn::Base64: %w", err)
		}
		return base64.StdEncoding.EncodeToString([]byte(s)), nil
	case "Fn::GetAZs":
		return []any{e.region + "a", e.region + "b", e.region + "c"}, nil
	case "Fn::ImportValue":
		r, err := e.eval(arg)
		if err != nil {
			return nil, err
		}
		s, err := scalarString(r)
		if err != nil {
			return nil, fmt.Errorf("Fn::ImportValue: %w", err)
		}
		if v, ok := e.params[s]; ok {
			return v, nil
		}
		return e.placeholder("import", s, fmt.Sprintf("Fn::ImportValue %s is an output of another stack: give it with --param %s=VALUE", s, s)), nil
	case "Fn::ToJsonString", "Fn::Length", "Fn::Cidr", "Fn::Transform", "Fn::ForEach":
		return nil, fmt.Errorf("%s is not supported by the local edge", name)
	}
	return nil, fmt.Errorf("unknown intrinsic function %s", name)
}

// ref resolves Ref: a parameter, a pseudo parameter or a resource.
func (e *evaluator) ref(name string) (any, error) {
	switch name {
	case "AWS::Region":
		return e.region, nil
	case "AWS::AccountId":
		return e.account, nil
	case "AWS::Partition":
		return "aws", nil
	case "AWS::URLSuffix":
		return "amazonaws.com", nil
	case "AWS::StackName":
		return "local", nil
	case "AWS::StackId":
		return "arn:aws:cloudformation:" + e.region + ":" + e.account + ":stack/local/00000000-0000-0000-0000-000000000000", nil
	case "AWS::NoValue":
		return noValue, nil
	case "AWS::NotificationARNs":
		return []any{}, nil
	}
	if v, ok := e.params[name]; ok {
		return v, nil
	}
	if p, ok := e.t.Parameters[name]; ok {
		spec, _ := p.(map[string]any)
		if d, ok := spec["Default"]; ok {
			if typ, _ := spec["Type"].(string); strings.HasPrefix(typ, "List<") || typ == "CommaDelimitedList" {
				s, _ := scalarString(d)
				var out []any
				for _, it := range strings.Split(s, ",") {
					out = append(out, strings.TrimSpace(it))
				}
				return out, nil
			}
			return d, nil
		}
		return e.placeholder("param", name, fmt.Sprintf("parameter %s has no default: give it with --param %s=VALUE", name, name)), nil
	}
	r, ok := e.t.Resources[name]
	if !ok {
		return nil, fmt.Errorf("Ref %s: no such parameter or resource", name)
	}
	return e.resourceRef(name, r), nil
}

// resourceRef is what Ref returns for a resource, by type ("Return values" of each type).
func (e *evaluator) resourceRef(logical string, r resource) any {
	switch r.Type {
	case "AWS::S3::Bucket":
		return e.bucketName(logical, r)
	case "AWS::CloudFront::Function":
		return e.functionARN(logical, r)
	case "AWS::CloudFront::KeyValueStore":
		if n, ok := r.Properties["Name"].(string); ok {
			return n
		}
		return logical
	}
	// CachePolicy, OriginRequestPolicy, ResponseHeadersPolicy, OriginAccessControl,
	// CloudFrontOriginAccessIdentity and Distribution return their id: the logical id
	// stands for it, and is what the edge's maps are keyed by.
	return logical
}

func (e *evaluator) bucketName(logical string, r resource) string {
	if n, ok := r.Properties["BucketName"]; ok {
		if v, err := e.eval(n); err == nil {
			if s, ok := v.(string); ok && s != "" {
				return s
			}
		}
	}
	return strings.ToLower(sanitize(logical))
}

// functionName is the CloudFront function's name (its Name property, else the logical id).
func (e *evaluator) functionName(logical string, r resource) string {
	if n, ok := r.Properties["Name"]; ok {
		if v, err := e.eval(n); err == nil {
			if s, ok := v.(string); ok && s != "" {
				return s
			}
		}
	}
	return logical
}

func (e *evaluator) functionARN(logical string, r resource) string {
	return "arn:aws:cloudfront::" + e.account + ":function/" + e.functionName(logical, r)
}

// getAtt resolves Fn::GetAtt for the resource types a distribution refers to. Any other
// attribute becomes a placeholder.
func (e *evaluator) getAtt(logical, attr string) (any, error) {
	r, ok := e.t.Resources[logical]
	if !ok {
		return nil, fmt.Errorf("Fn::GetAtt %s.%s: no such resource", logical, attr)
	}
	switch r.Type + "." + attr {
	case "AWS::S3::Bucket.DomainName":
		return e.bucketName(logical, r) + ".s3.amazonaws.com", nil
	case "AWS::S3::Bucket.RegionalDomainName":
		return e.bucketName(logical, r) + ".s3." + e.region + ".amazonaws.com", nil
	case "AWS::S3::Bucket.DualStackDomainName":
		return e.bucketName(logical, r) + ".s3.dualstack." + e.region + ".amazonaws.com", nil
	case "AWS::S3::Bucket.WebsiteURL":
		return "http://" + e.bucketName(logical, r) + ".s3-website-" + e.region + ".amazonaws.com", nil
	case "AWS::S3::Bucket.Arn":
		return "arn:aws:s3:::" + e.bucketName(logical, r), nil
	case "AWS::CloudFront::Function.FunctionARN", "AWS::CloudFront::Function.FunctionMetadata.FunctionARN":
		return e.functionARN(logical, r), nil
	case "AWS::CloudFront::Function.Stage":
		return "LIVE", nil
	case "AWS::CloudFront::KeyValueStore.Arn":
		return "arn:aws:cloudfront::" + e.account + ":key-value-store/" + logical, nil
	case "AWS::Lambda::Url.FunctionUrl":
		return "https://" + strings.ToLower(sanitize(logical)) + ".lambda-url." + e.region + ".on.aws/", nil
	case "AWS::ApiGateway::RestApi.RootResourceId":
		return logical + "-root", nil
	}
	if attr == "Id" {
		return logical, nil
	}
	return e.placeholder("getatt", logical+"-"+attr, fmt.Sprintf("Fn::GetAtt %s.%s (%s) is known only to a deployed stack", logical, attr, r.Type)), nil
}

var subVar = regexp.MustCompile(`\$\{([^}]*)\}`)

// sub implements Fn::Sub in both forms: "string" and [string, {var: value}].
func (e *evaluator) sub(arg any) (any, error) {
	var text string
	vars := map[string]any{}
	switch a := arg.(type) {
	case string:
		text = a
	case []any:
		if len(a) != 2 {
			return nil, fmt.Errorf("Fn::Sub takes a string or [string, {variables}]")
		}
		s, ok := a[0].(string)
		if !ok {
			return nil, fmt.Errorf("Fn::Sub template must be a string")
		}
		text = s
		m, ok := a[1].(map[string]any)
		if !ok {
			return nil, fmt.Errorf("Fn::Sub variables must be a map")
		}
		for k, v := range m {
			r, err := e.eval(v)
			if err != nil {
				return nil, fmt.Errorf("Fn::Sub variable %s: %w", k, err)
			}
			vars[k] = r
		}
	default:
		return nil, fmt.Errorf("Fn::Sub takes a string or [string, {variables}], got %s", describe(arg))
	}
	var err error
	out := subVar.ReplaceAllStringFunc(text, func(m string) string {
		name := m[2 : len(m)-1]
		if strings.HasPrefix(name, "!") { // ${!Literal} is the literal ${Literal}
			return "${" + name[1:] + "}"
		}
		var v any
		var e2 error
		if x, ok := vars[name]; ok {
			v = x
		} else if logical, attr, ok := strings.Cut(name, "."); ok {
			v, e2 = e.getAtt(logical, attr)
		} else {
			v, e2 = e.ref(name)
		}
		if e2 != nil {
			err = e2
			return ""
		}
		s, e3 := scalarString(v)
		if e3 != nil {
			err = fmt.Errorf("Fn::Sub ${%s}: %w", name, e3)
		}
		return s
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// condition evaluates a named condition of the Conditions section.
func (e *evaluator) condition(name string) (bool, error) {
	if v, ok := e.conds[name]; ok {
		return v, nil
	}
	def, ok := e.t.Conditions[name]
	if !ok {
		return false, fmt.Errorf("no condition named %s", name)
	}
	if e.condBusy[name] {
		return false, fmt.Errorf("condition %s refers to itself", name)
	}
	e.condBusy[name] = true
	defer delete(e.condBusy, name)
	v, err := e.eval(def)
	if err != nil {
		return false, fmt.Errorf("condition %s: %w", name, err)
	}
	b, ok := v.(bool)
	if !ok {
		return false, fmt.Errorf("condition %s is not a boolean", name)
	}
	e.conds[name] = b
	return b, nil
}

func (e *evaluator) condFunc(name string, arg any) (any, error) {
	a, ok := arg.([]any)
	if !ok {
		return nil, fmt.Errorf("%s takes a list", name)
	}
	vals := make([]any, len(a))
	for i, x := range a {
		r, err := e.eval(x)
		if err != nil {
			return nil, err
		}
		vals[i] = r
	}
	switch name {
	case "Fn::Equals":
		if len(vals) != 2 {
			return nil, fmt.Errorf("Fn::Equals takes two values")
		}
		l, err1 := scalarString(vals[0])
		r, err2 := scalarString(vals[1])
		if err1 != nil || err2 != nil {
			return fmt.Sprint(vals[0]) == fmt.Sprint(vals[1]), nil
		}
		return l == r, nil
	case "Fn::Not":
		if len(vals) != 1 {
			return nil, fmt.Errorf("Fn::Not takes one condition")
		}
		b, ok := vals[0].(bool)
		if !ok {
			return nil, fmt.Errorf("Fn::Not takes a condition")
		}
		return !b, nil
	}
	and := name == "Fn::And"
	res := and
	for _, v := range vals {
		b, ok := v.(bool)
		if !ok {
			return nil, fmt.Errorf("%s takes conditions", name)
		}
		if and {
			res = res && b
		} else {
			res = res || b
		}
	}
	return res, nil
}

// included reports whether a resource exists given its Condition.
func (e *evaluator) included(r resource) (bool, error) {
	if r.Condition == "" {
		return true, nil
	}
	return e.condition(r.Condition)
}

// unresolvedLines lists what could not be resolved, one line each, sorted.
func (e *evaluator) unresolvedLines() []Unresolved {
	var out []Unresolved
	for p, why := range e.unresolved {
		out = append(out, Unresolved{Placeholder: p, Why: why})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Placeholder < out[j].Placeholder })
	return out
}

func scalarString(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case bool:
		return strconv.FormatBool(x), nil
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), nil
	case int:
		return strconv.Itoa(x), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	}
	return "", fmt.Errorf("want a string, got %s", describe(v))
}

func toInt(v any) (int, error) {
	switch x := v.(type) {
	case float64:
		return int(x), nil
	case int:
		return x, nil
	case int64:
		return int(x), nil
	case string:
		return strconv.Atoi(strings.TrimSpace(x))
	}
	return 0, fmt.Errorf("want a number, got %s", describe(v))
}

func describe(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	}
	return "a number"
}
