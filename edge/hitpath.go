package edge

import (
	"encoding/base64"
	"encoding/binary"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
)

// The cache-hit fast path of Edge.Serve. A plain GET or HEAD that finds a fresh cached
// 200 is answered from bytes prepared once per entry: the status line and every header
// that does not change between requests. Only X-Amz-Cf-Id, Age and (when the origin sent
// none) Date are written per request. Anything this path does not handle exactly as
// ServeHTTP would (functions in JavaScript, viewer-response functions, CORS for a request
// with Origin, Range requests and conditions other than If-None-Match, access logs,
// cache keys with query strings, headers or cookies, errors) goes to ServeHTTP instead,
// so the response a viewer gets is the same either way; TestHitPathMatchesServeHTTP
// compares them.

// hitRequest is what the fast path needs from a viewer request, parsed by parseHitRequest.
type hitRequest struct {
	head           bool   // HEAD, else GET
	path           string // the raw path of the request target, before any '?'
	acceptEncoding string // the one Accept-Encoding value, "" when none
	origin         bool   // an Origin header was sent
	close          bool   // Connection: close
	ifNoneMatch    string // the one If-None-Match value, "" when none
	// ifModifiedSince: an If-Modified-Since was sent (ignored beside If-None-Match;
	// alone, the request goes to ServeHTTP).
	ifModifiedSince bool
	https           bool // the connection is TLS (ServeViewers)
}

// wireSlot holds an entry's prepared response head. It is shared by copies of an entry
// (cp := *ent), so a block records the entry and behaviour it was made for.
type wireSlot struct {
	p atomic.Pointer[wireBlock]
}

// wireBlock is the response head of a cached entry as served through one behaviour.
type wireBlock struct {
	ent *entry
	b   *behaviour
	// head is the status line and the static headers, each ending in CRLF; head304 is
	// the same for a 304 answer to a matching If-None-Match, without the content headers.
	head, head304 []byte
	// etag is the ETag the viewer gets, for If-None-Match.
	etag string
	// Which per-request headers follow head (a policy may remove or replace them).
	id, age, date bool
}

// sentinels mark the per-request header values while a block is prepared, so a
// response headers policy that removes or replaces them is honoured exactly.
var (
	idSentinel  = []string{"\x00id"}
	ageSentinel = []string{"\x00age"}
)

// serveHit answers req from the cache when it can. It appends the response head to
// buf and returns it with the body to send (nil for HEAD); ok=false means the request
// must go through ServeHTTP.
func (e *Edge) serveHit(req *hitRequest, buf []byte) (head, body []byte, ok bool) {
	if e.access != nil {
		return nil, nil, false
	}
	c := e.cur.Load()
	if !c.enabled {
		return nil, nil, false
	}
	b := c.match(normalizePath(req.path))
	method := http.MethodGet
	if req.head {
		method = http.MethodHead
	}
	if !b.allowed.has(method) || !b.cached.has(method) || b.cache.disabled() || b.viewerResponse != nil {
		return nil, nil, false
	}
	if !e.opts.ViewerHTTPS && !req.https && b.viewerProtocol != types.ViewerProtocolPolicyAllowAll {
		return nil, nil, false
	}
	p := b.cache
	if !p.query.none() || !p.headers.none() || !p.cookies.none() {
		return nil, nil, false
	}
	if req.origin && b.headers != nil && b.headers.cors != nil {
		return nil, nil, false
	}
	uri := req.path
	if fn := b.viewerRequest; fn != nil {
		if fn.RewriteURI == nil {
			return nil, nil, false
		}
		if fn.Respond != nil {
			if resp, ok := fn.Respond(uri, ""); resp != nil || !ok {
				return nil, nil, false // a generated response, or the JavaScript decides
			}
		}
		uri = fn.RewriteURI(uri)
	}
	if uri == "/" && c.defaultRoot != "" {
		uri = c.defaultRoot
	}
	ae := ""
	if req.acceptEncoding != "" {
		ae = acceptEncodingKey(p, req.acceptEncoding)
	}
	ent := e.cache.get(cacheKey{path: uri, variant: ae})
	now := e.opts.Now()
	if ent == nil || ent.status != http.StatusOK || ent.isError || !ent.isFresh(now) || ent.wire == nil {
		return nil, nil, false
	}
	wb := ent.wire.p.Load()
	if wb == nil || wb.ent != ent || wb.b != b {
		wb = e.prepareHit(ent, b)
		ent.wire.p.Store(wb)
	}
	if wb.head == nil {
		return nil, nil, false
	}
	notModified := req.ifNoneMatch != "" && wb.etag != "" && etagListMatchesWeak(req.ifNoneMatch, wb.etag)
	if notModified {
		buf = append(buf, wb.head304...)
	} else {
		buf = append(buf, wb.head...)
	}
	if wb.id {
		buf = appendRequestID(append(buf, "X-Amz-Cf-Id: "...))
		buf = append(buf, '\r', '\n')
	}
	if wb.age {
		buf = strconv.AppendInt(append(buf, "Age: "...), ent.age(now), 10)
		buf = append(buf, '\r', '\n')
	}
	if wb.date {
		buf = append(append(buf, "Date: "...), httpDate()...)
		buf = append(buf, '\r', '\n')
	}
	if req.close {
		buf = append(buf, "Connection: close\r\n"...)
	}
	buf = append(buf, '\r', '\n')
	if req.head || notModified {
		return buf, nil, true
	}
	return buf, ent.body, true
}

// prepareHit renders the static part of ent's response through b exactly as
// writeEntry and leanWriter would: the entry's headers, the CloudFront headers, the
// response headers policy (for a request without Origin) and Server-Timing. A block
// with a nil head means the entry is not served by the fast path.
func (e *Edge) prepareHit(ent *entry, b *behaviour) *wireBlock {
	wb := &wireBlock{ent: ent, b: b}
	h := make(http.Header, len(ent.header)+8)
	for k, v := range ent.header {
		h[k] = v
	}
	h["X-Cache"] = xcacheHit
	h["Via"] = e.via
	h["X-Amz-Cf-Pop"] = e.pop
	h["X-Amz-Cf-Id"] = idSentinel
	h["Age"] = ageSentinel
	if b.headers != nil {
		b.headers.apply(h, &http.Request{Method: http.MethodGet, Header: http.Header{}})
		if b.headers.serverTiming {
			h.Set("Server-Timing", `cdn-cache-hit,cdn-pop;desc="`+e.opts.Pop+`"`)
		}
	}
	if cl := h["Content-Length"]; len(cl) != 1 || cl[0] != strconv.Itoa(len(ent.body)) {
		return wb
	}
	if _, ok := h["Connection"]; ok {
		return wb
	}
	if _, ok := h["Transfer-Encoding"]; ok {
		return wb
	}
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	head := append([]byte(nil), "HTTP/1.1 200 OK\r\n"...)
	head304 := append([]byte(nil), "HTTP/1.1 304 Not Modified\r\n"...)
	for _, k := range keys {
		vs := h[k]
		if !validHeaderName(k) {
			continue
		}
		switch {
		case k == "X-Amz-Cf-Id" && len(vs) == 1 && &vs[0] == &idSentinel[0]:
			wb.id = true
			continue
		case k == "Age" && len(vs) == 1 && &vs[0] == &ageSentinel[0]:
			wb.age = true
			continue
		}
		content := slices.Contains(notModifiedDrops, k)
		for _, v := range vs {
			line := append(appendHeaderValue([]byte(k+": "), v), '\r', '\n')
			head = append(head, line...)
			if !content {
				head304 = append(head304, line...)
			}
		}
	}
	_, hasDate := h["Date"]
	wb.date = !hasDate
	wb.head, wb.head304 = slices.Clip(head), slices.Clip(head304)
	wb.etag = h.Get("Etag")
	return wb
}

// appendRequestID appends a fresh X-Amz-Cf-Id: 40 random bytes, base64url with
// padding, 56 characters (§2.8), without allocating.
func appendRequestID(b []byte) []byte {
	var raw [40]byte
	for i := 0; i < 40; i += 8 {
		binary.LittleEndian.PutUint64(raw[i:], rand.Uint64())
	}
	n := len(b)
	b = slices.Grow(b, 56)[:n+56]
	base64.URLEncoding.Encode(b[n:], raw[:])
	return b
}
