package build

import (
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestHashedName(t *testing.T) {
	tests := map[string]bool{
		"app-3F2A9C1B.js":        true,
		"app.3f2a9c1b.css":       true,
		"main.7c9e6679a1b2.js":   true,
		"index-BxK3f9aZ.js":      true, // Vite
		"chunk-Ab1_-xYz.js":      true, // Vite hashes may hold - and _
		"app.min.3f2a9c1b.js":    true,
		"app.3f2a9c1b.min.js":    true,
		"index.html":             false,
		"report-20240101.pdf":    false, // a date is not a hash
		"deadbeef-cafe.txt":      false,
		"overview-settings.html": false,
		"docs-MyReport.pdf":      false,
		"logo.svg":               false,
		"3f2a9c1b.js":            false, // no name before the hash: could be anything
		"app-3F2a9C1B.js":        true,  // mixed-case hex still has a digit and letters: base64 rule
	}
	for name, want := range tests {
		if got := hashedName(name); got != want {
			t.Errorf("hashedName(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestGlob(t *testing.T) {
	tests := []struct {
		glob, path string
		want       bool
	}{
		{"*.html", "index.html", true},
		{"*.html", "docs/a.html", true}, // no slash in the glob: base name
		{"docs/*.html", "docs/a.html", true},
		{"docs/*.html", "docs/x/a.html", false},
		{"docs/**.html", "docs/x/a.html", true},
		{"docs/**", "docs/x/y", true},
		{"**/*.map", "a/b/c.js.map", true},
		{"assets/?.js", "assets/a.js", true},
		{"assets/?.js", "assets/ab.js", false},
		{`a\*b`, "a*b", true},
		{`a\*b`, "axb", false},
		{"a/*", "a/b/c", false},
	}
	for _, tt := range tests {
		if got := matchGlob(tt.glob, tt.path); got != tt.want {
			t.Errorf("matchGlob(%q, %q) = %v", tt.glob, tt.path, got)
		}
	}
}

// FuzzGlob checks the matcher against path.Match where their syntaxes agree (no "**",
// no escapes, no classes) and that it never hangs or panics otherwise.
func FuzzGlob(f *testing.F) {
	for _, s := range []string{"*.html", "a/*/c", "a?c", "**/x", `a\*`, "a/**/b*c"} {
		f.Add(s, "a/b/c")
	}
	f.Fuzz(func(t *testing.T, g, p string) {
		if len(g) > 64 || len(p) > 256 {
			return
		}
		got := globMatch(g, p)
		if strings.ContainsAny(g, `\[]`) || strings.Contains(g, "**") {
			return
		}
		want, err := path.Match(g, p)
		if err == nil && got != want {
			t.Fatalf("globMatch(%q, %q) = %v, path.Match says %v", g, p, got, want)
		}
	})
}

func TestParseConfig(t *testing.T) {
	good := `{"rules":[{"match":"assets/**","cacheControl":"public, max-age=31536000, immutable"}],"exclude":["**/*.map"],"routes":["/status"]}`
	if _, err := ParseConfig([]byte(good)); err != nil {
		t.Fatal(err)
	}
	for name, bad := range map[string]string{
		"unknown field":  `{"rule":[]}`,
		"empty glob":     `{"rules":[{"match":""}]}`,
		"absolute glob":  `{"rules":[{"match":"/a"}]}`,
		"header newline": `{"rules":[{"match":"a","cacheControl":"x\ny"}]}`,
		"route":          `{"routes":["status"]}`,
		"trailing":       `{} {}`,
	} {
		if _, err := ParseConfig([]byte(bad)); err == nil {
			t.Errorf("%s: accepted %s", name, bad)
		}
	}
}

func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(`{"rules":[{"match":"*.html","contentType":"text/html"}],"exclude":["x/**"],"routes":["/a"]}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseConfig(data)
		if err != nil {
			return
		}
		for _, r := range c.Rules {
			matchGlob(r.Match, "a/b/c.html")
			if strings.ContainsAny(r.CacheControl+r.ContentType, "\r\n") {
				t.Fatalf("accepted a header with a line break: %+v", r)
			}
		}
	})
}

func TestScanStatic(t *testing.T) {
	dir := t.TempDir()
	write := func(p, body string) {
		name := filepath.Join(dir, filepath.FromSlash(p))
		os.MkdirAll(filepath.Dir(name), 0o755)
		if err := os.WriteFile(name, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("index.html", "<html>")
	write("assets/app-3F2A9C1B.js", "js")
	write("assets/app.js.map", "{}")
	write("fonts/x.woff2", "w")
	write("data/feed.xml", "<x/>")
	write(".git/HEAD", "ref")
	write(".well-known/security.txt", "sec")
	write(".DS_Store", "junk")
	write(ConfigFile, `{"rules":[{"match":"data/**","cacheControl":"public, max-age=300"},{"match":"*.xml","contentType":"application/rss+xml","cacheControl":"ignored"}],"exclude":["**/*.map"],"routes":["/feed"]}`)
	files, cfg, err := scanStatic(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][2]string{}
	for _, f := range files {
		got[f.Path] = [2]string{f.ContentType, f.CacheControl}
		if f.MD5 == "" || f.SHA256 == "" {
			t.Errorf("%s has no hashes", f.Path)
		}
	}
	want := map[string][2]string{
		"index.html":               {"text/html; charset=utf-8", CacheRevalidated},
		"assets/app-3F2A9C1B.js":   {"text/javascript; charset=utf-8", CacheImmutable},
		"fonts/x.woff2":            {"font/woff2", CacheRevalidated},
		"data/feed.xml":            {"application/rss+xml", "public, max-age=300"},
		".well-known/security.txt": {"text/plain; charset=utf-8", CacheRevalidated},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("scan (-want +got)\n%s", diff)
	}
	if diff := cmp.Diff([]string{"/feed"}, cfg.Routes); diff != "" {
		t.Errorf("routes (-want +got)\n%s", diff)
	}
}
