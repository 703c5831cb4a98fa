package edge

import (
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
)

// compiled is a validated distribution config turned into lookup structures. It is
// immutable once built; Apply swaps it atomically.
type compiled struct {
	src         *types.DistributionConfig // deep copy owned by the edge
	behaviours  []*behaviour              // in order, default last
	defaultRoot string                    // "" or "/index.html"
	errorPages  map[int]*errorResponse
	origins     map[string]*originServer
	enabled     bool
	geo         *geoRestriction // nil: none
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
	// viewerHeaders are the CloudFront headers its policies name (viewerheaders.go).
	viewerHeaders []string
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

// compile validates cfg with CloudFront's rules (validate.go) and builds its runtime
// form. Policies, functions and OACs are resolved through opts and the managed tables.
func (e *Edge) compile(cfg *types.DistributionConfig) (*compiled, error) {
	if err := Validate(cfg, e.resources()); err != nil {
		return nil, err
	}
	c := &compiled{src: deepCopy(cfg), origins: map[string]*originServer{}, errorPages: map[int]*errorResponse{}, enabled: aws.ToBool(cfg.Enabled)}
	targets := map[string]*target{}
	for i := range cfg.Origins.Items {
		o, err := e.compileOrigin(&cfg.Origins.Items[i])
		if err != nil {
			return nil, err
		}
		c.origins[o.id] = o
		targets[o.id] = &target{id: o.id, members: []*originServer{o}}
	}
	if g := cfg.OriginGroups; g != nil {
		for _, og := range g.Items {
			t := compileGroup(og, c.origins)
			targets[t.id] = t
		}
	}
	if cfg.CacheBehaviors != nil {
		for i := range cfg.CacheBehaviors.Items {
			b, err := e.compileBehaviour(cacheFields(&cfg.CacheBehaviors.Items[i]), targets)
			if err != nil {
				return nil, err
			}
			c.behaviours = append(c.behaviours, b)
		}
	}
	b, err := e.compileBehaviour(defaultFields(cfg.DefaultCacheBehavior), targets)
	if err != nil {
		return nil, err
	}
	c.behaviours = append(c.behaviours, b)

	c.geo = compileGeoRestriction(cfg.Restrictions)
	if root := aws.ToString(cfg.DefaultRootObject); root != "" {
		c.defaultRoot = "/" + root
	}
	if cer := cfg.CustomErrorResponses; cer != nil {
		for _, r := range cer.Items {
			er := compileErrorResponse(r)
			c.errorPages[er.code] = er
		}
	}
	return c, nil
}

// resources is what the edge knows beyond a config: its policies (custom and managed),
// origin access controls and functions.
func (e *Edge) resources() Resources {
	return Resources{
		CachePolicy:         e.cachePolicyConfig,
		OriginRequestPolicy: e.originRequestPolicyConfig,
		ResponseHeadersPolicy: func(id string) bool {
			_, ok := e.responseHeadersPolicyConfig(id)
			return ok
		},
		OriginAccessControl: e.originAccessControl,
		Functions:           edgeFunctions{e},
	}
}

// originAccessControl describes an OAC the edge was given; an OAC it was not told about
// is taken to be of the type its origin needs (the local world names OACs by id only), so
// only the given ones are checked against their origins.
func (e *Edge) originAccessControl(id string) (*types.OriginAccessControlConfig, bool) {
	if c, ok := e.opts.OriginAccessControls[id]; ok {
		return &c, true
	}
	return nil, true
}

// edgeFunctions is the edge's function registry as the validator sees it: every function
// the edge has is published (built in, given in Options.Functions, or handed over by
// PublishFunction through PutFunction: it runs the LIVE code). Callers hold applyMu.
type edgeFunctions struct{ e *Edge }

func (f edgeFunctions) LookupFunction(arn string) (FunctionStatus, bool) {
	name, err := functionNameFromARN(arn)
	if err != nil {
		return FunctionStatus{}, false
	}
	fn, ok := f.e.functions[name]
	if !ok {
		return FunctionStatus{}, false
	}
	return FunctionStatus{Runtime: fn.Runtime, Live: true}, true
}

// compileOrigin builds an origin server from a validated origin.
func (e *Edge) compileOrigin(o *types.Origin) (*originServer, error) {
	id := aws.ToString(o.Id)
	domain := aws.ToString(o.DomainName)
	s := &originServer{id: id, domain: strings.ToLower(domain), attempts: 3, path: aws.ToString(o.OriginPath)}
	sec := func(n int32) time.Duration { return time.Duration(n) * e.unit }
	s.connectTO = sec(10)
	s.readTO = sec(30)
	keepalive := sec(5)
	if o.ConnectionAttempts != nil {
		s.attempts = int(*o.ConnectionAttempts)
	}
	if o.ConnectionTimeout != nil {
		s.connectTO = sec(*o.ConnectionTimeout)
	}
	scheme := "https"
	switch {
	case o.S3OriginConfig != nil:
		s.s3 = true
		if v := o.S3OriginConfig.OriginReadTimeout; v != nil {
			s.readTO = sec(*v)
		}
	case o.CustomOriginConfig != nil:
		cc := o.CustomOriginConfig
		if v := cc.OriginReadTimeout; v != nil {
			s.readTO = sec(*v)
		}
		if v := cc.OriginKeepaliveTimeout; v != nil {
			keepalive = sec(*v)
		}
		switch cc.OriginProtocolPolicy {
		case types.OriginProtocolPolicyHttpOnly:
			scheme = "http"
			if cc.HTTPPort != nil && *cc.HTTPPort != 80 {
				s.port = strconv.Itoa(int(*cc.HTTPPort))
			}
		default:
			if cc.HTTPSPort != nil && *cc.HTTPSPort != 443 {
				s.port = strconv.Itoa(int(*cc.HTTPSPort))
			}
		}
	default:
		// VpcOriginConfig is valid on CloudFront; the local edge cannot reach a VPC.
		return nil, cfgErr("InvalidArgument", "origin %s: VPC origins are not supported by the local edge", id)
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

// compileGroup builds a validated origin group: two members, primary first.
func compileGroup(g types.OriginGroup, origins map[string]*originServer) *target {
	t := &target{id: aws.ToString(g.Id), failover: map[int]bool{}}
	for _, m := range g.Members.Items {
		t.members = append(t.members, origins[aws.ToString(m.OriginId)])
	}
	for _, code := range g.FailoverCriteria.StatusCodes.Items {
		t.failover[int(code)] = true
	}
	return t
}

// compileBehaviour builds a validated cache behaviour.
func (e *Edge) compileBehaviour(f behaviourFields, targets map[string]*target) (*behaviour, error) {
	if l := f.lambdas; l != nil && (aws.ToInt32(l.Quantity) > 0 || len(l.Items) > 0) {
		// Valid on CloudFront, but the local edge does not run Lambda@Edge: serving the
		// behaviour without them would answer what CloudFront never would.
		return nil, cfgErr("InvalidArgument", "behaviour %q: Lambda@Edge associations are not run by the local edge (CloudFront Functions are); remove them to serve the distribution locally", f.pattern)
	}
	b := &behaviour{pattern: f.pattern, compress: aws.ToBool(f.compress), target: targets[aws.ToString(f.target)], viewerProtocol: f.vpp}
	b.allowed, b.cached = methodsGH, methodsGH
	if am := f.allowed; am != nil {
		b.allowed, _ = methodsOf("AllowedMethods", f.pattern, am.Items)
		if cm := am.CachedMethods; cm != nil {
			b.cached, _ = methodsOf("CachedMethods", f.pattern, cm.Items)
		}
	}
	if id := aws.ToString(f.cachePolicy); id != "" {
		cfg, _ := e.cachePolicyConfig(id)
		p, err := compileCachePolicy(id, cfg)
		if err != nil {
			return nil, cfgErr("InvalidArgument", "%v", err)
		}
		b.cache = p
		b.forwardCookies = !p.cookies.none()
	} else {
		// Legacy cache settings (no cache policy): TTLs on the behaviour and
		// ForwardedValues both in the key and forwarded.
		b.cache, b.originReq = legacyPolicies(f)
		b.forwardCookies = !b.cache.cookies.none()
	}
	if id := aws.ToString(f.orp); id != "" {
		cfg, _ := e.originRequestPolicyConfig(id)
		orp, err := compileOriginRequestPolicy(id, cfg)
		if err != nil {
			return nil, err
		}
		b.originReq = orp
		if !b.originReq.cookies.none() {
			b.forwardCookies = true
		}
	}
	b.viewerHeaders = viewerHeaderNames(b)
	if id := aws.ToString(f.rhp); id != "" {
		cfg, _ := e.responseHeadersPolicyConfig(id)
		hp, err := compileHeadersPolicy(id, cfg)
		if err != nil {
			return nil, err
		}
		b.headers = hp
	}
	if fa := f.functions; fa != nil {
		for _, a := range fa.Items {
			name, _ := functionNameFromARN(aws.ToString(a.FunctionARN))
			fn := e.functions[name]
			if fn.RewriteURI == nil && fn.Handle == nil {
				// Compile JS now so a broken function fails the config, not every request.
				if _, err := e.jsFor(fn); err != nil {
					return nil, cfgErr("InvalidArgument", "behaviour %q: %v", f.pattern, err)
				}
			}
			if a.EventType == types.EventTypeViewerRequest {
				b.viewerRequest = fn
			} else {
				b.viewerResponse = fn
			}
		}
	}
	return b, nil
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

// compileErrorResponse builds a validated CustomErrorResponse (§3.1).
func compileErrorResponse(r types.CustomErrorResponse) *errorResponse {
	er := &errorResponse{code: int(aws.ToInt32(r.ErrorCode)), minTTL: 10 * time.Second}
	if r.ErrorCachingMinTTL != nil {
		er.minTTL = time.Duration(*r.ErrorCachingMinTTL) * time.Second
	}
	if rc := aws.ToString(r.ResponseCode); rc != "" {
		er.respCode, _ = strconv.Atoi(rc)
		er.pagePath = aws.ToString(r.ResponsePagePath)
	}
	return er
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
