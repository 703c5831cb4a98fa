package edge

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/twinedge/twinedge/edge/jsfunc/fnapi"
)

// errFunction is a function that failed or returned something CloudFront rejects;
// CloudFront answers 503 (FunctionExecutionError / FunctionValidationError).
type functionError struct{ err error }

func (f *functionError) Error() string { return "function: " + f.err.Error() }

// headers a function may not add or change (§3.4, DG edge-functions-restrictions):
// adding one makes CloudFront answer 502.
func disallowedFunctionHeader(name string) bool {
	switch name {
	case "connection", "expect", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection",
		"trailer", "upgrade", "x-cache", "x-forwarded-proto", "x-real-ip":
		return true
	}
	for _, p := range []string{"x-accel-", "x-amz-cf-", "x-edge-"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	switch name {
	case "x-amzn-auth", "x-amzn-cf-billing", "x-amzn-cf-id", "x-amzn-cf-xff", "x-amzn-errortype", "x-amzn-fle-profile",
		"x-amzn-header-count", "x-amzn-header-order", "x-amzn-lambda-integration-tag", "x-amzn-requestid":
		return true
	}
	return false
}

// readOnlyRequestHeaders may be read but not changed by a viewer-request function.
var readOnlyRequestHeaders = []string{"content-length", "host", "transfer-encoding", "via"}

// invoke runs fn on ev: the native implementation when there is one, else the JS.
func (e *Edge) invoke(fn *Function, ev *FunctionEvent) (*FunctionResult, error) {
	switch {
	case fn.Handle != nil:
		return fn.Handle(ev)
	case fn.RewriteURI != nil && ev.Context.EventType == "viewer-request":
		ev.Request.URI = fn.RewriteURI(ev.Request.URI)
		return &FunctionResult{Request: ev.Request}, nil
	}
	return e.runJS(fn, ev)
}

// RunFunctionJS runs the JavaScript source of fn on ev with the edge's JS runtime
// (Options.JS), with the CloudFront Functions calling convention: handler(event)
// returns the request or a response. It is what the edge does for functions without a
// Go implementation, exported so the Go and JS versions of a function can be compared.
func (e *Edge) RunFunctionJS(fn *Function, ev *FunctionEvent) (*FunctionResult, error) {
	return e.runJS(fn, ev)
}

// jsFor returns the compiled JS of fn, compiling it on first use.
func (e *Edge) jsFor(fn *Function) (fnapi.Program, error) {
	if prog, ok := e.jsRun.Load(fn); ok {
		return prog.(fnapi.Program), nil
	}
	prog, err := e.compileJS(fn)
	if err != nil {
		return nil, err
	}
	stored, _ := e.jsRun.LoadOrStore(fn, prog)
	return stored.(fnapi.Program), nil
}

// compileJS compiles the JavaScript of fn with Options.JS, checking its runtime and size.
func (e *Edge) compileJS(fn *Function) (fnapi.Program, error) {
	if e.opts.JS == nil {
		return nil, fmt.Errorf("function %s has only JavaScript code, and this edge has no JS runtime (Options.JS; edge/jsfunc provides one)", fn.Name)
	}
	if fn.Runtime != "" && fn.Runtime != FunctionRuntime && fn.Runtime != "cloudfront-js-1.0" {
		return nil, fmt.Errorf("function %s: unsupported runtime %q", fn.Name, fn.Runtime)
	}
	// §3.4: functions are at most 10 KB.
	if len(fn.Code) > MaxFunctionSize {
		return nil, fmt.Errorf("function %s: code is %d bytes, over the 10 KB limit", fn.Name, len(fn.Code))
	}
	prog, err := e.opts.JS(fn.Name, fn.Runtime, fn.Code)
	if err != nil {
		return nil, fmt.Errorf("function %s: %w", fn.Name, err)
	}
	return prog, nil
}

// MaxFunctionSize is the largest function code CloudFront accepts: 10 KB
// (DG cloudfront-limits, "Quotas on CloudFront Functions").
const MaxFunctionSize = 10240

func (e *Edge) runJS(fn *Function, ev *FunctionEvent) (*FunctionResult, error) {
	prog, err := e.jsFor(fn)
	if err != nil {
		return nil, err
	}
	in, err := json.Marshal(ev)
	if err != nil {
		return nil, err
	}
	res, err := prog.Run(in, fnapi.Env{Now: e.opts.Now(), KVS: fn.KVS, EventType: ev.Context.EventType})
	if err != nil {
		return nil, fmt.Errorf("function %s: %w", fn.Name, err)
	}
	out, err := decodeFunctionResult(ev.Context.EventType, res.Output)
	if err != nil {
		return nil, err
	}
	out.Origin = res.Origin
	return out, nil
}

// decodeFunctionResult reads what a JS handler returned: a response when it has a
// statusCode or comes from a viewer-response event, a request otherwise.
func decodeFunctionResult(eventType string, out []byte) (*FunctionResult, error) {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(out, &probe); err != nil {
		return nil, fmt.Errorf("handler returned %s: not an object", truncateFor(out))
	}
	if _, isResp := probe["statusCode"]; isResp || eventType == "viewer-response" {
		var resp FunctionResponse
		if err := json.Unmarshal(out, &resp); err != nil {
			return nil, fmt.Errorf("invalid response object: %w", err)
		}
		return &FunctionResult{Response: &resp}, nil
	}
	// A function may set request.querystring to a string, the query as it is to be sent
	// (AWS's normalize-query-string-parameters sample does; DG functions-event-structure,
	// "Request object").
	var rawQuery *string
	if raw, ok := probe["querystring"]; ok {
		var qs string
		if json.Unmarshal(raw, &qs) == nil {
			qs = strings.TrimPrefix(qs, "?")
			rawQuery = &qs
			delete(probe, "querystring")
			var err error
			if out, err = json.Marshal(probe); err != nil {
				return nil, err
			}
		}
	}
	var req FunctionRequest
	if err := json.Unmarshal(out, &req); err != nil {
		return nil, fmt.Errorf("invalid request object: %w", err)
	}
	if raw, ok := probe["querystring"]; ok {
		req.queryOrder = objectKeys(raw)
	}
	req.rawQuery = rawQuery
	return &FunctionResult{Request: &req}, nil
}

func truncateFor(b []byte) string {
	if len(b) > 64 {
		return string(b[:64]) + "…"
	}
	return string(b)
}

// objectKeys returns the keys of a JSON object in document order.
func objectKeys(raw json.RawMessage) []string {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil
	}
	var keys []string
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return keys
		}
		k, _ := t.(string)
		keys = append(keys, k)
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return keys
		}
	}
	return keys
}

// UnmarshalJSON accepts a body given as an object {data, encoding} or a plain string
// (§3.4).
func (b *FunctionBody) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err == nil {
		b.Data, b.Encoding = s, "text"
		return nil
	}
	type plain FunctionBody
	var p plain
	if err := json.Unmarshal(data, &p); err != nil {
		return err
	}
	*b = FunctionBody(p)
	if b.Encoding == "" {
		b.Encoding = "text"
	}
	return nil
}

// newFunctionEvent builds the CloudFront Functions event for a viewer request (§3.4).
func (e *Edge) newFunctionEvent(rs *reqState, eventType string) *FunctionEvent {
	ip := rs.r.RemoteAddr
	if h, _, err := net.SplitHostPort(ip); err == nil {
		ip = h
	}
	return &FunctionEvent{
		Version: "1.0",
		Context: FunctionContext{DistributionDomainName: e.opts.DomainName, DistributionID: e.opts.DistributionID, EventType: eventType, RequestID: rs.id},
		Viewer:  FunctionViewer{IP: ip},
		Request: functionRequestFrom(rs),
	}
}

func functionRequestFrom(rs *reqState) *FunctionRequest {
	req := &FunctionRequest{Method: rs.r.Method, URI: rs.uri, Headers: map[string]FunctionValue{}, Cookies: map[string]FunctionValue{}}
	req.QueryString, req.queryOrder = eventQuery(rs.query)
	for name, vs := range rs.header {
		ln := strings.ToLower(name)
		if ln == "cookie" {
			continue
		}
		for _, v := range vs {
			addValue(req.Headers, ln, v)
		}
	}
	if rs.r.Host != "" {
		req.Headers["host"] = FunctionValue{Value: rs.r.Host}
	}
	for _, line := range rs.header["Cookie"] {
		for _, c := range strings.Split(line, ";") {
			name, v, _ := strings.Cut(strings.TrimSpace(c), "=")
			if name != "" {
				addValue(req.Cookies, name, v)
			}
		}
	}
	return req
}

// EventQuery is the querystring object of a function's event for a raw query: each name
// and value percent-decoded (kept as sent when that fails), repeated names in
// multiValue (§3.4). Native twins of functions (Twin) read the query through it.
func EventQuery(raw string) map[string]FunctionValue {
	q, _ := eventQuery(raw)
	return q
}

// eventQuery is EventQuery with the order of the names' first appearance.
func eventQuery(raw string) (map[string]FunctionValue, []string) {
	q := map[string]FunctionValue{}
	var order []string
	for _, part := range strings.Split(raw, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		if uk, err := url.QueryUnescape(k); err == nil {
			k = uk
		}
		if uv, err := url.QueryUnescape(v); err == nil {
			v = uv
		}
		addValue(q, k, v)
		order = appendOnce(order, k)
	}
	return q, order
}

func appendOnce(s []string, v string) []string {
	if slices.Contains(s, v) {
		return s
	}
	return append(s, v)
}

// addValue records a value; repeated names keep all values in multiValue (§3.4).
func addValue(m map[string]FunctionValue, name, v string) {
	cur, ok := m[name]
	if !ok {
		m[name] = FunctionValue{Value: v}
		return
	}
	if len(cur.MultiValue) == 0 {
		cur.MultiValue = []FunctionValue{{Value: cur.Value}}
	}
	cur.MultiValue = append(cur.MultiValue, FunctionValue{Value: v})
	m[name] = cur
}

func (v FunctionValue) values() []string {
	if len(v.MultiValue) == 0 {
		return []string{v.Value}
	}
	out := make([]string, len(v.MultiValue))
	for i, m := range v.MultiValue {
		out[i] = m.Value
	}
	return out
}

// runViewerRequest runs a viewer-request function. It returns true when it answered
// the viewer itself (a generated response or an error).
func (e *Edge) runViewerRequest(w http.ResponseWriter, rs *reqState, fn *Function) bool {
	ev := e.newFunctionEvent(rs, "viewer-request")
	orig := functionRequestFrom(rs)
	res, err := e.invoke(fn, ev)
	if err == nil && res == nil {
		err = errors.New("handler returned nothing")
	}
	if err != nil {
		e.log.Info("viewer-request function failed", "function", fn.Name, "err", err)
		rs.detail = "FunctionExecutionError"
		e.serveError(w, rs, http.StatusServiceUnavailable, "The CloudFront function associated with the cache behavior failed.", "Error")
		return true
	}
	if res.Response != nil {
		e.answerGenerated(w, rs, res.Response)
		return true
	}
	req := res.Request
	if !strings.HasPrefix(req.URI, "/") {
		rs.detail = "FunctionValidationError"
		e.serveError(w, rs, http.StatusServiceUnavailable, "The CloudFront function returned an invalid value.", "Error")
		return true
	}
	if len(res.Origin) > 0 {
		if err := e.applyOriginChanges(rs, res.Origin); err != nil {
			e.log.Info("viewer-request function failed", "function", fn.Name, "err", err)
			rs.detail = "FunctionExecutionError"
			e.serveError(w, rs, http.StatusServiceUnavailable, "The CloudFront function associated with the cache behavior failed.", "Error")
			return true
		}
	}
	rs.uri = req.URI
	if req.rawQuery != nil {
		rs.query = *req.rawQuery
	} else if !reflect.DeepEqual(req.QueryString, orig.QueryString) {
		rs.query = encodeQuery(req.QueryString, req.queryOrder)
	}
	if !reflect.DeepEqual(req.Headers, orig.Headers) || !reflect.DeepEqual(req.Cookies, orig.Cookies) {
		h := make(http.Header, len(req.Headers)+1)
		for name, v := range req.Headers {
			ln := strings.ToLower(name)
			if slices.Contains(readOnlyRequestHeaders, ln) {
				continue
			}
			if _, existed := orig.Headers[ln]; disallowedFunctionHeader(ln) && (!existed || !reflect.DeepEqual(v, orig.Headers[ln])) {
				rs.detail = "FunctionValidationError"
				e.serveError(w, rs, http.StatusBadGateway, "The CloudFront function tried to add, delete, or change a read-only header.", "Error")
				return true
			}
			h[http.CanonicalHeaderKey(ln)] = v.values()
		}
		for _, ro := range readOnlyRequestHeaders {
			if v, ok := rs.header[http.CanonicalHeaderKey(ro)]; ok {
				h[http.CanonicalHeaderKey(ro)] = v
			}
		}
		if len(req.Cookies) > 0 {
			names := make([]string, 0, len(req.Cookies))
			for n := range req.Cookies {
				names = append(names, n)
			}
			slices.Sort(names)
			var parts []string
			for _, n := range names {
				for _, v := range req.Cookies[n].values() {
					parts = append(parts, n+"="+v)
				}
			}
			h.Set("Cookie", strings.Join(parts, "; "))
		}
		rs.header = h
	}
	return false
}

// encodeQuery rebuilds a query string from a function's querystring object, in the
// order the function's object lists the keys.
func encodeQuery(q map[string]FunctionValue, order []string) string {
	keys := make([]string, 0, len(q))
	for _, k := range order {
		if _, ok := q[k]; ok {
			keys = appendOnce(keys, k)
		}
	}
	var rest []string
	for k := range q {
		if !slices.Contains(keys, k) {
			rest = append(rest, k)
		}
	}
	slices.Sort(rest)
	keys = append(keys, rest...)
	var parts []string
	for _, k := range keys {
		for _, v := range q[k].values() {
			if v == "" {
				parts = append(parts, url.QueryEscape(k))
			} else {
				parts = append(parts, url.QueryEscape(k)+"="+url.QueryEscape(v))
			}
		}
	}
	return strings.Join(parts, "&")
}

// answerGenerated sends a viewer-request function's response, or CloudFront's 502 when
// it is not a valid response.
func (e *Edge) answerGenerated(w http.ResponseWriter, rs *reqState, resp *FunctionResponse) {
	if err := e.writeGenerated(w, rs, resp); err != nil {
		rs.detail = "FunctionValidationError"
		e.serveError(w, rs, http.StatusBadGateway, "The CloudFront function returned an invalid value.", "Error")
	}
}

var functionGenerated = []string{"generated-by-CloudFront-Functions"}

// writeGenerated sends a response a viewer-request function generated (§3.4): X-Cache
// "FunctionGeneratedResponse from cloudfront", no custom error page even for ≥ 400.
func (e *Edge) writeGenerated(w http.ResponseWriter, rs *reqState, resp *FunctionResponse) error {
	if resp.StatusCode < 100 || resp.StatusCode > 599 {
		return fmt.Errorf("statusCode %d", resp.StatusCode)
	}
	var body []byte
	if resp.Body != nil {
		var err error
		if body, err = resp.Body.bytes(); err != nil {
			return err
		}
	}
	h := w.Header()
	for name, v := range resp.Headers {
		ln := strings.ToLower(name)
		if disallowedFunctionHeader(ln) {
			return fmt.Errorf("header %s is not allowed", ln)
		}
		h[http.CanonicalHeaderKey(ln)] = v.values()
	}
	setCookies(h, resp.Cookies)
	h["Server"] = serverCloudFront
	h["Cloudfront-Functions"] = functionGenerated
	h.Set("Content-Length", strconv.Itoa(len(body)))
	rs.fnGenerated = true
	e.stamp(h, rs, "FunctionGeneratedResponse")
	rs.status = resp.StatusCode
	w.WriteHeader(resp.StatusCode)
	if rs.r.Method != http.MethodHead {
		n, _ := w.Write(body)
		rs.bytes = int64(n)
	}
	return nil
}

func setCookies(h http.Header, cookies map[string]FunctionValue) {
	names := make([]string, 0, len(cookies))
	for n := range cookies {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		c := cookies[n]
		vals := c.MultiValue
		if len(vals) == 0 {
			vals = []FunctionValue{c}
		}
		for _, v := range vals {
			line := n + "=" + v.Value
			if v.Attributes != "" {
				line += "; " + v.Attributes
			}
			h.Add("Set-Cookie", line)
		}
	}
}

// viewerResponse runs the behaviour's viewer-response function, if it has one, on a
// response about to be sent with headers h; it does not run for statuses of 400 and
// above (§3.4). It returns the status to send and, when body is not nil, the body to
// send instead of the origin's: the one the function set, or CloudFront's 503 error page
// when the function failed (h then holds that page's headers; the log says why).
func (e *Edge) viewerResponse(h http.Header, rs *reqState, status int) (int, []byte) {
	if rs.b == nil || rs.b.viewerResponse == nil || status >= 400 {
		return status, nil
	}
	s, body, err := e.runViewerResponse(h, rs, status)
	if err == nil {
		return s, body
	}
	e.log.Info("viewer-response function failed", "function", rs.b.viewerResponse.Name, "err", err)
	for k := range h {
		delete(h, k)
	}
	fe := e.errorEntry(http.StatusServiceUnavailable, "The CloudFront function associated with the cache behavior failed.", rs.id)
	for k, v := range fe.header {
		h[k] = v
	}
	e.stamp(h, rs, "Error")
	rs.detail = "FunctionExecutionError"
	return fe.status, fe.body
}

// runViewerResponse runs the viewer-response function on a response about to be sent (h
// holds its headers). It returns the status to send and the body the function set (nil:
// the origin's body stays). The function does not see the origin's body; it may replace
// it (DG functions-event-structure, "Response object").
func (e *Edge) runViewerResponse(h http.Header, rs *reqState, status int) (int, []byte, error) {
	fn := rs.b.viewerResponse
	ev := e.newFunctionEvent(rs, "viewer-response")
	resp := &FunctionResponse{StatusCode: status, StatusDescription: http.StatusText(status), Headers: map[string]FunctionValue{}, Cookies: map[string]FunctionValue{}}
	for name, vs := range h {
		ln := strings.ToLower(name)
		if ln == "set-cookie" {
			for _, v := range vs {
				nv, attrs, _ := strings.Cut(v, ";")
				n, val, _ := strings.Cut(strings.TrimSpace(nv), "=")
				resp.Cookies[n] = FunctionValue{Value: val, Attributes: strings.TrimSpace(attrs)}
			}
			continue
		}
		for _, v := range vs {
			addValue(resp.Headers, ln, v)
		}
	}
	ev.Response = resp
	before := maps2(resp.Headers)
	res, err := e.invoke(fn, ev)
	if err != nil {
		return 0, nil, &functionError{err}
	}
	if res == nil || res.Response == nil {
		return 0, nil, &functionError{errors.New("viewer-response handler must return the response")}
	}
	out := res.Response
	for name, v := range out.Headers {
		ln := strings.ToLower(name)
		if disallowedFunctionHeader(ln) && !reflect.DeepEqual(before[ln], v) {
			return 0, nil, &functionError{fmt.Errorf("header %s is read-only", ln)}
		}
	}
	var body []byte
	if out.Body != nil {
		if body, err = out.Body.bytes(); err != nil {
			return 0, nil, &functionError{err}
		}
		if body == nil {
			body = []byte{}
		}
	}
	// Rebuild the headers from the function's response; CloudFront's own headers stay.
	keep := map[string][]string{}
	for _, k := range []string{"X-Cache", "Via", "X-Amz-Cf-Pop", "X-Amz-Cf-Id", "Age", "Content-Length", "Content-Encoding", "Transfer-Encoding"} {
		if v, ok := h[k]; ok {
			keep[k] = v
		}
	}
	for k := range h {
		delete(h, k)
	}
	for name, v := range out.Headers {
		h[http.CanonicalHeaderKey(strings.ToLower(name))] = v.values()
	}
	for k, v := range keep {
		h[k] = v
	}
	if body != nil {
		// The function's body replaces the origin's, as it is: not compressed, its length.
		delete(h, "Content-Encoding")
		delete(h, "Transfer-Encoding")
		h["Content-Length"] = []string{strconv.Itoa(len(body))}
	}
	setCookies(h, out.Cookies)
	if out.StatusCode >= 100 && out.StatusCode <= 599 {
		status = out.StatusCode
	}
	return status, body, nil
}

// bytes decodes a function's body (§3.4): text as is, base64 decoded.
func (b *FunctionBody) bytes() ([]byte, error) {
	switch b.Encoding {
	case "", "text":
		return []byte(b.Data), nil
	case "base64":
		out, err := base64.StdEncoding.DecodeString(b.Data)
		if err != nil {
			return nil, errors.New("body: invalid base64")
		}
		return out, nil
	}
	return nil, fmt.Errorf("body encoding %q", b.Encoding)
}

func maps2(m map[string]FunctionValue) map[string]FunctionValue {
	out := make(map[string]FunctionValue, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
