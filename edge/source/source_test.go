package source

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
	"github.com/google/go-cmp/cmp"
)

// A YAML template with the short forms of the intrinsics, conditions, mappings and
// parameters, and the CloudFront resources a distribution refers to.
const yamlTemplate = `
AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  Stage:
    Type: String
    Default: prod
  Domain:
    Type: String
Mappings:
  TTL:
    prod: {Default: 3600}
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
  NotProd: !Not [!Condition IsProd]
Resources:
  Site:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: !Sub "site-${Stage}"
  Rewrite:
    Type: AWS::CloudFront::Function
    Properties:
      Name: !Join ["-", [rewrite, !Ref Stage]]
      AutoPublish: true
      FunctionConfig:
        Runtime: cloudfront-js-2.0
        KeyValueStoreAssociations:
          - KeyValueStoreARN: !GetAtt Store.Arn
      FunctionCode: |
        function handler(event) { return event.request; }
  Store:
    Type: AWS::CloudFront::KeyValueStore
    Properties:
      Name: redirects
  Policy:
    Type: AWS::CloudFront::CachePolicy
    Properties:
      CachePolicyConfig:
        Name: short
        MinTTL: "0"
        DefaultTTL: !FindInMap [TTL, !Ref Stage, Default]
        MaxTTL: 86400
        ParametersInCacheKeyAndForwardedToOrigin:
          EnableAcceptEncodingGzip: "true"
          HeadersConfig: {HeaderBehavior: whitelist, Headers: [Accept-Language]}
          CookiesConfig: {CookieBehavior: none}
          QueryStringsConfig: {QueryStringBehavior: none}
  OAC:
    Type: AWS::CloudFront::OriginAccessControl
    Properties:
      OriginAccessControlConfig:
        Name: oac
        OriginAccessControlOriginType: s3
        SigningBehavior: always
        SigningProtocol: sigv4
  Dev:
    Type: AWS::CloudFront::Distribution
    Condition: NotProd
    Properties:
      DistributionConfig: {Enabled: true}
  CDN:
    Type: AWS::CloudFront::Distribution
    Properties:
      DistributionConfig:
        Enabled: true
        IPV6Enabled: "true"
        Aliases: [!Ref Domain, !If [IsProd, !Ref "AWS::NoValue", dev.example.com]]
        Origins:
          - Id: site
            DomainName: !GetAtt Site.RegionalDomainName
            OriginAccessControlId: !GetAtt OAC.Id
            S3OriginConfig: {OriginAccessIdentity: ""}
          - Id: api
            DomainName: !Select [2, !Split ["/", !ImportValue ApiUrl]]
            CustomOriginConfig:
              OriginProtocolPolicy: https-only
              OriginSSLProtocols: [TLSv1.2]
        DefaultCacheBehavior:
          TargetOriginId: site
          ViewerProtocolPolicy: redirect-to-https
          CachePolicyId: !Ref Policy
          FunctionAssociations:
            - EventType: viewer-request
              FunctionARN: !GetAtt Rewrite.FunctionARN
        CacheBehaviors:
          - PathPattern: /api/*
            TargetOriginId: api
            ViewerProtocolPolicy: https-only
            CachePolicyId: 4135ea2d-6df8-44a3-9df3-4b5a84be39ad
            AllowedMethods: [GET, HEAD, OPTIONS, PUT, PATCH, POST, DELETE]
        CustomErrorResponses:
          - ErrorCode: 404
            ResponseCode: 200
            ResponsePagePath: /index.html
        Restrictions:
          GeoRestriction: {RestrictionType: whitelist, Locations: [DE, FR]}
        ViewerCertificate:
          AcmCertificateArn: !Sub "arn:${AWS::Partition}:acm:us-east-1:${AWS::AccountId}:certificate/abc"
          SslSupportMethod: sni-only
          MinimumProtocolVersion: TLSv1.2_2021
`

func TestLoadTemplate(t *testing.T) {
	d, err := Load([]byte(yamlTemplate), Options{Params: map[string]string{"Domain": "www.example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	c := d.Config
	if d.LogicalID != "CDN" {
		t.Errorf("picked %s, want CDN (Dev's condition is false)", d.LogicalID)
	}
	if diff := cmp.Diff([]string{"www.example.com"}, c.Aliases.Items); diff != "" || aws.ToInt32(c.Aliases.Quantity) != 1 {
		t.Errorf("aliases (AWS::NoValue drops the item): %s", diff)
	}
	if got := aws.ToString(c.Origins.Items[0].DomainName); got != "site-prod.s3.us-east-1.amazonaws.com" {
		t.Errorf("GetAtt RegionalDomainName: %s", got)
	}
	if got := aws.ToString(c.Origins.Items[0].OriginAccessControlId); got != "OAC" {
		t.Errorf("OAC id: %s", got)
	}
	if !strings.HasPrefix(aws.ToString(c.Origins.Items[1].DomainName), "unresolved-import-apiurl") {
		t.Errorf("an import is a placeholder: %s", aws.ToString(c.Origins.Items[1].DomainName))
	}
	if len(d.Unresolved) != 1 || !strings.Contains(d.Unresolved[0].Why, "--param ApiUrl=VALUE") {
		t.Errorf("unresolved: %+v", d.Unresolved)
	}
	if got := c.Origins.Items[1].CustomOriginConfig.OriginSslProtocols; aws.ToInt32(got.Quantity) != 1 || got.Items[0] != types.SslProtocolTLSv12 {
		t.Errorf("OriginSSLProtocols: %+v", got)
	}
	if !aws.ToBool(c.IsIPV6Enabled) {
		t.Error("IPV6Enabled (a string \"true\") → IsIPV6Enabled")
	}
	dcb := c.DefaultCacheBehavior
	if aws.ToString(dcb.CachePolicyId) != "Policy" || aws.ToInt32(dcb.AllowedMethods.Quantity) != 2 || aws.ToInt32(dcb.AllowedMethods.CachedMethods.Quantity) != 2 {
		t.Errorf("default behaviour: %+v %+v", dcb.CachePolicyId, dcb.AllowedMethods)
	}
	if got := aws.ToString(dcb.FunctionAssociations.Items[0].FunctionARN); got != "arn:aws:cloudfront::000000000000:function/rewrite-prod" {
		t.Errorf("function ARN: %s", got)
	}
	if cb := c.CacheBehaviors.Items[0]; aws.ToInt32(cb.AllowedMethods.Quantity) != 7 || aws.ToString(cb.PathPattern) != "/api/*" {
		t.Errorf("behaviour: %+v", cb)
	}
	if e := c.CustomErrorResponses.Items[0]; aws.ToString(e.ResponseCode) != "200" || aws.ToInt32(e.ErrorCode) != 404 {
		t.Errorf("custom error response (ResponseCode is a string in the API): %+v", e)
	}
	if g := c.Restrictions.GeoRestriction; aws.ToInt32(g.Quantity) != 2 || g.RestrictionType != types.GeoRestrictionTypeWhitelist {
		t.Errorf("geo restriction (Locations → Items): %+v", g)
	}
	if v := c.ViewerCertificate; aws.ToString(v.ACMCertificateArn) != "arn:aws:acm:us-east-1:000000000000:certificate/abc" || v.SSLSupportMethod != types.SSLSupportMethodSniOnly {
		t.Errorf("viewer certificate: %+v", v)
	}
	if aws.ToString(c.CallerReference) == "" || c.Comment == nil {
		t.Error("CallerReference and Comment are required by the API")
	}

	p, ok := d.CachePolicies["Policy"]
	if !ok || aws.ToInt64(p.DefaultTTL) != 3600 || aws.ToInt64(p.MinTTL) != 0 || !aws.ToBool(p.ParametersInCacheKeyAndForwardedToOrigin.EnableAcceptEncodingGzip) {
		t.Errorf("cache policy: %+v", p)
	}
	if h := p.ParametersInCacheKeyAndForwardedToOrigin.HeadersConfig.Headers; aws.ToInt32(h.Quantity) != 1 || h.Items[0] != "Accept-Language" {
		t.Errorf("cache policy headers: %+v", h)
	}
	if _, ok := d.OriginAccessControls["OAC"]; !ok {
		t.Error("no OAC")
	}
	f, ok := d.Functions["rewrite-prod"]
	if !ok || f.Runtime != "cloudfront-js-2.0" || !strings.Contains(f.Code, "event.request") {
		t.Errorf("function: %+v", f)
	}
	if diff := cmp.Diff([]string{"arn:aws:cloudfront::000000000000:key-value-store/Store"}, f.KeyValueStoreARNs); diff != "" {
		t.Errorf("KVS association: %s", diff)
	}
	if _, ok := d.KeyValueStores["redirects"]; !ok {
		t.Errorf("KVS: %+v", d.KeyValueStores)
	}
}

func TestLoadAPIJSON(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "corpus", "aws-cli-get-distribution-config.json"))
	if err != nil {
		t.Fatal(err)
	}
	d, err := Load(data, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if d.ETag != "E2QWRUHEXAMPLE" || aws.ToString(d.Config.CallerReference) != "cli-example" || aws.ToInt32(d.Config.Origins.Quantity) != 1 {
		t.Errorf("got ETag %q config %+v", d.ETag, d.Config)
	}
	// A bare DistributionConfig, as `aws cloudfront create-distribution --distribution-config` takes.
	bare := `{"CallerReference":"x","Comment":"","Enabled":true,"Origins":{"Quantity":0},"DefaultCacheBehavior":{"TargetOriginId":"a","ViewerProtocolPolicy":"allow-all"}}`
	if _, err := Load([]byte(bare), Options{}); err != nil {
		t.Errorf("bare config: %v", err)
	}
	if _, err := Load([]byte(`{"CallerReference":"x","Origins":{"Quantity":0},"Bogus":1}`), Options{}); err == nil || !strings.Contains(err.Error(), "Bogus") {
		t.Errorf("an unknown field must be refused, got %v", err)
	}
}

func TestLoadErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		src  string
		opts Options
		want string
	}{
		"not an object":      {src: `[1]`, want: "not an object"},
		"bad JSON":           {src: `{"Resources": `, want: "JSON"},
		"bad YAML":           {src: "Resources: [\n", want: "YAML"},
		"trailing JSON":      {src: `{"Resources":{}} {}`, want: "after the document"},
		"no distribution":    {src: `{"Resources":{"B":{"Type":"AWS::S3::Bucket"}}}`, want: "no AWS::CloudFront::Distribution"},
		"neither":            {src: `{"Foo":1}`, want: "neither"},
		"two distributions":  {src: `{"Resources":{"A":{"Type":"AWS::CloudFront::Distribution","Properties":{"DistributionConfig":{}}},"B":{"Type":"AWS::CloudFront::Distribution","Properties":{"DistributionConfig":{}}}}}`, want: "--resource"},
		"wrong resource":     {src: `{"Resources":{"A":{"Type":"AWS::CloudFront::Distribution"}}}`, opts: Options{Resource: "X"}, want: `no AWS::CloudFront::Distribution "X"`},
		"unknown property":   {src: `{"Resources":{"A":{"Type":"AWS::CloudFront::Distribution","Properties":{"DistributionConfig":{"Enabled":true,"Nope":1}}}}}`, want: "unknown property Nope"},
		"bad ref":            {src: `{"Resources":{"A":{"Type":"AWS::CloudFront::Distribution","Properties":{"DistributionConfig":{"Comment":{"Ref":"Missing"}}}}}}`, want: "Ref Missing"},
		"bad getatt":         {src: `{"Resources":{"A":{"Type":"AWS::CloudFront::Distribution","Properties":{"DistributionConfig":{"Comment":{"Fn::GetAtt":["Missing","X"]}}}}}}`, want: "no such resource"},
		"wrong type":         {src: `{"Resources":{"A":{"Type":"AWS::CloudFront::Distribution","Properties":{"DistributionConfig":{"Enabled":"maybe"}}}}}`, want: "true or false"},
		"select range":       {src: `{"Resources":{"A":{"Type":"AWS::CloudFront::Distribution","Properties":{"DistributionConfig":{"Comment":{"Fn::Select":[5,["a"]]}}}}}}`, want: "out of range"},
		"self condition":     {src: `{"Conditions":{"C":{"Condition":"C"}},"Resources":{"A":{"Type":"AWS::CloudFront::Distribution","Condition":"C"}}}`, want: "refers to itself"},
		"unknown YAML tag":   {src: "Resources:\n  A:\n    Type: !Bogus x\n", want: "unknown tag"},
		"unsupported intrin": {src: `{"Resources":{"A":{"Type":"AWS::CloudFront::Distribution","Properties":{"DistributionConfig":{"Comment":{"Fn::Cidr":[]}}}}}}`, want: "not supported"},
		"too large":          {src: "{" + strings.Repeat(" ", maxSource) + "}", want: "1 MB"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Load([]byte(tc.src), tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// TestYAMLAliasBomb: aliases that expand without end are refused, not followed.
func TestYAMLAliasBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 12; i++ {
		b.WriteString("a" + string(rune('a'+i)) + ": &a" + string(rune('a'+i)) + " [")
		prev := "a0"
		if i > 1 {
			prev = "a" + string(rune('a'+i-1))
		}
		for j := 0; j < 10; j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*" + prev)
		}
		b.WriteString("]\n")
	}
	b.WriteString("Resources: {}\n")
	if _, err := Load([]byte(b.String()), Options{}); err == nil || !strings.Contains(err.Error(), "too large") {
		t.Fatalf("got %v", err)
	}
}

// FuzzLoad: no input makes Load panic; every error is one line.
func FuzzLoad(f *testing.F) {
	f.Add([]byte(yamlTemplate))
	entries, _ := os.ReadDir(filepath.Join("testdata", "corpus"))
	for _, e := range entries {
		if b, err := os.ReadFile(filepath.Join("testdata", "corpus", e.Name())); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"Resources":{"A":{"Type":"AWS::CloudFront::Distribution","Properties":{"DistributionConfig":{"Comment":{"Fn::Sub":["${x}",{"x":{"Fn::Join":[",",[1,true]]}}]}}}}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := Load(data, Options{Params: map[string]string{"P": "v"}})
		if err != nil {
			if strings.Contains(err.Error(), "\n") && !strings.Contains(err.Error(), "YAML") {
				t.Fatalf("multi-line error: %q", err)
			}
			return
		}
		if d.Config == nil {
			t.Fatal("nil config without an error")
		}
	})
}
