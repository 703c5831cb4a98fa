package build

import (
	"fmt"
	"io/fs"
	"mime"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// Cache-Control defaults for a static directory (spec/release-tools.md §5): files whose
// names carry a content hash never change under that name; everything else is
// revalidated on every use, so a release is visible as soon as it is invalidated.
const (
	CacheImmutable   = "public, max-age=31536000, immutable"
	CacheRevalidated = "public, max-age=0, must-revalidate"
)

// contentTypes fixes the types of common web files, so a release does not depend on
// the machine's mime.types (which would change headers, and so uploads, between hosts).
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8", ".htm": "text/html; charset=utf-8",
	".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8",
	".mjs": "text/javascript; charset=utf-8", ".json": "application/json",
	".map": "application/json", ".webmanifest": "application/manifest+json",
	".xml": "application/xml", ".txt": "text/plain; charset=utf-8",
	".svg": "image/svg+xml", ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
	".gif": "image/gif", ".webp": "image/webp", ".avif": "image/avif", ".ico": "image/x-icon",
	".woff": "font/woff", ".woff2": "font/woff2", ".ttf": "font/ttf", ".otf": "font/otf",
	".wasm": "application/wasm", ".pdf": "application/pdf", ".mp4": "video/mp4",
	".webm": "video/webm", ".mp3": "audio/mpeg", ".zip": "application/zip",
}

// contentTypeFor returns the Content-Type for a file name.
func contentTypeFor(name string) string {
	ext := strings.ToLower(path.Ext(name))
	if ct, ok := contentTypes[ext]; ok {
		return ct
	}
	if ct := mime.TypeByExtension(ext); ct != "" {
		return ct
	}
	return "application/octet-stream"
}

// hashedName reports whether a file name carries a content hash, as bundlers write
// them: "app-3F2A9C1B.js", "app.3f2a9c1b.css", "index-BxK3f9aZ.js" (Vite, 8 characters
// of base64url). It errs towards "no": a hashed file served as revalidated only costs
// a revalidation, while a plain name marked immutable would be stale for a year.
func hashedName(name string) bool {
	stem := strings.TrimSuffix(name, path.Ext(name))
	stem = strings.TrimSuffix(stem, ".min")
	i := strings.LastIndexAny(stem, ".-_")
	if i > 0 && looksHex(stem[i+1:]) {
		return true
	}
	// Vite/Rollup: "-" then exactly 8 base64url characters, which may include "-" or "_".
	if len(stem) >= 10 && (stem[len(stem)-9] == '-' || stem[len(stem)-9] == '.') {
		return looksBase64Hash(stem[len(stem)-8:])
	}
	return false
}

// looksHex: 8 to 64 hex digits, one case, with both a digit and a letter (so neither
// a date like 20240101 nor a word like "deadbeef" counts).
func looksHex(s string) bool {
	if len(s) < 8 || len(s) > 64 {
		return false
	}
	var digit, lower, upper bool
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digit = true
		case c >= 'a' && c <= 'f':
			lower = true
		case c >= 'A' && c <= 'F':
			upper = true
		default:
			return false
		}
	}
	return digit && (lower != upper)
}

// looksBase64Hash: base64url characters with a digit and a letter.
func looksBase64Hash(s string) bool {
	var digit, letter bool
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digit = true
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			letter = true
		case c == '-' || c == '_':
		default:
			return false
		}
	}
	return digit && letter
}

// scanStatic builds the file list of a plain static directory. Hidden files and
// directories (".git", ".DS_Store", the config file) are skipped, except
// ".well-known", which sites serve on purpose.
func scanStatic(dir, configFile string) ([]File, *Config, error) {
	cfg, err := loadConfigFile(dir, configFile)
	if err != nil {
		return nil, nil, err
	}
	var files []File
	err = filepath.WalkDir(dir, func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, name)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if rel == "." {
			return nil
		}
		base := d.Name()
		if strings.HasPrefix(base, ".") && base != ".well-known" {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() || !d.Type().IsRegular() && d.Type()&fs.ModeSymlink == 0 || rel == RedirectsFile {
			return nil // the redirects file is read by the release, never served
		}
		if err := validPath(rel); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		for _, g := range cfg.Exclude {
			if matchGlob(g, rel) {
				return nil
			}
		}
		f := File{Path: rel, ContentType: contentTypeFor(base), CacheControl: CacheRevalidated}
		if hashedName(base) {
			f.CacheControl = CacheImmutable
		}
		var ccSet, ctSet bool
		for _, r := range cfg.Rules {
			if !matchGlob(r.Match, rel) {
				continue
			}
			if r.CacheControl != "" && !ccSet {
				f.CacheControl, ccSet = r.CacheControl, true
			}
			if r.ContentType != "" && !ctSet {
				f.ContentType, ctSet = r.ContentType, true
			}
		}
		files = append(files, f)
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("read static site %s: %w", dir, err)
	}
	if len(files) == 0 {
		return nil, nil, fmt.Errorf("static site %s has no files", dir)
	}
	err = hashAll(len(files), func(i int) error {
		f := &files[i]
		var err error
		f.SHA256, f.MD5, f.Size, err = hashFile(filepath.Join(dir, filepath.FromSlash(f.Path)))
		return err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("read static site %s: %w", dir, err)
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	return files, cfg, nil
}
