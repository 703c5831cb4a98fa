package api

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// BenchmarkHandler measures the handler in process over a MemoryStore, so the figure is the
// API's own cost (routing, parsing, validation, JSON) without the network or a database.
// It reports p50 and p99 per-operation latency besides the mean ns/op:
//
//	go test -run '^$' -bench Handler -benchtime 20000x ./api
func BenchmarkHandler(b *testing.B) {
	ctx := context.Background()
	seeded := func(n int) *Handler {
		store := NewMemoryStore()
		h := newTestHandler(b, store, nil)
		for i := range n {
			m := Message{ID: fmt.Sprintf("0190a6b2-7c1e-7d3a-9f00-%012d", i), Author: "ann", Text: "hello from the benchmark",
				AcceptedIn: "us-east-1", AcceptedAt: fixedNow.Add(time.Duration(i) * time.Millisecond)}
			store.Put(ctx, m)
		}
		return h
	}
	cases := []struct {
		name string
		h    *Handler
		ev   func(i int) events.LambdaFunctionURLRequest
	}{
		{"health", seeded(0), func(int) events.LambdaFunctionURLRequest { return event("GET", "/api/health", "", "", nil) }},
		{"list50", seeded(1000), func(int) events.LambdaFunctionURLRequest {
			return event("GET", "/api/messages", "limit=50", "", nil)
		}},
		{"post", seeded(0), func(i int) events.LambdaFunctionURLRequest {
			return event("POST", "/api/messages", "", post(fmt.Sprintf("0190a6b2-7c1e-7d3a-9f00-%012d", i), "ann", "hello from the benchmark"), jsonCT)
		}},
		{"post-invalid", seeded(0), func(int) events.LambdaFunctionURLRequest {
			return event("POST", "/api/messages", "", `{"id":"nope","author":"a","text":"b"}`, jsonCT)
		}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			evs := make([]events.LambdaFunctionURLRequest, b.N)
			for i := range evs {
				evs[i] = c.ev(i)
			}
			lat := make([]time.Duration, 0, b.N)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				start := time.Now()
				resp, _ := c.h.Handle(ctx, evs[i])
				lat = append(lat, time.Since(start))
				if resp.StatusCode >= 500 {
					b.Fatalf("status %d", resp.StatusCode)
				}
			}
			b.StopTimer()
			reportPercentiles(b, lat)
		})
	}
}

// reportPercentiles adds p50-ns and p99-ns metrics computed from per-operation latencies.
func reportPercentiles(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Nanoseconds()) }
	b.ReportMetric(pct(0.50), "p50-ns")
	b.ReportMetric(pct(0.99), "p99-ns")
}
