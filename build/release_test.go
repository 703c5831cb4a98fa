package build

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/go-cmp/cmp"
)

// The release suite runs against every S3 implementation we have: moto_server here,
// the local S3 origin in local_test.go.
func TestReleaseMoto(t *testing.T) {
	runReleaseSuite(t, newMotoWorld)
}

func runReleaseSuite(t *testing.T, newWorld func(*testing.T) *testWorld) {
	t.Run("NoopAndHeaderChange", func(t *testing.T) { testNoopAndHeaderChange(t, newWorld(t)) })
	t.Run("FailureInAssets", func(t *testing.T) { testFailureMidRelease(t, newWorld(t), PhaseAssets) })
	t.Run("FailureInPages", func(t *testing.T) { testFailureMidRelease(t, newWorld(t), PhasePages) })
	t.Run("Rollback", func(t *testing.T) { testRollback(t, newWorld(t)) })
	t.Run("DeleteGuardAndRetention", func(t *testing.T) { testDeleteGuardAndRetention(t, newWorld(t)) })
	t.Run("DryRun", func(t *testing.T) { testDryRun(t, newWorld(t)) })
	t.Run("StaticDir", func(t *testing.T) { testStaticDir(t, newWorld(t)) })
	t.Run("Wildcards", func(t *testing.T) { testWildcards(t, newWorld(t)) })
	t.Run("Drift", func(t *testing.T) { testDrift(t, newWorld(t)) })
	t.Run("Lock", func(t *testing.T) { testLock(t, newWorld(t)) })
	t.Run("WaysOut", func(t *testing.T) { testWaysOut(t, newWorld(t)) })
	t.Run("History", func(t *testing.T) { testHistory(t, newWorld(t)) })
	t.Run("NoWaitAndStatus", func(t *testing.T) { testNoWaitAndStatus(t, newWorld(t)) })
	t.Run("MultipartResume", func(t *testing.T) { testMultipartResume(t, newWorld(t)) })
	t.Run("RecoverInterruptedPages", func(t *testing.T) { testRecoverInterruptedPages(t, newWorld(t)) })
}

// testRecoverInterruptedPages: a release stopped after one page PUT in the secondary
// leaves it serving one new page beside old ones. The next run, a different release,
// restores the previous release's pages there before it uploads anything: even when
// it then fails in its own assets phase, the secondary serves the previous release
// whole. A run after that completes.
func testRecoverInterruptedPages(t *testing.T, w *testWorld) {
	ctx := context.Background()
	v1, v2, v3 := siteVersion("v1"), siteVersion("v2"), siteVersion("v3")
	v2["blog/index.html"] = siteFile{body: "<!doctype html><title>blog v2</title>"}
	if _, err := Release(ctx, w.options(writeSite(t, v1))); err != nil {
		t.Fatal(err)
	}
	o := w.options(writeSite(t, v2))
	cs := counted(&o)
	cs[1].failPagesAfter = 1 // the secondary's pages go first: one lands, then it stops
	o.Concurrency = 1
	if _, err := Release(ctx, o); err == nil {
		t.Fatal("release with failing pages succeeded")
	}
	pages := []string{"about/index.html", "blog/index.html", "index.html"}
	mixed := 0
	for _, k := range pages {
		if hasObject(t, w.raw[1], w.targets[1].Bucket, k) {
			if body, _ := getObject(t, w.raw[1], w.targets[1].Bucket, k); body == v2[k].body {
				mixed++
			}
		}
	}
	if mixed != 1 {
		t.Fatalf("the stopped release left %d v2 pages in the secondary, want 1 (the test's premise)", mixed)
	}

	// Another release, failing in its assets phase: the secondary is restored first.
	o = w.options(writeSite(t, v3))
	cs = counted(&o)
	cs[1].failKeys[assetOf(v3)] = true
	rep, err := Release(ctx, o)
	var re *ReleaseError
	if !errors.As(err, &re) || re.Phase != PhaseAssets {
		t.Fatalf("v3 with a failing asset: %v, want a stop in the assets phase", err)
	}
	if len(rep.Buckets[1].Recover) != 1 {
		t.Errorf("secondary recovery = %v, want the one page v2 wrote", rep.Buckets[1].Recover)
	}
	for i, tg := range w.targets {
		for _, k := range pages {
			want, ok := v1[k]
			if !ok {
				if hasObject(t, w.raw[i], tg.Bucket, k) {
					t.Errorf("%s still holds %s, a page only the interrupted release had", tg.Region, k)
				}
				continue
			}
			if body, _ := getObject(t, w.raw[i], tg.Bucket, k); body != want.body {
				t.Errorf("%s serves %s = %q after recovery, want v1's", tg.Region, k, body)
			}
		}
	}
	// The edge may have cached the interrupted page: it is invalidated with the release.
	o = w.options(writeSite(t, v3))
	rep, err = Release(ctx, o)
	if err != nil {
		t.Fatalf("v3 re-run: %v", err)
	}
	for i, tg := range w.targets {
		for _, k := range []string{"index.html", "about/index.html"} {
			if body, _ := getObject(t, w.raw[i], tg.Bucket, k); body != v3[k].body {
				t.Errorf("%s serves %s = %q after v3, want v3's", tg.Region, k, body)
			}
		}
	}
	if body, _, ok := w.viewerGet(t, "/"); ok && body != v3["index.html"].body {
		t.Errorf("edge serves %q after v3", body)
	}
}

// testMultipartResume: a file over the threshold goes up in parts; a release whose
// third part fails leaves the upload for the next run, which sends only the parts not
// yet stored and completes the object with the right bytes and metadata.
func testMultipartResume(t *testing.T, w *testWorld) {
	ctx := context.Background()
	saved := [2]int64{multipartThreshold, partSize}
	multipartThreshold, partSize = 6<<20, 5<<20 // S3's smallest part is 5 MiB
	t.Cleanup(func() { multipartThreshold, partSize = saved[0], saved[1] })
	v := siteVersion("v1")
	big := make([]byte, 13<<20) // 3 parts: 5, 5 and 3 MiB
	for i := range big {
		big[i] = byte(i*7 + i>>13)
	}
	v["media/film.mp4"] = siteFile{body: string(big)}
	dir := writeSite(t, v)
	o := w.options(dir)
	cs := counted(&o)
	cs[0].failParts[3] = true
	if _, err := Release(ctx, o); err == nil {
		t.Fatal("release with a failing part succeeded")
	}
	sent := cs[0].parts.Load()
	o = w.options(dir)
	cs = counted(&o)
	rep, err := Release(ctx, o)
	if err != nil {
		t.Fatalf("re-run: %v", err)
	}
	if got := cs[0].parts.Load(); sent != 2 || got != 1 {
		t.Errorf("the primary got %d parts, then %d on the re-run: want 2 (the third failed), then only the third", sent, got)
	}
	for i, tg := range w.targets {
		body, out := getObject(t, w.raw[i], tg.Bucket, "media/film.mp4")
		if body != string(big) {
			t.Errorf("%s film.mp4: %d bytes, not the file's", tg.Region, len(body))
		}
		if etag := strings.Trim(aws.ToString(out.ETag), `"`); !strings.HasSuffix(etag, "-3") {
			t.Errorf("%s film.mp4 ETag %s: not a 3-part upload", tg.Region, etag)
		}
		if got := out.Metadata[metaRelease]; got != rep.ReleaseID {
			t.Errorf("%s film.mp4 x-amz-meta-release = %q, want %s", tg.Region, got, rep.ReleaseID)
		}
		if got := out.Metadata[metaSHA256]; got != sha256hex(string(big)) {
			t.Errorf("%s film.mp4 sha256 metadata %q", tg.Region, got)
		}
	}
	// Unchanged: the multipart ETag is no MD5, so the metadata (HEAD) vouches for it.
	o = w.options(writeSite(t, v))
	cs = counted(&o)
	rep, err = Release(ctx, o)
	if err != nil || !rep.Unchanged || cs[0].writes()+cs[1].writes()+cs[0].parts.Load()+cs[1].parts.Load() != 0 {
		t.Errorf("unchanged release over a multipart object: %+v, %v", rep, err)
	}
}

// testNoWaitAndStatus: a release with a negative WaitTimeout (--no-wait) returns with
// its invalidation in progress and no wait phase; Status reports that invalidation
// from the record, until it completes.
func testNoWaitAndStatus(t *testing.T, w *testWorld) {
	ctx := context.Background()
	if _, err := Release(ctx, w.options(writeSite(t, siteVersion("v1")))); err != nil {
		t.Fatal(err)
	}
	st, err := Status(ctx, w.options(""), "")
	if err != nil {
		t.Fatal(err)
	}
	if st.InvalidationStatus != "none" || st.InvalidationID != "" {
		t.Errorf("status of the first release (nothing cached, nothing invalidated) = %+v", st)
	}
	o := w.options(writeSite(t, siteVersion("v2")))
	o.WaitTimeout = -1
	rep, err := Release(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if rep.InvalidationID == "" || rep.InvalidationStatus != "InProgress" {
		t.Fatalf("--no-wait release: invalidation %q %q, want one in progress", rep.InvalidationID, rep.InvalidationStatus)
	}
	var names []string
	for _, p := range rep.Phases {
		names = append(names, p.Phase)
	}
	for _, want := range []string{"hash", "plan", "lock", PhaseAssets, PhasePages, "invalidate", "records"} {
		if !contains(names, want) {
			t.Errorf("phases %v lack %s", names, want)
		}
	}
	if contains(names, "wait") {
		t.Errorf("a --no-wait release reports a wait phase: %v", names)
	}
	var text strings.Builder
	if err := rep.WriteText(&text); err != nil || !strings.Contains(text.String(), "not waited for") {
		t.Errorf("text report of a --no-wait release: %q (%v)", text.String(), err)
	}
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(200 * time.Millisecond) {
		st, err := Status(ctx, w.options(""), rep.ReleaseID[:6])
		if err != nil {
			t.Fatal(err)
		}
		if st.ReleaseID != rep.ReleaseID || st.InvalidationID != rep.InvalidationID {
			t.Fatalf("status = %+v, want release %s with invalidation %s", st, rep.ReleaseID, rep.InvalidationID)
		}
		if st.InvalidationStatus == "Completed" {
			break
		}
		if st.InvalidationStatus != "InProgress" || time.Now().After(deadline) {
			t.Fatalf("status = %+v", st)
		}
	}
	// The default waits, and says for how long.
	rep, err = Release(ctx, w.options(writeSite(t, siteVersion("v3"))))
	if err != nil {
		t.Fatal(err)
	}
	text.Reset()
	if err := rep.WriteText(&text); err != nil || rep.InvalidationStatus != "Completed" || !strings.Contains(text.String(), "waiting for the invalidation") {
		t.Errorf("text report of a waiting release: %q (%v)", text.String(), err)
	}
}

func testNoopAndHeaderChange(t *testing.T, w *testWorld) {
	ctx := context.Background()
	v1 := siteVersion("v1")
	dir := writeSite(t, v1)
	o := w.options(dir)
	rep, err := Release(ctx, o)
	if err != nil {
		t.Fatalf("first release: %v", err)
	}
	if len(rep.Warnings) != 0 {
		t.Errorf("first release warns: %q", rep.Warnings)
	}
	if rep.Uploaded != 2*len(v1) || len(rep.InvalidationPaths) != 0 {
		t.Errorf("first release: uploaded %d, paths %v; want %d uploads and no paths (nothing was cached)", rep.Uploaded, rep.InvalidationPaths, 2*len(v1))
	}
	for i, tg := range w.targets {
		body, out := getObject(t, w.raw[i], tg.Bucket, "index.html")
		if body != v1["index.html"].body {
			t.Errorf("%s index.html = %q", tg.Region, body)
		}
		if got := out.Metadata[metaRegion]; got != tg.Region {
			t.Errorf("%s index.html x-amz-meta-region = %q, want %q", tg.Region, got, tg.Region)
		}
		if got := out.Metadata[metaRelease]; got != rep.ReleaseID {
			t.Errorf("%s index.html x-amz-meta-release = %q, want the release id %q", tg.Region, got, rep.ReleaseID)
		}
		if got := aws.ToString(out.CacheControl); got != CacheRevalidated {
			t.Errorf("%s index.html Cache-Control = %q", tg.Region, got)
		}
		if got := aws.ToString(out.ContentType); got != "text/html; charset=utf-8" {
			t.Errorf("%s index.html Content-Type = %q", tg.Region, got)
		}
	}

	// An unchanged rebuild: a new directory with the same bytes (new mtimes).
	o = w.options(writeSite(t, v1))
	cs := counted(&o)
	rep, err = Release(ctx, o)
	if err != nil {
		t.Fatalf("unchanged release: %v", err)
	}
	for i, c := range cs {
		if c.writes() != 0 {
			t.Errorf("unchanged release wrote %d times to %s", c.writes(), w.targets[i].Bucket)
		}
	}
	if !rep.Unchanged || rep.Uploaded != 0 || len(rep.InvalidationPaths) != 0 || rep.Skipped != 2*len(v1) {
		t.Errorf("unchanged release: %+v", rep)
	}

	first := rep.ReleaseID
	if first == "" {
		t.Fatal("unchanged release reports no release id")
	}

	// Only a header changes: the bytes are the same, the upload must still happen.
	v1b := maps.Clone(v1)
	v1b["index.html"] = siteFile{body: v1["index.html"].body, cacheControl: "no-cache"}
	o = w.options(writeSite(t, v1b))
	rep, err = Release(ctx, o)
	if err != nil {
		t.Fatalf("header-only release: %v", err)
	}
	if rep.Uploaded != 2 {
		t.Errorf("header-only release uploaded %d, want 2 (index.html in each bucket)", rep.Uploaded)
	}
	for _, b := range rep.Buckets {
		if len(b.Uploads) != 1 || b.Uploads[0].Reason != ReasonHeaders {
			t.Errorf("%s uploads = %+v, want index.html for headers", b.Region, b.Uploads)
		}
	}
	want := []string{"/", "/about", "/index.html", "/status"}
	if diff := cmp.Diff(want, rep.InvalidationPaths); diff != "" {
		t.Errorf("invalidation paths (-want +got):\n%s", diff)
	}
	for i, tg := range w.targets {
		_, out := getObject(t, w.raw[i], tg.Bucket, "index.html")
		if got := aws.ToString(out.CacheControl); got != "no-cache" {
			t.Errorf("%s index.html Cache-Control = %q after header change", tg.Region, got)
		}
		// The rewritten object names the new release; one left alone keeps the id of
		// the release that wrote it (the release id takes no part in the diff).
		if got := out.Metadata[metaRelease]; got != rep.ReleaseID || got == first {
			t.Errorf("%s index.html x-amz-meta-release = %q after header change, want the new release %q (not %q)", tg.Region, got, rep.ReleaseID, first)
		}
		if _, out := getObject(t, w.raw[i], tg.Bucket, "robots.txt"); out.Metadata[metaRelease] != first {
			t.Errorf("%s robots.txt x-amz-meta-release = %q, want %q (not rewritten)", tg.Region, out.Metadata[metaRelease], first)
		}
	}
	if w.cf != nil {
		if rep.InvalidationID == "" || rep.InvalidationStatus != "Completed" {
			t.Errorf("invalidation %q status %q, want an id and Completed", rep.InvalidationID, rep.InvalidationStatus)
		}
		inv, err := w.cf.GetInvalidation(ctx, &cloudfront.GetInvalidationInput{DistributionId: aws.String(w.distID), Id: aws.String(rep.InvalidationID)})
		if err != nil {
			t.Fatal(err)
		}
		if got := inv.Invalidation.InvalidationBatch.Paths.Items; !cmp.Equal(sorted(got), want) {
			t.Errorf("CloudFront got paths %v", got)
		}
		if ref := aws.ToString(inv.Invalidation.InvalidationBatch.CallerReference); !strings.Contains(ref, rep.ReleaseID) {
			t.Errorf("CallerReference %q does not name release %s", ref, rep.ReleaseID)
		}
	}
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	sortStrings(out)
	return out
}

// testFailureMidRelease injects a failure into the primary bucket in the given phase
// and checks that the site still serves the previous release, that no delete ran, and
// that re-running the release completes it and invalidates what changed.
func testFailureMidRelease(t *testing.T, w *testWorld, phase string) {
	ctx := context.Background()
	v1, v2 := siteVersion("v1"), siteVersion("v2")
	if _, err := Release(ctx, w.options(writeSite(t, v1))); err != nil {
		t.Fatal(err)
	}
	dir2 := writeSite(t, v2)
	o := w.options(dir2)
	o.Keep = 1 // v1's script would be deleted by a completed release
	cs := counted(&o)
	failKey := assetOf(v2) // a new asset: fails in the assets phase
	if phase == PhasePages {
		failKey = "index.html"
	}
	cs[0].failKeys[failKey] = true
	_, err := Release(ctx, o)
	var re *ReleaseError
	if !errors.As(err, &re) || re.Phase != phase {
		t.Fatalf("release with a failing primary: err = %v, want a ReleaseError in phase %s", err, phase)
	}
	if len(re.States) != 2 || !strings.Contains(re.States[0], "us-east-1") {
		t.Errorf("error states = %q", re.States)
	}
	t.Logf("error: %v", err)
	for i, tg := range w.targets {
		body, _ := getObject(t, w.raw[i], tg.Bucket, "index.html")
		wantV := v1
		if phase == PhasePages && i == 1 {
			wantV = v2 // the secondary went first and is complete
		}
		if body != wantV["index.html"].body {
			t.Errorf("%s serves index.html %q after the failed release", tg.Region, body)
		}
		if !hasObject(t, w.raw[i], tg.Bucket, assetOf(v1)) {
			t.Errorf("%s lost %s, which the previous release's HTML needs", tg.Region, assetOf(v1))
		}
		if body == v2["index.html"].body && !hasObject(t, w.raw[i], tg.Bucket, assetOf(v2)) {
			t.Errorf("%s serves v2 HTML without its script", tg.Region)
		}
	}
	if d := cs[0].deletes.Load() + cs[1].deletes.Load(); d != 0 {
		t.Errorf("failed release deleted %d objects", d)
	}
	// Viewers: the primary serves the previous release; with the primary down, the
	// secondary serves a complete release (v1 after an assets failure, v2 after a
	// pages failure, its script in place either way).
	if body, region, ok := w.viewerGet(t, "/"); ok {
		if body != v1["index.html"].body || region != "us-east-1" {
			t.Errorf("edge serves %q from %s after the failed release, want v1 from us-east-1", body, region)
		}
		w.failPrimary()
		body, region, _ := w.viewerGet(t, "/about/index.html")
		want := v1
		if phase == PhasePages {
			want = v2
		}
		if body != want["about/index.html"].body || region != "eu-west-2" {
			t.Errorf("edge with the primary down serves %q from %s", body, region)
		}
		if _, _, ok := w.viewerGet(t, "/"+assetOf(want)); !ok {
			t.Errorf("edge with the primary down lacks %s", assetOf(want))
		}
		w.heal()
	}

	// Re-run: same release, completes it.
	o = w.options(dir2)
	o.Keep = 1
	rep, err := Release(ctx, o)
	if err != nil {
		t.Fatalf("re-run: %v", err)
	}
	if rep.ReleaseID != re.ReleaseID {
		t.Errorf("re-run release id %s, want %s (the same release)", rep.ReleaseID, re.ReleaseID)
	}
	for i, tg := range w.targets {
		body, _ := getObject(t, w.raw[i], tg.Bucket, "index.html")
		if body != v2["index.html"].body {
			t.Errorf("%s index.html after re-run = %q", tg.Region, body)
		}
		if hasObject(t, w.raw[i], tg.Bucket, assetOf(v1)) {
			t.Errorf("%s still holds %s after a completed release with Keep 1", tg.Region, assetOf(v1))
		}
	}
	if body, _, ok := w.viewerGet(t, "/"); ok && body != v2["index.html"].body {
		t.Errorf("edge serves %q after the completed release and its invalidation", body)
	}
	// The edge may cache v1's pages: whatever the first attempt did, they are invalidated.
	for _, p := range []string{"/", "/index.html", "/about", "/about/", "/about/index.html", "/status"} {
		if !contains(rep.InvalidationPaths, p) {
			t.Errorf("re-run does not invalidate %s: %v", p, rep.InvalidationPaths)
		}
	}
	for _, p := range rep.InvalidationPaths {
		if strings.HasPrefix(p, "/assets/") {
			t.Errorf("re-run invalidates asset path %s", p)
		}
	}
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func testRollback(t *testing.T, w *testWorld) {
	ctx := context.Background()
	v1, v2 := siteVersion("v1"), siteVersion("v2")
	v1["about/index.html"] = siteFile{body: v1["about/index.html"].body, cacheControl: "public, max-age=60"}
	rep1, err := Release(ctx, w.options(writeSite(t, v1)))
	if err != nil {
		t.Fatal(err)
	}
	rep2, err := Release(ctx, w.options(writeSite(t, v2)))
	if err != nil {
		t.Fatal(err)
	}
	o := w.options("")
	cs := counted(&o)
	rep, err := Rollback(ctx, o, "")
	if err != nil {
		t.Fatalf("rollback: %v", err)
	}
	if rep.RollbackTo != rep1.ReleaseID || rep.Previous != rep2.ReleaseID {
		t.Errorf("rollback to %s from %s, want to %s from %s", rep.RollbackTo, rep.Previous, rep1.ReleaseID, rep2.ReleaseID)
	}
	for i, c := range cs {
		if c.puts.Load() > 3 { // the lock, the pending marker and the record; files are copied server-side
			t.Errorf("rollback PUT %d objects to %s; it should copy, not upload", c.puts.Load(), w.targets[i].Bucket)
		}
	}
	for i, tg := range w.targets {
		for _, key := range []string{"index.html", "about/index.html"} {
			body, out := getObject(t, w.raw[i], tg.Bucket, key)
			if body != v1[key].body {
				t.Errorf("%s %s after rollback = %q, want v1", tg.Region, key, body)
			}
			wantCC := v1[key].cacheControl
			if wantCC == "" {
				wantCC = CacheRevalidated
			}
			if got := aws.ToString(out.CacheControl); got != wantCC {
				t.Errorf("%s %s Cache-Control after rollback = %q, want %q", tg.Region, key, got, wantCC)
			}
			if out.Metadata[metaRegion] != tg.Region {
				t.Errorf("%s %s region metadata = %q", tg.Region, key, out.Metadata[metaRegion])
			}
			// Restored objects belong to the rollback, a release of its own whose record
			// names the restored release (rollbackOf).
			if got := out.Metadata[metaRelease]; got != rep.ReleaseID || got == rep1.ReleaseID {
				t.Errorf("%s %s x-amz-meta-release after rollback = %q, want the rollback's id %q", tg.Region, key, got, rep.ReleaseID)
			}
		}
	}
	if !contains(rep.InvalidationPaths, "/") || !contains(rep.InvalidationPaths, "/about/") {
		t.Errorf("rollback invalidates %v", rep.InvalidationPaths)
	}
	// Records and rollback copies (here: of v2's page, which is no longer live) are not
	// reachable through the edge.
	if w.edgeURL != "" {
		for _, p := range []string{"/releases/pending.json", "/" + blobsDir + sha256hex(v2["index.html"].body)} {
			resp, err := http.Get(w.edgeURL + p)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && (strings.Contains(string(b), rep.ReleaseID) || string(b) == v2["index.html"].body) {
				t.Errorf("the edge serves %s: %q", p, b)
			}
		}
	}
	// A release of v1's source after the rollback is a no-op.
	again, err := Release(ctx, w.options(writeSite(t, v1)))
	if err != nil {
		t.Fatal(err)
	}
	if !again.Unchanged {
		t.Errorf("releasing v1 after rolling back to it: %+v", again)
	}
	// Roll forward to v2 by id.
	rep, err = Rollback(ctx, w.options(""), rep2.ReleaseID[:6])
	if err != nil {
		t.Fatalf("rollback to %s: %v", rep2.ReleaseID, err)
	}
	for i, tg := range w.targets {
		if body, _ := getObject(t, w.raw[i], tg.Bucket, "index.html"); body != v2["index.html"].body {
			t.Errorf("%s index.html after rolling forward = %q", tg.Region, body)
		}
	}
}

func testDeleteGuardAndRetention(t *testing.T, w *testWorld) {
	ctx := context.Background()
	v1 := siteVersion("v1")
	for i := 0; i < 5; i++ {
		v1["pages/p"+string(rune('a'+i))+".html"] = siteFile{body: "page"}
	}
	if _, err := Release(ctx, w.options(writeSite(t, v1))); err != nil {
		t.Fatal(err)
	}
	v2 := siteVersion("v2")
	o := w.options(writeSite(t, v2))
	o.Keep, o.MaxDeletes = 1, 3
	cs := counted(&o)
	rep, err := Release(ctx, o)
	if !errors.Is(err, ErrTooManyDeletes) {
		t.Fatalf("release deleting 6 with max 3: err = %v, want ErrTooManyDeletes", err)
	}
	if rep == nil || len(rep.Buckets[0].Deletes) != 6 || rep.Uploaded != 0 {
		t.Errorf("guarded release report: %+v", rep)
	}
	for i, c := range cs {
		if c.writes() != 0 {
			t.Errorf("guarded release wrote %d times to %s", c.writes(), w.targets[i].Bucket)
		}
	}
	// Keep 2: v1's files stay while v2 is released; a third release prunes them.
	o = w.options(writeSite(t, v2))
	o.Keep = 2
	rep, err = Release(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Deleted != 0 {
		t.Errorf("release with Keep 2 deleted %d", rep.Deleted)
	}
	v3 := siteVersion("v3")
	o = w.options(writeSite(t, v3))
	o.Keep = 2
	rep, err = Release(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Deleted != 2*6 {
		t.Errorf("third release deleted %d, want v1's script and 5 pages in each bucket", rep.Deleted)
	}
	for i, tg := range w.targets {
		if hasObject(t, w.raw[i], tg.Bucket, assetOf(v1)) || !hasObject(t, w.raw[i], tg.Bucket, assetOf(v2)) {
			t.Errorf("%s: want v1's script gone and v2's kept", tg.Region)
		}
	}
	if rep.PrunedCopies != 2*2 {
		t.Errorf("third release pruned %d rollback copies, want v1's two pages in each region", rep.PrunedCopies)
	}
	if !contains(rep.InvalidationPaths, "/pages/pa.html") {
		t.Errorf("deleted page not invalidated: %v", rep.InvalidationPaths)
	}
}

func testDryRun(t *testing.T, w *testWorld) {
	ctx := context.Background()
	if _, err := Release(ctx, w.options(writeSite(t, siteVersion("v1")))); err != nil {
		t.Fatal(err)
	}
	o := w.options(writeSite(t, siteVersion("v2")))
	o.DryRun = true
	var out strings.Builder
	o.Out = &out
	cs := counted(&o)
	rep, err := Release(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range cs {
		if c.writes() != 0 {
			t.Errorf("dry run wrote %d times to %s", c.writes(), w.targets[i].Bucket)
		}
	}
	if rep.InvalidationID != "" || !rep.DryRun || rep.Uploaded == 0 || len(rep.InvalidationPaths) == 0 {
		t.Errorf("dry run report: %+v", rep)
	}
	for _, want := range []string{"dry run", "index.html", "content", "invalidate"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("dry-run output lacks %q:\n%s", want, out.String())
		}
	}
}

func testStaticDir(t *testing.T, w *testWorld) {
	ctx := context.Background()
	dir := t.TempDir()
	write := func(p, body string) {
		t.Helper()
		name := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("index.html", "<!doctype html><title>hugo</title>")
	write("posts/first/index.html", "<!doctype html><title>first</title>")
	write("css/main.3f2a9c1b.css", "body{}")
	write("js/index-BxK3f9aZ.js", "x")
	write("feed.xml", "<rss/>")
	write(".git/config", "[core]")
	write(ConfigFile, `{"rules":[{"match":"*.xml","cacheControl":"public, max-age=600"}],"routes":["/search"]}`)
	o := w.options(dir)
	o.Source.Static = true
	o.Routes = nil
	rep, err := Release(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Uploaded != 2*5 {
		t.Errorf("uploaded %d, want 5 files in each bucket", rep.Uploaded)
	}
	want := map[string][2]string{
		"index.html":             {"text/html; charset=utf-8", CacheRevalidated},
		"posts/first/index.html": {"text/html; charset=utf-8", CacheRevalidated},
		"css/main.3f2a9c1b.css":  {"text/css; charset=utf-8", CacheImmutable},
		"js/index-BxK3f9aZ.js":   {"text/javascript; charset=utf-8", CacheImmutable},
		"feed.xml":               {"application/xml", "public, max-age=600"},
	}
	for key, h := range want {
		_, out := getObject(t, w.raw[1], w.targets[1].Bucket, key)
		if got := [2]string{aws.ToString(out.ContentType), aws.ToString(out.CacheControl)}; got != h {
			t.Errorf("%s served with %q, want %q", key, got, h)
		}
	}
	if hasObject(t, w.raw[0], w.targets[0].Bucket, ".git/config") || hasObject(t, w.raw[0], w.targets[0].Bucket, ConfigFile) {
		t.Error("hidden files were uploaded")
	}
	write("posts/first/index.html", "<!doctype html><title>first, edited</title>")
	write("index.html", "<!doctype html><title>hugo 2</title>")
	rep, err = Release(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	wantPaths := []string{"/", "/index.html", "/posts/first", "/posts/first/", "/posts/first/index.html", "/search"}
	if diff := cmp.Diff(wantPaths, rep.InvalidationPaths); diff != "" {
		t.Errorf("invalidation (-want +got)\n%s", diff)
	}
}

// testWildcards changes more pages than the budget allows: the invalidation collapses
// into a directory wildcard, which CloudFront (or the local edge) accepts, after the
// release looked at the invalidations in flight.
func testWildcards(t *testing.T, w *testWorld) {
	ctx := context.Background()
	site := func(v string) map[string]siteFile {
		files := siteVersion("v1")
		for i := 0; i < 8; i++ {
			files[fmt.Sprintf("docs/p%d/index.html", i)] = siteFile{body: v + fmt.Sprint(i)}
		}
		return files
	}
	if _, err := Release(ctx, w.options(writeSite(t, site("a")))); err != nil {
		t.Fatal(err)
	}
	o := w.options(writeSite(t, site("b")))
	o.InvalidationBudget = 5
	rep, err := Release(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"/docs*"}, rep.InvalidationPaths); diff != "" {
		t.Errorf("paths (-want +got)\n%s", diff)
	}
	if w.cf != nil && rep.InvalidationStatus != "Completed" {
		t.Errorf("wildcard invalidation status %q", rep.InvalidationStatus)
	}
	if body, _, ok := w.viewerGet(t, "/docs/p3/"); ok && body != "b3" {
		t.Errorf("edge serves %q for /docs/p3/ after the wildcard invalidation", body)
	}
}

// testDrift changes a page behind the release's back: the next release of the same
// site notices it from the listing alone, re-uploads it to that bucket only, and
// invalidates it.
func testDrift(t *testing.T, w *testWorld) {
	ctx := context.Background()
	v1 := siteVersion("v1")
	if _, err := Release(ctx, w.options(writeSite(t, v1))); err != nil {
		t.Fatal(err)
	}
	_, err := w.raw[0].PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(w.targets[0].Bucket), Key: aws.String("about/index.html"),
		Body: strings.NewReader("tampered"), ContentType: aws.String("text/html")})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Release(ctx, w.options(writeSite(t, v1)))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Unchanged || len(rep.Buckets[0].Uploads) != 1 || rep.Buckets[0].Uploads[0].Path != "about/index.html" || len(rep.Buckets[1].Uploads) != 0 {
		t.Errorf("release after drift: %+v", rep.Buckets)
	}
	if !contains(rep.InvalidationPaths, "/about/") {
		t.Errorf("drifted page not invalidated: %v", rep.InvalidationPaths)
	}
	if body, _ := getObject(t, w.raw[0], w.targets[0].Bucket, "about/index.html"); body != v1["about/index.html"].body {
		t.Errorf("primary about/index.html = %q", body)
	}
}

func TestRecordBucketMustNotBeAnOrigin(t *testing.T) {
	cf := &distCF{domains: []string{"site-a.s3.us-east-1.amazonaws.com", "site-a-releases.s3.us-east-1.amazonaws.com"}}
	_, err := checkDistribution(context.Background(), cf, "D", []Target{{Bucket: "site-a", RecordBucket: "site-a-releases"}})
	if err == nil || !strings.Contains(err.Error(), "public") {
		t.Errorf("err = %v, want the record bucket refused", err)
	}
	cf.domains = []string{"other.s3.us-east-1.amazonaws.com"}
	warn, err := checkDistribution(context.Background(), cf, "D", []Target{{Bucket: "site-a", RecordBucket: "site-a-releases"}})
	if err != nil || len(warn) != 1 {
		t.Errorf("bucket that is no origin: warnings %q, err %v", warn, err)
	}
}

type distCF struct {
	CloudFrontAPI
	domains []string
}

func (d *distCF) GetDistributionConfig(context.Context, *cloudfront.GetDistributionConfigInput, ...func(*cloudfront.Options)) (*cloudfront.GetDistributionConfigOutput, error) {
	var items []cftypes.Origin
	for i, dom := range d.domains {
		items = append(items, cftypes.Origin{Id: aws.String(fmt.Sprint("o", i)), DomainName: aws.String(dom), OriginPath: aws.String("")})
	}
	return &cloudfront.GetDistributionConfigOutput{DistributionConfig: &cftypes.DistributionConfig{Origins: &cftypes.Origins{Items: items}}}, nil
}

// testHistory: records beyond History are deleted, the newest kept, and rollback still works.
func testHistory(t *testing.T, w *testWorld) {
	ctx := context.Background()
	var ids []string
	pruned := 0
	for _, v := range []string{"h1", "h2", "h3", "h4"} {
		o := w.options(writeSite(t, siteVersion(v)))
		o.Keep, o.History = 2, 2
		rep, err := Release(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, rep.ReleaseID)
		pruned += rep.PrunedRecords
	}
	if pruned != 2*2 {
		t.Errorf("pruned %d records, want h1's and h2's in each region", pruned)
	}
	for i := range w.targets {
		tg := w.targets[i]
		tg.RecordBucket = w.recordBucket(i)
		rs, err := openRecords(ctx, &tg)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, ref := range rs.refs {
			got = append(got, ref.ID)
		}
		if want := ids[2:]; strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("%s keeps records %v, want %v", tg.RecordBucket, got, want)
		}
	}
	o := w.options("")
	o.Keep, o.History = 2, 2
	rep, err := Rollback(ctx, o, "")
	if err != nil || rep.RollbackTo != ids[2] {
		t.Fatalf("rollback after pruning: %v, to %s, want %s", err, rep.RollbackTo, ids[2])
	}
	w.assertLive(t, "h3", "after the rollback")
}
