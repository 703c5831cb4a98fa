package awsinfra

import (
	"context"
	"errors"

	"github.com/twinedge/twinedge/build"
)

// Connect returns release options aimed at the deployment described by aws.json: one
// target per region's site bucket, primary first, and the CloudFront client for the
// distribution. endpoint sends every call to one endpoint (moto_server in tests); empty
// means AWS, with credentials from the standard chain.
func (s *State) Connect(ctx context.Context, endpoint string, opts build.Options) (build.Options, error) {
	if s.DistributionID == "" || len(s.Regions) != 2 {
		return opts, errors.New("aws.json does not describe a deployment: run `twinedge deploy` first")
	}
	cf, err := build.NewCloudFrontClient(ctx, endpoint)
	if err != nil {
		return opts, err
	}
	opts.CloudFront = cf
	opts.DistributionID = s.DistributionID
	opts.Targets = nil
	regions := append([]RegionState(nil), s.Regions...)
	if !regions[0].Primary && regions[1].Primary {
		regions[0], regions[1] = regions[1], regions[0]
	}
	for _, r := range regions {
		c, err := build.NewS3Client(ctx, endpoint, r.Name)
		if err != nil {
			return opts, err
		}
		opts.Targets = append(opts.Targets, build.Target{Region: r.Name, Bucket: r.Bucket, Client: c})
	}
	return opts, nil
}
