// Package sigv4 verifies AWS Signature Version 4 on incoming requests. Every local stand-in of
// an AWS API accepts only requests signed with the world's key pair, as AWS does: the local S3
// origins, the function-URL hosts, the edge's CloudFront control API and the world's admin
// API. The edge's own OAC signatures (aws-sdk-go-v2 signer), the release's SDK clients and the
// aws CLI must all pass.
//
// Each caller states, in a Rule, the service and region(s) the credential scope must name and
// what the payload hash may be: the hex SHA-256 of the body (checked here for bodies read
// whole), UNSIGNED-PAYLOAD (S3 only) or a STREAMING-* aws-chunked marker (S3 only). A
// signature that does not cover the body it arrives with is refused, so a captured request
// cannot be replayed with another body within the 15 minutes the signing time allows.
//
// The canonical request is rebuilt here by hand rather than by re-signing a clone with the SDK
// signer: a signer decides itself which headers to sign, and a verifier must use exactly the
// headers the client listed in SignedHeaders.
//
// References: https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html,
// https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html,
// https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html,
// https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html.
package sigv4

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

const (
	algorithm = "AWS4-HMAC-SHA256"
	timeFmt   = "20060102T150405Z"
	dateFmt   = "20060102"

	// MaxSkew is how far a request's signing time may be from the server's clock.
	// S3: "The difference between the request time and the server's time is too large" beyond 15 minutes.
	MaxSkew = 15 * time.Minute

	// maxPresignExpires is S3's limit on X-Amz-Expires (seven days).
	maxPresignExpires = 7 * 24 * time.Hour

	// EmptyPayloadHash is the hex SHA-256 of an empty payload.
	EmptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	// UnsignedPayload is the payload hash S3 accepts in place of a body hash.
	UnsignedPayload = "UNSIGNED-PAYLOAD"
	// streamingPrefix starts every aws-chunked payload marker, such as
	// STREAMING-AWS4-HMAC-SHA256-PAYLOAD and STREAMING-UNSIGNED-PAYLOAD-TRAILER.
	streamingPrefix = "STREAMING-"
)

// Payload is what a service lets x-amz-content-sha256 be. Each level allows the ones before it.
type Payload int

const (
	// SignedPayload: the signature must cover the body's SHA-256. Lambda ("Lambda doesn't support
	// unsigned payloads", spec/cloudfront.md §5.2), CloudFront's API and the admin API.
	SignedPayload Payload = iota
	// UnsignedAllowed: UNSIGNED-PAYLOAD may stand in for the hash (S3).
	UnsignedAllowed
	// StreamingAllowed: a STREAMING-* marker may too; the caller decodes the aws-chunked body
	// and checks its chunk signatures with Signature.ChunkSignature (S3 PUT and UploadPart).
	StreamingAllowed
)

// Rule is what one endpoint requires of a signature.
type Rule struct {
	// Service is the service the credential scope must name ("s3", "lambda", "cloudfront").
	Service string
	// Regions are the regions the scope may name; a request signed for any other is refused.
	// It must not be empty: every AWS endpoint belongs to a region (CloudFront's API to us-east-1).
	Regions []string
	// Payload is what x-amz-content-sha256 may be; the zero value requires a signed hash.
	Payload Payload
	// ServerHashes: a body sent without x-amz-content-sha256 is hashed here and the signature
	// must cover that hash, as query and REST-JSON services such as CloudFront do. Without it, a
	// body needs the header (S3 requires the header on every request, body or not).
	ServerHashes bool
	// MaxBody bounds the bodies Verify reads whole: to hash them (ServerHashes) and to check a
	// signed hex hash against them, the body then being put back for the handler. A larger body
	// is refused with TooLarge (413). Zero means Verify does not read the body: the caller
	// streams it and must compare its SHA-256 with a hex Signature.PayloadHash itself
	// (Signature.BodyChecked is false). ServerHashes needs MaxBody.
	MaxBody int64
}

// Kind classifies a verification failure, so callers decide on the kind and not on
// service-specific code strings.
type Kind int

// The kinds of verification failures.
const (
	Missing    Kind = iota + 1 // no Authorization header and no X-Amz-Algorithm query
	Malformed                  // unparsable header/query, bad date, unknown algorithm
	WrongScope                 // service or region in the credential scope is not the endpoint's
	UnknownKey                 // access key id is not the world's
	Mismatch                   // signature does not match, or does not cover the body
	Skewed                     // signing time more than MaxSkew away
	Expired                    // presigned URL past X-Amz-Expires
	BadToken                   // session token missing or wrong
	TooLarge                   // body larger than Rule.MaxBody
)

// Error is a failed verification. Code is the error code the AWS service named by the rule's
// Service answers with (S3 codes for "s3"; Lambda's for "lambda"; the generic query/JSON
// protocol codes otherwise); Status is the HTTP status to answer.
type Error struct {
	Kind    Kind
	Code    string
	Message string
	Status  int
	// Region is set for a wrong-region scope: the region the server expected (S3 reports it in
	// the <Region> element of AuthorizationHeaderMalformed).
	Region string
}

func (e *Error) Error() string { return "sigv4: " + e.Code + ": " + e.Message }

// Signature is a verified request's signature: who signed it, for what scope, and the payload
// hash the signature covers.
type Signature struct {
	AccessKeyID   string
	Date          time.Time // signing time (X-Amz-Date)
	Region        string
	Service       string
	SignedHeaders []string // lower case, as listed by the client
	Signature     string   // hex; the seed signature of an aws-chunked body
	Presigned     bool
	// PayloadHash is the payload hash the signature covers: the x-amz-content-sha256 value (a hex
	// hash, UNSIGNED-PAYLOAD, or a STREAMING-* marker), or, when the client sent none, the hash
	// Verify computed from the body.
	PayloadHash string
	// BodyChecked: Verify read the body and it matches PayloadHash (Rule.MaxBody > 0, or an empty
	// body). Otherwise a caller that consumes the body must check a hex PayloadHash against it.
	BodyChecked bool

	signingKey []byte
	scope      string
}

// Scope returns the credential scope "YYYYMMDD/region/service/aws4_request".
func (s *Signature) Scope() string { return s.scope }

// ChunkSignature returns the signature of one chunk of a STREAMING-AWS4-HMAC-SHA256-PAYLOAD
// body, given the previous signature (the seed signature for the first chunk) and the SHA-256
// of the chunk's data. https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html
func (s *Signature) ChunkSignature(prev string, chunkSHA256 []byte) string {
	sts := "AWS4-HMAC-SHA256-PAYLOAD\n" + s.Date.UTC().Format(timeFmt) + "\n" + s.scope + "\n" +
		prev + "\n" + EmptyPayloadHash + "\n" + hex.EncodeToString(chunkSHA256)
	return hex.EncodeToString(hmacSHA256(s.signingKey, sts))
}

// TrailerSignature returns the signature of the trailing headers of a
// STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER body, given the last chunk's signature and the
// SHA-256 of the trailer text (each "name:value\n").
func (s *Signature) TrailerSignature(prev string, trailerSHA256 []byte) string {
	sts := "AWS4-HMAC-SHA256-TRAILER\n" + s.Date.UTC().Format(timeFmt) + "\n" + s.scope + "\n" +
		prev + "\n" + hex.EncodeToString(trailerSHA256)
	return hex.EncodeToString(hmacSHA256(s.signingKey, sts))
}

// Verify verifies r's SigV4 signature (Authorization header or presigned query) against creds
// and rule. It reads the body only as rule.MaxBody says, and then puts it back. It returns an
// *Error on failure.
func Verify(r *http.Request, creds aws.Credentials, rule Rule, now time.Time) (*Signature, error) {
	ec := codes(rule.Service)
	p, err := parse(r)
	if err != nil {
		return nil, ec.err(err.(*parseError))
	}
	if p.service != rule.Service {
		return nil, ec.wrongService(p.service, rule.Service)
	}
	if !slices.Contains(rule.Regions, p.region) {
		return nil, ec.wrongRegion(p.region, strings.Join(rule.Regions, "' or '"))
	}
	if p.accessKey != creds.AccessKeyID {
		return nil, ec.unknownKey()
	}
	if creds.SessionToken != "" && p.token != creds.SessionToken {
		return nil, ec.badToken()
	}
	if p.presigned {
		if now.Before(p.date.Add(-MaxSkew)) {
			return nil, ec.notYetValid()
		}
		if now.After(p.date.Add(p.expires)) {
			return nil, ec.expired()
		}
	} else if d := now.Sub(p.date); d > MaxSkew || d < -MaxSkew {
		return nil, ec.skewed(p.date, now)
	}

	sv := &Signature{
		AccessKeyID:   p.accessKey,
		Date:          p.date,
		Region:        p.region,
		Service:       p.service,
		SignedHeaders: p.signedHeaders,
		Signature:     p.signature,
		Presigned:     p.presigned,
		scope:         p.scope,
	}
	var body []byte // the body when read whole
	sv.PayloadHash, body, err = payloadHash(r, rule, p.presigned)
	if err != nil {
		return nil, err
	}
	sv.signingKey = signingKey(creds.SecretAccessKey, p.scopeDate, p.region, p.service)

	headers, err := canonicalHeaders(r, p.signedHeaders)
	if err != nil {
		return nil, ec.malformed(err.Error())
	}
	return finish(r, rule, p, headers, sv, body, algorithm, func(sts string) bool {
		want := hex.EncodeToString(hmacSHA256(sv.signingKey, sts))
		return subtle.ConstantTimeCompare([]byte(want), []byte(strings.ToLower(p.signature))) == 1
	})
}

// finish checks the signature over the canonical request of r (for each form of its URI
// the service allows) with verify, which gets the string to sign of algorithm alg; then
// it reads and checks the body when the rule wants it checked and it was not read yet.
func finish(r *http.Request, rule Rule, p *params, headers string, sv *Signature, body []byte, alg string, verify func(sts string) bool) (*Signature, error) {
	ec := codes(rule.Service)
	query := canonicalQuery(r.URL.RawQuery, p.presigned)
	matched := false
	for _, uri := range canonicalURIs(r, rule.Service) {
		creq := r.Method + "\n" + uri + "\n" + query + "\n" + headers + "\n" +
			strings.Join(p.signedHeaders, ";") + "\n" + sv.PayloadHash
		sum := sha256.Sum256([]byte(creq))
		if verify(alg + "\n" + p.amzDate + "\n" + p.scope + "\n" + hex.EncodeToString(sum[:])) {
			matched = true
			break
		}
	}
	if !matched {
		return nil, ec.mismatch()
	}
	// Only now is the body read to be checked: an unauthenticated request costs no body read.
	if body == nil && rule.MaxBody > 0 && isHexSHA256(sv.PayloadHash) {
		var err error
		if body, err = readBody(r, rule); err != nil {
			return nil, err
		}
		if sum := sha256.Sum256(body); !strings.EqualFold(hex.EncodeToString(sum[:]), sv.PayloadHash) {
			return nil, ec.bodyMismatch()
		}
	}
	sv.BodyChecked = body != nil || !hasBody(r) && strings.EqualFold(sv.PayloadHash, EmptyPayloadHash)
	return sv, nil
}

// payloadHash returns the payload hash the signature covers, as rule allows it, and the body
// when it had to be read to compute the hash.
func payloadHash(r *http.Request, rule Rule, presigned bool) (string, []byte, error) {
	ec := codes(rule.Service)
	h := r.Header.Get("X-Amz-Content-Sha256")
	if h == "" && presigned {
		h = r.URL.Query().Get("X-Amz-Content-Sha256")
		if h == "" && rule.Service == "s3" {
			// A presigned S3 URL covers no body hash (sigv4-query-string-auth.html).
			h = UnsignedPayload
		}
	}
	switch {
	case h == "" && rule.Service == "s3":
		// S3: "Missing required header for this request: x-amz-content-sha256".
		return "", nil, &Error{Kind: Malformed, Code: "InvalidRequest", Status: http.StatusBadRequest,
			Message: "missing required header for this request: x-amz-content-sha256"}
	case h == "" && !hasBody(r):
		return EmptyPayloadHash, nil, nil
	case h == "" && rule.ServerHashes:
		body, err := readBody(r, rule)
		if err != nil {
			return "", nil, err
		}
		sum := sha256.Sum256(body)
		return hex.EncodeToString(sum[:]), body, nil
	case h == "":
		return "", nil, ec.unsignedBody("a request body needs its SHA-256 in x-amz-content-sha256, signed")
	case isHexSHA256(h):
		return h, nil, nil
	case h == UnsignedPayload:
		if rule.Payload < UnsignedAllowed {
			return "", nil, ec.unsignedBody("x-amz-content-sha256 UNSIGNED-PAYLOAD is not accepted here: the body's SHA-256 must be signed")
		}
		return h, nil, nil
	case strings.HasPrefix(h, streamingPrefix):
		if rule.Payload < StreamingAllowed {
			return "", nil, ec.unsignedBody("x-amz-content-sha256 " + h + " is not accepted here: the body's SHA-256 must be signed")
		}
		return h, nil, nil
	}
	return "", nil, ec.badPayloadHash(h)
}

// hasBody reports whether r may carry a body.
func hasBody(r *http.Request) bool {
	return r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0
}

// readBody reads r's body whole, at most rule.MaxBody bytes, and puts it back.
func readBody(r *http.Request, rule Rule) ([]byte, error) {
	ec := codes(rule.Service)
	if !hasBody(r) {
		return []byte{}, nil
	}
	if rule.MaxBody <= 0 || r.ContentLength > rule.MaxBody {
		return nil, ec.tooLarge(rule.MaxBody)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, rule.MaxBody+1))
	r.Body.Close()
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, ec.tooLarge(mbe.Limit)
		}
		return nil, ec.malformed(fmt.Sprintf("read the body to hash it: %v", err))
	}
	if int64(len(body)) > rule.MaxBody {
		return nil, ec.tooLarge(rule.MaxBody)
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	return body, nil
}

func isHexSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// params are the signature parameters of a request, from the header or the query.
type params struct {
	presigned     bool
	accessKey     string
	scopeDate     string
	region        string
	service       string
	scope         string
	signedHeaders []string
	signature     string
	amzDate       string
	date          time.Time
	expires       time.Duration
	token         string
}

type parseError struct {
	kind Kind
	msg  string
}

func (e *parseError) Error() string { return e.msg }

func malformed(format string, args ...any) error {
	return &parseError{kind: Malformed, msg: fmt.Sprintf(format, args...)}
}

// parse extracts the signature parameters from the Authorization header or the query.
func parse(r *http.Request) (*params, error) {
	auth := r.Header.Get("Authorization")
	q := r.URL.Query()
	var p params
	switch {
	case auth != "":
		if err := parseAuthorization(auth, &p); err != nil {
			return nil, err
		}
		p.amzDate = r.Header.Get("X-Amz-Date")
		if p.amzDate == "" {
			// SigV4 allows the Date header in place of X-Amz-Date (the date must then be signed).
			if d := r.Header.Get("Date"); d != "" {
				t, err := http.ParseTime(d)
				if err != nil {
					return nil, malformed("the Date header %q is not a valid HTTP date", d)
				}
				p.amzDate = t.UTC().Format(timeFmt)
			}
		}
		if p.amzDate == "" {
			return nil, malformed("AWS authentication requires a valid Date or x-amz-date header")
		}
		p.token = r.Header.Get("X-Amz-Security-Token")
	case q.Has("X-Amz-Algorithm") || q.Has("X-Amz-Credential") || q.Has("X-Amz-Signature"):
		p.presigned = true
		if alg := q.Get("X-Amz-Algorithm"); alg != algorithm {
			return nil, malformed("X-Amz-Algorithm only supports %q", algorithm)
		}
		for _, k := range []string{"X-Amz-Credential", "X-Amz-Signature", "X-Amz-SignedHeaders", "X-Amz-Date", "X-Amz-Expires"} {
			if q.Get(k) == "" {
				return nil, malformed("query-string authentication requires the %s parameter", k)
			}
		}
		if err := parseCredential(q.Get("X-Amz-Credential"), &p); err != nil {
			return nil, err
		}
		p.signedHeaders = strings.Split(q.Get("X-Amz-SignedHeaders"), ";")
		p.signature = q.Get("X-Amz-Signature")
		p.amzDate = q.Get("X-Amz-Date")
		secs, err := strconv.ParseInt(q.Get("X-Amz-Expires"), 10, 64)
		if err != nil || secs < 0 {
			return nil, malformed("X-Amz-Expires should be a number")
		}
		p.expires = time.Duration(secs) * time.Second
		if p.expires > maxPresignExpires {
			return nil, malformed("X-Amz-Expires must be less than a week (in seconds) that is 604800")
		}
		p.token = q.Get("X-Amz-Security-Token")
	default:
		return nil, &parseError{kind: Missing, msg: "no Authorization header and no X-Amz-Algorithm query parameter"}
	}

	t, err := time.Parse(timeFmt, p.amzDate)
	if err != nil {
		return nil, malformed("X-Amz-Date %q must be in the ISO8601 long format yyyyMMdd'T'HHmmss'Z'", p.amzDate)
	}
	p.date = t
	if p.scopeDate != t.Format(dateFmt) {
		return nil, malformed("invalid credential date %q: it does not match the request date %q", p.scopeDate, t.Format(dateFmt))
	}
	if len(p.signedHeaders) == 0 || p.signedHeaders[0] == "" {
		return nil, malformed("SignedHeaders is empty")
	}
	hasHost := false
	for i, h := range p.signedHeaders {
		if h == "" || h != strings.ToLower(h) {
			return nil, malformed("SignedHeaders %q must be lower case names separated by ';'", strings.Join(p.signedHeaders, ";"))
		}
		if i > 0 && p.signedHeaders[i-1] >= h {
			return nil, malformed("SignedHeaders must be sorted and unique")
		}
		hasHost = hasHost || h == "host"
	}
	if !hasHost {
		return nil, malformed("the host header must be signed")
	}
	if len(p.signature) != 64 {
		return nil, &parseError{kind: Mismatch, msg: "the signature is not 64 hex digits"}
	}
	return &p, nil
}

// parseAuthorization parses "AWS4-HMAC-SHA256 Credential=AK/20060102/region/service/aws4_request,
// SignedHeaders=a;b, Signature=hex". Components are separated by commas and optional spaces.
func parseAuthorization(auth string, p *params) error {
	alg, rest, ok := strings.Cut(strings.TrimSpace(auth), " ")
	if !ok || alg != algorithm {
		if strings.HasPrefix(auth, "AWS ") {
			return malformed("signature version 2 is not supported; use AWS4-HMAC-SHA256")
		}
		return malformed("unsupported Authorization type; expected %s", algorithm)
	}
	seen := map[string]bool{}
	for part := range strings.SplitSeq(rest, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return malformed("Authorization component %q is not key=value", part)
		}
		if seen[k] {
			return malformed("Authorization component %s appears twice", k)
		}
		seen[k] = true
		switch k {
		case "Credential":
			if err := parseCredential(v, p); err != nil {
				return err
			}
		case "SignedHeaders":
			p.signedHeaders = strings.Split(v, ";")
		case "Signature":
			p.signature = v
		default:
			return malformed("unknown Authorization component %q", k)
		}
	}
	for _, k := range []string{"Credential", "SignedHeaders", "Signature"} {
		if !seen[k] {
			return malformed("Authorization header requires the %s parameter", k)
		}
	}
	return nil
}

// parseCredential parses "AKID/YYYYMMDD/region/service/aws4_request".
func parseCredential(c string, p *params) error {
	parts := strings.Split(c, "/")
	if len(parts) != 5 || parts[4] != "aws4_request" || parts[0] == "" || parts[2] == "" || parts[3] == "" {
		return malformed("the Credential %q is malformed; expecting \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\"", c)
	}
	p.accessKey, p.scopeDate, p.region, p.service = parts[0], parts[1], parts[2], parts[3]
	p.scope = strings.Join(parts[1:], "/")
	return nil
}

// canonicalHeaders renders the signed headers as "name:value\n" lines. Values of a repeated
// header are joined with commas; each value is trimmed and its inner runs of spaces collapsed.
func canonicalHeaders(r *http.Request, signed []string) (string, error) {
	var b strings.Builder
	for _, name := range signed {
		var values []string
		switch name {
		case "host":
			values = []string{r.Host}
		case "content-length":
			values = r.Header.Values("Content-Length")
			if len(values) == 0 && r.ContentLength >= 0 {
				values = []string{strconv.FormatInt(r.ContentLength, 10)}
			}
		case "transfer-encoding":
			values = r.Header.Values("Transfer-Encoding")
			if len(values) == 0 && len(r.TransferEncoding) > 0 {
				values = []string{strings.Join(r.TransferEncoding, ",")}
			}
		default:
			values = r.Header.Values(name)
		}
		if values == nil {
			return "", fmt.Errorf("signed header %q is not in the request", name)
		}
		b.WriteString(name)
		b.WriteByte(':')
		for i, v := range values {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(collapseSpaces(v))
		}
		b.WriteByte('\n')
	}
	return b.String(), nil
}

func collapseSpaces(v string) string {
	v = strings.TrimSpace(v)
	if !strings.Contains(v, "  ") {
		return v
	}
	return strings.Join(strings.Fields(v), " ")
}

// canonicalQuery encodes each name and value (RFC 3986 unreserved characters kept, space as
// %20) and sorts the pairs after encoding. X-Amz-Signature is left out of a presigned query.
func canonicalQuery(raw string, presigned bool) string {
	type pair struct{ k, v string }
	var pairs []pair
	for part := range strings.SplitSeq(raw, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		k, v = queryUnescape(k), queryUnescape(v)
		if presigned && k == "X-Amz-Signature" {
			continue
		}
		pairs = append(pairs, pair{uriEncode(k, true), uriEncode(v, true)})
	}
	sort.Slice(pairs, func(i, j int) bool {
		if pairs[i].k != pairs[j].k {
			return pairs[i].k < pairs[j].k
		}
		return pairs[i].v < pairs[j].v
	})
	var b strings.Builder
	for i, p := range pairs {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.k)
		b.WriteByte('=')
		b.WriteString(p.v)
	}
	return b.String()
}

// queryUnescape decodes a query component as form encoding does ('+' is a space); an invalid
// escape is kept literally.
func queryUnescape(s string) string {
	u, err := url.QueryUnescape(s)
	if err != nil {
		return s
	}
	return u
}

// canonicalURIs returns the canonical URI candidates for r, most likely first. The first is
// the path exactly as the client sent it: SDKs and the aws CLI sign what they send. The second
// is the path decoded and re-encoded per RFC 3986, for clients that sent characters raw that
// they signed encoded. S3 uses the (once-encoded) path; every other service encodes it again.
func canonicalURIs(r *http.Request, service string) []string {
	raw := r.URL.EscapedPath()
	if r.RequestURI != "" && !strings.HasPrefix(r.RequestURI, "*") {
		rawURI := r.RequestURI
		if u, err := url.ParseRequestURI(rawURI); err == nil && u.Host != "" {
			rawURI = u.RequestURI() // absolute-form request target
		}
		raw, _, _ = strings.Cut(rawURI, "?")
	}
	if raw == "" {
		raw = "/"
	}
	norm := uriEncode(r.URL.Path, false)
	if norm == "" {
		norm = "/"
	}
	cands := []string{raw}
	if norm != raw {
		cands = append(cands, norm)
	}
	if service != "s3" {
		for i, c := range cands {
			cands[i] = uriEncode(c, false)
		}
	}
	return cands
}

// uriEncode percent-encodes every byte outside the RFC 3986 unreserved set with upper-case
// hex; '/' is kept unless encodeSlash.
func uriEncode(s string, encodeSlash bool) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9',
			c == '-', c == '_', c == '.', c == '~', c == '/' && !encodeSlash:
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		}
	}
	return b.String()
}

func hmacSHA256(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}

// signingKeys caches derived keys: a key is valid for one day, region and service, and
// deriving it costs four HMACs per request otherwise. The cache is small in practice (a
// world has a few regions and services); it is dropped whole when it grows past 1024.
var signingKeys struct {
	sync.Mutex
	m map[string][]byte
}

func signingKey(secret, date, region, service string) []byte {
	id := secret + "\x00" + date + "\x00" + region + "\x00" + service
	signingKeys.Lock()
	k, ok := signingKeys.m[id]
	signingKeys.Unlock()
	if ok {
		return k
	}
	k = hmacSHA256([]byte("AWS4"+secret), date)
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, service)
	k = hmacSHA256(k, "aws4_request")
	signingKeys.Lock()
	if signingKeys.m == nil || len(signingKeys.m) >= 1024 {
		signingKeys.m = map[string][]byte{}
	}
	signingKeys.m[id] = k
	signingKeys.Unlock()
	return k
}

// errorCodes are the codes one service answers verification failures with.
type errorCodes struct {
	service                                              string
	missing, malformedCode, unknownKeyCode, mismatchCode string
	skewedCode, expiredCode                              string
	missingStatus                                        int
}

func codes(service string) errorCodes {
	switch service {
	case "s3":
		return errorCodes{service, "AccessDenied", "AuthorizationHeaderMalformed", "InvalidAccessKeyId",
			"SignatureDoesNotMatch", "RequestTimeTooSkewed", "AccessDenied", http.StatusForbidden}
	case "lambda":
		// Function URLs with AuthType AWS_IAM; spec/cloudfront.md §5.2 (x-amzn-errortype).
		return errorCodes{service, "AccessDeniedException", "IncompleteSignatureException", "UnrecognizedClientException",
			"InvalidSignatureException", "InvalidSignatureException", "InvalidSignatureException", http.StatusForbidden}
	default:
		// Query and REST-XML services such as CloudFront.
		return errorCodes{service, "MissingAuthenticationToken", "IncompleteSignature", "InvalidClientTokenId",
			"SignatureDoesNotMatch", "RequestExpired", "RequestExpired", http.StatusForbidden}
	}
}

func (c errorCodes) err(pe *parseError) *Error {
	switch pe.kind {
	case Missing:
		msg := "Access Denied"
		if c.service != "s3" {
			msg = "Missing Authentication Token"
		}
		return &Error{Kind: Missing, Code: c.missing, Message: msg, Status: c.missingStatus}
	case Mismatch:
		return c.mismatch()
	}
	return c.malformed(pe.msg)
}

func (c errorCodes) malformed(msg string) *Error {
	return &Error{Kind: Malformed, Code: c.malformedCode, Message: msg, Status: http.StatusBadRequest}
}

// badPayloadHash: x-amz-content-sha256 is none of the values SigV4 defines.
func (c errorCodes) badPayloadHash(h string) *Error {
	e := c.malformed(fmt.Sprintf("x-amz-content-sha256 %q must be UNSIGNED-PAYLOAD, STREAMING-… or a hex SHA-256", h))
	if c.service == "s3" {
		e.Code = "InvalidArgument"
	}
	return e
}

// unsignedBody: the signature does not cover the body's hash, which the rule requires.
func (c errorCodes) unsignedBody(msg string) *Error {
	return &Error{Kind: Mismatch, Code: c.mismatchCode, Status: http.StatusForbidden, Message: msg}
}

// bodyMismatch: the body is not the one whose hash was signed.
func (c errorCodes) bodyMismatch() *Error {
	if c.service == "s3" {
		return &Error{Kind: Mismatch, Code: "XAmzContentSHA256Mismatch", Status: http.StatusBadRequest,
			Message: "The provided 'x-amz-content-sha256' header does not match what was computed."}
	}
	return &Error{Kind: Mismatch, Code: c.mismatchCode, Status: http.StatusForbidden,
		Message: "The request body does not match the signed x-amz-content-sha256."}
}

func (c errorCodes) tooLarge(limit int64) *Error {
	switch c.service {
	case "s3":
		return &Error{Kind: TooLarge, Code: "EntityTooLarge", Status: http.StatusBadRequest,
			Message: "Your proposed upload exceeds the maximum allowed size"}
	case "lambda":
		return &Error{Kind: TooLarge, Code: "RequestEntityTooLargeException", Status: http.StatusRequestEntityTooLarge,
			Message: fmt.Sprintf("Request must be smaller than %d bytes for the InvokeFunction operation", limit)}
	}
	return &Error{Kind: TooLarge, Code: "RequestEntityTooLarge", Status: http.StatusRequestEntityTooLarge,
		Message: fmt.Sprintf("the request body is larger than %d bytes", limit)}
}

func (c errorCodes) wrongService(got, want string) *Error {
	return &Error{Kind: WrongScope, Code: c.malformedCode, Status: http.StatusBadRequest,
		Message: fmt.Sprintf("the authorization header is malformed; incorrect service %q; this endpoint belongs to %q", got, want)}
}

func (c errorCodes) wrongRegion(got, want string) *Error {
	code := c.malformedCode
	if c.service != "s3" {
		code = c.mismatchCode
	}
	return &Error{Kind: WrongScope, Code: code, Status: http.StatusBadRequest, Region: want,
		Message: fmt.Sprintf("the authorization header is malformed; the region '%s' is wrong; expecting '%s'", got, want)}
}

func (c errorCodes) unknownKey() *Error {
	msg := "The AWS Access Key Id you provided does not exist in our records."
	if c.service != "s3" {
		msg = "The security token included in the request is invalid."
	}
	return &Error{Kind: UnknownKey, Code: c.unknownKeyCode, Message: msg, Status: http.StatusForbidden}
}

func (c errorCodes) badToken() *Error {
	code := "InvalidToken"
	if c.service != "s3" {
		code = c.unknownKeyCode
	}
	return &Error{Kind: BadToken, Code: code, Message: "The provided token is malformed or otherwise invalid.", Status: http.StatusForbidden}
}

func (c errorCodes) mismatch() *Error {
	return &Error{Kind: Mismatch, Code: c.mismatchCode, Status: http.StatusForbidden,
		Message: "The request signature we calculated does not match the signature you provided. Check your key and signing method."}
}

func (c errorCodes) skewed(date, now time.Time) *Error {
	return &Error{Kind: Skewed, Code: c.skewedCode, Status: http.StatusForbidden,
		Message: fmt.Sprintf("The difference between the request time (%s) and the current time (%s) is too large.",
			date.UTC().Format(timeFmt), now.UTC().Format(timeFmt))}
}

func (c errorCodes) expired() *Error {
	return &Error{Kind: Expired, Code: c.expiredCode, Message: "Request has expired", Status: http.StatusForbidden}
}

func (c errorCodes) notYetValid() *Error {
	return &Error{Kind: Skewed, Code: c.expiredCode, Message: "Request is not valid yet", Status: http.StatusForbidden}
}
