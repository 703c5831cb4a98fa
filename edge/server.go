package edge

import (
	"bufio"
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
// just as well: requests are parsed by net/http's own http.ReadRequest (so framing,
// limits and smuggling defences are net/http's), but a response is written with one
// writev of headers and body and without net/http's per-request goroutine, context and
// buffering layers, which roughly halves the per-hit cost. HTTP/1.0 and 1.1 only (no
// TLS, no HTTP/2: the local edge speaks plain HTTP), keep-alive, pipelining in order,
// chunked responses when no Content-Length is known. Idle connections close after
// IdleTimeout (default 120 s); request headers must arrive within 10 s.
func (e *Edge) Serve(l net.Listener) error {
	s := &leanServer{e: e, conns: map[net.Conn]struct{}{}}
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
	e      *Edge
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
	w := &leanWriter{conn: c, header: make(http.Header, 24), buf: make([]byte, 0, 1024)}
	for {
		if br.Buffered() == 0 {
			c.SetReadDeadline(time.Now().Add(leanIdleTimeout))
			if _, err := br.Peek(1); err != nil {
				return
			}
		}
		c.SetReadDeadline(time.Now().Add(leanHeaderTimeout))
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

// leanWriter is the http.ResponseWriter of Serve.
type leanWriter struct {
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
