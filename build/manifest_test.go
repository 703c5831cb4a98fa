package build

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const sha0 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

func TestParseManifest(t *testing.T) {
	good := `{"files":[{"path":"b.html","sha256":"` + sha0 + `","size":0,"contentType":"text/html","cacheControl":"no-cache"},{"path":"a/x.js","sha256":"` + sha0 + `","size":0,"contentType":"text/javascript","cacheControl":""}]}`
	m, err := ParseManifest([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if m.Files[0].Path != "a/x.js" {
		t.Errorf("not sorted: %v", m.Files)
	}
	for name, path := range map[string]string{
		"leading slash": "/a", "dotdot": "a/../b", "dot": "./a", "empty segment": "a//b",
		"trailing slash": "a/", "backslash": `a\b`, "empty": "", "control": "a\x01",
	} {
		bad := strings.Replace(good, `"b.html"`, mustJSON(path), 1)
		if _, err := ParseManifest([]byte(bad)); err == nil {
			t.Errorf("%s: accepted path %q", name, path)
		}
	}
	for name, bad := range map[string]string{
		"duplicate":  strings.Replace(good, `"b.html"`, `"a/x.js"`, 1),
		"short sha":  strings.Replace(good, sha0, "abc", 1),
		"upper sha":  strings.Replace(good, sha0, strings.ToUpper(sha0), 1),
		"negative":   strings.Replace(good, `"size":0`, `"size":-1`, 1),
		"header CR":  strings.Replace(good, `"no-cache"`, `"no-cache\r\nX: y"`, 1),
		"trailing":   good + "{}",
		"not object": `[]`,
	} {
		if _, err := ParseManifest([]byte(bad)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func FuzzParseManifest(f *testing.F) {
	f.Add([]byte(`{"files":[{"path":"index.html","sha256":"` + sha0 + `","size":0,"contentType":"text/html","cacheControl":"no-cache"}]}`))
	f.Add([]byte(`{"files":[]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseManifest(data)
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, file := range m.Files {
			if validPath(file.Path) != nil || seen[file.Path] || !isHex(file.SHA256, 64) || file.Size < 0 {
				t.Fatalf("accepted invalid file %+v", file)
			}
			seen[file.Path] = true
			// Every accepted path is usable as a key and an invalidation path.
			for _, p := range invalidationPaths([]string{file.Path}, nil) {
				if !strings.HasPrefix(p, "/") || strings.ContainsAny(p, " *?\x00") && p != "/*" {
					t.Fatalf("path %q gives invalidation path %q", file.Path, p)
				}
			}
		}
	})
}

func FuzzParseRecord(f *testing.F) {
	f.Add([]byte(`{"id":"0123456789ab","kind":"release","time":"2026-01-01T00:00:00Z","files":[{"path":"a","sha256":"` + sha0 + `","size":0}]}`))
	f.Add([]byte(`{"id":"0123456789ab","keys":["a/b"]}`))
	f.Add([]byte(`{"id":"0123456789ab","kind":"release","files":[],"redirects":[{"from":"/old","to":"/new","status":301},{"from":"/news/*","to":"/b/:splat","status":302,"force":true}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if r, err := ParseRecord(data); err == nil && !validID(r.ID) {
			t.Fatalf("accepted id %q", r.ID)
		} else if err == nil {
			// A recorded redirect set is what a rollback writes to the store: it must fit.
			for _, rd := range r.Redirects {
				if k, v := rd.Entry(); len(k) > maxRedirectKey || len(v) > maxRedirectValue || !strings.HasPrefix(k, "/") {
					t.Fatalf("accepted redirect entry %q %q", k, v)
				}
			}
		}
		if p, err := parsePending(data); err == nil {
			for _, k := range p.Keys {
				if validPath(k) != nil {
					t.Fatalf("accepted key %q", k)
				}
			}
		}
	})
}

func TestLoadBuiltSiteChecksFiles(t *testing.T) {
	dir := writeSite(t, siteVersion("v1"))
	if _, err := loadBuiltSite(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "index.html"), []byte("changed after the build"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := loadBuiltSite(dir); err == nil || !strings.Contains(err.Error(), "index.html") {
		t.Errorf("a file that no longer matches the manifest: err = %v", err)
	}
}

func TestParseRecordKey(t *testing.T) {
	ref, ok := parseRecordKey("releases/20261126T042100.000Z-0123456789ab.json")
	if !ok || ref.ID != "0123456789ab" || ref.Time.Year() != 2026 {
		t.Errorf("parse = %+v, %v", ref, ok)
	}
	for _, bad := range []string{"releases/pending.json", "releases/x-0123456789ab.json", "blobs/x", "releases/20261126T042100.000Z-0123.json"} {
		if _, ok := parseRecordKey(bad); ok {
			t.Errorf("accepted %q", bad)
		}
	}
}
