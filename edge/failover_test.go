package edge

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
)

// primaryFault is one way the primary bucket can fail.
type primaryFault struct {
	name  string
	apply func(t *testing.T, w *testWorld)
}

func handlerFault(name string, h http.HandlerFunc) primaryFault {
	return primaryFault{name, func(t *testing.T, w *testWorld) { w.origins[bucketA].set(h) }}
}

// slowHandler waits until the edge gives up (or 10 s) before answering.
func slowHandler(w http.ResponseWriter, r *http.Request) {
	// Reading the body lets the server notice when the edge hangs up.
	io.Copy(io.Discard, r.Body)
	select {
	case <-r.Context().Done():
	case <-time.After(10 * time.Second):
	}
}

func primaryFaults() []primaryFault {
	var fs []primaryFault
	for _, code := range []int{403, 404, 500, 502, 503, 504} {
		fs = append(fs, handlerFault("status "+http.StatusText(code), statusHandler(code)))
	}
	fs = append(fs,
		primaryFault{"refused", func(t *testing.T, w *testWorld) { w.point(bucketA, closedAddr(t)) }},
		primaryFault{"dns failure", func(t *testing.T, w *testWorld) {
			w.mu.Lock()
			delete(w.addrs, bucketA)
			w.mu.Unlock()
		}},
		primaryFault{"blackhole (accepts, never answers)", func(t *testing.T, w *testWorld) { w.point(bucketA, blackholeAddr(t)) }},
		primaryFault{"connect timeout", func(t *testing.T, w *testWorld) {
			w.point(bucketA, "192.0.2.1:9") // TEST-NET-1, and the dial hook below never completes
		}},
		handlerFault("reset", hijackWith(resetConn)),
		handlerFault("slow first byte", slowHandler),
	)
	return fs
}

// brokenBodyFaults answer with headers and then break the body: CloudFront has begun
// streaming to the viewer by then, so these never fail over.
func brokenBodyFaults() []primaryFault {
	return []primaryFault{
		handlerFault("truncated body", hijackWith(func(c net.Conn) {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nContent-Type: text/plain\r\n\r\n"+strings.Repeat("x", 50))
			c.Close()
		})),
		handlerFault("body stalls", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "100")
			w.WriteHeader(200)
			io.WriteString(w, strings.Repeat("x", 50))
			w.(http.Flusher).Flush()
			slowHandler(w, r)
		}),
	}
}

// TestSpec_1_3_BrokenBodyIsNotFailedOver: a body that breaks after the headers reaches
// the viewer truncated, is not cached, and the secondary is not asked.
func TestSpec_1_3_BrokenBodyIsNotFailedOver(t *testing.T) {
	for _, f := range brokenBodyFaults() {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			f.apply(t, w)
			srv := httptest.NewServer(w.e)
			defer srv.Close()
			for i := 0; i < 2; i++ {
				resp, err := http.Get(srv.URL + "/t.txt")
				if err != nil {
					t.Fatal(err)
				}
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err == nil || len(b) == 100 {
					t.Fatalf("viewer got a complete body (%d bytes, %v)", len(b), err)
				}
				if resp.Header.Get("X-Cache") == "Hit from cloudfront" {
					t.Fatal("a truncated body was cached")
				}
			}
			if w.origins[bucketB].hits.Load() != 0 {
				t.Error("failed over after the headers were sent")
			}
		})
	}
}

// blackholeDial simulates an unreachable address: the connection never completes.
func blackholeDial(ctx context.Context, network, addr string) (net.Conn, error) {
	if strings.HasPrefix(addr, "192.0.2.") {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}

func withBlackholeDial(o *Options, _ *types.DistributionConfig) { o.dial = blackholeDial }

// TestSpec_1_3_FailoverTriggers: every failure of the primary serves the secondary's
// object, and the primary is tried again on the next miss (no memory, §1.3).
func TestSpec_1_3_FailoverTriggers(t *testing.T) {
	for _, f := range primaryFaults() {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, withBlackholeDial)
			f.apply(t, w)
			r := w.get("/assets/app.js")
			if r.StatusCode != 200 {
				t.Fatalf("status %d, want the secondary's 200", r.StatusCode)
			}
			if body := edgeBody(t, r); body != "object /assets/app.js" {
				t.Fatalf("body %q", body)
			}
			if w.origins[bucketB].hits.Load() != 1 {
				t.Errorf("secondary hits = %d", w.origins[bucketB].hits.Load())
			}
			// The next miss goes to the primary first again.
			before := w.origins[bucketA].hits.Load()
			r = w.get("/assets/other.js")
			if r.StatusCode != 200 || w.origins[bucketB].hits.Load() != 2 {
				t.Fatalf("second miss: %d, secondary hits %d", r.StatusCode, w.origins[bucketB].hits.Load())
			}
			if strings.HasPrefix(f.name, "status") || f.name == "reset" || f.name == "slow first byte" {
				if w.origins[bucketA].hits.Load() != before+1 {
					t.Errorf("primary not tried first on the second miss: %d → %d", before, w.origins[bucketA].hits.Load())
				}
			}
		})
	}
}

func TestSpec_1_3_StatusNotInCriteriaIsReturned(t *testing.T) {
	for _, code := range []int{301, 400, 401, 429, 501} {
		w := newWorld(t)
		w.origins[bucketA].set(statusHandler(code))
		r := w.get("/x.txt")
		if r.StatusCode != code || w.origins[bucketB].hits.Load() != 0 {
			t.Errorf("primary %d: viewer got %d, secondary hits %d", code, r.StatusCode, w.origins[bucketB].hits.Load())
		}
	}
}

// TestSpec_1_3_PostNeverFailsOver: a behaviour bound to an origin group cannot allow writes
// (validate.go), so a write on /api/* is CloudFront's 403 and reaches no origin; a write on
// the primary's pinned path gets the primary's failure and never reaches the secondary.
func TestSpec_1_3_PostNeverFailsOver(t *testing.T) {
	for _, f := range []primaryFault{
		{"503", func(t *testing.T, w *testWorld) { w.origins[urlA].set(statusHandler(503)) }},
		{"refused", func(t *testing.T, w *testWorld) { w.point(urlA, closedAddr(t)) }},
		{"slow", func(t *testing.T, w *testWorld) { w.origins[urlA].set(slowHandler) }},
	} {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			f.apply(t, w)
			for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
				r := w.do(m, "/api/messages", strings.NewReader(`{}`), "Content-Type", "application/json")
				if b := edgeBody(t, r); r.StatusCode != 403 || !strings.Contains(b, "This distribution is not configured to allow the HTTP request method") {
					t.Errorf("%s /api/messages: %d, want CloudFront's 403 for a method the behaviour does not allow", m, r.StatusCode)
				}
			}
			if n := w.origins[urlA].hits.Load() + w.origins[urlB].hits.Load(); n != 0 {
				t.Errorf("refused writes reached the origins %d times", n)
			}
			for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
				r := w.do(m, "/api/r/us-east-1/messages", strings.NewReader(`{}`), "Content-Type", "application/json")
				if r.StatusCode < 500 {
					t.Errorf("%s pinned: status %d, want the primary's failure", m, r.StatusCode)
				}
			}
			if n := w.origins[urlB].hits.Load(); n != 0 {
				t.Errorf("secondary got %d requests", n)
			}
			// GET on the group path does fail over.
			if r := w.get("/api/messages"); r.StatusCode != 200 {
				t.Errorf("GET: %d", r.StatusCode)
			}
		})
	}
}

func TestSpec_1_3_OptionsFailsOver(t *testing.T) {
	w := newWorld(t)
	w.origins[urlA].set(statusHandler(503))
	if r := w.do(http.MethodOptions, "/api/messages", nil); r.StatusCode != 200 {
		t.Errorf("OPTIONS: %d", r.StatusCode)
	}
}

func TestSpec_1_3_PrimaryTriedFirstOnEveryMiss(t *testing.T) {
	w := newWorld(t)
	w.origins[urlA].set(statusHandler(503))
	for i := 1; i <= 3; i++ {
		if r := w.get("/api/health"); r.StatusCode != 200 {
			t.Fatalf("request %d: %d", i, r.StatusCode)
		}
		if got := w.origins[urlA].hits.Load(); got != int64(i) {
			t.Fatalf("after %d requests the primary saw %d", i, got)
		}
	}
	w.origins[urlA].set(s3Object(""))
	w.get("/api/health")
	if w.origins[urlB].hits.Load() != 3 {
		t.Errorf("healed primary: secondary hits %d, want 3", w.origins[urlB].hits.Load())
	}
}

func TestSpec_1_4_BothFail(t *testing.T) {
	tests := []struct {
		name   string
		fail   func(t *testing.T, w *testWorld, domain string)
		status int
	}{
		{"refused → 502", func(t *testing.T, w *testWorld, d string) { w.point(d, closedAddr(t)) }, 502},
		{"reset → 502", func(t *testing.T, w *testWorld, d string) { w.origins[d].set(hijackWith(resetConn)) }, 502},
		{"blackhole → 504", func(t *testing.T, w *testWorld, d string) { w.point(d, blackholeAddr(t)) }, 504},
		{"connect timeout → 504", func(t *testing.T, w *testWorld, d string) { w.point(d, "192.0.2.1:9") }, 504},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, withBlackholeDial)
			tt.fail(t, w, bucketA)
			tt.fail(t, w, bucketB)
			r := w.get("/index.html")
			if r.StatusCode != tt.status || r.Header.Get("X-Cache") != "Error from cloudfront" {
				t.Fatalf("got %d %q", r.StatusCode, r.Header.Get("X-Cache"))
			}
			body := edgeBody(t, r)
			if !strings.Contains(body, "ERROR: The request could not be satisfied") || !strings.Contains(body, r.Header.Get("X-Amz-Cf-Id")) {
				t.Errorf("error page: %s", body)
			}
		})
	}
}

func TestSpec_1_4_AttemptsPerOrigin(t *testing.T) {
	w := newWorld(t, func(o *Options, c *types.DistributionConfig) {
		c.Origins.Items[0].ConnectionAttempts = ei32(3)
	})
	w.origins[bucketA].set(hijackWith(resetConn))
	if r := w.get("/x.js"); r.StatusCode != 200 {
		t.Fatalf("status %d", r.StatusCode)
	}
	if got := w.origins[bucketA].hits.Load(); got != 3 {
		t.Errorf("GET on a resetting primary: %d attempts, want ConnectionAttempts=3", got)
	}
	// A POST is not retried after a timeout or broken connection (§1.4).
	cfg := w.e.Config()
	cfg.Origins.Items[2].ConnectionAttempts = ei32(3)
	if err := w.e.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	w.origins[urlA].set(hijackWith(resetConn))
	w.do(http.MethodPost, "/api/r/us-east-1/messages", strings.NewReader("{}"))
	if got := w.origins[urlA].hits.Load(); got != 1 {
		t.Errorf("POST attempts = %d, want 1", got)
	}
}

func TestSpec_1_4_LargeBodyStreams(t *testing.T) {
	w := newWorld(t, func(o *Options, _ *types.DistributionConfig) { o.MaxBufferedBody = 1000 })
	big := strings.Repeat("z", 5000)
	w.origins[bucketA].set(func(rw http.ResponseWriter, r *http.Request) { io.WriteString(rw, big) })
	r := w.get("/big.bin")
	if got := edgeBody(t, r); got != big || r.Header.Get("X-Cache") != "Miss from cloudfront" {
		t.Fatalf("streamed body: %d bytes, %q", len(got), r.Header.Get("X-Cache"))
	}
}

func TestSpec_1_4_StreamedBodyIsCached(t *testing.T) {
	w := newWorld(t, func(o *Options, _ *types.DistributionConfig) { o.MaxBufferedBody = 1000 })
	big := strings.Repeat("z", 5000)
	w.origins[bucketA].set(func(rw http.ResponseWriter, r *http.Request) { io.WriteString(rw, big) })
	w.get("/big.bin")
	r := w.get("/big.bin")
	if got := edgeBody(t, r); got != big || r.Header.Get("X-Cache") != "Hit from cloudfront" || r.Header.Get("Content-Length") != "5000" {
		t.Errorf("second GET of a streamed object: %d bytes, %q", len(got), r.Header.Get("X-Cache"))
	}
}

// With MaxBufferedBody < 0 every body streams, as on CloudFront: a body that breaks after
// the headers reaches the viewer truncated, and there is no failover.
func TestSpec_1_4_StreamEverythingTruncates(t *testing.T) {
	w := newWorld(t, func(o *Options, _ *types.DistributionConfig) { o.MaxBufferedBody = -1 })
	w.origins[bucketA].set(hijackWith(func(c net.Conn) {
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nContent-Type: text/plain\r\n\r\n"+strings.Repeat("x", 50))
		c.Close()
	}))
	srv := httptest.NewServer(w.e)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/t.txt")
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err == nil || len(b) == 100 {
		t.Errorf("viewer got a complete body (%d bytes, %v)", len(b), err)
	}
	if w.origins[bucketB].hits.Load() != 0 {
		t.Error("failed over after the headers were sent")
	}
	// A healthy streamed object is still cached.
	w.origins[bucketA].set(s3Object("max-age=60"))
	w.get("/ok.txt")
	if r := w.get("/ok.txt"); r.Header.Get("X-Cache") != "Hit from cloudfront" {
		t.Errorf("streamed object not cached: %q", r.Header.Get("X-Cache"))
	}
}
