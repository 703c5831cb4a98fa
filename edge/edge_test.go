package edge

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"go/token"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
	"github.com/google/go-cmp/cmp"

	"github.com/twinedge/twinedge/edge/jsfunc"
	"github.com/twinedge/twinedge/edge/jsfunc/fnapi"
	"github.com/twinedge/twinedge/internal/sigv4"
)

func TestSpec_2_8_CacheMissThenHit(t *testing.T) {
	w := newWorld(t)
	a := w.origins[bucketA]
	r1 := w.get("/assets/app.js")
	if r1.StatusCode != 200 || r1.Header.Get("X-Cache") != "Miss from cloudfront" {
		t.Fatalf("first: %d %q", r1.StatusCode, r1.Header.Get("X-Cache"))
	}
	if got := edgeBody(t, r1); got != "object /assets/app.js" {
		t.Errorf("body %q", got)
	}
	r2 := w.get("/assets/app.js")
	if r2.Header.Get("X-Cache") != "Hit from cloudfront" {
		t.Fatalf("second X-Cache = %q", r2.Header.Get("X-Cache"))
	}
	if a.hits.Load() != 1 {
		t.Errorf("origin hits = %d, want 1", a.hits.Load())
	}
	w.clock.advance(3 * time.Second)
	r3 := w.get("/assets/app.js")
	checks := map[string]string{
		"Age":               "3",
		"Server":            "AmazonS3",
		"X-Amz-Meta-Sha256": "abc",
		"X-Amz-Cf-Pop":      "LCL50-C1",
		"Content-Length":    "21",
		"X-Frame-Options":   "SAMEORIGIN", // SecurityHeadersPolicy on the default behaviour
	}
	for k, want := range checks {
		if got := r3.Header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if id := r3.Header.Get("X-Amz-Cf-Id"); len(id) != 56 {
		t.Errorf("X-Amz-Cf-Id %q: want 56 characters", id)
	}
	if via := r3.Header.Get("Via"); !strings.HasPrefix(via, "1.1 ") || !strings.HasSuffix(via, ".cloudfront.net (CloudFront)") {
		t.Errorf("Via = %q", via)
	}
	if edgeBody(t, r3) != "object /assets/app.js" {
		t.Error("hit body differs")
	}
	// The origin saw its own domain as Host and CloudFront's request headers.
	req := a.lastRequest()
	if req.Host != bucketA {
		t.Errorf("origin Host = %q, want %q", req.Host, bucketA)
	}
	if req.Header.Get("User-Agent") != "Amazon CloudFront" || req.Header.Get("X-Amz-Cf-Id") == "" || req.Header.Get("Via") == "" {
		t.Errorf("origin request headers: %v", req.Header)
	}
}

func TestSpec_3_3_SPADeepLink(t *testing.T) {
	w := newWorld(t)
	r := w.get("/messages/42")
	if r.StatusCode != 200 {
		t.Fatalf("status %d", r.StatusCode)
	}
	if got := w.origins[bucketA].lastRequest().URL.Path; got != "/index.html" {
		t.Errorf("origin path %q, want /index.html", got)
	}
	// The cache key is the rewritten URI: another deep link is a hit.
	if r2 := w.get("/other/deep/link"); r2.Header.Get("X-Cache") != "Hit from cloudfront" {
		t.Errorf("second deep link X-Cache = %q", r2.Header.Get("X-Cache"))
	}
}

func TestSpec_2_2_DefaultRootObject(t *testing.T) {
	w := newWorld(t, func(o *Options, c *types.DistributionConfig) {
		c.DefaultCacheBehavior.FunctionAssociations = &types.FunctionAssociations{Quantity: ei32(0)}
	})
	w.get("/")
	if got := w.origins[bucketA].lastRequest().URL.Path; got != "/index.html" {
		t.Errorf("/ went to %q", got)
	}
	w.get("/docs/")
	if got := w.origins[bucketA].lastRequest().URL.Path; got != "/docs/" {
		t.Errorf("/docs/ went to %q (default root object applies to / only)", got)
	}
}

func TestUnknownFunction(t *testing.T) {
	cfg := testDistribution()
	cfg.DefaultCacheBehavior.FunctionAssociations.Items[0].FunctionARN = aws.String("arn:aws:cloudfront::1:function/nope")
	_, err := New(cfg, Options{})
	var ce *ConfigError
	// NoSuchFunctionExists is not among CreateDistribution's errors in the service model;
	// an association naming no published function is InvalidFunctionAssociation (validate.go).
	if !errors.As(err, &ce) || ce.Code != "InvalidFunctionAssociation" {
		t.Fatalf("New with unknown function: %v", err)
	}
}

func TestSpec_2_3_ViewerProtocolPolicy(t *testing.T) {
	w := newWorld(t, func(o *Options, c *types.DistributionConfig) { o.ViewerHTTPS = false })
	r := w.get("/a.js?x=1")
	if r.StatusCode != http.StatusMovedPermanently || r.Header.Get("Location") != "https://d111.cloudfront.net/a.js?x=1" {
		t.Errorf("redirect-to-https: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	cfg := w.e.Config()
	cfg.DefaultCacheBehavior.ViewerProtocolPolicy = types.ViewerProtocolPolicyHttpsOnly
	if err := w.e.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	if r := w.get("/a.js"); r.StatusCode != http.StatusForbidden {
		t.Errorf("https-only over http: %d", r.StatusCode)
	}
}

func TestSpec_4_1_Invalidate(t *testing.T) {
	w := newWorld(t)
	for _, p := range []string{"/assets/a.js", "/assets/b.js", "/index.html", "/about.txt"} {
		w.get(p)
		w.get(p, "Accept-Encoding", "gzip") // a second variant of each
	}
	hits := func(p string) string { return w.get(p).Header.Get("X-Cache") }
	if hits("/assets/a.js") != "Hit from cloudfront" {
		t.Fatal("not cached")
	}
	w.e.Invalidate([]string{"/index.html"})
	if hits("/index.html") != "Miss from cloudfront" {
		t.Error("exact invalidation missed")
	}
	if w.get("/about.txt", "Accept-Encoding", "gzip").Header.Get("X-Cache") != "Hit from cloudfront" {
		t.Error("unrelated path was invalidated")
	}
	w.e.Invalidate([]string{"/assets/*"})
	for _, p := range []string{"/assets/a.js", "/assets/b.js"} {
		if hits(p) != "Miss from cloudfront" {
			t.Errorf("%s survived /assets/*", p)
		}
		if w.get(p, "Accept-Encoding", "gzip").Header.Get("X-Cache") != "Miss from cloudfront" {
			t.Errorf("gzip variant of %s survived", p)
		}
	}
	w.e.Invalidate([]string{"/ABOUT.TXT"})
	if hits("/about.txt") != "Hit from cloudfront" {
		t.Error("invalidation is case-sensitive")
	}
	w.e.Invalidate([]string{"/*"})
	if w.e.cache.len() != 0 {
		t.Errorf("/* left %d entries", w.e.cache.len())
	}
}

func TestConfigIsDeepCopy(t *testing.T) {
	w := newWorld(t)
	c1 := w.e.Config()
	want := testDistribution()
	if diff := cmp.Diff(want, c1, ignoreSerdeMarkers); diff != "" {
		t.Errorf("Config differs from what was applied (-want +got):\n%s", diff)
	}
	c1.Origins.Items[0].DomainName = aws.String("mutated")
	c1.DefaultCacheBehavior.FunctionAssociations.Items[0].FunctionARN = aws.String("x")
	c2 := w.e.Config()
	if aws.ToString(c2.Origins.Items[0].DomainName) != bucketA || aws.ToString(c2.DefaultCacheBehavior.FunctionAssociations.Items[0].FunctionARN) != spaARN {
		t.Error("Config returned shared state")
	}
}

func TestApplyValidation(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(c *types.DistributionConfig)
		code   string
	}{
		{"unknown target", func(c *types.DistributionConfig) { c.DefaultCacheBehavior.TargetOriginId = aws.String("nope") }, "NoSuchOrigin"},
		{"group of three", func(c *types.DistributionConfig) {
			m := c.OriginGroups.Items[0].Members
			m.Items = append(m.Items, types.OriginGroupMember{OriginId: aws.String("api-us-east-1")})
			m.Quantity = ei32(3)
		}, "MalformedXML"},
		{"group member unknown", func(c *types.DistributionConfig) {
			c.OriginGroups.Items[0].Members.Items[1].OriginId = aws.String("ghost")
		}, "NoSuchOrigin"},
		{"failover code 429", func(c *types.DistributionConfig) {
			c.OriginGroups.Items[0].FailoverCriteria.StatusCodes = &types.StatusCodes{Quantity: ei32(1), Items: []int32{429}}
		}, "InvalidArgument"},
		{"quantity mismatch", func(c *types.DistributionConfig) { c.Origins.Quantity = ei32(3) }, "InconsistentQuantities"},
		{"root object with slash", func(c *types.DistributionConfig) { c.DefaultRootObject = aws.String("/index.html") }, "InvalidDefaultRootObject"},
		{"unknown cache policy", func(c *types.DistributionConfig) { c.DefaultCacheBehavior.CachePolicyId = aws.String("x") }, "NoSuchCachePolicy"},
		{"attempts 4", func(c *types.DistributionConfig) { c.Origins.Items[0].ConnectionAttempts = ei32(4) }, "InvalidArgument"},
		{"read timeout 121", func(c *types.DistributionConfig) { c.Origins.Items[0].S3OriginConfig.OriginReadTimeout = ei32(121) }, "InvalidOriginReadTimeout"},
		{"methods 4", func(c *types.DistributionConfig) {
			c.DefaultCacheBehavior.AllowedMethods = methodsAll(types.MethodGet, types.MethodHead, types.MethodOptions, types.MethodPost)
		}, "InvalidArgument"},
		{"duplicate origin", func(c *types.DistributionConfig) { c.Origins.Items[1].Id = c.Origins.Items[0].Id }, "InvalidArgument"},
		{"group id clashes", func(c *types.DistributionConfig) { c.OriginGroups.Items[0].Id = aws.String("api-us-east-1") }, "InvalidArgument"},
		{"error code 418", func(c *types.DistributionConfig) {
			c.CustomErrorResponses = &types.CustomErrorResponses{Quantity: ei32(1), Items: []types.CustomErrorResponse{{ErrorCode: ei32(418)}}}
		}, "InvalidErrorCode"},
	}
	w := newWorld(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := testDistribution()
			tt.mutate(c)
			err := w.e.Apply(c)
			var ce *ConfigError
			if !errors.As(err, &ce) || ce.Code != tt.code {
				t.Fatalf("Apply = %v, want code %s", err, tt.code)
			}
		})
	}
	// A rejected config changed nothing.
	if aws.ToString(w.e.Config().DefaultCacheBehavior.TargetOriginId) != "site" {
		t.Error("rejected config was applied")
	}
	if err := w.e.Apply(testDistribution()); err != nil {
		t.Errorf("valid config: %v", err)
	}
}

func TestSpec_5_2_OACSignsOriginRequests(t *testing.T) {
	w := newWorld(t)
	// The origins' own rules (infra/local s3origin.go, funcurl.go): the edge's OAC must sign for
	// the origin's service and region, and cover a POST body with its hash.
	verify := func(service string) http.HandlerFunc {
		rule := sigv4.Rule{Service: service, Regions: []string{"us-east-1"}, MaxBody: 1 << 20}
		if service == "s3" {
			rule.Payload, rule.MaxBody = sigv4.StreamingAllowed, 0
		}
		return func(rw http.ResponseWriter, r *http.Request) {
			if _, err := sigv4.Verify(r, edgeCreds, rule, w.clock.now()); err != nil {
				http.Error(rw, err.Error(), http.StatusForbidden)
				return
			}
			rw.Write([]byte("ok"))
		}
	}
	w.origins[bucketA].set(verify("s3"))
	w.origins[urlA].set(verify("lambda"))
	if r := w.get("/assets/with%20space+plus.js"); r.StatusCode != 200 {
		t.Errorf("S3 OAC: %d %s", r.StatusCode, edgeBody(t, r))
	}
	body := `{"id":"1","author":"a","text":"hi"}`
	r := w.do(http.MethodPost, "/api/r/us-east-1/messages?x=1", strings.NewReader(body), "Content-Type", "application/json",
		"X-Amz-Content-Sha256", sha256Hex(body))
	if r.StatusCode != 200 {
		t.Errorf("lambda OAC POST: %d %s", r.StatusCode, edgeBody(t, r))
	}
	if got := w.origins[urlA].lastRequest().Host; got != urlA {
		t.Errorf("function URL got Host %q", got)
	}
	if r := w.get("/api/health"); r.StatusCode != 200 {
		t.Errorf("lambda OAC GET: %d %s", r.StatusCode, edgeBody(t, r))
	}
}

func TestSpec_2_3_RefreshHitAfterMaxAgeZero(t *testing.T) {
	w := newWorld(t)
	w.origins[bucketA].set(s3Object("max-age=0, must-revalidate"))
	w.get("/a.css")
	// CachingOptimized has MinTTL 1: max-age=0 is kept for 1 s (§2.4).
	if r := w.get("/a.css"); r.Header.Get("X-Cache") != "Hit from cloudfront" {
		t.Fatalf("within MinTTL: %q", r.Header.Get("X-Cache"))
	}
	w.clock.advance(2 * time.Second)
	r := w.get("/a.css")
	if r.Header.Get("X-Cache") != "RefreshHit from cloudfront" || edgeBody(t, r) != "object /a.css" {
		t.Fatalf("after expiry: %q", r.Header.Get("X-Cache"))
	}
	if got := w.origins[bucketA].lastRequest().Header.Get("If-None-Match"); got != `"e-/a.css"` {
		t.Errorf("revalidation If-None-Match = %q", got)
	}
}

func TestSpec_2_3_MethodNotAllowed(t *testing.T) {
	w := newWorld(t)
	if r := w.do(http.MethodPost, "/index.html", strings.NewReader("x")); r.StatusCode != http.StatusForbidden || r.Header.Get("X-Cache") != "Error from cloudfront" {
		t.Errorf("POST on GET/HEAD/OPTIONS behaviour: %d", r.StatusCode)
	}
	if r := w.do("PROPFIND", "/index.html", nil); r.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("PROPFIND: %d", r.StatusCode)
	}
}

func TestSpec_2_3_RequestTooLarge(t *testing.T) {
	w := newWorld(t)
	if r := w.get("/" + strings.Repeat("a", 8200)); r.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("long URL: %d", r.StatusCode)
	}
	if r := w.get("/x", "X-Big", strings.Repeat("b", 21000)); r.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("big headers: %d", r.StatusCode)
	}
}

// ignoreSerdeMarkers skips the SDK types' unexported serde fields.
var ignoreSerdeMarkers = cmp.FilterPath(func(p cmp.Path) bool {
	sf, ok := p.Last().(cmp.StructField)
	return ok && !token.IsExported(sf.Name())
}, cmp.Ignore())

func TestSpec_2_3_CachedOptionsKeptApart(t *testing.T) {
	w := newWorld(t, func(o *Options, c *types.DistributionConfig) {
		c.DefaultCacheBehavior.AllowedMethods.CachedMethods = &types.CachedMethods{Quantity: ei32(3), Items: []types.Method{types.MethodGet, types.MethodHead, types.MethodOptions}}
	})
	w.origins[bucketA].set(func(rw http.ResponseWriter, r *http.Request) {
		rw.Header().Set("Cache-Control", "max-age=60")
		rw.Write([]byte(r.Method))
	})
	w.do(http.MethodOptions, "/o.txt", nil)
	if r := w.do(http.MethodOptions, "/o.txt", nil); r.Header.Get("X-Cache") != "Hit from cloudfront" || edgeBody(t, r) != "OPTIONS" {
		t.Errorf("OPTIONS not cached: %q", r.Header.Get("X-Cache"))
	}
	if r := w.get("/o.txt"); edgeBody(t, r) != "GET" {
		t.Error("GET answered from the cached OPTIONS response")
	}
	// HEAD is answered from the cached GET.
	if r := w.do(http.MethodHead, "/o.txt", nil); r.Header.Get("X-Cache") != "Hit from cloudfront" || r.Header.Get("Content-Length") != "3" {
		t.Errorf("HEAD: %q %q", r.Header.Get("X-Cache"), r.Header.Get("Content-Length"))
	}
}

func TestBrokenFunctionFailsConfig(t *testing.T) {
	cfg := testDistribution()
	cfg.DefaultCacheBehavior.FunctionAssociations.Items[0].FunctionARN = aws.String("arn:aws:cloudfront::1:function/broken")
	for _, c := range []struct {
		name, code string
		js         func(name, runtime, code string) (fnapi.Program, error)
		want       string
	}{
		{"syntax error", "function handler(event) { return ", jsfunc.Compile, "SyntaxError"},
		{"no handler", "function other(event) { return event.request; }", jsfunc.Compile, "no function handler"},
		{"no JS runtime", "function handler(event) { return event.request; }", nil, "no JS runtime"},
		{"over 10 KB", "function handler(event) { return event.request; }//" + strings.Repeat("x", 10240), jsfunc.Compile, "10 KB"},
	} {
		_, err := New(cfg, Options{JS: c.js, Functions: map[string]*Function{"broken": {Code: c.code}}})
		var ce *ConfigError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: New = %v, want a ConfigError naming %q", c.name, err, c.want)
		}
	}
}

func TestSpec_2_3_ViewerCacheControlIgnored(t *testing.T) {
	w := newWorld(t)
	w.get("/cc.js")
	for _, h := range [][]string{{"Cache-Control", "no-cache"}, {"Pragma", "no-cache"}, {"Cache-Control", "max-age=0"}} {
		if r := w.get("/cc.js", h...); r.Header.Get("X-Cache") != "Hit from cloudfront" {
			t.Errorf("%v forced an origin fetch", h)
		}
	}
}

func TestSpec_2_8_OriginFacingHeaders(t *testing.T) {
	w := newWorld(t)
	w.origins[bucketA].set(func(rw http.ResponseWriter, r *http.Request) {
		http.SetCookie(rw, &http.Cookie{Name: "s", Value: "1"})
		rw.Header().Set("Connection", "X-Hop")
		rw.Header().Set("X-Hop", "1")
		rw.Header().Set("Vary", "Accept-Encoding, X-Custom")
		rw.Write([]byte("ok"))
	})
	r := w.get("/h.txt", "X-Forwarded-For", "203.0.113.9", "Host", "viewer.example", "Accept-Language", "de")
	if r.Header.Get("Set-Cookie") != "" || r.Header.Get("X-Hop") != "" {
		t.Errorf("Set-Cookie without cookie forwarding / Connection-listed header passed: %v", r.Header)
	}
	if r.Header.Get("Vary") != "Accept-Encoding" {
		t.Errorf("Vary = %q, want only Accept-Encoding", r.Header.Get("Vary"))
	}
	got := w.origins[bucketA].lastRequest()
	if got.Host != bucketA {
		t.Errorf("S3 origin saw Host %q", got.Host)
	}
	if got.Header.Get("X-Forwarded-For") != "203.0.113.9, 192.0.2.1" {
		t.Errorf("X-Forwarded-For = %q", got.Header.Get("X-Forwarded-For"))
	}
	if got.Header.Get("Accept-Language") != "" {
		t.Error("Accept-Language forwarded to S3 under CachingOptimized")
	}
	// The API behaviour forwards all viewer headers but Host (AllViewerExceptHostHeader).
	w.get("/api/x", "Accept-Language", "de", "Host", "viewer.example")
	got = w.origins[urlA].lastRequest()
	if got.Host != urlA || got.Header.Get("Accept-Language") != "de" {
		t.Errorf("function URL saw Host %q, Accept-Language %q", got.Host, got.Header.Get("Accept-Language"))
	}
}

// TestConcurrentApplyAndInvalidate runs traffic while the config is swapped and the
// cache invalidated (run with -race).
func TestConcurrentApplyAndInvalidate(t *testing.T) {
	w := newWorld(t)
	done := make(chan struct{})
	errs := make(chan string, 100)
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-done:
					return
				default:
				}
				p := []string{"/a.js", "/b.css", "/deep/link", "/api/x"}[i%4]
				if r := w.get(p); r.StatusCode != 200 {
					errs <- p + ": " + r.Status
				}
			}
		}(g)
	}
	for i := 0; i < 50; i++ {
		cfg := w.e.Config()
		cfg.Comment = aws.String("rev")
		if err := w.e.Apply(cfg); err != nil {
			t.Fatal(err)
		}
		w.e.Invalidate([]string{"/*"})
	}
	close(done)
	wg.Wait()
	select {
	case e := <-errs:
		t.Errorf("request failed during Apply/Invalidate: %s", e)
	default:
	}
}

func TestOriginPathAndCustomHeaders(t *testing.T) {
	w := newWorld(t, func(o *Options, c *types.DistributionConfig) {
		c.Origins.Items[0].OriginPath = aws.String("/v1")
		c.Origins.Items[0].CustomHeaders = &types.CustomHeaders{Quantity: ei32(1), Items: []types.OriginCustomHeader{{HeaderName: aws.String("X-Origin-Secret"), HeaderValue: aws.String("s3cr3t")}}}
	})
	w.get("/a.js?q=1")
	got := w.origins[bucketA].lastRequest()
	if got.URL.Path != "/v1/a.js" || got.Header.Get("X-Origin-Secret") != "s3cr3t" {
		t.Errorf("origin saw %q, headers %v", got.URL.Path, got.Header)
	}
}

func TestDisabledDistribution(t *testing.T) {
	w := newWorld(t, func(o *Options, c *types.DistributionConfig) { c.Enabled = aws.Bool(false) })
	if r := w.get("/a.js"); r.StatusCode != http.StatusForbidden || w.origins[bucketA].hits.Load() != 0 {
		t.Errorf("disabled distribution: %d", r.StatusCode)
	}
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
