// Package edge is a CloudFront data plane driven by a cloudfront/types.DistributionConfig:
// cache behaviours, origin groups and failover, the cache and its TTL rules, CloudFront
// Functions, response headers policies, compression, range requests, origin access
// control signing, invalidations and access logs. The behaviour it reproduces is
// described, with sources, in spec/cloudfront.md; comments cite its sections.
//
// The edge is faithful by default. The few local-only conveniences (Options.Resolve,
// Options.OriginScheme, Options.ViewerHTTPS) are opt-ins and say so.
package edge

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
	"golang.org/x/sync/singleflight"

	"github.com/twinedge/twinedge/edge/jsfunc/fnapi"
)

// Options configure an Edge. The zero value of every field is a working default.
type Options struct {
	// DistributionID is the distribution's id, e.g. "E2QWRUHAPOMQZL" (default "ELOCAL0000000").
	DistributionID string
	// DomainName is the distribution's domain name, e.g. "d111111abcdef8.cloudfront.net"
	// (default "<lower-case id>.cloudfront.net"). It names the edge in Via.
	DomainName string
	// Credentials sign origin requests for origins with an origin access control.
	Credentials aws.Credentials
	// Resolve maps an origin domain name to a local host:port. LOCAL-ONLY opt-in:
	// CloudFront resolves origins through DNS; the local world maps names to loopback
	// ports. nil uses real DNS. ok=false is a DNS failure (502).
	Resolve func(domain string) (hostport string, ok bool)
	// OriginScheme overrides the scheme of every origin request ("http" locally, where
	// origins speak plain HTTP). LOCAL-ONLY opt-in. "" follows the origin config (S3
	// origins and https-only custom origins use https).
	OriginScheme string
	// ViewerHTTPS treats every viewer request as HTTPS so redirect-to-https and
	// https-only behaviours serve instead of answering 301/403. LOCAL-ONLY opt-in: the
	// local edge has no TLS. Default false.
	ViewerHTTPS bool
	// Geo locates a viewer by address, for CloudFront's location headers and the
	// distribution's geographic restriction (viewerheaders.go); a GeoTable's Lookup is
	// one. nil: no viewer's location is known, so neither applies.
	Geo func(ip netip.Addr) (Geo, bool)
	// Logger receives operational logs (default: discard).
	Logger *slog.Logger
	// AccessLog, when set, receives CloudFront standard access log lines
	// (tab-separated, with #Version/#Fields headers). Default: none.
	AccessLog io.Writer
	// Now is the clock (default time.Now). It stamps signatures, TTLs and logs.
	Now func() time.Time
	// Pop is the edge location reported in X-Amz-Cf-Pop and logs (default "LCL50-C1").
	Pop string
	// Functions adds CloudFront Functions by name, on top of the built-in
	// "twinedge-spa-rewrite". A function association whose ARN names a function the edge
	// does not know makes New and Apply fail.
	Functions map[string]*Function
	// Twins are native implementations of exact function sources (Twin): a function whose
	// Code is a key, given here or published (PutFunction), runs its twin instead of the
	// JavaScript. Any other code runs as JavaScript.
	Twins map[string]Twin
	// JS compiles the JavaScript of functions that have no Go implementation
	// (cloudfront-js-2.0 or 1.0). nil: a distribution that associates such a function is
	// refused. edge/jsfunc provides one (goja); it is kept out of this package so that
	// a program running only the built-in, native functions compiles no JS engine.
	JS func(name, runtime, code string) (fnapi.Program, error)
	// CachePolicies adds custom cache policies by id (managed ones are built in).
	CachePolicies map[string]types.CachePolicyConfig
	// OriginRequestPolicies adds custom origin request policies by id.
	OriginRequestPolicies map[string]types.OriginRequestPolicyConfig
	// ResponseHeadersPolicies adds custom response headers policies by id.
	ResponseHeadersPolicies map[string]types.ResponseHeadersPolicyConfig
	// OriginAccessControls describes origin access controls by id. An origin whose
	// OriginAccessControlId is not listed is signed with behaviour "always" and the
	// service its domain implies (".s3." → s3, ".lambda-url." → lambda).
	OriginAccessControls map[string]types.OriginAccessControlConfig
	// MaxBufferedBody is the largest origin body read completely before the response
	// goes to the viewer (default 10 MiB), so it can be compressed and cached in one
	// piece; larger bodies stream. Either way a body that breaks or stalls after the
	// origin's headers arrived reaches the viewer truncated and is neither retried nor
	// failed over, as on CloudFront, which streams every response. A negative value
	// streams every body (no edge compression, which needs the whole body).
	MaxBufferedBody int64
	// MaxCachedStream is the largest streamed body kept in the cache once it arrived
	// complete (default 64 MiB; the cache is in memory). Larger objects are served but
	// not cached.
	MaxCachedStream int64
	// MaxCacheBytes bounds the bodies held in the in-memory cache (default 512 MiB);
	// beyond it expired objects are evicted first, then any.
	MaxCacheBytes int64
	// MaxRequestBody is the largest viewer request body the edge accepts (default
	// 32 MiB; larger → 413). Bodies are buffered so a request can be retried.
	MaxRequestBody int64
	// MaxRequestBodies bounds the bytes of viewer request bodies held at once, across all
	// requests (default 64 MiB, and at least MaxRequestBody). A body that would pass it is
	// answered 503 instead of being buffered: slow or stalled uploads cannot take the
	// edge's memory (requestbody.go).
	MaxRequestBodies int64

	// timeUnit is the length of the configuration's "second" (tests shorten it so
	// timeouts configured in whole seconds take milliseconds). Default time.Second.
	timeUnit time.Duration
	// dial replaces net.Dialer for origin connections (tests: simulated blackholes).
	dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// Edge serves one distribution. It is an http.Handler; Config, Apply and Invalidate
// are safe to call concurrently with requests.
type Edge struct {
	opts            Options
	log             *slog.Logger
	cur             atomic.Pointer[compiled]
	applyMu         sync.Mutex
	cache           *cache
	functions       map[string]*Function
	unit            time.Duration
	maxBuffered     int64 // -1: stream every body
	maxCachedStream int64
	maxReqBody      int64
	dial            func(ctx context.Context, network, addr string) (net.Conn, error)
	flight          singleflight.Group
	via             []string
	viaHeader       string
	pop             []string
	access          *accessLog
	jsRun           sync.Map    // *Function → its compiled JS, a fnapi.Program (Options.JS)
	bodies          bodyBudget  // bytes of viewer request bodies held (requestbody.go)
	serving         serveHealth // Serve\'s accept errors (server.go)
}

var _ http.Handler = (*Edge)(nil)

// New validates cfg and returns an edge serving it.
func New(cfg *types.DistributionConfig, opts Options) (*Edge, error) {
	e := &Edge{opts: opts, functions: builtinFunctions()}
	if e.opts.DistributionID == "" {
		e.opts.DistributionID = "ELOCAL0000000"
	}
	if e.opts.DomainName == "" {
		e.opts.DomainName = strings.ToLower(e.opts.DistributionID) + ".cloudfront.net"
	}
	if e.opts.Now == nil {
		e.opts.Now = time.Now
	}
	if e.opts.Pop == "" {
		e.opts.Pop = "LCL50-C1"
	}
	maxCache := opts.MaxCacheBytes
	if maxCache <= 0 {
		maxCache = 512 << 20
	}
	e.cache = newCache(maxCache, e.opts.Now)
	e.log = opts.Logger
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	e.unit = opts.timeUnit
	if e.unit <= 0 {
		e.unit = time.Second
	}
	e.dial = opts.dial
	e.maxBuffered = opts.MaxBufferedBody
	switch {
	case e.maxBuffered == 0:
		e.maxBuffered = 10 << 20
	case e.maxBuffered < 0:
		e.maxBuffered = -1
	}
	e.maxCachedStream = opts.MaxCachedStream
	if e.maxCachedStream <= 0 {
		e.maxCachedStream = 64 << 20
	}
	e.maxReqBody = opts.MaxRequestBody
	if e.maxReqBody <= 0 {
		e.maxReqBody = 32 << 20
	}
	e.bodies.limit = max(opts.MaxRequestBodies, e.maxReqBody)
	if opts.MaxRequestBodies <= 0 {
		e.bodies.limit = max(64<<20, e.maxReqBody)
	}
	if err := addFunctions(e.functions, opts.Functions, opts.Twins); err != nil {
		return nil, err
	}
	// Via names the edge server: "1.1 <32 hex>.cloudfront.net (CloudFront)" (§2.8).
	sum := sha256.Sum256([]byte(e.opts.DomainName + e.opts.Pop))
	e.viaHeader = "1.1 " + hex.EncodeToString(sum[:16]) + ".cloudfront.net (CloudFront)"
	e.via = []string{e.viaHeader}
	e.pop = []string{e.opts.Pop}
	if opts.AccessLog != nil {
		e.access = newAccessLog(opts.AccessLog)
	}
	c, err := e.compile(cfg)
	if err != nil {
		return nil, err
	}
	e.cur.Store(c)
	return e, nil
}

// addFunctions adds the functions of Options.Functions to m, by name.
func addFunctions(m map[string]*Function, fns map[string]*Function, twins map[string]Twin) error {
	for name, f := range fns {
		if f == nil {
			continue
		}
		fn := *f
		if fn.Name == "" {
			fn.Name = name
		}
		if fn.Runtime == "" {
			fn.Runtime = FunctionRuntime
		}
		if fn.RewriteURI == nil && fn.Handle == nil && fn.Code == "" {
			return fmt.Errorf("function %s: needs Code or a Go implementation", name)
		}
		m[name] = withTwin(&fn, twins)
	}
	return nil
}

// Config returns a deep copy of the distribution config being served.
func (e *Edge) Config() *types.DistributionConfig {
	return deepCopy(e.cur.Load().src)
}

// Validate applies CloudFront's rules to cfg (validate.go), resolving policies, origin
// access controls and functions through what the edge knows. It changes nothing.
func (e *Edge) Validate(cfg *types.DistributionConfig) error {
	// applyMu guards the function registry, which PutFunction replaces.
	e.applyMu.Lock()
	defer e.applyMu.Unlock()
	return Validate(cfg, e.resources())
}

// Apply validates cfg and, if it is valid, serves it from the next request on; requests
// in flight finish with the config they started with. The cache is kept, as CloudFront
// keeps it across distribution updates. An invalid cfg returns a *ConfigError and
// changes nothing.
func (e *Edge) Apply(cfg *types.DistributionConfig) error {
	e.applyMu.Lock()
	defer e.applyMu.Unlock()
	c, err := e.compile(cfg)
	if err != nil {
		return err
	}
	e.swap(c)
	return nil
}

// swap serves c from the next request on. The caller holds applyMu.
func (e *Edge) swap(c *compiled) {
	old := e.cur.Swap(c)
	if old != nil {
		// Let idle keep-alive connections of the old origins go; in-flight ones finish.
		go func() {
			time.Sleep(time.Second)
			for _, o := range old.origins {
				o.transport.CloseIdleConnections()
			}
		}()
	}
}

// Invalidate removes cached objects, with CloudFront's path semantics
// (spec/cloudfront.md §4.1): each path matches exactly, or as a prefix when it ends
// with '*'; case-sensitive; every variant of a matched path is removed, whatever the
// query strings, headers or cookies in its cache key. It returns when the entries are
// gone.
func (e *Edge) Invalidate(paths []string) {
	n := e.cache.invalidate(paths)
	e.log.Debug("invalidated", "paths", len(paths), "objects", n)
}

func (e *Edge) cachePolicyConfig(id string) (*types.CachePolicyConfig, bool) {
	if c, ok := e.opts.CachePolicies[id]; ok {
		return &c, true
	}
	c, ok := ManagedCachePolicies()[id]
	return c, ok
}

func (e *Edge) originRequestPolicyConfig(id string) (*types.OriginRequestPolicyConfig, bool) {
	if c, ok := e.opts.OriginRequestPolicies[id]; ok {
		return &c, true
	}
	c, ok := ManagedOriginRequestPolicies()[id]
	return c, ok
}

func (e *Edge) responseHeadersPolicyConfig(id string) (*types.ResponseHeadersPolicyConfig, bool) {
	if c, ok := e.opts.ResponseHeadersPolicies[id]; ok {
		return &c, true
	}
	c, ok := ManagedResponseHeadersPolicies()[id]
	return c, ok
}

// reqState carries one viewer request through the edge.
type reqState struct {
	r       *http.Request
	c       *compiled
	b       *behaviour
	id      string
	idValue [1]string // backs the X-Amz-Cf-Id header value
	start   time.Time // Options.Now at arrival
	t0      time.Time // monotonic arrival, for time-taken
	https   bool
	uri     string      // path after functions and the default root object
	query   string      // raw query string after functions
	header  http.Header // viewer headers (after a viewer-request function)
	target  *target     // origin chosen by a viewer-request function; nil: the behaviour's
	body    []byte

	// for the access log
	result     string // x-edge-result-type
	respResult string // x-edge-response-result-type
	detail     string // x-edge-detailed-result-type
	status     int
	// viewerGone: the viewer closed the connection before the response; the log's
	// sc-status is then 000, whatever status the origin had answered.
	viewerGone   bool
	bytes        int64
	rangeStart   int64
	rangeEnd     int64
	contentType  string
	originsTried int
	fnGenerated  bool
}

// requestID returns a fresh X-Amz-Cf-Id: 40 random bytes, base64url with padding,
// 56 characters, like "ULZdIz6j43uGBlXyob_JctF9x7CCbwpNniiMlmNbmwzH1YWP9FsEHg==" (§2.8).
func requestID() string {
	var raw [40]byte
	for i := 0; i < 40; i += 8 {
		binary.LittleEndian.PutUint64(raw[i:], rand.Uint64())
	}
	return base64.URLEncoding.EncodeToString(raw[:])
}

// match returns the first behaviour whose pattern matches path, the default last (§2.1).
func (c *compiled) match(path string) *behaviour {
	for _, b := range c.behaviours[:len(c.behaviours)-1] {
		if matchPattern(b.pattern, path) {
			return b
		}
	}
	return c.behaviours[len(c.behaviours)-1]
}

// Request size limits (spec/cloudfront.md §2.3).
const (
	maxURLLength     = 8192
	maxRequestHeader = 20480
)

// ServeHTTP is the data plane: it serves one viewer request as CloudFront would.
func (e *Edge) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rs := &reqState{r: r, c: e.cur.Load(), id: requestID(), start: e.opts.Now(), header: r.Header, rangeStart: -1, rangeEnd: -1}
	if e.access != nil {
		rs.t0 = time.Now()
	}
	if e.access != nil {
		defer e.access.record(e, rs)
	}
	rs.https = r.TLS != nil || e.opts.ViewerHTTPS

	// §2.3: URL ≤ 8,192 bytes, request line + headers ≤ 20,480 bytes, else 413.
	if len(r.RequestURI) > maxURLLength || requestHeaderSize(r) > maxRequestHeader {
		w.Header().Set("Connection", "close")
		e.serveError(w, rs, http.StatusRequestEntityTooLarge, "Bad request.", "LimitExceeded")
		return
	}
	if !rs.c.enabled {
		// A disabled distribution serves nothing.
		e.serveError(w, rs, http.StatusForbidden, "The distribution is disabled.", "Error")
		return
	}
	rawPath := r.URL.EscapedPath()
	if rawPath == "" || rawPath[0] != '/' {
		e.serveError(w, rs, http.StatusBadRequest, "Bad request.", "Error")
		return
	}
	rs.b = rs.c.match(normalizePath(rawPath))
	b := rs.b
	var geo *Geo
	if rs.c.geo != nil || len(b.viewerHeaders) > 0 {
		geo = e.viewerGeo(r)
	}
	if rs.c.geo.blocks(geo) {
		e.serveGeoBlocked(w, rs)
		return
	}

	if _, known := methodBits[r.Method]; !known {
		e.serveError(w, rs, http.StatusMethodNotAllowed, "Bad request.", "Error")
		return
	}
	if !b.allowed.has(r.Method) {
		// CloudFront answers 403 "This distribution is not configured to allow the HTTP
		// request method that was used for this request."
		e.serveError(w, rs, http.StatusForbidden, "This distribution is not configured to allow the HTTP request method that was used for this request. The distribution supports only cachable requests.", "Error")
		return
	}
	if !rs.https {
		switch b.viewerProtocol {
		case types.ViewerProtocolPolicyRedirectToHttps:
			e.serveRedirect(w, rs)
			return
		case types.ViewerProtocolPolicyHttpsOnly:
			e.serveError(w, rs, http.StatusForbidden, "Bad request.", "Error")
			return
		}
	}
	if r.Body != nil && r.Body != http.NoBody {
		body, release, err := e.readRequestBody(r)
		defer release()
		switch {
		case errors.Is(err, errBodyTooLarge):
			w.Header().Set("Connection", "close")
			e.serveError(w, rs, http.StatusRequestEntityTooLarge, "Bad request.", "LimitExceeded")
			return
		case errors.Is(err, errBodiesBusy):
			w.Header().Set("Connection", "close")
			e.serveError(w, rs, http.StatusServiceUnavailable, "The edge is holding as many request bodies as it can; try again.", "Error")
			return
		case err != nil:
			w.Header().Set("Connection", "close")
			e.serveError(w, rs, http.StatusBadRequest, "Bad request.", "Error")
			return
		}
		rs.body = body
	}

	rs.uri, rs.query = rawPath, r.URL.RawQuery
	e.addViewerHeaders(rs, geo)
	if fn := b.viewerRequest; fn != nil {
		var resp *FunctionResponse
		native := fn.RewriteURI != nil
		if native && fn.Respond != nil {
			resp, native = fn.Respond(rs.uri, rs.query)
		}
		switch {
		case resp != nil:
			e.answerGenerated(w, rs, resp)
			return
		case native:
			rs.uri = fn.RewriteURI(rs.uri)
		default:
			if fn.js != nil {
				fn = fn.js // the twin did not decide: the JavaScript does
			}
			if done := e.runViewerRequest(w, rs, fn); done {
				return
			}
		}
	}
	// §2.2: the default root object replaces "/" only [INFER: after viewer-request
	// functions, which see the URI the viewer sent].
	if rs.uri == "/" && rs.c.defaultRoot != "" {
		rs.uri = rs.c.defaultRoot
	}
	e.serveFromCacheOrOrigin(w, rs)
}

// requestHeaderSize approximates the request line plus headers as sent on the wire.
func requestHeaderSize(r *http.Request) int {
	n := len(r.Method) + len(r.RequestURI) + len(r.Proto) + 4 + len(r.Host) + 8
	for k, vs := range r.Header {
		for _, v := range vs {
			n += len(k) + len(v) + 4
		}
	}
	return n
}

var (
	xcacheHit       = []string{"Hit from cloudfront"}
	xcacheMiss      = []string{"Miss from cloudfront"}
	xcacheRefresh   = []string{"RefreshHit from cloudfront"}
	xcacheError     = []string{"Error from cloudfront"}
	xcacheRedirect  = []string{"Redirect from cloudfront"}
	xcacheGenerated = []string{"FunctionGeneratedResponse from cloudfront"}
)

func xcacheFor(result string) []string {
	switch result {
	case "Hit":
		return xcacheHit
	case "Miss":
		return xcacheMiss
	case "RefreshHit":
		return xcacheRefresh
	case "Redirect":
		return xcacheRedirect
	case "FunctionGeneratedResponse":
		return xcacheGenerated
	}
	return xcacheError
}

// serveRedirect answers an HTTP viewer on a redirect-to-https behaviour (§2.3: 301).
func (e *Edge) serveRedirect(w http.ResponseWriter, rs *reqState) {
	h := w.Header()
	h.Set("Location", "https://"+rs.r.Host+rs.r.URL.RequestURI())
	h["Server"] = serverCloudFront
	body := []byte(errorPage(http.StatusMovedPermanently, "", rs.id))
	h.Set("Content-Type", "text/html")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	e.stamp(h, rs, "Redirect")
	rs.status = http.StatusMovedPermanently
	w.WriteHeader(http.StatusMovedPermanently)
	if rs.r.Method != http.MethodHead {
		n, _ := w.Write(body)
		rs.bytes = int64(n)
	}
}

// stamp adds the headers CloudFront puts on every response (§2.8).
func (e *Edge) stamp(h http.Header, rs *reqState, result string) {
	rs.result = result
	if rs.respResult == "" {
		rs.respResult = result
	}
	h["X-Cache"] = xcacheFor(result)
	h["Via"] = e.via
	h["X-Amz-Cf-Pop"] = e.pop
	rs.idValue[0] = rs.id
	h["X-Amz-Cf-Id"] = rs.idValue[:]
}

// ageValues holds the Age header values of the first ten minutes, so most hits do not
// allocate one.
var ageValues = func() [][]string {
	v := make([][]string, 600)
	for i := range v {
		v[i] = []string{strconv.Itoa(i)}
	}
	return v
}()

func ageHeader(age int64) []string {
	if age < int64(len(ageValues)) {
		return ageValues[age]
	}
	return []string{strconv.FormatInt(age, 10)}
}

// serveError answers with a CloudFront-generated error page (§8 gap: the body is the
// well-known "ERROR: The request could not be satisfied" page).
// serveGeoBlocked answers a viewer the geographic restriction refuses: 403, or the
// custom error page for 403 when the distribution has one (DG georestrictions).
func (e *Edge) serveGeoBlocked(w http.ResponseWriter, rs *reqState) {
	if er := rs.c.errorPages[http.StatusForbidden]; er != nil && er.pagePath != "" {
		if ent := e.errorPageEntry(rs, er); ent != nil {
			rs.detail = "Error"
			e.writeEntry(w, rs, ent, "Error", false)
			return
		}
	}
	e.serveError(w, rs, http.StatusForbidden, "The Amazon CloudFront distribution is configured to block access from your country.", "Error")
}

func (e *Edge) serveError(w http.ResponseWriter, rs *reqState, status int, message, result string) {
	ent := e.errorEntry(status, message, rs.id)
	rs.detail = result
	e.writeEntry(w, rs, ent, "Error", false)
}

func (e *Edge) errorEntry(status int, message, id string) *entry {
	body := []byte(errorPage(status, message, id))
	return &entry{
		status: status,
		header: http.Header{
			"Server":         serverCloudFront,
			"Content-Type":   {"text/html"},
			"Content-Length": {strconv.Itoa(len(body))},
		},
		body:    body,
		isError: true,
	}
}

// errorPage renders CloudFront's HTML error page.
func errorPage(status int, message, id string) string {
	if message == "" {
		switch status {
		case http.StatusBadGateway:
			message = "CloudFront wasn't able to connect to the origin."
		case http.StatusGatewayTimeout:
			message = "CloudFront attempted to establish a connection with the origin, but either the attempt failed or the origin closed the connection."
		default:
			message = "Bad request."
		}
	}
	return `<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN" "http://www.w3.org/TR/html4/loose.dtd">
<HTML><HEAD><META HTTP-EQUIV="Content-Type" CONTENT="text/html; charset=iso-8859-1">
<TITLE>ERROR: The request could not be satisfied</TITLE>
</HEAD><BODY>
<H1>` + strconv.Itoa(status) + ` ERROR</H1>
<H2>The request could not be satisfied.</H2>
<HR noshade size="1px">
` + message + `
We can't connect to the server for this app or website at this time. There might be too much traffic or a configuration error. Try again later, or contact the app or website owner.
<BR clear="all">
If you provide content to customers through CloudFront, you can find steps to troubleshoot and help prevent this error by reviewing the CloudFront documentation.
<BR clear="all">
<HR noshade size="1px">
<PRE>
Generated by cloudfront (CloudFront)
Request ID: ` + id + `
</PRE>
<ADDRESS>
</ADDRESS>
</BODY></HTML>`
}

// writeEntry sends a response held in an entry (cached or not) to the viewer.
func (e *Edge) writeEntry(w http.ResponseWriter, rs *reqState, ent *entry, result string, hit bool) {
	h := w.Header()
	for k, v := range ent.header {
		h[k] = v
	}
	e.stamp(h, rs, result)
	if hit {
		h["Age"] = ageHeader(ent.age(e.opts.Now()))
	}
	if rs.b != nil && rs.b.headers != nil {
		rs.b.headers.apply(h, rs.r)
		if rs.b.headers.serverTiming {
			h.Set("Server-Timing", "cdn-cache-"+strings.ToLower(map[bool]string{true: "hit", false: "miss"}[hit])+",cdn-pop;desc=\""+e.opts.Pop+"\"")
		}
	}
	status, body := ent.status, ent.body
	status, replaced := e.viewerResponse(h, rs, status)
	if replaced != nil {
		body = replaced
	}
	if status == http.StatusOK && ent.status == http.StatusOK && !ent.isError && replaced == nil {
		var done bool
		status, body, done = e.conditionalAndRange(w, rs, h, ent, body)
		if done {
			return
		}
	}
	rs.status = status
	rs.contentType = h.Get("Content-Type")
	w.WriteHeader(status)
	if rs.r.Method != http.MethodHead && len(body) > 0 {
		n, _ := w.Write(body)
		rs.bytes = int64(n)
	}
}
