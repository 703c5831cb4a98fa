package drill

import (
	"bytes"
	"context"
	"flag"
	"image/png"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/twinedge/twinedge/infra/local"
	"github.com/twinedge/twinedge/internal/testtool"
)

var update = flag.Bool("update", false, "regenerate the README screenshots under infra/drill/screenshots")

// screenshotDir holds the README's images: the app through the edge, and a drill report.
const screenshotDir = "screenshots"

// screenshots are the images the README shows, with the size they are taken at.
var screenshots = []struct {
	name          string
	width, height int64
}{
	{"app-board.png", 1100, 760},
	{"app-status-failover.png", 1100, 760},
	{"drill-report.png", 1200, 1000},
}

// TestScreenshots checks the committed README images are there and are PNGs of the size
// they are taken at. With -update it regenerates them: it starts a world, releases the
// site, photographs the home page and the status view during a failover, runs a short drill
// and photographs its report:
//
//	go test ./infra/drill -run TestScreenshots -update
func TestScreenshots(t *testing.T) {
	if *update {
		regenerateScreenshots(t)
	}
	for _, s := range screenshots {
		b, err := os.ReadFile(filepath.Join(screenshotDir, s.name))
		if err != nil {
			t.Errorf("%v (regenerate with: go test ./infra/drill -run TestScreenshots -update)", err)
			continue
		}
		cfg, err := png.DecodeConfig(bytes.NewReader(b))
		if err != nil {
			t.Errorf("%s: not a PNG: %v", s.name, err)
			continue
		}
		if int64(cfg.Width) != s.width || int64(cfg.Height) != s.height {
			t.Errorf("%s is %dx%d, want %dx%d", s.name, cfg.Width, cfg.Height, s.width, s.height)
		}
		if len(b) > 400<<10 {
			t.Errorf("%s is %d KB: keep README images small", s.name, len(b)>>10)
		}
	}
}

func regenerateScreenshots(t *testing.T) {
	chromium := testtool.Require(t, "chromium")
	w := startWorld(t)
	edge := w.Info().Edge
	primary := w.Regions()[0].Name()
	if err := os.MkdirAll(screenshotDir, 0o755); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, chromium)
	// shoot sets the viewport, runs actions, evaluates js (to scroll, say) and takes the picture.
	shoot := func(name string, width, height int64, js string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		b.do("viewport for "+name, chromedp.EmulateViewport(width, height))
		b.do("load "+name, actions...)
		if js != "" {
			eval[bool](b, "prepare "+name, js+"; true")
			b.do("settle "+name, chromedp.Sleep(300*time.Millisecond))
		}
		ctx, cancel := context.WithTimeout(b.ctx, time.Minute)
		defer cancel()
		img, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(screenshotDir, name), img, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s (%d KB)", filepath.Join(screenshotDir, name), len(img)>>10)
	}

	// A message posted while all is well, and one while the primary is down: the app retries
	// it on the secondary's pinned path.
	secondary := w.Regions()[1].Name()
	b.do("open home", chromedp.Navigate(edge+"/"), chromedp.WaitVisible(`#board form`))
	postAs(b, "Ada", "Hello from the primary region")
	b.waitFor("first message shown", messageAcceptedIn("Hello from the primary region", primary))
	if err := w.Fail(local.FailRequest{Region: primary, Mode: "503"}); err != nil {
		t.Fatal(err)
	}
	invalidateAll(t, w)
	b.do("home during the fault", chromedp.Navigate(edge+"/"), chromedp.WaitVisible(`#board form`))
	postAs(b, "Grace", "Posted while "+primary+" was down")
	b.waitFor("second message shown", messageAcceptedIn("Posted while "+primary+" was down", secondary))

	// The status view while the primary is down: served by the secondary.
	b.do("status during the fault", chromedp.Navigate(edge+"/status"), chromedp.WaitVisible(`[data-view=status]`))
	b.waitFor("status shows the secondary", regionIs(secondary))
	b.waitFor("API checked", apiAnsweredBy(secondary))
	shoot("app-status-failover.png", 1100, 760, "", chromedp.Sleep(500*time.Millisecond))

	// After the heal: both messages, read from the primary again.
	if err := w.Heal(primary); err != nil {
		t.Fatal(err)
	}
	invalidateAll(t, w)
	b.do("home after the heal", chromedp.Navigate(edge+"/"), chromedp.WaitVisible(`#board form`))
	b.waitFor("both read from the primary", messageReadFrom("Posted while "+primary+" was down", primary))
	shoot("app-board.png", 1100, 760, `window.scrollTo({top: document.querySelector("#board-title").getBoundingClientRect().top + window.scrollY - 16, behavior: "instant"})`)

	// A drill, photographed at the top of its report (headline figures and timeline).
	rep, err := Run(context.Background(), worldOptions(w, 45*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	page := filepath.Join(t.TempDir(), "report.html")
	f, err := os.Create(page)
	if err != nil {
		t.Fatal(err)
	}
	if err := rep.WriteHTML(f); err != nil {
		t.Fatal(err)
	}
	f.Close()
	shoot("drill-report.png", 1200, 1000, "", chromedp.Navigate("file://"+page), chromedp.WaitVisible(`svg`))
}
