package local

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

var fuzzMethods = []string{"GET", "HEAD", "PUT", "POST", "DELETE"}

// FuzzS3Request sends correctly signed requests with arbitrary methods, paths, queries,
// headers and bodies: the origin never panics (a recovered panic would answer 500), and never
// touches a file outside its directory.
func FuzzS3Request(f *testing.F) {
	f.Add(uint8(2), "/site/a b+c%/../../x", "", "", []byte("body"))
	f.Add(uint8(3), "/site", "delete", "", []byte(`<Delete><Object><Key>../../etc/passwd</Key></Object><Object><Key></Key></Object></Delete>`))
	f.Add(uint8(0), "/site", "list-type=2&prefix=a&delimiter=/&max-keys=1&continuation-token=YQ", "", []byte(nil))
	f.Add(uint8(0), "/site/k", "", "bytes=-0", []byte(nil))
	f.Add(uint8(2), "/site/k", "", "", []byte("0;chunk-signature=zz\r\n\r\n"))
	f.Add(uint8(3), "/site/k", "uploads", "", []byte(nil))
	f.Add(uint8(3), "/site/k", "uploadId=0123456789abcdef0123456789abcdef", "", []byte(`<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>x</ETag></Part></CompleteMultipartUpload>`))
	f.Add(uint8(2), "/site/k", "partNumber=1&uploadId=../../../tmp", "", []byte("x"))
	f.Add(uint8(2), "/site/copy", "", "/site/../k", []byte(nil))
	f.Add(uint8(0), "/", "", "", []byte(nil))
	f.Add(uint8(0), "/site/k", "partNumber=2", "", []byte(nil))
	f.Add(uint8(0), "/site", "encoding-type=url&prefix=a%20b&delimiter=%2B&max-keys=0", "", []byte(nil))
	f.Add(uint8(3), "/site/k", "uploads", "x-amz-checksum-algorithm:SHA256", []byte(nil))
	f.Add(uint8(3), "/site/k", "uploadId=0123456789abcdef0123456789abcdef", "x-amz-checksum-sha256:AAAA-1",
		[]byte(`<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>x</ETag><ChecksumSHA256>AAAA</ChecksumSHA256></Part></CompleteMultipartUpload>`))
	f.Add(uint8(2), "/site/k", "", "content-md5:", []byte("x"))
	f.Add(uint8(0), "/site/k", "attributes", "x-amz-object-attributes:ETag,ObjectParts,Checksum,Nope", []byte(nil))

	parent := f.TempDir()
	dir := filepath.Join(parent, "store")
	o, err := NewS3Origin(dir, s3TestRegion, s3TestCreds)
	if err != nil {
		f.Fatal(err)
	}
	if err := o.EnsureBucket("site"); err != nil {
		f.Fatal(err)
	}
	now := time.Now()
	o.Now = func() time.Time { return now }
	signer := v4.NewSigner()

	f.Fuzz(func(t *testing.T, m uint8, path, query, header string, body []byte) {
		if !strings.HasPrefix(path, "/") || strings.ContainsAny(path, "?#") {
			path = "/site/" + path
		}
		u := &url.URL{Path: path, RawQuery: query}
		method := fuzzMethods[int(m)%len(fuzzMethods)]
		req := &http.Request{Method: method, URL: u, Host: "127.0.0.1:1", Header: http.Header{},
			Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body)), Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1}
		switch {
		case strings.HasPrefix(header, "bytes="):
			req.Header.Set("Range", header)
		case strings.HasPrefix(header, "/"):
			req.Header.Set("X-Amz-Copy-Source", header)
		case strings.Contains(header, ":"):
			k, v, _ := strings.Cut(header, ":")
			req.Header[http.CanonicalHeaderKey(k)] = []string{v}
		case header != "":
			req.Header.Set("X-Amz-Content-Sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER")
			req.Header.Set("X-Amz-Trailer", header)
		}
		ph := sha256Hex(body)
		if req.Header.Get("X-Amz-Content-Sha256") == "" {
			req.Header.Set("X-Amz-Content-Sha256", ph)
		} else {
			ph = req.Header.Get("X-Amz-Content-Sha256")
		}
		if err := signer.SignHTTP(context.Background(), s3TestCreds, req, ph, "s3", s3TestRegion, now,
			func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }); err != nil {
			return
		}
		req.RequestURI = u.RequestURI()
		rec := httptest.NewRecorder()
		o.ServeHTTP(rec, req)
		if rec.Code == 500 {
			t.Fatalf("%s %s: 500 %s", method, req.RequestURI, rec.Body.String())
		}
		ents, _ := os.ReadDir(parent)
		if len(ents) != 1 || ents[0].Name() != "store" {
			t.Fatalf("files outside the store: %v", ents)
		}
	})
}

// FuzzChunkDecoder: arbitrary aws-chunked bodies decode or fail with an S3 error, never panic
// and never yield more bytes than they hold.
func FuzzChunkDecoder(f *testing.F) {
	f.Add([]byte("5\r\nhello\r\n0\r\nx-amz-checksum-crc32:NhCmhg==\r\n\r\n"), true)
	f.Add([]byte("5;chunk-signature=ab\r\nhello\r\n0;chunk-signature=cd\r\n\r\n"), false)
	f.Add([]byte("fffffffffffffffff\r\n"), false)
	f.Add([]byte("3\r\nab"), true)
	f.Fuzz(func(t *testing.T, body []byte, trailer bool) {
		d := &chunkDecoder{br: bufio.NewReaderSize(bytes.NewReader(body), 64<<10), trailer: trailer, hash: sha256.New()}
		out, err := io.ReadAll(d)
		if len(out) > len(body) {
			t.Fatalf("decoded %d bytes from %d", len(out), len(body))
		}
		if err != nil {
			if _, ok := err.(*s3Error); !ok {
				t.Fatalf("err %T %v", err, err)
			}
		}
	})
}

// FuzzDeleteRequest: the DeleteObjects XML parser never panics and caps the key count.
func FuzzDeleteRequest(f *testing.F) {
	f.Add([]byte(`<Delete><Quiet>true</Quiet><Object><Key>a</Key></Object></Delete>`))
	f.Add([]byte(`<Delete><Object><Key>&lt;</Key><VersionId>1</VersionId></Object>`))
	f.Add([]byte(`<!DOCTYPE x [<!ENTITY a "b">]><Delete><Object><Key>&a;</Key></Object></Delete>`))
	f.Fuzz(func(t *testing.T, body []byte) {
		keys, _, err := parseDeleteRequest(body)
		if err == nil && (len(keys) == 0 || len(keys) > 1000) {
			t.Fatalf("%d keys accepted", len(keys))
		}
	})
}

// FuzzParseRange: any Range header yields a range inside the object or an error.
func FuzzParseRange(f *testing.F) {
	f.Add("bytes=0-9", int64(10))
	f.Add("bytes=-5", int64(3))
	f.Add("bytes=5-", int64(0))
	f.Add("bytes=9223372036854775807-", int64(1))
	f.Fuzz(func(t *testing.T, h string, size int64) {
		if size < 0 {
			size = -size
		}
		if size < 0 {
			return
		}
		start, length, partial, err := parseRange(h, size)
		if err != nil {
			return
		}
		if start < 0 || length < 0 || start+length > size || (!partial && (start != 0 || length != size)) {
			t.Fatalf("parseRange(%q, %d) = %d, %d, %v", h, size, start, length, partial)
		}
	})
}

// FuzzS3URLEncode: what encoding-type=url produces decodes back to the name, keeps "/", and has
// no "+" (which SDKs decode as a space) and nothing XML 1.0 cannot carry.
func FuzzS3URLEncode(f *testing.F) {
	f.Add("quux ab/thud")
	f.Add("foo+1/\n\x00é")
	f.Fuzz(func(t *testing.T, s string) {
		e := s3URLEncode(s)
		back, err := url.PathUnescape(e)
		if err != nil || back != s {
			t.Fatalf("%q encodes to %q, which decodes to %q (%v)", s, e, back, err)
		}
		if strings.Count(e, "/") != strings.Count(s, "/") || strings.ContainsAny(e, "+ <>&\x00") {
			t.Fatalf("%q encodes to %q", s, e)
		}
	})
}

// FuzzCopySourceRange: an accepted x-amz-copy-source-range lies inside the source object.
func FuzzCopySourceRange(f *testing.F) {
	f.Add("bytes=0-9", int64(10))
	f.Add("bytes=9223372036854775806-9223372036854775807", int64(5))
	f.Add("bytes=+1-2", int64(5))
	f.Fuzz(func(t *testing.T, v string, size int64) {
		start, length, err := parseCopySourceRange(v, size)
		if err == nil && (start < 0 || length < 1 || start+length > size) {
			t.Fatalf("%q of %d: start %d length %d", v, size, start, length)
		}
	})
}
