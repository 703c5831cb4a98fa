package drill

import (
	"context"
	"errors"
	"fmt"

	"github.com/twinedge/twinedge/infra"
	awsinfra "github.com/twinedge/twinedge/infra/aws"
)

// AWSMode is the fault a deployment on AWS can be put in, on the targets origin, api or
// all: the region's bucket policy denies the distribution, so S3 answers CloudFront 403
// (a failover status), and the region's API answers 503 (infra/aws/failure.go).
const AWSMode = "aws"

// ForAWS returns opts aimed at the deployment described by aws.json in stateDir: the
// distribution's domain over HTTPS, AWS's own S3 and CloudFront endpoints, and a Switch
// over `twinedge fail REGION --aws`. The schedule fails the origin, the API, then both.
func ForAWS(stateDir string, opts Options) (Options, error) {
	s, err := awsinfra.ReadState(stateDir)
	if err != nil {
		return opts, err
	}
	if s.DistributionID == "" || s.DomainName == "" || len(s.Regions) != 2 {
		return opts, errors.New("aws.json does not describe a deployment: run `twinedge deploy` first")
	}
	opts.Edge = "https://" + s.DomainName
	if len(s.Aliases) > 0 {
		opts.Edge = "https://" + s.Aliases[0]
	}
	opts.Control, opts.DistributionID, opts.OnAWS = "", s.DistributionID, true
	opts.Regions = nil
	for _, r := range s.Regions {
		reg := Region{Name: r.Name, Bucket: r.Bucket, API: r.FunctionURL}
		if r.Primary {
			opts.Regions = append([]Region{reg}, opts.Regions...)
		} else {
			opts.Regions = append(opts.Regions, reg)
		}
	}
	access := awsinfra.AccessOptions{StateDir: stateDir}
	opts.Switch = awsSwitch{
		fail: func(ctx context.Context, region, target string) error {
			return awsinfra.FailAWS(ctx, access, region, target)
		},
		heal: func(ctx context.Context, region string) error { return awsinfra.HealAWS(ctx, access, region) },
	}
	if opts.Schedule == nil {
		opts.Schedule = AWSSchedule(opts.Regions[0].Name)
	}
	return opts, nil
}

// AWSSchedule fails the primary region of a deployment in the ways AWS allows: its
// bucket alone, its API alone, then both.
func AWSSchedule(primary string) []Step {
	return []Step{
		{Name: "aws origin", Fault: Fault{Region: primary, Mode: AWSMode, Target: string(infra.TargetOrigin)}, FailsOver: true,
			Expect: "the bucket policy denies the distribution (S3 answers 403): pages and assets fail over, the API stays in the primary"},
		{Name: "aws api", Fault: Fault{Region: primary, Mode: AWSMode, Target: string(infra.TargetAPI)}, FailsOver: true,
			Expect: "the API answers 503: reads fail over, writes are retried pinned to the secondary; pages stay in the primary"},
		{Name: "aws", Fault: Fault{Region: primary, Mode: AWSMode, Target: string(infra.TargetAll)}, FailsOver: true,
			Expect: "bucket policy denies the distribution (S3 answers 403) and the API answers 503: GETs fail over, writes are retried pinned to the secondary"},
	}
}

// awsSwitch applies AWSMode through the AWS failure switch.
type awsSwitch struct {
	fail func(ctx context.Context, region, target string) error
	heal func(ctx context.Context, region string) error
}

func (s awsSwitch) Fail(ctx context.Context, f Fault) error {
	if f.Mode != AWSMode {
		return fmt.Errorf("mode %q cannot be applied on AWS; the AWS switch has one mode, %q, on the targets origin, api or all", f.Mode, AWSMode)
	}
	return s.fail(ctx, f.Region, f.Target)
}

func (s awsSwitch) Heal(ctx context.Context, region string) error { return s.heal(ctx, region) }
