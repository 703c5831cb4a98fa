package local

// Receiving request bodies: the x-amz-content-sha256 hash, Content-MD5, x-amz-checksum-*
// (in headers or aws-chunked trailers), and aws-chunked framing, which is decoded here and
// never stored. https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html

import (
	"bufio"
	"bytes"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/twinedge/twinedge/internal/sigv4"
)

const (
	streamingSigned         = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
	streamingSignedTrailer  = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
	streamingUnsignedTrailr = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
)

// checksumAlgorithms are the x-amz-checksum-* algorithms S3 verifies, by upper-case name.
var checksumAlgorithms = map[string]func() hash.Hash{
	"CRC32":     func() hash.Hash { return crc32.NewIEEE() },
	"CRC32C":    func() hash.Hash { return crc32.New(crc32.MakeTable(crc32.Castagnoli)) },
	"CRC64NVME": func() hash.Hash { return crc64.New(crc64NVMETable) },
	"SHA1":      sha1.New,
	"SHA256":    sha256.New,
}

// crc64NVMETable: the reflected NVMe polynomial, as aws-sdk-go-v2's checksum package uses.
var crc64NVMETable = crc64.MakeTable(0x9a6c9329ac4bc9b5)

var errIncompleteBody = &s3Error{Status: 400, Code: "IncompleteBody", Message: "You did not provide the number of bytes specified by the Content-Length HTTP header."}

// receiveBody copies the request's payload (aws-chunked framing removed) to dst and verifies
// every integrity value the client sent. It returns the verified x-amz-checksum-* values by
// algorithm name, to be stored and returned on GET.
func receiveBody(req *s3Request, dst io.Writer) (map[string]string, error) {
	return receiveBodyWith(req, dst, bodyChecks{})
}

// bodyChecks adjust receiveBody to the operation.
type bodyChecks struct {
	// PartAlgorithm is the checksum algorithm (upper case) of the upload a part belongs to:
	// the part's checksum is computed with it whether or not the client sent one, and a
	// checksum of another algorithm is refused, as S3 does.
	PartAlgorithm string
	// ObjectChecksum: the x-amz-checksum-* headers describe the object being completed
	// (CompleteMultipartUpload), not this body.
	ObjectChecksum bool
}

func receiveBodyWith(req *s3Request, dst io.Writer, checks bodyChecks) (map[string]string, error) {
	want := checks.PartAlgorithm
	r := req.r
	payload := req.sig.PayloadHash
	var src io.Reader = r.Body
	if src == nil {
		src = http.NoBody
	}
	var dec *chunkDecoder
	// Content-Encoding: aws-chunked without a STREAMING-* payload is a plain body; S3 strips the
	// coding (stripAWSChunked) rather than refusing it.
	switch {
	case payload == streamingSigned || payload == streamingSignedTrailer || payload == streamingUnsignedTrailr:
		dec = &chunkDecoder{br: bufio.NewReaderSize(src, 64<<10), trailer: payload != streamingSigned, hash: sha256.New()}
		if payload != streamingUnsignedTrailr {
			dec.sig, dec.prevSig = req.sig, req.sig.Signature
		}
		src = dec
	case strings.HasPrefix(payload, "STREAMING-"):
		return nil, s3Err(501, "NotImplemented", "x-amz-content-sha256 %s is not supported by this origin; use STREAMING-AWS4-HMAC-SHA256-PAYLOAD or STREAMING-UNSIGNED-PAYLOAD-TRAILER", payload)
	case payload != sigv4.UnsignedPayload && !isHexSHA256(payload):
		return nil, s3Err(400, "InvalidArgument", "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-… or a hex SHA-256")
	}

	// The checksum to verify: a header now, or a trailer announced by x-amz-trailer.
	var alg, wantSum string
	fromTrailer := false
	for name := range checksumAlgorithms {
		if v := r.Header.Get("X-Amz-Checksum-" + name); v != "" && !checks.ObjectChecksum {
			alg, wantSum = name, v
		}
	}
	if t := r.Header.Get("X-Amz-Trailer"); t != "" {
		name, ok := strings.CutPrefix(strings.ToLower(strings.TrimSpace(t)), "x-amz-checksum-")
		if !ok || checksumAlgorithms[strings.ToUpper(name)] == nil || dec == nil || !dec.trailer {
			return nil, s3Err(400, "InvalidRequest", "x-amz-trailer %q is not supported here", t)
		}
		alg, fromTrailer = strings.ToUpper(name), true
	}
	if want != "" {
		if alg != "" && alg != want {
			return nil, s3Err(400, "InvalidRequest", "Checksum Type mismatch occurred, expected checksum Type: %s, actual checksum Type: %s",
				strings.ToLower(want), strings.ToLower(alg))
		}
		alg = want
	}

	// An objectWriter computes the content's MD5 for the ETag anyway: Content-MD5 is checked
	// against that one rather than a second MD5 of the same bytes.
	var md5h hash.Hash
	writers := []io.Writer{dst}
	if ow, ok := dst.(*objectWriter); ok && ow.md5 != nil {
		md5h = ow.md5
	} else {
		md5h = md5.New()
		writers = append(writers, md5h)
	}
	var bodySHA hash.Hash
	if isHexSHA256(payload) {
		bodySHA = sha256.New()
		writers = append(writers, bodySHA)
	}
	var sumh hash.Hash
	if alg != "" {
		sumh = checksumAlgorithms[alg]()
		writers = append(writers, sumh)
	}
	// A large body (a multipart part is 5 MiB or more) is copied 256 KiB at a time rather
	// than io.Copy's 32 KiB: an eighth of the reads, writes and hash calls.
	var buf []byte
	if r.ContentLength > smallObjectMax {
		buf = make([]byte, 256<<10)
	}
	n, err := io.CopyBuffer(io.MultiWriter(writers...), io.LimitReader(src, maxObjectSize+1), buf)
	if err != nil {
		var se *s3Error
		if errors.As(err, &se) {
			return nil, se
		}
		if errors.Is(err, errTooLarge) {
			return nil, err
		}
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, s3Err(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size")
		}
		return nil, errIncompleteBody
	}
	if n > maxObjectSize {
		return nil, s3Err(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed object size.")
	}
	if dec != nil {
		if dl := r.Header.Get("X-Amz-Decoded-Content-Length"); dl != "" {
			if decoded, err := strconv.ParseInt(dl, 10, 64); err != nil || decoded != n {
				return nil, errIncompleteBody
			}
		}
	}
	if bodySHA != nil {
		if got := hex.EncodeToString(bodySHA.Sum(nil)); !strings.EqualFold(got, payload) {
			return nil, &s3Error{Status: 400, Code: "XAmzContentSHA256Mismatch",
				Message: "The provided 'x-amz-content-sha256' header does not match what was computed.",
				Extra:   map[string]string{"ClientComputedContentSHA256": payload, "S3ComputedContentSHA256": got}}
		}
	}
	if cm, ok := r.Header["Content-Md5"]; ok {
		if err := checkContentMD5(cm[0], md5h.Sum(nil)); err != nil {
			return nil, err
		}
	}
	if alg == "" {
		return nil, nil
	}
	got := base64.StdEncoding.EncodeToString(sumh.Sum(nil))
	if fromTrailer {
		wantSum = dec.trailers["x-amz-checksum-"+strings.ToLower(alg)]
		if wantSum == "" {
			return nil, s3Err(400, "InvalidRequest", "The trailer x-amz-checksum-%s announced in x-amz-trailer is missing", strings.ToLower(alg))
		}
	}
	if wantSum != "" && got != wantSum {
		return nil, s3Err(400, "BadDigest", "The %s you specified did not match the calculated checksum.", alg)
	}
	return map[string]string{alg: got}, nil
}

func isHexSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// chunkDecoder reads an aws-chunked body:
//
//	hex-size[;chunk-signature=sig]\r\n data \r\n … 0[;chunk-signature=sig]\r\n [trailers \r\n] \r\n
//
// verifying chunk signatures when sig is set and collecting trailers when trailer is set.
type chunkDecoder struct {
	br       *bufio.Reader
	sig      *sigv4.Signature // nil: unsigned chunks
	prevSig  string
	trailer  bool
	hash     hash.Hash // of the current chunk's data
	chunkSig string
	left     int64 // data bytes left in the current chunk
	inChunk  bool
	done     bool
	err      error
	trailers map[string]string
}

var (
	errChunkFormat = &s3Error{Status: 400, Code: "InvalidChunkSizeError", Message: "Only the last chunk is allowed to have a size less than 8192 bytes, and chunk framing must be well formed."}
	errChunkSig    = &s3Error{Status: 403, Code: "SignatureDoesNotMatch", Message: "The request signature we calculated does not match the signature you provided (chunk signature)."}
)

func (d *chunkDecoder) Read(p []byte) (int, error) {
	if d.err != nil {
		return 0, d.err
	}
	for !d.inChunk {
		if d.done {
			return 0, io.EOF
		}
		if err := d.nextChunk(); err != nil {
			d.err = err
			return 0, err
		}
	}
	if int64(len(p)) > d.left {
		p = p[:d.left]
	}
	n, err := d.br.Read(p)
	d.hash.Write(p[:n])
	d.left -= int64(n)
	if err != nil && d.left > 0 {
		d.err = errIncompleteBody
		return n, d.err
	}
	if d.left == 0 {
		if err := d.endChunk(); err != nil {
			d.err = err
			return n, err
		}
	}
	return n, nil
}

// nextChunk reads a chunk header; at the last (empty) chunk it also reads the trailers.
func (d *chunkDecoder) nextChunk() error {
	line, err := d.readLine()
	if errors.Is(err, io.EOF) {
		return errIncompleteBody // the body ended before the final chunk
	}
	if err != nil {
		return err
	}
	sizeStr, ext, _ := strings.Cut(line, ";")
	size, perr := strconv.ParseInt(strings.TrimSpace(sizeStr), 16, 64)
	if perr != nil || size < 0 || size > maxObjectSize {
		return errChunkFormat
	}
	d.chunkSig = ""
	if ext != "" {
		k, v, _ := strings.Cut(ext, "=")
		if strings.TrimSpace(k) == "chunk-signature" {
			d.chunkSig = strings.TrimSpace(v)
		}
	}
	if d.sig != nil && d.chunkSig == "" {
		return errChunkSig
	}
	d.hash.Reset()
	if size > 0 {
		d.left, d.inChunk = size, true
		return nil
	}
	// The final chunk: empty data, and no CRLF after it when trailers follow.
	if err := d.verifyChunk(); err != nil {
		return err
	}
	d.done = true
	if d.trailer {
		return d.readTrailers()
	}
	// A bare final chunk ends with CRLF; tolerate its absence.
	if b, err := d.br.Peek(2); err == nil && string(b) == "\r\n" {
		d.br.Discard(2)
	}
	return nil
}

func (d *chunkDecoder) endChunk() error {
	var crlf [2]byte
	if _, err := io.ReadFull(d.br, crlf[:]); err != nil || string(crlf[:]) != "\r\n" {
		return errChunkFormat
	}
	d.inChunk = false
	return d.verifyChunk()
}

func (d *chunkDecoder) verifyChunk() error {
	if d.sig == nil {
		return nil
	}
	want := d.sig.ChunkSignature(d.prevSig, d.hash.Sum(nil))
	if want != strings.ToLower(d.chunkSig) {
		return errChunkSig
	}
	d.prevSig = want
	return nil
}

// readTrailers reads "name:value" lines up to an empty line or the end of the body. With
// signed chunks, x-amz-trailer-signature signs the other trailer lines.
func (d *chunkDecoder) readTrailers() error {
	d.trailers = map[string]string{}
	var signedText bytes.Buffer
	trailerSig := ""
	for {
		line, err := d.readLine()
		if errors.Is(err, io.EOF) || (err == nil && line == "") {
			break
		}
		if err != nil {
			return err
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			return errChunkFormat
		}
		k, v = strings.ToLower(strings.TrimSpace(k)), strings.TrimSpace(v)
		if k == "x-amz-trailer-signature" {
			trailerSig = v
			continue
		}
		d.trailers[k] = v
		signedText.WriteString(k + ":" + v + "\n")
	}
	if d.sig != nil {
		sum := sha256.Sum256(signedText.Bytes())
		if trailerSig == "" || d.sig.TrailerSignature(d.prevSig, sum[:]) != strings.ToLower(trailerSig) {
			return errChunkSig
		}
	}
	return nil
}

// readLine reads one CRLF- (or LF-) terminated line of at most 4 KiB.
func (d *chunkDecoder) readLine() (string, error) {
	line, err := d.br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) || len(line) > 4096 {
		return "", errChunkFormat
	}
	if err != nil {
		if errors.Is(err, io.EOF) && len(line) == 0 {
			return "", io.EOF
		}
		if errors.Is(err, io.EOF) {
			return strings.TrimRight(string(line), "\r"), nil
		}
		return "", errIncompleteBody
	}
	return strings.TrimRight(string(line), "\r\n"), nil
}
