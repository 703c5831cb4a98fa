package sigv4

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

var testCreds = aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}

// testRule is the rule each caller of Verify states for service (as infra/local and edge do):
// S3 allows unsigned and streaming payloads and streams bodies itself; CloudFront hashes a body
// sent without x-amz-content-sha256; Lambda and the rest require a signed body hash. An empty
// region means us-east-1.
func testRule(service, region string) Rule {
	if region == "" {
		region = "us-east-1"
	}
	r := Rule{Service: service, Regions: []string{region}, MaxBody: 1 << 20}
	switch service {
	case "s3":
		r.Payload, r.MaxBody = StreamingAllowed, 0
	case "cloudfront":
		r.ServerHashes = true
	}
	return r
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// signed builds a request to a local server, signs it with the SDK signer as the edge's OAC
// does, and returns it as the server received it.
func signed(t *testing.T, method, rawPath, rawQuery string, body []byte, service, region string, at time.Time, hdr http.Header, creds aws.Credentials) *http.Request {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	r, err := http.NewRequest(method, "http://placeholder", rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		r.Header[k] = v
	}
	srvCh := make(chan *http.Request, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(b))
		srvCh <- req
	}))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	r.URL = &url.URL{Scheme: "http", Host: u.Host, Path: mustUnescape(t, rawPath), RawPath: rawPath, RawQuery: rawQuery}
	r.Host = u.Host
	payload := sha256Hex(body)
	if h := r.Header.Get("X-Amz-Content-Sha256"); h != "" {
		payload = h // the caller's own value (UNSIGNED-PAYLOAD, a wrong hash)
	} else if service != "cloudfront" {
		r.Header.Set("X-Amz-Content-Sha256", payload) // the SDK's CloudFront client sends none
	}
	err = v4.NewSigner().SignHTTP(context.Background(), creds, r, payload, service, region, at, func(o *v4.SignerOptions) {
		o.DisableURIPathEscaping = service == "s3"
	})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := srv.Client().Do(r)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return <-srvCh
}

func mustUnescape(t *testing.T, p string) string {
	t.Helper()
	s, err := url.PathUnescape(p)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestVerifySigV4SDKSigner(t *testing.T) {
	now := time.Now().UTC()
	paths := []string{
		"/",
		"/bucket/index.html",
		"/bucket/with%20space.txt",
		"/bucket/plus%2Bsign.txt",
		"/bucket/%E2%9C%93-unicode-%C3%A9.txt",
		"/bucket/percent%25sign",
		"/bucket/a/b/c/deep.js",
		"/bucket/tilde~and_under-dot.",
		"/bucket/%21%27%28%29%2A",
		"/api/messages",
	}
	queries := []string{"", "list-type=2&prefix=a%2Fb&delimiter=%2F", "uploads=", "x=a%20b&x=a%2Bb&y=", "limit=10"}
	for _, service := range []string{"s3", "lambda", "cloudfront"} {
		for _, p := range paths {
			for _, q := range queries {
				t.Run(service+p+"?"+q, func(t *testing.T) {
					r := signed(t, http.MethodGet, p, q, nil, service, "eu-west-1", now, nil, testCreds)
					sv, err := Verify(r, testCreds, testRule(service, "eu-west-1"), now)
					if err != nil {
						t.Fatalf("verify: %v", err)
					}
					if sv.AccessKeyID != "test" || sv.Region != "eu-west-1" || sv.Service != service {
						t.Errorf("scope = %+v", sv)
					}
				})
			}
		}
	}
}

func TestVerifySigV4Body(t *testing.T) {
	now := time.Now().UTC()
	body := []byte(`{"id":"x","text":"hello"}`)
	hdr := http.Header{"Content-Type": {"application/json"}, "Cache-Control": {"no-cache"}, "X-Amz-Meta-A": {"1", "2"}}
	for _, service := range []string{"s3", "lambda", "cloudfront"} {
		t.Run(service, func(t *testing.T) {
			r := signed(t, http.MethodPost, "/api/messages", "", body, service, "us-east-1", now, hdr, testCreds)
			sv, err := Verify(r, testCreds, testRule(service, ""), now)
			if err != nil {
				t.Fatalf("verify: %v", err)
			}
			if sv.PayloadHash != sha256Hex(body) {
				t.Errorf("PayloadHash = %s", sv.PayloadHash)
			}
			if got, _ := io.ReadAll(r.Body); !bytes.Equal(got, body) {
				t.Errorf("body after verify = %q, want it intact", got)
			}
			if sv.BodyChecked != (service != "s3") {
				t.Errorf("BodyChecked = %v for %s (S3 streams bodies and checks them itself)", sv.BodyChecked, service)
			}
		})
	}
}

func TestVerifySigV4Presigned(t *testing.T) {
	now := time.Now().UTC()
	srvCh := make(chan *http.Request, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) { srvCh <- req }))
	defer srv.Close()
	r, _ := http.NewRequest(http.MethodGet, srv.URL+"/bucket/with%20space+plus.txt?response-cache-control=no-store&X-Amz-Expires=300", nil)
	signedURL, hdr, err := v4.NewSigner().PresignHTTP(context.Background(), testCreds, r, UnsignedPayload, "s3", "us-east-1", now,
		func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, signedURL, nil)
	for k, v := range hdr {
		if k != "Host" {
			req.Header[k] = v
		}
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	got := <-srvCh
	if _, err := Verify(got, testCreds, testRule("s3", "us-east-1"), now); err != nil {
		t.Fatalf("verify presigned: %v", err)
	}
	var se *Error
	if _, err := Verify(got, testCreds, testRule("s3", "us-east-1"), now.Add(301*time.Second)); !errors.As(err, &se) || se.Kind != Expired {
		t.Errorf("after expiry: %v, want expired", err)
	}
	tampered := got.Clone(context.Background())
	tampered.URL.RawQuery = strings.Replace(got.URL.RawQuery, "no-store", "public", 1)
	tampered.RequestURI = tampered.URL.RequestURI()
	if _, err := Verify(tampered, testCreds, testRule("s3", "us-east-1"), now); !errors.As(err, &se) || se.Code != "SignatureDoesNotMatch" {
		t.Errorf("tampered query: %v, want SignatureDoesNotMatch", err)
	}
}

// TestVerifySigV4AWSExamples checks the worked examples of the S3 SigV4 documentation.
func TestVerifySigV4AWSExamples(t *testing.T) {
	creds := aws.Credentials{AccessKeyID: "AKIAIOSFODNN7EXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}
	at := time.Date(2013, 5, 24, 0, 0, 0, 0, time.UTC)

	// https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html "GET Object".
	r := httptest.NewRequest(http.MethodGet, "http://examplebucket.s3.amazonaws.com/test.txt", nil)
	r.Header.Set("Range", "bytes=0-9")
	r.Header.Set("X-Amz-Content-Sha256", EmptyPayloadHash)
	r.Header.Set("X-Amz-Date", "20130524T000000Z")
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
	if _, err := Verify(r, creds, testRule("s3", "us-east-1"), at); err != nil {
		t.Errorf("GET example: %v", err)
	}

	// https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html example.
	r = httptest.NewRequest(http.MethodGet, "http://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404", nil)
	if _, err := Verify(r, creds, testRule("s3", "us-east-1"), at.Add(time.Hour)); err != nil {
		t.Errorf("presigned example: %v", err)
	}

	// https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html chunk signatures.
	sv := &Signature{Date: at, scope: "20130524/us-east-1/s3/aws4_request",
		signingKey: signingKey(creds.SecretAccessKey, "20130524", "us-east-1", "s3")}
	prev := "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
	for _, c := range []struct {
		n    int
		want string
	}{
		{65536, "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648"},
		{1024, "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497"},
		{0, "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"},
	} {
		sum := sha256.Sum256(bytes.Repeat([]byte("a"), c.n))
		got := sv.ChunkSignature(prev, sum[:])
		if got != c.want {
			t.Errorf("chunk of %d bytes: signature %s, want %s", c.n, got, c.want)
		}
		prev = c.want
	}
}

func TestVerifySigV4Errors(t *testing.T) {
	now := time.Now().UTC()
	wrong := aws.Credentials{AccessKeyID: "test", SecretAccessKey: "nope"}
	other := aws.Credentials{AccessKeyID: "AKIDOTHER", SecretAccessKey: "test"}
	tests := []struct {
		name    string
		req     func() *http.Request
		service string
		region  string
		kind    Kind
		code    string
		status  int
	}{
		{"unsigned s3", func() *http.Request { return httptest.NewRequest("GET", "/b/k", nil) }, "s3", "", Missing, "AccessDenied", 403},
		{"unsigned cloudfront", func() *http.Request { return httptest.NewRequest("GET", "/2020-05-31/distribution", nil) }, "cloudfront", "", Missing, "MissingAuthenticationToken", 403},
		{"wrong secret", func() *http.Request {
			return signed(t, "GET", "/b/k", "", nil, "s3", "us-east-1", now, nil, wrong)
		}, "s3", "", Mismatch, "SignatureDoesNotMatch", 403},
		{"unknown key", func() *http.Request {
			return signed(t, "GET", "/b/k", "", nil, "s3", "us-east-1", now, nil, other)
		}, "s3", "", UnknownKey, "InvalidAccessKeyId", 403},
		{"skewed", func() *http.Request {
			return signed(t, "GET", "/b/k", "", nil, "s3", "us-east-1", now.Add(-16*time.Minute), nil, testCreds)
		}, "s3", "", Skewed, "RequestTimeTooSkewed", 403},
		{"future skew", func() *http.Request {
			return signed(t, "GET", "/b/k", "", nil, "s3", "us-east-1", now.Add(16*time.Minute), nil, testCreds)
		}, "s3", "", Skewed, "RequestTimeTooSkewed", 403},
		{"wrong service", func() *http.Request {
			return signed(t, "GET", "/b/k", "", nil, "lambda", "us-east-1", now, nil, testCreds)
		}, "s3", "", WrongScope, "AuthorizationHeaderMalformed", 400},
		{"wrong region", func() *http.Request {
			return signed(t, "GET", "/b/k", "", nil, "s3", "us-east-1", now, nil, testCreds)
		}, "s3", "eu-west-1", WrongScope, "AuthorizationHeaderMalformed", 400},
		{"lambda mismatch", func() *http.Request {
			return signed(t, "GET", "/api/x", "", nil, "lambda", "us-east-1", now, nil, wrong)
		}, "lambda", "", Mismatch, "InvalidSignatureException", 403},
		{"tampered header", func() *http.Request {
			r := signed(t, "GET", "/b/k", "", nil, "s3", "us-east-1", now, http.Header{"Range": {"bytes=0-1"}}, testCreds)
			r.Header.Set("Range", "bytes=0-100")
			return r
		}, "s3", "", Mismatch, "SignatureDoesNotMatch", 403},
		{"tampered path", func() *http.Request {
			r := signed(t, "GET", "/b/k", "", nil, "s3", "us-east-1", now, nil, testCreds)
			r.URL.Path, r.RequestURI = "/b/other", "/b/other"
			return r
		}, "s3", "", Mismatch, "SignatureDoesNotMatch", 403},
		{"v2 signature", func() *http.Request {
			r := httptest.NewRequest("GET", "/b/k", nil)
			r.Header.Set("Authorization", "AWS test:abc=")
			return r
		}, "s3", "", Malformed, "AuthorizationHeaderMalformed", 400},
		{"no x-amz-content-sha256 for s3", func() *http.Request {
			r := signed(t, "GET", "/b/k", "", nil, "s3", "us-east-1", now, nil, testCreds)
			r.Header.Del("X-Amz-Content-Sha256")
			return r
		}, "s3", "", Malformed, "InvalidRequest", 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Verify(tt.req(), testCreds, testRule(tt.service, tt.region), now)
			var se *Error
			if !errors.As(err, &se) {
				t.Fatalf("err = %v, want *Error", err)
			}
			if se.Kind != tt.kind || se.Code != tt.code || se.Status != tt.status {
				t.Errorf("got kind %d code %s status %d (%s), want kind %d code %s status %d", se.Kind, se.Code, se.Status, se.Message, tt.kind, tt.code, tt.status)
			}
		})
	}
}

// TestVerifyPayloadRule: a signature binds the body as the rule requires. A signed request
// replayed with another body, UNSIGNED-PAYLOAD or a streaming marker where the rule requires a
// signed hash, a body with no hash, a body past MaxBody and a scope naming another region or
// service are all refused (issue 14 item 4: the admin API obeyed all of these).
func TestVerifyPayloadRule(t *testing.T) {
	now := time.Now().UTC()
	admin := Rule{Service: "twinedge", Regions: []string{"us-east-1"}, MaxBody: 64 << 10}
	fail := []byte(`{"region":"us-east-1","mode":"503"}`)
	other := []byte(`{"region":"eu-west-2","mode":"refuse"}`)
	replay := func(r *http.Request, body []byte) *http.Request {
		r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
		return r
	}
	tests := []struct {
		name string
		req  func() *http.Request
		rule Rule
		kind Kind // 0: accepted
	}{
		{"signed body", func() *http.Request {
			return signed(t, "POST", "/twinedge/fail", "", fail, "twinedge", "us-east-1", now, nil, testCreds)
		}, admin, 0},
		{"replayed with another body", func() *http.Request {
			return replay(signed(t, "POST", "/twinedge/fail", "", fail, "twinedge", "us-east-1", now, nil, testCreds), other)
		}, admin, Mismatch},
		{"replayed with a longer body", func() *http.Request {
			return replay(signed(t, "POST", "/twinedge/fail", "", fail, "twinedge", "us-east-1", now, nil, testCreds), append(fail, ' '))
		}, admin, Mismatch},
		{"UNSIGNED-PAYLOAD", func() *http.Request {
			return signed(t, "POST", "/twinedge/fail", "", other, "twinedge", "us-east-1", now, http.Header{"X-Amz-Content-Sha256": {UnsignedPayload}}, testCreds)
		}, admin, Mismatch},
		{"streaming", func() *http.Request {
			return signed(t, "POST", "/twinedge/fail", "", other, "twinedge", "us-east-1", now, http.Header{"X-Amz-Content-Sha256": {"STREAMING-UNSIGNED-PAYLOAD-TRAILER"}}, testCreds)
		}, admin, Mismatch},
		{"no hash for a body", func() *http.Request {
			r := signed(t, "POST", "/twinedge/fail", "", other, "cloudfront", "us-east-1", now, nil, testCreds)
			return r
		}, Rule{Service: "cloudfront", Regions: []string{"us-east-1"}, MaxBody: 1 << 10}, Mismatch},
		{"no hash for a body, server hashes", func() *http.Request {
			return signed(t, "POST", "/x", "", other, "cloudfront", "us-east-1", now, nil, testCreds)
		}, Rule{Service: "cloudfront", Regions: []string{"us-east-1"}, ServerHashes: true, MaxBody: 1 << 10}, 0},
		{"server hashes, replayed", func() *http.Request {
			return replay(signed(t, "POST", "/x", "", fail, "cloudfront", "us-east-1", now, nil, testCreds), other)
		}, Rule{Service: "cloudfront", Regions: []string{"us-east-1"}, ServerHashes: true, MaxBody: 1 << 10}, Mismatch},
		{"body past MaxBody", func() *http.Request {
			return signed(t, "POST", "/twinedge/fail", "", fail, "twinedge", "us-east-1", now, nil, testCreds)
		},
			Rule{Service: "twinedge", Regions: []string{"us-east-1"}, MaxBody: 8}, TooLarge},
		{"other region in scope", func() *http.Request {
			return signed(t, "POST", "/twinedge/fail", "", fail, "twinedge", "eu-west-2", now, nil, testCreds)
		}, admin, WrongScope},
		{"other service in scope", func() *http.Request {
			return signed(t, "POST", "/twinedge/fail", "", fail, "s3", "us-east-1", now, nil, testCreds)
		}, admin, WrongScope},
		{"no regions configured", func() *http.Request {
			return signed(t, "GET", "/", "", nil, "twinedge", "us-east-1", now, nil, testCreds)
		},
			Rule{Service: "twinedge"}, WrongScope},
		{"lambda UNSIGNED-PAYLOAD", func() *http.Request {
			return signed(t, "POST", "/api", "", fail, "lambda", "us-east-1", now, http.Header{"X-Amz-Content-Sha256": {UnsignedPayload}}, testCreds)
		}, testRule("lambda", ""), Mismatch},
		{"s3 UNSIGNED-PAYLOAD", func() *http.Request {
			return signed(t, "PUT", "/b/k", "", fail, "s3", "us-east-1", now, http.Header{"X-Amz-Content-Sha256": {UnsignedPayload}}, testCreds)
		}, testRule("s3", ""), 0},
		{"s3 streaming", func() *http.Request {
			return signed(t, "PUT", "/b/k", "", fail, "s3", "us-east-1", now, http.Header{"X-Amz-Content-Sha256": {"STREAMING-AWS4-HMAC-SHA256-PAYLOAD"}}, testCreds)
		}, testRule("s3", ""), 0},
		{"s3 streaming refused by an unsigned-only rule", func() *http.Request {
			return signed(t, "PUT", "/b/k", "", fail, "s3", "us-east-1", now, http.Header{"X-Amz-Content-Sha256": {"STREAMING-AWS4-HMAC-SHA256-PAYLOAD"}}, testCreds)
		}, Rule{Service: "s3", Regions: []string{"us-east-1"}, Payload: UnsignedAllowed}, Mismatch},
		{"s3 garbage hash", func() *http.Request {
			return signed(t, "GET", "/b/k", "", nil, "s3", "us-east-1", now, http.Header{"X-Amz-Content-Sha256": {"nope"}}, testCreds)
		}, testRule("s3", ""), Malformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.req()
			sv, err := Verify(r, testCreds, tt.rule, now)
			var se *Error
			switch {
			case tt.kind == 0 && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.kind == 0:
				if tt.rule.MaxBody > 0 && !sv.BodyChecked {
					t.Errorf("BodyChecked = false with MaxBody %d", tt.rule.MaxBody)
				}
			case !errors.As(err, &se):
				t.Fatalf("err = %v, want a *Error of kind %d", err, tt.kind)
			case se.Kind != tt.kind:
				t.Errorf("kind %d (%s %s), want %d", se.Kind, se.Code, se.Message, tt.kind)
			}
		})
	}
}

// FuzzParseSigV4 feeds arbitrary Authorization headers, dates and queries: no panic, and
// nothing but a *Error comes back.
func FuzzParseSigV4(f *testing.F) {
	f.Add("AWS4-HMAC-SHA256 Credential=test/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41", "20130524T000000Z", "")
	f.Add("", "", "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=test%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeee")
	f.Add("AWS4-HMAC-SHA256 Credential=,,, ===", "x", "a=%zz&&=&b")
	f.Add("AWS test:sig", "", "X-Amz-Expires=-1&X-Amz-Algorithm=AWS4-HMAC-SHA256")
	f.Fuzz(func(t *testing.T, auth, date, query string) {
		r := httptest.NewRequest("PUT", "/b/k", strings.NewReader("body"))
		r.URL.RawQuery = query
		if auth != "" {
			r.Header["Authorization"] = []string{auth}
		}
		r.Header["X-Amz-Date"] = []string{date}
		for _, svc := range []string{"s3", "lambda"} {
			_, err := Verify(r, testCreds, testRule(svc, "us-east-1"), time.Date(2013, 5, 24, 0, 0, 0, 0, time.UTC))
			var se *Error
			if err == nil {
				continue // astronomically unlikely, but a valid signature is not a bug
			}
			if !errors.As(err, &se) || se.Code == "" || se.Status == 0 {
				t.Fatalf("err = %#v", err)
			}
		}
	})
}

func BenchmarkVerifySigV4(b *testing.B) {
	now := time.Now().UTC()
	r := httptest.NewRequest(http.MethodGet, "http://site.s3.eu-west-1.amazonaws.com/assets/app-1234.js?x=1", nil)
	r.Header.Set("X-Amz-Content-Sha256", EmptyPayloadHash)
	if err := v4.NewSigner().SignHTTP(context.Background(), testCreds, r, EmptyPayloadHash, "s3", "eu-west-1", now,
		func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Verify(r, testCreds, testRule("s3", "eu-west-1"), now); err != nil {
			b.Fatal(err)
		}
	}
}
