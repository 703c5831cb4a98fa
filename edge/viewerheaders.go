package edge

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
)

// CloudFront request headers (DG adding-cloudfront-headers, "Add CloudFront request
// headers"): CloudFront adds headers about the viewer to the requests it forwards, and to
// the request object of viewer-request functions, when a behaviour's cache policy or
// origin request policy names them. The edge adds the ones it can know:
//
//   - CloudFront-Viewer-Address (ip:port), CloudFront-Forwarded-Proto, CloudFront-Viewer-Http-Version;
//   - the device headers (CloudFront-Is-{Android,Desktop,IOS,Mobile,SmartTV,Tablet}-Viewer),
//     "true" or "false" from the User-Agent. CloudFront's device rules are not published;
//     deviceOf states the ones used here;
//   - the location headers (Country, Country-Name, Country-Region, Country-Region-Name, City,
//     Postal-Code, Time-Zone, Latitude, Longitude, Metro-Code, ASN) from Options.Geo, which
//     stands in for CloudFront's geolocation database. A viewer Options.Geo does not know
//     gets none of them, as CloudFront serves a viewer whose location it cannot determine
//     (DG georestrictions).
//
// Not added: CloudFront-Viewer-TLS, the JA3/JA4 fingerprints and the header-order headers
// (Go's HTTP server keeps neither the ClientHello nor the order of header fields).
//
// A viewer cannot send these headers itself: a request header of one of these names is
// dropped before the behaviour's policies see it [INFER: CloudFront documents the headers
// as values it determines; letting a viewer choose CloudFront-Viewer-Country would make
// every decision based on it spoofable].

// Geo is a viewer's location, as CloudFront's location headers give it.
type Geo struct {
	Country     string // ISO 3166-1 alpha-2, e.g. "DE"
	CountryName string
	Region      string // first-level ISO 3166-2 subdivision, up to three characters
	RegionName  string
	City        string
	PostalCode  string
	TimeZone    string // IANA, e.g. "Europe/Berlin"
	Latitude    string
	Longitude   string
	MetroCode   string // United States only
	ASN         string
}

// cloudFrontHeader computes one CloudFront header for a request; "" means absent.
type cloudFrontHeader func(rs *reqState, geo *Geo) string

// cloudFrontHeaders are the headers CloudFront determines, by lower-case name; the location
// headers join them from geoFields (init below).
var cloudFrontHeaders = map[string]cloudFrontHeader{
	"cloudfront-viewer-address": func(rs *reqState, _ *Geo) string {
		if _, err := netip.ParseAddrPort(rs.r.RemoteAddr); err != nil {
			return ""
		}
		return rs.r.RemoteAddr
	},
	"cloudfront-forwarded-proto": func(rs *reqState, _ *Geo) string {
		if rs.https {
			return "https"
		}
		return "http"
	},
	"cloudfront-viewer-http-version": func(rs *reqState, _ *Geo) string {
		return fmt.Sprintf("%d.%d", rs.r.ProtoMajor, rs.r.ProtoMinor)
	},
	"cloudfront-is-android-viewer": deviceHeader(func(d device) bool { return d.android }),
	"cloudfront-is-desktop-viewer": deviceHeader(func(d device) bool { return d.desktop }),
	"cloudfront-is-ios-viewer":     deviceHeader(func(d device) bool { return d.ios }),
	"cloudfront-is-mobile-viewer":  deviceHeader(func(d device) bool { return d.mobile }),
	"cloudfront-is-smarttv-viewer": deviceHeader(func(d device) bool { return d.smartTV }),
	"cloudfront-is-tablet-viewer":  deviceHeader(func(d device) bool { return d.tablet }),
}

// isCloudFrontHeader reports whether CloudFront determines the header of this lower-case
// name (including those the edge cannot compute).
func isCloudFrontHeader(name string) bool {
	return strings.HasPrefix(name, "cloudfront-viewer-") || strings.HasPrefix(name, "cloudfront-is-") || name == "cloudfront-forwarded-proto"
}

// geoFields are the location fields: the CloudFront header that carries each one, and
// its key in a GeoTable line (the country has its own column).
var geoFields = []struct {
	header, key string
	field       func(*Geo) *string
}{
	{"cloudfront-viewer-country", "", func(g *Geo) *string { return &g.Country }},
	{"cloudfront-viewer-country-name", "country-name", func(g *Geo) *string { return &g.CountryName }},
	{"cloudfront-viewer-country-region", "region", func(g *Geo) *string { return &g.Region }},
	{"cloudfront-viewer-country-region-name", "region-name", func(g *Geo) *string { return &g.RegionName }},
	{"cloudfront-viewer-city", "city", func(g *Geo) *string { return &g.City }},
	{"cloudfront-viewer-postal-code", "postal-code", func(g *Geo) *string { return &g.PostalCode }},
	{"cloudfront-viewer-time-zone", "time-zone", func(g *Geo) *string { return &g.TimeZone }},
	{"cloudfront-viewer-latitude", "latitude", func(g *Geo) *string { return &g.Latitude }},
	{"cloudfront-viewer-longitude", "longitude", func(g *Geo) *string { return &g.Longitude }},
	{"cloudfront-viewer-metro-code", "metro-code", func(g *Geo) *string { return &g.MetroCode }},
	{"cloudfront-viewer-asn", "asn", func(g *Geo) *string { return &g.ASN }},
}

// The location headers join cloudFrontHeaders: the viewer's field, absent when its
// location is unknown. "For non-ASCII characters in these headers' values, CloudFront
// percent-encodes the character" (RFC 3986 §2.1).
func init() {
	for _, f := range geoFields {
		field := f.field
		cloudFrontHeaders[f.header] = func(_ *reqState, g *Geo) string {
			if g == nil {
				return ""
			}
			return percentEncodeNonASCII(*field(g))
		}
	}
}

func percentEncodeNonASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			var b strings.Builder
			for j := 0; j < len(s); j++ {
				if c := s[j]; c >= 0x80 {
					fmt.Fprintf(&b, "%%%02X", c)
				} else {
					b.WriteByte(c)
				}
			}
			return b.String()
		}
	}
	return s
}

// device is what the User-Agent says of the viewer's device.
type device struct{ android, desktop, ios, mobile, smartTV, tablet bool }

func deviceHeader(f func(device) bool) cloudFrontHeader {
	return func(rs *reqState, _ *Geo) string {
		if f(deviceOf(rs.r.Header.Get("User-Agent"))) {
			return "true"
		}
		return "false"
	}
}

var (
	uaSmartTV = regexp.MustCompile(`(?i)smart-?tv|googletv|appletv|hbbtv|netcast|roku|crkey|tizen.*tv|web0s|bravia|aftb|aftm`)
	uaTablet  = regexp.MustCompile(`(?i)ipad|tablet|kindle|silk/|playbook|nexus (7|9|10)`)
	uaMobile  = regexp.MustCompile(`(?i)mobi|iphone|ipod|android|blackberry|opera mini|iemobile|windows phone`)
	uaIOS     = regexp.MustCompile(`(?i)iphone|ipad|ipod`)
)

// deviceOf classifies a User-Agent: iOS for iPhone, iPad and iPod; Android for Android;
// a tablet for iPad, Kindle/Silk and Android without "Mobile" (Google's convention for
// tablets); mobile for phones and, as the DG says "for some tablet devices", for tablets
// too; a smart TV for the TV platforms' tokens; desktop when none of these.
func deviceOf(ua string) device {
	var d device
	d.smartTV = uaSmartTV.MatchString(ua)
	d.ios = uaIOS.MatchString(ua)
	lower := strings.ToLower(ua)
	d.android = strings.Contains(lower, "android")
	d.tablet = uaTablet.MatchString(ua) || d.android && !strings.Contains(lower, "mobile")
	d.mobile = uaMobile.MatchString(ua) || d.tablet
	d.desktop = !d.mobile && !d.tablet && !d.smartTV
	return d
}

// viewerHeaderNames lists the CloudFront headers a behaviour's policies name, which the
// edge adds to its requests.
func viewerHeaderNames(b *behaviour) []string {
	var names []string
	add := func(s nameSet) {
		for _, n := range s.list {
			if _, ok := cloudFrontHeaders[n]; ok && !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
	}
	if b.cache != nil {
		add(b.cache.headers)
	}
	if b.originReq != nil && (b.originReq.headers.mode == "whitelist" || b.originReq.headers.mode == "allViewerAndWhitelistCloudFront") {
		add(b.originReq.headers)
	}
	return names
}

// addViewerHeaders drops viewer-sent CloudFront headers and adds the ones the behaviour
// names (see the comment at the top of this file). rs.header is copied before it changes.
func (e *Edge) addViewerHeaders(rs *reqState, geo *Geo) {
	copied := false
	own := func() {
		if !copied {
			rs.header = rs.header.Clone()
			copied = true
		}
	}
	for name := range rs.header {
		if len(name) > 11 && strings.EqualFold(name[:11], "cloudfront-") && isCloudFrontHeader(strings.ToLower(name)) {
			own()
			delete(rs.header, name)
		}
	}
	for _, name := range rs.b.viewerHeaders {
		if v := cloudFrontHeaders[name](rs, geo); v != "" {
			own()
			rs.header[http.CanonicalHeaderKey(name)] = []string{v}
		}
	}
}

// viewerGeo looks up the viewer's location with Options.Geo; nil when unknown.
func (e *Edge) viewerGeo(r *http.Request) *Geo {
	if e.opts.Geo == nil {
		return nil
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return nil
	}
	g, ok := e.opts.Geo(ip.Unmap())
	if !ok {
		return nil
	}
	return &g
}

// geoRestriction is a compiled Restrictions.GeoRestriction: CloudFront answers 403 to a
// viewer in a country the allow list lacks or the block list has, and serves a viewer
// whose location it cannot determine (DG georestrictions).
type geoRestriction struct {
	allow     bool // whitelist; else blacklist
	countries map[string]bool
}

func compileGeoRestriction(r *types.Restrictions) *geoRestriction {
	if r == nil || r.GeoRestriction == nil {
		return nil
	}
	g := r.GeoRestriction
	switch g.RestrictionType {
	case types.GeoRestrictionTypeWhitelist, types.GeoRestrictionTypeBlacklist:
	default:
		return nil
	}
	out := &geoRestriction{allow: g.RestrictionType == types.GeoRestrictionTypeWhitelist, countries: map[string]bool{}}
	for _, c := range g.Items {
		out.countries[strings.ToUpper(c)] = true
	}
	return out
}

// blocks reports whether the restriction refuses a viewer at geo.
func (g *geoRestriction) blocks(geo *Geo) bool {
	if g == nil || geo == nil || geo.Country == "" {
		return false
	}
	return g.countries[geo.Country] != g.allow
}

// GeoTable maps address ranges to locations: the local stand-in for CloudFront's
// geolocation database. Its text form (ParseGeoTable) has one range per line:
//
//	# comment
//	127.0.0.0/8  DE  city=Berlin region=BE time-zone=Europe/Berlin
//	2001:db8::/32 US region=WA metro-code=819 asn=16509
//
// a CIDR prefix (or one address), an ISO 3166-1 alpha-2 country code, then optional
// key=value fields: country-name, region, region-name, city, postal-code, time-zone,
// latitude, longitude, metro-code, asn; values with spaces are percent-encoded
// (city=New%20York). The longest matching prefix wins.
type GeoTable struct {
	entries []geoEntry
}

type geoEntry struct {
	prefix netip.Prefix
	geo    Geo
}

var countryCode = regexp.MustCompile(`^[A-Z]{2}$`)

// ParseGeoTable reads a GeoTable; an error names the line.
func ParseGeoTable(r io.Reader) (*GeoTable, error) {
	t := &GeoTable{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), 64*1024)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if i := strings.IndexByte(text, '#'); i >= 0 {
			text = strings.TrimSpace(text[:i])
		}
		if text == "" {
			continue
		}
		fields := strings.Fields(text)
		if len(fields) < 2 {
			return nil, fmt.Errorf("geo table line %d: want an address range and a country code, got %q", line, text)
		}
		p, err := netip.ParsePrefix(fields[0])
		if err != nil {
			a, aerr := netip.ParseAddr(fields[0])
			if aerr != nil {
				return nil, fmt.Errorf("geo table line %d: %q is not a CIDR prefix or an address", line, fields[0])
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		p = p.Masked()
		if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(a.Unmap(), p.Bits()-96) // ::ffff:a.b.c.d/120 is a.b.c.d/24
		}
		e := geoEntry{prefix: p}
		if !countryCode.MatchString(fields[1]) {
			return nil, fmt.Errorf("geo table line %d: %q is not a two-letter upper-case country code (ISO 3166-1 alpha-2)", line, fields[1])
		}
		e.geo.Country = fields[1]
		for _, kv := range fields[2:] {
			k, v, ok := strings.Cut(kv, "=")
			if !ok || v == "" {
				return nil, fmt.Errorf("geo table line %d: %q is not key=value", line, kv)
			}
			if uv, err := url.PathUnescape(v); err == nil {
				v = uv
			} else {
				return nil, fmt.Errorf("geo table line %d: %s: bad percent-encoding", line, k)
			}
			dst := geoField(&e.geo, k)
			if dst == nil {
				return nil, fmt.Errorf("geo table line %d: unknown field %q (%s)", line, k, geoKeys())
			}
			*dst = v
		}
		t.entries = append(t.entries, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("geo table: %w", err)
	}
	// Longest prefix first, so Lookup's first match is the most specific.
	slices.SortStableFunc(t.entries, func(a, b geoEntry) int { return b.prefix.Bits() - a.prefix.Bits() })
	return t, nil
}

// geoField is the field of g a GeoTable key names; nil for an unknown key.
func geoField(g *Geo, key string) *string {
	for _, f := range geoFields {
		if f.key != "" && f.key == key {
			return f.field(g)
		}
	}
	return nil
}

// geoKeys lists the GeoTable keys, for the error that names an unknown one.
func geoKeys() string {
	var keys []string
	for _, f := range geoFields {
		if f.key != "" {
			keys = append(keys, f.key)
		}
	}
	return strings.Join(keys, ", ")
}

// Lookup returns the location of ip: the longest matching range.
func (t *GeoTable) Lookup(ip netip.Addr) (Geo, bool) {
	ip = ip.Unmap()
	for _, e := range t.entries {
		if e.prefix.Contains(ip) {
			return e.geo, true
		}
	}
	return Geo{}, false
}
