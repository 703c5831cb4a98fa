package site

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/html"
)

// build runs Build into a fresh directory and returns it with the manifest.
func build(t *testing.T) (string, *Manifest) {
	t.Helper()
	out := t.TempDir()
	m, err := Build(out)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	return out, m
}

// readTree returns every file under dir keyed by slash path.
func readTree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(p)
		files[filepath.ToSlash(rel)] = data
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

var hashedAsset = regexp.MustCompile(`^assets/[a-z]+-[A-Z0-9]{8}\.(js|css|svg)$`)

func TestManifest(t *testing.T) {
	out, m := build(t)
	tree := readTree(t, out)

	var onDisk Manifest
	if err := json.Unmarshal(tree["manifest.json"], &onDisk); err != nil {
		t.Fatalf("manifest.json: %v", err)
	}
	if diff := cmp.Diff(*m, onDisk); diff != "" {
		t.Errorf("manifest.json differs from the returned manifest (-returned +file):\n%s", diff)
	}
	delete(tree, "manifest.json")

	listed := map[string]bool{}
	if !slices.IsSortedFunc(m.Files, func(a, b File) int { return strings.Compare(a.Path, b.Path) }) {
		t.Error("manifest files are not sorted by path")
	}
	for _, f := range m.Files {
		t.Run(f.Path, func(t *testing.T) {
			if listed[f.Path] {
				t.Errorf("listed twice")
			}
			listed[f.Path] = true
			if strings.HasPrefix(f.Path, "/") || strings.Contains(f.Path, `\`) {
				t.Errorf("path %q must be slash-separated with no leading slash", f.Path)
			}
			data, ok := tree[f.Path]
			if !ok {
				t.Fatalf("listed but not written")
			}
			sum := sha256.Sum256(data)
			if got := hex.EncodeToString(sum[:]); f.SHA256 != got {
				t.Errorf("sha256 = %s, file has %s", f.SHA256, got)
			}
			if f.Size != int64(len(data)) {
				t.Errorf("size = %d, file has %d", f.Size, len(data))
			}
			wantType := map[string]string{
				".html": "text/html; charset=utf-8",
				".css":  "text/css; charset=utf-8",
				".js":   "text/javascript; charset=utf-8",
				".svg":  "image/svg+xml",
				".txt":  "text/plain; charset=utf-8",
			}[path.Ext(f.Path)]
			if f.ContentType != wantType {
				t.Errorf("content type = %q, want %q", f.ContentType, wantType)
			}
			wantCache := "public, max-age=0, must-revalidate"
			if hashedAsset.MatchString(f.Path) {
				wantCache = "public, max-age=31536000, immutable"
			} else if strings.HasPrefix(f.Path, "assets/") {
				t.Errorf("asset %q has no content hash in its name", f.Path)
			}
			if f.CacheControl != wantCache {
				t.Errorf("cache control = %q, want %q", f.CacheControl, wantCache)
			}
		})
	}
	for p := range tree {
		// The redirects file is read by the release, never served (build/redirects.go).
		if !listed[p] && p != "_redirects" {
			t.Errorf("%s written but not in the manifest", p)
		}
	}
	if listed["_redirects"] || tree["_redirects"] == nil {
		t.Errorf("_redirects must be written beside the site and not be in the manifest")
	}
	for _, want := range []string{"index.html", "404.html"} {
		if !listed[want] {
			t.Errorf("%s missing", want)
		}
	}
}

func TestBuildIsDeterministic(t *testing.T) {
	a, _ := build(t)
	// The second build runs from another working directory: the output must not
	// depend on it.
	t.Chdir(t.TempDir())
	b, _ := build(t)
	if diff := cmp.Diff(readTree(t, a), readTree(t, b)); diff != "" {
		t.Errorf("two builds differ (-first +second):\n%s", diff)
	}
}

// TestAssetHashFollowsContent checks that a name changes with its file's
// content and only then, so a release re-uploads exactly what changed.
func TestAssetHashFollowsContent(t *testing.T) {
	orig := fstest.MapFS{}
	err := fs.WalkDir(web, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := web.ReadFile(p)
		orig[p] = &fstest.MapFile{Data: data}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	before, err := bundle(orig)
	if err != nil {
		t.Fatal(err)
	}
	changed := fstest.MapFS{}
	for p, f := range orig {
		changed[p] = f
	}
	css := append(bytes.Clone(orig["web/app.css"].Data), []byte("\n.test-only{color:red}\n")...)
	changed["web/app.css"] = &fstest.MapFile{Data: css}
	after, err := bundle(changed)
	if err != nil {
		t.Fatal(err)
	}
	if before.css == after.css {
		t.Errorf("css name %s did not change with its content", before.css)
	}
	if before.js != after.js || before.icon != after.icon {
		t.Errorf("unchanged files were renamed: js %s → %s, icon %s → %s", before.js, after.js, before.icon, after.icon)
	}
	for name := range before.files {
		if !hashedAsset.MatchString(name) {
			t.Errorf("%s: name has no content hash", name)
		}
	}
}

func parse(t *testing.T, data []byte) *html.Node {
	t.Helper()
	doc, err := html.Parse(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func attr(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

// each calls fn for every element node under n, in document order.
func each(n *html.Node, fn func(*html.Node)) {
	if n.Type == html.ElementNode {
		fn(n)
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		each(c, fn)
	}
}

func text(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return strings.TrimSpace(b.String())
}

func TestHTMLReferencesExist(t *testing.T) {
	out, m := build(t)
	files := map[string]bool{}
	for _, f := range m.Files {
		files[f.Path] = true
	}
	for _, page := range []string{"index.html", "404.html"} {
		t.Run(page, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(out, page))
			if err != nil {
				t.Fatal(err)
			}
			refs := 0
			each(parse(t, data), func(n *html.Node) {
				for _, key := range []string{"href", "src"} {
					v, ok := attr(n, key)
					if !ok || strings.HasPrefix(v, "#") {
						continue
					}
					refs++
					if !strings.HasPrefix(v, "/") || strings.HasPrefix(v, "//") {
						t.Errorf("<%s %s=%q>: want a root-relative URL", n.Data, key, v)
						continue
					}
					if n.Data == "a" {
						if !slices.Contains(Routes(), v) {
							t.Errorf("link to %q, which is not a route", v)
						}
					} else if !files[strings.TrimPrefix(v, "/")] {
						t.Errorf("<%s %s=%q>: no such file in the build", n.Data, key, v)
					}
				}
			})
			if refs == 0 {
				t.Error("no references found; the test is not looking at the page")
			}
		})
	}
}

// w3SVG is the SVG namespace name: an identifier, never fetched.
const w3SVG = "http://www.w3.org/2000/svg"

var absoluteURL = regexp.MustCompile(`(?i)(https?:)?//[a-z0-9.-]+\.[a-z]{2,}[^\s"'()<>]*`)

func TestNoExternalURLs(t *testing.T) {
	out, _ := build(t)
	for name, data := range readTree(t, out) {
		s := strings.ReplaceAll(string(data), w3SVG, "")
		for _, u := range absoluteURL.FindAllString(s, -1) {
			t.Errorf("%s references %s: the site must make no external requests", name, u)
		}
	}
	// The check must be able to fail.
	if !absoluteURL.MatchString(`<link href="https://fonts.example.com/x.css">`) {
		t.Error("absoluteURL does not match an external stylesheet")
	}
}

// TestFirstViewSize keeps the first page (HTML and everything it loads) under
// the 30 KB compressed budget of DESIGN.md.
func TestFirstViewSize(t *testing.T) {
	out, _ := build(t)
	data, err := os.ReadFile(filepath.Join(out, "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	first := []string{"index.html"}
	each(parse(t, data), func(n *html.Node) {
		if n.Data != "link" && n.Data != "script" {
			return
		}
		for _, key := range []string{"href", "src"} {
			if v, ok := attr(n, key); ok {
				first = append(first, strings.TrimPrefix(v, "/"))
			}
		}
	})
	if len(first) < 4 {
		t.Fatalf("first view loads %v; want the page, its stylesheet, script and icon", first)
	}
	total := 0
	for _, name := range first {
		data, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		z := gzip.NewWriter(&b)
		z.Write(data)
		z.Close()
		t.Logf("%s: %d bytes, %d gzipped", name, len(data), b.Len())
		total += b.Len()
	}
	const budget = 30 * 1024
	t.Logf("first view: %d bytes gzipped (budget %d)", total, budget)
	if total >= budget {
		t.Errorf("first view is %d bytes gzipped, over the %d budget", total, budget)
	}
}

func TestAccessibleMarkup(t *testing.T) {
	out, _ := build(t)
	for _, page := range []string{"index.html", "404.html"} {
		t.Run(page, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(out, page))
			if err != nil {
				t.Fatal(err)
			}
			count := map[string]int{}
			var (
				lang, viewport, description, title string
				firstLink                          string
				ids                                = map[string]int{}
			)
			each(parse(t, data), func(n *html.Node) {
				count[n.Data]++
				if id, ok := attr(n, "id"); ok {
					ids[id]++
				}
				switch n.Data {
				case "html":
					lang, _ = attr(n, "lang")
				case "title":
					title = text(n)
				case "meta":
					name, _ := attr(n, "name")
					content, _ := attr(n, "content")
					switch name {
					case "viewport":
						viewport = content
					case "description":
						description = content
					}
				case "a":
					if firstLink == "" {
						firstLink, _ = attr(n, "href")
					}
					if text(n) == "" {
						t.Errorf("link %v has no text", n.Attr)
					}
				case "button":
					if text(n) == "" {
						if _, ok := attr(n, "aria-label"); !ok {
							t.Errorf("button %v has no accessible name", n.Attr)
						}
					}
				case "nav":
					if _, ok := attr(n, "aria-label"); !ok {
						t.Error("nav has no aria-label")
					}
				case "img":
					if _, ok := attr(n, "alt"); !ok {
						t.Errorf("img %v has no alt", n.Attr)
					}
				}
			})
			if lang != "en" {
				t.Errorf("html lang = %q, want en", lang)
			}
			if !strings.Contains(viewport, "width=device-width") {
				t.Errorf("meta viewport = %q", viewport)
			}
			if len(description) < 50 {
				t.Errorf("meta description %q is missing or too short for search results", description)
			}
			if title == "" {
				t.Error("no title")
			}
			if firstLink != "#main" {
				t.Errorf("first link goes to %q; want a skip link to #main", firstLink)
			}
			if ids["main"] != 1 {
				t.Errorf("want one element with id main, found %d", ids["main"])
			}
			for id, n := range ids {
				if n > 1 {
					t.Errorf("id %q used %d times", id, n)
				}
			}
			for _, landmark := range []string{"header", "nav", "main", "footer"} {
				if count[landmark] != 1 {
					t.Errorf("want one <%s>, found %d", landmark, count[landmark])
				}
			}
		})
	}
}

// TestRoutesHaveViews checks that every route the release invalidates has a
// server-rendered view, a nav entry, and a place in the client router.
func TestRoutesHaveViews(t *testing.T) {
	out, m := build(t)
	data, err := os.ReadFile(filepath.Join(out, "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	var js []byte
	for _, f := range m.Files {
		if strings.HasSuffix(f.Path, ".js") {
			js, _ = os.ReadFile(filepath.Join(out, f.Path))
		}
	}
	views := map[string]bool{}
	var navLinks []string
	inNav := false
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			if v, ok := attr(n, "data-view"); ok {
				views[v] = true
			}
			if n.Data == "nav" {
				inNav = true
				defer func() { inNav = false }()
			}
			if inNav && n.Data == "a" {
				href, _ := attr(n, "href")
				navLinks = append(navLinks, href)
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(parse(t, data))
	if diff := cmp.Diff(Routes(), navLinks); diff != "" {
		t.Errorf("nav links differ from Routes (-routes +nav):\n%s", diff)
	}
	for _, v := range []string{"home", "status", "about", "notfound"} {
		if !views[v] {
			t.Errorf("index.html has no view %q", v)
		}
	}
	for _, r := range Routes() {
		if !bytes.Contains(js, []byte(`"`+r+`"`)) {
			t.Errorf("the client router does not know route %q", r)
		}
	}
}

func TestBuildNeedsOutputDirectory(t *testing.T) {
	t.Chdir(t.TempDir())
	if _, err := Build(""); err == nil {
		t.Fatal("Build(\"\") succeeded; want an error rather than writing into the working directory")
	}
	if entries, _ := os.ReadDir("."); len(entries) != 0 {
		t.Errorf("Build(\"\") wrote %d entries into the working directory", len(entries))
	}
}

func BenchmarkBuild(b *testing.B) {
	out := b.TempDir()
	for b.Loop() {
		if _, err := Build(out); err != nil {
			b.Fatal(err)
		}
	}
}
