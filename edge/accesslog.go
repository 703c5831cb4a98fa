package edge

import (
	"crypto/tls"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"
)

// accessLogFields is CloudFront's standard (legacy) access log field list, version 1.0
// (Developer Guide, AccessLogs "Standard log file fields").
const accessLogFields = "date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status cs(Referer) cs(User-Agent) cs-uri-query cs(Cookie) x-edge-result-type x-edge-request-id x-host-header cs-protocol cs-bytes time-taken x-forwarded-for ssl-protocol ssl-cipher x-edge-response-result-type cs-protocol-version fle-status fle-encrypted-fields c-port time-to-first-byte x-edge-detailed-result-type sc-content-type sc-content-len sc-range-start sc-range-end"

// accessLog writes one tab-separated line per viewer request to Options.AccessLog, after
// the "#Version" and "#Fields" header lines.
type accessLog struct {
	mu     sync.Mutex
	w      io.Writer
	header bool
}

func newAccessLog(w io.Writer) *accessLog { return &accessLog{w: w} }

// record logs rs once the response is complete.
func (l *accessLog) record(e *Edge, rs *reqState) {
	r := rs.r
	end := e.opts.Now().UTC()
	took := time.Since(rs.t0)
	ip, port, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		ip, port = r.RemoteAddr, "-"
	}
	// sc-status is the status sent, or "000, which indicates that the viewer closed the
	// connection before the server could respond to the request. If the viewer closes
	// the connection after the server starts to send the response, this field contains
	// the HTTP status code of the response that the server started to send" (Developer
	// Guide, AccessLogs). An origin's own 499 is a status like any other.
	status := "000"
	if rs.status > 0 && !rs.viewerGone {
		status = strconv.Itoa(rs.status)
	}
	proto := "http"
	sslProto, sslCipher := "-", "-"
	if rs.https {
		proto = "https"
	}
	if r.TLS != nil {
		sslProto = tlsVersionName(r.TLS.Version)
		sslCipher = tlsCipherName(r.TLS.CipherSuite)
	}
	result := rs.result
	if result == "" {
		result = "Error"
	}
	detail := rs.detail
	if detail == "" || detail == result {
		detail = result
	}
	contentLen := "-"
	if rs.bytes > 0 || rs.status > 0 {
		contentLen = strconv.FormatInt(rs.bytes, 10)
	}
	rangeStart, rangeEnd := "-", "-"
	if rs.rangeStart >= 0 {
		rangeStart, rangeEnd = strconv.FormatInt(rs.rangeStart, 10), strconv.FormatInt(rs.rangeEnd, 10)
	}
	secs := strconv.FormatFloat(took.Seconds(), 'f', 3, 64)
	fields := []string{
		end.Format("2006-01-02"),
		end.Format("15:04:05"),
		e.opts.Pop,
		strconv.FormatInt(rs.bytes+int64(responseHeaderEstimate), 10),
		ip,
		r.Method,
		e.opts.DomainName,
		logEscape(rs.r.URL.EscapedPath()),
		status,
		logValue(r.Header.Get("Referer")),
		logValue(r.Header.Get("User-Agent")),
		logValue(r.URL.RawQuery),
		logValue(strings.Join(r.Header["Cookie"], "; ")),
		result,
		rs.id,
		logValue(r.Host),
		proto,
		strconv.Itoa(requestHeaderSize(r) + len(rs.body)),
		secs,
		logValue(r.Header.Get("X-Forwarded-For")),
		sslProto,
		sslCipher,
		rs.respResultOr(result),
		r.Proto,
		"-",
		"-",
		port,
		secs,
		detail,
		logValue(rs.contentType),
		contentLen,
		rangeStart,
		rangeEnd,
	}
	line := strings.Join(fields, "\t") + "\n"
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.header {
		io.WriteString(l.w, "#Version: 1.0\n#Fields: "+accessLogFields+"\n")
		l.header = true
	}
	io.WriteString(l.w, line)
}

// responseHeaderEstimate approximates the response header bytes counted in sc-bytes.
const responseHeaderEstimate = 400

func (rs *reqState) respResultOr(result string) string {
	if rs.respResult != "" {
		return rs.respResult
	}
	return result
}

// logValue is "-" for empty values, else the value URL-encoded as CloudFront logs do.
func logValue(s string) string {
	if s == "" {
		return "-"
	}
	return logEscape(s)
}

// logEscape percent-encodes spaces, controls, non-ASCII and the characters that would
// break a tab-separated line.
func logEscape(s string) string {
	const hexd = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			b.WriteByte('%')
			b.WriteByte(hexd[c>>4])
			b.WriteByte(hexd[c&15])
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

func tlsVersionName(v uint16) string {
	switch v {
	case 0x0304:
		return "TLSv1.3"
	case 0x0303:
		return "TLSv1.2"
	case 0x0302:
		return "TLSv1.1"
	case 0x0301:
		return "TLSv1"
	}
	return "-"
}

func tlsCipherName(c uint16) string {
	// CloudFront logs OpenSSL-style names; the Go name is close enough locally.
	return strings.ReplaceAll(tlsName(c), "_", "-")
}

func tlsName(c uint16) string { return tls.CipherSuiteName(c) }
