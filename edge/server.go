package edge

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http/httpguts"
)

// Serve accepts viewer connections on l and serves them with a lean HTTP/1.1 server
// built for the edge's hot path; it returns when l is closed, after closing every
// connection it opened. It is an alternative to http.Server{Handler: e}, which works
// just as well. A plain GET or HEAD that is already fully buffered and hits a fresh
// cached object takes the cache-hit fast path (hitpath.go): a hand-written parser that
// accepts only a conservative subset of HTTP/1.1 (FuzzParseHitRequest holds it to
// net/http's server) and a response head prepared once per cached entry, sent with the
// body in one writev, with no allocation per request. Every other request is parsed by
// net/http's http.ReadRequest and then held to the checks net/http's server adds on top
// of it (checkRequest: http.ReadRequest alone lets through a missing or malformed Host
// and invalid header names such as "Transfer-Encoding " that would desynchronise
// framing), and served by ServeHTTP, its response written with one writev of headers
// and body and without net/http's per-request goroutine, context and buffering layers.
// FuzzLeanServerVsNetHTTP sends the same bytes to this server and to net/http's and
// requires this one never to accept what net/http's refuses. Both paths give the same
// response (TestHitPathMatchesServeHTTP). HTTP/1.0 and 1.1 (TLS and HTTP/2 come from
// ServeViewers, viewertls.go, which hands this server its HTTP/1.1 connections, in the
// clear or over TLS), keep-alive, pipelining in order, chunked responses when no
// Content-Length is known.
//
// Deadlines (leanTimeouts, where CloudFront's own documented limits stand beside them;
// README "Edge deadlines"): request headers must arrive within 10 s; a request body must
// keep arriving (no read waits more than 30 s) and be complete within 5 min; each write
// of a response must complete within 30 s, so a viewer that stops reading (a pipelining
// client that never reads its answers) is dropped; an idle keep-alive connection closes
// after 120 s (refreshed at most once a second). Accept errors (EMFILE when out of
// descriptors) never stop the server: it backs off from 5 ms doubling to 1 s as net/http
// does, logs, and reports the trouble in ServeTrouble until accepting works.
func (e *Edge) Serve(l net.Listener) error {
	return (&leanServer{e: e, conns: map[net.Conn]struct{}{}}).serve(l)
}

// leanTimeouts are the lean server's deadlines; zero fields take the defaults below.
type leanTimeouts struct {
	header    time.Duration // request line and headers, from their first byte
	bodyRead  time.Duration // longest wait for the next bytes of a request body
	bodyTotal time.Duration // a whole request body, from the end of its headers
	write     time.Duration // one write of a response
	idle      time.Duration // between requests on a keep-alive connection
}

// Defaults. CloudFront documents no viewer-side idle or body timeout; its documented
// limits are a request head of at most 20,480 bytes (Quotas, "Maximum length of a
// request"), "Request timeout: 30 sec" in its Service Quotas table, and 30 s as the
// origin response timeout (between packets). The 30 s here follow those; the 5 min for a
// whole body lets the largest body the edge takes (MaxRequestBody, 32 MiB) arrive at
// about 1 Mbit/s.
var defaultLeanTimeouts = leanTimeouts{
	header:    10 * time.Second,
	bodyRead:  30 * time.Second,
	bodyTotal: 5 * time.Minute,
	write:     30 * time.Second,
	idle:      120 * time.Second,
}

func (t *leanTimeouts) fill() {
	d := defaultLeanTimeouts
	for _, f := range []struct {
		v   *time.Duration
		def time.Duration
	}{
		{&t.header, d.header}, {&t.bodyRead, d.bodyRead}, {&t.bodyTotal, d.bodyTotal}, {&t.write, d.write}, {&t.idle, d.idle},
	} {
		if *f.v <= 0 {
			*f.v = f.def
		}
	}
}

func (s *leanServer) serve(l net.Listener) error {
	defer s.closeAll()
	var delay time.Duration // the back-off after an Accept error
	for {
		c, err := l.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) || s.isClosed() {
				return nil
			}
			// net/http's Server.Serve backs off the same way on temporary errors; here every
			// error but a closed listener is retried, so the edge never stops accepting.
			delay = max(5*time.Millisecond, min(2*delay, time.Second))
			s.e.serving.acceptFailed(s.e.log, err, delay)
			time.Sleep(delay)
			continue
		}
		if delay != 0 {
			delay = 0
			s.e.serving.acceptWorks(s.e.log)
		}
		if !s.track(c) {
			c.Close()
			return nil
		}
		go s.serveConn(c)
	}
}

// serveHealth is what the edge's listener has been through, for status.
type serveHealth struct {
	mu     sync.Mutex
	since  time.Time // the first Accept error of the current trouble; zero when none
	last   error
	count  int
	logged time.Time
}

func (h *serveHealth) acceptFailed(log *slog.Logger, err error, delay time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := time.Now()
	if h.since.IsZero() {
		h.since = now
	}
	h.last = err
	h.count++
	// One line when the trouble starts, then one every 30 s while it lasts.
	if h.count == 1 || now.Sub(h.logged) >= 30*time.Second {
		h.logged = now
		log.Error("edge: accepting viewer connections fails; retrying", "err", err, "failures", h.count, "retryIn", delay)
	}
}

func (h *serveHealth) acceptWorks(log *slog.Logger) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.count > 0 {
		log.Info("edge: accepting viewer connections again", "failures", h.count, "after", time.Since(h.since).Round(time.Millisecond))
	}
	h.since, h.last, h.count = time.Time{}, nil, 0
}

// ServeTrouble describes why Serve cannot accept viewer connections right now, in one
// line, or returns "" when it can.
func (e *Edge) ServeTrouble() string {
	h := &e.serving
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.count == 0 {
		return ""
	}
	return fmt.Sprintf("accepting viewer connections fails since %s (%d times, retrying): %v",
		h.since.UTC().Format(time.RFC3339), h.count, h.last)
}

const leanMaxDrain = 256 << 10

// leanMaxHeader bounds a request's line and headers (CloudFront's own limit is 20,480
// bytes, answered with 413 by ServeHTTP; this is the parser's hard stop).
const leanMaxHeader = 64 << 10

// budgetReader reads at most n bytes while n ≥ 0; n < 0 means no limit. While rec, it
// keeps a copy of what it reads in recorded.
type budgetReader struct {
	r         io.Reader
	n         int64
	exhausted bool
	rec       bool
	recorded  []byte
}

func (b *budgetReader) Read(p []byte) (int, error) {
	if b.n == 0 {
		b.exhausted = true
		return 0, errors.New("request header too large")
	}
	if b.n > 0 && int64(len(p)) > b.n {
		p = p[:b.n]
	}
	n, err := b.r.Read(p)
	if b.n > 0 {
		b.n -= int64(n)
	}
	if b.rec {
		b.recorded = append(b.recorded, p[:n]...)
	}
	return n, err
}

type leanServer struct {
	e *Edge
	t leanTimeouts
	// noHit turns the cache-hit fast path off and onHit observes it (tests).
	noHit     bool
	onHit     func()
	onRequest func(*http.Request) // sees each request handed to ServeHTTP (tests)
	mu        sync.Mutex
	conns     map[net.Conn]struct{}
	closed    bool
	wg        sync.WaitGroup
}

func (s *leanServer) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	return true
}

func (s *leanServer) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

func (s *leanServer) untrack(c net.Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	s.wg.Done()
}

func (s *leanServer) closeAll() {
	s.mu.Lock()
	s.closed = true
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

var readerPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 8<<10) }}

func (s *leanServer) serveConn(c net.Conn) {
	defer s.untrack(c)
	defer c.Close()
	t := s.t
	t.fill()
	// Request headers are read through a budget, as http.Server's MaxHeaderBytes does,
	// so a viewer cannot make the edge buffer an endless header block.
	lr := &budgetReader{r: c, n: -1}
	br := readerPool.Get().(*bufio.Reader)
	br.Reset(lr)
	defer func() { br.Reset(nil); readerPool.Put(br) }()
	remote := c.RemoteAddr().String()
	// Over TLS (ServeViewers), requests carry the connection state as net/http's do, so
	// viewer protocol policies and logs see HTTPS.
	var tlsState *tls.ConnectionState
	if tc, ok := c.(*tls.Conn); ok {
		st := tc.ConnectionState()
		tlsState = &st
	}
	w := &leanWriter{conn: c, header: make(http.Header, 24), buf: make([]byte, 0, 1024), writeTimeout: t.write}
	var idleUntil time.Time // the read deadline while waiting for a request
	var hr hitRequest
	for {
		if br.Buffered() == 0 {
			// Moving a deadline costs a timer update; for an idle timeout of two minutes,
			// one update a second is precise enough.
			if now := time.Now(); idleUntil.Sub(now) < t.idle-time.Second {
				idleUntil = now.Add(t.idle)
				c.SetReadDeadline(idleUntil)
			}
			if _, err := br.Peek(1); err != nil {
				return
			}
		}
		// The fast path: a complete, plain GET or HEAD already buffered that hits the
		// cache. Everything else is read by net/http's parser below.
		if n := parseHitRequest(peekBuffered(br), &hr); n > 0 && !s.noHit {
			hr.https = tlsState != nil
			if head, body, ok := s.serveHit(&hr, w.buf[:0]); ok {
				if s.onHit != nil {
					s.onHit()
				}
				br.Discard(n)
				w.buf = head
				if !w.writeHit(head, body) || hr.close {
					return
				}
				continue
			}
		}
		c.SetReadDeadline(time.Now().Add(t.header))
		idleUntil = time.Time{}
		lr.n = leanMaxHeader
		// http.ReadRequest drops the Host header, keeping req.Host, which for an absolute-form
		// target is the URL's host: then the header block is kept to see the Host lines.
		var pre []byte
		if lr.rec = !originForm(peekBuffered(br)); lr.rec {
			pre = append([]byte(nil), peekBuffered(br)...)
		}
		req, err := http.ReadRequest(br)
		lr.n = -1
		if err == nil {
			hosts := []string{req.Host}
			if lr.rec {
				head := append(pre, lr.recorded...)
				hosts = headerHosts(head[:len(head)-br.Buffered()])
			} else if req.Host == "" {
				// No Host, or an empty one, refused too: "A sender MUST NOT generate an
				// "http" URI with an empty host identifier. A recipient that processes such a
				// URI reference MUST reject it as invalid" (RFC 9110 §4.2.1).
				hosts = nil
			}
			err = checkRequest(req, hosts)
		}
		lr.rec, lr.recorded = false, lr.recorded[:0]
		if err != nil {
			switch {
			case lr.exhausted:
				w.writeRaw("HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n431 Request Header Fields Too Large")
			case errors.Is(err, errHTTPVersion):
				w.writeRaw("HTTP/1.1 505 HTTP Version Not Supported\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n505 HTTP Version Not Supported")
			case unsupportedTE(err):
				w.writeRaw("HTTP/1.1 501 Not Implemented\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n501 Not Implemented")
			case errors.Is(err, errExpectation):
				w.writeRaw("HTTP/1.1 417 Expectation Failed\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n417 Expectation Failed")
			case !errors.Is(err, io.EOF):
				w.writeRaw("HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n400 Bad Request")
			}
			return
		}
		req.RemoteAddr = remote
		req.TLS = tlsState
		if req.Body != http.NoBody {
			// The body is read under its own deadlines; without them a POST that declares
			// more than it sends holds the connection and its buffer for ever.
			req.Body = &deadlineBody{rc: req.Body, c: c, idle: t.bodyRead, end: time.Now().Add(t.bodyTotal)}
		} else {
			c.SetReadDeadline(time.Time{})
		}
		if s.onRequest != nil {
			s.onRequest(req)
		}
		if expectsContinue(req) && req.ProtoAtLeast(1, 1) {
			w.writeRaw("HTTP/1.1 100 Continue\r\n\r\n")
		}
		w.reset(req)
		if !s.handle(w, req) {
			return
		}
		if req.Body != http.NoBody {
			// Keep the connection only if the unread rest of the body is small.
			n, err := io.CopyN(io.Discard, req.Body, leanMaxDrain+1)
			req.Body.Close()
			if n > leanMaxDrain || err != nil && err != io.EOF {
				return
			}
		}
		if w.err != nil || w.closeAfter || req.Close {
			return
		}
	}
}

// deadlineBody is a request body whose every Read must complete within idle and before end.
type deadlineBody struct {
	rc   io.ReadCloser
	c    net.Conn
	idle time.Duration
	end  time.Time
	set  time.Time // the read deadline in force
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	// As for the idle deadline, move it at most once a second.
	now := time.Now()
	if b.set.Sub(now) < b.idle-time.Second || b.set.After(b.end) {
		b.set = now.Add(b.idle)
		if b.set.After(b.end) {
			b.set = b.end
		}
		b.c.SetReadDeadline(b.set)
	}
	return b.rc.Read(p)
}

func (b *deadlineBody) Close() error { return b.rc.Close() }

// Errors of checkRequest that are not a plain 400.
var (
	errHTTPVersion = errors.New("unsupported protocol version")
	errExpectation = errors.New("unsupported Expect")
)

// checkRequest holds a request read by http.ReadRequest to what net/http's server checks
// on top of it (net/http/server.go, conn.readRequest and conn.serve), so the lean server
// never takes what http.Server refuses:
//   - HTTP/1.x only (505), as http1ServerSupportsRequest;
//   - HTTP/1.1 needs a Host header (RFC 9112 §3.2: "A server MUST respond with a 400 (Bad
//     Request) status code to any HTTP/1.1 request message that lacks a Host header field"),
//     and a Host must be a valid one (httpguts.ValidHostHeader: "Host: a b" is not);
//     http.ReadRequest itself refuses a repeated Host;
//   - every header name a token and every value free of control characters: a name with
//     a space before the colon ("Transfer-Encoding : chunked") is kept by the MIME reader
//     under a name no framing code looks at, so the body would be read as the next
//     request (RFC 9112 §5.1: "A server MUST reject, with a response status code of 400
//     (Bad Request), any received request message that contains whitespace between a
//     header field name and colon");
//   - an Expect other than 100-continue gets 417.
//
// A Content-Length beside a chunked Transfer-Encoding, a repeated or unknown
// Transfer-Encoding and conflicting Content-Lengths are refused, or the Content-Length
// dropped, by http.ReadRequest itself (transfer.go), as for http.Server.
//
// hosts are the values of the request's Host header lines.
func checkRequest(req *http.Request, hosts []string) error {
	if req.ProtoMajor != 1 {
		return errHTTPVersion
	}
	if req.ProtoAtLeast(1, 1) && len(hosts) == 0 && req.Method != http.MethodConnect {
		return errors.New("missing required Host header")
	}
	if len(hosts) == 1 && !httpguts.ValidHostHeader(hosts[0]) {
		return errors.New("malformed Host header")
	}
	for k, vv := range req.Header {
		if !httpguts.ValidHeaderFieldName(k) {
			return errors.New("invalid header name")
		}
		for _, v := range vv {
			if !httpguts.ValidHeaderFieldValue(v) {
				return errors.New("invalid header value")
			}
		}
	}
	if firstHeader(req.Header, "Expect") != "" && !expectsContinue(req) {
		return errExpectation
	}
	return nil
}

// unsupportedTE: http.ReadRequest refused the Transfer-Encoding, which http.Server answers
// 501 (its error type, unsupportedTEError, is not exported; its two messages are these).
func unsupportedTE(err error) bool {
	m := err.Error()
	return strings.HasPrefix(m, "unsupported transfer encoding") || strings.HasPrefix(m, "too many transfer encodings")
}

// originForm reports whether the request line at the start of b has an origin-form or
// asterisk-form target ("GET /x HTTP/1.1"): http.ReadRequest's req.Host is then the Host
// header's value. False when b does not yet hold that much.
func originForm(b []byte) bool {
	sp := bytes.IndexByte(b, ' ')
	return sp > 0 && sp+1 < len(b) && (b[sp+1] == '/' || b[sp+1] == '*')
}

// headerHosts returns the Host values of a request head (request line, header lines and
// the blank line), read by net/textproto as http.ReadRequest reads them.
func headerHosts(head []byte) []string {
	_, rest, ok := bytes.Cut(head, []byte("\n"))
	if !ok {
		return nil
	}
	h, err := textproto.NewReader(bufio.NewReader(bytes.NewReader(rest))).ReadMIMEHeader()
	if err != nil {
		return nil
	}
	return h["Host"]
}

// expectsContinue: the first Expect lists the token 100-continue, as net/http's
// Request.expectsContinue (hasToken on Header.get) decides.
func expectsContinue(req *http.Request) bool {
	v, tok := firstHeader(req.Header, "Expect"), "100-continue"
	for i := 0; i+len(tok) <= len(v); i++ {
		end := i + len(tok)
		if (i == 0 || tokenBoundary(v[i-1])) && (end == len(v) || tokenBoundary(v[end])) && strings.EqualFold(v[i:end], tok) {
			return true
		}
	}
	return false
}

func tokenBoundary(b byte) bool { return b == ' ' || b == ',' || b == '\t' }

func firstHeader(h http.Header, name string) string {
	if v := h[name]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// peekBuffered returns the bytes br holds without reading more.
func peekBuffered(br *bufio.Reader) []byte {
	b, _ := br.Peek(br.Buffered())
	return b
}

// serveHit runs the cache-hit fast path, with handle's panic policy.
func (s *leanServer) serveHit(hr *hitRequest, buf []byte) (head, body []byte, ok bool) {
	defer func() {
		if p := recover(); p != nil {
			s.e.log.Error("panic serving viewer request", "panic", p)
			head, body, ok = nil, nil, false
		}
	}()
	return s.e.serveHit(hr, buf)
}

// handle runs the edge and completes the response; false means the connection must go.
func (s *leanServer) handle(w *leanWriter, req *http.Request) (ok bool) {
	defer func() {
		if p := recover(); p != nil {
			if p != http.ErrAbortHandler {
				s.e.log.Error("panic serving viewer request", "panic", p)
			}
			ok = false
		}
	}()
	s.e.ServeHTTP(w, req)
	w.finish()
	return true
}

// writeHit sends a fast-path response in one writev; false means the connection broke.
func (w *leanWriter) writeHit(head, body []byte) bool {
	w.armWrite()
	if len(body) == 0 {
		_, err := w.conn.Write(head)
		return err == nil
	}
	w.vec[0], w.vec[1] = head, body
	bufs := net.Buffers(w.vec[:])
	_, err := bufs.WriteTo(w.conn)
	w.vec[0], w.vec[1] = nil, nil
	return err == nil
}

// leanWriter is the http.ResponseWriter of Serve.
type leanWriter struct {
	vec  [2][]byte // writeHit's iovecs
	conn net.Conn
	// writeTimeout bounds each write to conn; writeUntil is the deadline in force.
	writeTimeout time.Duration
	writeUntil   time.Time
	req          *http.Request
	header       http.Header
	buf          []byte
	status       int
	wroteHdr     bool
	chunked      bool
	noBody       bool
	closeAfter   bool
	err          error
}

var _ http.ResponseWriter = (*leanWriter)(nil)
var _ http.Flusher = (*leanWriter)(nil)

func (w *leanWriter) reset(req *http.Request) {
	clear(w.header)
	w.req, w.status, w.wroteHdr, w.chunked, w.noBody, w.closeAfter, w.err = req, 0, false, false, false, false, nil
}

func (w *leanWriter) Header() http.Header { return w.header }

// armWrite gives the next write at least writeTimeout - 1 s: a viewer that stops reading
// blocks a write, which then fails, and the connection is dropped. Like the idle deadline,
// it moves at most once a second (a timer update per response would show on cache hits).
func (w *leanWriter) armWrite() {
	if w.writeTimeout <= 0 {
		return
	}
	if now := time.Now(); w.writeUntil.Sub(now) < w.writeTimeout-time.Second {
		w.writeUntil = now.Add(w.writeTimeout)
		w.conn.SetWriteDeadline(w.writeUntil)
	}
}

// writeRaw sends a fixed response (an error, 100 Continue) under the write deadline.
func (w *leanWriter) writeRaw(s string) {
	w.armWrite()
	io.WriteString(w.conn, s)
}

func (w *leanWriter) WriteHeader(code int) {
	if w.wroteHdr || w.status != 0 || code < 100 || code > 999 {
		return
	}
	w.status = code
}

func (w *leanWriter) Flush() {
	if !w.wroteHdr {
		w.writeHeader(nil)
	}
}

func (w *leanWriter) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	if !w.wroteHdr {
		return len(p), w.writeHeader(p)
	}
	if w.noBody || len(p) == 0 {
		return len(p), nil
	}
	w.armWrite()
	if w.chunked {
		w.buf = strconv.AppendInt(w.buf[:0], int64(len(p)), 16)
		w.buf = append(w.buf, '\r', '\n')
		bufs := net.Buffers{w.buf, p, crlf}
		_, w.err = bufs.WriteTo(w.conn)
		return len(p), w.err
	}
	_, w.err = w.conn.Write(p)
	return len(p), w.err
}

var crlf = []byte("\r\n")

// writeHeader sends the status line and headers, and body (the first body bytes) with
// them in a single writev.
func (w *leanWriter) writeHeader(body []byte) error {
	w.wroteHdr = true
	if w.status == 0 {
		w.status = http.StatusOK
	}
	h := w.header
	w.noBody = w.req.Method == http.MethodHead || w.status < 200 || w.status == http.StatusNoContent || w.status == http.StatusNotModified
	_, hasCL := h["Content-Length"]
	if !hasCL && !w.noBody {
		if w.req.ProtoAtLeast(1, 1) {
			w.chunked = true
		} else {
			w.closeAfter = true // HTTP/1.0: the body ends with the connection
		}
	}
	if hasCL && w.noBody && w.req.Method != http.MethodHead {
		delete(h, "Content-Length")
	}
	if v := h["Connection"]; len(v) > 0 && v[0] == "close" {
		w.closeAfter = true
	}
	if w.req.Close {
		w.closeAfter = true
	}
	b := w.buf[:0]
	if w.req.ProtoAtLeast(1, 1) {
		b = append(b, "HTTP/1.1 "...)
	} else {
		b = append(b, "HTTP/1.0 "...)
	}
	b = strconv.AppendInt(b, int64(w.status), 10)
	b = append(b, ' ')
	b = append(b, http.StatusText(w.status)...)
	b = append(b, '\r', '\n')
	for k, vs := range h {
		if !validHeaderName(k) {
			continue
		}
		for _, v := range vs {
			b = append(b, k...)
			b = append(b, ':', ' ')
			b = appendHeaderValue(b, v)
			b = append(b, '\r', '\n')
		}
	}
	if _, ok := h["Date"]; !ok {
		b = append(b, "Date: "...)
		b = append(b, httpDate()...)
		b = append(b, '\r', '\n')
	}
	if w.chunked {
		b = append(b, "Transfer-Encoding: chunked\r\n"...)
	}
	if w.closeAfter && w.req.ProtoAtLeast(1, 1) {
		if _, ok := h["Connection"]; !ok {
			b = append(b, "Connection: close\r\n"...)
		}
	} else if !w.closeAfter && !w.req.ProtoAtLeast(1, 1) {
		b = append(b, "Connection: keep-alive\r\n"...)
	}
	b = append(b, '\r', '\n')
	w.buf = b
	w.armWrite()
	if w.noBody || len(body) == 0 {
		_, w.err = w.conn.Write(b)
		return w.err
	}
	if w.chunked {
		size := strconv.AppendInt(nil, int64(len(body)), 16)
		size = append(size, '\r', '\n')
		bufs := net.Buffers{b, size, body, crlf}
		_, w.err = bufs.WriteTo(w.conn)
		return w.err
	}
	bufs := net.Buffers{b, body}
	_, w.err = bufs.WriteTo(w.conn)
	return w.err
}

// finish completes the response after the handler returned.
func (w *leanWriter) finish() {
	if !w.wroteHdr {
		if _, ok := w.header["Content-Length"]; !ok && w.status != http.StatusNotModified && w.status != http.StatusNoContent {
			w.header["Content-Length"] = zeroLength
		}
		w.writeHeader(nil)
	}
	if w.chunked && w.err == nil {
		w.armWrite()
		_, w.err = io.WriteString(w.conn, "0\r\n\r\n")
	}
}

var zeroLength = []string{"0"}

// validHeaderName: RFC 9110 token characters only.
func validHeaderName(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if c <= ' ' || c >= 0x7f || c == ':' || c == '(' || c == ')' || c == ',' || c == '/' || c == ';' ||
			c == '<' || c == '=' || c == '>' || c == '?' || c == '@' || c == '[' || c == '\\' || c == ']' ||
			c == '{' || c == '}' || c == '"' {
			return false
		}
	}
	return true
}

// appendHeaderValue appends v with CR and LF replaced by spaces, as net/http does,
// so no value can split the response.
func appendHeaderValue(b []byte, v string) []byte {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == '\r' || c == '\n' {
			c = ' '
		}
		b = append(b, c)
	}
	return b
}

type dateValue struct {
	sec int64
	s   string
}

var dateCache atomic.Pointer[dateValue]

// httpDate returns the Date header value, formatted at most once a second.
func httpDate() string {
	now := time.Now()
	if d := dateCache.Load(); d != nil && d.sec == now.Unix() {
		return d.s
	}
	d := &dateValue{sec: now.Unix(), s: now.UTC().Format(http.TimeFormat)}
	dateCache.Store(d)
	return d.s
}

// parseHitRequest parses a request head at the start of buf for the cache-hit fast
// path and returns its length, or 0 when the request is not a candidate: incomplete,
// not a plain GET or HEAD over HTTP/1.1, carrying a body, a condition other than
// If-None-Match, a Range, an Expect or Connection options, or anything net/http's parser
// might judge differently (bare LF, obs-fold, characters outside a conservative set, a
// missing or repeated Host). Those go through http.ReadRequest, which also answers malformed requests.
func parseHitRequest(buf []byte, hr *hitRequest) int {
	*hr = hitRequest{}
	// Request line: GET|HEAD SP origin-form SP HTTP/1.1 CRLF.
	var i int
	switch {
	case len(buf) > 4 && string(buf[:4]) == "GET ":
		i = 4
	case len(buf) > 5 && string(buf[:5]) == "HEAD ":
		i, hr.head = 5, true
	default:
		return 0
	}
	start := i
	if i >= len(buf) || buf[i] != '/' {
		return 0
	}
	pathEnd := -1
	for ; i < len(buf) && buf[i] != ' '; i++ {
		c := buf[i]
		if c == '?' && pathEnd < 0 {
			pathEnd = i
			continue
		}
		if pathEnd < 0 && !pathByte(c) || pathEnd >= 0 && (c <= ' ' || c >= 0x7f) {
			return 0
		}
	}
	if pathEnd < 0 {
		pathEnd = i
	}
	if len(buf)-i < len(" HTTP/1.1\r\n") || string(buf[i:i+len(" HTTP/1.1\r\n")]) != " HTTP/1.1\r\n" {
		return 0
	}
	hr.path = string(buf[start:pathEnd])
	i += len(" HTTP/1.1\r\n")
	hosts := 0
	for n := 0; ; n++ {
		if n > 100 {
			return 0
		}
		if i+1 < len(buf) && buf[i] == '\r' && buf[i+1] == '\n' {
			if hosts != 1 || hr.ifModifiedSince && hr.ifNoneMatch == "" {
				return 0
			}
			return i + 2
		}
		// name ":" OWS value OWS CRLF
		ns := i
		for i < len(buf) && buf[i] != ':' {
			if !tokenByte(buf[i]) {
				return 0 // also bare LF, obs-fold and an unterminated head
			}
			i++
		}
		if i == ns || i >= len(buf) {
			return 0
		}
		name := buf[ns:i]
		i++
		for i < len(buf) && (buf[i] == ' ' || buf[i] == '\t') {
			i++
		}
		vs := i
		for i < len(buf) && buf[i] != '\r' {
			if c := buf[i]; c < ' ' && c != '\t' || c == 0x7f {
				return 0
			}
			i++
		}
		if i+1 >= len(buf) || buf[i+1] != '\n' {
			return 0
		}
		ve := i
		for ve > vs && (buf[ve-1] == ' ' || buf[ve-1] == '\t') {
			ve--
		}
		value := buf[vs:ve]
		i += 2
		switch len(name) {
		case 4:
			if asciiEqualFold(name, "host") {
				hosts++
				if len(value) == 0 {
					return 0 // the full path refuses it (checkRequest)
				}
				for _, c := range value {
					if !hostByte(c) {
						return 0
					}
				}
			}
		case 5:
			if asciiEqualFold(name, "range") {
				return 0
			}
		case 6:
			if asciiEqualFold(name, "origin") {
				hr.origin = true
			} else if asciiEqualFold(name, "expect") {
				return 0
			}
		case 7:
			if asciiEqualFold(name, "upgrade") {
				return 0
			}
		case 8:
			if asciiEqualFold(name, "if-range") || asciiEqualFold(name, "if-match") {
				return 0
			}
		case 10:
			if asciiEqualFold(name, "connection") {
				switch {
				case asciiEqualFold(value, "close"):
					hr.close = true
				case asciiEqualFold(value, "keep-alive"):
				default:
					return 0
				}
			}
		case 13:
			if asciiEqualFold(name, "if-none-match") {
				// One non-empty If-None-Match is answered here; with it, If-Modified-Since
				// is ignored (RFC 9110 §13.1.3), as ServeHTTP does.
				if hr.ifNoneMatch != "" || len(value) == 0 {
					return 0
				}
				hr.ifNoneMatch = string(value)
			}
		case 14:
			if asciiEqualFold(name, "content-length") {
				return 0
			}
		case 15:
			if asciiEqualFold(name, "accept-encoding") {
				if hr.acceptEncoding != "" || len(value) == 0 {
					return 0
				}
				hr.acceptEncoding = string(value)
			}
		case 17:
			if asciiEqualFold(name, "if-modified-since") {
				hr.ifModifiedSince = true
			} else if asciiEqualFold(name, "transfer-encoding") {
				return 0
			}
		case 19:
			if asciiEqualFold(name, "if-unmodified-since") {
				return 0
			}
		}
	}
}

// pathByte: characters a path may hold and url.URL.EscapedPath keeps as they are
// (no '%': escaped paths go to the full parser and normalisation).
func pathByte(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '-', '_', '.', '~', '$', '&', '+', ',', '/', ':', ';', '=', '@':
		return true
	}
	return false
}

// hostByte: a conservative subset of what httpguts.ValidHostHeader accepts.
func hostByte(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '-', '.', ':', '[', ']', '_':
		return true
	}
	return false
}

// tokenByte: RFC 9110 tchar.
func tokenByte(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
		return true
	}
	return false
}

// asciiEqualFold compares b with a lower-case ASCII string, ignoring case.
func asciiEqualFold(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}
