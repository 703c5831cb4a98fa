package edge

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
)

// realRequests sends every case of the fixture in dir to an edge as a real viewer
// request, with the function associated to the default behaviour, and checks the case's
// documented output against what the viewer or the origin saw:
//   - {"response": …} from a viewer-request function: the viewer's response;
//   - {"request": …}: the request the origin received (the edge forwards every viewer
//     header, cookie and query string, AllViewerExceptHostHeader, so what the function
//     returned reaches the origin; Host is the origin's own, as on CloudFront);
//   - a viewer-response function: the origin answers with the event's response, and the
//     viewer's response is compared.
//
// What HTTP cannot carry is left out of the comparison and said here: statusDescription
// (HTTP/2 has no reason phrase, and CloudFront's is not documented to follow it), the
// request's host header (above) and method (the origin sees the viewer's method; no
// case changes it).
//
// CloudFront's location headers (cloudfront-viewer-country …) in an event are what
// CloudFront determined from the viewer's address (DG adding-cloudfront-headers): the
// edge is given a geolocation table (Options.Geo) that places the event's viewer address
// there, the behaviour's origin request policy names the headers, and the viewer sends
// the headers itself with the wrong value "XX", which the edge must replace.
//
// It returns how many cases it ran.
func realRequests(t *testing.T, dir string) int {
	code := string(must(os.ReadFile(filepath.Join(dir, "code.js"))))
	var cases []realCase
	if err := json.Unmarshal(must(os.ReadFile(filepath.Join(dir, "cases.json"))), &cases); err != nil {
		t.Fatal(err)
	}
	ran := 0
	for _, c := range cases {
		raw := []byte(c.Event)
		var file string
		if json.Unmarshal(c.Event, &file) == nil {
			raw = must(os.ReadFile(filepath.Join(dir, file)))
		}
		var ev FunctionEvent
		if err := json.Unmarshal(raw, &ev); err != nil {
			t.Fatalf("%s: event: %v", c.Name, err)
		}
		if ev.Request == nil {
			t.Fatalf("%s: event has no request", c.Name)
		}
		ran++
		realRequest(t, filepath.Base(dir), code, c, &ev)
	}
	return ran
}

// eventGeo is the location an event's CloudFront headers describe, and their names.
func eventGeo(r *FunctionRequest) (Geo, []string) {
	var g Geo
	var names []string
	for _, f := range geoFields {
		if v, ok := r.Headers[f.header]; ok {
			*f.field(&g) = v.Value
			names = append(names, f.header)
		}
	}
	return g, names
}

func realRequest(t *testing.T, name, code string, c realCase, ev *FunctionEvent) {
	t.Helper()
	eventType := ev.Context.EventType
	if eventType == "" {
		eventType = "viewer-request"
	}
	runtime := c.Runtime
	if runtime == "" {
		runtime = FunctionRuntime
	}
	// Any domain an origin helper names resolves to one more origin, which records
	// the request like the others.
	other := newTestOrigin(t, s3Object(""))
	w := newWorld(t, withFunction(name, eventType, code), func(o *Options, cfg *types.DistributionConfig) {
		fn := o.Functions[name]
		fn.Runtime = runtime
		if c.KVS != nil {
			fn.KVS = mapKVS{id: c.KVSID, kv: c.KVS}
		}
		if !c.Now.IsZero() {
			now := c.Now
			o.Now = func() time.Time { return now }
		}
		resolve := o.Resolve
		o.Resolve = func(domain string) (string, bool) {
			if a, ok := resolve(domain); ok {
				return a, ok
			}
			return other.addr, true
		}
		// The function's URI reaches the origin as it returned it: with a default root
		// object CloudFront would send "/" as "/index.html" (DG DefaultRootObject).
		cfg.DefaultRootObject = aws.String("")
		d := cfg.DefaultCacheBehavior
		d.TargetOriginId = aws.String("site-us-east-1") // one origin: every method allowed
		d.CachePolicyId = aws.String(CachingDisabledID)
		d.OriginRequestPolicyId = aws.String(AllViewerExceptHostHeaderID)
		if geo, names := eventGeo(ev.Request); len(names) > 0 {
			viewer, _ := netip.ParseAddr(ev.Viewer.IP)
			o.Geo = func(ip netip.Addr) (Geo, bool) { return geo, ip == viewer }
			o.OriginRequestPolicies = map[string]types.OriginRequestPolicyConfig{"geo": {Name: aws.String("geo"),
				HeadersConfig:      &types.OriginRequestPolicyHeadersConfig{HeaderBehavior: types.OriginRequestPolicyHeaderBehaviorAllViewerAndWhitelistCloudFront, Headers: &types.Headers{Quantity: aws.Int32(int32(len(names))), Items: names}},
				CookiesConfig:      &types.OriginRequestPolicyCookiesConfig{CookieBehavior: types.OriginRequestPolicyCookieBehaviorAll},
				QueryStringsConfig: &types.OriginRequestPolicyQueryStringsConfig{QueryStringBehavior: types.OriginRequestPolicyQueryStringBehaviorAll}}}
			d.OriginRequestPolicyId = aws.String("geo")
		}
		d.ResponseHeadersPolicyId = nil
		d.AllowedMethods = methodsAll(types.MethodGet, types.MethodHead, types.MethodOptions, types.MethodPut, types.MethodPatch, types.MethodPost, types.MethodDelete)
	})
	origins := append([]*testOrigin{other}, slices.Collect(maps.Values(w.origins))...)
	if eventType == "viewer-response" && ev.Response != nil {
		for _, o := range origins {
			o.set(eventResponse(ev.Response))
		}
	}

	r := viewerRequest(ev)
	rec := httptest.NewRecorder()
	w.e.ServeHTTP(rec, r)
	resp := rec.Result()
	body, _ := io.ReadAll(resp.Body)

	var want map[string]any
	if err := json.Unmarshal(c.Want, &want); err != nil {
		t.Fatalf("%s: want: %v", c.Name, err)
	}
	if wr, ok := want["request"].(map[string]any); ok {
		var seen *http.Request
		for _, o := range origins {
			if o.hits.Load() > 0 {
				seen = o.lastRequest()
			}
		}
		if seen == nil {
			t.Errorf("%s: no origin received the request; the viewer got %d %s", c.Name, resp.StatusCode, body)
			return
		}
		delete(wr, "method")
		if h, ok := wr["headers"].(map[string]any); ok {
			delete(h, "host")
		}
		got := observedRequest(seen)
		if _, ok := wr["querystring"].(string); ok {
			// A function may return the query string as a string (DG
			// functions-event-structure); the origin then gets it as written.
			got["querystring"] = seen.URL.RawQuery
		}
		if !subset(wr, got) {
			t.Errorf("%s (%s): the origin received\n got  %s\n want %s", c.Name, c.Doc, jsonText(got), jsonText(wr))
		}
		return
	}
	wr, _ := want["response"].(map[string]any)
	delete(wr, "statusDescription")
	got := observedResponse(resp)
	if !subset(wr, got) {
		t.Errorf("%s (%s): the viewer received\n got  %s\n want %s", c.Name, c.Doc, jsonText(got), jsonText(wr))
	}
	if err := matchPaths(c.Match, map[string]any{"response": got}); err != nil {
		t.Errorf("%s: the viewer's response: %v", c.Name, err)
	}
	if c.Body != nil && string(body) != *c.Body {
		t.Errorf("%s: the viewer's body %q, want %q", c.Name, body, *c.Body)
	}
}

// viewerRequest is the HTTP request a viewer sends for the event's request.
func viewerRequest(ev *FunctionEvent) *http.Request {
	er := ev.Request
	target := er.URI
	if q := viewerQuery(er.QueryString); q != "" {
		target += "?" + q
	}
	var body io.Reader
	if er.Method != http.MethodGet && er.Method != http.MethodHead {
		body = strings.NewReader("")
	}
	method := er.Method
	if method == "" {
		method = http.MethodGet
	}
	r := httptest.NewRequest(method, "https://d111.cloudfront.net"+target, body)
	for name, v := range er.Headers {
		if isCloudFrontHeader(name) {
			r.Header.Set(name, "XX") // spoofed: the edge must drop it
			continue
		}
		for _, s := range v.values() {
			if name == "host" {
				r.Host = s
				continue
			}
			r.Header.Add(name, s)
		}
	}
	var cookies []string
	for _, name := range slices.Sorted(maps.Keys(er.Cookies)) {
		for _, s := range er.Cookies[name].values() {
			cookies = append(cookies, name+"="+s)
		}
	}
	if len(cookies) > 0 {
		r.Header.Set("Cookie", strings.Join(cookies, "; "))
	}
	if ev.Viewer.IP != "" {
		r.RemoteAddr = net.JoinHostPort(ev.Viewer.IP, "41234")
	}
	return r
}

func viewerQuery(qs map[string]FunctionValue) string {
	var parts []string
	for _, name := range slices.Sorted(maps.Keys(qs)) {
		for _, s := range qs[name].values() {
			parts = append(parts, url.QueryEscape(name)+"="+url.QueryEscape(s))
		}
	}
	return strings.Join(parts, "&")
}

// eventResponse answers as the origin of a viewer-response event: its status and
// headers.
func eventResponse(er *FunctionResponse) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Server", "AmazonS3")
		for name, v := range er.Headers {
			if name == "content-length" || name == "content-encoding" || name == "transfer-encoding" {
				continue // the body is the test origin's own
			}
			w.Header()[http.CanonicalHeaderKey(name)] = v.values()
		}
		status := er.StatusCode
		if status == 0 {
			status = http.StatusOK
		}
		w.WriteHeader(status)
		io.WriteString(w, "object "+r.URL.Path)
	}
}

// observedRequest is what the origin received, in the event's shape.
func observedRequest(r *http.Request) map[string]any {
	fr := map[string]any{"uri": r.URL.Path}
	q := map[string]any{}
	for name, vs := range r.URL.Query() {
		q[name] = valueShape(vs)
	}
	fr["querystring"] = q
	h := map[string]any{}
	for name, vs := range r.Header {
		if strings.EqualFold(name, "Cookie") {
			continue
		}
		h[strings.ToLower(name)] = valueShape(vs)
	}
	fr["headers"] = h
	ck := map[string]any{}
	for _, c := range r.Cookies() {
		ck[c.Name] = map[string]any{"value": c.Value}
	}
	fr["cookies"] = ck
	return fr
}

// observedResponse is what the viewer received, in the event's shape.
func observedResponse(resp *http.Response) map[string]any {
	h := map[string]any{}
	for name, vs := range resp.Header {
		if strings.EqualFold(name, "Set-Cookie") {
			continue
		}
		h[strings.ToLower(name)] = valueShape(vs)
	}
	ck := map[string]any{}
	for _, line := range resp.Header.Values("Set-Cookie") {
		nv, attrs, _ := strings.Cut(line, ";")
		n, v, _ := strings.Cut(nv, "=")
		ck[strings.TrimSpace(n)] = map[string]any{"value": v, "attributes": strings.TrimSpace(attrs)}
	}
	return map[string]any{"statusCode": float64(resp.StatusCode), "headers": h, "cookies": ck}
}

func valueShape(vs []string) map[string]any {
	v := map[string]any{"value": vs[0]}
	if len(vs) > 1 {
		var mv []any
		for _, s := range vs {
			mv = append(mv, map[string]any{"value": s})
		}
		v["multiValue"] = mv
	}
	return v
}

// matchPaths checks each dotted path of got against its regular expression.
func matchPaths(match map[string]string, got any) error {
	for path, expr := range match {
		var v any = got
		for _, part := range strings.Split(path, ".") {
			m, ok := v.(map[string]any)
			if !ok {
				return fmt.Errorf("%s: no such field", path)
			}
			v = m[part]
		}
		s, ok := v.(string)
		if !ok || !regexp.MustCompile(expr).MatchString(s) {
			return fmt.Errorf("%s is %v, which does not match %s", path, v, expr)
		}
	}
	return nil
}

// outputBody is the body of a FunctionOutput response, decoded.
func outputBody(out any) string {
	m, _ := out.(map[string]any)
	resp, _ := m["response"].(map[string]any)
	switch b := resp["body"].(type) {
	case string:
		return b
	case map[string]any:
		data, _ := b["data"].(string)
		if b["encoding"] == "base64" {
			raw, _ := base64.StdEncoding.DecodeString(data)
			return string(raw)
		}
		return data
	}
	return ""
}

func jsonText(v any) string { return string(must(json.Marshal(v))) }
