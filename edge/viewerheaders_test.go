package edge

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
)

const pageCloudFrontHeaders = "https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/adding-cloudfront-headers.html"

const testGeoTable = `# the local stand-in for CloudFront's geolocation database
198.51.100.0/24  DE  country-name=Germany region=BY region-name=Bayern city=M%C3%BCnchen time-zone=Europe/Berlin latitude=48.13 longitude=11.58 postal-code=80331
198.51.100.7     LI  city=Vaduz   # one address beats its range
2001:db8::/32    US  region=WA metro-code=819 asn=16509
`

func mustGeoTable(t *testing.T) *GeoTable {
	t.Helper()
	g, err := ParseGeoTable(strings.NewReader(testGeoTable))
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// withGeoHeaders has the default behaviour's origin request policy name headers, and
// the edge locate viewers with testGeoTable.
func withGeoHeaders(t *testing.T, names ...string) worldOption {
	return func(o *Options, cfg *types.DistributionConfig) {
		o.Geo = mustGeoTable(t).Lookup
		o.OriginRequestPolicies = map[string]types.OriginRequestPolicyConfig{"cf-headers": {Name: aws.String("cf-headers"),
			HeadersConfig:      &types.OriginRequestPolicyHeadersConfig{HeaderBehavior: types.OriginRequestPolicyHeaderBehaviorWhitelist, Headers: &types.Headers{Quantity: ei32(int32(len(names))), Items: names}},
			CookiesConfig:      &types.OriginRequestPolicyCookiesConfig{CookieBehavior: types.OriginRequestPolicyCookieBehaviorNone},
			QueryStringsConfig: &types.OriginRequestPolicyQueryStringsConfig{QueryStringBehavior: types.OriginRequestPolicyQueryStringBehaviorNone}}}
		cfg.DefaultCacheBehavior.OriginRequestPolicyId = aws.String("cf-headers")
		cfg.DefaultCacheBehavior.CachePolicyId = aws.String(CachingDisabledID)
	}
}

func (w *testWorld) getFrom(ip, target string, hdr ...string) *http.Response {
	w.t.Helper()
	r := httptest.NewRequest(http.MethodGet, "http://d111.cloudfront.net"+target, nil)
	r.RemoteAddr = netip.AddrPortFrom(netip.MustParseAddr(ip), 40123).String()
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	w.e.ServeHTTP(rec, r)
	return rec.Result()
}

// pageCloudFrontHeaders: the headers a policy names reach the origin with the values
// CloudFront determines; a viewer cannot set them.
func TestCloudFrontHeadersReachTheOrigin(t *testing.T) {
	w := newWorld(t, withGeoHeaders(t, "CloudFront-Viewer-Country", "CloudFront-Viewer-City", "CloudFront-Viewer-Time-Zone",
		"CloudFront-Viewer-Address", "CloudFront-Forwarded-Proto", "CloudFront-Is-Mobile-Viewer", "CloudFront-Is-IOS-Viewer",
		"CloudFront-Is-Desktop-Viewer", "CloudFront-Viewer-Http-Version", "CloudFront-Viewer-Metro-Code"))
	origin := w.origins[bucketA]
	iphone := "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"
	r := w.getFrom("198.51.100.20", "/a.txt", "User-Agent", iphone, "CloudFront-Viewer-Country", "XX", "CloudFront-Is-Desktop-Viewer", "true")
	if r.StatusCode != 200 {
		t.Fatalf("status %d", r.StatusCode)
	}
	got := origin.lastRequest().Header
	for name, want := range map[string]string{
		"Cloudfront-Viewer-Country":      "DE",
		"Cloudfront-Viewer-City":         "M%C3%BCnchen", // non-ASCII percent-encoded, as the page says
		"Cloudfront-Viewer-Time-Zone":    "Europe/Berlin",
		"Cloudfront-Viewer-Address":      "198.51.100.20:40123",
		"Cloudfront-Forwarded-Proto":     "https",
		"Cloudfront-Is-Mobile-Viewer":    "true",
		"Cloudfront-Is-Ios-Viewer":       "true",
		"Cloudfront-Is-Desktop-Viewer":   "false",
		"Cloudfront-Viewer-Http-Version": "1.1",
		"Cloudfront-Viewer-Metro-Code":   "",
	} {
		if v := got.Get(name); v != want {
			t.Errorf("%s: %q, want %q (%s)", name, v, want, pageCloudFrontHeaders)
		}
	}
	// The longest prefix wins; an address the table lacks gets no location headers.
	w.getFrom("198.51.100.7", "/b.txt")
	if v := origin.lastRequest().Header.Get("CloudFront-Viewer-Country"); v != "LI" {
		t.Errorf("198.51.100.7: country %q, want LI", v)
	}
	w.getFrom("203.0.113.9", "/c.txt", "CloudFront-Viewer-Country", "DE")
	if v := origin.lastRequest().Header.Values("CloudFront-Viewer-Country"); len(v) != 0 {
		t.Errorf("an unknown viewer that sends CloudFront-Viewer-Country: the origin got %q", v)
	}
}

// A behaviour whose policies name no CloudFront header forwards none, even one the
// viewer sent; other viewer headers are untouched.
func TestViewerCannotSendCloudFrontHeaders(t *testing.T) {
	w := newWorld(t, withGeoHeaders(t, "X-Custom"))
	w.getFrom("198.51.100.20", "/a.txt", "CloudFront-Viewer-Country", "XX", "X-Custom", "kept")
	h := w.origins[bucketA].lastRequest().Header
	if h.Get("CloudFront-Viewer-Country") != "" || h.Get("X-Custom") != "kept" {
		t.Errorf("origin headers: %v", h)
	}
}

// DG georestrictions: 403 for a viewer the list refuses, the content for one it allows
// or whose location is unknown; a custom error page for 403 applies.
func TestGeoRestriction(t *testing.T) {
	for _, c := range []struct {
		kind   types.GeoRestrictionType
		ip     string
		status int
	}{
		{types.GeoRestrictionTypeWhitelist, "198.51.100.20", 200}, // DE allowed
		{types.GeoRestrictionTypeWhitelist, "2001:db8::1", 403},   // US not on the list
		{types.GeoRestrictionTypeWhitelist, "203.0.113.9", 200},   // unknown: served
		{types.GeoRestrictionTypeBlacklist, "198.51.100.20", 403}, // DE blocked
		{types.GeoRestrictionTypeBlacklist, "198.51.100.7", 200},  // LI is not
	} {
		w := newWorld(t, func(o *Options, cfg *types.DistributionConfig) {
			o.Geo = mustGeoTable(t).Lookup
			cfg.Restrictions = geoRestricted(c.kind, "DE")
		})
		r := w.getFrom(c.ip, "/a.txt")
		if r.StatusCode != c.status {
			t.Errorf("%s DE, viewer %s: %d, want %d", c.kind, c.ip, r.StatusCode, c.status)
		}
		if body := edgeBody(t, r); c.status == 403 && (!strings.Contains(body, "block access from your country") || r.Header.Get("X-Cache") != "Error from cloudfront") {
			t.Errorf("blocked viewer: X-Cache %q, body %q", r.Header.Get("X-Cache"), body)
		}
	}
	w := newWorld(t, func(o *Options, cfg *types.DistributionConfig) {
		o.Geo = mustGeoTable(t).Lookup
		cfg.Restrictions = geoRestricted(types.GeoRestrictionTypeBlacklist, "DE")
		cfg.CustomErrorResponses = &types.CustomErrorResponses{Quantity: ei32(1), Items: []types.CustomErrorResponse{
			{ErrorCode: ei32(403), ResponseCode: aws.String("403"), ResponsePagePath: aws.String("/blocked.html")}}}
	})
	r := w.getFrom("198.51.100.20", "/a.txt")
	if body := edgeBody(t, r); r.StatusCode != 403 || body != "object /blocked.html" {
		t.Errorf("custom error page: %d %q", r.StatusCode, body)
	}
}

func TestDeviceHeaders(t *testing.T) {
	for _, c := range []struct {
		ua   string
		want device
	}{
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36", device{desktop: true}},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148", device{ios: true, mobile: true}},
		{"Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) Mobile/15E148", device{ios: true, mobile: true, tablet: true}},
		{"Mozilla/5.0 (Linux; Android 14; Pixel 8) Chrome/120.0 Mobile Safari/537.36", device{android: true, mobile: true}},
		{"Mozilla/5.0 (Linux; Android 13; SM-X710) Chrome/120.0 Safari/537.36", device{android: true, mobile: true, tablet: true}},
		{"Mozilla/5.0 (SMART-TV; Linux; Tizen 7.0) AppleWebKit/537.36 SamsungBrowser/5.0 TV Safari/537.36", device{smartTV: true}},
		{"", device{desktop: true}},
	} {
		if got := deviceOf(c.ua); got != c.want {
			t.Errorf("%q: %+v, want %+v", c.ua, got, c.want)
		}
	}
}

func TestParseGeoTableRefusesBadLines(t *testing.T) {
	for _, bad := range []string{
		"198.51.100.0/24",                     // no country
		"198.51.100.0/33 DE",                  // bad prefix
		"example.com DE",                      // not an address
		"198.51.100.0/24 de",                  // lower case
		"198.51.100.0/24 DEU",                 // alpha-3
		"198.51.100.0/24 DE city",             // not key=value
		"198.51.100.0/24 DE colour=blue",      // unknown field
		"198.51.100.0/24 DE city=%zz",         // bad escape
		"ok.line 1\n198.51.100.0/24 DE city=", // empty value
	} {
		if _, err := ParseGeoTable(strings.NewReader(bad)); err == nil || !strings.Contains(err.Error(), "line ") {
			t.Errorf("%q: %v", bad, err)
		}
	}
	g, err := ParseGeoTable(strings.NewReader("::ffff:192.0.2.0/120 FR\n"))
	if err != nil {
		t.Fatal(err)
	}
	if loc, ok := g.Lookup(netip.MustParseAddr("192.0.2.9")); !ok || loc.Country != "FR" {
		t.Errorf("an IPv4-mapped range: %+v %v", loc, ok)
	}
}

func FuzzParseGeoTable(f *testing.F) {
	f.Add(testGeoTable)
	f.Add("::ffff:192.0.2.0/120 FR city=Paris\n# x\n\n10.0.0.1 US asn=1")
	f.Fuzz(func(t *testing.T, text string) {
		g, err := ParseGeoTable(strings.NewReader(text))
		if err != nil {
			if strings.ContainsAny(err.Error(), "\n\r") {
				t.Errorf("multi-line error %q", err)
			}
			return
		}
		for _, ip := range []string{"198.51.100.7", "2001:db8::1", "0.0.0.0", "::"} {
			if loc, ok := g.Lookup(netip.MustParseAddr(ip)); ok && !countryCode.MatchString(loc.Country) {
				t.Errorf("%s: country %q", ip, loc.Country)
			}
		}
	})
}
