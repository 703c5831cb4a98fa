package edge

import (
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
)

// testResources knows the managed policies, the test distribution's two OACs, and
// functions by name: "twinedge-spa-rewrite" published, "draft" not.
func testResources() Resources {
	r := ManagedResources()
	oacs := map[string]*types.OriginAccessControlConfig{
		"oac-site": {OriginAccessControlOriginType: types.OriginAccessControlOriginTypesS3},
		"oac-api":  {OriginAccessControlOriginType: types.OriginAccessControlOriginTypesLambda},
	}
	r.OriginAccessControl = func(id string) (*types.OriginAccessControlConfig, bool) { c, ok := oacs[id]; return c, ok }
	r.Functions = testFunctions{"twinedge-spa-rewrite": {Runtime: FunctionRuntime, Live: true}, "draft": {Runtime: FunctionRuntime}}
	return r
}

type testFunctions map[string]FunctionStatus

func (f testFunctions) LookupFunction(arn string) (FunctionStatus, bool) {
	name, _ := functionNameFromARN(arn)
	s, ok := f[name]
	return s, ok
}

// undocumented marks a rule whose refusal CloudFront documents (code, status) but whose
// exact message no source quotes: the test checks code and status only.
const undocumented = ""

// TestValidateRules is one row per rule: the same config with one change CloudFront accepts
// and one it refuses, and CloudFront's answer to the refused one. The source of each rule is
// cited beside it in validate.go.
func TestValidateRules(t *testing.T) {
	api := func(c *types.DistributionConfig) *types.CacheBehavior { return &c.CacheBehaviors.Items[2] } // "/api/*" → group
	pinned := func(c *types.DistributionConfig) *types.CacheBehavior { return &c.CacheBehaviors.Items[0] }
	site := func(c *types.DistributionConfig) *types.Origin { return &c.Origins.Items[0] }
	fn := func(c *types.DistributionConfig) *types.FunctionAssociation {
		return &c.DefaultCacheBehavior.FunctionAssociations.Items[0]
	}
	methods := func(m ...types.Method) *types.AllowedMethods { return methodsAll(m...) }
	all := []types.Method{"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"}
	errorResponse := func(code int32, rc, page string) func(c *types.DistributionConfig) {
		return func(c *types.DistributionConfig) {
			r := types.CustomErrorResponse{ErrorCode: aws.Int32(code)}
			if rc != "" {
				r.ResponseCode = aws.String(rc)
			}
			if page != "" {
				r.ResponsePagePath = aws.String(page)
			}
			c.CustomErrorResponses = &types.CustomErrorResponses{Quantity: ei32(1), Items: []types.CustomErrorResponse{r}}
		}
	}
	policyWith := func(p *types.CachePolicyConfig) func(c *types.DistributionConfig) {
		return func(c *types.DistributionConfig) {
			// The custom policy is looked up under the id "custom" (see run below).
			customPolicy = p
			c.DefaultCacheBehavior.CachePolicyId = aws.String("custom")
		}
	}
	tests := []struct {
		name           string
		accept, refuse func(c *types.DistributionConfig)
		status         int
		code, message  string
	}{
		// Geographic restriction.
		{"geo restriction: uppercase ISO codes",
			func(c *types.DistributionConfig) {
				c.Restrictions = geoRestricted(types.GeoRestrictionTypeWhitelist, "DE", "LI")
			},
			func(c *types.DistributionConfig) {
				c.Restrictions = geoRestricted(types.GeoRestrictionTypeWhitelist, "de")
			},
			400, "InvalidGeoRestrictionParameter", undocumented},
		{"geo restriction: a list needs a location",
			func(c *types.DistributionConfig) {
				c.Restrictions = geoRestricted(types.GeoRestrictionTypeBlacklist, "US")
			},
			func(c *types.DistributionConfig) { c.Restrictions = geoRestricted(types.GeoRestrictionTypeBlacklist) },
			400, "InvalidGeoRestrictionParameter", undocumented},
		{"geo restriction: none takes none",
			func(c *types.DistributionConfig) { c.Restrictions = geoRestricted(types.GeoRestrictionTypeNone) },
			func(c *types.DistributionConfig) { c.Restrictions = geoRestricted(types.GeoRestrictionTypeNone, "US") },
			400, "InvalidGeoRestrictionParameter", undocumented},
		{"geo restriction: a known type",
			func(c *types.DistributionConfig) {
				c.Restrictions = geoRestricted(types.GeoRestrictionTypeBlacklist, "US")
			},
			func(c *types.DistributionConfig) { c.Restrictions = geoRestricted("allowlist", "US") },
			400, "InvalidGeoRestrictionParameter", undocumented},
		// Methods.
		{"origin group behaviour: reads only",
			func(c *types.DistributionConfig) { api(c).AllowedMethods = methods("GET", "HEAD", "OPTIONS") },
			func(c *types.DistributionConfig) { api(c).AllowedMethods = methods(all...) },
			400, "InvalidArgument", "The parameter AllowedMethods cannot include POST, PUT, PATCH, or DELETE for a cached behavior associated with an origin group."},
		{"single-origin behaviour: all seven methods",
			func(c *types.DistributionConfig) { pinned(c).AllowedMethods = methods(all...) },
			func(c *types.DistributionConfig) { pinned(c).AllowedMethods = methods("GET", "HEAD", "POST") },
			400, "InvalidArgument", undocumented},
		{"AllowedMethods GET,HEAD",
			func(c *types.DistributionConfig) { pinned(c).AllowedMethods = methods("GET", "HEAD") },
			func(c *types.DistributionConfig) { pinned(c).AllowedMethods = methods("GET") },
			400, "InvalidArgument", undocumented},
		{"CachedMethods within AllowedMethods",
			func(c *types.DistributionConfig) {
				am := methods("GET", "HEAD", "OPTIONS")
				am.CachedMethods = &types.CachedMethods{Quantity: ei32(3), Items: []types.Method{"GET", "HEAD", "OPTIONS"}}
				pinned(c).AllowedMethods = am
			},
			func(c *types.DistributionConfig) {
				am := methods("GET", "HEAD")
				am.CachedMethods = &types.CachedMethods{Quantity: ei32(3), Items: []types.Method{"GET", "HEAD", "OPTIONS"}}
				pinned(c).AllowedMethods = am
			},
			400, "InvalidArgument", undocumented},
		{"unknown method",
			func(c *types.DistributionConfig) {},
			func(c *types.DistributionConfig) { pinned(c).AllowedMethods = methods("GET", "HEAD", "TRACE") },
			400, "InvalidArgument", undocumented},

		// Origin groups.
		{"group of two members",
			func(c *types.DistributionConfig) {},
			func(c *types.DistributionConfig) {
				m := c.OriginGroups.Items[0].Members
				m.Items, m.Quantity = append(m.Items, types.OriginGroupMember{OriginId: aws.String("api-us-east-1")}), ei32(3)
			},
			400, "MalformedXML", undocumented},
		{"group member exists",
			func(c *types.DistributionConfig) {},
			func(c *types.DistributionConfig) {
				c.OriginGroups.Items[0].Members.Items[1].OriginId = aws.String("ghost")
			},
			404, "NoSuchOrigin", "One or more of your origins or origin groups do not exist."},
		{"group member is an origin, not a group",
			func(c *types.DistributionConfig) {},
			func(c *types.DistributionConfig) {
				c.OriginGroups.Items[1].Members.Items[1].OriginId = aws.String("site")
			},
			400, "InvalidArgument", undocumented},
		{"group members differ",
			func(c *types.DistributionConfig) {},
			func(c *types.DistributionConfig) {
				c.OriginGroups.Items[0].Members.Items[1].OriginId = c.OriginGroups.Items[0].Members.Items[0].OriginId
			},
			400, "InvalidArgument", undocumented},
		{"failover status codes",
			func(c *types.DistributionConfig) {
				c.OriginGroups.Items[0].FailoverCriteria.StatusCodes = &types.StatusCodes{Quantity: ei32(3), Items: []int32{400, 416, 502}}
			},
			func(c *types.DistributionConfig) {
				c.OriginGroups.Items[0].FailoverCriteria.StatusCodes = &types.StatusCodes{Quantity: ei32(2), Items: []int32{500, 501}}
			},
			400, "InvalidArgument", undocumented},
		{"origin groups quota 10",
			func(c *types.DistributionConfig) { addGroups(c, 8) },
			func(c *types.DistributionConfig) { addGroups(c, 9) },
			400, "TooManyOriginGroupsPerDistribution", "Processing your request would cause you to exceed the maximum number of origin groups allowed."},

		// Origins.
		{"origin ids unique",
			func(c *types.DistributionConfig) {},
			func(c *types.DistributionConfig) { c.Origins.Items[1].Id = c.Origins.Items[0].Id },
			400, "InvalidArgument", undocumented},
		{"ConnectionAttempts 1-3",
			func(c *types.DistributionConfig) { site(c).ConnectionAttempts = ei32(3) },
			func(c *types.DistributionConfig) { site(c).ConnectionAttempts = ei32(0) },
			400, "InvalidArgument", undocumented},
		{"ConnectionTimeout 1-10",
			func(c *types.DistributionConfig) { site(c).ConnectionTimeout = ei32(10) },
			func(c *types.DistributionConfig) { site(c).ConnectionTimeout = ei32(11) },
			400, "InvalidArgument", undocumented},
		{"OriginReadTimeout 1-120",
			func(c *types.DistributionConfig) { c.Origins.Items[2].CustomOriginConfig.OriginReadTimeout = ei32(120) },
			func(c *types.DistributionConfig) { c.Origins.Items[2].CustomOriginConfig.OriginReadTimeout = ei32(0) },
			400, "InvalidOriginReadTimeout", "The read timeout specified for the origin is not valid."},
		{"OriginKeepaliveTimeout 1-120",
			func(c *types.DistributionConfig) {
				c.Origins.Items[2].CustomOriginConfig.OriginKeepaliveTimeout = ei32(120)
			},
			func(c *types.DistributionConfig) {
				c.Origins.Items[2].CustomOriginConfig.OriginKeepaliveTimeout = ei32(121)
			},
			400, "InvalidOriginKeepaliveTimeout", "The keep alive timeout specified for the origin is not valid."},
		{"exactly one origin config",
			func(c *types.DistributionConfig) {},
			func(c *types.DistributionConfig) { site(c).CustomOriginConfig = c.Origins.Items[2].CustomOriginConfig },
			400, "InvalidArgument", "Exactly one of CustomOriginConfig and S3OriginConfig must be specified"},
		{"OAC with an empty OriginAccessIdentity",
			func(c *types.DistributionConfig) { site(c).S3OriginConfig.OriginAccessIdentity = aws.String("") },
			func(c *types.DistributionConfig) {
				site(c).S3OriginConfig.OriginAccessIdentity = aws.String("origin-access-identity/cloudfront/E15MNIMTCFKK4C")
			},
			400, "IllegalOriginAccessConfiguration", "An origin cannot contain both an origin access control (OAC) and an origin access identity (OAI)."},
		{"OAC on a custom origin that takes one",
			func(c *types.DistributionConfig) {},
			func(c *types.DistributionConfig) { c.Origins.Items[2].DomainName = aws.String("api.example.com") },
			400, "InvalidDomainNameForOriginAccessControl", "An origin access control is associated with an origin whose domain name is not supported."},
		{"OAC type matches the origin",
			func(c *types.DistributionConfig) {},
			func(c *types.DistributionConfig) { site(c).OriginAccessControlId = aws.String("oac-api") },
			400, "IllegalOriginAccessConfiguration", "Illegal configuration: The origin type and OAC origin type differ."},
		{"OAC exists",
			func(c *types.DistributionConfig) {},
			func(c *types.DistributionConfig) { site(c).OriginAccessControlId = aws.String("E0NOSUCHOAC") },
			400, "InvalidOriginAccessControl", "The origin access control is not valid."},
		{"custom origin protocol policy",
			func(c *types.DistributionConfig) {
				c.Origins.Items[2].CustomOriginConfig.OriginProtocolPolicy = types.OriginProtocolPolicyMatchViewer
			},
			func(c *types.DistributionConfig) {
				c.Origins.Items[2].CustomOriginConfig.OriginProtocolPolicy = "https"
			},
			400, "InvalidArgument", undocumented},
		{"custom origin ports",
			func(c *types.DistributionConfig) { c.Origins.Items[2].CustomOriginConfig.HTTPSPort = ei32(8443) },
			func(c *types.DistributionConfig) { c.Origins.Items[2].CustomOriginConfig.HTTPSPort = ei32(1023) },
			400, "InvalidArgument", undocumented},
		{"custom origin SSL protocols",
			func(c *types.DistributionConfig) {
				c.Origins.Items[2].CustomOriginConfig.OriginSslProtocols = &types.OriginSslProtocols{Quantity: ei32(1), Items: []types.SslProtocol{"TLSv1.2"}}
			},
			func(c *types.DistributionConfig) {
				c.Origins.Items[2].CustomOriginConfig.OriginSslProtocols = &types.OriginSslProtocols{Quantity: ei32(1), Items: []types.SslProtocol{"TLSv1.3"}}
			},
			400, "InvalidArgument", undocumented},
		{"OriginPath form",
			func(c *types.DistributionConfig) { site(c).OriginPath = aws.String("/site") },
			func(c *types.DistributionConfig) { site(c).OriginPath = aws.String("/site/") },
			400, "InvalidArgument", undocumented},
		{"origins quota 25",
			func(c *types.DistributionConfig) { addOrigins(c, 21) },
			func(c *types.DistributionConfig) { addOrigins(c, 22) },
			400, "TooManyOrigins", "You cannot create more origins for the distribution."},
		{"custom headers quota 10",
			func(c *types.DistributionConfig) { site(c).CustomHeaders = customHeaders(10) },
			func(c *types.DistributionConfig) { site(c).CustomHeaders = customHeaders(11) },
			400, "TooManyOriginCustomHeaders", "Your request contains too many origin custom headers."},

		// Behaviours.
		{"path pattern syntax",
			func(c *types.DistributionConfig) { pinned(c).PathPattern = aws.String("/api/r/us-east-1/*.json") },
			func(c *types.DistributionConfig) { pinned(c).PathPattern = aws.String("/api/r/us east/*") },
			400, "InvalidArgument", undocumented},
		{"path pattern length 255",
			func(c *types.DistributionConfig) { pinned(c).PathPattern = aws.String("/" + strings.Repeat("a", 254)) },
			func(c *types.DistributionConfig) { pinned(c).PathPattern = aws.String("/" + strings.Repeat("a", 255)) },
			400, "InvalidArgument", undocumented},
		{"no duplicate path patterns",
			func(c *types.DistributionConfig) {},
			func(c *types.DistributionConfig) { pinned(c).PathPattern = aws.String("api/*") }, // "/api/*" without its slash
			400, "InvalidArgument", undocumented},
		{"behaviour target exists",
			func(c *types.DistributionConfig) { pinned(c).TargetOriginId = aws.String("api-us-west-2") },
			func(c *types.DistributionConfig) { pinned(c).TargetOriginId = aws.String("ghost") },
			404, "NoSuchOrigin", "One or more of your cache behavior target origins or origin groups do not exist."},
		{"cache behaviours quota 75",
			func(c *types.DistributionConfig) { addBehaviours(c, 72) },
			func(c *types.DistributionConfig) { addBehaviours(c, 73) },
			400, "TooManyCacheBehaviors", "You cannot create more cache behaviors for the distribution."},
		{"Quantity matches Items",
			func(c *types.DistributionConfig) {},
			func(c *types.DistributionConfig) { c.CacheBehaviors.Quantity = ei32(2) },
			400, "InconsistentQuantities", "The specified quantity of CacheBehaviors (2) does not match the actual quantity supplied (3)."},
		{"viewer protocol policy",
			func(c *types.DistributionConfig) {
				pinned(c).ViewerProtocolPolicy = types.ViewerProtocolPolicyHttpsOnly
			},
			func(c *types.DistributionConfig) { pinned(c).ViewerProtocolPolicy = "https" },
			400, "InvalidArgument", undocumented},

		// Policies.
		{"cache policy exists",
			func(c *types.DistributionConfig) {
				c.DefaultCacheBehavior.CachePolicyId = aws.String(CachingDisabledID)
			},
			func(c *types.DistributionConfig) {
				c.DefaultCacheBehavior.CachePolicyId = aws.String("00000000-0000-0000-0000-000000000000")
			},
			404, "NoSuchCachePolicy", "The cache policy does not exist."},
		{"no legacy TTLs beside a cache policy",
			func(c *types.DistributionConfig) {},
			func(c *types.DistributionConfig) { c.DefaultCacheBehavior.MinTTL = aws.Int64(0) },
			400, "InvalidArgument", "The parameter MinTTL cannot be used when a cache policy is associated to the cache behavior."},
		{"legacy TTL order",
			func(c *types.DistributionConfig) { legacy(c, 0, 60, 60) },
			func(c *types.DistributionConfig) { legacy(c, 0, 120, 60) },
			400, "InvalidTTLOrder", ttlOrder},
		{"cache policy TTL order",
			policyWith(&types.CachePolicyConfig{MinTTL: aws.Int64(1), DefaultTTL: aws.Int64(1), MaxTTL: aws.Int64(1),
				ParametersInCacheKeyAndForwardedToOrigin: emptyKey()}),
			policyWith(&types.CachePolicyConfig{MinTTL: aws.Int64(10), DefaultTTL: aws.Int64(5), MaxTTL: aws.Int64(60),
				ParametersInCacheKeyAndForwardedToOrigin: emptyKey()}),
			400, "InvalidTTLOrder", ttlOrder},
		{"caching off keys on nothing",
			policyWith(&types.CachePolicyConfig{MinTTL: aws.Int64(0), DefaultTTL: aws.Int64(0), MaxTTL: aws.Int64(0),
				ParametersInCacheKeyAndForwardedToOrigin: emptyKey()}),
			policyWith(&types.CachePolicyConfig{MinTTL: aws.Int64(0), DefaultTTL: aws.Int64(0), MaxTTL: aws.Int64(0),
				ParametersInCacheKeyAndForwardedToOrigin: keyWithHeaders("Accept-Language")}),
			400, "InvalidArgument", undocumented},
		{"headers in a cache key: 10",
			policyWith(&types.CachePolicyConfig{MinTTL: aws.Int64(0), ParametersInCacheKeyAndForwardedToOrigin: keyWithHeaders(names(10)...)}),
			policyWith(&types.CachePolicyConfig{MinTTL: aws.Int64(0), ParametersInCacheKeyAndForwardedToOrigin: keyWithHeaders(names(11)...)}),
			400, "TooManyHeadersInCachePolicy", "Your request contains more headers in the Cache Policy than are allowed."},
		{"Authorization not forwarded by an origin request policy",
			func(c *types.DistributionConfig) {
				customORP = orp("custom", "none", nil, "whitelist", []string{"Accept-Language"}, "none", nil)
				c.DefaultCacheBehavior.OriginRequestPolicyId = aws.String("custom")
			},
			func(c *types.DistributionConfig) {
				customORP = orp("custom", "none", nil, "whitelist", []string{"authorization"}, "none", nil)
				c.DefaultCacheBehavior.OriginRequestPolicyId = aws.String("custom")
			},
			400, "InvalidArgument", "The parameter Headers contains authorization that is not allowed."},
		{"origin request policy exists",
			func(c *types.DistributionConfig) {},
			func(c *types.DistributionConfig) { c.DefaultCacheBehavior.OriginRequestPolicyId = aws.String("ghost") },
			404, "NoSuchOriginRequestPolicy", "The origin request policy does not exist."},
		{"response headers policy exists",
			func(c *types.DistributionConfig) {},
			func(c *types.DistributionConfig) {
				c.DefaultCacheBehavior.ResponseHeadersPolicyId = aws.String("ghost")
			},
			404, "NoSuchResponseHeadersPolicy", "The response headers policy does not exist."},

		// Function associations.
		{"one function per event type",
			func(c *types.DistributionConfig) { addFunction(c, types.EventTypeViewerResponse, spaARN) },
			func(c *types.DistributionConfig) { addFunction(c, types.EventTypeViewerRequest, spaARN) },
			400, "InvalidFunctionAssociation", undocumented},
		{"CloudFront Functions on viewer events only",
			func(c *types.DistributionConfig) { fn(c).EventType = types.EventTypeViewerResponse },
			func(c *types.DistributionConfig) { fn(c).EventType = types.EventTypeOriginRequest },
			400, "MalformedXML", undocumented},
		{"function exists",
			func(c *types.DistributionConfig) {},
			func(c *types.DistributionConfig) {
				fn(c).FunctionARN = aws.String("arn:aws:cloudfront::123456789012:function/ghost")
			},
			400, "InvalidFunctionAssociation", undocumented},
		{"function is published",
			func(c *types.DistributionConfig) {},
			func(c *types.DistributionConfig) {
				fn(c).FunctionARN = aws.String("arn:aws:cloudfront::123456789012:function/draft")
			},
			400, "InvalidFunctionAssociation", undocumented},

		// Custom error responses.
		{"error code",
			errorResponse(404, "200", "/index.html"),
			errorResponse(418, "200", "/index.html"),
			400, "InvalidErrorCode", "An invalid error code was specified."},
		{"response code",
			errorResponse(503, "503", "/down.html"),
			errorResponse(503, "299", "/down.html"),
			400, "InvalidResponseCode", "A response code is not valid."},
		{"ResponsePagePath form",
			errorResponse(404, "404", "/errors/404.html"),
			errorResponse(404, "404", "errors/404.html"),
			400, "InvalidRelativePath", "The relative path is too big, is not URL-encoded, or does not begin with a slash (/)."},
		{"ResponseCode with ResponsePagePath",
			errorResponse(500, "", ""),
			errorResponse(500, "500", ""),
			400, "InvalidArgument", undocumented},
		{"error caching TTL",
			func(c *types.DistributionConfig) {
				errorResponse(404, "", "")(c)
				c.CustomErrorResponses.Items[0].ErrorCachingMinTTL = aws.Int64(0)
			},
			func(c *types.DistributionConfig) {
				errorResponse(404, "", "")(c)
				c.CustomErrorResponses.Items[0].ErrorCachingMinTTL = aws.Int64(-1)
			},
			400, "InvalidArgument", undocumented},
		{"default root object",
			func(c *types.DistributionConfig) { c.DefaultRootObject = aws.String("home/index.html") },
			func(c *types.DistributionConfig) { c.DefaultRootObject = aws.String("/index.html") },
			400, "InvalidDefaultRootObject", "The default root object file name is too big or contains an invalid character."},

		// Aliases and the viewer certificate.
		{"aliases need a trusted certificate",
			func(c *types.DistributionConfig) { withAlias(c, "www.example.com", acmCert("us-east-1")) },
			func(c *types.DistributionConfig) {
				withAlias(c, "www.example.com", &types.ViewerCertificate{CloudFrontDefaultCertificate: aws.Bool(true)})
			},
			400, "InvalidViewerCertificate", "To add an alternate domain name (CNAME) to a CloudFront distribution, you must attach a trusted certificate that validates your authorization to use the domain name. For more details, see: https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/CNAMEs.html#alternate-domain-names-requirements"},
		{"certificate in us-east-1",
			func(c *types.DistributionConfig) { withAlias(c, "*.example.com", acmCert("us-east-1")) },
			func(c *types.DistributionConfig) { withAlias(c, "*.example.com", acmCert("eu-west-2")) },
			400, "InvalidViewerCertificate", "The specified SSL certificate doesn't exist, isn't in us-east-1 region, isn't valid, or doesn't include a valid certificate chain."},
		{"alias syntax",
			func(c *types.DistributionConfig) { withAlias(c, "a-b.example.co.uk", acmCert("us-east-1")) },
			func(c *types.DistributionConfig) { withAlias(c, "www.*.example.com", acmCert("us-east-1")) },
			400, "InvalidArgument", undocumented},
		{"aliases quota 100",
			func(c *types.DistributionConfig) { withAliases(c, 100) },
			func(c *types.DistributionConfig) { withAliases(c, 101) },
			400, "TooManyDistributionCNAMEs", "Your request contains more CNAMEs than are allowed per distribution."},
		{"minimum protocol version",
			func(c *types.DistributionConfig) { withAlias(c, "www.example.com", acmCert("us-east-1")) },
			func(c *types.DistributionConfig) {
				vc := acmCert("us-east-1")
				vc.MinimumProtocolVersion = "TLSv1.4_2030"
				withAlias(c, "www.example.com", vc)
			},
			400, "InvalidMinimumProtocolVersion", "The minimum protocol version specified is not valid."},
	}
	res := testResources()
	res.CachePolicy = func(id string) (*types.CachePolicyConfig, bool) {
		if id == "custom" {
			return customPolicy, customPolicy != nil
		}
		c, ok := ManagedCachePolicies()[id]
		return c, ok
	}
	res.OriginRequestPolicy = func(id string) (*types.OriginRequestPolicyConfig, bool) {
		if id == "custom" {
			return customORP, customORP != nil
		}
		c, ok := ManagedOriginRequestPolicies()[id]
		return c, ok
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := testDistribution()
			tt.accept(c)
			if err := Validate(c, res); err != nil {
				t.Errorf("accepted config refused: %v", err)
			}
			c = testDistribution()
			tt.refuse(c)
			err := Validate(c, res)
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("refused config accepted (err %v)", err)
			}
			if ce.Status != tt.status || ce.Code != tt.code {
				t.Errorf("refusal %d %s, want %d %s (%s)", ce.Status, ce.Code, tt.status, tt.code, ce.Message)
			}
			if tt.message != undocumented && ce.Message != tt.message {
				t.Errorf("message %q,\nwant CloudFront's %q", ce.Message, tt.message)
			}
			if ce.Message == "" || strings.Contains(ce.Message, "\n") {
				t.Errorf("message %q is not one line", ce.Message)
			}
		})
	}
}

// customPolicy and customORP are the custom policies behind id "custom" in TestValidateRules.
var (
	customPolicy *types.CachePolicyConfig
	customORP    *types.OriginRequestPolicyConfig
)

func TestValidateTestDistributionAndNil(t *testing.T) {
	if err := Validate(testDistribution(), testResources()); err != nil {
		t.Fatalf("the test distribution (infra.Distribution's shape) is refused: %v", err)
	}
	if err := ValidateDistributionConfig(testDistribution()); err != nil {
		t.Fatalf("without resources: %v", err)
	}
	var ce *ConfigError
	if err := ValidateDistributionConfig(nil); !errors.As(err, &ce) || ce.Code != "MissingBody" {
		t.Fatalf("nil config: %v", err)
	}
}

// TestErrorStatusesMatchServiceModel checks every code the validator can answer against the
// HTTP status in CloudFront's service model, as botocore ships it (apt python3-botocore or the
// aws CLI's). The model is the judge: our table is a copy of it.
func TestErrorStatusesMatchServiceModel(t *testing.T) {
	model := loadServiceModel(t)
	codes := []string{"InvalidArgument", "InconsistentQuantities", "NoSuchOrigin", "TooManyOrigins", "TooManyOriginGroupsPerDistribution",
		"TooManyCacheBehaviors", "TooManyOriginCustomHeaders", "InvalidOriginReadTimeout", "InvalidOriginKeepaliveTimeout",
		"IllegalOriginAccessConfiguration", "InvalidDomainNameForOriginAccessControl", "InvalidOriginAccessControl",
		"NoSuchCachePolicy", "NoSuchOriginRequestPolicy", "NoSuchResponseHeadersPolicy", "InvalidTTLOrder",
		"InvalidFunctionAssociation", "InvalidLambdaFunctionAssociation", "InvalidErrorCode", "InvalidResponseCode",
		"InvalidRelativePath", "InvalidDefaultRootObject", "TooManyDistributionCNAMEs", "InvalidViewerCertificate",
		"InvalidMinimumProtocolVersion", "MissingBody", "DistributionAlreadyExists", "IllegalUpdate", "PreconditionFailed",
		"TooManyHeadersInCachePolicy", "TooManyCookiesInCachePolicy", "TooManyQueryStringsInCachePolicy"}
	for _, code := range codes {
		shape, ok := model.Shapes[code]
		if !ok || shape.Error.HTTPStatusCode == 0 {
			t.Errorf("%s is not an error of the CloudFront model", code)
			continue
		}
		if got := cfgErr(code, "x").Status; got != shape.Error.HTTPStatusCode {
			t.Errorf("%s: status %d, the model says %d", code, got, shape.Error.HTTPStatusCode)
		}
	}
	// Every code a distribution refusal uses is one CreateDistribution or UpdateDistribution
	// may answer (the cache-policy quotas belong to CreateCachePolicy).
	var ops []string
	for _, op := range []string{"CreateDistribution", "UpdateDistribution", "CreateCachePolicy"} {
		for _, e := range model.Operations[op].Errors {
			ops = append(ops, e.Shape)
		}
	}
	for _, code := range codes {
		if !slices.Contains(ops, code) && code != "MalformedXML" {
			t.Errorf("%s is not an error of CreateDistribution, UpdateDistribution or CreateCachePolicy", code)
		}
	}
}

type serviceModel struct {
	Operations map[string]struct {
		Errors []struct{ Shape string } `json:"errors"`
	} `json:"operations"`
	Shapes map[string]struct {
		Error struct {
			HTTPStatusCode int `json:"httpStatusCode"`
		} `json:"error"`
	} `json:"shapes"`
}

// serviceModelPaths are where botocore keeps CloudFront's model on this kind of machine.
var serviceModelPaths = []string{
	"/usr/lib/python3/dist-packages/botocore/data/cloudfront/2020-05-31/service-2.json",
	"/usr/lib/python3/dist-packages/botocore/data/cloudfront/2020-05-31/service-2.json.gz",
}

func loadServiceModel(t *testing.T) *serviceModel {
	t.Helper()
	paths := serviceModelPaths
	// The botocore of whichever python3 is on PATH (the aws CLI's, under pyenv or pip).
	if out, err := exec.Command("python3", "-c", "import botocore, os; print(os.path.dirname(botocore.__file__))").Output(); err == nil {
		dir := filepath.Join(strings.TrimSpace(string(out)), "data", "cloudfront", "2020-05-31")
		paths = append([]string{filepath.Join(dir, "service-2.json"), filepath.Join(dir, "service-2.json.gz")}, paths...)
	}
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			continue
		}
		defer f.Close()
		var r io.Reader = f
		if strings.HasSuffix(p, ".gz") {
			if r, err = gzip.NewReader(f); err != nil {
				t.Fatal(err)
			}
		}
		var m serviceModel
		if err := json.NewDecoder(r).Decode(&m); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		return &m
	}
	t.Skip("CloudFront's service model is not installed: apt-get install python3-botocore")
	return nil
}

func addGroups(c *types.DistributionConfig, n int) {
	for i := 0; i < n; i++ {
		g := c.OriginGroups.Items[0]
		g.Id = aws.String("g" + string(rune('a'+i)))
		c.OriginGroups.Items = append(c.OriginGroups.Items, g)
	}
	c.OriginGroups.Quantity = ei32(int32(len(c.OriginGroups.Items)))
}

func addOrigins(c *types.DistributionConfig, n int) {
	for i := 0; i < n; i++ {
		o := c.Origins.Items[0]
		o.Id = aws.String("extra-" + string(rune('a'+i)))
		c.Origins.Items = append(c.Origins.Items, o)
	}
	c.Origins.Quantity = ei32(int32(len(c.Origins.Items)))
}

func addBehaviours(c *types.DistributionConfig, n int) {
	for i := 0; i < n; i++ {
		b := c.CacheBehaviors.Items[0]
		b.PathPattern = aws.String("/extra/" + strings.Repeat("x", i+1) + "/*")
		c.CacheBehaviors.Items = append(c.CacheBehaviors.Items, b)
	}
	c.CacheBehaviors.Quantity = ei32(int32(len(c.CacheBehaviors.Items)))
}

func customHeaders(n int) *types.CustomHeaders {
	h := &types.CustomHeaders{Quantity: ei32(int32(n))}
	for _, name := range names(n) {
		h.Items = append(h.Items, types.OriginCustomHeader{HeaderName: aws.String(name), HeaderValue: aws.String("v")})
	}
	return h
}

func names(n int) []string {
	var out []string
	for i := 0; i < n; i++ {
		out = append(out, "X-Name-"+string(rune('a'+i)))
	}
	return out
}

func legacy(c *types.DistributionConfig, min, def, max int64) {
	d := c.DefaultCacheBehavior
	d.CachePolicyId = nil
	d.ForwardedValues = &types.ForwardedValues{QueryString: aws.Bool(false), Cookies: &types.CookiePreference{Forward: types.ItemSelectionNone}}
	d.MinTTL, d.DefaultTTL, d.MaxTTL = aws.Int64(min), aws.Int64(def), aws.Int64(max)
}

func emptyKey() *types.ParametersInCacheKeyAndForwardedToOrigin {
	return keyWithHeaders()
}

func keyWithHeaders(h ...string) *types.ParametersInCacheKeyAndForwardedToOrigin {
	mode := types.CachePolicyHeaderBehaviorNone
	if len(h) > 0 {
		mode = types.CachePolicyHeaderBehaviorWhitelist
	}
	return &types.ParametersInCacheKeyAndForwardedToOrigin{
		EnableAcceptEncodingGzip: aws.Bool(false), EnableAcceptEncodingBrotli: aws.Bool(false),
		HeadersConfig:      &types.CachePolicyHeadersConfig{HeaderBehavior: mode, Headers: &types.Headers{Quantity: ei32(int32(len(h))), Items: h}},
		CookiesConfig:      &types.CachePolicyCookiesConfig{CookieBehavior: types.CachePolicyCookieBehaviorNone},
		QueryStringsConfig: &types.CachePolicyQueryStringsConfig{QueryStringBehavior: types.CachePolicyQueryStringBehaviorNone},
	}
}

func addFunction(c *types.DistributionConfig, ev types.EventType, arn string) {
	fa := c.DefaultCacheBehavior.FunctionAssociations
	fa.Items = append(fa.Items, types.FunctionAssociation{EventType: ev, FunctionARN: aws.String(arn)})
	fa.Quantity = ei32(int32(len(fa.Items)))
}

func acmCert(region string) *types.ViewerCertificate {
	return &types.ViewerCertificate{
		ACMCertificateArn:      aws.String("arn:aws:acm:" + region + ":123456789012:certificate/0f0e0d0c-0b0a-0908-0706-050403020100"),
		SSLSupportMethod:       types.SSLSupportMethodSniOnly,
		MinimumProtocolVersion: types.MinimumProtocolVersionTLSv122021,
	}
}

func withAlias(c *types.DistributionConfig, name string, vc *types.ViewerCertificate) {
	c.Aliases = &types.Aliases{Quantity: ei32(1), Items: []string{name}}
	c.ViewerCertificate = vc
}

func withAliases(c *types.DistributionConfig, n int) {
	withAlias(c, "x.example.com", acmCert("us-east-1"))
	c.Aliases.Items = nil
	for i := 0; i < n; i++ {
		c.Aliases.Items = append(c.Aliases.Items, "a"+strings.Repeat("b", i%50)+string(rune('a'+i/50))+".example.com")
	}
	c.Aliases.Quantity = ei32(int32(n))
}

func geoRestricted(kind types.GeoRestrictionType, countries ...string) *types.Restrictions {
	return &types.Restrictions{GeoRestriction: &types.GeoRestriction{RestrictionType: kind, Quantity: ei32(int32(len(countries))), Items: countries}}
}
