package edge

import (
	"bufio"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Serve accepts viewer connections on l and serves them with a lean HTTP/1.1 server
// built for the edge's hot path; it returns when l is closed, after closing every
// connection it opened. It is an alternative to http.Server{Handler: e}, which works
// just as well. A plain GET or HEAD that is already fully buffered and hits a fresh
// cached object takes the cache-hit fast path (hitpath.go): a hand-written parser that
// accepts only a conservative subset of HTTP/1.1 (FuzzParseHitRequest holds it to
// net/http's reading) and a response head prepared once per cached entry, sent with the
// body in one writev, with no allocation per request. Every other request is parsed by
// net/http's own http.ReadRequest (so framing, limits and smuggling defences are
// net/http's) and served by ServeHTTP, its response written with one writev of headers
// and body and without net/http's per-request goroutine, context and buffering layers.
// Both give the same response (TestHitPathMatchesServeHTTP). HTTP/1.0 and 1.1 (TLS and
// HTTP/2 come from ServeViewers, viewertls.go, which hands this server its HTTP/1.1
// connections, in the clear or over TLS), keep-alive, pipelining in order,
// chunked responses when no Content-Length is known. Idle connections close after
// IdleTimeout (default 120 s, refreshed at most once a second); request headers must
// arrive within 10 s.
func (e *Edge) Serve(l net.Listener) error {
	return (&leanServer{e: e, conns: map[net.Conn]struct{}{}}).serve(l)
}

func (s *leanServer) serve(l net.Listener) error {
	defer s.closeAll()
	for {
		c, err := l.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(5 * time.Millisecond)
				continue
			}
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		if !s.track(c) {
			c.Close()
			return nil
		}
		go s.serveConn(c)
	}
}

const (
	leanIdleTimeout   = 120 * time.Second
	leanHeaderTimeout = 10 * time.Second
	leanMaxDrain      = 256 << 10
)

// leanMaxHeader bounds a request's line and headers (CloudFront's own limit is 20,480
// bytes, answered with 413 by ServeHTTP; this is the parser's hard stop).
const leanMaxHeader = 64 << 10

// budgetReader reads at most n bytes while n ≥ 0; n < 0 means no limit.
type budgetReader struct {
	r         io.Reader
	n         int64
	exhausted bool
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
	return n, err
}

type leanServer struct {
	e *Edge
	// noHit turns the cache-hit fast path off and onHit observes it (tests).
	noHit  bool
	onHit  func()
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
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
	w := &leanWriter{conn: c, header: make(http.Header, 24), buf: make([]byte, 0, 1024)}
	var idleUntil time.Time // the read deadline while waiting for a request
	var hr hitRequest
	for {
		if br.Buffered() == 0 {
			// Moving a deadline costs a timer update; for an idle timeout of two minutes,
			// one update a second is precise enough.
			if now := time.Now(); idleUntil.Sub(now) < leanIdleTimeout-time.Second {
				idleUntil = now.Add(leanIdleTimeout)
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
		c.SetReadDeadline(time.Now().Add(leanHeaderTimeout))
		idleUntil = time.Time{}
		lr.n = leanMaxHeader
		req, err := http.ReadRequest(br)
		lr.n = -1
		if err != nil {
			if lr.exhausted {
				io.WriteString(c, "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n431 Request Header Fields Too Large")
				return
			}
			if !errors.Is(err, io.EOF) {
				io.WriteString(c, "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n400 Bad Request")
			}
			return
		}
		c.SetReadDeadline(time.Time{})
		req.RemoteAddr = remote
		req.TLS = tlsState
		if req.Header.Get("Expect") == "100-continue" && req.ProtoAtLeast(1, 1) {
			io.WriteString(c, "HTTP/1.1 100 Continue\r\n\r\n")
		}
		w.reset(req)
		if !s.handle(w, req) {
			return
		}
		if req.Body != nil {
			// Keep the connection only if the unread rest of the body is small.
			n, _ := io.CopyN(io.Discard, req.Body, leanMaxDrain+1)
			req.Body.Close()
			if n > leanMaxDrain {
				return
			}
		}
		if w.err != nil || w.closeAfter || req.Close {
			return
		}
	}
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
	vec        [2][]byte // writeHit's iovecs
	conn       net.Conn
	req        *http.Request
	header     http.Header
	buf        []byte
	status     int
	wroteHdr   bool
	chunked    bool
	noBody     bool
	closeAfter bool
	err        error
}

var _ http.ResponseWriter = (*leanWriter)(nil)
var _ http.Flusher = (*leanWriter)(nil)

func (w *leanWriter) reset(req *http.Request) {
	clear(w.header)
	w.req, w.status, w.wroteHdr, w.chunked, w.noBody, w.closeAfter, w.err = req, 0, false, false, false, false, nil
}

func (w *leanWriter) Header() http.Header { return w.header }

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
