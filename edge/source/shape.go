package source

// This file turns CloudFormation's shape of a CloudFront configuration into the API's
// (aws-sdk-go-v2 cloudfront/types), guided by the Go types themselves, so every field the
// SDK knows is carried without a hand-written copy per field. The shapes differ in a few
// regular ways (compare the CloudFormation "AWS::CloudFront::Distribution DistributionConfig"
// reference with the API's DistributionConfig):
//   - CloudFormation writes most lists as plain arrays where the API wraps them in
//     {Quantity, Items}; some CloudFormation objects keep {Items} without a Quantity
//     (response headers policies) or the whole wrapper (OriginGroups).
//   - Some names differ: the renames table below.
//   - CachedMethods sits on the behaviour in CloudFormation and inside AllowedMethods in
//     the API; GeoRestriction's Locations are the API's Items.
//   - CloudFormation writes numbers and booleans as strings at will.
// A key the API type does not have is an error naming it: nothing is dropped silently.

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
)

// renames maps "<API type>.<CloudFormation key>" to the API field name.
var renames = map[string]string{
	"DistributionConfig.IPV6Enabled": "IsIPV6Enabled",
	"Origin.OriginCustomHeaders":     "CustomHeaders",
	"GeoRestriction.Locations":       "Items",
}

// dropped lists CloudFormation keys that have no API field and no effect on the data plane.
var dropped = map[string]bool{
	// CloudFormation-only conveniences for legacy S3/custom origins; twinedge reads
	// Origins.
	"DistributionConfig.CNAMEs":       true,
	"DistributionConfig.S3Origin":     true,
	"DistributionConfig.CustomOrigin": true,
}

// toAPI converts a CloudFormation value into the JSON shape of Go type t.
func toAPI(v any, t reflect.Type, path string) (any, error) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		if hasItems(t) {
			return wrapItems(v, t, path)
		}
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s: want an object, got %s", path, describe(v))
		}
		return structToAPI(m, t, path)
	case reflect.Slice:
		l, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("%s: want a list, got %s", path, describe(v))
		}
		out := make([]any, len(l))
		for i, it := range l {
			r, err := toAPI(it, t.Elem(), fmt.Sprintf("%s[%d]", path, i))
			if err != nil {
				return nil, err
			}
			out[i] = r
		}
		return out, nil
	case reflect.String:
		s, err := scalarString(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return s, nil
	case reflect.Bool:
		switch x := v.(type) {
		case bool:
			return x, nil
		case string:
			b, err := strconv.ParseBool(x)
			if err != nil {
				return nil, fmt.Errorf("%s: want true or false, got %q", path, x)
			}
			return b, nil
		}
		return nil, fmt.Errorf("%s: want a boolean, got %s", path, describe(v))
	case reflect.Int, reflect.Int32, reflect.Int64, reflect.Float32, reflect.Float64:
		switch x := v.(type) {
		case float64:
			return x, nil
		case string:
			n, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
			if err != nil {
				return nil, fmt.Errorf("%s: want a number, got %q", path, x)
			}
			return n, nil
		}
		return nil, fmt.Errorf("%s: want a number, got %s", path, describe(v))
	}
	return nil, fmt.Errorf("%s: unsupported field type %s", path, t)
}

// hasItems reports whether t is one of the API's {Quantity, Items} wrappers.
func hasItems(t reflect.Type) bool {
	_, q := t.FieldByName("Quantity")
	f, i := t.FieldByName("Items")
	return q && i && f.Type.Kind() == reflect.Slice
}

// wrapItems builds {Quantity, Items, …} from a CloudFormation list or object.
func wrapItems(v any, t reflect.Type, path string) (any, error) {
	itemsField, _ := t.FieldByName("Items")
	var m map[string]any
	switch x := v.(type) {
	case []any:
		m = map[string]any{"Items": x}
	case map[string]any:
		m = x
	default:
		return nil, fmt.Errorf("%s: want a list, got %s", path, describe(v))
	}
	out, err := structToAPI(m, t, path)
	if err != nil {
		return nil, err
	}
	om := out.(map[string]any)
	items, _ := om["Items"].([]any)
	if len(items) == 0 {
		delete(om, "Items")
	}
	if _, ok := m["Quantity"]; !ok {
		om["Quantity"] = float64(len(items))
	}
	_ = itemsField
	return om, nil
}

func structToAPI(m map[string]any, t reflect.Type, path string) (any, error) {
	out := make(map[string]any, len(m))
	for k, v := range m {
		key := t.Name() + "." + k
		if dropped[key] {
			continue
		}
		name := k
		if r, ok := renames[key]; ok {
			name = r
		}
		// Case differs at will between the two (SslSupportMethod and SSLSupportMethod).
		f, ok := t.FieldByNameFunc(func(n string) bool { return strings.EqualFold(n, name) })
		if !ok || !f.IsExported() {
			return nil, fmt.Errorf("%s: unknown property %s", path, k)
		}
		r, err := toAPI(v, f.Type, path+"."+k)
		if err != nil {
			return nil, err
		}
		out[f.Name] = r
	}
	return out, nil
}

// decodeAs converts a CloudFormation value into the API type T.
func decodeAs[T any](v any, path string) (*T, error) {
	var zero T
	shaped, err := toAPI(v, reflect.TypeOf(zero), path)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(shaped)
	if err != nil {
		return nil, err
	}
	out := new(T)
	if err := json.Unmarshal(b, out); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}
