package edge

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
)

// Managed response headers policy ids (spec/cloudfront.md §7).
const (
	CORSAndSecurityHeadersPolicyID        = "e61eb60c-9c35-4d20-a928-2b84e02af89c"
	CORSWithPreflightID                   = "5cc3b908-e619-4b99-88e5-2cf7f45965bd"
	CORSWithPreflightAndSecurityHeadersID = "eaab4381-ed33-4a86-88ca-d9558dc6cd63"
	SecurityHeadersPolicyID               = "67f7725c-6f97-4210-82d7-5512b31e9d03"
	SimpleCORSID                          = "60669652-455b-4ae9-85a4-c4c02393f86c"
)

func securityHeaders() *types.ResponseHeadersPolicySecurityHeadersConfig {
	// Values as commonly cited for the managed SecurityHeadersPolicy, no origin
	// override; the 2023 guide collapses them (§7, marked INFER there).
	return &types.ResponseHeadersPolicySecurityHeadersConfig{
		StrictTransportSecurity: &types.ResponseHeadersPolicyStrictTransportSecurity{AccessControlMaxAgeSec: aws.Int32(31536000), Override: aws.Bool(false)},
		ContentTypeOptions:      &types.ResponseHeadersPolicyContentTypeOptions{Override: aws.Bool(false)},
		FrameOptions:            &types.ResponseHeadersPolicyFrameOptions{FrameOption: types.FrameOptionsListSameorigin, Override: aws.Bool(false)},
		ReferrerPolicy:          &types.ResponseHeadersPolicyReferrerPolicy{ReferrerPolicy: types.ReferrerPolicyListStrictOriginWhenCrossOrigin, Override: aws.Bool(false)},
		XSSProtection:           &types.ResponseHeadersPolicyXSSProtection{Protection: aws.Bool(true), ModeBlock: aws.Bool(true), Override: aws.Bool(false)},
	}
}

func simpleCORS() *types.ResponseHeadersPolicyCorsConfig {
	return &types.ResponseHeadersPolicyCorsConfig{
		AccessControlAllowOrigins:     &types.ResponseHeadersPolicyAccessControlAllowOrigins{Quantity: aws.Int32(1), Items: []string{"*"}},
		AccessControlAllowHeaders:     &types.ResponseHeadersPolicyAccessControlAllowHeaders{Quantity: aws.Int32(0)},
		AccessControlAllowMethods:     &types.ResponseHeadersPolicyAccessControlAllowMethods{Quantity: aws.Int32(1), Items: []types.ResponseHeadersPolicyAccessControlAllowMethodsValues{"ALL"}},
		AccessControlAllowCredentials: aws.Bool(false),
		OriginOverride:                aws.Bool(false),
	}
}

func preflightCORS() *types.ResponseHeadersPolicyCorsConfig {
	c := simpleCORS()
	c.AccessControlAllowHeaders = &types.ResponseHeadersPolicyAccessControlAllowHeaders{Quantity: aws.Int32(1), Items: []string{"*"}}
	c.AccessControlExposeHeaders = &types.ResponseHeadersPolicyAccessControlExposeHeaders{Quantity: aws.Int32(1), Items: []string{"*"}}
	return c
}

// ManagedResponseHeadersPolicies returns the AWS managed response headers policies by id.
func ManagedResponseHeadersPolicies() map[string]*types.ResponseHeadersPolicyConfig {
	return map[string]*types.ResponseHeadersPolicyConfig{
		SecurityHeadersPolicyID:               {Name: aws.String("Managed-SecurityHeadersPolicy"), SecurityHeadersConfig: securityHeaders()},
		SimpleCORSID:                          {Name: aws.String("Managed-SimpleCORS"), CorsConfig: simpleCORS()},
		CORSWithPreflightID:                   {Name: aws.String("Managed-CORS-With-Preflight"), CorsConfig: preflightCORS()},
		CORSAndSecurityHeadersPolicyID:        {Name: aws.String("Managed-CORS-and-SecurityHeadersPolicy"), CorsConfig: simpleCORS(), SecurityHeadersConfig: securityHeaders()},
		CORSWithPreflightAndSecurityHeadersID: {Name: aws.String("Managed-CORS-with-preflight-and-SecurityHeadersPolicy"), CorsConfig: preflightCORS(), SecurityHeadersConfig: securityHeaders()},
	}
}

// policyHeader is one header a response headers policy adds.
type policyHeader struct {
	name     string // canonical
	values   []string
	override bool
}

// headersPolicy is a compiled ResponseHeadersPolicyConfig (§7). All values are
// precomputed so applying it to a cache hit only assigns map entries.
type headersPolicy struct {
	id     string
	remove []string
	set    []policyHeader
	cors   *corsPolicy
	// serverTiming: the Server-Timing header option (enabled, sampling rate ignored:
	// every response carries it).
	serverTiming bool
}

type corsPolicy struct {
	anyOrigin    bool
	origins      []string // exact origins or "*.example.org"
	credentials  bool
	allowHeaders []string
	allowMethods []string
	expose       []string
	maxAge       []string
	override     bool
}

// headers CloudFront does not let a policy remove (§7).
var unremovable = []string{"Connection", "Content-Encoding", "Content-Length", "Expect", "Host", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "Proxy-Connection", "Trailer", "Transfer-Encoding", "Upgrade", "Via", "Warning", "X-Accel-Buffering", "X-Accel-Charset", "X-Accel-Limit-Rate", "X-Accel-Redirect", "X-Cache", "X-Forwarded-Proto", "X-Real-Ip"}

func compileHeadersPolicy(id string, c *types.ResponseHeadersPolicyConfig) (*headersPolicy, error) {
	p := &headersPolicy{id: id}
	add := func(name, value string, override *bool) {
		p.set = append(p.set, policyHeader{name: http.CanonicalHeaderKey(name), values: []string{value}, override: aws.ToBool(override)})
	}
	if rh := c.RemoveHeadersConfig; rh != nil {
		for _, r := range rh.Items {
			name := http.CanonicalHeaderKey(aws.ToString(r.Header))
			if slices.Contains(unremovable, name) {
				return nil, cfgErr("InvalidArgument", "response headers policy %s cannot remove %s", id, name)
			}
			p.remove = append(p.remove, name)
		}
	}
	if s := c.SecurityHeadersConfig; s != nil {
		if h := s.StrictTransportSecurity; h != nil {
			v := "max-age=" + strconv.Itoa(int(aws.ToInt32(h.AccessControlMaxAgeSec)))
			if aws.ToBool(h.IncludeSubdomains) {
				v += "; includeSubDomains"
			}
			if aws.ToBool(h.Preload) {
				v += "; preload"
			}
			add("Strict-Transport-Security", v, h.Override)
		}
		if h := s.ContentSecurityPolicy; h != nil {
			if len(aws.ToString(h.ContentSecurityPolicy)) > 1783 {
				return nil, cfgErr("InvalidArgument", "response headers policy %s: Content-Security-Policy longer than 1783 characters", id)
			}
			add("Content-Security-Policy", aws.ToString(h.ContentSecurityPolicy), h.Override)
		}
		if h := s.ContentTypeOptions; h != nil {
			add("X-Content-Type-Options", "nosniff", h.Override)
		}
		if h := s.FrameOptions; h != nil {
			add("X-Frame-Options", string(h.FrameOption), h.Override)
		}
		if h := s.ReferrerPolicy; h != nil {
			add("Referrer-Policy", string(h.ReferrerPolicy), h.Override)
		}
		if h := s.XSSProtection; h != nil {
			v := "0"
			if aws.ToBool(h.Protection) {
				v = "1"
				switch {
				case aws.ToBool(h.ModeBlock) && aws.ToString(h.ReportUri) != "":
					return nil, cfgErr("InvalidArgument", "response headers policy %s: X-XSS-Protection takes mode=block or report, not both", id)
				case aws.ToBool(h.ModeBlock):
					v += "; mode=block"
				case aws.ToString(h.ReportUri) != "":
					v += "; report=" + aws.ToString(h.ReportUri)
				}
			}
			add("X-Xss-Protection", v, h.Override)
		}
	}
	if ch := c.CustomHeadersConfig; ch != nil {
		if len(ch.Items) > 10 {
			return nil, cfgErr("TooManyCustomHeadersInResponseHeadersPolicy", "response headers policy %s: at most 10 custom headers", id)
		}
		for _, h := range ch.Items {
			add(aws.ToString(h.Header), aws.ToString(h.Value), h.Override)
		}
	}
	if st := c.ServerTimingHeadersConfig; st != nil {
		p.serverTiming = aws.ToBool(st.Enabled)
	}
	if cc := c.CorsConfig; cc != nil {
		cp := &corsPolicy{credentials: aws.ToBool(cc.AccessControlAllowCredentials), override: aws.ToBool(cc.OriginOverride)}
		if o := cc.AccessControlAllowOrigins; o != nil {
			for _, v := range o.Items {
				if v == "*" {
					cp.anyOrigin = true
					continue
				}
				// §7: only the leftmost label may be a wildcard.
				if strings.Contains(strings.TrimPrefix(v, "*."), "*") {
					return nil, cfgErr("InvalidArgument", "response headers policy %s: origin %q: only a leftmost *. wildcard is allowed", id, v)
				}
				cp.origins = append(cp.origins, strings.ToLower(v))
			}
		}
		if h := cc.AccessControlAllowHeaders; h != nil && len(h.Items) > 0 {
			cp.allowHeaders = []string{strings.Join(h.Items, ", ")}
		}
		if m := cc.AccessControlAllowMethods; m != nil && len(m.Items) > 0 {
			var ms []string
			for _, v := range m.Items {
				if v == "ALL" {
					ms = []string{"GET", "DELETE", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"}
					break
				}
				ms = append(ms, string(v))
			}
			cp.allowMethods = []string{strings.Join(ms, ", ")}
		}
		if x := cc.AccessControlExposeHeaders; x != nil && len(x.Items) > 0 {
			cp.expose = []string{strings.Join(x.Items, ", ")}
		}
		if cc.AccessControlMaxAgeSec != nil {
			cp.maxAge = []string{strconv.Itoa(int(*cc.AccessControlMaxAgeSec))}
		}
		p.cors = cp
	}
	for i := range p.set {
		p.set[i].values = slices.Clip(p.set[i].values)
	}
	return p, nil
}

var (
	trueValue  = []string{"true"}
	starValue  = []string{"*"}
	varyOrigin = "Origin"
)

// apply adds the policy's headers to h for a response to r (§7): removals first, then
// additions, each honouring its override flag; CORS headers only for requests with an
// Origin header, preflight headers only for OPTIONS with Access-Control-Request-Method.
func (p *headersPolicy) apply(h http.Header, r *http.Request) {
	for _, name := range p.remove {
		delete(h, name)
		if name == "Server" {
			h["Server"] = serverCloudFront // §7: removing Server makes CloudFront add its own
		}
	}
	for i := range p.set {
		ph := &p.set[i]
		if ph.override || len(h[ph.name]) == 0 {
			h[ph.name] = ph.values
		}
	}
	if p.cors != nil {
		p.cors.apply(h, r)
	}
}

func (c *corsPolicy) apply(h http.Header, r *http.Request) {
	origin := r.Header.Get("Origin")
	if origin == "" || !c.allows(origin) {
		return
	}
	set := func(name string, v []string) {
		if len(v) > 0 && (c.override || len(h[name]) == 0) {
			h[name] = v
		}
	}
	if c.anyOrigin && !c.credentials {
		set("Access-Control-Allow-Origin", starValue)
	} else {
		set("Access-Control-Allow-Origin", []string{origin})
		if !slices.Contains(h.Values("Vary"), varyOrigin) {
			h["Vary"] = append(slices.Clip(h["Vary"]), varyOrigin)
		}
	}
	if c.credentials {
		set("Access-Control-Allow-Credentials", trueValue)
	}
	set("Access-Control-Expose-Headers", c.expose)
	if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
		set("Access-Control-Allow-Methods", c.allowMethods)
		set("Access-Control-Allow-Headers", c.allowHeaders)
		set("Access-Control-Max-Age", c.maxAge)
	}
}

func (c *corsPolicy) allows(origin string) bool {
	if c.anyOrigin {
		return true
	}
	o := strings.ToLower(origin)
	for _, a := range c.origins {
		if a == o {
			return true
		}
		if rest, ok := strings.CutPrefix(a, "*."); ok {
			// "*.example.org" matches "https://a.example.org" (scheme included in Origin).
			if _, host, ok := strings.Cut(o, "://"); ok && strings.HasSuffix(host, "."+rest) {
				return true
			}
		}
	}
	return false
}

var serverCloudFront = []string{"CloudFront"}

// hopByHop are the headers that describe one connection, not the message
// (RFC 9110 §7.6.1), plus those CloudFront removes from origin responses (§2.8).
var hopByHop = map[string]bool{
	"Connection": true, "Keep-Alive": true, "Proxy-Connection": true, "Proxy-Authenticate": true,
	"Proxy-Authorization": true, "Te": true, "Trailer": true, "Transfer-Encoding": true, "Upgrade": true,
}

// viewerResponseHeader turns an origin response header into the one viewers get:
// hop-by-hop headers and those named in Connection removed, Set-Cookie only when the
// behaviour forwards cookies, Vary reduced to what CloudFront passes (§2.8), and every
// value slice clipped so later appends can never write into a shared cached slice.
func viewerResponseHeader(src http.Header, b *behaviour) http.Header {
	h := make(http.Header, len(src)+6)
	drop := map[string]bool{}
	for _, v := range src.Values("Connection") {
		for _, f := range strings.Split(v, ",") {
			if f = strings.TrimSpace(f); f != "" {
				drop[http.CanonicalHeaderKey(f)] = true
			}
		}
	}
	for k, v := range src {
		if hopByHop[k] || drop[k] {
			continue
		}
		if k == "Set-Cookie" && !b.forwardCookies {
			continue
		}
		h[k] = slices.Clip(slices.Clone(v))
	}
	if vary := src.Values("Vary"); len(vary) > 0 {
		var keep []string
		for _, v := range vary {
			for _, f := range strings.Split(v, ",") {
				f = strings.TrimSpace(f)
				if f == "" {
					continue
				}
				lf := strings.ToLower(f)
				if lf == "accept-encoding" || lf == "user-agent" || (lf == "cookie" && b.forwardCookies) || b.forwardsHeader(lf) {
					keep = append(keep, f)
				}
			}
		}
		if len(keep) > 0 {
			h["Vary"] = []string{strings.Join(keep, ",")}
		} else {
			delete(h, "Vary")
		}
	}
	return h
}

// forwardsHeader reports whether the behaviour sends the viewer's header (lower case) to
// the origin, either in the cache key or through the origin request policy.
//
// Authorization goes to the origin only when it is in the cache key, or when caching
// is off: "The header must be a part of the cache key to prevent the cache from
// satisfying unauthorized requests", and "If caching is turned off, then you can use
// AllViewer and AllViewerExceptHostHeader origin request policies to forward an
// authorization header" (AWS Knowledge Center, cloudfront-authorization-header). So
// an origin request policy with all viewer headers does not forward it on a cached
// behaviour, and a response is never cached under a key without the Authorization
// that produced it.
func (b *behaviour) forwardsHeader(name string) bool {
	if b.cache.headers.includes(name) {
		return true
	}
	if name == "authorization" && !b.cache.disabled() {
		return false
	}
	return b.originReq != nil && b.originReq.headers.includes(name)
}
