package edge

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"
)

// seen is what a server's handler was given: one line per request.
type seen struct {
	mu   sync.Mutex
	reqs []string
}

func (s *seen) add(r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reqs = append(s.reqs, fmt.Sprintf("%s %s host=%q len=%d te=%q", r.Method, r.RequestURI, r.Host, r.ContentLength, r.TransferEncoding))
}

func (s *seen) list() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.reqs...)
}

// judge is net/http's own server, the judge of what an HTTP/1.1 server must refuse; its
// handler reads each body whole, as the edge does.
func judge(t testing.TB) (addr string, got *seen) {
	got = &seen{}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.add(r)
		io.Copy(io.Discard, r.Body)
		io.WriteString(w, "ok")
	}), ReadHeaderTimeout: 5 * time.Second, ErrorLog: nil}
	srv.SetKeepAlivesEnabled(true)
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return l.Addr().String(), got
}

// exchange sends raw to addr, half-closes, and returns what came back (until the server
// closes, or 2 s of silence).
func exchange(t testing.TB, addr string, raw []byte) []byte {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	go func() {
		c.Write(raw)
		c.(*net.TCPConn).CloseWrite()
	}()
	var out bytes.Buffer
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	io.Copy(&out, c)
	return out.Bytes()
}

// firstStatus is the status of the first response in b, or 0.
func firstStatus(b []byte) int {
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(b)), nil)
	if err != nil {
		return 0
	}
	return resp.StatusCode
}

// leanJudged is a lean server whose ServeHTTP calls are recorded. The cache-hit fast path
// is off: FuzzParseHitRequest holds its parser to net/http's server.
func leanJudged(t testing.TB) (addr string, got *seen) {
	w := newWorld(t)
	got = &seen{}
	return serveLean(t, &leanServer{e: w.e, conns: map[net.Conn]struct{}{}, noHit: true, onRequest: got.add}), got
}

// TestServeRefusesWhatNetHTTPRefuses: requests net/http's server refuses are refused by the
// lean server with the same status, and never reach ServeHTTP (issue 14 item 5: the first
// three were served).
func TestServeRefusesWhatNetHTTPRefuses(t *testing.T) {
	judgeAddr, judged := judge(t)
	leanAddr, leanSeen := leanJudged(t)
	for _, tc := range []struct{ name, raw string }{
		{"space before colon (RFC 9112 §5.1)", "POST /api/messages HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"},
		{"HTTP/1.1 without Host (RFC 9112 §3.2)", "GET /a.txt HTTP/1.1\r\n\r\n"},
		{"invalid Host", "GET /a.txt HTTP/1.1\r\nHost: a b\r\n\r\n"},
		{"absolute-form without Host", "GET http://x/a.txt HTTP/1.1\r\n\r\n"},
		{"absolute-form with an invalid Host", "GET http://x/a.txt HTTP/1.1\r\nHost: a\"b\r\n\r\n"},
		{"two Host lines", "GET /a.txt HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n"},
		{"invalid header name", "GET /a.txt HTTP/1.1\r\nHost: x\r\nX(y): 1\r\n\r\n"},
		{"space in a header name", "GET /a.txt HTTP/1.1\r\nHost: x\r\nX Y: 1\r\n\r\n"},
		{"control character in a value", "GET /a.txt HTTP/1.1\r\nHost: x\r\nX: a\x7fb\r\n\r\n"},
		{"Content-Length twice, different", "POST /api/messages HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab"},
		{"unknown Transfer-Encoding", "POST /api/messages HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n"},
		{"unknown Expect", "POST /api/messages HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\nContent-Length: 1\r\n\r\na"},
		{"HTTP/2.0 request line", "GET /a.txt HTTP/2.0\r\nHost: x\r\n\r\n"},
		{"HTTP/3.0 request line", "GET /a.txt HTTP/3.0\r\nHost: x\r\n\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := firstStatus(exchange(t, judgeAddr, []byte(tc.raw)))
			if want < 400 {
				t.Fatalf("net/http's server answered %d: not a refusal, fix the case", want)
			}
			before := len(leanSeen.list())
			got := firstStatus(exchange(t, leanAddr, []byte(tc.raw)))
			if got != want {
				t.Errorf("lean server answered %d, net/http %d", got, want)
			}
			if after := leanSeen.list(); len(after) != before {
				t.Errorf("ServeHTTP was given %q", after[before:])
			}
		})
	}
	if n := len(judged.list()); n != 0 {
		t.Errorf("the judge served %d of them: %q", n, judged.list())
	}
}

// FuzzLeanServerVsNetHTTP sends the same bytes to the lean server and to net/http's server:
// the requests the lean server hands to ServeHTTP must be a prefix of those net/http hands
// to its handler (same method, target, Host and framing). It never accepts what net/http
// refuses, and never reads a request boundary elsewhere (no smuggling through the edge).
func FuzzLeanServerVsNetHTTP(f *testing.F) {
	for _, s := range []string{
		"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST /api/messages HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST /api/messages HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
		"GET /a HTTP/1.1\r\nHost: a b\r\n\r\n",
		"GET http://h/a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.0\r\n\r\n",
		"GET /a HTTP/1.1\r\nHost: x\r\nX: 1\r\n folded\r\n\r\n",
		"GET /a HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n\r\n",
		"GET /a HTTP/1.1\nHost: x\n\n",
		"GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /b HTTP/1.1\r\nHost: y\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	judgeAddr, judged := judge(f)
	leanAddr, leanSeen := leanJudged(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		j0, l0 := len(judged.list()), len(leanSeen.list())
		exchange(t, judgeAddr, in)
		exchange(t, leanAddr, in)
		want, got := judged.list()[j0:], leanSeen.list()[l0:]
		if len(got) > len(want) {
			t.Fatalf("%q: lean server served %q, net/http %q", in, got, want)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("%q: request %d: lean server %s, net/http %s", in, i, got[i], want[i])
			}
		}
	})
}
