// Package site builds twinedge's static single-page app: templ-rendered HTML
// pages, esbuild-bundled and content-hashed assets, and a manifest that tells
// the release what each file is and how long the edge and browsers may cache it.
//
// The sources (templ components in this directory, client code in web/) are
// compiled or embedded into the binary, so Build gives the same bytes from any
// working directory and on any machine.
package site

// Generate from the module root, as CI does: templ records each component's
// file name relative to -path in the generated code, so generating from this
// directory would name "layout.templ" where CI writes "site/layout.templ".
//go:generate go tool templ generate -include-version=false -path ..

// Cache-Control values in the manifest. Hashed assets never change under their
// name, so browsers and the edge keep them for a year without asking again.
// Everything else (HTML, robots.txt) keeps its name across releases and must be
// revalidated on every use, or a viewer could mix a new page with old assets.
const (
	CacheImmutable  = "public, max-age=31536000, immutable"
	CacheRevalidate = "public, max-age=0, must-revalidate"
)

// routes are the paths the client router renders; the edge serves /index.html
// for each of them.
var routes = []string{"/", "/status", "/about"}

// Routes returns the SPA routes. The release invalidates them alongside
// /index.html because the edge caches each viewer path separately even though
// they all carry index.html's bytes.
func Routes() []string {
	return append([]string(nil), routes...)
}
