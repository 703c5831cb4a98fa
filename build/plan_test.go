package build

import (
	"testing"
	"time"
)

// TestPlanOpaqueETags: in an SSE-KMS bucket no ETag is an MD5. The plan must neither
// take a differing ETag as a content change (re-uploading every asset on every release)
// nor trust it; it asks with HEAD instead.
func TestPlanOpaqueETags(t *testing.T) {
	stored := time.Date(2026, 1, 1, 0, 0, 10, 0, time.UTC)
	asset := File{Path: "assets/app-3F2A9C1B.js", SHA256: sha0, Size: 3, MD5: "0123456789abcdef0123456789abcdef", CacheControl: CacheImmutable, ContentType: "text/javascript"}
	page := File{Path: "index.html", SHA256: sha0, Size: 5, MD5: "fedcba9876543210fedcba9876543210", CacheControl: CacheRevalidated, ContentType: "text/html"}
	rec := &Record{ID: "0123456789ab", Files: []File{asset, page}}
	objs := map[string]remoteObject{
		asset.Path: {Size: 3, ETag: "11111111111111111111111111111111", LastModified: stored.Add(-time.Second)},
		page.Path:  {Size: 5, ETag: "22222222222222222222222222222222", LastModified: stored.Add(-time.Second)},
	}
	st := &bucketState{objects: objs, last: rec, lastStored: stored, heads: map[string]headMeta{}}
	st.detectOpaqueETags()
	if !st.opaqueETags {
		t.Fatal("KMS-like ETags not detected")
	}
	if got := st.needsHead(rec.Files); len(got) != 2 {
		t.Errorf("needsHead = %v, want both keys asked about", got)
	}
	st.heads[asset.Path] = headMeta{SHA256: asset.SHA256, Headers: headersHash(asset)}
	st.heads[page.Path] = headMeta{SHA256: page.SHA256, Headers: headersHash(page)}
	p := planBucket(&Target{Region: "r", Bucket: "b"}, rec.Files, st)
	if len(p.Uploads) != 0 || p.Skipped != 2 {
		t.Errorf("plan = %+v, want nothing to upload", p)
	}

	// The same listing with MD5 ETags that differ: the content changed, no HEAD needed
	// for the asset.
	objs[asset.Path] = remoteObject{Size: 3, ETag: "33333333333333333333333333333333", LastModified: stored.Add(time.Second)}
	objs[page.Path] = remoteObject{Size: 5, ETag: page.MD5, LastModified: stored.Add(-time.Second)}
	st = &bucketState{objects: objs, last: rec, lastStored: stored, heads: map[string]headMeta{}}
	st.detectOpaqueETags()
	if st.opaqueETags {
		t.Fatal("MD5 ETags taken for opaque ones")
	}
	if got := st.needsHead(rec.Files); len(got) != 0 {
		t.Errorf("needsHead = %v, want none", got)
	}
	p = planBucket(&Target{Region: "r", Bucket: "b"}, rec.Files, st)
	if len(p.Uploads) != 1 || p.Uploads[0].Path != asset.Path || p.Uploads[0].Reason != ReasonContent {
		t.Errorf("plan = %+v, want the asset for content", p.Uploads)
	}
}
