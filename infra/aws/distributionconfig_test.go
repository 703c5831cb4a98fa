package awsinfra

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
	"github.com/google/go-cmp/cmp"
	"github.com/twinedge/twinedge/infra"
)

// sampleConfig is infra.Distribution with literal endpoints, plus the optional fields the
// converter renders that infra does not set today.
func sampleConfig(t *testing.T) *types.DistributionConfig {
	t.Helper()
	cfg, err := infra.Distribution(infra.Endpoints{
		Regions: []infra.Region{
			{Name: "us-east-1", BucketDomain: "a.s3.us-east-1.amazonaws.com", FunctionURLDomain: "abc.lambda-url.us-east-1.on.aws"},
			{Name: "eu-west-2", BucketDomain: "b.s3.eu-west-2.amazonaws.com", FunctionURLDomain: "def.lambda-url.eu-west-2.on.aws"},
		},
		SiteOAC: "E1SITE", APIOAC: "E1API", SPAFunctionARN: "arn:aws:cloudfront::123456789012:function/x",
		Aliases: []string{"www.example.org"},
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg.CustomErrorResponses = &types.CustomErrorResponses{Quantity: aws.Int32(1), Items: []types.CustomErrorResponse{
		{ErrorCode: aws.Int32(500), ResponseCode: aws.String("503"), ResponsePagePath: aws.String("/500.html"), ErrorCachingMinTTL: aws.Int64(5)},
	}}
	cfg.ViewerCertificate = &types.ViewerCertificate{ACMCertificateArn: aws.String("arn:aws:acm:us-east-1:123456789012:certificate/x"),
		SSLSupportMethod: types.SSLSupportMethodSniOnly, MinimumProtocolVersion: types.MinimumProtocolVersionTLSv122021}
	cfg.Restrictions = &types.Restrictions{GeoRestriction: &types.GeoRestriction{RestrictionType: types.GeoRestrictionTypeBlacklist, Quantity: aws.Int32(1), Items: []string{"AQ"}}}
	cfg.Origins.Items[0].CustomHeaders = &types.CustomHeaders{Quantity: aws.Int32(1), Items: []types.OriginCustomHeader{{HeaderName: aws.String("x-a"), HeaderValue: aws.String("b")}}}
	cfg.DefaultCacheBehavior.LambdaFunctionAssociations = &types.LambdaFunctionAssociations{Quantity: aws.Int32(1), Items: []types.LambdaFunctionAssociation{
		{EventType: types.EventTypeOriginResponse, LambdaFunctionARN: aws.String("arn:aws:lambda:us-east-1:123456789012:function:f:1"), IncludeBody: aws.Bool(false)},
	}}
	return cfg
}

// TestConvertFieldByField checks the converter against an independent, mechanical
// rewrite of the SDK config's JSON into CloudFormation's shape: {Quantity, Items} becomes
// a list except where CloudFormation keeps it, the known renames are applied, empty values
// vanish. A field the converter forgot shows up as a difference.
func TestConvertFieldByField(t *testing.T) {
	cfg := sampleConfig(t)
	got, err := converter{}.distributionConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var gotJSON, sdk any
	roundTrip(t, got, &gotJSON)
	roundTrip(t, cfg, &sdk)
	want := toCFN("", sdk)
	if diff := cmp.Diff(want, gotJSON); diff != "" {
		t.Errorf("converted config differs from the SDK config (-sdk rewritten +converter):\n%s", diff)
	}
}

func roundTrip(t *testing.T, v, out any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatal(err)
	}
}

// keepQuantity are the wrappers CloudFormation keeps as {Quantity, Items}.
var keepQuantity = map[string]bool{"OriginGroups": true, "Members": true, "StatusCodes": true}

// renames maps SDK field names to CloudFormation's.
var renames = map[string]string{
	"IsIPV6Enabled":      "IPV6Enabled",
	"CustomHeaders":      "OriginCustomHeaders",
	"OriginSslProtocols": "OriginSSLProtocols",
	"ACMCertificateArn":  "AcmCertificateArn",
	"SSLSupportMethod":   "SslSupportMethod",
	"IAMCertificateId":   "IamCertificateId",
}

// toCFN rewrites decoded SDK JSON into CloudFormation's shape.
func toCFN(key string, v any) any {
	switch x := v.(type) {
	case map[string]any:
		if _, ok := x["Quantity"]; ok && !keepQuantity[key] && key != "GeoRestriction" {
			items, _ := x["Items"].([]any)
			if len(items) == 0 {
				return nil
			}
			return toCFN(key, items)
		}
		out := map[string]any{}
		for k, e := range x {
			if k == "CallerReference" { // CloudFormation owns the distribution: no reference.
				continue
			}
			if key == "GeoRestriction" && k == "Items" {
				k = "Locations"
			}
			if k == "Quantity" && key == "GeoRestriction" {
				continue
			}
			if k == "AllowedMethods" { // CachedMethods moves up to the behaviour.
				am := e.(map[string]any)
				out["AllowedMethods"] = toCFN(k, map[string]any{"Quantity": am["Quantity"], "Items": am["Items"]})
				out["CachedMethods"] = toCFN("CachedMethods", am["CachedMethods"])
				continue
			}
			if key == "CustomErrorResponses" && k == "ResponseCode" {
				n, _ := strconv.Atoi(e.(string))
				out[k] = float64(n)
				continue
			}
			if r, ok := renames[k]; ok {
				k = r
			}
			if c := toCFN(k, e); c != nil {
				out[k] = c
			}
		}
		if len(out) == 0 {
			return nil
		}
		return out
	case []any:
		var out []any
		for _, e := range x {
			out = append(out, toCFN(key, e))
		}
		return out
	case string:
		if x == "" && key != "OriginAccessIdentity" {
			return nil
		}
	case nil:
		return nil
	}
	return v
}

func TestConvertRefusesWhatItCannotRender(t *testing.T) {
	for _, c := range []struct {
		field string
		set   func(*types.DistributionConfig)
	}{
		{"ContinuousDeploymentPolicyId", func(c *types.DistributionConfig) { c.ContinuousDeploymentPolicyId = aws.String("p") }},
		{"Logging", func(c *types.DistributionConfig) { c.Logging = &types.LoggingConfig{Enabled: aws.Bool(true)} }},
		{"Staging", func(c *types.DistributionConfig) { c.Staging = aws.Bool(true) }},
		{"ForwardedValues", func(c *types.DistributionConfig) { c.DefaultCacheBehavior.ForwardedValues = &types.ForwardedValues{} }},
		{"TrustedKeyGroups", func(c *types.DistributionConfig) {
			c.CacheBehaviors.Items[0].TrustedKeyGroups = &types.TrustedKeyGroups{Enabled: aws.Bool(true)}
		}},
		{"VpcOriginConfig", func(c *types.DistributionConfig) { c.Origins.Items[1].VpcOriginConfig = &types.VpcOriginConfig{} }},
		{"exactly one of S3OriginConfig", func(c *types.DistributionConfig) { c.Origins.Items[0].S3OriginConfig = nil }},
		{"ResponseCode", func(c *types.DistributionConfig) {
			c.CustomErrorResponses.Items[0].ResponseCode = aws.String("ok")
		}},
	} {
		t.Run(c.field, func(t *testing.T) {
			cfg := sampleConfig(t)
			c.set(cfg)
			_, err := converter{}.distributionConfig(cfg)
			if err == nil || !strings.Contains(err.Error(), c.field) {
				t.Errorf("got %v, want an error naming %s", err, c.field)
			}
		})
	}
}

func TestGlobalTemplateHasNoPlaceholder(t *testing.T) {
	for _, c := range synthCases {
		b := synth(t, c.opts)[GlobalTemplateFile]
		if strings.Contains(string(b), placeholderPrefix) {
			t.Errorf("%s: placeholder left in the global template", c.name)
		}
	}
	tpl := &Template{Resources: map[string]Resource{"X": {Type: "T", Properties: map[string]string{"A": placeholder("x")}}}}
	if err := checkNoPlaceholder(tpl); err == nil {
		t.Error("checkNoPlaceholder accepted a template with a placeholder")
	}
}
