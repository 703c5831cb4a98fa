package awsinfra

import (
	"context"
	"fmt"
	"strings"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Partition returns the AWS partition of a region, the second field of every ARN there:
// aws-cn in China, aws-us-gov in GovCloud, the ISO partitions by their prefixes, aws
// elsewhere (AWS General Reference, "Amazon Resource Names (ARNs)"). Templates use
// ${AWS::Partition}; this is for the ARNs the CLI writes itself.
func Partition(region string) string {
	for _, p := range []struct{ prefix, partition string }{
		{"cn-", "aws-cn"}, {"us-gov-", "aws-us-gov"},
		{"us-isob-", "aws-iso-b"}, {"us-isof-", "aws-iso-f"}, {"eu-isoe-", "aws-iso-e"}, {"us-iso-", "aws-iso"},
	} {
		if strings.HasPrefix(region, p.prefix) {
			return p.partition
		}
	}
	return "aws"
}

// expectedBucketOwnerHeader is the header form of S3's ExpectedBucketOwner parameter: S3
// answers 403 AccessDenied when the bucket belongs to another account (Amazon S3 User
// Guide, "Verifying bucket ownership with bucket owner condition").
const expectedBucketOwnerHeader = "X-Amz-Expected-Bucket-Owner"

// ownerlessOperations are the S3 operations that take no bucket owner condition: a bucket
// being created has no owner yet, and ListBuckets names no bucket.
var ownerlessOperations = map[string]bool{"CreateBucket": true, "ListBuckets": true}

// expectBucketOwner returns a client option that puts the bucket owner condition on every
// S3 request of the client, so that no call to a bucket twinedge owns can reach a bucket
// of the same name in another account: the artifacts and site buckets have predictable
// names (a bucket name is global), and a look-alike created first would otherwise receive
// the API's code. One middleware rather than a field on each input, so an operation added
// later cannot forget it.
func expectBucketOwner(account string) func(*middleware.Stack) error {
	return func(stack *middleware.Stack) error {
		return stack.Build.Add(middleware.BuildMiddlewareFunc("TwinedgeExpectedBucketOwner",
			func(ctx context.Context, in middleware.BuildInput, next middleware.BuildHandler) (middleware.BuildOutput, middleware.Metadata, error) {
				if req, ok := in.Request.(*smithyhttp.Request); ok && !ownerlessOperations[awsmiddleware.GetOperationName(ctx)] {
					req.Header.Set(expectedBucketOwnerHeader, account)
				}
				return next.HandleBuild(ctx, in)
			}), middleware.After)
	}
}

// notOwnedError explains S3's 403 to a bucket owner condition.
func notOwnedError(bucket, account string, err error) error {
	return fmt.Errorf("bucket %s is not owned by account %s (S3 refused the bucket owner condition: %v); bucket names are global, so another account may hold this name: choose another --stack name", bucket, account, err)
}
