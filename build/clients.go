package build

import (
	"context"
	"fmt"
	"net/http"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// NewS3Client returns an S3 client for region, built from the standard configuration
// chain (environment, shared config, instance role). It computes and validates
// checksums only when an operation requires them (RequestChecksumCalculation
// WhenRequired), on AWS as locally: by default the SDK computes a CRC32 of every
// upload and, on HTTPS, streams it as aws-chunked with a trailing checksum. A release
// needs neither: every PUT carries Content-MD5 (S3 refuses a body that does not match
// it) and is signed with the body's SHA-256 (withPayloadSHA256), both known from the
// manifest, so the SDK's CRC32 would be a third pass over each body proving nothing
// more; and S3 stand-ins store aws-chunked bodies framed or refuse them
// (spec/local-stand-ins.md §1). Operations that require a checksum (DeleteObjects)
// still get one. With an endpoint (a local S3 origin or moto_server) it also:
//   - uses path-style addressing, because local origins listen on 127.0.0.1 and cannot
//     receive virtual-host names;
//   - signs with AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, defaulting to test/test when
//     neither they nor AWS_PROFILE are set (the local world's key pair, TEAM.md). The
//     default is applied before the chain runs, so no instance-metadata lookup stalls a
//     laptop without AWS credentials.
func NewS3Client(ctx context.Context, endpoint, region string) (*s3.Client, error) {
	cfg, err := loadConfig(ctx, endpoint, region)
	if err != nil {
		return nil, err
	}
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		// The SDK's transport keeps 10 idle connections per host
		// (awshttp.DefaultHTTPTransportMaxIdleConnsPerHost); a release has
		// Options.Concurrency (32) requests in flight per bucket, so with the default
		// two thirds of its connections would be closed after every request and opened
		// again for the next. Keep them all.
		o.HTTPClient = awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
			tr.MaxIdleConnsPerHost = maxIdleConnsPerHost
			tr.MaxIdleConns = max(tr.MaxIdleConns, 2*maxIdleConnsPerHost)
		})
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
			o.UsePathStyle = true
		}
	}), nil
}

// maxIdleConnsPerHost bounds the connections kept open to one bucket between
// requests: enough for any usual --concurrency.
const maxIdleConnsPerHost = 256

// NewCloudFrontClient returns a CloudFront client. CloudFront is a global service signed
// for us-east-1. With an endpoint (the local edge's control API or moto_server) the
// client talks to it with the same credential default as NewS3Client.
func NewCloudFrontClient(ctx context.Context, endpoint string) (*cloudfront.Client, error) {
	cfg, err := loadConfig(ctx, endpoint, "us-east-1")
	if err != nil {
		return nil, err
	}
	return cloudfront.NewFromConfig(cfg, func(o *cloudfront.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	}), nil
}

func loadConfig(ctx context.Context, endpoint, region string) (aws.Config, error) {
	opts := []func(*config.LoadOptions) error{config.WithRegion(region),
		config.WithRequestChecksumCalculation(aws.RequestChecksumCalculationWhenRequired),
		config.WithResponseChecksumValidation(aws.ResponseChecksumValidationWhenRequired),
	}
	if endpoint != "" {
		if os.Getenv("AWS_ACCESS_KEY_ID") == "" && os.Getenv("AWS_PROFILE") == "" {
			secret := os.Getenv("AWS_SECRET_ACCESS_KEY")
			if secret == "" {
				secret = "test"
			}
			opts = append(opts, config.WithCredentialsProvider(
				credentials.NewStaticCredentialsProvider("test", secret, "")))
		}
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS configuration: %w", err)
	}
	return cfg, nil
}
