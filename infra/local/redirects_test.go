package local

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudfrontkeyvaluestore"

	"github.com/twinedge/twinedge/build"
	"github.com/twinedge/twinedge/infra"
)

// TestWorldRedirects releases a site with a _redirects file through the real world:
// the release writes the rules to the world's redirect store with the SDK's
// cloudfront-keyvaluestore client (SigV4A), the site function answers them at the
// edge, a path without a rule serves its page, a second release that changes one rule
// and removes another invalidates only the removed rule's paths, and a rollback puts
// the first release's rules back.
func TestWorldRedirects(t *testing.T) {
	ctx := context.Background()
	w := startWorld(t, t.TempDir())
	info := w.Info()
	if !strings.HasPrefix(info.RedirectStore, "arn:aws:cloudfront::000000000000:key-value-store/") {
		t.Fatalf("world.json redirectStore = %q", info.RedirectStore)
	}
	dir := t.TempDir()
	write := func(name, body string) {
		t.Helper()
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("index.html", "<p>home</p>")
	write("docs/index.html", "<p>docs</p>")
	write(build.RedirectsFile, `# moved pages
/old-board  /             301
/blog/*     /docs/:splat  302
/gone       /docs/        308
`)
	release := func(rollback bool) *build.Report {
		t.Helper()
		opts, err := info.Connect(ctx, build.Options{Source: build.Source{Dir: dir, Static: true}, WaitTimeout: time.Minute, MaxDeletes: -1})
		if err != nil {
			t.Fatal(err)
		}
		var rep *build.Report
		if rollback {
			rep, err = build.Rollback(ctx, opts, "")
		} else {
			rep, err = build.Release(ctx, opts)
		}
		if err != nil {
			t.Fatalf("release: %v", err)
		}
		return rep
	}
	noFollow := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	expect := func(path string, status int, location, body string) {
		t.Helper()
		resp, err := noFollow.Get(info.Edge + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b := make([]byte, 512)
		n, _ := resp.Body.Read(b)
		if resp.StatusCode != status || resp.Header.Get("Location") != location || body != "" && string(b[:n]) != body {
			t.Errorf("GET %s = %d Location %q body %q; want %d %q %q", path, resp.StatusCode, resp.Header.Get("Location"), b[:n], status, location, body)
		}
	}

	first := release(false)
	if first.Redirects == nil || first.Redirects.Rules != 3 || len(first.Redirects.Put) != 3 {
		t.Fatalf("first release redirects = %+v", first.Redirects)
	}
	for _, b := range first.Buckets {
		for _, u := range b.Uploads {
			if u.Path == build.RedirectsFile {
				t.Errorf("the redirects file was uploaded to %s", b.Bucket)
			}
		}
	}
	expect("/old-board", 301, "/", "")
	expect("/old-board/?from=mail&x=a%20b", 301, "/?from=mail&x=a%20b", "")
	expect("/blog/2024/post", 302, "/docs/2024/post", "")
	expect("/gone", 308, "/docs/", "")
	expect("/docs/", 200, "", "<p>docs</p>")
	expect("/status", 200, "", "<p>home</p>")

	// The store holds what the release wrote, read back with the SDK's client.
	kv, err := build.NewKeyValueStoreClient(ctx, info.Control)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := kv.ListKeys(ctx, &cloudfrontkeyvaluestore.ListKeysInput{KvsARN: aws.String(info.RedirectStore)})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, it := range keys.Items {
		got = append(got, aws.ToString(it.Key)+" "+aws.ToString(it.Value))
	}
	if want := []string{"/blog/* 302 /docs/:splat", "/gone 308 /docs/", "/old-board 301 /"}; !slices.Equal(got, want) {
		t.Errorf("store = %q, want %q", got, want)
	}

	// The published site function through TestFunction, as `aws cloudfront
	// test-function` sends it.
	cf, err := build.NewCloudFrontClient(ctx, info.Control)
	if err != nil {
		t.Fatal(err)
	}
	live, err := cf.DescribeFunction(ctx, &cloudfront.DescribeFunctionInput{Name: aws.String(infra.SiteFunctionName), Stage: cftypes.FunctionStageLive})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := cf.TestFunction(ctx, &cloudfront.TestFunctionInput{Name: aws.String(infra.SiteFunctionName), IfMatch: live.ETag, Stage: cftypes.FunctionStageLive,
		EventObject: []byte(`{"version":"1.0","context":{"eventType":"viewer-request"},"viewer":{"ip":"1.2.3.4"},"request":{"method":"GET","uri":"/blog/x","querystring":{},"headers":{},"cookies":{}}}`)})
	if err != nil {
		t.Fatal(err)
	}
	if out := aws.ToString(tr.TestResult.FunctionOutput); !strings.Contains(out, `"statusCode":302`) || !strings.Contains(out, `/docs/x`) {
		t.Errorf("TestFunction output %s (error %q)", out, aws.ToString(tr.TestResult.FunctionErrorMessage))
	}

	// Second release: /old-board changes, /gone is removed and becomes a page.
	write("gone/index.html", "<p>gone, now a page</p>")
	write(build.RedirectsFile, "/old-board /docs/ 302\n/blog/* /docs/:splat 302\n")
	second := release(false)
	if rd := second.Redirects; rd == nil || !slices.Equal(rd.Put, []string{"/old-board"}) || !slices.Equal(rd.Deleted, []string{"/gone"}) || rd.Unchanged != 1 {
		t.Errorf("second release redirects = %+v", second.Redirects)
	}
	if want := []string{"/gone", "/gone/"}; !slices.Equal(second.InvalidationPaths, want) {
		t.Errorf("second release invalidates %q, want only the removed rule's %q", second.InvalidationPaths, want)
	}
	expect("/old-board", 302, "/docs/", "")
	expect("/gone/", 200, "", "<p>gone, now a page</p>")

	// Rollback: the first release's rules are back.
	back := release(true)
	if rd := back.Redirects; rd == nil || !slices.Equal(rd.Put, []string{"/gone", "/old-board"}) || len(rd.Deleted) != 0 {
		t.Errorf("rollback redirects = %+v", back.Redirects)
	}
	expect("/old-board", 301, "/", "")
	expect("/gone", 308, "/docs/", "")

	// An unchanged re-release of the rolled-back content changes nothing.
	write(build.RedirectsFile, "/old-board / 301\n/blog/* /docs/:splat 302\n/gone /docs/ 308\n")
	os.RemoveAll(filepath.Join(dir, "gone"))
	if again := release(false); !again.Unchanged {
		t.Errorf("re-release of the live content: %+v", again)
	}
}

// BenchmarkSiteFunctionHit is a cache hit through the world's edge, with the site
// function as the world runs it (its Go twin, infra.SiteFunctionTwin: four KeyValueStore
// lookups for /assets/app.js, then the SPA rewrite) against the built-in SPA rewrite
// alone (no lookups): go test ./infra/local -run '^$' -bench SiteFunctionHit.
func BenchmarkSiteFunctionHit(b *testing.B) {
	ctx := context.Background()
	w, err := Start(ctx, Config{StateDir: b.TempDir(), Addr: "127.0.0.1:0"})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	dir := b.TempDir()
	os.WriteFile(filepath.Join(dir, "index.html"), []byte("<p>home</p>"), 0o644)
	os.MkdirAll(filepath.Join(dir, "assets"), 0o755)
	os.WriteFile(filepath.Join(dir, "assets", "app.js"), []byte(strings.Repeat("x", 10<<10)), 0o644)
	os.WriteFile(filepath.Join(dir, build.RedirectsFile), []byte("/old /  301\n/blog/* /:splat 302\n"), 0o644)
	info := w.Info()
	opts, err := info.Connect(ctx, build.Options{Source: build.Source{Dir: dir, Static: true}, WaitTimeout: -1})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := build.Release(ctx, opts); err != nil {
		b.Fatal(err)
	}
	site := w.Edge().Config()
	spa := w.Edge().Config()
	spa.DefaultCacheBehavior.FunctionAssociations.Items[0].FunctionARN = aws.String("arn:aws:cloudfront::000000000000:function/" + infra.SPAFunctionName)
	for _, c := range []struct {
		name string
		cfg  *cftypes.DistributionConfig
	}{{"spa-go", spa}, {"site", site}} {
		b.Run(c.name, func(b *testing.B) {
			if err := w.Edge().Apply(c.cfg); err != nil {
				b.Fatal(err)
			}
			req := func() int {
				rec := httptest.NewRecorder()
				r := httptest.NewRequest(http.MethodGet, "https://"+info.DomainName+"/assets/app.js", nil)
				w.Edge().ServeHTTP(rec, r)
				return rec.Code
			}
			if code := req(); code != 200 {
				b.Fatal(code)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if code := req(); code != 200 {
					b.Fatalf("status %d", code)
				}
			}
		})
	}
}
