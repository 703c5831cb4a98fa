package build

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseRedirects(t *testing.T) {
	good := []struct {
		name, in string
		want     []Redirect
	}{
		{"comments and blank lines", "# old pages\n\n   \n# end\n", nil},
		{"default status is 301", "/old /new", []Redirect{{From: "/old", To: "/new", Status: 301, Line: 1}}},
		{"statuses and force", "/a /x 302\n/b /x 307\n/c /x 308!\n/d https://example.com/d 301",
			[]Redirect{{"/a", "/x", 302, false, 1}, {"/b", "/x", 307, false, 2}, {"/c", "/x", 308, true, 3}, {"/d", "https://example.com/d", 301, false, 4}}},
		{"trailing slash normalized, CRLF and tabs", "/old/\t/new\r\n", []Redirect{{From: "/old", To: "/new", Status: 301, Line: 1}}},
		{"splat", "/news/* /blog/:splat 302", []Redirect{{From: "/news/*", To: "/blog/:splat", Status: 302, Line: 1}}},
		{"exact before splat", "/news/top /best\n/news/* /blog/:splat", []Redirect{{From: "/news/top", To: "/best", Status: 301, Line: 1}, {From: "/news/*", To: "/blog/:splat", Status: 301, Line: 2}}},
		{"deeper splat first", "/a/b/* /x\n/a/* /y", []Redirect{{From: "/a/b/*", To: "/x", Status: 301, Line: 1}, {From: "/a/*", To: "/y", Status: 301, Line: 2}}},
		{"root and catch-all", "/ /home\n/* https://new.example.com/:splat 301!", []Redirect{{From: "/", To: "/home", Status: 301, Line: 1}, {From: "/*", To: "https://new.example.com/:splat", Status: 301, Force: true, Line: 2}}},
		{"target with a port", "/q http://h:8080/p", []Redirect{{From: "/q", To: "http://h:8080/p", Status: 301, Line: 1}}},
	}
	for _, c := range good {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseRedirects("_redirects", []byte(c.in))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}

	bad := []struct{ name, in, want string }{
		{"no target", "/old", "_redirects:1: \"/old\" has no target"},
		{"rewrite", "/app/* /index.html 200", "_redirects:1: status 200 is not supported"},
		{"custom 404", "\n/x /404.html 404", "_redirects:2: status 404 is not supported"},
		{"status not a number", "/a /b moved", "status \"moved\" is not a number"},
		{"placeholder in from", "/news/:year /b", "placeholders such as :year are not supported"},
		{"placeholder in to", "/news/* /b/:year", "placeholders such as :year are not supported"},
		{"splat without splat", "/a /b/:splat", "FROM has no splat"},
		{"query condition", "/store id=:id /blog/:id 301", "query-parameter and Country/Language/Role conditions are not supported"},
		{"country condition", "/ /fr 302 Country=fr", "conditions are not supported"},
		{"too many fields", "/a /b 301 extra", "has 4 fields"},
		{"domain-level", "http://blog.example.com/* https://example.com/blog/:splat 301!", "domain-level redirects are not supported"},
		{"relative from", "old /new", "FROM must be a path"},
		{"relative to", "/old new", "must be a path starting with /"},
		{"protocol-relative to", "/old //evil.example.com", "must be a path starting with /"},
		{"star inside", "/a*b /c", "a splat is a * at the end"},
		{"query in from", "/a?b=1 /c", "without a query"},
		{"dot segment", "/a/../b /c", ". or .. segment"},
		{"empty segment", "/a//b /c", "empty segment"},
		{"non-ASCII", "/café /c", "percent-encode"},
		{"not UTF-8", "/a /b\n/\xff /c", "_redirects:2: not UTF-8"},
		{"duplicate", "/a /b\n/a/ /c", "_redirects:2: /a already has a rule on line 1"},
		{"hidden by splat", "/news/* /b\n/news/top /c", "_redirects:2: never applies: the rule for /news/* on line 1"},
		{"hidden by catch-all", "/* https://x.example/:splat 301!\n/x/* /c", "never applies: the rule for /* on line 1"},
		{"self loop", "/a /a/", "_redirects:1: /a redirects to /a/, which it matches itself"},
		{"splat to its own prefix", "/a/* /a 302", "/a/* redirects to /a, which it matches itself"},
		{"target query", "/a /b?x=1", "has a query or fragment"},
		{"target fragment", "/a /b#top", "has a query or fragment"},
		{"splat loop", "/a/* /a/b/:splat", "a redirect loop"},
		{"two-rule loop", "/a /b\n/b /a/", "_redirects:2: /b redirects to /a/, which leads back"},
		{"key too long", "/" + strings.Repeat("k", 512) + " /b", "a KeyValueStore key holds 512"},
		{"value too long", "/a /" + strings.Repeat("v", 1020), "a KeyValueStore value holds 1024"},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseRedirects("_redirects", []byte(c.in))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, %v; want an error with %q", got, err, c.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
}

// The store holds 5 MB: a file whose rules do not fit is refused at the line that
// overflows it, so a release never starts writing a set that cannot be complete.
func TestParseRedirectsStoreLimit(t *testing.T) {
	var b strings.Builder
	target := "/" + strings.Repeat("t", 900)
	n := 0
	for ; b.Len() < maxRedirectStore+10_000; n++ {
		fmt.Fprintf(&b, "/p%06d %s\n", n, target)
	}
	_, err := ParseRedirects("_redirects", []byte(b.String()))
	if err == nil || !strings.Contains(err.Error(), "a KeyValueStore holds 5 MB") {
		t.Fatalf("%d rules: %v", n, err)
	}
}

func TestRedirectMatch(t *testing.T) {
	rules, err := ParseRedirects("_redirects", []byte("/old /new\n/news/top /best\n/news/* /blog/:splat\n/ /home 302"))
	if err != nil {
		t.Fatal(err)
	}
	m := redirectMatcher{}
	for _, r := range rules {
		m.add(r)
	}
	for _, c := range []struct{ path, from, splat string }{
		{"/old", "/old", ""}, {"/old/", "/old", ""}, {"/news/top", "/news/top", ""},
		{"/news", "/news/*", ""}, {"/news/", "/news/*", ""}, {"/news/a/b", "/news/*", "a/b"},
		{"/", "/", ""}, {"/other", "", ""}, {"/oldx", "", ""}, {"/newsx", "", ""},
	} {
		r, splat, ok := m.match(c.path)
		if r.From != c.from || splat != c.splat || ok != (c.from != "") {
			t.Errorf("match(%q) = %q %q %v, want %q %q", c.path, r.From, splat, ok, c.from, c.splat)
		}
	}
}

func TestRedirectShadowing(t *testing.T) {
	files := []File{{Path: "index.html"}, {Path: "about/index.html"}, {Path: "assets/app.js"}}
	for _, c := range []struct{ rules, want string }{
		{"/board /", ""},
		{"/about /team", "_redirects:1: /about matches about/index.html, a file of the site"},
		{"/assets/* /x", "/assets/* matches assets/app.js"},
		{"/about /team 301!", ""},
		{"/assets/* https://cdn.example.com/:splat 302!", ""},
	} {
		rules, err := ParseRedirects("_redirects", []byte(c.rules))
		if err != nil {
			t.Fatal(err)
		}
		err = checkShadowing(rules, files)
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%q: %v, want %q", c.rules, err, c.want)
		}
	}
}

// FuzzParseRedirects: any input parses or fails with one line naming the file and
// line; what parses is valid as a record would be, fits the store's limits, and its
// rules neither hide one another nor loop.
func FuzzParseRedirects(f *testing.F) {
	for _, s := range []string{"/old /new", "/news/* /blog/:splat 302", "# c\n\n/a /b 308!\n/* https://x.example/:splat",
		"/a /a", "/store id=:id /b", "/a/:b /c", "/\xff /x", "/a /b\n/b /a", "/x/ /y 404"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rules, err := ParseRedirects("_redirects", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "_redirects:") || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %q", err)
			}
			return
		}
		if err := validRedirects(rules); err != nil {
			t.Fatalf("parsed rules are not valid: %v", err)
		}
		m := redirectMatcher{}
		size := 0
		for _, r := range rules {
			k, v := r.Entry()
			if len(k) > maxRedirectKey || len(v) > maxRedirectValue {
				t.Fatalf("entry %q %q over the limits", k, v)
			}
			size += len(k) + len(v)
			if prev, ok := m.first(r); ok {
				t.Fatalf("rule %s hidden by %s", r.From, prev.From)
			}
			m.add(r)
		}
		if size > maxRedirectStore {
			t.Fatalf("store size %d", size)
		}
	})
}
