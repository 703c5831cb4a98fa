package drill

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudfront/types"

	"github.com/twinedge/twinedge/build"
	"github.com/twinedge/twinedge/infra/local"
	"github.com/twinedge/twinedge/site"
)

// startWorld starts a local world on free ports under a fresh state directory and releases
// the site into it, as `twinedge up` does.
func startWorld(t testing.TB) *local.World {
	t.Helper()
	return startWorldIn(t, t.TempDir())
}

// startWorldIn is startWorld on a chosen state directory.
func startWorldIn(t testing.TB, stateDir string) *local.World {
	t.Helper()
	ctx := context.Background()
	w, err := local.Start(ctx, local.Config{StateDir: stateDir, Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatalf("start world: %v", err)
	}
	t.Cleanup(func() { w.Close() })
	info := w.Info()
	opts, err := info.Connect(ctx, build.Options{
		Routes:      site.Routes(),
		WaitTimeout: -1,
	})
	if err != nil {
		t.Fatal(err)
	}
	// The pages name the world's regions, primary first, as `twinedge release` builds them.
	opts.Source = build.Source{Dir: filepath.Join(t.TempDir(), "dist"), Build: site.Builder(opts.Regions())}
	if _, err := build.Release(ctx, opts); err != nil {
		t.Fatalf("release: %v", err)
	}
	return w
}

// worldOptions aims a drill at an in-process world.
func worldOptions(w *local.World, d time.Duration) Options {
	info := w.Info()
	opts := ForWorld(&info, Options{Duration: d})
	opts.Switch = WorldSwitch(w)
	return opts
}

// invalidateAll invalidates "/*" through the world's CloudFront control API, as an operator
// would, so the next request for any path is a miss.
func invalidateAll(t testing.TB, w *local.World) {
	t.Helper()
	ctx := context.Background()
	info := w.Info()
	cf, err := build.NewCloudFrontClient(ctx, info.Control)
	if err != nil {
		t.Fatal(err)
	}
	_, err = cf.CreateInvalidation(ctx, &cloudfront.CreateInvalidationInput{
		DistributionId: aws.String(info.DistributionID),
		InvalidationBatch: &cftypes.InvalidationBatch{
			CallerReference: aws.String(fmt.Sprintf("test-%d", time.Now().UnixNano())),
			Paths:           &cftypes.Paths{Quantity: aws.Int32(1), Items: []string{"/*"}},
		},
	})
	if err != nil {
		t.Fatalf("invalidate: %v", err)
	}
}
