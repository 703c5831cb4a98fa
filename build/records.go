package build

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Release records live in each region's record bucket (Target.RecordBucket), never in
// the site bucket: the edge serves every key of the site bucket, so anything stored
// there is public. Layout, under Target.Prefix:
//
//	releases/<time>-<id>.json   one Record per completed release or rollback
//	blobs/<sha256>              a copy of a mutable file, taken just before a release
//	                            overwrites it, so a rollback can restore it byte for byte
//
// The time in the key makes a listing chronological without reading the records.
const (
	recordsDir = "releases/"
	blobsDir   = "blobs/"
	timeLayout = "20060102T150405.000Z"
)

// Record describes one completed release: which files (with their hashes and headers)
// the site consisted of, and where it came from.
type Record struct {
	ID     string    `json:"id"`
	Parent string    `json:"parent,omitempty"`
	Kind   string    `json:"kind"` // "release" or "rollback"
	Of     string    `json:"rollbackOf,omitempty"`
	Time   time.Time `json:"time"`
	Source string    `json:"source,omitempty"`
	// Invalidation is the id of the CloudFront invalidation the release sent (none when
	// no cached path changed), so `twinedge release --status` can report it later.
	Invalidation string `json:"invalidationId,omitempty"`
	Files        []File `json:"files"`
	// Redirects are the rules of the site's _redirects file that the release served
	// (redirectstore.go); a rollback restores them.
	Redirects []Redirect `json:"redirects,omitempty"`
}

// ParseRecord decodes and validates a record read from a bucket.
func ParseRecord(data []byte) (*Record, error) {
	if len(data) > maxManifestBytes {
		return nil, fmt.Errorf("release record is %d bytes, more than the %d allowed", len(data), maxManifestBytes)
	}
	var r Record
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("decode release record: %w", err)
	}
	if !validID(r.ID) {
		return nil, fmt.Errorf("release record has an invalid id %q", r.ID)
	}
	if !validInvalidationID(r.Invalidation) {
		return nil, fmt.Errorf("release record %s has an invalid invalidation id %q", r.ID, r.Invalidation)
	}
	if err := validFiles(r.Files); err != nil {
		return nil, fmt.Errorf("release record %s: %w", r.ID, err)
	}
	if err := validRedirects(r.Redirects); err != nil {
		return nil, fmt.Errorf("release record %s: %w", r.ID, err)
	}
	return &r, nil
}

func validID(id string) bool { return isHex(id, 12) }

// validInvalidationID accepts what CloudFront issues (letters and digits, such as
// "I2J0I21PCUYOIK") or nothing.
func validInvalidationID(id string) bool {
	if len(id) > 64 {
		return false
	}
	for _, c := range id {
		if (c < 'A' || c > 'Z') && (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// recordRef is a record found in a listing, not yet read.
type recordRef struct {
	Key  string
	ID   string
	ETag string    // the record object's, from the listing
	Time time.Time // from the key
	// Stored is the record object's LastModified, by the bucket's clock: objects
	// modified before it were written by this release or an earlier one.
	Stored time.Time
}

// parseRecordKey splits "releases/<time>-<id>.json".
func parseRecordKey(key string) (recordRef, bool) {
	name, ok := strings.CutPrefix(key, recordsDir)
	if !ok {
		return recordRef{}, false
	}
	name, ok = strings.CutSuffix(name, ".json")
	if !ok {
		return recordRef{}, false
	}
	ts, id, ok := strings.Cut(name, "-")
	if !ok || !validID(id) {
		return recordRef{}, false
	}
	t, err := time.Parse(timeLayout, ts)
	if err != nil {
		return recordRef{}, false
	}
	return recordRef{Key: key, ID: id, Time: t}, true
}

func recordKey(r *Record) string {
	return recordsDir + r.Time.UTC().Format(timeLayout) + "-" + r.ID + ".json"
}

// recordStore reads and writes one region's records.
type recordStore struct {
	t          *Target
	exists     bool
	hasPending bool
	refs       []recordRef     // oldest first, without the unreadable ones latest found
	mu         sync.Mutex      // guards blobs while pages are archived concurrently
	blobs      map[string]bool // sha256 of stored copies
	cache      *recordCache    // shared by the regions of one run; nil: none
	// unreadable are the keys of records that do not decode, and warnings say so, one
	// line each. Such a record is skipped as if absent: refusing every release (and `up`)
	// until someone deletes it by hand would leave no way out.
	unreadable map[string]bool
	warnings   []string
}

// recordCache holds the records one run has read, by key and ETag. Every region's
// record bucket holds the same record under the same key, written from the same bytes
// (writeRecords), so a record whose key and ETag (the MD5 of its bytes) match one
// already read is that record: it is fetched and decoded once for all regions.
type recordCache struct {
	mu sync.Mutex
	m  map[string]*cachedRecord
}

type cachedRecord struct {
	once sync.Once
	rec  *Record
	err  error
}

func (c *recordCache) get(ref recordRef, read func() (*Record, error)) (*Record, error) {
	if c == nil || ref.ETag == "" {
		return read()
	}
	c.mu.Lock()
	if c.m == nil {
		c.m = map[string]*cachedRecord{}
	}
	e := c.m[ref.Key+" "+ref.ETag]
	if e == nil {
		e = &cachedRecord{}
		c.m[ref.Key+" "+ref.ETag] = e
	}
	c.mu.Unlock()
	e.once.Do(func() { e.rec, e.err = read() })
	return e.rec, e.err
}

// errUnreadableRecord marks a record object that exists but does not decode.
var errUnreadableRecord = errors.New("unreadable release record")

// openRecords lists a region's records and blobs. A missing record bucket is an empty
// store: it is created (ensureRecordBucket) only when a release changes something.
func openRecords(ctx context.Context, t *Target) (*recordStore, error) {
	rs := &recordStore{t: t, blobs: map[string]bool{}}
	objs, err := listObjects(ctx, t.Client, t.RecordBucket, t.Prefix)
	if err != nil {
		if isNotFound(err) {
			return rs, nil
		}
		return nil, fmt.Errorf("read release records: %w", err)
	}
	rs.exists = true
	for key, o := range objs {
		if key == pendingKey {
			rs.hasPending = true
		} else if ref, ok := parseRecordKey(key); ok {
			ref.Stored, ref.ETag = o.LastModified, o.ETag
			rs.refs = append(rs.refs, ref)
		} else if sha, ok := strings.CutPrefix(key, blobsDir); ok && isHex(sha, 64) {
			rs.blobs[sha] = true
		}
	}
	sort.Slice(rs.refs, func(i, j int) bool { return rs.refs[i].Key < rs.refs[j].Key })
	return rs, nil
}

// ensureBucket creates the record bucket if the listing found none.
func (rs *recordStore) ensureBucket(ctx context.Context) error {
	if rs.exists {
		return nil
	}
	if err := ensureBucket(ctx, rs.t.Client, rs.t.RecordBucket, rs.t.Region); err != nil {
		return err
	}
	rs.exists = true
	return nil
}

// read fetches one record (once per run for all regions, see recordCache).
func (rs *recordStore) read(ctx context.Context, ref recordRef) (*Record, error) {
	return rs.cache.get(ref, func() (*Record, error) { return rs.fetch(ctx, ref) })
}

func (rs *recordStore) fetch(ctx context.Context, ref recordRef) (*Record, error) {
	b, _, err := getBytes(ctx, rs.t.Client, rs.t.RecordBucket, rs.t.Prefix+ref.Key)
	if err != nil {
		return nil, fmt.Errorf("read release record %s from %s: %w", ref.ID, rs.t.RecordBucket, err)
	}
	r, err := ParseRecord(b)
	if err != nil {
		return nil, fmt.Errorf("%s/%s: %w: %w", rs.t.RecordBucket, ref.Key, errUnreadableRecord, err)
	}
	if r.ID != ref.ID {
		return nil, fmt.Errorf("%s/%s: %w: it holds release %s", rs.t.RecordBucket, ref.Key, errUnreadableRecord, r.ID)
	}
	return r, nil
}

// latest reads the newest n readable records, newest first. An unreadable one is dropped
// from rs.refs, so nothing plans from it or counts it as the newest, and reported in
// rs.warnings with the way to remove it.
func (rs *recordStore) latest(ctx context.Context, n int) ([]*Record, []recordRef, error) {
	var recs []*Record
	var refs []recordRef
	for i := len(rs.refs) - 1; i >= 0 && len(recs) < n; i-- {
		r, err := rs.read(ctx, rs.refs[i])
		if errors.Is(err, errUnreadableRecord) {
			rs.skip(i, err)
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		recs = append(recs, r)
		refs = append(refs, rs.refs[i])
	}
	return recs, refs, nil
}

// skip drops rs.refs[i], an unreadable record, with a warning.
func (rs *recordStore) skip(i int, err error) {
	key := rs.refs[i].Key
	if rs.unreadable == nil {
		rs.unreadable = map[string]bool{}
	}
	rs.unreadable[key] = true
	rs.refs = append(rs.refs[:i:i], rs.refs[i+1:]...)
	rs.warnings = append(rs.warnings, fmt.Sprintf("%v; skipped as if absent (delete s3://%s/%s%s to stop this warning)",
		err, rs.t.RecordBucket, rs.t.Prefix, key))
}

// find returns the newest record whose id starts with prefix (at least 4 characters).
func (rs *recordStore) find(ctx context.Context, prefix string) (*Record, error) {
	if len(prefix) < 4 {
		return nil, fmt.Errorf("release id %q is too short (give at least 4 characters)", prefix)
	}
	var match []recordRef
	for _, ref := range rs.refs {
		if strings.HasPrefix(ref.ID, prefix) {
			match = append(match, ref)
		}
	}
	if len(match) == 0 {
		return nil, fmt.Errorf("no release %q in %s", prefix, rs.t.RecordBucket)
	}
	ids := map[string]bool{}
	for _, m := range match {
		ids[m.ID] = true
	}
	if len(ids) > 1 {
		return nil, fmt.Errorf("release id %q is ambiguous", prefix)
	}
	return rs.read(ctx, match[len(match)-1])
}

// write stores r, encoded as b (encodeRecord), in the region's record bucket.
func (rs *recordStore) write(ctx context.Context, r *Record, b []byte) error {
	if _, err := putBytes(ctx, rs.t.Client, rs.t.RecordBucket, rs.t.Prefix+recordKey(r), "application/json", b); err != nil {
		return fmt.Errorf("write release record %s to %s (%s): %w", r.ID, rs.t.RecordBucket, rs.t.Region, err)
	}
	return nil
}

// archive copies the live site object key (holding content sha) to blobs/<sha>
// with a server-side copy, so the bytes never leave the region.
func (rs *recordStore) archive(ctx context.Context, key, sha string) error {
	t := rs.t
	_, err := t.Client.CopyObject(ctx, &s3.CopyObjectInput{
		Bucket:     aws.String(t.RecordBucket),
		Key:        aws.String(t.Prefix + blobsDir + sha),
		CopySource: aws.String(copySource(t.Bucket, t.Prefix+key)),
	})
	if err != nil {
		return fmt.Errorf("keep a rollback copy of %s from %s (%s): %w", key, t.Bucket, t.Region, err)
	}
	rs.mu.Lock()
	rs.blobs[sha] = true
	rs.mu.Unlock()
	return nil
}

// releaseID derives a release id from its parent and content: a retried release gets
// the same id (and so the same invalidation CallerReference), while releasing the same
// content again after another release gets a new one.
func releaseID(parent, kind string, files []File, redirects []Redirect) string {
	h := sha256.New()
	fmt.Fprintf(h, "twinedge release v1\n%s\n%s\n", parent, kind)
	fmt.Fprint(h, manifestDigest(files))
	if d := redirectsDigest(redirects); d != "" {
		fmt.Fprint(h, "\nredirects "+d) // a site without redirects keeps the ids it had
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}

// manifestDigest identifies a set of files with their served headers.
func manifestDigest(files []File) string {
	h := sha256.New()
	for _, f := range files {
		fmt.Fprintf(h, "%q %s %d %q %q\n", f.Path, f.SHA256, f.Size, f.ContentType, f.CacheControl)
	}
	return hex.EncodeToString(h.Sum(nil))
}

var errNoRecords = errors.New("no release records in any region: nothing to roll back to")

// pendingKey holds the intent of the release in progress: written before a release
// changes anything, it lets the next run distrust the keys an unfinished release may
// have written (see bucketState.untrusted). A finished release leaves it naming
// itself, which is harmless.
const pendingKey = recordsDir + "pending.json"

type pendingRelease struct {
	ID   string   `json:"id"`
	Keys []string `json:"keys"`
}

func parsePending(data []byte) (*pendingRelease, error) {
	var p pendingRelease
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, fmt.Errorf("decode pending release: %w", err)
	}
	if !validID(p.ID) {
		return nil, fmt.Errorf("pending release has an invalid id %q", p.ID)
	}
	for _, k := range p.Keys {
		if err := validPath(k); err != nil {
			return nil, fmt.Errorf("pending release %s: %w", p.ID, err)
		}
	}
	return &p, nil
}

func (rs *recordStore) readPending(ctx context.Context) (*pendingRelease, error) {
	if !rs.hasPending {
		return nil, nil
	}
	b, _, err := getBytes(ctx, rs.t.Client, rs.t.RecordBucket, rs.t.Prefix+pendingKey)
	if err != nil {
		if isNotFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("read %s from %s: %w", pendingKey, rs.t.RecordBucket, err)
	}
	return parsePending(b)
}

func (rs *recordStore) writePending(ctx context.Context, p *pendingRelease) error {
	b, err := json.Marshal(p)
	if err != nil {
		return err
	}
	if _, err := putBytes(ctx, rs.t.Client, rs.t.RecordBucket, rs.t.Prefix+pendingKey, "application/json", b); err != nil {
		return fmt.Errorf("write %s to %s (%s): %w", pendingKey, rs.t.RecordBucket, rs.t.Region, err)
	}
	return nil
}
