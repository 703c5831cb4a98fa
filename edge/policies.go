package edge

import (
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
)

// Managed cache policy ids (spec/cloudfront.md §2.4; the two UseOriginCacheControlHeaders
// policies are from the current Developer Guide page using-managed-cache-policies).
const (
	CachingOptimizedID                         = "658327ea-f89d-4fab-a63d-7e88639e58f6"
	CachingDisabledID                          = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
	CachingOptimizedForUncompressedObjectsID   = "b2884449-e4de-46a7-ac36-70bc7f1ddd6d"
	AmplifyCachePolicyID                       = "2e54312d-136d-493c-8eb9-b001f22f67d2"
	ElementalMediaPackageCachePolicyID         = "08627262-05a9-4f76-9ded-b50ca2e3a84f"
	UseOriginCacheControlHeadersID             = "83da9c7e-98b4-4e11-a168-04f0df8e2c65"
	UseOriginCacheControlHeadersQueryStringsID = "4cc15a8a-d715-48a4-82b8-cc0b614638fe"
	AllViewerID                                = "216adef6-5c7f-47e4-b989-5492eafa07d3"
	AllViewerAndCloudFrontHeaders2022ID        = "33f36d7e-f396-46d9-90e0-52428a34d9dc"
	AllViewerExceptHostHeaderID                = "b689b0a8-53d0-40ab-baf2-68738e2966ac"
	CORSCustomOriginID                         = "59781a5b-3903-41f3-afcb-af62929ccde1"
	CORSS3OriginID                             = "88a5eaf4-2fd4-4709-b370-b4c650ea3fcf"
	UserAgentRefererHeadersID                  = "acba4595-bd28-49b8-b9fe-13317c0390fa"
)

// nameSet is one "which query strings / headers / cookies" setting of a policy.
// mode is none, whitelist, allExcept, all (and, for origin request headers,
// allViewer, allViewerAndWhitelistCloudFront). Header names are stored lower case.
type nameSet struct {
	mode  string
	names map[string]bool
	list  []string // names, sorted: the order they appear in cache keys
}

func newNameSet(mode string, names []string, header bool) nameSet {
	s := nameSet{mode: mode}
	if mode == "" {
		s.mode = "none"
	}
	if len(names) > 0 {
		s.names = make(map[string]bool, len(names))
		for _, n := range names {
			if header {
				n = strings.ToLower(n)
			}
			if !s.names[n] {
				s.list = append(s.list, n)
			}
			s.names[n] = true
		}
		slices.Sort(s.list)
	}
	return s
}

// includes reports whether a name is selected by the set.
func (s nameSet) includes(name string) bool {
	switch s.mode {
	case "whitelist":
		return s.names[name]
	case "allExcept":
		return !s.names[name]
	case "all", "allViewer":
		return true
	case "allViewerAndWhitelistCloudFront":
		return !strings.HasPrefix(name, "cloudfront-") || s.names[name]
	}
	return false
}

func (s nameSet) none() bool { return s.mode == "none" }

// cachePolicy is a compiled CachePolicyConfig.
type cachePolicy struct {
	id                      string
	minTTL, defTTL, maxTTL  int64 // seconds
	gzip, br                bool
	query, headers, cookies nameSet
	acceptEncodingInKey     bool // Accept-Encoding listed explicitly: no compression (§2.7)
}

// disabled reports whether the policy caches nothing (CachingDisabled: all TTLs 0).
func (p *cachePolicy) disabled() bool { return p.maxTTL == 0 && p.defTTL == 0 && p.minTTL == 0 }

func compileCachePolicy(id string, c *types.CachePolicyConfig) (*cachePolicy, error) {
	if c.MinTTL == nil {
		return nil, fmt.Errorf("cache policy %s: MinTTL is required", id)
	}
	p := &cachePolicy{id: id, minTTL: *c.MinTTL, defTTL: 86400, maxTTL: 31536000}
	if c.DefaultTTL != nil {
		p.defTTL = *c.DefaultTTL
	}
	if c.MaxTTL != nil {
		p.maxTTL = *c.MaxTTL
	}
	// §2.4: DefaultTTL 86400 "or MinTTL if larger", MaxTTL 31536000 "or DefaultTTL if larger".
	if p.defTTL < p.minTTL {
		p.defTTL = p.minTTL
	}
	if p.maxTTL < p.defTTL {
		p.maxTTL = p.defTTL
	}
	if p.minTTL < 0 {
		return nil, fmt.Errorf("cache policy %s: MinTTL must not be negative", id)
	}
	if k := c.ParametersInCacheKeyAndForwardedToOrigin; k != nil {
		p.gzip = aws.ToBool(k.EnableAcceptEncodingGzip)
		p.br = aws.ToBool(k.EnableAcceptEncodingBrotli)
		if q := k.QueryStringsConfig; q != nil {
			var names []string
			if q.QueryStrings != nil {
				names = q.QueryStrings.Items
			}
			p.query = newNameSet(string(q.QueryStringBehavior), names, false)
		}
		if h := k.HeadersConfig; h != nil {
			var names []string
			if h.Headers != nil {
				names = h.Headers.Items
			}
			p.headers = newNameSet(string(h.HeaderBehavior), names, true)
			if p.headers.names["accept-encoding"] {
				p.acceptEncodingInKey = true
			}
		}
		if ck := k.CookiesConfig; ck != nil {
			var names []string
			if ck.Cookies != nil {
				names = ck.Cookies.Items
			}
			p.cookies = newNameSet(string(ck.CookieBehavior), names, false)
		}
	}
	for _, s := range []*nameSet{&p.query, &p.headers, &p.cookies} {
		if s.mode == "" {
			s.mode = "none"
		}
	}
	// Disabling caching disables compression caching too (§2.7: "TTL 0 ⇒ no compression").
	if p.maxTTL == 0 {
		p.gzip, p.br = false, false
	}
	return p, nil
}

// originRequestPolicy is a compiled OriginRequestPolicyConfig: what is forwarded to the
// origin beyond the cache key.
type originRequestPolicy struct {
	id                      string
	query, headers, cookies nameSet
}

// compileOriginRequestPolicy compiles an origin request policy. One that names
// Authorization is refused as CloudFront refuses it: "You can't use an origin request
// policy to forward the Authorization header. The header must be a part of the cache
// key to prevent the cache from satisfying unauthorized requests. CloudFront returns an
// HTTP 400 error if you create an origin request policy that forwards the Authorization
// header." (AWS Knowledge Center, cloudfront-authorization-header); the message is the
// one users report (serverfault.com/questions/1053906).
func compileOriginRequestPolicy(id string, c *types.OriginRequestPolicyConfig) (*originRequestPolicy, error) {
	if h := c.HeadersConfig; h != nil && h.Headers != nil && h.HeaderBehavior != types.OriginRequestPolicyHeaderBehaviorAllExcept {
		for _, n := range h.Headers.Items {
			if strings.EqualFold(n, "Authorization") {
				return nil, cfgErr("InvalidArgument", "The parameter Headers contains %s that is not allowed.", n)
			}
		}
	}
	p := &originRequestPolicy{id: id}
	if q := c.QueryStringsConfig; q != nil {
		var names []string
		if q.QueryStrings != nil {
			names = q.QueryStrings.Items
		}
		p.query = newNameSet(string(q.QueryStringBehavior), names, false)
	}
	if h := c.HeadersConfig; h != nil {
		var names []string
		if h.Headers != nil {
			names = h.Headers.Items
		}
		p.headers = newNameSet(string(h.HeaderBehavior), names, true)
	}
	if ck := c.CookiesConfig; ck != nil {
		var names []string
		if ck.Cookies != nil {
			names = ck.Cookies.Items
		}
		p.cookies = newNameSet(string(ck.CookieBehavior), names, false)
	}
	for _, s := range []*nameSet{&p.query, &p.headers, &p.cookies} {
		if s.mode == "" {
			s.mode = "none"
		}
	}
	return p, nil
}

func cp(min, def, max int64, gzip, br bool, qMode string, q []string, hMode string, h []string, cMode string, c []string) *types.CachePolicyConfig {
	return &types.CachePolicyConfig{
		MinTTL: aws.Int64(min), DefaultTTL: aws.Int64(def), MaxTTL: aws.Int64(max),
		ParametersInCacheKeyAndForwardedToOrigin: &types.ParametersInCacheKeyAndForwardedToOrigin{
			EnableAcceptEncodingGzip:   aws.Bool(gzip),
			EnableAcceptEncodingBrotli: aws.Bool(br),
			QueryStringsConfig: &types.CachePolicyQueryStringsConfig{
				QueryStringBehavior: types.CachePolicyQueryStringBehavior(qMode),
				QueryStrings:        &types.QueryStringNames{Quantity: aws.Int32(int32(len(q))), Items: q},
			},
			HeadersConfig: &types.CachePolicyHeadersConfig{
				HeaderBehavior: types.CachePolicyHeaderBehavior(hMode),
				Headers:        &types.Headers{Quantity: aws.Int32(int32(len(h))), Items: h},
			},
			CookiesConfig: &types.CachePolicyCookiesConfig{
				CookieBehavior: types.CachePolicyCookieBehavior(cMode),
				Cookies:        &types.CookieNames{Quantity: aws.Int32(int32(len(c))), Items: c},
			},
		},
	}
}

// ManagedCachePolicies returns the AWS managed cache policies by id
// (Developer Guide, using-managed-cache-policies).
func ManagedCachePolicies() map[string]*types.CachePolicyConfig {
	named := func(name string, c *types.CachePolicyConfig) *types.CachePolicyConfig {
		c.Name = aws.String(name)
		return c
	}
	return map[string]*types.CachePolicyConfig{
		CachingOptimizedID: named("Managed-CachingOptimized", cp(1, 86400, 31536000, true, true, "none", nil, "none", nil, "none", nil)),
		CachingDisabledID:  named("Managed-CachingDisabled", cp(0, 0, 0, false, false, "none", nil, "none", nil, "none", nil)),
		CachingOptimizedForUncompressedObjectsID: named("Managed-CachingOptimizedForUncompressedObjects",
			cp(1, 86400, 31536000, false, false, "none", nil, "none", nil, "none", nil)),
		AmplifyCachePolicyID: named("Managed-Amplify",
			cp(2, 2, 600, true, true, "all", nil, "whitelist", []string{"Authorization", "CloudFront-Viewer-Country", "Host"}, "all", nil)),
		ElementalMediaPackageCachePolicyID: named("Managed-Elemental-MediaPackage",
			cp(0, 86400, 31536000, true, false, "whitelist", []string{"aws.manifestfilter", "start", "end", "m"}, "whitelist", []string{"Origin"}, "none", nil)),
		UseOriginCacheControlHeadersID: named("UseOriginCacheControlHeaders",
			cp(0, 0, 31536000, true, true, "none", nil, "whitelist", []string{"Host", "Origin", "X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override"}, "all", nil)),
		UseOriginCacheControlHeadersQueryStringsID: named("UseOriginCacheControlHeaders-QueryStrings",
			cp(0, 0, 31536000, true, true, "all", nil, "whitelist", []string{"Host", "Origin", "X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override"}, "all", nil)),
	}
}

func orp(name, qMode string, q []string, hMode string, h []string, cMode string, c []string) *types.OriginRequestPolicyConfig {
	return &types.OriginRequestPolicyConfig{
		Name: aws.String(name),
		QueryStringsConfig: &types.OriginRequestPolicyQueryStringsConfig{
			QueryStringBehavior: types.OriginRequestPolicyQueryStringBehavior(qMode),
			QueryStrings:        &types.QueryStringNames{Quantity: aws.Int32(int32(len(q))), Items: q},
		},
		HeadersConfig: &types.OriginRequestPolicyHeadersConfig{
			HeaderBehavior: types.OriginRequestPolicyHeaderBehavior(hMode),
			Headers:        &types.Headers{Quantity: aws.Int32(int32(len(h))), Items: h},
		},
		CookiesConfig: &types.OriginRequestPolicyCookiesConfig{
			CookieBehavior: types.OriginRequestPolicyCookieBehavior(cMode),
			Cookies:        &types.CookieNames{Quantity: aws.Int32(int32(len(c))), Items: c},
		},
	}
}

// ManagedOriginRequestPolicies returns the AWS managed origin request policies by id
// (spec/cloudfront.md §2.4).
func ManagedOriginRequestPolicies() map[string]*types.OriginRequestPolicyConfig {
	return map[string]*types.OriginRequestPolicyConfig{
		AllViewerID: orp("Managed-AllViewer", "all", nil, "allViewer", nil, "all", nil),
		AllViewerAndCloudFrontHeaders2022ID: orp("Managed-AllViewerAndCloudFrontHeaders-2022-06", "all", nil,
			"allViewerAndWhitelistCloudFront", []string{"CloudFront-Viewer-Address", "CloudFront-Viewer-Country", "CloudFront-Is-Desktop-Viewer", "CloudFront-Is-Mobile-Viewer", "CloudFront-Is-Tablet-Viewer", "CloudFront-Forwarded-Proto"}, "all", nil),
		// The managed policy for Lambda function URL and API Gateway origins: everything
		// but Host, so Host stays the origin's own domain (§5.3).
		AllViewerExceptHostHeaderID: orp("Managed-AllViewerExceptHostHeader", "all", nil, "allExcept", []string{"Host"}, "all", nil),
		CORSCustomOriginID:          orp("Managed-CORS-CustomOrigin", "none", nil, "whitelist", []string{"Origin"}, "none", nil),
		CORSS3OriginID: orp("Managed-CORS-S3Origin", "none", nil, "whitelist",
			[]string{"Origin", "Access-Control-Request-Headers", "Access-Control-Request-Method"}, "none", nil),
		UserAgentRefererHeadersID: orp("Managed-UserAgentRefererHeaders", "none", nil, "whitelist", []string{"User-Agent", "Referer"}, "none", nil),
	}
}
