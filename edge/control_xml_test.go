package edge

import (
	"errors"
	"go/token"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// cfEqual compares SDK values: smithy's unexported document markers are ignored, and an empty
// list equals an absent one (the SDK's deserializers make empty slices for <Items/>).
var cfEqual = cmp.Options{
	cmp.FilterPath(func(p cmp.Path) bool {
		sf, ok := p.Last().(cmp.StructField)
		return ok && !token.IsExported(sf.Name())
	}, cmp.Ignore()),
	cmpopts.EquateEmpty(),
}

// richConfig uses every part of DistributionConfig twinedge's topology uses, and the common
// fields around them, with values that differ from their zero values.
func richControlConfig() *types.DistributionConfig {
	i32 := aws.Int32
	s := aws.String
	origin := func(id, domain string) types.Origin {
		return types.Origin{
			Id: s(id), DomainName: s(domain), OriginPath: s(""),
			ConnectionAttempts: i32(1), ConnectionTimeout: i32(2),
			OriginAccessControlId: s("E1OAC" + id),
			S3OriginConfig:        &types.S3OriginConfig{OriginAccessIdentity: s(""), OriginReadTimeout: i32(10)},
			CustomHeaders: &types.CustomHeaders{Quantity: i32(1), Items: []types.OriginCustomHeader{
				{HeaderName: s("x-origin"), HeaderValue: s(id)},
			}},
			OriginShield: &types.OriginShield{Enabled: aws.Bool(false)},
		}
	}
	fnURL := types.Origin{
		Id: s("api-eu-west-1"), DomainName: s("abc.lambda-url.eu-west-1.on.aws"), OriginPath: s(""),
		ConnectionAttempts: i32(3), ConnectionTimeout: i32(10),
		CustomOriginConfig: &types.CustomOriginConfig{
			HTTPPort: i32(80), HTTPSPort: i32(443), OriginProtocolPolicy: types.OriginProtocolPolicyHttpsOnly,
			OriginReadTimeout: i32(30), OriginKeepaliveTimeout: i32(5),
			OriginSslProtocols: &types.OriginSslProtocols{Quantity: i32(1), Items: []types.SslProtocol{types.SslProtocolTLSv12}},
		},
	}
	methods := &types.AllowedMethods{
		Quantity: i32(7),
		Items: []types.Method{types.MethodGet, types.MethodHead, types.MethodOptions, types.MethodPut,
			types.MethodPost, types.MethodPatch, types.MethodDelete},
		CachedMethods: &types.CachedMethods{Quantity: i32(2), Items: []types.Method{types.MethodGet, types.MethodHead}},
	}
	return &types.DistributionConfig{
		CallerReference:   s("twinedge-2026"),
		Comment:           s("twinedge <site & api>"),
		Enabled:           aws.Bool(true),
		DefaultRootObject: s("index.html"),
		PriceClass:        types.PriceClassPriceClass100,
		HttpVersion:       types.HttpVersionHttp2and3,
		IsIPV6Enabled:     aws.Bool(true),
		WebACLId:          s(""),
		Aliases:           &types.Aliases{Quantity: i32(2), Items: []string{"www.example.com", "example.com"}},
		Origins: &types.Origins{Quantity: i32(3), Items: []types.Origin{
			origin("site-eu-west-1", "bucket-a.s3.eu-west-1.amazonaws.com"),
			origin("site-us-east-1", "bucket-b.s3.us-east-1.amazonaws.com"),
			fnURL,
		}},
		OriginGroups: &types.OriginGroups{Quantity: i32(1), Items: []types.OriginGroup{{
			Id: s("site"),
			FailoverCriteria: &types.OriginGroupFailoverCriteria{StatusCodes: &types.StatusCodes{
				Quantity: i32(6), Items: []int32{403, 404, 500, 502, 503, 504},
			}},
			Members: &types.OriginGroupMembers{Quantity: i32(2), Items: []types.OriginGroupMember{
				{OriginId: s("site-eu-west-1")}, {OriginId: s("site-us-east-1")},
			}},
			SelectionCriteria: types.OriginGroupSelectionCriteriaDefault,
		}}},
		DefaultCacheBehavior: &types.DefaultCacheBehavior{
			TargetOriginId:          s("site"),
			ViewerProtocolPolicy:    types.ViewerProtocolPolicyRedirectToHttps,
			CachePolicyId:           s("658327ea-f89d-4fab-a63d-7e88639e58f6"),
			ResponseHeadersPolicyId: s("67f7725c-6f97-4210-82d7-5512b31e9d03"),
			Compress:                aws.Bool(true),
			AllowedMethods: &types.AllowedMethods{Quantity: i32(2), Items: []types.Method{types.MethodGet, types.MethodHead},
				CachedMethods: &types.CachedMethods{Quantity: i32(2), Items: []types.Method{types.MethodGet, types.MethodHead}}},
			FunctionAssociations: &types.FunctionAssociations{Quantity: i32(1), Items: []types.FunctionAssociation{{
				EventType: types.EventTypeViewerRequest, FunctionARN: s("arn:aws:cloudfront::000000000000:function/twinedge-spa-rewrite"),
			}}},
			LambdaFunctionAssociations: &types.LambdaFunctionAssociations{Quantity: i32(0)},
			TrustedKeyGroups:           &types.TrustedKeyGroups{Enabled: aws.Bool(false), Quantity: i32(0)},
			TrustedSigners:             &types.TrustedSigners{Enabled: aws.Bool(false), Quantity: i32(0)},
			SmoothStreaming:            aws.Bool(false),
			FieldLevelEncryptionId:     s(""),
		},
		CacheBehaviors: &types.CacheBehaviors{Quantity: i32(2), Items: []types.CacheBehavior{
			{
				PathPattern: s("/api/r/eu-west-1/*"), TargetOriginId: s("api-eu-west-1"),
				ViewerProtocolPolicy: types.ViewerProtocolPolicyHttpsOnly, AllowedMethods: methods,
				CachePolicyId:         s("4135ea2d-6df8-44a3-9df3-4b5a84be39ad"),
				OriginRequestPolicyId: s("b689b0a8-53d0-40ab-baf2-68738e2966ac"),
			},
			{
				PathPattern: s("/api/*"), TargetOriginId: s("api-eu-west-1"),
				ViewerProtocolPolicy: types.ViewerProtocolPolicyHttpsOnly, AllowedMethods: methods,
				MinTTL: aws.Int64(0), DefaultTTL: aws.Int64(0), MaxTTL: aws.Int64(31536000),
				ForwardedValues: &types.ForwardedValues{
					QueryString: aws.Bool(true),
					Cookies:     &types.CookiePreference{Forward: types.ItemSelectionWhitelist, WhitelistedNames: &types.CookieNames{Quantity: i32(1), Items: []string{"session"}}},
					Headers:     &types.Headers{Quantity: i32(1), Items: []string{"Authorization"}},
				},
			},
		}},
		CustomErrorResponses: &types.CustomErrorResponses{Quantity: i32(1), Items: []types.CustomErrorResponse{{
			ErrorCode: i32(404), ResponseCode: s("200"), ResponsePagePath: s("/index.html"), ErrorCachingMinTTL: aws.Int64(10),
		}}},
		// Aliases need a trusted certificate in us-east-1 (validate.go).
		ViewerCertificate: &types.ViewerCertificate{
			ACMCertificateArn:      s("arn:aws:acm:us-east-1:000000000000:certificate/0f0e0d0c-0b0a-0908-0706-050403020100"),
			MinimumProtocolVersion: types.MinimumProtocolVersionTLSv122021,
			SSLSupportMethod:       types.SSLSupportMethodSniOnly,
			CertificateSource:      types.CertificateSourceAcm,
		},
		Restrictions: &types.Restrictions{GeoRestriction: &types.GeoRestriction{
			RestrictionType: types.GeoRestrictionTypeBlacklist, Quantity: i32(2), Items: []string{"KP", "IR"},
		}},
		Logging: &types.LoggingConfig{Enabled: aws.Bool(true), IncludeCookies: aws.Bool(false), Bucket: s("logs.s3.amazonaws.com"), Prefix: s("cf/")},
		Staging: aws.Bool(false),
	}
}

// TestConfigXMLToSDK renders a config with our encoder and reads it back with the SDK's own
// deserializer (a real client against the control API).
func TestConfigXMLToSDK(t *testing.T) {
	f := newControlFixture(t, nil)
	f.dist.cfg = richControlConfig()
	out, err := f.client.GetDistributionConfig(t.Context(), &cloudfront.GetDistributionConfigInput{Id: aws.String(testDistID)})
	if err != nil {
		t.Fatalf("GetDistributionConfig: %v", err)
	}
	if diff := cmp.Diff(richControlConfig(), out.DistributionConfig, cfEqual); diff != "" {
		t.Errorf("config read by the SDK (-want +got):\n%s", diff)
	}
	if aws.ToString(out.ETag) == "" {
		t.Error("no ETag")
	}
}

// TestConfigSDKToXML sends a config through the SDK's serializer (UpdateDistribution) and
// checks what our parser handed to the edge.
func TestConfigSDKToXML(t *testing.T) {
	f := newControlFixture(t, nil)
	f.dist.cfg = richControlConfig()
	got, err := f.client.GetDistributionConfig(t.Context(), &cloudfront.GetDistributionConfigInput{Id: aws.String(testDistID)})
	if err != nil {
		t.Fatal(err)
	}
	want := richControlConfig()
	want.Comment = aws.String("updated: ünïcode, <xml> & \"quotes\"")
	if _, err := f.client.UpdateDistribution(t.Context(), &cloudfront.UpdateDistributionInput{
		Id: aws.String(testDistID), IfMatch: got.ETag, DistributionConfig: want,
	}); err != nil {
		t.Fatalf("UpdateDistribution: %v", err)
	}
	if diff := cmp.Diff(want, f.dist.Config(), cfEqual); diff != "" {
		t.Errorf("config applied (-want +got):\n%s", diff)
	}
}

func TestUnmarshalDistributionConfigErrors(t *testing.T) {
	const ok = `<DistributionConfig xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/"><CallerReference>r</CallerReference><Aliases><Quantity>1</Quantity><Items><CNAME>a.example</CNAME></Items></Aliases><Enabled>true</Enabled></DistributionConfig>`
	if cfg, err := unmarshalDistributionConfig([]byte(ok)); err != nil || aws.ToString(cfg.CallerReference) != "r" || cfg.Aliases.Items[0] != "a.example" || !aws.ToBool(cfg.Enabled) {
		t.Fatalf("ok document: %+v, %v", cfg, err)
	}
	tests := []struct{ name, body, code string }{
		{"empty", "", "MissingBody"},
		{"not xml", "hello", "InvalidArgument"},
		{"wrong root", `<Distribution/>`, "InvalidArgument"},
		{"unclosed", `<DistributionConfig><Comment>x</Comment>`, "InvalidArgument"},
		{"bad bool", `<DistributionConfig><Enabled>yes</Enabled></DistributionConfig>`, "InvalidArgument"},
		{"bad int", `<DistributionConfig><Aliases><Quantity>x</Quantity></Aliases></DistributionConfig>`, "InvalidArgument"},
		{"int overflow", `<DistributionConfig><Aliases><Quantity>99999999999</Quantity></Aliases></DistributionConfig>`, "InvalidArgument"},
		{"wrong item", `<DistributionConfig><Aliases><Quantity>1</Quantity><Items><Alias>a</Alias></Items></Aliases></DistributionConfig>`, "InvalidArgument"},
		{"element in value", `<DistributionConfig><Comment><b>x</b></Comment></DistributionConfig>`, "InvalidArgument"},
		{"two roots", `<DistributionConfig></DistributionConfig><DistributionConfig></DistributionConfig>`, "InvalidArgument"},
		{"inconsistent", `<DistributionConfig><Aliases><Quantity>2</Quantity><Items><CNAME>a</CNAME></Items></Aliases></DistributionConfig>`, "InconsistentQuantities"},
		{"inconsistent nested", `<DistributionConfig><Origins><Quantity>1</Quantity><Items><Origin><Id>o</Id><CustomHeaders><Quantity>1</Quantity></CustomHeaders></Origin></Items></Origins></DistributionConfig>`, "InconsistentQuantities"},
		{"missing quantity", `<DistributionConfig><Aliases><Items><CNAME>a</CNAME></Items></Aliases></DistributionConfig>`, "InvalidArgument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The parser refuses what is not a DistributionConfig document; the validator
			// (validate.go) what CloudFront refuses in one, quantities first.
			cfg, err := unmarshalDistributionConfig([]byte(tt.body))
			if err == nil {
				err = quantities(reflect.ValueOf(cfg), "DistributionConfig")
			}
			var ae *apiError
			var ce *ConfigError
			if !(errors.As(err, &ae) && ae.Code == tt.code || errors.As(err, &ce) && ce.Code == tt.code) {
				t.Fatalf("err = %v, want %s", err, tt.code)
			}
		})
	}
	// Unknown elements are skipped, as the SDK's deserializers skip them.
	cfg, err := unmarshalDistributionConfig([]byte(`<DistributionConfig><FutureField><X>1</X></FutureField><Comment>c</Comment></DistributionConfig>`))
	if err != nil || aws.ToString(cfg.Comment) != "c" {
		t.Errorf("unknown element: %+v, %v", cfg, err)
	}
}

func FuzzUnmarshalDistributionConfig(f *testing.F) {
	body, err := marshalCloudFrontXML("DistributionConfig", richControlConfig())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(body))
	f.Add(`<DistributionConfig><Aliases><Quantity>1</Quantity><Items><CNAME>a</CNAME></Items></Aliases></DistributionConfig>`)
	f.Add(`<DistributionConfig><Logging><Enabled>true</Enabled></Logging></DistributionConfig>`)
	f.Add("")
	f.Fuzz(func(t *testing.T, body string) {
		cfg, err := unmarshalDistributionConfig([]byte(body))
		if err != nil {
			var ae *apiError
			if !errors.As(err, &ae) || ae.Status != 400 {
				t.Fatalf("err %v is not a 400 apiError", err)
			}
			return
		}
		// The validator judges any parsed config without panicking: nil or a ConfigError
		// with a status of the service model's kind and a one-line message.
		if err := Validate(cfg, ManagedResources()); err != nil {
			var ce *ConfigError
			if !errors.As(err, &ce) || ce.Status < 400 || ce.Status > 409 || ce.Code == "" || strings.Contains(ce.Message, "\n") {
				t.Fatalf("Validate: %#v", err)
			}
		}
		// Whatever was accepted renders and parses back to the same config.
		out, err := marshalCloudFrontXML("DistributionConfig", cfg)
		if err != nil {
			t.Fatalf("marshal accepted config: %v", err)
		}
		back, err := unmarshalDistributionConfig(out)
		if err != nil {
			t.Fatalf("reparse %s: %v", out, err)
		}
		if diff := cmp.Diff(cfg, back, cfEqual); diff != "" && !strings.ContainsRune(body, '\r') {
			t.Fatalf("round trip (-first +second):\n%s", diff)
		}
	})
}
