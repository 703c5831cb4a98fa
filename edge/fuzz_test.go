package edge

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
	"golang.org/x/net/http/httpguts"
)

func FuzzMatchPattern(f *testing.F) {
	for _, s := range [][2]string{{"*", "/"}, {"/api/*", "/api/x"}, {"*.doc?", "/a.docx"}, {"a*b*c*d", strings.Repeat("a", 300)}, {"?*?", "/é"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, path string) {
		got := matchPattern(pattern, path)
		if !strings.ContainsAny(pattern, "*?") {
			want := strings.TrimPrefix(pattern, "/") == strings.TrimPrefix(path, "/")
			if got != want {
				t.Fatalf("literal %q vs %q: %v", pattern, path, got)
			}
		}
		if !matchPattern("*", path) {
			t.Fatalf("* does not match %q", path)
		}
		if got && !matchPattern(pattern+"*", path) {
			t.Fatalf("%q matches %q but %q* does not", pattern, path, pattern)
		}
	})
}

func FuzzNormalizePath(f *testing.F) {
	for _, s := range []string{"/", "/a/../b", "/%2e%2e/%2E%2e/etc", "//a///b", "/a/./b/.", "/%2F..%2F", "/..", strings.Repeat("/..", 100), "/a%", "/%zz/.."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		n := normalizePath(p)
		if !strings.HasPrefix(n, "/") {
			t.Fatalf("normalizePath(%q) = %q: not rooted", p, n)
		}
		if strings.Contains(n, "//") {
			t.Fatalf("normalizePath(%q) = %q: empty segment", p, n)
		}
		for _, seg := range strings.Split(n, "/") {
			if seg == ".." || seg == "." {
				t.Fatalf("normalizePath(%q) = %q: dot segment", p, n)
			}
		}
		if again := normalizePath(n); again != n && !strings.Contains(p, "%25") {
			t.Fatalf("not idempotent: %q → %q → %q", p, n, again)
		}
	})
}

// FuzzViewerPath sends arbitrary request targets through the edge: it must never panic,
// and a path that reaches an origin must be the viewer's raw path exactly (CloudFront
// forwards the raw URI; only behaviour matching uses the normalised one), so a viewer
// can never make the origin see a path the viewer did not send.
func FuzzViewerPath(f *testing.F) {
	for _, s := range []string{"/", "/a/../b", "/%2e%2e/secret", "/api/..%2fsecret", "//x", "/api/r/us-east-1/../../x", "/a?b=c&d", "/" + strings.Repeat("a/", 200), "/%ZZ", "/a%00b", "/é", "*"} {
		f.Add(s)
	}
	w := newWorld(f, func(o *Options, c *types.DistributionConfig) {
		c.DefaultCacheBehavior.FunctionAssociations = &types.FunctionAssociations{Quantity: ei32(0)}
		c.DefaultRootObject = nil
	})
	seen := make(chan string, 1)
	for _, d := range []string{bucketA, urlA, urlB} {
		w.origins[d].set(func(rw http.ResponseWriter, r *http.Request) {
			select {
			case seen <- r.RequestURI:
			default:
			}
			rw.Header().Set("Cache-Control", "no-store")
			rw.Write([]byte("ok"))
		})
	}
	f.Fuzz(func(t *testing.T, target string) {
		raw := "GET " + target + " HTTP/1.1\r\nHost: d111.cloudfront.net\r\n\r\n"
		req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
		if err != nil {
			return // net/http refuses it before any handler runs
		}
		req.RemoteAddr = "192.0.2.7:5555"
		select {
		case <-seen:
		default:
		}
		rec := httptest.NewRecorder()
		w.e.ServeHTTP(rec, req)
		select {
		case got := <-seen:
			want := req.URL.EscapedPath()
			gotPath, _, _ := strings.Cut(got, "?")
			if gotPath != want {
				t.Fatalf("viewer path %q reached the origin as %q", want, gotPath)
			}
		case <-time.After(0):
		}
	})
}

func FuzzRequestHeaders(f *testing.F) {
	f.Add("max-age=10, s-maxage=x, stale-if-error=5", "bytes=0-1,5-", "gzip;q=0.5, br;q=0, *", "Tue, 20 Oct 2026 07:28:00 GMT", int64(20))
	f.Add(",,,=", "bytes=-0", "", "", int64(0))
	f.Fuzz(func(t *testing.T, cc, rng, ae, date string, size int64) {
		if size < 0 || size > 1<<20 {
			return
		}
		parseCacheControl([]string{cc})
		computeFreshness(&cachePolicy{minTTL: 1, defTTL: 10, maxTTL: 100}, http.Header{"Cache-Control": {cc}, "Expires": {date}}, time.Now())
		ranges, ok := parseRange(rng, size)
		if ok {
			last := int64(-1)
			for _, r := range ranges {
				if r[0] <= last || r[0] > r[1] || r[1] >= size || r[0] < 0 {
					t.Fatalf("parseRange(%q, %d) = %v", rng, size, ranges)
				}
				last = r[1]
			}
		}
		b := &behaviour{cache: &cachePolicy{gzip: true, br: true}}
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Accept-Encoding", ae)
		switch normalizedAcceptEncoding(b, r) {
		case "", "br", "gzip", "br,gzip":
		default:
			t.Fatal("unexpected normalised Accept-Encoding")
		}
		h := http.Header{"Content-Type": {ae}, "Content-Length": {"2000"}, "Etag": {date}}
		compressResponse(h, 200, make([]byte, 2000), "gzip")
	})
}

func FuzzFunctionResult(f *testing.F) {
	f.Add(`{"uri":"/x","querystring":{"a":{"value":"1"}}}`)
	f.Add(`{"statusCode":302,"headers":{"location":{"value":"/"}},"body":"x"}`)
	f.Add(`{"statusCode":"x"}`)
	f.Fuzz(func(t *testing.T, js string) {
		decodeFunctionResult("viewer-request", []byte(js))
		decodeFunctionResult("viewer-response", []byte(js))
	})
}

// FuzzViewerHeaders sends arbitrary values of the headers the edge interprets through a
// cached and an uncached behaviour: never a panic, never a 5xx from a healthy origin.
func FuzzViewerHeaders(f *testing.F) {
	f.Add("gzip, br", "bytes=0-1", `"e-/f.txt"`, "https://a.example", "a=b; c", "Tue, 20 Oct 2026 07:28:00 GMT")
	f.Add("br;q=x", "bytes=--", "W/", "null", ";;=", "garbage")
	w := newWorld(f)
	f.Fuzz(func(t *testing.T, ae, rng, inm, origin, cookie, ims string) {
		for _, target := range []string{"/f.txt", "/api/f"} {
			r := httptest.NewRequest(http.MethodGet, "http://d111.cloudfront.net"+target, nil)
			for k, v := range map[string]string{"Accept-Encoding": ae, "Range": rng, "If-None-Match": inm, "Origin": origin, "Cookie": cookie, "If-Modified-Since": ims, "If-Range": inm} {
				// net/http refuses invalid header values before any handler runs.
				if v != "" && httpguts.ValidHeaderFieldValue(v) {
					r.Header.Set(k, v)
				}
			}
			rec := httptest.NewRecorder()
			w.e.ServeHTTP(rec, r)
			if rec.Code >= 500 {
				t.Fatalf("%s: %d", target, rec.Code)
			}
		}
	})
}

// FuzzServeConn feeds raw bytes to Edge.Serve's connection loop: no panic, no hang, and
// every response it writes parses as HTTP/1.x.
func FuzzServeConn(f *testing.F) {
	f.Add([]byte("GET /a.js HTTP/1.1\r\nHost: x\r\n\r\n"))
	f.Add([]byte("POST /api/m HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nGET / HTTP/1.0\r\n\r\n"))
	f.Add([]byte("GET / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello"))
	f.Add([]byte("\x00\x01garbage"))
	// The cache-hit fast path: a warm object, pipelined, with the headers it looks at.
	f.Add([]byte("GET /a.js HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip, br\r\n\r\nHEAD /a.js HTTP/1.1\r\nHost: x\r\n\r\nGET /a.js?q HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
	f.Add([]byte("GET /a.js HTTP/1.1\r\nHost: x\r\nOrigin: o\r\nRange: bytes=1-2\r\n\r\nGET /a.js HTTP/1.1\r\nHost: x\r\nIf-None-Match: *\r\n\r\n"))
	w := newWorld(f)
	w.get("/a.js")
	f.Fuzz(func(t *testing.T, in []byte) {
		s := &leanServer{e: w.e, conns: map[net.Conn]struct{}{}}
		client, server := net.Pipe()
		if !s.track(server) {
			t.Fatal("track")
		}
		done := make(chan struct{})
		go func() { s.serveConn(server); close(done) }()
		client.SetDeadline(time.Now().Add(5 * time.Second))
		go func() {
			client.Write(in)
			// Half-close is not possible on a pipe: the server sees EOF when we close after reading.
		}()
		out := make(chan []byte)
		go func() {
			var b []byte
			buf := make([]byte, 4096)
			for {
				n, err := client.Read(buf)
				b = append(b, buf[:n]...)
				if err != nil {
					out <- b
					return
				}
			}
		}()
		select {
		case <-done:
		case <-time.After(300 * time.Millisecond):
			// Waiting for more input on a keep-alive connection: hang up.
		}
		client.Close()
		<-done
		resp := <-out
		br := bufio.NewReader(strings.NewReader(string(resp)))
		for len(resp) > 0 {
			r, err := http.ReadResponse(br, nil)
			if err != nil {
				if err.Error() == "EOF" {
					break
				}
				// A response cut short by our hang-up is fine; garbage is not.
				if !strings.HasPrefix(string(resp), "HTTP/1.") {
					t.Fatalf("unparseable output %q: %v", truncateFor(resp), err)
				}
				break
			}
			io.Copy(io.Discard, r.Body)
			r.Body.Close()
		}
	})
}
