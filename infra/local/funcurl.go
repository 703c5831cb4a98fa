package local

// This file hosts a Lambda handler behind HTTP exactly as a Lambda function URL does
// (spec/cloudfront.md §6): it builds the payload-2.0 event from the request, invokes the
// handler through aws-lambda-go's own JSON path, and turns the result into an HTTP answer
// by Lambda's response rules. With AuthType AWS_IAM it first verifies the SigV4 signature
// for service "lambda" and the body hash, as Lambda does for CloudFront's OAC (§5.2).

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/google/uuid"

	"github.com/twinedge/twinedge/internal/sigv4"
)

// AuthType is a function URL's auth type.
type AuthType string

// Function URL auth types.
const (
	AuthNone AuthType = "NONE"
	AuthIAM  AuthType = "AWS_IAM"
)

// MaxPayloadBytes is Lambda's limit on a synchronous invocation's request and response
// payloads: 6 MB, enforced as 6,291,556 bytes (spec/cloudfront.md §6.3).
const MaxPayloadBytes = 6_291_556

// Lambda's answers when it refuses a request itself. The signature text is what Lambda
// sends for a body without a matching x-amz-content-sha256 (spec/cloudfront.md §5.2).
const (
	msgSignatureMismatch = "The request signature we calculated does not match the signature you provided. " +
		"Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	msgForbidden       = "Forbidden"
	msgRequestTooLarge = "Request must be smaller than 6291556 bytes for the InvokeFunction operation"
	// [INFER] The exact texts of the next two are not in the sources; the statuses are.
	msgResponseTooLarge = "Response payload size exceeded maximum allowed payload size (6291556 bytes)."
	msgInternal         = "Internal Server Error"
)

// FunctionURLConfig configures a FunctionURL. Region, URLID and Handler are required.
type FunctionURLConfig struct {
	// Region is the function's region, as in "<url-id>.lambda-url.<region>.on.aws".
	Region string
	// URLID is the function URL's id (32 lower-case letters and digits on AWS).
	URLID string
	// Handler is any handler lambda.NewHandler accepts, for example (*api.Handler).Handle.
	Handler any
	// AuthType is NONE or AWS_IAM (default AWS_IAM, which CloudFront's OAC needs).
	AuthType AuthType
	// Credentials are the key pair AWS_IAM requests must be signed with.
	Credentials aws.Credentials
	// AccountID is the function owner's account (default "123456789012"); with AWS_IAM it is
	// also the caller's account in requestContext.authorizer.iam.
	AccountID string
	// Timeout is the function timeout (default 30 s); a handler that runs longer fails the
	// request with 502, as a timed-out invocation does.
	Timeout time.Duration
	// Now is the clock for requestContext.time and signature checks (default time.Now).
	Now func() time.Time
	// Logger receives one line per failed invocation (default: discard).
	Logger *slog.Logger
}

// FunctionURL is an http.Handler that behaves like a Lambda function URL in front of a handler.
type FunctionURL struct {
	cfg FunctionURLConfig
	// sandboxes holds lambda.Handler values, each used by one invocation at a time, like
	// Lambda's execution environments. One shared value would not do: aws-lambda-go returns
	// the response in a pooled buffer that the next invocation may reuse.
	sandboxes sync.Pool
}

// NewFunctionURL returns the function-URL host for cfg.
func NewFunctionURL(cfg FunctionURLConfig) (*FunctionURL, error) {
	if cfg.Region == "" || cfg.URLID == "" || cfg.Handler == nil {
		return nil, errors.New("function URL: region, URL id and handler are required")
	}
	switch cfg.AuthType {
	case "":
		cfg.AuthType = AuthIAM
	case AuthNone, AuthIAM:
	default:
		return nil, fmt.Errorf("function URL: auth type %q: use NONE or AWS_IAM", cfg.AuthType)
	}
	if cfg.AuthType == AuthIAM && cfg.Credentials.AccessKeyID == "" {
		return nil, errors.New("function URL: AWS_IAM needs credentials")
	}
	if cfg.AccountID == "" {
		cfg.AccountID = "123456789012"
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	f := &FunctionURL{cfg: cfg}
	f.sandboxes.New = func() any { return lambda.NewHandler(cfg.Handler) }
	return f, nil
}

// Domain returns the function URL's host name, "<url-id>.lambda-url.<region>.on.aws".
func (f *FunctionURL) Domain() string {
	return f.cfg.URLID + ".lambda-url." + f.cfg.Region + ".on.aws"
}

// ServeHTTP implements http.Handler.
func (f *FunctionURL) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	now := f.cfg.Now()
	requestID := uuid.NewString()
	w.Header().Set("x-amzn-RequestId", requestID)

	var caller *iamCaller
	if f.cfg.AuthType == AuthIAM {
		c, ok := f.authorize(w, r, now)
		if !ok {
			return
		}
		caller = c
	}

	// Read one byte past the limit: the event is larger than the body, so a body at the limit
	// already makes an oversize payload.
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxPayloadBytes+1))
	if err != nil {
		lambdaError(w, http.StatusBadRequest, "InvalidRequestContentException", "Message", "Could not read the request body.")
		return
	}
	if len(body) > MaxPayloadBytes {
		// Over Lambda's limit whatever the event adds. Answered before the payload hash is
		// compared: only part of the body was read, so the hash could only mismatch, and
		// Lambda answers an oversize request with 413 RequestEntityTooLargeException.
		lambdaError(w, http.StatusRequestEntityTooLarge, "RequestEntityTooLargeException", "Message", msgRequestTooLarge)
		return
	}
	if caller != nil && caller.payloadHash != "" {
		sum := sha256.Sum256(body)
		if caller.payloadHash != hex.EncodeToString(sum[:]) {
			lambdaError(w, http.StatusForbidden, "InvalidSignatureException", "message", msgSignatureMismatch)
			return
		}
	}
	payload, err := json.Marshal(f.event(r, body, caller, requestID, now))
	if err != nil || len(payload) > MaxPayloadBytes {
		lambdaError(w, http.StatusRequestEntityTooLarge, "RequestEntityTooLargeException", "Message", msgRequestTooLarge)
		return
	}

	out, err := f.call(r.Context(), payload, requestID)
	if err != nil {
		if !errors.Is(err, context.Canceled) {
			f.cfg.Logger.Error("function URL: invocation failed", "region", f.cfg.Region, "requestId", requestID, "err", err)
		}
		lambdaError(w, http.StatusBadGateway, "", "Message", msgInternal)
		return
	}
	if len(out) > MaxPayloadBytes {
		lambdaError(w, http.StatusBadGateway, "", "Message", msgResponseTooLarge)
		return
	}
	resp, err := parseFunctionResponse(out)
	if err != nil {
		f.cfg.Logger.Error("function URL: invalid response", "region", f.cfg.Region, "requestId", requestID, "err", err)
		lambdaError(w, http.StatusBadGateway, "", "Message", msgInternal)
		return
	}
	for k, v := range resp.headers {
		w.Header().Set(k, v)
	}
	for _, c := range resp.cookies {
		w.Header().Add("Set-Cookie", c)
	}
	w.Header().Set("Content-Length", fmt.Sprint(len(resp.body)))
	w.WriteHeader(resp.status)
	if r.Method != http.MethodHead {
		w.Write(resp.body)
	}
}

// call invokes the handler with Lambda's context values and deadline, turning a panic into an
// error as the Lambda runtime does.
func (f *FunctionURL) call(ctx context.Context, payload []byte, requestID string) (out []byte, err error) {
	ctx, cancel := context.WithTimeout(ctx, f.cfg.Timeout)
	defer cancel()
	ctx = lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{
		AwsRequestID:       requestID,
		InvokedFunctionArn: "arn:aws:lambda:" + f.cfg.Region + ":" + f.cfg.AccountID + ":function:twinedge-api",
	})
	type result struct {
		out []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- result{err: fmt.Errorf("handler panicked: %v", p)}
			}
		}()
		h := f.sandboxes.Get().(lambda.Handler)
		out, err := h.Invoke(ctx, payload)
		out = bytes.Clone(out) // before another invocation can reuse the buffer
		f.sandboxes.Put(h)
		done <- result{out, err}
	}()
	select {
	case res := <-done:
		return res.out, res.err
	case <-ctx.Done():
		return nil, fmt.Errorf("task timed out after %s: %w", f.cfg.Timeout, ctx.Err())
	}
}

// iamCaller is who signed an AWS_IAM request, and the body hash the signature covers.
type iamCaller struct {
	accessKey   string
	payloadHash string // hex; "" when the body is empty
}

// authorize verifies an AWS_IAM request, answering 403 as Lambda does when it fails: the
// handler is then not invoked.
func (f *FunctionURL) authorize(w http.ResponseWriter, r *http.Request, now time.Time) (*iamCaller, bool) {
	hasBody := r.ContentLength != 0 && r.Body != nil && r.Body != http.NoBody
	// Lambda does not accept unsigned payloads: a body's hash must be declared and signed
	// (spec/cloudfront.md §5.2). The body is read and checked against it by ServeHTTP.
	sv, err := sigv4.Verify(r, f.cfg.Credentials, sigv4.Rule{Service: "lambda", Regions: []string{f.cfg.Region}, Payload: sigv4.SignedPayload}, now)
	if err != nil {
		var se *sigv4.Error
		if !errors.As(err, &se) {
			lambdaError(w, http.StatusForbidden, "AccessDeniedException", "Message", msgForbidden)
			return nil, false
		}
		switch se.Kind {
		case sigv4.Missing:
			lambdaError(w, http.StatusForbidden, "AccessDeniedException", "Message", msgForbidden)
		case sigv4.Mismatch:
			lambdaError(w, http.StatusForbidden, "InvalidSignatureException", "message", msgSignatureMismatch)
		default:
			lambdaError(w, se.Status, se.Code, "message", se.Message)
		}
		return nil, false
	}
	c := &iamCaller{accessKey: sv.AccessKeyID}
	if hasBody && !sv.BodyChecked {
		c.payloadHash = strings.ToLower(sv.PayloadHash)
	}
	return c, true
}

// lambdaError writes an error Lambda itself answers, before or instead of the function.
// Lambda's JSON errors name the message "Message", except signature errors ("message").
func lambdaError(w http.ResponseWriter, status int, errType, key, msg string) {
	b, _ := json.Marshal(map[string]string{key: msg})
	w.Header().Set("Content-Type", "application/json")
	if errType != "" {
		w.Header().Set("x-amzn-ErrorType", errType)
	}
	w.WriteHeader(status)
	w.Write(b)
}

// urlEvent is the payload-2.0 event as Lambda sends it, including the fields
// events.LambdaFunctionURLRequest leaves out (routeKey, stage, the null ones): the JSON a
// handler receives is the same as on AWS, whatever type it decodes into.
type urlEvent struct {
	Version               string            `json:"version"`
	RouteKey              string            `json:"routeKey"`
	RawPath               string            `json:"rawPath"`
	RawQueryString        string            `json:"rawQueryString"`
	Cookies               []string          `json:"cookies,omitempty"`
	Headers               map[string]string `json:"headers"`
	QueryStringParameters map[string]string `json:"queryStringParameters,omitempty"`
	RequestContext        urlContext        `json:"requestContext"`
	Body                  string            `json:"body,omitempty"`
	PathParameters        *struct{}         `json:"pathParameters"`
	IsBase64Encoded       bool              `json:"isBase64Encoded"`
	StageVariables        *struct{}         `json:"stageVariables"`
}

type urlContext struct {
	AccountID      string         `json:"accountId"`
	APIID          string         `json:"apiId"`
	Authentication *struct{}      `json:"authentication"`
	Authorizer     *urlAuthorizer `json:"authorizer,omitempty"`
	DomainName     string         `json:"domainName"`
	DomainPrefix   string         `json:"domainPrefix"`
	HTTP           urlHTTP        `json:"http"`
	RequestID      string         `json:"requestId"`
	RouteKey       string         `json:"routeKey"`
	Stage          string         `json:"stage"`
	Time           string         `json:"time"`
	TimeEpoch      int64          `json:"timeEpoch"`
}

type urlAuthorizer struct {
	IAM urlIAM `json:"iam"`
}

type urlIAM struct {
	AccessKey       string    `json:"accessKey"`
	AccountID       string    `json:"accountId"`
	CallerID        string    `json:"callerId"`
	CognitoIdentity *struct{} `json:"cognitoIdentity"`
	PrincipalOrgID  *string   `json:"principalOrgId"`
	UserARN         string    `json:"userArn"`
	UserID          string    `json:"userId"`
}

type urlHTTP struct {
	Method    string `json:"method"`
	Path      string `json:"path"`
	Protocol  string `json:"protocol"`
	SourceIP  string `json:"sourceIp"`
	UserAgent string `json:"userAgent"`
}

// localUserID stands in for the IAM user id of the world's key pair.
const localUserID = "AIDATWINEDGELOCAL0001"

// event builds the payload-2.0 event for r (spec/cloudfront.md §6.1).
func (f *FunctionURL) event(r *http.Request, body []byte, caller *iamCaller, requestID string, now time.Time) urlEvent {
	sourceIP, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		sourceIP = r.RemoteAddr
	}
	ev := urlEvent{
		Version:        "2.0",
		RouteKey:       "$default",
		RawPath:        r.URL.EscapedPath(),
		RawQueryString: r.URL.RawQuery,
		Headers:        map[string]string{},
		RequestContext: urlContext{
			AccountID:    "anonymous", // AuthType NONE
			APIID:        f.cfg.URLID,
			DomainName:   f.Domain(),
			DomainPrefix: f.cfg.URLID,
			HTTP: urlHTTP{
				Method: r.Method, Path: r.URL.Path, Protocol: r.Proto,
				SourceIP: sourceIP, UserAgent: r.UserAgent(),
			},
			RequestID: requestID,
			RouteKey:  "$default",
			Stage:     "$default",
			Time:      now.UTC().Format("02/Jan/2006:15:04:05 -0700"),
			TimeEpoch: now.UnixMilli(),
		},
	}
	if caller != nil {
		ev.RequestContext.AccountID = f.cfg.AccountID
		ev.RequestContext.Authorizer = &urlAuthorizer{IAM: urlIAM{
			AccessKey: caller.accessKey, AccountID: f.cfg.AccountID, CallerID: localUserID,
			UserARN: "arn:aws:iam::" + f.cfg.AccountID + ":user/twinedge-local", UserID: localUserID,
		}}
	}
	// Header names in lower case, repeated values joined with commas; cookies go to their
	// own list (§6.1).
	for name, values := range r.Header {
		name = strings.ToLower(name)
		if name == "cookie" {
			for _, v := range values {
				for _, c := range strings.Split(v, ";") {
					if c = strings.TrimSpace(c); c != "" {
						ev.Cookies = append(ev.Cookies, c)
					}
				}
			}
			continue
		}
		ev.Headers[name] = strings.Join(values, ",")
	}
	if r.Host != "" {
		ev.Headers["host"] = r.Host
	}
	// Headers Lambda's front end adds. [INFER from events captured on AWS: CloudFront's or
	// the client's address is appended to x-forwarded-for; function URLs are HTTPS only.]
	if xff := ev.Headers["x-forwarded-for"]; xff != "" {
		ev.Headers["x-forwarded-for"] = xff + ", " + sourceIP
	} else {
		ev.Headers["x-forwarded-for"] = sourceIP
	}
	ev.Headers["x-forwarded-proto"] = "https"
	ev.Headers["x-forwarded-port"] = "443"
	ev.Headers["x-amzn-trace-id"] = "Root=1-" + fmt.Sprintf("%08x", now.Unix()) + "-" + strings.ReplaceAll(requestID, "-", "")[:24]

	if r.URL.RawQuery != "" {
		ev.QueryStringParameters = map[string]string{}
		q, _ := url.ParseQuery(r.URL.RawQuery) // keeps what parses, as Lambda does [INFER]
		for k, vs := range q {
			ev.QueryStringParameters[k] = strings.Join(vs, ",")
		}
		if len(ev.QueryStringParameters) == 0 {
			ev.QueryStringParameters = nil
		}
	}
	if len(body) > 0 {
		if isTextBody(r.Header.Get("Content-Type"), body) {
			ev.Body = string(body)
		} else {
			ev.Body = base64.StdEncoding.EncodeToString(body)
			ev.IsBase64Encoded = true
		}
	}
	return ev
}

// isTextBody decides whether a body travels as text or base64 (isBase64Encoded). Textual
// media types (text/*, JSON, XML, JavaScript, form data) in valid UTF-8 travel as text;
// anything else, including a textual type whose bytes are not UTF-8, as base64. A body
// without a content type travels as text when it is valid UTF-8, as in AWS's documented
// example event. [INFER: Lambda documents only "binary bodies are base64-encoded".]
func isTextBody(contentType string, body []byte) bool {
	if !utf8.Valid(body) {
		return false
	}
	if contentType == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	switch {
	case strings.HasPrefix(mt, "text/"),
		mt == "application/json", strings.HasSuffix(mt, "+json"),
		mt == "application/xml", strings.HasSuffix(mt, "+xml"),
		mt == "application/javascript", mt == "application/x-www-form-urlencoded",
		mt == "application/graphql", mt == "application/yaml":
		return true
	}
	return false
}

// functionResponse is an HTTP answer derived from a handler's result.
type functionResponse struct {
	status  int
	headers map[string]string
	cookies []string
	body    []byte
}

// parseFunctionResponse applies Lambda's response rules (spec/cloudfront.md §6.2): a JSON
// object with statusCode is a structured response (headers, cookies → Set-Cookie, body,
// base64 when isBase64Encoded); any other valid JSON is the body of a 200 application/json
// answer; invalid JSON is an error (502).
func parseFunctionResponse(out []byte) (functionResponse, error) {
	plain := functionResponse{status: http.StatusOK, headers: map[string]string{"Content-Type": "application/json"}, body: out}
	trimmed := bytes.TrimSpace(out)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		if !json.Valid(out) {
			return functionResponse{}, errors.New("the function returned invalid JSON")
		}
		return plain, nil
	}
	var s struct {
		StatusCode      json.RawMessage   `json:"statusCode"`
		Headers         map[string]string `json:"headers"`
		Body            string            `json:"body"`
		IsBase64Encoded bool              `json:"isBase64Encoded"`
		Cookies         []string          `json:"cookies"`
	}
	if err := json.Unmarshal(trimmed, &s); err != nil {
		// Invalid JSON, or an object whose fields do not fit a structured response; the
		// latter is a plain JSON answer unless it claims to be structured.
		var probe map[string]json.RawMessage
		if json.Unmarshal(trimmed, &probe) != nil {
			return functionResponse{}, errors.New("the function returned invalid JSON")
		}
		if _, ok := probe["statusCode"]; ok {
			return functionResponse{}, fmt.Errorf("structured response: %w", err)
		}
		return plain, nil
	}
	if s.StatusCode == nil {
		return plain, nil
	}
	var status int
	if err := json.Unmarshal(s.StatusCode, &status); err != nil || status < 100 || status > 599 {
		return functionResponse{}, fmt.Errorf("structured response: status code %s", s.StatusCode)
	}
	resp := functionResponse{status: status, headers: map[string]string{}, cookies: s.Cookies, body: []byte(s.Body)}
	for k, v := range s.Headers {
		resp.headers[k] = v
	}
	if s.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(s.Body)
		if err != nil {
			return functionResponse{}, fmt.Errorf("structured response: body is not base64: %w", err)
		}
		resp.body = b
	}
	if !hasHeader(resp.headers, "Content-Type") {
		// [INFER] Lambda answers application/json when the function names no type.
		resp.headers["Content-Type"] = "application/json"
	}
	return resp, nil
}

func hasHeader(h map[string]string, name string) bool {
	for k := range h {
		if strings.EqualFold(k, name) {
			return true
		}
	}
	return false
}

var _ http.Handler = (*FunctionURL)(nil)
