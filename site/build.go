package site

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/a-h/templ"
)

// description is the meta description shared by the pages.
const description = "twinedge: a website served from two cloud regions behind one edge that fails over when a region goes down."

// robots allows every crawler. Serving a real file keeps crawlers (and
// Lighthouse) from receiving an error page as robots.txt.
const robots = "User-agent: *\nAllow: /\n"

// redirects is the site's _redirects file (the format is in build/redirects.go): the
// addresses the talk's demo used, sent to the pages that took their place. The release
// reads it and serves it from the edge; it is not a file of the site, so it is not in
// the manifest.
const redirects = `# The talk's demo had a message board at /board and a health page at /health.
/board    /         301
/health   /status   301
`

// Options are what a build knows about the world it is released into.
type Options struct {
	// Regions are the regions the release uploads to, primary first (default none). The
	// pages carry them in <meta name="twinedge-regions" content="us-east-1 eu-west-2">,
	// so the message board posts to the primary's pinned path /api/r/<primary>/ and
	// retries on the secondary's: writes never go through the origin group, which
	// CloudFront allows only GET, HEAD and OPTIONS. The list is part of the pages, so it
	// arrives with the page it belongs to, from whichever bucket served it, and changes
	// (and is invalidated) exactly when a release changes it. Without regions the board
	// reads but cannot post, and says so.
	Regions []string
}

// regionName is the shape of a region the board may put in a path.
var regionName = regexp.MustCompile(`^[a-z0-9-]{1,40}$`)

// Build writes the site into out with no regions: see BuildWith.
func Build(out string) (*Manifest, error) { return BuildWith(out, Options{}) }

// Builder returns a build step for build.Source.Build that builds the site with regions
// (primary first) into its directory.
func Builder(regions []string) func(dir string) error {
	return func(dir string) error {
		_, err := BuildWith(dir, Options{Regions: regions})
		return err
	}
}

// BuildWith writes the site into out: index.html (every SPA route), 404.html,
// robots.txt, the hashed assets under assets/, and out/manifest.json describing
// all of them, and the _redirects file the release serves from the edge. The same sources and options always give byte-identical output. Files
// already in out that BuildWith does not write are left alone and are not in the manifest.
func BuildWith(out string, o Options) (*Manifest, error) {
	if out == "" {
		// An empty path would silently write into the working directory.
		return nil, errors.New("build site: no output directory given")
	}
	for _, r := range o.Regions {
		if !regionName.MatchString(r) {
			return nil, fmt.Errorf("build site: region %q is not a region name (lower-case letters, digits and -)", r)
		}
	}
	a, err := bundle(web)
	if err != nil {
		return nil, err
	}
	files := make(map[string][]byte, len(a.files)+3)
	for p, data := range a.files {
		files[p] = data
	}
	p := page{CSS: a.css, JS: a.js, Icon: a.icon, Regions: strings.Join(o.Regions, " ")}

	home := p
	home.Title, home.Description, home.Current = "Home", description, "/"
	if files["index.html"], err = render(indexPage(home)); err != nil {
		return nil, fmt.Errorf("render index.html: %w", err)
	}
	missing := p
	missing.Title, missing.Description, missing.JS, missing.Route = "Not found", description, "", "notfound"
	if files["404.html"], err = render(notFoundPage(missing)); err != nil {
		return nil, fmt.Errorf("render 404.html: %w", err)
	}
	files["robots.txt"] = []byte(robots)

	m := &Manifest{Files: make([]File, 0, len(files))}
	for name, data := range files {
		dst := filepath.Join(out, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return nil, fmt.Errorf("build site: %w", err)
		}
		if err := os.WriteFile(dst, data, 0o644); err != nil {
			return nil, fmt.Errorf("build site: %w", err)
		}
		m.Files = append(m.Files, newFile(name, data))
	}
	sortFiles(m.Files)

	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode manifest: %w", err)
	}
	if err := os.WriteFile(filepath.Join(out, "manifest.json"), append(data, '\n'), 0o644); err != nil {
		return nil, fmt.Errorf("build site: %w", err)
	}
	if err := os.WriteFile(filepath.Join(out, "_redirects"), []byte(redirects), 0o644); err != nil {
		return nil, fmt.Errorf("build site: %w", err)
	}
	return m, nil
}

// render renders a component to bytes.
func render(c templ.Component) ([]byte, error) {
	var b bytes.Buffer
	if err := c.Render(context.Background(), &b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
