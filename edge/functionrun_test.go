package edge

import (
	"net/http"

	"github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
	"strings"
	"testing"
)

// DG cloudfront-function-restrictions, "Logs": console.log is logging, not an error.
func TestFunctionConsoleLogIsNotAnError(t *testing.T) {
	w := newWorld(t, withFunction("log", "viewer-request", `function handler(event) { console.log('seen', event.request.uri); return event.request; }`))
	if r := w.get("/p.txt"); r.StatusCode != 200 {
		t.Errorf("a function that logs: %d", r.StatusCode)
	}
}

// DG functions-event-structure, "Request object"; AWS's normalize-query-string-parameters
// sample returns request.querystring as a string.
func TestFunctionQuerystringAsString(t *testing.T) {
	onAPI := func(o *Options, c *types.DistributionConfig) {
		for i := range c.CacheBehaviors.Items {
			c.CacheBehaviors.Items[i].FunctionAssociations = c.DefaultCacheBehavior.FunctionAssociations
		}
	}
	w := newWorld(t, withFunction("qs", "viewer-request", `function handler(event) { event.request.querystring = 'b=2&a=1'; return event.request; }`), onAPI)
	if r := w.get("/api/items?z=9"); r.StatusCode != 200 {
		t.Fatalf("status %d", r.StatusCode)
	}
	if got := w.origins[urlA].lastRequest().URL.RawQuery; got != "b=2&a=1" {
		t.Errorf("origin query %q, want the function's string", got)
	}
}

// DG functions-event-structure, "Response object": a viewer-response function may
// replace the body; it does not see the origin's.
func TestViewerResponseReplacesBody(t *testing.T) {
	w := newWorld(t, withFunction("body", "viewer-response", `function handler(event) {
  var res = event.response;
  if (event.request.uri === '/replace.txt') { res.body = {data: 'replaced', encoding: 'text'}; }
  res.headers['x-saw-body'] = {value: String(res.body !== undefined && event.request.uri !== '/replace.txt')};
  return res;
}`))
	r := w.get("/replace.txt")
	if body := edgeBody(t, r); body != "replaced" || r.Header.Get("Content-Length") != "8" {
		t.Errorf("replaced body %q, Content-Length %q", body, r.Header.Get("Content-Length"))
	}
	r = w.get("/keep.txt")
	if body := edgeBody(t, r); body != "object /keep.txt" || r.Header.Get("X-Saw-Body") != "false" {
		t.Errorf("kept body %q, x-saw-body %q", body, r.Header.Get("X-Saw-Body"))
	}
}

// The edge answers a failing function as CloudFront does: 503 and its error page.
func TestFunctionErrorIs503WithCloudFrontsPage(t *testing.T) {
	w := newWorld(t, withFunction("bad", "viewer-request", `function handler(event) { undeclared = 1; return event.request; }`))
	r := w.get("/p.txt")
	body := edgeBody(t, r)
	if r.StatusCode != http.StatusServiceUnavailable || r.Header.Get("X-Cache") != "Error from cloudfront" ||
		!strings.Contains(body, "The CloudFront function associated with the cache behavior failed.") {
		t.Errorf("%d %q\n%s", r.StatusCode, r.Header.Get("X-Cache"), body)
	}
}

// DG helper-functions-origin-modification: selectRequestOriginById sends the request to
// another origin of the distribution; createRequestOriginGroup fails over between two.
func TestFunctionOriginHelpersChooseTheOrigin(t *testing.T) {
	w := newWorld(t, withFunction("route", "viewer-request", `import cf from 'cloudfront';
function handler(event) {
  if (event.request.uri === '/west.txt') cf.selectRequestOriginById('site-us-west-2');
  if (event.request.uri === '/group.txt') cf.createRequestOriginGroup({originIds: ['site-us-west-2', 'site-us-east-1'], failoverCriteria: {statusCodes: [500]}});
  if (event.request.uri === '/nope.txt') cf.selectRequestOriginById('no-such-origin');
  return event.request;
}`))
	if r := w.get("/west.txt"); r.StatusCode != 200 || w.origins[bucketB].hits.Load() != 1 || w.origins[bucketA].hits.Load() != 0 {
		t.Errorf("selectRequestOriginById: %d, west %d east %d", r.StatusCode, w.origins[bucketB].hits.Load(), w.origins[bucketA].hits.Load())
	}
	w.origins[bucketB].set(statusHandler(500))
	if r := w.get("/group.txt"); r.StatusCode != 200 || w.origins[bucketA].hits.Load() != 1 {
		t.Errorf("createRequestOriginGroup failover: %d, east %d", r.StatusCode, w.origins[bucketA].hits.Load())
	}
	if r := w.get("/nope.txt"); r.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("an unknown origin id: %d", r.StatusCode)
	}
}

// A viewer-response function runs on a response that streams (larger than
// Options.MaxBufferedBody), as on CloudFront, which streams every response.
func TestViewerResponseRunsOnStreamedBodies(t *testing.T) {
	small := func(o *Options, _ *types.DistributionConfig) { o.MaxBufferedBody = 4 }
	w := newWorld(t, small, withFunction("stream", "viewer-response", `function handler(event) {
  var res = event.response;
  res.headers['x-fn'] = {value: 'ran'};
  if (event.request.uri === '/replace.txt') { res.body = 'short'; }
  return res;
}`))
	r := w.get("/big.txt")
	if body := edgeBody(t, r); r.Header.Get("X-Fn") != "ran" || body != "object /big.txt" {
		t.Errorf("streamed: x-fn %q, body %q", r.Header.Get("X-Fn"), body)
	}
	r = w.get("/replace.txt")
	if body := edgeBody(t, r); body != "short" || r.Header.Get("Content-Length") != "5" {
		t.Errorf("streamed and replaced: body %q, Content-Length %q", body, r.Header.Get("Content-Length"))
	}
}
