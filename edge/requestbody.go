package edge

import (
	"errors"
	"io"
	"net/http"
	"sync/atomic"
)

// Viewer request bodies are buffered whole: the edge signs them for OAC (the hash covers
// the body, and Lambda accepts no unsigned payload) and may send them twice (retries).
// Buffering is bounded twice: one body by Options.MaxRequestBody (413 beyond, as
// CloudFront answers a request over its limits), all bodies held at once by
// Options.MaxRequestBodies (503 beyond). A body is held in chunks as its bytes arrive, so
// a viewer that declares 30 MB and sends one byte holds one chunk, not 30 MB; and the lean
// server's body deadlines (server.go) drop a body that stops arriving.

var (
	errBodyTooLarge = errors.New("request body larger than the edge accepts")
	errBodiesBusy   = errors.New("the edge holds as many request bodies as it may")
)

// bodyChunk is how much of a body is reserved and read at a time.
const bodyChunk = 64 << 10

// bodyBudget counts the bytes of request bodies held, against limit.
type bodyBudget struct {
	limit int64
	held  atomic.Int64
}

func (b *bodyBudget) take(n int64) bool {
	if b.held.Add(n) > b.limit {
		b.held.Add(-n)
		return false
	}
	return true
}

// readRequestBody reads r's body whole under both bounds. release returns the bytes to the
// budget: call it when the body is no longer needed, whatever err is.
func (e *Edge) readRequestBody(r *http.Request) (body []byte, release func(), err error) {
	var held int64
	release = func() { e.bodies.held.Add(-held); held = 0 }
	if r.ContentLength > e.maxReqBody {
		return nil, release, errBodyTooLarge
	}
	var chunks [][]byte
	var n int64
	for {
		size := int64(bodyChunk)
		if r.ContentLength > 0 {
			size = min(size, r.ContentLength-n)
		}
		size = min(size, e.maxReqBody+1-n) // one byte past the limit tells a body that is too large
		if size <= 0 {
			if r.ContentLength > 0 { // all declared bytes read: http.ReadRequest's body ends here
				break
			}
			return nil, release, errBodyTooLarge
		}
		if !e.bodies.take(size) {
			return nil, release, errBodiesBusy
		}
		held += size
		buf := make([]byte, size)
		m, err := io.ReadFull(r.Body, buf)
		n += int64(m)
		if m > 0 {
			chunks = append(chunks, buf[:m])
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			return nil, release, err
		}
	}
	if n > e.maxReqBody {
		return nil, release, errBodyTooLarge
	}
	if r.ContentLength > 0 && n < r.ContentLength {
		return nil, release, io.ErrUnexpectedEOF
	}
	switch len(chunks) {
	case 0:
		return nil, release, nil
	case 1:
		return chunks[0], release, nil
	}
	// The whole body in one slice; for a moment it is held twice, and counted so.
	if !e.bodies.take(n) {
		return nil, release, errBodiesBusy
	}
	body = make([]byte, 0, n)
	for _, c := range chunks {
		body = append(body, c...)
	}
	e.bodies.held.Add(-(held)) // the chunks go
	held = n
	return body, release, nil
}
