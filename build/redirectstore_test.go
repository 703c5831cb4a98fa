package build

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfrontkeyvaluestore"
	"github.com/aws/aws-sdk-go-v2/service/cloudfrontkeyvaluestore/types"

	"github.com/twinedge/twinedge/edge"
	"github.com/twinedge/twinedge/infra"
)

// newTestRedirectStore returns a redirect store served by a local edge's control API:
// the cloudfront-keyvaluestore protocol with SigV4A verified (moto has no such service).
// updates counts the UpdateKeys calls it answered.
func newTestRedirectStore(t *testing.T) (rs *RedirectStore, updates *atomic.Int64) {
	t.Helper()
	cfg, err := infra.Distribution(infra.Endpoints{
		Regions: []infra.Region{{Name: "us-east-1", BucketDomain: "a.s3.us-east-1.amazonaws.com"}, {Name: "eu-west-2", BucketDomain: "b.s3.eu-west-2.amazonaws.com"}},
		SiteOAC: "EOAC", SPAFunctionARN: "arn:aws:cloudfront::000000000000:function/" + infra.SPAFunctionName,
	})
	if err != nil {
		t.Fatal(err)
	}
	e, err := edge.New(cfg, edge.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctl := edge.NewControl(e, edge.ControlOptions{DistributionID: "ELOCALKVS", Credentials: aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}})
	updates = &atomic.Int64{}
	srv := httptest.NewServer(countUpdates(ctl, updates))
	t.Cleanup(srv.Close)
	arn, err := ctl.EnsureKeyValueStore("redirects", "")
	if err != nil {
		t.Fatal(err)
	}
	kv, err := NewKeyValueStoreClient(context.Background(), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return &RedirectStore{ARN: arn, Client: kv}, updates
}

// storeEntries lists the store, "key value" sorted by key.
func storeEntries(t *testing.T, rs *RedirectStore) []string {
	t.Helper()
	var out []string
	var token *string
	for {
		l, err := rs.Client.ListKeys(context.Background(), &cloudfrontkeyvaluestore.ListKeysInput{KvsARN: aws.String(rs.ARN), NextToken: token})
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range l.Items {
			out = append(out, aws.ToString(it.Key)+" "+aws.ToString(it.Value))
		}
		if token = l.NextToken; token == nil {
			return out
		}
	}
}

// A release writes many rules in UpdateKeys batches of at most 50, a dry run writes
// nothing, a store changed behind the release's back stops it with a clear error, and a
// set of rules whose target is a page of the site without ! is refused before anything
// changes.
func TestReleaseRedirectStore(t *testing.T) {
	w := newMotoWorld(t)
	ctx := context.Background()
	rs, updates := newTestRedirectStore(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "index.html"), []byte("<p>home</p>"), 0o644)
	var rules strings.Builder
	for i := range 120 {
		fmt.Fprintf(&rules, "/old/%03d /new/%03d 301\n", i, i)
	}
	os.WriteFile(filepath.Join(dir, RedirectsFile), []byte(rules.String()), 0o644)
	o := w.options(dir)
	o.Source.Static = true
	o.Redirects = rs

	o.DryRun = true
	rep, err := Release(ctx, o)
	if err != nil || rep.Redirects == nil || len(rep.Redirects.Put) != 120 || updates.Load() != 0 || len(storeEntries(t, rs)) != 0 {
		t.Fatalf("dry run: %v %+v, %d updates", err, rep, updates.Load())
	}
	o.DryRun = false
	if rep, err = Release(ctx, o); err != nil {
		t.Fatal(err)
	}
	if got := storeEntries(t, rs); len(got) != 120 || got[7] != "/old/007 301 /new/007" {
		t.Fatalf("store holds %d entries (%q…)", len(got), got[:min(len(got), 2)])
	}
	if n := updates.Load(); n != 3 {
		t.Errorf("%d UpdateKeys calls for 120 puts, want 3 (at most 50 keys each)", n)
	}

	// Someone changes the store between the plan and the write: the release stops.
	os.WriteFile(filepath.Join(dir, RedirectsFile), []byte("/old/000 /new/zero 302\n"), 0o644)
	o.Redirects = &RedirectStore{ARN: rs.ARN, Client: meddler{rs.Client}}
	_, err = Release(ctx, o)
	if err == nil || !strings.Contains(err.Error(), "changed while the release ran") || !strings.Contains(err.Error(), "stopped in the redirects phase") {
		t.Fatalf("release over a changed store: %v", err)
	}
	o.Redirects = rs
	if rep, err = Release(ctx, o); err != nil {
		t.Fatalf("re-run: %v", err)
	}
	if got := storeEntries(t, rs); len(got) != 1 || got[0] != "/old/000 302 /new/zero" || len(rep.Redirects.Deleted) != 120 {
		t.Errorf("after the re-run the store holds %q; report %+v", got, rep.Redirects)
	}
	// 119 removed rules and the meddler's: their paths, collapsed into a wildcard.
	if got := strings.Join(rep.InvalidationPaths, " "); got != "/meddled /meddled/ /old*" {
		t.Errorf("invalidation %q, want the removed rules' paths under /old*", got)
	}

	// A rollback goes back to the 120 rules of the first release (its record has them).
	back, err := Rollback(ctx, o, "")
	if err != nil {
		t.Fatalf("rollback: %v", err)
	}
	if got := storeEntries(t, rs); len(got) != 120 || len(back.Redirects.Put) != 120 || len(back.Redirects.Deleted) != 0 {
		t.Errorf("after the rollback the store holds %d entries; report %+v", len(got), back.Redirects)
	}

	// A rule without ! over a page of the site.
	os.WriteFile(filepath.Join(dir, RedirectsFile), []byte("/index.html /elsewhere 301\n"), 0o644)
	before := updates.Load()
	if _, err = Release(ctx, o); err == nil || !strings.Contains(err.Error(), "_redirects:1: /index.html matches index.html, a file of the site") {
		t.Fatalf("shadowing rule: %v", err)
	}
	if updates.Load() != before {
		t.Error("a refused release wrote to the store")
	}
}

// countUpdates counts the UpdateKeys requests h answers.
func countUpdates(h http.Handler, n *atomic.Int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/keys") {
			n.Add(1)
		}
		h.ServeHTTP(w, r)
	})
}

// meddler changes the store (a put of its own) just before each UpdateKeys.
type meddler struct{ KeyValueStoreAPI }

func (m meddler) UpdateKeys(ctx context.Context, in *cloudfrontkeyvaluestore.UpdateKeysInput, opts ...func(*cloudfrontkeyvaluestore.Options)) (*cloudfrontkeyvaluestore.UpdateKeysOutput, error) {
	d, err := m.DescribeKeyValueStore(ctx, &cloudfrontkeyvaluestore.DescribeKeyValueStoreInput{KvsARN: in.KvsARN})
	if err != nil {
		return nil, err
	}
	if _, err := m.KeyValueStoreAPI.UpdateKeys(ctx, &cloudfrontkeyvaluestore.UpdateKeysInput{KvsARN: in.KvsARN, IfMatch: d.ETag,
		Puts: []types.PutKeyRequestListItem{{Key: aws.String("/meddled"), Value: aws.String("301 /")}}}); err != nil {
		return nil, err
	}
	return m.KeyValueStoreAPI.UpdateKeys(ctx, in, opts...)
}

// The store is written after every region's pages: a release that stops in the
// primary's pages phase has not touched it, so no new redirect points at a page that
// is not there, and no removed one is gone before the page it shadowed is up. The
// re-run completes both.
func TestRedirectsWaitForThePages(t *testing.T) {
	w := newMotoWorld(t)
	ctx := context.Background()
	rs, updates := newTestRedirectStore(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "index.html"), []byte("<p>home</p>"), 0o644)
	os.WriteFile(filepath.Join(dir, RedirectsFile), []byte("/old-page /new.html 301\n"), 0o644)
	o := w.options(dir)
	o.Source.Static = true
	o.Redirects = rs
	if _, err := Release(ctx, o); err != nil {
		t.Fatal(err)
	}
	// The next release adds the page the rule pointed at and a page where the rule was.
	os.WriteFile(filepath.Join(dir, "new.html"), []byte("<p>new</p>"), 0o644)
	os.WriteFile(filepath.Join(dir, "old-page.html"), []byte("<p>old page, back</p>"), 0o644)
	os.WriteFile(filepath.Join(dir, RedirectsFile), []byte("/elsewhere /new.html 302\n"), 0o644)
	o2 := o
	o2.Targets = append([]Target(nil), o.Targets...)
	cs := counted(&o2)
	cs[0].failKeys["new.html"] = true // the primary's pages phase stops
	before := updates.Load()
	_, err := Release(ctx, o2)
	var re *ReleaseError
	if !errors.As(err, &re) || re.Phase != PhasePages {
		t.Fatalf("release with a failing page: %v, want a stop in the pages phase", err)
	}
	if updates.Load() != before || !slices.Equal(storeEntries(t, rs), []string{"/old-page 301 /new.html"}) {
		t.Fatalf("the store changed before the pages were up: %q", storeEntries(t, rs))
	}
	if _, err := Release(ctx, o); err != nil {
		t.Fatalf("re-run: %v", err)
	}
	if got := storeEntries(t, rs); !slices.Equal(got, []string{"/elsewhere 302 /new.html"}) {
		t.Errorf("after the re-run the store holds %q", got)
	}
}
