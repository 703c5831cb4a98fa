package drill

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/google/uuid"
)

// mix is the traffic's shape: one request of each entry per turn, in this order, so every
// kind is spread evenly over time. Probes dominate because they are the GETs that are
// guaranteed to reach an origin; pages and assets are what a viewer really loads, and
// mostly come from the edge cache between invalidations.
var mix = []Kind{
	KindProbe, KindPage, KindAPIRead, KindProbe, KindAsset, KindWrite, KindProbe, KindAPIHealth,
	KindPage, KindProbe, KindAPIRead, KindProbe, KindAsset, KindProbe, KindPage, KindWrite,
	KindProbe, KindAPIRead, KindAsset, KindAPIHealth,
}

// share returns the fraction of the mix that is of kind k.
func share(k Kind) float64 {
	n := 0
	for _, m := range mix {
		if m == k {
			n++
		}
	}
	return float64(n) / float64(len(mix))
}

// response is one HTTP exchange as the drill reads it.
type response struct {
	status int
	header http.Header
	body   []byte
	err    error
	took   time.Duration
}

func (r *run) send(ctx context.Context, method, path string, body []byte, header http.Header) response {
	start := time.Now()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, r.opts.Edge+path, rd)
	if err != nil {
		return response{err: err}
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := r.opts.HTTPClient.Do(req)
	if err != nil {
		return response{err: err, took: time.Since(start)}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	return response{status: resp.StatusCode, header: resp.Header, body: b, err: err, took: time.Since(start)}
}

// classify names a failed exchange the way a viewer would describe it.
func classify(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "truncated body"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.EOF):
		return "connection reset"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded),
		errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "cancelled"
	}
	return "error"
}

func cacheWord(h http.Header) string {
	v := h.Get("X-Cache")
	if i := strings.IndexByte(v, ' '); i > 0 {
		v = v[:i]
	}
	return v
}

// sample turns an exchange into a sample; ok decides success for an answered request.
func (r *run) sample(kind Kind, path string, at time.Duration, res response) Sample {
	s := Sample{At: at, Took: res.took, Kind: kind, Path: path, Status: res.status}
	if res.header != nil {
		s.Cache = cacheWord(res.header)
	}
	switch {
	case res.status == 0:
		s.Outcome = classify(res.err)
	case res.err != nil:
		s.Outcome = classify(res.err)
		if s.Outcome == "error" {
			s.Outcome = "body error"
		}
	default:
		s.Outcome = fmt.Sprint(res.status)
	}
	return s
}

// site requests a page, an asset or a probe. Success is a 200 with exactly the bytes the
// path is known to hold: a truncated or foreign body is a failure even with a 200.
func (r *run) site(ctx context.Context, kind Kind, path string, at time.Duration) Sample {
	res := r.send(ctx, http.MethodGet, path, nil, nil)
	s := r.sample(kind, path, at, res)
	if res.header != nil {
		s.Region = res.header.Get("X-Amz-Meta-Region")
	}
	if res.status == http.StatusOK && res.err == nil {
		want, known := r.want(path)
		switch sum := sha256.Sum256(res.body); {
		case !known:
			s.OK = true
		case sum == want:
			s.OK = true
		default:
			s.Outcome = "wrong body"
		}
	}
	return s
}

// want returns the sha256 a site path must answer with, if known.
func (r *run) want(path string) ([32]byte, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	sum, ok := r.sums[path]
	return sum, ok
}

// apiRead reads the newest messages through the API origin group.
func (r *run) apiRead(ctx context.Context, kind Kind, path string, at time.Duration) Sample {
	res := r.send(ctx, http.MethodGet, path, nil, nil)
	s := r.sample(kind, path, at, res)
	if res.status == http.StatusOK && res.err == nil {
		var body struct {
			ServedBy string   `json:"servedBy"`
			Region   string   `json:"region"`
			Messages []any    `json:"messages"`
			Regions  []string `json:"regions"`
		}
		if err := json.Unmarshal(res.body, &body); err != nil {
			s.Outcome = "not API JSON"
			return s
		}
		s.Region = body.ServedBy
		if kind == KindAPIHealth {
			s.Region = body.Region
		}
		s.OK = s.Region != ""
		if !s.OK {
			s.Outcome = "no region in answer"
		}
	}
	return s
}

// message is a message as the API answers it.
type message struct {
	ID         string    `json:"id"`
	Author     string    `json:"author"`
	Text       string    `json:"text"`
	AcceptedIn string    `json:"acceptedIn"`
	AcceptedAt time.Time `json:"acceptedAt"`
	ServedBy   string    `json:"servedBy"`
}

// write posts one message by the app's rule (site/web/board.js): POST to the primary's
// pinned path /api/r/<primary>/messages; when that fails, retry once on the secondary's
// pinned path with the same id. POST /api/messages is never used: the /api/* behaviour
// targets the api origin group, on which CloudFront allows only GET, HEAD and OPTIONS. A write is accepted on 201
// (created) or 200 (the same id and content were already there: a retry of a write that
// had succeeded).
func (r *run) write(ctx context.Context, n int, at time.Duration) ([]Sample, WriteRecord) {
	id, err := uuid.NewV7()
	if err != nil {
		id = uuid.New()
	}
	rec := WriteRecord{ID: id.String(), Text: fmt.Sprintf("drill %s message %d", r.id, n), At: at}
	body, _ := json.Marshal(map[string]string{"id": rec.ID, "author": r.author, "text": rec.Text})
	sum := sha256.Sum256(body)
	h := http.Header{
		"Content-Type": {"application/json"},
		// Lambda function URLs behind OAC require the payload hash from the viewer.
		"X-Amz-Content-Sha256": {hex.EncodeToString(sum[:])},
	}
	first := r.post(ctx, KindWrite, "/api/r/"+r.primary+"/messages", body, h, at)
	rec.First = first.Status
	samples := []Sample{first}
	if first.OK {
		rec.Accepted, rec.AcceptedIn = true, first.AcceptedIn
		return samples, rec
	}
	status := first.Status
	if status == http.StatusCreated || status == http.StatusOK {
		// The answer broke off after its headers (not OK with a success status): the app
		// cannot read it, treats it as no answer and retries (site/web/board.js, send).
		status = 0
	}
	if !retryable(status) {
		return samples, rec
	}
	rec.Retried = true
	samples[0].Retried = true
	retryAt := r.since()
	second := r.post(ctx, KindWriteRetry, "/api/r/"+r.secondary+"/messages", body, h, retryAt)
	samples = append(samples, second)
	if second.OK {
		rec.Accepted, rec.AcceptedIn = true, second.AcceptedIn
	}
	return samples, rec
}

// retryable reports whether the app retries a write that got status (0: no answer): the
// same rule as site/web/board.js, no answer, a 5xx, or the 403/404/408/429 a failed region or
// a throttle gives. Answers the other region would repeat (400, 409, 413, 415) are final.
func retryable(status int) bool {
	switch status {
	case 0, http.StatusForbidden, http.StatusNotFound, http.StatusRequestTimeout, http.StatusTooManyRequests:
		return true
	}
	return status >= 500
}

func (r *run) post(ctx context.Context, kind Kind, path string, body []byte, h http.Header, at time.Duration) Sample {
	res := r.send(ctx, http.MethodPost, path, body, h)
	s := r.sample(kind, path, at, res)
	if (res.status == http.StatusCreated || res.status == http.StatusOK) && res.err == nil {
		var m message
		if err := json.Unmarshal(res.body, &m); err != nil || m.AcceptedIn == "" {
			s.Outcome = "not API JSON"
			return s
		}
		// The region that answered may not be the one that accepted: a retry answered 200
		// by the secondary for a write the primary had stored and replicated.
		s.Region, s.AcceptedIn, s.OK = m.ServedBy, m.AcceptedIn, true
		if s.Region == "" {
			s.Region = m.AcceptedIn
		}
	}
	return s
}
