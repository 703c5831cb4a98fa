package edge

// This file verifies AWS Signature Version 4 on incoming requests. The local S3 origins, the
// function-URL hosts and the CloudFront control API all accept only requests signed with the
// world's key pair, as AWS does; the edge's own OAC signatures (aws-sdk-go-v2 signer), the
// release's SDK clients and the aws CLI must all pass.
//
// The canonical request is rebuilt here by hand rather than by re-signing a clone with the SDK
// signer: a signer decides itself which headers to sign, and a verifier must use exactly the
// headers the client listed in SignedHeaders.
//
// References: https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html,
// https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html,
// https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html.

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

const (
	sigV4Algorithm = "AWS4-HMAC-SHA256"
	sigV4TimeFmt   = "20060102T150405Z"
	sigV4DateFmt   = "20060102"

	// MaxSigV4Skew is how far a request's signing time may be from the server's clock.
	// S3: "The difference between the request time and the server's time is too large" beyond 15 minutes.
	MaxSigV4Skew = 15 * time.Minute

	// maxPresignExpires is S3's limit on X-Amz-Expires (seven days).
	maxPresignExpires = 7 * 24 * time.Hour

	// maxHashedBody bounds how much of a body VerifySigV4 reads to hash it when the client
	// did not send x-amz-content-sha256 (non-S3 services hash the body server side).
	maxHashedBody = 16 << 20

	// EmptyPayloadHash is the hex SHA-256 of an empty payload.
	EmptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	// UnsignedPayload is the payload hash S3 accepts in place of a body hash.
	UnsignedPayload = "UNSIGNED-PAYLOAD"
)

// SigV4ErrorKind classifies a verification failure, so callers decide on the kind and not on
// service-specific code strings.
type SigV4ErrorKind int

// The kinds of verification failures.
const (
	SigV4Missing    SigV4ErrorKind = iota + 1 // no Authorization header and no X-Amz-Algorithm query
	SigV4Malformed                            // unparsable header/query, bad date, unknown algorithm
	SigV4WrongScope                           // service or region in the credential scope is not ours
	SigV4UnknownKey                           // access key id is not the world's
	SigV4Mismatch                             // signature does not match
	SigV4Skewed                               // signing time more than MaxSigV4Skew away
	SigV4Expired                              // presigned URL past X-Amz-Expires
	SigV4BadToken                             // session token missing or wrong
)

// SigV4Error is a failed verification. Code is the error code the AWS service named by the
// verifier's service argument answers with (S3 codes for "s3"; Lambda's for "lambda"; the
// generic query/JSON protocol codes otherwise); Status is the HTTP status to answer.
type SigV4Error struct {
	Kind    SigV4ErrorKind
	Code    string
	Message string
	Status  int
	// Region is set for a wrong-region scope: the region the server expected (S3 reports it in
	// the <Region> element of AuthorizationHeaderMalformed).
	Region string
}

func (e *SigV4Error) Error() string { return "sigv4: " + e.Code + ": " + e.Message }

// SigV4 is a verified request's signature: who signed it, for what scope, and the payload hash
// the signature covers.
type SigV4 struct {
	AccessKeyID   string
	Date          time.Time // signing time (X-Amz-Date)
	Region        string
	Service       string
	SignedHeaders []string // lower case, as listed by the client
	Signature     string   // hex; the seed signature of an aws-chunked body
	Presigned     bool
	// PayloadHash is the payload hash the signature covers: the x-amz-content-sha256 value (a hex
	// hash, UNSIGNED-PAYLOAD, or a STREAMING-* marker), or, when the client sent none, the hash
	// VerifySigV4 computed from the body (BodyHashed is then true). A caller that consumes the
	// body must check a hex PayloadHash against it unless BodyHashed.
	PayloadHash string
	BodyHashed  bool

	signingKey []byte
	scope      string
}

// Scope returns the credential scope "YYYYMMDD/region/service/aws4_request".
func (s *SigV4) Scope() string { return s.scope }

// ChunkSignature returns the signature of one chunk of a STREAMING-AWS4-HMAC-SHA256-PAYLOAD
// body, given the previous signature (the seed signature for the first chunk) and the SHA-256
// of the chunk's data. https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html
func (s *SigV4) ChunkSignature(prev string, chunkSHA256 []byte) string {
	sts := "AWS4-HMAC-SHA256-PAYLOAD\n" + s.Date.UTC().Format(sigV4TimeFmt) + "\n" + s.scope + "\n" +
		prev + "\n" + EmptyPayloadHash + "\n" + hex.EncodeToString(chunkSHA256)
	return hex.EncodeToString(hmacSHA256(s.signingKey, sts))
}

// TrailerSignature returns the signature of the trailing headers of a
// STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER body, given the last chunk's signature and the
// SHA-256 of the trailer text (each "name:value\n").
func (s *SigV4) TrailerSignature(prev string, trailerSHA256 []byte) string {
	sts := "AWS4-HMAC-SHA256-TRAILER\n" + s.Date.UTC().Format(sigV4TimeFmt) + "\n" + s.scope + "\n" +
		prev + "\n" + hex.EncodeToString(trailerSHA256)
	return hex.EncodeToString(hmacSHA256(s.signingKey, sts))
}

// VerifySigV4 verifies r's SigV4 signature (Authorization header or presigned query) against
// creds for service in any region; see VerifySigV4Scope.
func VerifySigV4(r *http.Request, creds aws.Credentials, service string, now time.Time) (*SigV4, error) {
	return VerifySigV4Scope(r, creds, service, "", now)
}

// VerifySigV4Scope verifies r's SigV4 signature against creds, requiring the credential scope
// to name service and, unless region is empty, region. It does not consume the body, except
// when a non-S3 client sent no x-amz-content-sha256: the body (at most 16 MiB) is then read,
// hashed and put back. It returns a *SigV4Error on failure.
func VerifySigV4Scope(r *http.Request, creds aws.Credentials, service, region string, now time.Time) (*SigV4, error) {
	ec := sigV4Codes(service)
	p, err := parseSigV4(r)
	if err != nil {
		return nil, ec.err(err.(*sigV4ParseError))
	}
	if p.service != service {
		return nil, ec.wrongService(p.service, service)
	}
	if region != "" && p.region != region {
		return nil, ec.wrongRegion(p.region, region)
	}
	if p.accessKey != creds.AccessKeyID {
		return nil, ec.unknownKey()
	}
	if creds.SessionToken != "" && p.token != creds.SessionToken {
		return nil, ec.badToken()
	}
	if p.presigned {
		if now.Before(p.date.Add(-MaxSigV4Skew)) {
			return nil, ec.notYetValid()
		}
		if now.After(p.date.Add(p.expires)) {
			return nil, ec.expired()
		}
	} else if d := now.Sub(p.date); d > MaxSigV4Skew || d < -MaxSigV4Skew {
		return nil, ec.skewed(p.date, now)
	}

	sv := &SigV4{
		AccessKeyID:   p.accessKey,
		Date:          p.date,
		Region:        p.region,
		Service:       p.service,
		SignedHeaders: p.signedHeaders,
		Signature:     p.signature,
		Presigned:     p.presigned,
		scope:         p.scope,
	}
	sv.PayloadHash, sv.BodyHashed, err = payloadHash(r, service, p.presigned)
	if err != nil {
		return nil, ec.malformed(err.Error())
	}
	sv.signingKey = signingKey(creds.SecretAccessKey, p.scopeDate, p.region, p.service)

	headers, err := canonicalHeaders(r, p.signedHeaders)
	if err != nil {
		return nil, ec.malformed(err.Error())
	}
	query := canonicalQuery(r.URL.RawQuery, p.presigned)
	for _, uri := range canonicalURIs(r, service) {
		creq := r.Method + "\n" + uri + "\n" + query + "\n" + headers + "\n" +
			strings.Join(p.signedHeaders, ";") + "\n" + sv.PayloadHash
		sum := sha256.Sum256([]byte(creq))
		sts := sigV4Algorithm + "\n" + p.amzDate + "\n" + p.scope + "\n" + hex.EncodeToString(sum[:])
		want := hex.EncodeToString(hmacSHA256(sv.signingKey, sts))
		if subtle.ConstantTimeCompare([]byte(want), []byte(strings.ToLower(p.signature))) == 1 {
			return sv, nil
		}
	}
	return nil, ec.mismatch()
}

// sigV4Params are the signature parameters of a request, from the header or the query.
type sigV4Params struct {
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

type sigV4ParseError struct {
	kind SigV4ErrorKind
	msg  string
}

func (e *sigV4ParseError) Error() string { return e.msg }

func malformed(format string, args ...any) error {
	return &sigV4ParseError{kind: SigV4Malformed, msg: fmt.Sprintf(format, args...)}
}

// parseSigV4 extracts the signature parameters from the Authorization header or the query.
func parseSigV4(r *http.Request) (*sigV4Params, error) {
	auth := r.Header.Get("Authorization")
	q := r.URL.Query()
	var p sigV4Params
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
				p.amzDate = t.UTC().Format(sigV4TimeFmt)
			}
		}
		if p.amzDate == "" {
			return nil, malformed("AWS authentication requires a valid Date or x-amz-date header")
		}
		p.token = r.Header.Get("X-Amz-Security-Token")
	case q.Has("X-Amz-Algorithm") || q.Has("X-Amz-Credential") || q.Has("X-Amz-Signature"):
		p.presigned = true
		if alg := q.Get("X-Amz-Algorithm"); alg != sigV4Algorithm {
			return nil, malformed("X-Amz-Algorithm only supports %q", sigV4Algorithm)
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
		return nil, &sigV4ParseError{kind: SigV4Missing, msg: "no Authorization header and no X-Amz-Algorithm query parameter"}
	}

	t, err := time.Parse(sigV4TimeFmt, p.amzDate)
	if err != nil {
		return nil, malformed("X-Amz-Date %q must be in the ISO8601 long format yyyyMMdd'T'HHmmss'Z'", p.amzDate)
	}
	p.date = t
	if p.scopeDate != t.Format(sigV4DateFmt) {
		return nil, malformed("invalid credential date %q: it does not match the request date %q", p.scopeDate, t.Format(sigV4DateFmt))
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
		return nil, &sigV4ParseError{kind: SigV4Mismatch, msg: "the signature is not 64 hex digits"}
	}
	return &p, nil
}

// parseAuthorization parses "AWS4-HMAC-SHA256 Credential=AK/20060102/region/service/aws4_request,
// SignedHeaders=a;b, Signature=hex". Components are separated by commas and optional spaces.
func parseAuthorization(auth string, p *sigV4Params) error {
	alg, rest, ok := strings.Cut(strings.TrimSpace(auth), " ")
	if !ok || alg != sigV4Algorithm {
		if strings.HasPrefix(auth, "AWS ") {
			return malformed("signature version 2 is not supported; use AWS4-HMAC-SHA256")
		}
		return malformed("unsupported Authorization type; expected %s", sigV4Algorithm)
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
func parseCredential(c string, p *sigV4Params) error {
	parts := strings.Split(c, "/")
	if len(parts) != 5 || parts[4] != "aws4_request" || parts[0] == "" || parts[2] == "" || parts[3] == "" {
		return malformed("the Credential %q is malformed; expecting \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\"", c)
	}
	p.accessKey, p.scopeDate, p.region, p.service = parts[0], parts[1], parts[2], parts[3]
	p.scope = strings.Join(parts[1:], "/")
	return nil
}

// payloadHash returns the payload hash the signature covers.
func payloadHash(r *http.Request, service string, presigned bool) (hash string, hashed bool, err error) {
	if h := r.Header.Get("X-Amz-Content-Sha256"); h != "" {
		return h, false, nil
	}
	if presigned {
		if h := r.URL.Query().Get("X-Amz-Content-Sha256"); h != "" {
			return h, false, nil
		}
		if service == "s3" {
			return UnsignedPayload, false, nil
		}
	}
	if service == "s3" {
		// S3: "Missing required header for this request: x-amz-content-sha256".
		return "", false, fmt.Errorf("missing required header for this request: x-amz-content-sha256")
	}
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		return EmptyPayloadHash, true, nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxHashedBody+1))
	r.Body.Close()
	if err != nil {
		return "", false, fmt.Errorf("read body to hash it: %v", err)
	}
	if len(body) > maxHashedBody {
		return "", false, fmt.Errorf("body larger than %d bytes without x-amz-content-sha256", maxHashedBody)
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:]), true, nil
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

// sigV4ErrorCodes are the codes one service answers verification failures with.
type sigV4ErrorCodes struct {
	service                                              string
	missing, malformedCode, unknownKeyCode, mismatchCode string
	skewedCode, expiredCode                              string
	missingStatus                                        int
}

func sigV4Codes(service string) sigV4ErrorCodes {
	switch service {
	case "s3":
		return sigV4ErrorCodes{service, "AccessDenied", "AuthorizationHeaderMalformed", "InvalidAccessKeyId",
			"SignatureDoesNotMatch", "RequestTimeTooSkewed", "AccessDenied", http.StatusForbidden}
	case "lambda":
		// Function URLs with AuthType AWS_IAM; spec/cloudfront.md §5.2 (x-amzn-errortype).
		return sigV4ErrorCodes{service, "AccessDeniedException", "IncompleteSignatureException", "UnrecognizedClientException",
			"InvalidSignatureException", "InvalidSignatureException", "InvalidSignatureException", http.StatusForbidden}
	default:
		// Query and REST-XML services such as CloudFront.
		return sigV4ErrorCodes{service, "MissingAuthenticationToken", "IncompleteSignature", "InvalidClientTokenId",
			"SignatureDoesNotMatch", "RequestExpired", "RequestExpired", http.StatusForbidden}
	}
}

func (c sigV4ErrorCodes) err(pe *sigV4ParseError) *SigV4Error {
	switch pe.kind {
	case SigV4Missing:
		msg := "Access Denied"
		if c.service != "s3" {
			msg = "Missing Authentication Token"
		}
		return &SigV4Error{Kind: SigV4Missing, Code: c.missing, Message: msg, Status: c.missingStatus}
	case SigV4Mismatch:
		return c.mismatch()
	}
	return c.malformed(pe.msg)
}

func (c sigV4ErrorCodes) malformed(msg string) *SigV4Error {
	code := c.malformedCode
	if c.service == "s3" && strings.HasPrefix(msg, "missing required header") {
		code = "InvalidRequest"
	}
	return &SigV4Error{Kind: SigV4Malformed, Code: code, Message: msg, Status: http.StatusBadRequest}
}

func (c sigV4ErrorCodes) wrongService(got, want string) *SigV4Error {
	return &SigV4Error{Kind: SigV4WrongScope, Code: c.malformedCode, Status: http.StatusBadRequest,
		Message: fmt.Sprintf("the authorization header is malformed; incorrect service %q; this endpoint belongs to %q", got, want)}
}

func (c sigV4ErrorCodes) wrongRegion(got, want string) *SigV4Error {
	code := c.malformedCode
	if c.service != "s3" {
		code = c.mismatchCode
	}
	return &SigV4Error{Kind: SigV4WrongScope, Code: code, Status: http.StatusBadRequest, Region: want,
		Message: fmt.Sprintf("the authorization header is malformed; the region '%s' is wrong; expecting '%s'", got, want)}
}

func (c sigV4ErrorCodes) unknownKey() *SigV4Error {
	msg := "The AWS Access Key Id you provided does not exist in our records."
	if c.service != "s3" {
		msg = "The security token included in the request is invalid."
	}
	return &SigV4Error{Kind: SigV4UnknownKey, Code: c.unknownKeyCode, Message: msg, Status: http.StatusForbidden}
}

func (c sigV4ErrorCodes) badToken() *SigV4Error {
	code := "InvalidToken"
	if c.service != "s3" {
		code = c.unknownKeyCode
	}
	return &SigV4Error{Kind: SigV4BadToken, Code: code, Message: "The provided token is malformed or otherwise invalid.", Status: http.StatusForbidden}
}

func (c sigV4ErrorCodes) mismatch() *SigV4Error {
	return &SigV4Error{Kind: SigV4Mismatch, Code: c.mismatchCode, Status: http.StatusForbidden,
		Message: "The request signature we calculated does not match the signature you provided. Check your key and signing method."}
}

func (c sigV4ErrorCodes) skewed(date, now time.Time) *SigV4Error {
	return &SigV4Error{Kind: SigV4Skewed, Code: c.skewedCode, Status: http.StatusForbidden,
		Message: fmt.Sprintf("The difference between the request time (%s) and the current time (%s) is too large.",
			date.UTC().Format(sigV4TimeFmt), now.UTC().Format(sigV4TimeFmt))}
}

func (c sigV4ErrorCodes) expired() *SigV4Error {
	return &SigV4Error{Kind: SigV4Expired, Code: c.expiredCode, Message: "Request has expired", Status: http.StatusForbidden}
}

func (c sigV4ErrorCodes) notYetValid() *SigV4Error {
	return &SigV4Error{Kind: SigV4Skewed, Code: c.expiredCode, Message: "Request is not valid yet", Status: http.StatusForbidden}
}
