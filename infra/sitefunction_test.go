package infra_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront/types"

	"github.com/twinedge/twinedge/build"
	"github.com/twinedge/twinedge/edge"
	"github.com/twinedge/twinedge/edge/jsfunc"
	"github.com/twinedge/twinedge/infra"
)

// The site function through TestFunction (DG test-function), with the redirect store
// filled from a parsed _redirects file as the release fills it: redirects with their
// status and Location, splats, trailing slashes and the query string passed on
// (Netlify's rules, build/redirects.go), and without a rule the SPA rewrite, exactly as
// edge.SPARewriteJS does it.
func TestSiteFunction(t *testing.T) {
	rules, err := build.ParseRedirects("_redirects", []byte(`
/board        /              301
/old-status/  /status        302
/news/top     /best          308
/news/*       /blog/:splat   307
/docs/*       https://docs.example.com/:splat
`))
	if err != nil {
		t.Fatal(err)
	}
	store := edge.NewKeyValueStore("kvs-site", time.Now())
	puts := map[string]string{}
	for _, r := range rules {
		k, v := r.Entry()
		puts[k] = v
	}
	if _, err := store.Update(store.ETag(), puts, nil, time.Now()); err != nil {
		t.Fatal(err)
	}
	e := newJSEdge(t)
	fn := &edge.Function{Name: infra.SiteFunctionName, Runtime: edge.FunctionRuntime, Code: infra.SiteFunctionJS, KVS: store}
	if len(fn.Code) > edge.MaxFunctionSize {
		t.Fatalf("the function is %d bytes; CloudFront takes %d", len(fn.Code), edge.MaxFunctionSize)
	}
	for _, c := range []struct {
		uri, query   string
		status       int
		location, to string // location for a redirect, to: the rewritten URI otherwise
	}{
		{uri: "/board", status: 301, location: "/"},
		{uri: "/board/", status: 301, location: "/"},
		{uri: "/old-status", status: 302, location: "/status"},
		{uri: "/news/top", status: 308, location: "/best"},
		{uri: "/news/2024/a.html", status: 307, location: "/blog/2024/a.html"},
		{uri: "/news", status: 307, location: "/blog/"},
		{uri: "/docs/api/v1", query: "a=1&b=x%20y", status: 301, location: "https://docs.example.com/api/v1?a=1&b=x%20y"},
		{uri: "/status", to: "/index.html"},
		{uri: "/assets/app-0123abcd.js", to: "/assets/app-0123abcd.js"},
		{uri: "/boards", to: "/index.html"},
		{uri: "/", to: "/index.html"},
	} {
		t.Run(c.uri, func(t *testing.T) {
			ev := testEvent(c.uri, c.query)
			res, err := e.TestFunction(fn, ev, store)
			if err != nil || res.Error != "" {
				t.Fatalf("TestFunction: %v %s", err, res.Error)
			}
			var out struct {
				Request  *struct{ URI string } `json:"request"`
				Response *struct {
					StatusCode        int                          `json:"statusCode"`
					StatusDescription string                       `json:"statusDescription"`
					Headers           map[string]map[string]string `json:"headers"`
				} `json:"response"`
			}
			if err := json.Unmarshal([]byte(res.Output), &out); err != nil {
				t.Fatalf("FunctionOutput %s: %v", res.Output, err)
			}
			if c.status != 0 {
				if out.Response == nil || out.Response.StatusCode != c.status || out.Response.Headers["location"]["value"] != c.location || out.Response.StatusDescription == "" {
					t.Fatalf("FunctionOutput %s, want %d to %s", res.Output, c.status, c.location)
				}
				return
			}
			if out.Request == nil || out.Request.URI != c.to {
				t.Fatalf("FunctionOutput %s, want the request for %s", res.Output, c.to)
			}
			if res.ComputeUtilization > 100 {
				t.Errorf("compute utilization %d", res.ComputeUtilization)
			}
		})
	}
}

func testEvent(uri, query string) []byte {
	qs := map[string]any{}
	for _, p := range strings.Split(query, "&") {
		if k, v, ok := strings.Cut(p, "="); ok {
			v = strings.ReplaceAll(v, "%20", " ") // the event carries decoded values
			qs[k] = map[string]string{"value": v}
		}
	}
	b, _ := json.Marshal(map[string]any{
		"version": "1.0",
		"context": map[string]string{"eventType": "viewer-request"},
		"viewer":  map[string]string{"ip": "198.51.100.7"},
		"request": map[string]any{"method": "GET", "uri": uri, "querystring": qs, "headers": map[string]any{}, "cookies": map[string]any{}},
	})
	return b
}

func newJSEdge(t *testing.T) *edge.Edge {
	t.Helper()
	cfg, err := infra.Distribution(infra.Endpoints{
		Regions: []infra.Region{{Name: "us-east-1", BucketDomain: "a.s3.us-east-1.amazonaws.com"}, {Name: "eu-west-2", BucketDomain: "b.s3.eu-west-2.amazonaws.com"}},
		SiteOAC: "EOAC", SPAFunctionARN: fmt.Sprintf("arn:aws:cloudfront::000000000000:function/%s", infra.SPAFunctionName),
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg.DefaultCacheBehavior.FunctionAssociations = &types.FunctionAssociations{Quantity: aws.Int32(0)}
	e, err := edge.New(cfg, edge.Options{JS: jsfunc.Compile})
	if err != nil {
		t.Fatal(err)
	}
	return e
}
