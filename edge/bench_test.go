package edge

import (
	"net/http"
	"net/http/httptest"
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
