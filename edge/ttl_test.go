package edge

import (
	"net/http"
	"testing"
	"time"
)

// TestSpec_2_4_TTLTable checks every row of the TTL table for MinTTL = 0 and MinTTL > 0.
func TestSpec_2_4_TTLTable(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	p0 := &cachePolicy{minTTL: 0, defTTL: 86400, maxTTL: 3600}
	p5 := &cachePolicy{minTTL: 5, defTTL: 100, maxTTL: 3600}
	off := &cachePolicy{}
	exp := func(d time.Duration) string { return now.Add(d).Format(http.TimeFormat) }
	tests := []struct {
		name   string
		p      *cachePolicy
		hdr    http.Header
		store  bool
		ttl    int64
		sieOff bool
	}{
		{"max-age min0", p0, http.Header{"Cache-Control": {"max-age=60"}}, true, 60, false},
		{"max-age over MaxTTL", p0, http.Header{"Cache-Control": {"max-age=99999"}}, true, 3600, false},
		{"max-age below MinTTL", p5, http.Header{"Cache-Control": {"max-age=1"}}, true, 5, false},
		{"max-age=0 min0 (revalidate each time)", p0, http.Header{"Cache-Control": {"max-age=0"}}, true, 0, false},
		{"max-age=0 minTTL 5", p5, http.Header{"Cache-Control": {"max-age=0, must-revalidate"}}, true, 5, false},
		{"s-maxage wins", p0, http.Header{"Cache-Control": {"max-age=10, s-maxage=300"}}, true, 300, false},
		{"s-maxage clamped", p5, http.Header{"Cache-Control": {"s-maxage=2"}}, true, 5, false},
		{"expires", p0, http.Header{"Expires": {exp(120 * time.Second)}}, true, 120, false},
		{"expires in the past", p5, http.Header{"Expires": {exp(-time.Hour)}}, true, 5, false},
		{"expires invalid", p0, http.Header{"Expires": {"0"}}, true, 0, false},
		{"max-age beats expires", p0, http.Header{"Cache-Control": {"max-age=30"}, "Expires": {exp(time.Hour)}}, true, 30, false},
		{"nothing min0", p0, http.Header{}, true, 3600, false}, // DefaultTTL capped by MaxTTL
		{"nothing min5", p5, http.Header{}, true, 100, false},
		{"no-cache min0", p0, http.Header{"Cache-Control": {"no-cache"}}, false, 0, false},
		{"no-store min0", p0, http.Header{"Cache-Control": {"no-store"}}, false, 0, false},
		{"private min0", p0, http.Header{"Cache-Control": {"private, max-age=60"}}, false, 0, false},
		{"no-cache min5", p5, http.Header{"Cache-Control": {"no-cache"}}, true, 5, false},
		{"private min5 sie=0", p5, http.Header{"Cache-Control": {"private, stale-if-error=0"}}, true, 5, true},
		{"caching disabled", off, http.Header{"Cache-Control": {"max-age=600"}}, false, 0, false},
		{"garbage directives", p0, http.Header{"Cache-Control": {"max-age=abc, , =, foo"}}, true, 3600, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := computeFreshness(tt.p, tt.hdr, now)
			if f.store != tt.store || f.ttl != time.Duration(tt.ttl)*time.Second || f.sieOff != tt.sieOff {
				t.Errorf("got store=%v ttl=%v sieOff=%v, want store=%v ttl=%ds sieOff=%v", f.store, f.ttl, f.sieOff, tt.store, tt.ttl, tt.sieOff)
			}
		})
	}
}

func TestSpec_2_4_ManagedPolicyDefaults(t *testing.T) {
	for id, cfg := range ManagedCachePolicies() {
		p, err := compileCachePolicy(id, cfg)
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		switch id {
		case CachingOptimizedID:
			if p.minTTL != 1 || p.defTTL != 86400 || p.maxTTL != 31536000 || !p.gzip || !p.br {
				t.Errorf("CachingOptimized: %+v", p)
			}
		case CachingDisabledID:
			if !p.disabled() || p.gzip || p.br {
				t.Errorf("CachingDisabled: %+v", p)
			}
		}
	}
}

func TestSpec_2_5_SWRAndSIEParsed(t *testing.T) {
	now := time.Now()
	f := computeFreshness(&cachePolicy{minTTL: 0, defTTL: 10, maxTTL: 100}, http.Header{"Cache-Control": {"max-age=5, stale-while-revalidate=30, stale-if-error=60"}}, now)
	if f.ttl != 5*time.Second || f.swr != 30*time.Second || f.sie != 60*time.Second {
		t.Errorf("%+v", f)
	}
}
