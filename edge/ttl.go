package edge

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// cacheControl is the subset of an origin's Cache-Control that CloudFront acts on.
type cacheControl struct {
	maxAge, sMaxAge    int64
	hasMaxAge, hasSMax bool
	noCache, noStore   bool
	private            bool
	swr, sie           int64
	hasSWR, hasSIE     bool
}

// parseCacheControl parses Cache-Control directives (RFC 9111 §5.2). Unknown directives
// and malformed values are ignored, as caches must.
func parseCacheControl(values []string) cacheControl {
	var cc cacheControl
	for _, v := range values {
		for _, d := range strings.Split(v, ",") {
			d = strings.TrimSpace(d)
			if d == "" {
				continue
			}
			name, arg, _ := strings.Cut(d, "=")
			name = strings.ToLower(strings.TrimSpace(name))
			arg = strings.Trim(strings.TrimSpace(arg), `"`)
			num := func() (int64, bool) {
				n, err := strconv.ParseInt(arg, 10, 64)
				if err != nil || n < 0 {
					return 0, false
				}
				// §2.4: max-age range is 0 … 100 years.
				if n > 100*365*86400 {
					n = 100 * 365 * 86400
				}
				return n, true
			}
			switch name {
			case "max-age":
				if n, ok := num(); ok {
					cc.maxAge, cc.hasMaxAge = n, true
				}
			case "s-maxage":
				if n, ok := num(); ok {
					cc.sMaxAge, cc.hasSMax = n, true
				}
			case "no-cache":
				cc.noCache = true
			case "no-store":
				cc.noStore = true
			case "private":
				cc.private = true
			case "stale-while-revalidate":
				if n, ok := num(); ok {
					cc.swr, cc.hasSWR = n, true
				}
			case "stale-if-error":
				if n, ok := num(); ok {
					cc.sie, cc.hasSIE = n, true
				}
			}
		}
	}
	return cc
}

// freshness is how long CloudFront keeps an object and what it may do once it expires.
type freshness struct {
	store bool          // false: do not cache at all
	ttl   time.Duration // fresh for this long after storing
	swr   time.Duration // stale-while-revalidate window after ttl (§2.5)
	sie   time.Duration // stale-if-error window after ttl (§2.5)
	// sieOff: "stale-if-error=0" — never serve this object stale on errors (§2.4 table).
	sieOff bool
	// noCacheDirective: the origin said no-cache/no-store/private and MinTTL>0 kept it
	// anyway; such objects disable request collapsing when MinTTL is 0 (§2.3).
	noCacheDirective bool
}

func clamp(n, lo, hi int64) int64 {
	if n < lo {
		n = lo
	}
	if n > hi {
		n = hi
	}
	return n
}

// computeFreshness applies the TTL table of spec/cloudfront.md §2.4 to an origin
// response for a cache policy:
//
//	origin sends                     MinTTL = 0               MinTTL > 0
//	max-age=N                        min(N, MaxTTL)           clamp(N, MinTTL, MaxTTL)
//	s-maxage=S (wins over max-age)   min(S, MaxTTL)           clamp(S, MinTTL, MaxTTL)
//	Expires only                     min(T−now, MaxTTL)       clamp(T−now, MinTTL, MaxTTL)
//	none                             DefaultTTL               max(MinTTL, DefaultTTL)
//	no-cache / no-store / private    not cached               cached for MinTTL
//
// A ttl of 0 with store=true means "keep, but revalidate before every use".
func computeFreshness(p *cachePolicy, h http.Header, now time.Time) freshness {
	if p.disabled() {
		return freshness{}
	}
	cc := parseCacheControl(h.Values("Cache-Control"))
	f := freshness{store: true}
	if cc.hasSWR {
		f.swr = time.Duration(cc.swr) * time.Second
	}
	if cc.hasSIE {
		f.sie = time.Duration(cc.sie) * time.Second
		f.sieOff = cc.sie == 0
	}
	var secs int64
	exp, hasExpires := expiresAt(h, now)
	switch {
	case cc.noCache || cc.noStore || cc.private:
		if p.minTTL == 0 {
			return freshness{}
		}
		f.noCacheDirective = true
		secs = p.minTTL
	case cc.hasSMax:
		secs = clamp(cc.sMaxAge, p.minTTL, p.maxTTL)
	case cc.hasMaxAge:
		secs = clamp(cc.maxAge, p.minTTL, p.maxTTL)
	case hasExpires:
		// "CloudFront caches objects until the date in the Expires header" (Developer
		// Guide, Expiration); an Expires that is not one valid HTTP-date is already
		// expired (expiresAt).
		d := int64(exp.Sub(now) / time.Second)
		if exp.IsZero() || d < 0 {
			d = 0
		}
		secs = clamp(d, p.minTTL, p.maxTTL)
	default:
		secs = clamp(p.defTTL, p.minTTL, p.maxTTL)
	}
	f.ttl = time.Duration(secs) * time.Second
	return f
}
