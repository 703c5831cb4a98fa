package build

// Redirects: a site's _redirects file, in the subset of Netlify's format that a
// CloudFront Function can serve, becomes the entries of a CloudFront KeyValueStore that
// the distribution's viewer-request function reads (infra.SiteFunctionJS).
//
// The format, one rule a line (docs.netlify.com/routing/redirects, "Syntax for the
// _redirects file" and "Redirect options"):
//
//	# a comment; blank lines are skipped
//	/old-page      /new-page                 # status 301 when none is given
//	/news/*        /blog/:splat     302      # a splat: the rest of the path
//	/docs          https://docs.example.com  308
//	/about         /team            301!     # ! forces it over a file of the site
//
// FROM is a path, exact or ending in "/*"; TO is a path or an http(s) URL, where
// ":splat" stands for what the splat matched; STATUS is 301, 302, 307 or 308, with "!"
// to force. Everything else Netlify reads (rewrites and proxies with 200, custom 404s,
// :placeholders, query-parameter and Country/Language/Role conditions, domain-level
// FROMs) is refused with the file and line, because a redirect at the edge cannot do it
// the way Netlify does; so are rules that could never apply (a FROM an earlier rule
// already matches: Netlify applies the first match) and rules that redirect to
// themselves.
//
// Matching is Netlify's: "/old" also matches "/old/" (Netlify normalizes a trailing
// slash before the rules run), "/news/*" matches "/news", "/news/" and everything
// below, and the request's query string is passed on (a TO with a query of its own is
// refused: Netlify's engine appends the request's after it). A
// rule without "!" never shadows a file of the site (Netlify serves the file); the
// function cannot see the bucket, so a release refuses such a rule instead of serving
// the redirect where Netlify would serve the page.

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// RedirectsFile is the redirects file, at the top of the site directory. It is read by
// the release and never uploaded (Netlify does not serve it either).
const RedirectsFile = "_redirects"

// KeyValueStore limits (CloudFront Developer Guide, kvs-with-functions-create-s3-kvp,
// "File format for key-value pairs": key 512 characters, value 1024 characters, 5 MB;
// cloudfront-limits, "Quotas on key value stores"). The store's 5 MB is read as
// 5,000,000 bytes, the smaller of its two readings, so a set of redirects the release
// accepts also fits on AWS. UpdateKeys takes at most 50 keys or 3 MB a request (the
// default quota, as documented by the Terraform/Pulumi KeyvaluestoreKeysExclusive
// resource's max_batch_size).
const (
	maxRedirectKey   = 512
	maxRedirectValue = 1024
	maxRedirectStore = 5_000_000
	maxUpdateKeys    = 50
	maxUpdateBytes   = 3_000_000
)

// maxRedirectsFile bounds what is read of a redirects file: a file that large could
// not fit in a store anyway.
const maxRedirectsFile = 16 << 20

// Redirect is one rule of a redirects file.
type Redirect struct {
	// From is the path matched: exact, without a trailing slash ("/old"; "/" for the
	// root), or a prefix ending in "/*" ("/news/*").
	From string `json:"from"`
	// To is the target path or URL; ":splat" is replaced by what a splat matched.
	To string `json:"to"`
	// Status is 301, 302, 307 or 308.
	Status int `json:"status"`
	// Force is "!": the rule applies even where the site has a file.
	Force bool `json:"force,omitempty"`
	// Line is the rule's line in the file (for messages; not recorded).
	Line int `json:"-"`
}

// Splat reports whether the rule matches a prefix.
func (r Redirect) Splat() bool { return strings.HasSuffix(r.From, "/*") }

// Entry is the rule as a KeyValueStore entry, as the site function reads it: the key
// is From, the value "<status> <to>" ("301 /new-page"), so the function needs one
// lookup per candidate key and no JSON.
func (r Redirect) Entry() (key, value string) {
	return r.From, strconv.Itoa(r.Status) + " " + r.To
}

// redirectStatuses are the statuses served (twinedge's subset of Netlify's).
var redirectStatuses = map[int]bool{301: true, 302: true, 307: true, 308: true}

// ReadRedirects reads dir's redirects file; no file is no rules (nil, nil).
func ReadRedirects(dir string) ([]Redirect, error) {
	name := filepath.Join(dir, RedirectsFile)
	fi, err := os.Stat(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", name)
	}
	if fi.Size() > maxRedirectsFile {
		return nil, fmt.Errorf("%s is %d bytes; a KeyValueStore holds 5 MB", name, fi.Size())
	}
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	return ParseRedirects(name, data)
}

// ParseRedirects parses a redirects file (see the top of this file). name is used in
// errors, which are one line: "name:line: what is wrong".
func ParseRedirects(name string, data []byte) ([]Redirect, error) {
	if len(data) > maxRedirectsFile {
		return nil, fmt.Errorf("%s is %d bytes; a KeyValueStore holds 5 MB", name, len(data))
	}
	var rules []Redirect
	m := redirectMatcher{}
	size := 0
	for i, line := range bytes.Split(data, []byte("\n")) {
		n := i + 1
		fail := func(format string, args ...any) error {
			return fmt.Errorf("%s:%d: %s", name, n, fmt.Sprintf(format, args...))
		}
		if !utf8.Valid(line) {
			return nil, fail("not UTF-8")
		}
		text := strings.TrimSpace(strings.TrimSuffix(string(line), "\r"))
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		r, err := parseRule(text)
		if err != nil {
			return nil, fail("%v", err)
		}
		r.Line = n
		if prev, ok := m.first(r); ok {
			if prev.From == r.From {
				return nil, fail("%s already has a rule on line %d, which applies first: this one never applies", r.From, prev.Line)
			}
			return nil, fail("never applies: the rule for %s on line %d matches %s first", prev.From, prev.Line, r.From)
		}
		if err := m.loops(r); err != nil {
			return nil, fail("%v", err)
		}
		k, v := r.Entry()
		if size += len(k) + len(v); size > maxRedirectStore {
			return nil, fail("the rules up to here take %d bytes; a KeyValueStore holds 5 MB (%d bytes)", size, maxRedirectStore)
		}
		m.add(r)
		rules = append(rules, r)
	}
	return rules, nil
}

// parseRule parses one line: FROM TO [STATUS[!]].
func parseRule(text string) (Redirect, error) {
	f := strings.Fields(text)
	if len(f) < 2 {
		return Redirect{}, fmt.Errorf("%q has no target: a rule is FROM TO [STATUS]", text)
	}
	for _, x := range f[1:] {
		if strings.Contains(x, "=") && !strings.Contains(x, "/") {
			return Redirect{}, fmt.Errorf("%q: query-parameter and Country/Language/Role conditions are not supported", x)
		}
	}
	if len(f) > 3 {
		return Redirect{}, fmt.Errorf("%q has %d fields: a rule is FROM TO [STATUS]", text, len(f))
	}
	r := Redirect{Status: 301} // Netlify's default ("Redirect options", HTTP status codes)
	from, err := parseFrom(f[0])
	if err != nil {
		return Redirect{}, err
	}
	r.From = from
	if len(f) == 3 {
		s := f[2]
		s, r.Force = strings.CutSuffix(s, "!")
		code, err := strconv.Atoi(s)
		if err != nil || len(s) != 3 {
			return Redirect{}, fmt.Errorf("status %q is not a number", f[2])
		}
		if !redirectStatuses[code] {
			return Redirect{}, fmt.Errorf("status %d is not supported: twinedge serves redirects with 301, 302, 307 or 308 (rewrites, proxies and custom 404s need the origin)", code)
		}
		r.Status = code
	}
	if err := checkTarget(f[1], r.Splat()); err != nil {
		return Redirect{}, err
	}
	r.To = f[1]
	if _, v := r.Entry(); len(v) > maxRedirectValue {
		return Redirect{}, fmt.Errorf("target is %d bytes; a KeyValueStore value holds %d with its status", len(f[1]), maxRedirectValue)
	}
	return r, nil
}

// parseFrom checks a FROM path and normalizes it: no trailing slash on an exact path.
func parseFrom(p string) (string, error) {
	if strings.Contains(p, "://") {
		return "", fmt.Errorf("%q: domain-level redirects are not supported; FROM is a path", p)
	}
	if !strings.HasPrefix(p, "/") {
		return "", fmt.Errorf("%q: FROM must be a path starting with /", p)
	}
	if err := checkURLChars(p); err != nil {
		return "", err
	}
	if strings.ContainsAny(p, "?#") {
		return "", fmt.Errorf("%q: FROM is a path without a query or fragment", p)
	}
	body, splat := strings.CutSuffix(p, "/*")
	if splat {
		body += "/"
	}
	if strings.Contains(body, "*") {
		return "", fmt.Errorf("%q: a splat is a * at the end of the path, after a /", p)
	}
	for _, seg := range strings.Split(strings.Trim(body, "/"), "/") {
		switch {
		case strings.HasPrefix(seg, ":"):
			return "", fmt.Errorf("%q: placeholders such as %s are not supported; use a splat (/*) and :splat", p, seg)
		case seg == "." || seg == "..":
			return "", fmt.Errorf("%q has a . or .. segment", p)
		case seg == "" && body != "/":
			return "", fmt.Errorf("%q has an empty segment (//)", p)
		}
	}
	if splat {
		p = body + "*"
	} else if len(p) > 1 {
		p = strings.TrimSuffix(p, "/")
	}
	if len(p) > maxRedirectKey {
		return "", fmt.Errorf("FROM is %d bytes; a KeyValueStore key holds %d", len(p), maxRedirectKey)
	}
	return p, nil
}

// checkTarget checks a TO: a path or an absolute http(s) URL, placeholders other than
// :splat refused, :splat only with a splat.
func checkTarget(to string, splat bool) error {
	if err := checkURLChars(to); err != nil {
		return err
	}
	if strings.ContainsAny(to, "?#") {
		// Netlify's engine appends the request's query after the target's own
		// ("/t?own=1?q=1", @netlify/redirects 4.0.2; infra/netlify_test.go).
		return fmt.Errorf("target %q has a query or fragment: not supported (the request's query string is passed on)", to)
	}
	rest := to
	switch {
	case strings.HasPrefix(to, "https://") || strings.HasPrefix(to, "http://"):
		u, err := url.Parse(to)
		if err != nil || u.Host == "" {
			return fmt.Errorf("target %q is not a URL", to)
		}
		rest = to[len(u.Scheme)+3:]
	case strings.HasPrefix(to, "/") && !strings.HasPrefix(to, "//"):
	default:
		return fmt.Errorf("target %q must be a path starting with / or an http(s) URL", to)
	}
	for i := 0; i < len(rest); i++ {
		if rest[i] != ':' || i+1 == len(rest) || !isLetter(rest[i+1]) {
			continue
		}
		word := rest[i+1:]
		if j := strings.IndexFunc(word, func(c rune) bool { return !isLetter(byte(c)) && (c < '0' || c > '9') }); j >= 0 {
			word = word[:j]
		}
		if word != "splat" {
			return fmt.Errorf("target %q: placeholders such as :%s are not supported; only :splat", to, word)
		}
		if !splat {
			return fmt.Errorf("target %q uses :splat, but FROM has no splat (/*)", to)
		}
	}
	return nil
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// checkURLChars refuses what cannot be in a URL as a viewer sends it: controls,
// spaces and non-ASCII (percent-encode them, as the request's URI has them).
func checkURLChars(s string) error {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= 0x20 || c >= 0x7f {
			return fmt.Errorf("%q has a character a URL cannot carry unencoded; percent-encode it", s)
		}
	}
	return nil
}

// redirectMatcher finds the rule a path matches, as the site function does: the
// exact rule, else the longest splat prefix. ParseRedirects refuses the rules Netlify's
// first-match order would hide, so longest match and first match agree.
type redirectMatcher map[string]Redirect

func (m redirectMatcher) add(r Redirect) { m[r.From] = r }

// match returns the rule that path (a request URI) matches and what its splat matched.
func (m redirectMatcher) match(path string) (Redirect, string, bool) {
	if len(path) > 1 {
		path = strings.TrimSuffix(path, "/")
	}
	if r, ok := m[path]; ok && !strings.HasSuffix(path, "/*") {
		return r, "", true
	}
	return m.matchSplat(path)
}

// matchSplat returns the longest splat rule matching path (normalized: no trailing
// slash but "/"): "/news/*" matches "/news" and everything below it.
func (m redirectMatcher) matchSplat(path string) (Redirect, string, bool) {
	if path != "/" {
		if r, ok := m[path+"/*"]; ok {
			return r, "", true
		}
	}
	for i := len(path) - 1; i >= 0; i-- {
		if path[i] != '/' {
			continue
		}
		if r, ok := m[path[:i+1]+"*"]; ok {
			return r, path[i+1:], true
		}
	}
	return Redirect{}, "", false
}

// first returns an earlier rule that matches everything r matches, first.
func (m redirectMatcher) first(r Redirect) (Redirect, bool) {
	if prev, ok := m[r.From]; ok {
		return prev, true
	}
	if !r.Splat() {
		prev, _, ok := m.match(r.From)
		return prev, ok
	}
	// An earlier splat whose prefix starts r's prefix matches all of r; an earlier exact
	// rule only hides one path of it.
	prefix := strings.TrimSuffix(r.From, "/*")
	if prefix == "" {
		prefix = "/"
	}
	prev, _, ok := m.matchSplat(prefix)
	return prev, ok
}

// loops refuses a rule whose target it matches itself (Netlify's engine never applies
// such a rule: "/a/* /a" redirects nothing, infra/netlify_test.go), or whose target
// leads back to it through the rules before it (followed for a few hops), with a sample
// value for each splat.
func (m redirectMatcher) loops(r Redirect) error {
	if to := strings.ReplaceAll(r.To, ":splat", "x"); strings.HasPrefix(to, "/") {
		if _, _, ok := (redirectMatcher{r.From: r}).match(to); ok {
			return fmt.Errorf("%s redirects to %s, which it matches itself: a redirect loop", r.From, r.To)
		}
	}
	m[r.From] = r
	defer delete(m, r.From)
	cur, splat := r, "x"
	for hop := 0; hop < 8; hop++ {
		to := strings.ReplaceAll(cur.To, ":splat", splat)
		if !strings.HasPrefix(to, "/") {
			return nil // another host
		}
		next, s, ok := m.match(to)
		if !ok {
			return nil
		}
		if next.From == r.From {
			return fmt.Errorf("%s redirects to %s, which leads back to this rule: a redirect loop", r.From, r.To)
		}
		cur, splat = next, s
	}
	return nil
}

// checkShadowing refuses a rule without "!" whose FROM matches a file of the site:
// Netlify serves the file there, and the site function, which cannot see the bucket,
// would serve the redirect.
func checkShadowing(rules []Redirect, files []File) error {
	m := redirectMatcher{}
	for _, r := range rules {
		if !r.Force {
			m.add(r)
		}
	}
	if len(m) == 0 {
		return nil
	}
	for _, f := range files {
		for _, p := range viewerPaths(f.Path) {
			if r, _, ok := m.match(p); ok {
				return fmt.Errorf("%s:%d: %s matches %s, a file of the site, which Netlify serves instead of a rule without !: remove the rule or the file, or force it (%d!)",
					RedirectsFile, r.Line, r.From, f.Path, r.Status)
			}
		}
	}
	return nil
}

// redirectEntries returns the store's entries for rules.
func redirectEntries(rules []Redirect) map[string]string {
	out := make(map[string]string, len(rules))
	for _, r := range rules {
		k, v := r.Entry()
		out[k] = v
	}
	return out
}

// redirectsDigest identifies a set of rules; "" for none.
func redirectsDigest(rules []Redirect) string {
	if len(rules) == 0 {
		return ""
	}
	e := redirectEntries(rules)
	keys := make([]string, 0, len(e))
	for k := range e {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := sha256.New()
	for _, k := range keys {
		fmt.Fprintf(h, "%q %q\n", k, e[k])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// validRedirects checks recorded rules (a release record is outside input too).
func validRedirects(rules []Redirect) error {
	seen := map[string]bool{}
	for _, r := range rules {
		from, err := parseFrom(r.From)
		if err == nil && from != r.From {
			err = fmt.Errorf("%q is not normalized", r.From)
		}
		if err == nil && !redirectStatuses[r.Status] {
			err = fmt.Errorf("status %d", r.Status)
		}
		if err == nil {
			err = checkTarget(r.To, r.Splat())
		}
		if _, v := r.Entry(); err == nil && len(v) > maxRedirectValue {
			err = fmt.Errorf("value of %d bytes", len(v))
		}
		if err == nil && seen[r.From] {
			err = errors.New("listed twice")
		}
		if err != nil {
			return fmt.Errorf("redirect %s: %w", r.From, err)
		}
		seen[r.From] = true
	}
	return nil
}
