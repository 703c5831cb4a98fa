package edge

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
)

func TestSpec_7_CustomResponseHeadersPolicy(t *testing.T) {
	w := newWorld(t, func(o *Options, c *types.DistributionConfig) {
		o.ResponseHeadersPolicies = map[string]types.ResponseHeadersPolicyConfig{"custom": {
			Name:                aws.String("custom"),
			RemoveHeadersConfig: &types.ResponseHeadersPolicyRemoveHeadersConfig{Quantity: ei32(2), Items: []types.ResponseHeadersPolicyRemoveHeader{{Header: aws.String("server")}, {Header: aws.String("x-amz-meta-sha256")}}},
			CustomHeadersConfig: &types.ResponseHeadersPolicyCustomHeadersConfig{Quantity: ei32(2), Items: []types.ResponseHeadersPolicyCustomHeader{
				{Header: aws.String("Cache-Control"), Value: aws.String("public, max-age=31536000, immutable"), Override: aws.Bool(true)},
				{Header: aws.String("X-Keep"), Value: aws.String("policy"), Override: aws.Bool(false)},
			}},
			SecurityHeadersConfig: &types.ResponseHeadersPolicySecurityHeadersConfig{
				StrictTransportSecurity: &types.ResponseHeadersPolicyStrictTransportSecurity{AccessControlMaxAgeSec: ei32(63072000), IncludeSubdomains: aws.Bool(true), Preload: aws.Bool(true), Override: aws.Bool(true)},
				ContentSecurityPolicy:   &types.ResponseHeadersPolicyContentSecurityPolicy{ContentSecurityPolicy: aws.String("default-src 'self'"), Override: aws.Bool(true)},
				XSSProtection:           &types.ResponseHeadersPolicyXSSProtection{Protection: aws.Bool(true), ReportUri: aws.String("https://r.example/x"), Override: aws.Bool(true)},
			},
		}}
		c.DefaultCacheBehavior.ResponseHeadersPolicyId = aws.String("custom")
	})
	w.origins[bucketA].set(func(rw http.ResponseWriter, r *http.Request) {
		rw.Header().Set("X-Keep", "origin")
		rw.Header().Set("Cache-Control", "no-cache")
		s3Object("")(rw, r)
	})
	for _, x := range []string{"Miss from cloudfront", "Hit from cloudfront"} {
		r := w.get("/p.js")
		want := map[string]string{
			"X-Cache":                   x,
			"Server":                    "CloudFront",
			"X-Amz-Meta-Sha256":         "",
			"Cache-Control":             "public, max-age=31536000, immutable",
			"X-Keep":                    "origin",
			"Strict-Transport-Security": "max-age=63072000; includeSubDomains; preload",
			"Content-Security-Policy":   "default-src 'self'",
			"X-Xss-Protection":          "1; report=https://r.example/x",
		}
		for k, v := range want {
			if got := r.Header.Get(k); got != v {
				t.Errorf("%s: %s = %q, want %q", x, k, got, v)
			}
		}
	}
}

func TestSpec_7_ManagedSecurityHeaders(t *testing.T) {
	w := newWorld(t)
	r := w.get("/x.html")
	for k, v := range map[string]string{
		"Strict-Transport-Security": "max-age=31536000",
		"X-Content-Type-Options":    "nosniff",
		"X-Frame-Options":           "SAMEORIGIN",
		"Referrer-Policy":           "strict-origin-when-cross-origin",
		"X-Xss-Protection":          "1; mode=block",
	} {
		if got := r.Header.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
}

func TestSpec_7_CORS(t *testing.T) {
	w := newWorld(t, func(o *Options, c *types.DistributionConfig) {
		o.ResponseHeadersPolicies = map[string]types.ResponseHeadersPolicyConfig{"creds": {
			Name: aws.String("creds"),
			CorsConfig: &types.ResponseHeadersPolicyCorsConfig{
				AccessControlAllowOrigins:     &types.ResponseHeadersPolicyAccessControlAllowOrigins{Quantity: ei32(2), Items: []string{"https://app.example.org", "*.example.com"}},
				AccessControlAllowCredentials: aws.Bool(true),
				AccessControlAllowHeaders:     &types.ResponseHeadersPolicyAccessControlAllowHeaders{Quantity: ei32(1), Items: []string{"content-type"}},
				AccessControlAllowMethods:     &types.ResponseHeadersPolicyAccessControlAllowMethods{Quantity: ei32(2), Items: []types.ResponseHeadersPolicyAccessControlAllowMethodsValues{"GET", "POST"}},
				AccessControlMaxAgeSec:        ei32(600),
				OriginOverride:                aws.Bool(true),
			},
		}}
		c.CacheBehaviors.Items[2].ResponseHeadersPolicyId = aws.String(CORSWithPreflightID) // /api/*
		c.DefaultCacheBehavior.ResponseHeadersPolicyId = aws.String("creds")
	})
	r := w.do(http.MethodOptions, "/api/messages", nil, "Origin", "https://x.test", "Access-Control-Request-Method", "POST")
	for k, v := range map[string]string{
		"Access-Control-Allow-Origin":  "*",
		"Access-Control-Allow-Methods": "GET, DELETE, HEAD, OPTIONS, PATCH, POST, PUT",
		"Access-Control-Allow-Headers": "*",
	} {
		if got := r.Header.Get(k); got != v {
			t.Errorf("preflight %s = %q, want %q", k, got, v)
		}
	}
	if r := w.get("/api/messages"); r.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Error("CORS headers without Origin")
	}
	if r := w.get("/api/messages", "Origin", "https://x.test"); r.Header.Get("Access-Control-Allow-Methods") != "" || r.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("simple request: %v", r.Header)
	}
	r = w.get("/a.js", "Origin", "https://app.example.org")
	if r.Header.Get("Access-Control-Allow-Origin") != "https://app.example.org" || r.Header.Get("Access-Control-Allow-Credentials") != "true" || !strings.Contains(r.Header.Get("Vary"), "Origin") {
		t.Errorf("credentialed CORS: %v", r.Header)
	}
	if r := w.get("/a.js", "Origin", "https://sub.example.com"); r.Header.Get("Access-Control-Allow-Origin") != "https://sub.example.com" {
		t.Error("wildcard origin not allowed")
	}
	if r := w.get("/a.js", "Origin", "https://evil.test"); r.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Error("foreign origin allowed")
	}
}

func TestSpec_5_1_SigningBehaviours(t *testing.T) {
	tests := []struct {
		behavior types.OriginAccessControlSigningBehaviors
		viewer   string // viewer Authorization
		want     string // "signed", "viewer", "none"
	}{
		{types.OriginAccessControlSigningBehaviorsAlways, "", "signed"},
		{types.OriginAccessControlSigningBehaviorsAlways, "Bearer viewer", "signed"},
		{types.OriginAccessControlSigningBehaviorsNever, "", "none"},
		{types.OriginAccessControlSigningBehaviorsNoOverride, "Bearer viewer", "viewer"},
		{types.OriginAccessControlSigningBehaviorsNoOverride, "", "signed"},
	}
	for _, tt := range tests {
		t.Run(string(tt.behavior)+"/"+tt.viewer, func(t *testing.T) {
			w := newWorld(t, func(o *Options, c *types.DistributionConfig) {
				o.OriginAccessControls = map[string]types.OriginAccessControlConfig{
					"oac-api": {Name: aws.String("api"), OriginAccessControlOriginType: types.OriginAccessControlOriginTypesLambda,
						SigningBehavior: tt.behavior, SigningProtocol: types.OriginAccessControlSigningProtocolsSigv4},
				}
			})
			var hdr []string
			if tt.viewer != "" {
				hdr = []string{"Authorization", tt.viewer}
			}
			w.get("/api/health", hdr...)
			got := w.origins[urlA].lastRequest().Header.Get("Authorization")
			switch tt.want {
			case "signed":
				if !strings.HasPrefix(got, "AWS4-HMAC-SHA256 Credential=test/") || !strings.Contains(got, "/us-east-1/lambda/aws4_request") {
					t.Errorf("Authorization %q, want an OAC signature", got)
				}
			case "viewer":
				if got != tt.viewer {
					t.Errorf("Authorization %q, want the viewer's", got)
				}
			case "none":
				if got != "" {
					t.Errorf("Authorization %q, want none", got)
				}
			}
		})
	}
}

func TestServiceFromDomain(t *testing.T) {
	for domain, want := range map[string][2]string{
		"site-a.s3.us-east-1.amazonaws.com": {"s3", "us-east-1"},
		"b.s3.amazonaws.com":                {"s3", "us-east-1"},
		"b.s3-eu-west-1.amazonaws.com":      {"s3", "eu-west-1"},
		// A bucket named like a service label is not one (the label nearest the suffix is).
		"s3-assets.s3.eu-west-2.amazonaws.com":    {"s3", "eu-west-2"},
		"b.s3.dualstack.ap-south-1.amazonaws.com": {"s3", "ap-south-1"},
		"abc.lambda-url.eu-central-1.on.aws":      {"lambda", "eu-central-1"},
		"example.org":                             {"", ""},
	} {
		s, r := serviceFromDomain(domain)
		if s != want[0] || r != want[1] {
			t.Errorf("%s: %s %s, want %v", domain, s, r, want)
		}
	}
}

func TestSpec_1_4_ResponseCompletionTimeout(t *testing.T) {
	w := newWorld(t, func(o *Options, c *types.DistributionConfig) {
		c.Origins.Items[0].ResponseCompletionTimeout = ei32(3) // 750 ms here; read timeout is 500 ms
	})
	w.origins[bucketA].set(func(rw http.ResponseWriter, r *http.Request) {
		rw.Header().Set("Content-Length", "20")
		rw.WriteHeader(200)
		for i := 0; i < 20; i++ { // one byte every 200 ms: never a 500 ms gap, 4 s in all
			rw.Write([]byte("x"))
			rw.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(200 * time.Millisecond):
			}
		}
	})
	// The headers arrived before the completion timeout, so the viewer already has them:
	// CloudFront ends the connection, and the viewer sees a cut body, not a failover.
	srv := httptest.NewServer(w.e)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/drip.bin")
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err == nil || len(b) >= 20 {
		t.Errorf("viewer got %d bytes (%v), want the body cut at the completion timeout", len(b), err)
	}
	if w.origins[bucketB].hits.Load() != 0 {
		t.Error("failed over after the headers were sent")
	}
}

func TestAccessLog(t *testing.T) {
	var buf bytes.Buffer
	w := newWorld(t, func(o *Options, c *types.DistributionConfig) { o.AccessLog = &buf })
	w.get("/a.js?x=1", "User-Agent", "curl/8.0 (x)", "Referer", "https://ref/")
	w.get("/a.js")
	w.origins[bucketA].set(statusHandler(503))
	w.origins[bucketB].set(statusHandler(503))
	w.get("/b.js")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 5 || lines[0] != "#Version: 1.0" || !strings.HasPrefix(lines[1], "#Fields: date time x-edge-location") {
		t.Fatalf("log:\n%s", buf.String())
	}
	names := strings.Fields(strings.TrimPrefix(lines[1], "#Fields: "))
	want := []map[string]string{
		{"x-edge-result-type": "Miss", "sc-status": "200", "cs-uri-stem": "/a.js", "cs-uri-query": "x=1", "cs(User-Agent)": "curl/8.0%20(x)", "cs-method": "GET", "x-edge-location": "LCL50-C1"},
		{"x-edge-result-type": "Hit", "cs-uri-query": "-", "cs(Referer)": "-"},
		{"x-edge-result-type": "Error", "sc-status": "503"},
	}
	for i, line := range lines[2:] {
		f := strings.Split(line, "\t")
		if len(f) != len(names) || len(f) != 33 {
			t.Fatalf("line %d has %d fields, want %d", i, len(f), len(names))
		}
		got := map[string]string{}
		for j, n := range names {
			got[n] = f[j]
		}
		for k, v := range want[i] {
			if got[k] != v {
				t.Errorf("line %d %s = %q, want %q", i, k, got[k], v)
			}
		}
		if len(got["x-edge-request-id"]) != 56 {
			t.Errorf("line %d request id %q", i, got["x-edge-request-id"])
		}
	}
}
