package drill

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// browser is a headless Chromium driven by chromedp, with the page's console recorded.
// When the test fails, a screenshot and the console log are saved under artifactDir.
type browser struct {
	t   testing.TB
	ctx context.Context

	mu      sync.Mutex
	console []string
}

// artifactDir is where failing browser tests leave their screenshots and console logs:
// $TWINEDGE_ARTIFACTS, or twinedge-artifacts in the temporary directory (t.TempDir is
// removed when the test ends, and these must outlive it).
func artifactDir() string {
	if d := os.Getenv("TWINEDGE_ARTIFACTS"); d != "" {
		return d
	}
	return filepath.Join(os.TempDir(), "twinedge-artifacts")
}

// chromiumFlags are the flags this machine's Chromium needs headless in a container, and
// the ones that keep it from calling home during a test.
func chromiumFlags(path, userData string) []chromedp.ExecAllocatorOption {
	return []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(userData),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1280, 900),
	}
}

// newBrowser starts Chromium for the test; it is stopped when the test ends.
func newBrowser(t testing.TB, chromium string) *browser {
	t.Helper()
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), chromiumFlags(chromium, t.TempDir())...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelCtx(); cancelAlloc() })
	// The first Run starts the browser; it must not carry a timeout (that would bound the
	// browser's life), so the test's bound is set after.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	b := &browser{t: t, ctx: ctx}
	start := time.Now()
	err := chromedp.Listen(ctx, func(ev any) {
		var line string
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			var args []string
			for _, a := range ev.Args {
				if a.Value != nil {
					args = append(args, string(a.Value))
				} else {
					args = append(args, a.Description)
				}
			}
			line = fmt.Sprintf("console.%s %s", ev.Type, strings.Join(args, " "))
		case *runtime.EventExceptionThrown:
			line = "exception " + ev.ExceptionDetails.Text
			if ev.ExceptionDetails.Exception != nil {
				line += " " + ev.ExceptionDetails.Exception.Description
			}
		case *cdplog.EventEntryAdded:
			line = fmt.Sprintf("log.%s %s %s", ev.Entry.Level, ev.Entry.Text, ev.Entry.URL)
		default:
			return
		}
		b.mu.Lock()
		b.console = append(b.console, fmt.Sprintf("%7.3fs %s", time.Since(start).Seconds(), line))
		b.mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	// Registered after the browser's own cleanup, so it runs first, while the page lives.
	t.Cleanup(func() {
		if t.Failed() {
			b.saveArtifacts()
		}
	})
	return b
}

// saveArtifacts writes a screenshot and the console log of the current page.
func (b *browser) saveArtifacts() {
	dir := artifactDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.t.Logf("artifacts: %v", err)
		return
	}
	name := strings.NewReplacer("/", "_", " ", "_").Replace(b.t.Name())
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
		p := filepath.Join(dir, name+".png")
		if err := os.WriteFile(p, png, 0o644); err == nil {
			b.t.Logf("screenshot saved to %s", p)
		}
	} else {
		b.t.Logf("screenshot: %v", err)
	}
	b.mu.Lock()
	log := strings.Join(b.console, "\n") + "\n"
	b.mu.Unlock()
	if url, err := chromedp.Run(ctx, chromedp.Location()); err == nil {
		log = "page: " + url + "\n" + log
	}
	p := filepath.Join(dir, name+".console.log")
	if err := os.WriteFile(p, []byte(log), 0o644); err == nil {
		b.t.Logf("console log saved to %s", p)
	}
}

// do runs actions with a generous bound, so a broken page fails the test instead of
// hanging it.
func (b *browser) do(step string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, time.Minute)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v", step, err)
	}
}

// eval evaluates a JavaScript expression in the page (awaiting a promise).
func eval[T any](b *browser, step, js string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, time.Minute)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("%s: %v", step, err)
	}
	return v
}

// waitFor polls a JavaScript predicate until it holds, for at most a minute: long enough
// on a loaded machine, short enough that a page that never gets there fails the test.
// It is not a timing assertion: only "eventually" is checked.
func (b *browser) waitFor(step, js string) {
	b.t.Helper()
	deadline := time.Now().Add(time.Minute)
	var last string
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js, chromedp.EvalAwaitPromise))
		cancel()
		if err == nil && ok {
			return
		}
		if err != nil {
			last = err.Error()
		}
		time.Sleep(200 * time.Millisecond)
	}
	b.t.Fatalf("%s: never true: %s %s", step, js, last)
}

// text returns an element's text content ("" when absent).
func (b *browser) text(sel string) string {
	b.t.Helper()
	return eval[string](b, "text of "+sel, fmt.Sprintf(`(document.querySelector(%q) || {}).textContent || ""`, sel))
}
