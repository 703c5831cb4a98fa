package edge

import (
	"bytes"
	"compress/gzip"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/andybalholm/brotli"
)

// compressibleTypes are the content types CloudFront compresses (spec/cloudfront.md §2.7).
var compressibleTypes = func() map[string]bool {
	m := map[string]bool{}
	for _, t := range strings.Fields(`application/dash+xml application/eot application/font application/font-sfnt
		application/javascript application/json application/opentype application/otf application/pkcs7-mime
		application/protobuf application/rss+xml application/truetype application/ttf application/vnd.apple.mpegurl
		application/vnd.mapbox-vector-tile application/vnd.ms-fontobject application/xhtml+xml application/xml
		application/x-font-opentype application/x-font-truetype application/x-font-ttf application/x-httpd-cgi
		application/x-javascript application/x-mpegurl application/x-opentype application/x-otf application/x-perl
		application/x-ttf font/eot font/opentype font/otf font/ttf image/svg+xml text/css text/csv text/html
		text/javascript text/js text/plain text/richtext text/tab-separated-values text/xml text/x-component
		text/x-java-source text/x-script vnd.apple.mpegurl`) {
		m[t] = true
	}
	return m
}()

// Size window for compression (§2.7): Content-Length between 1,000 and 10,000,000 bytes.
const (
	minCompressSize = 1000
	maxCompressSize = 10000000
)

// compressResponse compresses body for a viewer whose normalised Accept-Encoding is ae,
// when CloudFront would (§2.7): the origin sent no Content-Encoding, the status is 200,
// 403 or 404, Content-Length was present and within 1,000–10,000,000 bytes, and the
// content type is in CloudFront's list. Brotli is preferred over gzip. A strong ETag
// becomes weak, a weak one passes, an invalid one is removed. h is updated; the body to
// send is returned (unchanged when not compressed).
func compressResponse(h http.Header, status int, body []byte, ae string) []byte {
	if ae == "" || len(h["Content-Encoding"]) > 0 {
		return body
	}
	if status != http.StatusOK && status != http.StatusForbidden && status != http.StatusNotFound {
		return body
	}
	cl := h.Get("Content-Length")
	n, err := strconv.ParseInt(cl, 10, 64)
	if cl == "" || err != nil || n != int64(len(body)) || n < minCompressSize || n > maxCompressSize {
		return body
	}
	mt, _, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil || !compressibleTypes[strings.ToLower(mt)] {
		return body
	}
	var buf bytes.Buffer
	buf.Grow(len(body) / 3)
	coding := "gzip"
	if strings.HasPrefix(ae, "br") {
		coding = "br"
		bw := brotli.NewWriterLevel(&buf, 5)
		if _, err := bw.Write(body); err != nil || bw.Close() != nil {
			return body
		}
	} else {
		gw, _ := gzip.NewWriterLevel(&buf, gzip.DefaultCompression)
		if _, err := gw.Write(body); err != nil || gw.Close() != nil {
			return body
		}
	}
	h["Content-Encoding"] = []string{coding}
	if etag := h.Get("Etag"); etag != "" {
		switch {
		case strings.HasPrefix(etag, `W/"`):
		case strings.HasPrefix(etag, `"`):
			h["Etag"] = []string{"W/" + etag}
		default:
			delete(h, "Etag")
		}
	}
	if !varyHas(h, "Accept-Encoding") {
		h["Vary"] = append(h["Vary"][:len(h["Vary"]):len(h["Vary"])], "Accept-Encoding")
	}
	return bytes.Clone(buf.Bytes())
}

func varyHas(h http.Header, name string) bool {
	for _, v := range h.Values("Vary") {
		for _, f := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(f), name) {
				return true
			}
		}
	}
	return false
}
