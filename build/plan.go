package build

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path"
	"sort"
	"strings"
	"time"
)

// Reason says why a file is uploaded.
type Reason string

const (
	// ReasonNew: the bucket does not hold the key.
	ReasonNew Reason = "new"
	// ReasonContent: the bucket holds other bytes.
	ReasonContent Reason = "content"
	// ReasonHeaders: same bytes, but the served headers (Content-Type, Cache-Control) differ.
	ReasonHeaders Reason = "headers"
	// ReasonUnverified: the key exists but neither a release record nor the object's
	// metadata proves what it holds (written by another tool, or changed outside a release).
	ReasonUnverified Reason = "unverified"
)

// Phase names. Assets go to every bucket first; pages follow, secondary before primary.
const (
	PhaseAssets = "assets"
	PhasePages  = "pages"
	// PhaseRedirects writes the redirect store, after the pages (redirectstore.go).
	PhaseRedirects = "redirects"
)

// Upload is one planned PUT.
type Upload struct {
	Path   string `json:"path"`
	Reason Reason `json:"reason"`
	Size   int64  `json:"size"`
	Phase  string `json:"phase"`
	file   File
}

// BucketPlan is what a release will do to one bucket.
type BucketPlan struct {
	Region  string   `json:"region"`
	Bucket  string   `json:"bucket"`
	Uploads []Upload `json:"uploads"`
	Deletes []string `json:"deletes"`
	Skipped int      `json:"skipped"`
	// Recover lists the pages of an interrupted release that are restored to the last
	// recorded release (or removed, if that release had no such page) before anything
	// else is written. See bucketState.planRecovery.
	Recover []string `json:"recover,omitempty"`
	// archive lists live mutable files to copy to blobs/ before they are overwritten:
	// key → sha256 of the live content.
	archive map[string]string
}

// Bytes is the number of bytes the plan uploads.
func (p *BucketPlan) Bytes() int64 {
	var n int64
	for _, u := range p.Uploads {
		n += u.Size
	}
	return n
}

func (p *BucketPlan) phase(name string) []Upload {
	var out []Upload
	for _, u := range p.Uploads {
		if u.Phase == name {
			out = append(out, u)
		}
	}
	return out
}

// bucketState is what a release knows about one bucket before acting.
type bucketState struct {
	objects map[string]remoteObject
	// last is the newest release record and when it was stored (bucket clock). An
	// object whose ETag matches the record's MD5, that was last modified no later than
	// the record was stored, and that no unfinished release meant to write, holds
	// exactly what the record says, headers included: nothing wrote it since.
	last       *Record
	lastStored time.Time
	// heads holds metadata read with HEAD for keys the record cannot vouch for.
	heads map[string]headMeta
	// untrusted lists keys a release that did not complete meant to write: the record
	// cannot vouch for them even when the ETag matches (a header-only change keeps it).
	untrusted map[string]bool
	// keep lists the files of the releases kept besides the new one, kept their records.
	keep     map[string]bool
	keptRecs []*Record
	// blobs lists the rollback copies already stored.
	blobs map[string]bool
	// opaqueETags is set when the bucket's ETags are not MD5s of the content (SSE-KMS
	// or SSE-C buckets): none matches the record, so an ETag proves nothing.
	opaqueETags bool
	// interrupted is the id of a release that announced itself (releases/pending.json)
	// and recorded nothing; pendingKeys are the keys it meant to write.
	interrupted string
	pendingKeys []string
	// restore and drop undo the pages an interrupted release wrote (see planRecovery).
	restore map[string]File
	drop    []string
}

// planRecovery prepares the revert of the pages a release wrote before it stopped
// (killed mid-pages, the region serving some new pages beside old ones), when this
// run is another release: each such page of the last recorded release is restored from
// its rollback copy (the interrupted release kept one before overwriting it), and each
// new HTML page it added is removed, before this run uploads anything. The state is then
// what the record says, and the plan is made against it. A re-run of the interrupted
// release itself needs none of this: it completes what was begun.
func (s *bucketState) planRecovery() {
	if s.interrupted == "" || s.last == nil {
		return
	}
	s.restore = map[string]File{}
	for _, k := range s.pendingKeys {
		obj, exists := s.objects[k]
		if !exists {
			continue
		}
		f, inLast := findFile(s.last.Files, k)
		written := obj.LastModified.After(s.lastStored)
		switch {
		case inLast && !isImmutable(f.CacheControl):
			if !written && strings.EqualFold(obj.ETag, f.MD5) || !s.blobs[f.SHA256] {
				continue // untouched, or no copy to restore (the new release overwrites it)
			}
			s.restore[k] = f
			s.objects[k] = remoteObject{Size: f.Size, ETag: f.MD5, LastModified: s.lastStored}
			delete(s.untrusted, k)
		case !inLast && written && isHTML(File{Path: k}):
			s.drop = append(s.drop, k)
			delete(s.objects, k)
		}
	}
	sort.Strings(s.drop)
}

// recovered lists the keys planRecovery restores or removes, sorted.
func (s *bucketState) recovered() []string {
	keys := append([]string(nil), s.drop...)
	for k := range s.restore {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// etagDiffers reports whether the listing alone proves that the object at key does
// not hold f's bytes.
func (s *bucketState) etagDiffers(obj remoteObject, f File) bool {
	if obj.Size != f.Size {
		return true
	}
	return !s.opaqueETags && etagIsMD5(obj.ETag) && !strings.EqualFold(obj.ETag, f.MD5)
}

// detectOpaqueETags sets opaqueETags when the record lists objects the bucket holds
// unchanged since (by LastModified) yet none of their ETags is the recorded MD5.
func (s *bucketState) detectOpaqueETags() {
	if s.last == nil {
		return
	}
	candidates := 0
	for _, f := range s.last.Files {
		obj, ok := s.objects[f.Path]
		if !ok || obj.Size != f.Size || obj.LastModified.After(s.lastStored) {
			continue
		}
		if strings.EqualFold(obj.ETag, f.MD5) {
			return
		}
		candidates++
	}
	s.opaqueETags = candidates > 0
}

// liveState is the content sha256 and headers hash a key is known to hold.
type liveState struct{ SHA256, Headers string }

// known returns what the object at key holds, when the record or its metadata proves it.
func (s *bucketState) known(key string) (liveState, bool) {
	obj, ok := s.objects[key]
	if !ok {
		return liveState{}, false
	}
	if s.last != nil && !s.untrusted[key] {
		if f, ok := findFile(s.last.Files, key); ok && f.MD5 != "" &&
			strings.EqualFold(obj.ETag, f.MD5) && !obj.LastModified.After(s.lastStored) {
			return liveState{f.SHA256, headersHash(f)}, true
		}
	}
	if h, ok := s.heads[key]; ok {
		return liveState{h.SHA256, h.Headers}, true
	}
	return liveState{}, false
}

// needsHead lists desired keys whose state only a HEAD can establish: the object
// exists, the record does not vouch for it, and its ETag does not already prove that
// the content differs (in which case it is uploaded without asking).
func (s *bucketState) needsHead(desired []File) []string {
	var keys []string
	saved := s.heads
	s.heads = nil
	defer func() { s.heads = saved }()
	for _, f := range desired {
		obj, ok := s.objects[f.Path]
		if !ok {
			continue
		}
		if _, ok := s.known(f.Path); ok {
			continue
		}
		// An immutable file whose ETag shows other bytes is uploaded without asking; a
		// mutable one is asked about anyway, to keep a rollback copy of what it holds.
		if s.etagDiffers(obj, f) && isImmutable(f.CacheControl) {
			continue
		}
		keys = append(keys, f.Path)
	}
	return keys
}

// planBucket compares the desired files with one bucket.
func planBucket(t *Target, desired []File, s *bucketState) BucketPlan {
	p := BucketPlan{Region: t.Region, Bucket: t.Bucket, Uploads: []Upload{}, Deletes: []string{}, archive: map[string]string{}, Recover: s.recovered()}
	want := make(map[string]bool, len(desired))
	for _, f := range desired {
		want[f.Path] = true
		obj, exists := s.objects[f.Path]
		var reason Reason
		switch live, ok := s.known(f.Path); {
		case !exists:
			reason = ReasonNew
		case ok && live.SHA256 != f.SHA256:
			reason = ReasonContent
		case ok && live.Headers != headersHash(f):
			reason = ReasonHeaders
		case ok:
			p.Skipped++
			continue
		case s.etagDiffers(obj, f):
			reason = ReasonContent
		default:
			reason = ReasonUnverified
		}
		phase := PhasePages
		if isImmutable(f.CacheControl) || (!exists && !isHTML(f)) {
			phase = PhaseAssets
		}
		p.Uploads = append(p.Uploads, Upload{Path: f.Path, Reason: reason, Size: f.Size, Phase: phase, file: f})
		// Keep the bytes being replaced, so a rollback can restore them without a rebuild.
		if phase == PhasePages && exists {
			if live, ok := s.known(f.Path); ok && !s.blobs[live.SHA256] {
				p.archive[f.Path] = live.SHA256
			}
		}
	}
	for key := range s.objects {
		if !want[key] && !s.keep[key] {
			p.Deletes = append(p.Deletes, key)
		}
	}
	sort.Strings(p.Deletes)
	// Assets first, as they go up; then by path.
	sort.SliceStable(p.Uploads, func(i, j int) bool {
		if p.Uploads[i].Phase != p.Uploads[j].Phase {
			return p.Uploads[i].Phase == PhaseAssets
		}
		return p.Uploads[i].Path < p.Uploads[j].Path
	})
	return p
}

func findFile(files []File, p string) (File, bool) {
	i := sort.Search(len(files), func(i int) bool { return files[i].Path >= p })
	if i < len(files) && files[i].Path == p {
		return files[i], true
	}
	return File{}, false
}

// headersHash identifies the headers S3 will serve with a file. It is stored on each
// object, so a header-only change (a new Cache-Control) is an upload even though the
// bytes are the same, which s3deploy and hugo deploy miss (spec/release-tools.md).
func headersHash(f File) string {
	sum := sha256.Sum256([]byte("v1\ncontent-type: " + f.ContentType + "\ncache-control: " + f.CacheControl + "\n"))
	return hex.EncodeToString(sum[:8])
}

// isImmutable reports whether a Cache-Control value marks a file as never changing
// under its name (content-hashed assets).
func isImmutable(cc string) bool {
	for _, d := range strings.Split(strings.ToLower(cc), ",") {
		if strings.TrimSpace(d) == "immutable" {
			return true
		}
	}
	return false
}

func isHTML(f File) bool {
	ct := strings.ToLower(f.ContentType)
	if strings.HasPrefix(ct, "text/html") || strings.HasPrefix(ct, "application/xhtml") {
		return true
	}
	switch strings.ToLower(path.Ext(f.Path)) {
	case ".html", ".htm":
		return true
	}
	return false
}

// describeState says in words what a bucket serves after a release stopped.
func describeState(assetsDone, pagesStarted, pagesDone bool) string {
	switch {
	case pagesDone:
		return "new release complete"
	case pagesStarted:
		return "new assets uploaded; pages partly updated (each page is complete: its assets are in place)"
	case assetsDone:
		return "new assets uploaded; pages unchanged, still serving the previous release"
	default:
		return "assets partly uploaded; pages unchanged, still serving the previous release"
	}
}

func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}
