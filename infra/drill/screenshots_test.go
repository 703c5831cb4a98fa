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
	{"app-home.png", 1100, 760},
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
	shoot := func(name string, width, height int64, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		b.do("viewport for "+name, chromedp.EmulateViewport(width, height))
		b.do("load "+name, actions...)
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

	// The home page, with a few messages when the board is there.
	b.do("open home", chromedp.Navigate(edge+"/"), chromedp.WaitVisible(`[data-view=home]`))
	if eval[bool](b, "board present", `!!document.querySelector("#board form")`) {
		for _, m := range []string{"Hello from the primary region", "Is anyone reading this from London?"} {
			postMessage(b, m)
			b.waitFor("message shown", messageAcceptedIn(m, primary))
		}
	}
	shoot("app-home.png", 1100, 760, chromedp.Navigate(edge+"/"), chromedp.WaitVisible(`[data-view=home]`), chromedp.Sleep(time.Second))

	// The status view while the primary is down: served by the secondary.
	if err := w.Fail(local.FailRequest{Region: primary, Mode: "503"}); err != nil {
		t.Fatal(err)
	}
	invalidateAll(t, w)
	secondary := w.Regions()[1].Name()
	b.do("status during the fault", chromedp.Navigate(edge+"/status"), chromedp.WaitVisible(`[data-view=status]`))
	b.waitFor("status shows the secondary", regionIs(secondary))
	b.waitFor("health checked", `!!document.querySelector("#region-health li")`)
	shoot("app-status-failover.png", 1100, 760, chromedp.Sleep(500*time.Millisecond))
	if err := w.Heal(primary); err != nil {
		t.Fatal(err)
	}

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
	shoot("drill-report.png", 1200, 1000, chromedp.Navigate("file://"+page), chromedp.WaitVisible(`svg`))
}
