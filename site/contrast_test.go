package site

import (
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// colourPairs are the foreground/background custom properties that appear
// together in app.css; each must meet WCAG AA for normal text (4.5:1).
var colourPairs = [][2]string{
	{"--text", "--bg"}, {"--muted", "--bg"}, {"--accent", "--bg"},
	{"--text", "--surface"}, {"--muted", "--surface"}, {"--accent", "--surface"},
	{"--accent-text", "--accent"}, {"--ok", "--bg"}, {"--bad", "--bg"},
}

var colourVar = regexp.MustCompile(`(--[a-z-]+):\s*#([0-9a-fA-F]{6})\s*;`)

// schemeColours reads the hex custom properties of one block of CSS.
func schemeColours(css string) map[string][3]float64 {
	out := map[string][3]float64{}
	for _, m := range colourVar.FindAllStringSubmatch(css, -1) {
		var rgb [3]float64
		for i := range rgb {
			v, _ := strconv.ParseUint(m[2][2*i:2*i+2], 16, 8)
			rgb[i] = float64(v) / 255
		}
		out[m[1]] = rgb
	}
	return out
}

// luminance is WCAG 2.x relative luminance.
func luminance(c [3]float64) float64 {
	var l [3]float64
	for i, v := range c {
		if v <= 0.03928 {
			l[i] = v / 12.92
		} else {
			l[i] = math.Pow((v+0.055)/1.055, 2.4)
		}
	}
	return 0.2126*l[0] + 0.7152*l[1] + 0.0722*l[2]
}

func contrast(a, b [3]float64) float64 {
	la, lb := luminance(a), luminance(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

func TestColourContrast(t *testing.T) {
	if got := contrast([3]float64{0, 0, 0}, [3]float64{1, 1, 1}); math.Abs(got-21) > 0.01 {
		t.Fatalf("contrast(black, white) = %.2f, want 21", got)
	}
	data, err := web.ReadFile("web/app.css")
	if err != nil {
		t.Fatal(err)
	}
	light, dark, ok := strings.Cut(string(data), "@media (prefers-color-scheme: dark)")
	if !ok {
		t.Fatal("app.css has no dark scheme")
	}
	for name, css := range map[string]string{"light": light, "dark": dark} {
		colours := schemeColours(css)
		for _, p := range colourPairs {
			fg, okf := colours[p[0]]
			bg, okb := colours[p[1]]
			if !okf || !okb {
				t.Errorf("%s: %s or %s is not a #rrggbb colour", name, p[0], p[1])
				continue
			}
			if r := contrast(fg, bg); r < 4.5 {
				t.Errorf("%s: %s on %s has contrast %.2f, below WCAG AA 4.5", name, p[0], p[1], r)
			}
		}
	}
}
