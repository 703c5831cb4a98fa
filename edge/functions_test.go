package edge

import (
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
	"github.com/google/go-cmp/cmp"
)

// TestSpec_3_3_SPARewriteJSMatchesGo runs the deployed JS source of the SPA rewrite in
// goja on the same cases as the Go implementation; both must agree exactly.
func TestSpec_3_3_SPARewriteJSMatchesGo(t *testing.T) {
	w := newWorld(t)
	fn := &Function{Name: SPARewriteName, Runtime: FunctionRuntime, Code: SPARewriteJS}
	for _, c := range spaCases {
		ev := &FunctionEvent{Version: "1.0", Context: FunctionContext{EventType: "viewer-request"},
			Request: &FunctionRequest{Method: "GET", URI: c.in, QueryString: map[string]FunctionValue{"q": {Value: "1"}},
				Headers: map[string]FunctionValue{"host": {Value: "x"}}, Cookies: map[string]FunctionValue{}}}
		res, err := w.e.RunFunctionJS(fn, ev)
		if err != nil {
			t.Fatalf("%q: %v", c.in, err)
		}
		if res.Request == nil || res.Request.URI != c.want || res.Request.URI != spaRewriteURI(c.in) {
			t.Errorf("JS(%q) = %+v, Go = %q, want %q", c.in, res.Request, spaRewriteURI(c.in), c.want)
		}
		if diff := cmp.Diff(ev.Request.QueryString, res.Request.QueryString); diff != "" {
			t.Errorf("JS changed the query string: %s", diff)
		}
	}
}

func withFunction(name, eventType, code string) worldOption {
	return func(o *Options, c *types.DistributionConfig) {
		if o.Functions == nil {
			o.Functions = map[string]*Function{}
		}
		o.Functions[name] = &Function{Code: code}
		fa := c.DefaultCacheBehavior.FunctionAssociations
		if eventType == "viewer-request" {
			fa.Items = nil
		}
		fa.Items = append(fa.Items, types.FunctionAssociation{EventType: types.EventType(eventType), FunctionARN: aws.String("arn:aws:cloudfront::123456789012:function/" + name)})
		fa.Quantity = ei32(int32(len(fa.Items)))
	}
}

func TestSpec_3_4_ViewerRequestJS(t *testing.T) {
	w := newWorld(t, withFunction("add", "viewer-request", `function handler(event) {
  var r = event.request;
  r.headers['x-from-fn'] = {value: r.method + ' ' + r.uri + ' ' + event.viewer.ip};
  r.querystring['b'] = {value: '2'};
  r.uri = '/rewritten' + r.uri;
  return r;
}`))
	r := w.get("/p.txt?a=1")
	if r.StatusCode != 200 {
		t.Fatalf("status %d %s", r.StatusCode, edgeBody(t, r))
	}
	got := w.origins[bucketA].lastRequest()
	if got.URL.Path != "/rewritten/p.txt" {
		t.Errorf("origin path %q", got.URL.Path)
	}
	// CachingOptimized forwards no query strings and no viewer headers.
	if got.URL.RawQuery != "" || got.Header.Get("X-From-Fn") != "" {
		t.Errorf("forwarded beyond the cache policy: %q %v", got.URL.RawQuery, got.Header)
	}
}

func TestSpec_3_4_GeneratedResponse(t *testing.T) {
	w := newWorld(t, withFunction("redir", "viewer-request", `function handler(event) {
  if (event.request.uri === '/old') {
    return {statusCode: 301, statusDescription: 'Moved', headers: {location: {value: '/new'}}, cookies: {a: {value: 'b', attributes: 'Path=/'}}, body: 'moved'};
  }
  if (event.request.uri === '/teapot') { return {statusCode: 418, body: {data: 'dGVh', encoding: 'base64'}}; }
  if (event.request.uri === '/bad') { return {statusCode: 200, headers: {'x-cache': {value: 'no'}}}; }
  if (event.request.uri === '/throw') { throw new Error('boom'); }
  if (event.request.uri === '/loop') { while (true) {} }
  if (event.request.uri === '/relative') { event.request.uri = 'x'; }
  return event.request;
}`))
	r := w.get("/old")
	if r.StatusCode != 301 || r.Header.Get("Location") != "/new" || r.Header.Get("X-Cache") != "FunctionGeneratedResponse from cloudfront" ||
		r.Header.Get("Set-Cookie") != "a=b; Path=/" || edgeBody(t, r) != "moved" {
		t.Errorf("generated redirect: %d %v", r.StatusCode, r.Header)
	}
	if r := w.get("/teapot"); r.StatusCode != 418 || edgeBody(t, r) != "tea" {
		t.Errorf("base64 body: %d", r.StatusCode)
	}
	if r := w.get("/bad"); r.StatusCode != http.StatusBadGateway {
		t.Errorf("disallowed header: %d", r.StatusCode)
	}
	for _, p := range []string{"/throw", "/loop", "/relative"} {
		if r := w.get(p); r.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("%s: %d, want 503", p, r.StatusCode)
		}
	}
	if w.origins[bucketA].hits.Load() != 0 {
		t.Error("origin contacted for generated responses")
	}
}

func TestSpec_3_4_ViewerResponseJS(t *testing.T) {
	w := newWorld(t, withFunction("resp", "viewer-response", `function handler(event) {
  var res = event.response;
  res.headers['x-served-for'] = {value: event.request.uri + ' ' + res.statusCode};
  delete res.headers['x-amz-meta-sha256'];
  return res;
}`))
	r := w.get("/index.html")
	if r.Header.Get("X-Served-For") != "/index.html 200" || r.Header.Get("X-Amz-Meta-Sha256") != "" {
		t.Errorf("viewer-response headers: %v", r.Header)
	}
	if r.Header.Get("X-Cache") == "" || r.Header.Get("Via") == "" {
		t.Error("CloudFront headers dropped")
	}
	// Not run for origin errors (§3.4).
	w.origins[bucketA].set(statusHandler(401))
	if r := w.get("/missing.txt"); r.Header.Get("X-Served-For") != "" {
		t.Error("viewer-response function ran on a 401")
	}
}
