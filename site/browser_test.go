package site

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/google/go-cmp/cmp"

	"github.com/twinedge/twinedge/internal/testtool"
)

// fakeEdge serves a built site the way the edge does for the default
// behaviour: extensionless paths get /index.html (the SPA viewer-request
// function), every object carries the manifest's headers and the bucket's
// x-amz-meta-region. The API answers health checks for that one region.
func fakeEdge(t *testing.T, out string, m *Manifest, region string) *httptest.Server {
	t.Helper()
	files := map[string]File{}
	for _, f := range m.Files {
		files["/"+f.Path] = f
	}
	health := func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{"region": region})
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/health", "/api/r/" + region + "/health":
			health(w)
			return
		}
		p := r.URL.Path
		if strings.HasSuffix(p, "/") {
			p += "index.html"
		} else if !strings.Contains(path.Base(p), ".") {
			p = "/index.html"
		}
		f, ok := files[p]
		if !ok {
			http.Error(w, "NoSuchKey", http.StatusNotFound)
			return
		}
		data, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(f.Path)))
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		h := w.Header()
		h.Set("Content-Type", f.ContentType)
		h.Set("Cache-Control", f.CacheControl)
		h.Set("ETag", `"`+f.SHA256[:32]+`"`)
		h.Set("X-Amz-Meta-Region", region)
		h.Set("X-Cache", "Miss from cloudfront")
		if r.Method != http.MethodHead {
			w.Write(data)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// visibleViewsJS lists the views the page shows, by computed style, so it
// checks app.css as well as the router.
const visibleViewsJS = `[...document.querySelectorAll("[data-view]")].filter(s => getComputedStyle(s).display !== "none").map(s => s.dataset.view)`

// browser starts headless Chromium for the test and returns a context for one
// tab. The browser has already started, so callers may add a timeout.
func browser(t *testing.T, chromium string) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	// The first Do starts the browser; it must not carry a timeout, which
	// would bound the browser's life.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatal(err)
	}
	return ctx
}

// TestBrowserWithoutJavaScript checks the no-script reading: a deep link still
// shows the home, status and about text, and no not-found view.
func TestBrowserWithoutJavaScript(t *testing.T) {
	chromium := testtool.Require(t, "chromium")
	out, m := build(t)
	srv := fakeEdge(t, out, m, "eu-west-1")
	ctx, cancel := context.WithTimeout(browser(t, chromium), 2*time.Minute)
	defer cancel()
	err := chromedp.Do(ctx,
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
			return err
		}),
		chromedp.Navigate(srv.URL+"/status"),
	)
	if err != nil {
		t.Fatal(err)
	}
	visible, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](visibleViewsJS))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"home", "status", "about"}, visible); diff != "" {
		t.Errorf("visible views without JavaScript (-want +got):\n%s", diff)
	}
}

// TestBrowserRouting loads the built site in headless Chromium: deep links,
// link navigation, back, the not-found view and the status view's headers.
func TestBrowserRouting(t *testing.T) {
	chromium := testtool.Require(t, "chromium")
	out, m := build(t)
	srv := fakeEdge(t, out, m, "eu-west-1")

	ctx := browser(t, chromium)
	var (
		mu         sync.Mutex
		pageErrors []string
	)
	err := chromedp.Listen(ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			pageErrors = append(pageErrors, "exception: "+ev.ExceptionDetails.Text)
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError {
				pageErrors = append(pageErrors, "console.error")
			}
		case *cdplog.EventEntryAdded:
			if ev.Entry.Level == cdplog.EntryLevelError {
				pageErrors = append(pageErrors, ev.Entry.Text+" "+ev.Entry.URL)
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	// A generous bound so a broken page fails the test instead of hanging it.
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()

	const currentJS = `[...document.querySelectorAll("nav a[aria-current=page]")].map(a => a.getAttribute("href"))`
	type state struct {
		Path    string
		Title   string
		Visible []string
		Current []string
	}
	read := func() (state, error) {
		var s state
		var err error
		if s.Path, err = chromedp.Run(ctx, chromedp.Evaluate[string](`location.pathname`)); err != nil {
			return s, err
		}
		if s.Title, err = chromedp.Run(ctx, chromedp.Title()); err != nil {
			return s, err
		}
		if s.Visible, err = chromedp.Run(ctx, chromedp.Evaluate[[]string](visibleViewsJS)); err != nil {
			return s, err
		}
		s.Current, err = chromedp.Run(ctx, chromedp.Evaluate[[]string](currentJS))
		return s, err
	}
	check := func(step string, want state) {
		t.Helper()
		got, err := read()
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", step, diff)
		}
	}

	// A deep link to /status is served index.html and shows the status view,
	// filled from the headers of the edge's answer.
	err = chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/status"),
		chromedp.WaitVisible(`#region-health .health-name`),
	)
	if err != nil {
		t.Fatal(err)
	}
	region, err := chromedp.Run(ctx, chromedp.Text(`[data-field=region]`))
	if err != nil {
		t.Fatal(err)
	}
	cache, err := chromedp.Run(ctx, chromedp.Text(`[data-field=cache]`))
	if err != nil {
		t.Fatal(err)
	}
	if region != "eu-west-1" || cache != "Miss from cloudfront" {
		t.Errorf("status view shows region %q, cache %q; want eu-west-1, Miss from cloudfront", region, cache)
	}
	check("deep link /status", state{"/status", "Status · twinedge", []string{"status"}, []string{"/status"}})

	if err := chromedp.Do(ctx, chromedp.Click(`nav a[href="/about"]`, chromedp.NodeVisible)); err != nil {
		t.Fatal(err)
	}
	check("click About", state{"/about", "About · twinedge", []string{"about"}, []string{"/about"}})

	focused, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.activeElement.id`))
	if err != nil {
		t.Fatal(err)
	}
	if focused != "about-title" {
		t.Errorf("after navigation focus is on %q, want the view heading about-title", focused)
	}

	// history.back() rather than NavigateBack: a pushState entry is the same
	// document, so no load event follows.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[any](`history.back()`)); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.WaitVisible(`[data-view=status]`)); err != nil {
		t.Fatal(err)
	}
	check("back", state{"/status", "Status · twinedge", []string{"status"}, []string{"/status"}})

	err = chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/no/such/page"),
		chromedp.WaitVisible(`[data-view=notfound]`),
	)
	if err != nil {
		t.Fatal(err)
	}
	shown, err := chromedp.Run(ctx, chromedp.Text(`[data-view=notfound] [data-path]`))
	if err != nil {
		t.Fatal(err)
	}
	check("unknown route", state{"/no/such/page", "Not found · twinedge", []string{"notfound"}, []string{}})
	if shown != "/no/such/page" {
		t.Errorf("not-found view names %q, want /no/such/page", shown)
	}

	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/"), chromedp.WaitVisible(`[data-view=home]`)); err != nil {
		t.Fatal(err)
	}
	check("home", state{"/", "Home · twinedge", []string{"home"}, []string{"/"}})

	// 404.html has no script: its own markup must show the not-found view.
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/404.html"), chromedp.WaitVisible(`[data-view=notfound]`)); err != nil {
		t.Fatal(err)
	}
	check("404.html", state{"/404.html", "Not found · twinedge", []string{"notfound"}, []string{}})

	mu.Lock()
	defer mu.Unlock()
	if len(pageErrors) > 0 {
		t.Errorf("page errors: %v", pageErrors)
	}
}
