package local

// Multipart uploads: the aws CLI switches to them above 8 MiB. Parts live under
// uploads/<id>/ until CompleteMultipartUpload concatenates them into the object.

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"io/fs"
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
	data, err := os.ReadFile(filepath.Join(dir, "upload.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil, errNoUpload
	}
	if err != nil {
		return "", nil, err
	}
	var u uploadFile
	if err := json.Unmarshal(data, &u); err != nil {
		return "", nil, err
	}
	if u.Bucket != req.bucket || u.Key != req.key {
		return "", nil, errNoUpload
	}
	return dir, &u, nil
}

func (o *S3Origin) createMultipartUpload(req *s3Request) error {
	m, err := metaFromHeaders(req.r.Header, req.key, o.Now())
	if err != nil {
		return err
	}
	id := newRequestID() + newRequestID()
	id = strings.ToLower(id)
	dir := filepath.Join(o.store.dir, "uploads", id)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	data, _ := json.Marshal(uploadFile{Bucket: req.bucket, Key: req.key, Meta: m, Initiated: o.Now().UTC()})
	if err := s3WriteFileAtomic(filepath.Join(o.store.dir, "tmp"), filepath.Join(dir, "upload.json"), data); err != nil {
		return err
	}
	return writeXML(req, 200, struct {
		XMLName  xml.Name `xml:"InitiateMultipartUploadResult"`
		Xmlns    string   `xml:"xmlns,attr"`
		Bucket   string   `xml:"Bucket"`
		Key      string   `xml:"Key"`
		UploadID string   `xml:"UploadId"`
	}{Xmlns: s3Namespace, Bucket: req.bucket, Key: req.key, UploadID: id})
}

func partFile(dir string, n int) string { return filepath.Join(dir, fmt.Sprintf("part-%05d", n)) }

func (o *S3Origin) uploadPart(req *s3Request, q url.Values) error {
	n, err := strconv.Atoi(q.Get("partNumber"))
	if err != nil || n < 1 || n > 10000 {
		return s3Err(400, "InvalidArgument", "Part number must be an integer between 1 and 10000, inclusive")
	}
	if req.r.Header.Get("X-Amz-Copy-Source") != "" {
		return s3Err(501, "NotImplemented", "UploadPartCopy is not implemented by this origin")
	}
	if err := requireContentLength(req.r); err != nil {
		return err
	}
	dir, _, err := o.loadUpload(req, q.Get("uploadId"))
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Join(o.store.dir, "tmp"), "part-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	h := md5.New()
	sums, err := receiveBody(req, io.MultiWriter(f, h))
	if err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), partFile(dir, n)); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return errNoUpload // aborted meanwhile
		}
		return err
	}
	req.w.Header().Set("ETag", `"`+hex.EncodeToString(h.Sum(nil))+`"`)
	for alg, v := range sums {
		req.w.Header().Set("X-Amz-Checksum-"+alg, v)
	}
	req.w.WriteHeader(200)
	return nil
}

func (o *S3Origin) completeMultipartUpload(req *s3Request, q url.Values) error {
	id := q.Get("uploadId")
	dir, u, err := o.loadUpload(req, id)
	if err != nil {
		return err
	}
	body, err := readSmallBody(req)
	if err != nil {
		return err
	}
	var doc struct {
		XMLName xml.Name `xml:"CompleteMultipartUpload"`
		Parts   []struct {
			PartNumber int    `xml:"PartNumber"`
			ETag       string `xml:"ETag"`
		} `xml:"Part"`
	}
	if err := xml.Unmarshal(body, &doc); err != nil || len(doc.Parts) == 0 {
		return s3Err(400, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema.")
	}
	w, err := o.store.newObjectWriter()
	if err != nil {
		return err
	}
	defer w.abort()
	var md5s []byte
	prev := 0
	invalidPart := s3Err(400, "InvalidPart", "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.")
	for i, p := range doc.Parts {
		if p.PartNumber <= prev {
			return s3Err(400, "InvalidPartOrder", "The list of parts was not in ascending order. Parts must be ordered by part number.")
		}
		prev = p.PartNumber
		f, err := os.Open(partFile(dir, p.PartNumber))
		if err != nil {
			return invalidPart
		}
		h := md5.New()
		size, err := io.Copy(io.MultiWriter(w, h), f)
		f.Close()
		if err != nil {
			return err
		}
		sum := h.Sum(nil)
		if strings.Trim(p.ETag, `"`) != hex.EncodeToString(sum) {
			return invalidPart
		}
		if i < len(doc.Parts)-1 && size < minPartSize {
			return s3Err(400, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed object size.")
		}
		md5s = append(md5s, sum...)
	}
	all := md5.Sum(md5s)
	m := u.Meta
	m.Key = req.key
	m.LastModified = o.Now().UTC()
	m.ETag = fmt.Sprintf(`"%s-%d"`, hex.EncodeToString(all[:]), len(doc.Parts))
	m.Parts = len(doc.Parts)
	if err := o.store.commit(w, req.bucket, m, nil); err != nil {
		return o.bucketError(err)
	}
	os.RemoveAll(dir)
	return writeXML(req, 200, struct {
		XMLName  xml.Name `xml:"CompleteMultipartUploadResult"`
		Xmlns    string   `xml:"xmlns,attr"`
		Location string   `xml:"Location"`
		Bucket   string   `xml:"Bucket"`
		Key      string   `xml:"Key"`
		ETag     string   `xml:"ETag"`
	}{Xmlns: s3Namespace, Location: "/" + req.bucket + "/" + req.key, Bucket: req.bucket, Key: req.key, ETag: m.ETag})
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
	dir, _, err := o.loadUpload(req, id)
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
	}
	var parts []part
	for _, e := range ents {
		n, err := strconv.Atoi(strings.TrimPrefix(e.Name(), "part-"))
		if err != nil || !strings.HasPrefix(e.Name(), "part-") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			continue
		}
		info, _ := e.Info()
		sum := md5.Sum(data)
		parts = append(parts, part{n, s3Time(info.ModTime()), `"` + hex.EncodeToString(sum[:]) + `"`, int64(len(data))})
	}
	sort.Slice(parts, func(i, j int) bool { return parts[i].PartNumber < parts[j].PartNumber })
	return writeXML(req, 200, struct {
		XMLName  xml.Name `xml:"ListPartsResult"`
		Xmlns    string   `xml:"xmlns,attr"`
		Bucket   string   `xml:"Bucket"`
		Key      string   `xml:"Key"`
		UploadID string   `xml:"UploadId"`
		Parts    []part   `xml:"Part"`
	}{Xmlns: s3Namespace, Bucket: req.bucket, Key: req.key, UploadID: id, Parts: parts})
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
