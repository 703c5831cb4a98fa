package local

// This file is the fault switch: one listening HTTP server in front of any handler (an S3
// origin, a function-URL host) that can be told to fail the way a region fails — an error
// status, a refused or reset connection, a black hole, a slow or truncated answer — and healed.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Mode is a way for a server to fail.
type Mode string

// The fault modes.
const (
	Mode500       Mode = "500"       // answer 500 InternalError
	Mode502       Mode = "502"       // answer 502 BadGateway
	Mode503       Mode = "503"       // answer 503 SlowDown
	Mode504       Mode = "504"       // answer 504 GatewayTimeout
	Mode403       Mode = "403"       // answer 403 AccessDenied
	Mode404       Mode = "404"       // answer 404 NoSuchKey
	ModeRefuse    Mode = "refuse"    // close the listener: connections are refused
	ModeBlackhole Mode = "blackhole" // accept, read the request, never answer
	ModeSlow      Mode = "slow"      // wait Fault.Delay (default 3s), then answer normally
	ModeReset     Mode = "reset"     // read the request, then reset the TCP connection (SO_LINGER 0)
	ModeTruncate  Mode = "truncate"  // send status, headers and full Content-Length, then half the body, then close
)

// Modes lists every mode, in the order the CLI documents them.
var Modes = []Mode{Mode500, Mode502, Mode503, Mode504, Mode403, Mode404,
	ModeRefuse, ModeBlackhole, ModeSlow, ModeReset, ModeTruncate}

// DefaultSlowDelay is the delay of ModeSlow when Fault.Delay is zero.
const DefaultSlowDelay = 3 * time.Second

// ParseMode parses a mode name as the CLI accepts it.
func ParseMode(s string) (Mode, error) {
	for _, m := range Modes {
		if string(m) == strings.ToLower(strings.TrimSpace(s)) {
			return m, nil
		}
	}
	names := make([]string, len(Modes))
	for i, m := range Modes {
		names[i] = string(m)
	}
	return "", fmt.Errorf("unknown fault mode %q; want one of %s", s, strings.Join(names, ", "))
}

// statusFault is the status, S3 error code and message a status mode answers with.
var statusFault = map[Mode]struct {
	status        int
	code, message string
}{
	Mode500: {500, "InternalError", "We encountered an internal error. Please try again."},
	Mode502: {502, "BadGateway", "The server received an invalid response from an upstream server."},
	Mode503: {503, "SlowDown", "Please reduce your request rate."},
	Mode504: {504, "GatewayTimeout", "The server did not receive a timely response from an upstream server."},
	Mode403: {403, "AccessDenied", "Access Denied"},
	Mode404: {404, "NoSuchKey", "The specified key does not exist."},
}

// Fault is a fault to inject. Delay is used by ModeSlow only (zero means DefaultSlowDelay).
type Fault struct {
	Mode  Mode
	Delay time.Duration
}

// Server is one listening HTTP server with a fault switch in front of a handler. It is safe for
// concurrent use. The zero value is not usable; call Listen.
type Server struct {
	handler http.Handler
	addr    string // fixed at Listen: re-listening after ModeRefuse uses the same port
	srv     *http.Server
	done    chan struct{} // closed by Close: releases held (blackholed, slow) requests
	wg      sync.WaitGroup

	mu     sync.Mutex
	ln     net.Listener // nil while refusing
	conns  map[net.Conn]struct{}
	fault  Fault
	faulty bool
	closed bool
}

// Listen starts serving h on addr ("127.0.0.1:0" for a free port).
func Listen(addr string, h http.Handler) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	s := &Server{
		handler: h,
		addr:    ln.Addr().String(),
		done:    make(chan struct{}),
		ln:      ln,
		conns:   map[net.Conn]struct{}{},
	}
	s.srv = &http.Server{
		Handler:           http.HandlerFunc(s.serveHTTP),
		ReadHeaderTimeout: 30 * time.Second,
		ConnState:         s.connState,
		ErrorLog:          slog.NewLogLogger(slog.Default().Handler(), slog.LevelDebug),
	}
	s.serve(ln)
	return s, nil
}

func (s *Server) serve(ln net.Listener) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		_ = s.srv.Serve(ln) // returns when ln is closed (refuse, Close)
	}()
}

func (s *Server) connState(c net.Conn, st http.ConnState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch st {
	case http.StateNew:
		s.conns[c] = struct{}{}
	case http.StateHijacked, http.StateClosed:
		delete(s.conns, c)
	}
}

// Addr returns the host:port the server listens on.
func (s *Server) Addr() string { return s.addr }

// URL returns "http://" + Addr().
func (s *Server) URL() string { return "http://" + s.addr }

// Fault returns the current fault, if any.
func (s *Server) Fault() (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fault, s.faulty
}

// SetFault switches the fault on. ModeRefuse closes the listener and every open connection at
// once; any other mode applies to requests that arrive from now on.
func (s *Server) SetFault(f Fault) error {
	if _, err := ParseMode(string(f.Mode)); err != nil {
		return err
	}
	if f.Delay < 0 {
		return fmt.Errorf("fault delay %v is negative", f.Delay)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("fault server is closed")
	}
	if f.Mode == ModeRefuse {
		s.fault, s.faulty = f, true
		if s.ln != nil {
			s.ln.Close()
			s.ln = nil
		}
		// Pooled keep-alive connections would otherwise keep being answered.
		for c := range s.conns {
			c.Close()
		}
		return nil
	}
	if s.ln == nil {
		if err := s.relistenLocked(); err != nil {
			return err
		}
	}
	s.fault, s.faulty = f, true
	return nil
}

// Heal clears the fault. After ModeRefuse it listens again on the same port; should another
// process have taken the port meanwhile, it logs the error and keeps refusing.
func (s *Server) Heal() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	if s.ln == nil {
		if err := s.relistenLocked(); err != nil {
			slog.Error("fault server: heal: listen again", "addr", s.addr, "err", err)
			return
		}
	}
	s.fault, s.faulty = Fault{}, false
}

// relistenLocked listens on s.addr again, retrying briefly: the port was ours a moment ago.
func (s *Server) relistenLocked() error {
	var err error
	for i := 0; i < 20; i++ {
		var ln net.Listener
		if ln, err = net.Listen("tcp", s.addr); err == nil {
			s.ln = ln
			s.serve(ln)
			return nil
		}
		time.Sleep(time.Duration(i+1) * 5 * time.Millisecond)
	}
	return fmt.Errorf("listen again on %s: %w", s.addr, err)
}

// Close stops the server: the listener, every connection, and every held request. It waits
// for all of the server's goroutines to end.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.done)
	if s.ln != nil {
		s.ln.Close()
		s.ln = nil
	}
	s.mu.Unlock()
	err := s.srv.Close()
	if errors.Is(err, net.ErrClosed) {
		err = nil // the listener closed above is the one srv was serving
	}
	s.wg.Wait()
	return err
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		hijackClose(w, false)
		return
	}
	s.wg.Add(1) // under mu, so never after Close started waiting
	f, faulty := s.fault, s.faulty
	s.mu.Unlock()
	defer s.wg.Done()
	if !faulty {
		s.handler.ServeHTTP(w, r)
		return
	}
	if sf, ok := statusFault[f.Mode]; ok {
		writeFaultError(w, r, sf.status, sf.code, sf.message)
		return
	}
	switch f.Mode {
	case ModeRefuse:
		// A request that raced the switch on an already open connection: drop it.
		hijackClose(w, false)
	case ModeBlackhole:
		// Drain the body so net/http notices (and cancels the context) when the client leaves.
		_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 64<<20))
		s.hold(r.Context(), 0)
		hijackClose(w, false)
	case ModeSlow:
		d := f.Delay
		if d == 0 {
			d = DefaultSlowDelay
		}
		if !s.hold(r.Context(), d) {
			hijackClose(w, false)
			return
		}
		s.handler.ServeHTTP(w, r)
	case ModeReset:
		hijackClose(w, true)
	case ModeTruncate:
		s.truncate(w, r)
	}
}

// hold waits for d (forever if d is 0), until the client goes away or the server closes. It
// reports whether the whole wait elapsed.
func (s *Server) hold(ctx context.Context, d time.Duration) bool {
	var timer <-chan time.Time
	if d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		timer = t.C
	}
	select {
	case <-timer:
		return true
	case <-ctx.Done():
	case <-s.done:
	}
	return false
}

// hijackClose takes the connection from net/http and closes it; with reset, SO_LINGER 0 makes
// the close send a TCP RST instead of a FIN.
func hijackClose(w http.ResponseWriter, reset bool) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler) // net/http closes the connection without a response
	}
	c, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := c.(*net.TCPConn); ok && reset {
		_ = tc.SetLinger(0)
	}
	c.Close()
}

// truncate runs the real handler into a buffer, then sends its status, headers and full
// Content-Length, only the first half of the body, and closes the connection. A response
// with an empty body is sent whole: there is nothing to cut.
func (s *Server) truncate(w http.ResponseWriter, r *http.Request) {
	rec := &truncRecorder{header: http.Header{}}
	s.handler.ServeHTTP(rec, r)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	c, buf, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	defer c.Close()
	_ = c.SetWriteDeadline(time.Now().Add(30 * time.Second))
	body := rec.body.Bytes()
	h := rec.header.Clone()
	h.Del("Transfer-Encoding")
	h.Del("Connection")
	length := len(body)
	if r.Method == http.MethodHead {
		if cl := rec.header.Get("Content-Length"); cl != "" {
			length, _ = strconv.Atoi(cl)
		}
	}
	h.Set("Content-Length", strconv.Itoa(length))
	h.Set("Connection", "close")
	if h.Get("Date") == "" {
		h.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	}
	bw := bufio.NewWriter(c)
	fmt.Fprintf(bw, "HTTP/1.1 %d %s\r\n", rec.status, http.StatusText(rec.status))
	_ = h.Write(bw)
	bw.WriteString("\r\n")
	if r.Method != http.MethodHead {
		bw.Write(body[:len(body)/2])
	}
	_ = bw.Flush()
	_ = buf // the request was fully read by net/http; nothing is buffered for us
}

// truncRecorder is the minimal http.ResponseWriter ModeTruncate buffers the real response in.
type truncRecorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *truncRecorder) Header() http.Header { return r.header }

func (r *truncRecorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}

func (r *truncRecorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(p)
}

// writeFaultError answers an S3-style XML error, as an S3 origin in trouble does.
func writeFaultError(w http.ResponseWriter, r *http.Request, status int, code, message string) {
	id := newRequestID()
	h := w.Header()
	h.Set("Content-Type", "application/xml")
	h.Set("X-Amz-Request-Id", id)
	h.Set("Server", "AmazonS3")
	if status == http.StatusServiceUnavailable {
		h.Set("Retry-After", "1")
	}
	w.WriteHeader(status)
	if r.Method == http.MethodHead {
		return
	}
	fmt.Fprintf(w, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>%s</Code><Message>%s</Message><Resource>%s</Resource><RequestId>%s</RequestId></Error>",
		code, message, xmlEscape(r.URL.Path), id)
}
