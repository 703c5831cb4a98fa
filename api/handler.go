package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// FailEnv names the environment switch that makes every route answer 503, so a region can
// be "failed" on AWS for a demo by changing the function's configuration. "1" or "true" turns
// it on. It is read on every request.
const FailEnv = "TWINEDGE_API_FAIL"

// Config configures a Handler. Only Region and Store are required.
type Config struct {
	// Region is the region this copy of the API runs in (AWS_REGION on Lambda). It is stamped
	// on accepted writes (acceptedIn) and reads (servedBy), and decides which pinned paths
	// /api/r/<region>/ this copy serves.
	Region string
	// Regions lists every region of the deployment, primary first, for GET /api/health, so
	// the app knows where to retry a failed write. Default: just Region.
	Regions []string
	// Store keeps the messages. Required.
	Store Store
	// Now is the clock for acceptedAt (default time.Now).
	Now func() time.Time
	// Getenv reads FailEnv on each request (default os.Getenv). infra/local gives each region
	// its own, because all local regions share one process environment.
	Getenv func(string) string
	// Logger receives one line per store failure (default: discard; quiet by default).
	Logger *slog.Logger
}

// Handler answers function-URL events (payload 2.0) for the API routes of DESIGN.md:
//
//	GET  /api/health            200 {status, region, regions} or 503
//	GET  /api/messages?limit=N  200 {messages, servedBy, next}
//	POST /api/messages          201 created, 200 same id and content, 409 same id other content
//
// and the same under /api/r/<region>/, which only the named region serves. Every error is
// JSON {"error": "..."} naming the field or limit at fault, and no error path writes to the
// store:
//
//	400  malformed JSON, invalid UTF-8 or a lone surrogate escape, unknown or mistyped field,
//	     bad id/author/text (blank or invisible only, control characters), bad limit or cursor
//	404  no such route
//	405  method not allowed on the route (with an allow header)
//	409  the id is taken by a message with other content
//	413  body over MaxBodyBytes, author over MaxAuthorChars, text over MaxTextChars
//	415  not application/json (or a charset other than UTF-8)
//	421  pinned to another region (/api/r/<other>/...)
//	503  FailEnv is on, or the store is unreachable
type Handler struct {
	region  string
	regions []string
	store   Store
	now     func() time.Time
	getenv  func(string) string
	log     *slog.Logger
}

// NewHandler returns a Handler for cfg.
func NewHandler(cfg Config) (*Handler, error) {
	if cfg.Region == "" {
		return nil, errors.New("api: region is required (AWS_REGION)")
	}
	if cfg.Store == nil {
		return nil, errors.New("api: store is required")
	}
	h := &Handler{region: cfg.Region, regions: cfg.Regions, store: cfg.Store, now: cfg.Now, getenv: cfg.Getenv, log: cfg.Logger}
	if len(h.regions) == 0 {
		h.regions = []string{cfg.Region}
	}
	if h.now == nil {
		h.now = time.Now
	}
	if h.getenv == nil {
		h.getenv = os.Getenv
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	return h, nil
}

// Region returns the region this handler serves.
func (h *Handler) Region() string { return h.region }

// route is one path's allowed methods.
type route struct {
	methods []string
	serve   func(h *Handler, ctx context.Context, req *events.LambdaFunctionURLRequest) events.LambdaFunctionURLResponse
}

var routes = map[string]route{
	"/api/health":   {methods: []string{"GET", "HEAD"}, serve: (*Handler).health},
	"/api/messages": {methods: []string{"GET", "HEAD", "POST"}, serve: (*Handler).messages},
}

// Handle answers one function-URL event. It always returns a response (errors are HTTP
// answers); the error result exists for lambda.Start's signature and is always nil.
func (h *Handler) Handle(ctx context.Context, req events.LambdaFunctionURLRequest) (events.LambdaFunctionURLResponse, error) {
	method := req.RequestContext.HTTP.Method
	resp := h.serve(ctx, &req, method)
	if method == http.MethodHead {
		resp.Body = ""
	}
	return resp, nil
}

func (h *Handler) serve(ctx context.Context, req *events.LambdaFunctionURLRequest, method string) events.LambdaFunctionURLResponse {
	if v := strings.ToLower(strings.TrimSpace(h.getenv(FailEnv))); v == "1" || v == "true" {
		return h.fail(http.StatusServiceUnavailable, "the API in %s is switched off (%s)", h.region, FailEnv)
	}
	path := req.RawPath
	if path == "" {
		path = req.RequestContext.HTTP.Path
	}
	path, resp, ok := h.unpin(path)
	if !ok {
		return resp
	}
	rt, found := routes[path]
	if !found {
		return h.fail(http.StatusNotFound, "no route for %s; the API serves /api/health and /api/messages", limitString(path, 200))
	}
	allowed := false
	for _, m := range rt.methods {
		allowed = allowed || m == method
	}
	if !allowed {
		resp := h.fail(http.StatusMethodNotAllowed, "method %s is not allowed on %s; use %s", limitString(method, 20), path, strings.Join(rt.methods, ", "))
		resp.Headers["allow"] = strings.Join(rt.methods, ", ")
		return resp
	}
	return rt.serve(h, ctx, req)
}

// unpin maps /api/r/<region>/rest to /api/rest when <region> is this region. A request
// pinned to another region is refused with 421 Misdirected Request (RFC 9110 §15.5.20: the
// request reached a server that cannot produce a response for it): the edge routes a pinned
// path to that region's function URL alone, so reaching this one is a wiring mistake that a
// silent answer from the wrong region would hide.
func (h *Handler) unpin(path string) (string, events.LambdaFunctionURLResponse, bool) {
	rest, ok := strings.CutPrefix(path, "/api/r/")
	if !ok {
		return path, events.LambdaFunctionURLResponse{}, true
	}
	region, sub, _ := strings.Cut(rest, "/")
	if region == "" || sub == "" {
		return "", h.fail(http.StatusNotFound, "no route for %s; pinned paths look like /api/r/<region>/messages", limitString(path, 200)), false
	}
	if region != h.region {
		return "", h.fail(http.StatusMisdirectedRequest, "this request is pinned to region %s but reached region %s", limitString(region, 40), h.region), false
	}
	return "/api/" + sub, events.LambdaFunctionURLResponse{}, true
}

func (h *Handler) health(ctx context.Context, _ *events.LambdaFunctionURLRequest) events.LambdaFunctionURLResponse {
	if err := h.store.Ping(ctx); err != nil {
		h.log.Error("health: store unreachable", "region", h.region, "err", err)
		return h.fail(http.StatusServiceUnavailable, "the store in %s is unreachable", h.region)
	}
	return h.json(http.StatusOK, healthBody{Status: "ok", Region: h.region, Regions: h.regions})
}

type healthBody struct {
	Status  string   `json:"status"`
	Region  string   `json:"region"`
	Regions []string `json:"regions"`
}

func (h *Handler) messages(ctx context.Context, req *events.LambdaFunctionURLRequest) events.LambdaFunctionURLResponse {
	if req.RequestContext.HTTP.Method == http.MethodPost {
		return h.post(ctx, req)
	}
	return h.list(ctx, req)
}

// servedMessage is a message as a read returns it: with the region that served the read.
type servedMessage struct {
	Message
	ServedBy string `json:"servedBy"`
}

type listBody struct {
	Messages []servedMessage `json:"messages"`
	ServedBy string          `json:"servedBy"`
	// Next is the cursor of the following (older) page; absent on the last page.
	Next string `json:"next,omitempty"`
}

func (h *Handler) list(ctx context.Context, req *events.LambdaFunctionURLRequest) events.LambdaFunctionURLResponse {
	limit := DefaultLimit
	if v, ok := req.QueryStringParameters["limit"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxLimit {
			return h.fail(http.StatusBadRequest, "limit: must be an integer from 1 to %d", MaxLimit)
		}
		limit = n
	}
	cursor := req.QueryStringParameters["cursor"]
	if cursor != "" {
		if _, err := DecodeCursor(cursor); err != nil {
			return h.fail(http.StatusBadRequest, "cursor: not a cursor this API returned")
		}
	}
	msgs, next, err := h.store.List(ctx, limit, cursor)
	if errors.Is(err, ErrBadCursor) {
		return h.fail(http.StatusBadRequest, "cursor: not a cursor this API returned")
	}
	if err != nil {
		h.log.Error("list: store failed", "region", h.region, "err", err)
		return h.fail(http.StatusServiceUnavailable, "the store in %s is unreachable", h.region)
	}
	body := listBody{Messages: make([]servedMessage, len(msgs)), ServedBy: h.region, Next: next}
	for i, m := range msgs {
		body.Messages[i] = servedMessage{Message: m, ServedBy: h.region}
	}
	return h.json(http.StatusOK, body)
}

// postBody is what a client may send. Unknown fields are refused, so a client cannot believe
// it set acceptedIn or acceptedAt.
type postBody struct {
	ID     string `json:"id"`
	Author string `json:"author"`
	Text   string `json:"text"`
}

func (h *Handler) post(ctx context.Context, req *events.LambdaFunctionURLRequest) events.LambdaFunctionURLResponse {
	if status, msg := checkContentType(header(req, "content-type")); status != 0 {
		return h.fail(status, "%s", msg)
	}
	body := []byte(req.Body)
	if req.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(req.Body)
		if err != nil {
			return h.fail(http.StatusBadRequest, "body: marked base64 but is not valid base64")
		}
		body = b
	}
	if len(body) > MaxBodyBytes {
		return h.fail(http.StatusRequestEntityTooLarge, "body: %d bytes, the limit is %d bytes (author ≤ %d characters, text ≤ %d characters)", len(body), MaxBodyBytes, MaxAuthorChars, MaxTextChars)
	}
	in, err := decodePost(body)
	if err == nil {
		err = checkUTF8(body)
	}
	if err != nil {
		return h.fail(http.StatusBadRequest, "%s", err)
	}
	m, fe := validate(Message{ID: in.ID, Author: in.Author, Text: in.Text})
	if fe != nil {
		status := http.StatusBadRequest
		if fe.TooLarge {
			status = http.StatusRequestEntityTooLarge
		}
		return h.fail(status, "%s", fe)
	}
	m.AcceptedIn = h.region
	m.AcceptedAt = h.now().UTC().Truncate(time.Millisecond)
	stored, outcome, err := h.store.Put(ctx, m)
	if err != nil {
		h.log.Error("post: store failed", "region", h.region, "id", m.ID, "err", err)
		return h.fail(http.StatusServiceUnavailable, "the store in %s is unreachable; nothing was stored", h.region)
	}
	switch outcome {
	case Created:
		return h.json(http.StatusCreated, servedMessage{Message: stored, ServedBy: h.region})
	case Existing:
		return h.json(http.StatusOK, servedMessage{Message: stored, ServedBy: h.region})
	default:
		return h.fail(http.StatusConflict, "id: %s is already used by another message", m.ID)
	}
}

// checkContentType accepts application/json with no charset or charset=utf-8. A JSON body
// is UTF-8 by definition (RFC 8259 §8.1); another declared charset means the client encoded
// something else.
func checkContentType(ct string) (int, string) {
	if ct == "" {
		return http.StatusUnsupportedMediaType, "content-type: missing; send application/json"
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return http.StatusUnsupportedMediaType, fmt.Sprintf("content-type: %q is not supported; send application/json", limitString(ct, 100))
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return http.StatusUnsupportedMediaType, fmt.Sprintf("content-type: charset %q is not supported; send UTF-8", limitString(cs, 40))
	}
	return 0, ""
}

// decodePost parses a POST body, naming the offending field in its error.
func decodePost(body []byte) (postBody, error) {
	var in postBody
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return postBody{}, describeJSONError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return postBody{}, errors.New("body: unexpected data after the JSON object")
	}
	return in, nil
}

func describeJSONError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.EOF):
		return errors.New("body: empty; send a JSON object {id, author, text}")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errors.New("body: malformed JSON (ends too early)")
	case errors.As(err, &syn):
		return fmt.Errorf("body: malformed JSON at byte %d", syn.Offset)
	case errors.As(err, &typ):
		if typ.Field == "" {
			return errors.New("body: must be a JSON object {id, author, text}")
		}
		return fmt.Errorf("%s: must be a string", limitString(typ.Field, 40))
	}
	if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return fmt.Errorf("%s: unknown field; send only id, author and text", limitString(strings.Trim(f, `"`), 40))
	}
	return fmt.Errorf("body: malformed JSON")
}

// header reads a request header. Function URLs deliver names in lower case; a hand-made event
// may not, so fall back to a case-insensitive scan.
func header(req *events.LambdaFunctionURLRequest, name string) string {
	if v, ok := req.Headers[name]; ok {
		return v
	}
	for k, v := range req.Headers {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// json is the one success path: a JSON body with the headers every answer carries.
func (h *Handler) json(status int, v any) events.LambdaFunctionURLResponse {
	b, err := json.Marshal(v)
	if err != nil {
		// Only our own types are marshalled; this is a programming error.
		h.log.Error("marshal response", "err", err)
		return h.fail(http.StatusInternalServerError, "internal error")
	}
	return events.LambdaFunctionURLResponse{StatusCode: status, Headers: h.headers(), Body: string(b)}
}

// fail is the one error path: {"error": "..."} with the status.
func (h *Handler) fail(status int, format string, args ...any) events.LambdaFunctionURLResponse {
	b, _ := json.Marshal(struct {
		Error string `json:"error"`
	}{fmt.Sprintf(format, args...)})
	return events.LambdaFunctionURLResponse{StatusCode: status, Headers: h.headers(), Body: string(b)}
}

func (h *Handler) headers() map[string]string {
	return map[string]string{
		"content-type":  "application/json",
		"cache-control": "no-store",
		// Lets a viewer (and the failover tests) see which region answered, errors included.
		"x-twinedge-region": h.region,
	}
}

// limitString shortens client-supplied text echoed in an error, so a huge path or header
// cannot blow up the answer.
func limitString(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
