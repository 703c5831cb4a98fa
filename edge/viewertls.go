package edge

// This file is the viewer side of HTTPS: CloudFront terminates TLS for viewers and
// negotiates HTTP/2 by ALPN when the distribution's HttpVersion allows it (Developer Guide,
// "Supported protocols and ciphers between viewers and CloudFront"; DistributionConfig
// HttpVersion: http1.1, http2, http3, http2and3). ServeViewers serves plain HTTP and HTTPS
// on one listener: a connection whose first byte starts a TLS handshake record (0x16) is
// TLS, anything else plain HTTP/1.1. One port for both keeps CloudFront's redirect-to-https
// ("https://" + the same Host) pointing at a listener that answers.

import (
	"bufio"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
	"golang.org/x/net/http2"
)

// viewerHandshakeTimeout bounds the first byte and the TLS handshake of a new connection.
// CloudFront documents no figure for it; 10 s matches the edge's header timeout.
const viewerHandshakeTimeout = 10 * time.Second

// ServeViewers serves viewers on l, HTTP and HTTPS alike, with certificate config tlsCfg
// (nil: plain HTTP only, like Serve). HTTP/1.1 connections, in the clear or over TLS, go
// to the lean server of Serve (its cache-hit fast path included); connections that
// negotiate "h2" go to an HTTP/2 server over the same handler. It returns when l is
// closed.
func (e *Edge) ServeViewers(l net.Listener, tlsCfg *tls.Config) error {
	if tlsCfg == nil {
		return e.Serve(l)
	}
	cfg := tlsCfg.Clone()
	cfg.NextProtos = []string{"http/1.1"}
	if v := e.cur.Load().src.HttpVersion; v != types.HttpVersionHttp11 {
		cfg.NextProtos = []string{"h2", "http/1.1"}
	}
	ml := &mixedListener{Listener: l, tls: cfg, conns: make(chan net.Conn), done: make(chan struct{}),
		h2: &http2.Server{IdleTimeout: defaultLeanTimeouts.idle}, handler: e, e: e}
	go ml.acceptLoop()
	return e.Serve(ml)
}

// mixedListener accepts raw connections, sorts them into plain HTTP, HTTP/1.1 over TLS and
// HTTP/2, serves HTTP/2 itself and hands the rest to Accept.
type mixedListener struct {
	net.Listener
	tls     *tls.Config
	h2      *http2.Server
	handler http.Handler
	e       *Edge // its serving health records accept errors (server.go)
	conns   chan net.Conn
	done    chan struct{}
	once    sync.Once
	h2Conns sync.WaitGroup
}

func (m *mixedListener) acceptLoop() {
	delay := time.Duration(0)
	for {
		c, err := m.Listener.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				m.Close()
				return
			}
			// Anything else (EMFILE, ENFILE, ECONNABORTED) passes: back off as net/http
			// does and keep accepting.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			m.e.serving.acceptFailed(m.e.log, err, delay)
			time.Sleep(delay)
			continue
		}
		if delay != 0 {
			delay = 0
			m.e.serving.acceptWorks(m.e.log)
		}
		go m.sort(c)
	}
}

func (m *mixedListener) sort(c net.Conn) {
	c.SetReadDeadline(time.Now().Add(viewerHandshakeTimeout))
	br := bufio.NewReaderSize(c, 512)
	first, err := br.Peek(1)
	if err != nil {
		c.Close()
		return
	}
	pc := &peekedConn{Conn: c, r: br}
	if first[0] != 0x16 { // not a TLS handshake record: plain HTTP
		c.SetReadDeadline(time.Time{})
		m.deliver(pc)
		return
	}
	tc := tls.Server(pc, m.tls)
	if err := tc.Handshake(); err != nil {
		c.Close()
		return
	}
	c.SetReadDeadline(time.Time{})
	if tc.ConnectionState().NegotiatedProtocol == "h2" {
		m.h2Conns.Add(1)
		defer m.h2Conns.Done()
		m.h2.ServeConn(tc, &http2.ServeConnOpts{Handler: m.handler, BaseConfig: &http.Server{}})
		return
	}
	m.deliver(tc)
}

func (m *mixedListener) deliver(c net.Conn) {
	select {
	case m.conns <- c:
	case <-m.done:
		c.Close()
	}
}

func (m *mixedListener) Accept() (net.Conn, error) {
	select {
	case c := <-m.conns:
		return c, nil
	case <-m.done:
		return nil, net.ErrClosed
	}
}

func (m *mixedListener) Close() error {
	var err error
	m.once.Do(func() {
		close(m.done)
		err = m.Listener.Close()
	})
	return err
}

// peekedConn is a connection whose first bytes were read into r.
type peekedConn struct {
	net.Conn
	r *bufio.Reader
}

func (p *peekedConn) Read(b []byte) (int, error) { return p.r.Read(b) }
