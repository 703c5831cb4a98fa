package site

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	cdplog "github.com/chromedp/cdproto/log"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/google/go-cmp/cmp"

	"github.com/twinedge/twinedge/internal/testtool"
)

// fakeWorld is what the fake edge knows about the regions behind it. The zero
// value of down, listDown and release means all healthy and no release id.
type fakeWorld struct {
	mu       sync.Mutex
	regions  []string        // primary first
	down     map[string]bool // regions whose bucket and API answer 503
	listDown bool            // /api/health answers 503 (the region list is unknown)
	release  string          // x-amz-meta-release of every object; "" for none
}

func (w *fakeWorld) set(fn func(w *fakeWorld)) {
	w.mu.Lock()
	defer w.mu.Unlock()
	fn(w)
}

// serving is the region the site origin group answers from: the first one up.
func (w *fakeWorld) serving() (string, bool) {
	for _, r := range w.regions {
		if !w.down[r] {
			return r, true
		}
	}
	return "", false
}

// fakeEdge serves a built site from one region; see fakeWorldEdge.
func fakeEdge(t *testing.T, out string, m *Manifest, region string) *httptest.Server {
	return fakeWorldEdge(t, out, m, &fakeWorld{regions: []string{region}})
}

// fakeWorldEdge serves a built site the way the edge does for the default
// behaviour: extensionless paths get /index.html (the SPA viewer-request
// function), every object carries the manifest's headers, the serving bucket's
// x-amz-meta-region and the release id. The API answers health checks: /api/health
// from the first region up, /api/r/<region>/health from that region only.
func fakeWorldEdge(t *testing.T, out string, m *Manifest, w *fakeWorld) *httptest.Server {
	t.Helper()
	files := map[string]File{}
	for _, f := range m.Files {
		files["/"+f.Path] = f
	}
	reply := func(rw http.ResponseWriter, status int, v any) {
		rw.Header().Set("Content-Type", "application/json")
		rw.WriteHeader(status)
		json.NewEncoder(rw).Encode(v)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w.mu.Lock()
		serving, up := w.serving()
		regions, listDown, release := append([]string(nil), w.regions...), w.listDown, w.release
		w.mu.Unlock()
		rw.Header().Set("X-Amz-Cf-Pop", "TST50-C1")
		// As the deployed distribution's response headers policy sends it (infra/aws).
		rw.Header().Set("Content-Security-Policy", ContentSecurityPolicy)
		if r.URL.Path == "/api/health" {
			if !up || listDown {
				reply(rw, http.StatusServiceUnavailable, map[string]string{"error": "no region can serve"})
				return
			}
			reply(rw, http.StatusOK, map[string]any{"status": "ok", "region": serving, "regions": regions})
			return
		}
		if rest, ok := strings.CutPrefix(r.URL.Path, "/api/r/"); ok {
			region, sub, _ := strings.Cut(rest, "/")
			w.mu.Lock()
			down := w.down[region]
			w.mu.Unlock()
			switch {
			case sub != "health" || !slices.Contains(regions, region):
				reply(rw, http.StatusNotFound, map[string]string{"error": "no route"})
			case down:
				reply(rw, http.StatusServiceUnavailable, map[string]string{"error": "the store in " + region + " is unreachable"})
			default:
				reply(rw, http.StatusOK, map[string]any{"status": "ok", "region": region, "regions": regions})
			}
			return
		}
		p := r.URL.Path
		if strings.HasSuffix(p, "/") {
			p += "index.html"
		} else if !strings.Contains(path.Base(p), ".") {
			p = "/index.html"
		}
		f, ok := files[p]
		if !ok || !up {
			rw.Header().Set("X-Cache", "Error from cloudfront")
			status := http.StatusNotFound
			if !up {
				status = http.StatusServiceUnavailable
			}
			http.Error(rw, http.StatusText(status), status)
			return
		}
		data, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(f.Path)))
		if err != nil {
			http.Error(rw, err.Error(), http.StatusInternalServerError)
			return
		}
		h := rw.Header()
		h.Set("Content-Type", f.ContentType)
		h.Set("Cache-Control", f.CacheControl)
		h.Set("ETag", `"`+f.SHA256[:32]+`"`)
		h.Set("X-Amz-Meta-Region", serving)
		if release != "" {
			h.Set("X-Amz-Meta-Release", release)
		}
		h.Set("X-Cache", "Miss from cloudfront")
		if r.Method != http.MethodHead {
			rw.Write(data)
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
				msg := "console.error"
				if len(ev.Args) > 0 {
					msg += " " + string(ev.Args[0].Value)
				}
				pageErrors = append(pageErrors, msg)
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

	// Every page runs under the Content-Security-Policy the deploy sends; a violation
	// is a page error.
	err = chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, cdppage.AddScriptToEvaluateOnNewDocument, cdppage.AddScriptToEvaluateOnNewDocumentParams{Source: cspViolationsJS})
		return err
	}))
	if err != nil {
		t.Fatal(err)
	}

	// A deep link to /status is served index.html and shows the status view,
	// filled from the headers of the edge's answer.
	err = chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/status"),
		chromedp.WaitVisible(`[data-view=status][data-rounds]`),
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

// cspViolationsJS reports each Content-Security-Policy violation as a console error.
const cspViolationsJS = `document.addEventListener("securitypolicyviolation", e => console.error("CSP violation: " + e.violatedDirective + " blocked " + (e.blockedURI || "inline")))`

// timersJS runs before the page's scripts and counts the timeouts pending, so
// a test can see that a view left no timer behind.
const timersJS = `(() => {
	const pending = new Set(), set = window.setTimeout, clear = window.clearTimeout;
	window.setTimeout = function (fn, ms, ...args) {
		const id = set.call(window, (...a) => { pending.delete(id); if (typeof fn === "function") fn(...a); }, ms, ...args);
		pending.add(id);
		return id;
	};
	window.clearTimeout = (id) => { pending.delete(id); clear.call(window, id); };
	window.pendingTimers = () => pending.size;
	window.layoutShifts = [];
	new PerformanceObserver((l) => {
		for (const e of l.getEntries()) window.layoutShifts.push(e.sources.map((s) => s.node ? s.node.outerHTML.slice(0, 80) : "?").join(", "));
	}).observe({type: "layout-shift", buffered: true});
})()`

// statusJS reads the status view: the page facts, the asset and region rows,
// and the live region.
const statusJS = `(() => {
	const v = document.querySelector("[data-view=status]");
	const facts = {};
	for (const dd of v.querySelectorAll("dd[data-field]")) facts[dd.dataset.field] = dd.textContent;
	const rows = (sel) => [...v.querySelectorAll(sel + " tbody tr")].map((tr) => [...tr.cells].map((c) => c.textContent));
	return {Facts: facts, Assets: rows("#asset-status"), Regions: rows("#region-health"),
		Health: [...v.querySelectorAll("#region-health tbody tr")].map((tr) => tr.cells[2].className),
		Note: v.querySelector("[data-health-note]").textContent, Changes: v.querySelector("[data-changes]").textContent,
		Rounds: Number(v.dataset.rounds || 0)};
})()`

type statusShown struct {
	Facts   map[string]string
	Assets  [][]string
	Regions [][]string
	Health  []string
	Note    string
	Changes string
	Rounds  int
}

// TestBrowserStatus drives the status view against a fake edge with two regions:
// the facts of the page and its assets, each region's health through its pinned
// path, live updates when the primary fails (announced in the live region), the
// last known region list when /api/health fails, "unknown" for a missing release
// id, and no timer left once the view is left or the tab is hidden.
func TestBrowserStatus(t *testing.T) {
	chromium := testtool.Require(t, "chromium")
	out, m := build(t)
	w := &fakeWorld{regions: []string{"us-east-1", "eu-west-2"}, down: map[string]bool{}, release: "0123456789ab"}
	srv := fakeWorldEdge(t, out, m, w)
	var css, js string
	for _, f := range m.Files {
		switch {
		case strings.HasPrefix(f.Path, "assets/app-") && strings.HasSuffix(f.Path, ".css"):
			css = path.Base(f.Path)
		case strings.HasPrefix(f.Path, "assets/app-") && strings.HasSuffix(f.Path, ".js"):
			js = path.Base(f.Path)
		}
	}

	ctx := browser(t, chromium)
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		// A phone's width, where values are most likely to wrap and move the page.
		_, err := cdp.Call(ctx, tg, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{Width: 412, Height: 823, DeviceScaleFactor: 1, Mobile: true})
		if err != nil {
			return err
		}
		_, err = cdp.Call(ctx, tg, cdppage.AddScriptToEvaluateOnNewDocument, cdppage.AddScriptToEvaluateOnNewDocumentParams{Source: timersJS})
		return err
	}))
	if err != nil {
		t.Fatal(err)
	}
	// waitFor polls on animation frames with no page-side timeout, so the poll
	// itself adds no timer; ctx bounds it.
	waitFor := func(step, expr string) {
		t.Helper()
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(0))); err != nil {
			t.Fatalf("%s: waiting for %s: %v", step, expr, err)
		}
	}
	read := func() statusShown {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[statusShown](statusJS))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	// after waits for the check that starts after the one that was done at n.
	after := func(step string, n int) statusShown {
		t.Helper()
		waitFor(step, fmt.Sprintf(`Number(document.querySelector("[data-view=status]").dataset.rounds || 0) >= %d`, n+2))
		return read()
	}
	healthy := []string{"ok", "ok"}

	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/status")); err != nil {
		t.Fatal(err)
	}
	v := after("first check", -1)
	want := statusShown{
		Facts: map[string]string{"answer": "200", "region": "us-east-1", "cache": "Miss from cloudfront", "age": "unknown",
			"pop": "TST50-C1", "release": "0123456789ab", "api": "healthy · 200 · answered by us-east-1"},
		Assets: [][]string{
			{css, "200", "us-east-1", "Miss from cloudfront"},
			{js, "200", "us-east-1", "Miss from cloudfront"},
		},
		Regions: [][]string{{"us-east-1", "primary", "healthy · 200"}, {"eu-west-2", "secondary", "healthy · 200"}},
		Health:  healthy,
		Note:    "Each region is asked through its own pinned path, /api/r/<region>/health, which never fails over.",
		Changes: "No changes seen since this view opened.",
	}
	ignoreRounds := cmp.FilterPath(func(p cmp.Path) bool { return p.String() == "Rounds" }, cmp.Ignore())
	if diff := cmp.Diff(want, v, ignoreRounds); diff != "" {
		t.Errorf("healthy world (-want +got):\n%s", diff)
	}
	// Filling the values in moves nothing (Cumulative Layout Shift stays 0).
	if shifts, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`window.layoutShifts`)); err != nil || len(shifts) > 0 {
		t.Errorf("layout shifts while the status view filled in: %q (%v)", shifts, err)
	}

	// The primary fails: the next poll, without a reload, shows the page from the
	// secondary and the primary unhealthy, and the live region says so.
	w.set(func(w *fakeWorld) { w.down["us-east-1"] = true })
	v = after("primary down", v.Rounds)
	if got := v.Facts["region"]; got != "eu-west-2" {
		t.Errorf("with the primary down the page region is %q, want eu-west-2", got)
	}
	if diff := cmp.Diff([][]string{{"us-east-1", "primary", "unhealthy · 503"}, {"eu-west-2", "secondary", "healthy · 200"}}, v.Regions); diff != "" {
		t.Errorf("regions with the primary down (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"bad", "ok"}, v.Health); diff != "" {
		t.Errorf("health classes (-want +got):\n%s", diff)
	}
	for _, s := range []string{"now served by eu-west-2", "us-east-1 is now unhealthy"} {
		if !strings.Contains(v.Changes, s) {
			t.Errorf("live region says %q; want it to mention %q", v.Changes, s)
		}
	}

	// After a reload (no list in memory), /api/health fails too: the view keeps the
	// last list it got, says so, and still asks each region.
	w.set(func(w *fakeWorld) { w.listDown = true; w.release = "" })
	if err := chromedp.Do(ctx, chromedp.Reload()); err != nil {
		t.Fatal(err)
	}
	v = after("list down", -1)
	if diff := cmp.Diff([][]string{{"us-east-1", "primary", "unhealthy · 503"}, {"eu-west-2", "secondary", "healthy · 200"}}, v.Regions); diff != "" {
		t.Errorf("regions from the last known list (-want +got):\n%s", diff)
	}
	if !strings.Contains(v.Note, "showing the last list it gave") || !strings.Contains(v.Note, "503") {
		t.Errorf("health note %q does not say the list is an old one and why", v.Note)
	}
	if got := v.Facts["release"]; got != "unknown" {
		t.Errorf("with no x-amz-meta-release the release shows %q, want unknown", got)
	}
	if got := v.Facts["api"]; got != "unhealthy · 503" {
		t.Errorf("API via the edge shows %q, want unhealthy · 503", got)
	}

	// A hidden tab stops polling; a visible one resumes it at once.
	setVisibility := func(state string) {
		t.Helper()
		js := `Object.defineProperty(document, "visibilityState", {configurable: true, get: () => "` + state + `"}); document.dispatchEvent(new Event("visibilitychange"));`
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[any](js)); err != nil {
			t.Fatal(err)
		}
	}
	setVisibility("hidden")
	waitFor("hidden tab", `window.pendingTimers() === 0`)
	n := read().Rounds
	setVisibility("visible")
	after("visible again", n-1)

	// Leaving the view stops its timers and requests.
	if err := chromedp.Do(ctx, chromedp.Click(`nav a[href="/about"]`, chromedp.NodeVisible)); err != nil {
		t.Fatal(err)
	}
	waitFor("left the view", `window.pendingTimers() === 0`)
}
