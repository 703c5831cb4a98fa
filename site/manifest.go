package site

import (
	"crypto/sha256"
	"encoding/hex"
	"path"
	"sort"
)

// Manifest lists every file Build wrote, except manifest.json itself. The
// release diffs it against the buckets and sets each object's headers from it,
// so nothing about a file is guessed at upload time.
type Manifest struct {
	Files []File `json:"files"`
}

// File describes one output file.
type File struct {
	// Path is relative to the output directory, with forward slashes and no
	// leading slash: "index.html", "assets/app-XXXXXXXX.js". It is the object key.
	Path string `json:"path"`
	// SHA256 is the hex digest of the file's bytes.
	SHA256 string `json:"sha256"`
	// Size is the file's length in bytes.
	Size int64 `json:"size"`
	// ContentType is the Content-Type to serve the file with.
	ContentType string `json:"contentType"`
	// CacheControl is the Cache-Control to serve the file with: CacheImmutable
	// for content-hashed assets, CacheRevalidate for everything else.
	CacheControl string `json:"cacheControl"`
}

// contentTypes maps the extensions Build emits to their Content-Type. Text types
// name their charset because the sources are UTF-8.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".svg":  "image/svg+xml",
	".txt":  "text/plain; charset=utf-8",
	".json": "application/json",
}

// contentType returns the Content-Type for a file name, or
// application/octet-stream for an extension Build does not know.
func contentType(name string) string {
	if ct, ok := contentTypes[path.Ext(name)]; ok {
		return ct
	}
	return "application/octet-stream"
}

// newFile describes data stored at p. Files under assets/ are content-hashed
// by construction, so they are the only immutable ones.
func newFile(p string, data []byte) File {
	sum := sha256.Sum256(data)
	cc := CacheRevalidate
	if path.Dir(p) == "assets" {
		cc = CacheImmutable
	}
	return File{
		Path:         p,
		SHA256:       hex.EncodeToString(sum[:]),
		Size:         int64(len(data)),
		ContentType:  contentType(p),
		CacheControl: cc,
	}
}

// sortFiles orders files by path so the manifest is deterministic.
func sortFiles(files []File) {
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
}
