package infra_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twinedge/twinedge/edge"
	"github.com/twinedge/twinedge/edge/jsfunc"
	"github.com/twinedge/twinedge/edge/jsfunc/fnapi"
	"github.com/twinedge/twinedge/infra"
)

// twinPair is two edges serving the same distribution, origins and redirect store: one
// runs SiteFunctionJS in the JavaScript runtime, the other its Go twin.
type twinPair struct {
	js, twin *edge.Edge
	store    *edge.KeyValueStore
	keys     []string // what fill put last
	// How often the twin answered, and how often it left the answer to the JavaScript.
	decided, undecided atomic.Int64
}

func newTwinPair(t testing.TB) *twinPair {
	t.Helper()
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Server", "AmazonS3")
		w.Header().Set("Cache-Control", "max-age=60")
		io.WriteString(w, "object "+r.URL.Path)
	}))
	t.Cleanup(origin.Close)
	addr := strings.TrimPrefix(origin.URL, "http://")
	cfg, err := infra.Distribution(infra.Endpoints{
		Regions: []infra.Region{{Name: "us-east-1", BucketDomain: "a.s3.us-east-1.amazonaws.com"}, {Name: "eu-west-2", BucketDomain: "b.s3.eu-west-2.amazonaws.com"}},
		SiteOAC: "EOAC", SPAFunctionARN: "arn:aws:cloudfront::000000000000:function/" + infra.SiteFunctionName,
	})
	if err != nil {
		t.Fatal(err)
	}
	p := &twinPair{store: edge.NewKeyValueStore("kvs-site", time.Now())}
	start := func(twins map[string]edge.Twin) *edge.Edge {
		e, err := edge.New(cfg, edge.Options{
			JS: jsfunc.Compile, Twins: twins, OriginScheme: "http", ViewerHTTPS: true,
			Resolve:   func(string) (string, bool) { return addr, true },
			Functions: map[string]*edge.Function{infra.SiteFunctionName: {Code: infra.SiteFunctionJS, KVS: p.store}},
		})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	p.js = start(nil)
	p.twin = start(map[string]edge.Twin{infra.SiteFunctionJS: func(kvs fnapi.KVS) (func(string) string, func(string, string) (*edge.FunctionResponse, bool)) {
		rewrite, respond := infra.SiteFunctionTwin(kvs)
		return rewrite, func(uri, query string) (*edge.FunctionResponse, bool) {
			resp, ok := respond(uri, query)
			if ok {
				p.decided.Add(1)
			} else {
				p.undecided.Add(1)
			}
			return resp, ok
		}
	}})
	return p
}

// fill replaces the store's contents.
func (p *twinPair) fill(t testing.TB, kv map[string]string) {
	t.Helper()
	if _, err := p.store.Update(p.store.ETag(), kv, p.keys, time.Now()); err != nil {
		t.Fatal(err)
	}
	p.keys = p.keys[:0]
	for k := range kv {
		p.keys = append(p.keys, k)
	}
}

var requestID = regexp.MustCompile(`Request ID: \S+`)

// answer is what a viewer sees of one response.
func answer(e *edge.Edge, target string) string {
	r := httptest.NewRequest(http.MethodGet, "https://d111.cloudfront.net"+target, nil)
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, r)
	resp := rec.Result()
	body, _ := io.ReadAll(resp.Body)
	body = requestID.ReplaceAll(body, []byte("Request ID: -")) // random per request
	return fmt.Sprintf("%d location=%q x-cache-kind=%q body=%q", resp.StatusCode, resp.Header.Get("Location"),
		strings.Fields(resp.Header.Get("X-Cache") + " -")[0], body)
}

// TestSiteFunctionTwin: the Go twin answers every request exactly as SiteFunctionJS does,
// for the release's rule shapes and for store values the release never writes (where
// the twin leaves the answer to the JavaScript).
func TestSiteFunctionTwin(t *testing.T) {
	p := newTwinPair(t)
	stores := []map[string]string{
		{},
		{"/board": "301 /", "/old-status": "302 /status", "/news/top": "308 /best", "/news/*": "307 /blog/:splat",
			"/docs/*": "301 https://docs.example.com/:splat", "/q": "301 /target?keep=1", "/*": "302 /fallback/:splat/:splat"},
		{"/a": "301", "/b": "404 /nope", "/c": "301x /c2", "/d": " /d2", "/e": "0301 /e2", "/f/*": "308 :splat"},
	}
	uris := []string{"/", "/board", "/board/", "/boards", "/old-status/", "/news", "/news/", "/news/top", "/news/top/",
		"/news/2024/a.html", "/docs/api/v1", "/docs/", "/status", "/assets/app.js", "/q", "/a", "/b", "/c", "/d", "/e",
		"/f/x/y", "/x/*", "/y/*/z", "/a%20b", "/%E2%82%AC", "/" + strings.Repeat("l", 600)}
	queries := []string{"", "a=1", "b=2&a=1&a=3", "10=x&2=y&a=z&4294967295=big&01=lead", "x=%ZZ", "q=%FF%FE", "sp=a+b&e=&=v&k",
		"%C3%A9=%C3%BC&t=~!*'()", "%FF=1&%FE=2"}
	defer func() {
		// The twin must answer what the release writes; the JavaScript runs only for the
		// third store's values.
		if d, u := p.decided.Load(), p.undecided.Load(); d < 10*u || u == 0 {
			t.Errorf("the twin decided %d requests and left %d to the JavaScript", d, u)
		}
	}()
	for i, kv := range stores {
		p.fill(t, kv)
		for _, u := range uris {
			for _, q := range queries {
				target := u
				if q != "" {
					target += "?" + q
				}
				// Twice: the second request of a page that is not redirected is a cache hit.
				for range 2 {
					if js, twin := answer(p.js, target), answer(p.twin, target); js != twin {
						t.Errorf("store %d, %s:\n JS   %s\n twin %s", i, target, js, twin)
					}
				}
			}
		}
	}
}

func FuzzSiteFunctionTwin(f *testing.F) {
	p := newTwinPair(f)
	p.fill(f, map[string]string{"/board": "301 /", "/news/*": "307 /blog/:splat", "/n/x": "308 /y?z=1", "/*/deep": "302 /d"})
	f.Add("/news/a.html", "b=2&a=1")
	f.Add("/board/", "10=x&2=y")
	f.Fuzz(func(t *testing.T, path, query string) {
		u, err := url.Parse("https://d111.cloudfront.net/" + strings.TrimPrefix(path, "/"))
		if err != nil || u.RawQuery != "" || u.Fragment != "" {
			return
		}
		target := u.EscapedPath()
		if !strings.HasPrefix(target, "/") || len(target) > 2000 || strings.ContainsAny(query, "# \t\r\n") {
			return
		}
		if query != "" {
			target += "?" + query
		}
		if _, err := url.ParseRequestURI(target); err != nil {
			return // no viewer can send it
		}
		if js, twin := answer(p.js, target), answer(p.twin, target); js != twin {
			t.Errorf("%s:\n JS   %s\n twin %s", target, js, twin)
		}
	})
}
