package edge

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
	"time"
)

// notModifiedDrops are the headers a 304 from the cache leaves out (here and on the hit
// fast path).
var notModifiedDrops = []string{"Content-Length", "Content-Type", "Content-Encoding", "Content-Language", "Content-Range"}

// conditionalAndRange answers viewer conditional and Range requests from a complete 200
// response the edge holds (cached objects are always complete: a cacheable request
// fetches the whole object, spec/cloudfront.md §2.6 "serves a range from cache if the
// whole object is cached"). It returns the status and body to send; done means it has
// already answered. Requests that bypass the cache are left alone: their Range and
// conditional headers went to the origin, whose answer passes through (§2.6: an origin
// that ignores Range gets the whole object to the viewer).
func (e *Edge) conditionalAndRange(w http.ResponseWriter, rs *reqState, h http.Header, ent *entry, body []byte) (int, []byte, bool) {
	r := rs.r
	// Fast path for the common hit: no conditional or Range header.
	if len(r.Header["If-None-Match"]) == 0 && len(r.Header["If-Modified-Since"]) == 0 && len(r.Header["Range"]) == 0 {
		return http.StatusOK, body, false
	}
	if !rs.b.cached.has(r.Method) || rs.b.cache.disabled() {
		return http.StatusOK, body, false
	}
	if notModified(r, h) {
		for _, k := range notModifiedDrops {
			delete(h, k)
		}
		rs.status = http.StatusNotModified
		w.WriteHeader(http.StatusNotModified)
		return http.StatusNotModified, nil, true
	}
	rh := r.Header.Get("Range")
	if rh == "" || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		return http.StatusOK, body, false
	}
	if ir := r.Header.Get("If-Range"); ir != "" && !ifRangeMatches(ir, h) {
		return http.StatusOK, body, false
	}
	ranges, ok := parseRange(rh, int64(len(body)))
	if !ok {
		// §2.6: an invalid Range (not ascending, overlapping, bad syntax) → the whole
		// object with 200.
		return http.StatusOK, body, false
	}
	size := int64(len(body))
	if len(ranges) == 0 {
		h["Content-Range"] = []string{"bytes */" + strconv.FormatInt(size, 10)}
		h["Content-Length"] = []string{"0"}
		rs.status = http.StatusRequestedRangeNotSatisfiable
		w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
		return 0, nil, true
	}
	if len(ranges) == 1 {
		ra := ranges[0]
		rs.rangeStart, rs.rangeEnd = ra[0], ra[1]
		h["Content-Range"] = []string{fmt.Sprintf("bytes %d-%d/%d", ra[0], ra[1], size)}
		h["Content-Length"] = []string{strconv.FormatInt(ra[1]-ra[0]+1, 10)}
		return http.StatusPartialContent, body[ra[0] : ra[1]+1], false
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	var rb [12]byte
	rand.Read(rb[:])
	mw.SetBoundary("CloudFront-" + hex.EncodeToString(rb[:]))
	ct := h.Get("Content-Type")
	for _, ra := range ranges {
		ph := textproto.MIMEHeader{}
		if ct != "" {
			ph.Set("Content-Type", ct)
		}
		ph.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", ra[0], ra[1], size))
		pw, _ := mw.CreatePart(ph)
		pw.Write(body[ra[0] : ra[1]+1])
	}
	mw.Close()
	h["Content-Type"] = []string{"multipart/byteranges; boundary=" + mw.Boundary()}
	h["Content-Length"] = []string{strconv.Itoa(buf.Len())}
	return http.StatusPartialContent, buf.Bytes(), false
}

// parseRange parses "bytes=..." against an object of size bytes. ok=false means the
// header is invalid (→ 200 full object); an empty result with ok means no range is
// satisfiable (→ 416).
func parseRange(v string, size int64) ([][2]int64, bool) {
	spec, found := strings.CutPrefix(v, "bytes=")
	if !found {
		return nil, false
	}
	var out [][2]int64
	last := int64(-1)
	for _, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		a, b, found := strings.Cut(part, "-")
		if !found {
			return nil, false
		}
		var start, end int64
		switch {
		case a == "":
			n, err := strconv.ParseInt(b, 10, 64)
			if err != nil || n <= 0 {
				return nil, false
			}
			start, end = max(size-n, 0), size-1
		default:
			s, err := strconv.ParseInt(a, 10, 64)
			if err != nil || s < 0 {
				return nil, false
			}
			start, end = s, size-1
			if b != "" {
				en, err := strconv.ParseInt(b, 10, 64)
				if err != nil || en < s {
					return nil, false
				}
				end = min(en, size-1)
			}
		}
		if start <= last {
			return nil, false // overlapping or not ascending (§2.6)
		}
		if start >= size {
			continue
		}
		last = end
		out = append(out, [2]int64{start, end})
	}
	return out, true
}

// notModified applies If-None-Match (weak comparison) or, without it, If-Modified-Since
// (RFC 9110 §13.1) to the response headers the viewer would get.
func notModified(r *http.Request, h http.Header) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	// Repeated If-None-Match lines are one list (RFC 9110 §5.3).
	if inm := strings.Join(r.Header.Values("If-None-Match"), ","); strings.Trim(inm, ", \t") != "" {
		etag := h.Get("Etag")
		return etag != "" && etagListMatchesWeak(inm, etag)
	}
	ims := r.Header.Get("If-Modified-Since")
	lm := h.Get("Last-Modified")
	if ims == "" || lm == "" {
		return false
	}
	t1, err1 := http.ParseTime(ims)
	t2, err2 := http.ParseTime(lm)
	return err1 == nil && err2 == nil && !t2.After(t1)
}

// etagListMatchesWeak reports whether an If-None-Match list ("*", or ETags separated
// by commas) matches etag by weak comparison (RFC 9110 §8.8.3.2).
func etagListMatchesWeak(list, etag string) bool {
	etag = strings.TrimPrefix(etag, "W/")
	for t := range strings.SplitSeq(list, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == etag {
			return true
		}
	}
	return false
}

// ifRangeMatches: If-Range holds a strong ETag or a date (RFC 9110 §13.1.5).
func ifRangeMatches(ir string, h http.Header) bool {
	if strings.HasPrefix(ir, `"`) {
		return ir == h.Get("Etag")
	}
	t, err := http.ParseTime(ir)
	if err != nil {
		return false
	}
	lm, err := http.ParseTime(h.Get("Last-Modified"))
	return err == nil && lm.Equal(t.Truncate(time.Second))
}
