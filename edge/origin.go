package edge

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"
)

// originKind says why an origin request failed; it drives retries, failover and the
// status the viewer gets (one error path, like httputil.ReverseProxy's).
type originKind int

const (
	// failConnect: the TCP connection could not be made (refused, unreachable, DNS).
	// CloudFront retries the connection ConnectionAttempts times, then answers 502
	// (spec/cloudfront.md §1.4, DG http-502-bad-gateway).
	failConnect originKind = iota + 1
	// failConnectTimeout: no connection within ConnectionTimeout. 504 once exhausted.
	failConnectTimeout
	// failResponseTimeout: no first byte, or a gap between body reads, longer than
	// OriginReadTimeout; or ResponseCompletionTimeout elapsed. 504.
	failResponseTimeout
	// failBroken: the connection was reset or the body ended before Content-Length. 502.
	failBroken
)

// OriginError is an origin request that produced no usable response.
type OriginError struct {
	OriginID string
	Kind     originKind
	Err      error
}

func (e *OriginError) Error() string {
	return fmt.Sprintf("origin %s: %s: %v", e.OriginID, e.Kind, e.Err)
}

func (e *OriginError) Unwrap() error { return e.Err }

func (k originKind) String() string {
	switch k {
	case failConnect:
		return "connection failed"
	case failConnectTimeout:
		return "connection timed out"
	case failResponseTimeout:
		return "response timed out"
	case failBroken:
		return "connection broken"
	}
	return "unknown"
}

// Status is the status CloudFront answers when this is the last error of a request:
// timeouts give 504, everything else 502 (spec/cloudfront.md §1.4).
func (e *OriginError) Status() int {
	if e.Kind == failConnectTimeout || e.Kind == failResponseTimeout {
		return http.StatusGatewayTimeout
	}
	return http.StatusBadGateway
}

var (
	errReadTimeout       = errors.New("origin read timeout")
	errCompletionTimeout = errors.New("origin response completion timeout")
	errNoSuchHost        = errors.New("no such host")
)

// originServer is a compiled Origin: where to connect, how long to wait, how to sign.
type originServer struct {
	id         string
	domain     string
	path       string // OriginPath, no trailing slash
	s3         bool
	scheme     string
	port       string
	attempts   int
	connectTO  time.Duration
	readTO     time.Duration
	completeTO time.Duration // 0: no limit
	headers    [][2]string   // Origin.CustomHeaders
	oac        *oacSigner    // nil: requests are not signed
	transport  *http.Transport
}

// newTransport builds the per-origin transport. Each origin gets its own so its
// connection pool, connect timeout and first-byte timeout are its own.
func (e *Edge) newTransport(o *originServer, keepalive time.Duration) *http.Transport {
	return &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return e.dialOrigin(ctx, network, addr, o.connectTO)
		},
		ResponseHeaderTimeout: o.readTO,
		// The edge forwards the normalised Accept-Encoding itself; the transport must not
		// add its own or decompress (§2.7).
		DisableCompression:  true,
		MaxIdleConnsPerHost: 256,
		IdleConnTimeout:     keepalive,
		ForceAttemptHTTP2:   false,
	}
}

// dialOrigin connects to an origin's domain, resolved through Options.Resolve when set.
func (e *Edge) dialOrigin(ctx context.Context, network, addr string, timeout time.Duration) (net.Conn, error) {
	target := addr
	if e.opts.Resolve != nil {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			host = addr
		}
		hp, ok := e.opts.Resolve(host)
		if !ok {
			return nil, &net.OpError{Op: "dial", Net: network, Err: &net.DNSError{Err: errNoSuchHost.Error(), Name: host, IsNotFound: true}}
		}
		target = hp
	}
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	dial := e.dial
	if dial == nil {
		var d net.Dialer
		dial = d.DialContext
	}
	c, err := dial(dctx, network, target)
	if err != nil && dctx.Err() != nil && ctx.Err() == nil {
		return nil, &net.OpError{Op: "dial", Net: network, Err: &timeoutError{err}}
	}
	return c, err
}

type timeoutError struct{ err error }

func (t *timeoutError) Error() string   { return "i/o timeout: " + t.err.Error() }
func (t *timeoutError) Timeout() bool   { return true }
func (t *timeoutError) Temporary() bool { return true }

// classify maps a transport or body error to an originKind.
func classify(err error, ctx context.Context) originKind {
	if c := context.Cause(ctx); errors.Is(c, errReadTimeout) || errors.Is(c, errCompletionTimeout) {
		return failResponseTimeout
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		if op.Timeout() {
			return failConnectTimeout
		}
		return failConnect
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return failResponseTimeout
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		return failConnect
	}
	return failBroken
}

// originRequest is the request the edge sends to one origin: fully prepared (headers,
// signature) except for the body reader, which each attempt recreates.
type originRequest struct {
	method string
	url    string
	host   string
	header http.Header
	body   []byte
}

// originResponse is an origin's answer. For bodies up to Options.MaxBufferedBody the
// whole body is in body (read before anything reaches the viewer, so a stall or a
// truncation is still an origin failure that can be retried or failed over). Larger
// bodies stream: body holds what was read, rest the remainder, and a failure past this
// point reaches the viewer as a truncated response, as on CloudFront.
type originResponse struct {
	origin *originServer
	status int
	header http.Header
	body   []byte
	rest   io.ReadCloser
}

// close releases a streaming response's connection.
func (r *originResponse) close() {
	if r != nil && r.rest != nil {
		r.rest.Close()
	}
}

// retryable reports whether a failed attempt may be repeated on the same origin.
// Connection failures are retried for every method (nothing reached the origin);
// timeouts and broken connections only for GET and HEAD (spec/cloudfront.md §1.4:
// "DELETE/OPTIONS/PATCH/PUT/POST: on timeout, drop and do not retry").
func retryable(k originKind, method string) bool {
	switch k {
	case failConnect, failConnectTimeout:
		return true
	}
	return method == http.MethodGet || method == http.MethodHead
}

// do sends req to the origin, making up to ConnectionAttempts attempts.
func (e *Edge) do(ctx context.Context, o *originServer, req *originRequest) (*originResponse, *OriginError) {
	cancel := context.CancelFunc(func() {})
	if o.completeTO > 0 {
		// ResponseCompletionTimeout bounds the whole response across attempts (§1.4).
		ctx, cancel = context.WithTimeoutCause(ctx, o.completeTO, errCompletionTimeout)
	}
	var last *OriginError
	for attempt := 1; attempt <= o.attempts; attempt++ {
		resp, err := e.attempt(ctx, o, req)
		if err == nil {
			if resp.rest != nil {
				// A streaming body keeps the deadline until it is closed.
				resp.rest = &closeFunc{ReadCloser: resp.rest, after: cancel}
			} else {
				cancel()
			}
			return resp, nil
		}
		last = err
		if ctx.Err() != nil {
			break
		}
		if !retryable(err.Kind, req.method) {
			break
		}
		e.log.Debug("origin attempt failed", "origin", o.id, "attempt", attempt, "err", err.Err)
	}
	cancel()
	return nil, last
}

type closeFunc struct {
	io.ReadCloser
	after func()
}

func (c *closeFunc) Close() error {
	err := c.ReadCloser.Close()
	c.after()
	return err
}

// attempt makes one request and, unless the body is large, reads it completely.
func (e *Edge) attempt(parent context.Context, o *originServer, req *originRequest) (*originResponse, *OriginError) {
	ctx, cancel := context.WithCancelCause(parent)
	fail := func(err error) (*originResponse, *OriginError) {
		k := classify(err, ctx)
		if errors.Is(context.Cause(parent), errCompletionTimeout) {
			k = failResponseTimeout
		}
		cancel(err)
		return nil, &OriginError{OriginID: o.id, Kind: k, Err: err}
	}
	hr, err := http.NewRequestWithContext(ctx, req.method, req.url, nil)
	if err != nil {
		cancel(err)
		return nil, &OriginError{OriginID: o.id, Kind: failConnect, Err: err}
	}
	hr.Host = req.host
	hr.Header = req.header.Clone()
	if len(req.body) > 0 {
		hr.Body = io.NopCloser(bytes.NewReader(req.body))
		hr.ContentLength = int64(len(req.body))
		body := req.body
		hr.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	}
	resp, err := o.transport.RoundTrip(hr)
	if err != nil {
		return fail(err)
	}
	or := &originResponse{origin: o, status: resp.StatusCode, header: resp.Header}
	if req.method == http.MethodHead || resp.StatusCode == http.StatusNoContent || resp.StatusCode == http.StatusNotModified {
		resp.Body.Close()
		cancel(nil)
		return or, nil
	}
	// OriginReadTimeout also bounds the gap between reads of the body (§1.4).
	tb := &timedBody{rc: resp.Body, d: o.readTO, cancel: cancel}
	tb.timer = time.AfterFunc(o.readTO, func() { cancel(errReadTimeout) })
	limit := e.maxBuffered
	if limit < 0 || resp.ContentLength > limit {
		// Known to be large: stream from the start.
		or.rest = tb
		return or, nil
	}
	buf, err := readUpTo(tb, limit, resp.ContentLength)
	if err != nil {
		// CloudFront streams the origin's answer to the viewer as it arrives, so once the
		// headers are in, a body that breaks or stalls can no longer be retried or failed
		// over: the viewer gets the headers, the bytes that came, and a cut connection, and
		// nothing is cached (spec §1.3 covers the status line; issue 7: "truncate on an
		// uncached object" is a phase where CloudFront does not fail over). Buffering the
		// body here is only how the edge compresses and caches; it must not change what
		// the viewer sees.
		tb.Close()
		or.body = buf
		or.rest = brokenBody{err: err}
		return or, nil
	}
	if int64(len(buf)) > limit {
		or.body = buf
		or.rest = tb
		return or, nil
	}
	tb.Close()
	cancel(nil)
	or.body = buf
	return or, nil
}

// readUpTo reads r until EOF or until more than limit bytes were read. A short body
// (fewer bytes than Content-Length) is io.ErrUnexpectedEOF from net/http; on an error
// it returns the bytes read so far.
func readUpTo(r io.Reader, limit, contentLength int64) ([]byte, error) {
	size := int64(512)
	if contentLength >= 0 && contentLength <= limit {
		size = contentLength + 1
	}
	buf := bytes.NewBuffer(make([]byte, 0, size))
	_, err := io.Copy(buf, io.LimitReader(r, limit+1))
	return buf.Bytes(), err
}

// brokenBody is the rest of a body that broke after some bytes arrived: reading it
// reports the failure, so the viewer's response is cut where the origin's was.
type brokenBody struct{ err error }

func (b brokenBody) Read([]byte) (int, error) { return 0, b.err }
func (b brokenBody) Close() error             { return nil }

// timedBody ends the origin request (via cancel) when no Read completes within d.
type timedBody struct {
	rc     io.ReadCloser
	d      time.Duration
	timer  *time.Timer
	cancel context.CancelCauseFunc
}

func (t *timedBody) Read(p []byte) (int, error) {
	n, err := t.rc.Read(p)
	if n > 0 {
		t.timer.Reset(t.d)
	}
	return n, err
}

func (t *timedBody) Close() error {
	t.timer.Stop()
	err := t.rc.Close()
	t.cancel(nil)
	return err
}

// originURL builds the URL for an origin request: scheme and domain of the origin,
// OriginPath, then the request path exactly as the viewer sent it (after functions);
// CloudFront does not normalise the path it forwards (spec §2.1 note in behaviour.go).
func (o *originServer) originURL(path, rawQuery string) string {
	var b strings.Builder
	b.Grow(len(o.scheme) + len(o.domain) + len(o.path) + len(path) + len(rawQuery) + 10)
	b.WriteString(o.scheme)
	b.WriteString("://")
	b.WriteString(o.domain)
	if o.port != "" {
		b.WriteByte(':')
		b.WriteString(o.port)
	}
	b.WriteString(o.path)
	b.WriteString(path)
	if rawQuery != "" {
		b.WriteByte('?')
		b.WriteString(rawQuery)
	}
	return b.String()
}

var identityEncoding = []string{"identity"}

// buildOriginRequest prepares the request to origin o for the viewer request in rs
// (spec/cloudfront.md §2.8 "Origin-facing"): the cache key's and the origin request
// policy's headers, cookies and query strings; Host = the origin's domain unless the
// policy forwards the viewer's Host (never for S3); User-Agent "Amazon CloudFront"
// unless forwarded; Via, X-Amz-Cf-Id and X-Forwarded-For added; the origin's custom
// headers; conditional headers for a revalidation; an OAC signature last.
func (e *Edge) buildOriginRequest(ctx context.Context, rs *reqState, o *originServer, ae string, stale *entry, cacheable bool) (*originRequest, error) {
	b := rs.b
	h := make(http.Header, 12)
	fwd := b.forwardsHeader
	for k, vs := range rs.header {
		if hopByHop[k] {
			continue
		}
		switch k {
		case "Host", "Accept-Encoding", "Cookie", "Via", "X-Forwarded-For", "X-Amz-Cf-Id", "Proxy-Connection":
			continue
		case "X-Amz-Content-Sha256":
			// Lambda OAC signs with the viewer's body hash (§5.2), so it always travels.
			if o.oac != nil || fwd("x-amz-content-sha256") {
				h[k] = vs
			}
			continue
		case "Content-Type", "Content-Md5":
			if len(rs.body) > 0 {
				h[k] = vs
				continue
			}
		case "Range", "If-None-Match", "If-Modified-Since", "If-Match", "If-Unmodified-Since", "If-Range":
			// A cacheable request fetches the whole object with the edge's own
			// validators; the viewer's apply to the cached copy.
			if cacheable {
				continue
			}
		}
		if fwd(strings.ToLower(k)) {
			h[k] = vs
		}
	}
	switch {
	case ae != "":
		h["Accept-Encoding"] = []string{ae}
	case (b.cache.gzip || b.cache.br) && len(rs.header["Accept-Encoding"]) > 0 && (rs.r.ProtoMajor != 1 || rs.r.ProtoMinor != 0):
		// A viewer whose Accept-Encoding names no coding the policy caches: CloudFront
		// "Includes Accept-Encoding: identity in the corresponding origin request. The
		// origin request doesn't include other values that were in the Accept-Encoding
		// header sent by the viewer" (Developer Guide, controlling-the-cache-key). A
		// viewer that sent none gets none forwarded; HTTP/1.0 viewers' is removed (§2.7).
		h["Accept-Encoding"] = identityEncoding
	case fwd("accept-encoding") && !b.cache.gzip && !b.cache.br:
		if v, ok := rs.header["Accept-Encoding"]; ok {
			h["Accept-Encoding"] = v
		}
	}
	cookieKeep := func(n string) bool {
		return b.cache.cookies.includes(n) || (b.originReq != nil && b.originReq.cookies.includes(n))
	}
	if cs := selectCookies(rs.header, cookieKeep); len(cs) > 0 {
		h.Set("Cookie", strings.Join(cs, "; "))
	}
	host := o.domain
	if !o.s3 && fwd("host") && rs.r.Host != "" {
		host = rs.r.Host
	}
	if !fwd("user-agent") {
		h.Set("User-Agent", "Amazon CloudFront")
	}
	if v := rs.header.Get("Via"); v != "" && fwd("via") {
		h.Set("Via", v+", "+e.viaHeader)
	} else {
		h.Set("Via", e.viaHeader)
	}
	h.Set("X-Amz-Cf-Id", rs.id)
	ip := rs.r.RemoteAddr
	if hst, _, err := net.SplitHostPort(ip); err == nil {
		ip = hst
	}
	if xff := rs.header.Get("X-Forwarded-For"); xff != "" {
		ip = xff + ", " + ip
	}
	h.Set("X-Forwarded-For", ip)
	for _, ch := range o.headers {
		h.Set(ch[0], ch[1])
	}
	if stale != nil && !stale.varyAll {
		if stale.etag != "" {
			h.Set("If-None-Match", stale.etag)
		}
		if stale.lastMod != "" {
			h.Set("If-Modified-Since", stale.lastMod)
		}
	}
	queryKeep := func(n string) bool {
		return b.cache.query.includes(n) || (b.originReq != nil && b.originReq.query.includes(n))
	}
	q := selectQuery(rs.query, queryKeep)
	req := &originRequest{method: rs.r.Method, url: o.originURL(rs.uri, q), host: host, header: h, body: rs.body}
	if o.oac != nil {
		if err := o.oac.sign(ctx, e.opts.Credentials, req.method, req.url, host, h, rs.body, e.opts.Now()); err != nil {
			return nil, fmt.Errorf("sign request for origin %s: %w", o.id, err)
		}
	}
	return req, nil
}
