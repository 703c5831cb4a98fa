package local

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const faultBody = "0123456789abcdefghijklmnopqrstuvwxyz" // 36 bytes

func faultServer(t *testing.T) *Server {
	t.Helper()
	s, err := Listen("127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("ETag", `"abc"`)
		io.WriteString(w, faultBody)
	}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// faultClient does not reuse connections, so each request sees the fault anew.
func faultClient(timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, Transport: &http.Transport{DisableKeepAlives: true}}
}

func fget(t *testing.T, c *http.Client, url string) (*http.Response, string, error) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, string(b), err
}

func TestParseMode(t *testing.T) {
	for _, m := range Modes {
		if got, err := ParseMode(string(m)); err != nil || got != m {
			t.Errorf("ParseMode(%q) = %q, %v", m, got, err)
		}
	}
	if got, err := ParseMode(" Refuse "); err != nil || got != ModeRefuse {
		t.Errorf("ParseMode(Refuse) = %q, %v", got, err)
	}
	for _, bad := range []string{"", "418", "partition", "refused"} {
		if _, err := ParseMode(bad); err == nil {
			t.Errorf("ParseMode(%q) accepted", bad)
		}
	}
}

func TestFaultStatusModes(t *testing.T) {
	s := faultServer(t)
	c := faultClient(10 * time.Second)
	tests := []struct {
		mode   Mode
		status int
		code   string
	}{
		{Mode500, 500, "InternalError"},
		{Mode502, 502, "BadGateway"},
		{Mode503, 503, "SlowDown"},
		{Mode504, 504, "GatewayTimeout"},
		{Mode403, 403, "AccessDenied"},
		{Mode404, 404, "NoSuchKey"},
	}
	for _, tt := range tests {
		t.Run(string(tt.mode), func(t *testing.T) {
			if err := s.SetFault(Fault{Mode: tt.mode}); err != nil {
				t.Fatal(err)
			}
			resp, body, err := fget(t, c, s.URL()+"/b/k")
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.status || !strings.Contains(body, "<Code>"+tt.code+"</Code>") {
				t.Errorf("got %d %s, want %d with code %s", resp.StatusCode, body, tt.status, tt.code)
			}
			if resp.Header.Get("Content-Type") != "application/xml" || resp.Header.Get("X-Amz-Request-Id") == "" {
				t.Errorf("headers %v", resp.Header)
			}
			if f, ok := s.Fault(); !ok || f.Mode != tt.mode {
				t.Errorf("Fault() = %v, %v", f, ok)
			}
		})
	}
	s.Heal()
	if _, ok := s.Fault(); ok {
		t.Error("Fault() after Heal reports a fault")
	}
	resp, body, err := fget(t, c, s.URL()+"/b/k")
	if err != nil || resp.StatusCode != 200 || body != faultBody {
		t.Fatalf("after heal: %v %v %q", resp, err, body)
	}
}

func TestFaultRefuse(t *testing.T) {
	s := faultServer(t)
	// A pooled keep-alive connection must not survive the switch.
	pooled := &http.Client{Timeout: 10 * time.Second}
	if _, _, err := fget(t, pooled, s.URL()); err != nil {
		t.Fatal(err)
	}
	if err := s.SetFault(Fault{Mode: ModeRefuse}); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]*http.Client{"fresh": faultClient(10 * time.Second), "pooled": pooled} {
		_, _, err := fget(t, c, s.URL())
		if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("%s client: err = %v, want connection refused", name, err)
		}
	}
	addr := s.Addr()
	s.Heal()
	if s.Addr() != addr {
		t.Errorf("address changed over heal: %s → %s", addr, s.Addr())
	}
	if resp, body, err := fget(t, pooled, s.URL()); err != nil || resp.StatusCode != 200 || body != faultBody {
		t.Fatalf("after heal: %v %q", err, body)
	}
	// Switching from refuse to another mode listens again too.
	s.SetFault(Fault{Mode: ModeRefuse})
	s.SetFault(Fault{Mode: Mode503})
	if resp, _, err := fget(t, pooled, s.URL()); err != nil || resp.StatusCode != 503 {
		t.Fatalf("refuse→503: %v %v", resp, err)
	}
}

func TestFaultBlackhole(t *testing.T) {
	s := faultServer(t)
	s.SetFault(Fault{Mode: ModeBlackhole})
	_, _, err := fget(t, faultClient(200*time.Millisecond), s.URL())
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("err = %v, want a client timeout", err)
	}
	// The connection was accepted: a dial succeeds.
	c, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	c.Close()
}

func TestFaultSlow(t *testing.T) {
	s := faultServer(t)
	s.SetFault(Fault{Mode: ModeSlow, Delay: 50 * time.Millisecond})
	resp, body, err := fget(t, faultClient(30*time.Second), s.URL())
	if err != nil || resp.StatusCode != 200 || body != faultBody {
		t.Fatalf("slow: %v %v %q", resp, err, body)
	}
	s.SetFault(Fault{Mode: ModeSlow}) // default 3s: a short client timeout gives up
	_, _, err = fget(t, faultClient(100*time.Millisecond), s.URL())
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("err = %v, want a client timeout", err)
	}
}

func TestFaultReset(t *testing.T) {
	s := faultServer(t)
	s.SetFault(Fault{Mode: ModeReset})
	_, _, err := fget(t, faultClient(10*time.Second), s.URL())
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("err = %v, want connection reset", err)
	}
}

func TestFaultTruncate(t *testing.T) {
	s := faultServer(t)
	s.SetFault(Fault{Mode: ModeTruncate})
	resp, err := faultClient(10 * time.Second).Get(s.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.ContentLength != int64(len(faultBody)) || resp.Header.Get("ETag") != `"abc"` {
		t.Errorf("head of response: %d, length %d, %v", resp.StatusCode, resp.ContentLength, resp.Header)
	}
	b, err := io.ReadAll(resp.Body)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("read err = %v, want unexpected EOF", err)
	}
	if string(b) != faultBody[:len(faultBody)/2] {
		t.Errorf("body = %q, want the first half", b)
	}
}

func TestFaultRejectsBadInput(t *testing.T) {
	s := faultServer(t)
	if err := s.SetFault(Fault{Mode: "teapot"}); err == nil {
		t.Error("unknown mode accepted")
	}
	if err := s.SetFault(Fault{Mode: ModeSlow, Delay: -time.Second}); err == nil {
		t.Error("negative delay accepted")
	}
	if _, ok := s.Fault(); ok {
		t.Error("a rejected fault was set")
	}
}

// TestFaultCloseReleasesEverything: Close returns while requests are held in a black hole, a
// slow answer, and a refused state, and no goroutine is left behind.
func TestFaultCloseReleasesEverything(t *testing.T) {
	for _, mode := range []Mode{ModeBlackhole, ModeSlow} {
		t.Run(string(mode), func(t *testing.T) {
			s, err := Listen("127.0.0.1:0", http.NotFoundHandler())
			if err != nil {
				t.Fatal(err)
			}
			s.SetFault(Fault{Mode: mode, Delay: time.Hour})
			var wg sync.WaitGroup
			for range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					resp, err := faultClient(time.Hour).Get(s.URL())
					if err == nil {
						resp.Body.Close()
					}
				}()
			}
			// Wait until the requests are held.
			for {
				s.mu.Lock()
				n := len(s.conns)
				s.mu.Unlock()
				if n == 4 {
					break
				}
				time.Sleep(time.Millisecond)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			wg.Wait() // clients were released
			if err := s.SetFault(Fault{Mode: Mode500}); err == nil {
				t.Error("SetFault after Close succeeded")
			}
		})
	}
	s, _ := Listen("127.0.0.1:0", http.NotFoundHandler())
	s.SetFault(Fault{Mode: ModeRefuse})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s.Heal() // no-op after Close, must not listen again
	if c, err := net.Dial("tcp", s.Addr()); err == nil {
		c.Close()
		t.Error("listening after Close")
	}
}

func TestFaultConcurrentSwitching(t *testing.T) {
	s := faultServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &http.Client{Timeout: 2 * time.Second}
			for ctx.Err() == nil {
				if resp, err := c.Get(s.URL()); err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}
		}()
	}
	for i := range 200 {
		m := Modes[i%len(Modes)]
		if m == ModeBlackhole || m == ModeSlow {
			continue
		}
		if err := s.SetFault(Fault{Mode: m}); err != nil {
			t.Fatal(err)
		}
		if i%3 == 0 {
			s.Heal()
		}
	}
	s.Heal()
	cancel()
	wg.Wait()
	if resp, body, err := fget(t, faultClient(10*time.Second), s.URL()); err != nil || resp.StatusCode != 200 || body != faultBody {
		t.Fatalf("after switching: %v %q", err, body)
	}
}

// TestFaultNoGoroutineLeak: a server that went through every mode and was closed leaves no
// goroutine behind. The count is polled (bounded), since exiting goroutines finish late.
func TestFaultNoGoroutineLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	s := faultServer(t)
	c := faultClient(300 * time.Millisecond)
	for _, m := range Modes {
		s.SetFault(Fault{Mode: m, Delay: 10 * time.Millisecond})
		if resp, err := c.Get(s.URL()); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
	s.SetFault(Fault{Mode: ModeBlackhole})
	go func() {
		if resp, err := faultClient(time.Hour).Get(s.URL()); err == nil {
			resp.Body.Close()
		}
	}()
	for {
		s.mu.Lock()
		n := len(s.conns)
		s.mu.Unlock()
		if n > 0 {
			break
		}
		runtime.Gosched()
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	var after int
	for range 500 {
		if after = runtime.NumGoroutine(); after <= before {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	buf := make([]byte, 1<<16)
	t.Errorf("%d goroutines before, %d after Close:\n%s", before, after, buf[:runtime.Stack(buf, true)])
}

// TestServerCloseAfterServingIsClean: closing a server that has served, and one that was
// refused and relistened, reports no error (up prints what Close returns).
func TestServerCloseAfterServingIsClean(t *testing.T) {
	for _, name := range []string{"served", "refused then healed"} {
		s, err := Listen("127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
		if err != nil {
			t.Fatal(err)
		}
		if name == "refused then healed" {
			if err := s.SetFault(Fault{Mode: ModeRefuse}); err != nil {
				t.Fatal(err)
			}
			s.Heal()
		}
		resp, err := http.Get(s.URL() + "/")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err := s.Close(); err != nil {
			t.Errorf("%s: Close = %v", name, err)
		}
	}
}
