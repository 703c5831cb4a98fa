package build

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/twinedge/twinedge/site"
)

// TestReleaseSiteBuildMoto releases twinedge's own site through the Source.Build hook:
// the manifest contract with site.Build holds, and a second build of the same source
// releases nothing (site.Build is deterministic, and the release compares content).
func TestReleaseSiteBuildMoto(t *testing.T) {
	w := newMotoWorld(t)
	ctx := context.Background()
	build := func(dir string) error { _, err := site.Build(dir); return err }
	o := w.options("")
	o.Routes = site.Routes()
	o.Source = Source{Dir: filepath.Join(t.TempDir(), "dist"), Build: build}
	rs, _ := newTestRedirectStore(t)
	o.Redirects = rs // the site's _redirects
	rep, err := Release(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Uploaded == 0 || rep.Buckets[0].Skipped != 0 {
		t.Fatalf("first release: %+v", rep)
	}
	if rep.Redirects == nil || rep.Redirects.Rules == 0 || len(storeEntries(t, rs)) != rep.Redirects.Rules {
		t.Errorf("site.Build's _redirects: %+v", rep.Redirects)
	}
	var assets int
	for _, u := range rep.Buckets[0].Uploads {
		if u.Phase == PhaseAssets {
			assets++
		}
	}
	if assets == 0 {
		t.Error("no file of site.Build went up in the assets phase")
	}
	o.Source.Dir = filepath.Join(t.TempDir(), "dist")
	rep, err = Release(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Unchanged || rep.Uploaded != 0 || len(rep.InvalidationPaths) != 0 {
		t.Errorf("rebuild of the same source: uploaded %d, paths %v", rep.Uploaded, rep.InvalidationPaths)
	}
}
