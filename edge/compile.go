package edge

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
)

// ConfigError is a distribution config the edge refuses. Code is the CloudFront API
// error code the control API should answer with (InvalidArgument, InconsistentQuantities,
// NoSuchOrigin, NoSuchCachePolicy, NoSuchOriginRequestPolicy,
// NoSuchResponseHeadersPolicy, NoSuchFunctionExists, NoSuchOriginAccessControl,
// InvalidDefaultRootObject, InvalidErrorCode, InvalidResponseCode,
// InvalidOriginReadTimeout, InvalidRequiredProtocol...).
type ConfigError struct {
	Code    string
	Message string
}

func (e *ConfigError) Error() string { return e.Code + ": " + e.Message }

func cfgErr(code, format string, args ...any) *ConfigError {
	return &ConfigError{Code: code, Message: fmt.Sprintf(format, args...)}
}

// compiled is a validated distribution config turned into lookup structures. It is
// immutable once built; Apply swaps it atomically.
type compiled struct {
	src         *types.DistributionConfig // deep copy owned by the edge
	behaviours  []*behaviour              // in order, default last
	defaultRoot string                    // "" or "/index.html"
	errorPages  map[int]*errorResponse
	origins     map[string]*originServer
	enabled     bool
}

// behaviour is a compiled cache behaviour.
type behaviour struct {
	pattern        string // "*" for the default behaviour
	target         *target
	viewerProtocol types.ViewerProtocolPolicy
	allowed        methodSet
	cached         methodSet
	cache          *cachePolicy
	originReq      *originRequestPolicy // nil: forward only the cache key
	headers        *headersPolicy       // nil: none
	compress       bool
	viewerRequest  *Function
	viewerResponse *Function
	// forwardCookies: Set-Cookie reaches the viewer only when cookies are forwarded (§2.8).
	forwardCookies bool
}

// target is what a behaviour's TargetOriginId names: one origin, or an origin group.
type target struct {
	id       string
	members  []*originServer // primary first
	failover map[int]bool    // nil for a single origin
}

// errorResponse is a compiled CustomErrorResponse (§3.1).
type errorResponse struct {
	code     int
	respCode int // 0: keep the origin's code
	pagePath string
	minTTL   time.Duration
}

// methodSet is a bit set of HTTP methods.
type methodSet uint8

var methodBits = map[string]methodSet{"GET": 1, "HEAD": 2, "OPTIONS": 4, "PUT": 8, "PATCH": 16, "POST": 32, "DELETE": 64}

func (m methodSet) has(method string) bool { return m&methodBits[method] != 0 }

func intIn(v int32, set ...int32) bool { return slices.Contains(set, v) }

// compile validates cfg and builds its runtime form. Policies, functions and OACs are
// resolved through opts and the managed tables.
func (e *Edge) compile(cfg *types.DistributionConfig) (*compiled, error) {
	if cfg == nil {
		return nil, cfgErr("MissingBody", "distribution config is nil")
	}
	c := &compiled{src: deepCopy(cfg), origins: map[string]*originServer{}, errorPages: map[int]*errorResponse{}, enabled: aws.ToBool(cfg.Enabled) || cfg.Enabled == nil}
	if cfg.Origins == nil || len(cfg.Origins.Items) == 0 {
		return nil, cfgErr("InvalidArgument", "the distribution needs at least one origin")
	}
	if err := quantity("Origins", cfg.Origins.Quantity, len(cfg.Origins.Items)); err != nil {
		return nil, err
	}
	if len(cfg.Origins.Items) > 25 {
		return nil, cfgErr("TooManyOrigins", "at most 25 origins per distribution")
	}
	targets := map[string]*target{}
	for i := range cfg.Origins.Items {
		o, err := e.compileOrigin(&cfg.Origins.Items[i])
		if err != nil {
			return nil, err
		}
		if _, dup := c.origins[o.id]; dup {
			return nil, cfgErr("InvalidArgument", "duplicate origin id %q", o.id)
		}
		c.origins[o.id] = o
		targets[o.id] = &target{id: o.id, members: []*originServer{o}}
	}
	if g := cfg.OriginGroups; g != nil {
		if err := quantity("OriginGroups", g.Quantity, len(g.Items)); err != nil {
			return nil, err
		}
		if len(g.Items) > 10 {
			return nil, cfgErr("TooManyOriginGroupsPerDistribution", "at most 10 origin groups per distribution")
		}
		for _, og := range g.Items {
			t, err := compileGroup(og, c.origins)
			if err != nil {
				return nil, err
			}
			if _, dup := targets[t.id]; dup {
				return nil, cfgErr("InvalidArgument", "origin group id %q is already used by an origin or group", t.id)
			}
			targets[t.id] = t
		}
	}
	if cfg.DefaultCacheBehavior == nil {
		return nil, cfgErr("InvalidArgument", "DefaultCacheBehavior is required")
	}
	if cfg.CacheBehaviors != nil {
		if err := quantity("CacheBehaviors", cfg.CacheBehaviors.Quantity, len(cfg.CacheBehaviors.Items)); err != nil {
			return nil, err
		}
		if len(cfg.CacheBehaviors.Items) > 25 {
			return nil, cfgErr("TooManyCacheBehaviors", "at most 25 cache behaviours per distribution")
		}
		seen := map[string]bool{}
		for _, cb := range cfg.CacheBehaviors.Items {
			p := aws.ToString(cb.PathPattern)
			if !validPathPattern(p) {
				return nil, cfgErr("InvalidArgument", "invalid PathPattern %q", p)
			}
			if seen[strings.TrimPrefix(p, "/")] {
				return nil, cfgErr("InvalidArgument", "duplicate PathPattern %q", p)
			}
			seen[strings.TrimPrefix(p, "/")] = true
			b, err := e.compileBehaviour(behaviourFields{
				pattern: p, target: cb.TargetOriginId, vpp: cb.ViewerProtocolPolicy, allowed: cb.AllowedMethods,
				cachePolicy: cb.CachePolicyId, orp: cb.OriginRequestPolicyId, rhp: cb.ResponseHeadersPolicyId,
				compress: cb.Compress, functions: cb.FunctionAssociations, lambda: cb.LambdaFunctionAssociations,
				fv: cb.ForwardedValues, minTTL: cb.MinTTL, defTTL: cb.DefaultTTL, maxTTL: cb.MaxTTL,
			}, targets)
			if err != nil {
				return nil, err
			}
			c.behaviours = append(c.behaviours, b)
		}
	}
	d := cfg.DefaultCacheBehavior
	b, err := e.compileBehaviour(behaviourFields{
		pattern: "*", target: d.TargetOriginId, vpp: d.ViewerProtocolPolicy, allowed: d.AllowedMethods,
		cachePolicy: d.CachePolicyId, orp: d.OriginRequestPolicyId, rhp: d.ResponseHeadersPolicyId,
		compress: d.Compress, functions: d.FunctionAssociations, lambda: d.LambdaFunctionAssociations,
		fv: d.ForwardedValues, minTTL: d.MinTTL, defTTL: d.DefaultTTL, maxTTL: d.MaxTTL,
	}, targets)
	if err != nil {
		return nil, err
	}
	c.behaviours = append(c.behaviours, b)

	if root := aws.ToString(cfg.DefaultRootObject); root != "" {
		// §2.2: an object name or path that must not start with '/'.
		if strings.HasPrefix(root, "/") || len(root) > 255 || strings.ContainsAny(root, " ?#") {
			return nil, cfgErr("InvalidDefaultRootObject", "DefaultRootObject %q must be an object name that does not start with /", root)
		}
		c.defaultRoot = "/" + root
	}
	if cer := cfg.CustomErrorResponses; cer != nil {
		if err := quantity("CustomErrorResponses", cer.Quantity, len(cer.Items)); err != nil {
			return nil, err
		}
		for _, r := range cer.Items {
			er, err := compileErrorResponse(r)
			if err != nil {
				return nil, err
			}
			if _, dup := c.errorPages[er.code]; dup {
				return nil, cfgErr("InvalidArgument", "duplicate custom error response for %d", er.code)
			}
			c.errorPages[er.code] = er
		}
	}
	return c, nil
}

func quantity(what string, q *int32, n int) error {
	if q == nil || int(*q) != n {
		return cfgErr("InconsistentQuantities", "%s: Quantity %v does not match %d items", what, aws.ToInt32(q), n)
	}
	return nil
}

func (e *Edge) compileOrigin(o *types.Origin) (*originServer, error) {
	id := aws.ToString(o.Id)
	domain := aws.ToString(o.DomainName)
	if id == "" || domain == "" {
		return nil, cfgErr("InvalidArgument", "every origin needs an Id and a DomainName")
	}
	s := &originServer{id: id, domain: strings.ToLower(domain), attempts: 3}
	sec := func(n int32) time.Duration { return time.Duration(n) * e.unit }
	s.connectTO = sec(10)
	s.readTO = sec(30)
	keepalive := sec(5)
	if p := aws.ToString(o.OriginPath); p != "" {
		if !strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/") {
			return nil, cfgErr("InvalidArgument", "origin %s: OriginPath must start with / and not end with /", id)
		}
		s.path = p
	}
	if o.ConnectionAttempts != nil {
		if !intIn(*o.ConnectionAttempts, 1, 2, 3) {
			return nil, cfgErr("InvalidArgument", "origin %s: ConnectionAttempts must be 1-3", id)
		}
		s.attempts = int(*o.ConnectionAttempts)
	}
	if o.ConnectionTimeout != nil {
		if *o.ConnectionTimeout < 1 || *o.ConnectionTimeout > 10 {
			return nil, cfgErr("InvalidArgument", "origin %s: ConnectionTimeout must be 1-10", id)
		}
		s.connectTO = sec(*o.ConnectionTimeout)
	}
	readTO := func(v *int32) error {
		if v == nil {
			return nil
		}
		// §1.4: 1–120 s in the 2026 SDK (the 2023 guide said 1–60).
		if *v < 1 || *v > 120 {
			return cfgErr("InvalidOriginReadTimeout", "origin %s: OriginReadTimeout must be 1-120", id)
		}
		s.readTO = sec(*v)
		return nil
	}
	scheme := "https"
	switch {
	case o.S3OriginConfig != nil && o.CustomOriginConfig != nil:
		return nil, cfgErr("InvalidArgument", "origin %s: S3OriginConfig and CustomOriginConfig are exclusive", id)
	case o.S3OriginConfig != nil:
		s.s3 = true
		if err := readTO(o.S3OriginConfig.OriginReadTimeout); err != nil {
			return nil, err
		}
	case o.CustomOriginConfig != nil:
		cc := o.CustomOriginConfig
		if err := readTO(cc.OriginReadTimeout); err != nil {
			return nil, err
		}
		if cc.OriginKeepaliveTimeout != nil {
			if *cc.OriginKeepaliveTimeout < 1 || *cc.OriginKeepaliveTimeout > 120 {
				return nil, cfgErr("InvalidArgument", "origin %s: OriginKeepaliveTimeout must be 1-120", id)
			}
			keepalive = sec(*cc.OriginKeepaliveTimeout)
		}
		switch cc.OriginProtocolPolicy {
		case types.OriginProtocolPolicyHttpOnly:
			scheme = "http"
			if cc.HTTPPort != nil && *cc.HTTPPort != 80 {
				s.port = strconv.Itoa(int(*cc.HTTPPort))
			}
		case types.OriginProtocolPolicyHttpsOnly, types.OriginProtocolPolicyMatchViewer:
			if cc.HTTPSPort != nil && *cc.HTTPSPort != 443 {
				s.port = strconv.Itoa(int(*cc.HTTPSPort))
			}
		default:
			return nil, cfgErr("InvalidArgument", "origin %s: OriginProtocolPolicy %q is not valid", id, cc.OriginProtocolPolicy)
		}
	case o.VpcOriginConfig != nil:
		return nil, cfgErr("InvalidArgument", "origin %s: VPC origins are not supported by the local edge", id)
	default:
		return nil, cfgErr("InvalidArgument", "origin %s: one of S3OriginConfig or CustomOriginConfig is required", id)
	}
	if o.ResponseCompletionTimeout != nil {
		v := sec(*o.ResponseCompletionTimeout)
		if v < s.readTO {
			return nil, cfgErr("InvalidArgument", "origin %s: ResponseCompletionTimeout must be at least OriginReadTimeout", id)
		}
		s.completeTO = v
	}
	if e.opts.OriginScheme != "" {
		scheme = e.opts.OriginScheme
		s.port = ""
	}
	s.scheme = scheme
	if ch := o.CustomHeaders; ch != nil {
		if err := quantity("CustomHeaders", ch.Quantity, len(ch.Items)); err != nil {
			return nil, err
		}
		for _, h := range ch.Items {
			s.headers = append(s.headers, [2]string{aws.ToString(h.HeaderName), aws.ToString(h.HeaderValue)})
		}
	}
	if oacID := aws.ToString(o.OriginAccessControlId); oacID != "" {
		var cfg *types.OriginAccessControlConfig
		if c, ok := e.opts.OriginAccessControls[oacID]; ok {
			cfg = &c
		}
		signer, ok := newOACSigner(s.domain, cfg)
		if !ok {
			return nil, cfgErr("IllegalOriginAccessConfiguration", "origin %s: cannot tell the signing service and region of %q for origin access control %s", id, domain, oacID)
		}
		s.oac = signer
	}
	s.transport = e.newTransport(s, keepalive)
	return s, nil
}

// validFailoverCodes are the statuses an origin group may fail over on (§1.2).
var validFailoverCodes = map[int32]bool{400: true, 403: true, 404: true, 416: true, 500: true, 502: true, 503: true, 504: true}

func compileGroup(g types.OriginGroup, origins map[string]*originServer) (*target, error) {
	id := aws.ToString(g.Id)
	if id == "" {
		return nil, cfgErr("InvalidArgument", "origin group without Id")
	}
	if g.Members == nil || len(g.Members.Items) != 2 {
		return nil, cfgErr("InvalidArgument", "origin group %s must have exactly two members", id)
	}
	if err := quantity("OriginGroup "+id+" Members", g.Members.Quantity, len(g.Members.Items)); err != nil {
		return nil, err
	}
	t := &target{id: id, failover: map[int]bool{}}
	for _, m := range g.Members.Items {
		o, ok := origins[aws.ToString(m.OriginId)]
		if !ok {
			return nil, cfgErr("NoSuchOrigin", "origin group %s names unknown origin %q", id, aws.ToString(m.OriginId))
		}
		t.members = append(t.members, o)
	}
	if t.members[0] == t.members[1] {
		return nil, cfgErr("InvalidArgument", "origin group %s lists the same origin twice", id)
	}
	fc := g.FailoverCriteria
	if fc == nil || fc.StatusCodes == nil || len(fc.StatusCodes.Items) == 0 {
		return nil, cfgErr("InvalidArgument", "origin group %s needs FailoverCriteria.StatusCodes", id)
	}
	if err := quantity("OriginGroup "+id+" StatusCodes", fc.StatusCodes.Quantity, len(fc.StatusCodes.Items)); err != nil {
		return nil, err
	}
	for _, code := range fc.StatusCodes.Items {
		if !validFailoverCodes[code] {
			return nil, cfgErr("InvalidArgument", "origin group %s: %d is not a valid failover status code (400, 403, 404, 416, 500, 502, 503, 504)", id, code)
		}
		t.failover[int(code)] = true
	}
	switch g.SelectionCriteria {
	case "", types.OriginGroupSelectionCriteriaDefault, types.OriginGroupSelectionCriteriaMediaQualityBased:
		// media-quality-based is accepted and treated as default (§1.1).
	default:
		return nil, cfgErr("InvalidArgument", "origin group %s: unknown SelectionCriteria %q", id, g.SelectionCriteria)
	}
	return t, nil
}

type behaviourFields struct {
	pattern                string
	target                 *string
	vpp                    types.ViewerProtocolPolicy
	allowed                *types.AllowedMethods
	cachePolicy, orp, rhp  *string
	compress               *bool
	functions              *types.FunctionAssociations
	lambda                 *types.LambdaFunctionAssociations
	fv                     *types.ForwardedValues
	minTTL, defTTL, maxTTL *int64
}

func (e *Edge) compileBehaviour(f behaviourFields, targets map[string]*target) (*behaviour, error) {
	if l := f.lambda; l != nil && (aws.ToInt32(l.Quantity) > 0 || len(l.Items) > 0) {
		// Serving the behaviour without them would answer what CloudFront never would.
		return nil, cfgErr("InvalidArgument", "behaviour %q: Lambda@Edge associations are not run by the local edge (CloudFront Functions are); remove them to serve the distribution locally", f.pattern)
	}
	b := &behaviour{pattern: f.pattern, compress: aws.ToBool(f.compress)}
	t, ok := targets[aws.ToString(f.target)]
	if !ok {
		return nil, cfgErr("NoSuchOrigin", "behaviour %q targets unknown origin or group %q", f.pattern, aws.ToString(f.target))
	}
	b.target = t
	switch f.vpp {
	case types.ViewerProtocolPolicyAllowAll, types.ViewerProtocolPolicyHttpsOnly, types.ViewerProtocolPolicyRedirectToHttps:
		b.viewerProtocol = f.vpp
	default:
		return nil, cfgErr("InvalidArgument", "behaviour %q: ViewerProtocolPolicy %q is not valid", f.pattern, f.vpp)
	}
	b.allowed, b.cached = methodBits["GET"]|methodBits["HEAD"], methodBits["GET"]|methodBits["HEAD"]
	if am := f.allowed; am != nil {
		if err := quantity("AllowedMethods", am.Quantity, len(am.Items)); err != nil {
			return nil, err
		}
		set, err := methodsOf(am.Items, f.pattern)
		if err != nil {
			return nil, err
		}
		// §2.3: {GET,HEAD}, {GET,HEAD,OPTIONS} or all seven.
		if set != 3 && set != 7 && set != 127 {
			return nil, cfgErr("InvalidArgument", "behaviour %q: AllowedMethods must be GET,HEAD; GET,HEAD,OPTIONS; or all seven", f.pattern)
		}
		b.allowed = set
		if cm := am.CachedMethods; cm != nil {
			if err := quantity("CachedMethods", cm.Quantity, len(cm.Items)); err != nil {
				return nil, err
			}
			cs, err := methodsOf(cm.Items, f.pattern)
			if err != nil {
				return nil, err
			}
			if (cs != 3 && cs != 7) || cs&^set != 0 {
				return nil, cfgErr("InvalidArgument", "behaviour %q: CachedMethods must be GET,HEAD or GET,HEAD,OPTIONS and allowed", f.pattern)
			}
			b.cached = cs
		}
	}
	switch {
	case aws.ToString(f.cachePolicy) != "":
		id := aws.ToString(f.cachePolicy)
		cfg, ok := e.cachePolicyConfig(id)
		if !ok {
			return nil, cfgErr("NoSuchCachePolicy", "behaviour %q: unknown cache policy %q", f.pattern, id)
		}
		p, err := compileCachePolicy(id, cfg)
		if err != nil {
			return nil, cfgErr("InvalidArgument", "%v", err)
		}
		b.cache = p
		b.forwardCookies = !p.cookies.none()
	case f.fv != nil:
		// Legacy cache settings (no cache policy): TTLs on the behaviour and
		// ForwardedValues both in the key and forwarded.
		b.cache, b.originReq = legacyPolicies(f)
		b.forwardCookies = !b.cache.cookies.none()
	default:
		return nil, cfgErr("InvalidArgument", "behaviour %q: CachePolicyId or ForwardedValues is required", f.pattern)
	}
	if id := aws.ToString(f.orp); id != "" {
		cfg, ok := e.originRequestPolicyConfig(id)
		if !ok {
			return nil, cfgErr("NoSuchOriginRequestPolicy", "behaviour %q: unknown origin request policy %q", f.pattern, id)
		}
		orp, err := compileOriginRequestPolicy(id, cfg)
		if err != nil {
			return nil, err
		}
		b.originReq = orp
		if !b.originReq.cookies.none() {
			b.forwardCookies = true
		}
	}
	if id := aws.ToString(f.rhp); id != "" {
		cfg, ok := e.responseHeadersPolicyConfig(id)
		if !ok {
			return nil, cfgErr("NoSuchResponseHeadersPolicy", "behaviour %q: unknown response headers policy %q", f.pattern, id)
		}
		hp, err := compileHeadersPolicy(id, cfg)
		if err != nil {
			return nil, err
		}
		b.headers = hp
	}
	if fa := f.functions; fa != nil {
		if err := quantity("FunctionAssociations", fa.Quantity, len(fa.Items)); err != nil {
			return nil, err
		}
		for _, a := range fa.Items {
			name, err := functionNameFromARN(aws.ToString(a.FunctionARN))
			if err != nil {
				return nil, cfgErr("InvalidFunctionAssociation", "behaviour %q: %v", f.pattern, err)
			}
			fn, ok := e.functions[name]
			if !ok {
				return nil, cfgErr("NoSuchFunctionExists", "behaviour %q: function %q is not known to the edge", f.pattern, name)
			}
			slot := &b.viewerRequest
			switch a.EventType {
			case types.EventTypeViewerRequest:
			case types.EventTypeViewerResponse:
				slot = &b.viewerResponse
			default:
				return nil, cfgErr("InvalidFunctionAssociation", "behaviour %q: CloudFront Functions run on viewer-request or viewer-response, not %q", f.pattern, a.EventType)
			}
			if *slot != nil {
				return nil, cfgErr("InvalidFunctionAssociation", "behaviour %q: two functions for %s", f.pattern, a.EventType)
			}
			if fn.RewriteURI == nil && fn.Handle == nil {
				// Compile JS now so a broken function fails the config, not every request.
				if _, err := e.jsFor(fn); err != nil {
					return nil, cfgErr("InvalidArgument", "behaviour %q: %v", f.pattern, err)
				}
			}
			*slot = fn
		}
	}
	return b, nil
}

func methodsOf(items []types.Method, pattern string) (methodSet, error) {
	var set methodSet
	for _, m := range items {
		bit, ok := methodBits[string(m)]
		if !ok {
			return 0, cfgErr("InvalidArgument", "behaviour %q: unknown method %q", pattern, m)
		}
		set |= bit
	}
	return set, nil
}

func legacyPolicies(f behaviourFields) (*cachePolicy, *originRequestPolicy) {
	p := &cachePolicy{id: "legacy", minTTL: aws.ToInt64(f.minTTL), defTTL: 86400, maxTTL: 31536000}
	if f.defTTL != nil {
		p.defTTL = *f.defTTL
	}
	if f.maxTTL != nil {
		p.maxTTL = *f.maxTTL
	}
	p.query, p.headers, p.cookies = nameSet{mode: "none"}, nameSet{mode: "none"}, nameSet{mode: "none"}
	fv := f.fv
	if aws.ToBool(fv.QueryString) {
		p.query.mode = "all"
		if k := fv.QueryStringCacheKeys; k != nil && len(k.Items) > 0 {
			p.query = newNameSet("whitelist", k.Items, false)
		}
	}
	if fv.Headers != nil && len(fv.Headers.Items) > 0 {
		if slices.Contains(fv.Headers.Items, "*") {
			p.headers.mode = "all"
		} else {
			p.headers = newNameSet("whitelist", fv.Headers.Items, true)
		}
	}
	if ck := fv.Cookies; ck != nil {
		var names []string
		if ck.WhitelistedNames != nil {
			names = ck.WhitelistedNames.Items
		}
		p.cookies = newNameSet(string(ck.Forward), names, false)
		if p.cookies.mode == "none" || p.cookies.mode == "" {
			p.cookies = nameSet{mode: "none"}
		}
	}
	return p, nil
}

func compileErrorResponse(r types.CustomErrorResponse) (*errorResponse, error) {
	code := int(aws.ToInt32(r.ErrorCode))
	// §3.1
	if !slices.Contains([]int{400, 403, 404, 405, 414, 416, 500, 501, 502, 503, 504}, code) {
		return nil, cfgErr("InvalidErrorCode", "custom error response for %d: not a code CloudFront can customise", code)
	}
	er := &errorResponse{code: code, minTTL: 10 * time.Second}
	if r.ErrorCachingMinTTL != nil {
		if *r.ErrorCachingMinTTL < 0 || *r.ErrorCachingMinTTL > 31536000 {
			return nil, cfgErr("InvalidArgument", "custom error response for %d: ErrorCachingMinTTL out of range", code)
		}
		er.minTTL = time.Duration(*r.ErrorCachingMinTTL) * time.Second
	}
	rc, page := aws.ToString(r.ResponseCode), aws.ToString(r.ResponsePagePath)
	if (rc == "") != (page == "") {
		return nil, cfgErr("InvalidArgument", "custom error response for %d: ResponseCode and ResponsePagePath go together", code)
	}
	if rc != "" {
		n, err := strconv.Atoi(rc)
		if err != nil || !slices.Contains([]int{200, 400, 403, 404, 405, 414, 416, 500, 501, 502, 503, 504}, n) {
			return nil, cfgErr("InvalidResponseCode", "custom error response for %d: invalid ResponseCode %q", code, rc)
		}
		if !strings.HasPrefix(page, "/") {
			return nil, cfgErr("InvalidArgument", "custom error response for %d: ResponsePagePath must start with /", code)
		}
		er.respCode, er.pagePath = n, page
	}
	return er, nil
}

// deepCopy returns a deep copy of a value made of pointers, structs, slices, maps and
// scalars, like the SDK's config types. Unexported fields (smithy's serde markers) are
// left zero.
func deepCopy[T any](v *T) *T {
	if v == nil {
		return nil
	}
	out := copyValue(reflect.ValueOf(v))
	return out.Interface().(*T)
}

func copyValue(v reflect.Value) reflect.Value {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return reflect.Zero(v.Type())
		}
		p := reflect.New(v.Type().Elem())
		p.Elem().Set(copyValue(v.Elem()))
		return p
	case reflect.Struct:
		s := reflect.New(v.Type()).Elem()
		for i := 0; i < v.NumField(); i++ {
			if !v.Type().Field(i).IsExported() {
				continue
			}
			s.Field(i).Set(copyValue(v.Field(i)))
		}
		return s
	case reflect.Slice:
		if v.IsNil() {
			return reflect.Zero(v.Type())
		}
		s := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		for i := 0; i < v.Len(); i++ {
			s.Index(i).Set(copyValue(v.Index(i)))
		}
		return s
	case reflect.Map:
		if v.IsNil() {
			return reflect.Zero(v.Type())
		}
		m := reflect.MakeMapWithSize(v.Type(), v.Len())
		iter := v.MapRange()
		for iter.Next() {
			m.SetMapIndex(copyValue(iter.Key()), copyValue(iter.Value()))
		}
		return m
	case reflect.Interface:
		if v.IsNil() {
			return reflect.Zero(v.Type())
		}
		c := copyValue(v.Elem())
		out := reflect.New(v.Type()).Elem()
		out.Set(c)
		return out
	}
	return v
}
