package edge

import "testing"

func TestSpec_2_1_PathPatterns(t *testing.T) {
	tests := []struct {
		pattern, path string
		want          bool
	}{
		{"*", "/", true},
		{"*", "/anything/at/all", true},
		{"/api/*", "/api/messages", true},
		{"api/*", "/api/messages", true}, // leading slash optional
		{"/api/*", "api/messages", true},
		{"/api/*", "/api", false},
		{"/api/*", "/API/messages", false},               // case-sensitive
		{"images/*.jpg", "/images/product1/x.jpg", true}, // * crosses /
		{"*.jpg", "/LOGO.JPG", false},
		{"*.doc*", "/a.doc", true},
		{"*.doc*", "/a.docx", true},
		{"*.doc?", "/a.doc", false},
		{"*.doc?", "/a.docm", true},
		{"/a?c", "/abc", true},
		{"/a?c", "/ac", false},
		{"/api/r/us-east-1/*", "/api/r/us-east-1/messages", true},
		{"/api/r/us-east-1/*", "/api/r/us-west-2/messages", false},
		{"", "/", true},
		{"", "/x", false},
		{"**", "/x", true},
		{"/a*b*c", "/aXbYc", true},
		{"/a*b*c", "/aXbY", false},
	}
	for _, tt := range tests {
		if got := matchPattern(tt.pattern, tt.path); got != tt.want {
			t.Errorf("matchPattern(%q, %q) = %v, want %v", tt.pattern, tt.path, got, tt.want)
		}
	}
}

func TestSpec_2_1_NormalizedMatchPath(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/", "/"},
		{"", "/"},
		{"/a/b.js", "/a/b.js"},
		{"//a//b", "/a/b"},
		{"/a/../b", "/b"},
		{"/../../etc/passwd", "/etc/passwd"},
		{"/a/%2e%2e/b", "/b"},
		{"/a/%2E%2E/%2e/b", "/b"},
		{"/api%2Fsecret", "/api%2Fsecret"}, // encoded slash stays encoded
		{"/%61pi/x", "/api/x"},
		{"/a/b/", "/a/b/"},
		{"/a/b/.", "/a/b/"},
		{"/a/b/..", "/a/"},
		{"/%zz", "/%25zz"},
	}
	for _, tt := range tests {
		if got := normalizePath(tt.in); got != tt.want {
			t.Errorf("normalizePath(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestFunctionNameFromARN(t *testing.T) {
	for arn, want := range map[string]string{
		"arn:aws:cloudfront::123456789012:function/twinedge-spa-rewrite": "twinedge-spa-rewrite",
		"twinedge-spa-rewrite": "twinedge-spa-rewrite",
	} {
		got, err := functionNameFromARN(arn)
		if err != nil || got != want {
			t.Errorf("functionNameFromARN(%q) = %q, %v; want %q", arn, got, err, want)
		}
	}
	for _, bad := range []string{"", "arn:aws:cloudfront::1:distribution/x", "arn:aws:cloudfront::1:function/"} {
		if _, err := functionNameFromARN(bad); err == nil {
			t.Errorf("functionNameFromARN(%q): want error", bad)
		}
	}
}

// spaCases is the table the Go and JS SPA rewrites must both pass.
var spaCases = []struct{ in, want string }{
	{"/", "/index.html"},
	{"/index.html", "/index.html"},
	{"/messages", "/index.html"},
	{"/messages/123", "/index.html"},
	{"/status", "/index.html"},
	{"/docs/", "/docs/index.html"},
	{"/assets/app-1234.js", "/assets/app-1234.js"},
	{"/favicon.ico", "/favicon.ico"},
	{"/v1.2/thing", "/index.html"},
	{"/a.b/c.d", "/a.b/c.d"},
	{"", "/index.html"},
}

func TestSPARewriteGo(t *testing.T) {
	for _, c := range spaCases {
		if got := spaRewriteURI(c.in); got != c.want {
			t.Errorf("spaRewriteURI(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
