package local

// This file is the S3 origin's storage: buckets and objects on disk under one directory,
// surviving restarts, safe under concurrent writers.
//
// Layout under dir:
//
//	buckets/<bucket>/bucket.json          creation time (bucket names are validated, so safe as file names)
//	buckets/<bucket>/objects/<hh>/<sha256(key)>   one file per object: content, then its metadata
//	uploads/<upload id>/                  multipart uploads in progress (upload.json, part-00001, …)
//	tmp/                                  large files being written; emptied at start
//
// An object file is the content followed by the metadata JSON, its length (4 bytes, big
// endian) and the magic "TWS3". Writers fill a temporary file (small ones: .put-* beside the
// object; large ones: under tmp/) and rename it into place, so a reader either sees the old
// object or the new one, whole, with matching metadata. File names
// are hashes of the key: no key, however odd ("../x", "a/../../b", NUL bytes), names a path.
// Files are not fsynced: the store survives a process restart, which is what a local world
// needs, not a power cut.

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"hash/fnv"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
)

const objectMagic = "TWS3"

// objectMeta is what the store keeps about an object besides its content.
type objectMeta struct {
	Key                string            `json:"key"`
	Size               int64             `json:"size"`
	ETag               string            `json:"etag"` // quoted, as sent in the ETag header
	LastModified       time.Time         `json:"lastModified"`
	ContentType        string            `json:"contentType,omitempty"`
	CacheControl       string            `json:"cacheControl,omitempty"`
	ContentLanguage    string            `json:"contentLanguage,omitempty"`
	ContentDisposition string            `json:"contentDisposition,omitempty"`
	ContentEncoding    string            `json:"contentEncoding,omitempty"`
	Expires            string            `json:"expires,omitempty"`
	Metadata           map[string]string `json:"metadata,omitempty"`      // x-amz-meta-<name>, names lower case
	Checksums          map[string]string `json:"checksums,omitempty"`     // "CRC32" → base64 ("…-N" when composite), verified at upload
	ChecksumType       string            `json:"checksumType,omitempty"`  // COMPOSITE or FULL_OBJECT (the default)
	Parts              int               `json:"parts,omitempty"`         // multipart part count
	PartSizes          []int64           `json:"partSizes,omitempty"`     // size of each part, for GET ?partNumber=N
	PartChecksums      []string          `json:"partChecksums,omitempty"` // each part's checksum (the upload's algorithm)
}

// partRange is the byte range of part n (1-based) of a multipart object.
func (m *objectMeta) partRange(n int) (start, length int64, ok bool) {
	if n < 1 || n > len(m.PartSizes) {
		return 0, 0, false
	}
	for _, sz := range m.PartSizes[:n-1] {
		start += sz
	}
	return start, m.PartSizes[n-1], true
}

var (
	errNoSuchBucket    = errors.New("no such bucket")
	errNoSuchKey       = errors.New("no such key")
	errBucketExists    = errors.New("bucket already exists")
	errBucketNotEmpty  = errors.New("bucket not empty")
	errNoSuchUpload    = errors.New("no such upload")
	errCorruptedObject = errors.New("corrupted object file")
)

// s3Store holds the buckets of one S3 origin.
type s3Store struct {
	dir string

	mu      sync.RWMutex
	buckets map[string]*s3Bucket

	// dirs remembers fan-out directories known to exist (saves a MkdirAll per PUT).
	dirs sync.Map

	// keyLocks serialise the rename and index update of one key, so the index always
	// describes the file in place. Striped: 256 locks for all keys.
	keyLocks [256]sync.Mutex

	// uploadLocks serialise CompleteMultipartUpload of one upload id (striped), so a retried
	// completion sees the first one's result.
	uploadLocks [64]sync.Mutex
}

func (st *s3Store) uploadLock(id string) *sync.Mutex {
	h := fnv.New32a()
	h.Write([]byte(id))
	return &st.uploadLocks[h.Sum32()%uint32(len(st.uploadLocks))]
}

type s3Bucket struct {
	name    string
	created time.Time

	mu      sync.RWMutex
	objects map[string]*objectMeta
	sorted  []string // keys in order; nil when it must be rebuilt
}

type bucketFile struct {
	Created time.Time `json:"created"`
}

// openS3Store opens (creating if needed) the store under dir and indexes what is there.
func openS3Store(dir string) (*s3Store, error) {
	st := &s3Store{dir: dir, buckets: map[string]*s3Bucket{}}
	for _, d := range []string{"buckets", "uploads", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return nil, err
		}
	}
	// Leftovers of writes interrupted by a crash.
	if ents, err := os.ReadDir(filepath.Join(dir, "tmp")); err == nil {
		for _, e := range ents {
			os.RemoveAll(filepath.Join(dir, "tmp", e.Name()))
		}
	}
	// Small objects' files interrupted in an upload's directory (objects' are removed as
	// buckets load).
	if ups, err := os.ReadDir(filepath.Join(dir, "uploads")); err == nil {
		for _, u := range ups {
			left, _ := filepath.Glob(filepath.Join(dir, "uploads", u.Name(), tmpPrefix+"*"))
			for _, p := range left {
				os.Remove(p)
			}
		}
	}
	ents, err := os.ReadDir(filepath.Join(dir, "buckets"))
	if err != nil {
		return nil, err
	}
	for _, e := range ents {
		if !e.IsDir() || validBucketName(e.Name()) != nil {
			continue
		}
		b, err := st.loadBucket(e.Name())
		if err != nil {
			return nil, fmt.Errorf("load bucket %s: %w", e.Name(), err)
		}
		st.buckets[b.name] = b
	}
	return st, nil
}

func (st *s3Store) bucketDir(name string) string { return filepath.Join(st.dir, "buckets", name) }

func (st *s3Store) loadBucket(name string) (*s3Bucket, error) {
	b := &s3Bucket{name: name, objects: map[string]*objectMeta{}}
	var bf bucketFile
	if data, err := os.ReadFile(filepath.Join(st.bucketDir(name), "bucket.json")); err == nil {
		_ = json.Unmarshal(data, &bf)
	}
	b.created = bf.Created
	objDir := filepath.Join(st.bucketDir(name), "objects")
	err := filepath.WalkDir(objDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.IsDir() {
			return nil
		}
		if strings.HasPrefix(d.Name(), tmpPrefix) {
			os.Remove(path) // a write interrupted by a crash
			return nil
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		m, _, err := readObjectMeta(f)
		if err != nil {
			return nil // a damaged file is skipped, not fatal
		}
		if filepath.Base(path) != keyHash(m.Key) {
			return nil
		}
		b.objects[m.Key] = m
		return nil
	})
	return b, err
}

// keyHash names an object's file.
func keyHash(key string) string {
	s := sha256.Sum256([]byte(key))
	return hex.EncodeToString(s[:])
}

func (st *s3Store) objectPath(bucket, key string) string {
	h := keyHash(key)
	return filepath.Join(st.bucketDir(bucket), "objects", h[:2], h)
}

func (st *s3Store) keyLock(bucket, key string) *sync.Mutex {
	h := fnv.New32a()
	h.Write([]byte(bucket))
	h.Write([]byte{0})
	h.Write([]byte(key))
	return &st.keyLocks[h.Sum32()%uint32(len(st.keyLocks))]
}

func (st *s3Store) bucket(name string) (*s3Bucket, error) {
	st.mu.RLock()
	defer st.mu.RUnlock()
	b, ok := st.buckets[name]
	if !ok {
		return nil, errNoSuchBucket
	}
	return b, nil
}

// createBucket creates a bucket; errBucketExists if it exists.
func (st *s3Store) createBucket(name string, now time.Time) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	if _, ok := st.buckets[name]; ok {
		return errBucketExists
	}
	if err := os.MkdirAll(filepath.Join(st.bucketDir(name), "objects"), 0o755); err != nil {
		return err
	}
	data, _ := json.Marshal(bucketFile{Created: now.UTC()})
	if err := s3WriteFileAtomic(filepath.Join(st.dir, "tmp"), filepath.Join(st.bucketDir(name), "bucket.json"), data); err != nil {
		return err
	}
	st.buckets[name] = &s3Bucket{name: name, created: now.UTC(), objects: map[string]*objectMeta{}}
	return nil
}

// deleteBucket removes an empty bucket.
func (st *s3Store) deleteBucket(name string) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	b, ok := st.buckets[name]
	if !ok {
		return errNoSuchBucket
	}
	b.mu.RLock()
	n := len(b.objects)
	b.mu.RUnlock()
	if n > 0 {
		return errBucketNotEmpty
	}
	delete(st.buckets, name)
	st.dirs.Clear()
	// Rename first so a half-removed directory is never taken for a bucket at the next start.
	gone := filepath.Join(st.dir, "tmp", "deleted-"+name+"-"+newRequestID())
	if err := os.Rename(st.bucketDir(name), gone); err != nil {
		return err
	}
	return os.RemoveAll(gone)
}

type bucketInfo struct {
	Name    string
	Created time.Time
}

func (st *s3Store) listBuckets() []bucketInfo {
	st.mu.RLock()
	defer st.mu.RUnlock()
	out := make([]bucketInfo, 0, len(st.buckets))
	for _, b := range st.buckets {
		out = append(out, bucketInfo{b.name, b.created})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// head returns an object's metadata from the index.
func (st *s3Store) head(bucket, key string) (*objectMeta, error) {
	b, err := st.bucket(bucket)
	if err != nil {
		return nil, err
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	m, ok := b.objects[key]
	if !ok {
		return nil, errNoSuchKey
	}
	return m, nil
}

// storedObject is an open object: its metadata and a reader of exactly its content. The
// metadata comes from the file itself, so it matches the content even if the key is being
// overwritten meanwhile.
type storedObject struct {
	meta    *objectMeta
	content *io.SectionReader
	f       *os.File
}

func (o *storedObject) Close() error { return o.f.Close() }

// open opens an object for reading.
func (st *s3Store) open(bucket, key string) (*storedObject, error) {
	if _, err := st.bucket(bucket); err != nil {
		return nil, err
	}
	obj, err := openFile(st.objectPath(bucket, key))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errNoSuchKey
	}
	if err != nil {
		return nil, err
	}
	if obj.meta.Key != key {
		obj.Close()
		return nil, errNoSuchKey // a hash collision: astronomically unlikely, but not this key
	}
	return obj, nil
}

// readObjectMeta reads the metadata trailer of an object file and returns it with the content length.
func readObjectMeta(f *os.File) (*objectMeta, int64, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, 0, err
	}
	size := fi.Size()
	if size < 8 {
		return nil, 0, errCorruptedObject
	}
	var tail [8]byte
	if _, err := f.ReadAt(tail[:], size-8); err != nil {
		return nil, 0, err
	}
	if string(tail[4:]) != objectMagic {
		return nil, 0, errCorruptedObject
	}
	n := int64(binary.BigEndian.Uint32(tail[:4]))
	if n > size-8 {
		return nil, 0, errCorruptedObject
	}
	buf := make([]byte, n)
	if _, err := f.ReadAt(buf, size-8-n); err != nil {
		return nil, 0, err
	}
	var m objectMeta
	if err := json.Unmarshal(buf, &m); err != nil {
		return nil, 0, errCorruptedObject
	}
	contentLen := size - 8 - n
	if m.Size != contentLen {
		return nil, 0, errCorruptedObject
	}
	return &m, contentLen, nil
}

// objectWriter receives an object's content; finish completes it as a file in the object
// file format and commit (or place) renames that file into place.
//
// A body of at most smallObjectMax bytes is received into memory and written, content and
// metadata together, in one write to a new file in the directory it is renamed in: per
// small PUT that is one create, one write and a rename within one directory. A larger body
// streams into a temporary file under tmp/ as it arrives. Either way the file is complete
// (written, closed) before the rename and the rename happens before the PUT is answered,
// so an acknowledged PUT survives a restart of the process as before (the store does not
// fsync; see the file comment).
type objectWriter struct {
	st     *s3Store
	buf    []byte    // the content while it fits in memory (f == nil)
	f      *os.File  // the temporary file under tmp/, once the content outgrew buf
	md5    hash.Hash // of the content, for the default ETag; nil when the caller sets the ETag
	size   int64
	large  bool   // announced over smallObjectMax: spill at the first write
	name   string // the finished file
	closed bool
}

// smallObjectMax is the largest body an objectWriter holds in memory. A release's site files
// are mostly far smaller; at 1 MiB, 64 PUTs in flight hold at most 64 MiB.
const smallObjectMax = 1 << 20

// newObjectWriter starts writing an object of about sizeHint bytes (negative: unknown).
// withETag: finish sets the ETag to the content's MD5 unless the metadata has one; a writer
// without it computes no MD5 (CompleteMultipartUpload's ETag is the parts' MD5s'). Call
// commit (or finish and place), or abort.
func (st *s3Store) newObjectWriter(sizeHint int64, withETag bool) *objectWriter {
	w := &objectWriter{st: st}
	if withETag {
		w.md5 = md5.New()
	}
	switch {
	case sizeHint > smallObjectMax:
		w.large = true // straight to a file, not through a megabyte of memory first
	case sizeHint >= 0:
		w.buf = make([]byte, 0, sizeHint+metaReserve)
	}
	return w
}

// metaReserve is room for the metadata trailer in a small object's buffer, so appending it
// does not copy the content.
const metaReserve = 1 << 10

func (w *objectWriter) Write(p []byte) (int, error) {
	if w.f == nil && (w.large || len(w.buf)+len(p) > smallObjectMax) {
		if err := w.spill(); err != nil {
			return 0, err
		}
	}
	n := len(p)
	var err error
	if w.f == nil {
		w.buf = append(w.buf, p...)
	} else {
		n, err = w.f.Write(p)
	}
	if w.md5 != nil {
		w.md5.Write(p[:n])
	}
	w.size += int64(n)
	return n, err
}

// spill moves the content received so far to a temporary file under tmp/; the rest streams
// there.
func (w *objectWriter) spill() error {
	f, err := os.CreateTemp(filepath.Join(w.st.dir, "tmp"), "put-*")
	if err != nil {
		return err
	}
	w.f = f
	_, err = f.Write(w.buf)
	w.buf = nil
	return err
}

// copyFile appends the first n bytes of src, read from its current offset. Without an
// MD5 to compute, the bytes never pass through this process: the copy is the kernel's
// (io.Copy of an *os.File into one is copy_file_range on Linux), as when
// CompleteMultipartUpload joins the parts.
func (w *objectWriter) copyFile(src *os.File, n int64) error {
	if w.md5 != nil {
		_, err := io.Copy(w, io.LimitReader(src, n))
		return err
	}
	if w.f == nil {
		if err := w.spill(); err != nil {
			return err
		}
	}
	written, err := io.Copy(w.f, io.LimitReader(src, n))
	w.size += written
	if err == nil && written != n {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// md5Sum is the MD5 of what was written (nil without withETag).
func (w *objectWriter) md5Sum() []byte {
	if w.md5 == nil {
		return nil
	}
	return w.md5.Sum(nil)
}

func (w *objectWriter) abort() {
	if !w.closed {
		w.closed = true
		w.buf = nil
		if w.f != nil {
			w.f.Close()
			os.Remove(w.f.Name())
		}
	}
}

// precondition decides, under the key's lock, whether a write or delete may replace cur, the
// object in place (nil when there is none). Checked there, two conditional writes of one key
// never both succeed, as S3 guarantees for If-None-Match and If-Match.
type precondition func(cur *objectMeta) error

// current returns the object in place, or nil. Call it holding the key's lock.
func (b *s3Bucket) current(key string) *objectMeta {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.objects[key]
}

// finish appends m (Size set here; the ETag defaults to the quoted hex MD5 of the content)
// and closes the file, which is then complete in the object file format and ready to rename
// into a path in dir. A small object's file is created in dir itself (a temporary name
// starting with tmpPrefix), so the rename stays within one directory.
func (w *objectWriter) finish(m *objectMeta, dir string) error {
	m.Size = w.size
	if m.ETag == "" {
		if w.md5 == nil {
			return errors.New("object writer: no ETag and no MD5 to make one")
		}
		m.ETag = `"` + hex.EncodeToString(w.md5Sum()) + `"`
	}
	data, err := json.Marshal(m)
	if err != nil {
		return err
	}
	var tail [8]byte
	binary.BigEndian.PutUint32(tail[:4], uint32(len(data)))
	copy(tail[4:], objectMagic)
	if w.f == nil {
		w.buf = append(append(w.buf, data...), tail[:]...)
		w.name, err = writeNewFile(dir, w.buf)
		w.buf = nil
		if err != nil {
			return err
		}
		w.closed = true
		return nil
	}
	if _, err := w.f.Write(append(data, tail[:]...)); err != nil {
		return err
	}
	if err := w.f.Close(); err != nil {
		return err
	}
	w.name, w.closed = w.f.Name(), true
	return nil
}

// writeNewFile writes data to a new file in dir named tmpPrefix and a random suffix, and
// returns its path. It makes the system calls itself (open, write, close): an *os.File
// would also register the file with the network poller, which refuses regular files, and
// query its flags — more calls per small object than the write itself.
func writeNewFile(dir string, data []byte) (string, error) {
	var rnd [8]byte
	for range 10 {
		binary.LittleEndian.PutUint64(rnd[:], rand.Uint64())
		path := filepath.Join(dir, tmpPrefix+hex.EncodeToString(rnd[:]))
		fd, err := ignoringEINTR(func() (int, error) {
			return syscall.Open(path, syscall.O_WRONLY|syscall.O_CREAT|syscall.O_EXCL|syscall.O_CLOEXEC, 0o600)
		})
		if errors.Is(err, syscall.EEXIST) {
			continue
		}
		if err != nil {
			return "", &os.PathError{Op: "open", Path: path, Err: err}
		}
		for off := 0; off < len(data) && err == nil; {
			var n int
			n, err = ignoringEINTR(func() (int, error) { return syscall.Write(fd, data[off:]) })
			off += n
		}
		if cerr := syscall.Close(fd); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(path)
			return "", &os.PathError{Op: "write", Path: path, Err: err}
		}
		return path, nil
	}
	return "", fmt.Errorf("create a file in %s: names taken", dir)
}

func ignoringEINTR(f func() (int, error)) (int, error) {
	for {
		n, err := f()
		if err != syscall.EINTR {
			return n, err
		}
	}
}

// tmpPrefix names small objects' files being written inside object and upload
// directories; openS3Store removes leftovers.
const tmpPrefix = ".put-"

// place renames a finished file to path; the temporary file is removed if that fails.
// syscall.Rename, not os.Rename: os.Rename first Lstats the target to refuse replacing a
// directory, and an object's path is never one (its name is a hash).
func (w *objectWriter) place(path string) error {
	if err := syscall.Rename(w.name, path); err != nil {
		os.Remove(w.name)
		return &os.LinkError{Op: "rename", Old: w.name, New: path, Err: err}
	}
	return nil
}

// openFile opens a file in the object file format: its metadata and a reader of its content.
func openFile(path string) (*storedObject, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	m, contentLen, err := readObjectMeta(f)
	if err != nil {
		f.Close()
		return nil, err
	}
	return &storedObject{meta: m, content: io.NewSectionReader(f, 0, contentLen), f: f}, nil
}

// commit appends m (with Key set) and renames the file into place, if cond (when not nil)
// allows it. The ETag defaults to the quoted hex MD5 of the content.
func (st *s3Store) commit(w *objectWriter, bucket string, m *objectMeta, cond precondition) error {
	defer w.abort()
	b, err := st.bucket(bucket)
	if err != nil {
		return err
	}
	path := st.objectPath(bucket, m.Key)
	if _, ok := st.dirs.Load(filepath.Dir(path)); !ok {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		st.dirs.Store(filepath.Dir(path), true)
	}
	if err := w.finish(m, filepath.Dir(path)); err != nil {
		return err
	}
	l := st.keyLock(bucket, m.Key)
	l.Lock()
	defer l.Unlock()
	if cond != nil {
		if err := cond(b.current(m.Key)); err != nil {
			os.Remove(w.name)
			return err
		}
	}
	if err := w.place(path); err != nil {
		return err
	}
	b.mu.Lock()
	if _, ok := b.objects[m.Key]; !ok {
		b.sorted = nil
	}
	b.objects[m.Key] = m
	b.mu.Unlock()
	return nil
}

// delete removes an object, if cond (when not nil) allows it; deleting a missing key is not
// an error (S3 answers 204).
func (st *s3Store) delete(bucket, key string, cond precondition) error {
	b, err := st.bucket(bucket)
	if err != nil {
		return err
	}
	l := st.keyLock(bucket, key)
	l.Lock()
	defer l.Unlock()
	if cond != nil {
		if err := cond(b.current(key)); err != nil {
			return err
		}
	}
	if err := os.Remove(st.objectPath(bucket, key)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	b.mu.Lock()
	if _, ok := b.objects[key]; ok {
		delete(b.objects, key)
		b.sorted = nil
	}
	b.mu.Unlock()
	return nil
}

// listPage is one page of a listing.
type listPage struct {
	Objects        []*objectMeta
	CommonPrefixes []string
	Truncated      bool
	NextMarker     string // last key or common prefix returned, when truncated
}

// list returns keys after marker (exclusive) with prefix, rolling keys up to the delimiter
// into common prefixes, at most maxKeys entries (objects plus prefixes), in UTF-8 byte order
// as S3 lists.
func (st *s3Store) list(bucket, prefix, delimiter, marker string, maxKeys int) (*listPage, error) {
	b, err := st.bucket(bucket)
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	if b.sorted == nil {
		b.sorted = make([]string, 0, len(b.objects))
		for k := range b.objects {
			b.sorted = append(b.sorted, k)
		}
		slices.Sort(b.sorted)
	}
	keys := b.sorted
	objects := b.objects
	defer b.mu.Unlock()

	page := &listPage{}
	start := max(marker, prefix)
	i, _ := slices.BinarySearch(keys, start)
	for ; i < len(keys); i++ {
		k := keys[i]
		if k <= marker {
			continue
		}
		// A marker that is a common prefix (the last entry of the previous page) stands for
		// every key under it.
		if delimiter != "" && strings.HasSuffix(marker, delimiter) && strings.HasPrefix(k, marker) {
			continue
		}
		if !strings.HasPrefix(k, prefix) {
			break
		}
		if maxKeys <= 0 {
			page.Truncated = true
			return page, nil
		}
		if delimiter != "" {
			if j := strings.Index(k[len(prefix):], delimiter); j >= 0 {
				cp := k[:len(prefix)+j+len(delimiter)]
				page.CommonPrefixes = append(page.CommonPrefixes, cp)
				page.NextMarker = cp
				maxKeys--
				for i+1 < len(keys) && strings.HasPrefix(keys[i+1], cp) {
					i++ // every key under this common prefix
				}
				continue
			}
		}
		m := *objects[k]
		page.Objects = append(page.Objects, &m)
		page.NextMarker = k
		maxKeys--
	}
	return page, nil
}

// s3WriteFileAtomic writes data to path through a temporary file in tmpDir.
func s3WriteFileAtomic(tmpDir, path string, data []byte) error {
	f, err := os.CreateTemp(tmpDir, "meta-*")
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(f.Name())
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		os.Remove(f.Name())
		return err
	}
	return nil
}
