package local

import (
	"context"

	"github.com/twinedge/twinedge/build"
)

// Connect returns release options aimed at this world: one target per region, primary
// first, with S3 clients on the regions' origins and a CloudFront client on the edge's
// control API. The release speaks the same AWS APIs locally as on AWS; only the
// endpoints differ.
func (w *WorldFile) Connect(ctx context.Context, opts build.Options) (build.Options, error) {
	cf, err := build.NewCloudFrontClient(ctx, w.Control)
	if err != nil {
		return opts, err
	}
	opts.CloudFront = cf
	opts.DistributionID = w.DistributionID
	opts.Redirects = nil
	if w.RedirectStore != "" {
		kv, err := build.NewKeyValueStoreClient(ctx, w.Control)
		if err != nil {
			return opts, err
		}
		opts.Redirects = &build.RedirectStore{ARN: w.RedirectStore, Client: kv}
	}
	opts.Targets = nil
	for _, r := range w.Regions {
		c, err := build.NewS3Client(ctx, r.Origin, r.Name)
		if err != nil {
			return opts, err
		}
		opts.Targets = append(opts.Targets, build.Target{Region: r.Name, Bucket: r.Bucket, Client: c})
	}
	return opts, nil
}
