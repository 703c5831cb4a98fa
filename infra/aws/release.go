package awsinfra

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/service/s3"

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
	opts.Redirects = nil
	if s.RedirectStoreArn != "" {
		// On AWS the client's endpoint comes from the store's account
		// (<account>.cloudfront-kvs.global.api.aws); endpoint names a stand-in.
		kv, err := build.NewKeyValueStoreClient(ctx, endpoint)
		if err != nil {
			return opts, err
		}
		opts.Redirects = &build.RedirectStore{ARN: s.RedirectStoreArn, Client: kv}
	}
	opts.Targets = nil
	regions := append([]RegionState(nil), s.Regions...)
	if !regions[0].Primary && regions[1].Primary {
		regions[0], regions[1] = regions[1], regions[0]
	}
	account := s.Account
	if account == "" {
		sess, err := newSession(ctx, endpoint, regions[0].Name)
		if err != nil {
			return opts, err
		}
		if account, err = sess.account(ctx); err != nil {
			return opts, err
		}
	}
	for _, r := range regions {
		c, err := build.NewS3Client(ctx, endpoint, r.Name)
		if err != nil {
			return opts, err
		}
		// Every call of the release to these buckets carries the bucket owner condition.
		c = s3.New(c.Options(), func(o *s3.Options) { o.APIOptions = append(o.APIOptions, expectBucketOwner(account)) })
		opts.Targets = append(opts.Targets, build.Target{Region: r.Name, Bucket: r.Bucket, RecordBucket: r.ReleasesBucket, Client: c})
	}
	return opts, nil
}
