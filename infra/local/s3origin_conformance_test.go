package local

// Behaviours ceph/s3-tests found wrong (infra/local/s3tests/run.sh), each pinned here with the
// SDK or a raw signed request, so go test catches a regression without the Python suite.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/google/go-cmp/cmp"
)

// rawS3 sends a signed request built by hand and returns the status and body.
func (f *s3Fixture) rawS3(t *testing.T, method, path string, body []byte, header http.Header) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	signTestRequest(t, req, body, s3TestCreds, time.Now())
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// multipartFixture uploads parts (the sizes given, filled with 'a', 'b', …) to a new upload of
// key in bucket "mpu" and returns the upload id, the completed parts and the whole content.
func (f *s3Fixture) multipart(t *testing.T, key string, sizes []int, mod func(*s3.CreateMultipartUploadInput)) (string, []types.CompletedPart, []byte) {
	t.Helper()
	ctx := context.Background()
	in := &s3.CreateMultipartUploadInput{Bucket: aws.String("mpu"), Key: aws.String(key)}
	if mod != nil {
		mod(in)
	}
	up, err := f.client.CreateMultipartUpload(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	var parts []types.CompletedPart
	var all []byte
	for i, n := range sizes {
		data := bytes.Repeat([]byte{byte('a' + i)}, n)
		all = append(all, data...)
		out, err := f.client.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("mpu"), Key: aws.String(key), UploadId: up.UploadId,
			PartNumber: aws.Int32(int32(i + 1)), Body: bytes.NewReader(data), ChecksumAlgorithm: in.ChecksumAlgorithm})
		if err != nil {
			t.Fatalf("part %d: %v", i+1, err)
		}
		parts = append(parts, types.CompletedPart{PartNumber: aws.Int32(int32(i + 1)), ETag: out.ETag,
			ChecksumSHA256: out.ChecksumSHA256, ChecksumCRC32: out.ChecksumCRC32})
	}
	return aws.ToString(up.UploadId), parts, all
}

func (f *s3Fixture) complete(key, id string, parts []types.CompletedPart, mod ...func(*s3.CompleteMultipartUploadInput)) (*s3.CompleteMultipartUploadOutput, error) {
	in := &s3.CompleteMultipartUploadInput{Bucket: aws.String("mpu"), Key: aws.String(key), UploadId: aws.String(id),
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}}
	for _, m := range mod {
		m(in)
	}
	return f.client.CompleteMultipartUpload(context.Background(), in)
}

// TestS3CompleteMultipartUploadIsIdempotent: a retried completion (the SDKs retry one whose
// answer was lost or was a 200 carrying an error) gets the first one's 200 and ETag.
func TestS3CompleteMultipartUploadIsIdempotent(t *testing.T) {
	f := newS3Fixture(t)
	ctx := context.Background()
	f.bucket(t, "mpu")
	id, parts, all := f.multipart(t, "big", []int{5 << 20, 100}, nil)
	first, err := f.complete("big", id, parts)
	if err != nil {
		t.Fatal(err)
	}
	again, err := f.complete("big", id, parts)
	if err != nil {
		t.Fatalf("second CompleteMultipartUpload of the same upload: %v, want 200 as S3 answers", err)
	}
	if aws.ToString(again.ETag) != aws.ToString(first.ETag) {
		t.Errorf("retried completion ETag %s, first %s", aws.ToString(again.ETag), aws.ToString(first.ETag))
	}
	if _, body, err := f.get(t, "mpu", "big"); err != nil || body != string(all) {
		t.Fatalf("object after completion: %v (%d bytes, want %d)", err, len(body), len(all))
	}
	// The upload is gone for everything else.
	_, err = f.client.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("mpu"), Key: aws.String("big"), UploadId: aws.String(id),
		PartNumber: aws.Int32(3), Body: strings.NewReader("late")})
	if apiCode(err) != "NoSuchUpload" {
		t.Errorf("UploadPart after completion: %v, want NoSuchUpload", err)
	}
	ups, err := f.client.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String("mpu")})
	if err != nil || len(ups.Uploads) != 0 {
		t.Errorf("ListMultipartUploads after completion: %v %+v", err, ups)
	}
	// Another key's completion with this id is still no such upload.
	if _, err := f.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("mpu"), Key: aws.String("other"),
		UploadId: aws.String(id), MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}}); apiCode(err) != "NoSuchUpload" {
		t.Errorf("completion of the id under another key: %v, want NoSuchUpload", err)
	}
}

// TestS3CompleteMultipartUploadConditions: If-None-Match: * and If-Match hold for a completion
// as for PutObject (S3 userguide, conditional-writes.html).
func TestS3CompleteMultipartUploadConditions(t *testing.T) {
	f := newS3Fixture(t)
	f.bucket(t, "mpu")
	small := []int{10}

	id, parts, _ := f.multipart(t, "k", small, nil)
	if _, err := f.complete("k", id, parts, func(in *s3.CompleteMultipartUploadInput) { in.IfMatch = aws.String("*") }); apiCode(err) != "NoSuchKey" {
		t.Errorf("If-Match: * on a missing key: %v, want 404 NoSuchKey", err)
	}
	created, err := f.complete("k", id, parts, func(in *s3.CompleteMultipartUploadInput) { in.IfNoneMatch = aws.String("*") })
	if err != nil {
		t.Fatalf("If-None-Match: * on a missing key: %v", err)
	}

	id, parts, _ = f.multipart(t, "k", small, nil)
	if _, err := f.complete("k", id, parts, func(in *s3.CompleteMultipartUploadInput) { in.IfNoneMatch = aws.String("*") }); httpStatus(err) != 412 {
		t.Errorf("If-None-Match: * on an existing key: %v, want 412", err)
	}
	if _, err := f.complete("k", id, parts, func(in *s3.CompleteMultipartUploadInput) { in.IfMatch = aws.String(`"0123"`) }); httpStatus(err) != 412 {
		t.Errorf("If-Match of another ETag: %v, want 412", err)
	}
	if _, err := f.complete("k", id, parts, func(in *s3.CompleteMultipartUploadInput) { in.IfMatch = created.ETag }); err != nil {
		t.Errorf("If-Match of the current ETag: %v", err)
	}
}

// TestS3MultipartChecksums: the upload's checksum algorithm is echoed, each part's checksum is
// listed, and the object's checksum is the composite (checksum of the parts' checksums, "-N")
// or the full-object one, as S3 computes them (userguide/checking-object-integrity.html).
func TestS3MultipartChecksums(t *testing.T) {
	f := newS3Fixture(t)
	ctx := context.Background()
	f.bucket(t, "mpu")
	sizes := []int{5 << 20, 1000}

	t.Run("SHA256 composite", func(t *testing.T) {
		id, parts, all := f.multipart(t, "sha", sizes, func(in *s3.CreateMultipartUploadInput) { in.ChecksumAlgorithm = types.ChecksumAlgorithmSha256 })
		lp, err := f.client.ListParts(ctx, &s3.ListPartsInput{Bucket: aws.String("mpu"), Key: aws.String("sha"), UploadId: aws.String(id)})
		if err != nil {
			t.Fatal(err)
		}
		var raw []byte
		for i, p := range lp.Parts {
			sum := sha256.Sum256(all[sum(sizes[:i]):sum(sizes[:i+1])])
			raw = append(raw, sum[:]...)
			if want := base64.StdEncoding.EncodeToString(sum[:]); aws.ToString(p.ChecksumSHA256) != want {
				t.Errorf("ListParts part %d ChecksumSHA256 %q, want %q", i+1, aws.ToString(p.ChecksumSHA256), want)
			}
		}
		if lp.ChecksumAlgorithm != types.ChecksumAlgorithmSha256 {
			t.Errorf("ListParts ChecksumAlgorithm %q", lp.ChecksumAlgorithm)
		}
		composite := sha256.Sum256(raw)
		want := base64.StdEncoding.EncodeToString(composite[:]) + "-2"

		if _, err := f.complete("sha", id, parts, func(in *s3.CompleteMultipartUploadInput) {
			in.ChecksumSHA256 = aws.String(base64.StdEncoding.EncodeToString(make([]byte, 32)) + "-2")
		}); apiCode(err) != "BadDigest" {
			t.Errorf("completion with a wrong composite checksum: %v, want BadDigest", err)
		}
		out, err := f.complete("sha", id, parts, func(in *s3.CompleteMultipartUploadInput) { in.ChecksumSHA256 = aws.String(want) })
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(out.ChecksumSHA256) != want || out.ChecksumType != types.ChecksumTypeComposite {
			t.Errorf("Complete: ChecksumSHA256 %q type %q, want %q COMPOSITE", aws.ToString(out.ChecksumSHA256), out.ChecksumType, want)
		}
		head, err := f.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("mpu"), Key: aws.String("sha"), ChecksumMode: types.ChecksumModeEnabled})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(head.ChecksumSHA256) != want || head.ChecksumType != types.ChecksumTypeComposite {
			t.Errorf("HEAD: ChecksumSHA256 %q type %q, want %q COMPOSITE", aws.ToString(head.ChecksumSHA256), head.ChecksumType, want)
		}
		// SDKs skip validating a composite checksum ("-N") of a whole-object GET.
		if _, body, err := f.get(t, "mpu", "sha", func(in *s3.GetObjectInput) { in.ChecksumMode = types.ChecksumModeEnabled }); err != nil || body != string(all) {
			t.Errorf("GET with checksum mode: %v", err)
		}
	})

	t.Run("CRC32 full object", func(t *testing.T) {
		id, parts, all := f.multipart(t, "crc", sizes, func(in *s3.CreateMultipartUploadInput) {
			in.ChecksumAlgorithm, in.ChecksumType = types.ChecksumAlgorithmCrc32, types.ChecksumTypeFullObject
		})
		var b [4]byte
		c := crc32.ChecksumIEEE(all)
		b[0], b[1], b[2], b[3] = byte(c>>24), byte(c>>16), byte(c>>8), byte(c)
		want := base64.StdEncoding.EncodeToString(b[:])
		out, err := f.complete("crc", id, parts)
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(out.ChecksumCRC32) != want || out.ChecksumType != types.ChecksumTypeFullObject {
			t.Errorf("Complete: ChecksumCRC32 %q type %q, want %q FULL_OBJECT", aws.ToString(out.ChecksumCRC32), out.ChecksumType, want)
		}
		// The SDK validates a full-object checksum of the whole body.
		if _, body, err := f.get(t, "mpu", "crc", func(in *s3.GetObjectInput) { in.ChecksumMode = types.ChecksumModeEnabled }); err != nil || body != string(all) {
			t.Errorf("GET with checksum validation: %v", err)
		}
	})

	t.Run("refused combinations", func(t *testing.T) {
		_, err := f.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("mpu"), Key: aws.String("x"),
			ChecksumAlgorithm: types.ChecksumAlgorithmSha256, ChecksumType: types.ChecksumTypeFullObject})
		if apiCode(err) != "InvalidRequest" {
			t.Errorf("SHA256 FULL_OBJECT: %v, want InvalidRequest", err)
		}
	})
}

func sum(xs []int) int {
	n := 0
	for _, x := range xs {
		n += x
	}
	return n
}

// TestS3GetPartNumber: GET and HEAD ?partNumber=N answer part N's bytes with the parts count,
// as a part-wise downloader needs; an object uploaded whole is its own part 1.
func TestS3GetPartNumber(t *testing.T) {
	f := newS3Fixture(t)
	ctx := context.Background()
	f.bucket(t, "mpu")
	sizes := []int{5 << 20, 3000}
	id, parts, all := f.multipart(t, "big", sizes, nil)
	done, err := f.complete("big", id, parts)
	if err != nil {
		t.Fatal(err)
	}
	for n := 1; n <= 2; n++ {
		out, body, err := f.get(t, "mpu", "big", func(in *s3.GetObjectInput) { in.PartNumber = aws.Int32(int32(n)) })
		if err != nil {
			t.Fatalf("part %d: %v", n, err)
		}
		start, end := sum(sizes[:n-1]), sum(sizes[:n])
		if body != string(all[start:end]) {
			t.Errorf("part %d: %d bytes, want bytes %d-%d", n, len(body), start, end-1)
		}
		if got, want := aws.ToString(out.ContentRange), fmt.Sprintf("bytes %d-%d/%d", start, end-1, len(all)); got != want {
			t.Errorf("part %d Content-Range %q, want %q", n, got, want)
		}
		if aws.ToInt32(out.PartsCount) != 2 || aws.ToString(out.ETag) != aws.ToString(done.ETag) {
			t.Errorf("part %d: PartsCount %d ETag %s", n, aws.ToInt32(out.PartsCount), aws.ToString(out.ETag))
		}
		head, err := f.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("mpu"), Key: aws.String("big"), PartNumber: aws.Int32(int32(n))})
		if err != nil || aws.ToInt64(head.ContentLength) != int64(end-start) || aws.ToInt32(head.PartsCount) != 2 {
			t.Errorf("HEAD part %d: %v length %d", n, err, aws.ToInt64(head.ContentLength))
		}
	}
	if _, _, err := f.get(t, "mpu", "big", func(in *s3.GetObjectInput) { in.PartNumber = aws.Int32(3) }); apiCode(err) != "InvalidPart" {
		t.Errorf("part 3 of 2: %v, want InvalidPart", err)
	}
	if _, _, err := f.get(t, "mpu", "big", func(in *s3.GetObjectInput) { in.PartNumber = aws.Int32(1); in.Range = aws.String("bytes=0-1") }); apiCode(err) != "InvalidRequest" {
		t.Errorf("partNumber with Range: %v, want InvalidRequest", err)
	}

	f.put(t, "mpu", "whole", "body")
	if _, body, err := f.get(t, "mpu", "whole", func(in *s3.GetObjectInput) { in.PartNumber = aws.Int32(1) }); err != nil || body != "body" {
		t.Errorf("part 1 of a whole object: %v %q", err, body)
	}
	if _, _, err := f.get(t, "mpu", "whole", func(in *s3.GetObjectInput) { in.PartNumber = aws.Int32(2) }); apiCode(err) != "InvalidPart" {
		t.Errorf("part 2 of a whole object: %v, want InvalidPart", err)
	}
}

// TestS3ListEncodingAndMaxKeys: encoding-type=url leaves "/" alone and encodes the rest;
// ListObjects v1 echoes Prefix as sent; max-keys=0 is an empty, untruncated page; an empty
// continuation token starts at the beginning.
func TestS3ListEncodingAndMaxKeys(t *testing.T) {
	f := newS3Fixture(t)
	f.bucket(t, "site")
	for _, k := range []string{"foo+1/bar", "foo/bar/xyzzy", "quux ab/thud", "asdf+b", "a b/c"} {
		f.put(t, "site", k, "x")
	}
	_, _, v2 := f.rawS3(t, "GET", "/site?list-type=2&delimiter=%2F&encoding-type=url", nil, nil)
	for _, want := range []string{"<Delimiter>/</Delimiter>", "<Key>asdf%2Bb</Key>",
		"<Prefix>foo%2B1/</Prefix>", "<Prefix>foo/</Prefix>", "<Prefix>quux%20ab/</Prefix>"} {
		if !strings.Contains(v2, want) {
			t.Errorf("ListObjectsV2 encoding-type=url lacks %s:\n%s", want, v2)
		}
	}
	_, _, v2p := f.rawS3(t, "GET", "/site?list-type=2&prefix=a%20b%2F&encoding-type=url", nil, nil)
	if !strings.Contains(v2p, "<Prefix>a%20b/</Prefix>") {
		t.Errorf("ListObjectsV2 encodes Prefix:\n%s", v2p)
	}
	_, _, v1 := f.rawS3(t, "GET", "/site?prefix=a%20b%2F&encoding-type=url", nil, nil)
	if !strings.Contains(v1, "<Prefix>a b/</Prefix>") || !strings.Contains(v1, "<Key>a%20b/c</Key>") {
		t.Errorf("ListObjects v1 must echo Prefix as sent and encode keys:\n%s", v1)
	}

	ctx := context.Background()
	v1out, err := f.client.ListObjects(ctx, &s3.ListObjectsInput{Bucket: aws.String("site"), MaxKeys: aws.Int32(0)})
	if err != nil || aws.ToBool(v1out.IsTruncated) || len(v1out.Contents) != 0 {
		t.Errorf("ListObjects max-keys=0: %v truncated=%v %d keys, want an empty untruncated page", err, aws.ToBool(v1out.IsTruncated), len(v1out.Contents))
	}
	v2out, err := f.client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("site"), MaxKeys: aws.Int32(0)})
	if err != nil || aws.ToBool(v2out.IsTruncated) || len(v2out.Contents) != 0 {
		t.Errorf("ListObjectsV2 max-keys=0: %v truncated=%v %d keys", err, aws.ToBool(v2out.IsTruncated), len(v2out.Contents))
	}
	status, _, body := f.rawS3(t, "GET", "/site?list-type=2&continuation-token=", nil, nil)
	if status != 200 || !strings.Contains(body, "<ContinuationToken></ContinuationToken>") || strings.Count(body, "<Key>") != 5 {
		t.Errorf("empty continuation token: %d\n%s", status, body)
	}
}

// TestS3ContentEncodingAndMD5: Content-Encoding is stored verbatim but for aws-chunked, which
// S3 strips even from a PUT that is not streamed; an empty Content-MD5 is InvalidDigest; a PUT
// without Content-Length is 411.
func TestS3ContentEncodingAndMD5(t *testing.T) {
	f := newS3Fixture(t)
	ctx := context.Background()
	f.bucket(t, "site")
	for _, c := range []struct{ sent, stored string }{
		{"gzip", "gzip"},
		{"deflate, gzip", "deflate, gzip"},
		{"gzip, aws-chunked", "gzip"},
		{"aws-chunked, gzip", "gzip"},
		{"aws-chunked", ""},
	} {
		status, _, body := f.rawS3(t, "PUT", "/site/enc", []byte("data"), http.Header{"Content-Encoding": {c.sent}})
		if status != 200 {
			t.Errorf("PUT Content-Encoding %q: %d %s", c.sent, status, body)
			continue
		}
		head, err := f.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("site"), Key: aws.String("enc")})
		if err != nil || aws.ToString(head.ContentEncoding) != c.stored {
			t.Errorf("Content-Encoding %q stored as %q (%v), want %q", c.sent, aws.ToString(head.ContentEncoding), err, c.stored)
		}
	}
	status, _, body := f.rawS3(t, "PUT", "/site/md5", []byte("data"), http.Header{"Content-Md5": {""}})
	if status != 400 || !strings.Contains(body, "<Code>InvalidDigest</Code>") {
		t.Errorf("empty Content-MD5: %d %s, want 400 InvalidDigest", status, body)
	}

	req := httptest.NewRequest("PUT", f.srv.URL+"/site/nolength", nil)
	req.Header.Del("Content-Length")
	req.ContentLength = 0
	if err := requireContentLength(req); err == nil || err.(*s3Error).Status != 411 {
		t.Errorf("PUT without Content-Length: %v, want 411 MissingContentLength", err)
	}
}

// TestS3RecreateOwnBucketUSEast1: in us-east-1 re-creating a bucket one owns is 200 (S3's
// legacy rule), elsewhere 409 BucketAlreadyOwnedByYou.
func TestS3RecreateOwnBucketUSEast1(t *testing.T) {
	o, err := NewS3Origin(t.TempDir(), "us-east-1", s3TestCreds)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(o)
	defer srv.Close()
	c := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), UsePathStyle: true,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return s3TestCreds, nil })})
	ctx := context.Background()
	for i := range 2 {
		if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("again")}); err != nil {
			t.Fatalf("CreateBucket #%d in us-east-1: %v", i+1, err)
		}
	}
	f := newS3Fixture(t)
	f.bucket(t, "again")
	_, err = f.client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("again"),
		CreateBucketConfiguration: &types.CreateBucketConfiguration{LocationConstraint: types.BucketLocationConstraint(s3TestRegion)}})
	if apiCode(err) != "BucketAlreadyOwnedByYou" {
		t.Errorf("re-create in %s: %v, want BucketAlreadyOwnedByYou", s3TestRegion, err)
	}
	if diff := cmp.Diff(1, len(o.store.listBuckets())); diff != "" {
		t.Error(diff)
	}
}

// TestS3UploadPartCopy: parts copied from another object, whole or by x-amz-copy-source-range,
// as the aws CLI copies objects above 8 MiB; malformed ranges are InvalidArgument.
func TestS3UploadPartCopy(t *testing.T) {
	f := newS3Fixture(t)
	ctx := context.Background()
	f.bucket(t, "mpu")
	src := strings.Repeat("0123456789", (6<<20)/10)
	f.put(t, "mpu", "src key+", src)
	up, err := f.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("mpu"), Key: aws.String("dst")})
	if err != nil {
		t.Fatal(err)
	}
	copyPart := func(n int32, rng string) (*s3.UploadPartCopyOutput, error) {
		in := &s3.UploadPartCopyInput{Bucket: aws.String("mpu"), Key: aws.String("dst"), UploadId: up.UploadId, PartNumber: aws.Int32(n),
			CopySource: aws.String("mpu/src%20key%2B")}
		if rng != "" {
			in.CopySourceRange = aws.String(rng)
		}
		return f.client.UploadPartCopy(ctx, in)
	}
	for _, bad := range []string{"0-2", "bytes=0", "bytes=hello-world", "bytes=0-2,3-5", "bytes=-5"} {
		if _, err := copyPart(1, bad); apiCode(err) != "InvalidArgument" {
			t.Errorf("range %q: %v, want InvalidArgument", bad, err)
		}
	}
	if _, err := copyPart(1, fmt.Sprintf("bytes=0-%d", len(src))); apiCode(err) != "InvalidRange" {
		t.Errorf("range past the end: %v, want InvalidRange", err)
	}
	split := 5 << 20
	p1, err := copyPart(1, fmt.Sprintf("bytes=0-%d", split-1))
	if err != nil {
		t.Fatal(err)
	}
	p2, err := copyPart(2, fmt.Sprintf("bytes=%d-%d", split, len(src)-1))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.complete("dst", aws.ToString(up.UploadId), []types.CompletedPart{
		{PartNumber: aws.Int32(1), ETag: p1.CopyPartResult.ETag}, {PartNumber: aws.Int32(2), ETag: p2.CopyPartResult.ETag}}); err != nil {
		t.Fatal(err)
	}
	if _, body, err := f.get(t, "mpu", "dst"); err != nil || body != src {
		t.Errorf("copied object: %v, %d bytes, want %d", err, len(body), len(src))
	}
}

// TestS3GetObjectAttributes: the object's checksum (composite, "-N"), its parts with their
// sizes and checksums, paged, and the plain attributes.
func TestS3GetObjectAttributes(t *testing.T) {
	f := newS3Fixture(t)
	ctx := context.Background()
	f.bucket(t, "mpu")
	sizes := []int{5 << 20, 5 << 20, 10}
	id, parts, all := f.multipart(t, "k", sizes, func(in *s3.CreateMultipartUploadInput) { in.ChecksumAlgorithm = types.ChecksumAlgorithmSha256 })
	done, err := f.complete("k", id, parts)
	if err != nil {
		t.Fatal(err)
	}
	out, err := f.client.GetObjectAttributes(ctx, &s3.GetObjectAttributesInput{Bucket: aws.String("mpu"), Key: aws.String("k"), MaxParts: aws.Int32(2),
		ObjectAttributes: []types.ObjectAttributes{types.ObjectAttributesEtag, types.ObjectAttributesChecksum, types.ObjectAttributesObjectParts,
			types.ObjectAttributesStorageClass, types.ObjectAttributesObjectSize}})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.ETag) != strings.Trim(aws.ToString(done.ETag), `"`) || aws.ToInt64(out.ObjectSize) != int64(len(all)) || out.StorageClass != types.StorageClassStandard {
		t.Errorf("ETag %q size %d class %q", aws.ToString(out.ETag), aws.ToInt64(out.ObjectSize), out.StorageClass)
	}
	if out.Checksum == nil || aws.ToString(out.Checksum.ChecksumSHA256) != aws.ToString(done.ChecksumSHA256) || out.Checksum.ChecksumType != types.ChecksumTypeComposite {
		t.Errorf("Checksum %+v, want %s COMPOSITE", out.Checksum, aws.ToString(done.ChecksumSHA256))
	}
	op := out.ObjectParts
	if op == nil || aws.ToInt32(op.TotalPartsCount) != 3 || len(op.Parts) != 2 || !aws.ToBool(op.IsTruncated) || aws.ToString(op.NextPartNumberMarker) != "2" {
		t.Fatalf("ObjectParts %+v", op)
	}
	sum := sha256.Sum256(all[:5<<20])
	if aws.ToString(op.Parts[0].ChecksumSHA256) != base64.StdEncoding.EncodeToString(sum[:]) || aws.ToInt64(op.Parts[0].Size) != 5<<20 {
		t.Errorf("part 1: %+v", op.Parts[0])
	}
	if _, err := f.client.GetObjectAttributes(ctx, &s3.GetObjectAttributesInput{Bucket: aws.String("mpu"), Key: aws.String("missing"),
		ObjectAttributes: []types.ObjectAttributes{types.ObjectAttributesEtag}}); httpStatus(err) != 404 {
		t.Errorf("missing key: %v, want 404", err)
	}
}
