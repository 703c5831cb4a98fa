package edge

import (
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
)

const testDistID = "E2QWRUHAPOMQZL"

// fakeControlTarget stands in for *Edge: it records invalidations and applied configs.
type fakeControlTarget struct {
	mu          sync.Mutex
	cfg         *types.DistributionConfig
	invalidated [][]string
	applyErr    error
}

func (f *fakeControlTarget) Config() *types.DistributionConfig {
	f.mu.Lock()
	defer f.mu.Unlock()
	return cloneControlConfig(f.cfg)
}

// Validate is the real validator without resources (the fake knows no policies, OACs or
// functions), or applyErr when a test sets one.
func (f *fakeControlTarget) Validate(cfg *types.DistributionConfig) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.applyErr != nil {
		return f.applyErr
	}
	return ValidateDistributionConfig(cfg)
}

func (f *fakeControlTarget) Apply(cfg *types.DistributionConfig) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.applyErr != nil {
		return f.applyErr
	}
	f.cfg = cloneControlConfig(cfg)
	return nil
}

func (f *fakeControlTarget) Invalidate(paths []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.invalidated = append(f.invalidated, slices.Clone(paths))
}

func (f *fakeControlTarget) invalidations() [][]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.invalidated)
}

// cloneConfig copies a config well enough for the fake (tests never mutate the nested parts).
func cloneControlConfig(cfg *types.DistributionConfig) *types.DistributionConfig {
	if cfg == nil {
		return nil
	}
	c := *cfg
	return &c
}

type controlFixture struct {
	dist   *fakeControlTarget
	clock  *edgeClock
	ctl    *Control
	srv    *httptest.Server
	client *cloudfront.Client
}

// newFixture starts a Control over a fake distribution behind httptest and returns a real SDK
// client pointed at it. mod may adjust the options.
func newControlFixture(t *testing.T, mod func(*ControlOptions)) *controlFixture {
	t.Helper()
	f := &controlFixture{
		dist: &fakeControlTarget{cfg: controlTestConfig()},
		// The clock starts at the real time: the SDK signs with it, and the verifier allows
		// 15 minutes of skew.
		clock: &edgeClock{t: time.Now().UTC().Truncate(time.Second)},
	}
	opts := ControlOptions{
		DistributionID: testDistID,
		DomainName:     "d111111abcdef8.cloudfront.net",
		Credentials:    aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"},
		Propagation:    time.Minute,
		Now:            f.clock.now,
	}
	if mod != nil {
		mod(&opts)
	}
	f.ctl = NewControl(f.dist, opts)
	f.srv = httptest.NewServer(f.ctl)
	t.Cleanup(f.srv.Close)
	f.client = newCFClient(f.srv.URL, "test", "test")
	return f
}

func newCFClient(url, key, secret string) *cloudfront.Client {
	return cloudfront.New(cloudfront.Options{
		BaseEndpoint: aws.String(url),
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider(key, secret, ""),
		// The default retryer stays on, as in the release: smithy-go closes a request body
		// of more than 4 KiB while net/http may still read from it when the server answers
		// at loopback speed, which fails the read of the response with "use of closed
		// network connection". The SDK retries that error, and CreateInvalidation is
		// idempotent through its CallerReference.
	})
}

// testConfig is a small but realistic distribution config.
func controlTestConfig() *types.DistributionConfig {
	return &types.DistributionConfig{
		CallerReference: aws.String("twinedge"),
		Comment:         aws.String("twinedge test"),
		Enabled:         aws.Bool(true),
		Origins: &types.Origins{Quantity: aws.Int32(1), Items: []types.Origin{{
			Id:         aws.String("site-eu-west-1"),
			DomainName: aws.String("site.s3.eu-west-1.amazonaws.com"),
			// CloudFront requires exactly one origin config (validate.go).
			S3OriginConfig: &types.S3OriginConfig{OriginAccessIdentity: aws.String("")},
		}}},
		DefaultCacheBehavior: &types.DefaultCacheBehavior{
			TargetOriginId:       aws.String("site-eu-west-1"),
			ViewerProtocolPolicy: types.ViewerProtocolPolicyRedirectToHttps,
			CachePolicyId:        aws.String("658327ea-f89d-4fab-a63d-7e88639e58f6"),
		},
	}
}
