package edge

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
	"github.com/google/go-cmp/cmp"
)

// rawExchange sends raw to a connection served by s and returns the responses read.
func rawExchange(t *testing.T, s *leanServer, raw string, n int) []*http.Response {
	t.Helper()
	client, server := net.Pipe()
	if !s.track(server) {
		t.Fatal("track")
	}
	done := make(chan struct{})
	go func() { s.serveConn(server); close(done) }()
	defer func() { client.Close(); <-done }()
	client.SetDeadline(time.Now().Add(10 * time.Second))
	go io.WriteString(client, raw)
	br := bufio.NewReader(client)
	var out []*http.Response
	for i := 0; i < n; i++ {
		req, _ := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
		resp, err := http.ReadResponse(br, req)
		if err != nil {
			t.Fatalf("response %d: %v", i, err)
		}
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("response %d body: %v", i, err)
		}
		resp.Body = io.NopCloser(strings.NewReader(string(b)))
		out = append(out, resp)
	}
	return out
}

type comparable struct {
	Status int
	Close  bool
	Header http.Header
	Body   string
}

func comparableResponse(t *testing.T, r *http.Response) comparable {
	t.Helper()
	b, _ := io.ReadAll(r.Body)
	h := r.Header.Clone()
	if id := h.Get("X-Amz-Cf-Id"); len(id) != 56 {
		t.Errorf("X-Amz-Cf-Id %q: want 56 characters", id)
	}
	h.Del("X-Amz-Cf-Id")
	if h.Get("Date") == "" {
		t.Errorf("no Date")
	}
	h.Del("Date") // per-second: the two requests may straddle a second
	body := regexp.MustCompile(`Request ID: \S+`).ReplaceAllString(string(b), "Request ID: (id)")
	return comparable{r.StatusCode, r.Close, h, body}
}

// TestHitPathMatchesServeHTTP: every response of the cache-hit fast path is the one
// ServeHTTP gives for the same request, and the path serves what it is meant to.
func TestHitPathMatchesServeHTTP(t *testing.T) {
	big := strings.Repeat("compressible text ", 200)
	custom := func(o *Options, c *types.DistributionConfig) {
		o.ResponseHeadersPolicies = map[string]types.ResponseHeadersPolicyConfig{"custom": {
			Name:                      aws.String("custom"),
			RemoveHeadersConfig:       &types.ResponseHeadersPolicyRemoveHeadersConfig{Quantity: ei32(2), Items: []types.ResponseHeadersPolicyRemoveHeader{{Header: aws.String("age")}, {Header: aws.String("server")}}},
			CustomHeadersConfig:       &types.ResponseHeadersPolicyCustomHeadersConfig{Quantity: ei32(1), Items: []types.ResponseHeadersPolicyCustomHeader{{Header: aws.String("X-Amz-Cf-Id"), Value: aws.String("fixed-id-for-the-test-0000000000000000000000000000000000"), Override: aws.Bool(true)}}},
			ServerTimingHeadersConfig: &types.ResponseHeadersPolicyServerTimingHeadersConfig{Enabled: aws.Bool(true), SamplingRate: aws.Float64(100)},
		}}
		c.DefaultCacheBehavior.ResponseHeadersPolicyId = aws.String("custom")
	}
	cors := func(o *Options, c *types.DistributionConfig) {
		c.DefaultCacheBehavior.ResponseHeadersPolicyId = aws.String(CORSWithPreflightAndSecurityHeadersID)
	}
	allowAll := func(o *Options, c *types.DistributionConfig) {
		o.ViewerHTTPS = false
		c.DefaultCacheBehavior.ViewerProtocolPolicy = types.ViewerProtocolPolicyAllowAll
	}
	httpOnlyViewer := func(o *Options, c *types.DistributionConfig) { o.ViewerHTTPS = false }
	for _, tc := range []struct {
		name   string
		opt    worldOption
		warm   []string // path, then header pairs
		req    string
		age    time.Duration
		fast   bool
		cold   bool // not cached before the request
		status int
	}{
		{name: "asset", warm: []string{"/a.js"}, req: "GET /a.js HTTP/1.1\r\nHost: x\r\nUser-Agent: t\r\n\r\n", fast: true, status: 200},
		{name: "head", warm: []string{"/a.js"}, req: "HEAD /a.js HTTP/1.1\r\nHost: x\r\n\r\n", fast: true, status: 200},
		{name: "age", warm: []string{"/a.js"}, age: 7 * time.Second, req: "GET /a.js HTTP/1.1\r\nHost: x\r\n\r\n", fast: true, status: 200},
		{name: "root", warm: []string{"/"}, req: "GET / HTTP/1.1\r\nHost: x\r\n\r\n", fast: true, status: 200},
		{name: "spa deep link", warm: []string{"/board"}, req: "GET /deep/link HTTP/1.1\r\nHost: x\r\n\r\n", fast: true, status: 200},
		{name: "query not in key", warm: []string{"/a.js"}, req: "GET /a.js?v=1&x=%41 HTTP/1.1\r\nHost: x\r\n\r\n", fast: true, status: 200},
		{name: "gzip", warm: []string{"/big.txt", "Accept-Encoding", "gzip"}, req: "GET /big.txt HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n", fast: true, status: 200},
		{name: "br and gzip", warm: []string{"/big.txt", "Accept-Encoding", "br, gzip"}, req: "GET /big.txt HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip, deflate, br, zstd\r\n\r\n", fast: true, status: 200},
		{name: "identity variant", warm: []string{"/big.txt"}, req: "GET /big.txt HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip;q=0, deflate\r\n\r\n", fast: true, status: 200},
		{name: "connection close", warm: []string{"/a.js"}, req: "GET /a.js HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", fast: true, status: 200},
		{name: "cookie", warm: []string{"/a.js"}, req: "GET /a.js HTTP/1.1\r\nHost: x\r\nCookie: a=b\r\n\r\n", fast: true, status: 200},
		{name: "policy removes Age, pins the id, Server-Timing", opt: custom, warm: []string{"/a.js"}, age: 3 * time.Second, req: "GET /a.js HTTP/1.1\r\nHost: x\r\n\r\n", fast: true, status: 200},
		{name: "CORS without Origin", opt: cors, warm: []string{"/a.js"}, req: "GET /a.js HTTP/1.1\r\nHost: x\r\n\r\n", fast: true, status: 200},
		{name: "CORS with Origin", opt: cors, warm: []string{"/a.js"}, req: "GET /a.js HTTP/1.1\r\nHost: x\r\nOrigin: https://o.example\r\n\r\n", status: 200},
		{name: "allow-all over http", opt: allowAll, warm: []string{"/a.js"}, req: "GET /a.js HTTP/1.1\r\nHost: x\r\n\r\n", fast: true, status: 200},
		{name: "redirect-to-https over http", opt: httpOnlyViewer, warm: []string{"/a.js"}, req: "GET /a.js HTTP/1.1\r\nHost: x\r\n\r\n", status: 301},
		{name: "if-none-match", warm: []string{"/a.js"}, req: "GET /a.js HTTP/1.1\r\nHost: x\r\nIf-None-Match: \"e-/a.js\"\r\n\r\n", fast: true, status: 304},
		{name: "if-none-match HEAD", warm: []string{"/a.js"}, req: "HEAD /a.js HTTP/1.1\r\nHost: x\r\nIf-None-Match: \"e-/a.js\"\r\n\r\n", fast: true, status: 304},
		{name: "if-none-match list, weak, star", warm: []string{"/a.js"}, req: "GET /a.js HTTP/1.1\r\nHost: x\r\nIf-None-Match: \"other\", W/\"e-/a.js\"\r\n\r\n", fast: true, status: 304},
		{name: "if-none-match *", warm: []string{"/a.js"}, req: "GET /a.js HTTP/1.1\r\nHost: x\r\nIf-None-Match: *\r\n\r\n", fast: true, status: 304},
		{name: "if-none-match other", warm: []string{"/a.js"}, req: "GET /a.js HTTP/1.1\r\nHost: x\r\nIf-None-Match: \"other\"\r\n\r\n", fast: true, status: 200},
		{name: "if-none-match beats if-modified-since", warm: []string{"/a.js"}, req: "GET /a.js HTTP/1.1\r\nHost: x\r\nIf-Modified-Since: Wed, 21 Oct 2026 07:28:00 GMT\r\nIf-None-Match: \"other\"\r\n\r\n", fast: true, status: 200},
		{name: "if-none-match gzip variant (weakened ETag)", warm: []string{"/big.txt", "Accept-Encoding", "gzip"}, req: "GET /big.txt HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\nIf-None-Match: \"big\"\r\n\r\n", fast: true, status: 304},
		{name: "if-none-match with policy", opt: custom, warm: []string{"/a.js"}, req: "GET /a.js HTTP/1.1\r\nHost: x\r\nIf-None-Match: \"e-/a.js\"\r\n\r\n", fast: true, status: 304},
		{name: "if-none-match twice", warm: []string{"/a.js"}, req: "GET /a.js HTTP/1.1\r\nHost: x\r\nIf-None-Match: \"x\"\r\nIf-None-Match: \"e-/a.js\"\r\n\r\n", status: 304},
		{name: "if-modified-since", warm: []string{"/a.js"}, req: "GET /a.js HTTP/1.1\r\nHost: x\r\nIf-Modified-Since: Wed, 21 Oct 2026 07:28:00 GMT\r\n\r\n", status: 304},
		{name: "range", warm: []string{"/a.js"}, req: "GET /a.js HTTP/1.1\r\nHost: x\r\nRange: bytes=0-3\r\n\r\n", status: 206},
		{name: "escaped path", cold: true, warm: []string{"/a.js"}, req: "GET /%61.js HTTP/1.1\r\nHost: x\r\n\r\n", status: 200},
		{name: "HTTP/1.0", warm: []string{"/a.js"}, req: "GET /a.js HTTP/1.0\r\n\r\n", status: 200},
		{name: "not cached", cold: true, req: "GET /cold.js HTTP/1.1\r\nHost: x\r\n\r\n", status: 200},
		{name: "caching disabled", req: "GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n", status: 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var opts []worldOption
			if tc.opt != nil {
				opts = append(opts, tc.opt)
			}
			w := newWorld(t, opts...)
			w.origins[bucketA].set(func(rw http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/big.txt" {
					rw.Header().Set("Content-Type", "text/plain")
					rw.Header().Set("ETag", `"big"`)
					io.WriteString(rw, big)
					return
				}
				s3Object("max-age=600")(rw, r)
			})
			if len(tc.warm) > 0 {
				w.get(tc.warm[0], tc.warm[1:]...)
			}
			w.clock.advance(tc.age)
			fast := 0
			slow := &leanServer{e: w.e, conns: map[net.Conn]struct{}{}, noHit: true}
			quick := &leanServer{e: w.e, conns: map[net.Conn]struct{}{}, onHit: func() { fast++ }}
			got := comparableResponse(t, rawExchange(t, quick, tc.req, 1)[0])
			want := comparableResponse(t, rawExchange(t, slow, tc.req, 1)[0])
			if tc.cold {
				// The first request filled the cache: compare the next one.
				got = comparableResponse(t, rawExchange(t, quick, tc.req, 1)[0])
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("fast path differs from ServeHTTP (-ServeHTTP +fast):\n%s", diff)
			}
			if got.Status != tc.status {
				t.Errorf("status %d, want %d", got.Status, tc.status)
			}
			if tc.cold {
				fast--
			}
			if (fast > 0) != tc.fast {
				t.Errorf("fast path served %d, want fast=%v", fast, tc.fast)
			}
			if strings.Contains(tc.req, "Connection: close") && !got.Close {
				t.Errorf("Connection: close not answered")
			}
		})
	}
}

// TestHitPathKeepAlive: pipelined hits on one connection, then a miss and a hit again.
func TestHitPathKeepAlive(t *testing.T) {
	w := newWorld(t)
	w.get("/a.js")
	fast := 0
	s := &leanServer{e: w.e, conns: map[net.Conn]struct{}{}, onHit: func() { fast++ }}
	req := "GET /a.js HTTP/1.1\r\nHost: x\r\n\r\n"
	rs := rawExchange(t, s, req+req+"GET /b.js HTTP/1.1\r\nHost: x\r\n\r\n"+req, 4)
	for i, r := range rs {
		b, _ := io.ReadAll(r.Body)
		want := "object /a.js"
		if i == 2 {
			want = "object /b.js"
		}
		if r.StatusCode != 200 || string(b) != want {
			t.Errorf("%d: %d %q", i, r.StatusCode, b)
		}
	}
	if fast != 3 {
		t.Errorf("fast path served %d of 3 hits", fast)
	}
}

// TestHitPathAfterApply: a new config (new response headers policy) changes what hits
// carry at once.
func TestHitPathAfterApply(t *testing.T) {
	w := newWorld(t)
	w.get("/a.js")
	s := &leanServer{e: w.e, conns: map[net.Conn]struct{}{}}
	req := "GET /a.js HTTP/1.1\r\nHost: x\r\n\r\n"
	if r := rawExchange(t, s, req, 1)[0]; r.Header.Get("X-Frame-Options") != "SAMEORIGIN" {
		t.Fatalf("before Apply: %v", r.Header)
	}
	cfg := w.e.Config()
	cfg.DefaultCacheBehavior.ResponseHeadersPolicyId = nil
	if err := w.e.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	if r := rawExchange(t, s, req, 1)[0]; r.Header.Get("X-Frame-Options") != "" || r.Header.Get("X-Cache") != "Hit from cloudfront" {
		t.Errorf("after Apply: %v", r.Header)
	}
}

// FuzzParseHitRequest: whatever the fast path's parser accepts, net/http's server
// accepts too (its parser and checkRequest), with the same length, method, path, Accept-Encoding and Connection, and
// no body.
func FuzzParseHitRequest(f *testing.F) {
	for _, s := range []string{
		"GET /a.js HTTP/1.1\r\nHost: x\r\n\r\n",
		"HEAD /a?b=c HTTP/1.1\r\nhost: d.example:80\r\nAccept-Encoding: gzip, br\r\nConnection: close\r\n\r\nGET",
		"GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n",
		"GET / HTTP/1.1\nHost: x\n\n",
		"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc",
		"GET /a%2e%2e/ HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /a HTTP/1.1\r\nHost: x\r\nX: \x01\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var hr hitRequest
		n := parseHitRequest(in, &hr)
		if n == 0 {
			return
		}
		br := bufio.NewReader(strings.NewReader(string(in)))
		req, err := http.ReadRequest(br)
		if err == nil {
			err = checkRequest(req, []string{req.Host}) // what net/http's server adds to its parser
		}
		if err != nil {
			t.Fatalf("fast parser accepted %q, net/http: %v", in, err)
		}
		consumed := len(in) - br.Buffered()
		wantMethod := http.MethodGet
		if hr.head {
			wantMethod = http.MethodHead
		}
		switch {
		case consumed != n:
			t.Errorf("length %d, net/http read %d", n, consumed)
		case req.Method != wantMethod || req.URL.EscapedPath() != hr.path || req.Proto != "HTTP/1.1":
			t.Errorf("%s %s: net/http %s %s %s", wantMethod, hr.path, req.Method, req.URL.EscapedPath(), req.Proto)
		case req.Body != http.NoBody || req.ContentLength != 0 || len(req.TransferEncoding) > 0:
			t.Errorf("request with a body accepted")
		case req.Close != hr.close:
			t.Errorf("close %v, net/http %v", hr.close, req.Close)
		case strings.Join(req.Header["Accept-Encoding"], ",") != hr.acceptEncoding:
			t.Errorf("Accept-Encoding %q, net/http %q", hr.acceptEncoding, req.Header["Accept-Encoding"])
		case (req.Header.Get("Origin") != "") != hr.origin && !(hr.origin && len(req.Header["Origin"]) > 0):
			t.Errorf("origin %v, net/http %q", hr.origin, req.Header["Origin"])
		case len(req.Header["Range"])+len(req.Header["If-Range"])+len(req.Header["If-Match"])+len(req.Header["If-Unmodified-Since"])+len(req.Header["Expect"]) > 0:
			t.Errorf("Range, a condition other than If-None-Match, or Expect accepted")
		case strings.Join(req.Header["If-None-Match"], "\x00") != hr.ifNoneMatch:
			t.Errorf("If-None-Match %q, net/http %q", hr.ifNoneMatch, req.Header["If-None-Match"])
		case hr.ifNoneMatch == "" && len(req.Header["If-Modified-Since"]) > 0:
			t.Errorf("If-Modified-Since without If-None-Match accepted")
		}
	})
}

// TestHitPathConcurrentApplyInvalidate: fast-path hits while the config changes and the
// cache is invalidated; run with -race. Every answer is a complete 200.
func TestHitPathConcurrentApplyInvalidate(t *testing.T) {
	w, addr := leanWorld(t)
	w.get("/a.js")
	base := w.e.Config()
	stop := make(chan struct{})
	errs := make(chan error, 8)
	for i := 0; i < 4; i++ {
		go func() {
			c := &http.Client{}
			for {
				select {
				case <-stop:
					errs <- nil
					return
				default:
				}
				resp, err := c.Get("http://" + addr + "/a.js")
				if err != nil {
					errs <- err
					return
				}
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || resp.StatusCode != 200 || string(b) != "object /a.js" {
					errs <- fmt.Errorf("%d %q %v", resp.StatusCode, b, err)
					return
				}
			}
		}()
	}
	for i := 0; i < 50; i++ {
		cfg := base
		if i%2 == 0 {
			cfg = w.e.Config()
			cfg.DefaultCacheBehavior.ResponseHeadersPolicyId = nil
		}
		if err := w.e.Apply(cfg); err != nil {
			t.Fatal(err)
		}
		if i%10 == 0 {
			w.e.Invalidate([]string{"/a.js"})
		}
		time.Sleep(2 * time.Millisecond)
	}
	close(stop)
	for i := 0; i < 4; i++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
