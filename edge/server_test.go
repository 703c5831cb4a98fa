package edge

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// leanWorld serves a test world's edge with Edge.Serve on a loopback port.
func leanWorld(t *testing.T) (*testWorld, string) {
	w := newWorld(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- w.e.Serve(l) }()
	t.Cleanup(func() {
		l.Close()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return w, l.Addr().String()
}

func TestServeWithHTTPClient(t *testing.T) {
	w, addr := leanWorld(t)
	body := strings.Repeat("b", 3000)
	w.origins[bucketA].set(func(rw http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/chunked.txt" {
			io.WriteString(rw, body[:10])
			rw.(http.Flusher).Flush()
			io.WriteString(rw, body[10:])
			return
		}
		rw.Header().Set("ETag", `"x"`)
		io.WriteString(rw, body)
	})
	w.origins[urlA].set(func(rw http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rw.WriteHeader(201)
		rw.Write(b)
	})
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	for i, tc := range []struct {
		method, path, body string
		hdr                []string
		status             int
		want               string
	}{
		{"GET", "/a.txt", "", nil, 200, body},
		{"GET", "/a.txt", "", nil, 200, body}, // same connection, a hit
		{"HEAD", "/a.txt", "", nil, 200, ""},
		{"GET", "/a.txt", "", []string{"If-None-Match", `"x"`}, 304, ""},
		{"POST", "/api/r/us-east-1/messages", `{"a":1}`, []string{"Content-Type", "application/json"}, 201, `{"a":1}`},
		{"GET", "/chunked.txt", "", nil, 200, body},
		{"GET", "/a.txt", "", []string{"Range", "bytes=0-4"}, 206, "bbbbb"},
	} {
		req, _ := http.NewRequest(tc.method, "http://"+addr+tc.path, strings.NewReader(tc.body))
		if tc.body == "" {
			req.Body = nil
		}
		for j := 0; j+1 < len(tc.hdr); j += 2 {
			req.Header.Set(tc.hdr[j], tc.hdr[j+1])
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("%d: %v", i, err)
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != tc.status || string(got) != tc.want {
			t.Errorf("%d %s %s: %d %q (%v), want %d %q", i, tc.method, tc.path, resp.StatusCode, truncateFor(got), err, tc.status, truncateFor([]byte(tc.want)))
		}
		if resp.Header.Get("Date") == "" || resp.Header.Get("X-Cache") == "" {
			t.Errorf("%d: headers %v", i, resp.Header)
		}
	}
}

func TestServeRawProtocol(t *testing.T) {
	_, addr := leanWorld(t)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	// Two pipelined requests, then an HTTP/1.0 one that closes the connection.
	io.WriteString(c, "GET /p1.txt HTTP/1.1\r\nHost: x\r\n\r\nGET /p2.txt HTTP/1.1\r\nHost: x\r\n\r\nGET /p3.txt HTTP/1.0\r\n\r\n")
	br := bufio.NewReader(c)
	for _, p := range []string{"/p1.txt", "/p2.txt", "/p3.txt"} {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		b, _ := io.ReadAll(resp.Body)
		if string(b) != "object "+p {
			t.Errorf("%s: %q", p, b)
		}
	}
	if _, err := br.ReadByte(); err != io.EOF {
		t.Errorf("HTTP/1.0 request: connection not closed (%v)", err)
	}
	// A malformed request gets 400 and a closed connection.
	c2, _ := net.Dial("tcp", addr)
	defer c2.Close()
	c2.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c2, "GARBAGE\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c2), nil)
	if err != nil || resp.StatusCode != 400 {
		t.Errorf("malformed: %v %v", resp, err)
	}
}

func TestServeHeaderInjection(t *testing.T) {
	h := appendHeaderValue(nil, "a\r\nSet-Cookie: x")
	if strings.ContainsAny(string(h), "\r\n") {
		t.Errorf("value kept CR/LF: %q", h)
	}
	for k, want := range map[string]bool{"X-Ok": true, "Bad Name": false, "": false, "A:b": false, "X\r\nY": false} {
		if validHeaderName(k) != want {
			t.Errorf("validHeaderName(%q) != %v", k, want)
		}
	}
}

func TestServeHeaderBudget(t *testing.T) {
	_, addr := leanWorld(t)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	go func() {
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n")
		for i := 0; i < 2000; i++ {
			if _, err := io.WriteString(c, "X-Filler: "+strings.Repeat("f", 100)+"\r\n"); err != nil {
				return
			}
		}
	}()
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil || resp.StatusCode != 431 {
		t.Fatalf("endless headers: %v %v", resp, err)
	}
}
