package edge

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront/types"

	"github.com/twinedge/twinedge/edge/jsfunc"
)

// Domains of the test distribution, shaped like infra's: two buckets, two function URLs.
const (
	bucketA = "site-a.s3.us-east-1.amazonaws.com"
	bucketB = "site-b.s3.us-west-2.amazonaws.com"
	urlA    = "aaaa.lambda-url.us-east-1.on.aws"
	urlB    = "bbbb.lambda-url.us-west-2.on.aws"
	spaARN  = "arn:aws:cloudfront::123456789012:function/twinedge-spa-rewrite"
)

var edgeCreds = aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test", Source: "test"}

// edgeClock is a settable clock, so TTLs and the control API's status transitions are
// tested without sleeping.
type edgeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *edgeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *edgeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// testOrigin is an httptest server whose handler can be swapped and whose requests are counted.
type testOrigin struct {
	srv     *httptest.Server
	addr    string
	hits    atomic.Int64
	mu      sync.Mutex
	handler http.HandlerFunc
	last    *http.Request
}

func newTestOrigin(t testing.TB, h http.HandlerFunc) *testOrigin {
	o := &testOrigin{handler: h}
	o.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.hits.Add(1)
		o.mu.Lock()
		h := o.handler
		o.last = r.Clone(context.Background())
		o.mu.Unlock()
		h(w, r)
	}))
	o.addr = o.srv.Listener.Addr().String()
	t.Cleanup(o.srv.Close)
	return o
}

func (o *testOrigin) set(h http.HandlerFunc) {
	o.mu.Lock()
	o.handler = h
	o.mu.Unlock()
}

func (o *testOrigin) lastRequest() *http.Request {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.last
}

// s3Object answers like S3 for any key: 200 with the path in the body.
func s3Object(cacheControl string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Server", "AmazonS3")
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("ETag", `"e-`+r.URL.Path+`"`)
		w.Header().Set("Last-Modified", "Wed, 21 Oct 2026 07:28:00 GMT")
		w.Header().Set("x-amz-meta-sha256", "abc")
		if cacheControl != "" {
			w.Header().Set("Cache-Control", cacheControl)
		}
		if inm := r.Header.Get("If-None-Match"); inm != "" && inm == `"e-`+r.URL.Path+`"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		io.WriteString(w, "object "+r.URL.Path)
	}
}

func statusHandler(code int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Server", "AmazonS3")
		w.WriteHeader(code)
		io.WriteString(w, http.StatusText(code))
	}
}

// testWorld is an edge in front of four test origins, resolved by domain.
type testWorld struct {
	t       testing.TB
	e       *Edge
	origins map[string]*testOrigin
	addrs   map[string]string
	clock   *edgeClock
	mu      sync.Mutex
}

func (w *testWorld) resolve(domain string) (string, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	a, ok := w.addrs[domain]
	return a, ok
}

// point makes domain resolve to addr (e.g. a closed port or a blackhole listener).
func (w *testWorld) point(domain, addr string) {
	w.mu.Lock()
	w.addrs[domain] = addr
	w.mu.Unlock()
}

type worldOption func(*Options, *types.DistributionConfig)

// newWorld starts the four origins (healthy S3-like objects with cacheControl) and an edge
// over testDistribution. Config times are in units of 250 ms so failover tests are quick.
func newWorld(t testing.TB, opts ...worldOption) *testWorld {
	t.Helper()
	w := &testWorld{t: t, origins: map[string]*testOrigin{}, addrs: map[string]string{}, clock: &edgeClock{t: time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)}}
	for _, d := range []string{bucketA, bucketB, urlA, urlB} {
		o := newTestOrigin(t, s3Object(""))
		w.origins[d] = o
		w.addrs[d] = o.addr
	}
	cfg := testDistribution()
	o := Options{
		DistributionID: "E2QWRUHAPOMQZL",
		Credentials:    edgeCreds,
		Resolve:        w.resolve,
		OriginScheme:   "http",
		ViewerHTTPS:    true,
		Now:            w.clock.now,
		timeUnit:       250 * time.Millisecond,
		JS:             jsfunc.Compile,
	}
	for _, f := range opts {
		f(&o, cfg)
	}
	e, err := New(cfg, o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	w.e = e
	return w
}

// do sends a request through the edge and returns the recorded response.
func (w *testWorld) do(method, target string, body io.Reader, hdr ...string) *http.Response {
	w.t.Helper()
	r := httptest.NewRequest(method, "http://d111.cloudfront.net"+target, body)
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	w.e.ServeHTTP(rec, r)
	return rec.Result()
}

func (w *testWorld) get(target string, hdr ...string) *http.Response {
	w.t.Helper()
	return w.do(http.MethodGet, target, nil, hdr...)
}

func edgeBody(t testing.TB, r *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return string(b)
}

func ei32(v int32) *int32 { return aws.Int32(v) }

func methodsAll(m ...types.Method) *types.AllowedMethods {
	return &types.AllowedMethods{Quantity: ei32(int32(len(m))), Items: m,
		CachedMethods: &types.CachedMethods{Quantity: ei32(2), Items: []types.Method{types.MethodGet, types.MethodHead}}}
}

// testDistribution mirrors infra.Distribution (which edge must not import).
func testDistribution() *types.DistributionConfig {
	s3o := func(id, domain string) types.Origin {
		return types.Origin{Id: aws.String(id), DomainName: aws.String(domain), OriginPath: aws.String(""),
			OriginAccessControlId: aws.String("oac-site"),
			S3OriginConfig:        &types.S3OriginConfig{OriginAccessIdentity: aws.String(""), OriginReadTimeout: ei32(2)},
			ConnectionAttempts:    ei32(1), ConnectionTimeout: ei32(1), CustomHeaders: &types.CustomHeaders{Quantity: ei32(0)}}
	}
	apio := func(id, domain string) types.Origin {
		return types.Origin{Id: aws.String(id), DomainName: aws.String(domain), OriginPath: aws.String(""),
			OriginAccessControlId: aws.String("oac-api"),
			CustomOriginConfig: &types.CustomOriginConfig{HTTPPort: ei32(80), HTTPSPort: ei32(443),
				OriginProtocolPolicy: types.OriginProtocolPolicyHttpsOnly, OriginReadTimeout: ei32(4), OriginKeepaliveTimeout: ei32(5)},
			ConnectionAttempts: ei32(1), ConnectionTimeout: ei32(1), CustomHeaders: &types.CustomHeaders{Quantity: ei32(0)}}
	}
	group := func(id, a, b string) types.OriginGroup {
		return types.OriginGroup{Id: aws.String(id),
			FailoverCriteria: &types.OriginGroupFailoverCriteria{StatusCodes: &types.StatusCodes{Quantity: ei32(6), Items: []int32{403, 404, 500, 502, 503, 504}}},
			Members:          &types.OriginGroupMembers{Quantity: ei32(2), Items: []types.OriginGroupMember{{OriginId: aws.String(a)}, {OriginId: aws.String(b)}}}}
	}
	all := methodsAll(types.MethodGet, types.MethodHead, types.MethodOptions, types.MethodPut, types.MethodPatch, types.MethodPost, types.MethodDelete)
	read := methodsAll(types.MethodGet, types.MethodHead, types.MethodOptions)
	api := func(pattern, target string) types.CacheBehavior {
		// As infra.Distribution: the group behaviour reads only (CloudFront refuses writes on
		// a behaviour bound to an origin group); the pinned ones take every method.
		allowed := all
		if target == "api" {
			allowed = read
		}
		return types.CacheBehavior{PathPattern: aws.String(pattern), TargetOriginId: aws.String(target),
			ViewerProtocolPolicy: types.ViewerProtocolPolicyRedirectToHttps, CachePolicyId: aws.String(CachingDisabledID),
			OriginRequestPolicyId: aws.String(AllViewerExceptHostHeaderID), Compress: aws.Bool(true), AllowedMethods: allowed,
			FunctionAssociations: &types.FunctionAssociations{Quantity: ei32(0)}}
	}
	return &types.DistributionConfig{
		CallerReference:   aws.String("twinedge"),
		Comment:           aws.String("twinedge"),
		Enabled:           aws.Bool(true),
		DefaultRootObject: aws.String("index.html"),
		Origins: &types.Origins{Quantity: ei32(4), Items: []types.Origin{
			s3o("site-us-east-1", bucketA), s3o("site-us-west-2", bucketB), apio("api-us-east-1", urlA), apio("api-us-west-2", urlB)}},
		OriginGroups: &types.OriginGroups{Quantity: ei32(2), Items: []types.OriginGroup{
			group("site", "site-us-east-1", "site-us-west-2"), group("api", "api-us-east-1", "api-us-west-2")}},
		DefaultCacheBehavior: &types.DefaultCacheBehavior{
			TargetOriginId: aws.String("site"), ViewerProtocolPolicy: types.ViewerProtocolPolicyRedirectToHttps,
			CachePolicyId: aws.String(CachingOptimizedID), ResponseHeadersPolicyId: aws.String(SecurityHeadersPolicyID),
			Compress: aws.Bool(true), AllowedMethods: methodsAll(types.MethodGet, types.MethodHead, types.MethodOptions),
			FunctionAssociations: &types.FunctionAssociations{Quantity: ei32(1), Items: []types.FunctionAssociation{
				{EventType: types.EventTypeViewerRequest, FunctionARN: aws.String(spaARN)}}},
		},
		CacheBehaviors: &types.CacheBehaviors{Quantity: ei32(3), Items: []types.CacheBehavior{
			api("/api/r/us-east-1/*", "api-us-east-1"), api("/api/r/us-west-2/*", "api-us-west-2"), api("/api/*", "api")}},
		CustomErrorResponses: &types.CustomErrorResponses{Quantity: ei32(0)},
	}
}

// closedAddr returns a loopback address nothing listens on (connection refused).
func closedAddr(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := l.Addr().String()
	l.Close()
	return a
}

// blackholeAddr accepts TCP connections and never answers.
func blackholeAddr(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	return l.Addr().String()
}

// hijackWith hands the raw connection to f (for resets and truncated bodies).
func hijackWith(f func(c net.Conn)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			panic(err)
		}
		f(c)
	}
}

func resetConn(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	c.Close()
}
