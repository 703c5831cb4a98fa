package build

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"golang.org/x/sync/errgroup"
)

// Files of multipartThreshold bytes or more go up by multipart upload, in parts of
// partSize, partsInFlight at a time: a 200 MB file is 13 parts, a failed part is
// retried alone, and a release killed part way resumes on the next run from the parts
// already stored. AWS advises multipart "when your object size reaches 100 MB"
// (docs.aws.amazon.com/AmazonS3/latest/userguide/mpuoverview.html); parts are 5 MiB to
// 5 GiB, at most 10,000 (…/qfacts.html), so partSize covers files up to 160 GB.
//
// Why not the SDK's transfer manager (feature/s3/manager, deprecated for
// feature/s3/transfermanager): it cannot resume, since it aborts the upload on any
// error and never lists the parts an earlier run stored; and it would hash every part
// again to sign it, where here each part is read once for its MD5 and SHA-256 (the
// Content-MD5 S3 checks it against, and the payload hash it is signed with; once for
// all regions, partDigests) and once per region to send it, straight from the file:
// memory stays at the copy buffers, whatever the file's size.
var (
	multipartThreshold int64 = 64 << 20
	partSize           int64 = 16 << 20
)

const partsInFlight = 4

// part is one part of a multipart upload, as computed from the file or as listed.
type part struct {
	n    int32
	size int64
	md5  string // hex
}

// putMultipart uploads f from fh by multipart upload for release, resuming an
// incomplete upload of the same key whose stored parts match the file's. done is
// called with the bytes of each part as it is stored.
func putMultipart(ctx context.Context, t *Target, f File, fh *os.File, digests *partDigests, release string, done func(int64)) error {
	key := t.Prefix + f.Path
	fail := func(err error) error { return fmt.Errorf("put %s to %s (%s): %w", f.Path, t.Bucket, t.Region, err) }
	id, stored, err := resumable(ctx, t, key)
	if err != nil {
		return fail(err)
	}
	if id == "" {
		out, err := t.Client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{
			Bucket:       aws.String(t.Bucket),
			Key:          aws.String(key),
			ContentType:  aws.String(f.ContentType),
			CacheControl: nonEmpty(f.CacheControl),
			Metadata:     objectMetadata(t, f, release),
		})
		if err != nil {
			return fail(fmt.Errorf("create multipart upload: %w", err))
		}
		id = aws.ToString(out.UploadId)
	}
	n := int32((f.Size + partSize - 1) / partSize)
	parts := make([]part, n)
	// A failed part does not cancel the others: what is stored now need not be sent
	// again by the next run.
	var g errgroup.Group
	g.SetLimit(partsInFlight)
	for i := range n {
		g.Go(func() error {
			off := int64(i) * partSize
			p := part{n: i + 1, size: min(partSize, f.Size-off)}
			sec := io.NewSectionReader(fh, off, p.size)
			md, sha, err := digests.of(f.Path, int(n), int(i), sec)
			if err != nil {
				return err
			}
			p.md5 = hex.EncodeToString(md)
			parts[i] = p
			if have, ok := stored[p.n]; ok && have == p {
				done(p.size) // stored by an earlier run: not sent again
				return nil
			}
			if _, err := sec.Seek(0, io.SeekStart); err != nil {
				return err
			}
			_, err = t.Client.UploadPart(ctx, &s3.UploadPartInput{
				Bucket:        aws.String(t.Bucket),
				Key:           aws.String(key),
				UploadId:      aws.String(id),
				PartNumber:    aws.Int32(p.n),
				Body:          sec,
				ContentLength: aws.Int64(p.size),
				ContentMD5:    aws.String(base64.StdEncoding.EncodeToString(md)),
			}, withPayloadSHA256(sha))
			if err != nil {
				return fmt.Errorf("upload part %d of %d: %w", p.n, n, err)
			}
			done(p.size)
			return nil
		})
	}
	// On failure the upload is left in place for the next run to resume (S3 keeps the
	// parts until the upload is completed or aborted; a bucket lifecycle rule with
	// AbortIncompleteMultipartUpload bounds what an abandoned one costs).
	if err := g.Wait(); err != nil {
		return fail(err)
	}
	completed := make([]types.CompletedPart, n)
	for i, p := range parts {
		completed[i] = types.CompletedPart{PartNumber: aws.Int32(p.n), ETag: aws.String(`"` + p.md5 + `"`)}
	}
	out, err := t.Client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket:          aws.String(t.Bucket),
		Key:             aws.String(key),
		UploadId:        aws.String(id),
		MultipartUpload: &types.CompletedMultipartUpload{Parts: completed},
	})
	if err != nil {
		return fail(fmt.Errorf("complete multipart upload: %w", err))
	}
	if etag, want := strings.Trim(aws.ToString(out.ETag), `"`), multipartETag(parts); !strings.EqualFold(etag, want) && isMultipartETag(etag) {
		return fail(fmt.Errorf("stored ETag %s is not the parts' %s", etag, want))
	}
	if len(stored) == 0 {
		return nil
	}
	// A resumed upload carries the metadata of the run that created it: the same bytes
	// (every part matched), but perhaps another release id or other headers. HEAD says;
	// a copy onto itself replaces them, server-side.
	if m, ok, err := headObject(ctx, t, f.Path); err != nil || (ok && m.SHA256 == f.SHA256 && m.Headers == headersHash(f) && m.Release == release) {
		return err
	}
	return copyObject(ctx, t, t.Bucket, key, f, release)
}

// partDigests computes each part's MD5 and SHA-256 once for all regions: every region
// uploads the same parts, and hashing a part costs about what sending it does. Nil
// computes them every time.
type partDigests struct {
	mu    sync.Mutex
	files map[string][]partDigest // by site path, one entry per part
}

type partDigest struct {
	once sync.Once
	md5  []byte
	sha  string // hex
	err  error
}

// of returns the MD5 and hex SHA-256 of part i (of n) of the file at path, reading it
// from sec the first time it is asked for.
func (d *partDigests) of(path string, n, i int, sec *io.SectionReader) ([]byte, string, error) {
	compute := func(p *partDigest) {
		m, s := md5.New(), sha256.New()
		if _, p.err = io.Copy(io.MultiWriter(m, s), sec); p.err == nil {
			p.md5, p.sha = m.Sum(nil), hex.EncodeToString(s.Sum(nil))
		}
	}
	if d == nil {
		var p partDigest
		compute(&p)
		return p.md5, p.sha, p.err
	}
	d.mu.Lock()
	if d.files == nil {
		d.files = map[string][]partDigest{}
	}
	ps, ok := d.files[path]
	if !ok || len(ps) != n {
		ps = make([]partDigest, n)
		d.files[path] = ps
	}
	p := &ps[i]
	d.mu.Unlock()
	p.once.Do(func() { compute(p) })
	return p.md5, p.sha, p.err
}

// resumable finds an incomplete multipart upload of key and the parts it holds.
func resumable(ctx context.Context, t *Target, key string) (id string, stored map[int32]part, err error) {
	out, err := t.Client.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String(t.Bucket), Prefix: aws.String(key)})
	if err != nil {
		return "", nil, fmt.Errorf("list multipart uploads: %w", err)
	}
	var newest *types.MultipartUpload
	for i, u := range out.Uploads {
		if aws.ToString(u.Key) == key && (newest == nil || aws.ToTime(u.Initiated).After(aws.ToTime(newest.Initiated))) {
			newest = &out.Uploads[i]
		}
	}
	if newest == nil {
		return "", nil, nil
	}
	id = aws.ToString(newest.UploadId)
	stored = map[int32]part{}
	p := s3.NewListPartsPaginator(t.Client, &s3.ListPartsInput{Bucket: aws.String(t.Bucket), Key: aws.String(key), UploadId: aws.String(id)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if isNotFound(err) || apiErrorCode(err) == "NoSuchUpload" {
			return "", nil, nil // completed or aborted meanwhile
		}
		if err != nil {
			return "", nil, fmt.Errorf("list parts of upload %s: %w", id, err)
		}
		for _, sp := range page.Parts {
			n := aws.ToInt32(sp.PartNumber)
			stored[n] = part{n: n, size: aws.ToInt64(sp.Size), md5: strings.ToLower(strings.Trim(aws.ToString(sp.ETag), `"`))}
		}
	}
	return id, stored, nil
}

// multipartETag is the ETag S3 gives a multipart object: the MD5 of the parts' MD5s,
// then "-" and the part count.
func multipartETag(parts []part) string {
	h := md5.New()
	for _, p := range parts {
		b, _ := hex.DecodeString(p.md5)
		h.Write(b)
	}
	return fmt.Sprintf("%s-%d", hex.EncodeToString(h.Sum(nil)), len(parts))
}

func isMultipartETag(etag string) bool {
	sum, n, ok := strings.Cut(etag, "-")
	return ok && isHex(strings.ToLower(sum), 32) && n != ""
}
