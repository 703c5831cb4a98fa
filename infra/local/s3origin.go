package local

// This file is the S3-compatible REST server of one local region: the site bucket the local
// edge reaches with OAC signatures and the release uploads to with the aws-sdk-go-v2 S3 client
// or the aws CLI. It is faithful where the edge and the release can tell the difference (see
// spec/local-stand-ins.md §1 for what gofakes3 gets wrong and this must not): every request
// SigV4-verified, headers round-tripped, conditional and range GETs, aws-chunked bodies decoded.
//
// A missing key answers as S3 answers the caller (API_GetObject.html, API_HeadObject.html: "If
// you have the s3:ListBucket permission on the bucket, Amazon S3 returns an HTTP status code 404
// Not Found error. If you don't have the s3:ListBucket permission, Amazon S3 returns an HTTP
// status code 403 Access Denied error."). Two principals reach a local bucket, both signing
// with the world's one key pair, so the origin tells them apart by where the request comes
// from (see principal):
//   - the distribution's OAC principal: requests CloudFront forwarded, which carry the
//     X-Amz-Cf-Id header CloudFront adds to every origin request. The bucket policy grants it
//     s3:GetObject only (infra/aws AllowCloudFrontStatement), so a missing key is 403
//     AccessDenied, which is why the site origin group fails over on 403;
//   - the account itself (the release, the aws CLI, the SDK), which may list its buckets: a
//     missing key is 404 NoSuchKey, as the release's HeadObject sees on AWS.

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/twinedge/twinedge/internal/sigv4"
)

// maxXMLBody bounds request bodies that are XML documents (DeleteObjects, CompleteMultipartUpload).
const maxXMLBody = 2 << 20

// maxObjectSize is the largest single PUT S3 accepts (5 GiB).
const maxObjectSize = 5 << 30

// S3Origin is an S3-compatible REST server for one region. It is an http.Handler; serve it
// with Listen (for faults) or any http.Server. Objects persist under the directory given to
// NewS3Origin.
type S3Origin struct {
	region string
	creds  aws.Credentials
	store  *s3Store
	// Now is the clock for signature checks and Last-Modified. Default time.Now.
	Now func() time.Time
	// Logger receives one line per failed request at debug level. Default slog.Default().
	Logger *slog.Logger
}

var _ http.Handler = (*S3Origin)(nil)

// NewS3Origin opens (creating if needed) an S3 origin for region storing its buckets under dir.
// Requests must be SigV4-signed with creds for service s3 and this region.
func NewS3Origin(dir, region string, creds aws.Credentials) (*S3Origin, error) {
	if region == "" {
		return nil, errors.New("s3 origin: region is empty")
	}
	st, err := openS3Store(dir)
	if err != nil {
		return nil, fmt.Errorf("s3 origin %s: open %s: %w", region, dir, err)
	}
	return &S3Origin{region: region, creds: creds, store: st, Now: time.Now, Logger: slog.Default()}, nil
}

// Region is the origin's region.
func (o *S3Origin) Region() string { return o.region }

// EnsureBucket creates the bucket unless it exists.
func (o *S3Origin) EnsureBucket(name string) error {
	if err := validBucketName(name); err != nil {
		return err
	}
	if err := o.store.createBucket(name, o.Now()); err != nil && !errors.Is(err, errBucketExists) {
		return fmt.Errorf("create bucket %s: %w", name, err)
	}
	return nil
}

// Close releases the origin. Files are closed as each request ends, so there is nothing to
// flush; Close exists so callers can treat the origin like other resources.
func (o *S3Origin) Close() error { return nil }

// s3Error is an S3 error response.
type s3Error struct {
	Status  int
	Code    string
	Message string
	Region  string // for AuthorizationHeaderMalformed
	Extra   map[string]string
}

func (e *s3Error) Error() string { return e.Code + ": " + e.Message }

func s3Err(status int, code, format string, args ...any) *s3Error {
	return &s3Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

var (
	errAccessDenied = &s3Error{Status: 403, Code: "AccessDenied", Message: "Access Denied"}
	errBucketGone   = &s3Error{Status: 404, Code: "NoSuchBucket", Message: "The specified bucket does not exist"}
)

// s3Request is one request being served.
type s3Request struct {
	w      http.ResponseWriter
	r      *http.Request
	sig    *sigv4.Signature
	bucket string
	key    string
	id     string
}

// principal is who the bucket policy sees behind a request.
type principal int

const (
	principalAccount    principal = iota // the bucket owner's account: every action, s3:ListBucket included
	principalCloudFront                  // the distribution's OAC: s3:GetObject only
)

// principal: CloudFront adds X-Amz-Cf-Id to every request it sends to an origin ("the headers
// that CloudFront automatically includes in every origin request, including Host, User-Agent,
// and X-Amz-Cf-Id", CloudFront API OriginRequestPolicy), and nothing else reaching a local
// bucket sends it. On AWS the signature itself names the principal; locally everyone signs
// with the world's key pair, so the header stands for it.
func (req *s3Request) principal() principal {
	if req.r.Header.Get("X-Amz-Cf-Id") != "" {
		return principalCloudFront
	}
	return principalAccount
}

// noSuchKey is the error for a key that does not exist, as this caller may learn it: 404
// NoSuchKey with s3:ListBucket, 403 AccessDenied without (see the file comment).
func (req *s3Request) noSuchKey() error {
	if req.principal() == principalCloudFront {
		return errAccessDenied
	}
	return &s3Error{Status: 404, Code: "NoSuchKey", Message: "The specified key does not exist.", Extra: map[string]string{"Key": req.key}}
}

func (o *S3Origin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := newRequestID()
	h := w.Header()
	h.Set("X-Amz-Request-Id", id)
	h.Set("X-Amz-Id-2", base64.StdEncoding.EncodeToString([]byte(id+id)))
	h.Set("Server", "AmazonS3")
	req := &s3Request{w: w, r: r, id: id}
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			o.Logger.Error("s3 origin: panic", "method", r.Method, "uri", r.RequestURI, "panic", v)
			o.writeError(req, s3Err(500, "InternalError", "We encountered an internal error. Please try again."))
		}
	}()
	if err := o.serve(req); err != nil {
		var se *s3Error
		if !errors.As(err, &se) {
			o.Logger.Error("s3 origin", "method", r.Method, "uri", r.RequestURI, "err", err)
			se = s3Err(500, "InternalError", "We encountered an internal error. Please try again.")
		}
		o.Logger.Debug("s3 origin: request failed", "method", r.Method, "uri", r.RequestURI, "code", se.Code, "msg", se.Message)
		o.writeError(req, se)
	}
}

func (o *S3Origin) serve(req *s3Request) error {
	r := req.r
	// S3 takes UNSIGNED-PAYLOAD and aws-chunked bodies; receiveBody streams a body and checks
	// its hash or chunk signatures.
	sig, err := sigv4.Verify(r, o.creds, sigv4.Rule{Service: "s3", Regions: []string{o.region}, Payload: sigv4.StreamingAllowed}, o.Now())
	if err != nil {
		var ve *sigv4.Error
		if errors.As(err, &ve) {
			return &s3Error{Status: ve.Status, Code: ve.Code, Message: ve.Message, Region: ve.Region}
		}
		return err
	}
	req.sig = sig
	req.bucket, req.key, err = o.route(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	switch {
	case req.bucket == "":
		if r.Method == http.MethodGet {
			return o.listBuckets(req)
		}
		return methodNotAllowed(r)
	case req.key == "":
		return o.serveBucket(req, q)
	default:
		if err := validKey(req.key); err != nil {
			return err
		}
		return o.serveObject(req, q)
	}
}

func methodNotAllowed(r *http.Request) error {
	return s3Err(405, "MethodNotAllowed", "The specified method is not allowed against this resource.")
}

// route finds the bucket and key: virtual-host style when Host is "<bucket>.s3.<region>.amazonaws.com"
// (or "<bucket>.s3.amazonaws.com", "<bucket>.s3-<region>.amazonaws.com"), path style otherwise.
func (o *S3Origin) route(r *http.Request) (bucket, key string, err error) {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	path := r.URL.Path
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	if b, ok := virtualHostBucket(host); ok {
		if err := validBucketName(b); err != nil {
			return "", "", err
		}
		return b, path[1:], nil
	}
	bucket, key, _ = strings.Cut(path[1:], "/")
	if bucket != "" {
		if err := validBucketName(bucket); err != nil {
			return "", "", err
		}
	}
	return bucket, key, nil
}

func virtualHostBucket(host string) (string, bool) {
	const suffix = ".amazonaws.com"
	if !strings.HasSuffix(host, suffix) {
		return "", false
	}
	rest := strings.TrimSuffix(host, suffix)
	for _, sep := range []string{".s3.", ".s3-"} {
		if i := strings.LastIndex(rest, sep); i > 0 {
			return rest[:i], true
		}
	}
	if b, ok := strings.CutSuffix(rest, ".s3"); ok && b != "" {
		return b, true
	}
	return "", false
}

// validBucketName applies S3's bucket naming rules (3–63 characters: lower-case letters,
// digits, dots and hyphens, starting and ending with a letter or digit, no "..").
func validBucketName(name string) error {
	bad := &s3Error{Status: 400, Code: "InvalidBucketName", Message: "The specified bucket is not valid.", Extra: map[string]string{"BucketName": name}}
	if len(name) < 3 || len(name) > 63 || strings.Contains(name, "..") {
		return bad
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		alnum := 'a' <= c && c <= 'z' || '0' <= c && c <= '9'
		if !alnum && ((i == 0 || i == len(name)-1) || (c != '.' && c != '-')) {
			return bad
		}
	}
	if net.ParseIP(name) != nil {
		return bad
	}
	return nil
}

// validKey applies S3's key rule: at most 1024 bytes of UTF-8.
func validKey(key string) error {
	if len(key) > 1024 {
		return &s3Error{Status: 400, Code: "KeyTooLongError", Message: "Your key is too long"}
	}
	return nil
}

// --- buckets ---

func (o *S3Origin) serveBucket(req *s3Request, q url.Values) error {
	r := req.r
	switch r.Method {
	case http.MethodGet:
		switch {
		case q.Has("location"):
			return o.getBucketLocation(req)
		case q.Has("uploads"):
			return o.listMultipartUploads(req)
		case q.Get("list-type") == "2":
			return o.listObjects(req, q, true)
		case q.Has("versioning"):
			if _, err := o.store.bucket(req.bucket); err != nil {
				return o.bucketError(err)
			}
			return writeXML(req, 200, struct {
				XMLName xml.Name `xml:"VersioningConfiguration"`
				Xmlns   string   `xml:"xmlns,attr"`
			}{Xmlns: s3Namespace})
		case hasAnySubresource(q):
			return s3Err(501, "NotImplemented", "A header or query you provided implies functionality that is not implemented.")
		}
		return o.listObjects(req, q, false)
	case http.MethodHead:
		if _, err := o.store.bucket(req.bucket); err != nil {
			return o.bucketError(err)
		}
		req.w.Header().Set("X-Amz-Bucket-Region", o.region)
		req.w.WriteHeader(200)
		return nil
	case http.MethodPut:
		if hasAnySubresource(q) {
			return s3Err(501, "NotImplemented", "A header or query you provided implies functionality that is not implemented.")
		}
		return o.createBucket(req)
	case http.MethodDelete:
		if hasAnySubresource(q) {
			return s3Err(501, "NotImplemented", "A header or query you provided implies functionality that is not implemented.")
		}
		if err := o.store.deleteBucket(req.bucket); err != nil {
			if errors.Is(err, errBucketNotEmpty) {
				return s3Err(409, "BucketNotEmpty", "The bucket you tried to delete is not empty")
			}
			return o.bucketError(err)
		}
		req.w.WriteHeader(204)
		return nil
	case http.MethodPost:
		if q.Has("delete") {
			return o.deleteObjects(req)
		}
	}
	return methodNotAllowed(r)
}

// hasAnySubresource reports query parameters that name a bucket subresource this origin does
// not implement (acl, policy, cors, website, ...).
func hasAnySubresource(q url.Values) bool {
	for _, k := range []string{"acl", "policy", "cors", "website", "lifecycle", "tagging", "encryption",
		"replication", "logging", "notification", "object-lock", "ownershipControls", "publicAccessBlock",
		"accelerate", "requestPayment", "analytics", "metrics", "inventory", "intelligent-tiering", "versions",
		"retention", "legal-hold", "torrent", "restore", "select", "attributes"} {
		if q.Has(k) {
			return true
		}
	}
	return false
}

func (o *S3Origin) bucketError(err error) error {
	if errors.Is(err, errNoSuchBucket) {
		return errBucketGone
	}
	return err
}

func (o *S3Origin) listBuckets(req *s3Request) error {
	type bucket struct {
		Name         string `xml:"Name"`
		CreationDate string `xml:"CreationDate"`
		BucketRegion string `xml:"BucketRegion"`
	}
	var out struct {
		XMLName xml.Name `xml:"ListAllMyBucketsResult"`
		Xmlns   string   `xml:"xmlns,attr"`
		Owner   s3Owner  `xml:"Owner"`
		Buckets []bucket `xml:"Buckets>Bucket"`
	}
	out.Xmlns = s3Namespace
	out.Owner = localOwner
	for _, b := range o.store.listBuckets() {
		out.Buckets = append(out.Buckets, bucket{b.Name, s3Time(b.Created), o.region})
	}
	return writeXML(req, 200, out)
}

type s3Owner struct {
	ID          string `xml:"ID"`
	DisplayName string `xml:"DisplayName"`
}

var localOwner = s3Owner{ID: "75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a", DisplayName: "twinedge"}

func (o *S3Origin) createBucket(req *s3Request) error {
	body, err := readSmallBody(req, bodyChecks{})
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(body)) > 0 {
		var conf struct {
			LocationConstraint string `xml:"LocationConstraint"`
		}
		if err := xml.Unmarshal(body, &conf); err != nil {
			return s3Err(400, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema.")
		}
		lc := conf.LocationConstraint
		if lc == "" {
			lc = "us-east-1"
		}
		if lc != o.region {
			return s3Err(400, "IllegalLocationConstraintException",
				"The %s location constraint is incompatible for the region specific endpoint this request was sent to.", conf.LocationConstraint)
		}
	}
	if err := o.store.createBucket(req.bucket, o.Now()); err != nil {
		if !errors.Is(err, errBucketExists) {
			return err
		}
		// "BucketAlreadyOwnedByYou: 409 Conflict (in all Regions except the North Virginia
		// Region). For legacy compatibility, if you re-create an existing bucket that you
		// already own in the North Virginia Region, Amazon S3 returns 200 OK" (ErrorResponses.html).
		if o.region != "us-east-1" {
			return s3Err(409, "BucketAlreadyOwnedByYou", "Your previous request to create the named bucket succeeded and you already own it.")
		}
	}
	req.w.Header().Set("Location", "/"+req.bucket)
	req.w.WriteHeader(200)
	return nil
}

func (o *S3Origin) getBucketLocation(req *s3Request) error {
	if _, err := o.store.bucket(req.bucket); err != nil {
		return o.bucketError(err)
	}
	loc := o.region
	if loc == "us-east-1" {
		loc = "" // S3 reports us-east-1 as an empty constraint
	}
	return writeXML(req, 200, struct {
		XMLName xml.Name `xml:"LocationConstraint"`
		Xmlns   string   `xml:"xmlns,attr"`
		Value   string   `xml:",chardata"`
	}{Xmlns: s3Namespace, Value: loc})
}

// listObjects answers ListObjects (v1) and ListObjectsV2.
func (o *S3Origin) listObjects(req *s3Request, q url.Values, v2 bool) error {
	prefix, delimiter := q.Get("prefix"), q.Get("delimiter")
	encoding := q.Get("encoding-type")
	if encoding != "" && encoding != "url" {
		return s3Err(400, "InvalidArgument", "Invalid Encoding Method specified in Request")
	}
	maxKeys := 1000
	if s := q.Get("max-keys"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return s3Err(400, "InvalidArgument", "Provided max-keys not an integer or within integer range")
		}
		maxKeys = min(n, 1000)
	}
	var marker, startAfter string
	var token *string // echoed when sent, even empty
	if v2 {
		startAfter = q.Get("start-after")
		marker = startAfter
		if q.Has("continuation-token") {
			t := q.Get("continuation-token")
			token = &t
			// An empty token starts at the beginning (ceph/s3-tests
			// test_bucket_listv2_continuationtoken_empty).
			if t != "" {
				b, err := base64.RawURLEncoding.DecodeString(t)
				if err != nil {
					return s3Err(400, "InvalidArgument", "The continuation token provided is incorrect")
				}
				marker = string(b)
			}
		}
	} else {
		marker = q.Get("marker")
	}
	page := &listPage{}
	if maxKeys > 0 {
		var err error
		if page, err = o.store.list(req.bucket, prefix, delimiter, marker, maxKeys); err != nil {
			return o.bucketError(err)
		}
	} else if _, err := o.store.bucket(req.bucket); err != nil {
		// max-keys=0 asks for no entries: S3 answers an empty, untruncated page.
		return o.bucketError(err)
	}
	enc := func(s string) string {
		if encoding == "url" {
			return s3URLEncode(s)
		}
		return s
	}
	type content struct {
		Key          string   `xml:"Key"`
		LastModified string   `xml:"LastModified"`
		ETag         string   `xml:"ETag"`
		Size         int64    `xml:"Size"`
		Owner        *s3Owner `xml:"Owner,omitempty"`
		StorageClass string   `xml:"StorageClass"`
	}
	type commonPrefix struct {
		Prefix string `xml:"Prefix"`
	}
	var contents []content
	fetchOwner := !v2 || q.Get("fetch-owner") == "true"
	for _, m := range page.Objects {
		c := content{Key: enc(m.Key), LastModified: s3Time(m.LastModified), ETag: m.ETag, Size: m.Size, StorageClass: "STANDARD"}
		if fetchOwner {
			c.Owner = &localOwner
		}
		contents = append(contents, c)
	}
	var cps []commonPrefix
	for _, p := range page.CommonPrefixes {
		cps = append(cps, commonPrefix{enc(p)})
	}
	if v2 {
		out := struct {
			XMLName               xml.Name       `xml:"ListBucketResult"`
			Xmlns                 string         `xml:"xmlns,attr"`
			Name                  string         `xml:"Name"`
			Prefix                string         `xml:"Prefix"`
			Delimiter             string         `xml:"Delimiter,omitempty"`
			MaxKeys               int            `xml:"MaxKeys"`
			EncodingType          string         `xml:"EncodingType,omitempty"`
			KeyCount              int            `xml:"KeyCount"`
			IsTruncated           bool           `xml:"IsTruncated"`
			ContinuationToken     *string        `xml:"ContinuationToken"`
			NextContinuationToken string         `xml:"NextContinuationToken,omitempty"`
			StartAfter            string         `xml:"StartAfter,omitempty"`
			Contents              []content      `xml:"Contents"`
			CommonPrefixes        []commonPrefix `xml:"CommonPrefixes"`
		}{Xmlns: s3Namespace, Name: req.bucket, Prefix: enc(prefix), Delimiter: enc(delimiter), MaxKeys: maxKeys,
			EncodingType: encoding, KeyCount: len(contents) + len(cps), IsTruncated: page.Truncated,
			ContinuationToken: token, StartAfter: enc(startAfter), Contents: contents, CommonPrefixes: cps}
		if page.Truncated {
			out.NextContinuationToken = base64.RawURLEncoding.EncodeToString([]byte(page.NextMarker))
		}
		return writeXML(req, 200, out)
	}
	// ListObjects v1 encodes Delimiter, Marker, NextMarker and keys but echoes Prefix as sent:
	// the SDKs, which ask for encoding-type=url on their own and decode the answer, decode
	// exactly those fields (botocore handlers.decode_list_object), so an encoded Prefix would
	// reach the caller still encoded.
	out := struct {
		XMLName        xml.Name       `xml:"ListBucketResult"`
		Xmlns          string         `xml:"xmlns,attr"`
		Name           string         `xml:"Name"`
		Prefix         string         `xml:"Prefix"`
		Marker         string         `xml:"Marker"`
		NextMarker     string         `xml:"NextMarker,omitempty"`
		Delimiter      string         `xml:"Delimiter,omitempty"`
		MaxKeys        int            `xml:"MaxKeys"`
		EncodingType   string         `xml:"EncodingType,omitempty"`
		IsTruncated    bool           `xml:"IsTruncated"`
		Contents       []content      `xml:"Contents"`
		CommonPrefixes []commonPrefix `xml:"CommonPrefixes"`
	}{Xmlns: s3Namespace, Name: req.bucket, Prefix: prefix, Marker: enc(marker), Delimiter: enc(delimiter),
		MaxKeys: maxKeys, EncodingType: encoding, IsTruncated: page.Truncated, Contents: contents, CommonPrefixes: cps}
	if page.Truncated {
		out.NextMarker = enc(page.NextMarker)
	}
	return writeXML(req, 200, out)
}

// s3URLEncode encodes a key, prefix or delimiter for encoding-type=url as S3 does: every byte
// but the unreserved characters (RFC 3986 §2.3) and "/" becomes %XX, so "quux ab/" is
// "quux%20ab/" and "foo+1/" is "foo%2B1/". SDKs decode these with a form decoder, where a
// literal "+" would turn into a space; it is never emitted.
func s3URLEncode(s string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || strings.IndexByte("-_.~/", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}

// deleteObjects answers the multi-object delete (POST /bucket?delete).
func (o *S3Origin) deleteObjects(req *s3Request) error {
	if _, err := o.store.bucket(req.bucket); err != nil {
		return o.bucketError(err)
	}
	body, err := readSmallBody(req, bodyChecks{})
	if err != nil {
		return err
	}
	if md, ok := req.r.Header["Content-Md5"]; ok {
		if err := checkContentMD5(md[0], md5Sum(body)); err != nil {
			return err
		}
	}
	objs, quiet, err := parseDeleteRequest(body)
	if err != nil {
		return err
	}
	type deleted struct {
		Key string `xml:"Key"`
	}
	type delError struct {
		Key     string `xml:"Key"`
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	}
	out := struct {
		XMLName xml.Name   `xml:"DeleteResult"`
		Xmlns   string     `xml:"xmlns,attr"`
		Deleted []deleted  `xml:"Deleted"`
		Errors  []delError `xml:"Error"`
	}{Xmlns: s3Namespace}
	for _, key := range objs {
		if err := validKey(key); err != nil || key == "" {
			out.Errors = append(out.Errors, delError{key, "InvalidArgument", "Invalid key"})
			continue
		}
		if err := o.store.delete(req.bucket, key, nil); err != nil {
			o.Logger.Error("s3 origin: delete", "bucket", req.bucket, "key", key, "err", err)
			out.Errors = append(out.Errors, delError{key, "InternalError", "We encountered an internal error. Please try again."})
			continue
		}
		if !quiet {
			out.Deleted = append(out.Deleted, deleted{key})
		}
	}
	return writeXML(req, 200, out)
}

// parseDeleteRequest parses a <Delete> document: at most 1000 keys.
func parseDeleteRequest(body []byte) (keys []string, quiet bool, err error) {
	var doc struct {
		XMLName xml.Name `xml:"Delete"`
		Quiet   bool     `xml:"Quiet"`
		Objects []struct {
			Key string `xml:"Key"`
		} `xml:"Object"`
	}
	malformed := s3Err(400, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema.")
	if err := xml.Unmarshal(body, &doc); err != nil {
		return nil, false, malformed
	}
	if len(doc.Objects) == 0 || len(doc.Objects) > 1000 {
		return nil, false, malformed
	}
	for _, ob := range doc.Objects {
		keys = append(keys, ob.Key)
	}
	return keys, doc.Quiet, nil
}

// --- objects ---

func (o *S3Origin) serveObject(req *s3Request, q url.Values) error {
	r := req.r
	if _, err := o.store.bucket(req.bucket); err != nil {
		return o.bucketError(err)
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		if q.Has("uploadId") {
			return o.listParts(req, q)
		}
		if q.Has("attributes") && r.Method == http.MethodGet {
			return o.getObjectAttributes(req)
		}
		if hasAnySubresource(q) {
			return s3Err(501, "NotImplemented", "A header or query you provided implies functionality that is not implemented.")
		}
		return o.getObject(req, q)
	case http.MethodPut:
		if q.Has("uploadId") || q.Has("partNumber") {
			return o.uploadPart(req, q)
		}
		if hasAnySubresource(q) {
			return s3Err(501, "NotImplemented", "A header or query you provided implies functionality that is not implemented.")
		}
		if r.Header.Get("X-Amz-Copy-Source") != "" {
			return o.copyObject(req)
		}
		return o.putObject(req)
	case http.MethodDelete:
		if q.Has("uploadId") {
			return o.abortMultipartUpload(req, q)
		}
		cond, err := writeConditions(r.Header)
		if err != nil {
			return err
		}
		if err := o.store.delete(req.bucket, req.key, cond); err != nil {
			return o.bucketError(err)
		}
		req.w.WriteHeader(204)
		return nil
	case http.MethodPost:
		if q.Has("uploads") {
			return o.createMultipartUpload(req)
		}
		if q.Has("uploadId") {
			return o.completeMultipartUpload(req, q)
		}
	}
	return methodNotAllowed(r)
}

// responseOverrides are the GET query parameters that override response headers.
var responseOverrides = map[string]string{
	"response-content-type":        "Content-Type",
	"response-content-language":    "Content-Language",
	"response-expires":             "Expires",
	"response-cache-control":       "Cache-Control",
	"response-content-disposition": "Content-Disposition",
	"response-content-encoding":    "Content-Encoding",
}

func (o *S3Origin) getObject(req *s3Request, q url.Values) error {
	partNumber := 0
	if q.Has("partNumber") {
		n, err := parsePartNumber(q.Get("partNumber"))
		if err != nil {
			return err
		}
		if req.r.Header.Get("Range") != "" {
			return s3Err(400, "InvalidRequest", "Cannot specify both Range header and partNumber query parameter")
		}
		partNumber = n
	}
	obj, err := o.store.open(req.bucket, req.key)
	if errors.Is(err, errNoSuchKey) {
		return req.noSuchKey()
	}
	if err != nil {
		return o.bucketError(err)
	}
	defer obj.Close()
	m := obj.meta
	h := req.w.Header()
	if status := checkConditions(req.r.Header, m); status != 0 {
		if status == http.StatusPreconditionFailed {
			return s3Err(412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold")
		}
		h.Set("ETag", m.ETag)
		h.Set("Last-Modified", m.LastModified.UTC().Format(http.TimeFormat))
		setObjectHeaders(h, m, false)
		req.w.WriteHeader(http.StatusNotModified)
		return nil
	}
	start, length, partial, err := parseRange(req.r.Header.Get("Range"), m.Size)
	if err != nil {
		h.Set("Content-Range", fmt.Sprintf("bytes */%d", m.Size))
		return &s3Error{Status: 416, Code: "InvalidRange", Message: "The requested range is not satisfiable",
			Extra: map[string]string{"RangeRequested": req.r.Header.Get("Range"), "ActualObjectSize": strconv.FormatInt(m.Size, 10)}}
	}
	// The checksums to send: the object's for a whole-object read, the part's for a part.
	sums := m.Checksums
	if partial {
		sums = nil // stored checksums are of the whole object (or its parts)
	}
	if partNumber > 0 {
		// GET ?partNumber=N reads part N of a multipart object, "effectively a ranged GET"
		// (API_GetObject.html), answered 206 with the part's Content-Range; an object
		// uploaded whole has one part, itself. A part it does not have is 400 InvalidPart
		// (ceph/s3-tests test_multipart_get_part, test_non_multipart_get_part).
		invalidPart := s3Err(400, "InvalidPart", "The requested partnumber is not satisfiable")
		switch {
		case m.Parts == 0 && partNumber != 1:
			return invalidPart
		case m.Parts > 0:
			var ok bool
			if start, length, ok = m.partRange(partNumber); !ok {
				return invalidPart
			}
			partial, sums = true, nil
			if partNumber <= len(m.PartChecksums) {
				for alg := range m.Checksums {
					sums = map[string]string{alg: m.PartChecksums[partNumber-1]}
				}
			}
		}
	}
	setObjectHeaders(h, m, true)
	if strings.EqualFold(req.r.Header.Get("X-Amz-Checksum-Mode"), "ENABLED") && len(sums) > 0 {
		for alg, v := range sums {
			h.Set("X-Amz-Checksum-"+alg, v)
		}
		typ := m.ChecksumType
		if typ == "" {
			typ = checksumFullObject
		}
		h.Set("X-Amz-Checksum-Type", typ)
	}
	for qk, hk := range responseOverrides {
		if v := q.Get(qk); v != "" {
			h.Set(hk, v)
		}
	}
	h.Set("Content-Length", strconv.FormatInt(length, 10))
	status := http.StatusOK
	if partial {
		h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, start+length-1, m.Size))
		status = http.StatusPartialContent
	}
	req.w.WriteHeader(status)
	if req.r.Method == http.MethodHead {
		return nil
	}
	_, _ = io.Copy(req.w, io.NewSectionReader(obj.content, start, length))
	return nil
}

// setObjectHeaders sets the stored representation headers of an object. S3 sends them on
// 200, 206 and 304 alike.
func setObjectHeaders(h http.Header, m *objectMeta, full bool) {
	h.Set("ETag", m.ETag)
	h.Set("Last-Modified", m.LastModified.UTC().Format(http.TimeFormat))
	set := func(k, v string) {
		if v != "" {
			h.Set(k, v)
		}
	}
	set("Cache-Control", m.CacheControl)
	set("Content-Language", m.ContentLanguage)
	set("Content-Disposition", m.ContentDisposition)
	set("Content-Encoding", m.ContentEncoding)
	set("Expires", m.Expires)
	for k, v := range m.Metadata {
		h["X-Amz-Meta-"+k] = []string{v}
	}
	if full {
		h.Set("Accept-Ranges", "bytes")
		set("Content-Type", m.ContentType)
		if m.Parts > 0 {
			h.Set("X-Amz-Mp-Parts-Count", strconv.Itoa(m.Parts))
		}
	}
}

// checkConditions evaluates the conditional headers per RFC 9110 §13.2.2 as S3 does; it
// returns 0 to serve, 304 or 412.
func checkConditions(h http.Header, m *objectMeta) int {
	if im := h.Get("If-Match"); im != "" {
		if !etagListMatch(im, m.ETag, false) {
			return http.StatusPreconditionFailed
		}
	} else if ius := h.Get("If-Unmodified-Since"); ius != "" {
		if t, err := http.ParseTime(ius); err == nil && m.LastModified.Truncate(time.Second).After(t) {
			return http.StatusPreconditionFailed
		}
	}
	if inm := h.Get("If-None-Match"); inm != "" {
		if etagListMatch(inm, m.ETag, true) {
			return http.StatusNotModified
		}
	} else if ims := h.Get("If-Modified-Since"); ims != "" {
		if t, err := http.ParseTime(ims); err == nil && !m.LastModified.Truncate(time.Second).After(t) {
			return http.StatusNotModified
		}
	}
	return 0
}

// etagListMatch reports whether the comma-separated entity-tag list (or "*") matches etag;
// weak comparison ignores the W/ prefix (If-None-Match), strong does not match weak tags.
func etagListMatch(list, etag string, weak bool) bool {
	for _, t := range strings.Split(list, ",") {
		t = strings.TrimSpace(t)
		if t == "*" {
			return true
		}
		if strings.HasPrefix(t, "W/") {
			if !weak {
				continue
			}
			t = t[2:]
		}
		// S3 also accepts an unquoted tag.
		if t == etag || `"`+t+`"` == etag {
			return true
		}
	}
	return false
}

// parseRange parses a single "bytes=" range (S3 serves one range). A header it cannot parse
// is ignored (the whole object is served), as S3 does; an unsatisfiable range is an error.
func parseRange(h string, size int64) (start, length int64, partial bool, err error) {
	spec, ok := strings.CutPrefix(strings.TrimSpace(h), "bytes=")
	if !ok || strings.Contains(spec, ",") {
		return 0, size, false, nil
	}
	a, b, ok := strings.Cut(strings.TrimSpace(spec), "-")
	if !ok {
		return 0, size, false, nil
	}
	if a == "" {
		n, perr := strconv.ParseInt(b, 10, 64)
		if perr != nil || n < 0 {
			return 0, size, false, nil
		}
		if n == 0 {
			return 0, 0, false, errors.New("unsatisfiable")
		}
		n = min(n, size)
		if size == 0 {
			return 0, 0, false, errors.New("unsatisfiable")
		}
		return size - n, n, true, nil
	}
	first, perr := strconv.ParseInt(a, 10, 64)
	if perr != nil || first < 0 {
		return 0, size, false, nil
	}
	last := size - 1
	if b != "" {
		l, perr := strconv.ParseInt(b, 10, 64)
		if perr != nil || l < first {
			return 0, size, false, nil
		}
		last = min(l, size-1)
	}
	if first >= size {
		return 0, 0, false, errors.New("unsatisfiable")
	}
	return first, last - first + 1, true, nil
}

// metaFromHeaders takes the stored representation headers and user metadata from a PUT.
func metaFromHeaders(h http.Header, key string, now time.Time) (*objectMeta, error) {
	m := &objectMeta{
		Key:                key,
		LastModified:       now.UTC(),
		ContentType:        h.Get("Content-Type"),
		CacheControl:       h.Get("Cache-Control"),
		ContentLanguage:    h.Get("Content-Language"),
		ContentDisposition: h.Get("Content-Disposition"),
		ContentEncoding:    stripAWSChunked(h.Values("Content-Encoding")),
		Expires:            h.Get("Expires"),
	}
	if m.ContentType == "" {
		m.ContentType = "binary/octet-stream" // S3's default
	}
	size := 0
	for k, vs := range h {
		name, ok := strings.CutPrefix(k, "X-Amz-Meta-")
		if !ok {
			continue
		}
		if m.Metadata == nil {
			m.Metadata = map[string]string{}
		}
		m.Metadata[strings.ToLower(name)] = strings.Join(vs, ",")
		size += len(name) + len(strings.Join(vs, ","))
	}
	if size > 2048 {
		return nil, s3Err(400, "MetadataTooLarge", "Your metadata headers exceed the maximum allowed metadata size.")
	}
	return m, nil
}

// stripAWSChunked removes the aws-chunked coding from Content-Encoding: it describes the
// upload's framing, not the stored object, and S3 drops it whether or not the body was
// actually framed. Any other value is stored verbatim ("deflate, gzip" stays so).
func stripAWSChunked(values []string) string {
	v := strings.Join(values, ", ")
	if !strings.Contains(strings.ToLower(v), "aws-chunked") {
		return v
	}
	var out []string
	for c := range strings.SplitSeq(v, ",") {
		c = strings.TrimSpace(c)
		if c != "" && !strings.EqualFold(c, "aws-chunked") {
			out = append(out, c)
		}
	}
	return strings.Join(out, ", ")
}

func (o *S3Origin) putObject(req *s3Request) error {
	r := req.r
	if err := requireContentLength(r); err != nil {
		return err
	}
	cond, err := writeConditions(r.Header)
	if err != nil {
		return err
	}
	if cond != nil {
		// Fail before the upload when the outcome is already known; the check that
		// counts is the one at commit.
		if err := o.checkNow(req, cond); err != nil {
			return err
		}
	}
	m, err := metaFromHeaders(r.Header, req.key, o.Now())
	if err != nil {
		return err
	}
	w := o.store.newObjectWriter(r.ContentLength, true)
	defer w.abort()
	sums, err := receiveBody(req, w)
	if err != nil {
		return err
	}
	m.Checksums = sums
	if err := o.store.commit(w, req.bucket, m, cond); err != nil {
		return o.bucketError(err)
	}
	h := req.w.Header()
	h.Set("ETag", m.ETag)
	for alg, v := range sums {
		h.Set("X-Amz-Checksum-"+alg, v)
	}
	req.w.WriteHeader(200)
	return nil
}

// requireContentLength refuses uploads of unknown length, as S3 does, so an SDK upload that
// works here works on AWS: Transfer-Encoding: chunked is 501 NotImplemented (what S3 answers
// aws-sdk-go-v2's unseekable bodies of unknown length, aws/aws-sdk-go-v2#2683), and no length
// at all is 411 MissingContentLength.
func requireContentLength(r *http.Request) error {
	if len(r.TransferEncoding) > 0 {
		return &s3Error{Status: 501, Code: "NotImplemented", Message: "A header you provided implies functionality that is not implemented",
			Extra: map[string]string{"Header": "Transfer-Encoding"}}
	}
	// net/http reports a request without Content-Length (and without a body framing) as
	// length 0; the header's absence is what S3 refuses.
	if _, ok := r.Header["Content-Length"]; r.ContentLength < 0 || (!ok && r.ContentLength == 0) {
		return s3Err(411, "MissingContentLength", "You must provide the Content-Length HTTP header.")
	}
	return nil
}

var errPreconditionFailed = s3Err(412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold")

// writeConditions reads the conditions of a PUT or DELETE: If-None-Match: * (create
// only) and If-Match (replace or delete only that ETag; * matches any object). nil: none.
func writeConditions(h http.Header) (precondition, error) {
	inm, im := h.Get("If-None-Match"), h.Get("If-Match")
	if inm == "" && im == "" {
		return nil, nil
	}
	if inm != "" && strings.TrimSpace(inm) != "*" {
		return nil, s3Err(501, "NotImplemented", "If-None-Match on PUT supports only *")
	}
	return func(cur *objectMeta) error {
		if inm != "" && cur != nil {
			return errPreconditionFailed
		}
		if im != "" {
			if cur == nil {
				return s3Err(404, "NoSuchKey", "The specified key does not exist.")
			}
			if strings.TrimSpace(im) != "*" && !etagListMatch(im, cur.ETag, false) {
				return errPreconditionFailed
			}
		}
		return nil
	}, nil
}

// checkNow evaluates cond against the object in place at this moment.
func (o *S3Origin) checkNow(req *s3Request, cond precondition) error {
	cur, err := o.store.head(req.bucket, req.key)
	if errors.Is(err, errNoSuchKey) {
		return cond(nil)
	}
	if err != nil {
		return o.bucketError(err)
	}
	return cond(cur)
}

// parseCopySource reads x-amz-copy-source: "[/]bucket/key" URL-encoded, with an optional
// ?versionId (unversioned buckets have only the null version, so it is ignored).
func parseCopySource(src string) (bucket, key string, err error) {
	if i := strings.Index(src, "?"); i >= 0 {
		src = src[:i]
	}
	src, err = url.PathUnescape(src)
	if err != nil {
		return "", "", s3Err(400, "InvalidArgument", "Invalid copy source encoding")
	}
	bucket, key, ok := strings.Cut(strings.TrimPrefix(src, "/"), "/")
	if !ok || key == "" {
		return "", "", s3Err(400, "InvalidArgument", "Copy Source must mention the source bucket and key: sourcebucket/sourcekey")
	}
	if err := validBucketName(bucket); err != nil {
		return "", "", err
	}
	return bucket, key, nil
}

// openCopySource opens the object x-amz-copy-source names, applying the
// x-amz-copy-source-if-* conditions.
func (o *S3Origin) openCopySource(r *http.Request) (*storedObject, error) {
	srcBucket, srcKey, err := parseCopySource(r.Header.Get("X-Amz-Copy-Source"))
	if err != nil {
		return nil, err
	}
	obj, err := o.store.open(srcBucket, srcKey)
	if errors.Is(err, errNoSuchKey) {
		return nil, &s3Error{Status: 404, Code: "NoSuchKey", Message: "The specified key does not exist.", Extra: map[string]string{"Key": srcKey}}
	}
	if err != nil {
		return nil, o.bucketError(err)
	}
	if status := checkCopyConditions(r.Header, obj.meta); status != 0 {
		obj.Close()
		return nil, errPreconditionFailed
	}
	return obj, nil
}

func (o *S3Origin) copyObject(req *s3Request) error {
	r := req.r
	srcBucket, srcKey, err := parseCopySource(r.Header.Get("X-Amz-Copy-Source"))
	if err != nil {
		return err
	}
	directive := r.Header.Get("X-Amz-Metadata-Directive")
	if directive == "" {
		directive = "COPY"
	}
	if directive != "COPY" && directive != "REPLACE" {
		return s3Err(400, "InvalidArgument", "Unknown metadata directive.")
	}
	if srcBucket == req.bucket && srcKey == req.key && directive == "COPY" {
		return s3Err(400, "InvalidRequest", "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.")
	}
	obj, err := o.openCopySource(r)
	if err != nil {
		return err
	}
	defer obj.Close()
	var m *objectMeta
	if directive == "REPLACE" {
		if m, err = metaFromHeaders(r.Header, req.key, o.Now()); err != nil {
			return err
		}
	} else {
		c := *obj.meta
		m = &c
		m.Key, m.LastModified, m.ETag = req.key, o.Now().UTC(), ""
	}
	m.Checksums = obj.meta.Checksums
	m.Parts = 0
	w := o.store.newObjectWriter(obj.meta.Size, true)
	defer w.abort()
	if _, err := io.Copy(w, obj.content); err != nil {
		return err
	}
	if err := o.store.commit(w, req.bucket, m, nil); err != nil {
		return o.bucketError(err)
	}
	return writeXML(req, 200, struct {
		XMLName      xml.Name `xml:"CopyObjectResult"`
		Xmlns        string   `xml:"xmlns,attr"`
		LastModified string   `xml:"LastModified"`
		ETag         string   `xml:"ETag"`
	}{Xmlns: s3Namespace, LastModified: s3Time(m.LastModified), ETag: m.ETag})
}

// checkCopyConditions applies x-amz-copy-source-if-* headers; it returns 0 or 412.
func checkCopyConditions(h http.Header, m *objectMeta) int {
	c := http.Header{}
	for _, k := range []string{"Match", "None-Match", "Modified-Since", "Unmodified-Since"} {
		if v := h.Get("X-Amz-Copy-Source-If-" + k); v != "" {
			c.Set("If-"+k, v)
		}
	}
	if checkConditions(c, m) != 0 {
		return http.StatusPreconditionFailed
	}
	return 0
}

// --- wire helpers ---

// s3Time formats a time as S3 does in XML: ISO 8601 with milliseconds, UTC.
func s3Time(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func writeXML(req *s3Request, status int, v any) error {
	body, err := xml.Marshal(v)
	if err != nil {
		return err
	}
	h := req.w.Header()
	h.Set("Content-Type", "application/xml")
	h.Set("Content-Length", strconv.Itoa(len(xml.Header)+len(body)))
	req.w.WriteHeader(status)
	io.WriteString(req.w, xml.Header)
	req.w.Write(body)
	return nil
}

func (o *S3Origin) writeError(req *s3Request, e *s3Error) {
	h := req.w.Header()
	// Drop representation headers a handler may have set before failing.
	for _, k := range []string{"ETag", "Last-Modified", "Cache-Control", "Content-Language", "Content-Disposition",
		"Content-Encoding", "Expires", "Accept-Ranges", "Content-Length"} {
		h.Del(k)
	}
	if e.Region != "" {
		h.Set("X-Amz-Bucket-Region", e.Region)
	}
	var extra strings.Builder
	if e.Region != "" {
		fmt.Fprintf(&extra, "<Region>%s</Region>", xmlEscape(e.Region))
	}
	for k, v := range e.Extra {
		fmt.Fprintf(&extra, "<%s>%s</%s>", k, xmlEscape(v), k)
	}
	resource := req.r.URL.Path
	body := fmt.Sprintf("%s<Error><Code>%s</Code><Message>%s</Message>%s<Resource>%s</Resource><RequestId>%s</RequestId><HostId>%s</HostId></Error>",
		xml.Header, e.Code, xmlEscape(e.Message), extra.String(), xmlEscape(resource), req.id, h.Get("X-Amz-Id-2"))
	h.Set("Content-Type", "application/xml")
	// HEAD errors have no body; S3 still sends the status.
	if req.r.Method == http.MethodHead {
		req.w.WriteHeader(e.Status)
		return
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	req.w.WriteHeader(e.Status)
	io.WriteString(req.w, body)
}

// readSmallBody reads an XML request body, verifying x-amz-content-sha256 when it is a hash.
func readSmallBody(req *s3Request, checks bodyChecks) ([]byte, error) {
	var buf bytes.Buffer
	lw := &limitedWriter{w: &buf, n: maxXMLBody}
	if _, err := receiveBodyWith(req, lw, checks); err != nil {
		if errors.Is(err, errTooLarge) {
			return nil, s3Err(400, "MaxMessageLengthExceeded", "Your request was too big.")
		}
		return nil, err
	}
	return buf.Bytes(), nil
}

var errTooLarge = errors.New("body too large")

type limitedWriter struct {
	w io.Writer
	n int64
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > l.n {
		return 0, errTooLarge
	}
	l.n -= int64(len(p))
	return l.w.Write(p)
}

func md5Sum(b []byte) []byte {
	s := md5.Sum(b)
	return s[:]
}

// checkContentMD5 compares a Content-MD5 header (base64) with the MD5 of what was received.
// A header that is present but empty is InvalidDigest, as S3 answers.
func checkContentMD5(header string, sum []byte) error {
	want, err := base64.StdEncoding.DecodeString(header)
	if err != nil || len(want) != md5.Size {
		return s3Err(400, "InvalidDigest", "The Content-MD5 you specified was invalid.")
	}
	if !bytes.Equal(want, sum) {
		return &s3Error{Status: 400, Code: "BadDigest", Message: "The Content-MD5 you specified did not match what we received.",
			Extra: map[string]string{"ExpectedDigest": hex.EncodeToString(want), "CalculatedDigest": base64.StdEncoding.EncodeToString(sum)}}
	}
	return nil
}
