package edge

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
)

// discardWriter is a ResponseWriter that keeps nothing, so benchmarks measure the edge.
type discardWriter struct {
	h      http.Header
	status int
	n      int
}

func (d *discardWriter) Header() http.Header { return d.h }
func (d *discardWriter) WriteHeader(s int)   { d.status = s }
func (d *discardWriter) Write(p []byte) (int, error) {
	d.n += len(p)
	return len(p), nil
}

func benchHit(b *testing.B, size int) {
	w := newWorld(b)
	body := strings.Repeat("x", size)
	w.origins[bucketA].set(func(rw http.ResponseWriter, r *http.Request) {
		rw.Header().Set("Content-Type", "application/octet-stream")
		rw.Header().Set("Cache-Control", "max-age=31536000")
		rw.Write([]byte(body))
	})
	if r := w.get("/assets/app-0123abcd.bin"); r.StatusCode != 200 {
		b.Fatal(r.StatusCode)
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		req := httptest.NewRequest(http.MethodGet, "http://d111.cloudfront.net/assets/app-0123abcd.bin", nil)
		req.Header.Set("Accept-Encoding", "gzip, deflate, br")
		req.Header.Set("User-Agent", "bench")
		dw := &discardWriter{h: make(http.Header, 32)}
		for pb.Next() {
			clear(dw.h)
			dw.n = 0
			w.e.ServeHTTP(dw, req)
			if dw.status != 200 || dw.n != size {
				b.Fatalf("status %d, %d bytes", dw.status, dw.n)
			}
		}
	})
}

// BenchmarkCacheHit10KB is the budgeted path: a cached 10 KB object (DESIGN.md budgets).
func BenchmarkCacheHit10KB(b *testing.B) { benchHit(b, 10<<10) }

// BenchmarkCacheHit1MB serves a cached 1 MB object.
func BenchmarkCacheHit1MB(b *testing.B) { benchHit(b, 1<<20) }

// BenchmarkFailoverRefused measures a miss whose primary refuses connections: the cost
// of failing over (DESIGN.md budget: under 2 ms added).
func BenchmarkFailoverRefused(b *testing.B) {
	w := newWorld(b, func(o *Options, c *types.DistributionConfig) {})
	w.point(urlA, closedAddr(b))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := httptest.NewRequest(http.MethodGet, "http://d111.cloudfront.net/api/health", nil)
		rec := httptest.NewRecorder()
		w.e.ServeHTTP(rec, r)
		if rec.Code != 200 {
			b.Fatalf("status %d", rec.Code)
		}
	}
}

// BenchmarkOriginHealthy is the same miss with a healthy primary, for comparison.
func BenchmarkOriginHealthy(b *testing.B) {
	w := newWorld(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := httptest.NewRequest(http.MethodGet, "http://d111.cloudfront.net/api/health", nil)
		rec := httptest.NewRecorder()
		w.e.ServeHTTP(rec, r)
		if rec.Code != 200 {
			b.Fatalf("status %d", rec.Code)
		}
	}
}

// benchServe measures cache hits through Edge.Serve over loopback, one keep-alive
// connection per parallel client; parser "net/http" turns the hit fast path off (the
// server as it was before the fast path). With revalidate, every request carries the
// object's ETag in If-None-Match and gets a 304, as a browser revalidating a page does.
func benchServe(b *testing.B, size int, revalidate bool) {
	for _, mode := range []string{"fast", "net/http"} {
		b.Run(mode, func(b *testing.B) {
			w := newWorld(b)
			body := strings.Repeat("x", size)
			w.origins[bucketA].set(func(rw http.ResponseWriter, r *http.Request) {
				rw.Header().Set("Content-Type", "application/octet-stream")
				rw.Header().Set("Cache-Control", "max-age=31536000")
				rw.Header().Set("ETag", `"bench"`)
				rw.Write([]byte(body))
			})
			w.get("/assets/app-0123abcd.bin")
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			s := &leanServer{e: w.e, conns: map[net.Conn]struct{}{}, noHit: mode != "fast"}
			done := make(chan struct{})
			go func() { s.serve(l); close(done) }()
			defer func() { l.Close(); <-done }()
			req := []byte("GET /assets/app-0123abcd.bin HTTP/1.1\r\nHost: bench\r\nUser-Agent: wrk\r\n\r\n")
			wantStatus, sent := 200, size
			if revalidate {
				req = []byte("GET /assets/app-0123abcd.bin HTTP/1.1\r\nHost: bench\r\nUser-Agent: wrk\r\nIf-None-Match: \"bench\"\r\n\r\n")
				wantStatus, sent = 304, 0
			}
			b.SetBytes(int64(sent))
			b.ReportAllocs()
			if p, err := strconv.Atoi(os.Getenv("EDGE_BENCH_CONNS_PER_CPU")); err == nil && p > 0 {
				b.SetParallelism(p) // e.g. 32 on 2 CPUs: wrk's 64 connections
			}
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				c, err := net.Dial("tcp", l.Addr().String())
				if err != nil {
					b.Error(err)
					return
				}
				defer c.Close()
				br := bufio.NewReaderSize(c, 64<<10)
				buf := make([]byte, 64<<10)
				respLen := 0
				for pb.Next() {
					if _, err := c.Write(req); err != nil {
						b.Error(err)
						return
					}
					if respLen == 0 {
						// The first response gives the length of all: the head differs
						// only in values of fixed width here (the test clock stands still).
						var raw bytes.Buffer
						resp, err := http.ReadResponse(bufio.NewReader(io.TeeReader(br, &raw)), nil)
						if err != nil || resp.StatusCode != wantStatus || resp.Header.Get("X-Cache") != "Hit from cloudfront" {
							b.Errorf("first response: %v %v", resp, err)
							return
						}
						io.Copy(io.Discard, resp.Body)
						respLen = bytes.Index(raw.Bytes(), []byte("\r\n\r\n")) + 4 + sent
						if n := raw.Len(); n < respLen {
							io.CopyN(io.Discard, br, int64(respLen-n))
						}
						continue
					}
					for left := respLen; left > 0; {
						n, err := br.Read(buf[:min(left, len(buf))])
						if err != nil {
							b.Error(err)
							return
						}
						left -= n
					}
				}
			})
		})
	}
}

// BenchmarkServeHit10KB: a cached 10 KB object through Edge.Serve over loopback.
func BenchmarkServeHit10KB(b *testing.B) { benchServe(b, 10<<10, false) }

// BenchmarkServeRevalidate10KB: a conditional request for a cached 10 KB object (304).
func BenchmarkServeRevalidate10KB(b *testing.B) { benchServe(b, 10<<10, true) }

// BenchmarkServeHit1MB: a cached 1 MB object through Edge.Serve over loopback.
func BenchmarkServeHit1MB(b *testing.B) { benchServe(b, 1<<20, false) }
