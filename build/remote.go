package build

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
)

// S3API is the part of the S3 client a release uses. *s3.Client implements it; tests
// wrap it to inject failures.
type S3API interface {
	ListObjectsV2(context.Context, *s3.ListObjectsV2Input, ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
	HeadObject(context.Context, *s3.HeadObjectInput, ...func(*s3.Options)) (*s3.HeadObjectOutput, error)
	GetObject(context.Context, *s3.GetObjectInput, ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	PutObject(context.Context, *s3.PutObjectInput, ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	CopyObject(context.Context, *s3.CopyObjectInput, ...func(*s3.Options)) (*s3.CopyObjectOutput, error)
	DeleteObjects(context.Context, *s3.DeleteObjectsInput, ...func(*s3.Options)) (*s3.DeleteObjectsOutput, error)
	DeleteObject(context.Context, *s3.DeleteObjectInput, ...func(*s3.Options)) (*s3.DeleteObjectOutput, error)
	CreateMultipartUpload(context.Context, *s3.CreateMultipartUploadInput, ...func(*s3.Options)) (*s3.CreateMultipartUploadOutput, error)
	UploadPart(context.Context, *s3.UploadPartInput, ...func(*s3.Options)) (*s3.UploadPartOutput, error)
	CompleteMultipartUpload(context.Context, *s3.CompleteMultipartUploadInput, ...func(*s3.Options)) (*s3.CompleteMultipartUploadOutput, error)
	ListMultipartUploads(context.Context, *s3.ListMultipartUploadsInput, ...func(*s3.Options)) (*s3.ListMultipartUploadsOutput, error)
	ListParts(context.Context, *s3.ListPartsInput, ...func(*s3.Options)) (*s3.ListPartsOutput, error)
	HeadBucket(context.Context, *s3.HeadBucketInput, ...func(*s3.Options)) (*s3.HeadBucketOutput, error)
	CreateBucket(context.Context, *s3.CreateBucketInput, ...func(*s3.Options)) (*s3.CreateBucketOutput, error)
}

// CloudFrontAPI is the part of the CloudFront client a release uses.
type CloudFrontAPI interface {
	CreateInvalidation(context.Context, *cloudfront.CreateInvalidationInput, ...func(*cloudfront.Options)) (*cloudfront.CreateInvalidationOutput, error)
	GetInvalidation(context.Context, *cloudfront.GetInvalidationInput, ...func(*cloudfront.Options)) (*cloudfront.GetInvalidationOutput, error)
	ListInvalidations(context.Context, *cloudfront.ListInvalidationsInput, ...func(*cloudfront.Options)) (*cloudfront.ListInvalidationsOutput, error)
	GetDistributionConfig(context.Context, *cloudfront.GetDistributionConfigInput, ...func(*cloudfront.Options)) (*cloudfront.GetDistributionConfigOutput, error)
}

var (
	_ S3API         = (*s3.Client)(nil)
	_ CloudFrontAPI = (*cloudfront.Client)(nil)
)

// Object metadata written on every site object (as x-amz-meta-*). The edge passes
// x-amz-meta-* headers to viewers, so region shows which origin served a response
// and release which release wrote it (the site's status view shows both).
//
// Only metaSHA256 and metaHeaders take part in the diff (headObject): release names
// the release that last wrote the object, so a release leaves an object it does not
// need to rewrite with the id of the earlier release that did. An unchanged rebuild
// therefore still uploads nothing, and index.html names the newest release that
// changed it.
const (
	metaRegion  = "region"
	metaRelease = "release"
	metaSHA256  = "twinedge-sha256"
	metaHeaders = "twinedge-headers"
)

// remoteObject is one object from a bucket listing.
type remoteObject struct {
	Size         int64
	ETag         string // unquoted
	LastModified time.Time
}

// listObjects lists every object under prefix; keys are returned relative to prefix.
func listObjects(ctx context.Context, c S3API, bucket, prefix string) (map[string]remoteObject, error) {
	out := map[string]remoteObject{}
	p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list s3://%s/%s: %w", bucket, prefix, err)
		}
		for _, o := range page.Contents {
			key := strings.TrimPrefix(aws.ToString(o.Key), prefix)
			if key == "" {
				continue
			}
			out[key] = remoteObject{
				Size:         aws.ToInt64(o.Size),
				ETag:         strings.Trim(aws.ToString(o.ETag), `"`),
				LastModified: aws.ToTime(o.LastModified),
			}
		}
	}
	return out, nil
}

// etagIsMD5 reports whether an ETag is a plain MD5 (single-part upload without
// SSE-KMS), the only case in which it says anything about the content.
func etagIsMD5(etag string) bool { return isHex(strings.ToLower(etag), 32) }

// putObject uploads one site file for release with its served headers and twinedge's
// metadata. Content-MD5 makes S3 reject a body damaged in transit; the returned ETag
// is checked too, because not every S3-compatible server honours Content-MD5.
func putObject(ctx context.Context, t *Target, f File, body io.ReadSeeker, release string) error {
	md, err := hex.DecodeString(f.MD5)
	if err != nil || len(md) != 16 {
		return fmt.Errorf("put %s: no md5 for the body", f.Path)
	}
	out, err := t.Client.PutObject(ctx, &s3.PutObjectInput{
		Bucket:        aws.String(t.Bucket),
		Key:           aws.String(t.Prefix + f.Path),
		Body:          body,
		ContentLength: aws.Int64(f.Size),
		ContentType:   aws.String(f.ContentType),
		CacheControl:  nonEmpty(f.CacheControl),
		ContentMD5:    aws.String(base64.StdEncoding.EncodeToString(md)),
		Metadata:      objectMetadata(t, f, release),
	}, withPayloadSHA256(f.SHA256))
	if err != nil {
		return fmt.Errorf("put %s to %s (%s): %w", f.Path, t.Bucket, t.Region, err)
	}
	// With SSE-KMS or SSE-C the ETag is not the MD5; S3 has checked Content-MD5 anyway.
	opaque := strings.HasPrefix(string(out.ServerSideEncryption), "aws:kms") || out.SSECustomerAlgorithm != nil
	if etag := strings.Trim(aws.ToString(out.ETag), `"`); !opaque && etagIsMD5(etag) && !strings.EqualFold(etag, f.MD5) {
		return fmt.Errorf("put %s to %s (%s): stored ETag %s is not the body's MD5 %s", f.Path, t.Bucket, t.Region, etag, f.MD5)
	}
	return nil
}

// withPayloadSHA256 signs a PUT with the body's SHA-256 from the manifest. Without it
// the SDK reads every body once more before sending it to compute that hash (on plain
// HTTP; on HTTPS it sends UNSIGNED-PAYLOAD: the v4 signer's
// dynamicPayloadSigningMiddleware), and a preset hash is what that middleware is
// documented to use instead ("Will not set the Unsigned Payload magic SHA value, if a
// SHA has already been stored in the context (e.g. application pre-computed SHA256)").
// The payload is then signed on every endpoint at no cost, and S3 checks the body
// against it as well as against Content-MD5.
func withPayloadSHA256(sum string) func(*s3.Options) {
	return func(o *s3.Options) {
		o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
			return st.Finalize.Insert(middleware.FinalizeMiddlewareFunc("TwinedgePayloadSHA256",
				func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
					return next.HandleFinalize(v4.SetPayloadHash(ctx, sum), in)
				}), "ComputePayloadHash", middleware.Before)
		})
	}
}

// copyObject copies src (in srcBucket) to the site key of f with f's headers, for
// release. The stored copy's own metadata (including the release id of whatever
// release wrote the original) is replaced, so the result is what putObject would
// write for release.
func copyObject(ctx context.Context, t *Target, srcBucket, srcKey string, f File, release string) error {
	_, err := t.Client.CopyObject(ctx, &s3.CopyObjectInput{
		Bucket:            aws.String(t.Bucket),
		Key:               aws.String(t.Prefix + f.Path),
		CopySource:        aws.String(copySource(srcBucket, srcKey)),
		MetadataDirective: types.MetadataDirectiveReplace,
		ContentType:       aws.String(f.ContentType),
		CacheControl:      nonEmpty(f.CacheControl),
		Metadata:          objectMetadata(t, f, release),
	})
	if err != nil {
		return fmt.Errorf("copy s3://%s/%s to %s in %s (%s): %w", srcBucket, srcKey, f.Path, t.Bucket, t.Region, err)
	}
	return nil
}

// copySource is the x-amz-copy-source value: bucket/key, URL-encoded.
func copySource(bucket, key string) string {
	return (&url.URL{Path: bucket + "/" + key}).EscapedPath()
}

// objectMetadata is the x-amz-meta-* set of f in t written by release; an empty
// release (none known) writes no release key rather than an invented one.
func objectMetadata(t *Target, f File, release string) map[string]string {
	m := map[string]string{
		metaRegion:  t.Region,
		metaSHA256:  f.SHA256,
		metaHeaders: headersHash(f),
	}
	if release != "" {
		m[metaRelease] = release
	}
	return m
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return aws.String(s)
}

// headMeta is what a HEAD tells about a site object written by twinedge.
type headMeta struct {
	SHA256, Headers string
	Release         string // x-amz-meta-release: the release that wrote it
}

// headObject reads twinedge's metadata from one object; ok is false when the object
// was not written by twinedge (no metadata) or is gone.
func headObject(ctx context.Context, t *Target, key string) (headMeta, bool, error) {
	out, err := t.Client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(t.Bucket), Key: aws.String(t.Prefix + key)})
	if err != nil {
		if isNotFound(err) {
			return headMeta{}, false, nil
		}
		return headMeta{}, false, fmt.Errorf("head %s in %s (%s): %w", key, t.Bucket, t.Region, err)
	}
	m := headMeta{SHA256: out.Metadata[metaSHA256], Headers: out.Metadata[metaHeaders], Release: out.Metadata[metaRelease]}
	// Recompute what the object serves, rather than trust the stored hash alone: a
	// header changed by another tool must not be mistaken for twinedge's.
	served := headersHash(File{ContentType: aws.ToString(out.ContentType), CacheControl: aws.ToString(out.CacheControl)})
	if m.SHA256 == "" || m.Headers != served {
		return headMeta{}, false, nil
	}
	return m, true, nil
}

// deleteKeys deletes keys (relative to the prefix) in batches of 1,000, the
// DeleteObjects limit. Per-key failures are returned, not dropped (s3deploy ignores
// them; spec/release-tools.md §1).
func deleteKeys(ctx context.Context, t *Target, keys []string) (deleted []string, failed map[string]string, err error) {
	return deleteIn(ctx, t.Client, t.Bucket, t.Region, t.Prefix, keys)
}

func deleteIn(ctx context.Context, c S3API, bucket, region, prefix string, keys []string) (deleted []string, failed map[string]string, err error) {
	failed = map[string]string{}
	for start := 0; start < len(keys); start += 1000 {
		batch := keys[start:min(start+1000, len(keys))]
		ids := make([]types.ObjectIdentifier, len(batch))
		for i, k := range batch {
			ids[i] = types.ObjectIdentifier{Key: aws.String(prefix + k)}
		}
		out, err := c.DeleteObjects(ctx, &s3.DeleteObjectsInput{
			Bucket: aws.String(bucket),
			Delete: &types.Delete{Objects: ids, Quiet: aws.Bool(true)},
		})
		if err != nil {
			return deleted, failed, fmt.Errorf("delete %d objects in %s (%s): %w", len(batch), bucket, region, err)
		}
		bad := map[string]bool{}
		for _, e := range out.Errors {
			k := strings.TrimPrefix(aws.ToString(e.Key), prefix)
			bad[k] = true
			failed[k] = aws.ToString(e.Code) + ": " + aws.ToString(e.Message)
		}
		for _, k := range batch {
			if !bad[k] {
				deleted = append(deleted, k)
			}
		}
	}
	return deleted, failed, nil
}

// getBytes reads a whole (small) object; out carries its metadata (ETag,
// LastModified), its body already read.
func getBytes(ctx context.Context, c S3API, bucket, key string) (b []byte, out *s3.GetObjectOutput, err error) {
	out, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return nil, nil, err
	}
	defer out.Body.Close()
	b, err = io.ReadAll(io.LimitReader(out.Body, maxManifestBytes+1))
	return b, out, err
}

// putBytes writes b as an object and returns its ETag; cond adds conditions such as
// If-None-Match to the request.
func putBytes(ctx context.Context, c S3API, bucket, key, contentType string, b []byte, cond ...func(*s3.PutObjectInput)) (etag string, err error) {
	in := &s3.PutObjectInput{
		Bucket:        aws.String(bucket),
		Key:           aws.String(key),
		Body:          bytes.NewReader(b),
		ContentLength: aws.Int64(int64(len(b))),
		ContentType:   aws.String(contentType),
	}
	for _, f := range cond {
		f(in)
	}
	out, err := c.PutObject(ctx, in)
	if err != nil {
		return "", err
	}
	return aws.ToString(out.ETag), nil
}

// apiErrorCode returns the AWS error code of err ("NoSuchKey", "PreconditionFailed"),
// or "".
func apiErrorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// isNotFound reports whether err is S3's answer for a missing key or bucket. A
// private bucket answers 403 for a missing key when the caller may not list it.
func isNotFound(err error) bool {
	switch apiErrorCode(err) {
	case "NoSuchKey", "NotFound", "NoSuchBucket":
		return true
	}
	var nf *types.NotFound
	var nk *types.NoSuchKey
	var nb *types.NoSuchBucket
	return errors.As(err, &nf) || errors.As(err, &nk) || errors.As(err, &nb)
}

// ensureBucket creates the record bucket when it does not exist.
func ensureBucket(ctx context.Context, c S3API, bucket, region string) error {
	_, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bucket)})
	if err == nil {
		return nil
	}
	if !isNotFound(err) {
		return fmt.Errorf("check record bucket %s: %w", bucket, err)
	}
	in := &s3.CreateBucketInput{Bucket: aws.String(bucket)}
	// S3: us-east-1 is the default location and must not be named in the request.
	if region != "us-east-1" {
		in.CreateBucketConfiguration = &types.CreateBucketConfiguration{LocationConstraint: types.BucketLocationConstraint(region)}
	}
	if _, err := c.CreateBucket(ctx, in); err != nil {
		if apiErrorCode(err) == "BucketAlreadyOwnedByYou" {
			return nil
		}
		return fmt.Errorf("create record bucket %s in %s: %w", bucket, region, err)
	}
	return nil
}
