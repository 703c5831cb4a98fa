package local

// Multipart uploads: the aws CLI switches to them above 8 MiB. Parts live under
// uploads/<id>/ until CompleteMultipartUpload concatenates them into the object.

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// minPartSize is S3's minimum size of every part but the last.
const minPartSize = 5 << 20

type uploadFile struct {
	Bucket    string      `json:"bucket"`
	Key       string      `json:"key"`
	Meta      *objectMeta `json:"meta"`
	Initiated time.Time   `json:"initiated"`
	// ChecksumAlgorithm (upper case) and ChecksumType are the upload's additional checksum,
	// from CreateMultipartUpload's x-amz-checksum-algorithm and x-amz-checksum-type.
	ChecksumAlgorithm string `json:"checksumAlgorithm,omitempty"`
	ChecksumType      string `json:"checksumType,omitempty"`
}

// completedUpload is what a completed upload leaves behind (uploads/<id>/completed.json) so
// that a retried CompleteMultipartUpload gets the first one's answer. The SDKs retry a
// completion whose 200 carried an error body, or whose answer was lost, and S3 answers such a
// retry with 200 and the same result (API_CompleteMultipartUpload.html; ceph/s3-tests
// test_multipart_reupload_checksum_and_etag).
type completedUpload struct {
	Bucket       string            `json:"bucket"`
	Key          string            `json:"key"`
	ETag         string            `json:"etag"`
	Checksums    map[string]string `json:"checksums,omitempty"`
	ChecksumType string            `json:"checksumType,omitempty"`
}

const (
	checksumComposite  = "COMPOSITE"
	checksumFullObject = "FULL_OBJECT"
)

// checksumFields are the Checksum* elements of multipart XML (CompletedPart, Part,
// CompleteMultipartUploadResult), one per algorithm.
type checksumFields struct {
	ChecksumCRC32     string `xml:"ChecksumCRC32,omitempty"`
	ChecksumCRC32C    string `xml:"ChecksumCRC32C,omitempty"`
	ChecksumCRC64NVME string `xml:"ChecksumCRC64NVME,omitempty"`
	ChecksumSHA1      string `xml:"ChecksumSHA1,omitempty"`
	ChecksumSHA256    string `xml:"ChecksumSHA256,omitempty"`
}

func (c *checksumFields) field(alg string) *string {
	switch alg {
	case "CRC32":
		return &c.ChecksumCRC32
	case "CRC32C":
		return &c.ChecksumCRC32C
	case "CRC64NVME":
		return &c.ChecksumCRC64NVME
	case "SHA1":
		return &c.ChecksumSHA1
	case "SHA256":
		return &c.ChecksumSHA256
	}
	return new(string)
}

func newChecksumFields(sums map[string]string) checksumFields {
	var c checksumFields
	for alg, v := range sums {
		*c.field(alg) = v
	}
	return c
}

var errNoUpload = &s3Error{Status: 404, Code: "NoSuchUpload", Message: "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed."}

func (o *S3Origin) uploadDir(id string) (string, error) {
	// Upload ids are ours: 32 hex digits. Anything else names no directory.
	if len(id) != 32 {
		return "", errNoUpload
	}
	if _, err := hex.DecodeString(id); err != nil {
		return "", errNoUpload
	}
	return filepath.Join(o.store.dir, "uploads", id), nil
}

func (o *S3Origin) loadUpload(req *s3Request, id string) (string, *uploadFile, error) {
	dir, err := o.uploadDir(id)
	if err != nil {
		return "", nil, err
	}
	var u uploadFile
	if err := readJSONFile(filepath.Join(dir, "upload.json"), &u); err != nil {
		return "", nil, err
	}
	if u.Bucket != req.bucket || u.Key != req.key {
		return "", nil, errNoUpload
	}
	return dir, &u, nil
}

// readJSONFile decodes a file of the uploads directory; a missing file is errNoUpload.
func readJSONFile(path string, v any) error {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return errNoUpload
	}
	if err != nil {
		return err
	}
	return json.Unmarshal(data, v)
}

// uploadChecksum reads CreateMultipartUpload's checksum headers. Which types each algorithm
// allows is S3's (userguide/checking-object-integrity.html): full-object checksums with
// CRC64NVME, CRC32 and CRC32C; composite ones with CRC32, CRC32C, SHA1 and SHA256. The default
// type is COMPOSITE, but FULL_OBJECT for CRC64NVME, its only one.
func uploadChecksum(h http.Header) (alg, typ string, err error) {
	alg = strings.ToUpper(strings.TrimSpace(h.Get("X-Amz-Checksum-Algorithm")))
	typ = strings.ToUpper(strings.TrimSpace(h.Get("X-Amz-Checksum-Type")))
	if alg == "" {
		if typ != "" {
			return "", "", s3Err(400, "InvalidRequest", "The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header.")
		}
		return "", "", nil
	}
	if checksumAlgorithms[alg] == nil {
		return "", "", s3Err(400, "InvalidRequest", "Checksum algorithm provided is unsupported. Please try again with any of the valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]")
	}
	if typ == "" {
		typ = checksumComposite
		if alg == "CRC64NVME" {
			typ = checksumFullObject
		}
	}
	switch {
	case typ != checksumComposite && typ != checksumFullObject:
		return "", "", s3Err(400, "InvalidRequest", "Value for x-amz-checksum-type header is invalid.")
	case typ == checksumComposite && alg == "CRC64NVME",
		typ == checksumFullObject && (alg == "SHA1" || alg == "SHA256"):
		return "", "", s3Err(400, "InvalidRequest", "The %s checksum type cannot be used with the %s checksum algorithm.", typ, strings.ToLower(alg))
	}
	return alg, typ, nil
}

func (o *S3Origin) createMultipartUpload(req *s3Request) error {
	m, err := metaFromHeaders(req.r.Header, req.key, o.Now())
	if err != nil {
		return err
	}
	alg, typ, err := uploadChecksum(req.r.Header)
	if err != nil {
		return err
	}
	id := newRequestID() + newRequestID()
	id = strings.ToLower(id)
	dir := filepath.Join(o.store.dir, "uploads", id)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	data, _ := json.Marshal(uploadFile{Bucket: req.bucket, Key: req.key, Meta: m, Initiated: o.Now().UTC(), ChecksumAlgorithm: alg, ChecksumType: typ})
	if err := s3WriteFileAtomic(filepath.Join(o.store.dir, "tmp"), filepath.Join(dir, "upload.json"), data); err != nil {
		return err
	}
	if alg != "" {
		req.w.Header().Set("X-Amz-Checksum-Algorithm", alg)
		req.w.Header().Set("X-Amz-Checksum-Type", typ)
	}
	return writeXML(req, 200, struct {
		XMLName  xml.Name `xml:"InitiateMultipartUploadResult"`
		Xmlns    string   `xml:"xmlns,attr"`
		Bucket   string   `xml:"Bucket"`
		Key      string   `xml:"Key"`
		UploadID string   `xml:"UploadId"`
	}{Xmlns: s3Namespace, Bucket: req.bucket, Key: req.key, UploadID: id})
}

// partFile is where part n of an upload lives, in the object file format (content, then its
// metadata: ETag, size, checksums), so a part and what is known of it are renamed in together.
func partFile(dir string, n int) string { return filepath.Join(dir, fmt.Sprintf("part-%05d", n)) }

// parsePartNumber reads a partNumber query parameter: 1 to 10,000.
func parsePartNumber(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 10000 {
		return 0, &s3Error{Status: 400, Code: "InvalidArgument", Message: "Part number must be an integer between 1 and 10000, inclusive",
			Extra: map[string]string{"ArgumentName": "partNumber", "ArgumentValue": s}}
	}
	return n, nil
}

func (o *S3Origin) uploadPart(req *s3Request, q url.Values) error {
	n, err := parsePartNumber(q.Get("partNumber"))
	if err != nil {
		return err
	}
	copied := req.r.Header.Get("X-Amz-Copy-Source") != ""
	if !copied {
		if err := requireContentLength(req.r); err != nil {
			return err
		}
	}
	dir, u, err := o.loadUpload(req, q.Get("uploadId"))
	if err != nil {
		return err
	}
	w := o.store.newObjectWriter(req.r.ContentLength, true)
	defer w.abort()
	var sums map[string]string
	if copied {
		sums, err = o.copyPart(req, w, u.ChecksumAlgorithm)
	} else {
		sums, err = receiveBodyWith(req, w, bodyChecks{PartAlgorithm: u.ChecksumAlgorithm})
	}
	if err != nil {
		return err
	}
	pm := &objectMeta{Key: req.key, LastModified: o.Now().UTC(), Checksums: sums}
	if err := w.finish(pm, dir); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return errNoUpload // aborted or completed meanwhile
		}
		return err
	}
	if err := w.place(partFile(dir, n)); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return errNoUpload // aborted or completed meanwhile
		}
		return err
	}
	if copied {
		return writeXML(req, 200, struct {
			XMLName      xml.Name `xml:"CopyPartResult"`
			Xmlns        string   `xml:"xmlns,attr"`
			LastModified string   `xml:"LastModified"`
			ETag         string   `xml:"ETag"`
			checksumFields
		}{Xmlns: s3Namespace, LastModified: s3Time(pm.LastModified), ETag: pm.ETag, checksumFields: newChecksumFields(sums)})
	}
	req.w.Header().Set("ETag", pm.ETag)
	for alg, v := range sums {
		req.w.Header().Set("X-Amz-Checksum-"+alg, v)
	}
	req.w.WriteHeader(200)
	return nil
}

// copyPart is UploadPartCopy: it copies the x-amz-copy-source object, or the bytes
// x-amz-copy-source-range names, into w, and returns the part's checksum in the upload's
// algorithm (if any). The aws CLI copies objects above 8 MiB between buckets this way.
func (o *S3Origin) copyPart(req *s3Request, w io.Writer, alg string) (map[string]string, error) {
	obj, err := o.openCopySource(req.r)
	if err != nil {
		return nil, err
	}
	defer obj.Close()
	start, length := int64(0), obj.meta.Size
	if rng, ok := req.r.Header["X-Amz-Copy-Source-Range"]; ok {
		if start, length, err = parseCopySourceRange(rng[0], obj.meta.Size); err != nil {
			return nil, err
		}
	}
	var h hash.Hash
	if alg != "" {
		h = checksumAlgorithms[alg]()
		w = io.MultiWriter(w, h)
	}
	if _, err := io.Copy(w, io.NewSectionReader(obj.content, start, length)); err != nil {
		return nil, err
	}
	if h == nil {
		return nil, nil
	}
	return map[string]string{alg: base64.StdEncoding.EncodeToString(h.Sum(nil))}, nil
}

// parseCopySourceRange reads x-amz-copy-source-range, which unlike Range admits exactly one
// form, "bytes=first-last" (API_UploadPartCopy.html); a range past the source's end is
// InvalidRange.
func parseCopySourceRange(v string, size int64) (start, length int64, err error) {
	malformed := s3Err(400, "InvalidArgument", "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy")
	spec, ok := strings.CutPrefix(v, "bytes=")
	a, b, ok2 := strings.Cut(spec, "-")
	if !ok || !ok2 || !isDigits(a) || !isDigits(b) {
		return 0, 0, malformed
	}
	first, err1 := strconv.ParseInt(a, 10, 64)
	last, err2 := strconv.ParseInt(b, 10, 64)
	if err1 != nil || err2 != nil || last < first {
		return 0, 0, malformed
	}
	if last >= size {
		return 0, 0, &s3Error{Status: 400, Code: "InvalidRange", Message: "The requested range is not satisfiable",
			Extra: map[string]string{"RangeRequested": v, "ActualObjectSize": strconv.FormatInt(size, 10)}}
	}
	return first, last - first + 1, nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// completeResult is the body of a CompleteMultipartUpload answer.
type completeResult struct {
	XMLName  xml.Name `xml:"CompleteMultipartUploadResult"`
	Xmlns    string   `xml:"xmlns,attr"`
	Location string   `xml:"Location"`
	Bucket   string   `xml:"Bucket"`
	Key      string   `xml:"Key"`
	ETag     string   `xml:"ETag"`
	checksumFields
	ChecksumType string `xml:"ChecksumType,omitempty"`
}

func (o *S3Origin) writeCompleted(req *s3Request, c *completedUpload) error {
	return writeXML(req, 200, completeResult{Xmlns: s3Namespace, Location: "/" + c.Bucket + "/" + c.Key, Bucket: c.Bucket, Key: c.Key,
		ETag: c.ETag, checksumFields: newChecksumFields(c.Checksums), ChecksumType: c.ChecksumType})
}

func (o *S3Origin) completeMultipartUpload(req *s3Request, q url.Values) error {
	id := q.Get("uploadId")
	dir, err := o.uploadDir(id)
	if err != nil {
		return err
	}
	l := o.store.uploadLock(id)
	l.Lock()
	defer l.Unlock()
	_, u, err := o.loadUpload(req, id)
	if errors.Is(err, errNoUpload) {
		var done completedUpload
		if derr := readJSONFile(filepath.Join(dir, "completed.json"), &done); derr == nil && done.Bucket == req.bucket && done.Key == req.key {
			return o.writeCompleted(req, &done)
		}
	}
	if err != nil {
		return err
	}
	// If-None-Match: * and If-Match apply to completion as to PutObject
	// (userguide/conditional-writes.html).
	cond, err := writeConditions(req.r.Header)
	if err != nil {
		return err
	}
	body, err := readSmallBody(req, bodyChecks{ObjectChecksum: true})
	if err != nil {
		return err
	}
	var doc struct {
		XMLName xml.Name `xml:"CompleteMultipartUpload"`
		Parts   []struct {
			PartNumber int    `xml:"PartNumber"`
			ETag       string `xml:"ETag"`
			checksumFields
		} `xml:"Part"`
	}
	if err := xml.Unmarshal(body, &doc); err != nil || len(doc.Parts) == 0 {
		return s3Err(400, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema.")
	}
	alg, typ := u.ChecksumAlgorithm, u.ChecksumType
	if t := req.r.Header.Get("X-Amz-Checksum-Type"); t != "" && !strings.EqualFold(t, typ) {
		return s3Err(400, "InvalidRequest", "The upload was created using the %s checksum mode. The complete request must use the same checksum mode.", typ)
	}
	if cond != nil {
		// Fail before assembling when the outcome is known; the check that counts is at commit.
		if err := o.checkNow(req, cond); err != nil {
			return err
		}
	}
	// The ETag is the parts' (set below), so the writer computes no MD5.
	w := o.store.newObjectWriter(-1, false)
	defer w.abort()
	var full hash.Hash // the whole object's checksum, for FULL_OBJECT
	var dst io.Writer = w
	if alg != "" && typ == checksumFullObject {
		full = checksumAlgorithms[alg]()
		dst = io.MultiWriter(w, full)
	}
	var md5s, partSums []byte
	m := u.Meta
	m.PartSizes, m.PartChecksums = nil, nil
	prev := 0
	invalidPart := s3Err(400, "InvalidPart", "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.")
	for i, p := range doc.Parts {
		if p.PartNumber <= prev {
			return s3Err(400, "InvalidPartOrder", "The list of parts was not in ascending order. Parts must be ordered by part number.")
		}
		prev = p.PartNumber
		part, err := openFile(partFile(dir, p.PartNumber))
		if err != nil {
			return invalidPart
		}
		pm := part.meta
		if full != nil {
			_, err = io.Copy(dst, part.content)
		} else {
			err = w.copyFile(part.f, pm.Size) // the part file's content starts at offset 0
		}
		part.Close()
		if err != nil {
			return err
		}
		if strings.Trim(p.ETag, `"`) != strings.Trim(pm.ETag, `"`) {
			return invalidPart
		}
		if i < len(doc.Parts)-1 && pm.Size < minPartSize {
			return s3Err(400, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed object size.")
		}
		sum, _ := hex.DecodeString(strings.Trim(pm.ETag, `"`))
		md5s = append(md5s, sum...)
		m.PartSizes = append(m.PartSizes, pm.Size)
		if alg != "" {
			stored := pm.Checksums[alg]
			if given := *p.field(alg); given != "" && given != stored {
				return invalidPart
			}
			raw, _ := base64.StdEncoding.DecodeString(stored)
			partSums = append(partSums, raw...)
			m.PartChecksums = append(m.PartChecksums, stored)
		}
	}
	all := md5.Sum(md5s)
	m.Key = req.key
	m.LastModified = o.Now().UTC()
	m.ETag = fmt.Sprintf(`"%s-%d"`, hex.EncodeToString(all[:]), len(doc.Parts))
	m.Parts = len(doc.Parts)
	m.Checksums, m.ChecksumType = nil, ""
	if alg != "" {
		// A composite checksum is the checksum of the parts' checksums, "-N" appended; a
		// full-object one is that of the whole content (userguide/checking-object-integrity.html).
		var value string
		if full != nil {
			value = base64.StdEncoding.EncodeToString(full.Sum(nil))
		} else {
			h := checksumAlgorithms[alg]()
			h.Write(partSums)
			value = fmt.Sprintf("%s-%d", base64.StdEncoding.EncodeToString(h.Sum(nil)), len(doc.Parts))
		}
		if given := req.r.Header.Get("X-Amz-Checksum-" + alg); given != "" && stripPartCount(given) != stripPartCount(value) {
			return s3Err(400, "BadDigest", "The %s you specified did not match the calculated checksum.", strings.ToLower(alg))
		}
		m.Checksums, m.ChecksumType = map[string]string{alg: value}, typ
	}
	if err := o.store.commit(w, req.bucket, m, cond); err != nil {
		return o.bucketError(err)
	}
	done := &completedUpload{Bucket: req.bucket, Key: req.key, ETag: m.ETag, Checksums: m.Checksums, ChecksumType: m.ChecksumType}
	data, _ := json.Marshal(done)
	if err := s3WriteFileAtomic(filepath.Join(o.store.dir, "tmp"), filepath.Join(dir, "completed.json"), data); err != nil {
		return err
	}
	// The parts are in the object now; only the answer stays, for a retried completion.
	if ents, err := os.ReadDir(dir); err == nil {
		for _, e := range ents {
			if e.Name() != "completed.json" {
				os.Remove(filepath.Join(dir, e.Name()))
			}
		}
	}
	return o.writeCompleted(req, done)
}

// stripPartCount drops a composite checksum's "-N" suffix.
func stripPartCount(v string) string {
	if i := strings.LastIndexByte(v, '-'); i > 0 {
		return v[:i]
	}
	return v
}

func (o *S3Origin) abortMultipartUpload(req *s3Request, q url.Values) error {
	dir, _, err := o.loadUpload(req, q.Get("uploadId"))
	if err != nil {
		return err
	}
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	req.w.WriteHeader(204)
	return nil
}

func (o *S3Origin) listParts(req *s3Request, q url.Values) error {
	id := q.Get("uploadId")
	dir, u, err := o.loadUpload(req, id)
	if err != nil {
		return err
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	type part struct {
		PartNumber   int    `xml:"PartNumber"`
		LastModified string `xml:"LastModified"`
		ETag         string `xml:"ETag"`
		Size         int64  `xml:"Size"`
		checksumFields
	}
	var parts []part
	for _, e := range ents {
		n, err := strconv.Atoi(strings.TrimPrefix(e.Name(), "part-"))
		if err != nil || !strings.HasPrefix(e.Name(), "part-") {
			continue
		}
		p, err := openFile(filepath.Join(dir, e.Name()))
		if err != nil {
			continue
		}
		p.Close()
		parts = append(parts, part{n, s3Time(p.meta.LastModified), p.meta.ETag, p.meta.Size, newChecksumFields(p.meta.Checksums)})
	}
	sort.Slice(parts, func(i, j int) bool { return parts[i].PartNumber < parts[j].PartNumber })
	return writeXML(req, 200, struct {
		XMLName           xml.Name `xml:"ListPartsResult"`
		Xmlns             string   `xml:"xmlns,attr"`
		Bucket            string   `xml:"Bucket"`
		Key               string   `xml:"Key"`
		UploadID          string   `xml:"UploadId"`
		ChecksumAlgorithm string   `xml:"ChecksumAlgorithm,omitempty"`
		ChecksumType      string   `xml:"ChecksumType,omitempty"`
		Parts             []part   `xml:"Part"`
	}{Xmlns: s3Namespace, Bucket: req.bucket, Key: req.key, UploadID: id, ChecksumAlgorithm: u.ChecksumAlgorithm, ChecksumType: u.ChecksumType, Parts: parts})
}

func (o *S3Origin) listMultipartUploads(req *s3Request) error {
	if _, err := o.store.bucket(req.bucket); err != nil {
		return o.bucketError(err)
	}
	type upload struct {
		Key       string `xml:"Key"`
		UploadID  string `xml:"UploadId"`
		Initiated string `xml:"Initiated"`
	}
	var ups []upload
	ents, _ := os.ReadDir(filepath.Join(o.store.dir, "uploads"))
	for _, e := range ents {
		data, err := os.ReadFile(filepath.Join(o.store.dir, "uploads", e.Name(), "upload.json"))
		if err != nil {
			continue
		}
		var u uploadFile
		if json.Unmarshal(data, &u) != nil || u.Bucket != req.bucket {
			continue
		}
		ups = append(ups, upload{u.Key, e.Name(), s3Time(u.Initiated)})
	}
	sort.Slice(ups, func(i, j int) bool { return ups[i].Key < ups[j].Key })
	return writeXML(req, 200, struct {
		XMLName xml.Name `xml:"ListMultipartUploadsResult"`
		Xmlns   string   `xml:"xmlns,attr"`
		Bucket  string   `xml:"Bucket"`
		Uploads []upload `xml:"Upload"`
	}{Xmlns: s3Namespace, Bucket: req.bucket, Uploads: ups})
}

// getObjectAttributes answers GetObjectAttributes (GET ?attributes): the attributes named in
// x-amz-object-attributes, among ETag, Checksum, ObjectParts, StorageClass and ObjectSize
// (API_GetObjectAttributes.html). Parts are listed with their sizes and checksums, paged by the
// x-amz-max-parts and x-amz-part-number-marker headers.
func (o *S3Origin) getObjectAttributes(req *s3Request) error {
	want := map[string]bool{}
	for _, v := range req.r.Header.Values("X-Amz-Object-Attributes") {
		for a := range strings.SplitSeq(v, ",") {
			if a = strings.TrimSpace(a); a != "" {
				want[a] = true
			}
		}
	}
	if len(want) == 0 {
		return s3Err(400, "InvalidArgument", "The x-amz-object-attributes header specifying the attributes to be retrieved is either missing or empty")
	}
	for a := range want {
		switch a {
		case "ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize":
		default:
			return s3Err(400, "InvalidArgument", "Invalid attribute name specified.")
		}
	}
	m, err := o.store.head(req.bucket, req.key)
	if errors.Is(err, errNoSuchKey) {
		return req.noSuchKey()
	}
	if err != nil {
		return o.bucketError(err)
	}
	type checksum struct {
		checksumFields
		ChecksumType string `xml:"ChecksumType,omitempty"`
	}
	type part struct {
		PartNumber int   `xml:"PartNumber"`
		Size       int64 `xml:"Size"`
		checksumFields
	}
	type objectParts struct {
		PartsCount           int    `xml:"PartsCount"`
		PartNumberMarker     int    `xml:"PartNumberMarker"`
		NextPartNumberMarker int    `xml:"NextPartNumberMarker"`
		MaxParts             int    `xml:"MaxParts"`
		IsTruncated          bool   `xml:"IsTruncated"`
		Parts                []part `xml:"Part"`
	}
	out := struct {
		XMLName      xml.Name     `xml:"GetObjectAttributesResponse"`
		Xmlns        string       `xml:"xmlns,attr"`
		ETag         string       `xml:"ETag,omitempty"`
		Checksum     *checksum    `xml:"Checksum,omitempty"`
		ObjectParts  *objectParts `xml:"ObjectParts,omitempty"`
		StorageClass string       `xml:"StorageClass,omitempty"`
		ObjectSize   *int64       `xml:"ObjectSize,omitempty"`
	}{Xmlns: s3Namespace}
	if want["ETag"] {
		out.ETag = strings.Trim(m.ETag, `"`) // unquoted in this API
	}
	if want["Checksum"] && len(m.Checksums) > 0 {
		typ := m.ChecksumType
		if typ == "" {
			typ = checksumFullObject
		}
		out.Checksum = &checksum{newChecksumFields(m.Checksums), typ}
	}
	if want["ObjectParts"] && m.Parts > 0 {
		maxParts, marker := 1000, 0
		if v := req.r.Header.Get("X-Amz-Max-Parts"); v != "" {
			if maxParts, err = strconv.Atoi(v); err != nil || maxParts < 0 {
				return s3Err(400, "InvalidArgument", "Argument max-parts must be an integer between 0 and 2147483647")
			}
			maxParts = min(maxParts, 1000)
		}
		if v := req.r.Header.Get("X-Amz-Part-Number-Marker"); v != "" {
			if marker, err = strconv.Atoi(v); err != nil || marker < 0 {
				return s3Err(400, "InvalidArgument", "Argument part-number-marker must be an integer between 0 and 2147483647")
			}
		}
		op := &objectParts{PartsCount: m.Parts, PartNumberMarker: marker, MaxParts: maxParts}
		for n := marker + 1; n <= len(m.PartSizes); n++ {
			if len(op.Parts) == maxParts {
				op.IsTruncated = true
				break
			}
			p := part{PartNumber: n, Size: m.PartSizes[n-1]}
			if n <= len(m.PartChecksums) {
				for alg := range m.Checksums {
					*p.field(alg) = m.PartChecksums[n-1]
				}
			}
			op.Parts = append(op.Parts, p)
			op.NextPartNumberMarker = n
		}
		out.ObjectParts = op
	}
	if want["StorageClass"] {
		out.StorageClass = "STANDARD"
	}
	if want["ObjectSize"] {
		out.ObjectSize = &m.Size
	}
	req.w.Header().Set("Last-Modified", m.LastModified.UTC().Format(http.TimeFormat))
	return writeXML(req, 200, out)
}
