package site

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/evanw/esbuild/pkg/api"
)

// web holds the client sources. Bundling reads them from here through an
// esbuild plugin, never from disk, so the build does not depend on the working
// directory and no local path can reach the output.
//
//go:embed web
var web embed.FS

// entryPoints are bundled into assets/<name>-<hash>.<ext>.
var entryPoints = []string{"web/app.js", "web/app.css", "web/icon.svg"}

// embedNamespace is the esbuild namespace of files read from web.
const embedNamespace = "embed"

// virtualRoot is the working directory esbuild is told about. Output paths are
// built under it in memory (Write is false) and then made relative; it never
// has to exist and never appears in the output.
const virtualRoot = "/twinedge"

// assets are the bundled files keyed by their output path ("assets/app-H.js"),
// with the URLs the HTML references.
type assets struct {
	files map[string][]byte
	js    string // "/assets/app-H.js"
	css   string
	icon  string
}

// embedPlugin resolves every import against src, a tree shaped like web.
func embedPlugin(src fs.FS) api.Plugin {
	return api.Plugin{Name: "embed", Setup: func(b api.PluginBuild) {
		b.OnResolve(api.OnResolveOptions{Filter: ".*"}, func(a api.OnResolveArgs) (api.OnResolveResult, error) {
			p := a.Path
			if a.Kind != api.ResolveEntryPoint {
				if !strings.HasPrefix(p, "./") && !strings.HasPrefix(p, "../") {
					return api.OnResolveResult{}, fmt.Errorf("import %q: only relative imports of files in web/ are allowed", p)
				}
				p = path.Join(path.Dir(a.Importer), p)
			}
			if _, err := fs.Stat(src, p); err != nil {
				return api.OnResolveResult{}, fmt.Errorf("resolve %q: %w", a.Path, err)
			}
			return api.OnResolveResult{Path: p, Namespace: embedNamespace}, nil
		})
		b.OnLoad(api.OnLoadOptions{Filter: ".*", Namespace: embedNamespace}, func(a api.OnLoadArgs) (api.OnLoadResult, error) {
			data, err := fs.ReadFile(src, a.Path)
			if err != nil {
				return api.OnLoadResult{}, err
			}
			s := string(data)
			return api.OnLoadResult{Contents: &s, Loader: loaderFor(a.Path)}, nil
		})
	}}
}

func loaderFor(name string) api.Loader {
	switch path.Ext(name) {
	case ".css":
		return api.LoaderCSS
	case ".js":
		return api.LoaderJS
	default:
		// Icons and other files are copied as they are, under a hashed name.
		return api.LoaderCopy
	}
}

// bundle runs esbuild over src (web in production, a modified copy in tests). The script is an IIFE rather
// than a module so it can run synchronously at the end of <body> and pick the
// current view before the first paint.
func bundle(src fs.FS) (*assets, error) {
	res := api.Build(api.BuildOptions{
		EntryPoints:       entryPoints,
		Bundle:            true,
		Write:             false,
		AbsWorkingDir:     virtualRoot,
		Outdir:            virtualRoot + "/assets",
		EntryNames:        "[name]-[hash]",
		MinifyWhitespace:  true,
		MinifyIdentifiers: true,
		MinifySyntax:      true,
		LegalComments:     api.LegalCommentsNone,
		Charset:           api.CharsetUTF8,
		Format:            api.FormatIIFE,
		Target:            api.ES2020,
		Platform:          api.PlatformBrowser,
		Plugins:           []api.Plugin{embedPlugin(src)},
		LogLevel:          api.LogLevelSilent,
	})
	if len(res.Errors) > 0 {
		msgs := api.FormatMessages(res.Errors, api.FormatMessagesOptions{Kind: api.ErrorMessage})
		return nil, fmt.Errorf("bundle web assets: %s", strings.TrimSpace(strings.Join(msgs, "")))
	}
	a := &assets{files: make(map[string][]byte, len(res.OutputFiles))}
	for _, f := range res.OutputFiles {
		rel, ok := strings.CutPrefix(f.Path, virtualRoot+"/")
		if !ok {
			return nil, fmt.Errorf("bundle web assets: output %q outside the output directory", f.Path)
		}
		a.files[rel] = f.Contents
		url := "/" + rel
		switch {
		case strings.HasPrefix(rel, "assets/app-") && strings.HasSuffix(rel, ".js"):
			a.js = url
		case strings.HasPrefix(rel, "assets/app-") && strings.HasSuffix(rel, ".css"):
			a.css = url
		case strings.HasPrefix(rel, "assets/icon-"):
			a.icon = url
		}
	}
	if a.js == "" || a.css == "" || a.icon == "" {
		return nil, fmt.Errorf("bundle web assets: missing outputs (js %q, css %q, icon %q)", a.js, a.css, a.icon)
	}
	return a, nil
}
