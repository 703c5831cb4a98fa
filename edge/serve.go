package edge

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// fillResult is the outcome of going to the origin for one cache key.
type fillResult struct {
	ent    *entry          // the response, stored or not
	result string          // Miss, RefreshHit, Hit (stale served), Error
	stream *originResponse // a body too large to buffer: only the leader may send it
	stored bool
}

// serveFromCacheOrOrigin looks the request up in the cache and goes to the origin on a
// miss or an expired object.
func (e *Edge) serveFromCacheOrOrigin(w http.ResponseWriter, rs *reqState) {
	b, r := rs.b, rs.r
	ae := normalizedAcceptEncoding(b, r)
	key, keyQuery := cacheKeyFor(rs, ae)
	// §2.3: GET and HEAD (and OPTIONS when configured) are cached; never with
	// CachingDisabled.
	cacheable := b.cached.has(r.Method) && !b.cache.disabled()
	now := e.opts.Now()
	var stale *entry
	if cacheable {
		if ent := e.cache.get(key); ent != nil {
			if ent.isFresh(now) {
				result := "Hit"
				if ent.isError {
					// A cached error still says "Error from cloudfront" (§3.2).
					result, rs.detail = "Error", "Hit"
				}
				e.writeEntry(w, rs, ent, result, true)
				return
			}
			stale = ent
			// §2.5 stale-while-revalidate: serve the stale object now, refresh behind.
			if ent.fresh.swr > 0 && now.Before(ent.expires().Add(ent.fresh.swr)) && !ent.isError {
				e.revalidateInBackground(rs, key, keyQuery, ent, ae)
				rs.detail = "StaleWhileRevalidate"
				e.writeEntry(w, rs, ent, "Hit", true)
				return
			}
		}
	}
	ctx := r.Context()
	var res *fillResult
	// §2.3 request collapsing: concurrent misses for one key wait for the first origin
	// response. Not with cookies forwarded, nor for methods that are not cached.
	if cacheable && r.Method == http.MethodGet && !b.forwardCookies {
		fkey := key.path + "\x00" + key.variant
		leader := false
		v, _, _ := e.flight.Do(fkey, func() (any, error) {
			leader = true
			// The fill outlives a viewer that leaves: others may be waiting on it.
			return e.fill(context.WithoutCancel(ctx), rs, key, keyQuery, stale, ae, cacheable), nil
		})
		res = v.(*fillResult)
		shared := !leader
		if shared && res.stream == nil && (res.stored || res.result == "Hit") {
			// A collapsed request is logged as a Hit (§2.3).
			r2 := *res
			if r2.result == "Miss" {
				r2.result = "Hit"
			}
			res = &r2
		} else if shared {
			res = e.fill(ctx, rs, key, keyQuery, stale, ae, cacheable)
		}
	} else {
		res = e.fill(ctx, rs, key, keyQuery, stale, ae, cacheable)
	}
	if res.stream != nil {
		e.writeStream(w, rs, res.stream, key, keyQuery, cacheable)
		return
	}
	if res.ent == nil { // the viewer went away
		rs.viewerGone = true
		return
	}
	e.writeEntry(w, rs, res.ent, res.result, res.result == "Hit")
}

// isFresh reports whether the entry may be served without asking the origin.
func (ent *entry) isFresh(now time.Time) bool {
	return !ent.varyAll && now.Before(ent.expires())
}

// fill fetches key from the origin (conditionally when a stale copy exists), stores what
// may be stored, and returns what to send.
func (e *Edge) fill(ctx context.Context, rs *reqState, key cacheKey, keyQuery string, stale *entry, ae string, cacheable bool) *fillResult {
	build := func(o *originServer) (*originRequest, error) {
		return e.buildOriginRequest(ctx, rs, o, ae, stale, cacheable)
	}
	resp, oerr := e.fetch(ctx, rs, build)
	now := e.opts.Now()
	if oerr != nil {
		if rs.r.Context().Err() != nil && ctx.Err() != nil {
			return &fillResult{}
		}
		// §3.2: origin timeout counts as 5xx; an expired object is served instead.
		if stale != nil && !stale.isError {
			if ent := e.staleOnError(stale, oerr.Status(), now); ent != nil {
				return &fillResult{ent: ent, result: "Hit"}
			}
		}
		rs.detail = detailFor(oerr)
		ent := e.errorEntry(oerr.Status(), "", rs.id)
		ent.key, ent.uri, ent.stored = key, entryURI(key, keyQuery), now
		return e.finishError(rs, ent, nil, cacheable)
	}
	if resp.rest != nil {
		return &fillResult{stream: resp}
	}
	if resp.status == http.StatusNotModified && stale != nil {
		// §2.3: the origin confirmed the expired object; refresh it → RefreshHit.
		ent := e.refreshed(rs, stale, resp, now)
		if cacheable && ent.fresh.store {
			e.cache.put(ent)
		}
		return &fillResult{ent: ent, result: "RefreshHit", stored: true}
	}
	if resp.status >= 500 && stale != nil && !stale.isError {
		if ent := e.staleOnError(stale, resp.status, now); ent != nil {
			return &fillResult{ent: ent, result: "Hit"}
		}
	}
	ent := e.newEntry(rs, key, keyQuery, resp, ae, now)
	if resp.status >= 400 {
		return e.finishError(rs, ent, resp, cacheable)
	}
	stored := false
	if cacheable && ent.fresh.store && rs.r.Method != http.MethodHead && cacheableStatus(resp.status) {
		e.cache.put(ent)
		stored = true
	}
	return &fillResult{ent: ent, result: "Miss", stored: stored}
}

// cacheableStatus: responses CloudFront caches by TTL. "CloudFront always caches
// responses to GET and HEAD requests" (Developer Guide, HTTPStatusCodes), so every
// final 2xx and 3xx status (299 and 303 included) follows the TTL rules; a 304 refreshes
// a stored object instead, and 4xx and 5xx follow the error caching lists of §3.2 (410,
// which is on neither list, is not cached).
func cacheableStatus(s int) bool {
	return s >= 200 && s < 400 && s != http.StatusNotModified
}

func detailFor(oerr *OriginError) string {
	switch oerr.Kind {
	case failConnect:
		if strings.Contains(oerr.Err.Error(), errNoSuchHost.Error()) {
			return "OriginDnsError"
		}
		return "OriginConnectError"
	case failConnectTimeout:
		return "OriginConnectTimeout"
	case failResponseTimeout:
		return "OriginReadTimeout"
	}
	return "OriginError"
}

// staleOnError returns the expired entry to serve when the origin fails with status
// (§2.5, §3.2): within stale-if-error when the origin set it; never with
// stale-if-error=0; otherwise the object is served for ErrorCachingMinTTL and the
// origin is tried again after that.
func (e *Edge) staleOnError(stale *entry, status int, now time.Time) *entry {
	if status < 500 {
		return nil
	}
	f := stale.fresh
	if f.sieOff {
		return nil
	}
	if f.sie > 0 && !now.Before(stale.expires().Add(f.sie)) {
		return nil
	}
	errTTL := 10 * time.Second
	if er := e.cur.Load().errorPages[status]; er != nil {
		errTTL = er.minTTL
	}
	if f.sie > 0 {
		// Keep serving within the stale-if-error window; retry the origin each time.
		return stale
	}
	cp := *stale
	// Fresh again for ErrorCachingMinTTL from now; Age keeps counting from the fetch.
	cp.fresh.ttl = now.Sub(stale.stored) + errTTL
	e.cache.put(&cp)
	return &cp
}

// finishError applies custom error responses and error caching (§3.1, §3.2).
func (e *Edge) finishError(rs *reqState, ent *entry, resp *originResponse, cacheable bool) *fillResult {
	er := rs.c.errorPages[ent.status]
	minTTL := 10 * time.Second
	if er != nil {
		minTTL = er.minTTL
	}
	if er != nil && er.pagePath != "" {
		if page := e.errorPageEntry(rs, er); page != nil {
			page.key, page.uri, page.stored = ent.key, ent.uri, ent.stored
			page.isError = true
			ent = page
		}
	}
	ttl, ok := errorTTL(ent.status, rs.b.cache, resp, minTTL, e.opts.Now())
	if er != nil && er.respCode != 0 {
		ttl, ok = errorTTL(er.code, rs.b.cache, resp, minTTL, e.opts.Now())
	}
	ent.isError = true
	ent.fresh = freshness{store: ok, ttl: ttl}
	stored := false
	if cacheable && ok && ttl > 0 && rs.r.Method != http.MethodHead {
		e.cache.put(ent)
		stored = true
	}
	result := "Error"
	return &fillResult{ent: ent, result: result, stored: stored}
}

// errorTTL is the error caching table of §3.2: 404, 414, 500, 501, 502, 503, 504 are
// always cached, for max(ErrorCachingMinTTL, the origin's TTL); 400, 403, 405, 412, 415
// only when the origin sent max-age or s-maxage; 416 and anything else never. A cache
// policy that caches nothing caches no errors either [INFER].
func errorTTL(status int, p *cachePolicy, resp *originResponse, minTTL time.Duration, now time.Time) (time.Duration, bool) {
	if p.disabled() {
		return 0, false
	}
	var hdrTTL time.Duration
	var hasAge bool
	if resp != nil {
		cc := parseCacheControl(resp.header.Values("Cache-Control"))
		switch {
		case cc.hasSMax:
			hdrTTL, hasAge = time.Duration(min(cc.sMaxAge, p.maxTTL))*time.Second, true
		case cc.hasMaxAge:
			hdrTTL, hasAge = time.Duration(min(cc.maxAge, p.maxTTL))*time.Second, true
		default:
			if t, ok := expiresAt(resp.header, now); ok && t.After(now) {
				hdrTTL = min(t.Sub(now), time.Duration(p.maxTTL)*time.Second)
			}
		}
	}
	switch status {
	case 404, 414, 500, 501, 502, 503, 504:
		return max(minTTL, hdrTTL), true
	case 400, 403, 405, 412, 415:
		if hasAge {
			return max(minTTL, hdrTTL), true
		}
	}
	return 0, false
}

// errorPageEntry fetches a custom error page through the first behaviour that matches
// its path (§3.1). nil when the page cannot be fetched, in which case the viewer gets
// the original error.
func (e *Edge) errorPageEntry(rs *reqState, er *errorResponse) *entry {
	c := rs.c
	pb := c.match(normalizePath(er.pagePath))
	pr := &reqState{r: rs.r, c: c, b: pb, id: rs.id, start: rs.start, https: true, uri: er.pagePath, header: http.Header{}}
	ae := normalizedAcceptEncoding(pb, rs.r)
	key, _ := cacheKeyFor(pr, ae)
	now := e.opts.Now()
	if ent := e.cache.get(key); ent != nil && ent.isFresh(now) && ent.status == http.StatusOK {
		return e.withStatus(ent, er.respCode)
	}
	get := *rs.r
	get.Method = http.MethodGet
	pr.r = &get
	resp, oerr := e.fetch(context.WithoutCancel(rs.r.Context()), pr, func(o *originServer) (*originRequest, error) {
		return e.buildOriginRequest(rs.r.Context(), pr, o, ae, nil, true)
	})
	if oerr != nil || resp.rest != nil {
		resp.close()
		return nil
	}
	ent := e.newEntry(pr, key, "", resp, ae, now)
	if resp.status != http.StatusOK {
		// §3.1: the viewer gets the status of the error page's origin.
		return ent
	}
	if ent.fresh.store {
		e.cache.put(ent)
	}
	return e.withStatus(ent, er.respCode)
}

func (e *Edge) withStatus(ent *entry, status int) *entry {
	cp := *ent
	cp.status = status
	return &cp
}

// refreshed makes the entry that replaces stale after a 304: the stale body, its
// headers updated from the 304, fresh again from now. RFC 9111 §4.3.4 ("Freshening
// Stored Responses upon Validation") updates the stored response as §3.2 says: "the
// cache MUST add each header field in the provided response to the stored response,
// replacing field values that are already present", except the fields the stored
// content depends on — here Content-Length, Content-Encoding, Content-Range and
// Transfer-Encoding describe the bytes the edge holds (possibly compressed by the edge,
// §2.7), and the ETag of a copy the edge compressed stays weak — and except what the
// edge never passes to viewers (hop-by-hop fields, Set-Cookie without cookie
// forwarding, viewerResponseHeader). The 304's own Age and Date make the new initial
// age: the object was just validated.
func (e *Edge) refreshed(rs *reqState, stale *entry, resp *originResponse, now time.Time) *entry {
	cp := *stale
	cp.header = stale.header.Clone()
	edgeCompressed := stale.header.Get("Content-Encoding") != "" && stale.header.Get("Etag") != stale.etag
	for k, v := range viewerResponseHeader(resp.header, rs.b) {
		switch k {
		case "Content-Length", "Content-Encoding", "Content-Range", "Transfer-Encoding":
			continue
		case "Etag":
			if edgeCompressed {
				continue // keep the weakened ETag of a compressed copy (§2.7)
			}
		}
		cp.header[k] = v
	}
	if _, ok := resp.header["Age"]; !ok {
		delete(cp.header, "Age")
	}
	if v := resp.header.Get("Etag"); v != "" {
		cp.etag = v
	}
	if v := resp.header.Get("Last-Modified"); v != "" {
		cp.lastMod = v
	}
	cp.stored = now
	cp.initialAge = initialAge(resp.header, now)
	cp.fresh = computeFreshness(rs.b.cache, cp.header, now)
	cp.wire = nil
	return &cp
}

// newEntry converts an origin response into the entry viewers get, compressing it when
// the behaviour and the response allow (§2.7).
func (e *Edge) newEntry(rs *reqState, key cacheKey, keyQuery string, resp *originResponse, ae string, now time.Time) *entry {
	b := rs.b
	h := viewerResponseHeader(resp.header, b)
	body := resp.body
	if rs.r.Method != http.MethodHead {
		if b.compress && ae != "" {
			body = compressResponse(h, resp.status, body, ae)
		}
		h["Content-Length"] = []string{strconv.Itoa(len(body))}
	}
	ent := &entry{
		key: key, uri: entryURI(key, keyQuery), status: resp.status, header: h, body: body, stored: now,
		initialAge: initialAge(resp.header, now), fresh: computeFreshness(b.cache, resp.header, now),
		etag: resp.header.Get("Etag"), lastMod: resp.header.Get("Last-Modified"),
	}
	for _, v := range resp.header.Values("Vary") {
		if strings.Contains(v, "*") {
			// §2.4: "Vary: *" → cached, but every request goes to the origin without
			// conditional headers.
			ent.varyAll = true
		}
	}
	return ent
}

func entryURI(key cacheKey, keyQuery string) string {
	if keyQuery == "" {
		return key.path
	}
	return key.path + "?" + keyQuery
}

// revalidateInBackground refreshes a stale-while-revalidate object once, whoever asks.
func (e *Edge) revalidateInBackground(rs *reqState, key cacheKey, keyQuery string, stale *entry, ae string) {
	bg := *rs
	r := rs.r.Clone(context.WithoutCancel(rs.r.Context()))
	bg.r = r
	fkey := "swr\x00" + key.path + "\x00" + key.variant
	go e.flight.Do(fkey, func() (any, error) {
		return e.fill(r.Context(), &bg, key, keyQuery, stale, ae, true), nil
	})
}

// writeStream sends a response whose body is not buffered: headers now, body as it
// comes (see Options.MaxBufferedBody). A body that arrives complete and within
// Options.MaxCachedStream is cached like any other response.
func (e *Edge) writeStream(w http.ResponseWriter, rs *reqState, resp *originResponse, key cacheKey, keyQuery string, cacheable bool) {
	defer resp.close()
	now := e.opts.Now()
	vh := viewerResponseHeader(resp.header, rs.b)
	fresh := computeFreshness(rs.b.cache, resp.header, now)
	var keep *bytes.Buffer
	if cacheable && fresh.store && rs.r.Method == http.MethodGet && cacheableStatus(resp.status) {
		keep = bytes.NewBuffer(append([]byte(nil), resp.body...))
	}
	h := w.Header()
	for k, v := range vh {
		h[k] = v
	}
	e.stamp(h, rs, "Miss")
	if rs.b.headers != nil {
		rs.b.headers.apply(h, rs.r)
	}
	// A viewer-response function runs on a streamed response too; it does not see the
	// body and may replace it.
	status, replaced := e.viewerResponse(h, rs, resp.status)
	if replaced != nil {
		rs.status = status
		rs.contentType = h.Get("Content-Type")
		w.WriteHeader(status)
		if rs.r.Method != http.MethodHead {
			n, _ := w.Write(replaced)
			rs.bytes = int64(n)
		}
		return
	}
	rs.status = status
	rs.contentType = h.Get("Content-Type")
	w.WriteHeader(status)
	n, _ := w.Write(resp.body)
	rs.bytes = int64(n)
	// Headers go out now, as CloudFront sends them as soon as the origin's arrive.
	rc := http.NewResponseController(w)
	rc.Flush()
	buf := make([]byte, 64<<10)
	for {
		m, err := resp.rest.Read(buf)
		if m > 0 {
			k, werr := w.Write(buf[:m])
			rs.bytes += int64(k)
			if werr != nil {
				return
			}
			rc.Flush()
			if keep != nil {
				if int64(keep.Len()+m) > e.maxCachedStream {
					keep = nil
				} else {
					keep.Write(buf[:m])
				}
			}
		}
		if err == io.EOF {
			if keep != nil {
				vh["Content-Length"] = []string{strconv.Itoa(keep.Len())}
				e.cache.put(&entry{key: key, uri: entryURI(key, keyQuery), status: resp.status, header: vh, body: keep.Bytes(),
					stored: now, initialAge: initialAge(resp.header, now), fresh: fresh, etag: resp.header.Get("Etag"), lastMod: resp.header.Get("Last-Modified")})
			}
			return
		}
		if err != nil {
			// Bytes already went out: the viewer sees a truncated response, as on
			// CloudFront; abort the connection so it cannot mistake it for complete.
			e.log.Info("origin body failed mid-stream", "origin", resp.origin.id, "err", err)
			panic(http.ErrAbortHandler)
		}
	}
}

// normalizedAcceptEncoding is the Accept-Encoding CloudFront puts in the cache key and
// forwards when the cache policy enables gzip and/or Brotli (§2.7): "br,gzip", "br",
// "gzip" or "". Other codings are dropped, q=0 means not accepted, HTTP/1.0 viewers
// get none.
func normalizedAcceptEncoding(b *behaviour, r *http.Request) string {
	p := b.cache
	if !p.gzip && !p.br || (r.ProtoMajor == 1 && r.ProtoMinor == 0) {
		return ""
	}
	var br, gz bool
	for _, v := range r.Header["Accept-Encoding"] {
		b, g := acceptedEncodings(v)
		br, gz = br || b, gz || g
	}
	return encodingKey(p, br, gz)
}

// acceptEncodingKey is normalizedAcceptEncoding for an HTTP/1.1 request with one
// Accept-Encoding header v.
func acceptEncodingKey(p *cachePolicy, v string) string {
	if !p.gzip && !p.br {
		return ""
	}
	br, gz := acceptedEncodings(v)
	return encodingKey(p, br, gz)
}

// acceptedEncodings reports whether one Accept-Encoding value accepts br and gzip.
func acceptedEncodings(v string) (br, gz bool) {
	for len(v) > 0 {
		var tok string
		tok, v, _ = strings.Cut(v, ",")
		name, params, _ := strings.Cut(tok, ";")
		name = strings.TrimSpace(name)
		if q := strings.TrimSpace(params); strings.HasPrefix(q, "q=") {
			if f, err := strconv.ParseFloat(q[2:], 64); err == nil && f == 0 {
				continue
			}
		}
		switch {
		case strings.EqualFold(name, "br"):
			br = true
		case strings.EqualFold(name, "gzip"):
			gz = true
		}
	}
	return br, gz
}

func encodingKey(p *cachePolicy, br, gz bool) string {
	br, gz = br && p.br, gz && p.gzip
	switch {
	case br && gz:
		return "br,gzip"
	case br:
		return "br"
	case gz:
		return "gzip"
	}
	return ""
}

// cacheKeyFor builds the cache key (§2.3): the URI plus what the cache policy adds.
// It also returns the query string part of the key, for invalidation matching.
func cacheKeyFor(rs *reqState, ae string) (cacheKey, string) {
	p := rs.b.cache
	k := cacheKey{path: rs.uri, variant: ae}
	options := rs.r.Method == http.MethodOptions
	if p.query.none() && p.headers.none() && p.cookies.none() && !options {
		return k, ""
	}
	var sb strings.Builder
	if options {
		// Cached OPTIONS responses (CachedMethods with OPTIONS) must never answer a GET.
		sb.WriteString("OPTIONS\x00")
	}
	sb.WriteString(ae)
	q := selectQuery(rs.query, func(n string) bool { return p.query.includes(n) })
	if q != "" {
		sb.WriteString("\x00q")
		sb.WriteString(q)
	}
	if !p.headers.none() {
		for _, n := range p.headers.list {
			if vs, ok := rs.header[http.CanonicalHeaderKey(n)]; ok {
				sb.WriteString("\x00h")
				sb.WriteString(n)
				sb.WriteByte('=')
				sb.WriteString(strings.Join(vs, ","))
			}
		}
	}
	if !p.cookies.none() {
		for _, c := range selectCookies(rs.header, func(n string) bool { return p.cookies.includes(n) }) {
			sb.WriteString("\x00c")
			sb.WriteString(c)
		}
	}
	k.variant = sb.String()
	return k, q
}

// selectQuery keeps the query parameters whose name keep accepts, in the viewer's order.
func selectQuery(raw string, keep func(string) bool) string {
	if raw == "" {
		return ""
	}
	var out []string
	all := true
	for _, part := range strings.Split(raw, "&") {
		if part == "" {
			continue
		}
		name, _, _ := strings.Cut(part, "=")
		if un, err := url.QueryUnescape(name); err == nil {
			name = un
		}
		if keep(name) {
			out = append(out, part)
		} else {
			all = false
		}
	}
	if all {
		return raw
	}
	return strings.Join(out, "&")
}

// selectCookies returns "name=value" for the viewer's cookies that keep accepts, sorted.
func selectCookies(h http.Header, keep func(string) bool) []string {
	var out []string
	for _, line := range h["Cookie"] {
		for _, c := range strings.Split(line, ";") {
			c = strings.TrimSpace(c)
			name, _, _ := strings.Cut(c, "=")
			if name != "" && keep(name) {
				out = append(out, c)
			}
		}
	}
	slices.Sort(out)
	return out
}
