package edge

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
)

// Caching fixes of issue 11, each reproducing a case of the HTTP caching test suite
// http-tests/cache-tests (test ids cited) with the configuration edge/cachetests runs
// it under: one custom origin, UseOriginCacheControlHeaders-QueryStrings and AllViewer.

// cacheTestsBehaviour points the default behaviour at the custom origin urlA (without
// OAC, so no signature replaces Authorization) with the given cache policy and
// AllViewer, all methods, no functions.
func cacheTestsBehaviour(cachePolicy string) worldOption {
	return func(o *Options, c *types.DistributionConfig) {
		c.Origins.Items[2].OriginAccessControlId = aws.String("")
		d := c.DefaultCacheBehavior
		d.TargetOriginId = aws.String("api-us-east-1")
		d.CachePolicyId = aws.String(cachePolicy)
		d.OriginRequestPolicyId = aws.String(AllViewerID)
		d.ResponseHeadersPolicyId = nil
		d.Compress = aws.Bool(false)
		d.AllowedMethods = methodsAll(types.MethodGet, types.MethodHead, types.MethodOptions, types.MethodPut, types.MethodPatch, types.MethodPost, types.MethodDelete)
		d.FunctionAssociations = &types.FunctionAssociations{Quantity: ei32(0)}
		c.DefaultRootObject = aws.String("")
	}
}

func fixedResponse(hdr ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(hdr); i += 2 {
			w.Header().Add(hdr[i], hdr[i+1])
		}
		io.WriteString(w, "body")
	}
}

// cache-tests other-authorization: a shared cache must not reuse a response to a request
// with Authorization. CloudFront's way: Authorization reaches the origin only when it is
// in the cache key or caching is off, so what is cached was never produced for it.
func TestAuthorizationOnlyInCacheKeyOrUncached(t *testing.T) {
	t.Run("cached behaviour with AllViewer does not forward it", func(t *testing.T) {
		w := newWorld(t, cacheTestsBehaviour(UseOriginCacheControlHeadersQueryStringsID))
		o := w.origins[urlA]
		o.set(fixedResponse("Cache-Control", "max-age=3600"))
		w.get("/private", "Authorization", "FOO")
		if got := o.lastRequest().Header.Get("Authorization"); got != "" {
			t.Fatalf("origin got Authorization %q through an origin request policy on a cached behaviour", got)
		}
		if r := w.get("/private"); r.Header.Get("X-Cache") != "Hit from cloudfront" {
			t.Errorf("second request: %s, want a hit on the response made without Authorization", r.Header.Get("X-Cache"))
		}
	})
	t.Run("CachingDisabled with AllViewer forwards it", func(t *testing.T) {
		w := newWorld(t, cacheTestsBehaviour(CachingDisabledID))
		o := w.origins[urlA]
		o.set(fixedResponse("Cache-Control", "max-age=3600"))
		w.get("/private", "Authorization", "FOO")
		if got := o.lastRequest().Header.Get("Authorization"); got != "FOO" {
			t.Fatalf("origin got Authorization %q, want FOO", got)
		}
		w.get("/private")
		if o.hits.Load() != 2 {
			t.Errorf("origin hits %d, want 2: nothing is cached", o.hits.Load())
		}
	})
	t.Run("in the cache key it is forwarded and keys the cache", func(t *testing.T) {
		w := newWorld(t, cacheTestsBehaviour("auth-key"), func(o *Options, c *types.DistributionConfig) {
			o.CachePolicies = map[string]types.CachePolicyConfig{"auth-key": *cp(0, 0, 3600, false, false, "none", nil, "whitelist", []string{"Authorization"}, "none", nil)}
		})
		o := w.origins[urlA]
		o.set(fixedResponse("Cache-Control", "max-age=3600"))
		w.get("/private", "Authorization", "FOO")
		if got := o.lastRequest().Header.Get("Authorization"); got != "FOO" {
			t.Fatalf("origin got Authorization %q, want FOO", got)
		}
		if r := w.get("/private"); r.Header.Get("X-Cache") == "Hit from cloudfront" {
			t.Error("a request without Authorization got the response cached for FOO")
		}
		if r := w.get("/private", "Authorization", "FOO"); r.Header.Get("X-Cache") != "Hit from cloudfront" {
			t.Errorf("same Authorization again: %s, want a hit", r.Header.Get("X-Cache"))
		}
	})
	t.Run("an origin request policy naming it is refused", func(t *testing.T) {
		cfg := testDistribution()
		cfg.DefaultCacheBehavior.OriginRequestPolicyId = aws.String("with-auth")
		_, err := New(cfg, Options{Credentials: edgeCreds, OriginRequestPolicies: map[string]types.OriginRequestPolicyConfig{
			"with-auth": *orp("with-auth", "none", nil, "whitelist", []string{"Origin", "Authorization"}, "none", nil)}})
		if err == nil || !strings.Contains(err.Error(), "The parameter Headers contains Authorization that is not allowed.") {
			t.Fatalf("New = %v, want CloudFront's refusal", err)
		}
	})
}

// cache-tests other-age-update-max-age and other-age-update-expires: the Age of a hit
// counts the Age the response arrived with (RFC 9111 §4.2.3), it never goes below it.
func TestAgeOfAHitCountsTheOriginsAge(t *testing.T) {
	w := newWorld(t, cacheTestsBehaviour(UseOriginCacheControlHeadersQueryStringsID))
	o := w.origins[urlA]
	o.set(fixedResponse("Cache-Control", "max-age=86400", "Age", "7200"))
	if r := w.get("/aged"); r.Header.Get("Age") != "7200" {
		t.Errorf("miss Age %q, want the origin's 7200", r.Header.Get("Age"))
	}
	w.clock.advance(3 * time.Second)
	if r := w.get("/aged"); r.Header.Get("X-Cache") != "Hit from cloudfront" || r.Header.Get("Age") != "7203" {
		t.Errorf("hit: %s, Age %q, want a hit with Age 7203", r.Header.Get("X-Cache"), r.Header.Get("Age"))
	}
	// No Age but a Date in the past: the apparent age counts.
	o.set(fixedResponse("Cache-Control", "max-age=86400", "Date", w.clock.now().Add(-100*time.Second).Format(http.TimeFormat)))
	w.get("/dated")
	w.clock.advance(time.Second)
	if r := w.get("/dated"); r.Header.Get("Age") != "101" {
		t.Errorf("hit Age %q, want 101 (100 s apparent age + 1 s in the cache)", r.Header.Get("Age"))
	}
}

func TestParseAge(t *testing.T) {
	for _, c := range []struct {
		in   []string
		want int64
	}{
		{nil, 0}, {[]string{"30"}, 30}, {[]string{"abc"}, 0}, {[]string{"-7200"}, 0}, {[]string{"7200.0"}, 0},
		{[]string{"7200, 0"}, 7200}, {[]string{"0, 7200"}, 0}, {[]string{"7200", "0"}, 7200},
		{[]string{"2147483647"}, 2147483647}, {[]string{"2147483649"}, 1 << 31}, {[]string{"99999999999999999999999"}, 1 << 31},
		{[]string{""}, 0}, {[]string{"7200;foo=bar"}, 0},
	} {
		if got := parseAge(c.in); got != c.want {
			t.Errorf("parseAge(%q) = %d, want %d", c.in, got, c.want)
		}
	}
}

var dateNow = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

// RFC 9110 §5.6.7, and the cache-tests expires-parse suite.
func TestParseHTTPDate(t *testing.T) {
	want := time.Date(2050, 8, 18, 2, 1, 18, 0, time.UTC)
	for _, s := range []string{
		"Thu, 18 Aug 2050 02:01:18 GMT",    // IMF-fixdate
		"Thursday, 18-Aug-50 02:01:18 GMT", // rfc850-date (freshness-expires-rfc850)
		"Thu Aug 18 02:01:18 2050",         // asctime-date
		"THU, 18 AUG 2050 02:01:18 gmt",    // RFC 9111 §4.2: match case-insensitively
		"thursday, 18-aug-50 02:01:18 GMT", // rfc850 likewise
	} {
		if got, err := parseHTTPDate(s, dateNow); err != nil || !got.Equal(want) {
			t.Errorf("parseHTTPDate(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	if got, err := parseHTTPDate("Thu Aug  8 02:01:18 2050", dateNow); err != nil || !got.Equal(time.Date(2050, 8, 8, 2, 1, 18, 0, time.UTC)) {
		t.Errorf("asctime with a space-padded day: %v, %v", got, err)
	}
	// A two-digit year more than 50 years ahead is in the past century.
	if got, err := parseHTTPDate("Sunday, 06-Nov-94 08:49:37 GMT", dateNow); err != nil || got.Year() != 1994 {
		t.Errorf("rfc850 94: %v, %v", got, err)
	}
	if got, err := parseHTTPDate("Friday, 01-Jan-76 00:00:00 GMT", dateNow); err != nil || got.Year() != 2076 {
		t.Errorf("rfc850 76 (50 years ahead, not more): %v, %v", got, err)
	}
	for _, s := range []string{
		"", "0", "-1", "foo",
		"Thu, 18 Aug 2050 02:01:18 UTC",   // freshness-expires-invalid-utc
		"Thu, 18 Aug 2050 02:01:18 AEST",  // freshness-expires-invalid-aest
		"Thu, 18 Aug 50 02:01:18 GMT",     // freshness-expires-invalid-2-digit-year
		"Thu 18 Aug 2050 02:01:18 GMT",    // freshness-expires-invalid-no-comma
		"Thu, 18  Aug  2050 02:01:18 GMT", // freshness-expires-invalid-multiple-spaces
		"Thu, 18-Aug-2050 02:01:18 GMT",   // freshness-expires-invalid-date-dashes
		"Thu, 18 Aug 2050 02.01.18 GMT",   // freshness-expires-invalid-time-periods
		"Thu, 18 Aug 2050 2:01:18 GMT",    // freshness-expires-invalid-1-digit-hour
		"Thu, 18 Aug 2050 02:01:18 GMT ",  // trailing space
		" Thu, 18 Aug 2050 02:01:18 GMT",  // leading space
		"Thu, 31 Feb 2050 02:01:18 GMT",   // no such day
		"Thu, 18 Aug 2050 24:01:18 GMT",   // no such hour
		"Xyz, 18 Aug 2050 02:01:18 GMT",   // no such day name
		"Thu, 18 Aug +050 02:01:18 GMT",
		"Thu Aug 18 02:01:18 2050 ",
		"Thu Aug 8 02:01:18 2050",     // asctime day needs two characters
		"Thu, 18-Aug-50 02:01:18 GMT", // rfc850 needs the long day name
	} {
		if got, err := parseHTTPDate(s, dateNow); err == nil {
			t.Errorf("parseHTTPDate(%q) = %v, want an error", s, got)
		}
	}
}

// cache-tests freshness-expires-invalid-multiple-lines, -multiple-spaces, -1-digit-hour:
// an Expires that is not exactly one valid HTTP-date is already expired.
func TestExpiresNotOneValidDateIsExpired(t *testing.T) {
	p, err := compileCachePolicy(UseOriginCacheControlHeadersQueryStringsID, ManagedCachePolicies()[UseOriginCacheControlHeadersQueryStringsID])
	if err != nil {
		t.Fatal(err)
	}
	future := dateNow.Add(time.Hour).Format(http.TimeFormat)
	for _, c := range []struct {
		name    string
		expires []string
		ttl     time.Duration
	}{
		{"valid", []string{future}, time.Hour},
		{"two lines", []string{future, future}, 0},
		{"one digit hour", []string{"Thu, 18 Aug 2050 2:01:18 GMT"}, 0},
		{"double spaces", []string{"Thu, 18  Aug  2050 02:01:18 GMT"}, 0},
		{"empty", []string{""}, 0},
	} {
		f := computeFreshness(p, http.Header{"Expires": c.expires}, dateNow)
		if !f.store || f.ttl != c.ttl {
			t.Errorf("%s: store %v ttl %v, want stored with ttl %v", c.name, f.store, f.ttl, c.ttl)
		}
	}
	// Through the edge: two Expires lines, the second request goes to the origin.
	w := newWorld(t, cacheTestsBehaviour(UseOriginCacheControlHeadersQueryStringsID))
	o := w.origins[urlA]
	o.set(fixedResponse("Expires", w.clock.now().Add(time.Hour).Format(http.TimeFormat), "Expires", w.clock.now().Add(2*time.Hour).Format(http.TimeFormat)))
	w.get("/two-expires")
	w.get("/two-expires")
	if o.hits.Load() != 2 {
		t.Errorf("origin hits %d, want 2: two Expires lines mean already expired", o.hits.Load())
	}
}

func FuzzParseHTTPDate(f *testing.F) {
	for _, s := range []string{"Thu, 18 Aug 2050 02:01:18 GMT", "Thursday, 18-Aug-50 02:01:18 GMT", "Thu Aug  8 02:01:18 2050", "Thu, 18 Aug 2050 2:01:18 GMT", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseHTTPDate(s, dateNow)
		if err != nil {
			return
		}
		// Whatever parses is a real instant that round-trips through IMF-fixdate.
		back, err := parseHTTPDate(got.Format(http.TimeFormat), dateNow)
		if err != nil || !back.Equal(got) {
			t.Fatalf("%q → %v → %q → %v, %v", s, got, got.Format(http.TimeFormat), back, err)
		}
	})
}

// cache-tests 304-etag-update-response-Test-Header (and X-Test-Header, Content-Foo,
// X-Content-Foo): a 304 updates the stored response's header fields (RFC 9111 §3.2,
// §4.3.4), except those that describe the stored content.
func Test304UpdatesStoredHeaders(t *testing.T) {
	w := newWorld(t, cacheTestsBehaviour(UseOriginCacheControlHeadersQueryStringsID))
	o := w.origins[urlA]
	o.set(func(rw http.ResponseWriter, r *http.Request) {
		h := rw.Header()
		h.Set("Cache-Control", "max-age=1")
		h.Set("ETag", `"v1"`)
		if r.Header.Get("If-None-Match") == `"v1"` {
			h.Set("Test-Header", "new")
			h.Set("Content-Foo", "new")
			h.Set("Content-Length", "999")
			h.Set("Cache-Control", "max-age=3600")
			rw.WriteHeader(http.StatusNotModified)
			return
		}
		h.Set("Test-Header", "old")
		h.Set("Content-Foo", "old")
		h.Set("Age", "50")
		io.WriteString(rw, "stored body")
	})
	w.get("/updated")
	w.clock.advance(2 * time.Second)
	r := w.get("/updated")
	if r.Header.Get("X-Cache") != "RefreshHit from cloudfront" {
		t.Fatalf("after expiry: %s, want RefreshHit", r.Header.Get("X-Cache"))
	}
	w.clock.advance(time.Second)
	r = w.get("/updated")
	if r.Header.Get("X-Cache") != "Hit from cloudfront" {
		t.Fatalf("after the 304 with max-age=3600: %s, want a hit", r.Header.Get("X-Cache"))
	}
	for _, k := range []string{"Test-Header", "Content-Foo"} {
		if got := r.Header.Get(k); got != "new" {
			t.Errorf("%s = %q after the 304, want new", k, got)
		}
	}
	if body := edgeBody(t, r); body != "stored body" || r.Header.Get("Content-Length") != "11" {
		t.Errorf("body %q, Content-Length %q: the stored content must stay as stored", body, r.Header.Get("Content-Length"))
	}
	// Validated 1 s ago by a 304 without Age: the old Age of 50 no longer counts.
	if got := r.Header.Get("Age"); got != "1" {
		t.Errorf("Age %q, want 1", got)
	}
}

// An origin's own 499 is logged as 499; 000 is only for a viewer that left before
// the response (Developer Guide, AccessLogs, sc-status).
func TestAccessLogStatus499And000(t *testing.T) {
	var buf bytes.Buffer
	w := newWorld(t, cacheTestsBehaviour(CachingDisabledID), func(o *Options, c *types.DistributionConfig) { o.AccessLog = &buf })
	o := w.origins[urlA]
	o.set(func(rw http.ResponseWriter, r *http.Request) { rw.WriteHeader(499) })
	if r := w.get("/client-closed"); r.StatusCode != 499 {
		t.Fatalf("status %d, want the origin's 499", r.StatusCode)
	}
	arrived := make(chan struct{})
	release := make(chan struct{})
	defer close(release)
	o.set(func(rw http.ResponseWriter, r *http.Request) {
		close(arrived)
		<-release
	})
	ctx, cancel := context.WithCancel(context.Background())
	req := httptest.NewRequest(http.MethodPost, "http://d111.cloudfront.net/gone", strings.NewReader("x")).WithContext(ctx)
	go func() {
		<-arrived
		cancel()
	}()
	w.e.ServeHTTP(httptest.NewRecorder(), req)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 4 {
		t.Fatalf("log:\n%s", buf.String())
	}
	names := strings.Fields(strings.TrimPrefix(lines[1], "#Fields: "))
	status := func(line string) string {
		f := strings.Split(line, "\t")
		for i, n := range names {
			if n == "sc-status" && i < len(f) {
				return f[i]
			}
		}
		return ""
	}
	if got := status(lines[2]); got != "499" {
		t.Errorf("origin 499 logged as %q", got)
	}
	if got := status(lines[3]); got != "000" {
		t.Errorf("viewer gone logged as %q, want 000", got)
	}
}

// cache-tests status-299-fresh and status-303-fresh: "CloudFront always caches
// responses to GET and HEAD requests" — any 2xx or 3xx with freshness is stored; 410 is
// on neither of CloudFront's error caching lists.
func TestEvery2xxAnd3xxIsCachedByTTL(t *testing.T) {
	w := newWorld(t, cacheTestsBehaviour(UseOriginCacheControlHeadersQueryStringsID))
	o := w.origins[urlA]
	for _, c := range []struct {
		status int
		cached bool
	}{{200, true}, {299, true}, {303, true}, {307, true}, {410, false}} {
		o.set(func(rw http.ResponseWriter, r *http.Request) {
			rw.Header().Set("Cache-Control", "max-age=3600")
			rw.Header().Set("Location", "/elsewhere")
			rw.WriteHeader(c.status)
		})
		path := "/status-" + strconv.Itoa(c.status)
		w.get(path)
		r := w.get(path)
		if got := r.Header.Get("X-Cache") == "Hit from cloudfront"; got != c.cached || r.StatusCode != c.status {
			t.Errorf("%d: second request %d %s, want cached=%v", c.status, r.StatusCode, r.Header.Get("X-Cache"), c.cached)
		}
	}
}

func FuzzParseAge(f *testing.F) {
	for _, s := range []string{"30", "7200, 0", "abc", "-1", "2147483649", " 12 ", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := parseAge([]string{s})
		if got < 0 || got > maxAge {
			t.Fatalf("parseAge(%q) = %d, out of 0..2^31", s, got)
		}
		first, _, _ := strings.Cut(s, ",")
		if n, err := strconv.ParseUint(strings.Trim(first, " \t"), 10, 31); err == nil && got != int64(n) {
			t.Fatalf("parseAge(%q) = %d, want %d", s, got, n)
		}
	})
}

// The Accept-Encoding CloudFront sends when the cache policy caches gzip and Brotli
// (Developer Guide, controlling-the-cache-key): the normalised value, "identity" for a
// viewer that accepts neither, nothing for a viewer that sent none.
func TestOriginAcceptEncodingIdentity(t *testing.T) {
	w := newWorld(t, cacheTestsBehaviour(UseOriginCacheControlHeadersQueryStringsID))
	o := w.origins[urlA]
	o.set(fixedResponse())
	for i, c := range []struct{ viewer, origin string }{
		{"gzip, deflate", "gzip"}, {"deflate", "identity"}, {"identity", "identity"}, {"", ""},
	} {
		var hdr []string
		if c.viewer != "" {
			hdr = []string{"Accept-Encoding", c.viewer}
		}
		w.get("/ae?"+strconv.Itoa(i), hdr...)
		if got := strings.Join(o.lastRequest().Header.Values("Accept-Encoding"), ","); got != c.origin {
			t.Errorf("viewer Accept-Encoding %q: origin got %q, want %q", c.viewer, got, c.origin)
		}
	}
}
